"""Open a local page in headless Chromium and report what a reader would see.

Driven over the DevTools protocol (a websocket; the `websockets` package comes
with dagster-webserver): console errors, uncaught exceptions, failed loads and
every network request are collected while the page loads; then the DOM is
queried and a full-page screenshot taken. Chromium runs with no profile, no
background networking and no GPU, so nothing but the page itself is fetched.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-port=0", "--window-size=1400,1000")
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def find_chromium() -> str | None:
    override = os.environ.get("CAREJOURNEY_CHROMIUM")
    if override:
        return shutil.which(override)  # a path or a name; None if it is not there
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    title: str = ""
    screenshot: Path | None = None


class _DevTools:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["method"] == event for e in self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {event} within {timeout}s")
            try:
                self.events.append(json.loads(self.ws.recv(timeout=remaining)))
            except TimeoutError:
                raise TimeoutError(f"no {event} within {timeout}s") from None

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")


class Browser:
    """One headless Chromium (fresh empty profile) for a test session; each page in a new tab."""

    def __init__(self, chromium: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
        self.process = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None:
                raise RuntimeError(f"{chromium} exited with {self.process.returncode}: "
                                   f"{self.process.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                self.close()
                raise TimeoutError(f"{chromium} did not open its DevTools port within 60 s")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])

    def _endpoint(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def render(self, page: Path, screenshot: Path | None = None, settle_selector: str | None = None,
               expected: int = 0, timeout: float = 120, count_selectors: dict[str, str] | None = None,
               expressions: dict[str, str] | None = None) -> PageReport:
        """Load `page` in a new tab, wait until `settle_selector` matches `expected` elements, and report
        the elements each of `count_selectors` matches and the value of each of `expressions`."""
        target = self._endpoint("/json/new?about:blank", method="PUT")
        try:
            with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
                return self._render(_DevTools(ws), page, screenshot, settle_selector, expected, timeout,
                                    count_selectors or {}, expressions or {})
        finally:
            with contextlib.suppress(Exception):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/close/{target['id']}", timeout=10).close()

    @staticmethod
    def _render(tools: _DevTools, page: Path, screenshot: Path | None, settle_selector: str | None, expected: int,
                timeout: float, count_selectors: dict[str, str], expressions: dict[str, str]) -> PageReport:
        for domain in ("Runtime", "Log", "Network", "Page"):
            tools.call(f"{domain}.enable")
        url = page.resolve().as_uri()
        tools.events.clear()
        tools.call("Page.navigate", url=url)
        tools.wait_for("Page.loadEventFired", timeout)
        deadline = time.monotonic() + timeout
        while settle_selector and time.monotonic() < deadline:
            if (tools.evaluate(f"document.querySelectorAll({json.dumps(settle_selector)}).length") or 0) >= expected:
                break
            time.sleep(0.25)
        time.sleep(0.5)  # let late errors (e.g. from timers) arrive
        report = PageReport(url=url, title=tools.evaluate("document.title") or "")
        for name, selector in count_selectors.items():
            report.counts[name] = int(tools.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length") or 0)
        for name, expression in expressions.items():
            report.values[name] = tools.evaluate(expression)
        for event in tools.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                report.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                report.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                      for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                report.console_errors.append(f"{entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                requested = params.get("request", {}).get("url", "")
                if not requested.startswith(LOCAL_SCHEMES):
                    report.remote_requests.append(requested)
            elif method == "Network.loadingFailed":
                report.failed_loads.append(f"{params.get('errorText')} ({params.get('type')})")
        if screenshot is not None:
            height = int(tools.evaluate("document.documentElement.scrollHeight") or 1000)
            shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": 1400, "height": min(height, 16000), "scale": 1})
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            report.screenshot = screenshot
        return report

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)
