"""VQ-VAE training benchmark: wall time and peak memory on 2 CPU threads, at 66 k, 660 k and
6.6 M states.

(The issue asks for 2 cores: the machine has 2; ``--threads 1,2`` compares one and two torch
intra-op threads on them.)

Each size runs in its own process (so that its peak RSS is its own): the state table is read,
resampled to the size (a random subset below the table's size; above it, states drawn with
replacement and jittered: positions by 0.05 R_E, log-scaled features by 2 % multiplicative
noise, signed features by 2 % of their spread), the octree built, and the model trained with the
default ``RegimeConfig`` (early stopping on the held-out days) with ``torch.set_num_threads(--threads)``.

    .venv/bin/python bench/bench_training.py [--states data/states10y] [--sizes 66000,660000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def default_states() -> Path:
    for cand in (ROOT / "data/states10y", ROOT / "data/states1y"):
        if cand.exists():
            return cand
    raise SystemExit("no state table: pass --states (data/states10y or data/states1y)")


def resample(df, n: int, seed: int = 0):
    from atlas_core.states import FEATURES, LOG_FEATURES, POSITION_GSM

    rng = np.random.default_rng(seed)
    if n <= len(df):
        return df.iloc[np.sort(rng.choice(len(df), n, replace=False))].reset_index(drop=True)
    out = df.iloc[np.sort(rng.integers(0, len(df), n))].reset_index(drop=True)
    for c in POSITION_GSM:
        out[c] = out[c].to_numpy() + rng.normal(0, 0.05, n)
    for c in FEATURES:
        v = out[c].to_numpy()
        if c in LOG_FEATURES:
            out[c] = v * np.exp(rng.normal(0, 0.02, n))
        else:
            out[c] = v + rng.normal(0, 0.02 * np.std(v), n)
    return out


def one(n: int, states: Path, max_epochs: int | None, device: str, threads: int) -> dict:
    import torch

    from atlas_core.octree import Octree
    from atlas_core.regimes import RegimeConfig, train_regimes
    from atlas_core.states import POSITION_GSM, read_states

    torch.set_num_threads(threads)
    df = resample(read_states(states), n)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    tree = Octree.build(df[POSITION_GSM].to_numpy(np.float64))
    t_tree = time.perf_counter() - t0
    cfg = RegimeConfig(num_threads=threads, device=device,
                       **({"max_epochs": max_epochs} if max_epochs else {}))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        train_regimes(df, tmp, cfg, octree=tree, progress=False)
        wall = time.perf_counter() - t0
        history = json.loads((Path(tmp) / "history.json").read_text())
    return {"states": n, "octree_s": t_tree, "train_s": wall, "epochs": len(history),
            "s_per_epoch": float(np.median([h["seconds"] for h in history])),
            "max_epochs": cfg.max_epochs, "peak_rss_mib": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_after_data_mib": rss_data,
            "perplexity": history[-1]["perplexity"], "codes_used": history[-1]["codes_used"],
            "device": str(device), "threads": threads}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--states", type=Path, default=None)
    ap.add_argument("--sizes", default="66000,full,6600000",
                    help="state counts; 'full' is the whole table")
    ap.add_argument("--max-epochs-above", type=int, default=1_000_000,
                    help="cap the epochs for sizes above this (see --cap)")
    ap.add_argument("--cap", type=int, default=6, help="epoch cap for the largest sizes")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", default="1", help="torch threads, e.g. 1 or 1,2")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--max-epochs", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    states = args.states or default_states()
    if args.one:
        print(json.dumps(one(args.one, states, args.max_epochs, args.device, int(args.threads))))
        return
    print(f"state table: {states}; device: {args.device}; 2-core machine")
    print("\n| states | threads | epochs | s/epoch | training wall | octree | peak RSS | "
          "RSS with data | perplexity | codes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    from atlas_core.states import read_states

    n_table = len(read_states(states, columns=["x_gsm"]))
    runs = [(n_table if n == "full" else int(n), int(t)) for n in args.sizes.split(",")
            for t in args.threads.split(",")]
    for n, threads in runs:
        cmd = [sys.executable, __file__, "--one", str(n), "--states", str(states),
               "--device", args.device, "--threads", str(threads)]
        if n > args.max_epochs_above:
            cmd += ["--max-epochs", str(args.cap)]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if res.returncode != 0:
            print(f"| {n:,} | failed: {res.stderr.strip().splitlines()[-1]} |")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        capped = " (capped)" if r["epochs"] >= r["max_epochs"] and n > args.max_epochs_above else ""
        print(f"| {n:,} | {threads} | {r['epochs']}{capped} | {r['s_per_epoch']:.1f} s | {r['train_s']:.1f} s "
              f"| {r['octree_s']:.2f} s | {r['peak_rss_mib']:.0f} MiB | "
              f"{r['rss_after_data_mib']:.0f} MiB | {r['perplexity']:.2f} | {r['codes_used']} |",
              flush=True)


if __name__ == "__main__":
    main()
