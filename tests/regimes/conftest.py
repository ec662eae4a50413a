"""A small labelled state table drawn from region-typical plasma values (no pipeline needed),
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


def make_states(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` states spread over 30 days, with a ``region`` truth column."""
    rng = np.random.default_rng(seed)
    names = list(TYPICAL)
    region = rng.choice(len(names), n, p=[0.15, 0.3, 0.25, 0.15, 0.15])
    typ = np.array([TYPICAL[r] for r in names])[region]
    jitter = lambda s: np.exp(rng.normal(0, s, n))  # noqa: E731
    mu_p = 1.6726e-27
    n_i, T = typ[:, 1] * jitter(0.3), typ[:, 2] * jitter(0.3)
    V, B = typ[:, 3] * jitter(0.2), typ[:, 5] * jitter(0.2)
    beta = (n_i * 1e6 * (T * 1.602e-19 + mu_p * (V * 1e3) ** 2)) / ((B * 1e-9) ** 2 / (2 * 4e-7 * np.pi))
    df = pd.DataFrame({
        "time": pd.Timestamp("2016-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 30 * 86400, n)), "s"),
        "x_gsm": typ[:, 0] + rng.normal(0, 2, n), "y_gsm": rng.normal(0, 5, n),
        "z_gsm": rng.normal(0, 2, n),
        "B_mean": B, "B_std": 0.1 * B * jitter(0.5), "Bz_mean": typ[:, 6] + rng.normal(0, 3, n),
        "Bz_std": 0.1 * B * jitter(0.5), "n_mean": n_i, "n_std": 0.1 * n_i * jitter(0.5),
        "T_mean": T, "T_std": 0.1 * T * jitter(0.5), "V_mean": V, "V_std": 0.1 * V * jitter(0.5),
        "Vx_mean": typ[:, 4] * jitter(0.2), "Vx_std": 0.1 * V * jitter(0.5),
        "beta_mean": beta, "beta_std": 0.2 * beta * jitter(0.5),
        "region": np.array(names)[region],
    })
    assert set(FEATURES) <= set(df.columns)
    return df


@pytest.fixture(scope="session")
def fake_states() -> pd.DataFrame:
    return make_states(6000)
