"""``atlas inspect FILE...``: what each data file holds, or why it cannot be read."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "inspect", help="summarise MMS CDF, Kyoto Dst and OMNI2 files",
        description="One summary per file: product, time span, records, fraction of valid "
        "records and medians of the valid values (B nT, n cm^-3, V km/s, T eV, dst nT, r_gsm "
        "R_E). Exits non-zero when any file cannot be read.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)
    return p


def _text(s: dict) -> str:
    if "error" in s:
        return f"{s['file']}: ERROR {s['error']}"
    med = ", ".join(f"{k}={v}" for k, v in s["medians"].items())
    return (f"{s['file']}: {s['product']} {s['start']} .. {s['end']}, {s['records']} records, "
            f"{100 * s['valid_fraction']:.1f} % valid; medians {med}")


def run(args) -> int:
    from atlas_core.sources.inspect import inspect_file

    failed = 0
    for f in args.files:
        s = inspect_file(f)
        failed += "error" in s
        print(json.dumps(s) if args.json else _text(s), flush=True)
    return 1 if failed else 0
