"""Loading datasets from folders, DuckDB and database URLs, with mappings and one error for all problems."""

import sqlite3
from dataclasses import replace

import duckdb
import pandas as pd
import pytest

from csm_kit import ConfigError, DataContractError, DataSourceError, load_dataset, read_mapping
from csm_kit.data.loading import Dataset
from csm_kit.privacy import mask_secrets
from tests.conftest import GOOD_TABLES, write_tables


def test_a_folder_of_csv_files_loads_into_canonical_types(good_folder):
    ds = load_dataset(good_folder)
    assert ds.customers["customer_id"].tolist() == ["00123", "00124"]
    assert ds.subscriptions["end_date"].isna().tolist() == [True, False]
    assert ds.subscriptions["mrr"].tolist() == [100.0, 250.5]
    assert ds.surveys["survey"].tolist() == ["nps", "csat"]  # case folded
    # 23:30 at UTC-2 is 01:30 UTC the next day
    assert ds.tickets["closed_at"].iloc[0] == pd.Timestamp("2024-03-02 01:30")
    assert ds.transactions is None and ds.events is None
    assert set(ds.tables()) == {"customers", "subscriptions", "surveys", "tickets"}


def test_parquet_files_load_like_csv(good_folder, tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for name in ("customers", "subscriptions"):
        pd.read_csv(good_folder / f"{name}.csv", dtype=str).to_parquet(folder / f"{name}.parquet")
    ds = load_dataset(folder)
    assert ds.customers["customer_id"].tolist() == ["00123", "00124"]
    assert ds.subscriptions["start_date"].dtype == "datetime64[ns]"


def test_the_mapping_renames_tables_and_columns(tmp_path):
    folder = write_tables(tmp_path / "raw", {
        "accounts": "account_id,created\nA1,2024-01-01\n",
    })
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("customers:\n  table: accounts.csv\n  columns:\n"
                       "    customer_id: account_id\n    signup_date: created\n")
    ds = load_dataset(folder, mapping=mapping)
    assert ds.customers["customer_id"].tolist() == ["A1"]


@pytest.mark.parametrize(("mapping", "message"), [
    ({"clients": {}}, "mapping table must be one of"),
    ({"customers": {"columns": {"customer_key": "id"}}}, "unknown canonical columns"),
    ({"customers": {"file": "x.csv"}}, "may have table, query and columns"),
])
def test_a_wrong_mapping_says_what_is_allowed(mapping, message):
    with pytest.raises(ConfigError, match=message):
        read_mapping(mapping)


def test_a_duckdb_file_loads_tables_and_queries(tmp_path, good_folder):
    path = tmp_path / "cs.duckdb"
    con = duckdb.connect(str(path))
    con.sql(f"CREATE TABLE customers AS SELECT * FROM read_csv('{good_folder}/customers.csv', all_varchar=true)")
    con.sql("CREATE TABLE billing AS SELECT 'S1' AS sid, '00123' AS customer_id, DATE '2024-01-05' AS start_date, 100.0 AS mrr")
    con.close()
    mapping = {"subscriptions": {"query": "SELECT sid, customer_id, start_date, mrr FROM billing",
                                 "columns": {"subscription_id": "sid"}}}
    ds = load_dataset(path, mapping=mapping)
    assert ds.customers["customer_id"].tolist() == ["00123", "00124"]
    assert ds.subscriptions["start_date"].iloc[0] == pd.Timestamp("2024-01-05")


def test_a_database_url_loads_through_sqlalchemy(tmp_path):
    path = tmp_path / "cs.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE customers (customer_id TEXT, signup_date TEXT)")
        con.execute("INSERT INTO customers VALUES ('00123', '2024-01-05')")
    ds = load_dataset(f"sqlite:///{path}")
    assert ds.customers["customer_id"].tolist() == ["00123"]


