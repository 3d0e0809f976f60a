"""The monthly digest: what changed since last month, as Markdown, JSON or a chat message.

:func:`monthly_digest` compares the as-of month with the month before it:

- **KPIs** whose verdict against the target changed (met / near / missed), or whose previous
  value lies outside this month's 95% interval (a move larger than the figure's own noise);
- **accounts newly red**: red in health at this month's end and not red at the previous
  month's end (including accounts not scored then), with the reason — the component costing
  the most points and its signal's value;
- **new detractors**: NPS answers of 0–6 dated in the month, with their comments;
- **renewals due** in the next 90 days after the month end, with the account's health;
- **data-quality findings** for the month.

:meth:`Digest.to_markdown`, :meth:`Digest.to_json` and :meth:`Digest.to_slack` render it; text
from the data (names, comments, segments) is cleaned and escaped for each format.
:mod:`csm_kit.report.delivery` writes it to a file or posts it to a webhook. With
``privacy="aggregate"`` no customer is named: the lists become counts (and renewals a total
by band, bands with fewer contracts than the minimum group size left out).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.data.quality import data_quality
from csm_kit.errors import ConfigError
from csm_kit.health.scores import _resolve, health_scores, load_health_config
from csm_kit.health.signals import customer_signals
from csm_kit.kpis import KPI_BY_NAME, format_value, kpi_directions, kpi_rules, kpi_table
from csm_kit.privacy import check_privacy
from csm_kit.safe_text import clean_text
from csm_kit.targets import load_targets, target_status

RENEWAL_DAYS = 90
SLACK_ROWS = 10  # rows of each list in a chat message


@dataclass
class Digest:
    """What changed between two month ends (build it with :func:`monthly_digest`).

    Attributes
    ----------
    month, previous : first days of the as-of month and of the month before.
    kpis : metric, label, previous, value (in the metric's unit), previous_display,
        value_display, previous_status, status, ci_low, ci_high, why ('verdict changed',
        'outside interval' or both).
    newly_red : customer_id, name, segment, owner, score, score_last_month, previous_band
        ('not scored' for an account not active then), reason.
    new_detractors : customer_id, name, date, score, comment.
    renewals_due : contract_id, customer_id, name, due_date, arr_due, band, score.
    quality : severity, message (the data-quality findings of the month).
    privacy : "off", "pseudonymised" or "aggregate".
    """

    month: pd.Timestamp
    previous: pd.Timestamp
    kpis: pd.DataFrame
    newly_red: pd.DataFrame
    new_detractors: pd.DataFrame
    renewals_due: pd.DataFrame
    quality: pd.DataFrame
    privacy: str = "off"
    min_group_size: int = 5
    renewal_days: int = RENEWAL_DAYS
    _title: str = field(init=False, default="")

    def __post_init__(self):
        self._title = (f"Customer-success digest: {self.month:%B %Y} "
                       f"(changes since {self.previous:%B %Y})")

    @property
    def aggregate(self) -> bool:
        return self.privacy == "aggregate"

    def renewals_by_band(self) -> pd.DataFrame:
        """band, contracts, arr_due of the renewals due; with aggregate privacy, bands with
        fewer contracts than the minimum group size are left out."""
        due = self.renewals_due.assign(band=self.renewals_due["band"].fillna("not scored"))
        table = due.groupby("band", sort=False).agg(contracts=("contract_id", "size"),
                                                    arr_due=("arr_due", "sum")).reset_index()
        order = {"red": 0, "yellow": 1, "green": 2}
        table = table.sort_values("band", key=lambda b: b.map(order).fillna(3), kind="stable")
        if self.aggregate:
            table = table[table["contracts"] >= self.min_group_size]
        return table.reset_index(drop=True)

    # ------------------------------------------------------------------ renderings

    def to_dict(self) -> dict:
        """The digest as plain data (what :meth:`to_json` writes)."""
        out = {"month": f"{self.month:%Y-%m}", "previous_month": f"{self.previous:%Y-%m}",
               "privacy": self.privacy,
               "kpis": _records(self.kpis.drop(columns=["previous_display", "value_display"])),
               "newly_red_count": len(self.newly_red),
               "new_detractors_count": len(self.new_detractors),
               "renewals_due_count": len(self.renewals_due),
               "renewals_due_arr": float(self.renewals_due["arr_due"].sum()),
               "renewals_by_band": _records(self.renewals_by_band()),
               "data_quality": _records(self.quality)}
        if not self.aggregate:
            out["newly_red"] = _records(self.newly_red)
            out["new_detractors"] = _records(self.new_detractors)
            out["renewals_due"] = _records(self.renewals_due)
        return out

    def to_json(self) -> str:
        """The digest as JSON (dates ISO, numbers as numbers, missing values null)."""
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)

    def to_markdown(self) -> str:
        """The digest as Markdown: a title, then one section per part, tables where listed."""
        lines = [f"# {self._title}", ""]
        lines += _section("KPIs that changed verdict or moved beyond their interval",
                          self._kpi_rows(), ["KPI", f"{self.previous:%b %Y}", f"{self.month:%b %Y}",
                                             "verdict", "why"],
                          "No KPI changed verdict or moved beyond its interval.")
        lines += self._customer_sections(markdown=True)
        lines += ["## Data quality", ""]
        lines += ([f"- {_md(r.severity)}: {_md(r.message)}" for r in self.quality.itertuples()]
                  or ["No data-quality findings."]) + [""]
        return "\n".join(lines)

    def to_slack(self) -> dict:
        """A Slack-compatible webhook payload: ``text`` (a one-line summary) and ``blocks``.

        Text from the data is cleaned, has &, < and > escaped (Slack's control characters)
        and is sent with ``verbatim: true``, so names and comments cannot mention, link or
        ping anyone. Each list shows its first 10 rows.
        """
        summary = (f"{self._title}: {len(self.kpis)} KPI change(s), {len(self.newly_red)} "
                   f"account(s) newly red, {len(self.new_detractors)} new detractor(s), "
                   f"{len(self.renewals_due)} renewal(s) due in {self.renewal_days} days.")
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": self._title[:150]}}]
        for title, rows in self._chat_parts():
            text = f"*{title}*\n" + ("\n".join(rows) if rows else "None.")
            blocks.append({"type": "section",
                           "text": {"type": "mrkdwn", "text": text[:2900], "verbatim": True}})
        return {"text": summary, "blocks": blocks}

    # ------------------------------------------------------------------ parts

    def _kpi_rows(self) -> list[list[str]]:
        return [[_md(r.label), r.previous_display, r.value_display,
                 f"{r.previous_status} → {r.status}" if r.previous_status != r.status
                 else r.status, r.why] for r in self.kpis.itertuples()]

    def _customer_sections(self, *, markdown: bool) -> list[str]:
        lines = []
        red, det = self.newly_red, self.new_detractors
        if self.aggregate:
            lines += [f"## Accounts newly red: {len(red):,}", "",
                      f"## New detractors: {len(det):,}", ""]
        else:
            lines += _section(f"Accounts newly red ({len(red):,})", [
                [_md(r.customer_id), _md(r.name), _md(r.segment), _md(r.owner),
                 f"{r.score:.0f} (was {_points(r.score_last_month)}, {r.previous_band})",
                 _md(r.reason)] for r in red.itertuples()],
                ["customer", "name", "segment", "owner", "score", "reason"],
                "No account turned red this month.")
            lines += _section(f"New detractors ({len(det):,})", [
                [_md(r.customer_id), _md(r.name), f"{r.date:%Y-%m-%d}", f"{r.score:.0f}",
                 _md(r.comment)] for r in det.itertuples()],
                ["customer", "name", "date", "NPS", "comment"], "No NPS answer of 0–6 this month.")
        due = self.renewals_due
        title = (f"Renewals due in the next {self.renewal_days} days ({len(due):,}, "
                 f"ARR {due['arr_due'].sum():,.0f})")
        if self.aggregate:
            lines += _section(title, [[b.band, f"{b.contracts:,}", f"{b.arr_due:,.0f}"]
                                      for b in self.renewals_by_band().itertuples()],
                              ["health", "contracts", "ARR due"], "No renewal due.")
        else:
            lines += _section(title, [
                [_md(r.customer_id), _md(r.name), f"{r.due_date:%Y-%m-%d}", f"{r.arr_due:,.0f}",
                 _md(r.band) if isinstance(r.band, str) else "not scored", _points(r.score)]
                for r in due.itertuples()],
                ["customer", "name", "due", "ARR due", "health", "score"], "No renewal due.")
        return lines

    def _chat_parts(self) -> list[tuple[str, list[str]]]:
        def more(rows, total):
            return rows[:SLACK_ROWS] + ([f"… and {total - SLACK_ROWS} more"]
                                        if total > SLACK_ROWS else [])

        kpis = [f"• {_slack(r.label)}: {r.previous_display} → {r.value_display} ({r.why})"
                for r in self.kpis.itertuples()]
        parts = [("KPIs that changed", more(kpis, len(kpis)))]
        due = self.renewals_due
        if self.aggregate:
            parts += [("Accounts newly red", [f"{len(self.newly_red):,}"]),
                      ("New detractors", [f"{len(self.new_detractors):,}"])]
            renewals = [f"• {b.band}: {b.contracts:,} contracts, ARR {b.arr_due:,.0f}"
                        for b in self.renewals_by_band().itertuples()]
        else:
            red = [f"• {_slack(r.name if isinstance(r.name, str) else r.customer_id)} "
                   f"({_slack(r.owner)}): {_slack(r.reason)}" for r in self.newly_red.itertuples()]
            det = [f"• {_slack(r.name if isinstance(r.name, str) else r.customer_id)}: NPS "
                   f"{r.score:.0f}" + (f" \u201c{_slack(r.comment)}\u201d"
                                       if isinstance(r.comment, str) else "")
                   for r in self.new_detractors.itertuples()]
            parts += [(f"Accounts newly red ({len(red)})", more(red, len(red))),
                      (f"New detractors ({len(det)})", more(det, len(det)))]
            renewals = [f"• {_slack(r.name if isinstance(r.name, str) else r.customer_id)}: "
                        f"{r.due_date:%Y-%m-%d}, ARR {r.arr_due:,.0f}, "
                        f"{r.band if isinstance(r.band, str) else 'not scored'}"
                        for r in due.itertuples()]
        parts.append((f"Renewals due in {self.renewal_days} days ({len(due)}, ARR "
                      f"{due['arr_due'].sum():,.0f})", more(renewals, len(renewals))))
        quality = [f"• {_slack(r.severity)}: {_slack(r.message)}" for r in self.quality.itertuples()]
        parts.append(("Data quality", more(quality, len(quality))))
        return parts


def monthly_digest(dataset: Dataset, *, as_of=None, targets=None, config=None,
                   privacy: str = "off", min_group_size: int = 5,
                   renewal_days: int = RENEWAL_DAYS) -> Digest:
    """Compare the as-of month with the month before: KPIs, accounts, detractors, renewals.

    Parameters
    ----------
    dataset : the loaded tables (pseudonymise them first for "pseudonymised" privacy).
    as_of : the month (any date in it); None = the last complete month in the data.
    targets : targets YAML path or dict (None = packaged) for the KPI verdicts.
    config : the health configuration (None = packaged).
    privacy : "off", "pseudonymised" or "aggregate" (no customer named).
    min_group_size : with "aggregate", renewal bands with fewer contracts are left out.
    renewal_days : how far ahead of the month end renewals are listed.

    Returns
    -------
    Digest
    """
    check_privacy(privacy, min_group_size)
    if isinstance(renewal_days, bool) or not isinstance(renewal_days, int) or renewal_days < 1:
        raise ConfigError(f"`renewal_days` must be a whole number >= 1, got {renewal_days!r}")
    month = dataset.default_as_of() if as_of is None else pd.Timestamp(as_of).to_period(
        "M").start_time
    if month is None:
        raise ConfigError("the data has no dates to take an as-of month from; pass as_of")
    previous = month - pd.DateOffset(months=1)
    end = month + pd.offsets.MonthEnd(0)
    config = _resolve(config, load_health_config)
    health = health_scores(dataset, as_of=end, config=config) \
        if dataset.subscriptions is not None else None
    names = _names(dataset)
    return Digest(
        month=month, previous=previous,
        kpis=_kpi_changes(dataset, month, previous, health, config, load_targets(
            targets, survey_settings=dataset.survey_settings)),
        newly_red=_newly_red(dataset, health, config, end, names),
        new_detractors=_new_detractors(dataset, month, end, names),
        renewals_due=_renewals_due(dataset, health, end, renewal_days, names),
        quality=data_quality(dataset, as_of=month)[["severity", "message"]],
        privacy=privacy, min_group_size=min_group_size, renewal_days=renewal_days)


FORMATS = ("markdown", "json")


def render_digest(digest: Digest, *, file_format: str = "markdown") -> str:
    """The digest as ``markdown`` or ``json`` text."""
    if file_format not in FORMATS:
        raise ConfigError(f"--format must be one of {list(FORMATS)}, got {file_format!r}")
    return digest.to_markdown() if file_format == "markdown" else digest.to_json()


# --------------------------------------------------------------------------- the parts


def _kpi_changes(dataset, month, previous, health, config, targets) -> pd.DataFrame:
    kpis = kpi_table(dataset, as_of=month, health=health)
    if health is not None:  # the red share is measured at one month end: add last month's
        before = health_scores(dataset, as_of=previous + pd.offsets.MonthEnd(0), config=config)
        kpis = pd.concat([kpis, kpi_table(dataset, as_of=previous, metrics=["red_health_share"],
                                          health=before)], ignore_index=True)
    company = kpis[kpis["group"].isna() | (kpis["group"] == "")]
    now_text, before_text = f"{month:%Y-%m}", f"{previous:%Y-%m}"
    now = company[company["period"] == now_text].drop_duplicates("metric").set_index("metric")
    was = company[company["period"] == before_text].drop_duplicates("metric").set_index("metric")
    both = now.index.intersection(was.index)
    rules = kpi_rules(kpi_directions(ces_low_effort_is=dataset.survey_settings.ces_direction))
    status_now = _status(company, now_text, targets, rules)
    status_was = _status(company, before_text, targets, rules)
    rows = []
    for metric in both:
        value, before = now.loc[metric, "value"], was.loc[metric, "value"]
        low, high = now.loc[metric, "ci_low"], now.loc[metric, "ci_high"]
        why = []
        if status_now.get(metric) != status_was.get(metric):
            why.append("verdict changed")
        if pd.notna(low) and pd.notna(high) and pd.notna(before) and not low <= before <= high:
            why.append("outside interval")
        if not why:
            continue
        kpi = KPI_BY_NAME.get(metric)
        unit = kpi.unit if kpi else "ratio"
        rows.append({"metric": metric, "label": kpi.label if kpi else metric,
                     "previous": before, "value": value,
                     "previous_display": format_value(before, unit),
                     "value_display": format_value(value, unit),
                     "previous_status": status_was.get(metric, ""),
                     "status": status_now.get(metric, ""), "ci_low": low, "ci_high": high,
                     "why": " and ".join(why)})
    return pd.DataFrame(rows, columns=["metric", "label", "previous", "value", "previous_display",
                                       "value_display", "previous_status", "status", "ci_low",
                                       "ci_high", "why"])


def _status(company: pd.DataFrame, period: str, targets: dict, rules: dict) -> dict:
    """Each metric's verdict at ``period`` (its rows up to that period), judged with each KPI's
    direction and minimum n (``rules``: :func:`csm_kit.kpis.kpi_rules`)."""
    upto = company[company["period"] <= period]
    upto = upto[upto.groupby("metric")["period"].transform("max") == period]
    table = target_status(upto, targets=targets, rules=rules)
    return dict(zip(table["metric"], table["status"], strict=True))


def _names(dataset: Dataset) -> pd.Series:
    customers = dataset.customers.drop_duplicates("customer_id").set_index("customer_id")
    return customers["name"] if "name" in customers.columns else pd.Series(dtype="str")


def _newly_red(dataset, health, config, end, names) -> pd.DataFrame:
    columns = ["customer_id", "name", "segment", "owner", "score", "score_last_month",
               "previous_band", "reason"]
    if health is None:
        return pd.DataFrame(columns=columns)
    before = pd.Series(config.band(health["score_last_month"]), index=health.index)
    red = health[(health["band"] == "red") & (before != "red")].copy()
    red["previous_band"] = before[red.index].fillna("not scored")
    signals = customer_signals(dataset, as_of=end, custom=config.signals).set_index("customer_id")
    red["reason"] = [_reason(row, signals, config) for row in red.itertuples()]
    owners = dataset.customers.drop_duplicates("customer_id").set_index("customer_id")
    red["owner"] = owners["csm"].reindex(red["customer_id"]).to_numpy() \
        if "csm" in owners.columns else None
    red["name"] = names.reindex(red["customer_id"]).to_numpy()
    return red.sort_values("score", kind="stable")[columns].reset_index(drop=True)


def _reason(row, signals: pd.DataFrame, config) -> str:
    name = row.weakest_component
    if not isinstance(name, str):
        return "every component at its ideal"
    profile = config.onboarding if row.profile == "onboarding" else config
    component = next(c for c in profile.components if c.name == name)
    value = signals.loc[row.customer_id, component.signal]
    shown = "–" if pd.isna(value) else (f"{value:.0f}" if float(value) == round(value)
                                        else f"{value:.2f}")
    points = getattr(row, f"{name}_score")
    return f"{name} scores {points:.0f} ({component.signal} = {shown})"


def _new_detractors(dataset, month, end, names) -> pd.DataFrame:
    columns = ["customer_id", "name", "date", "score", "comment"]
    surveys = dataset.surveys
    if surveys is None:
        return pd.DataFrame(columns=columns)
    found = surveys[(surveys["survey"] == "nps") & (surveys["score"] <= 6)
                    & (surveys["date"] >= month) & (surveys["date"] <= end)].copy()
    found["name"] = names.reindex(found["customer_id"]).to_numpy()
    if "comment" not in found.columns:
        found["comment"] = None
    return found.sort_values(["date", "customer_id"], kind="stable")[columns].reset_index(drop=True)


def _renewals_due(dataset, health, end, days, names) -> pd.DataFrame:
    columns = ["contract_id", "customer_id", "name", "due_date", "arr_due", "band", "score"]
    renewals = dataset.renewals
    if renewals is None:
        return pd.DataFrame(columns=columns)
    due = renewals[(renewals["due_date"] > end)
                   & (renewals["due_date"] <= end + pd.Timedelta(days=days))].copy()
    if "renewed_on" in due.columns:
        due = due[~(due["renewed_on"] <= end)]  # already signed: not at stake
    scores = health.set_index("customer_id") if health is not None else pd.DataFrame(
        columns=["band", "score"])
    due["band"] = scores["band"].reindex(due["customer_id"]).to_numpy()
    due["score"] = scores["score"].reindex(due["customer_id"]).to_numpy()
    due["name"] = names.reindex(due["customer_id"]).to_numpy()
    return due.sort_values(["due_date", "contract_id"], kind="stable")[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- text


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _md(value) -> str:
    """Untrusted text for a Markdown table cell: cleaned, one line, specials backslashed.

    >>> _md("[click](http://x) *now* | <b>")
    '\\\\[click\\\\]\\\\(http://x\\\\) \\\\*now\\\\* \\\\| \\\\<b\\\\>'
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    text = " ".join(clean_text(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def _slack(value) -> str:
    """Untrusted text for a Slack mrkdwn line: cleaned, one line, &, < and > escaped."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    text = " ".join(clean_text(value).split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _points(value) -> str:
    return "–" if pd.isna(value) else f"{value:.0f}"


def _section(title: str, rows: list[list[str]], header: list[str], empty: str) -> list[str]:
    lines = [f"## {title}", ""]
    if not rows:
        return lines + [empty, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: dates ISO, NaN as None, numpy numbers as Python ones."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp):
                value = value.date().isoformat() if value == value.normalize() else value.isoformat()
            elif isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and np.isnan(value):
                value = None
            elif value is pd.NA or value is pd.NaT:
                value = None
            clean[key] = clean_text(value) if isinstance(value, str) else value
        out.append(clean)
    return out
