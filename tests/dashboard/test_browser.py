"""End to end: the dashboard served by ``atlas serve`` on a free 127.0.0.1 port, driven by
Debian's Chromium through Playwright, on the small atlas.

Set ``ATLAS_SCREENSHOTS=docs/img`` to save a screenshot of each view (the README's pictures),
and ``ATLAS_DASHBOARD_ATLAS=data/atlas10y`` to run against another atlas than the small one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from e2e_harness import (
    CHROMIUM,
    REPO,
    free_port,
    image_is_nonblank,
    launch,
    panel_serve_cmd,
    served,
)

pytestmark = pytest.mark.browser

VIEWS = {
    "Octree slice": "slice",
    "Orbital coverage": "coverage",
    "Feature violins": "violins",
    "Quiet vs storm": "occupancy",
    "3D regime map": "regime3d",  # last: software WebGL keeps the page busy afterwards
}
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def playwright_browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/bootstrap.sh --browser installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def atlas_dir(small_atlas):
    return Path(os.environ.get("ATLAS_DASHBOARD_ATLAS", small_atlas))


@pytest.fixture(scope="module")
def app_url(atlas_dir):
    port = free_port()
    cmd = [sys.executable, "-m", "atlas_core", "serve", str(atlas_dir), "--port", str(port)]
    with served(cmd, port, env={"VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"}) as url:
        yield url


@pytest.fixture(scope="module")
def store(atlas_dir):
    from dashboard.store import DataStore

    return DataStore.open(atlas_dir)


@pytest.fixture
def page(playwright_browser, app_url):
    context = playwright_browser.new_context(viewport={"width": 1600, "height": 1100},
                                             accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def open_app(page, url: str, query: str = ""):
    page.goto(url + "/" + query)
    page.locator(".atlas-legend").first.wait_for()  # the session's page arrived over the websocket
    return page


def text_of(locator) -> str:
    """The text of a Panel pane: Bokeh draws it inside the element's shadow root."""
    locator.wait_for()
    return locator.evaluate(
        "el => (el.shadowRoot ? el.shadowRoot.textContent : '') + ' ' + el.textContent")


def show_tab(page, title: str):
    page.locator(".bk-tab", has_text=title).first.click()


def visible_canvas(page, what: str = "", min_width: int = 150):
    """The first visible drawing surface of at least ``min_width`` px, once painted."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    seen = []
    while time.monotonic() < deadline:
        seen = []
        for canvas in page.locator("canvas").all():
            try:
                box = canvas.bounding_box() if canvas.is_visible() else None
                if box and box["width"] >= min_width and box["height"] >= 100:
                    shot = canvas.screenshot(timeout=10_000)
                    if image_is_nonblank(shot):
                        return canvas, shot
                    seen.append(box)
            except Exception as err:  # a canvas replaced while we looked at it
                seen.append(repr(err)[:80])
        time.sleep(1.0)
    raise AssertionError(f"{what}: no painted canvas became visible (saw {seen})")


def test_every_view_renders(page, app_url, store):
    open_app(page, app_url)
    show_tab(page, "Regimes")
    table = text_of(page.locator(".atlas-summary").first)
    assert all(label in table for label in store.labels)
    outdir = os.environ.get("ATLAS_SCREENSHOTS")
    for title, name in VIEWS.items():
        show_tab(page, title)
        _canvas, shot = visible_canvas(page, title)
        assert image_is_nonblank(shot), title
        if outdir:
            time.sleep(2)
            Path(REPO / outdir).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(REPO / outdir / f"dashboard_{name}.png"))


def test_the_page_requests_nothing_beyond_its_own_server(page, app_url):
    """Offline machines and clusters resolve no outside host: every script, stylesheet and
    font comes from the dashboard's server (Panel's Fast design once pulled Open Sans from
    fonts.googleapis.com). blob: and data: URLs are made inside the page."""
    from urllib.parse import urlparse

    outside = []

    def record(request):
        url = urlparse(request.url)
        if url.scheme not in ("blob", "data") and url.hostname != "127.0.0.1":
            outside.append(request.url)

    page.on("request", record)
    open_app(page, app_url)
    visible_canvas(page, "Octree slice")
    show_tab(page, "Regimes")
    text_of(page.locator(".atlas-summary").first)
    for title in ("Orbital coverage", "3D regime map"):  # 3D last: WebGL keeps the page busy
        show_tab(page, title)
        visible_canvas(page, title)
    time.sleep(1)  # anything a late-styled element asks for
    assert outside == []


def slice_pixel(page, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of the data point (x, y) in the slice figure (Bokeh's own scales)."""
    return tuple(page.evaluate(
        """([x, y]) => {
            const view = Bokeh.index.query_one(v => v.model && v.model.name === 'atlas-slice');
            const frame = view.frame;
            const r = view.canvas_view.el.getBoundingClientRect();
            return [r.left + frame.x_scale.compute(x), r.top + frame.y_scale.compute(y)];
        }""", [x, y]))


