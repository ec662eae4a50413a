"""``atlas synth``: write a synthetic MMS1-like archive (CDFs in the SDC layout, truth, indices)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic MMS1-like archive",
        description="Generate a synthetic MMS1-like archive: FGM survey and FPI DIS fast CDF "
                    "files in the MMS SDC layout, the truth region of every FPI sample "
                    "(Parquet, beside the CDFs), OMNI2 and Kyoto-format Dst indices, and "
                    "archive.json. Deterministic for a given seed. With --omni the solar "
                    "wind and Dst are the real ones of the OMNI2 files given.",
    )
    p.add_argument("--start", default="2015-09-01", help="first day, YYYY-MM-DD (default 2015-09-01)")
    p.add_argument("--end", default="2016-09-01", help="day after the last, YYYY-MM-DD (default 2016-09-01)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output folder (the archive root)")
    p.add_argument("--every-nth-day", type=int, default=1,
                   help="keep one day in N (a small archive spread over the span)")
    p.add_argument("--omni", nargs="+", action="extend", default=[], metavar="FILE",
                   help="OMNI2 hourly files (NASA SPDF omni2_YYYY.dat) covering the span: drive "
                        "the archive from this real solar wind and Dst instead of the synthetic "
                        "driver")
    p.add_argument("--block-availability", type=float, default=None, metavar="P",
                   help="probability that a 2-hour block in the region of interest has "
                        "fast-survey data (default 0.203, tuned to the paper's state count; "
                        "1 keeps every block)")
    p.add_argument("--missions", default=None, metavar="LIST",
                   help="a multi-mission archive: comma list among mms,cluster,themis, each in "
                        "its own file format under one synthetic solar wind (only spacecraft "
                        "flying in the span write files; docs/missions.md)")
    p.add_argument("--probes", default=None, metavar="LIST",
                   help="with --missions: spacecraft to write, e.g. c1,c2,thb,thd (default "
                        "mms1, c1 and tha..the)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress log lines")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.sources.cdf import SourceError
    from atlas_core.synth import generate_archive

    if args.missions:  # issue 13 (missions engineer): the multi-mission archive
        return _run_multi(args)
    try:
        meta = generate_archive(args.out, args.start, args.end, seed=args.seed,
                                every_nth_day=args.every_nth_day, workers=args.workers,
                                progress=not args.no_progress, omni=args.omni or None,
                                block_availability=args.block_availability)
    except (ValueError, SourceError) as err:
        log.error("synth: %s", err)
        return 2
    driver = "real OMNI2 solar wind and Dst" if args.omni else "the synthetic driver"
    print(f"synthetic archive in {args.out} ({driver}): {meta['days_with_data']} days with data, "
          f"{meta['files']} files, {meta['fpi_samples']} FPI samples, "
          f"{100 * meta['quiet_fraction_hours']:.1f} % of hours quiet (|Dst| <= 20 nT)")
    return 0


def _run_multi(args) -> int:
    from atlas_core.sources.missions import PROBES, normalise_mission
    from atlas_core.synth.multi import generate_multi_archive

    if args.omni or args.block_availability is not None:
        log.error("synth: --omni and --block-availability apply to the MMS archive only")
        return 2
    try:
        missions = [normalise_mission(m) for m in args.missions.split(",") if m.strip()]
        probes = None
        if args.probes:
            wanted = [p.strip().lower() for p in args.probes.split(",") if p.strip()]
            probes = {m: tuple(p for p in wanted if p in PROBES[m]) for m in missions}
        meta = generate_multi_archive(args.out, args.start, args.end, seed=args.seed,
                                      missions=missions, probes=probes,
                                      every_nth_day=args.every_nth_day, workers=args.workers,
                                      progress=not args.no_progress)
    except ValueError as err:
        log.error("synth: %s", err)
        return 2
    for m, v in meta["missions"].items():
        print(f"{m}: {v['files']} files, {v['plasma_samples']} plasma samples, spacecraft-days "
              + ", ".join(f"{p} {n}" for p, n in v["probes"].items()))
    print(f"synthetic multi-mission archive in {args.out}, "
          f"{100 * meta['quiet_fraction_hours']:.1f} % of hours quiet (|Dst| <= 20 nT)")
    return 0
