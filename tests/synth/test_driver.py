"""The O'Brien & McPherron (2000) Dst equation on analytic cases, and the driver's climatology."""

import numpy as np
import pytest

from atlas_core.synth.driver import ar1, dst_obrien_mcpherron, make_driver


def test_dst_steady_state_under_constant_driving():
    # VBs = 5 mV/m (V = 500 km/s, Bs = 10 nT): Q = -4.4 (5 - 0.49) = -19.844 nT/h,
    # tau = 2.4 exp(9.74 / 9.69) = 6.5578 h, so Dst* -> Q tau = -130.13 nT;
    # Dst = Dst* + 7.26 sqrt(4) - 11 = -126.61 nT.
    n = 200
    dst = dst_obrien_mcpherron(np.full(n, 500.0), np.full(n, 10.0), np.full(n, 4.0), dst0=0.0)
    assert dst[-1] == pytest.approx(-126.61, abs=0.05)
    assert np.all(np.diff(dst) <= 1e-9)  # monotonic approach


def test_dst_recovery_e_folding():
    # no driving: Dst* decays with tau = 2.4 exp(9.74 / 4.69) = 19.146 h; hour k's value is the
    # mean over [k, k+1] h of -100 e^{-t/tau}: -100 e^{-k/tau} tau (1 - e^{-1/tau})
    pdyn = np.full(100, 1.0)  # 7.26 sqrt(1) - 11 = -3.74 nT offset
    dst = dst_obrien_mcpherron(np.full(100, 400.0), np.zeros(100), pdyn, dst0=-103.74)
    star = dst + 3.74
    tau = 19.146
    assert star[0] == pytest.approx(-100 * tau * (1 - np.exp(-1 / tau)), rel=1e-3)  # -97.43
    assert star[19] == pytest.approx(-100 * np.exp(-19 / tau) * tau * (1 - np.exp(-1 / tau)),
                                     rel=1e-3)


def test_dst_hourly_values_are_hourly_means():
    """Kyoto's hourly Dst is the mean over the hour. Storm onset from Dst* = 0 under constant
    VBs = 5 mV/m (Q = -19.844 nT/h, tau = 6.5578 h, Q tau = -130.13 nT): the first hour's mean
    is Q tau (1 - tau (1 - e^{-1/tau})) = -9.44 nT, half way to the end-of-hour value
    Q tau (1 - e^{-1/tau}) = -18.40 nT that an end-of-hour label would give."""
    q_tau, tau = -19.844 * 6.5578, 6.5578
    # Dst = Dst* + 7.26 sqrt(Pdyn) - 11 with sqrt(Pdyn) = 11 / 7.26: the offset is zero
    pdyn = np.full(5, (11 / 7.26) ** 2)
    dst = dst_obrien_mcpherron(np.full(5, 500.0), np.full(5, 10.0), pdyn, dst0=0.0)
    assert dst[0] == pytest.approx(q_tau * (1 - tau * (1 - np.exp(-1 / tau))), abs=0.02)
    assert dst[0] == pytest.approx(-9.44, abs=0.02)
    # hour k: Q tau (1 - e^{-k/tau} tau (1 - e^{-1/tau}))
    k = np.arange(5)
    want = q_tau * (1 - np.exp(-k / tau) * tau * (1 - np.exp(-1 / tau)))
    np.testing.assert_allclose(dst, want, atol=0.02)


def test_ar1_statistics():
    x = ar1(np.random.default_rng(1), 200_000, 50.0, 2.0)
    assert x.std() == pytest.approx(2.0, rel=0.05)
    lag = np.corrcoef(x[:-50], x[50:])[0, 1]
    assert lag == pytest.approx(np.exp(-1), abs=0.05)


def test_driver_climatology_one_year():
    drv = make_driver("2015-09-01", "2016-09-01", seed=0)
    assert drv.n.size == 366 * 1440 and drv.dst_hourly.size == 366 * 24
    quiet = np.mean(np.abs(drv.dst_hourly) <= 20)
    assert 0.75 < quiet < 0.95
    assert drv.dst_hourly.min() < -50  # at least one moderate storm in a year
    assert 300 < np.median(drv.v) < 480 and 3 < np.median(drv.n) < 9
    # IMF Bz decorrelates over hours (observed e-folding times: ~1-3 h), not minutes or days
    bz = drv.bz_gsm.astype(float)
    assert 0.3 < np.corrcoef(bz[:-60], bz[60:])[0, 1] < 0.9
    assert np.corrcoef(bz[:-360], bz[360:])[0, 1] < 0.5
    # deterministic
    again = make_driver("2015-09-01", "2016-09-01", seed=0)
    assert np.array_equal(again.dst_hourly, drv.dst_hourly)
