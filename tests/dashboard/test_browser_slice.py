"""The octree slice as a person sees it in Chromium (issue 15, problems 1 and 3).

Every check reads the screen: the pixels of the slice's canvas, the page position of the
figure's scales, the text of the caption and the colour bar. The expected cells and colours come
from the atlas and its product layer opened in the test process, not from the dashboard.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_harness import (
    OFFSET,
    SLICE,
    assert_cell_colour,
    colour_distance,
    data_to_page,
    figure_geometry,
    frame_shot,
    images_differ,
    open_app,
    over_white,
    pixel_at,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.browser

QUERY = f"?offset={OFFSET}"
COLOURINGS = {  # option text in "Colour cells by" -> product colouring, colour-bar title words
    "probability of a regime": ("probability", "P("),
    "entropy (bits)": ("entropy", "entropy"),
    "windows per cell": ("count", "windows per cell"),
    "storm − quiet probability of a regime": ("storm_minus_quiet", "P_storm − P_quiet"),
}
EARTH = (0x2B, 0x6C, 0xB0)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select widget labelled ``label``, as a person would."""
    page.locator(".bk-input-group", has_text=label).locator("select").first.select_option(label=option)


def product_table(atlas, color="dominant", regime=0):
    from atlas_core.atlas import product

    return product.slice_table(atlas, "xy", OFFSET, product.Condition(), color, regime,
                               allow_empty=True)


def big_regime(atlas) -> int:
    """The dominant regime of the biggest cell with windows: its probability is high there, so
    the 'probability' colouring cannot look like the dominant-regime one by chance."""
    t = product_table(atlas)
    t = t[~t["empty"]]
    return int(t.loc[(t["u1"] - t["u0"]).idxmax(), "dominant"])


def wait_for_slice(page):
    return wait_until(lambda: figure_geometry(page, SLICE), timeout=90, what="the slice figure")


def settled_shot(page, previous=None, timeout: float = 30.0):
    """A screenshot of the slice frame once it differs from ``previous`` and stopped changing."""
    def changed():
        shot, _ = frame_shot(page, SLICE)
        return shot if previous is None or images_differ(shot, previous) else None

    shot = wait_until(changed, timeout=timeout, what="the slice canvas to change")
    while True:  # wait for a stable picture (Bokeh may paint in steps)
        page.wait_for_timeout(400)
        again, _ = frame_shot(page, SLICE)
        if not images_differ(again, shot, min_fraction=0.001):
            return again
        shot = again


def earth_box(page) -> tuple[int, int]:
    """Width and height (px) of the Earth disc drawn on the slice (searched within 1.5 R_E of
    the origin, where nothing else is drawn in Earth's colour)."""
    shot, geo = frame_shot(page, SLICE)
    ox, oy = data_to_page(page, SLICE, 0.0, 0.0)
    ox, oy = ox - geo["left"], oy - geo["top"]
    r = 1.5 * geo["px_per_x"]
    arr = np.asarray(shot).astype(int)[int(oy - r):int(oy + r), int(ox - r):int(ox + r)]
    ys, xs = np.nonzero(np.abs(arr - np.array(EARTH)).max(axis=2) < 40)
    assert len(xs) > 10, "no Earth disc on the slice"
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def test_colouring_changes_the_pixels_and_the_colour_bar_and_back(page, app_url, atlas):
    """Problem 1: each colouring repaints the slice (canvas pixels change to the product
    layer's colours), its colour bar says what it shows, and going back to the dominant regime
    restores the first picture with no colour bar left over. No page error on the way."""
    regime = big_regime(atlas)
    open_app(page, app_url, f"{QUERY}&regime={regime}")
    wait_for_slice(page)
    first = settled_shot(page)
    previous = first
    for option, (color, title) in COLOURINGS.items():
        choose(page, "Colour cells by", option)
        shot = settled_shot(page, previous)
        table = product_table(atlas, color, regime)
        shown = table[~table["empty"]]
        row = shown.loc[(shown["u1"] - shown["u0"]).idxmax()]  # the biggest: easy to hit
        assert_cell_colour(page, row, option)
        bar = text_of(page.locator(".atlas-colorbar").first)
        assert title in bar, f"{option}: colour bar says {bar!r}"
        previous = shot
    choose(page, "Colour cells by", "dominant regime")
    back = settled_shot(page, previous)
    assert not images_differ(back, first, min_fraction=0.002), "dominant colours not restored"
    assert page.locator(".atlas-colorbar:visible").count() == 0, "a stale colour bar stays"


