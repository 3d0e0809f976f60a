"""Definition presets: each vendor's published worked examples, reproduced under its preset.

Every expected value below comes from the vendor's help page cited next to it (the pages are
also listed in csm_kit/definitions.py SOURCES and docs/presets.md); the subscriptions are
built so that the page's numbers are the month's movements.
"""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.churn import logo_churn_rate
from csm_kit.cohorts import cohort_retention
from csm_kit.definitions import (
    PRESETS,
    RULES,
    Definitions,
    ltv_method,
    preset,
    resolve,
    using,
)
from csm_kit.errors import ConfigError
from csm_kit.ltv import lifetime_value
from csm_kit.revenue import average_sale_price, mrr_bridge, mrr_movements, mrr_summary
from csm_kit.revenue_retention import gross_mrr_churn, net_mrr_churn, quick_ratio
from tests.test_revenue import subscriptions

APRIL = pd.Timestamp("2024-04-01")


def row(table: pd.DataFrame, month: str) -> pd.Series:
    return table.set_index("month").loc[pd.Timestamp(month)]


# --- presets and how a call settles its rules -------------------------------------------


def test_the_csm_kit_preset_is_the_kits_default_rules():
    assert preset("csm-kit") == Definitions()
    assert set(PRESETS) == {"csm-kit", "chartmogul", "baremetrics", "profitwell", "stripe"}


def test_an_explicit_rule_wins_over_the_preset_and_none_keeps_the_preset():
    assert resolve("stripe", churn_denominator="start").churn_denominator == "start"
    assert resolve("stripe", churn_denominator=None).churn_denominator == "start_plus_new"
    assert resolve("chartmogul", quick_ratio_reactivation=True).quick_ratio_reactivation is True


def test_a_using_block_sets_the_preset_that_none_means_and_restores_it(monkeypatch):
    # The choice is not read from the environment: a shell variable changes nothing.
    monkeypatch.setenv("CSM_KIT_DEFINITIONS", "stripe")
    assert preset(None) == Definitions()
    subs = join_and_cancel_history()
    with using("chartmogul"):
        assert preset(None) == PRESETS["chartmogul"]
        assert ltv_method("simple") == "smoothed"
        with using("stripe"):  # nested blocks: the innermost wins, then the outer is back
            assert row(logo_churn_rate(subs, as_of="2024-04"), "2024-04")["rate"] == (
                pytest.approx(2 / 12, rel=1e-15))
        assert preset(None) == PRESETS["chartmogul"]
    assert preset(None) == Definitions() and ltv_method("simple") == "simple"
    with pytest.raises(ConfigError), using("stripe"):  # restored after an error too
        raise ConfigError("boom")
    assert preset(None) == Definitions()


def test_unknown_presets_rules_and_values_are_config_errors():
    with pytest.raises(ConfigError, match="`definitions` must be one of"):
        preset("quickbooks")
    with pytest.raises(ConfigError, match="unknown definition rule"):
        resolve(None, timeing="events")
    with pytest.raises(ConfigError, match="`timing` must be one of"):
        resolve(None, timing="daily")
    with pytest.raises(ConfigError, match="`quick_ratio_reactivation` must be one of"):
        resolve(None, quick_ratio_reactivation=1)
    with pytest.raises(ConfigError, match="`churn_window_days` must be None or a whole number"):
        resolve(None, churn_window_days=0)
    with pytest.raises(ConfigError, match="`definitions` must be one of"), using("nope"):
        pass


def test_changed_lists_the_differing_rules_in_the_fixed_order():
    changed = PRESETS["csm-kit"].changed(PRESETS["stripe"])
    assert changed == [r for r in RULES if r in changed]
    assert changed == ["timing", "join_and_cancel", "churn_and_return", "churn_denominator",
                       "churn_window_days", "ltv_method", "cohort_retention"]


# --- ChartMogul ---------------------------------------------------------------------------


def chartmogul_mrr_churn_history() -> pd.DataFrame:
    """$100 MRR at the start of February; during it $10 churn, $10 contraction, $10 expansion.

    a 10 leaves 10 Feb; b holds 10 + 10 and drops one 10 on 12 Feb; c adds 10 on 15 Feb to
    its 10; d holds 60 throughout. Start = 10 + 20 + 10 + 60 = 100.
    """
    return subscriptions([
        ("a", "2024-01-05", "2024-02-10", 10.0),
        ("b", "2024-01-05", None, 10.0), ("b", "2024-01-05", "2024-02-12", 10.0),
        ("c", "2024-01-05", None, 10.0), ("c", "2024-02-15", None, 10.0),
        ("d", "2024-01-05", None, 60.0),
    ])


