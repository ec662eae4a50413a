"""``atlas calibrate``: how honest are the atlas' probabilities on days it did not see?"""

from __future__ import annotations

import argparse
import json
import logging
import sys

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "calibrate", help="coverage, null rate and anomaly calibration on held-out days",
        description="Split the days in two (alternate whole weeks, or days), refit the atlas' "
                    "statistics (octree, passes, intra-pass correlation, hierarchy, anomaly "
                    "percentiles) on one half and check them on the other: coverage of the 50 %% "
                    "and 90 %% posterior predictive intervals of each cell's top-regime share by "
                    "effective-count bin, the shift test's false-alarm rate on two random halves "
                    "of the quiet days, the share of held-out states above the 90th anomaly "
                    "percentile, held-out log-likelihood; each beside today's windows-as-"
                    "independent figure.")
    p.add_argument("atlas_dir")
    p.add_argument("--states", help="the state table the atlas was built from (default: the "
                                    "atlas' own states.parquet)")
    p.add_argument("--split", choices=["week", "day"], default="week",
                   help="halves of alternate whole weeks (default) or alternate whole days")
    p.add_argument("--draws", type=int, default=1000, help="predictive draws per cell")
    p.add_argument("--null-repeats", type=int, default=5, help="random quiet-day splits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
    return p


def _fmt(v: float) -> str:
    return "  -  " if v != v else f"{v:5.3f}"


def print_report(r: dict, out=None) -> None:
    """The report as text tables (on ``out``, default the current ``sys.stdout``)."""
    w = (out or sys.stdout).write
    w(f"atlas calibrate {r['atlas']} ({r['split']} split: fit on {r['n_fit']} states, checked on "
      f"{r['n_heldout']}; atlas code {r['atlas_code_version']})\n\n")
    w("coverage of the predictive intervals of each cell's top-regime share in held-out windows\n")
    w(f"{'n_eff (fit half)':>18} {'cells':>6} | {'new 50%':>7} {'new 90%':>7} | "
      f"{'windows 50%':>11} {'windows 90%':>11}\n")
    for row in r["coverage_by_count"]:
        if not row["cells"]:
            continue
        mark = "" if row["enough_cells"] else "  (few cells)"
        w(f"{row['n_eff_min']:>8g} - {row['n_eff_max']:<7g} {row['cells']:>6} | "
          f"{_fmt(row['new_0.5']):>7} {_fmt(row['new_0.9']):>7} | {_fmt(row['windows_0.5']):>11} "
          f"{_fmt(row['windows_0.9']):>11}{mark}\n")
    c, cw = r["coverage"], r["coverage_windows"]
    w(f"{'pooled, n_eff >= 1':>25} {r['coverage_cells']:>6} | {_fmt(c['0.5']):>7} "
      f"{_fmt(c['0.9']):>7} | {_fmt(cw['0.5']):>11} {_fmt(cw['0.9']):>11}\n\n")
    ll = r["heldout_loglik"]
    w(f"held-out log-likelihood (nats per effective look / per window): hierarchical "
      f"{ll['hierarchical']['per_effective']:.3f} / {ll['hierarchical']['per_window']:.3f}, "
      f"per-leaf windows {ll['per_leaf_windows']['per_effective']:.3f} / "
      f"{ll['per_leaf_windows']['per_window']:.3f}\n")
    w(f"\nshift test on two random halves of the quiet days ({r['null_repeats']} splits): share "
      f"of tested (cell, regime) pairs flagged; nominal {r['null_nominal']:g} (today's rule "
      f"~{r['null_nominal_windows']:g})\n")
    w(f"{'cells':>10} {'tested':>7} {'flagged':>8} | {'tested':>7} {'flagged (windows)':>18}\n")
    for row in r["null_by_scale"]:
        w(f"{row['cells']:>10} {row['tested_cells']:>7.1f} {_fmt(row['flag_rate']):>8} | "
          f"{row['tested_cells_windows']:>7.1f} {_fmt(row['flag_rate_windows']):>18}\n")
    w(f"held-out states above the 90th anomaly percentile: {r['anomaly_above_p90']:.3f} "
      f"(out-of-fold percentiles; in-sample as before: {r['anomaly_above_p90_in_sample']:.3f})\n")
    if "auc_place_surprise" in r:
        w(f"misplaced-state ROC AUC ({r['n_misplaced']} sheath states moved to lobe places): "
          f"place surprise {r['auc_place_surprise']:.3f} (before {r['auc_place_surprise_windows']:.3f}), "
          f"anomaly score {r['auc_anomaly_score']:.3f} (before {r['auc_anomaly_score_windows']:.3f})\n")


def run(args) -> int:
    from atlas_core.atlas import AtlasError
    from atlas_core.atlas.calibrate import calibration_report

    try:
        report = calibration_report(args.atlas_dir, args.states, unit=args.split,
                                    draws=args.draws, null_repeats=args.null_repeats,
                                    seed=args.seed, log=log.info)
    except (AtlasError, ValueError, FileNotFoundError) as err:
        print(f"atlas calibrate: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)
    return 0
