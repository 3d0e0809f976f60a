"""Privacy modes and secrets: pseudonyms, redacted contacts, aggregate-only reports, masked URLs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from csm_kit.cli import app
from csm_kit.data.loading import load_dataset
from csm_kit.errors import ConfigError
from csm_kit.privacy import privacy_key, pseudonyms, redact_contacts, suppress_small_groups
from csm_kit.report.runner import run_reports
from tests.hostile import EMAIL, PHONE, shared_reports

KEY = "test-key-0123456789"
PRIVATE_RUNS = {
    "pseudonymised": ["--jobs", "2", "--notebooks", "03,04", "--privacy", "pseudonymised"],
    "aggregate": ["--jobs", "2", "--notebooks", "02,04,05", "--privacy", "aggregate",
                  "--min-group-size", "12"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSM_KIT_PRIVACY_KEY", KEY)
        return shared_reports(tmp_path_factory, PRIVATE_RUNS)


def test_pseudonyms_are_keyed_stable_and_distinct():
    names = pd.Series(["Acme", "Beta", "Acme"])
    one, other = pseudonyms(names, key=b"k" * 16, prefix="c"), pseudonyms(names, key=b"j" * 16, prefix="c")
    assert one[0] == one[2] != one[1] and one[0] != other[0]


def test_contacts_in_comments_are_redacted():
    out = redact_contacts(pd.Series([f"mail {EMAIL} or call {PHONE}", "order 12 of 2024"]))
    assert out.tolist() == ["mail [e-mail] or call [phone]", "order 12 of 2024"]


def test_a_missing_key_is_a_clear_error():
    with pytest.raises(ConfigError, match="CSM_KIT_PRIVACY_KEY"):
        privacy_key({})


def test_pseudonymised_without_a_key_exits_2_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("CSM_KIT_PRIVACY_KEY", raising=False)
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--privacy", "pseudonymised"])
    assert result.exit_code == 2 and "CSM_KIT_PRIVACY_KEY" in result.output
    assert list(tmp_path.iterdir()) == []


def test_small_groups_are_suppressed():
    frame = pd.DataFrame({"csm": ["a", "b", "c"], "accounts": [4, 5, 30]})
    assert suppress_small_groups(frame, n="accounts", k=5)["csm"].tolist() == ["b", "c"]


def _everything(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.iterdir()
                   if p.suffix in (".html", ".ipynb", ".csv", ".json"))


def test_pseudonymised_reports_and_exports_show_no_names_or_contacts(runs):
    run = runs["pseudonymised"]
    assert run["exit_code"] == 0, run["output"]
    folder = Path(run["folder"])
    text = _everything(folder)
    assert "Topaz Supply Co" not in text and EMAIL not in text and PHONE not in text
    assert "customer-" in text and "[e-mail]" in text and KEY not in text
    at_risk = pd.read_csv(folder / "at_risk_accounts.csv", dtype=str)
    assert at_risk["name"].str.startswith("customer-").all()
    actions = pd.read_csv(folder / "action_list.csv", dtype=str)
    assert len(actions) and actions["name"].str.startswith("customer-").all()


def test_aggregate_reports_leave_out_customer_level_tables_and_small_groups(runs):
    run = runs["aggregate"]
    assert run["exit_code"] == 0, run["output"]
    folder = Path(run["folder"])
    assert not (folder / "at_risk_accounts.csv").exists()
    assert not (folder / "action_list.csv").exists()
    health = (folder / "04_customer_health.html").read_text()
    assert "customer-level rows are left out of this report (privacy: aggregate)" in health
    card = pd.read_csv(folder / "csm_scorecard.csv")
    assert (card["accounts"] >= 12).all()
    # 02's expansion tables: only groups of at least 12 customers, though smaller ones exist
    books = load_dataset(runs["data"]).customers.groupby("csm").size()
    assert (books < 12).any() and (books >= 12).any()
    page = BeautifulSoup((folder / "02_revenue_retention.html").read_text(), "html.parser")
    tables = [t for t in page.find_all("table") if t.caption and "Expansion MRR per" in t.caption.text]
    assert len(tables) == 2
    for table in tables:
        header = [th.get_text(strip=True) for th in table.find("thead").find_all("th")]
        column = header.index("Accounts")
        sizes = [int(tr.find_all("td")[column].get_text(strip=True).replace(",", ""))
                 for tr in table.find("tbody").find_all("tr")]
        assert sizes and min(sizes) >= 12
    assert json.loads((folder / "manifest.json").read_text())["parameters"]["privacy"] == "aggregate"
    # the index's narrative counts churned and expanded accounts but names none of them
    index = BeautifulSoup((folder / "index.html").read_text(), "html.parser")
    story = index.find("p", class_="narrative").get_text()
    assert "account(s) churned" in story and "largest account lost" not in story
    names = load_dataset(runs["data"]).customers["name"].dropna()
    assert not any(name in story for name in names)


def test_a_database_password_never_reaches_the_report_the_manifest_or_the_notebook(tmp_path):
    url = "postgresql://ana:s3cret-pw@db.example.com/cs"
    params = nbformat.v4.new_code_cell("data = None  # data source")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[
        params, nbformat.v4.new_code_cell("print(data)\ndata"),
        nbformat.v4.new_code_cell("raise RuntimeError(f'cannot connect to {data}')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "01_leak.ipynb")
    run = run_reports([tmp_path / "01_leak.ipynb"], out_dir=tmp_path / "out", as_of="2026-10-31",
                      parameters={"data": url}, progress=False)
    text = _everything(run.folder)
    assert "s3cret-pw" not in text
    assert "postgresql://ana:***@db.example.com/cs" in text