def test_chartmogul_gross_mrr_churn_is_20_percent_and_net_10_percent():
    # help.chartmogul.com/hc/en-us/articles/4414075567250-Chart-Net-MRR-Churn-Rate and
    # 203359341-Metric-MRR-Churn-Rate: $100 start, $10 churn, $10 contraction, $10 expansion
    # → gross (10 + 10) / 100 = 20%, net ((10 + 10) − (10 + 0)) / 100 = 10%.
    subs = chartmogul_mrr_churn_history()
    gross = row(gross_mrr_churn(subs, as_of="2024-02", definitions="chartmogul"), "2024-02")
    net = row(net_mrr_churn(subs, as_of="2024-02", definitions="chartmogul"), "2024-02")
    assert (gross["start_mrr"], gross["churn"], gross["contraction"]) == (100.0, 10.0, 10.0)
    assert gross["rate"] == pytest.approx(0.20, abs=1e-15)
    assert net["rate"] == pytest.approx(0.10, abs=1e-15)


def test_chartmogul_net_mrr_churn_subtracts_reactivation_and_the_kit_does_not():
    # ChartMogul's formula subtracts "Expansion & Reactivation MRR"; add a $20 reactivation:
    # ChartMogul (20 − 10 − 20) / 100 = −10%; the kit's default (20 − 10) / 100 = 10%.
    subs = pd.concat([chartmogul_mrr_churn_history(), subscriptions([
        ("r", "2023-10-01", "2023-11-01", 20.0), ("r", "2024-02-20", None, 20.0)])])
    chartmogul = row(net_mrr_churn(subs, as_of="2024-02", definitions="chartmogul"), "2024-02")
    kit = row(net_mrr_churn(subs, as_of="2024-02"), "2024-02")
    assert chartmogul["rate"] == pytest.approx(-0.10, abs=1e-15)
    assert kit["rate"] == pytest.approx(0.10, abs=1e-15)


def test_chartmogul_ltv_divides_by_the_six_months_before_the_current_one():
    # help.chartmogul.com/hc/en-us/articles/203359061-Chart-Customer-Lifetime-Value-LTV:
    # ARPA ÷ the average churn of the previous six months, excluding the current month;
    # "ARPA of $100 and a 5% six-month trailing average ... LTV is $2,000".
    # 20 customers at $100; February–July one leaves (15th) and one joins (10th) each month
    # (1 / 20 = 5%); in August four leave and four join (4 / 20 = 20%). End of January:
    # 11 k + 6 l + 3 x = 20.
    rows = [(f"k{i}", "2024-01-03", None, 100.0) for i in range(11)]
    for m in range(2, 8):
        rows += [(f"l{m}", "2024-01-03", f"2024-{m:02d}-15", 100.0),
                 (f"n{m}", f"2024-{m:02d}-10", None if m < 7 else "2024-08-15", 100.0)]
    rows += [(f"x{i}", "2024-01-03", "2024-08-15", 100.0) for i in range(3)]
    rows += [(f"a{i}", "2024-08-10", None, 100.0) for i in range(4)]
    subs = subscriptions(rows)
    churn = logo_churn_rate(subs, as_of="2024-08")
    assert churn["rate"].tolist()[-7:] == [0.05] * 6 + [0.2]
    chartmogul = row(lifetime_value(subs, as_of="2024-08", definitions="chartmogul"), "2024-08")
    assert chartmogul["arpa"] == 100.0
    assert chartmogul["ltv"] == pytest.approx(2000.0, rel=1e-12)  # 100 / 0.05
    # The kit's smoothed LTV keeps the current month: 100 / ((5 × 5% + 20%) / 6) = 1,333.33.
    kit = row(lifetime_value(subs, as_of="2024-08", method="smoothed"), "2024-08")
    assert kit["ltv"] == pytest.approx(100 / (0.45 / 6), rel=1e-12)


