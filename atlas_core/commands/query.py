"""``atlas query``: regime probabilities at a position under a condition, as JSON."""

from __future__ import annotations

import argparse
import json
import sys


def parse_near(text: str) -> dict[str, float]:
    """``"dst=-80,ddst=-10"`` -> ``{"dst": -80.0, "ddst": -10.0}``."""
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"--near expects name=value pairs, got {part!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError as err:
            raise ValueError(f"--near: {name.strip()}={value!r} is not a number") from err
    if not out:
        raise ValueError("--near needs at least one name=value pair")
    return out


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "query", help="regime probabilities at a GSM position under a Dst condition (JSON)",
        description="Print {position, condition, count, regimes: [{id, name, p, lo, hi}]} for one "
                    "position (GSM, R_E). Condition: a Dst range (--dst-min/--dst-max, nT), or "
                    "TS07D-style nearest neighbours (--near dst=-80,ddst=-10 [--k 8000]), or none.")
    p.add_argument("atlas_dir")
    p.add_argument("--x", type=float, required=True, help="x GSM, R_E")
    p.add_argument("--y", type=float, required=True, help="y GSM, R_E")
    p.add_argument("--z", type=float, required=True, help="z GSM, R_E")
    p.add_argument("--dst-min", type=float, help="lowest Dst, nT")
    p.add_argument("--dst-max", type=float, help="highest Dst, nT")
    p.add_argument("--near", help="target condition, e.g. dst=-80,ddst=-10 (also sw_n, sw_v, "
                                  "imf_bz, sw_pdyn when OMNI was ingested)")
    p.add_argument("--k", type=int, default=8000, help="neighbours for --near (default 8000)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import Atlas, AtlasError

    try:
        if args.near and (args.dst_min is not None or args.dst_max is not None):
            raise AtlasError("give either --dst-min/--dst-max or --near, not both")
        near = parse_near(args.near) if args.near else None
        dst_range = None
        if args.dst_min is not None or args.dst_max is not None:
            dst_range = (args.dst_min, args.dst_max)
        atlas = Atlas.open(args.atlas_dir)
        result = atlas.query([[args.x, args.y, args.z]], dst_range=dst_range, near=near, k=args.k)
    except ValueError as err:  # AtlasError is a ValueError
        print(f"atlas query: {err}", file=sys.stderr)
        return 2
    record = result.to_records()[0]
    record.pop("leaf")
    record["synthetic"] = atlas.synthetic
    print(json.dumps(record, indent=2))
    return 0
