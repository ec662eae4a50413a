"""``atlas evaluate``: score a regime model against the synthetic archive's truth regions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger("atlas.evaluate")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score regimes against truth regions, next to k-means and a GMM",
        description="Adjusted Rand index, normalised mutual information and purity of the "
                    "model's regimes against the `region` column (synthetic archive), next "
                    "to k-means and a 12-component Gaussian mixture on the same scaled "
                    "features, and the model with the octree weighting flipped. Prints the "
                    "JSON report and writes MODEL_DIR/evaluation.json.")
    p.add_argument("model_dir", type=Path, help="model directory (from `atlas train`)")
    p.add_argument("--states", required=True, type=Path, help="state-table directory")
    p.add_argument("--no-counterpart", action="store_true",
                   help="do not train/load the model with the octree weighting flipped")
    p.set_defaults(func=run)


def run(args) -> int:
    from atlas_core.features import check_states
    from atlas_core.regimes import evaluate_model_dir
    from atlas_core.states import read_states

    try:
        states = read_states(args.states)
        check_states(states, what=str(args.states))
        if "region" not in states.columns:
            raise ValueError(f"{args.states}: no 'region' column — truth regions exist only "
                             "for the synthetic archive")
        report = evaluate_model_dir(args.model_dir, states, counterpart=not args.no_counterpart)
    except (ValueError, FileNotFoundError) as err:
        log.error("%s", err)
        return 2
    print(json.dumps(report, indent=2))
    return 0
