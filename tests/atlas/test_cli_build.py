"""``atlas build`` end to end through the CLI (a short training with 6 codes)."""

import numpy as np
import pandas as pd

from atlas_core.atlas import Atlas


def test_cli_build_writes_an_openable_atlas(synth_states, tmp_path, capsys):
    from atlas_core.cli import main

    out = tmp_path / "atlas"
    rc = main(["build", "--states", str(synth_states), "--out", str(out), "--epochs", "2",
               "--codes", "6", "--seed", "3", "--storm-max", "-40", "--min-effective", "2"])
    assert rc == 0, capsys.readouterr().err
    assert {"atlas.nc", "atlas.zarr", "octree.npz", "model", "states.parquet"} <= {
        p.name for p in out.iterdir()}
    atlas = Atlas.open(out)
    assert atlas.k == 6 and atlas.bins.storm_max == -40 and atlas.min_effective == 2
    assert atlas.ds.attrs["seed"] == 3 and atlas.synthetic
    np.testing.assert_array_equal(atlas.occupancy().sum(axis=1), atlas.octree.leaf_count)
    # the passes were stored with the states, and the effective counts sit beside the windows
    assert "pass_id" in atlas.states
    n_eff = atlas.ds["n_effective"].sel(activity="all").values
    windows = atlas.ds["n_states"].sel(activity="all").values
    assert np.all(n_eff <= windows + 1e-4) and n_eff.sum() < windows.sum()


def test_cli_build_bad_input(tmp_path, capsys):
    from atlas_core.cli import main

    assert main(["build", "--states", str(tmp_path / "none"), "--out", str(tmp_path / "a")]) == 2
    assert "no state table" in capsys.readouterr().err
    assert main(["build", "--states", str(tmp_path), "--out", str(tmp_path / "a"),
                 "--quiet-max", "20", "--storm-max", "-10"]) == 2
    assert "storm_max" in capsys.readouterr().err


def test_codes_in_chunks_of_whole_days_equal_one_call(small_atlas):
    """The build assigns codes in chunks; the model smooths each state with its pass, so the
    chunks are whole days and give exactly the codes of one call on the whole table."""
    from atlas_core.atlas.build import assign_codes

    atlas = Atlas.open(small_atlas)
    states = atlas.states.sample(frac=1.0, random_state=0)  # rows of a day not contiguous
    whole, _ = atlas.model.assign(states)
    chunked, _ = assign_codes(atlas.model, states, chunk=300)
    assert len(np.unique(pd.to_datetime(states["time"]).dt.floor("D"))) > 3
    np.testing.assert_array_equal(chunked, np.asarray(whole))