def test_a_missing_source_says_what_a_source_can_be(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist; pass a folder"):
        load_dataset(tmp_path / "nowhere")


def test_a_folder_without_customers_reports_the_missing_table(tmp_path):
    folder = write_tables(tmp_path / "x", {"subscriptions": GOOD_TABLES["subscriptions"]})
    with pytest.raises(DataContractError, match="customers: the required table is missing"):
        load_dataset(folder)


def test_every_problem_in_every_table_is_reported_at_once(tmp_path):
    # The acceptance case: a missing required column, a duplicated subscription id,
    # an end_date before its start_date, an NPS score of 11 and a date that does not parse.
    folder = write_tables(tmp_path / "bad", {
        "customers": "customer_id,signup_date\nC1,2024-01-05\nC2,2024-13-01\n",
        "subscriptions": ("subscription_id,customer_id,start_date,end_date,mrr\n"
                          "S1,C1,2024-01-05,,100\nS1,C2,2024-03-01,2024-02-01,50\n"),
        "surveys": "response_id,customer_id,date,survey,score\nR1,C1,2024-03-01,nps,11\n",
        "tickets": "ticket_id,opened_at\nT1,2024-03-01\n",  # customer_id missing
    })
    with pytest.raises(DataContractError) as info:
        load_dataset(folder)
    failures = info.value.failures
    found = set(zip(failures["table"], failures["column"], failures["check"], strict=True))
    assert found == {
        ("customers", "signup_date", "unparseable_date"),
        ("subscriptions", "subscription_id", "field_uniqueness"),
        ("subscriptions", "end_date", "end_before_start"),
        ("surveys", "score", "score_on_scale"),
        ("tickets", "customer_id", "missing_column"),
    }
    message = str(info.value)
    assert message.startswith("The data breaks the data contract (5 problems):")
    for fragment in ("C2 on line 3: '2024-13-01'", "nps score 11", "e.g. S1", "tickets.customer_id"):
        assert fragment in message


def test_an_unknown_time_zone_is_rejected(good_folder):
    with pytest.raises(ConfigError, match="IANA name"):
        load_dataset(good_folder, timezone="Mars/Olympus")


def test_database_passwords_are_masked():
    assert mask_secrets("postgresql://ana:pa:ss@h/db") == "postgresql://ana:***@h/db"
    assert mask_secrets("sqlite:///x.db") == "sqlite:///x.db"


def test_the_default_as_of_is_the_last_complete_month(good_folder):
    ds = load_dataset(good_folder)
    # latest activity: the ticket closed 2024-03-02 01:30 -> March is partial -> February
    assert ds.default_as_of() == pd.Timestamp("2024-02-01")


def test_the_fingerprint_changes_when_the_data_changes(good_folder):
    first = load_dataset(good_folder).fingerprint()
    text = (good_folder / "subscriptions.csv").read_text().replace("100", "101")
    (good_folder / "subscriptions.csv").write_text(text)
    assert load_dataset(good_folder).fingerprint() != first


def test_any_changed_cell_changes_the_fingerprint_and_the_order_of_rows_does_not(good_folder):
    ds = load_dataset(good_folder)
    first = ds.fingerprint()
    for name, table in ds.tables().items():
        shuffled = replace(ds, **{name: table.iloc[::-1].reset_index(drop=True)})
        assert shuffled.fingerprint() == first, name
        for column in table.columns:
            changed = table.copy()
            value = changed[column].iloc[0]
            if pd.api.types.is_datetime64_any_dtype(changed[column]):
                other = (value if pd.notna(value) else pd.Timestamp("2024-01-01")) + pd.Timedelta(1)
            elif pd.api.types.is_bool_dtype(changed[column]):
                other = not value if pd.notna(value) else True
            elif pd.api.types.is_numeric_dtype(changed[column]):
                other = (value if pd.notna(value) else 0) + 1
            else:
                other = f"{value}x"
            changed.loc[0, column] = other
            assert replace(ds, **{name: changed}).fingerprint() != first, (name, column)


def test_a_column_mixing_numbers_and_text_still_has_a_fingerprint():
    # An extra column outside the contract, kept as it is: Arrow cannot take it, pandas hashes it.
    def dataset(x):
        return Dataset(customers=pd.DataFrame({"customer_id": ["a", "b"], "x": x}))
    assert dataset([1, "two"]).fingerprint() == dataset([1, "two"]).fingerprint()
    assert dataset([1, "two"]).fingerprint() != dataset([1, "three"]).fingerprint()
