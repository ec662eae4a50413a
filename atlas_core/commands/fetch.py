"""``atlas fetch``: download MMS1 L2 files (SDC) and OMNI2 hourly files (SPDF) for a range."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    from atlas_core.sources.fetch import OMNI_URL, SDC_API

    p = subparsers.add_parser(
        "fetch", help="download MMS FGM/FPI/MEC L2 files and OMNI2 hourly files",
        description="Download MMS1 FGM survey, FPI fast DIS moments and MEC L2 files for "
        "[START, END) from the MMS SDC public API into the SDC layout under OUT, and the OMNI2 "
        "hourly files (solar wind and Dst) from NASA SPDF into OUT/omni. Files already present "
        "with the right size are skipped; downloads are retried and never left partial.")
    p.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD")
    p.add_argument("--out", required=True, help="archive root (e.g. $MMS_DATA_DIR)")
    p.add_argument("--probe", default="mms1")
    p.add_argument("--fgm-rate", default="srvy", choices=["srvy", "brst"])
    p.add_argument("--fpi-rate", default="fast", choices=["fast", "brst"])
    p.add_argument("--no-mec", action="store_true", help="skip MEC ephemeris files")
    p.add_argument("--no-omni", action="store_true", help="skip OMNI2 files")
    p.add_argument("--sdc-api", default=SDC_API, help="SDC file API base URL")
    p.add_argument("--omni-url", default=OMNI_URL, help="folder URL of omni2_YYYY.dat files")
    p.add_argument("--retries", type=int, default=3)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.sources.fetch import fetch

    rep = fetch(args.out, args.start, args.end, probe=args.probe, fgm_rate=args.fgm_rate,
                fpi_rate=args.fpi_rate, mec=not args.no_mec, omni=not args.no_omni,
                api=args.sdc_api, omni_url=args.omni_url, retries=args.retries)
    print(f"{len(rep.downloaded)} downloaded ({rep.bytes / 1e6:.1f} MB), "
          f"{len(rep.present)} already present, {len(rep.failed)} failed")
    for e in rep.failed:
        print(f"  FAILED {e['file']}: {e['error']}")
    return 1 if rep.failed else 0
