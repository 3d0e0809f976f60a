"""Untrusted text: what every piece of customer-supplied text goes through before it is shown.

Names, segments, comments and labels come from customers' exports. Reports (HTML), charts and
spreadsheet exports each escape text for their own format; before that, :func:`clean_text`
removes what no reader can see but a terminal, a browser or a spreadsheet would still act on.
:func:`terminal_text` is the terminal's own escaping: findings and error messages quote data
values (ids, names), and an id holding ``ESC ]0;…`` must not retitle the terminal.

Invisible characters are chosen by Unicode category, not listed by hand, so a character added
to a category in a later Unicode version is removed too:

====  =====================================================================================
Cc    control characters (NUL, ESC, C1 controls) — tab, line feed and carriage return stay
Cf    format characters: zero-width space and joiners, bidirectional controls (U+202A–E,
      U+2066–9, U+061C), invisible operators U+2061–2064, the soft hyphen U+00AD, word
      joiner U+2060, BOM U+FEFF and the tag characters U+E0000–E007F
Co    private use (no agreed glyph; fonts draw their own icons there)
Cs    lone surrogates (cannot be written as UTF-8)
Cn    unassigned code points
====  =====================================================================================

A consequence: two names that differ only by invisible characters ("Ana Silva" and
"Ana\\u2063 Silva") are the same text once cleaned, so tables that group cleaned values show
them as one row — which is what a reader sees anyway.
"""

from __future__ import annotations

import unicodedata

#: Text longer than this is cut with an ellipsis in tables.
MAX_CELL_CHARS = 200

#: Unicode general categories whose characters :func:`clean_text` removes.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})

#: Control characters that are layout, not instructions: kept by :func:`clean_text`.
LAYOUT_CONTROLS = frozenset({"\t", "\n", "\r"})


class _InvisibleTable(dict):
    """A ``str.translate`` table that decides each character once, on first sight, from its
    Unicode category (deleted: None; kept: the code point itself)."""

    def __init__(self, keep: frozenset[str]):
        super().__init__()
        self._keep = keep

    def __missing__(self, code: int):
        char = chr(code)
        hidden = char not in self._keep and unicodedata.category(char) in INVISIBLE_CATEGORIES
        self[code] = None if hidden else code
        return self[code]


#: The ``str.translate`` table of :func:`clean_text` (tab and line breaks kept).
INVISIBLE = _InvisibleTable(LAYOUT_CONTROLS)


def strip_invisible(text: str) -> str:
    """Remove the invisible characters (the categories above) from ``text``; nothing else changes.

    >>> strip_invisible("Ana\\u2063 Sil\\u00adva\\U000e0041\\u061c")
    'Ana Silva'
    """
    return text.translate(INVISIBLE)


def clean_text(value, *, max_len: int = MAX_CELL_CHARS) -> str:
    """Make one piece of untrusted text safe to show: no control or invisible characters, cut to ``max_len``.

    Removes every character of the categories Cc (but tab and line breaks), Cf, Co, Cs and Cn
    (see the module docstring: NUL, ESC, bidirectional overrides, zero-width characters,
    U+2061–2064, the soft hyphen, tag characters, private use, lone surrogates, unassigned
    code points); text longer than ``max_len`` ends with "…". Escaping for HTML happens
    separately.

    >>> clean_text("Acme\\u202eCorp\\x00")
    'AcmeCorp'
    >>> clean_text("Ana\\u00ad Silva") == clean_text("Ana\\u2063 Silva") == "Ana Silva"
    True
    >>> clean_text("x" * 10, max_len=5)
    'xxxx…'
    """
    text = strip_invisible(str(value))
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


class _TerminalTable(dict):
    """A ``str.translate`` table writing control and invisible characters as visible escapes:
    ESC becomes the four characters ``\\x1b``, U+202E ``\\u202e``."""

    def __missing__(self, code: int):
        char = chr(code)
        if char == "\n" or unicodedata.category(char) not in INVISIBLE_CATEGORIES:
            self[code] = code
        elif code <= 0xFF:
            self[code] = f"\\x{code:02x}"
        elif code <= 0xFFFF:
            self[code] = f"\\u{code:04x}"
        else:
            self[code] = f"\\U{code:08x}"
        return self[code]


_TERMINAL = _TerminalTable()


def terminal_text(value, *, markup: bool = True) -> str:
    r"""Make untrusted text safe to print on a terminal: every control character shown, none obeyed.

    Control and invisible characters (the categories of :func:`clean_text`, tab and carriage
    return included; line feeds stay) are written as visible escapes — ESC as ``\x1b``, so an
    id like ``"C-1\x1b]0;owned\x07"`` cannot retitle the terminal, clear the screen or erase
    the line holding an error. With ``markup`` (for ``console.print`` of a plain string),
    rich markup is escaped too, so ``[red]`` in a name is printed as written; pass
    ``markup=False`` when the text goes into a ``rich.text.Text``, which never reads markup.

    >>> terminal_text("C-1\x1b]0;owned\x07 [bold]x[/bold]")
    'C-1\\x1b]0;owned\\x07 \\[bold]x\\[/bold]'
    >>> terminal_text("tab\there\u202e", markup=False)
    'tab\\x09here\\u202e'
    """
    text = str(value).translate(_TERMINAL)
    if markup:
        from rich.markup import escape

        text = escape(text)
    return text


#: Columns whose values name a group (who, which segment, which plan…): :func:`clean_labels`
#: cleans them when data is loaded, so names that differ only by invisible characters group
#: as one. Ids are left alone (they must match across tables as written) and so is free text.
LABEL_COLUMNS = ("segment", "plan", "region", "industry", "csm", "agent", "channel", "priority",
                 "name", "label")


def clean_labels(frame, columns=LABEL_COLUMNS):
    """Return ``frame`` with the invisible characters removed from its label ``columns``.

    Each distinct value is cleaned once (a ticket table of millions of rows has a few dozen
    agents); the input is never modified, and returned as it is when nothing changes.

    >>> import pandas as pd
    >>> csm = pd.DataFrame({"customer_id": ["a\\u200b", "b"], "csm": ["Ana Silva", "Ana\\u2063 Silva"]})
    >>> out = clean_labels(csm)
    >>> out["csm"].nunique(), out["customer_id"].tolist()
    (1, ['a\\u200b', 'b'])
    """
    if frame is None:
        return frame
    changes = {}
    for column in (c for c in columns if c in frame.columns):
        values = frame[column]
        if not (values.dtype == object or str(values.dtype).startswith(("string", "str"))):
            continue
        fixed = {v: strip_invisible(v) for v in values.dropna().unique() if isinstance(v, str)}
        fixed = {v: clean for v, clean in fixed.items() if clean != v}
        if fixed:
            changes[column] = values.map(lambda v, fixed=fixed: fixed.get(v, v)
                                         if isinstance(v, str) else v).astype(values.dtype)
    return frame.assign(**changes) if changes else frame
