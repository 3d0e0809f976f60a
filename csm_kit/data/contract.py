"""The data contract: the eleven canonical tables, their columns, types and rules.

A dataset is a set of tidy tables (``data/README.md`` describes each). Only ``customers`` is required. Each table is
described once here by a :class:`TableSpec` — its key, required and optional columns and
their kinds — and checked by a pandera schema built from that spec. Parsing text into types
(:func:`csm_kit.data.parsing.coerce_table`) and checking rules (:func:`check_table`) both *report* bad rows as
failures instead of turning them into NaN or dropping them.

Failures are tidy rows: table, column, check, severity, rows, examples, message.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csm_kit.data.survey_settings import DEFAULT_SCALES


@contextlib.contextmanager
def _quiet_pyspark():
    """Hide one warning: pandera loads pyspark's pandas API (on import and on its first
    validation) when pyspark is installed, and pyspark warns that it dislikes pandas 3."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                                category=FutureWarning)
        yield


def _pandera():
    """pandera and its SchemaErrors, imported when a table is first checked (the import takes
    about a second, and a notebook reading a report run's validated snapshot never needs it)."""
    with _quiet_pyspark():
        import pandera.pandas as pa
        from pandera.errors import SchemaErrors
    return pa, SchemaErrors

FAILURE_COLUMNS = ["table", "column", "check", "severity", "rows", "examples", "message"]
MAX_EXAMPLES = 3

#: The dates the kit reads (see :mod:`csm_kit.data.parsing`): a date before ``EARLIEST_DATE``
#: is an error (a placeholder such as 0001-01-01, or a typo); from ``OPEN_ENDED_FROM`` on it is
#: a "never ends" sentinel (9999-12-31, 2999-12-31) read as open-ended in an end column, and
#: an error in any other.
EARLIEST_DATE = pd.Timestamp("1900-01-01")
OPEN_ENDED_FROM = pd.Timestamp("2200-01-01")

#: Survey scales (lowest, highest) live in :mod:`csm_kit.data.survey_settings`
#: (``DEFAULT_SCALES``: nps 0–10, csat 1–5, ces 1–7); ``scales=`` below adds declared ones.


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: its key and the kind of every column it may have."""

    name: str
    key: str | None
    required: tuple[str, ...]
    ids: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
    ordered: tuple[tuple[str, str], ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column of the table, required first."""
        kinds = (self.ids, self.dates, self.timestamps, self.numbers, self.integers,
                 self.booleans, self.texts)
        rest = [c for kind in kinds for c in kind if c not in self.required]
        return self.required + tuple(rest)

    @property
    def open_ended(self) -> tuple[str, ...]:
        """The end columns (end_date, closed_at, converted_at): missing means "not yet"."""
        return tuple(second for _, second in self.ordered)

    def kind(self, column: str) -> str:
        """Return 'id', 'date', 'timestamp', 'number', 'integer', 'boolean' or 'text'."""
        for kind in ("ids", "dates", "timestamps", "numbers", "integers", "booleans"):
            if column in getattr(self, kind):
                return kind.rstrip("s") if kind != "ids" else "id"
        return "text"


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in [
        TableSpec(
            "customers", "customer_id", ("customer_id", "signup_date"),
            ids=("customer_id",), dates=("signup_date",),
            texts=("name", "segment", "plan", "region", "csm", "industry", "domain"),
        ),
        TableSpec(
            "subscriptions", "subscription_id",
            ("subscription_id", "customer_id", "start_date", "mrr"),
            ids=("subscription_id", "customer_id"), dates=("start_date", "end_date"),
            numbers=("mrr",), integers=("billing_interval_months",),
            texts=("plan", "currency", "status"), non_negative=("mrr",),
            ordered=(("start_date", "end_date"),),
        ),
        TableSpec(
            "transactions", "transaction_id", ("transaction_id", "customer_id", "date", "amount"),
            ids=("transaction_id", "customer_id"), dates=("date",), numbers=("amount",),
            texts=("currency",),
        ),
        TableSpec(
            "surveys", "response_id", ("response_id", "customer_id", "date", "survey", "score"),
            ids=("response_id", "customer_id"), dates=("date",), numbers=("score",),
            texts=("survey", "comment", "respondent", "csm", "agent"),
        ),
        TableSpec(
            "tickets", "ticket_id", ("ticket_id", "customer_id", "opened_at"),
            ids=("ticket_id", "customer_id"), timestamps=("opened_at", "closed_at"),
            integers=("contacts",), booleans=("first_contact_resolved",),
            texts=("channel", "agent", "priority"), non_negative=("contacts",),
            ordered=(("opened_at", "closed_at"),),
        ),
        TableSpec(
            "usage", None, ("customer_id", "month", "active_users"),
            ids=("customer_id",), dates=("month",),
            integers=("active_users", "licensed_seats", "key_feature_users"),
            non_negative=("active_users", "licensed_seats", "key_feature_users"),
        ),
        TableSpec(
            "renewals", "contract_id", ("contract_id", "customer_id", "due_date", "arr_due"),
            ids=("contract_id", "customer_id"), dates=("due_date", "renewed_on"),
            numbers=("arr_due", "arr_renewed"), non_negative=("arr_due", "arr_renewed"),
        ),
        TableSpec(
            "trials", "trial_id", ("trial_id", "started_at"),
            ids=("trial_id", "customer_id"), timestamps=("started_at", "converted_at"),
            ordered=(("started_at", "converted_at"),),
        ),
        TableSpec(
            "referrals", "referral_id", ("referral_id", "referrer_customer_id", "date"),
            ids=("referral_id", "referrer_customer_id", "referred_customer_id"), dates=("date",),
        ),
        TableSpec("events", None, ("date", "label"), dates=("date",), texts=("label", "segment")),
        TableSpec("activities", None, ("customer_id", "date"), ids=("customer_id",),
                  dates=("date",), texts=("csm", "type")),
    ]
}

