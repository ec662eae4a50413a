"""Boundaries and exports as a person sees them (issue 15, problems 6 and 7).

The boundary curves on screen are checked against the published Shue et al. (1998) stand-off
distance for the selection's median solar wind (computed here from the states); the exported
SVG against the screen: the same cell colours and opacities, the same colour-bar label, the same
line styles, and a file name that names the condition.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from e2e_harness import (
    OFFSET,
    SLICE,
    address,
    colour_distance,
    figure_geometry,
    image,
    open_app,
    shot,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.browser


def shue_r0(pdyn_npa: float, bz_nt: float) -> float:
    """Subsolar magnetopause distance, R_E (Shue et al. 1998, eq. 12)."""
    return (10.22 + 1.29 * np.tanh(0.184 * (bz_nt + 8.14))) * pdyn_npa ** (-1 / 6.6)


BOKEH_DASHES = {"solid": [], "dashed": [6], "dotted": [2, 4], "dotdash": [2, 4, 6, 4],
                "dashdot": [6, 4, 2, 4]}
"""Bokeh's named dash patterns (bokeh.core.property.dash_pattern.DashPattern)."""


def dash_kind(pattern) -> str:
    """"solid", "dashed", "dotted" or "dashdot" of a dash pattern: on/off lengths (an SVG
    stroke-dasharray, a BokehJS array; an odd list repeats) or a Bokeh name."""
    if isinstance(pattern, str):
        pattern = BOKEH_DASHES.get(pattern, pattern.split())
    seq = [float(x) for x in pattern]
    if not seq:
        return "solid"
    if len(seq) % 2:
        seq = seq * 2
    if len(seq) >= 4:
        return "dashdot"
    return "dotted" if seq[0] < seq[1] else "dashed"


def screen_curves(page) -> dict:
    """What the slice draws for each boundary: its dash kind (:func:`dash_kind`) and colour,
    and its largest x."""
    curves = page.evaluate(
        """() => {
            const v = Bokeh.index.query_one(x => x.model && x.model.name === 'atlas-slice');
            const out = {};
            for (const r of v.model.renderers) {
                if (r.name !== 'magnetopause' && r.name !== 'bow_shock') continue;
                const xs = r.data_source.data.xs.flatMap(a => Array.from(a));
                // a property value, or {value: ...} where the property is vectorised
                const spec = r.glyph.line_dash;
                const dash = spec && spec.value !== undefined ? spec.value : spec;
                out[r.name] = {dash: dash,
                               color: r.glyph.line_color.value || r.glyph.line_color,
                               x_max: xs.length ? Math.max(...xs) : null};
            }
            return out;
        }""")
    for curve in curves.values():
        curve["dash"] = dash_kind(curve["dash"])
    return curves


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
    """Colour -> dash kind (:func:`dash_kind`) of the exported boundary curves."""
    found = {}
    for style in re.findall(r'style="(fill: none;[^"]*)"', svg):
        color = re.search(r"stroke: (#[0-9a-f]{6})", style)
        if color and "stroke-width: 1.2" in style:
            dashes = re.search(r"stroke-dasharray: ([0-9.,\s]+)", style)
            found[color.group(1)] = dash_kind(re.split(r"[,\s]+", dashes.group(1).strip())
                                              if dashes else [])
    return found


BAR_POINTS = (0.03, 0.25, 0.5, 0.75, 0.97)
"""Where along a colour bar (low 0 to high 1) the screen and the export are compared."""


def screen_colorbar(page) -> list[tuple[int, int, int]]:
    """The colours a person sees along the slice's colour bar ramp (left = low)."""
    ramp = page.locator(".atlas-colorbar .atlas-cbar-ramp").first
    img = image(shot(ramp, page))
    y = img.height // 2
    return [img.getpixel((int(round(t * (img.width - 1))), y)) for t in BAR_POINTS]


def svg_colorbar(svg: str) -> list[tuple[int, int, int]]:
    """The colours along the exported colour bar (matplotlib embeds it as the one PNG image of
    the SVG, vertical, low at the bottom; ``scale(1 -1)`` in its transform: stored upside down)."""
    from PIL import Image

    m = re.search(r'<image[^>]*?href="data:image/png;base64,([^"]+)"[^>]*>', svg, re.S)
    assert m, "no colour bar image in the export"
    img = image(base64.b64decode(m.group(1)))
    if "scale(1 -1)" not in m.group(0):  # stored top-down: make row 0 the low end
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    x = img.width // 2
    return [img.getpixel((x, int(round(t * (img.height - 1))))) for t in BAR_POINTS]


