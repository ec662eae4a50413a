"""``atlas missions ATLAS``: coverage by mission and cross-mission consistency of an atlas."""

from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "missions", help="coverage by mission and cross-mission consistency of an atlas",
        description="For an atlas built from several missions: the states, time span and cells "
        "of each mission and spacecraft; in the cells two missions both cover, whether their "
        "regime distributions agree within the credible intervals, beside the same figures "
        "for each mission split in alternate days (same truth by construction); per-mission "
        "feature medians in the cells every mission covers. With --states, where a state table "
        "(e.g. real files) falls in the atlas: feature medians and regime mix against the "
        "atlas' in the same cells.")
    p.add_argument("atlas", metavar="ATLAS", help="atlas directory (atlas build)")
    p.add_argument("--min-effective", type=float, default=None,
                   help="independent looks each side needs in a cell to be compared (default 5)")
    p.add_argument("--states", default=None, metavar="STATES",
                   help="a state table to place in the atlas (e.g. ingested real files)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import pandas as pd

    from atlas_core.atlas import Atlas
    from atlas_core.atlas.consistency import (
        DEFAULT_MIN_EFFECTIVE,
        feature_medians_in_common_cells,
        mission_consistency,
        real_versus_atlas,
    )
    from atlas_core.atlas.coverage import mission_table, missions_in
    from atlas_core.atlas.errors import AtlasError

    try:
        atlas = Atlas.open(args.atlas)
    except AtlasError as err:
        log.error("missions: %s", err)
        return 2
    min_eff = DEFAULT_MIN_EFFECTIVE if args.min_effective is None else args.min_effective
    out: dict = {"atlas": str(args.atlas), "missions": missions_in(atlas),
                 "coverage": mission_table(atlas)}
    if len(out["missions"]) > 1:
        out["consistency"] = mission_consistency(atlas, min_effective=min_eff)
        out["common_cells"] = feature_medians_in_common_cells(atlas)
    if args.states:
        from atlas_core.states import read_states

        out["placed"] = real_versus_atlas(atlas, read_states(args.states))
    if args.json:
        def enc(v):
            return v.to_dict(orient="records") if isinstance(v, pd.DataFrame) else str(v)
        print(json.dumps(out, default=enc))
        return 0
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        print(f"atlas {args.atlas}: missions {', '.join(out['missions'])}")
        print("\ncoverage by mission and spacecraft:")
        print(out["coverage"].to_string(index=False))
        if "consistency" in out:
            print(f"\nregime distributions in cells both cover (>= {min_eff:g} effective looks "
                  "each); null rows: one mission split in alternate blocks of days:")
            print(out["consistency"].to_string(index=False))
            print("\nfeature medians in the 2 R_E cells every mission covers (>= 30 states each):")
            print(out["common_cells"].to_string(index=False))
        if "placed" in out:
            pl = out["placed"]
            print(f"\n{args.states}: {pl['cells']} cells ({pl['outside']} states outside the "
                  "atlas); feature medians in those cells:")
            print(pl["features"].to_string(index=False))
            print(f"regime mix, new states vs the atlas' estimate there "
                  f"(total variation {pl['tv_distance']:.3f}):")
            print(pl["regimes"].to_string(index=False))
    return 0
