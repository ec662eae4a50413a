"""The cells' numbers at given positions (``atlas query``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from atlas_core.atlas.product.cells import estimates
from atlas_core.atlas.product.condition import as_condition


def query_cells(atlas, positions, cond=None, outside: str = "raise") -> pd.DataFrame:
    """The numbers of the cells at (M, 3) GSM positions (R_E) under a condition, one row each:
    ``x y z leaf windows n_eff low_count dominant entropy`` and ``p_<k> lo_<k> hi_<k>`` per
    regime. ``outside="nan"``: leaf -1 and NaN numbers for positions outside the atlas (else
    :class:`~atlas_core.atlas.errors.OutsideAtlasError`). ``attrs["condition"]``."""
    cond = as_condition(cond, atlas.bins)
    pos, leaf = atlas.locate(positions, outside)
    est = estimates(atlas, cond)
    inside = leaf >= 0
    safe = np.where(inside, leaf, 0)
    p, lo, hi = est.at(safe)
    frame = pd.DataFrame({"x": pos[:, 0], "y": pos[:, 1], "z": pos[:, 2], "leaf": leaf,
                          "windows": np.where(inside, est.n[safe], 0),
                          "n_eff": np.where(inside, est.n_eff[safe], np.nan),
                          "low_count": np.where(inside, est.low_count[safe], True),
                          "dominant": np.where(inside, est.dominant[safe], -1),
                          "entropy": np.where(inside, est.entropy[safe], np.nan)})
    blocks = {}
    for name, arr in (("p", p), ("lo", lo), ("hi", hi)):
        for j in range(arr.shape[1]):
            blocks[f"{name}_{j}"] = np.where(inside, arr[:, j], np.nan)
    frame = pd.concat([frame, pd.DataFrame(blocks)], axis=1)
    frame.attrs.update(condition=cond, names=list(atlas.names), min_count=est.min_count)
    return frame


def query_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-able records of :func:`query_cells`, regimes sorted by decreasing probability."""
    names = frame.attrs["names"]
    cond = frame.attrs["condition"].to_dict()
    k = len(names)
    out = []
    for row in frame.itertuples(index=False):
        d = row._asdict()
        p = np.array([d[f"p_{j}"] for j in range(k)])
        order = np.argsort(-np.nan_to_num(p, nan=-1.0), kind="stable")
        out.append({
            "position": [float(d["x"]), float(d["y"]), float(d["z"])], "leaf": int(d["leaf"]),
            "condition": cond, "count": int(d["windows"]), "n_eff": _f(d["n_eff"]),
            "low_count": bool(d["low_count"]), "dominant": int(d["dominant"]),
            "entropy_bits": _f(d["entropy"]),
            "regimes": [{"id": int(j), "name": names[j], "p": _f(d[f"p_{j}"]),
                         "lo": _f(d[f"lo_{j}"]), "hi": _f(d[f"hi_{j}"])} for j in order],
        })
    return out


def _f(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None
