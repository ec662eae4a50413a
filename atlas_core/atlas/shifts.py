"""Quiet-versus-storm occupancy shifts, the atlas' space-weather use case (Markidis et al. 2026):
"reduced tail plasma sheet occupancy on the nightside, increased strong-field / low-beta
states, more energetic plasma populations near Earth".

Raw state fractions mix the plasma response with *where the spacecraft happened to be* during
storms (an orbit that spends a storm in the dayside sheath shifts every fraction). So the shifts
are measured two ways:

* **raw**: the share of each regime group among the states of a region, quiet vs storm;
* **cell-matched**: the storm share minus the quiet share *in the same cells* of a uniform grid,
  weighted by where the storm states were (see :func:`storm_shifts`). This compares like places
  with like.

:func:`position_matched` is the same idea for any two conditions and every regime, on the
octree's own cells: the occupancy the dashboard's quiet-vs-storm tab shows, split into the part
of a global shift that is the plasma's response (within the same cells, the same spatial
weights for both conditions) and the part that is where the spacecraft happened to be.

Run ``python -m atlas_core.atlas.shifts ATLAS_DIR --out docs/img/atlas_shifts.png`` for the
numbers (JSON on stdout) and the figure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = {
    "nightside tail (x < -8 R_E)": lambda x, y, z, r: x < -8,
    "near Earth (r < 8 R_E)": lambda x, y, z, r: r < 8,
    "dayside (x > 0)": lambda x, y, z, r: x > 0,
}
"""Spatial regions (GSM, R_E) over which shifts are summarised."""


def regime_group(name: str) -> str:
    """``"plasma sheet 2"`` -> ``"plasma sheet"`` (the model numbers repeated names)."""
    return re.sub(r"\s+\d+$", "", str(name)).strip()


def groups_of(names: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        out.setdefault(regime_group(n), []).append(i)
    return out


MATCH_WEIGHTS = ("all", "a", "b", "cmh")
"""Spatial weights of :func:`position_matched`: the atlas' own occupancy of the cells (all
states), either condition's, or Cochran-Mantel-Haenszel ``n_a n_b / (n_a + n_b)``."""


