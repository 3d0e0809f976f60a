"""Per-customer signals as of a date: the raw inputs of the health and distress scores.

``customer_signals(dataset, as_of=...)`` gives one row per customer active at the end of the
as-of day, with one column per signal, computed from data dated on or before that day only —
so a score rebuilt for a past date (the backtest) sees exactly what a CSM could have seen then.

Shared rules, stated once:

- **The scoring point is the end of the as-of day.** For a month, pass its last day
  (``"2024-03-31"``); ``as_of=None`` is the last day of the last complete month in the data.
- **Windows end on the as-of day.** "Last 90 days" is the 90 calendar days ending on it
  (as-of day − 89 days to as-of day, both included); "last 12 months" is after the same day
  12 months earlier, up to the as-of day.
- **Later data is invisible.** Survey answers, tickets, usage months and subscription starts
  dated after the as-of day are ignored; a ticket closed later is still open; a subscription
  ending later is still running; a usage month counts once its last day has passed.
- **Segment is today's.** ``segment`` comes from the customers table as it is now; the kit
  keeps no history of segment changes.
- **Missing table, missing signal.** When a table (or the column a signal needs) is absent, its
  signals are NaN for everyone, and the score's missing-data rule decides. When the table is
  present, counts are 0 for customers with nothing in it and other signals are NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csm_kit.adoption import adoption as adoption_ratio
from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.declared import CustomSignal, declared_signals
from csm_kit.periods import month_index, parse_date
from csm_kit.revenue import customer_months
from csm_kit.support import one_contact, ticket_backlog

#: Every signal a health or distress component may read, with what it measures.
SIGNALS: dict[str, str] = {
    "adoption": "latest complete usage month's active_users ÷ licensed_seats (ratio; 1 = all seats used)",
    "key_feature_adoption": "latest complete usage month's key_feature_users ÷ active_users "
                            "(share of the active users on the key feature; NaN without "
                            "active users)",
    "nps_latest": "NPS answer (0–10) on the customer's latest NPS date in the last 12 months "
                  "(mean when several people answered that day)",
    "csat_recent": "mean CSAT score over the last 90 days, put on 1–5 (an answer on another "
                   "scale in the survey settings, e.g. 1–10, is rescaled linearly: 10 → 5, 1 → 1)",
    "tickets_open_over_7d": "tickets open at the end of the as-of day and opened more than 7 "
                            "calendar days before it (support.ticket_backlog's rule)",
    "tickets_90d": "tickets opened in the last 90 days (count)",
    "fcr_failures_90d": "tickets closed in the last 90 days that needed more than one contact (count)",
    "slow_tickets_90d": "tickets closed in the last 90 days more than 7 days (168 hours) after "
                        "they were opened (count)",
    "median_days_to_close_90d": "median days from opened_at to closed_at of the tickets closed "
                                "in the last 90 days (NaN without one)",
    "mrr_trend_3m": "MRR on the as-of day ÷ MRR at the end of the month three months before "
                    "the as-of month − 1 (−0.2 = shrank by a fifth; NaN without MRR then)",
    "days_to_renewal": "days from the as-of day to the next renewal due date after it, among "
                       "the contracts not renewed yet on the day (renewed_on empty or later); "
                       "contracts in the renewals table are taken as known in advance",
    "days_since_touch": "days from the customer's latest activities row (a CSM call, e-mail, "
                        "QBR...) on or before the as-of day to the as-of day; counted from "
                        "signup_date while the customer has none",
    "tenure_days": "days from the customer's signup_date to the as-of day (0 = signed up that day)",
    "mrr": "MRR of the customer's subscriptions active on the as-of day (reporting currency; "
           "NaN without a subscriptions table)",
}

#: Signals that count events: 0, not missing, for a customer with no rows in a present table.
COUNT_SIGNALS = ("tickets_open_over_7d", "tickets_90d", "fcr_failures_90d", "slow_tickets_90d")
WINDOW_DAYS = 90
NPS_MONTHS = 12
OPEN_TICKET_DAYS = 7
SLOW_TICKET_DAYS = 7

def scoring_day(dataset: Dataset, as_of=None) -> pd.Timestamp:
    """Return the as-of day (midnight; the score is taken at its end).

    ``None`` is the last day of the dataset's last complete month.

    >>> scoring_day(Dataset(customers=pd.DataFrame()), "2024-03-31 17:45").date()
    datetime.date(2024, 3, 31)
    """
    if as_of is None:
        month = dataset.default_as_of()
        if month is None:
            raise ConfigError("the dataset has no dates to take a default as_of from; "
                              "pass as_of= (e.g. '2024-03-31')")
        return month + pd.offsets.MonthEnd(0)
    return parse_date(as_of).normalize()


def customer_signals(dataset: Dataset, *, as_of=None,
                     custom: Mapping[str, CustomSignal] | None = None) -> pd.DataFrame:
    """Compute every health signal per customer active at the end of the as-of day.

    A customer is active when its subscriptions active on the as-of day (start ≤ day < end)
    add up to MRR above zero; without a subscriptions table every customer signed up by the
    as-of day is scored.

    Parameters
    ----------
    dataset : the loaded tables (only ``customers`` is required).
    as_of : the day to score at (its end); None = last day of the last complete month.
    custom : signals declared in a health configuration (``signals:``), by name: numeric
        columns of a customer-level or customer-month table
        (see :class:`~csm_kit.health.declared.CustomSignal`).

    Returns
    -------
    DataFrame customer_id, segment, then one float column per signal in :data:`SIGNALS`
    (units there), then one per ``custom`` signal; one row per active customer, sorted by
    customer_id.

    Notes
    -----
    Only data dated on or before the as-of day is read (see the module notes); signals of a
    missing table are NaN for everyone.

    Examples
    --------
    Customer a answered NPS 9 in February and 3 in April; scored at the end of March, only
    the February answer exists yet. b signed up but has no subscription: not scored.

    >>> ds = Dataset(
    ...     customers=pd.DataFrame({"customer_id": ["a", "b"], "segment": ["SMB", "SMB"],
    ...                             "signup_date": pd.to_datetime(["2023-01-01"] * 2)}),
    ...     subscriptions=pd.DataFrame({"customer_id": ["a"], "mrr": [100.0],
    ...                                 "start_date": pd.to_datetime(["2023-01-01"]),
    ...                                 "end_date": pd.to_datetime([None])}),
    ...     surveys=pd.DataFrame({"customer_id": ["a", "a"], "survey": ["nps", "nps"],
    ...                           "date": pd.to_datetime(["2024-02-10", "2024-04-02"]),
    ...                           "score": [9.0, 3.0]}))
    >>> sig = customer_signals(ds, as_of="2024-03-31")
    >>> print(sig[["customer_id", "nps_latest", "mrr_trend_3m", "tickets_90d"]].to_string(index=False))
    customer_id  nps_latest  mrr_trend_3m  tickets_90d
              a         9.0           0.0          NaN
    """
    day = scoring_day(dataset, as_of)
    base = _active_customers(dataset, day)
    found = {
        **_usage_signals(dataset.usage, day),
        **_survey_signals(dataset.surveys, day, dataset.survey_settings),
        **_ticket_signals(dataset.tickets, day),
        "days_to_renewal": _days_to_renewal(dataset.renewals, day),
        "days_since_touch": _days_since_touch(dataset, day),
        "tenure_days": _tenure_days(dataset.customers, day),
        **declared_signals(dataset, day, custom or {}),
    }
    out = base.copy()
    names = [*SIGNALS, *(custom or {})]
    for name in names:
        if found.get(name) is not None:
            fill = 0 if name in COUNT_SIGNALS else np.nan
            out[name] = found[name].reindex(out["customer_id"], fill_value=fill).to_numpy(
                dtype="float64")
        elif name not in out.columns:
            out[name] = np.nan
    return out[["customer_id", "segment", *names]].sort_values(
        "customer_id", ignore_index=True)


def signals_on(dataset: Dataset, day: pd.Timestamp, *,
               custom: Mapping[str, CustomSignal] | None = None,
               signals: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`customer_signals` on ``day``, taken from ``signals`` when the caller has them.

    ``signals`` is None (computed here); one day's frame as :func:`customer_signals` returns
    it (used as it is: the caller vouches for its day); or several days' rows with an
    ``as_of`` column (e.g. :attr:`csm_kit.report.context.ReportContext.signals`), whose
    rows of ``day`` are used with the columns :func:`customer_signals` gives. A frame with an
    ``as_of`` column but no row of ``day``, or without a column of ``custom``, is not used:
    the signals are computed here.
    """
    if signals is None:
        return customer_signals(dataset, as_of=day, custom=custom)
    if "as_of" not in signals.columns:
        return signals
    columns = ["customer_id", "segment", *SIGNALS, *(custom or {})]
    rows = (signals["as_of"] == day).to_numpy()
    if not rows.any() or not set(columns) <= set(signals.columns):
        return customer_signals(dataset, as_of=day, custom=custom)
    return signals.loc[rows, columns].reset_index(drop=True)


