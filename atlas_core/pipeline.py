"""The ingest: an archive of MMS, Cluster and THEMIS files plus Dst/OMNI files -> the state
table on disk.

The archive is catalogued by :func:`atlas_core.sources.missions.scan_archive` (MMS files in the
SDC layout, Cluster CSA and THEMIS CDAWeb files anywhere under the root, each recognised as its
mission's). One task per day: for every spacecraft with field and plasma files that day, read
its files and window them; then write all of the day's states, each row with its ``mission``
and ``probe``, to ``STATES/month=YYYY-MM/day=YYYYMMDD.parquet`` atomically.

The first windows of a day need the last minute of the day before: consecutive days are
chained (runs of at most :data:`RUN_DAYS`), each day handing every spacecraft's last minute of
data (and truth) to the next, so every file is read once. Only a run's first day reads that minute from the previous day's last file,
partially and without recomputing its MD5 (the file is verified where it is read in full).
Tasks run on Dask: the local threaded scheduler by default, or a ``dask.distributed`` cluster
when given a scheduler address (or a ``Client``); runs go in parallel, the days of a run in
order. A day whose Parquet file exists is done; a rerun after an interruption skips it, so
nothing finished is redone or lost. Each task also writes ``STATES/_days/YYYYMMDD.json``
(files used with their version and record count, files skipped with the reason, states made),
from which ``STATES/_provenance.json`` is assembled at the end of every run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core import __version__
from atlas_core.sources.cdf import SourceError
from atlas_core.sources.indices import read_indices
from atlas_core.sources.missions import (
    LOOKED_FOR,
    PRODUCTS,
    Archive,
    read_many,
    roles,
    scan_archive,
)
from atlas_core.sources.mms import combine
from atlas_core.states import WINDOW_S, day_path, make_states, write_day

log = logging.getLogger(__name__)

MARGIN_S = WINDOW_S // 2
"""Seconds of the previous day that the first windows of a day need."""

LOCAL_SCHEDULERS = ("threads", "processes", "sync", "synchronous", "auto")

AUTO_PROCESSES_MIN_DAYS = 32
"""``scheduler="auto"`` (what ``atlas ingest`` asks for) runs at least this many days in
worker processes: the CDF readers are pure Python and hold the GIL, so threads keep one core
busy, while processes (started with "spawn", ~2-3 s each) use them all. Fewer days run on
threads."""


class NoUsableFiles(ValueError):
    """The archive holds no file the ingest can use; the message says what it looked for."""

RUN_DAYS = 16
"""At most this many consecutive days are chained in one run (the rest of a longer stretch
starts a new run, so that runs spread over the workers)."""

TAIL_STATE_S = 1800
"""Seconds of ephemeris (``time_state``) a day hands on with its last minute of data: the
positions of the next day's first bins are interpolated from it."""


@dataclass
class IngestReport:
    """What an ingest did."""

    out_dir: Path
    days_total: int = 0
    days_done: int = 0  # processed in this run
    days_skipped: int = 0  # already done by an earlier run
    days_failed: int = 0  # an unexpected error; retried by the next run
    states: int = 0  # states written in this run
    skipped_files: list[dict] = field(default_factory=list)  # {"file", "error"}
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.states / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _truth_path(root: Path, probe: str, day: np.datetime64) -> Path:
    s = str(day)
    return root / "truth" / probe / s[:4] / s[5:7] / f"{probe}_truth_{s.replace('-', '')}.parquet"


def _read_truth(root: Path, probe: str, day: np.datetime64, errors: list,
                lo: np.datetime64 | None = None) -> pd.DataFrame | None:
    """The truth rows of ``day`` (from ``lo`` on, when given), or None without a truth file."""
    p = _truth_path(root, probe, day)
    if not p.is_file():
        return None
    try:
        filters = None if lo is None else [("time", ">=", pd.Timestamp(lo))]
        return pd.read_parquet(p, columns=["time", "region"], filters=filters)
    except Exception as err:  # a truth file is optional: report, go on
        errors.append({"file": str(p), "error": f"unreadable truth file ({err})"})
        return None


