"""The atlas dataset: layout, posterior layers, NetCDF and Zarr round trips, version check."""

import json

import numpy as np
import pytest
import xarray as xr

from atlas_core.atlas.conditioning import ActivityBins
from atlas_core.atlas.dataset import (
    FORMAT_VERSION,
    add_anomaly_quantiles,
    build_dataset,
    global_mix,
    load_dataset,
    save_dataset,
)
from atlas_core.atlas.errors import AtlasError, AtlasVersionError
from atlas_core.atlas.sampling import CellStatistics, SamplingModel
from atlas_core.octree import Octree


@pytest.fixture(scope="module")
def ds():
    """A dataset over a real octree: 5000 states in passes of 10 windows, random regimes."""
    rng = np.random.default_rng(0)
    n, k = 5000, 6
    pos = np.repeat(rng.uniform(-10, 10, (n // 10, 3)), 10, axis=0) + rng.normal(0, 0.05, (n, 3))
    tree = Octree.build(pos, base_size_re=4.0, max_states=40)
    code = rng.integers(0, k, n)
    dst = np.repeat(np.round(rng.normal(-20, 30, n // 10)), 10)
    dst[:30] = np.nan
    pid = np.repeat(np.arange(n // 10), 10)
    model = SamplingModel(rho=0.5, strengths={0: 2.0}, min_effective=3.0)
    stats = CellStatistics(tree, tree.leaf_of_state, code, pid, model, k)
    ds = build_dataset(
        stats=stats, dst=dst, names=[f"regime {i}" for i in range(k)], bins=ActivityBins(),
        codebook=rng.normal(size=(k, 8)), synthetic=True,
        provenance={"seed": 3, "config": {"max_epochs": 2}, "source_files": ["a.cdf", "b.cdf"]},
    )
    return add_anomaly_quantiles(ds, rng.normal(size=n), rng.normal(size=n))


def test_layout_and_attributes(ds):
    assert list(ds["activity"].values) == ["all", "quiet", "moderate", "storm", "positive"]
    assert ds["count"].dims == ("leaf", "activity", "regime")
    # every state with Dst falls in exactly one bin; states without Dst only in "all"
    bins_total = ds["count"].sel(activity=["quiet", "moderate", "storm", "positive"]).sum()
    assert int(ds["count"].sel(activity="all").sum()) == 5000
    assert int(bins_total) == 5000 - 30
    np.testing.assert_allclose(ds["p"].sum("regime"), 1.0, rtol=1e-5)
    assert (ds["p_lo"] <= ds["p"]).all() and (ds["p"] <= ds["p_hi"]).all()
    assert ds["leaf_lo"].attrs["units"] == "R_E"
    assert ds.attrs["format_version"] == FORMAT_VERSION
    assert ds.attrs["synthetic"] == 1 and ds.attrs["seed"] == 3
    assert json.loads(ds.attrs["source_files"]) == ["a.cdf", "b.cdf"]
    assert json.loads(ds.attrs["config"])["max_epochs"] == 2
    assert "code_version" in ds.attrs and ds.attrs["Conventions"].startswith("CF")
    # effective counts: a pass of 10 windows counts 10 / (1 + 9 rho) = 1/0.55 looks
    eff = ds["n_effective"].sel(activity="all")
    np.testing.assert_allclose(eff.sum(), 500 / 0.55, rtol=1e-5)
    assert ds.attrs["intra_pass_correlation"] == 0.5 and ds.attrs["n_passes_total"] == 500
    low = ds["n_effective"] < ds.attrs["min_effective"]
    assert (ds["low_count"] == low).all()
    assert np.all(np.diff(ds["anomaly_quantile"].values) >= 0)
    g = global_mix(ds)
    assert g.shape == (5, 6) and np.allclose(g.sum(1), 1) and (g > 0).all()
    diff = ds["p"].sel(activity="storm") - ds["p"].sel(activity="quiet")
    np.testing.assert_allclose(ds["storm_minus_quiet"], diff, atol=1e-6)
    # no significance from a condition the cell barely holds (its estimate is its parent's)
    thin = (ds["n_effective"].sel(activity="storm") < ds.attrs["min_effective"]) | (
        ds["n_effective"].sel(activity="quiet") < ds.attrs["min_effective"])
    assert not ds["shift_significant"].where(thin, False).any()


@pytest.mark.parametrize("name", ["atlas.nc", "atlas.zarr"])
def test_round_trip_unchanged(ds, tmp_path, name):
    save_dataset(ds, tmp_path)
    back = load_dataset(tmp_path / name)
    xr.testing.assert_identical(ds, back)
    for v in ds.variables:
        assert back[v].dtype == ds[v].dtype, v


def test_rewrite_is_atomic_and_replaces(ds, tmp_path):
    save_dataset(ds, tmp_path)
    save_dataset(ds.assign_attrs(history="second"), tmp_path)
    assert load_dataset(tmp_path / "atlas.zarr").attrs["history"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atlas.nc", "atlas.zarr"]


def test_other_version_and_foreign_files(ds, tmp_path):
    save_dataset(ds.assign_attrs(format_version=FORMAT_VERSION + 1), tmp_path, formats=("nc",))
    with pytest.raises(AtlasVersionError, match="rebuild"):
        load_dataset(tmp_path / "atlas.nc")
    xr.Dataset({"a": ("x", [1, 2])}).to_netcdf(tmp_path / "other.nc")
    with pytest.raises(AtlasError, match="not a Magnetosphere Atlas"):
        load_dataset(tmp_path / "other.nc")
    (tmp_path / "junk.nc").write_bytes(b"not a netcdf file")
    with pytest.raises(AtlasError, match="junk.nc"):
        load_dataset(tmp_path / "junk.nc")
    with pytest.raises(AtlasError, match="no such"):
        load_dataset(tmp_path / "missing.nc")
