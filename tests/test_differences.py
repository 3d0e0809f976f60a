"""Why do my numbers differ: the presets side by side, and a gap explained rule by rule."""

from __future__ import annotations

from fractions import Fraction
from itertools import permutations

import numpy as np
import pandas as pd
import pytest

from csm_kit.churn import logo_churn_rate
from csm_kit.data.loading import load_sample
from csm_kit.definitions import PRESET_NAMES, PRESETS
from csm_kit.differences import METRICS, compare_definitions, explain_difference
from csm_kit.errors import ConfigError
from csm_kit.ltv import lifetime_value
from csm_kit.mrr_events import prepare_subscriptions
from csm_kit.revenue import average_sale_price, mrr_bridge, mrr_summary
from csm_kit.revenue_retention import gross_mrr_churn, net_mrr_churn, quick_ratio
from csm_kit.rule_customers import customer_contributions
from tests.test_revenue import subscriptions

APRIL = pd.Timestamp("2024-04-01")


@pytest.fixture(scope="module")
def sample_subscriptions() -> pd.DataFrame:
    return load_sample().subscriptions


def april_history() -> pd.DataFrame:
    """Eleven customers at the end of March; in April (30 days):

    gone   leaves on the 10th                       (lost)
    back   leaves on the 8th, back on the 18th      (churned and returned)
    brief  joins on the 5th, cancels on the 20th    (joined and cancelled)
    stays  joins on the 7th                         (joined)
    """
    return subscriptions([(f"c{i}", "2024-01-02", None, 10.0) for i in range(9)] + [
        ("gone", "2024-01-02", "2024-04-10", 10.0),
        ("back", "2024-01-02", "2024-04-08", 10.0), ("back", "2024-04-18", None, 10.0),
        ("brief", "2024-04-05", "2024-04-20", 10.0), ("stays", "2024-04-07", None, 10.0)])


def test_logo_churn_gap_between_the_kit_and_stripe_splits_rule_by_rule():
    # csm-kit: 1 lost of 11 = 1/11. Stripe's rules, switched in order:
    #   join_and_cancel   + brief          2/11   share 1/11
    #   churn_and_return  + back           3/11   share 1/11
    #   churn_denominator 11 + 2 joiners   3/13   share 3/13 − 3/11 = −6/143
    #   churn_window_days April is 30 days, the window is the month: share 0
    # Whole gap 3/13 − 1/11 = 20/143 = 1/11 + 1/11 − 6/143.
    why = explain_difference(april_history(), target="stripe", as_of="2024-04")
    churn = why.shares[why.shares["metric"] == "logo_churn_rate"].set_index("rule")["share"]
    assert churn["timing"] == 0 and churn["churn_window_days"] == 0
    assert churn["join_and_cancel"] == pytest.approx(1 / 11, rel=1e-12)
    assert churn["churn_and_return"] == pytest.approx(1 / 11, rel=1e-12)
    assert churn["churn_denominator"] == pytest.approx(-6 / 143, rel=1e-12)
    gap = why.gaps.set_index("metric").loc["logo_churn_rate"]
    assert (gap["base"], gap["target"]) == (pytest.approx(1 / 11), pytest.approx(3 / 13))
    assert why.adds_up()["logo_churn_rate"]
    assert sum(why.exact_shares[("logo_churn_rate", r)] for r in why.rules) == (
        Fraction(gap["target"]) - Fraction(gap["base"]))


def test_the_timing_rule_books_in_month_joiners_and_returners_and_names_them():
    # New MRR: stays 10 at month end; events add brief's 10 → share 10. Churned MRR: gone 10;
    # events add brief's 10 and back's 10 → share 20. Both customers moved 20 of MRR.
    why = explain_difference(april_history(), target="stripe", as_of="2024-04")
    shares = why.shares.set_index(["metric", "rule"])["share"]
    assert shares[("new_mrr", "timing")] == 10.0
    assert shares[("churned_mrr", "timing")] == 20.0
    behind = why.customers.groupby("rule")["customer_id"].apply(list).to_dict()
    assert behind["timing"] == ["back", "brief"]
    assert behind["join_and_cancel"] == ["brief"]
    assert behind["churn_and_return"] == ["back"]
    assert sorted(behind["churn_denominator"]) == ["brief", "stays"]
    brief = why.customers[(why.customers["rule"] == "timing")
                          & (why.customers["customer_id"] == "brief")].iloc[0]
    assert brief["mrr_moved"] == 20.0
    assert brief["change"] == "new 0.00 → 10.00; churn 0.00 → 10.00"
    assert "ltv_method" not in behind  # a formula rule moves no customer