def _tail(ds, start: np.datetime64):
    """The part of a reader's Dataset from ``start`` on (``time``), with the ephemeris of the
    last :data:`TAIL_STATE_S` seconds (``time_state``): what the next day needs."""
    if ds is None:
        return None
    t = ds["time"].values
    out = ds.isel(time=slice(int(np.searchsorted(t, start)), None))
    if "time_state" in ds.dims:
        ts = ds["time_state"].values
        keep = int(np.searchsorted(ts, start - np.timedelta64(TAIL_STATE_S, "s")))
        out = out.isel(time_state=slice(keep, None))
    return out if out.sizes.get("time", 0) else None


def _day_data(d: np.datetime64, mission: str, probe: str, files: dict, margin_files: dict,
              prev: dict | None, truth_root: str | None, errors: list
              ) -> tuple[dict, dict, list]:
    """Read one spacecraft's day: its own files in full (once), and the minute before it from
    ``prev``
    (what the previous day of the run handed on) or, at the start of a run, from the
    previous day's last file (``margin_files``, that minute only, MD5 not recomputed).
    Returns the data per product (plus ``truth``), the tail for the next day, and the file
    records (path, version, records) of every file used."""
    lo = d.astype("datetime64[ns]") - np.timedelta64(MARGIN_S, "s")
    hi = (d + 1).astype("datetime64[ns]")
    data, tail, records = {}, {}, []
    edge = np.timedelta64(MARGIN_S, "s")
    for product in PRODUCTS[mission]:
        # a file may run past midnight: its first minute of the next day goes to that day too
        own = read_many(mission, product, files.get(product, []), time_range=(lo, hi + edge),
                        errors=errors)
        if prev is not None:
            before = prev.get(product)
        else:
            before = read_many(mission, product, margin_files.get(product, []),
                               time_range=(lo, hi), errors=errors, verify_checksum=False)
        for ds in (before, own):
            if ds is not None:
                records += ds.attrs.get("files", [])
        data[product] = combine([x for x in (before, own) if x is not None])
        tail[product] = _tail(own, hi - edge)
    truth = None
    if truth_root:
        own_truth = _read_truth(Path(truth_root), probe, d, errors)
        if prev is not None:
            before_truth = prev.get("truth")
        else:
            before_truth = _read_truth(Path(truth_root), probe, d - 1, errors, lo=lo)
        parts = [x for x in (before_truth, own_truth) if x is not None and len(x)]
        truth = pd.concat(parts, ignore_index=True) if parts else None
        if own_truth is not None:
            tail["truth"] = own_truth[own_truth["time"] >= hi - np.timedelta64(MARGIN_S, "s")]
    data["truth"] = truth
    return data, tail, records


def process_day(
    day: str,
    sources: list[tuple],
    out_dir: str,
    indices: pd.DataFrame | None = None,
    truth_root: str | None = None,
    prev: dict | None = None,
) -> dict:
    """Make and write the states of one day. Returns a summary dict (also written as
    ``_days/YYYYMMDD.json``): ``day``, ``states``, ``files`` (paths), ``file_records`` (path,
    version and record count of each), ``skipped``, ``status``, and ``sources`` (per
    ``"mission/probe"``: states and files).

    ``sources``: one ``(mission, probe, files, margin_files)`` per spacecraft with data that
    day (:meth:`Archive.for_day`, :meth:`Archive.margin_for`): its own files per product and
    the previous day's last file per product, for the minute before the day; ``prev``: that
    minute already read per ``(mission, probe)`` (the tail :func:`process_day_chained` hands
    on), used instead of ``margin_files``."""
    return process_day_chained(day, sources, out_dir, indices, truth_root, prev)[0]


