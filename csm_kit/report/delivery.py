"""Delivering what the kit writes outside a report folder: a file, or a chat webhook.

:func:`write_text_atomically` writes through a temporary file and a rename, so a reader (or
a failed run) never sees half a file. :func:`post_webhook` POSTs JSON to a Slack-compatible
incoming webhook; its errors name the host only, since a webhook URL carries its secret in
the path.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from csm_kit.errors import ConfigError, ReportError
from csm_kit.report.paths import replaced_atomically


def write_text_atomically(text: str, path) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename:
    a reader (or a failed run) never sees half a file
    (:func:`csm_kit.report.paths.replaced_atomically`)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise ConfigError(f"cannot write {target}: the folder {target.parent} does not exist")
    with replaced_atomically(target) as temporary:
        temporary.write_text(text, encoding="utf-8", newline="")


def check_webhook_url(url: str) -> str:
    """Refuse anything but an http(s) URL; return its scheme and host (safe to show).

    >>> check_webhook_url("https://hooks.example.com/services/T0/B0/secret")
    'https://hooks.example.com'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--webhook must be an http(s) URL, got a {parts.scheme or 'bare'} "
                          "address")
    return f"{parts.scheme}://{parts.hostname}"


def post_webhook(url: str, payload: dict, *, timeout: float = 10.0) -> None:
    """POST ``payload`` as JSON to a Slack-compatible incoming webhook.

    Raises
    ------
    ConfigError
        When the URL is not http(s).
    ReportError
        When the server cannot be reached or answers with an error; the message names the
        host only (webhook URLs carry their secret in the path).
    """
    where = check_webhook_url(url)
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        raise ReportError(f"the webhook at {where} answered HTTP {exc.code}; the digest was "
                          "not delivered") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReportError(f"could not reach the webhook at {where} ({reason}); the digest "
                          "was not delivered") from None
