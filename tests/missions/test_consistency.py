"""Coverage by mission and the cross-mission consistency figures, on an atlas whose states are
split between two "missions" that sample one truth (the small synthetic atlas, relabelled)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from atlas_core.atlas import Atlas
from atlas_core.atlas.consistency import (
    compare_selections,
    feature_medians_in_common_cells,
    mission_consistency,
)
from atlas_core.atlas.coverage import cell_mission_counts, mission_table, missions_in


@pytest.fixture(scope="module")
def two_mission_atlas(small_atlas, tmp_path_factory):
    """The small atlas with the states of odd hours labelled Cluster c1 (the rest MMS mms1):
    two 'missions', one truth (the small archive has a dozen days, one pass through most cells:
    a split by days would leave no cell to both)."""
    out = tmp_path_factory.mktemp("two") / "atlas"
    shutil.copytree(small_atlas, out)
    st = pd.read_parquet(out / "states.parquet")
    hour = st["time"].to_numpy("datetime64[h]").astype(np.int64)
    odd = hour % 2 == 1
    st["mission"] = np.where(odd, "Cluster", "MMS")
    st["probe"] = np.where(odd, "c1", "mms1")
    st.to_parquet(out / "states.parquet", index=False)
    return Atlas.open(out)


def test_coverage_by_mission(two_mission_atlas):
    atlas = two_mission_atlas
    assert missions_in(atlas) == ["MMS", "Cluster"]
    table = mission_table(atlas)
    assert list(table["mission"]) == ["MMS", "Cluster"]
    assert table["states"].sum() == len(atlas.states)
    counts, missions = cell_mission_counts(atlas)
    assert counts.shape == (atlas.n_leaves, 2) and counts.sum() == len(atlas.states)
    # each mission's cells are those its states fall in
    st = atlas.states
    for j, m in enumerate(missions):
        assert (counts[:, j] > 0).sum() == st.loc[st["mission"] == m, "leaf"].nunique()


def test_same_truth_agrees_like_the_null(two_mission_atlas):
    """Two halves of one truth: the cross-mission figures match the alternate-day null's."""
    table = mission_consistency(two_mission_atlas, min_effective=1.5)
    cross = table[table["kind"] == "cross-mission"].iloc[0]
    assert cross["cells"] >= 10
    assert cross["overlap"] > 0.9 and cross["dominant_agree"] > 0.7
    null = table[table["kind"].str.startswith("null") & (table["cells"] > 0)]
    assert len(table) == 1 + 2 * 2  # one pair; each mission split by days and 28-day blocks
    if len(null):
        assert cross["overlap"] > null["overlap"].mean() - 0.1


def test_different_truth_is_flagged(two_mission_atlas):
    """A selection against itself agrees fully; against states of other regimes it does not."""
    atlas = two_mission_atlas
    st = atlas.states
    rows = np.flatnonzero(st["mission"].to_numpy() == "MMS")
    same = compare_selections(atlas, rows, rows, min_effective=1.5)
    assert same["overlap"] == 1.0 and same["tv_median"] == 0.0
    # relabel: regimes 0..k/2 against the others in the same cells (disjoint truth)
    code = st["code"].to_numpy()
    low = np.flatnonzero(code < atlas.k // 2)
    high = np.flatnonzero(code >= atlas.k // 2)
    diff = compare_selections(atlas, low, high, min_effective=1.5)
    if diff["cells"]:
        assert diff["cells_agree"] < 0.5 and diff["dominant_agree"] < 0.1


def test_feature_medians_in_common_cells(two_mission_atlas):
    med = feature_medians_in_common_cells(two_mission_atlas, min_states=10)
    assert list(med["mission"]) == ["MMS", "Cluster"]
    # one truth: the halves' medians are close (log-normal features: within 30 %)
    a, b = med.iloc[0], med.iloc[1]
    for f in ("n_mean", "T_mean", "B_mean"):
        assert abs(np.log(a[f] / b[f])) < 0.3, f
