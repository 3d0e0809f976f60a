"""Derived columns in the mapping: constants, DuckDB expressions, value maps, lookups,
unpivot and row filters — and a clear ConfigError for anything else."""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit import ConfigError, DataContractError, load_dataset
from csm_kit.data.contract import TABLES
from csm_kit.data.mapping import apply_mapping, check_expression, read_mapping
from tests.conftest import write_tables

CUSTOMERS = "customer_id,signup_date,name\nC1,2024-01-01,Acme\nC2,2024-01-01,Beta\n"


def test_an_expression_computes_mrr_from_amount_quantity_and_interval(tmp_path):
    folder = write_tables(tmp_path / "d", {
        "customers": CUSTOMERS,
        "subscriptions": ("id,cust,start,amount,qty,months\n"
                          "S1,C1,2024-01-01,\"$1,200.00\",2,12\nS2,C2,2024-01-01,50,3,1\n"),
    })
    mapping = {"subscriptions": {"columns": {
        "subscription_id": "id", "customer_id": "cust", "start_date": "start",
        "mrr": {"sql": "amount * qty / months"}, "billing_interval_months": "months"}}}
    subs = load_dataset(folder, mapping=mapping).subscriptions
    # 1,200 × 2 / 12 = 200; 50 × 3 / 1 = 150
    assert subs["mrr"].tolist() == [200.0, 150.0]


def test_a_constant_a_value_map_and_a_lookup_make_a_survey_table(tmp_path):
    folder = write_tables(tmp_path / "d", {
        "customers": CUSTOMERS,
        "ratings": "id,org,when,rating\n1,acme ,2024-02-01,Good\n2,BETA,2024-02-02,bad\n",
    })
    mapping = {"surveys": {"table": "ratings.csv", "columns": {
        "response_id": "id", "date": "when", "survey": {"value": "csat"},
        "score": {"column": "rating", "map": {"Good": 5, "Bad": 1}},
        "customer_id": {"lookup": "customers", "key": "org", "match": "name", "take": "customer_id"},
    }}}
    surveys = load_dataset(folder, mapping=mapping).surveys
    # names and map keys are compared trimmed and case-insensitively
    assert surveys[["customer_id", "survey", "score"]].values.tolist() == [
        ["C1", "csat", 5.0], ["C2", "csat", 1.0]]


def test_values_missing_from_a_value_map_are_an_error_listing_them(tmp_path):
    folder = write_tables(tmp_path / "d", {
        "customers": CUSTOMERS,
        "surveys": "response_id,customer_id,date,survey,rating\nR1,C1,2024-02-01,csat,Meh\n",
    })
    mapping = {"surveys": {"columns": {"score": {"column": "rating", "map": {"Good": 5}}}}}
    with pytest.raises(DataContractError, match=r"surveys.score: values the mapping's map: does not list in 1 row \(e.g. 'Meh'\)"):
        load_dataset(folder, mapping=mapping)


def test_a_wide_form_export_becomes_one_row_per_answer():
    raw = pd.DataFrame({"Timestamp": ["2024-03-01", "2024-03-02"], "Who": ["C1", "C2"],
                        "Recommend us?": ["9", None], "Satisfied?": ["4", "5"]})
    entry = {"unpivot": {"columns": ["Recommend us?", "Satisfied?"]}, "columns": {
        "response_id": {"sql": "source_row || '-' || question"}, "customer_id": "Who",
        "date": "Timestamp", "score": "answer",
        "survey": {"column": "question", "map": {"Recommend us?": "nps", "Satisfied?": "csat"}}}}
    df, failures = apply_mapping(raw, TABLES["surveys"], entry)
    assert failures == []
    # C2 left the NPS question empty: no response for it (three answers, not four)
    assert df[["response_id", "customer_id", "survey", "score"]].values.tolist() == [
        ["1-Recommend us?", "C1", "nps", "9"], ["1-Satisfied?", "C1", "csat", "4"],
        ["2-Satisfied?", "C2", "csat", "5"]]


