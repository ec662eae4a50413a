"""Nowcast: the atlas conditioned on the solar wind and geomagnetic activity of one moment.

The latest values in a user's OMNI / Dst files (or the values at a given time, hourly as the
atlas' own states, :mod:`atlas_core.service.drivers`) become a nearest-neighbour
:class:`~atlas_core.atlas.product.Condition` over the drivers the atlas holds (IMF Bz, Pdyn,
V, Dst, dDst/dt, and SYM-H where the states carry it): the ``k`` states recorded under the most
similar conditions (TS07D-style, Sitnov et al. 2008) make the map. The result reports which
drivers were used, how many neighbours, and how far they spread (5/50/95 % of each driver over
the neighbours, their standardised distances), so a user sees how close the atlas' experience
is to "now". Every number comes from the product layer (:func:`~atlas_core.atlas.product.counts`,
:func:`~atlas_core.atlas.product.estimates`, :func:`~atlas_core.atlas.product.query_cells`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atlas_core.atlas.conditioning import DEFAULT_NEIGHBOURS, NEIGHBOUR_PARAMETERS
from atlas_core.atlas.errors import AtlasError
from atlas_core.service.drivers import NOWCAST_DRIVERS, drivers_at, read_drivers

PROBE_X_RE = (6.0, 8.0, 10.0, 12.0, 14.0, 16.0, -10.0, -15.0, -20.0)
"""Points on the Sun-Earth line (x, 0, 0) R_E reported in the nowcast JSON: for each, the cell
with data under the condition whose centre is nearest (within :data:`PROBE_RADIUS_RE`)."""
PROBE_RADIUS_RE = 3.0


@dataclass
class Nowcast:
    """A nowcast: the hour, the driver values, the condition they make, and its JSON record."""

    time: pd.Timestamp
    drivers: dict
    condition: object
    record: dict


def atlas_drivers(atlas) -> set[str]:
    """Names of :data:`NEIGHBOUR_PARAMETERS` the atlas' states hold values of."""
    cols = atlas.neighbours.columns
    return {n for n, (c, _) in NEIGHBOUR_PARAMETERS.items()
            if c in cols and np.isfinite(cols[c]).any()}


def condition_from_drivers(atlas, values: dict, k: int = DEFAULT_NEIGHBOURS,
                           parameters=NOWCAST_DRIVERS, have: set[str] | None = None):
    """The nearest-neighbour :class:`Condition` of driver ``values`` (``{name: {"value": v}}``
    or ``{name: v}``) over the ``parameters`` that both the values and the atlas have
    (``have``: :func:`atlas_drivers` when the caller already knows it, e.g. once per trajectory)."""
    from atlas_core.atlas.product import Condition

    have = atlas_drivers(atlas) if have is None else have
    target = {}
    for name in parameters:
        v = values.get(name)
        v = v.get("value") if isinstance(v, dict) else v
        if name in have and v is not None and np.isfinite(v):
            target[name] = float(v)
    if not target:
        raise AtlasError(
            "none of the drivers in the files ("
            + ", ".join(n for n in values if not n.startswith("_"))
            + ") is held by this atlas (" + (", ".join(sorted(have)) or "no driver columns")
            + "): nothing to condition on")
    return Condition(near=tuple(target.items()), k=int(k))


def nowcast(atlas, paths, time=None, k: int = DEFAULT_NEIGHBOURS,
            parameters=NOWCAST_DRIVERS) -> Nowcast:
    """Nowcast from driver files (``paths``: OMNI HRO CDF, OMNI2 text, Kyoto Dst), at ``time``
    (ISO, default the last hour all files cover)."""
    table = read_drivers(paths)
    values = drivers_at(table, time)
    hour = values.pop("_time")
    cond = condition_from_drivers(atlas, values, k, parameters)
    record = nowcast_record(atlas, cond, values, hour, table.attrs)
    return Nowcast(hour, values, cond, record)


def nowcast_record(atlas, cond, values: dict, hour, attrs: dict | None = None) -> dict:
    """The JSON-able nowcast: drivers, condition, neighbours and their spread, the map's
    regime mix, probabilities along the Sun-Earth line and the boundaries of the moment."""
    from atlas_core.atlas.product import counts, estimates, query_cells
    from atlas_core.physics.normalised import boundary_radii

    attrs = attrs or {}
    c = counts(atlas, cond)
    est = estimates(atlas, cond)
    _, dist = atlas.neighbours.select(cond.target, k=cond.k)
    summary = c.summary
    spread = {n: summary[n] for n in NEIGHBOUR_PARAMETERS if n in summary}
    dominant = est.dominant[est.leaves]
    share = np.bincount(dominant[dominant >= 0], minlength=atlas.k) / max(int((dominant >= 0).sum()), 1)
    probe = _probe_points(atlas, est.leaves)
    cells = query_cells(atlas, probe, cond, outside="nan")
    line = []
    for d in cells.to_dict("records"):
        top = int(d["dominant"])
        line.append({"cell_centre_re": [round(float(d[a]), 3) for a in "xyz"], "leaf": int(d["leaf"]), "windows": int(d["windows"]),
                     "n_eff": _f(d["n_eff"]), "low_count": bool(d["low_count"]),
                     "regime": atlas.names[top] if top >= 0 else None,
                     "p": _f(d[f"p_{top}"]) if top >= 0 else None,
                     "lo": _f(d[f"lo_{top}"]) if top >= 0 else None,
                     "hi": _f(d[f"hi_{top}"]) if top >= 0 else None})
    pdyn = values.get("sw_pdyn", {}).get("value")
    bz = values.get("imf_bz", {}).get("value")
    boundaries = None
    if pdyn is not None and bz is not None and pdyn > 0:
        r_mp, r_bs = boundary_radii(0.0, pdyn, bz)
        boundaries = {"subsolar_magnetopause_re": float(r_mp), "subsolar_bow_shock_re": float(r_bs),
                      "models": "Shue et al. 1998 magnetopause, Jelinek et al. 2012 bow shock"}
    return {
        "time": pd.Timestamp(hour).isoformat() + "Z",
        "synthetic_atlas": bool(atlas.synthetic),
        "atlas": str(atlas.atlas_dir),
        "files": attrs.get("sources", {}),
        "dst_source": attrs.get("dst_source"),
        "drivers": values,
        "condition": cond.to_dict(),
        "neighbours": {
            "k": int(c.n_states), "requested_k": int(cond.k), "n_effective": summary.get("n_effective"),
            "distance_sd": {"median": float(np.median(dist)), "max": float(np.max(dist))},
            "spread": spread,
        },
        "map": {"cells_with_data": int(est.leaves.size),
                "dominant_share": {atlas.names[j]: float(share[j]) for j in np.argsort(-share)
                                   if share[j] > 0}},
        "sun_earth_line": line,
        "boundaries": boundaries,
    }


def _probe_points(atlas, leaves: np.ndarray) -> np.ndarray:
    """Per :data:`PROBE_X_RE`, the centre of the nearest cell with data (or the point itself)."""
    centres = 0.5 * (atlas.octree.leaf_lo[leaves] + atlas.octree.leaf_hi[leaves])
    out = []
    for x in PROBE_X_RE:
        p = np.array([x, 0.0, 0.0])
        if centres.size:
            d = np.linalg.norm(centres - p, axis=1)
            i = int(np.argmin(d))
            p = centres[i] if d[i] <= PROBE_RADIUS_RE else p
        out.append(p)
    return np.array(out)


def _f(v) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
