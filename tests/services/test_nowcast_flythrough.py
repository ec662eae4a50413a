"""``atlas nowcast`` and ``atlas flythrough`` on the small synthetic atlas and its real-format
driver files (OMNI2 hourly text, Kyoto WDC Dst), through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from atlas_core.cli import main


def _nowcast(capsys, atlas, files, time, k=300):
    args = ["nowcast", str(atlas)]
    for f in files:
        args += ["--dst" if f.suffix == ".wdc" else "--omni", str(f)]
    assert main(args + ["--time", time, "--k", str(k), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_nowcast_neighbours_follow_the_drivers(capsys, small_atlas, opened_atlas, driver_files):
    from atlas_core.service.drivers import read_drivers

    table = read_drivers(driver_files)
    st = opened_atlas.states
    storm_hour = st.loc[st["dst"].idxmin(), "time"].floor("h")  # the most disturbed window's hour
    quiet_hour = table.index[(table["dst"].abs() < 5) & (table["ddst_dt"].abs() < 1)][100]
    storm = _nowcast(capsys, small_atlas, driver_files, storm_hour.isoformat())
    quiet = _nowcast(capsys, small_atlas, driver_files, quiet_hour.isoformat())
    for r in (storm, quiet):
        assert r["condition"]["kind"] == "near"
        assert set(r["condition"]["near"]) == {"dst", "ddst", "sw_v", "imf_bz", "sw_pdyn"}
        assert r["neighbours"]["k"] == 300
        assert r["neighbours"]["distance_sd"]["max"] >= r["neighbours"]["distance_sd"]["median"]
        assert r["synthetic_atlas"] is True
    low = st["dst"].min()  # the small archive's most disturbed hour (about -20 nT: no storm)
    assert storm["drivers"]["dst"]["value"] == low
    s, q = storm["neighbours"]["spread"]["dst"], quiet["neighbours"]["spread"]["dst"]
    # the disturbed hour's neighbours reach down to it, the quiet hour's stay quiet
    assert s["p05"] <= low + 5
    assert s["p50"] < q["p05"] <= q["p50"]
    b = storm["boundaries"]
    assert 5 < b["subsolar_magnetopause_re"] < b["subsolar_bow_shock_re"] < 20


def test_nowcast_map_file_and_bad_input(capsys, small_atlas, driver_files, tmp_path):
    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import estimates
    from atlas_core.service.nowcast import nowcast

    out = tmp_path / "map.parquet"
    args = ["nowcast", str(small_atlas), "--omni", str(driver_files[0]), "--k", "300",
            "--time", "2015-11-01T12:00", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "neighbours: 300 windows" in text and "Dst" in text
    atlas = Atlas.open(small_atlas)
    result = nowcast(atlas, [driver_files[0]], time="2015-11-01T12:00", k=300)
    est = estimates(atlas, result.condition)
    table = pd.read_parquet(out)
    assert len(table) == est.leaves.size
    np.testing.assert_array_equal(np.sort(table["leaf"].to_numpy()), np.sort(est.leaves))
    notdrivers = tmp_path / "notes.dat"
    notdrivers.write_text("hello\n")
    assert main(["nowcast", str(small_atlas), "--omni", str(notdrivers)]) == 2
    assert "notes.dat" in capsys.readouterr().err
    assert main(["nowcast", str(small_atlas), "--omni", str(driver_files[0]),
                 "--time", "1999-01-01"]) == 2
    assert "outside the driver files" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trajectory(opened_atlas, tmp_path_factory):
    """A 1-minute trajectory through one day of the atlas' own windows (CSV)."""
    st = opened_atlas.states
    day = st["time"].dt.floor("D").value_counts().idxmax()
    d = st[(st["time"] >= day) & (st["time"] < day + pd.Timedelta("1D"))]
    t = pd.date_range(d["time"].min(), d["time"].max(), freq="min")
    traj = pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ")})
    for c in ("x_gsm", "y_gsm", "z_gsm"):
        traj[c] = np.interp(t.asi8, d["time"].astype("int64"), d[c])
    path = tmp_path_factory.mktemp("traj") / "traj.csv"
    traj.to_csv(path, index=False)
    return path, traj