def signals_by_day(dataset: Dataset, days: Iterable, *,
                   custom: Mapping[str, CustomSignal] | None = None) -> Iterator[pd.DataFrame]:
    """:func:`customer_signals` on each of ``days``, in order: the same frames, faster over
    several days (the backtest's history, the renewal forecast's past quarter ends).

    Every table's customer ids are coded as integers once (Arrow's hash lookup, ~1 s for
    6 million rows), so each day's groupbys and lookups run on integers instead of text
    (100,000 customers: ~1.2 → 0.6 s a day). With declared (``custom``) signals, or a
    customer id missing or not text in some table, every day takes :func:`customer_signals`
    itself, so a message names real ids.
    """
    days = list(days)
    coded = _coded(dataset) if len(days) > 2 and not custom else None
    for day in days:
        if coded is None:
            yield customer_signals(dataset, as_of=day, custom=custom)
            continue
        frame, universe = coded
        out = customer_signals(frame, as_of=day)
        ids = universe.take(pa.array(out["customer_id"].to_numpy(dtype="int64")))
        out["customer_id"] = pd.array(ids, dtype="str")
        yield out.sort_values("customer_id", ignore_index=True)


#: The tables :func:`customer_signals` reads (without declared signals), customers first.
_SIGNAL_TABLES = ("customers", "subscriptions", "surveys", "tickets", "usage", "renewals",
                  "activities")