def test_customer_contributions_add_up_to_the_bridge_and_the_churn_counts_under_every_preset():
    subs = april_history()
    frame, as_of_index = prepare_subscriptions(subs, as_of="2024-04")
    for name, rules in PRESETS.items():
        parts = customer_contributions(frame, as_of_index, rules).sum()
        bridge = mrr_bridge(subs, as_of="2024-04", definitions=name).set_index("month").loc[APRIL]
        for movement in ("new", "expansion", "reactivation", "contraction", "churn"):
            assert parts[movement] == round(bridge[movement] * 100), (name, movement)
        churn = logo_churn_rate(subs, as_of="2024-04", definitions=name).set_index(
            "month").loc[APRIL]
        assert parts["churned"] == churn["churned"], name
        assert parts["denominator"] == churn.get("denominator", churn["customers_start"]), name
        summary = mrr_summary(subs, as_of="2024-04", definitions=name).set_index("month")
        assert parts["active"] == summary.loc[APRIL, "customers"], name


def test_the_comparison_on_the_bundled_sample_shows_every_preset_with_the_public_functions_numbers(
        sample_subscriptions):
    table = compare_definitions(sample_subscriptions)
    assert list(table.columns) == ["metric", "label", "unit", *PRESET_NAMES]
    assert table["metric"].tolist() == list(METRICS)
    month = table.attrs["month"]
    values = table.set_index("metric")
    for name in PRESET_NAMES:
        def at(frame, column, month=month):
            return frame.set_index("month").loc[month, column]
        expected = {
            "mrr": at(mrr_summary(sample_subscriptions, as_of=month, definitions=name), "mrr"),
            "active_customers": at(mrr_summary(sample_subscriptions, as_of=month,
                                               definitions=name), "customers"),
            "arpa": at(mrr_summary(sample_subscriptions, as_of=month, definitions=name), "arpa"),
            "new_mrr": at(mrr_bridge(sample_subscriptions, as_of=month, definitions=name), "new"),
            "churned_mrr": at(mrr_bridge(sample_subscriptions, as_of=month, definitions=name),
                              "churn"),
            "logo_churn_rate": at(logo_churn_rate(sample_subscriptions, as_of=month,
                                                  definitions=name), "rate"),
            "gross_mrr_churn": at(gross_mrr_churn(sample_subscriptions, as_of=month,
                                                  definitions=name), "rate"),
            "net_mrr_churn": at(net_mrr_churn(sample_subscriptions, as_of=month,
                                              definitions=name), "rate"),
            "quick_ratio": at(quick_ratio(sample_subscriptions, as_of=month, definitions=name),
                              "rate"),
            "average_sale_price": at(average_sale_price(sample_subscriptions, as_of=month,
                                                        definitions=name), "asp"),
            "ltv": at(lifetime_value(sample_subscriptions, as_of=month, definitions=name,
                                     method=PRESETS[name].ltv_method or "smoothed"), "ltv"),
        }
        for metric, value in expected.items():
            assert values.loc[metric, name] == value, (name, metric)
    # Month-end MRR is the same whoever counts it.
    assert values.loc["mrr", list(PRESET_NAMES)].nunique() == 1


@pytest.mark.slow
def test_on_the_bundled_sample_every_rules_share_adds_up_to_the_whole_gap(sample_subscriptions):
    for base, target in [("csm-kit", t) for t in PRESET_NAMES[1:]] + [("chartmogul", "stripe")]:
        why = explain_difference(sample_subscriptions, base=base, target=target)
        assert list(why.rules) == PRESETS[base].changed(PRESETS[target])
        defined = why.gaps["base"].notna() & why.gaps["target"].notna()
        assert why.adds_up()[defined.to_numpy()].all(), (base, target)
        totals = why.shares.groupby("metric", sort=False)["share"].sum()
        gaps = why.gaps.set_index("metric")["gap"]
        assert np.allclose(totals[defined.to_numpy()], gaps[defined.to_numpy()], rtol=0,
                           atol=1e-9), (base, target)
        table = why.table()
        assert set(table.columns) >= {base, target, "gap", "adds_up", *why.rules}


def test_the_same_preset_twice_has_no_gap_and_no_rules():
    why = explain_difference(april_history(), base="stripe", target="stripe", as_of="2024-04")
    assert why.rules == () and (why.gaps["gap"].fillna(0) == 0).all()
    assert why.customers.empty and why.table().empty


def test_explaining_is_symmetric_rule_sets_in_both_directions():
    forward = explain_difference(april_history(), base="csm-kit", target="baremetrics",
                                 as_of="2024-04")
    backward = explain_difference(april_history(), base="baremetrics", target="csm-kit",
                                  as_of="2024-04")
    assert forward.rules == backward.rules
    assert np.allclose(forward.gaps["gap"].fillna(0), -backward.gaps["gap"].fillna(0))


