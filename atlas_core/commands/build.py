"""``atlas build``: octree, regime training and the atlas dataset in one go."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "build", help="build an atlas (octree + VQ-VAE + per-cell regime probabilities)",
        description="Build an atlas directory from a state table: the octree over the states' "
                    "GSM positions, the VQ-VAE regimes (trained here unless --model is given), and "
                    "the atlas dataset (atlas.nc, atlas.zarr) with Dst-conditioned occupancy.")
    p.add_argument("--states", required=True, help="state-table directory (from `atlas ingest`)")
    p.add_argument("--out", required=True, help="atlas directory to write")
    p.add_argument("--model", help="use this trained model directory instead of training")
    p.add_argument("--epochs", type=int, help="training epochs (RegimeConfig.max_epochs)")
    p.add_argument("--seed", type=int, help="training seed")
    p.add_argument("--codes", type=int, help="codebook size = number of regimes (default 12)")
    p.add_argument("--quiet-max", type=float, default=20.0, help="quiet: |Dst| <= this, nT")
    p.add_argument("--storm-max", type=float, default=-50.0, help="storm: Dst <= this, nT")
    p.add_argument("--alpha", type=float, default=0.5, help="Dirichlet prior per regime")
    p.add_argument("--level", type=float, default=0.9, help="credible interval mass")
    p.add_argument("--min-effective", type=float, default=3.0,
                   help="cells with fewer effective (independent) looks are low-count")
    p.add_argument("--coords", choices=["gsm", "normalised"], default="gsm",
                   help="frame of the octree and maps: GSM, or boundary-normalised (each state "
                        "placed relative to the magnetopause and bow shock of its moment)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import ActivityBins, AtlasError, build_atlas

    train = {}
    if args.epochs is not None:
        train["max_epochs"] = args.epochs
    if args.seed is not None:
        train["seed"] = args.seed
    if args.codes is not None:
        train["k"] = args.codes
    try:
        bins = ActivityBins(args.quiet_max, args.storm_max)
        out = build_atlas(args.states, args.out, model=args.model, train_config=train, bins=bins,
                          alpha=args.alpha, level=args.level, min_effective=args.min_effective,
                          coords=args.coords)
    except (AtlasError, ValueError, FileNotFoundError) as err:
        print(f"atlas build: {err}", file=sys.stderr)
        return 2
    print(f"atlas written to {out}")
    return 0
