"""Earth, magnetopause and bow-shock curves as a HoloViews overlay (the datashaded coverage
maps), in the palette's styles (the slices and the export use the same keys)."""

from __future__ import annotations

import holoviews as hv

from ..palette import load_palette
from ..store import DataStore
from .drawing import boundary_style


def boundary_overlay(plane: str, offset: float, pdyn: float, bz: float) -> hv.Overlay:
    """Earth (filled) and the Shue (1998) magnetopause / Jelínek (2012) bow shock for the given
    solar-wind dynamic pressure (nPa) and IMF Bz (nT), cut by the plane at ``offset`` R_E."""
    pal = load_palette()
    cuts = DataStore.boundary_cuts(plane, offset, pdyn, bz)
    earth = hv.Polygons([{"x": c[:, 0], "y": c[:, 1]} for c in cuts["earth"]]).opts(
        color=pal["earth"], line_color="black", line_width=0.5, tools=[])
    layers = [earth]
    for name in ("magnetopause", "bow_shock"):
        style = boundary_style(name)
        layers.append(hv.Path(list(cuts[name])).opts(
            color=style["line_color"], line_width=style["line_width"], line_dash=style["line_dash"]))
    return hv.Overlay(layers)
