"""Boundary-normalised positions: where a state was relative to the magnetopause and bow shock
of its own moment.

The magnetopause and bow shock move with the solar wind by several Earth radii within hours, so
a fixed GSM cell near the dayside boundaries mixes magnetosphere, magnetosheath and solar wind
depending on the driving at the time. Region catalogues built from many missions therefore
place each measurement relative to the boundaries of its moment (e.g. Nguyen et al. 2022, JGR
127, e2021JA029773; Jelínek et al. 2012). For a position at angle ``theta`` from +X GSM and
geocentric distance ``r`` (R_E), with the magnetopause ``r_mp(theta)`` of Shue et al. (1998) at
that time's IMF Bz and dynamic pressure and the bow shock ``r_bs(theta)`` of Jelínek et al.
(2012) at that pressure:

* ``r_over_rmp = r / r_mp``: < 1 inside the magnetopause, 1 on it;
* ``sheath_fraction = (r - r_mp) / (r_bs - r_mp)``: 0 on the magnetopause, 1 on the bow shock,
  negative inside, > 1 upstream (NaN where the model bow shock does not lie outside the model
  magnetopause, far down the tail).

For an octree in these coordinates, :func:`reference_positions` maps every position onto the
boundaries of one *reference* condition (default 2 nPa, Bz = 0 nT), radially along its own
direction, piecewise so that the three zones keep their identity:

* inside the magnetopause, ``r' = r_mp,ref * (r / r_mp)`` (``r_over_rmp`` is preserved);
* in the sheath, ``r' = r_mp,ref + f (r_bs,ref - r_mp,ref)`` (``sheath_fraction`` ``f`` is
  preserved);
* upstream, ``r' = r_bs,ref * (r / r_bs)``.

The map is continuous and monotonic in ``r`` along each direction, and the identity when the
condition equals the reference. Positions stay in R_E, so the octree's cell sizes, slices and
drawn reference boundaries keep their meaning ("GSM as if the solar wind had been the
reference").
"""

from __future__ import annotations

import numpy as np

from .boundaries import bow_shock_jelinek2012, dynamic_pressure_npa, magnetopause_shue1998

REFERENCE_PDYN_NPA = 2.0
"""Reference dynamic pressure of the normalised frame, nPa (a typical quiet solar wind)."""
REFERENCE_BZ_NT = 0.0
"""Reference IMF Bz (GSM) of the normalised frame, nT."""
PDYN_VALID_NPA = (0.1, 50.0)
"""Dynamic pressures accepted as measurements, nPa; outside (or NaN) a state is not normalised."""

__all__ = [
    "REFERENCE_BZ_NT",
    "REFERENCE_PDYN_NPA",
    "boundary_radii",
    "normalised_coordinates",
    "reference_positions",
    "state_drivers",
]


