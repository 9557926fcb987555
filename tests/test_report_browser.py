"""The report in a real browser: headless Chromium, driven over the DevTools protocol.

The report of a real warehouse (``latinno demo`` into a temporary file: real Prefect flow, real
loopback HTTP) is opened from disk, on a laptop-sized and a phone-sized screen, and printed to
PDF. Checked: every chart drawn at a non-zero size, no console error, no request to anything but
the file itself, no sideways scrolling on the phone, and screenshots (kept in the test's temp dir)
showing the chart's pixels. Without Chromium the test is skipped, saying why.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
BAR_RGB = (0x2F, 0x6E, 0xA5)  # report.charts.BAR_COLOR
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # tests may run as root (CI containers)
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    # Belt and braces: were the page to ask for any host, the name would not resolve, so
    # nothing leaves the machine; the request is still seen (and fails the test) below.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
    "about:blank",
)
LOCAL_SCHEMES = ("file:", "data:", "about:")


def chromium_path() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


# --- a minimal DevTools protocol client ---------------------------------------------------------


class Browser:
    """One headless Chromium process and one page (a flat CDP session) in it."""

    def __init__(self, executable: str, profile: Path) -> None:
        from websockets.sync.client import connect

        self.process = subprocess.Popen(
            [executable, f"--user-data-dir={profile}", *CHROMIUM_FLAGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                self.close()
                raise RuntimeError(f"Chromium did not start: {err[-800:]}")
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = True
    ) -> dict[str, Any]:
        message_id = next(self.ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while True:
            for event in self.events[seen:]:
                if event["method"] == method:
                    return event
            seen = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(method)
            reply = json.loads(self.ws.recv(timeout=remaining))
            if "method" in reply:
                self.events.append(reply)

    def open(self, url: str, width: int, height: int, mobile: bool = False) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]

    def errors(self) -> list[str]:
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"{params['entry'].get('source')}: {params['entry'].get('text')}")
        return found

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


# --- reading a PNG with the standard library ----------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, RGB pixels) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    step = 4 if color == 6 else 3
    raw = zlib.decompress(bytes(idat))
    stride = width * step
    previous = bytearray(stride)
    pixels: list[tuple[int, ...]] = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(step, stride):
                line[i] = (line[i] + line[i - step]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - step] if i >= step else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - step] if i >= step else 0
                b = previous[i]
                c = previous[i - step] if i >= step else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        pixels.extend(tuple(line[i : i + 3]) for i in range(0, stride, step))
        previous = line
    return width, height, pixels


def test_png_reader_reads_a_known_image() -> None:
    # 2x2 RGB written by hand with each filter the reader handles: the reader must not be the
    # reason a screenshot check passes.
    rows = [(1, bytes([10, 20, 30, 5, 5, 5])), (4, bytes([1, 1, 1, 250, 0, 0]))]
    raw = b"".join(bytes([kind]) + line for kind, line in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    width, height, pixels = png_pixels(png)
    assert (width, height) == (2, 2)
    # Row 0 (Sub): (10,20,30), (15,25,35). Row 1 (Paeth) adds up/left predictions.
    assert pixels[:2] == [(10, 20, 30), (15, 25, 35)]
    assert pixels[2] == (11, 21, 31)
    assert pixels[3] == ((250 + 15) & 0xFF, 25, 35)


# --- the test -----------------------------------------------------------------------------------

CHARTS_JS = """
Array.from(document.querySelectorAll('figure[data-chart]')).map(f => {
  const svg = f.querySelector('svg.chart');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: f.dataset.chart, width: box.width, height: box.height,
          attrs: svg ? [svg.getAttribute('width'), svg.getAttribute('height')] : null,
          marks: svg ? svg.querySelectorAll('rect.mark').length : 0,
          drawn: svg ? Array.from(svg.querySelectorAll('rect.mark'))
                         .filter(r => r.getBoundingClientRect().width > 0).length : 0};
})
"""
LAYOUT_JS = """({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  height: document.documentElement.scrollHeight,
  first: (() => {
    const r = document.querySelector('figure[data-chart] svg.chart').getBoundingClientRect();
    return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height};
  })()})"""

# At phone width: the smallest text of each chart as shown (its font size times the chart's
# scale), and each table's caption after its box is scrolled all the way right.
PHONE_TEXT_JS = """
Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = Array.from(svg.querySelectorAll('text'))
    .map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  return {id: svg.id, smallest: Math.min(...sizes)};
})
"""
PHONE_CAPTIONS_JS = """
Array.from(document.querySelectorAll('table')).map(t => {
  const box = t.closest('.scroll');
  box.scrollLeft = box.scrollWidth;
  const c = t.querySelector('caption');
  const r = c ? c.getBoundingClientRect() : null;
  return {caption: c ? c.textContent : null, left: r && r.left, right: r && r.right,
          height: r && r.height, scrolled: box.scrollLeft};
})
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = chromium_path()
    if found is None:
        pytest.skip(
            "Chromium not found (looked for " + ", ".join(CHROMIUM_NAMES) + "); install the "
            "Debian package: apt-get install chromium"
        )
    pytest.importorskip("websockets.sync.client", reason="websockets (a Prefect dependency)")
    return found


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Path:
    """The report of a real demo warehouse: `latinno demo` then `latinno report`, as a user."""
    work = tmp_path_factory.mktemp("report-browser")
    db = work / "demo.duckdb"
    prefect_home = Path(tempfile.mkdtemp(prefix="latinno-prefect-", dir=work))
    env = {"PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    # The project's settings, without the 2 requests/s meant for the real site (loopback only).
    settings = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    settings.setdefault("politeness", {}).update(rate=0, concurrency=4)
    config = work / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    # Run from the temporary folder: the demo also writes a report and a release, relative to
    # where it runs, and those must never land in the working tree (issue 21).
    run = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "demo", "--db", str(db), "--config", str(config)],
        capture_output=True, text=True, cwd=work, timeout=240,
        env={**os.environ, **env},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    out = work / "report.html"
    made = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "report", "--db", str(db), "--out", str(out)],
        capture_output=True, text=True, cwd=work, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(out)
    return out


