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
