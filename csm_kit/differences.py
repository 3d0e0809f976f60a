"""Why do my numbers differ from ChartMogul, Baremetrics, ProfitWell or Stripe?

Two tools fed the same subscriptions disagree because they settle a handful of rules
differently (:mod:`csm_kit.definitions`). This module shows it on the user's own data:

- :func:`compare_definitions` computes the headline revenue metrics of one month under every
  preset, side by side;
- :func:`explain_difference` takes two presets and switches their differing rules one at a
  time, in the fixed order of :data:`csm_kit.definitions.RULES`, from the first preset's
  value to the second's. Each rule's *share* of a metric's gap is the change that one switch
  makes; the shares telescope, so they add up to the whole gap exactly (they are computed as
  exact fractions of the metric values, then shown as floats). For the rules that move
  customers between movements or counts, it lists the customers behind the change.

The shares depend on the order (switching ``timing`` before ``zero_mrr`` can give each a
different part than the reverse order); the order is fixed so the same data always gives
the same explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd

from csm_kit.cohorts import average_retention_curve, cohort_table
from csm_kit.definitions import PRESET_NAMES, Definitions, preset
from csm_kit.engine import choose_engine, reuse_object
from csm_kit.errors import ConfigError
from csm_kit.ltv import lifetime_value
from csm_kit.months import month_starts
from csm_kit.mrr_events import prepare_subscriptions
from csm_kit.revenue import bridge_table
from csm_kit.revenue_retention import net_revenue_retention
from csm_kit.rule_customers import customers_behind, logo_counts

__all__ = ["compare_definitions", "explain_difference", "formatted", "Explanation", "HEADLINE"]

#: The headline metrics compared: name, label, unit, and the rules that can move it.
HEADLINE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("mrr", "MRR", "money", ()),
    ("active_customers", "Active customers", "count", ("zero_mrr",)),
    ("arpa", "ARPA", "money", ("zero_mrr",)),
    ("new_mrr", "New MRR", "money", ("timing", "zero_mrr")),
    ("churned_mrr", "Churned MRR", "money", ("timing", "zero_mrr")),
    ("logo_churn_rate", "Logo churn", "share",
     ("zero_mrr", "join_and_cancel", "churn_and_return", "churn_denominator",
      "churn_window_days")),
    ("gross_mrr_churn", "Gross MRR churn", "share", ("timing", "zero_mrr")),
    ("net_mrr_churn", "Net MRR churn", "share", ("timing", "zero_mrr", "net_churn_reactivation")),
    ("quick_ratio", "Quick ratio", "ratio", ("timing", "zero_mrr", "quick_ratio_reactivation")),
    ("average_sale_price", "Average sale price", "money", ("timing", "zero_mrr")),
    ("ltv", "LTV", "money",
     ("zero_mrr", "join_and_cancel", "churn_and_return", "churn_denominator",
      "churn_window_days", "ltv_method", "ltv_exclude_current")),
    ("logo_retention_12m", "Cohort logo retention at 12 months", "share", ("cohort_retention",)),
    ("net_revenue_retention", "NRR (12 months)", "share", ()),
)
METRICS = tuple(name for name, *_ in HEADLINE)
_RELEVANT = {name: rules for name, _, _, rules in HEADLINE}
#: Rules that only change a formula: no customer moves between movements or counts.
FORMULA_RULES = ("quick_ratio_reactivation", "net_churn_reactivation", "ltv_method",
                 "ltv_exclude_current", "cohort_retention")


def _latest(table: pd.DataFrame, column: str, month: pd.Timestamp) -> float:
    rows = table.loc[table["month"] == month, column]
    return float(rows.iloc[-1]) if len(rows) else float("nan")


def _evaluator(subscriptions, as_of, engine) -> _Evaluator:
    """The evaluator of these subscriptions, month and engine; the previous call's when they
    are the same (the same pandas frame, its content unchanged; the same preset in effect),
    so that :func:`explain_difference` after :func:`compare_definitions` (as the revenue
    report calls them) computes no metric twice."""
    tag = ("definition presets", id(subscriptions), repr(as_of),
           choose_engine(subscriptions, engine), repr(preset()))
    return reuse_object(subscriptions, tag, lambda: _Evaluator(subscriptions, as_of, engine))


class _Evaluator:
    """Headline metrics of one month under any rule set.

    Each underlying table is computed once per distinct value of the rules that can move it:
    the bridge per (timing, zero_mrr), logo churn per churn rules, LTV per LTV and churn
    rules, cohorts per cohort rule. The bridge ratios are the arithmetic of
    :mod:`csm_kit.revenue_retention` on the same integer cents (tests/test_differences.py
    checks every value against the public functions under every preset).
    """

    def __init__(self, subscriptions, as_of, engine):
        frame, self.as_of_index = prepare_subscriptions(subscriptions, as_of=as_of, engine=engine)
        self.subscriptions, self.engine, self.frame = subscriptions, engine, frame
        self.month = pd.Timestamp(month_starts(np.array([self.as_of_index]))[0])
        self._memo: dict = {}
        #: what rule sets share per customer (rule_customers: day events, logo flags)
        self.shared: dict = {}

    def values(self, rules: Definitions) -> dict[str, float]:
        return {name: self.value(name, rules) for name in METRICS}

    def value(self, name: str, rules: Definitions) -> float:
        only = replace(Definitions(), **{r: getattr(rules, r) for r in _RELEVANT[name]})
        if name in _FROM_BRIDGE:
            return _FROM_BRIDGE[name](self._bridge(only), only)
        key = (name, tuple(getattr(rules, r) for r in _RELEVANT[name]))
        if key not in self._memo:
            self._memo[key] = self._compute(name, only)
        return self._memo[key]

    def _bridge(self, rules: Definitions) -> dict[str, int]:
        key = ("bridge", rules.timing, rules.zero_mrr)
        if key not in self._memo:
            table = bridge_table(self.subscriptions, as_of=self.month, engine=self.engine,
                                 rules=rules)
            rows = table[table["month"] == self.month]
            self._memo[key] = ({c: int(rows[c].iloc[0]) for c in rows.columns if c != "month"}
                               if len(rows) else None)
        return self._memo[key]

    def _compute(self, name: str, rules: Definitions) -> float:
        subs, month = self.subscriptions, self.month
        common = {"as_of": month, "engine": self.engine}
        if name == "logo_churn_rate":
            # the month's counts per customer, summed (equal to logo_churn_rate's: tests)
            return _ratio(*logo_counts(self.frame, self.as_of_index, rules, self.shared))
        if name == "ltv":
            # The kit's own LTV figure is the smoothed one (the KPI export's).
            ltv = lifetime_value(subs, method=rules.ltv_method or "smoothed", definitions=rules,
                                 as_of=month)
            return _latest(ltv, "ltv", month)
        if name == "logo_retention_12m":
            curve = average_retention_curve(cohort_table(subs, definitions=rules, **common))
            rows = curve.loc[curve["months_since_start"] == 12, "value"]
            return float(rows.iloc[0]) if len(rows) else float("nan")
        nrr = net_revenue_retention(subs, window_months=12, **common)
        return _latest(nrr, "rate", month)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` in float64, NaN for a zero denominator (as ``share``)."""
    return float(np.float64(numerator) / np.float64(denominator)) if denominator else float("nan")


