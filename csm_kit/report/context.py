"""The report context: what every notebook needs from its parameters, in one call.

``open_report(data=..., as_of=..., segment=...)`` loads and validates the data, applies the
segment filter, settles the as-of month and the history window, reads the targets and runs
the data-quality checks — so a notebook's first cell after the parameters is one line.
In a ``csm-kit report`` run it reads the run's snapshot instead (``snapshot=``, see
:mod:`csm_kit.report.snapshot`): the data the run loaded and validated once, with every option
applied, and the tables the notebooks share (health scores, KPIs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

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
    small_groups_hidden,
)
from csm_kit.report.snapshot import read_on_first_use

if TYPE_CHECKING:
    from csm_kit.health.probability import ChurnModel
from csm_kit.safe_text import clean_text
from csm_kit.targets import load_targets

#: Tables whose rows belong to one customer, and the column that says which.
CUSTOMER_KEYS = {
    "subscriptions": "customer_id", "transactions": "customer_id", "surveys": "customer_id",
    "tickets": "customer_id", "usage": "customer_id", "renewals": "customer_id",
    "trials": "customer_id", "referrals": "referrer_customer_id", "activities": "customer_id",
}


#: The most customer-dates (customers scored × scoring days) a report's health backtest takes
#: on. Each scoring day rebuilds every signal from the whole history: measured on two cores,
#: ~600,000 customer-dates (100k customers) take about a minute, and a million customers
#: (~6 million customer-dates) ten or more — beyond a monthly report's budget. ``ck.backtest``
#: itself has no limit.
BACKTEST_BUDGET = 1_000_000


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
    health, signals, kpis, actions, revenue_sentences : what several pages share, computed on
        first use (see the properties); the ones ``csm-kit report`` computes for the index
        and exports reach every notebook in the run's snapshot (:mod:`csm_kit.report.snapshot`).
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
    _health: pd.DataFrame | None = field(default=None, repr=False)
    _kpis: pd.DataFrame | None = field(default=None, repr=False)
    _churn_history: pd.DataFrame | None = field(default=None, repr=False)
    _churn_model: ChurnModel | None = field(default=None, repr=False)
    _actions: pd.DataFrame | None = field(default=None, repr=False)
    _signals: pd.DataFrame | None = field(default=None, repr=False)
    _currency: tuple | None = field(default=None, repr=False)
    _revenue_sentences: tuple | None = field(default=None, repr=False)

    @property
    def health(self) -> pd.DataFrame:
        """Health scores at the end of the as-of month (:func:`csm_kit.health.scores.health_scores`),
        computed once per context (a report run computes them once for every notebook)."""
        if self._health is None:
            from csm_kit.health.scores import health_scores

            self._health = health_scores(self.dataset, as_of=self.as_of_end,
                                         signals=self.signals)
        return self._health

    @property
    def signals(self) -> pd.DataFrame:
        """Every active customer's signals (:func:`csm_kit.health.signals.customer_signals`,
        with the packaged health and distress configurations' declared signals) at the end
        of the as-of month and of the month before, with an ``as_of`` column; computed once
        per context. The health scores, the action list, and notebook 04's churn
        probabilities and distress scores take theirs from it (``signals=``)."""
        if self._signals is None:
            from csm_kit.health.config import load_distress_config, load_health_config
            from csm_kit.health.scores import previous_month_end
            from csm_kit.health.signals import customer_signals

            custom = {**load_health_config(None).signals, **load_distress_config(None).signals}
            days = (self.as_of_end, previous_month_end(self.as_of_end))
            self._signals = pd.concat(
                [customer_signals(self.dataset, as_of=day, custom=custom).assign(as_of=day)
                 for day in days], ignore_index=True)
        return self._signals

    @property
    def kpis(self) -> pd.DataFrame:
        """Every headline KPI to the as-of month (:func:`csm_kit.kpis.kpi_table`), computed once
        per context with the context's health scores."""
        if self._kpis is None:
            from csm_kit.kpis import kpi_table

            health = self.health if self.has("subscriptions") else None
            self._kpis = kpi_table(self.dataset, as_of=self.as_of, health=health)
        return self._kpis

    def risk_history(self, *, backtests: bool = True, within_budget: bool | None = None):
        """What the company's history supports (:func:`csm_kit.report.risk.risk_history`: the
        health and distress backtests, the churn model), its churn history and churn model
        computed once per context: the action list ``csm-kit report`` exports and the health
        report learn from the same history and show the same model, and a report run
        computes both once.

        ``within_budget`` None = :meth:`backtest_fits` (one line shown when it is skipped);
        ``backtests`` False fits the churn model only.
        """
        from csm_kit.report.risk import risk_history

        fits = self.backtest_fits() if within_budget is None else within_budget
        learnt = risk_history(self.dataset, within_budget=fits, backtests=backtests,
                              history=self._churn_history, model=self._churn_model)
        if learnt.history is not None:
            self._churn_history = learnt.history
        if learnt.model is not None:
            self._churn_model = learnt.model
        return learnt

    @property
    def actions(self) -> pd.DataFrame:
        """Who to call this week (:func:`csm_kit.health.actions.action_list` at the as-of month
        end), with the churn model :meth:`risk_history` learns (no probability when the model
        cannot be fitted or is beyond the budget), computed once per context: the exported
        action list and the health report's are the same table."""
        if self._actions is None:
            from csm_kit.health.actions import action_list

            model = self.risk_history(backtests=False, within_budget=self.fits_budget()).model
            self._actions = action_list(self.dataset, as_of=self.as_of_end,
                                        model=model if model is not None else False,
                                        signals=self.signals)
        return self._actions

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
        notebook cell reads ``if ctx.section("surveys"): ...``. ``column`` may also name
        another table's column as ``"usage.key_feature_users"``."""
        notes = {t: self.missing(t) for t in tables if not self.has(t)}
        if column is not None and not self.has_column(column):
            table, _, name = column.rpartition(".")
            notes[f"{table or 'customers'}.{name}"] = (
                f"The {table or 'customers'} table has no {name} values, "
                "so this section is skipped.")
        for key, text in notes.items():
            if key not in self._noted:
                self._noted.add(key)
                _display_note(text)
        return not notes

    def backtest_fits(self, scoring_days: int = 10) -> bool:
        """True when the health backtest fits the report's budget: the customers scored now
        times ``scoring_days`` (the backtest's default) is at most :data:`BACKTEST_BUDGET`.
        Otherwise show one line saying why it is skipped (once) and return False."""
        return self._within_budget("backtest", "The health backtest is", scoring_days,
                                   "Run ck.backtest(ds) in a notebook to measure it.")

    def renewal_forecast_fits(self) -> bool:
        """True when the renewal forecast and its backtest fit the report's budget: the
        customers scored now times the days they score every customer on
        (:func:`csm_kit.health.forecast.scoring_days`) is at most :data:`BACKTEST_BUDGET`.
        Otherwise show one line saying why they are skipped (once) and return False."""
        from csm_kit.health.forecast import scoring_days

        days = len(scoring_days(self.dataset, as_of=self.as_of_end))
        return self._within_budget("renewal forecast", "The renewal forecast and its backtest are",
                                   days, "Run ck.renewal_forecast(ds) in a notebook for the "
                                   "forecast alone.")

    def fits_budget(self, scoring_days: int = 10) -> bool:
        """True when the customers scored now times ``scoring_days`` is at most
        :data:`BACKTEST_BUDGET`; no note (:meth:`backtest_fits` shows one)."""
        return len(self.health) * scoring_days <= BACKTEST_BUDGET

    def _within_budget(self, key: str, what: str, scoring_days: int, instead: str) -> bool:
        customer_dates = len(self.health) * scoring_days
        if self.fits_budget(scoring_days):
            return True
        if key not in self._noted:
            self._noted.add(key)
            _display_note(f"{what} skipped in this report: "
                          f"{len(self.health):,} customers × {scoring_days} scoring days = "
                          f"{customer_dates:,} customer-dates, more than the report's budget of "
                          f"{BACKTEST_BUDGET:,} (each day rebuilds every signal). {instead}")
        return False

    def has_column(self, column: str) -> bool:
        """True when the customers table (or, for ``"table.column"``, that table) has the
        column with at least one value."""
        table, _, name = column.rpartition(".")
        frame = getattr(self.dataset, table or "customers")
        return frame is not None and name in frame.columns and bool(frame[name].notna().any())

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

    def complete(self, frame: pd.DataFrame, freq: str = "Q", column: str = "period") -> pd.DataFrame:
        """Keep the rows whose period (a quarter for ``freq="Q"``) has ended by the as-of
        month's end, so a partial last quarter is never drawn beside full ones."""
        steps = {"M": 1, "Q": 3, "Y": 12}
        if freq not in steps:
            raise ConfigError(f"freq must be one of {sorted(steps)}, got {freq!r}")
        step = steps[freq]
        ends = frame[column] + pd.DateOffset(months=step)
        return frame.loc[ends <= self.as_of + pd.DateOffset(months=1)]

    def customer_table(self, frame: pd.DataFrame, **options):
        """Show a customer-level table, or with privacy "aggregate" a one-line note instead."""
        from csm_kit.report.display import note, show_table

        if self.privacy == "aggregate":
            return note(f"{len(frame):,} customer-level rows are left out of this report "
                        "(privacy: aggregate).")
        return show_table(frame, **options)

    def small_groups_hidden(self, frame: pd.DataFrame, *, n: str | None = None,
                            by: str | None = None) -> pd.DataFrame:
        """With privacy "aggregate", drop the groups smaller than ``min_group_size``.

        Every per-group chart and table of a report goes through here. ``n`` is the column
        counting a row's members, ``by`` the group column; see
        :func:`csm_kit.privacy.small_groups_hidden` for how a group's size is read (e.g.
        ``ctx.small_groups_hidden(health, by="segment")`` counts the customers per segment).
        Other privacy modes return ``frame`` unchanged. When groups are hidden, a one-line
        note says how many, so a reader knows the chart or table below is not the whole.
        """
        if self.privacy != "aggregate":
            return frame
        kept = small_groups_hidden(frame, n=n, by=by, min_size=self.min_group_size)
        if len(kept) < len(frame):
            hidden = (frame[by].nunique(dropna=False) - kept[by].nunique(dropna=False)
                      if by is not None else len(frame) - len(kept))
            what = "group" if by is not None else "row"
            _display_note(f"{hidden:,} {what}{'' if hidden == 1 else 's'} with fewer than "
                          f"{self.min_group_size} members not shown (privacy: aggregate).")
        return kept

    @property
    def survey_settings(self):
        """The dataset's survey settings (scales, satisfied threshold, CES direction), for
        ``settings=`` and chart titles."""
        return self.dataset.survey_settings

    @property
    def directions(self) -> dict[str, str]:
        """Which way is good for each KPI (:func:`csm_kit.kpis.kpi_directions`), with CES
        following the dataset's survey settings."""
        from csm_kit.kpis import kpi_directions

        return kpi_directions(ces_low_effort_is=self.dataset.survey_settings.ces_direction)

    @property
    def currency(self) -> str | None:
        """The reporting currency: the one ISO code in the subscriptions' and transactions'
        ``currency`` columns (None when there is none, or several); found once per context."""
        if self._currency is None:
            self._currency = (reporting_currency([self.dataset.subscriptions,
                                                  self.dataset.transactions]),)
        return self._currency[0]

    @property
    def revenue_sentences(self) -> tuple[str, str, str]:
        """The narrative's sentences every page shares (MRR, who moved most, which accounts:
        :func:`csm_kit.report.narrative.revenue_sentences`), written once per context (a
        report run writes them once for every notebook)."""
        if self._revenue_sentences is None:
            from csm_kit.report.narrative import revenue_sentences

            self._revenue_sentences = revenue_sentences(
                self.dataset, as_of=self.as_of, privacy=self.privacy,
                min_group_size=self.min_group_size, currency=self.currency)
        return self._revenue_sentences

    def story(self, metrics: list[str] | None = None,
              kpis: pd.DataFrame | None = None) -> list[str]:
        """The report's opening sentences as plain text (:meth:`narrative` shows them)."""
        from csm_kit.report.narrative import narrative

        return narrative(self.dataset, as_of=self.as_of, metrics=metrics,
                         kpis=self.kpis if kpis is None else kpis, privacy=self.privacy,
                         min_group_size=self.min_group_size, currency=self.currency,
                         directions=self.directions, revenue=self.revenue_sentences)

    def narrative(self, metrics: list[str] | None = None, kpis: pd.DataFrame | None = None):
        """Show the report's opening sentences: what changed since last month and why
        (:func:`csm_kit.report.narrative.narrative`), privacy mode respected.

        ``metrics`` are the KPI names whose largest moves may be told (the report's subject);
        None = every KPI. ``kpis`` is the KPI table; None = the context's (:attr:`kpis`,
        computed once per run).
        """
        from csm_kit.report.narrative import show_narrative

        return show_narrative(self.story(metrics, kpis))

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
    survey_scales: str | None = None,
    ces_direction: str | None = None,
    snapshot: str | None = None,
) -> ReportContext:
    """Load, filter and settle everything a report notebook needs (see :class:`ReportContext`).

    ``survey_scales`` (e.g. ``"csat=1-10,review=1-5"``) and ``ces_direction`` (``"low"`` or
    ``"high"``) override the survey settings of the mapping file; the dataset carries the
    result as ``ctx.dataset.survey_settings`` and the targets follow its CES direction.

    ``snapshot`` (set by ``csm-kit report``) is the run's snapshot folder: the context is read
    from it instead of loading ``data`` again, so every notebook of a run shows the same data.
    The other arguments must then be the ones the snapshot was made with.

    Raises
    ------
    ConfigError
        For an unknown segment (the message lists the segments there are) or a bad option,
        e.g. privacy "pseudonymised" without a key in ``CSM_KIT_PRIVACY_KEY``; a snapshot
        that no longer exists or was made with other options; with privacy "aggregate", a
        ``segment`` with fewer than ``min_group_size`` customers.
    DataContractError
        When the data breaks the contract.
    """
    if not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be a whole number of at least 1, got {months!r}")
    check_privacy(privacy, min_group_size)
    if snapshot is not None:
        return _from_snapshot(snapshot, data=data, mapping=mapping, as_of=as_of, months=months,
                              segment=segment, targets=targets, timezone=timezone,
                              privacy=privacy, min_group_size=min_group_size,
                              survey_scales=survey_scales, ces_direction=ces_direction)
    key = privacy_key() if privacy == "pseudonymised" else None
    dataset = load_dataset(data, mapping=mapping, timezone=timezone, scales=survey_scales,
                           ces_direction=ces_direction)
    if key is not None:
        dataset = pseudonymise_dataset(dataset, key=key)
    month = parse_as_of(as_of) if as_of is not None else dataset.default_as_of()
    if month is None:
        raise ConfigError("the data has no dates to take an as-of month from; pass as_of")
    quality = data_quality(dataset, as_of=month)
    if segment is not None:
        dataset = filter_segment(dataset, segment)
        if privacy == "aggregate":
            _check_segment_size(dataset, segment, min_group_size)
    return ReportContext(dataset=dataset, as_of=month, months=months, segment=segment,
                         targets=load_targets(targets, survey_settings=dataset.survey_settings),
                         quality=quality, privacy=privacy,
                         min_group_size=min_group_size)


