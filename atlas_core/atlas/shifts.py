"""Quiet-versus-storm occupancy shifts, the atlas' space-weather use case (Markidis et al. 2026):
"reduced tail plasma sheet occupancy on the nightside, increased strong-field / low-beta
states, more energetic plasma populations near Earth".

Raw state fractions mix the plasma response with *where the spacecraft happened to be* during
storms (an orbit that spends a storm in the dayside sheath shifts every fraction). So the shifts
are measured two ways:

* **raw**: the share of each regime group among the states of a region, quiet vs storm;
* **cell-matched**: the mean over the cells of a uniform grid (``cell_re`` cubes, default the
  octree's 2 R_E base cells) sampled under both conditions (at least ``min_states`` states in each) of ``p_storm - p_quiet`` (Dirichlet posterior means), every cell weighted
  equally, with its standard error over cells and the number of cells whose credible intervals
  separate upwards / downwards. This compares like places with like.

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

from atlas_core.atlas.posterior import intervals_disjoint

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


def storm_shifts(atlas, quiet=(-20.0, 20.0), storm=(None, -50.0), min_states: int = 10,
                 cell_re: float = 2.0) -> dict:
    """Raw and cell-matched quiet-vs-storm shifts per region and regime group (see module doc)."""
    s = atlas.states
    x, y, z = (s[c].to_numpy() for c in ("x_gsm", "y_gsm", "z_gsm"))
    r = np.sqrt(x**2 + y**2 + z**2)
    dst = s["dst"].to_numpy()
    code = s["code"].to_numpy()
    with np.errstate(invalid="ignore"):
        is_q = (dst >= quiet[0]) & (dst <= quiet[1])
        is_s = dst <= storm[1] if storm[0] is None else (dst >= storm[0]) & (dst <= storm[1])
    groups = groups_of(atlas.names)
    summary = atlas.model.summary
    beta_med = summary["beta"].to_numpy() if "beta" in summary else np.full(atlas.k, np.nan)
    b_med = summary["B"].to_numpy() if "B" in summary else np.full(atlas.k, np.nan)
    strong_low_beta = [int(i) for i in np.flatnonzero((beta_med < 0.1) & (b_med > 20))]

    # cells of a uniform grid of cell_re cubes: octree leaves hold <= 25 states, too few to
    # compare storm (a few % of the states) with quiet inside one leaf
    ijk = np.floor(np.stack([x, y, z], 1) / cell_re).astype(np.int64)
    cell_ids, cell = np.unique(ijk, axis=0, return_inverse=True)
    cell = cell.ravel()
    n_cells = len(cell_ids)

    def counts(mask):
        return np.bincount(cell[mask] * atlas.k + code[mask],
                           minlength=n_cells * atlas.k).reshape(n_cells, atlas.k)

    cq, cs = counts(is_q), counts(is_s)
    pq, lq, hq = atlas.probabilities(cq)
    ps, ls, hs = atlas.probabilities(cs)
    sig = intervals_disjoint(lq, hq, ls, hs)
    both = (cq.sum(1) >= min_states) & (cs.sum(1) >= min_states)
    centre = (cell_ids + 0.5) * cell_re
    cx, cy, cz = centre.T
    cr = np.linalg.norm(centre, axis=1)

    out = {"quiet": list(quiet), "storm": list(storm), "n_quiet": int(is_q.sum()),
           "n_storm": int(is_s.sum()), "min_states": min_states, "cell_re": cell_re,
           "strong_field_low_beta_regimes": [atlas.names[i] for i in strong_low_beta],
           "regions": {}}
    sets = {g: idx for g, idx in groups.items()}
    if strong_low_beta:
        sets["strong-field / low-beta"] = strong_low_beta
    for region, sel in REGIONS.items():
        m = sel(x, y, z, r)
        cells = both & sel(cx, cy, cz, cr)
        rows = {}
        for g, idx in sets.items():
            in_g = np.isin(code, idx)
            fq = float(in_g[m & is_q].mean()) if (m & is_q).any() else float("nan")
            fs = float(in_g[m & is_s].mean()) if (m & is_s).any() else float("nan")
            d = ps[cells][:, idx].sum(1) - pq[cells][:, idx].sum(1)
            up = (sig[cells][:, idx] & (ps[cells][:, idx] > pq[cells][:, idx])).any(1)
            down = (sig[cells][:, idx] & (ps[cells][:, idx] < pq[cells][:, idx])).any(1)
            rows[g] = {
                "raw_quiet": fq, "raw_storm": fs,
                "cell_delta": float(d.mean()) if d.size else float("nan"),
                "cell_delta_se": float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan"),
                "cells_up": int(up.sum()), "cells_down": int(down.sum()),
            }
        t_q = s.loc[m & is_q, "T_mean"]
        t_s = s.loc[m & is_s, "T_mean"]
        out["regions"][region] = {
            "n_quiet": int((m & is_q).sum()), "n_storm": int((m & is_s).sum()),
            "n_cells_both": int(cells.sum()),
            "T_median_quiet_eV": float(t_q.median()) if len(t_q) else float("nan"),
            "T_median_storm_eV": float(t_s.median()) if len(t_s) else float("nan"),
            "T_p90_quiet_eV": float(t_q.quantile(0.9)) if len(t_q) else float("nan"),
            "T_p90_storm_eV": float(t_s.quantile(0.9)) if len(t_s) else float("nan"),
            "groups": rows,
        }
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
    """Figure: cell-matched Δp per regime group and region, and near-Earth ion temperatures."""
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
        d = [rows[g]["cell_delta"] for g in groups]
        e = [rows[g]["cell_delta_se"] for g in groups]
        ax.bar(np.arange(len(groups)) + (i - (len(regions) - 1) / 2) * width, d, width, yerr=e,
               capsize=2, label=f"{region}, {result['regions'][region]['n_cells_both']} cells")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(groups)), groups, rotation=30, ha="right")
    ax.set_ylabel("cell-matched  p(storm) − p(quiet)")
    ax.set_title(f"Regime occupancy shift, storm (Dst ≤ {result['storm'][1]:g} nT) vs quiet "
                 f"(|Dst| ≤ {result['quiet'][1]:g} nT)", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    s = atlas.states
    r = np.sqrt(s.x_gsm**2 + s.y_gsm**2 + s.z_gsm**2)
    near = r < 8
    dst = s["dst"]
    bins = np.logspace(0, 5, 60)
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
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    from atlas_core.atlas import Atlas

    ap = argparse.ArgumentParser(description="quiet-vs-storm occupancy shifts of an atlas")
    ap.add_argument("atlas_dir")
    ap.add_argument("--out", help="figure path (PNG)")
    ap.add_argument("--min-states", type=int, default=10)
    ap.add_argument("--cell", type=float, default=2.0, help="grid cell size, R_E")
    args = ap.parse_args(argv)
    atlas = Atlas.open(args.atlas_dir)
    result = storm_shifts(atlas, min_states=args.min_states, cell_re=args.cell)
    if args.out:
        plot_shifts(atlas, result, Path(args.out))
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