def _bridge_value(compute):
    def value(row, rules):
        return float("nan") if row is None else compute(row, rules)
    return value


_FROM_BRIDGE = {
    "mrr": _bridge_value(lambda t, r: t["end_mrr"] / 100),
    "active_customers": _bridge_value(lambda t, r: float(t["customers_end"])),
    "arpa": _bridge_value(lambda t, r: _ratio(t["end_mrr"] / 100, t["customers_end"])),
    "new_mrr": _bridge_value(lambda t, r: t["new"] / 100),
    "churned_mrr": _bridge_value(lambda t, r: t["churn"] / 100),
    "gross_mrr_churn": _bridge_value(
        lambda t, r: _ratio(t["churn"] + t["contraction"], t["start_mrr"])),
    "net_mrr_churn": _bridge_value(lambda t, r: _ratio(
        t["churn"] + t["contraction"] - t["expansion"]
        - (t["reactivation"] if r.net_churn_reactivation else 0), t["start_mrr"])),
    "quick_ratio": _bridge_value(lambda t, r: _ratio(
        t["new"] + t["expansion"] + (t["reactivation"] if r.quick_ratio_reactivation else 0),
        t["churn"] + t["contraction"])),
    "average_sale_price": _bridge_value(lambda t, r: _ratio(t["new"] / 100, t["n_new"])),
}


