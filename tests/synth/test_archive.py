"""The synthetic archive through the real data layer: files, attributes, truth, indices,
faults, determinism, and a magnetopause crossing where Shue et al. (1998) put it."""

import hashlib
import json
from pathlib import Path

import cdflib
import numpy as np
import pandas as pd
import pytest

from atlas_core.physics.boundaries import dynamic_pressure_npa, magnetopause_shue1998
from atlas_core.physics.constants import R_E_KM
from atlas_core.sources.indices import read_dst_wdc, read_omni2
from atlas_core.sources.layout import scan
from atlas_core.sources.mms import read_fgm, read_fpi_dis
from atlas_core.synth import REGIONS, archive, generate_archive


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _truth(root: Path, day: str) -> pd.DataFrame:
    d = day.replace("-", "")
    return pd.read_parquet(root / "truth" / "mms1" / d[:4] / d[4:6] / f"mms1_truth_{d}.parquet")


def test_archive_layout_and_metadata(synth_archive):
    meta = json.loads((synth_archive / "archive.json").read_text())
    assert meta["synthetic"] is True and meta["generator"] == "atlas_core.synth"
    assert {"version", "seed", "start", "end", "probe"} <= set(meta)
    cat = scan(synth_archive)
    assert not cat.skipped
    days = cat.days()
    assert len(days) >= 8  # a dozen days spread over a year, most with fast-survey data
    for p in cat.files["fgm"]:
        assert p.path.parent.parts[-6:-2] == ("mms1", "fgm", "srvy", "l2")
    for p in cat.files["fpi-dis"]:
        assert p.path.parent.parts[-7:-2] == ("mms1", "fpi", "fast", "l2", "dis-moms")
    assert len(list((synth_archive / "indices").glob("omni2_*.dat"))) == 2
    assert len(list((synth_archive / "indices").glob("dst_*.wdc"))) == 2


def test_files_read_by_the_real_readers(synth_archive):
    cat = scan(synth_archive)
    day = cat.days()[0]
    fpi = [read_fpi_dis(p) for p in cat.for_day("fpi-dis", day)]
    fgm = read_fgm(cat.for_day("fgm", day)[-1])
    n_fpi = sum(ds.sizes["time"] for ds in fpi)
    truth = _truth(synth_archive, str(day))
    assert set(truth.columns) == {"time", "region"}
    assert str(truth["time"].dtype) == "datetime64[ns]"
    assert set(truth["region"]) <= set(REGIONS)
    assert n_fpi == truth["time"].nunique()  # one truth row per (unique) FPI sample
    for ds in fpi:
        ok = np.isfinite(ds["n"].values)
        assert ok.mean() > 0.95 and (ds["n"].values[ok] > 0).all()
        assert np.isfinite(ds["t"].values[ok]).all()
    b = fgm["b_gsm"].values
    assert np.isfinite(b).all(axis=1).mean() > 0.98
    r = np.linalg.norm(fgm["r_gsm"].values, axis=1) / R_E_KM
    assert 5.0 < r.min() and r.max() < 13.0  # phase 1: ROI between ~6.6 and 12 R_E


def test_cdf_variables_and_attributes_match_real_files(synth_archive, real_data):
    cat = scan(synth_archive)
    synth_fpi = cdflib.CDF(str(cat.files["fpi-dis"][0].path))
    real_fpi = cdflib.CDF(str(real_data / "mms" / "mms1_fpi_fast_l2_dis-moms_20151017060000_v3.4.0.cdf"))
    for v in ["Epoch", "mms1_dis_numberdensity_fast", "mms1_dis_bulkv_gse_fast",
              "mms1_dis_temppara_fast", "mms1_dis_tempperp_fast", "mms1_dis_errorflags_fast",
              "mms1_dis_bulkv_gse_label_fast"]:
        s, r = synth_fpi.varinq(v), real_fpi.varinq(v)
        assert (s.Data_Type, s.Dim_Sizes, s.Num_Elements) == (r.Data_Type, r.Dim_Sizes, r.Num_Elements), v
        missing = set(real_fpi.varattsget(v)) - set(synth_fpi.varattsget(v)) - {
            "DELTA_PLUS_VAR", "DELTA_MINUS_VAR"}  # error variables are not written
        assert not missing, (v, missing)
        if "FILLVAL" in real_fpi.varattsget(v):
            assert synth_fpi.varattsget(v)["FILLVAL"] == real_fpi.varattsget(v)["FILLVAL"]
    synth_fgm = cdflib.CDF(str(cat.files["fgm"][0].path))
    real_fgm = cdflib.CDF(str(real_data / "mms" / "mms1_fgm_brst_l2_20151016130524_v4.18.1.cdf"))
    for v in ["Epoch", "mms1_fgm_b_gse_brst_l2", "mms1_fgm_b_gsm_brst_l2", "mms1_fgm_flag_brst_l2",
              "Epoch_state", "mms1_fgm_r_gse_brst_l2", "mms1_fgm_r_gsm_brst_l2", "label_b_gsm",
              "represent_vec_tot"]:
        sv = v.replace("brst", "srvy")
        s, r = synth_fgm.varinq(sv), real_fgm.varinq(v)
        assert (s.Data_Type, s.Dim_Sizes, s.Num_Elements) == (r.Data_Type, r.Dim_Sizes, r.Num_Elements), v
        missing = set(real_fgm.varattsget(v)) - set(synth_fgm.varattsget(sv)) - {
            "DELTA_PLUS_VAR", "DELTA_MINUS_VAR"}
        assert not missing, (v, missing)
    info = synth_fgm.cdf_info()
    assert info.Majority == "Column_major" and info.Checksum
    assert "SYNTHETIC" in " ".join(synth_fgm.globalattsget()["TEXT"])


