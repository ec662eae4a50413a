"""``atlas anomaly``: score new states against the atlas (how unusual for their place)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "anomaly", help="anomaly score of new states (Parquet in, Parquet out)",
        description="Add columns anomaly_score (nats: negative log-likelihood under the regime "
                    "mixture of the state's cell and Dst activity bin), anomaly_percentile "
                    "(against the training states), place_surprise (nats: how much less likely "
                    "the state is in its cell than anywhere in the atlas), place_percentile and "
                    "leaf to a state table.")
    p.add_argument("atlas_dir")
    p.add_argument("--states", required=True,
                   help="a Parquet file or a state-table directory with the schema's columns")
    p.add_argument("--out", required=True, help="Parquet file to write")
    p.add_argument("--no-activity", action="store_true",
                   help="use each cell's all-states mixture, not its Dst activity bin's")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import pandas as pd

    from atlas_core.atlas import Atlas

    src = Path(args.states)
    try:
        if not src.exists():
            raise ValueError(f"{src}: no such file or directory")
        if src.is_dir():
            from atlas_core.states import read_states

            df = read_states(src)
        else:
            df = pd.read_parquet(src)
        atlas = Atlas.open(args.atlas_dir)
        measures = atlas.anomaly(df, by_activity=not args.no_activity)
    except (ValueError, OSError) as err:
        print(f"atlas anomaly: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    df.drop(columns=[c for c in measures.columns if c in df.columns]).join(measures).to_parquet(
        tmp, index=False)
    os.replace(tmp, out)
    n_out = int((measures["leaf"] < 0).sum())
    print(f"scored {len(df)} states -> {out}" + (f" ({n_out} outside the atlas: NaN)" if n_out else ""))
    return 0
