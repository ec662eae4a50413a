"""Readers on the real MMS and Kyoto files in ../shared/real-data (skipped without them)."""

from __future__ import annotations

import shutil

import cdflib
import numpy as np

from atlas_core.sources.indices import read_dst_wdc, read_indices
from atlas_core.sources.layout import scan, sdc_relpath
from atlas_core.sources.mms import read_fgm, read_fpi_dis, read_many

FGM_BRST = "mms1_fgm_brst_l2_20151016130524_v4.18.1.cdf"
FPI_BRST = "mms1_fpi_brst_l2_dis-moms_20151016130524_v3.3.0.cdf"


def test_fgm_burst_reader(real_data):
    path = real_data / "mms" / FGM_BRST
    ds = read_fgm(path)
    raw = cdflib.CDF(str(path))
    b = raw.varget("mms1_fgm_b_gsm_brst_l2")
    assert ds.sizes["time"] == b.shape[0] == 17792
    assert ds.attrs["rate"] == "brst" and ds.attrs["probe"] == "mms1"
    assert ds["b_gsm"].attrs["units"] == "nT" and ds["r_gsm"].attrs["units"] == "km"
    np.testing.assert_allclose(ds["b_gsm"].values, b[:, :3], rtol=1e-6)
    # |B| column agrees with the components (burst 128 S/s: dayside magnetopause, 15-60 nT)
    np.testing.assert_allclose(ds["b_total"], np.linalg.norm(ds["b_gsm"], axis=1), rtol=1e-3)
    assert 10 < float(ds["b_total"].median()) < 80
    assert str(ds.time.values[0]).startswith("2015-10-16T13:05:24")
    assert np.all(np.diff(ds.time.values) > np.timedelta64(0))
    r = ds["r_gsm"].values / 6371.2
    assert ds.sizes["time_state"] == 8 and 10 < np.linalg.norm(r, axis=1).mean() < 13


def test_fpi_fast_reader_joins_files(real_data):
    paths = sorted((real_data / "mms").glob("mms1_fpi_fast_l2_dis-moms_20151017*"))
    assert len(paths) == 7
    ds = read_many("fpi-dis", paths)
    assert ds.sizes["time"] == 860 + 5 * 1600 + 439
    assert np.all(np.diff(ds.time.values) > np.timedelta64(0))
    assert ds["n"].attrs["units"] == "cm^-3" and ds["t"].attrs["units"] == "eV"
    np.testing.assert_allclose(ds["t"], (ds["t_para"] + 2 * ds["t_perp"]) / 3)
    # dense magnetosheath (~50-70 cm^-3) then the magnetosphere after ~16 UT (a few cm^-3)
    sheath = ds["n"].sel(time=slice("2015-10-17T05", "2015-10-17T15")).median()
    sphere = ds["n"].sel(time=slice("2015-10-17T16:30", None)).median()
    assert 30 < float(sheath) < 100 and float(sphere) < 5
    one = read_fpi_dis(paths[0])
    raw = cdflib.CDF(str(paths[0]))
    np.testing.assert_allclose(one["n"], raw.varget("mms1_dis_numberdensity_fast"), rtol=1e-6)


def test_fpi_burst_reader(real_data):
    ds = read_fpi_dis(real_data / "mms" / FPI_BRST)
    assert ds.sizes["time"] == 932 and ds.attrs["rate"] == "brst"
    assert np.isfinite(ds["n"]).all()


def test_dst_reader_storm_minima(real_data):
    dst = read_dst_wdc(real_data / "indices" / "kyoto_dst_final_2015_2016.txt")["dst"]
    assert len(dst) == 731 * 24
    assert dst["2015-03-17"].min() == -234
    assert dst["2015-06-23"].min() == -198
    assert dst.idxmin() == np.datetime64("2015-03-17T22:00")
    table = read_indices(dst=[real_data / "indices" / "kyoto_dst_final_2015_2016.txt"])
    # centred dDst/dt at the main phase of the March storm is strongly negative
    assert table.loc["2015-03-17T12:00", "ddst_dt"] < -5


def test_highest_version_wins(real_data, tmp_path):
    src = real_data / "mms" / "mms1_fpi_fast_l2_dis-moms_20151201000000_v3.3.0.cdf"
    for name in (src.name, src.name.replace("v3.3.0", "v3.4.1"),
                 src.name.replace("v3.3.0", "v3.10.0")):
        dest = tmp_path / sdc_relpath(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest)
    cat = scan(tmp_path)
    files = cat.files["fpi-dis"]
    assert len(files) == 1 and files[0].version == (3, 10, 0)
    assert len(cat.superseded) == 2