def test_equal_aspect_faded_cells_and_outline_survive_a_click(page, app_url, atlas):
    """Problem 3: x and y keep one scale (px per R_E) and the Earth stays a circle; a click
    leaves faded and empty cells as they were and outlines the selected cell; a colour-mapped
    mode keeps the equal aspect too."""
    table = product_table(atlas)
    size = table["u1"] - table["u0"]
    open_app(page, app_url, QUERY)
    geo = wait_for_slice(page)
    settled_shot(page)
    assert geo["px_per_x"] == pytest.approx(geo["px_per_y"], rel=0.01)
    w, h = earth_box(page)
    assert abs(w - h) <= 2, f"Earth drawn {w} x {h} px"

    faded = table[(table["alpha"] < 1) & ~table["empty"]]
    empty = table[table["empty"]]
    assert len(faded) >= 2 and len(empty), "the test atlas needs faded and empty cells here"
    by_size = faded.assign(size=size).sort_values("size", ascending=False)
    target, other = by_size.iloc[0], by_size.iloc[1]
    blank = empty.loc[(empty["u1"] - empty["u0"]).idxmax()]
    # a faded cell is hatched too (never just a paler shade of a regime's family): inside it,
    # a good share of pixels are hatch lines, far from its fill over white
    shot, geo_now = frame_shot(page, SLICE)
    x0, y1 = data_to_page(page, SLICE, target.u0, target.v0)
    x1, y0 = data_to_page(page, SLICE, target.u1, target.v1)
    box = np.asarray(shot).astype(int)[int(y0 - geo_now["top"]) + 2:int(y1 - geo_now["top"]) - 2,
                                       int(x0 - geo_now["left"]) + 2:int(x1 - geo_now["left"]) - 2]
    fill = np.array(over_white(target.fill, target.alpha))
    hatched = float((np.abs(box - fill).max(axis=2) > 40).mean())
    assert hatched > 0.05, f"faded cell {target.leaf} not hatched ({hatched:.1%} of its pixels)"
    probes = {"faded": other, "empty": blank}
    for name, row in probes.items():
        assert_cell_colour(page, row, name)
    before = {k: pixel_at(page, SLICE, (r.u0 + r.u1) / 2, (r.v0 + r.v1) / 2)
              for k, r in probes.items()}

    px, py = data_to_page(page, SLICE, (target.u0 + target.u1) / 2, (target.v0 + target.v1) / 2)
    page.mouse.click(px, py)
    page.mouse.move(5, 5)  # the hover box would cover what the checks below look at
    wait_until(lambda: f"leaf {target.leaf} " in text_of(page.locator(".atlas-inspector").first),
               timeout=60, what="the inspector to show the clicked cell")
    page.wait_for_timeout(1500)
    after = figure_geometry(page, SLICE)
    assert after["px_per_x"] == pytest.approx(after["px_per_y"], rel=0.01)
    assert after["px_per_x"] == pytest.approx(geo["px_per_x"], rel=0.01), "the plot shrank"
    for k, r in probes.items():
        now = pixel_at(page, SLICE, (r.u0 + r.u1) / 2, (r.v0 + r.v1) / 2)
        assert colour_distance(now, before[k]) < 10, f"{k} cell changed colour {before[k]} -> {now}"
    # the outline: a dark line just inside the selected cell's left edge, at mid-height
    inset = 1.0 / after["px_per_x"]
    edge = pixel_at(page, SLICE, target.u0 + inset, (target.v0 + target.v1) / 2, size=3)
    assert max(edge) < 90, f"no outline on the selected cell (edge pixel {edge})"

    choose(page, "Colour cells by", "probability of a regime")
    settled_shot(page)
    geo = figure_geometry(page, SLICE)
    assert geo["px_per_x"] == pytest.approx(geo["px_per_y"], rel=0.01)
    w, h = earth_box(page)
    assert abs(w - h) <= 2, f"Earth drawn {w} x {h} px after a click and a colour change"
