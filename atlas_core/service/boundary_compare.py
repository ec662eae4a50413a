"""GSM atlas beside a boundary-normalised atlas: how mixed are the cells near the dayside
boundaries?

Both atlases must be built from the same states with the same regime model (``atlas build
--model M --coords gsm|normalised``), so that every difference comes from where the states are
placed. Per atlas, over the non-empty cells whose centre lies on the dayside (x > 0) within
``shell_re`` of the magnetopause or of the bow shock of the reference condition
(:data:`~atlas_core.physics.normalised.REFERENCE_PDYN_NPA`, ``REFERENCE_BZ_NT``; for the GSM
atlas these are the boundaries of a typical solar wind, for the normalised atlas exactly where
every state's own boundaries were mapped):

* ``entropy_bits``: the state-weighted mean entropy of the cells' regime probabilities (the
  product layer's estimates, all states);
* ``truth_purity``: the state-weighted mean, over the cells, of the share of the cell's states
  in its most common *truth* region (synthetic archive only; measured, never used to build);
* ``regime_purity``: the same for the regime codes (no truth needed).

The octree adapts to the data: a leaf holds at most 25 windows, which at the boundaries are
mostly the consecutive windows of one pass, taken under one solar wind, so leaves are pure in
either frame. The same measures are therefore also computed on a fixed grid of ``grid_re``
cubes (the same grid in both frames, cells with at least ``MIN_GRID_STATES`` windows; entropy of
the cell's window counts, plug-in): there a cell gathers many passes under different solar
winds, which is where a moving boundary mixes regimes.

A third measure needs no cells: ``side_agreement``, the share of the dayside windows within
``shell_re`` of the reference magnetopause (in each atlas' frame) that lie on the same side of
it as their truth region says (inside: the magnetospheric regions and the boundary layer).

``python -m atlas_core.service.boundary_compare GSM_ATLAS NORMALISED_ATLAS`` prints the tables.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from atlas_core.physics.normalised import REFERENCE_BZ_NT, REFERENCE_PDYN_NPA, boundary_radii

SHELL_RE = 1.5
"""Half-width of the shell around each reference boundary, R_E."""
GRID_RE = 1.0
"""Edge of the fixed comparison grid's cubes, R_E."""
MIN_GRID_STATES = 20
"""Grid cells with fewer windows are left out of the grid measures."""


def near_boundary_cells(centres: np.ndarray, shell_re: float = SHELL_RE) -> dict[str, np.ndarray]:
    """Masks of (L, 3) cell centres on the dayside within ``shell_re`` of the reference
    magnetopause and of the reference bow shock (keys ``magnetopause``, ``bow_shock``)."""
    r = np.linalg.norm(centres, axis=1)
    theta = np.arccos(np.clip(centres[:, 0] / np.maximum(r, 1e-9), -1, 1))
    r_mp, r_bs = boundary_radii(theta, REFERENCE_PDYN_NPA, REFERENCE_BZ_NT)
    day = centres[:, 0] > 0
    return {"magnetopause": day & (np.abs(r - r_mp) < shell_re),
            "bow_shock": day & (np.abs(r - r_bs) < shell_re)}


def _purity(leaf: np.ndarray, label: np.ndarray, n_leaves: int) -> tuple[np.ndarray, np.ndarray]:
    """Per leaf: states, and the share of them carrying the leaf's most common label."""
    codes, label_id = np.unique(label, return_inverse=True)
    table = np.bincount(leaf * codes.size + label_id,
                        minlength=n_leaves * codes.size).reshape(n_leaves, codes.size)
    n = table.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, np.where(n > 0, table.max(axis=1) / np.maximum(n, 1), np.nan)


def atlas_measures(atlas_dir, shell_re: float = SHELL_RE) -> list[dict]:
    """One row per boundary shell (and "either") of the measures in the module docstring."""
    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import Condition, estimates

    atlas = Atlas.open(atlas_dir)
    est = estimates(atlas, Condition())
    tree = atlas.octree
    centres = 0.5 * (tree.leaf_lo + tree.leaf_hi)
    masks = near_boundary_cells(centres, shell_re)
    masks["either"] = masks["magnetopause"] | masks["bow_shock"]
    cols = ["leaf", "code"] + (["region"] if "region" in atlas.states else [])
    st = atlas.states[cols]
    leaf = st["leaf"].to_numpy(np.int64)
    n, regime_purity = _purity(leaf, st["code"].to_numpy(), atlas.n_leaves)
    truth = (_purity(leaf, st["region"].astype(str).to_numpy(), atlas.n_leaves)[1]
             if "region" in st else np.full(atlas.n_leaves, np.nan))
    rows = []
    positions = _atlas_positions(atlas)
    rows += grid_measures(positions, st["code"].to_numpy(),
                          st["region"].astype(str).to_numpy() if "region" in st else None,
                          atlas.ds.attrs.get("coords", "gsm"), shell_re)
    for shell, mask in masks.items():
        sel = mask & (n > 0)
        w = n[sel].astype(float)
        rows.append({
            "coords": atlas.ds.attrs.get("coords", "gsm"), "cells_of": "octree leaves",
            "shell": shell, "cells": int(sel.sum()), "states": int(w.sum()),
            "median_cell_size_re": float(np.median(tree.leaf_size_re[sel])) if sel.any() else np.nan,
            "entropy_bits": _wmean(est.entropy[sel], w),
            "truth_purity": _wmean(truth[sel], w),
            "regime_purity": _wmean(regime_purity[sel], w),
        })
    for row in rows:
        row["atlas"] = str(atlas_dir)
    return rows


