"""The cell inspector and the captions say what the data hold (issue 15, problems 4 and 5).

Expected numbers come from the atlas in the test process (its product layer, its states), not
from the dashboard.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_harness import (
    OFFSET,
    SLICE,
    address,
    data_to_page,
    figure_geometry,
    frame_shot,
    hex_rgb,
    open_app,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.browser

STORM_RED = "#D1495B"  # the inspector's colour of the storm condition


def cells(atlas, cond=None):
    from atlas_core.atlas import product

    return product.slice_table(atlas, "xy", OFFSET, cond, "dominant", 0)


def js_source_lengths(page, figure: str) -> dict:
    """Rows of every data source a named figure draws (what the browser holds)."""
    return page.evaluate(
        """(name) => {
            const view = Bokeh.index.query_one(v => v.model && v.model.name === name);
            const out = {};
            view.model.renderers.forEach((r, i) => {
                const d = r.data_source.data; const k = Object.keys(d)[0];
                out[(r.name || 'r') + i] = k ? d[k].length : 0; });
            return out;
        }""", figure)


def test_a_cell_without_windows_under_a_condition_says_so_and_shows_no_prior(page, app_url,
                                                                             atlas):
    """Problem 4: a cell with windows in all but none under storm lists its windows and
    effective counts, says 'no windows' for storm and draws no storm bar or whisker (the prior
    is not data); the feature plots (opened on request) have one figure per feature, each with
    a unit and an axis that holds its boxes; the regime chart is tall enough to read."""
    from atlas_core.atlas import product

    table = cells(atlas)
    est_all = product.estimates(atlas, product.Condition())
    storm = product.counts(atlas, product.Condition.storm(atlas.bins), allow_empty=True)
    quiet = product.counts(atlas, product.Condition.quiet(atlas.bins), allow_empty=True)
    candidates = table[~table["empty"]]
    none_in_storm = [int(leaf) for leaf in candidates["leaf"]
                     if storm.windows_rows[storm.row[leaf]].sum() == 0
                     and quiet.windows_rows[quiet.row[leaf]].sum() > 0]
    assert none_in_storm, "the test atlas needs a cell with quiet but no storm windows"
    leaf = none_in_storm[0]
    open_app(page, app_url, f"?offset={OFFSET}&cell={leaf}")
    head = wait_until(lambda: text_of(page.locator(".atlas-inspector", has_text="leaf").first),
                      timeout=60, what="the inspector")
    assert f"leaf {leaf} " in head
    n, n_eff = int(est_all.n[leaf]), float(est_all.n_eff[leaf])
    assert f"{n} windows, {n_eff:.1f} effective counts" in head
    assert "no windows under this condition" in head.split("storm", 1)[1]
    table_text = text_of(page.locator(".atlas-inspector-table").first)
    assert "storm" not in table_text.split("regime")[0] + table_text.split("\n")[0]
    # the regime chart: storm draws nothing (pixels), the others do
    geo = wait_until(lambda: figure_geometry(page, "atlas-regime-bars"), what="the regime chart")
    assert geo["height"] >= 25 * atlas.k, f"regime chart only {geo['height']} px tall"
    shot, _ = frame_shot(page, "atlas-regime-bars")
    arr = np.asarray(shot).astype(int)
    red = np.abs(arr - np.array(hex_rgb(STORM_RED))).max(axis=2) < 12
    assert red.sum() == 0, f"{red.sum()} storm-coloured pixels in the regime chart"
    assert (np.abs(arr - np.array(hex_rgb("#3C8DD6"))).max(axis=2) < 12).sum() > 20, "no quiet bars"
    # the feature plots open on request (a card, closed until the user opens it): one box-plot
    # figure per feature, unit on its axis, boxes inside the axis range
    features = page.locator(".atlas-features").first
    assert features.is_visible() and not page.locator(".atlas-features-note").first.is_visible()
    features.locator(".card-header").first.click()
    for feature, unit in (("B_mean", "[nT]"), ("n_mean", "[cm⁻³]"), ("T_mean", "[eV]"),
                          ("V_mean", "[km/s]"), ("beta_mean", "β")):
        info = wait_until(lambda f=feature: page.evaluate(
            """(name) => {
                const v = Bokeh.index.query_one(x => x.model && x.model.name === name);
                if (!v || !(v.frame.bbox.width > 0)) return null;
                const d = v.model.renderers[0].data_source.data;
                if (!d.q05.length) return null;
                return {label: v.model.left[0].axis_label, lo: Math.min(...d.q05),
                        hi: Math.max(...d.q95), start: v.model.y_range.start,
                        end: v.model.y_range.end, n: d.q05.length};
            }""", f"atlas-feature-{f}"), what=f"the {feature} box plot")
        assert unit in info["label"], info
        assert info["n"] >= 1
        assert info["start"] <= info["lo"] and info["end"] >= info["hi"], f"{feature} clipped: {info}"


def test_hover_shows_windows_and_effective_counts(page, app_url, atlas):
    from atlas_core.atlas import product

    table = cells(atlas)
    row = table[~table["empty"]].assign(size=table["u1"] - table["u0"]).sort_values("size").iloc[-1]
    est = product.estimates(atlas, product.Condition())
    open_app(page, app_url, f"?offset={OFFSET}")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    page.wait_for_timeout(1000)
    px, py = data_to_page(page, SLICE, (row.u0 + row.u1) / 2, (row.v0 + row.v1) / 2)
    page.mouse.move(px, py)
    tip = wait_until(lambda: text_of(page.locator(".bk-Tooltip").first), timeout=30,
                     what="the hover")
    assert f"{int(est.n[row.leaf])} windows" in tip
    assert f"{est.n_eff[row.leaf]:.1f} effective counts" in tip
    assert row.regime in tip


def test_a_click_on_empty_space_selects_nothing(page, app_url, atlas):
    """Problem 4: a click where no window ever was (an empty cell, or outside the octree)
    leaves the inspector empty."""
    table = cells(atlas)
    empty = table[table["empty"]].assign(size=table["u1"] - table["u0"]).sort_values("size").iloc[-1]
    open_app(page, app_url, f"?offset={OFFSET}")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    page.wait_for_timeout(1000)
    for u, v in (((empty.u0 + empty.u1) / 2, (empty.v0 + empty.v1) / 2), (13.5, 13.5)):
        px, py = data_to_page(page, SLICE, u, v)
        page.mouse.click(px, py)
        page.wait_for_timeout(2500)
        assert "No cell selected" in text_of(page.locator(".atlas-inspector").first)
        url = address(page)
        assert "cell=" not in url or "cell=-1" in url, url


def test_nearest_neighbour_caption_states_what_the_neighbours_span(page, app_url, atlas):
    """Problem 5: the caption of a nearest-neighbour map gives the Dst (and driver) range its
    neighbours actually cover, computed here from the states the atlas selects."""
    k, dst, ddst = 500, -80.0, -5.0
    idx = np.asarray(atlas.select_near(k=k, dst=dst, ddst=ddst))
    got = atlas.states["dst"].to_numpy(dtype=float)[idx]
    p05, p50, p95 = np.percentile(got[np.isfinite(got)], [5, 50, 95])
    open_app(page, app_url, f"?mode=nearest&dst={dst:g}&ddst={ddst:g}&k={k}")
    caption = wait_until(lambda: text_of(page.locator(".atlas-slice-caption").first), timeout=60,
                         what="the caption")
    wait_until(lambda: "neighbours span" in text_of(page.locator(".atlas-slice-caption").first),
               timeout=60, what="the neighbours' span in the caption")
    caption = text_of(page.locator(".atlas-slice-caption").first)
    want = f"Dst {p05:.3g} to {p95:.3g} nT (median {p50:.3g})".replace("-", "−")
    assert want in caption, caption