def test_flythrough_fixed_condition_matches_the_product_layer(small_atlas, opened_atlas,
                                                              trajectory, tmp_path):
    from atlas_core.atlas.product import Condition, query_cells

    path, traj = trajectory
    out = tmp_path / "fly.parquet"
    assert main(["flythrough", str(small_atlas), "--trajectory", str(path), "--dst-min", "-20",
                 "--dst-max", "20", "--out", str(out)]) == 0
    fly = pd.read_parquet(out)
    assert len(fly) == len(traj)
    ref = query_cells(opened_atlas, traj[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(),
                      Condition(dst_min=-20, dst_max=20), outside="nan")
    has = ref["windows"].to_numpy() > 0
    assert has.mean() > 0.5
    pcols = [c for c in fly.columns if c.startswith("p_") and c not in ("p_lo", "p_hi")]
    assert len(pcols) == opened_atlas.k
    refp = ref[[f"p_{j}" for j in range(opened_atlas.k)]].to_numpy()
    np.testing.assert_allclose(fly[pcols].to_numpy()[has], refp[has], rtol=1e-6)
    np.testing.assert_array_equal(fly["regime"].to_numpy()[has], refp[has].argmax(axis=1))
    assert (fly["p_lo"][has] <= fly["p"][has]).all() and (fly["p"][has] <= fly["p_hi"][has]).all()
    assert fly["regime"][~has].eq(-1).all()
    for q in ("q05", "q50", "q95"):
        assert f"state_n_mean_{q}" in fly
    ok = fly["regime"] >= 0
    assert (fly.loc[ok, "state_n_mean_q05"] <= fly.loc[ok, "state_n_mean_q95"]).all()


def test_flythrough_with_drivers_conditions_each_hour(small_atlas, opened_atlas, trajectory,
                                                      driver_files, tmp_path):
    from atlas_core.atlas.product import query_cells
    from atlas_core.service.drivers import read_drivers
    from atlas_core.service.flythrough import flythrough
    from atlas_core.service.nowcast import condition_from_drivers

    path, traj = trajectory
    out = tmp_path / "fly.csv"
    args = ["flythrough", str(small_atlas), "--trajectory", str(path), "--k", "300",
            "--out", str(out)]
    for f in driver_files:
        args += ["--dst" if f.suffix == ".wdc" else "--omni", str(f)]
    assert main(args) == 0
    fly = pd.read_csv(out)
    hours = pd.to_datetime(fly["time"]).dt.tz_localize(None).dt.floor("h")
    assert fly.groupby(hours)["condition"].nunique().max() == 1
    assert fly["condition"].nunique() > 1
    # one hour checked against the product layer under that hour's condition
    table = read_drivers(driver_files)
    h = hours.iloc[len(fly) // 2]
    row = table.loc[h]
    values = {"dst": row["dst"], "ddst": row["ddst_dt"], "sw_v": row["sw_v"],
              "imf_bz": row["imf_bz_gsm"], "sw_pdyn": row["sw_pdyn"]}
    cond = condition_from_drivers(opened_atlas, values, k=300)
    sel = (hours == h).to_numpy()
    ref = query_cells(opened_atlas, traj[["x_gsm", "y_gsm", "z_gsm"]].to_numpy()[sel], cond,
                      outside="nan")
    has = ref["windows"].to_numpy() > 0
    np.testing.assert_allclose(fly.loc[sel, "p"].to_numpy()[has],
                               ref[[f"p_{j}" for j in range(opened_atlas.k)]].to_numpy()[has].max(axis=1),
                               rtol=1e-5)
    # a CDF trajectory (Epoch TT2000 + GSM position in km) gives the same answer
    import cdflib

    from atlas_core.physics.constants import R_E_KM
    from atlas_core.service.flythrough import read_trajectory

    cdf_path = tmp_path / "traj.cdf"
    epochs = cdflib.cdfepoch.compute_tt2000(
        [[t.year, t.month, t.day, t.hour, t.minute, t.second, 0, 0, 0]
         for t in pd.to_datetime(traj["time"])])
    with cdflib.cdfwrite.CDF(str(cdf_path)) as w:
        w.write_var({"Variable": "Epoch", "Data_Type": 33, "Num_Elements": 1, "Rec_Vary": True,
                     "Dim_Sizes": []}, var_data=np.asarray(epochs, dtype=np.int64))
        w.write_var({"Variable": "pos_gsm", "Data_Type": 45, "Num_Elements": 1, "Rec_Vary": True,
                     "Dim_Sizes": [3]}, var_attrs={"UNITS": "km", "DEPEND_0": "Epoch"},
                    var_data=traj[["x_gsm", "y_gsm", "z_gsm"]].to_numpy() * R_E_KM)
    from_cdf = read_trajectory(cdf_path)
    np.testing.assert_allclose(from_cdf[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(),
                               traj[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(), atol=1e-9)
    a = flythrough(opened_atlas, from_cdf, drivers=table, k=300)
    np.testing.assert_allclose(a["p"].to_numpy(), fly["p"].to_numpy(), rtol=1e-4, equal_nan=True)


def test_flythrough_bad_trajectory_is_named(small_atlas, tmp_path, capsys):
    bad = tmp_path / "orbit.csv"
    bad.write_text("when,a,b\n1,2,3\n")
    assert main(["flythrough", str(small_atlas), "--trajectory", str(bad), "--out",
                 str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "orbit.csv" in err and "time" in err


def test_flythrough_hours_equal_the_product_layer_and_the_dense_counts(opened_atlas, trajectory,
                                                                        driver_files, monkeypatch):
    """Every hour of a driver-conditioned flythrough (counted over the selection's own keys,
    the estimator told which leaves hold looks) gives the product layer's numbers for that
    hour's condition, and the same frame as counting over dense (L, K) tables."""
    from atlas_core.atlas.product import query_cells
    from atlas_core.service import flythrough as module
    from atlas_core.service.drivers import drivers_along, read_drivers
    from atlas_core.service.nowcast import condition_from_drivers

    _, traj = trajectory
    traj = traj.assign(time=pd.to_datetime(traj["time"]).dt.tz_localize(None))
    table = read_drivers(driver_files)
    fly = module.flythrough(opened_atlas, traj, drivers=table, k=300)
    kk = opened_atlas.k
    pcols = [c for c in fly.columns if c.startswith("p_") and c not in ("p_lo", "p_hi")]
    along = drivers_along(table, traj["time"].to_numpy("datetime64[ns]"))
    hours = traj["time"].dt.floor("h").to_numpy()
    pos = traj[["x_gsm", "y_gsm", "z_gsm"]].to_numpy()
    checked = 0
    for h in np.unique(hours):
        sel = hours == h
        v = along[sel].iloc[0]
        cond = condition_from_drivers(opened_atlas, {n: v.get(c) for n, c in
                                                     module._driver_columns().items()}, k=300)
        ref = query_cells(opened_atlas, pos[sel], cond, outside="nan")
        np.testing.assert_array_equal(fly.loc[sel, "windows"].to_numpy(), ref["windows"].to_numpy())
        has = ref["windows"].to_numpy() > 0
        p = ref[[f"p_{j}" for j in range(kk)]].to_numpy()[has]
        top = p.argmax(axis=1)
        lo = ref[[f"lo_{j}" for j in range(kk)]].to_numpy()[has][np.arange(top.size), top]
        hi = ref[[f"hi_{j}" for j in range(kk)]].to_numpy()[has][np.arange(top.size), top]
        np.testing.assert_allclose(fly.loc[sel, pcols].to_numpy()[has], p, rtol=1e-12, atol=0)
        np.testing.assert_allclose(fly.loc[sel, "p_lo"].to_numpy()[has], lo, rtol=1e-12)
        np.testing.assert_allclose(fly.loc[sel, "p_hi"].to_numpy()[has], hi, rtol=1e-12)
        np.testing.assert_allclose(fly.loc[sel, "n_eff"].to_numpy()[has],
                                   ref["n_eff"].to_numpy()[has], rtol=1e-12)
        assert (fly.loc[sel, "regime"].to_numpy()[~has] == -1).all()
        checked += int(has.sum())
    assert checked > 50
    monkeypatch.setattr(module, "SPARSE_FACTOR", 10**15)  # every condition over dense tables
    dense = module.flythrough(opened_atlas, traj, drivers=table, k=300)
    pd.testing.assert_frame_equal(fly, dense, check_exact=True)
