"""The multi-mission ingest: the real Cluster folder through ``atlas ingest``, an archive with
nothing usable, and a synthetic archive of MMS, Cluster and THEMIS together."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from independent import read_cis, read_fgm, windows

from atlas_core.pipeline import NoUsableFiles, ingest
from atlas_core.states import read_states, validate_states


def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atlas_core", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_real_cluster_folder_ingests(real_data, tmp_path):
    """``atlas ingest`` on the real Cluster folder: exit 0, 5669 states of Cluster c1 whose
    medians equal an independent read of the same files (was: exit 0 and no state)."""
    folder = real_data / "cluster"
    if not folder.is_dir():
        pytest.skip("no real Cluster files")
    out = tmp_path / "states"
    res = _cli("ingest", "--data", str(folder), "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stderr
    df = validate_states(read_states(out))
    assert len(df) == 5669
    assert set(df["mission"]) == {"Cluster"} and set(df["probe"]) == {"c1"}
    prov = json.loads((out / "_provenance.json").read_text())
    assert prov["missions"]["Cluster"]["probes"]["c1"]["days"] == 4
    assert prov["missions"]["Cluster"]["files"] == 8
    ref = []
    for day, fgm, cis in (("2006-08-13", "c1_cps_fgm_spin_20060812142632_20060814185651.cdf",
                           "c1_pps_cis_2006081242632_2006081485651.cdf"),
                          ("2008-08-22", "c1_cps_fgm_spin_20080821000001_20080823235959.cdf",
                           "c1_pps_cis_20080821142632_20080823185651.cdf")):
        ref.append(windows(read_fgm(folder / fgm), read_cis(folder / cis), day))
    ref = pd.concat(ref, ignore_index=True)
    mine = df[df["time"].dt.strftime("%Y-%m-%d").isin(["2006-08-13", "2008-08-22"])]
    assert len(mine) == len(ref)
    for col in ("n_mean", "T_mean", "B_mean", "x_gsm", "y_gsm", "z_gsm"):
        np.testing.assert_allclose(mine[col].median(), ref[col].median(), rtol=1e-7)


def test_nothing_usable_exits_nonzero_and_says_what(real_data, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.cdf").write_bytes(b"not a cdf")
    res = _cli("ingest", "--data", str(tmp_path / "a"), "--out", str(tmp_path / "s"),
               "--no-progress")
    assert res.returncode == 2
    assert "Looked for MMS L2" in res.stderr and "C1..C4_CP_FGM_SPIN" in res.stderr
    assert "thX_l2_fgm" in res.stderr and "notes.cdf" in res.stderr
    if (real_data / "cluster").is_dir():
        with pytest.raises(NoUsableFiles, match="not asked for: Cluster 8"):
            ingest(real_data / "cluster", tmp_path / "s2", missions=["THEMIS"], progress=False)


@pytest.fixture(scope="module")
def multi_archive(tmp_path_factory):
    from atlas_core.synth.multi import generate_multi_archive

    root = tmp_path_factory.mktemp("multi")
    meta = generate_multi_archive(root, "2015-09-01", "2016-09-01", seed=3, every_nth_day=45,
                                  progress=False)
    return root, meta


def test_synthetic_multi_mission_archive_ingests(multi_archive, tmp_path):
    root, meta = multi_archive
    assert set(meta["missions"]) == {"MMS", "Cluster", "THEMIS"}
    out = tmp_path / "states"
    idx = root / "indices"
    rep = ingest(root, out, dst=sorted(idx.glob("dst_*.wdc")),
                 omni=sorted(idx.glob("omni2_*.dat")), progress=False)
    assert rep.days_failed == 0
    df = validate_states(read_states(out))
    counts = df.groupby("mission")["probe"].unique()
    assert set(counts.index) == {"MMS", "Cluster", "THEMIS"}
    assert set(counts["THEMIS"]) <= {"tha", "thd", "the"}  # THB/THC left in 2010
    assert set(counts["Cluster"]) == {"c1"} and set(counts["MMS"]) == {"mms1"}
    # every mission's truth is read (region column) and Dst attached
    assert df["region"].notna().mean() > 0.99 and df["dst"].notna().all()
    # one day file holds every spacecraft of the day, in time order
    assert df["time"].is_monotonic_increasing
    prov = json.loads((out / "_provenance.json").read_text())
    assert set(prov["missions"]) == {"MMS", "Cluster", "THEMIS"}
    assert sum(m["states"] for m in prov["missions"].values()) == len(df) == prov["states"]
    # a mission filter keeps only its spacecraft
    only = ingest(root, tmp_path / "cluster_only", missions=["cluster"], progress=False)
    assert only.states == int((df["mission"] == "Cluster").sum())


def test_synth_cli_multi_mission(tmp_path):
    """``atlas synth --missions`` writes each mission in its own layout; THB flies in 2008."""
    res = _cli("synth", "--missions", "cluster,themis", "--probes", "c1,thb",
               "--start", "2008-02-20", "--end", "2008-02-23", "--out", str(tmp_path / "a"),
               "--no-progress", "--workers", "1")
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "a" / "archive.json").read_text())
    assert set(meta["missions"]) == {"Cluster", "THEMIS"}
    assert set(meta["missions"]["THEMIS"]["probes"]) == {"thb"}
    assert list((tmp_path / "a").glob("themis/thb/l2/fgm/2008/thb_l2_fgm_200802*_v01.cdf"))
    bad = _cli("synth", "--missions", "mms,voyager", "--out", str(tmp_path / "b"))
    assert bad.returncode == 2 and "unknown mission 'voyager'" in bad.stderr
