"""The KPI registry's as-of wiring: every KPI stops at the as-of month and reports that month.

kpi_table on the thirteen-month company of tests/test_kpi_wiring.py (January 2024 to January
2025), cut one month early, at December 2024: no KPI may report a later period, and each KPI
that reports December when run to January reports the same December figures when run to
December (a month's figures depend only on data up to its end).
"""

import pandas as pd
import pytest

from csm_kit import load_dataset
from csm_kit.kpis import history_start, kpi_table, within_history
from tests.conftest import write_tables
from tests.test_kpi_wiring import TABLES

EARLIER, LAST = "2024-12-31", "2025-01-31"
COLUMNS = ["metric", "period", "value", "n", "ci_low", "ci_high"]


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    return load_dataset(write_tables(tmp_path_factory.mktemp("thirteen_months"), TABLES))


@pytest.fixture(scope="module", params=[EARLIER, "2024-12-01"], ids=["month end", "month start"])
def tables(company, request):
    # the as-of month named by its last day (the CLI's --as-of) or its first (the reports')
    return kpi_table(company, as_of=request.param), kpi_table(company, as_of=LAST)


def company_rows(table: pd.DataFrame, month: str) -> pd.DataFrame:
    rows = table[table["group"].isna() & (table["period"].str[:7] == month)]
    return rows[COLUMNS].sort_values(["metric", "period"]).reset_index(drop=True)


def test_no_kpi_reports_a_period_after_the_as_of_month(tables):
    cut, full = tables
    assert (full["period"].str[:7] == "2025-01").any()  # the data does go on to January
    late = cut[cut["period"].str[:7] > "2024-12"]
    assert late.empty, sorted(set(late["metric"]))


@pytest.mark.parametrize("metric", ["repeat_purchase_rate", "purchase_frequency",
                                    "average_order_value", "average_customer_value",
                                    "referral_rate"])
def test_the_as_of_month_is_reported_with_the_figures_of_the_longer_run(tables, metric):
    # These KPIs cut a whole-history table at the as-of month: December must be there, with
    # the same figures as in the run to January.
    cut, full = tables
    mine = company_rows(cut[cut["metric"] == metric], "2024-12")
    assert len(mine) == 1, f"{metric}: no December row when run to December"
    pd.testing.assert_frame_equal(mine, company_rows(full[full["metric"] == metric], "2024-12"))


def test_within_history_keeps_rows_of_metrics_outside_the_registry(company, tables):
    # A table with a row the registry does not know (e.g. a team's own metric appended to the
    # export): within_history neither fails on it nor drops it as a subscription metric.
    _, full = tables
    assert history_start(company) > pd.Timestamp("2000-01-01")  # so 2000-01 would be early
    own = pd.DataFrame({"metric": ["our_own_metric"], "period": ["2000-01"], "group": [None],
                        "value": [1.0]})
    out = within_history(pd.concat([full, own], ignore_index=True), company)
    assert (out["metric"] == "our_own_metric").sum() == 1