def _coded(dataset: Dataset) -> tuple[Dataset, pa.Array] | None:
    """A dataset of the tables the signals read, each ``customer_id`` as int64 codes into the
    returned ids (the customers' first, then any id only another table has); None when such
    an id is missing or not text. Other tables are not read (a snapshot's stay on disk)."""
    universe, coded = None, {}
    for name in _SIGNAL_TABLES:
        table = getattr(dataset, name)
        if table is None or "customer_id" not in table.columns:
            coded[name] = table
            continue
        if not pd.api.types.is_string_dtype(table["customer_id"]):
            return None
        ids = pa.array(table["customer_id"], type=pa.large_string(), from_pandas=True)
        if ids.null_count:
            return None
        universe = pc.unique(ids) if universe is None else universe
        codes = pc.index_in(ids, value_set=universe)
        if codes.null_count:  # ids the customers table does not have
            universe = pa.concat_arrays([universe, pc.unique(ids.filter(pc.is_null(codes)))])
            codes = pc.index_in(ids, value_set=universe)
        coded[name] = table.assign(customer_id=codes.to_numpy().astype("int64"))
    if universe is None:
        return None
    return Dataset(**coded, survey_settings=dataset.survey_settings), universe


def _active_customers(dataset: Dataset, day: pd.Timestamp) -> pd.DataFrame:
    """customer_id, segment, mrr_trend_3m, mrr of the customers active on ``day``."""
    customers = dataset.customers
    segments = customers.set_index("customer_id")["segment"] if "segment" in customers.columns \
        else pd.Series(pd.NA, index=customers["customer_id"], dtype="str")
    segments = segments[~segments.index.duplicated()]
    subs = dataset.subscriptions
    if subs is None:
        ids = customers.loc[customers["signup_date"] <= day, "customer_id"]
        return pd.DataFrame({"customer_id": ids.to_numpy(),
                             "segment": segments.reindex(ids).to_numpy(),
                             "mrr_trend_3m": np.nan, "mrr": np.nan})
    if _plain(subs):
        now, before = _mrr_on(subs, day), _mrr_on(subs, day, months_back=3)
    else:
        now, before = _mrr_from_customer_months(subs, day)
    return pd.DataFrame({"customer_id": now.index.to_numpy(),
                         "segment": segments.reindex(now.index).to_numpy(),
                         "mrr_trend_3m": (now / before.reindex(now.index) - 1).to_numpy(),
                         "mrr": now.to_numpy(dtype="float64")})