def position_matched(atlas, states_a, states_b, *, level: int = -1, weights: str = "all",
                     min_effective: float = 1.0) -> pd.DataFrame:
    """Regime occupancy of two conditions, global and position-matched, per regime.

    ``states_a``, ``states_b``: indices of the states of each condition (None: every state;
    e.g. ``product.counts(atlas, cond).states``). The leaves are
    grouped into the cells of octree ``level`` (-1: 4 R_E super-cells, 0: the 2 R_E root grid,
    1: 1 R_E, ...; a coarser leaf is its own cell). In every cell where both conditions hold at
    least ``min_effective`` effective looks, each condition's window share of each regime is
    taken, and the shares are averaged over the cells with the *same* weights for both
    (``weights``, :data:`MATCH_WEIGHTS`; default the atlas' own occupancy, all states) — a
    stratified (direct-standardised) comparison, as in epidemiology's age standardisation.

    Returns one row per regime: ``regime``, ``name``, ``global_a``, ``global_b`` (window shares
    over each condition's states), ``matched_a``, ``matched_b``, ``global_shift`` (b - a),
    ``matched_shift`` (b - a within the same cells: the response), ``sampling_shift``
    (global - matched: what the sampling contributes), ``matched_se`` (standard error of the
    matched shift from the cells' effective counts, ``f (1 - f) / n_eff`` per cell and
    condition). ``attrs``: ``level``, ``cell_re``, ``weights``, ``n_cells``, ``coverage_a``/
    ``coverage_b`` (share of each condition's windows inside the matched cells).
    """
    if weights not in MATCH_WEIGHTS:
        raise ValueError(f"weights must be one of {MATCH_WEIGHTS}, got {weights!r}")
    cell = atlas.stats.cells.ancestor_at(int(level))
    _, cell = np.unique(cell, return_inverse=True)
    cell = cell.ravel()
    n_cells = int(cell.max()) + 1

    key = (cell[:, None] * atlas.k + np.arange(atlas.k)).ravel()

    def per_cell(values):
        return np.bincount(key, weights=np.asarray(values, dtype=np.float64).ravel(),
                           minlength=n_cells * atlas.k).reshape(n_cells, atlas.k)

    (wa, ea), (wb, eb) = atlas.counts_of(states_a), atlas.counts_of(states_b)
    wa, ea, wb, eb = per_cell(wa), per_cell(ea), per_cell(wb), per_cell(eb)
    na, nb = wa.sum(1), wb.sum(1)
    both = (ea.sum(1) >= min_effective) & (eb.sum(1) >= min_effective) & (na > 0) & (nb > 0)
    weight = {"all": lambda: per_cell(atlas.counts_of(None)[0]).sum(1),
              "a": lambda: na, "b": lambda: nb,
              "cmh": lambda: na * nb / np.maximum(na + nb, 1)}[weights]()[both]
    fa, fb = wa[both] / na[both, None], wb[both] / nb[both, None]
    total = weight.sum()
    ga, gb = wa.sum(0) / max(na.sum(), 1), wb.sum(0) / max(nb.sum(), 1)
    if total > 0:
        ma, mb = weight @ fa / total, weight @ fb / total
        var = (fa * (1 - fa) / ea[both].sum(1, keepdims=True)
               + fb * (1 - fb) / eb[both].sum(1, keepdims=True))
        se = np.sqrt((weight[:, None] ** 2 * var).sum(0)) / total
    else:
        ma = mb = se = np.full(atlas.k, np.nan)
    out = pd.DataFrame({
        "regime": np.arange(atlas.k), "name": atlas.names,
        "global_a": ga, "global_b": gb, "matched_a": ma, "matched_b": mb,
        "global_shift": gb - ga, "matched_shift": mb - ma,
        "sampling_shift": (gb - ga) - (mb - ma), "matched_se": se,
    })
    levels = atlas.stats.cells.level[atlas.stats.cells.ancestor_at(int(level))]
    out.attrs.update(level=int(level), cell_re=float(atlas.octree.base_size_re * 2.0 ** -int(level)),
                     weights=weights, n_cells=int(both.sum()), min_effective=float(min_effective),
                     coverage_a=float(na[both].sum() / max(na.sum(), 1)),
                     coverage_b=float(nb[both].sum() / max(nb.sum(), 1)),
                     coarser_leaves=int((levels < int(level)).sum()))
    return out


def indicators(atlas) -> dict[str, np.ndarray]:
    """Boolean per-state indicators whose quiet/storm shares are compared: every regime group
    (by name), the low-beta regimes (median beta* < 0.1 in the regime summary: magnetic pressure
    dominates, the strong-field states of the seed), and two state-level properties:
    beta* < 0.1, and T_i > 5 keV (energetic)."""
    s = atlas.states
    code = s["code"].to_numpy()
    out = {g: np.isin(code, idx) for g, idx in groups_of(atlas.names).items()}
    summary = atlas.model.summary
    if "beta" in summary.columns:
        strong = np.flatnonzero(summary["beta"].to_numpy() < 0.1)
        if len(strong):
            out["low-beta regimes"] = np.isin(code, strong)
    out["state: beta* < 0.1"] = s["beta_mean"].to_numpy() < 0.1
    out["state: T_i > 5 keV"] = s["T_mean"].to_numpy() > 5000.0
    return out