def test_unknown_presets_and_bad_top_are_config_errors():
    with pytest.raises(ConfigError, match="presets must be among"):
        compare_definitions(april_history(), presets=["chartmogul", "quickbooks"])
    with pytest.raises(ConfigError, match="presets must be among"):
        explain_difference(april_history(), target="paddle")
    with pytest.raises(ConfigError, match="`top` must be a whole number"):
        explain_difference(april_history(), top=-1)


def test_every_pair_of_presets_adds_up_on_a_small_history():
    subs = april_history()
    for base, target in permutations(["csm-kit", "chartmogul", "stripe"], 2):
        why = explain_difference(subs, base=base, target=target, as_of="2024-04")
        defined = why.gaps["base"].notna() & why.gaps["target"].notna()
        assert why.adds_up()[defined.to_numpy()].all(), (base, target)


def test_the_customers_behind_each_rule_are_the_same_when_nothing_is_shared(
        sample_subscriptions, monkeypatch):
    # customers_behind computes each distinct rule set's contributions once and shares the
    # movements and logo flags between rule sets; computing every step afresh lists the same
    # customers with the same changes, for every pair of presets (on a small history and on
    # the sample).
    from dataclasses import fields, replace

    from csm_kit import rule_customers
    from csm_kit.definitions import Definitions
    from csm_kit.differences import FORMULA_RULES

    def behind(subs, as_of):
        frame, index = prepare_subscriptions(subs, as_of=as_of)
        listed = {}
        for base, target in permutations(PRESET_NAMES, 2):
            rules = tuple(PRESETS[base].changed(PRESETS[target]))
            steps = [PRESETS[base]]
            for rule in rules:
                steps.append(replace(steps[-1], **{rule: getattr(PRESETS[target], rule)}))
            listed[(base, target)] = rule_customers.customers_behind(
                frame, index, steps, rules, 5, skip=FORMULA_RULES)
        return listed

    data = [(april_history(), "2024-04"), (sample_subscriptions, "2026-10")]
    shared = [behind(subs, as_of) for subs, as_of in data]
    real = rule_customers._contributions
    monkeypatch.setattr(rule_customers, "_contributions",
                        lambda frame, index, rules, memo: real(frame, index, rules, {}))
    monkeypatch.setattr(rule_customers, "_CONTRIBUTION_RULES",
                        tuple(f.name for f in fields(Definitions)))
    for (subs, as_of), listed in zip(data, shared, strict=True):
        for pair, afresh in behind(subs, as_of).items():
            pd.testing.assert_frame_equal(listed[pair], afresh, obj=str(pair))
    assert all(any(len(c) for c in listed.values()) for listed in shared)


@pytest.fixture
def counted_evaluators(monkeypatch):
    """How many evaluators the calls build (each computes its metrics afresh); nothing kept
    from other tests, nothing left for later ones."""
    import csm_kit.differences as differences
    from csm_kit.engine import forget_reused

    built = []
    real = differences._Evaluator

    def counting(*args):
        built.append(args)
        return real(*args)

    forget_reused()
    monkeypatch.setattr(differences, "_Evaluator", counting)
    yield built
    forget_reused()


def test_explaining_after_comparing_the_same_frame_computes_nothing_twice(counted_evaluators):
    subs = april_history()
    table = compare_definitions(subs, as_of=APRIL)
    why = explain_difference(subs, base="csm-kit", target="stripe", as_of=APRIL)
    assert len(counted_evaluators) == 1  # the comparison's evaluator served the explanation
    # and it answers as a fresh one does: the presets' columns are the explanation's ends
    for metric in ("logo_churn_rate", "new_mrr", "churned_mrr"):
        row = table.set_index("metric").loc[metric]
        gap = why.gaps.set_index("metric").loc[metric]
        assert (gap["base"], gap["target"]) == (row["csm-kit"], row["stripe"])


def test_a_frame_changed_in_place_or_another_frame_or_month_is_evaluated_afresh(
        counted_evaluators):
    subs = april_history()
    before = compare_definitions(subs, presets=["csm-kit"], as_of=APRIL)
    subs.loc[subs["customer_id"] == "c0", "mrr"] = 110.0  # c0 pays 100 more
    after = compare_definitions(subs, presets=["csm-kit"], as_of=APRIL)
    mrr = [t.set_index("metric").loc["mrr", "csm-kit"] for t in (before, after)]
    assert mrr[1] == mrr[0] + 100
    compare_definitions(subs.copy(), presets=["csm-kit"], as_of=APRIL)  # same content, new frame
    compare_definitions(subs, presets=["csm-kit"], as_of="2024-03")
    assert len(counted_evaluators) == 4
