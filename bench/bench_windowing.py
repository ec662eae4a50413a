"""Windowing benchmark: the vectorised state maker against a straightforward pandas version.

Both run in this process on the same in-memory day(s) of MMS-like data (FGM survey 16 S/s for
the whole day, FPI fast 4.5 s over a 12-hour region of interest, 30 s ephemeris), after a
check that they give the same states. Prints states per second and the speed-up.

    .venv/bin/python bench/bench_windowing.py [--days 3] [--fgm-rate 16]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import xarray as xr

from atlas_core.physics.constants import R_E_KM
from atlas_core.states import MIN_VALID_BINS, beta_star, make_states


def make_day(day: str, fgm_rate: float, seed: int):
    rng = np.random.default_rng(seed)
    d0 = np.datetime64(day, "ns")
    nf = int(86400 * fgm_rate)
    tf = d0 + (np.arange(nf) / fgm_rate * 1e9).astype("timedelta64[ns]")
    walk = np.cumsum(rng.normal(0, 0.05, (nf, 3)), axis=0) + [5.0, -3.0, 20.0]
    b = walk + rng.normal(0, 0.5, (nf, 3))
    b[rng.random(nf) < 0.001] = np.nan  # fills
    fgm_t_state = np.arange(d0 - np.timedelta64(60, "s"), d0 + np.timedelta64(86460, "s"),
                            np.timedelta64(30, "s"))
    ang = np.linspace(0, 2 * np.pi, fgm_t_state.size)
    r = np.column_stack([15 * np.cos(ang), 15 * np.sin(ang), 2 * np.sin(ang)]) * R_E_KM
    fgm = xr.Dataset(
        {"b_gsm": (("time", "component"), b),
         "b_total": ("time", np.linalg.norm(b, axis=1)),
         "r_gsm": (("time_state", "component"), r), "r_gse": (("time_state", "component"), r)},
        coords={"time": tf, "time_state": fgm_t_state})
    secs = np.arange(6 * 3600, 18 * 3600, 4.5)
    secs = secs[(secs % 3000) > 200]  # gaps
    tp = d0 + (secs * 1e9).astype("timedelta64[ns]")
    m = tp.size
    n = np.exp(np.cumsum(rng.normal(0, 0.02, m))) * 5
    v = np.column_stack([-300 + np.cumsum(rng.normal(0, 2, m)), rng.normal(0, 20, (m, 2))])
    t = np.exp(np.cumsum(rng.normal(0, 0.02, m))) * 500
    fpi = xr.Dataset({"n": ("time", n), "v_gse": (("time", "component"), v), "t": ("time", t)},
                     coords={"time": tp})
    return fgm, fpi


def pandas_states(fgm: xr.Dataset, fpi: xr.Dataset, day: str) -> pd.DataFrame:
    """The straightforward way: resample to 10 s, then one pandas slice per window."""
    field = pd.DataFrame({"B": fgm["b_total"].values, "Bz": fgm["b_gsm"].values[:, 2]},
                         index=pd.DatetimeIndex(fgm["time"].values)).dropna()
    v = fpi["v_gse"].values
    plasma = pd.DataFrame({"n": fpi["n"].values, "V": np.linalg.norm(v, axis=1), "Vx": v[:, 0],
                           "T": fpi["t"].values}, index=pd.DatetimeIndex(fpi["time"].values))
    bins = field.resample("10s").mean().join(plasma.resample("10s").mean(), how="inner")
    bins = bins.dropna()
    bins["beta"] = beta_star(bins["B"], bins["n"], bins["T"], bins["V"])
    pos = pd.DataFrame(fgm["r_gsm"].values / R_E_KM, columns=["x", "y", "z"],
                       index=pd.DatetimeIndex(fgm["time_state"].values))
    pos_bins = pos.reindex(pos.index.union(bins.index + pd.Timedelta("5s"))).interpolate(
        "time").reindex(bins.index + pd.Timedelta("5s"))
    pos_bins.index = bins.index
    rows = []
    for centre in pd.date_range(day, periods=1440, freq="1min"):
        lo, hi = centre - pd.Timedelta("60s"), centre + pd.Timedelta("60s")
        w = bins.loc[lo: hi - pd.Timedelta("1ns")]
        if len(w) < MIN_VALID_BINS:
            continue
        row = {"time": centre}
        p = pos_bins.loc[w.index]
        row.update(x_gsm=p["x"].median(), y_gsm=p["y"].median(), z_gsm=p["z"].median())
        for q in ["B", "Bz", "n", "T", "V", "Vx", "beta"]:
            row[f"{q}_mean"] = w[q].mean()
            row[f"{q}_std"] = w[q].std(ddof=0)
        row["n_bins"] = len(w)
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--fgm-rate", type=float, default=16.0, help="FGM samples per second")
    args = ap.parse_args()
    days = [str(np.datetime64("2016-01-01") + i) for i in range(args.days)]
    data = [make_day(d, args.fgm_rate, i) for i, d in enumerate(days)]

    # same answer first
    v0 = make_states(*data[0], days[0], str(np.datetime64(days[0]) + 1))
    p0 = pandas_states(*data[0], days[0])
    assert len(v0) == len(p0), (len(v0), len(p0))
    for col in ["B_mean", "B_std", "n_mean", "beta_std", "x_gsm"]:
        np.testing.assert_allclose(v0[col], p0[col], rtol=1e-6, err_msg=col)

    t = time.perf_counter()
    n_vec = sum(len(make_states(f, p, d, str(np.datetime64(d) + 1)))
                for (f, p), d in zip(data, days, strict=True))
    t_vec = time.perf_counter() - t
    t = time.perf_counter()
    n_pd = sum(len(pandas_states(f, p, d)) for (f, p), d in zip(data, days, strict=True))
    t_pd = time.perf_counter() - t
    assert n_vec == n_pd
    samples = sum(f.sizes["time"] + p.sizes["time"] for f, p in data)
    print(f"windowing: {args.days} day(s), {samples:,} samples "
          f"(FGM {args.fgm_rate:g} S/s, FPI 4.5 s), {n_vec:,} states")
    print(f"  vectorised (atlas_core.states.make_states): {t_vec:.3f} s, "
          f"{n_vec / t_vec:,.0f} states/s")
    print(f"  pandas resample + per-window slices:       {t_pd:.3f} s, "
          f"{n_pd / t_pd:,.0f} states/s")
    print(f"  speed-up: {t_pd / t_vec:.1f}x")


if __name__ == "__main__":
    main()
