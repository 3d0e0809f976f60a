"""Privacy: keep secrets out of everything the kit writes.

Database URLs may carry a password; error messages, manifests, executed notebooks and
report pages all pass through :func:`mask_secrets` before they are written or shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):[^\s/]+@")
_SECRET_KEY = re.compile(r"passw(or)?d|secret|token|api_?key|credential", re.IGNORECASE)


def mask_secrets(value: Any) -> Any:
    """Hide passwords in connection URLs (and values of password-like keys).

    Strings have ``scheme://user:password@`` rewritten to ``scheme://user:***@``; dicts,
    lists and tuples are masked recursively, and a dict value whose key looks like a secret
    (password, secret, token, api_key, credential) becomes "***". Anything else is returned
    unchanged; the input is never modified.

    Parameters
    ----------
    value : str, dict, list, tuple or any
        A parameter value, a parameters dict or a text such as an error message.

    Returns
    -------
    Same type as ``value``, with secrets replaced by "***".

    Examples
    --------
    >>> mask_secrets("postgresql://ana:s3cret@db.example.com:5432/cs")
    'postgresql://ana:***@db.example.com:5432/cs'
    >>> mask_secrets({"data": "mysql+pymysql://u:p@ss@host/db", "api_token": "abc", "months": 12})
    {'data': 'mysql+pymysql://u:***@host/db', 'api_token': '***', 'months': 12}
    >>> mask_secrets("https://example.com:8080/report and sqlite:///data/cs.db")
    'https://example.com:8080/report and sqlite:///data/cs.db'
    """
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\g<head>:***@", value)
    if isinstance(value, Mapping):
        return {
            key: "***"
            if isinstance(key, str) and _SECRET_KEY.search(key) and value[key] not in (None, "")
            else mask_secrets(value[key])
            for key in value
        }
    if isinstance(value, list | tuple):
        return type(value)(mask_secrets(item) for item in value)
    return value


# --------------------------------------------------------------------------- report privacy

#: ``--privacy`` modes: "off" shows the data as it is; "pseudonymised" replaces customer
#: names and respondents with keyed hashes and redacts contact details in comments;
#: "aggregate" leaves out customer-level tables and hides groups smaller than k.
PRIVACY_MODES = ("off", "pseudonymised", "aggregate")

#: The environment variable holding the HMAC key for "pseudonymised".
PRIVACY_KEY_ENV = "CSM_KIT_PRIVACY_KEY"

# bounded repetitions: a 1 MB comment without "@" must not take quadratic time
_EMAIL = re.compile(r"[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8}")
_PHONE = re.compile(r"(?<![\w])\+?\d[\d ()./\-]{6,18}\d(?![\w])")


def check_privacy(mode: str, min_group_size: int = 5) -> None:
    """Raise ConfigError for an unknown privacy mode or a group size below 1."""
    from csm_kit.errors import ConfigError

    if mode not in PRIVACY_MODES:
        raise ConfigError(f"`privacy` must be one of {list(PRIVACY_MODES)}, got {mode!r}")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 1:
        raise ConfigError(f"`min_group_size` must be a whole number >= 1, got {min_group_size!r}")


def privacy_key(environ: Mapping[str, str] | None = None) -> bytes:
    """The pseudonymisation key from ``CSM_KIT_PRIVACY_KEY`` (ConfigError when unset or short)."""
    import os

    from csm_kit.errors import ConfigError

    key = (os.environ if environ is None else environ).get(PRIVACY_KEY_ENV, "")
    if len(key) < 8:
        raise ConfigError(
            f"--privacy pseudonymised needs a secret key of at least 8 characters in the "
            f"environment variable {PRIVACY_KEY_ENV}, e.g. export {PRIVACY_KEY_ENV}=$(openssl rand -hex 16)"
        )
    return key.encode("utf-8")


def pseudonyms(values, *, key: bytes, prefix: str):
    """Replace each value by ``<prefix>-<12 hex>``, an HMAC-SHA256 of it under ``key``.

    The same value gives the same pseudonym under the same key (joins and groups survive);
    without the key a pseudonym cannot be turned back or recomputed. Missing values stay
    missing.

    >>> import pandas as pd
    >>> out = pseudonyms(pd.Series(["Acme", "Acme", None]), key=b"k" * 16, prefix="customer")
    >>> out[0] == out[1], out[0].startswith("customer-"), len(out[0]), bool(out.isna()[2])
    (True, True, 21, True)
    """
    import hashlib
    import hmac

    import pandas as pd

    distinct = pd.unique(values.dropna())
    codes = {v: f"{prefix}-" + hmac.new(key, str(v).encode("utf-8", "surrogatepass"),
                                        hashlib.sha256).hexdigest()[:12] for v in distinct}
    return values.map(codes).astype("str")


def redact_contacts(values):
    """Replace e-mail addresses with "[e-mail]" and phone numbers with "[phone]" in texts.

    >>> import pandas as pd
    >>> redact_contacts(pd.Series(["Call +44 20 7946 0958 or mail ana@acme.io", None])).tolist()
    ['Call [phone] or mail [e-mail]', nan]
    """
    text = values.astype("str")
    text = text.str.replace(_EMAIL, "[e-mail]", regex=True)
    return text.str.replace(_PHONE, "[phone]", regex=True).where(values.notna())


def pseudonymise_dataset(dataset, *, key: bytes):
    """Return a copy of ``dataset`` fit for "pseudonymised" reports and exports.

    customers.name becomes ``customer-<hash>``; surveys.respondent ``person-<hash>``;
    surveys.comment keeps its words but loses e-mail addresses and phone numbers. Ids,
    segments, CSM and agent names (the team's own) are kept, so every figure is unchanged.
    """
    from dataclasses import replace

    customers = dataset.customers.copy()
    if "name" in customers.columns:
        customers["name"] = pseudonyms(customers["name"], key=key, prefix="customer")
    changes = {"customers": customers}
    if dataset.surveys is not None:
        surveys = dataset.surveys.copy()
        if "respondent" in surveys.columns:
            surveys["respondent"] = pseudonyms(surveys["respondent"], key=key, prefix="person")
        if "comment" in surveys.columns:
            surveys["comment"] = redact_contacts(surveys["comment"]).astype("str")
        changes["surveys"] = surveys
    return replace(dataset, **changes)


def small_groups_hidden(frame, *, min_size: int, n: str | None = None, by: str | None = None):
    """Drop the groups of ``frame`` with fewer than ``min_size`` members (aggregate privacy).

    The one rule every per-group chart and table of an "aggregate" report goes through, so a
    segment, book or band of one customer never shows with its figures.

    Parameters
    ----------
    frame : DataFrame
        A per-group table or chart input.
    min_size : int
        The smallest group shown (``--min-group-size``).
    n : str, optional
        The column counting a row's members (customers, accounts, answers). Without ``by``
        each row is its own group: rows whose ``n`` is below ``min_size`` (or missing) go.
    by : str, optional
        The group column. With ``n``, a group's size is its largest ``n`` (a survival curve's
        customers at the start, a per-month table's biggest month) and the whole group goes
        when that is below ``min_size``; without ``n``, a group's size is its number of rows
        (a table with one row per customer, such as health scores). None with no ``n`` is a
        table without groups: returned whole.

    Returns
    -------
    DataFrame : the rows of the groups kept, in their order; never modifies ``frame``.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"customer_id": list("abcdef"),
    ...                        "segment": ["SMB"] * 5 + ["Solo"], "band": ["red"] * 6})
    >>> small_groups_hidden(scores, by="segment", min_size=5)["segment"].unique().tolist()
    ['SMB']
    >>> curve = pd.DataFrame({"segment": ["SMB", "SMB", "Solo"], "at_risk": [9, 3, 1]})
    >>> small_groups_hidden(curve, by="segment", n="at_risk", min_size=5)["at_risk"].tolist()
    [9, 3]
    """
    if by is None and n is None:
        return frame
    if by is None:
        return frame.loc[~(frame[n].fillna(0) < min_size)]
    groups = frame.groupby(by, dropna=False, observed=True, sort=False)
    size = groups[n].transform("max").fillna(0) if n is not None else groups.transform("size")
    return frame.loc[~(size < min_size)]


def suppress_small_groups(frame, *, n: str, k: int = 5):
    """Drop the rows (groups) of ``frame`` whose count column ``n`` is below ``k``
    (:func:`small_groups_hidden` with ``n`` only).

    >>> import pandas as pd
    >>> suppress_small_groups(pd.DataFrame({"csm": ["Ana", "Ben"], "n": [3, 12]}), n="n")["csm"].tolist()
    ['Ben']
    """
    return small_groups_hidden(frame, n=n, min_size=k)