def storm_shifts(atlas, quiet=(-20.0, 20.0), storm=(None, -50.0), min_states: int = 10,
                 cell_re: float = 4.0, n_boot: int = 500, seed: int = 0) -> dict:
    """Raw and cell-matched quiet-vs-storm shifts per region and indicator (see module doc).

    Cell-matched: on a uniform grid of ``cell_re`` cubes (octree leaves hold <= 25 states, too
    few to hold storm states, a few % of all, beside quiet ones), every storm state in a cell
    with at least ``min_states`` quiet states is compared with the quiet share of its cell:
    delta = sum_c n_storm,c (f_storm,c - f_quiet,c) / sum_c n_storm,c, i.e. the storm share
    minus the quiet share *at the places the storm states were*. Two standard errors: the
    binomial one, sum_c n_s,c f_q,c (1 - f_q,c) (1 + n_s,c / n_q,c) / (sum_c n_s,c)^2, which
    treats states as independent (they are not: windows overlap and Dst is hourly), and an
    event bootstrap (``n_boot`` resamples of the storm *events*, a new event after a gap of more
    than 6 h in the storm-time states), which is the honest one.
    """
    s = atlas.states
    x, y, z = (s[c].to_numpy() for c in ("x_gsm", "y_gsm", "z_gsm"))
    r = np.sqrt(x**2 + y**2 + z**2)
    dst = s["dst"].to_numpy()
    with np.errstate(invalid="ignore"):
        is_q = (dst >= quiet[0]) & (dst <= quiet[1])
        is_s = dst <= storm[1] if storm[0] is None else (dst >= storm[0]) & (dst <= storm[1])
    ijk = np.floor(np.stack([x, y, z], 1) / cell_re).astype(np.int64)
    _, cell = np.unique(ijk, axis=0, return_inverse=True)
    cell = cell.ravel()
    n_cells = int(cell.max()) + 1
    inds = indicators(atlas)
    # storm events: runs of storm-time states separated by more than 6 h
    t = s["time"].to_numpy().astype("datetime64[s]").astype(np.int64)
    storm_idx = np.flatnonzero(is_s)
    order = storm_idx[np.argsort(t[storm_idx], kind="stable")]
    event = np.full(len(s), -1, dtype=np.int64)
    event[order] = np.cumsum(np.r_[0, np.diff(t[order]) > 6 * 3600])
    n_events = int(event.max()) + 1 if len(order) else 0
    boot = np.random.default_rng(seed).multinomial(
        n_events, np.full(n_events, 1.0 / max(n_events, 1)), size=n_boot) if n_events else None
    out_events = n_events

    out = {"quiet": list(quiet), "storm": list(storm), "n_quiet": int(is_q.sum()),
           "n_storm": int(is_s.sum()), "min_states": min_states, "cell_re": cell_re,
           "n_storm_events": out_events, "n_boot": n_boot,
           "regions": {}}
    for region, sel in REGIONS.items():
        m = sel(x, y, z, r)
        nq = np.bincount(cell[m & is_q], minlength=n_cells)
        ns = np.bincount(cell[m & is_s], minlength=n_cells)
        use = (nq >= min_states) & (ns > 0)
        w = ns[use].astype(float)
        rows = {}
        for name, ind in inds.items():
            kq = np.bincount(cell[m & is_q & ind], minlength=n_cells)
            ks = np.bincount(cell[m & is_s & ind], minlength=n_cells)
            fq_raw = float(ind[m & is_q].mean()) if (m & is_q).any() else float("nan")
            fs_raw = float(ind[m & is_s].mean()) if (m & is_s).any() else float("nan")
            se_boot = float("nan")
            if w.sum() > 0:
                fq, fs = kq[use] / nq[use], ks[use] / ns[use]
                delta = float((w * (fs - fq)).sum() / w.sum())
                var = float((w * fq * (1 - fq) * (1 + w / nq[use])).sum() / w.sum() ** 2)
                quiet_matched = float((w * fq).sum() / w.sum())
                if boot is not None and len(np.unique(event[m & is_s & use[cell]])) > 1:
                    # per storm state: indicator minus its cell's quiet share; sums per event
                    fq_cell = np.full(n_cells, np.nan)
                    fq_cell[use] = fq
                    sel = m & is_s & use[cell]
                    dev = ind[sel] - fq_cell[cell[sel]]
                    s_e = np.bincount(event[sel], weights=dev, minlength=n_events)
                    w_e = np.bincount(event[sel], minlength=n_events)
                    num, den = boot @ s_e, boot @ w_e
                    ok = den > 0
                    se_boot = float(np.std(num[ok] / den[ok], ddof=1)) if ok.sum() > 1 else float("nan")
            else:
                delta = var = quiet_matched = float("nan")
            rows[name] = {"raw_quiet": fq_raw, "raw_storm": fs_raw,
                          "matched_quiet": quiet_matched, "matched_delta": delta,
                          "matched_se": se_boot, "binomial_se": float(np.sqrt(var))}
        t_q = s.loc[m & is_q, "T_mean"]
        t_s = s.loc[m & is_s, "T_mean"]
        out["regions"][region] = {
            "n_quiet": int((m & is_q).sum()), "n_storm": int((m & is_s).sum()),
            "n_cells": int(use.sum()), "n_storm_matched": int(w.sum()),
            "n_storm_events": int(len(np.unique(event[m & is_s & use[cell]]))),
            "T_median_quiet_eV": float(t_q.median()) if len(t_q) else float("nan"),
            "T_median_storm_eV": float(t_s.median()) if len(t_s) else float("nan"),
            "T_p90_quiet_eV": float(t_q.quantile(0.9)) if len(t_q) else float("nan"),
            "T_p90_storm_eV": float(t_s.quantile(0.9)) if len(t_s) else float("nan"),
            "groups": rows,
        }
    # every regime, globally: how much of each raw shift is sampling (position_matched)
    pm = position_matched(atlas, np.flatnonzero(is_q), np.flatnonzero(is_s), level=-1)
    out["position_matched"] = {"attrs": dict(pm.attrs), "regimes": pm.to_dict("records")}
    if "region" in s:  # synthetic archive: the same question asked of the truth labels
        truth = {}
        for region, sel in REGIONS.items():
            m = sel(x, y, z, r)
            vc_q = s.loc[m & is_q, "region"].value_counts(normalize=True)
            vc_s = s.loc[m & is_s, "region"].value_counts(normalize=True)
            truth[region] = {k: [float(vc_q.get(k, 0.0)), float(vc_s.get(k, 0.0))]
                             for k in sorted(set(vc_q.index) | set(vc_s.index))}
        out["truth_quiet_storm"] = truth
    return out