#: The columns that say how recent a table's data is (for freshness and the default as-of).
#: Forward-looking dates (subscription end dates, renewal due dates, events) are left out.
ACTIVITY_DATES: dict[str, tuple[str, ...]] = {
    "customers": ("signup_date",), "subscriptions": ("start_date",),
    "transactions": ("date",), "surveys": ("date",), "tickets": ("opened_at", "closed_at"),
    "usage": ("month",), "trials": ("started_at", "converted_at"), "referrals": ("date",),
    "activities": ("date",),
}

#: Checks about a whole table or column, whose message gives no row count.
WHOLE_TABLE_CHECKS = {"missing_table", "missing_column", "partial_last_month"}

#: How to fix each kind of failure, in customer-success words.
FIXES = {
    "missing_table": "export this table into the data folder, or map it in the mapping file",
    "missing_column": "add the column to the export, or map your column name to it in the mapping file",
    "unparseable_date": ("use ISO dates such as 2024-03-31 (timestamps: 2024-03-31T14:05:00Z; "
                         "offsets such as +02:00, -0500 or -05 are read too)"),
    "unparseable_number": ("use plain numbers such as 1250.50 (no currency symbols or thousands "
                           "separators; inf and NaN are not amounts: leave a missing value empty)"),
    "partial_date": "write full dates such as 2024-03-01 (a year or a month alone is not a date)",
    "date_out_of_range": (f"fix the export or leave the value empty: the kit reads dates from "
                          f"{EARLIEST_DATE:%Y-%m-%d} to before {OPEN_ENDED_FROM:%Y-%m-%d} "
                          "(EARLIEST_DATE and OPEN_ENDED_FROM in csm_kit.data.contract), and "
                          "reads later ones as 'never ends' only in end columns"),
    "open_ended_date": ("nothing to do if they mean 'never ends'; otherwise fix the export (from "
                        "OPEN_ENDED_FROM in csm_kit.data.contract on, an end date means none)"),
    "empty_rows": "delete the empty rows (spreadsheets often leave them at the end) and export again",
    "not_whole_number": "use whole numbers of users, seats or contacts",
    "unparseable_boolean": "use true/false (also accepted: yes/no, 1/0)",
    "not_nullable": "fill in the missing values or drop those rows in the export",
    "field_uniqueness": "make the ids unique (one row per entity) or drop the duplicated rows",
    "duplicate_rows": "keep one row per customer and month",
    "not_negative": "negative values are not allowed here; fix the export (refunds belong in transactions)",
    "score_on_scale": "fix the scores, or declare your survey's scale if it differs, e.g. "
                      "--survey-scales csat=1-10 (or scales: under surveys in the mapping file)",
    "unknown_survey": "use one of nps, csat, ces in the survey column, or declare the survey "
                      "type with its scale, e.g. --survey-scales review=1-5",
    "end_before_start": "fix the export or drop those rows: the end must not be before the start",
    # derived columns in the mapping (csm_kit.data.mapping)
    "unmapped_value": "add them to map: in the mapping (or give default:)",
    "missing_source_column": "fix the column name in the mapping",
    "bad_expression": "fix the sql: expression in the mapping",
    "ambiguous_lookup": "make the lookup table's names unique, or look up through another column",
    # reading real exports (csm_kit.data.values)
    "ambiguous_number": "add decimal: ',' (or '.') to this table's entry in the mapping",
    "ambiguous_date": "add date_format: '%d/%m/%Y' (or '%m/%d/%Y') to this table's entry in the mapping",
    # money and joins (csm_kit.data.validator)
    "mixed_currencies": ("add an fx: table of monthly rates to the mapping (see data/README.md), "
                         "or accept: [mixed_currencies] if the amounts really are comparable"),
    "missing_fx_rate": "add the missing rates to the fx table",
    "undivided_annual": ("map mrr to the amount divided by the months of the interval, e.g. "
                         "{sql: \"amount / interval_months\"} (or accept: [undivided_annual])"),
    "not_counted_status": ("map mrr to 0 for them, e.g. {sql: \"CASE WHEN status IN ('trialing', "
                           "'unpaid') THEN 0 ELSE amount END\"}, and end_date to when canceled "
                           "ones ended (or accept: [not_counted_status])"),
    "unmatched_customer_ids": ("map customer_id from the right column, or through a lookup (e.g. "
                               "from an organisation name or e-mail domain to the customer id)"),
}


