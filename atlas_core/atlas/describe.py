"""Descriptive statistics of selected windows, and the names and units features are shown with.

- :func:`feature_label` — a feature's display name with its unit (``|B| [nT]``, ``σ(n) [cm⁻³]``),
  the one naming every view, table and figure uses instead of column names like ``beta_std``;
- :func:`feature_quantiles` — 5/25/50/75/95 % of each feature per group of windows (a cell's
  states under each condition: the inspector's box plots).

Features are the 14 window features of :mod:`atlas_core.states` (mean and standard deviation
over a 2-minute window of |B|, B_z, n, T, |V|, V_x, β). Quantiles are of the physical values;
the ``log`` column says which features span decades (drawn on a log axis).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlas_core.states import FEATURE_UNITS, FEATURES, LOG_FEATURES

_SHOWN = {
    "B": ("|B|", "magnetic field magnitude"),
    "Bz": ("B_z", "magnetic field z component, GSM"),
    "n": ("n", "ion number density"),
    "T": ("T", "ion temperature"),
    "V": ("|V|", "ion bulk speed"),
    "Vx": ("V_x", "ion velocity x component, GSE"),
    "beta": ("β", "ion plasma beta"),
}
_UNIT_TEXT = {"cm^-3": "cm⁻³", "1": ""}
"""How a unit of :data:`atlas_core.states.FEATURE_UNITS` is written on screen."""
QUANTITIES = {q: (symbol, _UNIT_TEXT.get(FEATURE_UNITS[q], FEATURE_UNITS[q]), description)
              for q, (symbol, description) in _SHOWN.items()}
"""Quantity -> (symbol, unit as shown, description); units from the state table's own."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def feature_label(feature: str, *, long: bool = False) -> str:
    """``"n [cm⁻³]"`` for ``n_mean``, ``"σ(n) [cm⁻³]"`` for ``n_std`` (the window's standard
    deviation); ``long=True`` adds the description (``"n [cm⁻³] — ion number density, window
    mean"``). Unknown names are returned unchanged."""
    quantity, _, stat = feature.rpartition("_")
    if quantity not in QUANTITIES or stat not in ("mean", "std"):
        return feature
    symbol, unit, description = QUANTITIES[quantity]
    text = symbol if stat == "mean" else f"σ({symbol})"
    text += f" [{unit}]" if unit else ""
    if long:
        text += f" — {description}, window {'mean' if stat == 'mean' else 'standard deviation'}"
    return text


def feature_quantiles(groups: dict[str, pd.DataFrame], features=FEATURES,
                      quantiles=QUANTILES) -> pd.DataFrame:
    """Quantiles of each feature in each named group of windows.

    ``groups`` maps a group name (e.g. a condition) to the windows' rows (a frame with the
    feature columns). Returns one row per (feature, group) with at least one finite value:
    ``feature``, ``label`` (:func:`feature_label`), ``group``, ``n`` (finite values),
    ``q05 q25 q50 q75 q95`` (physical units) and ``log`` (the feature spans decades; only its
    positive values count then).
    """
    names = [f"q{round(q * 100):02d}" for q in quantiles]
    rows = []
    for group, frame in groups.items():
        for feature in features:
            if feature not in frame.columns:
                continue
            v = frame[feature].to_numpy(dtype=float)
            log = feature in LOG_FEATURES
            v = v[np.isfinite(v) & ((v > 0) if log else True)]
            if v.size == 0:
                continue
            qs = np.quantile(v, quantiles)
            rows.append({"feature": feature, "label": feature_label(feature), "group": group,
                         "n": int(v.size), **dict(zip(names, qs.tolist(), strict=True)),
                         "log": log})
    columns = ["feature", "label", "group", "n", *names, "log"]
    return pd.DataFrame(rows, columns=columns)


def regime_medians(summary: pd.DataFrame) -> list[str]:
    """One line of medians per row of a regime summary table (``n`` cm⁻³, ``T`` eV, ``B`` nT,
    ``V`` km/s, ``x_gsm`` and ``r`` R_E columns): ``"n 0.3 cm⁻³, T 4.1 keV, |B| 28 nT,
    |V| 40 km/s, x −3.2, r 8.1 R_E"``."""

    def temp(t):
        return f"{t / 1000:.2g} keV" if t >= 1000 else f"{t:.3g} eV"

    out = []
    for _, m in summary.iterrows():
        parts = []
        if pd.notna(m.get("n")):
            parts.append(f"n {m['n']:.2g} cm⁻³")
        if pd.notna(m.get("T")):
            parts.append(f"T {temp(m['T'])}")
        if pd.notna(m.get("B")):
            parts.append(f"|B| {m['B']:.3g} nT")
        if pd.notna(m.get("V")):
            parts.append(f"|V| {m['V']:.3g} km/s")
        if pd.notna(m.get("x_gsm")) and pd.notna(m.get("r")):
            parts.append(f"x {m['x_gsm']:+.1f}, r {m['r']:.1f} R_E")
        out.append(", ".join(parts).replace("-", "−"))
    return out