def compare_definitions(subscriptions, *, presets=PRESET_NAMES, as_of=None,
                        engine: str | None = None) -> pd.DataFrame:
    r"""Compute the headline revenue metrics of one month under every definition preset.

    Each column is what a tool following that preset would show for the month, from the
    same subscriptions. The rules behind each preset are :data:`csm_kit.definitions.PRESETS`
    (docs/presets.md cites each vendor's help page).

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    presets : preset names to compare (default: all five).
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb".

    Returns
    -------
    pandas DataFrame, one row per headline metric (:data:`HEADLINE`): metric, label, unit
    ("money" per month, "share" 0–1, "ratio", "count"), then one column per preset with the
    metric's value for the as_of month (NaN where it is not defined, e.g. a quick ratio in a
    month without losses). ``attrs["month"]`` is that month.

    Notes
    -----
    MRR and NRR are the same under every preset (month-end MRR of the same subscriptions);
    they are shown so that the table says which figures agree. LTV for csm-kit is the
    smoothed method of the KPI export.

    Examples
    --------
    d joins on 5 March and leaves on 20 March; the month-end presets never see it, the
    event presets book 100 new and 100 churned MRR:

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-05"]),
    ...     "end_date": pd.to_datetime([None, None, "2024-03-20"]),
    ...     "mrr": [50.0, 50.0, 100.0],
    ... })
    >>> table = compare_definitions(subs, presets=["csm-kit", "stripe"], as_of="2024-03")
    >>> table.set_index("metric").loc[["new_mrr", "churned_mrr"], ["csm-kit", "stripe"]].values.tolist()
    [[0.0, 100.0], [0.0, 100.0]]
    """
    chosen = [_check_preset(p) for p in presets]
    evaluator = _evaluator(subscriptions, as_of, engine)
    out = pd.DataFrame({"metric": [h[0] for h in HEADLINE], "label": [h[1] for h in HEADLINE],
                        "unit": [h[2] for h in HEADLINE]})
    for name in chosen:
        values = evaluator.values(preset(name))
        out[name] = [values[m] for m in out["metric"]]
    out.attrs["month"] = evaluator.month
    return out


def _check_preset(name) -> str:
    if name not in PRESET_NAMES:
        raise ConfigError(f"presets must be among {list(PRESET_NAMES)}, got {name!r}")
    return name


@dataclass(frozen=True)
class Explanation:
    """The gap between two presets on the headline metrics, rule by rule.

    Attributes
    ----------
    base, target : the two preset names (the gap is target − base).
    month : the month explained.
    rules : the rules that differ, in the order they were switched.
    gaps : one row per metric: metric, label, unit, base, target, gap.
    shares : one row per metric and rule: metric, label, rule, before, after (the metric
        with the rules switched so far), share (after − before), share_of_gap (share ÷ gap;
        NaN when the gap is 0). Per metric the shares add up to the gap: exactly in
        :attr:`exact_shares`, to float rounding here.
    customers : the customers behind each rule's change, biggest first: rule, customer_id,
        mrr_moved (currency: total absolute change of the customer's movements in the month),
        change (what changed, in words).
    exact_shares : {(metric, rule): Fraction} — the shares as exact fractions.
    """

    base: str
    target: str
    month: pd.Timestamp
    rules: tuple[str, ...]
    gaps: pd.DataFrame
    shares: pd.DataFrame
    customers: pd.DataFrame
    exact_shares: dict

    def table(self) -> pd.DataFrame:
        """One row per metric that differs: label, unit, base, target, gap, then each
        rule's share of the gap (in the metric's unit) and ``adds_up`` (exact check)."""
        wide = self.shares.pivot(index="metric", columns="rule", values="share")
        wide = wide.reindex(columns=list(self.rules))
        out = self.gaps.set_index("metric").join(wide)
        out = out.join(self.adds_up())
        one_defined = out["base"].isna() != out["target"].isna()
        moved = (out["gap"] != 0) & out["gap"].notna() | one_defined
        if self.rules:
            moved |= (wide.reindex(out.index).fillna(0) != 0).any(axis=1)
        out = out[moved].rename(columns={"base": self.base, "target": self.target})
        return out.reset_index()

    def adds_up(self) -> pd.Series:
        """Per metric: do the exact shares add up to the exact gap? (NaN metrics: False.)"""
        result = {}
        for row in self.gaps.itertuples():
            if not (np.isfinite(row.base) and np.isfinite(row.target)):
                result[row.metric] = False
                continue
            total = sum((self.exact_shares[(row.metric, r)] for r in self.rules), Fraction(0))
            result[row.metric] = total == Fraction(row.target) - Fraction(row.base)
        return pd.Series(result, name="adds_up")


