"""The partitioned atlas build gives the in-memory build's counts, in this process and on a
real dask.distributed LocalCluster."""

from __future__ import annotations

import numpy as np
import pytest

from atlas_core.atlas import Atlas
from atlas_core.atlas.partitioned import assign_codes, build_atlas_partitioned
from atlas_core.states import state_files


def test_partitioned_build_matches_in_memory_build(small_atlas, synth_states, tmp_path):
    ref = Atlas.open(small_atlas)
    out = build_atlas_partitioned(synth_states, tmp_path / "atlas", small_atlas / "model")
    np.testing.assert_array_equal(out["counts"], ref.ds["count"].values)
    part = Atlas.open(tmp_path / "atlas")
    assert part.n_leaves == ref.n_leaves
    for var in ("count", "effective_count", "p", "p_lo", "p_hi", "anomaly_quantile"):
        np.testing.assert_allclose(part.ds[var].values, ref.ds[var].values, rtol=1e-6,
                                   err_msg=var)
    assert set(part.states.columns) >= {"code", "leaf", "dst", "mission", "x_gsm", "pass_id"}
    stages = out["stages"]
    assert {"octree", "codes", "counts and estimates", "write netcdf+zarr"} <= set(stages)


@pytest.mark.slow
def test_codes_on_dask_local_cluster_are_identical(small_atlas, synth_states):
    paths = state_files(synth_states)
    local = assign_codes(paths, small_atlas / "model")
    on_dask = assign_codes(paths, small_atlas / "model", scheduler="local:2")
    assert local.size > 0
    np.testing.assert_array_equal(local, on_dask)
