"""Every tab, in any order, the 3D map included (issue 15, problem 2; issue 12, item 5).

One session opens every tab, the 3D map first, between the others and again (the 3D view once
broke every later tab with "Cannot read properties of undefined (reading 'getInteractor')",
and asked a public CDN for CSS). A tab counts as shown when its view's drawing surfaces are
visible and painted: the bitmap of its largest 2D canvas holds a picture (read in the page,
no screenshot), the 3D map's WebGL canvas is on screen with its size; the regime table shows
its units. The watch on the page fails the test on any console error or warning, any page error
and any request that leaves 127.0.0.1; the count for the whole session is printed (the figure
the issue asks for). Only after that, a screenshot checks the 3D map's picture (while one is
taken, headless Chromium's software GL logs driver notes a person never causes).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_harness import (
    READBACK_NOISE,
    REPO,
    image_is_nonblank,
    launch,
    open_app,
    shot,
    show_tab,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.browser

TABS = {  # title -> the view's root element
    "Octree slice": ".atlas-slice",
    "MLT–R and X–ρ maps": ".atlas-maps",
    "Time series and orbit": ".atlas-series",
    "Orbital coverage": ".atlas-coverage",
    "Feature violins": ".atlas-violins",
    "Quiet vs storm": ".atlas-occupancy",
    "3D regime map": ".atlas-regime3d",
    "Regimes": ".atlas-regimes",
}
ORDER = ["3D regime map", "Orbital coverage", "Octree slice", "3D regime map", "Regimes",
         "Feature violins", "MLT–R and X–ρ maps", "3D regime map", "Quiet vs storm",
         "Time series and orbit", "Octree slice"]
"""The 3D tab first, between others and again: any tab after it must still render."""
assert set(ORDER) == set(TABS)

CANVAS_COLOURS = """(c) => {
    const ctx = c.getContext('2d');      // null for a WebGL canvas
    if (!ctx || !c.width || !c.height) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data, seen = new Set();
    for (let i = 0; i < d.length && seen.size < 64; i += 4 * 37)
        seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
}"""
"""Distinct colours in a 2D canvas' bitmap (sampled): what it has painted."""


def visible_canvases(page, selector: str, min_width: int = 150, min_height: int = 80):
    out = []
    for canvas in page.locator(f"{selector} canvas").all():
        box = canvas.bounding_box() if canvas.is_visible() else None
        if box and box["width"] >= min_width and box["height"] >= min_height:
            out.append((canvas, box))
    return out


def painted_2d(page, selector: str, min_colors: int = 8) -> bool:
    """A visible 2D canvas of the view holds a picture (its bitmap, read in the page)."""
    return any(c.evaluate(CANVAS_COLOURS) >= min_colors for c, _ in visible_canvases(page, selector))


def painted_shot(page, selector: str, min_colors: int = 8):
    """The view's largest visible canvas as a screenshot, once it holds a picture (else None)."""
    canvases = visible_canvases(page, selector)
    if not canvases:
        return None
    canvas = max(canvases, key=lambda cb: cb[1]["width"] * cb[1]["height"])[0]
    png = shot(canvas, page, timeout=10_000)
    return png if image_is_nonblank(png, min_colors) else None


def wait_for_tab(page, title: str) -> None:
    selector = TABS[title]
    if title == "Regimes":  # a table and the legend, no canvas
        wait_until(lambda: "n [cm⁻³]" in text_of(page.locator(f"{selector} .atlas-summary").first),
                   timeout=90, what="the regime table")
    elif title == "3D regime map":
        wait_until(lambda: visible_canvases(page, selector, 300, 200), timeout=120,
                   what="the 3D canvas")
    else:
        wait_until(lambda: painted_2d(page, selector), timeout=120,
                   what=f"the {title} tab to paint")


def test_every_tab_in_any_order_paints_and_logs_nothing(watched_page, app_url):
    page, watch = watched_page
    open_app(page, app_url)
    for title in ORDER:
        show_tab(page, title)
        wait_for_tab(page, title)
        assert watch.problems() == [], f"after opening {title}: {watch.problems()}"
    page.wait_for_timeout(2000)  # anything late (resize observers, late styles)
    print(f"\nfull session over every tab, the 3D map three times: {watch.count()} console "
          f"errors/warnings, page errors and off-host requests")
    assert watch.count() == 0, watch.problems()
    show_tab(page, "3D regime map")
    wait_until(lambda: painted_shot(page, TABS["3D regime map"], 20), timeout=120,
               what="the 3D map's picture")


def test_a_shared_link_opens_its_tab(page, app_url):
    """A URL with ``view=`` opens that tab first (the 3D map here), and the others still open
    after it."""
    open_app(page, app_url, "?view=map3d")
    wait_for_tab(page, "3D regime map")
    show_tab(page, "MLT–R and X–ρ maps")
    wait_for_tab(page, "MLT–R and X–ρ maps")


@pytest.mark.skipif(not os.environ.get("ATLAS_SCREENSHOTS"), reason="set ATLAS_SCREENSHOTS=DIR")
def test_screenshots_of_every_tab(watched_page, app_url):
    """The documentation's screenshots (docs/img/dashboard_*.png): ATLAS_SCREENSHOTS=docs/img."""
    page, _ = watched_page
    open_app(page, app_url)
    outdir = Path(REPO / os.environ["ATLAS_SCREENSHOTS"])
    outdir.mkdir(parents=True, exist_ok=True)
    for title, selector in TABS.items():
        show_tab(page, title)
        if title == "Regimes":
            wait_for_tab(page, title)
        else:
            wait_until(lambda s=selector, t=title: painted_shot(page, s, 20 if "3D" in t else 8),
                       timeout=120, what=f"the {title} tab to paint")
        page.wait_for_timeout(1500)
        name = selector.lstrip(".").removeprefix("atlas-")
        shot(page, path=str(outdir / f"dashboard_{name}.png"), full_page=True)
BARE_WEBGL = """<canvas id="c" width="400" height="300"></canvas><script>
const c = document.getElementById('c');
const gl = c.getContext('webgl2') || c.getContext('webgl');
let i = 0;
(function frame() { gl.clearColor((i++ % 60) / 60, 0.5, 0.5, 1); gl.clear(gl.COLOR_BUFFER_BIT);
                    if (i < 120) requestAnimationFrame(frame); })();
</script>"""


def test_the_one_ignored_message_is_logged_by_a_bare_webgl_page(playwright_driver):
    """The one browser message the watch sets aside (``READBACK_NOISE``) is this Chromium's own:
    a page holding nothing but a WebGL canvas that clears itself logs it too (in a browser of
    its own: the GPU process logs the note four times in its life, then no more). If a
    Chromium stops logging it, this test fails and the exception can go."""
    browser = launch(playwright_driver)
    page = browser.new_page()
    seen = []
    page.on("console", lambda m: seen.append(m.text) if m.type in ("warning", "error") else None)
    page.set_content(BARE_WEBGL)
    wait_until(lambda: page.evaluate("() => 1") and seen, timeout=20,
               what="the browser's read-back note")
    browser.close()
    assert all(READBACK_NOISE.match(m) for m in seen), seen