def test_indices_readable_and_consistent(synth_archive):
    idx = synth_archive / "indices"
    dst = read_dst_wdc(idx / "dst_2016.wdc")
    omni = read_omni2(idx / "omni2_2016.dat")
    assert len(dst) == 244 * 24  # 2016-01-01 .. 2016-08-31
    both = dst.join(omni.rename(columns={"dst": "dst_omni"}), how="inner")
    assert len(both) == len(dst)
    assert np.allclose(both["dst"], both["dst_omni"], atol=0.51)
    assert all(len(ln) == 120 for ln in (idx / "dst_2016.wdc").read_text().splitlines())
    assert all(len(ln.split()) == 55 for ln in (idx / "omni2_2016.dat").read_text().splitlines()[:50])
    assert omni["sw_v"].between(200, 1600).all() and omni["sw_n"].between(0.1, 100).all()


def test_magnetopause_crossing_where_shue_puts_it(synth_archive):
    """Crossings of the truth from magnetosheath to boundary layer (the magnetopause) happen
    within a few per cent of the Shue (1998) distance computed from the archive's own OMNI
    file and the FGM ephemeris; the FPI density drops across them."""
    cat = scan(synth_archive)
    omni = pd.concat([read_omni2(p) for p in sorted((synth_archive / "indices").glob("omni2_*.dat"))])
    ratios, jumps = [], []
    for day in cat.days():
        truth = _truth(synth_archive, str(day))
        reg = truth["region"].to_numpy()
        i = np.flatnonzero((reg[:-1] == "magnetosheath") & (reg[1:] == "boundary_layer"))
        i = i[np.diff(np.r_[-1000, i]) > 100]  # one per multi-crossing episode
        if not i.size:
            continue
        fgm = read_fgm(cat.for_day("fgm", day)[-1])
        t_state = fgm["time_state"].values
        tc = truth["time"].to_numpy()[i]
        pos = np.stack([np.interp(tc.astype("int64"), t_state.astype("int64"),
                                  fgm["r_gsm"].values[:, k]) for k in range(3)], -1) / R_E_KM
        r = np.linalg.norm(pos, axis=1)
        theta = np.arccos(pos[:, 0] / r)
        hour = pd.DatetimeIndex(tc).floor("h")
        sw = omni.reindex(hour)
        r_shue = magnetopause_shue1998(theta, sw["imf_bz_gsm"].to_numpy(),
                                       dynamic_pressure_npa(sw["sw_n"].to_numpy(), sw["sw_v"].to_numpy()))
        ratios.extend(r / r_shue)
        # density on each side (FPI through the reader), within 10 minutes of the crossing
        ds = [read_fpi_dis(p) for p in cat.for_day("fpi-dis", day)]
        times = np.concatenate([d["time"].values for d in ds])
        n = np.concatenate([d["n"].values for d in ds])
        lab = pd.Series(reg, index=truth["time"].to_numpy())
        lab = lab[~lab.index.duplicated()].reindex(times).to_numpy()
        for t in tc:
            near = np.abs(times - t) < np.timedelta64(600, "s")
            out = near & (lab == "magnetosheath")
            inn = near & np.isin(lab, ["boundary_layer", "dayside_magnetosphere"])
            if np.isfinite(n[out]).any() and np.isfinite(n[inn]).any():
                jumps.append(np.nanmedian(n[out]) / np.nanmedian(n[inn]))
    assert len(ratios) >= 2, "no magnetopause crossing in the small archive"
    ratios = np.asarray(ratios)
    assert np.median(np.abs(ratios - 1)) < 0.08
    assert np.all(np.abs(ratios - 1) < 0.2)
    assert np.median(jumps) > 2.0  # denser sheath outside, tenuous boundary layer inside


