"""A synthetic archive of several missions: MMS, Cluster and THEMIS under one solar wind.

``generate_multi_archive(out_dir, start, end, seed, missions=("MMS", "Cluster", "THEMIS"))``
writes the driver's indices once (``indices/``), then every spacecraft-day of every mission
that flies in ``[start, end)``, each in its mission's real file format and layout
(:mod:`atlas_core.synth.archive` for MMS, :mod:`.cluster`, :mod:`.themis`), with the truth
region of every plasma sample under ``truth/<probe>/``, and ``archive.json``. One driver, one
region model: the same place under the same conditions has the same truth whichever spacecraft
is there, which is what the cross-mission consistency check relies on.

Each spacecraft-day has its own random stream (:func:`atlas_core.synth.spacecraft.day_seed`;
MMS days use the MMS archive's own), so a day's files do not depend on which other days,
spacecraft or missions are generated, nor on the worker count.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from atlas_core.synth import archive, cluster, themis
from atlas_core.synth.driver import make_driver, solar_cycle_activity

log = logging.getLogger(__name__)

MISSIONS = ("MMS", "Cluster", "THEMIS")
DEFAULT_PROBES = {"MMS": ("mms1",), "Cluster": ("c1",),
                  "THEMIS": ("tha", "thb", "thc", "thd", "the")}
"""Spacecraft written by default (those flying on a given day): one Cluster spacecraft (the
four fly within ~10^3 km of each other), all five THEMIS probes."""
MMS_SCIENCE_START = np.datetime64("2015-09-01", "D")


def _flies(mission: str, probe: str, day: np.datetime64) -> bool:
    if mission == "MMS":
        return probe == "mms1" and day >= MMS_SCIENCE_START
    if mission == "Cluster":
        return cluster.operating(probe, day)
    return themis.operating(probe, day)


def _worker(task):
    mission, probe, day, root, seed, sw, cycle = task
    if mission == "MMS":
        s = archive.generate_day(day, root, seed, sw, cycle)
        s.update(mission="MMS", probe="mms1", plasma_samples=s.get("fpi_samples", 0))
        return s
    module = cluster if mission == "Cluster" else themis
    return module.generate_day(day, root, seed, sw, probe)


def generate_multi_archive(out_dir, start, end, seed: int = 0, missions=MISSIONS,
                           probes: dict | None = None, every_nth_day: int = 1,
                           workers: int | None = None, progress: bool = True) -> dict:
    """Write a synthetic multi-mission archive for days ``[start, end)`` under ``out_dir``.

    ``missions``: names (any case) among MMS, Cluster, THEMIS; ``probes``: mission -> probes
    (default :data:`DEFAULT_PROBES`); ``every_nth_day`` keeps one day in n; ``workers``
    processes (default 2). Returns the ``archive.json`` content."""
    from atlas_core.sources.missions import normalise_mission

    t0 = time.perf_counter()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    missions = [normalise_mission(m) for m in missions]
    chosen = {m: tuple((probes or {}).get(m, DEFAULT_PROBES[m])) for m in missions}
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    if d1 <= d0:
        raise ValueError(f"synth: end {end} is not after start {start}")
    days = np.arange(d0, d1, np.timedelta64(1, "D"))[:: max(1, int(every_nth_day))]
    drv = make_driver(d0, d1, seed)
    archive.write_indices(root, drv)
    cycle = solar_cycle_activity(days.astype("datetime64[ns]"))
    tasks = []
    for d, c in zip(days, cycle, strict=True):
        sw = drv.slice(d.astype("datetime64[ns]"), 1441 if d + 1 < d1 else 1440)
        if sw["n"].size == 1440:  # the last day: repeat the last minute
            sw = {k: np.r_[a, a[-1:]] for k, a in sw.items()}
        for m in missions:
            for p in chosen[m]:
                if _flies(m, p, d):
                    tasks.append((m, p, str(d), str(root), int(seed), sw, float(c)))
    quiet = float(np.mean(np.abs(drv.dst_hourly) <= 20.0))
    del drv
    gc.collect()
    if not tasks:
        raise ValueError(f"synth: none of {', '.join(missions)} flies between {d0} and {d1}")
    workers = 2 if workers is None else int(workers)
    summaries = []
    t_log = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        it = pool.map(_worker, tasks, chunksize=4) if pool else map(_worker, tasks)
        for i, s in enumerate(it, 1):
            summaries.append(s)
            if progress and (time.perf_counter() - t_log > 10 or i == len(tasks)):
                t_log = time.perf_counter()
                log.info("synth: %d/%d spacecraft-days (%s %s %s), %.0f s elapsed", i,
                         len(tasks), s["mission"], s["probe"], s["day"], t_log - t0)
    finally:
        if pool:
            pool.shutdown()
    per: dict[str, dict] = {}
    for s in summaries:
        m = per.setdefault(s["mission"], {"probes": {}, "files": 0, "plasma_samples": 0,
                                          "truth_region_samples": {}})
        m["probes"][s["probe"]] = m["probes"].get(s["probe"], 0) + (1 if s["files"] else 0)
        m["files"] += s["files"]
        m["plasma_samples"] += s["plasma_samples"]
        for k, v in s["regions"].items():
            m["truth_region_samples"][k] = m["truth_region_samples"].get(k, 0) + v
    meta = {
        "synthetic": True, "generator": "atlas_core.synth", "version": archive.GENERATOR_VERSION,
        "seed": int(seed), "start": str(d0), "end": str(d1), "every_nth_day": int(every_nth_day),
        "missions": per, "probes": sorted({s["probe"] for s in summaries if s["files"]}),
        "days": int(len(days)), "files": int(sum(s["files"] for s in summaries)),
        "quiet_fraction_hours": quiet,
    }
    tmp = root / "archive.json.part"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, root / "archive.json")
    log.info("synth: %s in %.1f s", ", ".join(f"{m} {v['files']} files" for m, v in per.items()),
             time.perf_counter() - t0)
    return meta
