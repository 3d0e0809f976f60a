"""The same narwhals code gives identical results on pandas, Polars and DuckDB."""

from __future__ import annotations

import duckdb
import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest

from csm_kit.cohorts import cohort_retention
from csm_kit.engine import choose_engine, to_pandas
from csm_kit.errors import ConfigError
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements
from csm_kit.revenue_retention import net_revenue_retention
from tests.test_revenue import five_customer_history, subscriptions


def generated_history(seed: int = 7, n: int = 120) -> pd.DataFrame:
    """Random subscriptions over ~2 years: 40 customers, a third still open, cents MRR."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(1, 400, n), unit="D")
    rows = zip([f"c{i:02d}" for i in rng.integers(0, 40, n)], start,
               pd.Series(end).where(rng.random(n) < 0.66), rng.integers(1, 90_000, n) / 100, strict=True)
    return subscriptions(list(rows))


def generated_orders(seed: int = 3, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "transaction_id": pd.array([f"T{i}" for i in range(n)], dtype="str"),
        "customer_id": pd.array([f"c{i:02d}" for i in rng.integers(0, 30, n)], dtype="str"),
        "date": (pd.Timestamp("2023-01-01")
                 + pd.to_timedelta(rng.integers(0, 500, n), unit="D")).astype("datetime64[ns]"),
        "amount": rng.integers(100, 50_000, n) / 100,
    })


BACKENDS = {
    "polars": pl.from_pandas,
    "polars_lazy": lambda df: pl.from_pandas(df).lazy(),
    "duckdb": duckdb.from_df,
}


def as_sorted_pandas(result, keys) -> pd.DataFrame:
    frame = to_pandas(nw.from_native(result))
    return frame.sort_values(keys, ignore_index=True)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    """The five-customer history (every movement type) plus 120 random subscriptions."""
    return pd.concat([five_customer_history(), generated_history()], ignore_index=True)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_customer_months_are_identical_on_every_backend(history, backend):
    expected = customer_months(history, as_of="2024-06")
    got = customer_months(BACKENDS[backend](history), as_of="2024-06")
    keys = ["customer_id", "month"]
    pd.testing.assert_frame_equal(as_sorted_pandas(got, keys), as_sorted_pandas(expected, keys))


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_mrr_movements_are_identical_on_every_backend(history, backend):
    expected = mrr_movements(history)
    got = mrr_movements(BACKENDS[backend](history))
    keys = ["customer_id", "month"]
    pd.testing.assert_frame_equal(as_sorted_pandas(got, keys), as_sorted_pandas(expected, keys))


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_mrr_bridge_and_nrr_are_identical_on_every_backend(history, backend):
    native = BACKENDS[backend](history)
    pd.testing.assert_frame_equal(mrr_bridge(native), mrr_bridge(history))
    pd.testing.assert_frame_equal(net_revenue_retention(native, window_months=3),
                                  net_revenue_retention(history, window_months=3))


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("kind", ["logo", "revenue"])
def test_cohort_retention_is_identical_on_every_backend(history, backend, kind):
    native = BACKENDS[backend](history)
    pd.testing.assert_frame_equal(cohort_retention(native, kind=kind),
                                  cohort_retention(history, kind=kind))


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_transaction_cohorts_are_identical_on_every_backend(backend):
    orders = generated_orders()
    native = BACKENDS[backend](orders)
    pd.testing.assert_frame_equal(cohort_retention(native, kind="revenue"),
                                  cohort_retention(orders, kind="revenue"))


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_forcing_an_engine_on_pandas_input_gives_the_same_pandas_result(engine):
    history = generated_history()
    got = customer_months(history, engine=engine)
    assert isinstance(got, pd.DataFrame)
    keys = ["customer_id", "month"]
    pd.testing.assert_frame_equal(as_sorted_pandas(got, keys),
                                  as_sorted_pandas(customer_months(history), keys))
    pd.testing.assert_frame_equal(mrr_bridge(history, engine=engine), mrr_bridge(history))


def test_date_typed_columns_give_the_same_results_as_timestamps():
    history = five_customer_history()
    dates = pl.from_pandas(history).with_columns(pl.col("start_date", "end_date").cast(pl.Date))
    relation = duckdb.from_arrow(dates.to_arrow())
    for native in (dates, relation):
        pd.testing.assert_frame_equal(mrr_bridge(native), mrr_bridge(history))
    keys = ["customer_id", "month"]
    pd.testing.assert_frame_equal(as_sorted_pandas(customer_months(dates, engine="pandas"), keys),
                                  as_sorted_pandas(customer_months(history), keys))


def test_row_level_results_come_back_in_the_inputs_type():
    history = five_customer_history()
    assert isinstance(customer_months(pl.from_pandas(history)), pl.DataFrame)
    assert isinstance(mrr_movements(pl.from_pandas(history).lazy()), pl.LazyFrame)
    assert isinstance(customer_months(duckdb.from_df(history)), duckdb.DuckDBPyRelation)
    assert isinstance(customer_months(pl.from_pandas(history), engine="pandas"), pl.DataFrame)
    assert isinstance(customer_months(pl.from_pandas(history).lazy(), engine="duckdb"),
                      pl.LazyFrame)


def test_relations_of_their_own_duckdb_connection_work_with_groups_and_month_expansion():
    history = five_customer_history()
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D", "E"], "csm": list("xyxyy")})
    native = duckdb.connect().from_df(history)
    pd.testing.assert_frame_equal(mrr_bridge(native, by="csm", customers=customers),
                                  mrr_bridge(history, by="csm", customers=customers))
    keys = ["customer_id", "month"]
    pd.testing.assert_frame_equal(as_sorted_pandas(customer_months(native), keys),
                                  as_sorted_pandas(customer_months(history), keys))


def test_choose_engine_defaults_to_the_inputs_backend_and_rejects_unknown_names():
    assert choose_engine(pl.DataFrame({"a": [1]})) == "polars"
    assert choose_engine(duckdb.sql("select 1 as a")) == "duckdb"
    with pytest.raises(ConfigError, match="`engine` must be one of"):
        choose_engine(pd.DataFrame({"a": [1]}), "spark")
