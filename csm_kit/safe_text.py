"""Untrusted text: what every piece of customer-supplied text goes through before it is shown.

Names, segments, comments and labels come from customers' exports. Reports (HTML), charts and
spreadsheet exports each escape text for their own format; before that, :func:`clean_text`
removes what no reader can see but a terminal, a browser or a spreadsheet would still act on.
"""

from __future__ import annotations

#: Text longer than this is cut with an ellipsis in tables.
MAX_CELL_CHARS = 200


def clean_text(value, *, max_len: int = MAX_CELL_CHARS) -> str:
    """Make one piece of untrusted text safe to show: no control or invisible characters, cut to ``max_len``.

    Removes NUL and other C0/C1 control characters (tab and newlines stay), lone
    surrogates (which cannot be written as UTF-8), bidirectional overrides (U+202A–U+202E,
    U+2066–U+2069) and zero-width characters (U+200B–U+200F, U+2060, U+FEFF); text longer
    than ``max_len`` ends with "…". Escaping for HTML happens separately.

    >>> clean_text("Acme\\u202eCorp\\x00")
    'AcmeCorp'
    >>> clean_text("x" * 10, max_len=5)
    'xxxx…'
    """
    text = str(value)
    text = text.translate(INVISIBLE)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


#: Characters :func:`clean_text` removes (C0/C1 controls but tab and newlines, bidi controls,
#: zero-width characters, lone surrogates), as a ``str.translate`` table.
INVISIBLE = {c: None for c in [*range(0, 9), 11, 12, *range(14, 32), *range(127, 160),
                                 *range(0x200B, 0x2010), *range(0x202A, 0x202F),
                                 *range(0x2066, 0x206A), 0x2060, 0xFEFF,
                                 *range(0xD800, 0xE000)]}  # lone surrogates cannot be encoded
