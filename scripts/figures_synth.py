"""Figures and tables for docs/synthetic-archive.md, from the generated archives and states.

    python scripts/figures_synth.py --synth1y data/synth1y --states1y data/states1y \
        --synth10y data/synth10y --states10y data/states10y --out docs/img

Writes ``synth_coverage.png`` (XY and XZ GSM coverage, one and ten years),
``synth_dst.png`` (the ten-year Dst series and its quiet fraction), ``synth_crossing.png``
(a day's time series through a magnetopause crossing, read back through the real readers),
``synth_regions.png`` (per-region medians beside the seed's regime table) and prints the
per-region median table in Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from atlas_core.physics.boundaries import (  # noqa: E402
    bow_shock_jelinek2012,
    dynamic_pressure_npa,
    magnetopause_shue1998,
)
from atlas_core.physics.constants import R_E_KM  # noqa: E402
from atlas_core.sources.indices import read_dst_wdc, read_omni2  # noqa: E402
from atlas_core.sources.layout import scan  # noqa: E402
from atlas_core.sources.mms import read_fgm, read_fpi_dis  # noqa: E402
from atlas_core.states import read_states  # noqa: E402
from atlas_core.synth.regions import REGIONS  # noqa: E402

# The seed's regime table (Markidis et al. 2026): median x (R_E), n (cm^-3), T (eV), |Vx| (km/s), |B| (nT)
SEED_REGIMES = pd.DataFrame(
    [
        (0, 6.4, 13.0, 286, 163, 19.7, "MSH (hot/processed; boundary-adjacent)"),
        (1, 8.3, 59.9, 160, 109, 24.5, "Dense MSH (shocked solar wind)"),
        (2, -18.2, 0.3, 528, 15, 20.3, "PSBL / lobe-adjacent tail transition"),
        (3, 1.9, 0.6, 4056, 5, 34.9, "Hot plasma sheet / inner hot magnetosphere"),
        (4, 6.3, 27.2, 154, 159, 19.3, "MSH"),
        (5, 13.1, 5.1, 63, 392, 5.6, "Solar wind"),
        (6, -14.0, 0.4, 2896, 8, 20.5, "Plasma sheet (dynamic/bursty)"),
        (7, -15.3, 0.4, 2637, 5, 13.4, "Tail plasma sheet"),
        (8, 8.5, 19.6, 623, 41, 41.5, "Compressed/stagnation sheath near dayside boundary"),
        (9, -3.4, 0.3, 510, 14, 100.2, "Strong-field, very low-beta (lobe-like / near-Earth)"),
        (10, 6.0, 6.0, 561, 220, 15.9, "Magnetopause boundary layer / hot sheath"),
        (11, -3.9, 12.2, 119, 235, 14.2, "Flank MSH (downstream)"),
    ],
    columns=["regime", "x", "n", "T", "absVx", "B", "interpretation"],
)

COLOURS = {
    "solar_wind": "#f0c419", "foreshock": "#e67e22", "magnetosheath": "#c0392b",
    "boundary_layer": "#8e44ad", "dayside_magnetosphere": "#2980b9",
    "inner_magnetosphere": "#16a085", "plasma_sheet": "#27ae60", "psbl": "#7f8c8d",
    "lobe": "#2c3e50",
}


def _boundaries(ax, plane: str):
    th = np.linspace(0, 2.6, 200)
    for r, style in ((magnetopause_shue1998(th, 0.0, 2.0), "w-"), (bow_shock_jelinek2012(th, 2.0), "w--")):
        x, s = r * np.cos(th), r * np.sin(th)
        ax.plot(x, s, style, lw=0.8)
        ax.plot(x, -s, style, lw=0.8)
    ax.add_patch(plt.Circle((0, 0), 1, color="w"))
    ax.set_xlim(30, -30)
    ax.set_ylim(-30, 30)
    ax.set_aspect("equal")
    ax.set_xlabel("x GSM [R_E]")
    ax.set_ylabel(f"{plane} GSM [R_E]")


def fig_coverage(states1y: Path, states10y: Path, out: Path):
    fig, axes = plt.subplots(2, 2, figsize=(8, 8))
    bins = np.linspace(-30, 30, 121)
    for row, (label, path) in enumerate((("one year (2015-09 .. 2016-08)", states1y),
                                         ("ten years (2015-09 .. 2025-10)", states10y))):
        df = read_states(path, columns=["time", "x_gsm", "y_gsm", "z_gsm"])
        for col, c in enumerate(("y_gsm", "z_gsm")):
            ax = axes[row, col]
            h, _, _ = np.histogram2d(df["x_gsm"], df[c], bins=[bins, bins])
            ax.pcolormesh(bins, bins, np.log10(np.where(h > 0, h, np.nan)).T, cmap="viridis")
            ax.set_facecolor("#222")
            _boundaries(ax, c[0])
            ax.set_title(f"{label}: {len(df):,} states", fontsize=9)
    fig.suptitle("Synthetic MMS1 coverage (log10 states per 0.5 R_E bin); Shue MP and "
                 "Jelinek BS at Dp = 2 nPa, Bz = 0", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "synth_coverage.png", dpi=80)
    plt.close(fig)


def fig_dst(synth10y: Path, states10y: Path, out: Path):
    dst = pd.concat([read_dst_wdc(p) for p in sorted((synth10y / "indices").glob("dst_*.wdc"))])
    dst = dst[(dst.index >= "2015-09-01") & (dst.index < "2025-11-01")]["dst"]
    states = read_states(states10y, columns=["time", "dst"])
    q_hours = float((dst.abs() <= 20).mean())
    q_states = float((states["dst"].abs() <= 20).mean())
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2), gridspec_kw={"width_ratios": [4, 1]})
    a1.plot(dst.index, dst.values, lw=0.3, color="k")
    a1.axhspan(-20, 20, color="tab:green", alpha=0.2, label="quiet |Dst| <= 20 nT")
    a1.axhline(-50, color="tab:orange", lw=0.6, label="storm Dst <= -50 nT")
    a1.set_ylabel("Dst [nT]")
    a1.legend(loc="lower left", fontsize=7)
    a1.set_title(f"Synthetic Dst (O'Brien & McPherron 2000 from the synthetic driver): "
                 f"{100 * q_hours:.1f} % of hours and {100 * q_states:.1f} % of states quiet; "
                 f"minimum {dst.min():.0f} nT", fontsize=8)
    a2.hist(dst.values, bins=np.arange(-300, 60, 5), orientation="horizontal", color="k", log=True)
    a2.set_xlabel("hours")
    fig.tight_layout()
    fig.savefig(out / "synth_dst.png", dpi=80)
    plt.close(fig)
    return q_hours, q_states, float(dst.min())


def _find_crossing_day(root: Path):
    """The day whose samples are most evenly split between magnetosheath and the
    magnetosphere (boundary layer and dayside), with at least one crossing between them."""
    best, score = None, -1.0
    for p in sorted((root / "truth").rglob("*.parquet")):
        reg = pd.read_parquet(p)["region"].to_numpy()
        k = int(np.sum((reg[:-1] == "magnetosheath") & (reg[1:] == "boundary_layer")))
        f_sh = np.mean(reg == "magnetosheath")
        f_ms = np.mean(np.isin(reg, ["boundary_layer", "dayside_magnetosphere"]))
        s = min(f_sh, f_ms) if k else -1.0
        if s > score:
            best, score = p, s
    return best


def fig_crossing(root: Path, out: Path):
    truth_path = _find_crossing_day(root)
    day = np.datetime64(f"{truth_path.stem[-8:-4]}-{truth_path.stem[-4:-2]}-{truth_path.stem[-2:]}")
    cat = scan(root)
    fgm = read_fgm(cat.for_day("fgm", day)[-1])
    fpi = [read_fpi_dis(p) for p in cat.for_day("fpi-dis", day) if str(day).replace("-", "") in p.name]
    t_i = np.concatenate([d["time"].values for d in fpi])
    n = np.concatenate([d["n"].values for d in fpi])
    temp = np.concatenate([d["t"].values for d in fpi])
    vx = np.concatenate([d["v_gse"].values[:, 0] for d in fpi])
    truth = pd.read_parquet(truth_path)
    omni = read_omni2(root / "indices" / f"omni2_{str(day)[:4]}.dat")
    ts = fgm["time_state"].values
    r = fgm["r_gsm"].values / R_E_KM
    rr = np.linalg.norm(r, axis=1)
    sw = omni.reindex(pd.DatetimeIndex(ts).floor("h"))
    r_mp = magnetopause_shue1998(np.arccos(r[:, 0] / rr), sw["imf_bz_gsm"].to_numpy(),
                                 dynamic_pressure_npa(sw["sw_n"].to_numpy(), sw["sw_v"].to_numpy()))
    fig, ax = plt.subplots(6, 1, figsize=(8, 9), sharex=True)
    tb = fgm["time"].values
    ax[0].plot(tb, fgm["b_total"].values, "k", lw=0.5, label="|B|")
    ax[0].plot(tb, fgm["b_gsm"].values[:, 2], "tab:blue", lw=0.5, label="Bz GSM")
    ax[0].set_ylabel("B [nT]")
    ax[0].legend(fontsize=7, loc="upper right")
    ax[1].semilogy(t_i, n, "k.", ms=1)
    ax[1].set_ylabel("n_i [cm^-3]")
    ax[2].semilogy(t_i, temp, "k.", ms=1)
    ax[2].set_ylabel("T_i [eV]")
    ax[3].plot(t_i, vx, "k.", ms=1)
    ax[3].set_ylabel("V_x GSE [km/s]")
    ax[4].plot(ts, rr, "k", label="r (FGM ephemeris)")
    ax[4].plot(ts, r_mp, "tab:red", label="Shue (1998) r_MP at the s/c angle (OMNI hourly)")
    ax[4].set_ylabel("R_E")
    ax[4].legend(fontsize=7, loc="lower right")
    codes = pd.Categorical(truth["region"], categories=REGIONS).codes
    for k, name in enumerate(REGIONS):
        sel = codes == k
        if sel.any():
            ax[5].plot(truth["time"].to_numpy()[sel], np.full(sel.sum(), k), "|", ms=8,
                       color=COLOURS[name])
    ax[5].set_yticks(range(len(REGIONS)))
    ax[5].set_yticklabels(REGIONS, fontsize=6)
    ax[5].set_ylabel("truth")
    fig.suptitle(f"Synthetic MMS1, {day}: FGM (1 S/s) and FPI DIS (4.5 s) read back with "
                 "atlas_core.sources", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "synth_crossing.png", dpi=80)
    plt.close(fig)
    return str(day)


def region_table(states10y: Path) -> pd.DataFrame:
    df = read_states(states10y, columns=["time", "x_gsm", "n_mean", "T_mean", "Vx_mean",
                                         "B_mean", "beta_mean", "region", "dst"])
    df["absVx"] = df["Vx_mean"].abs()
    g = df.groupby("region")
    tab = pd.DataFrame({
        "states": g.size(), "x": g["x_gsm"].median(), "n": g["n_mean"].median(),
        "T": g["T_mean"].median(), "absVx": g["absVx"].median(), "B": g["B_mean"].median(),
        "beta": g["beta_mean"].median(),
    }).reindex([r for r in REGIONS if r in set(df["region"])])
    return tab


def fig_regions(tab: pd.DataFrame, out: Path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, (xk, yk, xl, yl) in zip(axes, (("n", "T", "n_i [cm^-3]", "T_i [eV]"),
                                          ("B", "absVx", "|B| [nT]", "|V_x| [km/s]")), strict=True):
        ax.scatter(SEED_REGIMES[xk], SEED_REGIMES[yk], marker="s", facecolor="none",
                   edgecolor="k", s=50, label="seed regimes (real MMS1)")
        for _, r in SEED_REGIMES.iterrows():
            ax.annotate(str(int(r["regime"])), (r[xk], r[yk]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        for name, r in tab.iterrows():
            ax.scatter(r[xk], max(r[yk], 1), color=COLOURS[name], s=40, label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="center right")
    fig.suptitle("Per-region medians of the ten-year synthetic states (colours) beside the "
                 "seed's 12 regimes (squares, numbered)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(out / "synth_regions.png", dpi=80)
    plt.close(fig)


def markdown(tab: pd.DataFrame) -> str:
    """The per-region medians as a Markdown table."""
    lines = ["| truth region | states | x [R_E] | n [cm^-3] | T [eV] | abs(Vx) [km/s] | B [nT] | beta |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in tab.iterrows():
        lines.append(f"| {name} | {int(r['states']):,} | {r['x']:.1f} | {r['n']:.2f} | {r['T']:.0f} "
                     f"| {r['absVx']:.0f} | {r['B']:.1f} | {r['beta']:.3g} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synth1y", default="data/synth1y")
    ap.add_argument("--states1y", default="data/states1y")
    ap.add_argument("--synth10y", default="data/synth10y")
    ap.add_argument("--states10y", default="data/states10y")
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig_coverage(Path(args.states1y), Path(args.states10y), out)
    q = fig_dst(Path(args.synth10y), Path(args.states10y), out)
    print(f"quiet: {100 * q[0]:.1f} % of hours, {100 * q[1]:.1f} % of states; Dst min {q[2]:.0f} nT")
    day = fig_crossing(Path(args.synth1y), out)
    print(f"crossing day: {day}")
    tab = region_table(Path(args.states10y))
    fig_regions(tab, out)
    print(markdown(tab))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