def process_day_chained(
    day: str,
    sources: list[tuple],
    out_dir: str,
    indices: pd.DataFrame | None = None,
    truth_root: str | None = None,
    prev=None,
) -> tuple[dict, dict | None]:
    """:func:`process_day`, also returning the day's last minute of data per spacecraft (the
    ``prev`` of the next day of a run; None when the day failed). ``prev`` may be the previous
    day's whole result (a ``(summary, tail)`` pair, as Dask hands it on)."""
    if isinstance(prev, tuple):
        prev = prev[1]
    d = np.datetime64(day, "D")
    errors: list[dict] = []
    summary = {"day": str(d), "states": 0, "files": [], "file_records": [], "skipped": errors,
               "status": "done", "sources": {}}
    tails: dict | None = {}
    try:
        frames, used, n_without_position = [], {}, 0
        for mission, probe, files, margin_files in sources:
            n_err = len(errors)
            # a spacecraft absent from the previous day of the run reads its margin file
            src_prev = None if prev is None else prev.get((mission, probe))
            data, tails[(mission, probe)], records = _day_data(
                d, mission, probe, files, margin_files or {}, src_prev, truth_root, errors)
            bad = {e["file"] for e in errors[n_err:]}
            mine = sorted({r["file"] for r in records if r.get("file") and r["file"] not in bad})
            for r in records:
                if r.get("file") and r["file"] not in bad:
                    used.setdefault(r["file"], r)
            field_ds, plasma_ds, ephemeris = roles(mission, data)
            df = make_states(field_ds, plasma_ds, d, d + 1, positions=ephemeris,
                             indices=indices, truth=data["truth"], mission=mission, probe=probe)
            n_without_position += int(df.attrs.get("windows_without_position", 0))
            summary["sources"][f"{mission}/{probe}"] = {"states": int(len(df)), "files": mine}
            frames.append(df)
        summary["files"] = sorted(used)
        summary["file_records"] = [used[k] for k in sorted(used)]
        if not frames:
            df = make_states(None, None, d, d + 1)
        elif len(frames) == 1:
            df = frames[0]
        else:  # several spacecraft: one table in time order
            df = pd.concat(frames, ignore_index=True).sort_values(
                ["time", "mission", "probe"], kind="stable", ignore_index=True)
        summary["states"] = int(len(df))
        if n_without_position:
            summary["windows_without_position"] = n_without_position
            errors.append({"file": f"day {d}", "error": f"{n_without_position} valid window(s) "
                                                         "dropped: no ephemeris position"})
        side = Path(out_dir) / "_days" / f"{str(d).replace('-', '')}.json"
        side.parent.mkdir(parents=True, exist_ok=True)
        tmp = side.with_name(f".{side.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(summary, default=_json_default))
        os.replace(tmp, side)
        write_day(df, out_dir, d)  # last: its existence marks the day done
    except SourceError as err:  # should not escape read_many, but never lose the run
        errors.append({"file": err.file, "error": err.problem})
        summary["status"] = "failed"
        tails = None
    except Exception as err:
        log.exception("day %s failed", d)
        errors.append({"file": f"day {d}", "error": f"{type(err).__name__}: {err}"})
        summary["status"] = "failed"
        tails = None
    return summary, tails


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def runs(days: list[np.datetime64], max_days: int = RUN_DAYS) -> list[list[np.datetime64]]:
    """Consecutive days grouped into runs of at most ``max_days`` (days in order)."""
    out: list[list[np.datetime64]] = []
    for d in days:
        if out and d - out[-1][-1] == np.timedelta64(1, "D") and len(out[-1]) < max_days:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def _remove_stale_temporaries(out: Path) -> None:
    """Delete temporary files a killed run left behind (finished files are never touched)."""
    for pattern in ("month=*/.day=*.tmp", "_days/.*.tmp", ".*.tmp"):
        for tmp in out.glob(pattern):
            tmp.unlink(missing_ok=True)


def _archive_info(root: Path) -> dict:
    p = root / "archive.json"
    if p.is_file():
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return {}
    return {}


def _indices_slice(indices: pd.DataFrame | None, day: np.datetime64) -> pd.DataFrame | None:
    if indices is None:
        return None
    lo = pd.Timestamp(day.astype("datetime64[ns]")) - pd.Timedelta(hours=1)
    hi = pd.Timestamp((day + 1).astype("datetime64[ns]")) + pd.Timedelta(hours=1)
    return indices.loc[lo:hi]


def write_provenance(out_dir: Path, root: Path, catalog: Archive | None, extra_skipped: list,
                     options: dict) -> dict:
    """Assemble ``_provenance.json`` from every day's sidecar (this run's and earlier ones):
    ``files`` (every file used), ``file_records`` (per file: version, record count, time-tag
    shift, flagged and duplicate records), ``skipped`` (file and reason), ``missions`` (per
    mission: states, days and files per spacecraft, the file versions used), counts, options."""
    files, skipped, states, days = set(), {}, 0, 0
    records: dict[str, dict] = {}
    missions: dict[str, dict] = {}
    for side in sorted((out_dir / "_days").glob("*.json")):
        try:
            s = json.loads(side.read_text())
        except (OSError, ValueError):
            continue
        if not day_path(out_dir, s["day"]).is_file():
            continue
        days += 1
        states += int(s.get("states", 0))
        files.update(s.get("files", []))
        for r in s.get("file_records", []):
            records.setdefault(r["file"], {k: v for k, v in r.items() if k != "file"})
        # sidecars written before the multi-mission ingest are MMS mms1
        sources = s.get("sources") or {"MMS/mms1": {"states": s.get("states", 0),
                                                    "files": s.get("files", [])}}
        for key, src in sources.items():
            mission, probe = key.split("/", 1)
            m = missions.setdefault(mission, {"states": 0, "probes": {}, "files": set()})
            p = m["probes"].setdefault(probe, {"states": 0, "days": 0})
            p["states"] += int(src["states"])
            p["days"] += 1
            m["states"] += int(src["states"])
            m["files"].update(src["files"])
        for e in s.get("skipped", []):
            skipped.setdefault(e["file"], e)
    for e in extra_skipped:
        skipped.setdefault(e["file"], e)
    if catalog is not None:
        for e in catalog.skipped:
            skipped.setdefault(e["file"], e)
    info = _archive_info(root)
    for m in missions.values():
        used = m.pop("files")
        m["files"] = len(used)
        m["versions"] = sorted({str(records.get(f, {}).get("version", "")) for f in used} - {""})
    prov = {
        "synthetic": bool(info.get("synthetic", False)),
        "archive": str(root),
        "archive_info": info,
        "files": sorted(files),
        "file_records": {f: records[f] for f in sorted(records)},
        "skipped": sorted(skipped.values(), key=lambda e: e["file"]),
        "superseded": sorted(catalog.superseded) if catalog is not None else [],
        "days": days,
        "states": states,
        "missions": missions,
        "options": options,
        "code_version": __version__,
        "written": pd.Timestamp.now("UTC").isoformat(),
    }
    path = out_dir / "_provenance.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(prov, indent=1, default=str))
    os.replace(tmp, path)
    return prov


class _Progress:
    def __init__(self, total: int, enabled: bool, hook: Callable[[dict], None] | None):
        self.total, self.enabled, self.hook = total, enabled, hook
        self.done = self.states = 0
        self.t0 = time.perf_counter()
        self.bar = None
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="day", desc="ingest", dynamic_ncols=True)
        self.last_log = self.t0

    def update(self, summary: dict) -> None:
        self.done += 1
        self.states += int(summary.get("states", 0))
        elapsed = time.perf_counter() - self.t0
        rate = self.states / elapsed if elapsed > 0 else 0.0
        if self.bar is not None:
            self.bar.set_postfix(states=self.states, rate=f"{rate:.0f}/s", refresh=False)
            self.bar.update(1)
        elif time.perf_counter() - self.last_log > 10 or self.done == self.total:
            log.info("ingest: %d/%d days, %d states, %.0f states/s", self.done, self.total,
                     self.states, rate)
            self.last_log = time.perf_counter()
        for e in summary.get("skipped", []):
            log.warning("skipped %s: %s", e["file"], e["error"])
        if self.hook is not None:
            self.hook(summary)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _day_graph(tasks: list[tuple]) -> tuple[list, dict]:
    """Dask delayed objects, one per day; the days of a run depend on the previous day's
    result (its tail). Returns them in task order and a key -> day mapping."""
    import dask

    out, keys = [], {}
    prev, prev_day = None, None
    for args in tasks:
        day, chained = args[0], args[-1]
        dep = prev if (chained and prev is not None and prev_day is not None
                       and np.datetime64(day, "D") - prev_day == np.timedelta64(1, "D")) else None
        t = dask.delayed(process_day_chained, pure=False)(*args[:-1], dep)
        keys[t.key] = day
        out.append(t)
        prev, prev_day = t, np.datetime64(day, "D")
    return out, keys


