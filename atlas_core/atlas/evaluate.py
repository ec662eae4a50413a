"""Evaluate the anomaly score on a synthetic archive: misplaced states versus held-out normal ones.

Every fourth 2-hour block of the state table is held out; an atlas is built from the rest
(with a given regime model, or a freshly trained one); the held-out states are scored at their
true positions ("normal") and, for the held-out magnetosheath states, at the positions of
training lobe states ("misplaced": a magnetosheath plasma in the tail lobe). The ROC AUC of
each measure (``anomaly_score``, ``place_surprise``) says how well it separates the two.

    python -m atlas_core.atlas.evaluate data/states1y --model data/model1y --work /tmp/eval

With ``--model``, the model has usually seen the held-out states in training (only the atlas'
occupancy is held out); the test suite trains on the training blocks only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

BLOCK_NS = 2 * 3600 * 10**9


def split_blocks(states: pd.DataFrame, every: int = 4, offset: int = 1) -> np.ndarray:
    """Boolean mask of the held-out states: every ``every``-th 2-hour block of time."""
    block = states["time"].astype("int64").to_numpy() // BLOCK_NS
    return block % every == offset


def misplaced_auc(atlas, held: pd.DataFrame, source: str = "magnetosheath",
                  target: str = "lobe", seed: int = 0) -> dict:
    """ROC AUC of the anomaly measures: held-out ``source`` states moved to training ``target``
    positions vs all held-out states at their own positions. Needs a ``region`` column."""
    from sklearn.metrics import roc_auc_score

    train = atlas.states
    if "region" not in train or "region" not in held:
        raise ValueError("misplaced-state evaluation needs truth regions (a synthetic archive)")
    to_pos = train.loc[train["region"] == target, ["x_gsm", "y_gsm", "z_gsm"]].to_numpy()
    moved = held[held["region"] == source].reset_index(drop=True)
    if len(to_pos) == 0 or len(moved) == 0:
        raise ValueError(f"no {target} training states or no held-out {source} states")
    rng = np.random.default_rng(seed)
    moved[["x_gsm", "y_gsm", "z_gsm"]] = to_pos[rng.integers(0, len(to_pos), len(moved))]
    normal = atlas.anomaly(held)
    misplaced = atlas.anomaly(moved)
    ok = normal["leaf"].to_numpy() >= 0
    labels = np.r_[np.zeros(ok.sum()), np.ones(len(misplaced))]
    out = {"n_normal": int(ok.sum()), "n_misplaced": len(misplaced),
           "normal_outside": int((~ok).sum())}
    for col in ("anomaly_score", "place_surprise"):
        out[f"auc_{col}"] = float(roc_auc_score(
            labels, np.r_[normal[col].to_numpy()[ok], misplaced[col].to_numpy()]))
    out["median_percentile_normal"] = float(normal["anomaly_percentile"].median())
    out["median_percentile_misplaced"] = float(misplaced["anomaly_percentile"].median())
    return out


def main(argv=None) -> int:
    from atlas_core.atlas import Atlas, build_atlas
    from atlas_core.states import read_states

    ap = argparse.ArgumentParser(description="anomaly-score ROC AUC on held-out synthetic states")
    ap.add_argument("states")
    ap.add_argument("--model", help="trained regime model directory (default: train one)")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--work", required=True, help="directory for the held-out atlas")
    args = ap.parse_args(argv)
    states = read_states(args.states)
    held = split_blocks(states)
    train_cfg = {} if args.epochs is None else {"max_epochs": args.epochs}
    build_atlas(states[~held].reset_index(drop=True), Path(args.work), model=args.model,
                train_config=train_cfg)
    result = misplaced_auc(Atlas.open(args.work), states[held].reset_index(drop=True))
    result.update({"states": args.states, "model": args.model or "trained on training blocks",
                   "n_train": int((~held).sum())})
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
