"""The headline figures: latest value, change, trend and noise-aware verdicts, ready to show."""

import numpy as np
import pandas as pd
import pytest

from csm_kit.headlines import headline, headline_cards, rounded_for_display
from csm_kit.kpis import kpi_table


def test_headline_takes_the_latest_month_and_formats_it_in_its_unit(small):
    head = headline(kpi_table(small, as_of="2024-03-31")).set_index("metric")
    assert head.loc["logo_churn_rate", "value_display"] == "33.3%"
    assert head.loc["logo_churn_rate", "target_display"] == "≤ 5.0%"
    assert head.loc["logo_churn_rate", "status"] == "missed"
    assert head.loc["mrr", "value_display"] == "200"
    # March against February: churn 1/3 - 0 = +33.3 pp; MRR 200 - 300 = -100 (-33.3%)
    assert head.loc["logo_churn_rate", "change_display"] == "+33.3 pp vs Feb 2024"
    assert head.loc["mrr", "change_display"] == "−100 (−33.3%) vs Feb 2024"
    assert head.loc["mrr", "trend"] == [300.0, 300.0, 200.0]


@pytest.fixture(scope="module")
def sample_headline():
    sample = __import__("csm_kit").load_sample()
    return headline(kpi_table(sample)).set_index("metric")


def test_on_the_sample_the_four_metrics_that_got_worse_say_worse(sample_headline):
    # Latest vs 12-month median on the bundled sample (issue 12): gross MRR churn 1.47% vs
    # 1.20%, net MRR churn 0.76% vs -0.38%, CES 2.73 vs 2.57 (1 = least effort), median hours
    # to close 20.9 vs 18.7 -- all higher, and higher is worse for all four.
    worse = ["gross_mrr_churn", "net_mrr_churn", "ces", "median_hours_to_close"]
    assert sample_headline.loc[worse, "vs_history"].tolist() == ["worse"] * 4
    # CES's interval (2.43 to 3.03) covers the median, so the comparison is flagged as noise
    assert sample_headline.loc["ces", "noise"] == "within noise"


def test_a_value_from_an_earlier_month_says_which_month():
    # NPS last answered in August; the report is for September.
    table = pd.DataFrame({"metric": ["mrr", "mrr", "nps"], "period": ["2024-08", "2024-09", "2024-08"],
                          "group": None, "value": [100.0, 110.0, 100.0], "n": [2, 2, 1],
                          "ci_low": np.nan, "ci_high": np.nan})
    head = headline(table, as_of="2024-09-30").set_index("metric")
    assert head.loc["nps", "period_note"] == "value from August 2024"
    assert head.loc["mrr", "period_note"] == ""
    assert head.loc["nps", "n_display"] == "n = 1 response" and head.loc["mrr", "n_display"] == "n = 2 customers"
    # one answer: no verdict, and the card says why
    assert head.loc["nps", "status"] == "no target" and head.loc["nps", "noise"] == "too few responses (n = 1)"


def test_a_one_answer_csat_of_100_percent_is_not_met(small):
    table = pd.DataFrame({"metric": ["csat"], "period": ["2024-09"], "group": None, "value": [1.0],
                          "n": [2.0], "ci_low": [0.34], "ci_high": [1.0]})
    row = headline(table).iloc[0]
    assert row["status"] == "too few responses (n = 2)"


def test_the_cards_take_the_preferred_metrics_first_and_top_up_to_six(small):
    head = headline(kpi_table(small, as_of="2024-03-31"))
    cards = headline_cards(head)["metric"].tolist()
    # three months of subscriptions only: no NRR/GRR (12-month window), no surveys, no health
    # bands; of the preferred cards MRR, logo churn and active customers are there, then the
    # registry order tops them up with ARR, ARPA and net MRR churn (monthly logo retention,
    # before net MRR churn in the registry, is skipped: it restates logo churn).
    assert cards == ["mrr", "logo_churn_rate", "active_customers", "arr", "arpa", "net_mrr_churn"]


def test_the_terminal_table_is_rounded_per_unit_and_the_input_is_untouched():
    # share 0.0222985 -> 0.0223 (4 decimals = 0.01 pp); money 5,798,178.456 -> .46; hours -> 20.9
    table = pd.DataFrame({"metric": ["logo_churn_rate", "mrr", "median_hours_to_close"],
                          "value": [0.0222985, 5798178.456, 20.91861], "n": [1166.0, 1191.0, 349.4]})
    shown = rounded_for_display(table)
    assert shown["value"].tolist() == [0.0223, 5798178.46, 20.9]
    assert shown["n"].tolist() == [1166.0, 1191.0, 349.0]
    assert table["value"].iloc[0] == 0.0222985