def _run_local(tasks: list[tuple], scheduler: str, progress: _Progress, workers: int | None):
    import dask
    from dask.callbacks import Callback

    delayed, keys = _day_graph(tasks)

    class _Cb(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if key in keys:
                progress.update(result[0])

    name = "sync" if scheduler in ("sync", "synchronous") else scheduler
    if name != "threads":
        with _Cb():
            return [r[0] for r in dask.compute(*delayed, scheduler=name, num_workers=workers)]
    # our own pool, so that an interruption waits for the days in flight (each finishes
    # writing its file) before returning: what is on disk is then exactly what is done
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        with _Cb():
            return [r[0] for r in dask.compute(*delayed, scheduler="threads", pool=pool)]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_distributed(tasks: list[tuple], scheduler, progress: _Progress):
    from distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures, prev, prev_day = [], None, None
        for args in tasks:
            day, chained = args[0], args[-1]
            d = np.datetime64(day, "D")
            dep = prev if (chained and prev is not None
                           and d - prev_day == np.timedelta64(1, "D")) else None
            fut = client.submit(process_day_chained, *args[:-1], dep, pure=False,
                                key=f"ingest-day-{day}")
            futures.append(fut)
            prev, prev_day = fut, d
        results = []
        try:
            for fut in as_completed(futures):
                res = fut.result()[0]
                results.append(res)
                progress.update(res)
        except BaseException:
            client.cancel(futures)
            raise
        return results
    finally:
        if own:
            client.close()


def ingest(
    data_dir: str | Path,
    out_dir: str | Path,
    dst: Iterable[str | Path] = (),
    omni: Iterable[str | Path] = (),
    *,
    fgm_rate: str = "srvy",
    fpi_rate: str = "fast",
    missions=None,
    probes=None,
    scheduler=None,
    workers: int | None = None,
    start=None,
    end=None,
    progress: bool = True,
    on_day_done: Callable[[dict], None] | None = None,
) -> IngestReport:
    """Ingest the archive at ``data_dir`` into the state table ``out_dir``.

    ``dst``: Kyoto WDC Dst files; ``omni``: OMNI2 hourly files (solar wind, and Dst when no
    Kyoto file is given). ``fgm_rate``/``fpi_rate``: MMS ``srvy``/``fast`` or ``brst``.
    ``missions``/``probes``: keep only these missions ("MMS", "Cluster", "THEMIS", any case)
    and spacecraft ("mms1", "c3", "thb", ...); default: every one found. Raises
    :class:`NoUsableFiles`, naming what it looked for, when no spacecraft has a day with
    both field and plasma files.
    ``scheduler``: None or ``"threads"`` (local Dask threads), ``"processes"``, ``"sync"``,
    ``"auto"`` (processes for :data:`AUTO_PROCESSES_MIN_DAYS` days or more, else threads; a
    script calling it must guard its entry point with ``if __name__ == "__main__"``, as
    multiprocessing requires), a ``dask.distributed`` scheduler address, or a
    ``distributed.Client``. ``start``/``end``:
    optional day range ``[start, end)``. ``on_day_done(summary)`` is called in the driver after
    each finished day (an exception raised there stops the run; finished days stay)."""
    t0 = time.perf_counter()
    root, out = Path(data_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    report = IngestReport(out_dir=out)
    catalog = scan_archive(root, missions=missions, probes=probes,
                           rates={"fgm": fgm_rate, "fpi-dis": fpi_rate}, start=start, end=end)
    for e in catalog.skipped:
        log.warning("skipped %s: %s", e["file"], e["error"])
    sources = catalog.sources()
    if not sources:
        raise NoUsableFiles(_nothing_usable(root, catalog, missions, probes, fgm_rate, fpi_rate))
    log.info("ingest: %s", "; ".join(f"{m} {p}: {len(catalog.days(m, p))} days"
                                     for m, p in sources))
    index_errors: list[dict] = []
    indices = read_indices(dst=list(dst or ()), omni=list(omni or ()), errors=index_errors)
    for e in index_errors:
        log.warning("skipped %s: %s", e["file"], e["error"])
    days = catalog.days()
    report.days_total = len(days)
    todo = [d for d in days if not day_path(out, d).is_file()]
    report.days_skipped = len(days) - len(todo)
    if report.days_skipped:
        log.info("ingest: %d of %d days already done, skipped", report.days_skipped, len(days))
    truth_root = str(root) if (root / "truth").is_dir() else None
    source_days = {src: set(catalog.days(*src)) for src in sources}
    tasks = []
    for run in runs(todo, RUN_DAYS):
        for i, d in enumerate(run):
            # per spacecraft flying that day: its files, and the previous day's last file
            # (read for its last minute by a run's first day, or a spacecraft new in the run)
            day_sources = [(m, p, catalog.for_day(m, p, d), catalog.margin_for(m, p, d))
                           for m, p in sources if d in source_days[(m, p)]]
            tasks.append((str(d), day_sources, str(out), _indices_slice(indices, d),
                          truth_root, i > 0))
    options = {"fgm_rate": fgm_rate, "fpi_rate": fpi_rate,
               "missions": None if missions is None else [str(m) for m in missions],
               "probes": None if probes is None else [str(p) for p in probes],
               "dst": [str(p) for p in dst or ()], "omni": [str(p) for p in omni or ()],
               "start": None if start is None else str(start),
               "end": None if end is None else str(end)}
    prog = _Progress(len(tasks), progress, on_day_done)
    results: list[dict] = []
    try:
        if tasks:
            if scheduler is None or (isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS):
                local = scheduler or "threads"
                if local == "auto":
                    n_workers = workers or os.cpu_count() or 1
                    local = ("processes" if len(tasks) >= AUTO_PROCESSES_MIN_DAYS
                             and n_workers > 1 else "threads")
                    log.info("ingest: %d days on local %s", len(tasks), local)
                results = _run_local(tasks, local, prog, workers)
            else:
                results = _run_distributed(tasks, scheduler, prog)
    finally:
        prog.close()
        write_provenance(out, root, catalog, index_errors, options)
    skipped = {e["file"]: e for e in catalog.skipped + index_errors}
    for r in results:
        if r["status"] == "failed":
            report.days_failed += 1
        else:
            report.days_done += 1
        report.states += r["states"]
        for e in r["skipped"]:
            skipped.setdefault(e["file"], e)
    report.skipped_files = sorted(skipped.values(), key=lambda e: e["file"])
    report.elapsed_s = time.perf_counter() - t0
    log.info("ingest: %d days done, %d already done, %d failed, %d states in %.1f s "
             "(%.0f states/s), %d files skipped", report.days_done, report.days_skipped,
             report.days_failed, report.states, report.elapsed_s, report.rate,
             len(report.skipped_files))
    return report


def _nothing_usable(root: Path, catalog: Archive, missions, probes, fgm_rate: str,
                    fpi_rate: str) -> str:
    """What an ingest that found nothing usable says: where, what it looked for, what it saw."""
    want = ", ".join(str(m) for m in missions) if missions else "any mission"
    if probes:
        want += f"; spacecraft {', '.join(probes)}"
    msg = [f"no usable data files under {root} ({want}; MMS rates fgm {fgm_rate}, "
           f"fpi {fpi_rate}).", f"Looked for {LOOKED_FOR}."]
    if catalog.files:
        found = ", ".join(f"{m}: {', '.join(sorted(v['products']))}"
                          for m, v in catalog.summary().items())
        msg.append(f"Found {len(catalog.files)} file(s) ({found}) but no day with both "
                   f"field and plasma files.")
    if catalog.not_asked:
        msg.append("Files of missions not asked for: " + ", ".join(
            f"{m} {n}" for m, n in catalog.not_asked.items()) + ".")
    if catalog.skipped:
        e = catalog.skipped[0]
        msg.append(f"{len(catalog.skipped)} file(s) skipped, e.g. {e['file']}: {e['error']}.")
    if not (catalog.files or catalog.not_asked or catalog.skipped):
        msg.append("No CDF file there.")
    return " ".join(msg)
