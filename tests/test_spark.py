"""The revenue engine on Apache Spark: a local SparkSession gives the pandas engine's numbers.

One local[2] session (no packages fetched, no UI) runs customer-months, MRR movements, the
bridge (also by segment), both cohort matrices, logo churn and annual NRR on the bundled
sample, from a Spark frame made from pandas and from Parquet files with DATE columns, and
compares them with the pandas engine exactly. Session start is ~9 s; the module runs in well under a minute.
"""

from __future__ import annotations

import importlib.util
import os

import narwhals as nw
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from csm_kit.churn import logo_churn_rate
from csm_kit.cohorts import cohort_retention
from csm_kit.data.loading import load_sample
from csm_kit.engine import to_pandas
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements
from csm_kit.revenue_retention import net_revenue_retention
from tests.conftest import require, which

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*does not yet fully support pandas:FutureWarning"),
]
COLUMNS = ["customer_id", "start_date", "end_date", "mrr"]


@pytest.fixture(scope="module")
def spark():
    # Skipped on a machine without them; a failure under CI (.ci/run installs both).
    require("pyspark", importlib.util.find_spec("pyspark"), install='pip install -e ".[dev]"')
    require("a Java runtime for Spark", which("java") or os.environ.get("JAVA_HOME"),
            install="apt-get install default-jre-headless")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("csm-kit-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def sample():
    dataset = load_sample()
    return dataset.subscriptions[COLUMNS], dataset.customers


@pytest.fixture(scope="module")
def spark_subscriptions(spark, sample):
    subscriptions, _ = sample
    return spark.createDataFrame(pa.Table.from_pandas(subscriptions, preserve_index=False))


def spark_rows(result) -> pd.DataFrame:
    """A Spark result as pandas rows sorted like the pandas engine's."""
    return to_pandas(nw.from_native(result)).sort_values(["customer_id", "month"],
                                                         ignore_index=True)


def test_customer_months_on_spark_equal_the_pandas_engine_and_stay_a_spark_frame(
        sample, spark_subscriptions):
    subscriptions, _ = sample
    result = customer_months(spark_subscriptions)
    assert type(result).__name__ == "DataFrame" and "pyspark" in type(result).__module__
    pd.testing.assert_frame_equal(spark_rows(result), customer_months(subscriptions),
                                  check_exact=True)


def test_mrr_movements_on_spark_equal_the_pandas_engine(sample, spark_subscriptions):
    subscriptions, _ = sample
    pd.testing.assert_frame_equal(spark_rows(mrr_movements(spark_subscriptions)),
                                  mrr_movements(subscriptions), check_exact=True)


def test_the_mrr_bridge_on_spark_equals_the_pandas_engine_also_by_segment(
        sample, spark_subscriptions):
    subscriptions, customers = sample
    pd.testing.assert_frame_equal(mrr_bridge(spark_subscriptions), mrr_bridge(subscriptions),
                                  check_exact=True)
    pd.testing.assert_frame_equal(
        mrr_bridge(spark_subscriptions, by="segment", customers=customers),
        mrr_bridge(subscriptions, by="segment", customers=customers), check_exact=True)


@pytest.mark.parametrize("kind", ["logo", "revenue"])
def test_cohort_retention_on_spark_equals_the_pandas_engine(sample, spark_subscriptions, kind):
    subscriptions, _ = sample
    pd.testing.assert_frame_equal(cohort_retention(spark_subscriptions, kind=kind),
                                  cohort_retention(subscriptions, kind=kind), check_exact=True)


def test_logo_churn_and_annual_nrr_on_spark_equal_the_pandas_engine(sample, spark_subscriptions):
    subscriptions, _ = sample
    pd.testing.assert_frame_equal(logo_churn_rate(spark_subscriptions),
                                  logo_churn_rate(subscriptions), check_exact=True)
    pd.testing.assert_frame_equal(net_revenue_retention(spark_subscriptions, window_months=12),
                                  net_revenue_retention(subscriptions, window_months=12),
                                  check_exact=True)


def test_parquet_read_by_spark_with_date_columns_gives_the_same_bridge(spark, sample, tmp_path):
    subscriptions, _ = sample
    table = pa.Table.from_pandas(subscriptions, preserve_index=False)
    for name in ("start_date", "end_date"):
        table = table.set_column(table.schema.get_field_index(name), name,
                                 table[name].cast(pa.date32()))
    pq.write_table(table, tmp_path / "subscriptions.parquet")
    frame = spark.read.parquet(str(tmp_path / "subscriptions.parquet"))
    pd.testing.assert_frame_equal(mrr_bridge(frame), mrr_bridge(subscriptions), check_exact=True)


@pytest.mark.parametrize("definitions", ["chartmogul", "stripe"])
def test_the_in_month_events_presets_on_spark_equal_the_pandas_engine(
        spark, sample, spark_subscriptions, definitions):
    # The day-level engine (events timing, $0 customers kept active, rolling 30-day windows,
    # not-yet-churned cohorts) on Spark, on the sample and on a month with every in-month case.
    from tests.test_differences import april_history

    subscriptions, _ = sample
    small = april_history()[COLUMNS]
    cases = [(subscriptions, spark_subscriptions, None),
             (small, spark.createDataFrame(pa.Table.from_pandas(small, preserve_index=False)),
              "2024-04")]
    for frame, spark_frame, as_of in cases:
        options = {"as_of": as_of, "definitions": definitions}
        pd.testing.assert_frame_equal(mrr_bridge(spark_frame, **options),
                                      mrr_bridge(frame, **options), check_exact=True)
        pd.testing.assert_frame_equal(logo_churn_rate(spark_frame, **options),
                                      logo_churn_rate(frame, **options), check_exact=True)
        pd.testing.assert_frame_equal(cohort_retention(spark_frame, **options),
                                      cohort_retention(frame, **options), check_exact=True)
        keys = ["customer_id", "date", "movement"]
        got = to_pandas(nw.from_native(mrr_movements(spark_frame, **options)))
        pd.testing.assert_frame_equal(got.sort_values(keys, ignore_index=True),
                                      mrr_movements(frame, **options).sort_values(
                                          keys, ignore_index=True), check_dtype=False)
