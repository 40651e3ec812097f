"""Headless Chromium for map-page tests, driven over the DevTools protocol (websocket-client).

Chromium runs with no network: every host name but 127.0.0.1 fails to resolve, so a page that still
asks a CDN for something shows it as a failed request. A pytest plugin (tests/conftest.py loads it) with
the fixtures ``browser``, ``live_server`` (the sample-city app on a free port) and ``open_page``::

    def test_my_map(open_page):
        page = open_page("/maps/mine")          # waits for load and for GeoApp.pending == 0
        assert page.errors == []                # JS exceptions, console errors, failed requests
        assert page.count(".leaflet-overlay-pane path") >= 43
        page.screenshot(tmp_path / "mine.png")

    phone = open_page("/maps/mine", window=(400, 800))   # a phone-sized window
    phone.click("button", text="Rincian & filter")      # a real mouse click at the element's centre
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websocket
from werkzeug.serving import make_server

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1400, 900)
PHONE_WIDTH = 480
"""Windows this narrow are emulated as a phone (touch-sized, the page's viewport meta honoured)."""
PHONE = (400, 800)
SLOW_LINK = {"latency": 150, "downloadThroughput": 2_000_000 / 8, "uploadThroughput": 1_000_000 / 8}
"""A 2 Mbit/s link (1 Mbit/s up) with 150 ms round trips, as Chromium's network throttling takes it
(latency in ms, throughput in bytes per second)."""
# Wait for the page's own fetches (maps.js counts them in GeoApp.pending) and the document to be ready.
READY_EXPRESSION = "document.readyState === 'complete' && (!window.GeoApp || window.GeoApp.pending === 0)"


def chromium_path() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class LiveServer:
    """The Flask app on a free loopback port in a background thread (stopped by ``close``)."""

    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@dataclass
class Page:
    """One opened page: what went wrong while loading it, and ways to look at it."""

    url: str
    _socket: websocket.WebSocket
    errors: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    _next_id: int = 0

    def _call(self, method: str, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message_id = self._next_id
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._receive(deadline - time.monotonic())
            if message is not None and message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise TimeoutError(f"{method} got no answer in {timeout} s")

    def _receive(self, timeout: float) -> dict | None:
        self._socket.settimeout(max(timeout, 0.01))
        try:
            message = json.loads(self._socket.recv())
        except websocket.WebSocketTimeoutException:
            return None
        self._record(message)
        return message

    def _record(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            thrown = details.get("exception", {})
            what = thrown.get("description") or thrown.get("value") or details.get("text")
            where = f"{details.get('url', '')}:{details.get('lineNumber', 0) + 1}"
            self.errors.append(f"exception: {what} at {where}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])
            )
            self.errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry['text']} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            self.requested.append(params["request"]["url"])
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            self.errors.append(f"request failed: {params.get('errorText')} ({params.get('type')})")

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())

    def evaluate(self, expression: str):
        result = self._call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30) -> None:
        """Wait until a JavaScript expression is true on the page (e.g. a fetch started by a click ends)."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression} still false after {timeout} s")
            self._drain(0.1)

    def count(self, selector: str) -> int:
        return self.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length")

    def external_requests(self) -> list[str]:
        """Requests that left the machine's loopback (they fail here; on a closed network too)."""
        return [
            url
            for url in self.requested
            if url.startswith(("http:", "https:"))
            and not url.startswith(("http://127.0.0.1", "http://localhost"))
        ]

    def click(
        self, selector: str, text: str | None = None, timeout: float = 30, navigates: bool = False
    ) -> None:
        """Click the first visible element matching ``selector`` (and containing ``text``) with the mouse,
        as a reader would: scrolled into view, pressed at its centre. Fails when another element covers
        that point. Then waits for the page's fetches to end; ``navigates``: for the next page to load
        (a submit button or a link)."""
        found = self.evaluate(
            f"""(() => {{
            const text = {json.dumps(text)};
            const element = Array.from(document.querySelectorAll({json.dumps(selector)})).find(item =>
                item.getClientRects().length && (text === null || item.textContent.includes(text)));
            if (!element) return null;
            element.scrollIntoView({{block: "nearest", inline: "nearest"}});
            const box = element.getBoundingClientRect();
            const x = box.left + box.width / 2, y = box.top + box.height / 2;
            const top = document.elementFromPoint(x, y);
            const covered = !(top && (top === element || element.contains(top) || top.contains(element)));
            return {{x, y, covered: covered ? (top ? top.outerHTML.slice(0, 120) : "nothing") : null}};
            }})()"""
        )
        if found is None:
            raise AssertionError(f"nothing visible to click: {selector} {text or ''}".strip())
        if found["covered"]:
            raise AssertionError(f"{selector} {text or ''} is covered by {found['covered']}")
        if not navigates:
            self.click_at(found["x"], found["y"], timeout)
            return
        before = self.evaluate("performance.timeOrigin")
        self._mouse_click(found["x"], found["y"])
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(RuntimeError):  # the old page's context goes while the new one loads
                if self.evaluate(f"performance.timeOrigin !== {before} && ({READY_EXPRESSION})"):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no new page loaded in {timeout} s after clicking {selector}")
            self._drain(0.1)
        self.url = self.evaluate("location.href")
        self._drain(0.5)

    def click_at(self, x: float, y: float, timeout: float = 30) -> None:
        """A left mouse click at a point of the window (CSS pixels); then waits for the page's fetches."""
        self._mouse_click(x, y)
        self._drain(0.2)
        self.wait_until(READY_EXPRESSION, timeout)

    def _mouse_click(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self._call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def text(self, selector: str) -> str:
        """The visible text of the first element matching ``selector`` ("" when there is none)."""
        return self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''")

    def download(self, selector: str) -> tuple[str, str]:
        """Click the download button ``selector`` and return the file name and the text it saves, caught
        before the browser writes it to disk (the text keeps a byte order mark, if any)."""
        saved = self.evaluate(
            f"""new Promise(resolve => {{
            const createUrl = URL.createObjectURL, click = HTMLAnchorElement.prototype.click;
            let bytes = null;
            URL.createObjectURL = blob => {{
                URL.createObjectURL = createUrl;
                bytes = blob.arrayBuffer();
                return createUrl.call(URL, blob);
            }};
            HTMLAnchorElement.prototype.click = function () {{
                HTMLAnchorElement.prototype.click = click;
                const name = this.download;
                bytes.then(buffer => resolve({{name, bytes: Array.from(new Uint8Array(buffer))}}));
            }};
            document.querySelector({json.dumps(selector)}).click();
            }})"""
        )
        return saved["name"], bytes(saved["bytes"]).decode("utf-8")

    def screenshot(self, path: str | Path) -> Path:
        data = self._call("Page.captureScreenshot", format="png")["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def load(
        self,
        timeout: float,
        headers: dict[str, str] | None = None,
        window: tuple[int, int] = WINDOW,
        network: dict | None = None,
    ) -> None:
        for domain in ("Runtime", "Log", "Network", "Page"):
            self._call(f"{domain}.enable")
        if headers:  # e.g. Authorization: sent with the page and every request it makes
            self._call("Network.setExtraHTTPHeaders", headers=headers)
        if network:  # a slow link (see SLOW_LINK), with the cache off so every file travels over it
            self._call("Network.setCacheDisabled", cacheDisabled=True)
            self._call("Network.emulateNetworkConditions", offline=False, **network)
        width, height = window
        self._call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width <= PHONE_WIDTH,
        )
        self.navigate(self.url, timeout)

    def navigate(self, url: str, timeout: float = 30) -> None:
        """Open ``url`` in this tab (same window and headers) and wait until it has loaded."""
        self.url = url
        self._call("Page.navigate", url=url)
        self.wait_loaded(timeout)

    def wait_loaded(self, timeout: float = 30) -> None:
        """Wait for the document and the page's fetches (after a navigation or a submitted form)."""
        self._drain(0.3)
        try:
            self.wait_until(READY_EXPRESSION, timeout)
        except TimeoutError:
            raise TimeoutError(f"{self.url} did not finish loading in {timeout} s") from None
        self._drain(0.5)  # late errors and the last paint

    def close(self) -> None:
        self._socket.close()


