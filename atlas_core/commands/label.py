"""``atlas label``: a state table -> a catalogue of regime intervals (CSV + VOTable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

VOTABLE_SUFFIXES = (".xml", ".vot", ".votable")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "label", help="regime intervals of a state table as a catalogue (CSV + VOTable)",
        description="Label every window of STATES with its most probable regime (the atlas "
                    "cell's probabilities times the regime model's likelihood of the window's "
                    "features), merge consecutive windows of one spacecraft and one regime into "
                    "intervals (start, stop, regime, mean probability, mission, probe), and write "
                    "them as CSV and as a VOTable in the SciQLop/tscat (AMDA-compatible) layout: "
                    "--out X.csv also writes X.xml; --out X.xml also writes X.csv.")
    p.add_argument("states", help="state-table directory or Parquet file (e.g. ATLAS/states.parquet)")
    p.add_argument("--atlas", required=True, help="atlas directory")
    p.add_argument("--out", required=True, help="catalogue file (.csv or .xml)")
    p.add_argument("--name", help="catalogue name (default: from the file name)")
    p.add_argument("--temperature", type=float, default=None,
                   help="soften (T > 1) or sharpen (T < 1) the stated probabilities, "
                        "p = softmax(logits / T); the labels do not change. Default: the "
                        "temperature fitted on held-out weeks and saved in the atlas "
                        "(ATLAS/label_calibration.json, `python -m "
                        "atlas_core.service.label_calibration --save-to ATLAS`), else 1")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from atlas_core.atlas import Atlas, AtlasError
    from atlas_core.citation import citation
    from atlas_core.service.labels import label_intervals, window_labels, write_csv, write_votable
    from atlas_core.states import read_states

    out = Path(args.out)
    if out.suffix.lower() == ".csv":
        csv_path, vot_path = out, out.with_suffix(".xml")
    elif out.suffix.lower() in VOTABLE_SUFFIXES:
        csv_path, vot_path = out.with_suffix(".csv"), out
    else:
        print(f"atlas label: --out {out}: expected a .csv or .xml file name", file=sys.stderr)
        return 2
    try:
        atlas = Atlas.open(args.atlas)
        states = read_states(args.states)
        if states.empty:
            raise ValueError(f"{args.states}: no states")
        labels = window_labels(atlas, states, temperature=args.temperature)
        intervals = label_intervals(labels)
        name = args.name or out.stem
        cite = citation(sorted(set(labels["mission"])), synthetic=atlas.synthetic)
        write_csv(intervals, csv_path)
        write_votable(intervals, vot_path, name,
                      description=f"Regime intervals from the atlas {atlas.atlas_dir.name} "
                                  f"({cite['software']}). Cite: {cite['method']}")
    except (AtlasError, ValueError, OSError) as err:
        print(f"atlas label: {err}", file=sys.stderr)
        return 2
    temp, source = labels.attrs["temperature"], labels.attrs["temperature_source"]
    print(f"{len(labels)} windows -> {len(intervals)} intervals: {csv_path}, {vot_path} "
          f"(probabilities at temperature {temp:.3g}: "
          f"{'untempered' if source == 'none' else source})")
    return 0