def test_chartmogul_average_sale_price_three_at_100_and_seven_at_50_is_65():
    # help.chartmogul.com/hc/en-us/articles/203359381-Chart-Average-Sale-Price: ten new
    # customers in May, three on a $100 Gold plan and seven on a $50 Silver plan → $65.
    subs = subscriptions([(f"g{i}", "2024-05-03", None, 100.0) for i in range(3)]
                         + [(f"s{i}", "2024-05-20", None, 50.0) for i in range(7)])
    for name in PRESETS:
        asp = row(average_sale_price(subs, as_of="2024-05", definitions=name), "2024-05")
        assert (asp["new"], asp["new_customers"], asp["asp"]) == (650.0, 10, 65.0)


def test_chartmogul_books_syncalytics_movements_as_they_happen():
    # help.chartmogul.com/hc/en-us/articles/201244842 (MRR movements): four Gold yearly plans
    # billed $2,000 → New Business $166.67; a few days later two Silver monthly plans ($60)
    # → Expansion; two weeks later the Silver plans are cancelled → Contraction; the yearly
    # plan ends after its year → Churn; they come back on three Gold monthly ($150) →
    # Reactivation.
    subs = subscriptions([
        ("syncalytics", "2024-01-08", "2025-01-08", 2000 / 12),
        ("syncalytics", "2024-01-11", "2024-01-25", 60.0),
        ("syncalytics", "2025-02-03", None, 150.0),
    ])
    moves = mrr_movements(subs, as_of="2025-02", definitions="chartmogul")
    assert list(zip(moves["date"].dt.strftime("%Y-%m-%d"), moves["movement"],
                    moves["mrr_change"], strict=True)) == [
        ("2024-01-08", "new", 166.67), ("2024-01-11", "expansion", 60.0),
        ("2024-01-25", "contraction", -60.0), ("2025-01-08", "churn", -166.67),
        ("2025-02-03", "reactivation", 150.0)]
    # Month ends never see the two-week Silver plans: January is just new business.
    kit = mrr_movements(subs, as_of="2025-02")
    assert kit["movement"].tolist() == ["new", "churn", "reactivation"]


def test_chartmogul_keeps_a_paying_customer_moved_to_a_free_plan_active():
    # help.chartmogul.com/hc/en-us/articles/15384089786524 (Free Customer Handling, default):
    # a paying customer that switches to a free plan stays Active and is not in the customer
    # churn rate; its MRR drop is a downgrade (Contraction). b moves from $50 to a $0 plan on
    # 10 March and ends it on 5 May.
    subs = subscriptions([("a", "2024-01-02", None, 100.0),
                          ("b", "2024-01-02", "2024-03-10", 50.0),
                          ("b", "2024-03-10", "2024-05-05", 0.0)])
    chartmogul = mrr_bridge(subs, as_of="2024-05", definitions="chartmogul")
    kit = mrr_bridge(subs, as_of="2024-05")
    assert (row(chartmogul, "2024-03")["contraction"], row(chartmogul, "2024-03")["churn"]) == (
        50.0, 0.0)
    assert (row(kit, "2024-03")["contraction"], row(kit, "2024-03")["churn"]) == (0.0, 50.0)
    churn = logo_churn_rate(subs, as_of="2024-05", definitions="chartmogul")
    assert row(churn, "2024-03")["churned"] == 0 and row(churn, "2024-05")["churned"] == 1
    assert row(logo_churn_rate(subs, as_of="2024-05"), "2024-03")["churned"] == 1
    customers = mrr_summary(subs, as_of="2024-05", definitions="chartmogul")["customers"]
    assert customers.tolist() == [2, 2, 2, 2, 1]  # b counts (at $0) until it leaves in May


# --- Baremetrics --------------------------------------------------------------------------


