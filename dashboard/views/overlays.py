"""Earth, magnetopause and bow-shock curves drawn over a plane (shared by several views)."""

from __future__ import annotations

import holoviews as hv

from ..palette import load_palette
from ..store import DataStore


def boundary_overlay(plane: str, offset: float, pdyn: float, bz: float) -> hv.Overlay:
    """Earth (filled) and the Shue (1998) magnetopause / Jelínek (2012) bow shock for the given
    solar-wind dynamic pressure (nPa) and IMF Bz (nT), cut by the plane at ``offset`` R_E."""
    pal = load_palette()
    curves = DataStore.boundary_curves(plane, offset, pdyn, bz)
    label = f"Pdyn {pdyn:g} nPa, Bz {bz:g} nT"
    earth = hv.Polygons([{"x": c[:, 0], "y": c[:, 1]} for c in curves["Earth"]], label="Earth").opts(
        color=pal["earth"], line_color="black", line_width=0.5, tools=[])
    mp = hv.Path([c for c in curves["magnetopause"]], label=f"magnetopause (Shue 1998; {label})").opts(
        color=pal["magnetopause"], line_width=2, line_dash="dashed")
    bs = hv.Path([c for c in curves["bow shock"]], label="bow shock (Jelínek 2012)").opts(
        color=pal["bow_shock"], line_width=2, line_dash="dotted")
    return earth * mp * bs
