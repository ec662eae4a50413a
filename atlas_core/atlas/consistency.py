"""Cross-mission consistency: do two missions that sample the same places see the same regimes?

For a pair of missions A and B, the states of each are counted per octree leaf and regime as
independent looks (the atlas' effective counts, contract C2: :meth:`Atlas.counts_of`: each pass
of a spacecraft through a cell counts ``m / (1 + (m - 1) rho)`` for its ``m`` windows), then
summed over **comparison cells** of ``cell_re`` (the octree's 2 R_E root cells by default: a
leaf holds at most a few dozen windows, too few for two missions to have several passes each).
In each comparison cell a Dirichlet posterior (symmetric prior ``alpha``, no pooling across
cells, so neither side borrows from the other) gives each regime's probability and its
equal-tailed ``level`` credible interval (Beta marginal). In the cells where both hold at least
``min_effective`` looks, the two are compared:

- ``overlap``: fraction of (cell, regime) pairs whose two credible intervals overlap;
- ``cells_agree``: fraction of cells where every regime's intervals overlap;
- ``dominant_agree``: fraction of cells with the same most probable regime;
- ``tv_median``/``tv_p90``: total-variation distance 0.5 sum_k |p_A - p_B| between the mixes.

A number alone does not say whether the missions agree "within the intervals": the same figures
are computed for **null pairs**, one mission's states split in two halves by alternate blocks
of whole days (so that one orbit pass is not in both halves): alternate days (the halves share
seasons and solar-wind episodes, the most optimistic null) and alternate four-week blocks (like
two missions that visit a cell at different times of year). In a synthetic atlas the same
figures are given for the truth regions (``truth_*``) and for the regimes within each truth
region (``given_truth_*``): where the truth mixes of two samplings differ as much as their
regime mixes, the difference is where and when each sampled, not the regimes. That the
readers themselves are harmonised is tested apart: one plasma written as MMS, Cluster and
THEMIS files gives the same states (tests/missions/test_harmonised.py).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from atlas_core.atlas.coverage import missions_in, state_columns

DEFAULT_MIN_EFFECTIVE = 10.0
"""Independent looks each side needs in a comparison cell for the cell to be compared."""


def comparison_cell(atlas, cell_re: float | None = None) -> np.ndarray:
    """(L,) comparison cell of every leaf: the octree root cell (``cell_re`` None), or the cube
    of ``cell_re`` = base size x 2^m (m may be negative: finer cells) holding it. A leaf larger
    than a finer comparison cell cannot be placed in one: -1."""
    tree = atlas.octree
    level = tree.leaf_level.astype(np.int64)
    m = 0 if cell_re is None else int(round(np.log2(cell_re / tree.base_size_re)))
    if cell_re is not None and not np.isclose(tree.base_size_re * 2.0**m, cell_re):
        raise ValueError(f"cell_re must be {tree.base_size_re:g} R_E times a power of 2")
    # leaf coordinates on the grid of the comparison cells (level -m below the root grid)
    shift = level + m
    ok = shift >= 0
    ijk = tree.leaf_ijk >> np.where(ok, shift, 0)[:, None]
    shape = tree.root_shape * 2 ** max(-m, 0) if m <= 0 else -(-tree.root_shape // 2**m)
    out = np.ravel_multi_index(np.clip(ijk, 0, shape - 1).T, tuple(shape))
    return np.where(ok, out, -1)


def cell_posterior(effective: np.ndarray, cell: np.ndarray, alpha: float, level: float):
    """``(cells, p, lo, hi, n)``: effective counts (L, K) summed per comparison cell, and their
    Dirichlet posterior mean and credible bounds (K per cell), n = looks per cell."""
    from atlas_core.atlas.posterior import beta_quantiles

    use = cell >= 0
    cells, inv = np.unique(cell[use], return_inverse=True)
    k = effective.shape[1]
    e = np.zeros((cells.size, k))
    np.add.at(e, inv.ravel(), effective[use])
    n = e.sum(axis=1)
    a = e + alpha
    b = (n[:, None] + k * alpha) - a
    lo, hi = beta_quantiles(a, b, (1 - level) / 2, (1 + level) / 2)
    return cells, a / (n[:, None] + k * alpha), lo, hi, n


def _looks(atlas, rows: np.ndarray, labels: np.ndarray, n_labels: int, cell: np.ndarray
           ) -> np.ndarray:
    """(L, n_labels) independent looks of the states ``rows`` per leaf and label: the atlas'
    pass weights ``1 / (1 + (m - 1) rho)`` (m = the pass's selected windows), as
    :meth:`Atlas.counts_of` counts regimes, here for any label (regime or truth region)."""
    from atlas_core.atlas.passes import effective_counts

    cols = state_columns(atlas)
    rows = np.sort(np.asarray(rows, dtype=np.int64))
    leaf = cols["leaf"].to_numpy(np.int64)[rows]
    _, pid = np.unique(_pass_id(atlas)[rows], return_inverse=True)
    key = leaf * n_labels + np.asarray(labels, dtype=np.int64)[rows]
    return effective_counts(key, pid.ravel(), atlas.n_leaves * n_labels,
                            float(atlas.sampling.rho)).reshape(atlas.n_leaves, n_labels)


def _pass_id(atlas) -> np.ndarray:
    from atlas_core.atlas.product import cache_of

    def load():
        return pd.read_parquet(atlas.atlas_dir / "states.parquet", columns=["pass_id"])[
            "pass_id"].to_numpy(np.int64)

    return cache_of(atlas).get(("consistency", "pass_id"), load)


def _truth(atlas) -> tuple[np.ndarray, list[str]] | None:
    """(N,) truth region code of every state and the region names (synthetic atlases)."""
    import pyarrow.parquet as pq

    from atlas_core.atlas.product import cache_of

    def load():
        path = atlas.atlas_dir / "states.parquet"
        if "region" not in pq.read_schema(path).names:
            return None
        cat = pd.Categorical(pd.read_parquet(path, columns=["region"])["region"].astype(str))
        return cat.codes.astype(np.int64), [str(c) for c in cat.categories]

    return cache_of(atlas).get(("consistency", "truth"), load)


def compare_selections(atlas, a: np.ndarray, b: np.ndarray,
                       min_effective: float = DEFAULT_MIN_EFFECTIVE,
                       cell_re: float | None = None, labels: str = "regime") -> dict:
    """Agreement figures between the mixes of state selections ``a`` and ``b`` (index arrays
    into the state table) in the comparison cells both cover with ``min_effective`` looks (see
    the module docstring). ``labels``: ``"regime"`` (the atlas' codes) or ``"truth"`` (the
    synthetic archive's truth regions: how much two samplings of one truth differ)."""
    if labels == "regime":
        lab, n_lab = state_columns_codes(atlas), atlas.k
    else:
        truth = _truth(atlas)
        if truth is None:
            return {"cells": 0}
        lab, n_lab = truth[0], len(truth[1])
    cell = comparison_cell(atlas, cell_re)
    alpha, level = float(atlas.alpha), float(atlas.level)
    _, pa_, loa, hia, na = cell_posterior(_looks(atlas, a, lab, n_lab, cell), cell, alpha, level)
    _, pb_, lob, hib, nb = cell_posterior(_looks(atlas, b, lab, n_lab, cell), cell, alpha, level)
    both = np.flatnonzero((na >= min_effective) & (nb >= min_effective))
    if both.size == 0:
        return {"cells": 0}
    overlap = (loa[both] <= hib[both]) & (lob[both] <= hia[both])
    tv = 0.5 * np.abs(pa_[both] - pb_[both]).sum(axis=1)
    return {
        "cells": int(both.size),
        "looks_a": float(np.median(na[both])),
        "looks_b": float(np.median(nb[both])),
        "overlap": float(overlap.mean()),
        "cells_agree": float(overlap.all(axis=1).mean()),
        "dominant_agree": float((pa_[both].argmax(1) == pb_[both].argmax(1)).mean()),
        "tv_median": float(np.median(tv)),
        "tv_p90": float(np.quantile(tv, 0.9)),
    }


def state_columns_codes(atlas) -> np.ndarray:
    """(N,) regime code of every state (the atlas' state table)."""
    from atlas_core.atlas.product import cache_of

    return cache_of(atlas).get(("consistency", "code"), lambda: pd.read_parquet(
        atlas.atlas_dir / "states.parquet", columns=["code"])["code"].to_numpy(np.int64))


NULL_BLOCK_DAYS = (1, 28)
"""Block lengths (days) of the same-mission nulls: alternate days (the two halves share the
season and the multi-day solar-wind episodes) and alternate four-week blocks (they do not, as
two missions visiting a cell at different times of year do not)."""


def _block_halves(times: np.ndarray, rows: np.ndarray, days: int) -> tuple[np.ndarray, np.ndarray]:
    block = times[rows].astype("datetime64[D]").astype(np.int64) // int(days)
    return rows[block % 2 == 0], rows[block % 2 == 1]


def mission_consistency(atlas, min_effective: float = DEFAULT_MIN_EFFECTIVE,
                        cell_re: float | None = None,
                        null_block_days=NULL_BLOCK_DAYS) -> pd.DataFrame:
    """One row per mission pair (``kind`` "cross-mission") and per mission split in alternate
    blocks of days (``kind`` "null: same mission, alternate N-day blocks", N in
    ``null_block_days``), with the figures of
    :func:`compare_selections` for the regimes and, in a synthetic atlas, the same for the
    truth regions (columns ``truth_*``): where the truth mixes of two samplings differ as much
    as the regime mixes, the difference is where and when each sampled, not the regimes."""
    df = state_columns(atlas)
    missions = missions_in(atlas)
    mission = df["mission"].astype(str).to_numpy()
    times = df["time"].to_numpy("datetime64[ns]")
    rows = {m: np.flatnonzero(mission == m) for m in missions}
    pairs = [("cross-mission", a, b, rows[a], rows[b]) for a, b in combinations(missions, 2)]
    for days in null_block_days:
        for m in missions:
            even, odd = _block_halves(times, rows[m], days)
            what = "days" if days == 1 else f"{days}-day blocks"
            pairs.append((f"null: same mission, alternate {what}", f"{m} even {what}",
                          f"{m} odd {what}", even, odd))
    truth = _truth(atlas)
    out = []
    keys = ("cells", "overlap", "cells_agree", "dominant_agree", "tv_median")
    for kind, a, b, ra, rb in pairs:
        row = {"kind": kind, "a": a, "b": b,
               **compare_selections(atlas, ra, rb, min_effective, cell_re)}
        if truth is not None:
            t = compare_selections(atlas, ra, rb, min_effective, cell_re, labels="truth")
            row.update({f"truth_{k}": v for k, v in t.items() if k in keys})
            row.update({f"given_truth_{k}": v for k, v in _given_truth(
                atlas, ra, rb, truth[0], min_effective, cell_re).items() if k in keys})
        out.append(row)
    return pd.DataFrame(out)


def _given_truth(atlas, a, b, region, min_effective, cell_re) -> dict:
    """The regime figures within (comparison cell, truth region) pairs: two samplings of the
    same region in the same place should get the same regimes if the features are harmonised,
    whatever share of the region each sampled."""
    parts = []
    for r in np.unique(region):
        res = compare_selections(atlas, a[region[a] == r], b[region[b] == r], min_effective,
                                 cell_re)
        if res.get("cells"):
            parts.append(res)
    if not parts:
        return {"cells": 0}
    w = np.array([p["cells"] for p in parts], dtype=float)
    out = {"cells": int(w.sum())}
    for k in ("overlap", "cells_agree", "dominant_agree", "tv_median"):
        out[k] = float(np.sum(w * np.array([p[k] for p in parts])) / w.sum())
    return out


def feature_medians_in_common_cells(atlas, features=("n_mean", "T_mean", "B_mean", "V_mean"),
                                    min_states: int = 30, cell_re: float | None = None
                                    ) -> pd.DataFrame:
    """Per mission, the median of some features over its states in the comparison cells
    (:func:`comparison_cell`) every mission covers with at least ``min_states`` states:
    instrument differences show up here (DESIGN.md §12). Reads the feature columns of the
    atlas' state table."""
    cols = state_columns(atlas)
    missions = missions_in(atlas)
    cell = comparison_cell(atlas, cell_re)[cols["leaf"].to_numpy(np.int64)]
    mission = cols["mission"].astype(str).to_numpy()
    ok = cell >= 0
    uniq = np.unique(cell[ok])
    counts = np.stack([np.bincount(np.searchsorted(uniq, cell[ok & (mission == m)]),
                                   minlength=uniq.size) for m in missions], axis=1)
    common = uniq[(counts >= min_states).all(axis=1)]
    inside = np.isin(cell, common)
    st = pd.read_parquet(atlas.atlas_dir / "states.parquet", columns=list(features))
    rows = []
    for m in missions:
        sel = inside & (mission == m)
        rows.append({"mission": m, "states": int(sel.sum()), "cells": int(common.size),
                     **{f: float(st.loc[sel, f].median()) if sel.any() else np.nan
                        for f in features}})
    return pd.DataFrame(rows)


def real_versus_atlas(atlas, states: pd.DataFrame,
                      features=("n_mean", "T_mean", "B_mean", "V_mean")) -> dict:
    """Where new (e.g. real) states fall in an atlas: per source, the feature medians over the
    cells those states occupy (the new states; the atlas' own states of each mission in the
    same cells), and the regime mix of the new states (assigned by the atlas' model) beside the
    atlas' estimated mix of those cells (weighted by the new states per cell), with their total
    variation distance. ``states``: a state table (positions GSM, FEATURES)."""
    from atlas_core.atlas.coverage import state_columns

    pos = states[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(np.float64)
    leaf = atlas.octree.locate(pos)
    inside = leaf >= 0
    new = states[inside].reset_index(drop=True)
    leaf = leaf[inside]
    cells = np.unique(leaf)
    own = state_columns(atlas)
    in_cells = np.isin(own["leaf"].to_numpy(), cells)
    st = pd.read_parquet(atlas.atlas_dir / "states.parquet", columns=list(features))
    label = "new states" + (f" ({', '.join(sorted(set(new['mission'].astype(str))))})"
                            if "mission" in new else "")
    rows = [{"source": label, "states": len(new),
             **{f: float(new[f].median()) for f in features}}]
    for m in missions_in(atlas):
        sel = in_cells & (own["mission"].astype(str).to_numpy() == m)
        rows.append({"source": f"atlas {m}", "states": int(sel.sum()),
                     **{f: float(st.loc[sel, f].median()) if sel.any() else np.nan
                        for f in features}})
    codes, _ = atlas.model.assign(new)
    k = atlas.k
    mix_new = np.bincount(codes, minlength=k) / max(len(codes), 1)
    windows, effective = atlas.counts_of(None)
    p = atlas.estimate(windows, effective).p
    weight = np.bincount(np.searchsorted(cells, leaf), minlength=cells.size).astype(float)
    mix_atlas = (p[cells] * weight[:, None]).sum(axis=0) / weight.sum()
    regimes = pd.DataFrame({"regime": list(atlas.names), "new_states": mix_new,
                            "atlas_cells": mix_atlas})
    return {"features": pd.DataFrame(rows), "regimes": regimes, "cells": int(cells.size),
            "outside": int((~inside).sum()),
            "tv_distance": float(0.5 * np.abs(mix_new - mix_atlas).sum())}
