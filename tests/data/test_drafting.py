"""`csm-kit init`: recognise a folder of exports, write a commented mapping that validates
with no edits, never overwrite without --force, print the next commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from csm_kit import load_dataset
from csm_kit.cli import app
from csm_kit.data.drafting import draft_mapping

FIXTURES = Path(__file__).parent / "recipes"
EXPORTS = {  # the four tools' exports, nothing canonical
    "stripe": ["unified_customers.csv", "subscriptions.csv"],
    "zendesk": ["export-2024-04-01-tickets.csv"],
    "surveymonkey": ["Customer_NPS_Q1_2024.csv"],
    "hubspot": ["hubspot-crm-exports-all-companies-2024-04-02.csv"],
}
runner = CliRunner()


@pytest.fixture
def exports(tmp_path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    for recipe, files in EXPORTS.items():
        for name in files:
            shutil.copy(FIXTURES / recipe / name, folder / name)
    return folder


def test_init_on_four_tools_exports_writes_a_mapping_that_validates_with_no_edits(exports):
    result = runner.invoke(app, ["init", str(exports)])
    assert result.exit_code == 0, result.output
    mapping = exports / "mapping.yaml"
    text = mapping.read_text()
    assert text.startswith("# csm-kit mapping drafted by `csm-kit init`")
    assert "Stripe amounts are read as currency units" in text  # what the user must decide
    assert f"csm-kit validate --data {exports} --mapping {mapping}" in " ".join(result.output.split())
    validated = runner.invoke(app, ["validate", "--data", str(exports), "--mapping", str(mapping)])
    assert validated.exit_code == 0, validated.output
    ds = load_dataset(exports, mapping=mapping)
    # customers from the CRM (HubSpot), Stripe subscriptions linked by e-mail domain:
    # acme.com → 5001 (sub_1), beta.io → 5002 (sub_2, sub_6), ceta.com → 5003 (sub_3) ...
    owners = ds.subscriptions.set_index("subscription_id")["customer_id"].to_dict()
    assert owners == {"sub_1": "5001", "sub_2": "5002", "sub_3": "5003", "sub_4": "5004",
                      "sub_5": "5005", "sub_6": "5002"}
    # surveys stack Zendesk's CSAT ratings (4) and SurveyMonkey's NPS answers (6)
    assert ds.surveys["survey"].value_counts().to_dict() == {"nps": 6, "csat": 4}
    assert set(ds.tickets["customer_id"]) == {"5001", "5002", "5003"}


def test_init_never_overwrites_an_existing_mapping_without_force(exports):
    target = exports / "mapping.yaml"
    target.write_text("# mine\n")
    result = runner.invoke(app, ["init", str(exports)])
    assert result.exit_code == 2 and "--force" in result.output
    assert target.read_text() == "# mine\n"
    result = runner.invoke(app, ["init", str(exports), "--force"])
    assert result.exit_code == 0 and target.read_text() != "# mine\n"


def test_init_can_write_elsewhere(exports, tmp_path):
    out = tmp_path / "elsewhere.yaml"
    result = runner.invoke(app, ["init", str(exports), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and not (exports / "mapping.yaml").exists()


def test_a_day_first_customers_sheet_gets_a_day_first_date_format(tmp_path):
    folder = tmp_path / "sheet"
    folder.mkdir()
    (folder / "customers.csv").write_text(
        "Customer,Start date,Churn date,MRR\nAcme,15/11/2023,,100\nBeta,01/12/2023,10/02/2024,50\n")
    draft = draft_mapping(folder)
    assert draft.mapping["customers"]["date_format"] == "%d/%m/%Y"
    assert draft.mapping["subscriptions"]["columns"]["mrr"] == "MRR"  # the sheet has MRR
    assert any("day-first" in note for note in draft.guessed)
    ds = load_dataset(folder, mapping=yaml.safe_load(draft.to_yaml()))
    assert ds.subscriptions["end_date"].dropna().tolist() == [__import__("pandas").Timestamp("2024-02-10")]


def test_files_nobody_recognises_are_listed_not_guessed(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "notes.csv").write_text("when,what\n2024-01-01,hello\n")
    draft = draft_mapping(folder)
    assert draft.mapping == {}
    assert any("notes.csv" in note for note in draft.ignored)
    assert any("no customers table" in note for note in draft.decide)