class Browser:
    """One headless Chromium per test session; each ``open`` gets a fresh tab."""

    def __init__(self, executable: str):
        self._profile = tempfile.mkdtemp(prefix="geo-app-chromium-")
        self._process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self._profile}",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._endpoint = self._wait_for_endpoint()

    def _wait_for_endpoint(self, timeout: float = 30) -> str:
        port_file = Path(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self._process.returncode}")
            if port_file.exists() and (lines := port_file.read_text().splitlines()):
                return f"127.0.0.1:{lines[0]}"
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def open(
        self,
        url: str,
        timeout: float = 30,
        headers: dict[str, str] | None = None,
        window: tuple[int, int] = WINDOW,
        network: dict | None = None,
    ) -> Page:
        """A new tab on ``url``, loaded; ``window``: (width, height) in CSS pixels (phone up to PHONE_WIDTH);
        ``network``: Network.emulateNetworkConditions parameters, e.g. SLOW_LINK."""
        request = urllib.request.Request(f"http://{self._endpoint}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.load(response)
        socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        page = Page(url=url, _socket=socket)
        page.load(timeout, headers, window, network)
        return page

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)
        shutil.rmtree(self._profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Headless Chromium with no network; skipped only when chromium is not installed."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (scripts/test installs the Debian package chromium)")
    instance = Browser(executable)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def live_server(app) -> LiveServer:
    """The app with the sample city, served on a free loopback port."""
    server = LiveServer(app)
    yield server
    server.close()


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer, tokens: dict[str, str]) -> Callable[..., Page]:
    """``open_page("/maps/areas")`` -> a loaded Page (errors, count(selector), screenshot(path)).

    The page is signed in as admin (API token header); ``open_page(path, role="public")`` views it with
    another role's token, ``role=None`` as an anonymous visitor. ``window=(400, 800)``: a phone-sized
    window (default 1400×900).
    """
    pages: list[Page] = []

    def open_path(path: str, role: str | None = "admin", window: tuple[int, int] = WINDOW) -> Page:
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else None
        pages.append(browser.open(live_server.url + path, headers=headers, window=window))
        return pages[-1]

    yield open_path
    for page in pages:
        page.close()