def test_baremetrics_quick_ratio_leaves_reactivation_out():
    # changelog.baremetrics.com/new-quick-ratio-metric-4ohZDy: Quick Ratio = (New MRR +
    # Expansion MRR) / (Contraction MRR + Churned MRR). April: new 200, expansion 100,
    # reactivation 50, contraction 25, churn 75 → (200 + 100) / (25 + 75) = 3.0; the kit's
    # default also counts reactivation: 350 / 100 = 3.5.
    subs = subscriptions([
        ("e", "2024-01-02", None, 100.0), ("e", "2024-04-10", None, 100.0),
        ("f", "2024-01-02", None, 75.0), ("f", "2024-01-02", "2024-04-12", 25.0),
        ("g", "2024-01-02", "2024-04-20", 75.0),
        ("r", "2024-01-02", "2024-02-15", 50.0), ("r", "2024-04-05", None, 50.0),
        ("n", "2024-04-08", None, 200.0),
    ])
    baremetrics = row(quick_ratio(subs, as_of="2024-04", definitions="baremetrics"), "2024-04")
    assert baremetrics[["new", "expansion", "reactivation", "contraction", "churn"]].tolist() == [
        200.0, 100.0, 50.0, 25.0, 75.0]
    assert baremetrics["rate"] == 3.0
    assert row(quick_ratio(subs, as_of="2024-04"), "2024-04")["rate"] == 3.5


def join_and_cancel_history() -> pd.DataFrame:
    """Ten customers since January; in April (a 30-day month) one leaves (10th), one joins on
    the 5th and cancels on the 20th, one joins on the 7th and stays."""
    return subscriptions([(f"c{i}", "2024-01-02", None, 10.0) for i in range(9)]
                         + [("gone", "2024-01-02", "2024-04-10", 10.0),
                            ("brief", "2024-04-05", "2024-04-20", 10.0),
                            ("stays", "2024-04-07", None, 10.0)])


def test_baremetrics_counts_a_sign_up_cancelled_inside_the_30_day_window():
    # help.baremetrics.com/en/articles/5380347-user-and-revenue-churn: user churn =
    # cancelled customers in the last 30 days ÷ active customers 30 days ago; and
    # changelog.baremetrics.com/churn-update-4pqo9O: customers who sign up and cancel within
    # the same 30-day window are included. The window ending 30 April is 1–30 April:
    # (1 + 1) / 10 = 20%.
    churn = row(logo_churn_rate(join_and_cancel_history(), as_of="2024-04",
                                definitions="baremetrics"), "2024-04")
    assert (churn["period_start"], churn["period_end"]) == (APRIL, pd.Timestamp("2024-04-30"))
    assert (churn["churned"], churn["denominator"], churn["rate"]) == (2, 10, 0.2)


def test_profitwell_ignores_a_customer_who_joins_and_churns_in_the_same_month():
    # paddle.com/help/profitwell-metrics/measure/subscription-retention/are-cancellations-in-
    # the-first-month-counted-as-churn: pays $100 on 12/5, churns on 12/6 → "At no point would
    # your churned revenue / churned customer count be affected"; new revenue nets to 0.
    subs = subscriptions([("old", "2023-10-02", None, 50.0), ("new", "2023-12-05", "2023-12-06",
                                                              100.0)])
    bridge = row(mrr_bridge(subs, as_of="2023-12", definitions="profitwell"), "2023-12")
    assert (bridge["new"], bridge["churn"]) == (0.0, 0.0)
    churn = row(logo_churn_rate(subs, as_of="2023-12", definitions="profitwell"), "2023-12")
    assert churn["churned"] == 0
    # Stripe factors the same revenue into both new MRR and churn (learn.profitwell.com/
    # article/gf9qqkyplu-profitwell-vs-stripe).
    stripe = row(mrr_bridge(subs, as_of="2023-12", definitions="stripe"), "2023-12")
    assert (stripe["new"], stripe["churn"]) == (100.0, 100.0)


# --- Stripe -------------------------------------------------------------------------------


def test_stripe_subscriber_churn_divides_by_active_30_days_ago_plus_new_subscribers():
    # support.stripe.com/questions/calculating-churn-rate-in-billing: churned subscribers in
    # the past 30 days ÷ (active subscribers 30 days ago + new subscribers in those 30 days);
    # a subscriber who starts and churns inside the window is in both. (1 + 1) / (10 + 2).
    churn = row(logo_churn_rate(join_and_cancel_history(), as_of="2024-04",
                                definitions="stripe"), "2024-04")
    assert (churn["customers_start"], churn["joined"]) == (10, 2)
    assert (churn["churned"], churn["denominator"]) == (2, 12)
    assert churn["rate"] == pytest.approx(2 / 12, rel=1e-15)
    # The kit's default: 1 of the 10 at the end of March.
    assert row(logo_churn_rate(join_and_cancel_history(), as_of="2024-04"), "2024-04")[
        "rate"] == 0.1


