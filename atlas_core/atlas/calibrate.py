"""Calibration of the atlas' probabilities on held-out days (``atlas calibrate``).

The days are split in two (alternate whole days or whole weeks, never windows); everything the
atlas estimates is rebuilt from one half (``A``: octree, passes, intra-pass correlation,
hierarchy strengths, anomaly quantiles) and checked on the other (``B``):

* **coverage** of the 50 % and 90 % posterior predictive intervals of each cell's share of its
  top regime (the regime the A-estimate ranks first) among B's windows, by the cell's effective
  count in A. The predictive is exact under the model: the cell's regime probability drawn from
  the A posterior, each B pass's regime fraction drawn around it with the intra-pass
  correlation (a beta-binomial per pass; Skellam 1948, Williams 1975), B's windows per pass as
  observed. Windows are discrete, so a cell's coverage is the share of its predictive-CDF jump
  ``[F(y-), F(y)]`` inside the central interval (the non-randomised PIT of Czado, Gneiting &
  Held 2009, Biometrics 65, 1254): its expectation is the nominal level exactly when the
  predictive is right, however small the cell.
  "Today's" figures are the same computation for the per-leaf Dirichlet(1/2) posterior of
  window counts with windows as independent draws (intra-pass correlation 0).
* **null flag rate** of the shift test: the quiet days are split at random into two
  pseudo-conditions, and the share of tested (cell, regime) pairs flagged significant counts
  false alarms (nominal: the test's level).
* **anomaly percentiles**: the share of B's states above the 90th percentile of A's anomaly
  scores, out-of-sample (cross-fitted by day folds) and in-sample (as before), and, on a
  synthetic archive, the ROC AUC of the place surprise for misplaced states.
* **held-out log-likelihood** of B's regimes, per pass and per window, hierarchical vs per-leaf.
"""

from __future__ import annotations

import numpy as np

from atlas_core.atlas.sampling import day_number

LEVELS = (0.5, 0.9)
"""Nominal levels of the central predictive intervals checked."""
COUNT_BINS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, np.inf)
"""Edges of the effective-count bins (cell's effective count in the fitting half)."""


def split_halves(time, unit: str = "day") -> np.ndarray:
    """True for the states of the first half: even days (``unit="day"``) or even weeks
    (``"week"``, 7-day blocks counted from 1970-01-01)."""
    day = day_number(time)
    if unit == "day":
        block = day
    elif unit == "week":
        block = day // 7
    else:
        raise ValueError(f"split unit must be 'day' or 'week', got {unit!r}")
    return block % 2 == 0


def pit_coverage(f_lo: np.ndarray, f_hi: np.ndarray, level: float) -> np.ndarray:
    """Expected coverage of the central ``level`` interval for an observation whose predictive
    CDF jumps from ``f_lo = F(y-)`` to ``f_hi = F(y)``: the share of ``[f_lo, f_hi]`` inside
    ``[(1 - level)/2, (1 + level)/2]`` (a point when continuous)."""
    u1, u2 = (1 - level) / 2, (1 + level) / 2
    width = f_hi - f_lo
    overlap = np.clip(np.minimum(f_hi, u2) - np.maximum(f_lo, u1), 0.0, None)
    point = ((f_hi >= u1) & (f_hi <= u2)).astype(np.float64)
    return np.where(width > 1e-12, overlap / np.where(width > 1e-12, width, 1.0), point)


