"""What each regime is: the summary table (medians, quantiles) and its physics-based name.

Names come from a regime's medians by the rules of :func:`name_regime` (documented in
``docs/regimes.md``); regimes that get the same name are told apart by what differs most
between them (:func:`name_regimes`), so every name is unique and says something.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlas_core.states import FEATURES

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def regime_summary(states: pd.DataFrame, codes: np.ndarray, dist: np.ndarray,
                   k: int) -> pd.DataFrame:
    """One row per regime: id, name, count, fraction, median position (R_E), medians of n
    (cm^-3), T (eV), |Vx| (km/s), |V| (km/s), |B| (nT), beta, the mean distance to the
    regime (``dist`` of ``RegimeModel.assign``), and the 5/25/50/75/95 % quantiles of every
    feature (``<feature>_q05`` ...)."""
    df = pd.DataFrame({
        "code": codes, "x_gsm": states["x_gsm"].to_numpy(), "y_gsm": states["y_gsm"].to_numpy(),
        "z_gsm": states["z_gsm"].to_numpy(), "dist": dist,
        "abs_Vx": np.abs(states["Vx_mean"].to_numpy()),
    })
    df["r"] = np.sqrt(df.x_gsm**2 + df.y_gsm**2 + df.z_gsm**2)
    for f in FEATURES:
        df[f] = states[f].to_numpy()
    rows = []
    for i in range(k):
        g = df[df.code == i]
        row = {"id": i, "count": len(g), "fraction": len(g) / max(len(df), 1)}
        med = g.median(numeric_only=True) if len(g) else pd.Series(np.nan, index=df.columns)
        row.update({"x_gsm": med["x_gsm"], "y_gsm": med["y_gsm"], "z_gsm": med["z_gsm"],
                    "r": med["r"], "n": med["n_mean"], "T": med["T_mean"],
                    "abs_Vx": med["abs_Vx"], "V": med["V_mean"], "B": med["B_mean"],
                    "Bz": med["Bz_mean"], "beta": med["beta_mean"],
                    "dist_mean": g["dist"].mean() if len(g) else np.nan})
        for f in FEATURES:
            qs = g[f].quantile(QUANTILES) if len(g) else pd.Series(np.nan, index=QUANTILES)
            for q, v in zip(QUANTILES, qs, strict=True):
                row[f"{f}_q{round(q * 100):02d}"] = v
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(1, "name", name_regimes(out))
    return out


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table in the seed's layout (medians; R_E, cm^-3, eV, km/s,
    nT), with counts, beta and the automatic name."""
    lines = ["| regime | count | x [R_E] | n [cm^-3] | T [eV] | \\|Vx\\| [km/s] | \\|B\\| [nT] "
             "| beta | name |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for _, r in summary.iterrows():
        lines.append(f"| {r['id']} | {r['count']:,} | {r['x_gsm']:.1f} | {r['n']:.2g} | "
                     f"{r['T']:.0f} | {r['abs_Vx']:.0f} | {r['B']:.1f} | {r['beta']:.2g} | "
                     f"{r['name']} |")
    return "\n".join(lines) + "\n"


def name_regime(m) -> str:
    """A physics-based name from a regime's medians (``x_gsm``, ``r`` R_E; ``n`` cm^-3;
    ``T`` eV; ``abs_Vx``, ``V`` km/s; ``B`` nT; ``beta``), first rule that matches:

    1. solar wind: cold (T < 100 eV), fast (|V| > 250 km/s), weak field (|B| < 15 nT), x > 0;
    1b. foreshock (heated solar wind): solar-wind speed (|V| > 300 km/s) and weak field
       (|B| < 12 nT, n < 10 cm^-3) upstream (x > 0) but heated (100 <= T < 500 eV): not yet
       decelerated by the shock, unlike the magnetosheath;
    2. boundary layer: mixed plasma, 0.5 <= n < 8 cm^-3 and 300 <= T < 3000 eV, x > -5 R_E;
    3. magnetosheath: dense (n >= 3) and warm (T < 1000 eV) — qualifiers: dense (n > 30),
       flank (x < 0), stagnant (|Vx| < 80 km/s), hot (T > 400 eV);
    4. inner magnetosphere: r < 7 R_E and |B| > 30 nT — "strong field" when beta < 0.05;
    5. lobe: tail (x < -5), tenuous (n < 0.1) and very low beta (< 0.1);
    6. plasma sheet: tail (x < -5) and hot (T >= 1500 eV) — "fast flows" when |Vx| > 100 km/s,
       "near-Earth" when x > -10;
    7. plasma sheet boundary layer: tail (x < -5), otherwise;
    8. hot tenuous magnetosphere, n < 1 and T >= 1000 eV (x >= -5): dayside magnetosphere
       when x >= 3 R_E, nightside magnetosphere when x < -3 R_E, outer magnetosphere between
       (a median near x = 0 says the regime spans both sides);
    9. otherwise "mixed".
    The seed's table (Markidis et al. 2026) reads the same way: e.g. n = 5.1, T = 63 eV,
    |Vx| = 392 km/s, |B| = 5.6 nT is solar wind.
    """
    x, r, n, T = m["x_gsm"], m["r"], m["n"], m["T"]
    vx, v, b, beta = m["abs_Vx"], m["V"], m["B"], m["beta"]
    if any(pd.isna(val) for val in (x, n, T, b)):
        return "empty"
    if T < 100 and v > 250 and b < 15 and x > 0:
        return "solar wind"
    if 100 <= T < 500 and v > 300 and b < 12 and n < 10 and x > 0:
        return "foreshock (heated solar wind)"
    if 0.5 <= n < 8 and 300 <= T < 3000 and x > -5:
        return "boundary layer"
    if n >= 3 and T < 1000:
        quals = [q for q, hit in (("dense", n > 30), ("flank", x < 0),
                                  ("stagnant", vx < 80), ("hot", T > 400)) if hit]
        return "magnetosheath" + (f" ({', '.join(quals)})" if quals else "")
    if r < 7 and b > 30:
        return "inner magnetosphere" + (" (strong field)" if beta < 0.05 else "")
    if x < -5 and n < 0.1 and beta < 0.1:
        return "lobe"
    if x < -5 and T >= 1500:
        quals = [q for q, hit in (("fast flows", vx > 100), ("near-Earth", x > -10)) if hit]
        return "plasma sheet" + (f" ({', '.join(quals)})" if quals else "")
    if x < -5:
        return "plasma sheet boundary layer"
    if n < 1 and T >= 1000:
        return ("dayside magnetosphere" if x >= 3 else "nightside magnetosphere" if x < -3
                else "outer magnetosphere")
    return "mixed"


# What tells regimes of one name apart: (column, scale, word for the lower, for the higher).
# Densities, temperatures, fields, speeds and distances compare in decades; y in 20 R_E.
# The words avoid the palette's family keywords (e.g. "inner", "near-earth", "low beta").
DISTINGUISH = (
    ("n", "log", "tenuous", "dense"),
    ("T", "log", "cool", "hot"),
    ("B", "log", "weak field", "strong field"),
    ("V", "log", "slow", "fast"),
    ("r", "log", "close", "distant"),
    ("y_gsm", 20.0, "dawn", "dusk"),
)


def _with_qualifier(name: str, word: str) -> str:
    if name.endswith(")"):
        return f"{name[:-1]}, {word})"
    return f"{name} ({word})"


def name_regimes(summary: pd.DataFrame) -> list[str]:
    """:func:`name_regime` per row, made unique: regimes that share a name are split, again
    and again, at the widest gap along the quantity in which they differ most (density,
    temperature, field, speed, distance, dawn-dusk), the lower side taking that quantity's low
    word ("tenuous", "cool", ...) and the higher side its high word. Only when nothing tells
    them apart do they get " 2", " 3", ... by decreasing count."""
    names = [name_regime(row) for _, row in summary.iterrows()]
    groups = [np.flatnonzero(np.array(names) == nm) for nm in dict.fromkeys(names)]
    todo = [(g, ()) for g in groups if len(g) > 1]
    while todo:
        members, used = todo.pop()
        best = None
        for col, scale, low, high in DISTINGUISH:
            if col in used or any(w in names[i] for i in members for w in (low, high)):
                continue
            vals = summary[col].to_numpy(dtype=np.float64)[members]
            if not np.isfinite(vals).all():
                continue
            vals = np.log10(np.maximum(np.abs(vals), 1e-9)) if scale == "log" else vals / scale
            order = np.argsort(vals, kind="stable")
            gaps = np.diff(vals[order])
            if len(gaps) and (best is None or gaps.max() > best[0]):
                best = (gaps.max(), col, order, int(gaps.argmax()), low, high)
        if best is None or best[0] <= 0:
            continue
        _, col, order, cut, low, high = best
        for side, word in ((members[order[:cut + 1]], low), (members[order[cut + 1:]], high)):
            for i in side:
                names[i] = _with_qualifier(names[i], word)
            if len(side) > 1:
                todo.append((side, (*used, col)))
    counts = summary["count"].to_numpy()
    seen: dict[str, int] = {}
    out = list(names)
    for i in np.argsort(-counts, kind="stable"):
        seen[names[i]] = seen.get(names[i], 0) + 1
        if seen[names[i]] > 1:
            out[i] = f"{names[i]} {seen[names[i]]}"
    return out