def test_stripe_counts_the_first_of_two_cancellations_as_a_downgrade_and_the_second_as_churn():
    # support.stripe.com/questions/calculating-churn-rate-in-billing: "If a customer has two
    # subscriptions and cancels both, we will count the first cancellation as a subscriber
    # downgrade and the second as subscriber churn."
    subs = subscriptions([("a", "2024-01-02", "2024-04-05", 30.0),
                          ("a", "2024-01-02", "2024-04-20", 20.0)])
    moves = mrr_movements(subs, as_of="2024-04", definitions="stripe")
    assert moves[["movement", "mrr_change"]].values.tolist()[1:] == [
        ["contraction", -30.0], ["churn", -20.0]]


def test_stripe_counts_a_customer_who_churns_and_returns_inside_the_window():
    # support.stripe.com/questions/calculating-churn-rate-in-billing: "A returning customer
    # who ends their subscription and restarts will be counted as a subscriber" and its end
    # counts as churn. b leaves on 8 April and is back on 18 April.
    subs = subscriptions([(f"c{i}", "2024-01-02", None, 10.0) for i in range(4)]
                         + [("b", "2024-01-02", "2024-04-08", 10.0),
                            ("b", "2024-04-18", None, 10.0)])
    stripe = row(logo_churn_rate(subs, as_of="2024-04", definitions="stripe"), "2024-04")
    assert (stripe["churned_and_returned"], stripe["churned"], stripe["denominator"]) == (1, 1, 5)
    assert row(logo_churn_rate(subs, as_of="2024-04"), "2024-04")["churned"] == 0


def test_stripe_cohorts_count_only_subscribers_who_have_not_yet_churned():
    # support.stripe.com/questions/subscriber-cohorts-and-cohort-retention-in-billing:
    # retention = share of the cohort that hasn't yet churned by the end of the month; a
    # subscriber who re-subscribes stays in its original cohort. d leaves in February and
    # returns in March: Stripe 1, 3/4, 3/4; the kit counts d again in March: 1, 3/4, 1.
    subs = subscriptions([(c, "2024-01-02", None, 10.0) for c in "abc"]
                         + [("d", "2024-01-02", "2024-02-10", 10.0),
                            ("d", "2024-03-05", None, 10.0)])
    stripe = cohort_retention(subs, as_of="2024-03", definitions="stripe")
    assert stripe.iloc[0].tolist() == [1.0, 0.75, 0.75]
    assert cohort_retention(subs, as_of="2024-03").iloc[0].tolist() == [1.0, 0.75, 1.0]


def test_the_not_yet_churned_rule_needs_subscriptions():
    orders = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-05"]),
                           "amount": [10.0]})
    with pytest.raises(ConfigError, match="needs subscriptions"):
        cohort_retention(orders, retention="not_yet_churned")
    assert cohort_retention(orders, definitions="stripe", as_of="2024-01").iloc[0, 0] == 1.0


# --- the other new options ----------------------------------------------------------------


def test_logo_churn_over_a_quarter_compares_the_ends_of_consecutive_quarters():
    # End of Q1: a, b, c, d. During Q2 b leaves (May) and e joins: 1 / 4 = 25%. Q3 is not
    # complete on 31 August, so it is not shown.
    subs = subscriptions([("a", "2024-01-02", None, 1.0), ("b", "2024-01-02", "2024-05-10", 1.0),
                          ("c", "2024-02-02", None, 1.0), ("d", "2024-03-02", None, 1.0),
                          ("e", "2024-04-20", None, 1.0)])
    churn = logo_churn_rate(subs, as_of="2024-08", period="Q")
    assert churn[["month", "customers_start", "churned", "rate"]].values.tolist() == [
        [pd.Timestamp("2024-04-01"), 4, 1, 0.25]]
    yearly = logo_churn_rate(subs, as_of="2024-12", period="Y")
    assert yearly.empty  # 2024 is the first year: nobody was a customer at the end of 2023


def test_a_rolling_window_and_a_period_cannot_be_combined_and_periods_are_checked():
    subs = join_and_cancel_history()
    with pytest.raises(ConfigError, match="cannot be combined"):
        logo_churn_rate(subs, period="Q", churn_window_days=30)
    with pytest.raises(ConfigError, match="`period` must be one of"):
        logo_churn_rate(subs, period="W")


