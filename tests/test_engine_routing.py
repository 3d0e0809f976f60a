"""Engine routing: large pandas inputs run on DuckDB, give the pandas engine's exact results.

The threshold is lowered in most tests (monkeypatch) so that small frames take the DuckDB
route; every comparison is exact (same rows, same order, same dtypes, same floats).
"""

from __future__ import annotations

import os

import duckdb
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csm_kit import engine as eng
from csm_kit.churn import logo_churn_rate
from csm_kit.cohorts import cohort_retention, cohort_table
from csm_kit.errors import ConfigError
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements, mrr_summary
from csm_kit.revenue_retention import gross_revenue_retention, net_revenue_retention
from csm_kit.sample.generator import generate_sample
from tests.test_revenue import five_customer_history, subscriptions

#: Random histories often end inside their only month; the default as_of then warns that the
#: table is empty (that warning is tested in tests/test_grouping.py and tests/test_kpis.py).
pytestmark = pytest.mark.filterwarnings("ignore:.*a month the data does not reach the end of")


@pytest.fixture(scope="module")
def sample_subscriptions() -> pd.DataFrame:
    """The generated sample's subscriptions: 600 customers over 36 months."""
    return generate_sample(customers=600, months=36, seed=11, tables=["subscriptions"])[
        "subscriptions"]


@pytest.fixture
def route_everything_to_duckdb(monkeypatch):
    """Make every pandas frame 'large': engine=None then runs on DuckDB."""
    monkeypatch.setattr(eng, "DUCKDB_MIN_ROWS", 1)
    eng.forget_reused()
    yield
    eng.forget_reused()


@pytest.fixture
def engines_used(monkeypatch):
    """Record the backend every transform runs on."""
    used = []
    original = eng.to_engine

    def recording(native, engine=None, **kwargs):
        frame = original(native, engine, **kwargs)
        used.append(frame.implementation.name.lower())
        return frame

    monkeypatch.setattr(eng, "to_engine", recording)
    return used


ROW_LEVEL = {"customer_months": customer_months, "mrr_movements": mrr_movements}
TABLES = {
    "mrr_bridge": mrr_bridge,
    "mrr_summary": mrr_summary,
    "logo_churn_rate": logo_churn_rate,
    "net_revenue_retention": lambda s, **kw: net_revenue_retention(s, window_months=3, **kw),
    "gross_revenue_retention": gross_revenue_retention,
    "logo_cohorts": lambda s, **kw: cohort_retention(s, kind="logo", **kw),
    "revenue_cohorts": lambda s, **kw: cohort_retention(s, kind="revenue", **kw),
    "cohort_table": cohort_table,
}


def test_small_pandas_frames_stay_on_pandas_and_large_ones_go_to_duckdb():
    small = pd.DataFrame({"a": range(eng.DUCKDB_MIN_ROWS - 1)})
    large = pd.DataFrame({"a": range(eng.DUCKDB_MIN_ROWS)})
    assert eng.choose_engine(small) == "pandas"
    assert eng.choose_engine(large) == "duckdb"
    assert eng.choose_engine(large, "auto") == "duckdb"


def test_an_explicit_engine_overrides_the_size_rule():
    large = pd.DataFrame({"a": range(eng.DUCKDB_MIN_ROWS)})
    assert eng.choose_engine(large, "pandas") == "pandas"
    assert eng.choose_engine(pd.DataFrame({"a": [1]}), "duckdb") == "duckdb"
    assert eng.choose_engine(large, "polars") == "polars"


def test_polars_and_duckdb_inputs_run_on_their_own_backend_whatever_their_size():
    assert eng.choose_engine(pl.DataFrame({"a": range(eng.DUCKDB_MIN_ROWS)})) == "polars"
    assert eng.choose_engine(duckdb.sql("select 1 as a")) == "duckdb"


def test_an_unknown_engine_names_the_choices():
    with pytest.raises(ConfigError, match=r"`engine` must be one of \[None, 'auto', 'pandas'"):
        eng.choose_engine(pd.DataFrame({"a": [1]}), "spark")


def test_the_environment_variable_sets_the_engine_that_none_means(monkeypatch):
    large = pd.DataFrame({"a": range(eng.DUCKDB_MIN_ROWS)})
    monkeypatch.setenv("CSM_KIT_ENGINE", "pandas")
    assert eng.choose_engine(large) == "pandas"
    assert eng.choose_engine(large, "duckdb") == "duckdb"  # an explicit engine still wins
    monkeypatch.setenv("CSM_KIT_ENGINE", "auto")
    assert eng.choose_engine(large) == "duckdb"


def test_a_bad_engine_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("CSM_KIT_ENGINE", "spark")
    with pytest.raises(ConfigError, match="environment variable CSM_KIT_ENGINE must be one of"):
        mrr_bridge(five_customer_history())