def test_where_keeps_only_the_rows_that_belong_to_the_table():
    raw = pd.DataFrame({"Id": ["1", "2", "3"], "Score": ["Good", "Offered", "Bad"]})
    entry = {"where": "Score IN ('Good', 'Bad')", "columns": {"response_id": "Id"}}
    df, _ = apply_mapping(raw, TABLES["surveys"], entry)
    assert df["response_id"].tolist() == ["1", "3"]


def test_a_mapped_source_column_that_does_not_exist_is_named_with_a_suggestion():
    raw = pd.DataFrame({"Customer ID": ["C1"]})
    _, failures = apply_mapping(raw, TABLES["subscriptions"], {"columns": {"customer_id": "Customer Id"}},
                                where="subs.csv")
    assert failures[0]["check"] == "missing_source_column"
    assert "'Customer Id', which is not in subs.csv; did you mean 'Customer ID'?" in failures[0]["message"]


def test_an_expression_duckdb_cannot_evaluate_is_a_failure_naming_the_column():
    raw = pd.DataFrame({"amount": ["10"]})
    _, failures = apply_mapping(raw, TABLES["subscriptions"], {"columns": {"mrr": {"sql": "amont * 2"}}})
    assert failures[0]["check"] == "bad_expression" and failures[0]["column"] == "mrr"
    assert "amont" in failures[0]["message"]


@pytest.mark.parametrize("sql", [
    "(SELECT 1)", "1 FROM source; DROP TABLE source", "read_csv('/etc/passwd')",
    "amount) FROM source WHERE (1=1", "getenv('HOME')",
])
def test_anything_but_one_expression_over_the_source_is_rejected(sql):
    with pytest.raises(ConfigError, match="sql must be one expression over the source columns"):
        check_expression(sql, where="mapping for subscriptions.mrr")


def test_expressions_cannot_read_files_even_through_functions_not_on_the_list(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    raw = pd.DataFrame({"x": ["1"]})
    entry = {"columns": {"mrr": {"sql": f"(length('{secret}') * 0 + 1)"}}}
    df, failures = apply_mapping(raw, TABLES["subscriptions"], entry)
    assert failures == [] and df["mrr"].tolist() == [1]
    entry = {"columns": {"mrr": {"sql": f"list_sum([1]) + len(glob('{tmp_path}/*'))"}}}
    with pytest.raises(ConfigError, match="not allowed"):
        read_mapping({"subscriptions": entry})


@pytest.mark.parametrize(("how", "message"), [
    ({"value": 1, "sql": "1"}, "exactly one of"),
    ({"python": "1 + 1"}, "exactly one of"),
    (["a", "b"], "must be a source column name"),
    ({"lookup": "customers", "key": "org"}, "missing \\['match', 'take'\\]"),
    ({"column": "rating", "map": ["Good"]}, "map must be a dictionary"),
])
def test_a_derived_column_in_another_form_says_which_forms_are_allowed(how, message):
    with pytest.raises(ConfigError, match=message):
        read_mapping({"surveys": {"columns": {"score": how}}})


def test_a_users_mapping_overrides_a_recipe_column_by_column():
    mapping = read_mapping({"recipe": "stripe", "subscriptions": {"columns": {"plan": "Product"}}})
    columns = mapping["subscriptions"]["columns"]
    assert columns["plan"] == "Product" and "sql" in columns["mrr"]  # the rest stays the recipe's


def test_two_recipes_defining_the_same_table_must_be_settled_in_a_mapping():
    with pytest.raises(ConfigError, match="both define the customers table"):
        read_mapping("stripe,hubspot")


def test_an_unknown_recipe_or_accept_value_is_rejected():
    with pytest.raises(ConfigError, match="recipe must be one of"):
        read_mapping({"recipe": "quickbooks"})
    with pytest.raises(ConfigError, match="accept: must be a list among"):
        read_mapping({"accept": ["everything"]})
