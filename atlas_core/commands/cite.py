"""``atlas cite``: how to cite an atlas and acknowledge its data."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "cite", help="the method's reference, data acknowledgements and software version",
        description="Print what to cite (the method, the conditioning and boundary models) and "
                    "acknowledge (the data sources of ATLAS: its missions, Dst, OMNI), and the "
                    "software version. Without ATLAS: for an MMS atlas with Dst and OMNI. "
                    "--json: as JSON with the ISTP/CF global attributes.")
    p.add_argument("atlas_dir", nargs="?", help="an atlas directory (optional)")
    p.add_argument("--json", action="store_true", help="print JSON (citation + attributes)")
    p.set_defaults(func=run)
    return p


def atlas_citation(atlas_dir) -> tuple[dict, dict]:
    """(citation, global attributes) of an atlas directory: missions from its states'
    ``mission`` column, indices from its ``indices`` attribute (or its state columns), the
    software version it was built with."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from atlas_core.atlas.dataset import load_dataset
    from atlas_core.citation import citation, global_attributes

    atlas_dir = Path(atlas_dir)
    nc = atlas_dir / "atlas.nc"
    ds = load_dataset(nc if nc.exists() else atlas_dir / "atlas.zarr")
    synthetic = bool(int(ds.attrs.get("synthetic", 0)))
    states = atlas_dir / "states.parquet"
    cols = pq.read_schema(states).names if states.exists() else []
    missions = ["MMS"]
    if "mission" in cols:
        missions = sorted(set(pq.read_table(states, columns=["mission"]).column(0).to_pylist()))
    if "indices" in ds.attrs:
        indices = [i.strip() for i in str(ds.attrs["indices"]).split(",") if i.strip()]
    else:
        indices = [n for n, c in (("Dst", "dst"), ("OMNI", "sw_pdyn")) if c in cols]
    version = str(ds.attrs.get("code_version") or "") or None
    return (citation(missions, indices, synthetic, version),
            global_attributes(missions, indices, synthetic, version))


def run(args) -> int:
    from atlas_core.atlas import AtlasError
    from atlas_core.citation import citation, global_attributes

    try:
        if args.atlas_dir:
            cite, attrs = atlas_citation(args.atlas_dir)
        else:
            cite, attrs = citation(), global_attributes()
    except (AtlasError, OSError, ValueError) as err:
        print(f"atlas cite: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**{k: v for k, v in cite.items() if k != "text"},
                          "global_attributes": attrs}, indent=2))
    else:
        print(cite["text"])
    return 0