def _plain(subs: pd.DataFrame) -> bool:
    """True for subscriptions :func:`_mrr_on` reads exactly as customer_months does: naive
    datetime columns, no missing customer_id or mrr (validated data always is)."""
    dates = ["start_date", *(["end_date"] if "end_date" in subs.columns else [])]
    naive = all(pd.api.types.is_datetime64_dtype(subs[c])
                and getattr(subs[c].dtype, "tz", None) is None for c in dates)
    return (naive and pd.api.types.is_numeric_dtype(subs["mrr"])
            and not subs["mrr"].isna().any() and not subs["customer_id"].isna().any())


def _mrr_on(subs: pd.DataFrame, day: pd.Timestamp, *, months_back: int = 0) -> pd.Series:
    """Each customer's MRR at the end of the as-of month (or ``months_back`` months earlier)
    as :func:`~csm_kit.revenue.customer_months` gives it for the subscriptions known on
    ``day`` (started by then; an end after the day not known yet), without expanding months.

    In the as-of month that is the subscriptions active on the day (start ≤ day < end); in an
    earlier month m, those started by the day, in or before m, and ending after m's month.
    The rules are :mod:`csm_kit.mrr_events`': whole cents per subscription (halves up), summed
    per customer, totals of 0 or less left out. Indexed by customer_id, sorted.
    """
    start = subs["start_date"]
    end = subs["end_date"] if "end_date" in subs.columns else pd.Series(pd.NaT, index=subs.index)
    if months_back == 0:
        counts = (start <= day) & (end.isna() | (end > day))
    else:
        month = day.year * 12 + day.month - 1 - months_back
        counts = ((start <= day) & (month_index(start) <= month)
                  & (end.isna() | (month_index(end) > month)))
    active = subs[counts.to_numpy()]
    cents = np.floor(active["mrr"].to_numpy(dtype="float64") * 100 + 0.5).astype("int64")
    total = pd.Series(cents, index=active.index).groupby(active["customer_id"]).sum()
    total = total[total > 0].sort_index()
    return (total.astype("float64") / 100).rename("mrr")


