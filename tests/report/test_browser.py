"""The hostile reports in a real browser: headless Chromium, file:// pages, networking off.

Driven through the DevTools protocol (websocket-client, already a Jupyter dependency): every
page must load without console errors or exceptions, request nothing beyond the file system
(data: images are inline), and show its charts decoded with a non-zero size.

A full-page screenshot of the index and of every report is kept as a test artefact in
``reports/screenshots/`` (git-ignored; replaced on each run), so a reviewer can see the pages.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import require, which
from tests.hostile import RUNS, shared_reports

CHROMIUM = which("chromium", "chromium-browser", "google-chrome")
pytestmark = pytest.mark.slow
#: Where the full-page screenshots are kept (git-ignored, like every generated report).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"
#: Chromium cannot capture taller pages in one piece; longer pages are cut here.
MAX_SHOT_HEIGHT = 16_000
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
         "--remote-debugging-port=0", "--window-size=1280,1600"]


class DevTools:
    """A minimal DevTools client for one page target."""

    def __init__(self, ws_url: str):
        import websocket

        self.url = ws_url
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 20) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(e.get("method") == event for e in self.events):
                return
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(event)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    # Skipped on a machine without it; a failure under CI (.ci/run installs Debian's chromium).
    require("Chromium", CHROMIUM, install="apt-get install chromium")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    for _ in range(300):
        if port_file.exists() and len(port_file.read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("Chromium did not open its DevTools port within 30 s")
    port, path = port_file.read_text().splitlines()[:2]
    client = DevTools(f"ws://127.0.0.1:{port}{path}")
    try:
        yield client
    finally:
        client.ws.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def open_page(browser: DevTools, url: str) -> DevTools:
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    # a separate connection to the page target is simpler than multiplexing sessions
    port_path = browser.url.split("/devtools/")[0]
    page = DevTools(f"{port_path}/devtools/page/{target}")
    for domain in ("Page", "Runtime", "Log", "Network"):
        page.call(f"{domain}.enable")
    page.call("Page.navigate", url=url)
    page.wait_for("Page.loadEventFired")
    page.target = target
    return page


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory):
    run = shared_reports(tmp_path_factory, RUNS)["full"]
    assert run["folder"], run["output"]
    return Path(run["folder"])


def full_page_png(page: DevTools) -> bytes:
    """A screenshot of the whole page, not only the window (cut at MAX_SHOT_HEIGHT)."""
    size = page.call("Page.getLayoutMetrics")["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"],
            "height": min(size["height"], MAX_SHOT_HEIGHT), "scale": 1}
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                     clip=clip)["data"]
    return base64.b64decode(shot)


def test_every_page_opens_offline_without_errors_and_with_visible_charts(browser, report_folder):
    pages = [report_folder / "index.html", *sorted(p for p in report_folder.glob("*.html")
                                                   if p.name != "index.html")]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path in pages:
        page = open_page(browser, path.as_uri())
        try:
            images = page.call("Runtime.evaluate", returnByValue=True, awaitPromise=True, expression=(
                "Promise.all(Array.from(document.images).map(i => i.decode().then("
                "() => [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width], "
                "() => [0, 0, 0])))"))["result"]["value"]
            (SCREENSHOTS / f"{path.stem}.png").write_bytes(full_page_png(page))
            page.call("Runtime.evaluate", expression="1")  # flush pending events
            events = page.events
        finally:
            page.ws.close()
            browser.call("Target.closeTarget", targetId=page.target)
        errors = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"
                  or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
                  or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        assert errors == [], (path.name, errors)
        requests = [e["params"]["request"]["url"] for e in events
                    if e.get("method") == "Network.requestWillBeSent"]
        outside = [u for u in requests if not u.startswith(("file://", "data:", "about:"))]
        assert outside == [], (path.name, outside)
        if path.name != "index.html":
            assert images, f"{path.name}: no chart"
            assert all(w > 0 and h > 0 and shown > 0 for w, h, shown in images), (path.name, images)
    shots = {p.stem: p.stat().st_size for p in SCREENSHOTS.glob("*.png")}
    print(f"full-page screenshots: {SCREENSHOTS}")
    assert all(shots.get(p.stem, 0) > 5_000 for p in pages), shots
