"""Each customer's part of one month's figures under a set of definition rules.

:func:`customer_contributions` splits the month's bridge movements, active customers and
logo churn counts by customer under a rule set (:class:`csm_kit.definitions.Definitions`);
summed over customers they are the month's figures (tests/test_differences.py checks it
under every preset). :func:`customers_behind` compares two rule sets customer by customer:
which customers a rule's switch moves, and how. :mod:`csm_kit.differences` uses both to
name the customers behind each rule's share of a gap.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from csm_kit import engine as eng
from csm_kit.day_events import day_events, rule_movements
from csm_kit.definitions import Definitions
from csm_kit.months import month_starts
from csm_kit.revenue import MOVEMENTS

__all__ = ["customer_contributions", "customers_behind", "logo_counts"]

#: The rules a customer's contributions depend on (the others only change a formula).
_CONTRIBUTION_RULES = ("timing", "zero_mrr", "churn_window_days", "churn_and_return",
                       "join_and_cancel", "churn_denominator")


def customers_behind(frame, as_of_index: int, steps, rules, top: int,
                     skip=(), memo: dict | None = None) -> pd.DataFrame:
    """Per rule, the ``top`` customers whose movements or logo counts change with its switch.

    ``steps[i]`` and ``steps[i + 1]`` are the rule sets before and after switching
    ``rules[i]``; rules in ``skip`` (formula-only rules) move no customer and are passed over.
    ``memo`` keeps the parts rule sets share (see :func:`logo_counts`) for the caller's next
    use of the same ``frame`` and month. Columns: rule, customer_id, mrr_moved (currency),
    change (in words).
    """
    parts, known = [], {}
    memo = {} if memo is None else memo

    def contributions(step: Definitions) -> pd.DataFrame:
        # consecutive steps share all rules but one: each distinct set is computed once
        key = tuple(getattr(step, name) for name in _CONTRIBUTION_RULES)
        if key not in known:
            known[key] = _contributions(frame, as_of_index, step, memo)
        return known[key]

    for i, rule in enumerate(rules):
        if rule in skip or top == 0:
            continue
        before, after = contributions(steps[i]), contributions(steps[i + 1])
        diff = after.sub(before, fill_value=0)
        diff = diff[(diff != 0).any(axis=1)]
        if diff.empty:
            continue
        moved = diff[list(MOVEMENTS)].abs().sum(axis=1) / 100
        order = pd.DataFrame({"moved": moved, "logo": diff[["churned", "denominator",
                                                            "active"]].abs().sum(axis=1)})
        chosen = order.sort_values(["moved", "logo"], ascending=False,
                                   kind="stable").head(top).index
        for customer in chosen:
            parts.append({"rule": rule, "customer_id": customer,
                          "mrr_moved": float(moved[customer]),
                          "change": _describe(before.reindex([customer]).fillna(0).iloc[0],
                                              after.reindex([customer]).fillna(0).iloc[0])})
    return pd.DataFrame(parts, columns=["rule", "customer_id", "mrr_moved", "change"])


def _describe(before: pd.Series, after: pd.Series) -> str:
    words = []
    for column in [*MOVEMENTS, "active", "churned", "denominator"]:
        old, new = before[column], after[column]
        if old == new:
            continue
        if column in MOVEMENTS:
            words.append(f"{column} {old / 100:,.2f} → {new / 100:,.2f}")
        else:
            name = {"active": "active at month end", "churned": "counted as churned",
                    "denominator": "in the churn denominator"}[column]
            words.append(f"{name}: {'yes' if old else 'no'} → {'yes' if new else 'no'}")
    return "; ".join(words)


def customer_contributions(frame, as_of_index: int, rules: Definitions) -> pd.DataFrame:
    """Each customer's part of the as_of month's figures under ``rules`` (pandas, by customer).

    Columns: the five movements (positive cents booked in the month), active (1 when active
    at the month end), churned and denominator (1 when counted in the logo churn rate's
    numerator / denominator of the period ending with the month). Summed over customers they
    give the month's bridge movements, active customers and logo churn counts.

    Examples
    --------
    b leaves on 10 March; d joins on the 5th and leaves on the 20th. Stripe's rules book d's
    100 as new and churned MRR and count it as churned (and in the denominator); at month ends
    d is in nothing:

    >>> from csm_kit.definitions import preset
    >>> from csm_kit.mrr_events import prepare_subscriptions
    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-05"]),
    ...     "end_date": pd.to_datetime([None, "2024-03-10", "2024-03-20"]),
    ...     "mrr": [50.0, 30.0, 100.0],
    ... })
    >>> frame, as_of_index = prepare_subscriptions(subs, as_of="2024-03")
    >>> stripe = customer_contributions(frame, as_of_index, preset("stripe"))
    >>> stripe.loc["d", ["new", "churn", "churned", "denominator"]].tolist()
    [10000, 10000, 1, 1]
    >>> kit = customer_contributions(frame, as_of_index, preset("csm-kit"))
    >>> int(kit.loc["d"].sum()), kit.loc["b", ["churn", "churned"]].tolist()
    (0, [3000, 1])
    """
    return _contributions(frame, as_of_index, rules, {})


def logo_counts(frame, as_of_index: int, rules: Definitions,
                memo: dict | None = None) -> tuple[int, int]:
    """The as_of month's logo churn counts under ``rules``: (churned, in the denominator),
    the sums of :func:`customer_contributions`' columns. ``memo`` (a dict the caller keeps
    for one ``frame`` and month) shares the day events and logo flags between rule sets."""
    logo = _logo_membership(frame, as_of_index, rules, {} if memo is None else memo)
    return int(logo["churned"].sum()), int(logo["denominator"].sum())


def _contributions(frame, as_of_index: int, rules: Definitions, memo: dict) -> pd.DataFrame:
    """:func:`customer_contributions`, keeping in ``memo`` the parts other rule sets share
    (the movements per timing and zero-MRR rule, the logo flags per zero-MRR rule and window)."""
    key = ("moves", rules.timing, rules.zero_mrr)
    if key not in memo:
        moves = eng.to_pandas(
            rule_movements(frame, as_of_index, timing=rules.timing, zero_mrr=rules.zero_mrr)
            .filter(nw.col("month_index") == as_of_index)
            .with_columns(amount=(nw.col("mrr_after") - nw.col("mrr_before")).abs())
            .select("customer_id", "movement", "amount"))
        table = moves.pivot_table(index="customer_id", columns="movement", values="amount",
                                  aggfunc="sum", fill_value=0)
        memo[key] = table.reindex(columns=list(MOVEMENTS), fill_value=0).astype("int64")
    logo = _logo_membership(frame, as_of_index, rules, memo)
    out = memo[key].join(logo, how="outer").fillna(0).astype("int64")
    out.index.name = "customer_id"
    return out


def _logo_membership(frame, as_of_index: int, rules: Definitions, memo: dict) -> pd.DataFrame:
    """Per customer: active at the month end; counted churned / in the denominator of the
    logo churn period (calendar month or rolling window) ending with the as_of month."""
    key = ("flags", rules.zero_mrr, rules.churn_window_days)
    if key not in memo:
        memo[key] = _logo_flags(frame, as_of_index, rules.zero_mrr, rules.churn_window_days,
                                memo)
    flags, last = memo[key]
    s, e, x, j = flags["start"], flags["end_state"], flags["left"], flags["joined"]
    churned = (s & ~e) | ((rules.churn_and_return == "count") & s & e & x) | (
        (rules.join_and_cancel == "count") & ~s & x)
    denominator = s | ((rules.churn_denominator == "start_plus_new") & ~s & j)
    return pd.DataFrame({"active": last.reindex(flags.index.union(last.index)).fillna(0)}).join(
        pd.DataFrame({"churned": churned, "denominator": denominator}), how="outer").fillna(
        0).astype("int64")


def _logo_flags(frame, as_of_index: int, zero_mrr, window_days,
                memo: dict) -> tuple[pd.DataFrame, pd.Series]:
    """Per customer in the churn period: active at its start and end, left or joined inside
    it; and every customer's state after its last event."""
    key = ("events", zero_mrr)
    if key not in memo:
        memo[key] = eng.to_pandas(day_events(frame, as_of_index, zero_mrr)).sort_values(
            ["customer_id", "day"], kind="stable")
    events = memo[key]
    end = pd.Timestamp(month_starts(np.array([as_of_index + 1]))[0]) - pd.Timedelta(days=1)
    if window_days is None:
        first = end.replace(day=1)
    else:
        first = end - pd.Timedelta(days=window_days - 1)
    boundary = _key(first - pd.Timedelta(days=1))
    before = events[events["day"] <= boundary].groupby("customer_id")["active_after"].last()
    inside = events[(events["day"] > boundary) & (events["day"] <= _key(end))]
    grouped = inside.groupby("customer_id")
    flags = pd.DataFrame({
        "start": before,
        "end_state": grouped["active_after"].last(),
        "left": ((inside["active_before"] == 1) & (inside["active_after"] == 0))
        .groupby(inside["customer_id"]).any(),
        "joined": ((inside["active_before"] == 0) & (inside["active_after"] == 1))
        .groupby(inside["customer_id"]).any(),
    })
    flags["start"] = flags["start"].fillna(0).astype(bool)
    end_state = flags["end_state"]
    flags["end_state"] = np.where(end_state.isna(), flags["start"],
                                  end_state.fillna(0).astype(bool))
    flags[["left", "joined"]] = flags[["left", "joined"]].fillna(False).astype(bool)
    return flags, events.groupby("customer_id")["active_after"].last()


def _key(date: pd.Timestamp) -> int:
    return date.year * 10000 + date.month * 100 + date.day
