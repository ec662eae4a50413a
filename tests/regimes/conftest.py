"""Small labelled state tables drawn from region-typical plasma values (no pipeline needed),
for fast model tests; the end-to-end test uses the root ``synth_states`` fixture instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atlas_core.states import FEATURES

# region: (x centre R_E, n cm^-3, T eV, |V| km/s, Vx km/s, |B| nT, Bz nT)
TYPICAL = {
    "solar_wind": (14.0, 5.0, 10.0, 400.0, -390.0, 6.0, 0.0),
    "magnetosheath": (9.0, 25.0, 200.0, 150.0, -120.0, 20.0, 3.0),
    "plasma_sheet": (-15.0, 0.4, 3000.0, 50.0, 10.0, 15.0, 5.0),
    "lobe": (-18.0, 0.02, 300.0, 20.0, 0.0, 25.0, 1.0),
    "inner_magnetosphere": (-3.0, 1.0, 5000.0, 20.0, 0.0, 120.0, 100.0),
}
MU_P = 1.6726e-27


def _features(typ: np.ndarray, rng: np.random.Generator, scale: float = 1.0) -> dict:
    """Window features around region-typical values ``typ`` (n, 7), log-normal jitter."""
    n = len(typ)
    jitter = lambda s: np.exp(rng.normal(0, s * scale, n))  # noqa: E731
    n_i, T = typ[:, 1] * jitter(0.3), typ[:, 2] * jitter(0.3)
    V, B = typ[:, 3] * jitter(0.2), typ[:, 5] * jitter(0.2)
    beta = (n_i * 1e6 * (T * 1.602e-19 + MU_P * (V * 1e3) ** 2)) / ((B * 1e-9) ** 2
                                                                    / (2 * 4e-7 * np.pi))
    return {
        "x_gsm": typ[:, 0] + rng.normal(0, 2, n), "y_gsm": rng.normal(0, 5, n),
        "z_gsm": rng.normal(0, 2, n),
        "B_mean": B, "B_std": 0.1 * B * jitter(0.5), "Bz_mean": typ[:, 6] + rng.normal(0, 3, n),
        "Bz_std": 0.1 * B * jitter(0.5), "n_mean": n_i, "n_std": 0.1 * n_i * jitter(0.5),
        "T_mean": T, "T_std": 0.1 * T * jitter(0.5), "V_mean": V, "V_std": 0.1 * V * jitter(0.5),
        "Vx_mean": typ[:, 4] * jitter(0.2), "Vx_std": 0.1 * V * jitter(0.5),
        "beta_mean": beta, "beta_std": 0.2 * beta * jitter(0.5),
    }


def make_states(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` states spread over 30 days (random times: few neighbours), with ``region``."""
    rng = np.random.default_rng(seed)
    names = list(TYPICAL)
    region = rng.choice(len(names), n, p=[0.15, 0.3, 0.25, 0.15, 0.15])
    typ = np.array([TYPICAL[r] for r in names])[region]
    df = pd.DataFrame({
        "time": pd.Timestamp("2016-01-01") + pd.to_timedelta(
            np.sort(rng.uniform(0, 30 * 86400, n)), "s"),
        **_features(typ, rng), "region": np.array(names)[region]})
    assert set(FEATURES) <= set(df.columns)
    return df


def make_passes(n_passes: int = 60, length: int = 100, seed: int = 0) -> pd.DataFrame:
    """Passes of one-minute windows (two a day) through regions that persist for tens of
    windows; inside a region the plasma flips every few windows between two sub-states whose
    field differs by a factor 4 (a region is not one Gaussian). Columns as ``make_states``
    plus ``probe``; ``region`` is the truth."""
    rng = np.random.default_rng(seed)
    names = ["solar_wind", "magnetosheath", "plasma_sheet", "lobe"]
    base = np.array([TYPICAL[r] for r in names])
    rows, times, regions = [], [], []
    for p in range(n_passes):
        start = pd.Timestamp("2016-01-01") + pd.Timedelta(hours=12 * p)
        region = np.empty(length, dtype=np.int64)
        sub = np.empty(length, dtype=np.int64)
        r, s = rng.integers(len(names)), 0
        for t in range(length):
            if rng.random() < 1 / 40:  # a boundary crossing every ~40 windows
                r = (r + rng.integers(1, len(names))) % len(names)
            if rng.random() < 1 / 4:  # the sub-state flips every ~4 windows
                s = 1 - s
            region[t], sub[t] = r, s
        typ = base[region].copy()
        typ[:, 5] *= np.where(sub == 1, 2.0, 0.5)  # |B| x4 between the sub-states
        rows.append(_features(typ, rng, scale=0.5))
        times.append(start + pd.to_timedelta(np.arange(length), "min"))
        regions.append(np.array(names)[region])
    df = pd.DataFrame({key: np.concatenate([r[key] for r in rows]) for key in rows[0]})
    df.insert(0, "time", np.concatenate(times))
    df["probe"] = "mms1"
    df["region"] = np.concatenate(regions)
    return df


@pytest.fixture(scope="session")
def fake_states() -> pd.DataFrame:
    return make_states(6000)


@pytest.fixture(scope="session")
def fake_passes() -> pd.DataFrame:
    return make_passes()