def test_clicking_a_slice_cell_fills_the_inspector(page, app_url, store):
    from dashboard.filters import Condition, Filters

    open_app(page, app_url)
    visible_canvas(page)
    frame = store.slice_frame(Filters())
    frame = frame[frame["count"] > 0].assign(size=frame["u1"] - frame["u0"])
    row = frame.sort_values(["size", "count"], ascending=False).iloc[0]  # big enough to hit
    u, v = (row.u0 + row.u1) / 2, (row.v0 + row.v1) / 2
    expected = store.leaf_at("XY", 0.0, u, v)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the figure's scales exist once it has been laid out
        try:
            px, py = slice_pixel(page, u, v)
            break
        except Exception:
            time.sleep(0.5)
    page.mouse.click(px, py)
    report = store.inspect_cell(expected, {"all": Condition(), "quiet": Filters().quiet(),
                                           "storm": Filters().storm()})
    content = text_of(page.locator(".atlas-inspector", has_text="leaf").first)
    assert f"leaf {expected} " in content
    assert f"{report.n_states} states" in content
    assert f"quiet: {report.counts['quiet']}" in content
    table = text_of(page.locator(".atlas-inspector-table").first)
    best = report.regimes[report.regimes["condition"] == "all"].sort_values("p").iloc[-1]
    assert f"{best.p:.3f} [{best.p_lo:.3f}, {best.p_hi:.3f}]" in table
    assert "cell=" + str(expected) in page.url  # the state of the controls is in the URL
    outdir = os.environ.get("ATLAS_SCREENSHOTS")
    if outdir:
        time.sleep(3)
        page.screenshot(path=str(REPO / outdir / "dashboard_inspector.png"), full_page=True)


def test_moving_the_dst_control_changes_the_occupancy(page, app_url):
    open_app(page, app_url)
    show_tab(page, "Quiet vs storm")
    visible_canvas(page)
    text = page.locator(".atlas-occupancy-text").first
    before = text_of(text)
    handle = page.locator(".atlas-quiet-slider .noUi-handle-lower").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] - 60, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    deadline = time.monotonic() + 60
    while text_of(text) == before and time.monotonic() < deadline:
        time.sleep(0.5)
    after = text_of(text)
    assert after != before
    assert "quiet=" in page.url


def test_url_parameters_are_clamped_with_a_message(page, app_url):
    open_app(page, app_url, "?offset=999&plane=QQ&color=entropy")
    msg = text_of(page.locator(".atlas-messages").first)
    assert "offset='999'" in msg and "clamped" in msg
    assert "plane='QQ'" in msg and "ignored" in msg
    assert "entropy (bits)" in text_of(page.locator(".atlas-slice-caption").first)


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<svg"), ("pdf", b"%PDF")])
def test_export_downloads_a_valid_figure(page, app_url, fmt, magic, tmp_path):
    pytest.importorskip("atlas_core.figures")
    open_app(page, app_url)
    button = page.locator(f".atlas-export-{fmt}").locator("button, a").first
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    data = path.read_bytes()
    assert path.suffix == f".{fmt}"
    assert magic in data[:2048]
    assert len(data) > 1000


def test_missing_atlas_gives_a_clear_message(playwright_browser, tmp_path):
    missing = tmp_path / "no-atlas-here"
    port = free_port()
    with served(panel_serve_cmd(REPO / "dashboard" / "app.py", port, [str(missing)]), port) as url:
        page = playwright_browser.new_page()
        page.goto(url + "/app")
        text = text_of(page.locator(".atlas-error").first)
        assert str(missing) in text and "does not exist" in text
        page.close()