def _check_segment_size(dataset: Dataset, segment: str, min_group_size: int) -> None:
    """Refuse a segment smaller than the minimum group in aggregate privacy: every figure of
    the report (the index's MRR too) would be those few customers' own."""
    if len(dataset.customers) < min_group_size:
        raise ConfigError(
            f"segment {clean_text(segment, max_len=60)!r} has fewer than {min_group_size} "
            f"customers, the minimum group with privacy \"aggregate\" (--min-group-size): a "
            "report on it would show those customers' own figures. Report on every customer "
            "(no --segment), choose a larger segment, or lower --min-group-size")


def _from_snapshot(snapshot, *, as_of, timezone, **asked) -> ReportContext:
    """The context of a report run's snapshot, after checking it was made with ``asked``."""
    from csm_kit.report.snapshot import read_snapshot

    dataset, values, options = read_snapshot(snapshot)
    known = {f.name for f in fields(ReportContext)}
    ctx = _SnapshotContext(dataset=dataset, **{k: v for k, v in values.items() if k in known})
    made = {"months": ctx.months, "segment": ctx.segment, "privacy": ctx.privacy,
            "min_group_size": ctx.min_group_size, "timezone": ctx.dataset.timezone,
            **{k: options.get(k) for k in ("data", "mapping", "targets", "survey_scales",
                                           "ces_direction")}}
    asked = {**asked, "timezone": timezone}
    differ = [f"{name}={asked[name]!r} (snapshot: {made[name]!r})" for name in made
              if (None if asked[name] is None else str(asked[name])) != made[name]
              and asked[name] != made[name]]
    if as_of is not None and parse_as_of(as_of) != ctx.as_of:
        differ.append(f"as_of={as_of!r} (snapshot: {ctx.as_of:%Y-%m})")
    if differ:
        raise ConfigError(f"the snapshot {snapshot} was made with other options: "
                          f"{'; '.join(differ)}; set snapshot = None to load the data with "
                          "these options")
    return ctx


class _SnapshotContext(ReportContext):
    """A report run's context as a notebook reads it from the snapshot: each shared table
    (health scores, signals, KPIs, churn history, action list) is read on first use, so a
    notebook holds only the ones it shows."""

    def __getattribute__(self, name: str):
        return read_on_first_use(self, name)


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
