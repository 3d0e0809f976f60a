"""Delivering the digest: atomic files and the webhook, against a local server."""

from __future__ import annotations

import pytest

from csm_kit.errors import ConfigError, ReportError
from csm_kit.report.delivery import check_webhook_url, post_webhook, write_text_atomically
from csm_kit.report.digest import monthly_digest
from tests.report.test_digest import hostile


def test_the_webhook_receives_one_slack_compatible_payload(hook):
    url, handler = hook
    digest = monthly_digest(hostile(), as_of="2024-03-31")
    post_webhook(url, digest.to_slack())
    assert len(handler.received) == 1
    content_type, payload = handler.received[0]
    assert content_type.startswith("application/json")
    assert payload["text"].startswith("Customer-success digest: March 2024")
    assert payload["blocks"][0]["type"] == "header"


def test_a_refused_webhook_is_a_report_error_that_hides_the_secret_path(hook):
    url, handler = hook
    handler.status = 500
    with pytest.raises(ReportError, match=r"HTTP 500") as caught:
        post_webhook(url, {"text": "x"})
    assert "secret" not in str(caught.value)
    with pytest.raises(ConfigError, match="must be an http"):
        post_webhook("file:///etc/passwd", {"text": "x"})


def test_a_file_is_replaced_whole_and_no_temporary_file_is_left(tmp_path):
    target = tmp_path / "digest.md"
    target.write_text("old")
    write_text_atomically("new\n", target)
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["digest.md"]
    with pytest.raises(ConfigError, match="does not exist"):
        write_text_atomically("x", tmp_path / "missing" / "digest.md")


def test_only_http_urls_are_webhooks_and_only_their_host_is_shown():
    assert check_webhook_url("https://hooks.example.com/T/B/secret") == "https://hooks.example.com"
    for url in ("ftp://example.com/x", "hooks.example.com/x", "file:///etc/passwd"):
        with pytest.raises(ConfigError, match="must be an http"):
            check_webhook_url(url)
