"""``atlas train``: octree, regime model, codes, summary (and evaluation on synthetic data)."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("atlas.train")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train the plasma regimes on a state table",
        description="Build the octree over the states, fit the regime model (by default a "
                    "full-covariance Gaussian mixture lumped into metastable regimes along "
                    "the orbit; --model vqvae for the VQ-VAE), assign every state a regime, "
                    "write the regime summary and — when the states carry truth regions "
                    "(synthetic archive) — the evaluation against k-means and a Gaussian "
                    "mixture.")
    p.add_argument("--states", required=True, type=Path, help="state-table directory")
    p.add_argument("--out", required=True, type=Path, help="model directory to write")
    p.add_argument("--model", choices=("mixture", "vqvae"), default="mixture",
                   help="fine components: EM Gaussian mixture (default) or VQ-VAE codes")
    p.add_argument("--k", type=int, default=12, help="number of regimes")
    p.add_argument("--components", type=int, default=None,
                   help="fine components (codebook size for the VQ-VAE) lumped into the K "
                        "regimes; default 48 for the mixture, K for the VQ-VAE (one code per "
                        "regime, as in the paper)")
    p.add_argument("--no-smoothing", action="store_true",
                   help="assign each state alone, not with its pass's neighbours")
    p.add_argument("--epochs", type=int, default=None, help="maximum VQ-VAE epochs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-octree-weighting", action="store_true",
                   help="train on the states as sampled (no inverse leaf-occupancy weights)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1 is fastest for this small model on shared cores)")
    p.add_argument("--no-evaluate", action="store_true",
                   help="skip the evaluation even when truth regions are present")
    p.set_defaults(func=run)


def config_fields(args) -> dict:
    """RegimeConfig fields from the command line (shared with ``atlas build``-like callers)."""
    components = args.components
    if components is None and args.model == "vqvae":
        components = args.k
    fields = {"model": args.model, "k": args.k, "seed": args.seed, "device": args.device,
              "num_threads": args.threads, "octree_weighting": not args.no_octree_weighting,
              "smoothing": not args.no_smoothing}
    if components is not None:
        fields["components"] = components
    if args.epochs is not None:
        fields["max_epochs"] = args.epochs
    return fields


def run(args) -> int:
    import numpy as np
    import pandas as pd

    from atlas_core.features import check_states
    from atlas_core.octree import Octree
    from atlas_core.regimes import (
        RegimeConfig,
        evaluate_model_dir,
        summary_markdown,
        train_regimes,
    )
    from atlas_core.states import POSITION_GSM, read_states

    if not args.states.exists():
        log.error("%s: no state table there", args.states)
        return 2
    t0 = time.perf_counter()
    try:
        states = read_states(args.states)
        check_states(states, what=str(args.states))
    except ValueError as err:
        log.error("%s", err)
        return 2
    log.info("%d states from %s (%.1f s)", len(states), args.states, time.perf_counter() - t0)
    args.out.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    tree = Octree.build(states[POSITION_GSM].to_numpy(np.float64))
    tree.save(args.out / "octree.npz")
    log.info("octree: %d leaves, %d non-empty, depth %d (%.2f s)", tree.n_leaves,
             tree.n_nonempty, tree.depth, time.perf_counter() - t1)
    try:
        config = RegimeConfig(**config_fields(args))
        config.check()
        t1 = time.perf_counter()
        model = train_regimes(states, args.out, config, octree=tree, resume=args.resume)
    except ValueError as err:
        log.error("%s", err)
        return 2
    log.info("training: %.1f s", time.perf_counter() - t1)
    codes, dist = model.assign(states)
    table = pd.DataFrame({"time": states["time"].to_numpy() if "time" in states else
                          np.arange(len(states)), "code": codes, "dist": dist,
                          "leaf": tree.leaf_of_state})
    tmp = args.out / "codes.parquet.tmp"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, args.out / "codes.parquet")
    table_md = summary_markdown(model.summary)
    (args.out / "regimes.md").write_text(table_md)
    print(table_md)
    if "region" in states.columns and not args.no_evaluate:
        report = evaluate_model_dir(args.out, states)
        print(json.dumps({key: report[key] for key in ("scores", "kmeans", "gmm")}, indent=2))
    log.info("model written to %s (%.1f s in all)", args.out, time.perf_counter() - t0)
    return 0
