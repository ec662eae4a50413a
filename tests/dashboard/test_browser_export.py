"""Boundaries and exports as a person sees them (issue 15, problems 6 and 7).

The boundary curves on screen are checked against the published Shue et al. (1998) stand-off
distance for the selection's median solar wind (computed here from the states); the exported
SVG against the screen: the same cell colours and opacities, the same colour-bar label, the same
line styles, and a file name that names the condition.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from e2e_harness import figure_geometry, open_app, text_of, wait_until

pytestmark = pytest.mark.browser

SLICE = "atlas-slice"
OFFSET = -0.5


def shue_r0(pdyn_npa: float, bz_nt: float) -> float:
    """Subsolar magnetopause distance, R_E (Shue et al. 1998, eq. 12)."""
    return (10.22 + 1.29 * np.tanh(0.184 * (bz_nt + 8.14))) * pdyn_npa ** (-1 / 6.6)


def screen_curves(page) -> dict:
    """What the slice draws for each boundary: its line dash and colour, and its largest x."""
    return page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-slice');
            const out = {};
            for (const r of v.model.renderers) {
                if (r.name !== 'magnetopause' && r.name !== 'bow_shock') continue;
                const xs = r.data_source.data.xs.flatMap(a => Array.from(a));
                // a property value, or {value: ...} where the property is vectorised
                const spec = r.glyph.line_dash;
                const dash = spec && spec.value !== undefined ? spec.value : spec;
                out[r.name] = {dashed: Array.isArray(dash) ? dash.length > 0 : dash !== 'solid',
                               color: r.glyph.line_color.value || r.glyph.line_color,
                               x_max: xs.length ? Math.max(...xs) : null};
            }
            return out;
        }""")


def screen_cells(page) -> set:
    """(fill, alpha) of the slice's cells that hold windows, as the browser has them."""
    rows = page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-slice');
            const d = v.model.renderers[0].data_source.data;
            return Array.from(d.fill).map((f, i) => [f, d.alpha[i], d.windows[i]]);
        }""")
    return {(f.lower(), round(float(a), 2)) for f, a, n in rows if n > 0}


def svg_cells(svg: str) -> set:
    """(fill, opacity) of the cell patches of an exported SVG (thin translucent outlines)."""
    out = set()
    for style in re.findall(r'style="([^"]*)"', svg):
        m = re.match(r"fill: (#[0-9a-f]{6});(?: fill-opacity: ([0-9.]+);)? stroke: #000000; "
                     r"stroke-opacity: 0.15", style)
        if m:
            out.add((m.group(1), round(float(m.group(2) or 1.0), 2)))
    return out


def svg_lines(svg: str) -> dict:
    """(colour, dashed) of the exported boundary curves."""
    found = {}
    for style in re.findall(r'style="(fill: none;[^"]*)"', svg):
        color = re.search(r"stroke: (#[0-9a-f]{6})", style)
        if color and "stroke-width: 1.2" in style:
            found[color.group(1)] = "stroke-dasharray" in style
    return found


def download(page, fmt: str, tmp_path):
    with page.expect_download(timeout=120_000) as info:
        page.locator(f".atlas-export-{fmt}").locator("button, a").first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_boundaries_follow_the_selection_median_unless_chosen(page, app_url, atlas):
    """Problem 6: by default the magnetopause is drawn for the selection's median Pdyn and
    IMF Bz (here the quiet windows'); chosen values override them."""
    states = atlas.states
    dst = states["dst"].to_numpy(dtype=float)
    quiet = np.abs(dst) <= atlas.bins.quiet_max
    pdyn = float(np.nanmedian(states["sw_pdyn"].to_numpy(dtype=float)[quiet]))
    bz = float(np.nanmedian(states["imf_bz_gsm"].to_numpy(dtype=float)[quiet]))
    open_app(page, app_url, f"?offset={OFFSET}&show=quiet")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    curves = wait_until(lambda: (c := screen_curves(page)) and c["magnetopause"]["x_max"] and c,
                        what="the boundary curves")
    assert curves["magnetopause"]["x_max"] == pytest.approx(shue_r0(pdyn, bz), abs=0.06)
    sidebar = text_of(page.locator(".bk-input-group", has_text="Solar-wind Pdyn").first)
    assert f"{round(pdyn, 2):g}" in sidebar
    open_app(page, app_url, f"?offset={OFFSET}&boundaries=chosen&pdyn=6&bz=-5")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    wait_until(lambda: abs(screen_curves(page)["magnetopause"]["x_max"] - shue_r0(6, -5)) < 0.06,
               what="the magnetopause for the chosen 6 nPa, -5 nT")


@pytest.mark.parametrize("option,color", [("entropy (bits)", "entropy"),
                                          ("windows per cell", "count")])
def test_export_draws_what_the_screen_shows(page, app_url, tmp_path, option, color):
    """Problem 7: the exported SVG holds the screen's cell colours and opacities, its colour
    bar label, and the boundaries in the screen's colours and line styles."""
    open_app(page, app_url, f"?offset={OFFSET}&color={color}")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    bar = wait_until(lambda: text_of(page.locator(".atlas-colorbar").first).strip(),
                     what="the colour bar")
    screen = wait_until(lambda: screen_cells(page), what="the slice cells")
    svg = download(page, "svg", tmp_path).read_text(encoding="utf-8")
    exported = svg_cells(svg)
    assert screen and screen <= exported, f"on screen only: {sorted(screen - exported)[:5]}"
    title = page.locator(".atlas-colorbar .atlas-cbar-title").first.text_content().strip()
    assert title and title in svg, f"colour bar {bar!r} not in the export"
    lines = svg_lines(svg)
    for name, curve in screen_curves(page).items():
        assert lines.get(curve["color"].lower()) == curve["dashed"], (name, curve, lines)


def test_export_file_names_name_the_condition(page, app_url, atlas, tmp_path):
    """Problem 7: all, quiet and storm exports of one plane get three names (none overwrites
    another). The storm range reaches the atlas' lowest Dst so that it selects windows."""
    storm_max = float(np.nanpercentile(atlas.states["dst"].to_numpy(dtype=float), 5))
    names = set()
    for show in ("all", "quiet", "storm"):
        open_app(page, app_url, f"?offset={OFFSET}&show={show}&storm=[-500,{storm_max:g}]")
        wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
        name = download(page, "png", tmp_path).name
        assert (show in name) if show != "all" else ("quiet" not in name and "storm" not in name)
        names.add(name)
    assert len(names) == 3, names
    if atlas.states["dst"].min() > -50:  # the default storm (Dst <= -50 nT) selects nothing
        open_app(page, app_url, f"?offset={OFFSET}&show=storm")
        note = wait_until(lambda: text_of(page.locator(".atlas-export-note").first).strip(),
                          what="the export note")
        assert "selects no window" in note
        assert page.locator(".atlas-export-png button").first.is_disabled()
