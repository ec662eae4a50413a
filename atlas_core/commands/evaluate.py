"""``atlas evaluate``: score a regime model against the synthetic archive's truth regions,
beside k-means and a Gaussian mixture, its variants, its stability and the choice of K."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

log = logging.getLogger("atlas.evaluate")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score regimes against truth regions, next to k-means and a GMM",
        description="Adjusted Rand index, normalised mutual information and purity of the "
                    "model's regimes against the `region` column (synthetic archive), next "
                    "to k-means and a full-covariance Gaussian mixture with the same K (three "
                    "seeds each). Prints Markdown tables (or JSON with --json) and writes "
                    "MODEL_DIR/evaluation.json (stability.json, k_sweep.json, "
                    "components.json with the options).")
    p.add_argument("model_dir", type=Path, help="model directory (from `atlas train`)")
    p.add_argument("--states", required=True, type=Path, help="state-table directory")
    p.add_argument("--compare", action="store_true",
                   help="also train and score the variants (VQ-VAE as in the paper, VQ-VAE "
                        "with lumped codes, one mixture component per regime, octree "
                        "weighting flipped) into MODEL_DIR/variants/")
    p.add_argument("--stability", action="store_true",
                   help="retrain with seeds 1 and 2 and on the even and odd days; ARI between "
                        "the labelings (MODEL_DIR/stability/)")
    p.add_argument("--k-sweep", action="store_true",
                   help="held-out NLL and metastability for K = 4..20 regimes")
    p.add_argument("--components-sweep", default=None, metavar="C1,C2,...",
                   help="held-out criteria for these numbers of fine components")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


def commit() -> str:
    """The repository's commit (``+dirty`` when tracked files differ), for the record."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no", "atlas_core"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _f(v, fmt=".3f"):
    return "—" if v is None else format(v, fmt)


def tables(report: dict) -> str:
    """Markdown tables of the reports (the ones docs/regimes.md records)."""
    out = [f"commit {report['commit']}; {report['evaluation']['n_states']:,} states; "
           f"K = {report['evaluation']['k']}", ""]
    ev = report["evaluation"]
    out += ["| method | assignment | ARI | NMI | purity | held-out NLL / state | "
            "held-out NLL / window | metastability |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    rows = [(f"model: {ev['model']}, {ev['components']} components", ev["scores"],
             ev.get("diagnostics", {}))]
    rows += [(f"{name}: {v['config']['model']}, {v['config']['components']} components"
              + ("" if v["config"]["octree_weighting"] == ev["octree_weighting"]
                 else ", weighting flipped"), v["scores"], v.get("diagnostics", {}))
             for name, v in ev["variants"].items()]
    for name, scores, diag in rows:
        for how in ("smoothed", "per_state"):
            s = scores[how]
            out.append(f"| {name} | {how.replace('_', ' ')} | {s['ari']:.3f} | {s['nmi']:.3f} "
                       f"| {s['purity']:.3f} | {_f(diag.get('heldout_nll'))} | "
                       f"{_f(diag.get('heldout_sequence_nll'))} | "
                       f"{_f(diag.get('heldout_metastability'), '.2f')} |")
    for name in ("kmeans", "gmm"):
        b = ev[name]
        out.append(f"| {name} (mean of seeds {', '.join(str(r['seed']) for r in b['seeds'])}; "
                   f"best) | per state | {b['ari']:.3f} ({b['ari_max']:.3f}) | {b['nmi']:.3f} "
                   f"({b['nmi_max']:.3f}) | {b['purity']:.3f} | — | — | — |")
    if "stability" in report:
        st = report["stability"]
        out += ["", "| labelings compared | ARI |", "|---|---:|"]
        out += [f"| {pair} | {v:.3f} |" for pair, v in st["seed_ari"].items()]
        out.append(f"| model on even days vs model on odd days | {st['halves_ari']:.3f} |")
    if "k_sweep" in report:
        ks = report["k_sweep"]
        out += ["", "| K | mixture of K: held-out NLL / state | K lumped regimes: held-out NLL "
                "/ window | held-out metastability (of K) |", "|---:|---:|---:|---:|"]
        for r in ks["rows"]:
            out.append(f"| {r['k']} | {r['gmm_heldout_nll']:.3f} | "
                       f"{_f(r.get('lumped_heldout_sequence_nll'))} | "
                       f"{_f(r.get('lumped_heldout_metastability'), '.2f')} |")
        out += ["", "eigenvalues of the components' transition matrix: "
                + ", ".join(f"{v:.3f}" for v in ks["transition_eigenvalues"][:20]),
                "largest gaps after eigenvalue number: "
                + ", ".join(str(i) for i in ks["largest_gaps_after"])]
    if "components" in report:
        out += ["", "| components | seed | EM iterations | fit CPU s | held-out NLL / state | "
                "held-out NLL / window | metastability |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for r in report["components"]["rows"]:
            out.append(f"| {r['components']} | {r['seed']} | {r['em_iterations']} | "
                       f"{r['fit_cpu_seconds']:.1f} | {r['heldout_nll']:.3f} | "
                       f"{_f(r.get('heldout_sequence_nll'))} | "
                       f"{_f(r.get('heldout_metastability'), '.2f')} |")
    return "\n".join(out)


def run(args) -> int:
    from atlas_core.features import check_states, write_json_atomic
    from atlas_core.regimes import (
        RegimeModel,
        evaluate_model_dir,
        k_sweep,
        stability,
    )
    from atlas_core.regimes.evaluate import component_sweep
    from atlas_core.states import read_states

    try:
        states = read_states(args.states)
        check_states(states, what=str(args.states))
        if "region" not in states.columns:
            raise ValueError(f"{args.states}: no 'region' column — truth regions exist only "
                             "for the synthetic archive")
        report = {"commit": commit(), "states": str(args.states),
                  "evaluation": evaluate_model_dir(args.model_dir, states, compare=args.compare)}
        if args.stability:
            report["stability"] = stability(args.model_dir, states)
            write_json_atomic(args.model_dir / "stability.json", report["stability"])
        if args.k_sweep:
            report["k_sweep"] = k_sweep(args.model_dir, states)
            write_json_atomic(args.model_dir / "k_sweep.json", report["k_sweep"])
        if args.components_sweep:
            grid = [int(c) for c in args.components_sweep.split(",")]
            config = RegimeModel.load(args.model_dir).config
            report["components"] = component_sweep(states, config, grid)
            write_json_atomic(args.model_dir / "components.json", report["components"])
    except (ValueError, FileNotFoundError) as err:
        log.error("%s", err)
        return 2
    print(json.dumps(report, indent=2) if args.json else tables(report))
    return 0