@pytest.fixture()
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    try:
        opened = Browser(chromium, tmp_path / "profile")
    except RuntimeError as exc:
        pytest.skip(f"Chromium is installed but cannot start here: {exc}")
    try:
        yield opened
    finally:
        opened.close()


def _check_charts(browser: Browser, expected: set[str]) -> list[dict[str, Any]]:
    charts = browser.evaluate(CHARTS_JS)
    assert {c["id"] for c in charts} == expected
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        width, height = chart["attrs"]
        assert float(width) > 0 and float(height) > 0, chart
        assert chart["marks"] > 0, chart
    return charts


def test_demo_report_renders_in_chromium(
    browser: Browser, demo_report: Path, tmp_path: Path
) -> None:
    html = demo_report.read_text(encoding="utf-8")
    expected = set(_chart_ids(html))
    # The demo data has every kind of chart but the change charts (one run, no change yet).
    assert {"cases-by-country", "means-by-country", "means-ends", "fill-rate"} <= expected

    url = demo_report.as_uri()
    browser.open(url, 1280, 900)
    charts = _check_charts(browser, expected)
    assert all(c["drawn"] > 0 for c in charts), charts
    layout = browser.evaluate(LAYOUT_JS)
    page = browser.screenshot(
        {"x": 0, "y": 0, "width": layout["inner"], "height": min(layout["height"], 16000)}
    )
    (tmp_path / "report-laptop.png").write_bytes(page)
    first = layout["first"]
    chart_png = browser.screenshot(first)
    (tmp_path / "report-first-chart.png").write_bytes(chart_png)
    width, height, pixels = png_pixels(chart_png)
    assert (width, height) == (round(first["width"]), round(first["height"]))
    colours = Counter(pixels)
    assert len(colours) > 8, "the chart screenshot is (nearly) one colour"
    bar_share = colours[BAR_RGB] / len(pixels)
    assert bar_share > 0.02, f"bars cover {bar_share:.1%} of the chart, not drawn?"

    browser.open(url, 390, 844, mobile=True)
    _check_charts(browser, expected)
    phone = browser.evaluate(LAYOUT_JS)
    assert phone["scroll"] <= phone["inner"], "the page scrolls sideways on a phone"
    # Every label at least 11 px (a wide chart scrolls in its box instead of shrinking more).
    small = [c for c in browser.evaluate(PHONE_TEXT_JS) if c["smallest"] < 11]
    assert small == [], small
    # Every table keeps its caption in view, even scrolled to its far right.
    captions = browser.evaluate(PHONE_CAPTIONS_JS)
    assert captions and all(c["caption"] for c in captions), captions
    assert any(c["scrolled"] > 0 for c in captions), "no table is wider than a phone?"
    for c in captions:
        assert c["height"] > 0 and c["left"] >= 0 and c["right"] <= phone["inner"], c
    (tmp_path / "report-phone.png").write_bytes(
        browser.screenshot({"x": 0, "y": 0, "width": 390, "height": 2400})
    )

    pdf = base64.b64decode(browser.call("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    (tmp_path / "report.pdf").write_bytes(pdf)

    requests = browser.requests()
    assert requests, "the browser reported no request at all: the network log is not working"
    assert [u for u in requests if not u.startswith(LOCAL_SCHEMES)] == []
    assert browser.errors() == []


def test_the_checks_see_a_request_and_a_console_error(browser: Browser, tmp_path: Path) -> None:
    # A page that does what the report must not: the same checks must catch it.
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><img src="http://example.invalid/x.png">'
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    browser.open(bad.as_uri(), 800, 600)

    def seen() -> bool:
        browser.evaluate("1")  # a round trip: drains the events that arrived meanwhile
        asked = "http://example.invalid/x.png" in browser.requests()
        return asked and any("boom" in e for e in browser.errors())

    deadline = time.monotonic() + 30
    while not seen() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "http://example.invalid/x.png" in browser.requests()
    assert any("boom" in e for e in browser.errors())


def _chart_ids(html: str) -> list[str]:
    import re

    return re.findall(r'<figure id="fig-[^"]+" data-chart="([^"]+)"', html)
