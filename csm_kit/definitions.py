"""Definition presets: the rules where revenue dashboards disagree, set all at once.

Two tools fed the same subscriptions disagree because each settles a handful of rules its
own way: when a movement is booked, whether a paying customer moved to a $0 plan has
churned, who counts in logo churn and over which window, whether reactivation is growth,
how LTV smooths churn, how cohorts treat returning customers. Every such rule is one
keyword option of the functions that use it, and a *preset* sets them all at once:

=====================  =========  ==========  ===========  ==========  ===============
rule                   csm-kit    chartmogul  baremetrics  profitwell  stripe
=====================  =========  ==========  ===========  ==========  ===============
timing                 month_end  events      events       month_end   events
zero_mrr               churn      active      churn        churn       churn
join_and_cancel        ignore     count       count        ignore      count
churn_and_return       ignore     count       count        ignore      count
churn_denominator      start      start       start        start       start_plus_new
churn_window_days      None       None        30           None        30
quick_ratio_reactiv.   True       False       False        True        True
net_churn_reactiv.     False      True        False        False       False
ltv_method             None       smoothed    simple       smoothed    simple
ltv_exclude_current    False      True        False        False       False
cohort_retention       active     active      active       active      not_yet_churned
=====================  =========  ==========  ===========  ==========  ===============

``csm-kit`` is the kit's own conventions, unchanged. :data:`SOURCES` holds, for every
preset and rule, the vendor's public help page it follows and whether that page states the
rule (``confirmed``) or the value is inferred from how the tool books movements
(``inferred``) or not published at all (``kit default kept``). docs/presets.md explains each
rule with a worked example.

How a function settles its rules: an explicit keyword wins; otherwise the ``definitions``
preset's value; ``definitions=None`` means the preset of the enclosing :func:`using` block
(how ``csm-kit metrics --definitions X`` reaches every metric), and outside one the
``csm-kit`` preset. The choice lives in a context variable of the running process, not in
the environment: a shell setting cannot silently change a report's numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace

from csm_kit.errors import ConfigError

DEFAULT = "csm-kit"
#: The preset ``definitions=None`` means: set only inside a :func:`using` block.
_ACTIVE: ContextVar[str] = ContextVar("csm_kit_definitions", default=DEFAULT)

#: Allowed values of each rule (None where "no override" is a value).
CHOICES: dict[str, tuple] = {
    "timing": ("month_end", "events"),
    "zero_mrr": ("churn", "active"),
    "join_and_cancel": ("ignore", "count"),
    "churn_and_return": ("ignore", "count"),
    "churn_denominator": ("start", "start_plus_new"),
    "churn_window_days": (None, "a whole number of days >= 1"),
    "quick_ratio_reactivation": (True, False),
    "net_churn_reactivation": (False, True),
    "ltv_method": (None, "simple", "smoothed"),
    "ltv_exclude_current": (False, True),
    "cohort_retention": ("active", "not_yet_churned"),
}


@dataclass(frozen=True)
class Definitions:
    """One value for every rule where revenue tools differ (see the module docstring).

    Attributes
    ----------
    timing : "month_end" books a movement by comparing a customer's MRR at consecutive month
        ends (a subscription added and cancelled inside a month is invisible, an upgrade in
        the first month is part of "new"); "events" books every change on the day it happens.
    zero_mrr : "churn" = a customer whose MRR drops to 0 has churned; "active" = a paying
        customer moved to a $0 plan (still holding a subscription) stays an active customer
        and the drop is contraction.
    join_and_cancel : "count" counts a customer who joins and cancels inside the churn
        period as churned; "ignore" leaves it out.
    churn_and_return : "count" counts a customer who churns and comes back inside the
        period as churned; "ignore" leaves it out (it is active at both ends).
    churn_denominator : "start" = customers active at the period's start; "start_plus_new"
        also counts customers who joined (or returned) during the period.
    churn_window_days : None = calendar periods; N = a rolling N-day window ending on each
        month's last day.
    quick_ratio_reactivation : whether reactivation MRR is a gain in the quick ratio.
    net_churn_reactivation : whether net MRR churn subtracts reactivation MRR.
    ltv_method : None = the caller's method; "simple" (ARPA ÷ this month's churn) or
        "smoothed" (ARPA ÷ the trailing 6-month mean churn).
    ltv_exclude_current : the smoothed mean uses the 6 months before the current one.
    cohort_retention : "active" = share of a cohort active at a month end (returning
        customers count again); "not_yet_churned" = share that has not churned yet.
    """

    timing: str = "month_end"
    zero_mrr: str = "churn"
    join_and_cancel: str = "ignore"
    churn_and_return: str = "ignore"
    churn_denominator: str = "start"
    churn_window_days: int | None = None
    quick_ratio_reactivation: bool = True
    net_churn_reactivation: bool = False
    ltv_method: str | None = None
    ltv_exclude_current: bool = False
    cohort_retention: str = "active"

    def __post_init__(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "churn_window_days":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                          or value < 1):
                    raise ConfigError("`churn_window_days` must be None or a whole number of "
                                      f"days >= 1, got {value!r}")
            elif value not in CHOICES[item.name] or type(value) is not type(
                    next(c for c in CHOICES[item.name] if c == value)):
                raise ConfigError(f"`{item.name}` must be one of {list(CHOICES[item.name])}, "
                                  f"got {value!r}")

    def changed(self, other: Definitions) -> list[str]:
        """The rules whose values differ between ``self`` and ``other``, in :data:`RULES` order."""
        return [rule for rule in RULES if getattr(self, rule) != getattr(other, rule)]


#: Every rule, in the fixed order in which "why do my numbers differ" switches them.
RULES: tuple[str, ...] = tuple(f.name for f in fields(Definitions))

PRESETS: dict[str, Definitions] = {
    "csm-kit": Definitions(),
    "chartmogul": Definitions(
        timing="events", zero_mrr="active", join_and_cancel="count", churn_and_return="count",
        quick_ratio_reactivation=False, net_churn_reactivation=True, ltv_method="smoothed",
        ltv_exclude_current=True),
    "baremetrics": Definitions(
        timing="events", join_and_cancel="count", churn_and_return="count",
        churn_window_days=30, quick_ratio_reactivation=False, ltv_method="simple"),
    "profitwell": Definitions(ltv_method="smoothed"),
    "stripe": Definitions(
        timing="events", join_and_cancel="count", churn_and_return="count",
        churn_denominator="start_plus_new", churn_window_days=30, ltv_method="simple",
        cohort_retention="not_yet_churned"),
}
PRESET_NAMES = tuple(PRESETS)

_CM = "https://help.chartmogul.com/hc/en-us/articles/"
_BM = "https://help.baremetrics.com/en/articles/"
_PW = "https://www.paddle.com/help/profitwell-metrics/"
_ST = "https://support.stripe.com/questions/"
#: Where each preset's non-default rules come from: (url, "confirmed" | "inferred" | note).
SOURCES: dict[str, dict[str, tuple[str, str]]] = {
    "chartmogul": {
        "timing": (_CM + "4416682609426-Understanding-MRR-movements",
                   "confirmed: every change of a subscription's MRR is a movement"),
        "zero_mrr": (_CM + "15384089786524-Configuring-Subscription-Analytics-settings",
                     "confirmed: Free Customer Handling default = Active"),
        "join_and_cancel": (_CM + "203299912-Chart-Data", "inferred: a churn movement is a "
                            "churned customer; no worked example for same-month joiners"),
        "churn_and_return": (_CM + "203299912-Chart-Data", "inferred, as join_and_cancel"),
        "quick_ratio_reactivation": ("", "not confirmed: taken from the issue's survey; no "
                                     "ChartMogul quick ratio page was found"),
        "net_churn_reactivation": (_CM + "4414075567250-Chart-Net-MRR-Churn-Rate",
                                   "confirmed, with the worked example (20% gross, 10% net)"),
        "ltv_method": (_CM + "203359061-Chart-Customer-Lifetime-Value-LTV",
                       "confirmed: ARPA ÷ six-month trailing average customer churn"),
        "ltv_exclude_current": (_CM + "203359061-Chart-Customer-Lifetime-Value-LTV",
                                "confirmed: the average excludes the current month"),
    },
    "baremetrics": {
        "timing": ("https://changelog.baremetrics.com/churn-update-4pqo9O",
                   "inferred: sign-ups cancelled inside the window are counted"),
        "join_and_cancel": ("https://changelog.baremetrics.com/churn-update-4pqo9O",
                            "confirmed: sign up and cancel within the same 30-day window"),
        "churn_and_return": (_BM + "5380347-user-and-revenue-churn",
                             "inferred: every customer cancelled in the window counts"),
        "churn_window_days": (_BM + "5380347-user-and-revenue-churn",
                              "confirmed: cancelled in the last 30 days ÷ active 30 days ago "
                              "(365 days for annual plans: churn_window_days=365)"),
        "quick_ratio_reactivation": ("https://changelog.baremetrics.com/new-quick-ratio-metric-4ohZDy",
                                     "confirmed: (new + expansion) ÷ (contraction + churn)"),
        "ltv_method": (_BM + "5380345-ltv-lifetime-value",
                       "confirmed: ARPU ÷ user churn rate"),
    },
    "profitwell": {
        "timing": (_PW + "measure/subscription-retention/are-cancellations-in-the-first-month-"
                   "counted-as-churn", "confirmed: new and churned in the same month are "
                   "ignored entirely (the kit's month-end rule)"),
        "ltv_method": ("https://learn.profitwell.com/article/xJx5sQX95w-life-time-value",
                       "approximation: ProfitWell smooths churn with an unpublished model"),
        "quick_ratio_reactivation": ("", "not published: kit default kept"),
        "zero_mrr": ("", "not published for free plans: kit default kept"),
    },
    "stripe": {
        "timing": ("https://learn.profitwell.com/article/gf9qqkyplu-profitwell-vs-stripe",
                   "confirmed: new and churned in the same month count in both"),
        "join_and_cancel": (_ST + "calculating-churn-rate-in-billing",
                            "confirmed: in both numerator and denominator"),
        "churn_and_return": (_ST + "calculating-churn-rate-in-billing",
                             "confirmed: a returning customer who ends again churns again"),
        "churn_denominator": (_ST + "calculating-churn-rate-in-billing",
                              "confirmed: active 30 days ago plus new in those 30 days"),
        "churn_window_days": (_ST + "calculating-churn-rate-in-billing",
                              "confirmed: churned subscribers in the past 30 days"),
        "zero_mrr": (_ST + "calculating-churn-rate-in-billing",
                     "confirmed: churn = from non-zero MRR to zero MRR"),
        "ltv_method": ("https://docs.stripe.com/billing/subscriptions/analytics/glossary",
                       "not confirmed: the pages found name LTV without its formula"),
        "cohort_retention": (_ST + "subscriber-cohorts-and-cohort-retention-in-billing",
                             "confirmed: share of the cohort that has not yet churned"),
        "quick_ratio_reactivation": ("", "not published: kit default kept"),
    },
}


def preset(definitions: str | None = None) -> Definitions:
    """The rules of a named preset; ``None`` = the :func:`using` block's, else ``"csm-kit"``.

    >>> preset("stripe").churn_denominator
    'start_plus_new'
    >>> preset("quickbooks")
    Traceback (most recent call last):
    ...
    csm_kit.errors.ConfigError: `definitions` must be one of ['csm-kit', 'chartmogul', 'baremetrics', 'profitwell', 'stripe'], got 'quickbooks'
    """
    if definitions is None:
        definitions = _ACTIVE.get()
    if isinstance(definitions, Definitions):
        return definitions
    if definitions not in PRESETS:
        raise ConfigError(f"`definitions` must be one of {list(PRESETS)}, got {definitions!r}")
    return PRESETS[definitions]


def resolve(definitions: str | Definitions | None = None, **rules) -> Definitions:
    """The rules a call runs with: explicit ``rules`` (not None) over the preset's.

    >>> resolve("chartmogul", timing="month_end").timing, resolve("chartmogul").timing
    ('month_end', 'events')
    >>> resolve(None, zero_mrr="active") == Definitions(zero_mrr="active")
    True
    """
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise ConfigError(f"unknown definition rule(s) {unknown}; rules are {list(RULES)}")
    chosen = {name: value for name, value in rules.items() if value is not None}
    return replace(preset(definitions), **chosen)


def ltv_method(default: str) -> str:
    """The LTV method the active preset (the :func:`using` block's) sets, else ``default``.

    >>> ltv_method("smoothed")
    'smoothed'
    """
    return preset(None).ltv_method or default


@contextmanager
def using(definitions: str) -> Iterator[Definitions]:
    """Run a block with ``definitions`` as the preset that ``definitions=None`` means.

    How ``csm-kit metrics --definitions X`` reaches every metric. The choice is a context
    variable of this process (threads started inside the block and other processes do not
    see it) and is restored when the block ends.

    >>> with using("stripe"):
    ...     preset(None).churn_denominator
    'start_plus_new'
    >>> preset(None).churn_denominator
    'start'
    """
    chosen = preset(definitions)
    token = _ACTIVE.set(definitions)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)
