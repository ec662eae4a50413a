"""``atlas export``: one octree slice of an atlas as a PNG (>= 300 dpi), SVG or PDF figure.

Example::

    atlas export data/atlas1y --plane xy --offset 0 --color dominant --format pdf \
        --condition quiet --out slice.pdf

The figure is drawn from the product layer (:mod:`atlas_core.atlas.product`), the same numbers
and colours as the dashboard's slice and ``atlas query``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _planes():
    from atlas_core.atlas.product import PLANES

    return PLANES


def _colorings():
    from atlas_core.atlas.product import COLOR_ALIASES, COLORINGS

    return list(COLORINGS) + list(COLOR_ALIASES)


def _formats():
    from atlas_core.figures import FORMATS

    return FORMATS


def add_parser(subparsers) -> argparse.ArgumentParser:
    from atlas_core.cli import LazyChoices

    p = subparsers.add_parser(
        "export", help="export an octree slice as a PNG/SVG/PDF figure",
        description="Draw the octree cells cut by a GSM plane, coloured by the dominant regime, "
                    "the probability of one regime, the entropy, the window count or the "
                    "storm - quiet probability difference, with Earth, magnetopause and bow "
                    "shock, a legend or colour bar and a caption naming the condition and the "
                    "data.")
    p.add_argument("atlas_dir", help="an atlas directory (from `atlas build`)")
    # metavars keep argparse from reading the lazy choices when the parser is built
    p.add_argument("--plane", default="xy", type=str.lower, choices=LazyChoices(_planes),
                   metavar="PLANE", help="slice plane, GSM: %(choices)s (default xy)")
    p.add_argument("--offset", type=float, default=0.0,
                   help="plane position along its normal axis, R_E (default 0)")
    p.add_argument("--color", default="dominant", choices=LazyChoices(_colorings),
                   metavar="COLOR", help="what colours the cells: %(choices)s (default dominant)")
    p.add_argument("--regime", type=int, default=0,
                   help="regime id for --color probability / storm_minus_quiet (default 0)")
    p.add_argument("--condition", default="all",
                   help="all, quiet, storm, a Dst range LO:HI in nT (either side may be empty), "
                        "e.g. -100:-50, or near:dst=-80,ddst=-10,k=8000 (default all)")
    p.add_argument("--format", dest="fmt", default=None, type=str.lower,
                   choices=LazyChoices(_formats), metavar="FORMAT",
                   help="%(choices)s (default: from --out's suffix, else png)")
    p.add_argument("--dpi", type=int, default=300, help="PNG resolution (at least 300)")
    p.add_argument("--bz", type=float, default=None,
                   help="IMF Bz for the magnetopause curve, nT (default: the selection's median)")
    p.add_argument("--pdyn", type=float, default=None,
                   help="solar-wind dynamic pressure for the boundary curves, nPa (default: the "
                        "selection's median)")
    p.add_argument("--no-boundaries", action="store_true",
                   help="leave the magnetopause and bow shock out")
    p.add_argument("--out", default=None,
                   help="output file (default: a name made from the options and the condition, "
                        "in the current folder)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import as_condition
    from atlas_core.figures import export_filename, render_slice

    fmt = args.fmt
    if fmt is None:
        suffix = Path(args.out).suffix.lower().lstrip(".") if args.out else ""
        fmt = suffix if suffix in ("png", "svg", "pdf") else "png"
    try:
        atlas = Atlas.open(args.atlas_dir)
        cond = as_condition(args.condition, atlas.bins)
        out = Path(args.out) if args.out else Path(export_filename(
            args.plane, args.offset, args.color, cond, fmt, regime=args.regime, bins=atlas.bins))
        blob = render_slice(
            atlas, args.plane, args.offset, args.color, cond, fmt, dpi=args.dpi,
            regime=args.regime, boundaries=not args.no_boundaries, pdyn_npa=args.pdyn,
            bz_nt=args.bz)
    except (ValueError, OSError) as err:  # AtlasError is a ValueError
        print(f"atlas export: {err}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, out)
    print(f"wrote {out} ({fmt}, {len(blob):,} bytes)")
    return 0
