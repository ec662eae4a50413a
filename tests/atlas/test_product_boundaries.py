"""The drawn boundaries (physics/boundaries.py cuts) against the published model numbers."""

from __future__ import annotations

import numpy as np
import pytest

from atlas_core.physics.boundaries import (
    PDYN_RANGE_NPA,
    X_MIN_RE,
    boundary_cuts,
    boundary_profiles,
    clamp_solar_wind,
    earth_cut,
)


def _shue(bz, pdyn):
    """Shue et al. (1998) Eqs. 10-11, written out here independently of the module."""
    r0 = (10.22 + 1.29 * np.tanh(0.184 * (bz + 8.14))) * pdyn ** (-1 / 6.6)
    alpha = (0.58 - 0.007 * bz) * (1 + 0.024 * np.log(pdyn))
    return r0, alpha


@pytest.mark.parametrize("bz, pdyn", [(0.0, 2.0), (-5.0, 6.0)])
def test_cuts_in_the_planes_through_earth_match_the_models(bz, pdyn):
    r0, alpha = _shue(bz, pdyn)
    xy = boundary_cuts("xy", 0.0, pdyn, bz)
    mp = xy["magnetopause"][0]
    assert mp[:, 0].max() == pytest.approx(r0, rel=1e-4)
    upper = mp[mp[:, 1] > 0]
    upper = upper[np.argsort(upper[:, 0])]
    # the terminator crossing (x = 0) is at r0 * 2^alpha
    assert np.interp(0.0, upper[:, 0], upper[:, 1]) == pytest.approx(r0 * 2**alpha, rel=2e-3)
    yz = boundary_cuts("YZ", 0.0, pdyn, bz)["magnetopause"][0]
    np.testing.assert_allclose(np.hypot(yz[:, 0], yz[:, 1]), r0 * 2**alpha, rtol=2e-3)
    # Jelínek et al. (2012) bow-shock nose: 15.02 Dp^(-1/6.55)
    assert xy["bow_shock"][0][:, 0].max() == pytest.approx(15.02 * pdyn ** (-1 / 6.55), rel=1e-4)
    # xz at y = 0 is the same curve as xy at z = 0 (surfaces of revolution)
    np.testing.assert_array_equal(boundary_cuts("xz", 0.0, pdyn, bz)["magnetopause"][0], mp)


def test_one_theta_range_and_one_tail_end_for_both_surfaces():
    prof = boundary_profiles(2.0, 0.0)
    for name in ("magnetopause", "bow_shock"):
        x, rho = prof[name]
        assert x[0] > 0 and x[-1] == pytest.approx(X_MIN_RE) and np.all(np.diff(x) < 0)
        assert np.all(np.isfinite(rho)) and rho[-1] > rho[0]
    assert boundary_cuts("xz", 40.0, 2.0, 0.0)["magnetopause"] == []  # beyond the surface
    assert boundary_cuts("yz", X_MIN_RE - 1, 2.0, 0.0)["bow_shock"] == []


def test_one_pressure_clamp_for_every_drawn_boundary():
    hi = PDYN_RANGE_NPA[1]
    assert clamp_solar_wind(100.0, 0.0) == (hi, 0.0)
    assert clamp_solar_wind(float("nan"), float("nan")) == (2.0, 0.0)
    clamped, at_limit = boundary_cuts("xy", 0, 100.0, 0.0), boundary_cuts("xy", 0, hi, 0.0)
    np.testing.assert_array_equal(clamped["magnetopause"][0], at_limit["magnetopause"][0])
    with pytest.raises(ValueError, match="plane"):
        boundary_cuts("xw", 0.0, 2.0, 0.0)


def test_earth_cut_is_the_circle_of_the_sphere_in_the_plane():
    circle = earth_cut("xz", 0.6)[0]
    np.testing.assert_allclose(np.hypot(*circle.T), np.sqrt(1 - 0.36))
    assert earth_cut("xy", 1.5) == []
