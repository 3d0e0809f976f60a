"""How numbers read on a page or a chart: money with its currency and K/M, shares as %, p-values.

One set of rules for the index, the report tables and the chart axes, so "$5.8M" on a card is
"$5.8M" on the axis beside it. Currency symbols and compact forms come from Babel (the CLDR
data behind most locale-aware software), in English: ``USD`` → "$", ``EUR`` → "€",
``CAD`` → "CA$", a code without a symbol stays a code ("CHF"). Without a currency, amounts are
shown without a sign. Exports never go through here: they keep full precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
from babel.numbers import (
    format_compact_currency,
    format_compact_decimal,
    get_currency_symbol,
)

from csm_kit.errors import ConfigError

LOCALE = "en"
#: Units a KPI's value can be in (see :class:`csm_kit.kpis.Kpi`).
UNITS = ("share", "money", "ratio", "points", "score", "count", "hours")
MINUS = "−"  # U+2212, the typographic minus: "−0.4 pp" lines up with "+0.4 pp"


def currency_symbol(currency: str | None) -> str:
    """The sign written before amounts in ``currency`` (an ISO 4217 code); "" for None.

    >>> currency_symbol("USD"), currency_symbol("EUR"), currency_symbol("CHF"), currency_symbol(None)
    ('$', '€', 'CHF', '')
    """
    if currency is None:
        return ""
    return get_currency_symbol(_code(currency), locale=LOCALE)


def format_money(value: float, currency: str | None = None, *, compact: bool = True) -> str:
    """Write an amount with its currency sign: compact with K/M from 10,000, else whole units.

    Parameters
    ----------
    value : the amount (NaN gives "–").
    currency : ISO 4217 code of the reporting currency; None = no sign.
    compact : False writes every digit ("$5,798,178").

    Examples
    --------
    >>> format_money(5_798_178, "USD"), format_money(48_412, "EUR"), format_money(4_868.3, "USD")
    ('$5.8M', '€48.4K', '$4,868')
    >>> format_money(-1_250_000), format_money(5_798_178, "USD", compact=False)
    ('−1.25M', '$5,798,178')
    """
    if _missing(value):
        return "–"
    value = float(value)
    sign = MINUS if value < 0 else ""
    size = abs(value)
    if not compact or size < 10_000:
        symbol = currency_symbol(currency)
        return f"{sign}{symbol}{size:,.0f}"
    return sign + _compact(size, currency, _fraction_digits(size))


def format_axis_money(value: float, currency: str | None = None) -> str:
    """A money tick label: compact from 1,000 ("$250K", "$1.5M", "$800"), never "1e6".

    >>> [format_axis_money(v, "USD") for v in (0, 800, 250_000, 1_500_000, -2_000)]
    ['$0', '$800', '$250K', '$1.5M', '−$2K']
    """
    if _missing(value):
        return ""
    value = float(value)
    sign = MINUS if value < 0 else ""
    size = abs(value)
    if size < 1_000:
        return f"{sign}{currency_symbol(currency)}{size:,.0f}"
    return sign + _compact(size, currency, 2)


def format_share(value: float, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.0312 → "3.1%".

    >>> format_share(0.0312), format_share(1.0627, 0), format_share(float("nan"))
    ('3.1%', '106%', '–')
    """
    if _missing(value):
        return "–"
    text = f"{float(value) * 100:,.{decimals}f}%"
    return text.replace("-", MINUS)


def format_value(value: float, unit: str, *, currency: str | None = None) -> str:
    """Format a number in a metric's unit, money with the reporting currency and K/M.

    >>> format_value(0.0312, "share"), format_value(123456.7, "money", currency="USD")
    ('3.1%', '$123K')
    >>> format_value(31.6, "points"), format_value(20.92, "hours"), format_value(1191, "count")
    ('32', '20.9 h', '1,191')
    """
    if pd.isna(value):
        return "–"
    if unit == "share":
        return format_share(value)
    if unit == "money":
        return format_money(value, currency)
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "points":
        return f"{value:.0f}".replace("-", MINUS)
    if unit == "hours":
        return f"{value:,.1f} h"
    return f"{value:,.2f}".replace("-", MINUS)


def format_change(change: float, unit: str, *, currency: str | None = None,
                  before: float | None = None) -> str:
    """Format a change between two periods in a metric's unit, always signed.

    Shares change in percentage points; money also as a percentage of the value before.

    >>> format_change(0.0068, "share"), format_change(-3, "points")
    ('+0.7 pp', '−3')
    >>> format_change(48_374, "money", currency="USD", before=5_749_804)
    '+$48.4K (+0.8%)'
    """
    if pd.isna(change):
        return "–"
    sign = "+" if change >= 0 else MINUS
    size = abs(change)
    if unit == "share":
        return f"{sign}{size * 100:.1f} pp"
    if unit == "money":
        text = sign + format_money(size, currency)
        if before is not None and pd.notna(before) and before != 0:
            text += f" ({sign}{size / abs(before):.1%})"
        return text
    return sign + format_value(size, unit, currency=currency)


def format_p_value(p: float) -> str:
    """A p-value as a reader expects it: "p < 0.001" below 0.001, else two significant digits.

    >>> format_p_value(2.3e-9), format_p_value(0.0432), format_p_value(0.5)
    ('p < 0.001', 'p = 0.043', 'p = 0.5')
    """
    if _missing(p):
        return "p not available"
    if not 0 <= float(p) <= 1:
        raise ConfigError(f"a p-value must lie between 0 and 1, got {p!r}")
    if p < 0.001:
        return "p < 0.001"
    return f"p = {float(p):.2g}"


def reporting_currency(frames: Iterable[pd.DataFrame | None]) -> str | None:
    """The one currency named in the ``currency`` column of ``frames``, or None.

    None when no frame has a ``currency`` column with a value, or when they name several
    currencies (the data-quality checks report mixed currencies; amounts are then shown
    without a sign rather than with a wrong one).

    >>> subs = pd.DataFrame({"currency": ["usd", "USD", None]})
    >>> reporting_currency([subs, None]), reporting_currency([subs.assign(currency=["USD", "EUR", None])])
    ('USD', None)
    """
    codes: set[str] = set()
    for frame in frames:
        if frame is not None and "currency" in frame.columns:
            codes |= {str(c).strip().upper() for c in frame["currency"].dropna().unique()}
    codes.discard("")
    return codes.pop() if len(codes) == 1 else None


def _compact(size: float, currency: str | None, digits: int) -> str:
    """Babel's compact form ("5.8M", "$48.4K") with at most ``digits`` decimals."""
    if currency is None:
        return format_compact_decimal(size, locale=LOCALE, fraction_digits=digits)
    return format_compact_currency(size, _code(currency), locale=LOCALE, fraction_digits=digits)


def _fraction_digits(size: float) -> int:
    """Decimals that leave three significant digits in the compact form (5.80M, 48.4K, 123K)."""
    scaled = size / 1000 ** max(0, min(4, int(math.log10(size)) // 3))
    return max(0, 2 - int(math.floor(math.log10(scaled))))


def _code(currency: str) -> str:
    code = str(currency).strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ConfigError(f"a currency must be a three-letter ISO 4217 code such as USD or EUR, "
                          f"got {currency!r}")
    return code


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value)) or math.isinf(float(value))
    except (TypeError, ValueError):
        return True