def test_a_large_pandas_input_runs_on_duckdb_and_comes_back_as_pandas(
        sample_subscriptions, route_everything_to_duckdb, engines_used):
    got = customer_months(sample_subscriptions)
    assert engines_used == ["duckdb"]
    assert isinstance(got, pd.DataFrame)


def test_a_small_pandas_input_runs_on_pandas(sample_subscriptions, engines_used):
    mrr_bridge(sample_subscriptions.head(50))
    assert engines_used == ["pandas"]


@pytest.mark.parametrize("name", list(ROW_LEVEL))
def test_row_level_results_on_duckdb_equal_the_pandas_engine_row_for_row(
        sample_subscriptions, route_everything_to_duckdb, name):
    function = ROW_LEVEL[name]
    expected = function(sample_subscriptions, engine="pandas")
    got = function(sample_subscriptions)  # routed to DuckDB
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("name", list(TABLES))
def test_monthly_tables_on_duckdb_equal_the_pandas_engine(
        sample_subscriptions, route_everything_to_duckdb, name):
    function = TABLES[name]
    expected = function(sample_subscriptions, engine="pandas")
    pd.testing.assert_frame_equal(function(sample_subscriptions), expected, check_exact=True)


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_every_engine_gives_the_pandas_engines_numbers_on_the_sample(sample_subscriptions, engine):
    for name, function in {**ROW_LEVEL, **TABLES}.items():
        expected = function(sample_subscriptions, engine="pandas")
        got = function(sample_subscriptions, engine=engine)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)


def test_groups_by_a_customer_column_are_identical_on_the_duckdb_route(
        sample_subscriptions, route_everything_to_duckdb):
    customers = generate_sample(customers=600, months=36, seed=11, tables=["customers"])[
        "customers"]
    expected = mrr_bridge(sample_subscriptions, by="segment", customers=customers, engine="pandas")
    got = mrr_bridge(sample_subscriptions, by="segment", customers=customers)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_a_changed_input_is_computed_again_not_served_from_an_earlier_call(
        route_everything_to_duckdb):
    history = five_customer_history()
    before = mrr_bridge(history, as_of="2024-06")
    changed = history.copy()
    changed.loc[0, "mrr"] = 130.0  # A's first subscription 100 -> 130: +30 from January on
    after = mrr_bridge(changed, as_of="2024-06")
    assert after["end_mrr"].tolist() == [v + 30 for v in before["end_mrr"].tolist()]
    pd.testing.assert_frame_equal(after, mrr_bridge(changed, as_of="2024-06", engine="pandas"))


def test_repeated_calls_on_the_same_input_give_the_same_result(route_everything_to_duckdb):
    history = five_customer_history()
    first = mrr_movements(history, as_of="2024-06")
    second = mrr_movements(history, as_of="2024-06")  # served from the kept events
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(mrr_movements(history, as_of="2024-04"),
                                  mrr_movements(history, as_of="2024-04", engine="pandas"))


def test_reuse_keeps_only_a_few_results(route_everything_to_duckdb):
    history = five_customer_history()
    for month in ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07"]:
        mrr_movements(history, as_of=month)
    assert len(eng._REUSED) <= eng.REUSE_SLOTS


# Each example runs four functions on two engines (~0.5 s); CSM_KIT_PROPERTY_EXAMPLES raises it.
EXAMPLES = int(os.environ.get("CSM_KIT_PROPERTY_EXAMPLES", "20"))
subscription_rows = st.tuples(
    st.sampled_from(["c0", "c1", "c2", "c3"]),
    st.integers(0, 700),                        # start: days after 1 Jan 2023
    st.one_of(st.none(), st.integers(1, 400)),  # length in days, None = still open
    st.integers(-5_000, 1_000_000),             # MRR in cents (a few credits)
)
histories = st.lists(subscription_rows, min_size=1, max_size=12).map(
    lambda rows: subscriptions([
        (c, pd.Timestamp("2023-01-01") + pd.Timedelta(days=s),
         None if n is None else pd.Timestamp("2023-01-01") + pd.Timedelta(days=s + n), cents / 100)
        for c, s, n, cents in rows]))


@settings(max_examples=max(5, EXAMPLES // 2), deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(subs=histories)
def test_duckdb_route_equals_the_pandas_engine_on_random_histories(subs, monkeypatch):
    monkeypatch.setattr(eng, "DUCKDB_MIN_ROWS", 1)
    eng.forget_reused()
    for function in (customer_months, mrr_movements, mrr_bridge, cohort_retention):
        pd.testing.assert_frame_equal(function(subs), function(subs, engine="pandas"),
                                      check_exact=True)