def failure_row(table, column, check, rows, examples, detail, *, severity="error") -> dict:
    """Build one failure record with a readable message that names table, column and fix."""
    where = f"{table}.{column}" if column else table
    examples = list(dict.fromkeys(str(e) for e in examples))[:MAX_EXAMPLES]
    shown = ", ".join(examples)
    example_text = f" (e.g. {shown})" if shown else ""
    fix = FIXES.get(check, "")
    count = "" if check in WHOLE_TABLE_CHECKS else f" in {rows} row{'s' if rows != 1 else ''}"
    message = f"{where}: {detail}{count}{example_text}"
    if fix:
        message += f"; {fix}"
    return {"table": table, "column": column, "check": check, "severity": severity,
            "rows": int(rows), "examples": examples,
            "message": message}


def failures_frame(rows: list[dict]) -> pd.DataFrame:
    """Turn failure records into the tidy failures frame (empty frame with the columns if none)."""
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS)


def row_labels(df: pd.DataFrame, spec: TableSpec, mask, *, lines=None) -> list[str]:
    """Name a few rows: by their key and, when ``lines`` (each row's line in its file, the
    header being line 1) is given, their line; a row without a key by its line (or 'row N',
    counted from 1 after the header).

    >>> from csm_kit.data.contract import TABLES
    >>> df = pd.DataFrame({"customer_id": ["A", None]})
    >>> row_labels(df, TABLES["customers"], [True, True]), row_labels(
    ...     df, TABLES["customers"], [True, True], lines=np.array([2, 3]))
    (['A', 'row 2'], ['A on line 2', 'line 3'])
    """
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))[:MAX_EXAMPLES]
    if spec.key and spec.key in df.columns:
        keys = [None if pd.isna(v) else str(v) for v in df[spec.key].iloc[positions]]
    elif "customer_id" in df.columns:
        keys = [None if pd.isna(v) else f"customer {v}" for v in df["customer_id"].iloc[positions]]
    else:
        keys = [None] * len(positions)
    labels = []
    for position, key in zip(positions, keys, strict=True):
        where = f"line {lines[position]}" if lines is not None else f"row {position + 1}"
        labels.append(where if key is None else key if lines is None else f"{key} on {where}")
    return labels


# --------------------------------------------------------------------------- rules


