"""``atlas nowcast``: the atlas conditioned on the latest (or a given hour's) solar wind and Dst."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "nowcast", help="regime map conditioned on the drivers in OMNI/Dst files (now or at --time)",
        description="Read OMNI (HRO 1-min CDF or OMNI2 hourly text) and Dst (Kyoto WDC) files, "
                    "take the values of the last hour they all cover (or of --time), and condition "
                    "the atlas on them by nearest neighbours over IMF Bz, Pdyn, V, Dst, dDst/dt "
                    "(and SYM-H where the atlas holds it). Prints the drivers, the neighbours and "
                    "their spread, and the map's regimes (--json: as JSON); --out writes the "
                    "conditioned map (one row per cell with data) as .parquet or .csv.")
    p.add_argument("atlas_dir")
    p.add_argument("--omni", action="append", required=True, metavar="FILE",
                   help="OMNI HRO CDF or OMNI2 hourly text (repeatable)")
    p.add_argument("--dst", action="append", default=[], metavar="FILE",
                   help="Kyoto WDC Dst file (repeatable; default: OMNI2's Dst, else SYM-H)")
    p.add_argument("--time", help="ISO time (UTC) instead of the latest hour in the files")
    p.add_argument("--k", type=int, default=8000, help="neighbours (default 8000, as TS07D)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", help="write the conditioned map here (.parquet or .csv)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import Atlas, AtlasError
    from atlas_core.service.nowcast import nowcast
    from atlas_core.sources.cdf import SourceError

    try:
        if args.out and not args.out.endswith((".parquet", ".csv")):
            raise ValueError(f"--out {args.out}: expected a .parquet or .csv file name")
        atlas = Atlas.open(args.atlas_dir)
        result = nowcast(atlas, [*args.omni, *args.dst], time=args.time, k=args.k)
        if args.out:
            _write_map(atlas, result.condition, args.out)
    except (AtlasError, SourceError, ValueError, OSError) as err:
        print(f"atlas nowcast: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.record, indent=2, default=str))
    else:
        print(_text(result.record))
    return 0


def _write_map(atlas, cond, path: str) -> None:
    import os

    from atlas_core.atlas.product import cell_table

    table = cell_table(atlas, cond)
    table = table.assign(regime=[atlas.names[d] for d in table["dominant"]])
    table.attrs = {}
    tmp = f"{path}.tmp"
    if path.endswith(".csv"):
        table.to_csv(tmp, index=False)
    else:
        table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _text(r: dict) -> str:
    lines = [f"nowcast for {r['time']}  (atlas {r['atlas']}"
             + (", synthetic data" if r["synthetic_atlas"] else "") + ")"]
    for d in r["drivers"].values():
        age = f" ({d['age_h']} h old)" if d["age_h"] else ""
        lines.append(f"  {d['label']:<30} {d['value']:9.2f} {d['unit']}{age}")
    n = r["neighbours"]
    lines.append(f"condition: {r['condition']['label']}")
    lines.append(f"neighbours: {n['k']} windows, {n['n_effective']:.0f} effective; standardised "
                 f"distance median {n['distance_sd']['median']:.2f}, max {n['distance_sd']['max']:.2f}")
    for name, s in n["spread"].items():
        lines.append(f"  {name:<8} 5/50/95 %: {s['p05']:8.2f} {s['p50']:8.2f} {s['p95']:8.2f} {s['unit']}")
    if r["boundaries"]:
        b = r["boundaries"]
        lines.append(f"subsolar magnetopause {b['subsolar_magnetopause_re']:.1f} R_E, bow shock "
                     f"{b['subsolar_bow_shock_re']:.1f} R_E")
    lines.append("near the Sun-Earth line (cell centre x, y, z R_E: regime p [lo, hi], "
                 "effective count):")
    for p in r["sun_earth_line"]:
        where = "({:6.1f} {:5.1f} {:5.1f})".format(*p["cell_centre_re"])
        if p["regime"] is None:
            lines.append(f"  {where}: no data")
        else:
            lines.append(f"  {where}: {p['regime']} {p['p']:.2f} [{p['lo']:.2f}, "
                         f"{p['hi']:.2f}], {p['n_eff']:.0f}" + (" (low count)" if p["low_count"] else ""))
    return "\n".join(lines)
