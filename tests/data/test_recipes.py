"""Every recipe, run on its fixture through `csm-kit validate` and `csm-kit metrics`, gives the
hand-worked figures of the fixture's README; the traps give exit 2 naming table, column and fix.

The fixtures live in tests/data/recipes/<recipe>/ with a README each (sources, what could not
be confirmed, and the arithmetic of every figure asserted here).
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from csm_kit import load_dataset
from csm_kit.cli import app
from csm_kit.cohorts import cohort_retention
from csm_kit.data.recipes import load_recipe, recipe_names

FIXTURES = Path(__file__).parent / "recipes"
runner = CliRunner()


def metrics(folder: Path, mapping: str, as_of: str = "2024-03-31") -> pd.DataFrame:
    if folder.parent == FIXTURES:  # an unchanged fixture: its figures once per test run
        return _fixture_metrics(folder, mapping, as_of).copy()
    return _metrics(folder, mapping, as_of)


def _metrics(folder: Path, mapping: str, as_of: str) -> pd.DataFrame:
    # Written to a file (full precision; the terminal's table is rounded for reading), with
    # every month (the fixtures' churn starts in their first month).
    with tempfile.TemporaryDirectory() as out:
        path = Path(out) / "metrics.csv"
        result = runner.invoke(app, ["metrics", "--data", str(folder), "--mapping", mapping,
                                     "--as-of", as_of, "--all-months", "--output", str(path)])
        assert result.exit_code == 0, result.output
        return pd.read_csv(path)


@functools.cache
def _fixture_metrics(folder: Path, mapping: str, as_of: str) -> pd.DataFrame:
    return _metrics(folder, mapping, as_of)


def value(table: pd.DataFrame, metric: str, period: str) -> float:
    row = table[(table["metric"] == metric) & (table["period"] == period) & table["group"].isna()]
    assert len(row) == 1, f"{metric} {period}: {row}"
    return float(row["value"].iloc[0])


def validates(folder: Path, mapping: str) -> str:
    result = runner.invoke(app, ["validate", "--data", str(folder), "--mapping", mapping])
    assert result.exit_code == 0, result.output
    assert "meets the contract" in result.output
    return result.output


def fails(folder: Path, mapping: str) -> str:
    result = runner.invoke(app, ["validate", "--data", str(folder), "--mapping", mapping])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def test_every_packaged_recipe_has_a_fixture_with_a_readme():
    for name in recipe_names():
        assert (FIXTURES / name / "README.md").is_file(), name
        assert load_recipe(name).get("description"), name


# --------------------------------------------------------------------------- Stripe


def test_stripe_gives_the_hand_worked_mrr_and_logo_churn():
    validates(FIXTURES / "stripe", "stripe")
    table = metrics(FIXTURES / "stripe", "stripe")
    # Jan: 3×50 + 1,200/12 + 2×20 = 150 + 100 + 40; Feb: C ended 02-20, E (20) and the
    # past_due add-on (30) counted, D trialing not: 150 + 100 + 30 + 20 = 300
    assert value(table, "mrr", "2024-01") == pytest.approx(290)
    assert value(table, "mrr", "2024-02") == pytest.approx(300)
    assert value(table, "mrr", "2024-03") == pytest.approx(300)
    assert value(table, "logo_churn_rate", "2024-02") == pytest.approx(1 / 3)
    assert value(table, "logo_churn_rate", "2024-03") == 0


def test_stripe_canceled_at_is_not_the_end_and_cancel_at_period_end_ends_with_the_period():
    ds = load_dataset(FIXTURES / "stripe", mapping="stripe")
    subs = ds.subscriptions.set_index("subscription_id")
    assert subs.loc["sub_3", "end_date"] == pd.Timestamp("2024-02-20")  # ended, not 02-05
    assert subs.loc["sub_5", "end_date"] == pd.Timestamp("2024-04-25")  # current period end
    assert subs.loc["sub_4", "mrr"] == 0 and subs.loc["sub_4", "status"] == "trialing"
    assert subs.loc["sub_2", "billing_interval_months"] == 12


def test_stripe_yearly_amount_left_undivided_is_an_error_naming_the_fix(tmp_path):
    folder = copy_fixture("stripe", tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('recipe: stripe\nsubscriptions:\n  columns:\n'
                       '    mrr: {sql: "\\"Amount\\" * \\"Quantity\\""}\n')
    out = fails(folder, str(mapping))
    # sub_2 is 1,200 a year on Pro against 150 a month for the monthly Pro: 8× ≥ 0.6 × 12
    assert "subscriptions.mrr" in out and "not divided" in out and "sub_2" in out
    assert "interval" in out


def test_stripe_two_currencies_without_rates_are_an_error_and_fx_rates_convert_them(tmp_path):
    folder = copy_fixture("stripe", tmp_path)
    subs = folder / "subscriptions.csv"
    subs.write_text(subs.read_text().replace("Analytics,prod_addon,1,month,30.00,usd",
                                             "Analytics,prod_addon,1,month,30.00,eur"))
    out = fails(folder, "stripe")
    assert "subscriptions.currency" in out and "fx" in out and "sub_6" in out
    (folder / "rates.csv").write_text("month,currency,rate\n2024-01-01,EUR,1.10\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("recipe: stripe\nfx:\n  table: rates.csv\n  reporting_currency: USD\n")
    validates(folder, str(mapping))
    table = metrics(folder, str(mapping))
    # the add-on: 30 EUR × 1.10 = 33 USD (January's rate, the latest at or before February)
    assert value(table, "mrr", "2024-03") == pytest.approx(150 + 100 + 33 + 20)


def test_stripe_as_a_semicolon_file_with_decimal_commas_gives_the_same_figures(tmp_path):
    folder = copy_fixture("stripe", tmp_path)
    subs = pd.read_csv(folder / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs["Amount"] = ["50,00", "1.200,00", "20,00", "50,00", "20,00", "30,00"]
    subs.to_csv(folder / "subscriptions.csv", sep=";", index=False, encoding="cp1252")
    validates(folder, "stripe")
    assert value(metrics(folder, "stripe"), "mrr", "2024-03") == pytest.approx(300)


def test_stripe_amounts_that_could_be_thousands_or_decimals_are_an_error_naming_decimal(tmp_path):
    folder = copy_fixture("stripe", tmp_path)
    subs = pd.read_csv(folder / "subscriptions.csv", dtype=str, keep_default_na=False)
    subs["Amount"] = ["1.200", "1.200", "2.500", "1.200", "2.500", "3.000"]
    subs.to_csv(folder / "subscriptions.csv", sep=";", index=False)
    out = fails(folder, "stripe")
    assert "subscriptions" in out and "decimal" in out and "1.200" in out


def test_stripe_ids_that_match_no_customer_are_an_error_naming_the_likely_mistake(tmp_path):
    folder = copy_fixture("stripe", tmp_path)
    customers = folder / "unified_customers.csv"
    customers.write_text(customers.read_text().replace("cus_", "cust-"))
    out = fails(folder, "stripe")
    assert "subscriptions.customer_id" in out and "100%" in out and "wrong column" in out


# --------------------------------------------------------------------------- Zendesk


def test_zendesk_gives_csat_from_ratings_and_first_contact_resolution():
    validates(FIXTURES / "zendesk", "zendesk")
    table = metrics(FIXTURES / "zendesk", "zendesk")
    assert value(table, "csat", "2024-03") == pytest.approx(3 / 4)  # Good, Bad, Good, Good
    assert value(table, "first_contact_resolution_rate", "2024-03") == pytest.approx(3 / 4)
    assert value(table, "first_contact_resolution_rate", "2024-02") == 0
    assert value(table, "mrr", "2024-02") == 550 and value(table, "mrr", "2024-03") == 500
    assert value(table, "logo_churn_rate", "2024-03") == pytest.approx(1 / 3)


def test_zendesk_tickets_are_linked_to_customers_by_organisation_name():
    ds = load_dataset(FIXTURES / "zendesk", mapping="zendesk")
    assert ds.tickets.set_index("ticket_id")["customer_id"].to_dict() == {
        "101": "C1", "102": "C2", "103": "C2", "104": "C3", "105": "C1", "106": "C1"}
    assert ds.surveys["response_id"].tolist() == ["ZD-101", "ZD-102", "ZD-103", "ZD-106"]


def test_zendesk_organisations_missing_from_customers_are_an_error(tmp_path):
    folder = copy_fixture("zendesk", tmp_path)
    customers = folder / "customers.csv"
    customers.write_text(customers.read_text().replace("Acme Corp", "Acme Corporation")
                         .replace("Beta LLC", "Beta Limited"))
    out = fails(folder, "zendesk")
    # 5 of 6 tickets (Acme ×3, Beta ×2) now match no customer: the organisation names differ
    assert "tickets.customer_id" in out and "83%" in out and "lookup" in out


# --------------------------------------------------------------------------- SurveyMonkey


def test_surveymonkey_gives_the_hand_worked_nps():
    out = validates(FIXTURES / "surveymonkey", "surveymonkey")
    assert "gmail.com" in out  # one respondent of six is no customer: a warning only
    table = metrics(FIXTURES / "surveymonkey", "surveymonkey")
    assert value(table, "nps", "2024-02") == -100  # one 6
    assert value(table, "nps", "2024-03") == 40  # 10, 9, 9, 7, 3: (3 − 1) / 5
    assert value(table, "mrr", "2024-03") == 550


def test_surveymonkey_dates_read_day_first_without_the_recipe_setting_are_ambiguous(tmp_path):
    folder = copy_fixture("surveymonkey", tmp_path)
    export = folder / "Customer_NPS_Q1_2024.csv"
    # Every day now 12 or less: 03/04/2024 can be 4 March or 3 April, and nothing tells.
    export.write_text(re.sub(r"(\d\d)/(\d\d)/2024", lambda m: f"{m[1]}/{int(m[2]) % 12 + 1:02d}/2024",
                             export.read_text()))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("recipe: surveymonkey\nsurveys:\n  date_format: null\n")
    out = fails(folder, str(mapping))
    assert "surveys" in out and "day-first or month-first" in out and "date_format" in out


# --------------------------------------------------------------------------- HubSpot


def test_hubspot_companies_become_customers_with_their_owner_as_csm():
    validates(FIXTURES / "hubspot", "hubspot")
    ds = load_dataset(FIXTURES / "hubspot", mapping="hubspot")
    customers = ds.customers.set_index("customer_id")
    assert customers.loc["5001", "csm"] == "Casey Nguyen"
    assert customers.loc["5002", "domain"] == "beta.io"  # lower-cased
    assert customers.loc["5003", "signup_date"] == pd.Timestamp("2024-01-10")
    table = metrics(FIXTURES / "hubspot", "hubspot")
    assert value(table, "mrr", "2024-03") == 500
    assert value(table, "logo_churn_rate", "2024-03") == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- Google Forms


def test_google_forms_and_a_customers_sheet_alone_give_logo_churn_and_nps():
    validates(FIXTURES / "google_forms", "google_forms")
    table = metrics(FIXTURES / "google_forms", "google_forms")
    assert value(table, "logo_churn_rate", "2024-01") == 0
    assert value(table, "logo_churn_rate", "2024-02") == pytest.approx(1 / 5)  # Beta
    assert value(table, "logo_churn_rate", "2024-03") == pytest.approx(1 / 5)  # Delta
    assert value(table, "nps", "2024-03") == 25  # 10, 6, 8, 10: (2 − 1) / 4
    assert value(table, "csat", "2024-03") == pytest.approx(2 / 3)  # 5, 2, 4


def test_google_forms_retention_cohorts_come_from_the_sheet():
    ds = load_dataset(FIXTURES / "google_forms", mapping="google_forms")
    matrix = cohort_retention(ds.subscriptions, as_of="2024-03")
    rows = {f"{k:%Y-%m}": [v for v in row if pd.notna(v)] for k, row in matrix.iterrows()}
    assert rows == {"2023-11": [1, 1, 1, 1, 1], "2023-12": [1, 1, 0.5, 0.5],
                    "2024-01": [1, 1, 0.5], "2024-02": [1, 1]}


# --------------------------------------------------------------------------- Chargebee


def test_chargebee_gives_the_hand_worked_mrr_and_logo_churn():
    validates(FIXTURES / "chargebee", "chargebee")
    table = metrics(FIXTURES / "chargebee", "chargebee")
    # Jan 25×2 + 600/12 + 30 = 130; Feb: sub_c cancelled 02-15, quarterly 120/3 = 40 added
    assert value(table, "mrr", "2024-01") == pytest.approx(130)
    assert value(table, "mrr", "2024-02") == pytest.approx(140)
    assert value(table, "mrr", "2024-03") == pytest.approx(140)  # the trial counts 0
    assert value(table, "logo_churn_rate", "2024-02") == pytest.approx(1 / 3)


def test_chargebee_in_trial_rows_counted_as_mrr_are_an_error(tmp_path):
    folder = copy_fixture("chargebee", tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('recipe: chargebee\nsubscriptions:\n  columns:\n    mrr: {sql: '
                       '"\\"subscriptions.plan_unit_price\\" * \\"subscriptions.plan_quantity\\" '
                       '/ \\"subscriptions.billing_period\\""}\n')
    out = fails(folder, str(mapping))
    # sub_e is in_trial at 30; sub_b's 600 a year also stays undivided (billing_period 1)
    assert "subscriptions.mrr" in out and "in_trial" in out and "sub_e" in out


# --------------------------------------------------------------------------- Delighted


def test_delighted_gives_the_hand_worked_nps_from_epoch_timestamps():
    validates(FIXTURES / "delighted", "delighted")
    ds = load_dataset(FIXTURES / "delighted", mapping="delighted")
    # 1707388200 s = 2024-02-08 10:30 UTC
    assert ds.surveys["date"].iloc[0] == pd.Timestamp("2024-02-08")
    table = metrics(FIXTURES / "delighted", "delighted")
    assert value(table, "nps", "2024-02") == pytest.approx(-100 / 3)  # 9, 3, 0
    assert value(table, "nps", "2024-03") == 50  # 10, 10, 9, 6


# --------------------------------------------------------------------------- Salesforce


def test_salesforce_accounts_become_customers_with_owner_and_website_domain():
    validates(FIXTURES / "salesforce", "salesforce")
    customers = load_dataset(FIXTURES / "salesforce", mapping="salesforce").customers
    assert customers["domain"].tolist() == ["acme.com", "beta.io", "ceta.com"]
    assert customers["csm"].tolist() == ["Casey Nguyen", "Jordan Patel", "Casey Nguyen"]
    assert customers["signup_date"].tolist() == [pd.Timestamp("2023-06-01"),
                                                 pd.Timestamp("2023-09-15"), pd.Timestamp("2024-01-10")]
    table = metrics(FIXTURES / "salesforce", "salesforce")
    assert value(table, "mrr", "2024-03") == 500
    assert value(table, "logo_churn_rate", "2024-03") == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- more traps


def test_hubspot_mapped_to_the_company_name_instead_of_the_record_id_is_an_error(tmp_path):
    folder = copy_fixture("hubspot", tmp_path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("recipe: hubspot\ncustomers:\n  columns:\n    customer_id: Company name\n")
    out = fails(folder, str(mapping))
    # every subscription names 5001-5003, the customers are now 'Acme Corp', ...
    assert "subscriptions.customer_id" in out and "100%" in out and "'Acme Corp'" in out


def test_google_forms_answers_naming_no_customer_of_the_sheet_are_an_error(tmp_path):
    folder = copy_fixture("google_forms", tmp_path)
    form = folder / "Customer Feedback (Responses) - Form Responses 1.csv"
    form.write_text(form.read_text().replace(",Acme,", ",Acme Inc,").replace(",Ceta,", ",Ceta Ltd,")
                    .replace(",Echo,", ",Echo SA,"))
    out = fails(folder, "google_forms")
    # 8 of 9 answers (Acme 4, Ceta 2, Echo 2; only Fox is left) now name no customer of the sheet
    assert "surveys.customer_id" in out and "89%" in out


def test_delighted_respondents_whose_domains_are_not_the_customers_are_an_error(tmp_path):
    folder = copy_fixture("delighted", tmp_path)
    customers = folder / "customers.csv"
    customers.write_text(customers.read_text().replace("acme.com", "acme.example")
                         .replace("beta.io", "beta.example"))
    out = fails(folder, "delighted")
    assert "surveys.customer_id" in out and "100%" in out and "'acme.com'" in out


def test_salesforce_15_character_ids_against_18_character_ones_are_an_error(tmp_path):
    folder = copy_fixture("salesforce", tmp_path)
    subs = folder / "subscriptions.csv"
    subs.write_text(subs.read_text().replace("AAA,", ","))  # the 15-character form of the ids
    out = fails(folder, "salesforce")
    assert "subscriptions.customer_id" in out and "100%" in out and "wrong column" in out