def test_same_seed_same_files_other_seed_differs(tmp_path):
    a, b, c, d = (tmp_path / k for k in "abcd")
    for out, seed, nth in ((a, 0, 1), (b, 0, 1), (c, 1, 1), (d, 0, 2)):
        generate_archive(out, "2015-11-28", "2015-12-04", seed=seed, every_nth_day=nth,
                         workers=1, progress=False)
    da, db, dc, dd = _digest(a), _digest(b), _digest(c), _digest(d)
    assert any(k.endswith(".cdf") for k in da)
    assert da == db
    common = set(da) & set(dc)
    assert any(da[k] != dc[k] for k in common if k.endswith(".cdf")) or set(da) != set(dc)
    # days are independent: every other day alone gives the same files for those days
    cdfs_d = {k: v for k, v in dd.items() if k.endswith(".cdf") or k.endswith(".parquet")}
    assert cdfs_d and all(da.get(k) == v for k, v in cdfs_d.items())


def test_injected_faults_are_handled_by_the_data_layer(tmp_path, monkeypatch):
    faults = dict(archive.FAULTS, superseded_day_fraction=1.0, duplicate_file_fraction=1.0,
                  corrupt_file_fraction=0.0)
    monkeypatch.setattr(archive, "FAULTS", faults)
    monkeypatch.setattr(archive, "BLOCK_AVAILABILITY", 1.0)
    generate_archive(tmp_path, "2015-12-01", "2015-12-02", seed=3, workers=1, progress=False)
    cat = scan(tmp_path)
    assert cat.superseded  # the older versions are seen and set aside
    assert all("v3.4.0" in str(p) or "v4.18.0" in str(p)
               for prod in ("fgm", "fpi-dis") for p in cat.for_day(prod, np.datetime64("2015-12-01")))
    new = cat.files["fpi-dis"][0].path
    old = Path(str(new).replace("v3.4.0", "v3.3.0"))
    raw = cdflib.CDF(str(new)).varget("Epoch")
    assert np.unique(raw).size < raw.size  # duplicated records in the file ...
    ds_new, ds_old = read_fpi_dis(new), read_fpi_dis(old)
    assert np.all(np.diff(ds_new["time"].values) > np.timedelta64(0))  # ... removed on reading
    ratio = np.nanmedian(ds_old["n"].values) / np.nanmedian(ds_new["n"].values)
    assert ratio == pytest.approx(1.4, rel=0.01)


def test_corrupt_file_is_reported_and_skipped(tmp_path, monkeypatch):
    from atlas_core.pipeline import ingest

    monkeypatch.setattr(archive, "FAULTS", dict(archive.FAULTS, corrupt_file_fraction=1.0))
    monkeypatch.setattr(archive, "BLOCK_AVAILABILITY", 1.0)
    meta = generate_archive(tmp_path / "a", "2015-12-01", "2015-12-02", seed=0, workers=1,
                            progress=False)
    assert meta["corrupt_files"]
    rep = ingest(tmp_path / "a", tmp_path / "s", progress=False)
    bad = {Path(e["file"]).name for e in rep.skipped_files}
    assert {Path(f).name for f in meta["corrupt_files"]} <= bad


def test_cli_synth(tmp_path):
    from atlas_core.cli import main

    assert main(["synth", "--start", "2015-12-01", "--end", "2015-12-02", "--out",
                 str(tmp_path / "x"), "--workers", "1", "--no-progress"]) == 0
    assert json.loads((tmp_path / "x" / "archive.json").read_text())["seed"] == 0
    assert main(["synth", "--start", "2015-12-02", "--end", "2015-12-01", "--out",
                 str(tmp_path / "y")]) == 2


def test_region_medians_are_physical(synth_states):
    from atlas_core.states import read_states

    df = read_states(synth_states)
    assert "region" in df
    med = df.groupby("region")[["n_mean", "T_mean", "B_mean", "beta_mean", "Vx_mean", "B_std"]].median()
    assert med.loc["magnetosheath", "n_mean"] > 5 * med.loc["dayside_magnetosphere", "n_mean"]
    assert med.loc["dayside_magnetosphere", "T_mean"] > 5 * med.loc["magnetosheath", "T_mean"]
    assert med.loc["plasma_sheet", "T_mean"] > 1000
    assert med.loc["plasma_sheet", "beta_mean"] > 5 * med.loc["lobe", "beta_mean"]
    assert med.loc["lobe", "n_mean"] < 0.2 and med.loc["lobe", "beta_mean"] < 0.05
    assert med.loc["magnetosheath", "B_std"] > 3 * med.loc["dayside_magnetosphere", "B_std"]
    quiet = (df["dst"].abs() <= 20).mean()
    assert 0.7 < quiet < 0.97