def boundary_radii(theta_rad, pdyn_npa, bz_nt) -> tuple[np.ndarray, np.ndarray]:
    """Magnetopause (Shue et al. 1998) and bow-shock (Jelínek et al. 2012) distances, R_E, along
    directions at ``theta_rad`` from +X, for dynamic pressure ``pdyn_npa`` (nPa) and IMF Bz GSM
    ``bz_nt`` (nT). Broadcasts. ``inf`` where a surface is open (straight down the tail)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r_mp = magnetopause_shue1998(theta_rad, bz_nt, pdyn_npa)
        r_bs = bow_shock_jelinek2012(theta_rad, pdyn_npa)
    return np.asarray(r_mp, dtype=float), np.asarray(r_bs, dtype=float)


def _geometry(pos_gsm) -> tuple[np.ndarray, np.ndarray]:
    pos = np.asarray(pos_gsm, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"positions must have shape (N, 3) GSM R_E, got {pos.shape}")
    r = np.linalg.norm(pos, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arccos(np.clip(pos[:, 0] / r, -1.0, 1.0))
    return r, np.where(r > 0, theta, 0.0)


def _valid(pdyn, bz) -> np.ndarray:
    lo, hi = PDYN_VALID_NPA
    return np.isfinite(pdyn) & np.isfinite(bz) & (pdyn >= lo) & (pdyn <= hi)


def normalised_coordinates(pos_gsm, pdyn_npa, bz_nt) -> dict[str, np.ndarray]:
    """Per position (N, 3) GSM R_E and its moment's ``pdyn_npa`` (nPa) and ``bz_nt`` (nT):

    ``r_over_rmp`` (r / r_mp), ``sheath_fraction`` ((r - r_mp) / (r_bs - r_mp)), ``r_mp_re`` and
    ``r_bs_re`` (the boundary distances along the position's direction, R_E). NaN where the
    driver is missing or outside :data:`PDYN_VALID_NPA`; ``sheath_fraction`` NaN where the
    model bow shock is not outside the model magnetopause.
    """
    r, theta = _geometry(pos_gsm)
    pdyn = np.broadcast_to(np.asarray(pdyn_npa, dtype=float), r.shape)
    bz = np.broadcast_to(np.asarray(bz_nt, dtype=float), r.shape)
    ok = _valid(pdyn, bz)
    r_mp = np.full(r.shape, np.nan)
    r_bs = np.full(r.shape, np.nan)
    r_mp[ok], r_bs[ok] = boundary_radii(theta[ok], pdyn[ok], bz[ok])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = r / r_mp
        width = r_bs - r_mp
        frac = np.where(np.isfinite(width) & (width > 0), (r - r_mp) / width, np.nan)
    return {"r_over_rmp": ratio, "sheath_fraction": frac, "r_mp_re": r_mp, "r_bs_re": r_bs}


def reference_positions(pos_gsm, pdyn_npa, bz_nt, *, ref_pdyn_npa: float = REFERENCE_PDYN_NPA,
                        ref_bz_nt: float = REFERENCE_BZ_NT) -> tuple[np.ndarray, np.ndarray]:
    """Positions mapped onto the reference condition's boundaries (see the module docstring),
    R_E, and a (N,) bool saying which were mapped: a position whose driver is missing or
    invalid is returned unchanged (as if the solar wind had been the reference)."""
    pos = np.asarray(pos_gsm, dtype=np.float64)
    r, theta = _geometry(pos)
    coords = normalised_coordinates(pos, pdyn_npa, bz_nt)
    r_mp, r_bs = coords["r_mp_re"], coords["r_bs_re"]
    ref_mp, ref_bs = boundary_radii(theta, ref_pdyn_npa, ref_bz_nt)
    mapped = np.isfinite(r_mp) & (r > 0)
    new_r = r.copy()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        inside = mapped & (r <= r_mp)
        new_r[inside] = (ref_mp * coords["r_over_rmp"])[inside]
        # the sheath needs both surfaces closed along this direction, and in the same order
        closed = mapped & np.isfinite(r_bs) & np.isfinite(ref_bs) & (r_bs > r_mp) & (ref_bs > ref_mp)
        sheath = closed & (r > r_mp) & (r <= r_bs)
        new_r[sheath] = (ref_mp + coords["sheath_fraction"] * (ref_bs - ref_mp))[sheath]
        upstream = closed & (r > r_bs)
        new_r[upstream] = (ref_bs * r / r_bs)[upstream]
        # outside an open magnetopause with no closed bow shock (far tail flanks): scale by
        # the magnetopause alone, which keeps the map continuous at r_mp
        rest = mapped & (r > r_mp) & ~closed
        new_r[rest] = (ref_mp * coords["r_over_rmp"])[rest]
    scale = np.where(r > 0, new_r / np.where(r > 0, r, 1.0), 1.0)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    return pos * scale[:, None], mapped


def state_drivers(states) -> tuple[np.ndarray, np.ndarray]:
    """``(pdyn_npa, bz_nt)`` of each state of a state table: OMNI's flow pressure ``sw_pdyn``
    where present (else ``m_p n V^2`` from ``sw_n``, ``sw_v`` with
    :func:`atlas_core.physics.boundaries.dynamic_pressure_npa`) and ``imf_bz_gsm``; NaN when the
    table has no OMNI columns."""
    n = len(states)
    nan = np.full(n, np.nan)
    pdyn = states["sw_pdyn"].to_numpy(np.float64) if "sw_pdyn" in states else nan.copy()
    if "sw_n" in states and "sw_v" in states:
        fallback = dynamic_pressure_npa(states["sw_n"].to_numpy(np.float64),
                                        states["sw_v"].to_numpy(np.float64))
        pdyn = np.where(np.isfinite(pdyn), pdyn, fallback)
    bz = states["imf_bz_gsm"].to_numpy(np.float64) if "imf_bz_gsm" in states else nan.copy()
    return pdyn, bz
