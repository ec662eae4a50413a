"""Who covers what in a multi-mission atlas: the missions present, states and time span per
mission and spacecraft, and the states each mission puts in each cell.

The state table of an atlas carries ``mission`` ("MMS", "Cluster", "THEMIS") and ``probe``
("mms1", "c1", "tha", ...) for every state (contract C3; an older table without them is MMS
mms1). These functions read only those columns (and ``time``, ``leaf``) from the atlas'
``states.parquet`` and cache them on the atlas object (:func:`atlas_core.atlas.product.cache_of`),
so the dashboard, the CLI and the consistency analysis share one read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlas_core.atlas.product import cache_of

DEFAULT_MISSION, DEFAULT_PROBE = "MMS", "mms1"


def state_columns(atlas) -> pd.DataFrame:
    """``mission``, ``probe``, ``time``, ``leaf`` of every state (cached; read-only use)."""
    def load():
        import pyarrow.parquet as pq

        path = atlas.atlas_dir / "states.parquet"
        names = set(pq.read_schema(path).names)
        cols = [c for c in ("mission", "probe", "time", "leaf") if c in names]
        df = pd.read_parquet(path, columns=cols)
        if "mission" not in df:
            df["mission"] = DEFAULT_MISSION
        if "probe" not in df:
            df["probe"] = DEFAULT_PROBE
        for c in ("mission", "probe"):
            df[c] = df[c].astype(str).astype("category")
        return df

    return cache_of(atlas).get(("coverage", "columns"), load)


def state_missions(atlas) -> np.ndarray:
    """(N,) mission of every state, as object strings (row order of the state table)."""
    return cache_of(atlas).get(("coverage", "missions"),
                               lambda: state_columns(atlas)["mission"].to_numpy(dtype=object))


def missions_in(atlas) -> list[str]:
    """The missions present, in the canonical order (MMS, Cluster, THEMIS, then others)."""
    from atlas_core.sources.missions import MISSIONS

    present = {str(m) for m in state_columns(atlas)["mission"].unique()}
    known = [m for m in MISSIONS if m in present]
    return known + sorted(present - set(known))


def mission_table(atlas) -> pd.DataFrame:
    """One row per mission and spacecraft: ``states``, ``first``, ``last`` (window times),
    ``cells`` (non-empty leaves), sorted by mission then probe; plus a row per mission with
    ``probe`` "all" when it has several spacecraft."""
    def compute():
        df = state_columns(atlas)
        rows = []
        for (mission, probe), g in df.groupby(["mission", "probe"], observed=True):
            rows.append({"mission": mission, "probe": probe, "states": len(g),
                         "first": g["time"].min() if "time" in g else pd.NaT,
                         "last": g["time"].max() if "time" in g else pd.NaT,
                         "cells": int(g["leaf"].nunique()) if "leaf" in g else 0})
        out = pd.DataFrame(rows)
        order = {m: i for i, m in enumerate(missions_in(atlas))}
        extra = []
        for mission, g in out.groupby("mission"):
            if len(g) > 1:
                sel = df["mission"] == mission
                extra.append({"mission": mission, "probe": "all", "states": int(sel.sum()),
                              "first": g["first"].min(), "last": g["last"].max(),
                              "cells": int(df.loc[sel, "leaf"].nunique()) if "leaf" in df else 0})
        out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True) if extra else out
        out["_m"] = out["mission"].map(order)
        out["_all"] = out["probe"] == "all"
        return out.sort_values(["_m", "_all", "probe"]).drop(columns=["_m", "_all"]).reset_index(
            drop=True)

    return cache_of(atlas).get(("coverage", "table"), compute)


def cell_mission_counts(atlas) -> tuple[np.ndarray, list[str]]:
    """``(counts (L, M) int64, missions)``: states of each mission in each leaf."""
    def compute():
        df = state_columns(atlas)
        missions = missions_in(atlas)
        code = pd.Categorical(df["mission"].astype(str), categories=missions).codes.astype(np.int64)
        key = df["leaf"].to_numpy(np.int64) * len(missions) + code
        ok = code >= 0
        counts = np.bincount(key[ok], minlength=atlas.n_leaves * len(missions))
        return counts.reshape(atlas.n_leaves, len(missions)), missions

    return cache_of(atlas).get(("coverage", "cells"), compute)
