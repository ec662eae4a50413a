"""What a reader can tell apart and read (issue 15, problem 8): family hues that differ for
normal and colour-blind vision, a legend grouped by family outside the data, labelled button
groups whose selected button stands out, features named with units, the data's time span and
storm days in the header, and a mean-Dst scale that is white at 0 nT.
"""

from __future__ import annotations

import numpy as np
import pytest
from colour_science import ciede2000, hex_to_srgb, min_pairwise_de, srgb_to_lab
from e2e_harness import SLICE, figure_geometry, image, open_app, show_tab, text_of, wait_until
from e2e_harness import shot as shot_of


def test_ciede2000_reproduces_the_published_test_pairs():
    """Sharma, Wu & Dalal (2005), Table 1: pairs 1, 17, 18, 19, 20 and 26."""
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
             ((50, 2.5, 0), (73, 25, -18), 27.1492), ((50, 2.5, 0), (61, -5, 29), 22.8977),
             ((50, 2.5, 0), (56, -27, -3), 31.9030), ((50, 2.5, 0), (58, 24, 15), 19.4535),
             ((84.25, 5.74, 96.0), (84.46, 8.88, 96.49), 1.6743)]
    for a, b, want in pairs:
        assert float(ciede2000(a, b)) == pytest.approx(want, abs=1e-4)
    # sRGB red in CIELAB (D65): L* 53.24, a* 80.09, b* 67.20
    np.testing.assert_allclose(srgb_to_lab(hex_to_srgb(["#FF0000"]))[0], [53.24, 80.09, 67.20],
                               atol=0.01)


def test_family_hues_differ_for_normal_and_dichromatic_vision():
    """Problem 8: every two regime families differ by CIEDE2000 >= 25 for normal vision and
    >= 12 with deuteranopia or protanopia simulated (Machado et al. 2009); the old palette had
    5.1 (sheath orange vs dayside olive, deuteranopia)."""
    from atlas_core.palette import load_palette

    bases = [f["shades"][0] for f in load_palette()["families"]]
    assert min_pairwise_de(bases)[0] >= 25
    assert min_pairwise_de(bases, "deuteranopia")[0] >= 12
    assert min_pairwise_de(bases, "protanopia")[0] >= 12


def test_regimes_of_one_atlas_are_told_apart_and_faded_cells_are_not_a_shade(atlas):
    """Within one atlas, any two regime colours differ (CIEDE2000 >= 7), and a faded cell
    (alpha over white) is never as close to another regime's colour as two regimes are."""
    from colour_science import faded

    from atlas_core.atlas.product import LOW_COUNT_ALPHA
    from atlas_core.palette import regime_colors

    colors = regime_colors(list(atlas.names))
    assert min_pairwise_de(colors)[0] >= 7
    assert len(set(colors)) == len(colors)
    lab = srgb_to_lab(hex_to_srgb(colors))
    pale = srgb_to_lab(hex_to_srgb([faded(c, LOW_COUNT_ALPHA) for c in colors]))
    for i in range(len(colors)):
        for j in range(len(colors)):
            if i != j:
                assert float(ciede2000(pale[i], lab[j])) > 7, (colors[i], colors[j])


def button_fill(page, button) -> tuple[int, int, int]:
    """The colour a button is filled with: the most common colour of its screenshot."""
    img = image(shot_of(button, page))
    return max(img.getcolors(img.width * img.height), key=lambda c: c[0])[1]


@pytest.mark.browser
def test_page_is_legible(page, app_url, atlas):
    """Problem 8 on screen: legend by family and outside the slice's data frame; labelled
    button groups with a clearly filled selected button; units in the regime table; the data's
    span and storm days in the header; mean Dst white at 0."""
    from atlas_core.atlas.timeline import data_span

    open_app(page, app_url)
    geo = wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    legend = page.locator(".atlas-legend").first
    box = legend.bounding_box()
    assert box["y"] + box["height"] <= geo["top"] or box["y"] >= geo["top"] + geo["height"]
    families = legend.locator(".atlas-family b").all_text_contents()
    assert len(families) >= 3 and "plasma sheet" in families
    # the figure's own legend (boundaries) lies outside its frame
    inside = page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-slice');
            const lv = [...v.renderer_views.values()].find(r => r.model.type === 'Legend');
            const f = v.frame.bbox, b = lv.bbox;
            return b.top < f.bottom && b.bottom > f.top && b.left < f.right && b.right > f.left;
        }""")
    assert not inside, "the boundary legend covers the data"
    # button groups: a label above each, the selected button filled
    for css, label in ((".atlas-plane", "Plane"), (".atlas-mode", "Condition by"),
                       (".atlas-boundaries", "Drawn for")):
        group = page.locator(css).first
        gbox = group.bounding_box()
        lbox = page.locator(".atlas-label", has_text=label).first.bounding_box()
        assert lbox and 0 <= gbox["y"] - (lbox["y"] + lbox["height"]) < 30, f"{label} not above"
        # the fill of the selected button (its most common colour) against an unselected one
        # (the darkest and lightest colours of the whole group are only text and background)
        selected = button_fill(page, group.locator(".bk-btn.bk-active").first)
        other = button_fill(page, group.locator(".bk-btn:not(.bk-active)").first)
        de = float(ciede2000(srgb_to_lab(np.array(selected) / 255),
                             srgb_to_lab(np.array(other) / 255)))
        assert de > 30, f"{label}: selected {selected} and other {other} buttons look alike (ΔE {de:.0f})"
    span = data_span(atlas.states, atlas.bins.storm_max)
    head = text_of(page.locator(".atlas-header").first)
    assert f"{span['start']:%Y-%m-%d} to {span['end']:%Y-%m-%d}" in head
    assert f"{span['n_storm_days']} storm days" in head
    show_tab(page, "Regimes")
    table = wait_until(lambda: text_of(page.locator(".atlas-summary").first), what="regime table")
    for header in ("n [cm⁻³]", "T [eV]", "|B| [nT]", "r [R_E]"):
        assert header in table
    for raw in ("beta_std", "abs_Vx", "x_gsm", "dist_mean"):
        assert raw not in table
    # mean Dst: a diverging scale symmetric about 0, white in the middle
    page.locator(".bk-input-group", has_text="Colour coverage by").locator("select").first.select_option(
        label="mean Dst")
    show_tab(page, "Orbital coverage")
    mapper = wait_until(lambda: page.evaluate(
        """() => {
            for (const doc of Bokeh.documents) for (const m of doc.all_models)
                if (m.type === 'LinearColorMapper')
                    if (m.low != null && m.low < 0) return {low: m.low, high: m.high,
                        mid: m.palette[Math.floor(m.palette.length / 2)]};
            return null;
        }"""), timeout=90, what="the mean-Dst colour mapper")
    assert mapper["low"] == pytest.approx(-mapper["high"])
    mid = mapper["mid"]
    rgb = hex_to_srgb([mid])[0] if isinstance(mid, str) else np.array(mid[:3]) / 255
    assert rgb.min() > 0.9, f"the middle of the Dst scale is {mid}, not white"
