"""``atlas ingest``: MMS, Cluster and THEMIS CDF files + Dst/OMNI -> the state table (Parquet)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "ingest",
        help="window MMS, Cluster and THEMIS files into 2-minute states (Parquet, by month)",
        description="Read the field, ion-moment and ephemeris files of every spacecraft found "
        "under the archive folder (MMS FGM/FPI DIS/MEC L2 in the SDC layout; Cluster CSA "
        "C1..C4_CP_FGM_SPIN and _PP_CIS; THEMIS CDAWeb thX_l2_fgm/mom/esa and thX_l1|l2_state), "
        "make the 2-minute state windows (each with its mission and probe), and write "
        "STATES/month=YYYY-MM/day=YYYYMMDD.parquet. Resumable: days already written are "
        "skipped. Exits 2, saying what it looked for, when it finds no usable file.",
    )
    p.add_argument("--data", default=None,
                   help="archive folder (default: $MMS_DATA_DIR); any layout for Cluster and "
                        "THEMIS, the SDC layout for MMS")
    p.add_argument("--dst", action="append", default=[], metavar="FILE",
                   help="Kyoto WDC Dst file (repeatable)")
    p.add_argument("--omni", action="append", default=[], metavar="FILE",
                   help="OMNI2 hourly file: solar-wind columns and Dst (repeatable)")
    p.add_argument("--out", required=True, metavar="STATES", help="output state-table folder")
    p.add_argument("--fgm-rate", default="srvy", choices=["srvy", "brst"])
    p.add_argument("--fpi-rate", default="fast", choices=["fast", "brst"])
    p.add_argument("--mission", action="append", default=None,
                   choices=["mms", "cluster", "themis", "MMS", "Cluster", "THEMIS"],
                   help="keep this mission (repeatable; default: every mission found)")
    p.add_argument("--probe", action="append", default=None,
                   help="keep this spacecraft, e.g. mms1, c3, thb (repeatable; default: all)")
    p.add_argument("--start", default=None, help="first day (YYYY-MM-DD)")
    p.add_argument("--end", default=None, help="day after the last (YYYY-MM-DD)")
    p.add_argument("--scheduler", default="auto",
                   help="dask.distributed scheduler address, or a local one: 'auto' (default: "
                        "worker processes for 32 days or more, else threads), 'processes', "
                        "'threads' or 'sync'")
    p.add_argument("--workers", type=int, default=None, help="local worker threads")
    p.add_argument("--no-progress", action="store_true", help="log lines instead of a bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.pipeline import NoUsableFiles, ingest
    from atlas_core.sources.layout import data_dir

    root = data_dir(args.data)
    if not root.is_dir():
        log.error("archive folder %s not found (give --data or set MMS_DATA_DIR)", root)
        return 2
    try:
        report = ingest(
            root, args.out, dst=args.dst, omni=args.omni, fgm_rate=args.fgm_rate,
            fpi_rate=args.fpi_rate, missions=args.mission, probes=args.probe,
            scheduler=args.scheduler, workers=args.workers, start=args.start, end=args.end,
            progress=not args.no_progress,
        )
    except NoUsableFiles as err:
        log.error("ingest: %s", err)
        return 2
    print(f"{report.days_done} days ingested, {report.days_skipped} already done, "
          f"{report.days_failed} failed; {report.states} states "
          f"({report.rate:.0f} states/s) -> {report.out_dir}")
    if report.skipped_files:
        print(f"{len(report.skipped_files)} file(s) skipped:")
        for e in report.skipped_files:
            print(f"  {e['file']}: {e['error']}")
    return 1 if report.days_failed else 0
