"""Helpers for the end-to-end tests: a served app on a free 127.0.0.1 port, Chromium, a watch
over everything a page logs or asks for, and pixel helpers that read what a person sees.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright; ``playwright install`` is never
needed. A Panel page renders over a websocket, so tests wait for content, not for ``load``.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(os.environ.get("ATLAS_REPO", Path(__file__).resolve().parents[2]))
VIEWPORT = {"width": 1600, "height": 1000}
"""The screen the issue was reported on."""
TIMEOUT_MS = 90_000
SLICE = "atlas-slice"
"""The slice figure's name (``dashboard.views.slice.SLICE_PLOT_NAME``), as the page finds it."""
OFFSET = -0.5
"""The XY plane (z_GSM, R_E) the browser tests open the page at: Earth is cut, and the small
atlas has cells there."""
LOCAL_HOSTS = {"127.0.0.1"}
LOCAL_SCHEMES = {"data", "blob", "about"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedURL(str):
    """A server's base URL that also knows the server's process id (``.pid``)."""

    pid: int


@contextmanager
def served(cmd: list[str], port: int, timeout: float = 180.0, env: dict | None = None):
    """Run a server command as a subprocess; yield its base URL once it answers HTTP."""
    # the server's log goes to a file: an unread pipe would fill up and stall the server
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = ServedURL(f"http://127.0.0.1:{port}")
    url.pid = proc.pid
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                out = log.read().decode("utf-8", "replace")
                raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
            try:  # a static file: asking for "/" would build a whole session per try
                with urllib.request.urlopen(url + "/static/js/bokeh.min.js", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {url} did not answer in {timeout} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def atlas_serve_cmd(atlas_dir: Path, port: int, files=()) -> list[str]:
    """``atlas serve`` on ``port``; ``files``: folders for the nowcast's driver files."""
    cmd = [sys.executable, "-m", "atlas_core", "serve", str(atlas_dir), "--port", str(port)]
    for folder in files:
        cmd += ["--files", str(folder)]
    return cmd


def panel_serve_cmd(app: Path, port: int, args: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "panel", "serve", str(app), "--address", "127.0.0.1",
           "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}"]
    if args:
        cmd += ["--args", *args]
    return cmd


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# --- what a page logs and asks for -------------------------------------------------------------


GL_DRIVER = re.compile(r"^\[\.WebGL-0x[0-9a-f]+\]")
"""Chromium's prefix of the GL driver's own messages about a WebGL context."""
READBACK_NOISE = re.compile(r"^\[\.WebGL-0x[0-9a-f]+\]GL Driver Message \(OpenGL, Performance, "
                            r"\w+, High\): GPU stall due to ReadPixels( \(this message will no "
                            r"longer repeat\))?$")
"""The software compositor's read-back note, logged for any WebGL canvas (see PageWatch)."""


@dataclass
class PageWatch:
    """Everything a page reports that a person would call broken: console errors and warnings,
    uncaught page errors, requests to any host but the dashboard's (an offline machine cannot
    reach them), and failed requests.

    One exception, made by the test itself: taking a screenshot while a WebGL canvas (the 3D
    map) is on the page makes headless Chromium's software GL log driver messages
    ("[.WebGL-0x...] GL_INVALID_VALUE: glTexStorage2D ...", "GPU stall due to ReadPixels")
    that a person never causes (a session without screenshots logs none, see
    test_browser_tabs.py). GL driver messages that arrive while a screenshot of :func:`shot`
    is being taken are kept in ``during_screenshots`` instead of ``console``.

    And one message that is the browser's own, not the page's: this headless Chromium
    (software GL, ``--disable-gpu``) reads every WebGL frame back to composite it and logs
    "GPU stall due to ReadPixels" (four times, then "will no longer repeat") for ANY page with
    a WebGL canvas — a bare canvas that clears itself logs exactly these lines
    (test_browser_tabs.py::test_the_one_ignored_message_is_logged_by_a_bare_webgl_page). They are
    kept in ``browser_noise``; every other GL driver message still fails a test.
    """

    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    during_screenshots: list[str] = field(default_factory=list)
    shooting: bool = False
    browser_noise: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, page) -> PageWatch:
        watch = cls()
        page._atlas_watch = watch  # shot() finds it here
        page.on("console", watch._console)
        page.on("pageerror", lambda err: watch.page_errors.append(str(err)[:300]))
        page.on("request", watch._request)
        page.on("requestfailed", lambda r: watch.failed.append(f"{r.url[:200]} ({r.failure})"))
        return watch

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning", "assert"):
            if READBACK_NOISE.match(msg.text):
                self.browser_noise.append(msg.text[:300])
            elif self.shooting and GL_DRIVER.match(msg.text):
                self.during_screenshots.append(msg.text[:300])
            else:
                self.console.append(f"{msg.type}: {msg.text[:300]}")

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme not in LOCAL_SCHEMES and url.hostname not in LOCAL_HOSTS:
            self.outside.append(request.url)

    def problems(self) -> list[str]:
        return ([f"console {m}" for m in self.console]
                + [f"page error: {m}" for m in self.page_errors]
                + [f"request off 127.0.0.1: {u}" for u in self.outside]
                + [f"failed request: {u}" for u in self.failed
                   # a page closed while a request was in flight aborts it: not a fault
                   if "ERR_ABORTED" not in u])

    def count(self) -> int:
        return len(self.problems())

    def clear(self) -> None:
        for part in (self.console, self.page_errors, self.outside, self.failed,
                     self.during_screenshots, self.browser_noise):
            part.clear()


def shot(target, page=None, **kw) -> bytes:
    """A screenshot of a page or an element (``page`` given); GL driver messages it causes
    are set aside by the page's :class:`PageWatch` (see there)."""
    page = page or target
    watch = getattr(page, "_atlas_watch", None)
    if watch is None:
        return target.screenshot(**kw)
    watch.shooting = True
    try:
        png = target.screenshot(**kw)
        page.wait_for_timeout(300)  # the driver's messages arrive just after
    finally:
        watch.shooting = False
    return png


# --- waiting ------------------------------------------------------------------------------------


def wait_until(check, timeout: float = 30.0, interval: float = 0.25, what: str = "condition"):
    """Call ``check`` until it returns a truthy value (returned) or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    last_err = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as err:  # an element replaced while we looked at it
            last_err = err
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                                 + (f" (last error: {last_err!r})" if last_err else ""))
        time.sleep(interval)


def open_app(page, url: str, query: str = ""):
    """Open the dashboard and wait until the session's page has arrived over the websocket."""
    page.goto(url + "/" + query)
    page.locator(".atlas-legend").first.wait_for(timeout=TIMEOUT_MS)
    return page


def address(page) -> str:
    """The address bar as the page has it now, %3A decoded. (``page.url`` is Playwright's copy,
    refreshed only while Playwright handles events: a ``wait_until`` polling it between
    ``time.sleep`` calls would never see the page change its URL.)"""
    return page.evaluate("() => window.location.href").replace("%3A", ":")


def text_of(locator) -> str:
    """The text of a Panel pane: Bokeh draws it inside the element's shadow root."""
    locator.wait_for()
    return locator.evaluate(
        "el => (el.shadowRoot ? el.shadowRoot.textContent : '') + ' ' + el.textContent")


def show_tab(page, title: str):
    page.locator(".bk-tab", has_text=title).first.click()


# --- pixels -------------------------------------------------------------------------------------


def image(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def image_is_nonblank(png: bytes, min_colors: int = 8) -> bool:
    """True when a screenshot holds a picture, not a blank box (several distinct colours)."""
    colors = image(png).getcolors(maxcolors=1 << 20)
    return colors is None or len(colors) >= min_colors


def figure_geometry(page, name: str) -> dict:
    """Where a named Bokeh figure draws its data: the frame's page box and its scales.

    Returns ``{"left", "top", "width", "height"}`` of the frame (page px),
    ``"px_per_x"``, ``"px_per_y"`` (px per data unit, both positive) and the visible data
    ranges ``"x_range"``, ``"y_range"``. Raises if the figure is not laid out yet."""
    return page.evaluate(
        """(name) => {
            const view = Bokeh.index.query_one(v => v.model && v.model.name === name);
            if (!view) throw new Error('no figure named ' + name);
            const f = view.frame, r = view.canvas_view.el.getBoundingClientRect();
            if (!(f.bbox.width > 0)) throw new Error('figure not laid out');
            const xs = f.x_scale, ys = f.y_scale;
            return {left: r.left + f.bbox.left, top: r.top + f.bbox.top,
                    width: f.bbox.width, height: f.bbox.height,
                    px_per_x: Math.abs(xs.compute(1) - xs.compute(0)),
                    px_per_y: Math.abs(ys.compute(1) - ys.compute(0)),
                    x_range: [view.model.x_range.start, view.model.x_range.end],
                    y_range: [view.model.y_range.start, view.model.y_range.end]};
        }""", name)


def data_to_page(page, name: str, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of the data point (x, y) of a named Bokeh figure."""
    return tuple(page.evaluate(
        """([name, x, y]) => {
            const view = Bokeh.index.query_one(v => v.model && v.model.name === name);
            const f = view.frame, r = view.canvas_view.el.getBoundingClientRect();
            return [r.left + f.x_scale.compute(x), r.top + f.y_scale.compute(y)];
        }""", [name, x, y]))


def frame_shot(page, name: str):
    """A screenshot (PIL image) of a named figure's data frame, with its geometry."""
    geo = wait_until(lambda: figure_geometry(page, name), what=f"figure {name}")
    clip = {"x": geo["left"], "y": geo["top"], "width": geo["width"], "height": geo["height"]}
    return image(shot(page, clip=clip)), geo


def pixel_at(page, name: str, x: float, y: float, size: int = 5) -> tuple[int, int, int]:
    """The colour a person sees at data point (x, y) of a named figure: the most common
    colour of a ``size`` x ``size`` px patch (hatch lines and edges are the minority)."""
    px, py = data_to_page(page, name, x, y)
    h = size // 2
    img = image(shot(page, clip={"x": px - h, "y": py - h, "width": size, "height": size}))
    return max(img.getcolors(size * size), key=lambda c: c[0])[1]


def assert_cell_colour(page, row, what: str = "", name: str = "atlas-slice") -> None:
    """The pixel at a slice cell's centre (``row`` of a product slice table: u0 u1 v0 v1 fill
    alpha leaf) is the product's fill at its alpha over white."""
    cu, cv = (row.u0 + row.u1) / 2, (row.v0 + row.v1) / 2
    seen = pixel_at(page, name, cu, cv)
    want = over_white(row.fill, row.alpha)
    assert colour_distance(seen, want) < 14, f"{what} cell {row.leaf}: screen {seen}, product {want}"


def hex_rgb(color: str) -> tuple[int, int, int]:
    h = color.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def over_white(color: str, alpha: float) -> tuple[float, float, float]:
    """The colour a fill of ``color`` at opacity ``alpha`` shows over a white background."""
    return tuple(alpha * c + (1 - alpha) * 255 for c in hex_rgb(color))


def colour_distance(a, b) -> float:
    """Largest channel difference of two RGB triples (0-255)."""
    return max(abs(float(p) - float(q)) for p, q in zip(a, b, strict=True))


def images_differ(a, b, min_fraction: float = 0.01) -> bool:
    """True when more than ``min_fraction`` of the pixels of two same-size images differ."""
    from PIL import ImageChops

    if a.size != b.size:
        return True
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 12 else 0)
    changed = diff.histogram()[255]
    return changed > min_fraction * a.size[0] * a.size[1]


def visible_canvas(page, what: str = "", min_width: int = 150, timeout: float = TIMEOUT_MS / 1000):
    """The first visible drawing surface of at least ``min_width`` px, once painted."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        seen = []
        for canvas in page.locator("canvas").all():
            try:
                box = canvas.bounding_box() if canvas.is_visible() else None
                if box and box["width"] >= min_width and box["height"] >= 100:
                    png = shot(canvas, page, timeout=10_000)
                    if image_is_nonblank(png):
                        return canvas, png
                    seen.append(box)
            except Exception as err:  # a canvas replaced while we looked at it
                seen.append(repr(err)[:80])
        time.sleep(0.5)
    raise AssertionError(f"{what}: no painted canvas became visible (saw {seen})")
