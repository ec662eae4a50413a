"""A small real atlas for the figure tests, built in memory through ``build_atlas``.

Two plasma populations placed by position (a dense, slow, weak-field sheath-like one beyond
10 R_E on the dayside and a tenuous, strong-field lobe-like one elsewhere) and a spread of Dst
values, so that every colouring and condition has something to show. Building takes ~10 s
(a 2-epoch VQ-VAE with 4 codes); independent of the synthetic archive pipeline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atlas_core.states import COLUMNS, POSITION_GSE, POSITION_GSM


def toy_states(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    r = rng.uniform(3, 20, n)
    th = rng.uniform(0, np.pi, n)
    ph = rng.uniform(0, 2 * np.pi, n)
    pos = np.column_stack([r * np.cos(th), r * np.sin(th) * np.cos(ph),
                           0.5 * r * np.sin(th) * np.sin(ph)])
    sheath = (pos[:, 0] > 0) & (r > 10)
    df = pd.DataFrame({"time": pd.date_range("2016-01-01", periods=n, freq="10min")})  # 6 weeks
    for j, c in enumerate(POSITION_GSM):
        df[c] = pos[:, j]
    for j, c in enumerate(POSITION_GSE):
        df[c] = pos[:, j]

    def lognormal(sheath_value, lobe_value):
        mu = np.where(sheath, np.log(sheath_value), np.log(lobe_value))
        return np.exp(mu + 0.2 * rng.normal(size=n))

    q = {"B": lognormal(20, 40), "n": lognormal(20, 0.05), "T": lognormal(200, 1000),
         "V": lognormal(250, 50), "beta": lognormal(5, 0.01),
         "Bz": np.where(sheath, 0, 30) + 5 * rng.normal(size=n),
         "Vx": np.where(sheath, -200, 0) + 20 * rng.normal(size=n)}
    for name in ("B", "Bz", "n", "T", "V", "Vx", "beta"):
        v = q[name]
        df[f"{name}_mean"] = v
        df[f"{name}_std"] = np.abs(v) * 0.1 * rng.uniform(0.5, 1.5, n)
    df["dst"] = np.round(rng.normal(-15, 30, n))
    # drivers for nearest-neighbour conditions and the boundaries' solar-wind condition
    df["ddst_dt"] = np.round(rng.normal(0, 5, n), 1)
    df["sw_pdyn"] = np.round(np.exp(rng.normal(np.log(2.0), 0.4, n)), 2)
    df["imf_bz_gsm"] = np.round(rng.normal(-1.0, 3.0, n), 1)
    df["n_bins"] = np.int16(12)
    df["mission"] = "MMS"
    df["probe"] = "mms1"
    df["region"] = np.where(sheath, "magnetosheath", "lobe")
    return df[COLUMNS + ["ddst_dt", "sw_pdyn", "imf_bz_gsm", "region"]]


@pytest.fixture(scope="session")
def toy_atlas_dir(tmp_path_factory):
    from atlas_core.atlas import build_atlas

    out = tmp_path_factory.mktemp("toy_atlas")
    build_atlas(toy_states(), out,
                train_config={"max_epochs": 2, "seed": 0, "k": 4, "batch_size": 512})
    return out


@pytest.fixture(scope="session")
def toy_atlas(toy_atlas_dir):
    from atlas_core.atlas import Atlas

    return Atlas.open(toy_atlas_dir)
