"""The ingest pipeline: a real dask.distributed cluster gives the same table as the local
scheduler; an interrupted ingest resumes without losing or duplicating a state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from atlas_core.pipeline import ingest
from atlas_core.states import read_states, state_files, validate_states

DAYS = ["2015-10-20", "2015-10-21", "2015-10-22", "2015-11-02"]


@pytest.fixture
def archive(tmp_path, make_day):
    root = tmp_path / "archive"
    for i, day in enumerate(DAYS):
        make_day(root, day, hours=(2 * i, 2 * i + 2), fgm_cadence_s=8.0, n=3.0 + i)
    (root / "archive.json").write_text(json.dumps({"synthetic": True, "seed": 0}))
    return root


def _table(path):
    return validate_states(read_states(path))


def test_distributed_cluster_matches_local(archive, tmp_path):
    from distributed import LocalCluster

    local = ingest(archive, tmp_path / "local", progress=False)
    assert local.days_done == 4 and local.states == 4 * 119
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        dist = ingest(archive, tmp_path / "dist", scheduler=cluster.scheduler_address,
                      progress=False)
    assert dist.days_done == 4 and dist.states == local.states
    a, b = _table(tmp_path / "local"), _table(tmp_path / "dist")
    pd.testing.assert_frame_equal(a, b)
    # partitioned by month, one file per day
    names = [f"{p.parent.name}/{p.name}" for p in state_files(tmp_path / "dist")]
    assert names == ["month=2015-10/day=20151020.parquet", "month=2015-10/day=20151021.parquet",
                     "month=2015-10/day=20151022.parquet", "month=2015-11/day=20151102.parquet"]
    prov = json.loads((tmp_path / "dist" / "_provenance.json").read_text())
    assert prov["synthetic"] is True and len(prov["files"]) == 8


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_interrupted_ingest_resumes_without_loss_or_duplicates(archive, tmp_path, scheduler):
    full = _table(ingest(archive, tmp_path / "full", progress=False).out_dir)
    out = tmp_path / "resumed"
    seen = []

    def stop_after_two(summary):
        seen.append(summary["day"])
        if len(seen) == 2:
            raise Interrupt("simulated interruption")

    with pytest.raises(Interrupt):
        ingest(archive, out, progress=False, scheduler=scheduler, workers=2,
               on_day_done=stop_after_two)
    done_first = len(state_files(out))
    assert 2 <= done_first < 4
    assert not list(out.rglob("*.tmp"))  # no partial files left behind
    again = ingest(archive, out, progress=False, scheduler=scheduler)
    assert again.days_skipped == done_first and again.days_done == 4 - done_first
    resumed = _table(out)
    assert not resumed["time"].duplicated().any()
    pd.testing.assert_frame_equal(resumed, full)
    # a third run has nothing left to do
    third = ingest(archive, out, progress=False)
    assert third.days_done == 0 and third.days_skipped == 4 and third.states == 0
    prov = json.loads((out / "_provenance.json").read_text())
    assert prov["days"] == 4 and prov["states"] == len(full)


def test_start_end_and_omni_columns(archive, tmp_path):
    # an OMNI2 file (the SPDF column layout) for Oct 2015: Dst from its word 41
    rows = []
    for h in range(31 * 24):
        t = np.datetime64("2015-10-01") + np.timedelta64(h, "h")
        doy = (t.astype("datetime64[D]") - np.datetime64("2015-01-01")).astype(int) + 1
        words = ["2015", str(doy), str(h % 24)] + ["0"] * 52
        words[16], words[23], words[24], words[28], words[40] = "-3.5", "7.1", "420.", "2.40", str(
            -(h % 50))
        rows.append(" ".join(words))
    omni = tmp_path / "omni2_2015.dat"
    omni.write_text("\n".join(rows) + "\n")
    rep = ingest(archive, tmp_path / "s", omni=[omni], start="2015-10-21", end="2015-10-23",
                 progress=False)
    assert rep.days_total == 2
    df = read_states(tmp_path / "s")
    assert set(df["time"].dt.day) == {21, 22}
    for col, val in (("imf_bz_gsm", -3.5), ("sw_n", 7.1), ("sw_v", 420.0), ("sw_pdyn", 2.4)):
        assert (df[col] == val).all(), col
    hours = ((df["time"] - pd.Timestamp("2015-10-01")) // pd.Timedelta("1h")).to_numpy()
    np.testing.assert_array_equal(df["dst"], -(hours % 50))
    assert df["ddst_dt"].notna().all()


def test_day_without_valid_windows_is_done_and_readable(tmp_path, make_day):
    make_day(tmp_path / "a", "2015-10-20", fgm_cadence_s=8.0)
    make_day(tmp_path / "a", "2015-10-21", fgm_cadence_s=8.0, b=(0.0, 0.0, 0.0))  # |B| = 0
    rep = ingest(tmp_path / "a", tmp_path / "s", progress=False)
    assert rep.days_done == 2 and rep.states == 119
    assert len(state_files(tmp_path / "s")) == 2  # the empty day is marked done
    df = _table(tmp_path / "s")
    assert len(df) == 119 and set(df["time"].dt.day) == {20}
    assert ingest(tmp_path / "a", tmp_path / "s", progress=False).days_skipped == 2


def test_killed_ingest_subprocess_resumes(archive, tmp_path):
    """SIGKILL a real ``atlas ingest`` process once it has finished a day, then rerun."""
    import os
    import signal
    import subprocess
    import sys
    import time

    full = _table(ingest(archive, tmp_path / "full", progress=False).out_dir)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "atlas_core", "ingest", "--data", str(archive), "--out",
           str(out), "--scheduler", "sync", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not state_files(out):
        time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(state_files(out))
    assert done >= 1
    again = ingest(archive, out, progress=False)
    assert again.days_skipped == done and again.days_done == 4 - done
    assert not list(out.rglob("*.tmp"))
    pd.testing.assert_frame_equal(_table(out), full)


def test_cli_ingest_reads_mms_data_dir(archive, tmp_path, monkeypatch, capsys):
    from atlas_core.cli import main

    monkeypatch.setenv("MMS_DATA_DIR", str(archive))
    assert main(["ingest", "--out", str(tmp_path / "s"), "--no-progress", "--start",
                 "2015-11-01"]) == 0
    assert "1 days ingested" in capsys.readouterr().out
    assert len(read_states(tmp_path / "s")) == 119
    monkeypatch.setenv("MMS_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["ingest", "--out", str(tmp_path / "t")]) == 2


_CDF_OPENS: list = []  # (path) of every .cdf opened while a test listens (see below)


def _listen_to_opens(event, args):
    if _CDF_OPENS and event == "open" and isinstance(args[0], str) and args[0].endswith(".cdf"):
        _CDF_OPENS.append(args[0])


def test_every_file_is_read_once_and_midnight_windows_kept(tmp_path, make_day, monkeypatch):
    """Consecutive days with data across midnight: the first window of each day (centred on
    00:00) needs the previous day's last minute. The ingest hands it on from day to day, so
    every CDF is opened exactly once (2 opens: the magic-number check, then cdflib), counted
    with a Python audit hook on the real file opens; the table equals the one made when every
    day reads that minute from the previous day's file again (runs of one day)."""
    import sys

    import atlas_core.pipeline as pipeline

    root = tmp_path / "a"
    days = ["2015-10-20", "2015-10-21", "2015-10-22", "2015-10-23"]
    for i, day in enumerate(days):
        for hours in ((0, 2), (22, 24)):
            make_day(root, day, hours=hours, fgm_cadence_s=8.0, n=3.0 + i)
    if not _CDF_OPENS:
        sys.addaudithook(_listen_to_opens)  # audit hooks cannot be removed: it checks a flag
    _CDF_OPENS.append("start")
    try:
        chained = ingest(root, tmp_path / "chained", progress=False, scheduler="sync")
        opened = [p for p in _CDF_OPENS if p != "start"]
    finally:
        _CDF_OPENS.clear()
    cdfs = sorted(str(p) for p in root.rglob("*.cdf"))
    assert len(cdfs) == 4 + 8 and sorted(set(opened)) == cdfs
    counts = {p: opened.count(p) for p in cdfs}
    assert set(counts.values()) == {2}, counts
    monkeypatch.setattr(pipeline, "RUN_DAYS", 1)
    each = ingest(root, tmp_path / "each", progress=False, scheduler="sync")
    assert chained.states == each.states == 4 * 2 * 119 + 3
    a, b = _table(tmp_path / "chained"), _table(tmp_path / "each")
    pd.testing.assert_frame_equal(a, b)
    # the windows centred on midnight, which need both days, are there
    midnight = a[(a["time"].dt.hour == 0) & (a["time"].dt.minute == 0)]
    assert list(midnight["time"].dt.day) == [21, 22, 23]
    prov = json.loads((tmp_path / "chained" / "_provenance.json").read_text())
    assert len(prov["file_records"]) == 12
    assert {r["version"] for r in prov["file_records"].values()} == {"4.18.0", "3.4.0"}


def test_auto_scheduler_runs_processes_and_matches_threads(archive, tmp_path, monkeypatch,
                                                           caplog):
    """`atlas ingest` asks for scheduler="auto": worker processes for long ingests (the CDF
    readers hold the GIL), with the day-to-day chaining passed between processes. Same table
    as local threads."""
    import atlas_core.pipeline as pipeline

    threads = ingest(archive, tmp_path / "threads", progress=False, scheduler="threads")
    monkeypatch.setattr(pipeline, "AUTO_PROCESSES_MIN_DAYS", 2)
    with caplog.at_level("INFO", logger="atlas_core.pipeline"):
        procs = ingest(archive, tmp_path / "procs", progress=False, scheduler="auto", workers=2)
    assert "4 days on local processes" in caplog.text
    assert procs.days_done == threads.days_done == 4 and procs.states == threads.states
    pd.testing.assert_frame_equal(_table(tmp_path / "procs"), _table(tmp_path / "threads"))
