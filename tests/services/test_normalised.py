"""Boundary-normalised positions (atlas_core.physics.normalised) and the normalised atlas.

Independent numbers: Shue et al. (1998) eqs. 10-11 at Dp = 2 nPa, Bz = 0 give a subsolar
magnetopause at 10.25 R_E (10.22 + 1.29 tanh(0.184 * 8.14) = 11.387, times 2^(-1/6.6) =
0.9003); Jelinek et al. (2012) give a subsolar bow shock at 15.02 * 2^(-1/6.55) = 13.51 R_E.
"""

from __future__ import annotations

import numpy as np
import pytest

from atlas_core.physics.normalised import (
    normalised_coordinates,
    reference_positions,
)

R_MP_2NPA = 10.252  # R_E, hand-computed above
R_BS_2NPA = 13.512


def test_subsolar_ratio_and_sheath_fraction_against_hand_values():
    pos = np.array([[0.5 * R_MP_2NPA, 0, 0], [R_MP_2NPA, 0, 0],
                    [0.5 * (R_MP_2NPA + R_BS_2NPA), 0, 0], [R_BS_2NPA, 0, 0]])
    c = normalised_coordinates(pos, 2.0, 0.0)
    np.testing.assert_allclose(c["r_mp_re"], R_MP_2NPA, atol=2e-3)
    np.testing.assert_allclose(c["r_bs_re"], R_BS_2NPA, atol=2e-3)
    np.testing.assert_allclose(c["r_over_rmp"], [0.5, 1.0, 1.1588, 1.318], atol=2e-3)
    np.testing.assert_allclose(c["sheath_fraction"], [-5.0 / 3.26 * 1.0252, 0, 0.5, 1.0], atol=5e-3)


def test_compressed_magnetosphere_moves_the_same_point_outside():
    # 10 R_E on the Sun-Earth line is inside at 2 nPa and in the sheath at 8 nPa
    # (Shue: r0 = 11.387 * 8^(-1/6.6) = 8.14 R_E)
    c = normalised_coordinates(np.array([[10.0, 0, 0], [10.0, 0, 0]]), [2.0, 8.0], [0.0, 0.0])
    assert c["r_over_rmp"][0] < 1 < c["r_over_rmp"][1]
    assert 0 < c["sheath_fraction"][1] < 1
    np.testing.assert_allclose(c["r_mp_re"][1], 11.387 * 8 ** (-1 / 6.6), atol=5e-3)


def test_missing_driver_gives_nan_and_identity_map():
    pos = np.array([[9.0, 3.0, 1.0]])
    c = normalised_coordinates(pos, np.nan, 0.0)
    assert np.isnan(c["r_over_rmp"]).all() and np.isnan(c["sheath_fraction"]).all()
    out, mapped = reference_positions(pos, np.nan, 0.0)
    assert not mapped[0]
    np.testing.assert_array_equal(out, pos)


def test_reference_map_is_identity_at_reference_and_places_boundaries():
    rng = np.random.default_rng(0)
    pos = rng.uniform(-25, 25, size=(500, 3))
    out, mapped = reference_positions(pos, 2.0, 0.0)
    assert mapped.all()
    np.testing.assert_allclose(out, pos, atol=1e-9)
    # the magnetopause and bow shock of a compressed moment land on the reference surfaces
    theta = np.deg2rad([0.0, 30.0, 60.0, 90.0])
    u = np.stack([np.cos(theta), np.sin(theta), 0 * theta], axis=1)
    moment = normalised_coordinates(u * 100, 6.0, -5.0)
    ref = normalised_coordinates(u * 100, 2.0, 0.0)
    on_mp = u * moment["r_mp_re"][:, None]
    on_bs = u * moment["r_bs_re"][:, None]
    np.testing.assert_allclose(np.linalg.norm(reference_positions(on_mp, 6.0, -5.0)[0], axis=1),
                               ref["r_mp_re"], rtol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(reference_positions(on_bs, 6.0, -5.0)[0], axis=1),
                               ref["r_bs_re"], rtol=1e-9)


def test_reference_map_is_continuous_and_monotonic_along_a_ray():
    for theta_deg in (0.0, 45.0, 100.0, 150.0):
        t = np.deg2rad(theta_deg)
        r = np.linspace(1.0, 60.0, 20000)
        pos = np.stack([r * np.cos(t), r * np.sin(t), 0 * r], axis=1)
        out, _ = reference_positions(pos, 4.5, -3.0)
        rr = np.linalg.norm(out, axis=1)
        assert np.all(np.diff(rr) > 0), theta_deg
        assert np.max(np.diff(rr)) < 0.05, theta_deg  # no jump at either boundary


def test_synthetic_sheath_states_lie_between_the_boundaries(synth_states):
    """The synthetic archive moves its boundaries with the 1-min driver (plus noise); the
    states carry the hourly OMNI values, so most, not all, truth-sheath windows fall in (0, 1)."""
    from atlas_core.physics.normalised import state_drivers
    from atlas_core.states import read_states

    df = read_states(synth_states)
    pdyn, bz = state_drivers(df)
    c = normalised_coordinates(df[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(), pdyn, bz)
    sheath = (df["region"] == "magnetosheath").to_numpy()
    inside = df["region"].isin(["dayside_magnetosphere", "inner_magnetosphere"]).to_numpy()
    if sheath.sum() < 50:
        pytest.skip("too few sheath windows in the small archive")
    f = c["sheath_fraction"][sheath]
    assert np.mean((f > 0) & (f < 1)) > 0.85
    assert np.mean(c["r_over_rmp"][inside] < 1) > 0.95


def test_build_normalised_atlas(synth_states, small_atlas, synth_archive, tmp_path):
    from atlas_core.atlas import Atlas, build_atlas

    out = build_atlas(synth_states, tmp_path / "norm", model=small_atlas / "model",
                      coords="normalised")
    atlas = Atlas.open(out)
    assert atlas.ds.attrs["coords"] == "normalised"
    assert "boundary-normalised" in atlas.ds.attrs["coordinate_system"]
    st = atlas.states
    for col in ("r_over_rmp", "sheath_fraction", "pdyn_npa", "bz_nt", "x_norm"):
        assert col in st
    # the octree is built on the normalised positions, not on GSM
    leaf = atlas.octree.locate(st[["x_norm", "y_norm", "z_norm"]].to_numpy())
    np.testing.assert_array_equal(leaf, st["leaf"].to_numpy())
    moved = np.linalg.norm(st[["x_norm", "y_norm", "z_norm"]].to_numpy()
                           - st[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(), axis=1)
    assert np.median(moved) > 0.01

    # a flythrough of a normalised atlas maps the trajectory with the OMNI values of its time
    import pandas as pd

    from atlas_core.atlas.errors import AtlasError
    from atlas_core.service.drivers import read_drivers
    from atlas_core.service.flythrough import flythrough

    traj = st[["time", "x_gsm", "y_gsm", "z_gsm"]].iloc[:300].reset_index(drop=True)
    with pytest.raises(AtlasError, match="OMNI"):
        flythrough(atlas, traj)
    drivers = read_drivers(sorted((synth_archive / "indices").glob("omni2_*.dat")))
    fly = flythrough(atlas, traj, drivers=drivers, k=300)
    # the trajectory is the atlas' own windows: each lands in the leaf its state was built in
    # (where the hourly driver of the file is the one the state carried)
    same = fly["leaf"].to_numpy() == st["leaf"].to_numpy()[:300]
    assert same.mean() > 0.95
    assert isinstance(fly["time"].iloc[0], pd.Timestamp)