def download(page, fmt: str, tmp_path):
    with page.expect_download(timeout=120_000) as info:
        page.locator(f".atlas-export-{fmt}").locator("button, a").first.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_boundaries_follow_the_selection_median_unless_chosen(page, app_url, atlas, tmp_path):
    """Problem 6: by default the magnetopause is drawn for the selection's median Pdyn and
    IMF Bz (the quiet windows', then the storm windows': a storm map must not show the
    quiet-time curve); chosen values override them. The export says which it shows."""
    states = atlas.states
    dst = states["dst"].to_numpy(dtype=float)
    quiet = np.abs(dst) <= atlas.bins.quiet_max
    pdyn = float(np.nanmedian(states["sw_pdyn"].to_numpy(dtype=float)[quiet]))
    bz = float(np.nanmedian(states["imf_bz_gsm"].to_numpy(dtype=float)[quiet]))
    # a storm range that selects windows in any atlas (the small one never reaches -50 nT)
    storm_max = float(np.nanpercentile(dst, 5))
    storm = (dst >= -500) & (dst <= storm_max)
    storm_r0 = shue_r0(float(np.nanmedian(states["sw_pdyn"].to_numpy(dtype=float)[storm])),
                       float(np.nanmedian(states["imf_bz_gsm"].to_numpy(dtype=float)[storm])))
    assert abs(storm_r0 - shue_r0(pdyn, bz)) > 0.2, "storm and quiet winds too alike to tell"
    open_app(page, app_url, f"?offset={OFFSET}&show=storm&storm=[-500,{storm_max:g}]")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    curves = wait_until(lambda: (c := screen_curves(page)) and c["magnetopause"]["x_max"] and c,
                        what="the boundary curves")
    assert curves["magnetopause"]["x_max"] == pytest.approx(storm_r0, abs=0.06), "storm map"
    open_app(page, app_url, f"?offset={OFFSET}&show=quiet")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    curves = wait_until(lambda: (c := screen_curves(page)) and c["magnetopause"]["x_max"] and c,
                        what="the boundary curves")
    assert curves["magnetopause"]["x_max"] == pytest.approx(shue_r0(pdyn, bz), abs=0.06)
    sidebar = text_of(page.locator(".bk-input-group", has_text="Solar-wind Pdyn").first)
    assert f"{round(pdyn, 2):g}" in sidebar
    # the export draws the same curves and says where their solar wind comes from
    svg = download(page, "svg", tmp_path).read_text(encoding="utf-8")
    assert "(median of the selection)" in svg and "(chosen)" not in svg
    open_app(page, app_url, f"?offset={OFFSET}&boundaries=chosen&pdyn=6&bz=-5")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    wait_until(lambda: abs(screen_curves(page)["magnetopause"]["x_max"] - shue_r0(6, -5)) < 0.06,
               what="the magnetopause for the chosen 6 nPa, -5 nT")
    svg = download(page, "svg", tmp_path).read_text(encoding="utf-8")
    assert "Pdyn 6 nPa, IMF Bz -5.0 nT (chosen)" in svg


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
    on_screen, exported_bar = screen_colorbar(page), svg_colorbar(svg)
    for t, a, b in zip(BAR_POINTS, on_screen, exported_bar, strict=True):
        assert colour_distance(a, b) < 25, f"colour bar at {t:.0%}: screen {a}, export {b}"
    lines = svg_lines(svg)
    for name, curve in screen_curves(page).items():
        assert lines.get(curve["color"].lower()) == curve["dash"], (name, curve, lines)


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
    # the name follows a condition chosen on the page, not only one given in the URL
    open_app(page, app_url, f"?offset={OFFSET}&show=all&storm=[-500,{storm_max:g}]")
    wait_until(lambda: figure_geometry(page, SLICE), what="the slice")
    page.locator(".atlas-show button", has_text="quiet").first.click()
    wait_until(lambda: "show=quiet" in address(page), timeout=60, what="the quiet condition")
    name = download(page, "png", tmp_path).name
    assert "quiet" in name, f"after choosing quiet on the page the export is named {name}"
    if atlas.states["dst"].min() > -50:  # the default storm (Dst <= -50 nT) selects nothing
        open_app(page, app_url, f"?offset={OFFSET}&show=storm")
        note = wait_until(lambda: text_of(page.locator(".atlas-export-note").first).strip(),
                          what="the export note")
        assert "selects no window" in note
        assert page.locator(".atlas-export-png button").first.is_disabled()
