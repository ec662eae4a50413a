"""Generate a synthetic MMS1-like archive in the SDC layout: the orchestration and one day.

``generate_archive(out_dir, start, end, seed)`` writes, under ``out_dir``:

- ``mms1/fgm/srvy/l2/YYYY/MM/mms1_fgm_srvy_l2_YYYYMMDD_v4.18.0.cdf`` (daily; 1 S/s, see below),
- ``mms1/fpi/fast/l2/dis-moms/YYYY/MM/mms1_fpi_fast_l2_dis-moms_YYYYMMDDhh0000_v3.4.0.cdf``
  (2-hour files, 4.5 s),
- ``truth/mms1/YYYY/MM/mms1_truth_YYYYMMDD.parquet`` (region of every FPI sample),
- ``indices/omni2_YYYY.dat`` and ``indices/dst_YYYY.wdc`` (the driver and its Dst),
- ``archive.json``.

Each day is independent: its random stream comes from ``SeedSequence([seed, day_number])``,
and the solar-wind driver (one stream for the whole span) is computed once and sliced, so a
day's files do not depend on which other days are generated, nor on the worker count. Days
run in parallel processes.

The FGM cadence is 1 sample/s, not the real 8 (slow) or 16 (fast survey) S/s: the state
windows resample to 10 s, so 1 S/s carries the same information for the atlas at a tenth of
the disk and time. FGM files cover the fast-survey intervals plus a margin, not whole days.

Faults that real archives have are injected, at rates documented in :data:`FAULTS`.
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

from atlas_core.physics import coordinates
from atlas_core.physics.boundaries import bow_shock_jelinek2012, dynamic_pressure_npa
from atlas_core.physics.constants import CDF_FILL_FLOAT, R_E_KM
from atlas_core.synth import orbit, writer
from atlas_core.synth.driver import (
    Driver,
    driver_from_omni,
    make_driver,
    solar_cycle_activity,
)
from atlas_core.synth.regions import (
    CODE,
    REGIONS,
    model_samples,
    noise_series,
    solar_wind_velocity_gsm,
)

log = logging.getLogger(__name__)

GENERATOR_VERSION = "1.0"
FGM_VERSION = "4.18.0"
FGM_OLD_VERSION = "4.17.0"
FPI_VERSION = "3.4.0"
FPI_OLD_VERSION = "3.3.0"
FGM_RATE_SPS = 1.0
FPI_DT_S = 4.5
FGM_MARGIN_S = 300

BLOCK_AVAILABILITY = 0.203
"""Probability that a 2-hour FPI block inside the ROI has fast-survey data (downlink and
SITL selection, calibrations, instrument off): tuned with :data:`orbit.ROI_FRACTION` so that
ten years give ~660 k valid windows."""
SOLAR_WIND_BLOCK_FACTOR = 0.4
"""Blocks whose middle lies more than 2 R_E upstream of the nominal bow shock (Jelínek 2012
at 2 nPa) are kept this much less often: MMS region-of-interest and burst planning target the
magnetopause and the tail, not the open solar wind."""

FAULTS = {
    "fpi_gap_per_hour": 0.15,       # short FPI dropouts (1-15 min) per hour of data
    "fgm_gap_per_hour": 0.05,       # short FGM dropouts (1-10 min)
    "fpi_fill_fraction": 0.002,     # FPI samples whose moments are -1e31
    "fgm_fill_fraction": 0.001,     # FGM samples whose field is -1e31
    "fpi_flag_fraction": 0.003,     # FPI samples with errorflags bit 0 (manually flagged)
    "fgm_flag_fraction": 0.002,     # FGM samples with flag bit 7 (range-change glitch)
    "fpi_flag_block_per_day": 0.05, # a 5-20 min stretch of manually flagged FPI data
    "duplicate_file_fraction": 0.02,  # files with a run of duplicated records
    "superseded_day_fraction": 0.03,  # days with an older, different version beside the new
    "corrupt_file_fraction": 0.002,  # FPI files truncated in transfer (unreadable)
}


def _day_seed(seed: int, day: np.datetime64) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), int(day.astype("datetime64[D]").astype(np.int64)) + 100000])


def _fmt_day(day: np.datetime64) -> str:
    return str(day.astype("datetime64[D]")).replace("-", "")


def _rot_angle(times: np.ndarray, func) -> np.ndarray:
    """Angle of the rotation about X given by ``func`` (e.g. ``gsm_to_gse``) at ``times``."""
    ey = func(np.tile([0.0, 1.0, 0.0], (times.size, 1)), times)
    return np.unwrap(np.arctan2(ey[:, 2], ey[:, 1]))


def _rotx(vec: np.ndarray, ang: np.ndarray) -> np.ndarray:
    c, s = np.cos(ang), np.sin(ang)
    return np.stack([vec[:, 0], c * vec[:, 1] - s * vec[:, 2], s * vec[:, 1] + c * vec[:, 2]], -1)


def _mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=False))


def _random_gaps(rng, n: int, dt_s: float, per_hour: float, lo_s: float, hi_s: float) -> np.ndarray:
    """Boolean mask (True = dropped) of random dropouts over ``n`` samples ``dt_s`` apart."""
    drop = np.zeros(n, bool)
    k = rng.poisson(per_hour * n * dt_s / 3600.0)
    for _ in range(k):
        i0 = rng.integers(0, n)
        drop[i0: i0 + int(rng.uniform(lo_s, hi_s) / dt_s)] = True
    return drop


def generate_day(day, root, seed: int, sw: dict, cycle: float,
                 block_availability: float = BLOCK_AVAILABILITY) -> dict:
    """Generate one day's files under ``root``; ``sw`` is the driver for the day (1-min, 1441
    samples from 00:00). Returns a summary (files written, samples per region)."""
    t_day = np.datetime64(day, "D").astype("datetime64[ns]")
    rng = np.random.default_rng(_day_seed(seed, t_day))
    root = Path(root)
    summary = {"day": str(t_day.astype("datetime64[D]")), "files": 0, "fpi_samples": 0,
               "regions": {}}

    # --- orbit at 1 min, ROI and fast-survey blocks -------------------------------------------
    tm = t_day + np.arange(1441) * np.timedelta64(60, "s")
    r_j2000 = orbit.position_j2000_km(tm)
    r_re = np.linalg.norm(r_j2000, axis=1) / R_E_KM
    roi = orbit.in_roi(tm, r_re)[:1440]
    r_gse_m = coordinates.j2000_to_gse(r_j2000, tm)
    # block selection favours the magnetosphere and its boundaries over the open solar wind
    mid = r_gse_m[60:1440:120] / R_E_KM
    r_mid = np.linalg.norm(mid, axis=1)
    theta_mid = np.arccos(np.clip(mid[:, 0] / r_mid, -1, 1))
    upstream = r_mid > bow_shock_jelinek2012(np.minimum(theta_mid, 2.6), 2.0) + 2.0
    p_block = block_availability * np.where(upstream, SOLAR_WIND_BLOCK_FACTOR, 1.0)
    blocks = rng.random(12) < p_block
    minute_ok = roi & np.repeat(blocks, 120)
    if not minute_ok.any():
        return summary
    r_gsm_m = coordinates.j2000_to_gsm(r_j2000, tm)

    # --- 1-s model grid over the covered minutes plus a margin (FGM) -------------------------
    cover = minute_ok.copy()
    for a, b in _mask_runs(minute_ok):
        cover[max(0, a - FGM_MARGIN_S // 60): min(1440, b + FGM_MARGIN_S // 60)] = True
    sec = (np.flatnonzero(cover)[:, None] * 60 + np.arange(60)[None, :]).ravel()
    ts = t_day + sec.astype("timedelta64[s]").astype("timedelta64[ns]")
    fm = sec / 60.0
    idx = np.arange(1441)

    def at(a):
        return np.interp(fm, idx, a)

    pos_gsm = np.stack([at(r_gsm_m[:, k]) for k in range(3)], -1) / R_E_KM
    tilt = at(coordinates.dipole_tilt(tm))
    ang_gsm2gse = at(_rot_angle(tm, coordinates.gsm_to_gse))
    swd = {k: at(np.asarray(v, float)) for k, v in sw.items()}
    swd["imf"] = np.stack([swd["bx_gse"], swd["by_gsm"], swd["bz_gsm"]], -1)
    # aberration along GSE Y, then rotated to GSM (rotating back to GSE gives Vz_GSE = 0)
    swd["v_sw_gsm"] = solar_wind_velocity_gsm(swd["v"], -ang_gsm2gse)
    activity = np.clip(np.clip(-swd["bz_gsm"], 0, None) / 5.0 + swd["dst"] / -100.0, 0, 1)
    noise = noise_series(rng, sec.size, 1.0, activity)
    m = model_samples(pos_gsm, tilt, swd, noise)

    b_gsm = m["b"] + rng.normal(0, 0.05, m["b"].shape)
    b_gse = _rotx(b_gsm, ang_gsm2gse)
    v_gse = _rotx(m["v"], ang_gsm2gse)

    # --- FGM: 1 S/s over the cover, with gaps, fills and flags -------------------------------
    keep = ~_random_gaps(rng, sec.size, 1.0, FAULTS["fgm_gap_per_hour"], 60, 600)
    flag = np.zeros(sec.size, np.uint32)
    flag[rng.random(sec.size) < FAULTS["fgm_flag_fraction"]] = 1 << 7
    bg = np.concatenate([b_gse, np.linalg.norm(b_gse, axis=1)[:, None]], 1).astype(np.float32)
    bm = np.concatenate([b_gsm, np.linalg.norm(b_gsm, axis=1)[:, None]], 1).astype(np.float32)
    fill = rng.random(sec.size) < FAULTS["fgm_fill_fraction"]
    bg[fill] = CDF_FILL_FLOAT
    bm[fill] = CDF_FILL_FLOAT
    t_fgm = ts[keep]
    st = t_day + np.arange(0, 86400 + 30, 30).astype("timedelta64[s]").astype("timedelta64[ns]")
    st = st[(st >= t_fgm[0] - np.timedelta64(60, "s")) & (st <= t_fgm[-1] + np.timedelta64(60, "s"))]
    st_min = (st - t_day).astype("int64") / 6e10
    rs_gse = np.stack([np.interp(st_min, idx, r_gse_m[:, k]) for k in range(3)], -1)
    rs_gsm = np.stack([np.interp(st_min, idx, r_gsm_m[:, k]) for k in range(3)], -1)
    rs_gse = np.concatenate([rs_gse, np.linalg.norm(rs_gse, axis=1)[:, None]], 1)
    rs_gsm = np.concatenate([rs_gsm, np.linalg.norm(rs_gsm, axis=1)[:, None]], 1)
    e_fgm, bg_k, bm_k, fl_k = writer.tt2000(t_fgm), bg[keep], bm[keep], flag[keep]
    if rng.random() < FAULTS["duplicate_file_fraction"]:
        e_fgm, bg_k, bm_k, fl_k = _duplicate(rng, e_fgm, bg_k, bm_k, fl_k)
    ymd = _fmt_day(t_day)
    y, mo = ymd[:4], ymd[4:6]
    fgm_dir = root / "mms1" / "fgm" / "srvy" / "l2" / y / mo
    writer.write_fgm(fgm_dir / f"mms1_fgm_srvy_l2_{ymd}_v{FGM_VERSION}.cdf", FGM_VERSION,
                     e_fgm, bg_k, bm_k, fl_k, writer.tt2000(st), rs_gse, rs_gsm, FGM_RATE_SPS)
    summary["files"] += 1
    superseded = rng.random() < FAULTS["superseded_day_fraction"]
    if superseded:  # an older processing with a 5 nT offset in every component
        off = np.float32(5.0)
        writer.write_fgm(fgm_dir / f"mms1_fgm_srvy_l2_{ymd}_v{FGM_OLD_VERSION}.cdf",
                         FGM_OLD_VERSION, e_fgm, np.where(bg_k > -1e30, bg_k + off, bg_k),
                         np.where(bm_k > -1e30, bm_k + off, bm_k), fl_k, writer.tt2000(st),
                         rs_gse, rs_gsm, FGM_RATE_SPS)
        summary["files"] += 1

    # --- FPI DIS: 4.5 s samples in the fast-survey minutes, 2-hour files ---------------------
    fpi_dir = root / "mms1" / "fpi" / "fast" / "l2" / "dis-moms" / y / mo
    # sample start times on a 4.5 s grid (with ~1 ms jitter, as in real packet times)
    t_rel = np.arange(0, 86400, FPI_DT_S)
    t_rel = t_rel[minute_ok[(t_rel // 60).astype(int)]]
    drop = _random_gaps(rng, t_rel.size, FPI_DT_S, FAULTS["fpi_gap_per_hour"], 60, 900)
    t_rel = t_rel[~drop]
    # the model grid is 1 s: take the sample at the centre of each 4.5 s accumulation
    grid_pos = np.searchsorted(sec, np.floor(t_rel + 2.25).astype(np.int64))
    grid_pos = np.clip(grid_pos, 0, sec.size - 1)
    t_fpi = t_day + (t_rel * 1e9).astype(np.int64).astype("timedelta64[ns]") \
        + rng.integers(0, 40_000, t_rel.size).astype("timedelta64[ns]")
    reg = m["region"][grid_pos]
    n_i = m["n"][grid_pos].astype(np.float32)
    v_i = v_gse[grid_pos].astype(np.float32)
    tpa = m["tpara"][grid_pos].astype(np.float32)
    tpe = m["tperp"][grid_pos].astype(np.float32)
    eflag = np.zeros(t_rel.size, np.uint32)
    sw_like = (reg == CODE["solar_wind"]) | (reg == CODE["foreshock"])
    eflag[sw_like & (reg == CODE["solar_wind"])] |= np.uint32(1 << 6)  # high sonic Mach number
    eflag[rng.random(t_rel.size) < FAULTS["fpi_flag_fraction"]] |= np.uint32(1)
    if rng.random() < FAULTS["fpi_flag_block_per_day"] and t_rel.size:
        i0 = rng.integers(0, t_rel.size)
        eflag[i0: i0 + int(rng.uniform(300, 1200) / FPI_DT_S)] |= np.uint32(1)
    fill = rng.random(t_rel.size) < FAULTS["fpi_fill_fraction"]
    n_i[fill] = CDF_FILL_FLOAT
    v_i[fill] = CDF_FILL_FLOAT

    block = (t_rel // 7200).astype(int)
    for b in np.unique(block):
        sel = block == b
        name = f"mms1_fpi_fast_l2_dis-moms_{ymd}{2 * b:02d}0000"
        args = (writer.tt2000(t_fpi[sel]), n_i[sel], v_i[sel], tpa[sel], tpe[sel], eflag[sel])
        path = fpi_dir / f"{name}_v{FPI_VERSION}.cdf"
        if rng.random() < FAULTS["duplicate_file_fraction"]:
            args = _duplicate(rng, *args)
        writer.write_fpi_dis(path, FPI_VERSION, *args)
        summary["files"] += 1
        if rng.random() < FAULTS["corrupt_file_fraction"]:
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 3])  # truncated in transfer
            summary["corrupt"] = str(path.relative_to(root))
        if superseded:  # older calibration: density 40 % high, temperatures 20 % low
            e, n_, v_, tpa_, tpe_, ef_ = args
            writer.write_fpi_dis(fpi_dir / f"{name}_v{FPI_OLD_VERSION}.cdf", FPI_OLD_VERSION,
                                 e, np.where(n_ > -1e30, n_ * 1.4, n_), v_, tpa_ * 0.8,
                                 tpe_ * 0.8, ef_)
            summary["files"] += 1

    truth = root / "truth" / "mms1" / y / mo / f"mms1_truth_{ymd}.parquet"
    # the truth is keyed by the centre of each accumulation (what the readers return: FPI's
    # Epoch is its start, Epoch_plus_var = 4.5 s after it)
    writer.write_truth(truth, t_fpi + np.timedelta64(int(FPI_DT_S * 5e8), "ns"), reg, REGIONS)
    summary["fpi_samples"] = int(t_rel.size)
    counts = np.bincount(reg, minlength=len(REGIONS))
    summary["regions"] = {REGIONS[i]: int(c) for i, c in enumerate(counts) if c}
    return summary


def _duplicate(rng, epoch, *arrays):
    """Repeat a short run of records (same Epoch), as in archives with a packet resent."""
    if epoch.size < 20:
        return (epoch, *arrays)
    i0 = int(rng.integers(0, epoch.size - 10))
    k = int(rng.integers(2, 8))
    ins = np.r_[np.arange(i0 + k), np.arange(i0, epoch.size)]
    return (epoch[ins], *(a[ins] for a in arrays))


# --- orchestration ---------------------------------------------------------------------------

def _worker(args):
    day, root, seed, sw, cycle, p_block = args
    return generate_day(day, root, seed, sw, cycle, block_availability=p_block)


def write_indices(root: Path, drv: Driver):
    """``indices/omni2_YYYY.dat`` and ``indices/dst_YYYY.wdc`` for every year of the driver."""
    hours = drv.hours
    nh = drv.dst_hourly.size

    def hourly(a):
        return np.asarray(a[: nh * 60], float).reshape(nh, 60).mean(axis=1)

    bx, by, bz = hourly(drv.bx_gse), hourly(drv.by_gse), hourly(drv.bz_gse)
    alpha = (hourly(drv.alpha_ratio) if np.ndim(drv.alpha_ratio)
             else np.full(nh, float(drv.alpha_ratio)))
    by_m, bz_m = hourly(drv.by_gsm), hourly(drv.bz_gsm)
    bmag = hourly(np.sqrt(drv.bx_gse.astype(float) ** 2 + drv.by_gse ** 2 + drv.bz_gse ** 2))
    bvec = np.sqrt(bx**2 + by**2 + bz**2)
    n, v, tp = hourly(drv.n), hourly(drv.v), hourly(drv.t_p)
    # OMNI's flow pressure from the hourly n and V and the He++/H+ ratio written as word 28:
    # the one definition the driver's boundaries use too (dynamic_pressure_npa)
    pdyn = dynamic_pressure_npa(n, v, alpha)
    words = {
        5: np.full(nh, 51), 6: np.full(nh, 51), 7: np.full(nh, 60), 8: np.full(nh, 60),
        9: bmag, 10: bvec, 11: np.degrees(np.arcsin(bz / np.maximum(bvec, 1e-6))),
        12: np.degrees(np.arctan2(by, bx)) % 360, 13: bx, 14: by, 15: bz, 16: by_m, 17: bz_m,
        23: tp, 24: n, 25: v, 26: np.zeros(nh), 27: np.zeros(nh), 28: alpha,
        29: pdyn, 36: -v * bz_m * 1e-3, 41: drv.dst_hourly,
        49: np.zeros(nh),
    }
    years = hours.astype("datetime64[Y]")
    for yr in np.unique(years):
        sel = years == yr
        ys = str(yr)
        writer.write_omni2(root / "indices" / f"omni2_{ys}.dat", hours[sel],
                           {k: np.asarray(a)[sel] for k, a in words.items()})
        writer.write_dst_wdc(root / "indices" / f"dst_{ys}.wdc", hours[sel], drv.dst_hourly[sel])


def generate_archive(out_dir, start, end, seed: int = 0, every_nth_day: int = 1,
                     workers: int | None = None, progress: bool = True, omni=None,
                     block_availability: float | None = None) -> dict:
    """Write a synthetic MMS1 archive for days ``[start, end)`` under ``out_dir``.

    ``every_nth_day`` keeps one day in n (a small archive spread over the span, for tests);
    the driver and indices always cover the whole span. ``workers`` processes (default 2;
    1 runs in this process). ``omni``: OMNI2 hourly files to drive the archive from real
    solar wind and Dst (:func:`~atlas_core.synth.driver.driver_from_omni`) instead of the
    synthetic driver. ``block_availability``: the probability that a 2-hour block in the
    region of interest has fast-survey data (default :data:`BLOCK_AVAILABILITY`; 1 keeps every
    block, for a like-with-like day). Returns the ``archive.json`` content plus a summary.
    """
    t0 = time.perf_counter()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    d0, d1 = np.datetime64(start, "D"), np.datetime64(end, "D")
    if d1 <= d0:
        raise ValueError(f"synth: end {end} is not after start {start}")
    days = np.arange(d0, d1, np.timedelta64(1, "D"))[:: max(1, int(every_nth_day))]
    if omni:
        drv = driver_from_omni(omni, d0, d1, seed)
    else:
        drv = make_driver(d0, d1, seed)
    write_indices(root, drv)
    p_block = BLOCK_AVAILABILITY if block_availability is None else float(block_availability)
    cycle = solar_cycle_activity(days.astype("datetime64[ns]"))
    tasks = []
    for d, c in zip(days, cycle, strict=False):
        sw = drv.slice(d.astype("datetime64[ns]"), 1441 if d + 1 < d1 else 1440)
        if sw["n"].size == 1440:  # the last day: repeat the last minute
            sw = {k: np.r_[a, a[-1:]] for k, a in sw.items()}
        tasks.append((str(d), str(root), int(seed), sw, float(c), p_block))
    quiet = float(np.mean(np.abs(drv.dst_hourly) <= 20.0))
    driver_source = drv.source
    dst_min = float(np.min(drv.dst_hourly))
    del drv  # the workers need only their day's slice: free the series before forking
    gc.collect()
    workers = 2 if workers is None else int(workers)
    summaries = []
    t_log = time.perf_counter()
    if workers <= 1:
        it = map(_worker, tasks)
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        it = pool.map(_worker, tasks, chunksize=4)
    try:
        for i, s in enumerate(it, 1):
            summaries.append(s)
            if progress and (time.perf_counter() - t_log > 10 or i == len(tasks)):
                t_log = time.perf_counter()
                el = t_log - t0
                log.info("synth: %d/%d days (%s), %d files, %.0f s elapsed, %.1f days/s",
                         i, len(tasks), s["day"], sum(x["files"] for x in summaries), el, i / el)
    finally:
        if workers > 1:
            pool.shutdown()
    regions: dict[str, int] = {}
    for s in summaries:
        for k, v in s["regions"].items():
            regions[k] = regions.get(k, 0) + v
    meta = {
        "synthetic": True, "generator": "atlas_core.synth", "version": GENERATOR_VERSION,
        "seed": int(seed), "start": str(d0), "end": str(d1), "probe": "mms1",
        "driver": driver_source, "block_availability": p_block,
        "every_nth_day": int(every_nth_day), "fgm_rate_sps": FGM_RATE_SPS,
        "days": int(len(days)), "days_with_data": int(sum(1 for s in summaries if s["files"])),
        "files": int(sum(s["files"] for s in summaries)),
        "fpi_samples": int(sum(s["fpi_samples"] for s in summaries)),
        "truth_region_samples": regions,
        "corrupt_files": [s["corrupt"] for s in summaries if "corrupt" in s],
        "quiet_fraction_hours": quiet,
        "dst_min": dst_min,
    }
    tmp = root / "archive.json.part"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, root / "archive.json")
    log.info("synth: %d days, %d with data, %d files, %d FPI samples in %.1f s",
             meta["days"], meta["days_with_data"], meta["files"], meta["fpi_samples"],
             time.perf_counter() - t0)
    return meta