def test_a_365_day_window_counts_a_year_of_cancellations_over_customers_a_year_earlier():
    # Baremetrics' annual-plan churn: cancelled in the last 365 days ÷ active 365 days ago.
    # Window ending 31 Dec 2024 = 2 Jan 2024 … 31 Dec 2024; customers at 1 Jan 2024: a, b, c.
    subs = subscriptions([("a", "2023-06-01", None, 1.0), ("b", "2023-06-01", "2024-07-01", 1.0),
                          ("c", "2023-06-01", "2024-01-02", 1.0), ("d", "2024-03-01", None, 1.0)])
    churn = row(logo_churn_rate(subs, as_of="2024-12", churn_window_days=365), "2024-12")
    assert churn["period_start"] == pd.Timestamp("2024-01-02")
    assert (churn["customers_start"], churn["churned"]) == (3, 2)


def test_quick_ratio_without_reactivation_is_an_option_of_its_own():
    subs = subscriptions([("a", "2024-01-02", "2024-02-01", 50.0), ("a", "2024-03-01", None, 50.0),
                          ("b", "2024-01-02", None, 100.0), ("b", "2024-01-02", "2024-03-01", 25.0),
                          ("c", "2024-03-05", None, 25.0)])
    # March: new 25 (c), reactivation 50 (a), contraction 25 (b): (25 + 50) / 25 = 3 or 25 / 25 = 1.
    assert row(quick_ratio(subs, as_of="2024-03"), "2024-03")["rate"] == 3.0
    assert row(quick_ratio(subs, as_of="2024-03", include_reactivation=False), "2024-03")[
        "rate"] == 1.0


def test_each_rule_is_an_option_of_its_own_without_a_preset():
    # docs/definitions.md's worked examples for the options, called without `definitions`.
    # Logo churn, April: 1 left of 10 → 10%; + the joiner who cancelled → (1 + 1) / 10 = 20%;
    # + the two April joiners in the denominator → 2 / (10 + 2).
    subs = join_and_cancel_history()
    counted = row(logo_churn_rate(subs, as_of="2024-04", join_and_cancel="count"), "2024-04")
    assert (counted["churned"], counted["denominator"], counted["rate"]) == (2, 10, 0.2)
    stripe_like = row(logo_churn_rate(subs, as_of="2024-04", join_and_cancel="count",
                                      churn_denominator="start_plus_new"), "2024-04")
    assert stripe_like["rate"] == pytest.approx(2 / 12, rel=1e-15)
    # Net MRR churn with reactivation subtracted: (20 − 10 − 20) / 100 = −10%.
    reactivated = pd.concat([chartmogul_mrr_churn_history(), subscriptions([
        ("r", "2023-10-01", "2023-11-01", 20.0), ("r", "2024-02-20", None, 20.0)])])
    net = row(net_mrr_churn(reactivated, as_of="2024-02", include_reactivation=True), "2024-02")
    assert net["rate"] == pytest.approx(-0.10, abs=1e-15)
    # Events timing on its own books the in-month $60 plan; a $0 plan kept active on its own.
    syncalytics = subscriptions([("s", "2024-01-08", None, 100.0),
                                 ("s", "2024-01-11", "2024-01-25", 60.0)])
    assert mrr_movements(syncalytics, as_of="2024-01", timing="events")["movement"].tolist() == [
        "new", "expansion", "contraction"]
    free = subscriptions([("b", "2024-01-02", "2024-03-10", 50.0),
                          ("b", "2024-03-10", "2024-05-05", 0.0)])
    march = row(mrr_bridge(free, as_of="2024-05", zero_mrr="active"), "2024-03")
    assert (march["contraction"], march["churn"]) == (50.0, 0.0)
    # Not-yet-churned cohorts on their own: d leaves in February and returns in March.
    cohort = subscriptions([(c, "2024-01-02", None, 10.0) for c in "abc"]
                           + [("d", "2024-01-02", "2024-02-10", 10.0),
                              ("d", "2024-03-05", None, 10.0)])
    assert cohort_retention(cohort, as_of="2024-03", retention="not_yet_churned").iloc[
        0].tolist() == [1.0, 0.75, 0.75]