def explain_difference(subscriptions, *, base: str = "csm-kit", target: str = "chartmogul",
                       as_of=None, engine: str | None = None, top: int = 5) -> Explanation:
    r"""Explain the gap between two presets' headline metrics, rule by rule.

    Starting from ``base``'s rules, the rules where ``target`` differs are switched one at a
    time in the fixed order of :data:`csm_kit.definitions.RULES`. A rule's share of a
    metric's gap is the change its switch makes:

    .. math:: \mathrm{share}_i = f(R_i) - f(R_{i-1}), \qquad
              \sum_i \mathrm{share}_i = f(R_{\mathrm{target}}) - f(R_{\mathrm{base}})

    Parameters
    ----------
    subscriptions : frame with customer_id, start_date, mrr, optional end_date.
    base, target : preset names (:data:`csm_kit.definitions.PRESET_NAMES`).
    as_of : date or None (None = last complete month of the data).
    engine : None, "auto", "pandas", "polars" or "duckdb".
    top : customers listed per rule (the ones whose movements or counts change most).

    Returns
    -------
    :class:`Explanation` (gaps, shares, customers; ``adds_up()`` checks the shares exactly).

    Notes
    -----
    A share is NaN where the metric is undefined before or after the switch (e.g. a quick
    ratio in a month without losses); those metrics do not add up and ``adds_up()`` says so.
    Rules that only change a formula (quick ratio and net churn reactivation, the LTV method,
    the cohort rule) move no customer and list none.

    Examples
    --------
    d joins and leaves inside March: ChartMogul books it as new and churned MRR, so its
    ``timing`` rule accounts for the whole 100 of new MRR:

    >>> subs = pd.DataFrame({
    ...     "customer_id": ["a", "b", "d"],
    ...     "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-05"]),
    ...     "end_date": pd.to_datetime([None, None, "2024-03-20"]),
    ...     "mrr": [50.0, 50.0, 100.0],
    ... })
    >>> why = explain_difference(subs, target="chartmogul", as_of="2024-03")
    >>> new = why.shares[why.shares["metric"] == "new_mrr"]
    >>> new.loc[new["share"] != 0, ["rule", "share"]].values.tolist()
    [['timing', 100.0]]
    >>> why.customers.loc[why.customers["rule"] == "timing", "customer_id"].tolist()
    ['d']
    """
    for name in (base, target):
        _check_preset(name)
    if not isinstance(top, int | np.integer) or top < 0:
        raise ConfigError(f"`top` must be a whole number >= 0, got {top!r}")
    start, goal = preset(base), preset(target)
    rules = tuple(start.changed(goal))
    evaluator = _evaluator(subscriptions, as_of, engine)
    steps = [start]
    for rule in rules:
        steps.append(replace(steps[-1], **{rule: getattr(goal, rule)}))
    values = [evaluator.values(step) for step in steps]
    labels = {name: label for name, label, *_ in HEADLINE}
    gaps = pd.DataFrame({"metric": list(METRICS), "label": [labels[m] for m in METRICS],
                         "unit": [h[2] for h in HEADLINE],
                         "base": [values[0][m] for m in METRICS],
                         "target": [values[-1][m] for m in METRICS]})
    gaps["gap"] = gaps["target"] - gaps["base"]
    rows, exact = [], {}
    for metric in METRICS:
        gap = values[-1][metric] - values[0][metric]
        for i, rule in enumerate(rules):
            before, after = values[i][metric], values[i + 1][metric]
            defined = np.isfinite(before) and np.isfinite(after)
            exact[(metric, rule)] = Fraction(after) - Fraction(before) if defined else None
            share = float(exact[(metric, rule)]) if defined else float("nan")
            rows.append({"metric": metric, "label": labels[metric], "rule": rule,
                         "before": before, "after": after, "share": share,
                         "share_of_gap": share / gap if np.isfinite(gap) and gap != 0
                         else float("nan")})
    shares = pd.DataFrame(rows, columns=["metric", "label", "rule", "before", "after", "share",
                                         "share_of_gap"])
    customers = customers_behind(evaluator.frame, evaluator.as_of_index, steps, rules, top,
                                 skip=FORMULA_RULES, memo=evaluator.shared)
    return Explanation(base, target, evaluator.month, rules, gaps, shares, customers, exact)


_FORMATS = {"money": "{:,.2f}", "share": "{:.2%}", "ratio": "{:,.3f}", "count": "{:,.0f}"}


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison or explanation table as text, each row in its metric's unit.

    Money with two decimals, shares as percentages with two decimals, ratios with three,
    counts whole; missing values as "–". Drops ``metric`` and ``unit`` (the label stays);
    ``adds_up`` becomes "yes"/"no".

    >>> table = pd.DataFrame({"metric": ["m", "s"], "label": ["MRR", "Churn"],
    ...                       "unit": ["money", "share"], "csm-kit": [1234.5, 0.0213]})
    >>> formatted(table).values.tolist()
    [['MRR', '1,234.50'], ['Churn', '2.13%']]
    """
    out = table.drop(columns=["metric", "unit"], errors="ignore").copy()
    numeric = [c for c in out.columns if c not in ("label", "adds_up")]
    units = table["unit"].map(_FORMATS)
    for column in numeric:
        out[column] = [("–" if pd.isna(v) else fmt.format(v))
                       for v, fmt in zip(table[column], units, strict=True)]
    if "adds_up" in out:
        out["adds_up"] = out["adds_up"].map({True: "yes", False: "no"})
    return out
