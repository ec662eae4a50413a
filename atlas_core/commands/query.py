"""``atlas query``: regime probabilities at a position under a condition, as JSON.

The numbers come from the product layer (:func:`atlas_core.atlas.product.query_cells`), the
same as the dashboard's slice and ``atlas export``.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "query", help="regime probabilities at a GSM position under a condition (JSON)",
        description="Print {position, condition, count (windows), n_eff, low_count, dominant, "
                    "entropy_bits, regimes: [{id, name, p, lo, hi}]} for one position (GSM, "
                    "R_E). Condition: a Dst range (--dst-min/--dst-max, nT), TS07D-style "
                    "nearest neighbours (--near dst=-80,ddst=-10 [--k 8000]), --condition "
                    "(all, quiet, storm, LO:HI, near:...), or none (all states).")
    p.add_argument("atlas_dir")
    p.add_argument("--x", type=float, help="x GSM, R_E")
    p.add_argument("--y", type=float, help="y GSM, R_E")
    p.add_argument("--z", type=float, help="z GSM, R_E")
    p.add_argument("--positions", help="a CSV file of x,y,z rows (GSM, R_E; a header line is "
                                       "skipped): print a JSON list, one record per row")
    p.add_argument("--dst-min", type=float, help="lowest Dst, nT")
    p.add_argument("--dst-max", type=float, help="highest Dst, nT")
    p.add_argument("--near", help="target condition, e.g. dst=-80,ddst=-10 (also sw_n, sw_v, "
                                  "imf_bz, sw_pdyn when OMNI was ingested)")
    p.add_argument("--k", type=int, default=8000, help="neighbours for --near (default 8000)")
    p.add_argument("--condition", help="all, quiet, storm, LO:HI (nT) or "
                                       "near:dst=-80,ddst=-10,k=8000")
    p.set_defaults(func=run)
    return p


def condition_of(args, bins):
    """The :class:`~atlas_core.atlas.product.Condition` the options describe."""
    from atlas_core.atlas.errors import AtlasError
    from atlas_core.atlas.product import Condition, as_condition, parse_pairs

    ranged = args.dst_min is not None or args.dst_max is not None
    if sum(bool(v) for v in (ranged, args.near, args.condition)) > 1:
        raise AtlasError("give one of --dst-min/--dst-max, --near or --condition")
    if args.condition:
        return as_condition(args.condition, bins)
    if args.near:
        target = parse_pairs(args.near)
        if not target:
            raise AtlasError("--near needs at least one name=value pair")
        return Condition(near=tuple(target.items()), k=args.k)
    return Condition(dst_min=args.dst_min, dst_max=args.dst_max)


def positions_of(args) -> list[list[float]]:
    """The positions to query: --x/--y/--z, or the rows of --positions."""
    from atlas_core.atlas.errors import AtlasError

    given = [v is not None for v in (args.x, args.y, args.z)]
    if args.positions:
        if any(given):
            raise AtlasError("give either --x/--y/--z or --positions, not both")
        import numpy as np

        try:
            rows = np.loadtxt(args.positions, delimiter=",", ndmin=2, comments="#",
                              skiprows=_header_lines(args.positions))
        except (OSError, ValueError) as err:
            raise AtlasError(f"{args.positions}: cannot read x,y,z rows ({err})") from err
        if rows.shape[1] != 3:
            raise AtlasError(f"{args.positions}: expected 3 columns x,y,z, got {rows.shape[1]}")
        return rows.tolist()
    if not all(given):
        raise AtlasError("give the position as --x, --y and --z (GSM, R_E), or --positions")
    return [[args.x, args.y, args.z]]


def _header_lines(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    return int(any(c.isalpha() for c in first))


def run(args) -> int:
    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import query_cells, query_records

    try:
        atlas = Atlas.open(args.atlas_dir)
        cond = condition_of(args, atlas.bins)
        records = query_records(query_cells(atlas, positions_of(args), cond))
    except ValueError as err:  # AtlasError is a ValueError
        print(f"atlas query: {err}", file=sys.stderr)
        return 2
    for record in records:
        record["synthetic"] = atlas.synthetic
        if not args.positions:
            record.pop("leaf")
    out = records if args.positions else records[0]
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0