def predictive_cdf(a: np.ndarray, b: np.ndarray, pass_cell: np.ndarray, pass_size: np.ndarray,
                   observed: np.ndarray, rho: float, draws: int = 2000, seed: int = 0,
                   chunk: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """``F(y-)`` and ``F(y)`` of each cell's predictive of its share ``y`` of one regime in new
    windows, by simulation.

    Cell c's regime probability is ``p ~ Beta(a_c, b_c)``; each new pass j of the cell (sizes
    ``pass_size``, cells ``pass_cell`` in 0 .. C-1, sorted by cell) has a fraction
    ``f_j ~ Beta(p c, (1 - p) c)`` with ``c = 1/rho - 1`` (``f_j ~ Bernoulli(p)`` when
    ``rho = 1``, ``f_j = p`` when ``rho = 0``) and ``Binomial(m_j, f_j)`` windows of the regime;
    ``y = sum_j windows_j / sum_j m_j``. ``observed`` (C,) is the share seen.
    """
    a, b, observed = (np.asarray(v, np.float64) for v in (a, b, observed))
    pass_cell = np.asarray(pass_cell, np.int64)
    pass_size = np.asarray(pass_size, np.int64)
    n_cells = len(a)
    if len(pass_cell) and np.any(np.diff(pass_cell) < 0):
        raise ValueError("passes must be sorted by cell")
    starts = np.searchsorted(pass_cell, np.arange(n_cells + 1))
    total = np.bincount(pass_cell, weights=pass_size, minlength=n_cells)
    rng = np.random.default_rng(seed)
    f_lo, f_hi = np.empty(n_cells), np.empty(n_cells)
    c0 = 0
    while c0 < n_cells:  # chunks of cells whose passes x draws fit the memory budget
        c1 = c0 + 1
        while c1 < n_cells and (starts[c1 + 1] - starts[c0]) * draws <= chunk:
            c1 += 1
        j0, j1 = starts[c0], starts[c1]
        p = rng.beta(a[c0:c1, None], b[c0:c1, None], size=(c1 - c0, draws))
        p_pass = p[pass_cell[j0:j1] - c0]
        m = pass_size[j0:j1, None]
        if rho >= 1.0:
            hits = m * (rng.random(p_pass.shape) < p_pass)
        elif rho <= 0.0:
            hits = rng.binomial(m, p_pass)
        else:
            conc = 1.0 / rho - 1.0
            f = rng.beta(np.maximum(p_pass * conc, 1e-12), np.maximum((1 - p_pass) * conc, 1e-12))
            hits = rng.binomial(m, f)
        sums = np.add.reduceat(hits, starts[c0:c1] - j0, axis=0) if j1 > j0 else np.zeros((c1 - c0, draws))
        empty = starts[c0 + 1:c1 + 1] == starts[c0:c1]
        sums[empty] = 0
        share = sums / np.maximum(total[c0:c1], 1)[:, None]
        y = observed[c0:c1, None]
        f_lo[c0:c1] = (share < y - 1e-9).mean(axis=1)
        f_hi[c0:c1] = (share <= y + 1e-9).mean(axis=1)
        c0 = c1
    return f_lo, f_hi


def _bin_table(values: dict[str, np.ndarray], n_eff: np.ndarray, min_cells: int) -> list[dict]:
    """Mean of each per-cell array in ``values`` per effective-count bin of ``n_eff``."""
    rows = []
    edges = np.asarray(COUNT_BINS)
    which = np.digitize(n_eff, edges[1:-1])
    for i in range(len(edges) - 1):
        m = which == i
        row = {"n_eff_min": float(edges[i]), "n_eff_max": float(edges[i + 1]), "cells": int(m.sum()),
               "enough_cells": bool(m.sum() >= min_cells)}
        for name, v in values.items():
            row[name] = float(v[m].mean()) if m.any() else float("nan")
        rows.append(row)
    return rows


def top_regime_coverage(a_all: np.ndarray, b_all: np.ndarray, cells: np.ndarray,
                        windows_b: np.ndarray, pass_cell: np.ndarray, pass_size: np.ndarray,
                        rho: float, draws: int, seed: int) -> dict[float, np.ndarray]:
    """Per-cell coverage of the central predictive intervals (``LEVELS``) of the share of each
    cell's top regime (largest posterior mean) among the held-out windows.

    ``a_all``, ``b_all`` (L, K) Beta parameters of the posterior marginals; ``cells`` the leaves
    checked; the held-out half's ``windows_b`` (L, K) and passes (``pass_cell`` leaf ids,
    ``pass_size`` windows).
    """
    pos = np.full(len(a_all), -1, dtype=np.int64)
    pos[cells] = np.arange(len(cells))
    keep = pos[pass_cell] >= 0
    order = np.argsort(pos[pass_cell[keep]], kind="stable")
    mean = a_all[cells] / (a_all[cells] + b_all[cells])
    top = np.argmax(mean, axis=1)
    a = a_all[cells, top]
    b = b_all[cells, top]
    n_b = windows_b[cells].sum(axis=1)
    y = windows_b[cells, top] / np.maximum(n_b, 1)
    f_lo, f_hi = predictive_cdf(a, b, pos[pass_cell[keep]][order], pass_size[keep][order], y, rho,
                                draws=draws, seed=seed)
    return {lev: pit_coverage(f_lo, f_hi, lev) for lev in LEVELS}


def _pass_table(pass_id: np.ndarray, leaf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(leaf of each pass, windows in each pass) for pass ids 0 .. P-1."""
    size = np.bincount(pass_id)
    cell = np.zeros(len(size), dtype=np.int64)
    cell[pass_id] = leaf
    return cell, size


def _quiet_null(atlas, repeats: int, seed: int, min_windows: int,
                levels=(0, 1, 2)) -> dict:
    """False-alarm rates of the shift test: the quiet days split at random into two halves.

    At the leaves (the test as the dataset and the dashboard apply it) and, because one year
    holds few leaves with enough looks in both halves, on the cells of octree ``levels``
    (2, 1, 0.5 R_E) with the same test on those cells' own hierarchical posteriors. Today's
    rule (disjoint 90 % Dirichlet intervals of windows, both >= ``min_windows``) beside it.
    """
    from atlas_core.atlas.posterior import (
        DEFAULT_SHIFT_ALPHA,
        dirichlet_posterior,
        intervals_disjoint,
        shift_significant,
    )

    dst = atlas.neighbours.columns["dst"]
    with np.errstate(invalid="ignore"):
        quiet = np.abs(dst) <= atlas.bins.quiet_max
    day = day_number(atlas.states["time"].to_numpy())
    days = np.unique(day[quiet])
    rng = np.random.default_rng(seed)
    cells = atlas.stats.cells
    scales = {"leaves": None, **{f"level {lv}": lv for lv in levels}}
    tally = {name: {"new": [], "new_cells": [], "tested": 0, "old": [], "old_cells": [],
                    "tested_old": 0} for name in scales}
    for _ in range(repeats):
        half = np.isin(day, days[rng.random(len(days)) < 0.5])
        w1, e1 = atlas.counts_of(np.flatnonzero(quiet & half))
        w2, e2 = atlas.counts_of(np.flatnonzero(quiet & ~half))
        node_w1, node_w2 = cells.aggregate(w1), cells.aggregate(w2)
        node_e1, node_e2 = cells.aggregate(e1), cells.aggregate(e2)
        m1, v1 = cells.posterior_moments(node_e1, atlas.sampling.strengths)
        m2, v2 = cells.posterior_moments(node_e2, atlas.sampling.strengths)
        for name, lv in scales.items():
            rows = (cells.leaf_node if lv is None else
                    np.arange(*next((a, b) for lev, a, b in cells.level_slices if lev == lv)))
            flag = shift_significant(m1[rows], v1[rows], m2[rows], v2[rows])
            tested = (~atlas.low_count(node_e1[rows].sum(1))
                      & ~atlas.low_count(node_e2[rows].sum(1)))
            t = tally[name]
            if tested.any():
                t["new"].append(flag[tested].mean())
                t["new_cells"].append(flag[tested].any(axis=1).mean())
            t["tested"] += int(tested.sum())
            _, l1, h1 = dirichlet_posterior(node_w1[rows].astype(np.int64), atlas.alpha, atlas.level)
            _, l2, h2 = dirichlet_posterior(node_w2[rows].astype(np.int64), atlas.alpha, atlas.level)
            enough = ((node_w1[rows].sum(1) >= min_windows)
                      & (node_w2[rows].sum(1) >= min_windows))
            if enough.any():
                old = intervals_disjoint(l1, h1, l2, h2)[enough]
                t["old"].append(old.mean())
                t["old_cells"].append(old.any(axis=1).mean())
            t["tested_old"] += int(enough.sum())

    def mean(values):
        return float(np.mean(values)) if values else float("nan")

    by_scale = [{"cells": name, "cell_re": (None if lv is None else
                                            float(atlas.octree.base_size_re * 2.0 ** -lv)),
                 "tested_cells": t["tested"] / repeats, "flag_rate": mean(t["new"]),
                 "cells_any_flag": mean(t["new_cells"]),
                 "tested_cells_windows": t["tested_old"] / repeats,
                 "flag_rate_windows": mean(t["old"]),
                 "cells_any_flag_windows": mean(t["old_cells"])}
                for (name, lv), t in zip(scales.items(), tally.values(), strict=True)]
    leaves = by_scale[0]
    return {
        "null_flag_rate": leaves["flag_rate"], "null_nominal": float(DEFAULT_SHIFT_ALPHA),
        "null_cells_any_flag": leaves["cells_any_flag"],
        "null_tested_cells": leaves["tested_cells"],
        "null_flag_rate_windows": leaves["flag_rate_windows"],
        "null_nominal_windows": 0.02,
        "null_tested_cells_windows": leaves["tested_cells_windows"],
        "null_by_scale": by_scale, "null_repeats": int(repeats),
    }


def calibration_report(atlas_dir, states=None, *, unit: str = "week", draws: int = 1000,
                       null_repeats: int = 5, min_cells: int = 50, seed: int = 0,
                       log=None) -> dict:
    """The calibration figures of an atlas on held-out days (see the module doc).

    ``states``: the state table the atlas was built from (a directory or DataFrame; default the
    atlas' own ``states.parquet``, which holds the features and regime codes). The regime model
    is the atlas'; everything else is refitted on half ``A`` of the days and checked on ``B``.
    """
    import time as _time

    from atlas_core.atlas import Atlas
    from atlas_core.atlas.anomaly import (
        activity_index,
        crossfit_scores,
        global_mixture,
        mixture_table,
        score_states,
    )
    from atlas_core.atlas.build import assign_codes, log_likelihoods
    from atlas_core.atlas.dataset import ANOMALY_PERCENTILES
    from atlas_core.atlas.passes import StateCounter, pass_ids, spacecraft_of
    from atlas_core.atlas.sampling import CellStatistics, day_folds
    from atlas_core.octree import Octree

    say = log or (lambda *a: None)
    t0 = _time.perf_counter()
    atlas = Atlas.open(atlas_dir)
    table = atlas.states
    if states is not None:
        if not hasattr(states, "columns"):
            from atlas_core.states import read_states

            states = read_states(states)
        same = len(states) == len(table) and np.array_equal(
            states["time"].to_numpy(), table["time"].to_numpy())
        if not same:
            codes, _ = assign_codes(atlas.model, states)
            table = states.assign(code=codes)
    k = atlas.k
    config = atlas.provenance["config"]
    octree_options = dict(config.get("octree") or {})
    time_ns = table["time"].to_numpy()
    pos = table[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(np.float64)
    code = table["code"].to_numpy(np.int64)
    craft = spacecraft_of(table)
    in_a = split_halves(time_ns, unit)
    ia, ib = np.flatnonzero(in_a), np.flatnonzero(~in_a)
    say("calibrate: %d states, half A %d, half B %d (%s split)", len(table), ia.size, ib.size, unit)

    # fit everything on A
    tree = Octree.build(pos[ia], **octree_options)
    stats = CellStatistics.fit(tree, code[ia], time_ns[ia], k, day_folds(time_ns[ia]),
                               None if craft is None else craft[ia],
                               max_gap_s=atlas.sampling.max_gap_s,
                               min_effective=atlas.sampling.min_effective)
    rho = stats.model.rho
    say("calibrate: half A fitted: rho %.2f (%.0f s)", rho, _time.perf_counter() - t0)
    leaf_b = tree.locate(pos[ib])
    inside = leaf_b >= 0
    ib, leaf_b = ib[inside], leaf_b[inside]
    pid_b = pass_ids(time_ns[ib], leaf_b, None if craft is None else craft[ib],
                     stats.model.max_gap_s)
    counter_b = StateCounter(leaf_b, code[ib], pid_b, tree.n_leaves, k, rho)
    w_a, e_a = stats.counts_of()
    w_b, e_b = counter_b.counts_of()
    a_new, b_new = stats.estimator.marginals(e_a)
    a_old = w_a + atlas.alpha
    b_old = a_old.sum(1, keepdims=True) - a_old

    # held-out log-likelihood of B's regimes
    p_new = stats.estimator.means(e_a)
    p_old = a_old / (a_old + b_old)
    loglik = {}
    for name, p in (("hierarchical", p_new), ("per_leaf_windows", p_old)):
        loglik[name] = {"per_effective": float((e_b * np.log(p)).sum() / e_b.sum()),
                        "per_window": float((w_b * np.log(p)).sum() / w_b.sum())}

    # coverage of the top regime's share in B
    cells = np.flatnonzero(w_b.sum(1) > 0)
    pass_cell, pass_size = _pass_table(pid_b, leaf_b)
    cov_new = top_regime_coverage(a_new, b_new, cells, w_b, pass_cell, pass_size, rho, draws, seed)
    cov_old = top_regime_coverage(a_old, b_old, cells, w_b, pass_cell, pass_size, 0.0, draws, seed)
    n_eff_a = e_a.sum(1)[cells]
    per_cell = {f"new_{lev}": cov_new[lev] for lev in LEVELS}
    per_cell.update({f"windows_{lev}": cov_old[lev] for lev in LEVELS})
    table_rows = _bin_table(per_cell, n_eff_a, min_cells)
    pooled = n_eff_a >= 1.0
    issue = (w_a.sum(1)[cells] >= 5) & (w_b.sum(1)[cells] >= 5)
    say("calibrate: coverage of %d cells (%.0f s)", cells.size, _time.perf_counter() - t0)

    # anomaly percentiles on B's states
    activity = ["all", *atlas.bins.ranges()]
    dst = atlas.neighbours.columns["dst"] if len(table) == len(atlas.states) else table["dst"].to_numpy()
    act = activity_index(np.asarray(dst, np.float64), atlas.bins.label, activity)
    act_a, act_b = act[ia], act[ib]
    log_lik = log_likelihoods(atlas.model, table)
    ll_a, ll_b = log_lik[ia], log_lik[ib]
    leaf_a = tree.leaf_of_state
    fold_a = day_folds(time_ns[ia])
    s_a, ps_a = crossfit_scores(ll_a, leaf_a, act_a, fold_a,
                                lambda train: stats.anomaly_tables(act_a, len(activity),
                                                                   np.flatnonzero(train)))
    tab_new, glob_new = stats.anomaly_tables(act_a, len(activity))
    s_b, ps_b = score_states(ll_b, leaf_b, act_b, tab_new, glob_new)
    # today's: window counts, symmetric prior, percentiles of the in-sample scores
    w_act, _ = stats.activity_counts(act_a, len(activity))
    p_all_old = (w_act[:, 0] + atlas.alpha) / (w_act[:, 0].sum(1, keepdims=True) + k * atlas.alpha)
    tab_old = mixture_table(w_act.astype(np.float64), p_all_old, k * atlas.alpha)
    glob_old = global_mixture(w_act, atlas.alpha)
    s_a_old, _ = score_states(ll_a, leaf_a, act_a, tab_old, glob_old)
    s_b_old, ps_b_old = score_states(ll_b, leaf_b, act_b, tab_old, glob_old)
    p90_new = float(np.nanpercentile(s_a, 90))
    p90_old = float(np.nanpercentile(s_a_old, 90))
    anomaly = {
        "anomaly_above_p90": float(np.mean(s_b > p90_new)),
        "anomaly_above_p90_in_sample": float(np.mean(s_b_old > p90_old)),
        "place_above_p90": float(np.mean(ps_b > np.nanpercentile(ps_a, 90))),
        "anomaly_median_percentile": float(np.interp(np.median(s_b), np.nanpercentile(
            s_a, ANOMALY_PERCENTILES), ANOMALY_PERCENTILES)),
        "n_heldout_states": int(ib.size),
    }
    if "region" in table:
        anomaly.update(_misplaced_auc(table, ib, ia, leaf_b, tree, ll_b, act_b,
                                      (tab_new, glob_new), (tab_old, glob_old), seed))
    say("calibrate: anomaly percentiles (%.0f s)", _time.perf_counter() - t0)

    null = _quiet_null(atlas, null_repeats, seed, min_windows=10)
    say("calibrate: null flag rate (%.0f s)", _time.perf_counter() - t0)
    return {
        "atlas": str(atlas_dir), "atlas_code_version": atlas.ds.attrs.get("code_version"),
        "split": unit, "n_states": int(len(table)), "n_fit": int(ia.size),
        "n_heldout": int(ib.size), "sampling_model_fit_half": stats.model.describe(),
        "coverage": {str(lev): float(cov_new[lev][pooled].mean()) for lev in LEVELS},
        "coverage_windows": {str(lev): float(cov_old[lev][pooled].mean()) for lev in LEVELS},
        "coverage_cells": int(pooled.sum()),
        "coverage_by_count": table_rows,
        "coverage_issue_selection": {
            "cells": int(issue.sum()),
            "new": {str(lev): float(cov_new[lev][issue].mean()) for lev in LEVELS},
            "windows": {str(lev): float(cov_old[lev][issue].mean()) for lev in LEVELS}},
        "heldout_loglik": loglik,
        **null,
        **anomaly,
        "seconds": round(_time.perf_counter() - t0, 1),
    }


def _misplaced_auc(table, ib, ia, leaf_b, tree, ll_b, act_b, new, old, seed) -> dict:
    """ROC AUC of the anomaly score and place surprise: held-out magnetosheath states moved to
    fitting-half lobe positions vs the held-out states at their own places."""
    from sklearn.metrics import roc_auc_score

    from atlas_core.atlas.anomaly import score_states

    region = table["region"].to_numpy()
    lobe = ia[region[ia] == "lobe"]
    sheath = np.flatnonzero(region[ib] == "magnetosheath")
    if lobe.size == 0 or sheath.size == 0:
        return {}
    rng = np.random.default_rng(seed)
    to = tree.leaf_of_state[np.searchsorted(ia, lobe[rng.integers(0, lobe.size, sheath.size)])]
    labels = np.r_[np.zeros(len(ib)), np.ones(sheath.size)]
    out = {"n_misplaced": int(sheath.size)}
    for name, (tab, glob) in (("", new), ("_windows", old)):
        s_n, p_n = score_states(ll_b, leaf_b, act_b, tab, glob)
        s_m, p_m = score_states(ll_b[sheath], to, act_b[sheath], tab, glob)
        out[f"auc_anomaly_score{name}"] = float(roc_auc_score(labels, np.r_[s_n, s_m]))
        out[f"auc_place_surprise{name}"] = float(roc_auc_score(labels, np.r_[p_n, p_m]))
    return out