def _mrr_from_customer_months(subs, day: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """:func:`_mrr_on` now and 3 months back, through customer_months (any input)."""
    known = subs[subs["start_date"] <= day]
    if "end_date" in known.columns:  # an end after the day is not known on the day
        known = known.assign(end_date=known["end_date"].where(known["end_date"] <= day))
    months = customer_months(known, as_of=day)
    month = day.to_period("M").start_time
    now = months[months["month"] == month].set_index("customer_id")["mrr"]
    before = months[months["month"] == month - pd.DateOffset(months=3)].set_index(
        "customer_id")["mrr"]
    return now, before


def _between(dates: pd.Series, first_day: pd.Timestamp, day: pd.Timestamp) -> pd.Series:
    """True for dates and timestamps from the start of ``first_day`` to the end of ``day``."""
    return (dates >= first_day) & (dates < day + pd.Timedelta(days=1))


def _last_90_days(dates: pd.Series, day: pd.Timestamp) -> pd.Series:
    return _between(dates, day - pd.Timedelta(days=WINDOW_DAYS - 1), day)


def _usage_signals(usage: pd.DataFrame | None, day: pd.Timestamp) -> dict:
    """adoption and key_feature_adoption of each customer's latest complete usage month."""
    if usage is None:
        return {}
    complete = usage[usage["month"] + pd.offsets.MonthEnd(0) <= day]
    latest = complete.iloc[latest_rows(complete["customer_id"], complete["month"])]
    latest = latest.set_index("customer_id")
    out = {}
    if "licensed_seats" in usage.columns:
        out["adoption"] = pd.Series(adoption_ratio(latest.reset_index())["adoption"].to_numpy(),
                                    index=latest.index)
    if "key_feature_users" in usage.columns:
        active = latest["active_users"].astype("float64")
        out["key_feature_adoption"] = (latest["key_feature_users"].astype("float64")
                                       / active.where(active > 0))
    return out


def latest_rows(keys: pd.Series, order: pd.Series) -> np.ndarray:
    """Positions of the row with the largest ``order`` per key, the last one on a tie — the
    rows ``frame.sort_values(order, kind="stable").drop_duplicates(key, keep="last")`` keeps,
    found without sorting the frame (on 1.7 million usage rows: ~1 s a call less). A missing
    key is a key of its own; ``order`` must have no missing values.

    >>> latest_rows(pd.Series(["a", "b", "a", "a"]), pd.Series([2, 1, 3, 3])).tolist()
    [1, 3]
    """
    codes, _ = pd.factorize(keys, use_na_sentinel=False)
    values = order.to_numpy()
    values = values.view("int64") if values.dtype.kind == "M" else values
    best = pd.Series(values).groupby(codes).transform("max").to_numpy()
    ties = np.flatnonzero(values == best)
    return np.sort(pd.Series(ties).groupby(codes[ties]).max().to_numpy())


def _survey_signals(surveys: pd.DataFrame | None, day: pd.Timestamp, settings) -> dict:
    if surveys is None:
        return {}
    answered = surveys[surveys["score"].notna()]
    kind = answered["survey"].str.lower()
    year_ago = day - pd.DateOffset(months=NPS_MONTHS) + pd.Timedelta(days=1)
    nps = answered[(kind == "nps") & _between(answered["date"], year_ago, day)]
    latest = nps["date"] == nps.groupby("customer_id")["date"].transform("max")
    csat = answered[(kind == "csat") & _last_90_days(answered["date"], day)]
    low, high = settings.scale("csat")
    on_five = 1 + 4 * (csat["score"] - low) / (high - low)  # the health thresholds read 1–5
    return {"nps_latest": nps[latest].groupby("customer_id")["score"].mean(),
            "csat_recent": on_five.groupby(csat["customer_id"]).mean()}


def _ticket_signals(tickets: pd.DataFrame | None, day: pd.Timestamp) -> dict:
    if tickets is None:
        return {}
    backlog = ticket_backlog(tickets, as_of=day, older_than_days=OPEN_TICKET_DAYS,
                             by="customer_id").set_index("customer_id")["open_longer_than"]
    recent = _last_90_days(tickets["opened_at"], day)
    out = {"tickets_open_over_7d": backlog,
           "tickets_90d": tickets[recent].groupby("customer_id").size()}
    if "closed_at" not in tickets.columns:
        return out
    closed = tickets[_last_90_days(tickets["closed_at"], day)]
    if {"contacts", "first_contact_resolved"} & set(tickets.columns):
        out["fcr_failures_90d"] = closed[one_contact(closed) == 0].groupby("customer_id").size()
    days = (closed["closed_at"] - closed["opened_at"]) / pd.Timedelta(days=1)
    out["slow_tickets_90d"] = closed[days > SLOW_TICKET_DAYS].groupby("customer_id").size()
    out["median_days_to_close_90d"] = days.groupby(closed["customer_id"]).median()
    return out


def _days_to_renewal(renewals: pd.DataFrame | None, day: pd.Timestamp) -> pd.Series | None:
    if renewals is None:
        return None
    upcoming = renewals[renewals["due_date"] > day]
    if "renewed_on" in upcoming.columns:  # already signed on the day: no longer ahead
        upcoming = upcoming[~(upcoming["renewed_on"] <= day)]
    return (upcoming.groupby("customer_id")["due_date"].min() - day).dt.days.astype("float64")


def _days_since_touch(dataset: Dataset, day: pd.Timestamp) -> pd.Series | None:
    """Days since the latest activity on or before ``day``, else since signup."""
    if dataset.activities is None:
        return None
    acts = dataset.activities
    last = acts[acts["date"] < day + pd.Timedelta(days=1)].groupby("customer_id")["date"].max()
    signup = dataset.customers.drop_duplicates("customer_id").set_index("customer_id")[
        "signup_date"]
    since = last.reindex(signup.index).fillna(signup)
    return ((day - since.dt.normalize()).dt.days.astype("float64")).where(signup <= day)


def _tenure_days(customers: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    signup = customers.drop_duplicates("customer_id").set_index("customer_id")["signup_date"]
    return (day - signup.dt.normalize()).dt.days.astype("float64")
