"""What a regime model trains on: held-out days and the octree-informed sample weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atlas_core.octree import Octree


def octree_weights(positions_re: np.ndarray, octree: Octree | None = None) -> np.ndarray:
    """(N,) sample weights, inversely proportional to the occupancy of each state's leaf.

    With ``octree=None`` the tree is built over ``positions_re``; a tree built on other states
    is used through ``locate`` and the occupancy counted over these states. Mean 1.
    """
    if octree is None:
        octree = Octree.build(positions_re)
    if len(octree.leaf_of_state) == len(positions_re):
        leaf = octree.leaf_of_state
    else:
        leaf = octree.locate(positions_re)
        if (leaf < 0).any():
            raise ValueError(f"octree: {(leaf < 0).sum()} states lie outside the octree")
    count = np.bincount(leaf, minlength=octree.n_leaves)[leaf]
    w = 1.0 / count
    return w * (len(w) / w.sum())


def day_index(df: pd.DataFrame) -> np.ndarray | None:
    """(N,) index of each state's UTC day (0, 1, ... in time order), None without ``time``."""
    if "time" not in df.columns:
        return None
    day = pd.to_datetime(df["time"]).dt.floor("D").to_numpy()
    return np.unique(day, return_inverse=True)[1]


def split_days(df: pd.DataFrame, val_fraction: float, seed: int) -> np.ndarray:
    """Boolean held-out mask: whole days (overlapping windows must not straddle the split).

    Tables without ``time`` or with fewer than 10 days fall back to random states.
    """
    n = len(df)
    rng = np.random.default_rng([seed, 7])
    day = day_index(df)
    if day is not None and day.max() + 1 >= 10:
        n_days = day.max() + 1
        held = rng.permutation(n_days)[: max(1, round(val_fraction * n_days))]
        mask = np.zeros(n_days, bool)
        mask[held] = True
        return mask[day]
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[: max(1, round(val_fraction * n))]] = True
    return mask