def plot_shifts(atlas, result: dict, path: Path) -> Path:
    """Figure: cell-matched share shifts per indicator and region, and near-Earth ion temperatures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regions = list(result["regions"])
    groups = list(next(iter(result["regions"].values()))["groups"])
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [2.2, 1]})
    ax = axes[0]
    width = 0.8 / len(regions)
    for i, region in enumerate(regions):
        rows = result["regions"][region]["groups"]
        d = [rows[g]["matched_delta"] for g in groups]
        e = [rows[g]["matched_se"] for g in groups]
        ax.bar(np.arange(len(groups)) + (i - (len(regions) - 1) / 2) * width, d, width, yerr=e,
               capsize=2, label=f"{region}: {result['regions'][region]['n_storm_matched']} storm "
                                f"states, {result['regions'][region]['n_storm_events']} storms, "
                                f"{result['regions'][region]['n_cells']} cells")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(groups)), groups, rotation=30, ha="right")
    ax.set_ylabel("storm share − quiet share, same cells")
    ax.set_title(f"Regime occupancy shift, storm (Dst ≤ {result['storm'][1]:g} nT) vs quiet "
                 f"(|Dst| ≤ {result['quiet'][1]:g} nT)", fontsize=10)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.35 * (hi - lo))  # room for the legend
    ax.legend(fontsize=8, loc="upper left")
    ax.text(0.99, 0.02, "error bars: storm-event bootstrap, 1 sigma", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7, color="0.3")
    ax = axes[1]
    s = atlas.states
    r = np.sqrt(s.x_gsm**2 + s.y_gsm**2 + s.z_gsm**2)
    near = r < 8
    dst = s["dst"]
    bins = np.logspace(2, 4.5, 50)
    q = s.loc[near & (dst.abs() <= result["quiet"][1]), "T_mean"]
    st = s.loc[near & (dst <= result["storm"][1]), "T_mean"]
    ax.hist(q, bins=bins, density=True, histtype="step", lw=1.5, label=f"quiet (n={len(q)})")
    ax.hist(st, bins=bins, density=True, histtype="step", lw=1.5, label=f"storm (n={len(st)})")
    ax.set_xscale("log")
    ax.set_xlabel("ion temperature T_i, eV (states at r < 8 R_E)")
    ax.set_ylabel("density")
    ax.set_title("Near-Earth plasma, quiet vs storm", fontsize=10)
    ax.legend(fontsize=8)
    src = "SYNTHETIC archive" if atlas.synthetic else "MMS1"
    fig.suptitle(f"Magnetosphere Atlas — quiet vs storm ({src}, {len(s):,} states)", fontsize=11)
    return _save(fig, path, dpi=130)


def _save(fig, path, dpi: int) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_maps(atlas, names: list[str], path: Path, quiet=(-20.0, 20.0), storm=-50.0,
              cell_re: float = 2.0, min_states: int = 5, half_width_re: float = 8.0) -> Path:
    """Figure: share of the regime groups ``names`` in the X-Z (GSM) plane, |y| < half_width,
    on a ``cell_re`` grid: quiet, storm, and storm minus quiet (cells with >= ``min_states``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = atlas.states
    x, y, z, dst = (s[c].to_numpy() for c in ("x_gsm", "y_gsm", "z_gsm", "dst"))
    groups = groups_of(atlas.names)
    ind = np.isin(s["code"].to_numpy(), [i for n in names for i in groups.get(n, [])])
    near = np.abs(y) < half_width_re
    xe = np.arange(np.floor(x.min() / cell_re) * cell_re, x.max() + cell_re, cell_re)
    ze = np.arange(np.floor(z.min() / cell_re) * cell_re, z.max() + cell_re, cell_re)
    with np.errstate(invalid="ignore"):
        masks = {"quiet": near & (np.abs(dst) <= quiet[1]), "storm": near & (dst <= storm)}
    share = {}
    for key, m in masks.items():
        n, _, _ = np.histogram2d(x[m], z[m], [xe, ze])
        k, _, _ = np.histogram2d(x[m & ind], z[m & ind], [xe, ze])
        with np.errstate(invalid="ignore", divide="ignore"):
            share[key] = np.where(n >= min_states, k / n, np.nan)
    share["storm − quiet"] = share["storm"] - share["quiet"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, (key, v) in zip(axes, share.items(), strict=True):
        diff = key.startswith("storm −")
        im = ax.pcolormesh(xe, ze, v.T, cmap="RdBu_r" if diff else "viridis",
                           vmin=-0.6 if diff else 0, vmax=0.6 if diff else 1)
        ax.add_patch(plt.Circle((0, 0), 1, color="k"))
        ax.set_xlim(xe.max(), xe.min())  # Sun to the left, as usual
        ax.set_aspect("equal")
        ax.set_title(f"{' + '.join(names)}: {key}", fontsize=9)
        ax.set_xlabel("x GSM, R_E")
        fig.colorbar(im, ax=ax, shrink=0.8, label="share of states")
    axes[0].set_ylabel("z GSM, R_E")
    src = "SYNTHETIC archive" if atlas.synthetic else "MMS1"
    fig.suptitle(f"Regime share, |y| < {half_width_re:g} R_E, {cell_re:g} R_E cells with ≥ "
                 f"{min_states} states ({src}; quiet |Dst| ≤ {quiet[1]:g} nT, storm Dst ≤ {storm:g} nT)",
                 fontsize=10)
    return _save(fig, path, dpi=120)


def main(argv=None) -> int:
    from atlas_core.atlas import Atlas

    ap = argparse.ArgumentParser(description="quiet-vs-storm occupancy shifts of an atlas")
    ap.add_argument("atlas_dir")
    ap.add_argument("--out", help="figure path (PNG)")
    ap.add_argument("--map", action="append", default=[], metavar="GROUP[+GROUP]=PATH",
                    help="also draw an X-Z share map of regime groups, e.g. 'plasma sheet=a.png'")
    ap.add_argument("--min-states", type=int, default=10)
    ap.add_argument("--cell", type=float, default=4.0, help="grid cell size, R_E")
    args = ap.parse_args(argv)
    atlas = Atlas.open(args.atlas_dir)
    result = storm_shifts(atlas, min_states=args.min_states, cell_re=args.cell)
    if args.out:
        plot_shifts(atlas, result, Path(args.out))
    for spec in args.map:
        names, _, path = spec.partition("=")
        plot_maps(atlas, [n.strip() for n in names.split("+")], Path(path))
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