def table_schema(spec: TableSpec, *, scales: dict[str, tuple[int, int]] | None = None):
    """Build the pandera schema that checks a parsed table's rules.

    Rules: required columns have no missing values; the key is unique; money, counts and
    seats are not negative; ordered pairs (start/end) are not reversed; survey scores lie on
    their survey's scale.
    """
    pa, _ = _pandera()
    columns = {}
    for column in spec.columns:
        checks = []
        if column in spec.non_negative:
            checks.append(pa.Check(lambda s: s.isna() | (s >= 0), name="not_negative"))
        columns[column] = pa.Column(
            nullable=column not in spec.required,
            unique=column == spec.key,
            required=False,  # presence is checked (and explained) by the loader
            checks=checks,
        )
    frame_checks = [
        pa.Check(_ordered_check(first, second), name="end_before_start")
        for first, second in spec.ordered
    ]
    if spec.name == "surveys":
        all_scales = {**DEFAULT_SCALES, **(scales or {})}
        frame_checks.append(pa.Check(_scale_check(all_scales), name="score_on_scale"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False)


def _ordered_check(first: str, second: str):
    def check(df: pd.DataFrame) -> pd.Series:
        if second not in df.columns:
            return pd.Series(True, index=df.index)
        return ~(df[second] < df[first]).fillna(False)

    return check


def _scale_check(scales: dict[str, tuple[int, int]]):
    def check(df: pd.DataFrame) -> pd.Series:
        survey = df["survey"].str.lower()
        low = survey.map({k: v[0] for k, v in scales.items()})
        high = survey.map({k: v[1] for k, v in scales.items()})
        on_scale = (df["score"] >= low) & (df["score"] <= high)
        return on_scale.fillna(False) | df["score"].isna() | low.isna()

    return check


def check_table(
    df: pd.DataFrame, spec: TableSpec, *, scales: dict[str, tuple[int, int]] | None = None,
    unparsed: dict[str, np.ndarray] | None = None, lines=None,
) -> list[dict]:
    """Check a parsed table against its rules; return one failure record per broken rule and
    column.

    ``unparsed`` (column -> rows, from :func:`~csm_kit.data.parsing.coerce_table`) names the
    values already reported, which are not reported again as missing; ``lines`` gives each
    row's line in its file, to name the rows.

    Examples
    --------
    >>> subs = pd.DataFrame({"subscription_id": ["S1", "S1"], "customer_id": ["C1", "C2"],
    ...                      "start_date": pd.to_datetime(["2024-01-01", "2024-03-01"]),
    ...                      "end_date": pd.to_datetime([None, "2024-02-01"]),
    ...                      "mrr": [100.0, 50.0]})
    >>> sorted(f["check"] for f in check_table(subs, TABLES["subscriptions"]))
    ['end_before_start', 'field_uniqueness']
    """
    failures = _unknown_surveys(df, spec, scales) if spec.name == "surveys" else []
    if spec.name == "usage":
        failures += _duplicate_customer_months(df, spec, lines)
    _, schema_errors = _pandera()
    plain = df.copy(deep=False)
    plain.attrs = {}  # pandas compares attrs when pandera concatenates failures: keep none
    try:
        with _quiet_pyspark():
            table_schema(spec, scales=scales).validate(plain, lazy=True)
    except schema_errors as err:
        failures += _translate(err.failure_cases, df, spec, unparsed or {}, lines)
    return failures


_DETAILS = {
    "not_nullable": "missing values in a required column",
    "field_uniqueness": "duplicated ids",
    "not_negative": "negative values",
    "end_before_start": "an end before its start",
    "score_on_scale": "scores outside the survey's scale",
}


def _translate(cases: pd.DataFrame, df: pd.DataFrame, spec: TableSpec, unparsed: dict,
               lines) -> list[dict]:
    """One failure record per check and column (pandera's failure cases, by row position)."""
    out = []
    cases = cases.dropna(subset=["index"]).astype({"column": object, "check": str})
    frame_check = cases["check"].map(lambda name: _frame_check_column(name, spec))
    # a frame check names its own column; a column check is reported per column
    cases["column"] = frame_check.where(frame_check.notna(), cases["column"]).fillna("")
    for (check_name, column), group in cases.groupby(["check", "column"], sort=False):
        column = column or None
        mask = df.index.isin(group["index"].astype("int64").unique())
        if check_name == "not_nullable" and column in unparsed:
            mask &= ~np.asarray(unparsed[column], dtype=bool)
            if not mask.any():
                continue
        detail = _DETAILS.get(check_name, f"rows failing {check_name}")
        if check_name == "score_on_scale":
            detail = _scale_detail(df, mask)
        out.append(failure_row(spec.name, column, check_name, int(mask.sum()),
                               row_labels(df, spec, mask, lines=lines), detail))
    return out


def _frame_check_column(check_name, spec) -> str | None:
    if check_name == "end_before_start" and spec.ordered:
        return spec.ordered[0][1]
    if check_name == "score_on_scale":
        return "score"
    return None


def _scale_detail(df: pd.DataFrame, mask) -> str:
    bad = df.loc[mask]
    parts = [f"{survey} score {score:g}" for survey, score in
             bad[["survey", "score"]].drop_duplicates().head(MAX_EXAMPLES).itertuples(index=False)]
    return "scores outside the survey's scale (" + ", ".join(parts) + ")"


def _unknown_surveys(df, spec, scales) -> list[dict]:
    if "survey" not in df.columns:
        return []
    known = set(DEFAULT_SCALES) | set(scales or {})
    bad = df["survey"].notna() & ~df["survey"].str.lower().isin(known)
    if not bad.any():
        return []
    values = sorted(df.loc[bad, "survey"].unique().tolist())[:MAX_EXAMPLES]
    return [failure_row(spec.name, "survey", "unknown_survey", int(bad.sum()),
                        [repr(v) for v in values], "survey types the kit does not know")]


def _duplicate_customer_months(df, spec, lines=None) -> list[dict]:
    if not {"customer_id", "month"} <= set(df.columns):
        return []
    dup = df.duplicated(["customer_id", "month"], keep=False)
    if not dup.any():
        return []
    return [failure_row(spec.name, "month", "duplicate_rows", int(dup.sum()),
                        row_labels(df, spec, dup, lines=lines), "more than one row for the same customer and month")]
