"""docs/definitions.md: every metric the kit exports or computes has an entry users can read."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import csm_kit as ck
from csm_kit.kpis import KPIS

DOC = Path(__file__).parent.parent / "docs" / "definitions.md"
#: The modules whose public functions compute a metric (the metric, health and team layers).
METRIC_MODULES = {
    "churn", "cohorts", "revenue", "revenue_retention", "survival", "ltv", "purchases",
    "satisfaction", "survey_trends", "nps_churn", "support", "renewals", "upcoming_renewals", "adoption",
    "comment_themes", "targets", "team", "health.scores", "health.backtest", "health.probability",
    "health.actions", "health.forecast",
}


def headings() -> list[str]:
    return [line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("### ")]


def test_every_kpi_of_the_registry_has_its_own_entry():
    named = {name for line in headings() for name in re.findall(r"`([a-z0-9_]+)`", line)}
    missing = sorted({k.metric for k in KPIS} - named)
    assert not missing, f"add an entry (### `name` — ...) to docs/definitions.md for {missing}"


def test_every_public_metric_function_is_named_in_the_definitions():
    text = DOC.read_text(encoding="utf-8")
    functions = [name for name in ck.__all__
                 if inspect.isfunction(getattr(ck, name))
                 and getattr(ck, name).__module__.removeprefix("csm_kit.") in METRIC_MODULES]
    assert len(functions) > 40
    missing = [name for name in functions if not re.search(rf"`(ck\.)?{name}[`(]", text)]
    assert not missing, f"docs/definitions.md does not mention {missing}"


def test_every_entry_has_a_formula_or_a_worked_example():
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"\n### ", text)[1:]
    for section in sections:
        title = section.splitlines()[0]
        assert "Worked example" in section or "    " in section, title


def test_no_user_facing_text_cites_the_internal_design_document():
    root = DOC.parent.parent
    files = [root / "README.md", root / "data" / "README.md", *root.joinpath("docs").glob("*.md"),
             *root.joinpath("csm_kit").rglob("*.py")]
    citing = [str(p.relative_to(root)) for p in files if "DESIGN" in p.read_text(encoding="utf-8")]
    assert citing == [], f"point these to docs/definitions.md or data/README.md instead: {citing}"