def _atlas_positions(atlas) -> np.ndarray:
    """(N, 3) positions of the atlas' states in the atlas' own frame (R_E)."""
    cols = ["x_norm", "y_norm", "z_norm"] if atlas.ds.attrs.get("coords") == "normalised" \
        else ["x_gsm", "y_gsm", "z_gsm"]
    return atlas.states[cols].to_numpy(np.float64)


def grid_measures(positions: np.ndarray, code: np.ndarray, region: np.ndarray | None,
                  coords: str, shell_re: float = SHELL_RE, grid_re: float = GRID_RE,
                  min_states: int = MIN_GRID_STATES) -> list[dict]:
    """The module's measures on a fixed grid of ``grid_re`` cubes (state-weighted means over
    the grid cells near each reference boundary holding ``min_states`` or more windows)."""
    cell = np.floor(positions / grid_re).astype(np.int64)
    keys, cell_id = np.unique(cell, axis=0, return_inverse=True)
    cell_id = cell_id.reshape(-1)
    m = keys.shape[0]
    n, regime_purity = _purity(cell_id, code, m)
    k = int(code.max()) + 1
    table = np.bincount(cell_id * k + code, minlength=m * k).reshape(m, k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = table / np.maximum(n, 1)[:, None]
        entropy = -np.where(q > 0, q * np.log2(np.where(q > 0, q, 1)), 0).sum(axis=1)
    truth = _purity(cell_id, region, m)[1] if region is not None else np.full(m, np.nan)
    masks = near_boundary_cells((keys + 0.5) * grid_re, shell_re)
    masks["either"] = masks["magnetopause"] | masks["bow_shock"]
    rows = []
    for shell, mask in masks.items():
        sel = mask & (n >= min_states)
        w = n[sel].astype(float)
        rows.append({"coords": coords, "cells_of": f"grid {grid_re:g} R_E", "shell": shell,
                     "cells": int(sel.sum()), "states": int(w.sum()),
                     "median_cell_size_re": grid_re,
                     "entropy_bits": _wmean(entropy[sel], w),
                     "truth_purity": _wmean(truth[sel], w),
                     "regime_purity": _wmean(regime_purity[sel], w)})
    return rows


def _wmean(v: np.ndarray, w: np.ndarray) -> float:
    ok = np.isfinite(v)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() and w[ok].sum() > 0 else float("nan")


INSIDE_REGIONS = ("boundary_layer", "dayside_magnetosphere", "inner_magnetosphere",
                  "plasma_sheet", "psbl", "lobe")
"""Truth regions inside the magnetopause (synthetic archive)."""


def side_agreement(atlas_dir, shell_re: float = SHELL_RE) -> dict:
    """Share of the dayside windows near the reference magnetopause placed on their truth
    side of it (see the module docstring); NaN without truth regions."""
    from atlas_core.atlas import Atlas

    atlas = Atlas.open(atlas_dir)
    pos = _atlas_positions(atlas)
    r = np.linalg.norm(pos, axis=1)
    theta = np.arccos(np.clip(pos[:, 0] / np.maximum(r, 1e-9), -1, 1))
    r_mp, _ = boundary_radii(theta, REFERENCE_PDYN_NPA, REFERENCE_BZ_NT)
    near = (pos[:, 0] > 0) & (np.abs(r - r_mp) < shell_re)
    if "region" not in atlas.states:
        return {"coords": atlas.ds.attrs.get("coords", "gsm"), "windows": int(near.sum()),
                "side_agreement": float("nan")}
    inside = atlas.states["region"].astype(str).isin(INSIDE_REGIONS).to_numpy()
    agree = (r < r_mp) == inside
    return {"coords": atlas.ds.attrs.get("coords", "gsm"), "windows": int(near.sum()),
            "side_agreement": float(agree[near].mean())}


def compare(gsm_dir, normalised_dir, shell_re: float = SHELL_RE) -> pd.DataFrame:
    """The measures of both atlases, one row per (atlas, shell)."""
    return pd.DataFrame(atlas_measures(gsm_dir, shell_re) + atlas_measures(normalised_dir, shell_re))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("gsm_atlas")
    ap.add_argument("normalised_atlas")
    ap.add_argument("--shell", type=float, default=SHELL_RE, help="shell half-width, R_E")
    args = ap.parse_args(argv)
    table = compare(args.gsm_atlas, args.normalised_atlas, args.shell)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns="atlas").round(3).to_string(index=False))
        sides = pd.DataFrame([side_agreement(a, args.shell)
                              for a in (args.gsm_atlas, args.normalised_atlas)])
        print(f"\ndayside windows within {args.shell:g} R_E of the reference magnetopause, on "
              "their truth side of it:")
        print(sides.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
