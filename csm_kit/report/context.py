"""The report context: what every notebook needs from its parameters, in one call.

``open_report(data=..., as_of=..., segment=...)`` loads and validates the data, applies the
segment filter, settles the as-of month and the history window, reads the targets and runs
the data-quality checks — so a notebook's first cell after the parameters is one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from csm_kit.data.loading import Dataset, load_dataset
from csm_kit.data.quality import data_quality
from csm_kit.errors import ConfigError
from csm_kit.formatting import reporting_currency
from csm_kit.periods import parse_as_of
from csm_kit.privacy import (
    check_privacy,
    privacy_key,
    pseudonymise_dataset,
    suppress_small_groups,
)
from csm_kit.targets import load_targets

#: Tables whose rows belong to one customer, and the column that says which.
CUSTOMER_KEYS = {
    "subscriptions": "customer_id", "transactions": "customer_id", "surveys": "customer_id",
    "tickets": "customer_id", "usage": "customer_id", "renewals": "customer_id",
    "trials": "customer_id", "referrals": "referrer_customer_id",
}


@dataclass
class ReportContext:
    """A loaded dataset with the reporting choices made once for a whole notebook.

    Attributes
    ----------
    dataset : the tables, filtered to ``segment`` when one is given.
    as_of : first day of the reporting month (figures are measured at its end).
    months : how many months of history charts show, ending with ``as_of``.
    segment : the segment filter, or ``None`` for every customer.
    targets : goals per metric (see :func:`csm_kit.targets.load_targets`).
    quality : soft data-quality findings (see :func:`csm_kit.data.quality.data_quality`).
    privacy : "off", "pseudonymised" or "aggregate" (see :mod:`csm_kit.privacy`).
    min_group_size : with "aggregate", groups with fewer members than this are hidden.
    """

    dataset: Dataset
    as_of: pd.Timestamp
    months: int
    segment: str | None
    targets: dict
    quality: pd.DataFrame
    privacy: str = "off"
    min_group_size: int = 5
    _noted: set = field(default_factory=set, repr=False)

    @property
    def as_of_end(self) -> pd.Timestamp:
        """The last day of the reporting month."""
        return self.as_of + pd.offsets.MonthEnd(0)

    @property
    def first_month(self) -> pd.Timestamp:
        """The first month shown in history charts."""
        return self.as_of - pd.DateOffset(months=self.months - 1)

    @property
    def scope(self) -> str:
        """'all customers' or 'segment X' — for titles and sentences (not escaped here)."""
        return "all customers" if self.segment is None else f"segment {self.segment}"

    def has(self, table: str) -> bool:
        """True when the dataset has ``table`` with at least one row."""
        df = getattr(self.dataset, table)
        return df is not None and not df.empty

    def missing(self, table: str) -> str:
        """The one-line note a section shows when its table is absent."""
        return f"No {table} table in this dataset, so this section is skipped."

    def section(self, *tables: str, column: str | None = None) -> bool:
        """True when every table (and the customers ``column``, if given) is present;
        otherwise show a one-line note (once per missing piece) and return False, so a
        notebook cell reads ``if ctx.section("surveys"): ...``."""
        notes = {t: self.missing(t) for t in tables if not self.has(t)}
        if column is not None and not self.has_column(column):
            notes[f"customers.{column}"] = (f"The customers table has no {column} values, "
                                            "so this section is skipped.")
        for key, text in notes.items():
            if key not in self._noted:
                self._noted.add(key)
                _display_note(text)
        return not notes

    def has_column(self, column: str) -> bool:
        """True when the customers table has ``column`` with at least one value."""
        customers = self.dataset.customers
        return column in customers.columns and customers[column].notna().any()

    @property
    def segment_column(self) -> str | None:
        """'segment' when customers have segments (for ``by=``), else None (company-wide)."""
        return "segment" if self.has_column("segment") else None

    def target(self, metric: str) -> float | None:
        """The target of ``metric`` from the targets file, or None."""
        goal = self.targets.get(metric)
        return None if goal is None else goal["target"]

    def recent(self, frame: pd.DataFrame, column: str | None = None) -> pd.DataFrame:
        """Keep the rows of ``frame`` whose month (or period) lies in the history window."""
        column = column or ("month" if "month" in frame.columns else "period")
        keep = (frame[column] >= self.first_month) & (frame[column] <= self.as_of)
        return frame.loc[keep]

    def customer_table(self, frame: pd.DataFrame, **options):
        """Show a customer-level table, or with privacy "aggregate" a one-line note instead."""
        from csm_kit.report.display import note, show_table

        if self.privacy == "aggregate":
            return note(f"{len(frame):,} customer-level rows are left out of this report "
                        "(privacy: aggregate).")
        return show_table(frame, **options)

    def small_groups_hidden(self, frame: pd.DataFrame, *, n: str) -> pd.DataFrame:
        """With privacy "aggregate", drop the groups whose ``n`` is below ``min_group_size``."""
        if self.privacy != "aggregate":
            return frame
        return suppress_small_groups(frame, n=n, k=self.min_group_size)

    @property
    def currency(self) -> str | None:
        """The reporting currency: the one ISO code in the subscriptions' and transactions'
        ``currency`` columns (None when there is none, or several)."""
        return reporting_currency([self.dataset.subscriptions, self.dataset.transactions])

    def narrative(self, metrics: list[str] | None = None, kpis: pd.DataFrame | None = None):
        """Show the report's opening sentences: what changed since last month and why
        (:func:`csm_kit.report.narrative.narrative`), privacy mode respected.

        ``metrics`` are the KPI names whose largest moves may be told (the report's subject);
        None = every KPI. ``kpis`` is the KPI table when the notebook has it already.
        """
        from csm_kit.report.narrative import narrative, show_narrative

        return show_narrative(narrative(self.dataset, as_of=self.as_of, metrics=metrics,
                                        kpis=kpis,
                                        privacy=self.privacy,
                                        min_group_size=self.min_group_size,
                                        currency=self.currency))

    @property
    def events(self) -> pd.DataFrame | None:
        """Events in the history window, for chart annotations."""
        events = self.dataset.events
        if events is None:
            return None
        keep = (events["date"] >= self.first_month) & (events["date"] <= self.as_of_end)
        return events.loc[keep]


def open_report(
    data: str | None = None,
    *,
    mapping: str | None = None,
    as_of: str | None = None,
    months: int = 24,
    segment: str | None = None,
    targets: str | None = None,
    timezone: str = "UTC",
    privacy: str = "off",
    min_group_size: int = 5,
) -> ReportContext:
    """Load, filter and settle everything a report notebook needs (see :class:`ReportContext`).

    Raises
    ------
    ConfigError
        For an unknown segment (the message lists the segments there are) or a bad option,
        e.g. privacy "pseudonymised" without a key in ``CSM_KIT_PRIVACY_KEY``.
    DataContractError
        When the data breaks the contract.
    """
    if not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be a whole number of at least 1, got {months!r}")
    check_privacy(privacy, min_group_size)
    key = privacy_key() if privacy == "pseudonymised" else None
    dataset = load_dataset(data, mapping=mapping, timezone=timezone)
    if key is not None:
        dataset = pseudonymise_dataset(dataset, key=key)
    month = parse_as_of(as_of) if as_of is not None else dataset.default_as_of()
    if month is None:
        raise ConfigError("the data has no dates to take an as-of month from; pass as_of")
    quality = data_quality(dataset, as_of=month)
    if segment is not None:
        dataset = filter_segment(dataset, segment)
    return ReportContext(dataset=dataset, as_of=month, months=months, segment=segment,
                         targets=load_targets(targets), quality=quality, privacy=privacy,
                         min_group_size=min_group_size)


def _display_note(text: str) -> None:
    from IPython.display import display

    from csm_kit.report.display import note

    display(note(text))


def filter_segment(dataset: Dataset, segment: str) -> Dataset:
    """Keep only the customers of one segment, and the rows of other tables that are theirs.

    Events keep those without a segment and those of this segment.
    """
    customers = dataset.customers
    if "segment" not in customers.columns:
        raise ConfigError("segment filter given, but customers has no segment column")
    known = sorted(customers["segment"].dropna().unique().tolist())
    if segment not in known:
        raise ConfigError(f"segment must be one of {known}, got {segment!r}")
    kept = customers.loc[customers["segment"] == segment]
    ids = set(kept["customer_id"])
    tables = {"customers": kept.reset_index(drop=True)}
    for name, column in CUSTOMER_KEYS.items():
        df = getattr(dataset, name)
        if df is not None:
            tables[name] = df.loc[df[column].isin(ids)].reset_index(drop=True)
    if dataset.events is not None:
        events = dataset.events
        if "segment" in events.columns:
            events = events.loc[events["segment"].isna() | (events["segment"] == segment)]
        tables["events"] = events.reset_index(drop=True)
    return replace(dataset, **tables)
