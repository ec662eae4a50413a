"""``atlas flythrough``: regime probabilities along a spacecraft trajectory."""

from __future__ import annotations

import argparse
import os
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "flythrough", help="regime probabilities along a trajectory (CSV or CDF of time + GSM)",
        description="One row per trajectory time: time, GSM position (R_E), the cell, the most "
                    "likely regime with p and its credible bounds, every regime's probability "
                    "(p_<regime>), effective count, and the 5/50/95 %% quantiles of the most "
                    "likely regime's window means. Condition: the drivers of each hour from "
                    "--omni/--dst files (nearest neighbours), or a Dst range, or all states.")
    p.add_argument("atlas_dir")
    p.add_argument("--trajectory", required=True, help="CSV (time, x_gsm, y_gsm, z_gsm R_E) or CDF")
    p.add_argument("--omni", action="append", default=[], metavar="FILE",
                   help="OMNI HRO CDF or OMNI2 hourly text (repeatable)")
    p.add_argument("--dst", action="append", default=[], metavar="FILE", help="Kyoto WDC Dst file")
    p.add_argument("--dst-min", type=float, help="fixed condition: lowest Dst, nT")
    p.add_argument("--dst-max", type=float, help="fixed condition: highest Dst, nT")
    p.add_argument("--k", type=int, default=8000, help="neighbours per hour with --omni/--dst")
    p.add_argument("--out", required=True, help="output table, .csv or .parquet")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import Atlas, AtlasError
    from atlas_core.atlas.product import Condition
    from atlas_core.service.drivers import read_drivers
    from atlas_core.service.flythrough import flythrough, read_trajectory
    from atlas_core.sources.cdf import SourceError

    try:
        if not args.out.endswith((".csv", ".parquet")):
            raise ValueError(f"--out {args.out}: expected a .csv or .parquet file name")
        files = [*args.omni, *args.dst]
        ranged = args.dst_min is not None or args.dst_max is not None
        if files and ranged:
            raise ValueError("give either driver files (--omni/--dst) or a Dst range "
                             "(--dst-min/--dst-max), not both")
        trajectory = read_trajectory(args.trajectory)
        atlas = Atlas.open(args.atlas_dir)
        drivers = read_drivers(files) if files else None
        cond = Condition(dst_min=args.dst_min, dst_max=args.dst_max) if ranged else None
        table = flythrough(atlas, trajectory, drivers=drivers, cond=cond, k=args.k)
        table.attrs = {}
        tmp = f"{args.out}.tmp"
        if args.out.endswith(".csv"):
            table.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            table.to_parquet(tmp, index=False)
        os.replace(tmp, args.out)
    except (AtlasError, SourceError, ValueError, OSError) as err:
        print(f"atlas flythrough: {err}", file=sys.stderr)
        return 2
    outside = int((table["leaf"] < 0).sum())
    print(f"{len(table)} trajectory times -> {args.out}"
          + (f" ({outside} outside the atlas: NaN rows)" if outside else ""))
    return 0
