"""Dirichlet posterior, credible intervals and entropy against analytic and independent values."""

import numpy as np
import pytest
from scipy import stats

from atlas_core.atlas.posterior import (
    dirichlet_posterior,
    dominant,
    entropy_bits,
    intervals_disjoint,
)


def test_two_regime_closed_form():
    # K = 2, alpha = 1, counts (0, n): p_0 ~ Beta(1, n + 1), whose CDF is 1 - (1 - x)^(n + 1),
    # so the q-quantile is 1 - (1 - q)^(1 / (n + 1)) and the mean is 1 / (n + 2).
    for n in (0, 1, 5, 40):
        p, lo, hi = dirichlet_posterior(np.array([[0, n]]), alpha=1.0, level=0.9)
        assert p[0, 0] == pytest.approx(1 / (n + 2))
        assert lo[0, 0] == pytest.approx(1 - 0.95 ** (1 / (n + 1)), rel=1e-9)
        assert hi[0, 0] == pytest.approx(1 - 0.05 ** (1 / (n + 1)), rel=1e-9)


def test_matches_scipy_dirichlet_and_beta():
    # small cells read a precomputed table, large ones (N >= 256) compute directly: test both
    counts = np.array([[3, 0, 7, 1], [0, 0, 0, 0], [120, 5, 0, 33], [1200, 5, 0, 33], [255, 0, 0, 0]])
    alpha = 0.5
    p, lo, hi = dirichlet_posterior(counts, alpha=alpha, level=0.9)
    for row, c in enumerate(counts):
        a = c + alpha
        np.testing.assert_allclose(p[row], stats.dirichlet(a).mean(), rtol=1e-12)
        np.testing.assert_allclose(lo[row], stats.beta(a, a.sum() - a).ppf(0.05), rtol=1e-8)
        np.testing.assert_allclose(hi[row], stats.beta(a, a.sum() - a).ppf(0.95), rtol=1e-8)


def test_interval_against_monte_carlo_dirichlet():
    counts = np.array([4, 1, 0, 9, 2])
    _, lo, hi = dirichlet_posterior(counts[None], alpha=0.5, level=0.9)
    draws = np.random.default_rng(1).dirichlet(counts + 0.5, size=200_000)
    np.testing.assert_allclose(lo[0], np.quantile(draws, 0.05, axis=0), atol=4e-3)
    np.testing.assert_allclose(hi[0], np.quantile(draws, 0.95, axis=0), atol=4e-3)


def test_interval_shrinks_as_counts_grow():
    base = np.array([2, 1, 0, 5, 2, 0, 0, 0, 0, 0, 0, 0])
    widths = []
    for scale in (1, 4, 16, 64, 256):
        p, lo, hi = dirichlet_posterior(base[None] * scale)
        assert np.all(lo <= p) and np.all(p <= hi)
        widths.append((hi - lo)[0])
    widths = np.array(widths)
    assert np.all(np.diff(widths, axis=0) < 0), "every regime's interval narrows with more states"
    # width ~ 1/sqrt(N) for the dominant regime: x256 counts -> about 16x narrower
    assert widths[0, 3] / widths[-1, 3] == pytest.approx(16, rel=0.35)


def test_empty_cell_is_the_prior():
    p, lo, hi = dirichlet_posterior(np.zeros((1, 12), dtype=int), alpha=0.5)
    np.testing.assert_allclose(p, 1 / 12)
    assert dominant(np.zeros((1, 12)), p)[0] == -1


def test_entropy_bits():
    assert entropy_bits(np.full(12, 1 / 12)) == pytest.approx(np.log2(12))
    assert entropy_bits(np.eye(4)[2]) == pytest.approx(0.0)
    assert entropy_bits(np.array([0.5, 0.5, 0.0])) == pytest.approx(1.0)


def test_dominant_and_disjoint():
    counts = np.array([[0, 9, 1], [5, 0, 0], [0, 0, 0]])
    p, lo, hi = dirichlet_posterior(counts)
    np.testing.assert_array_equal(dominant(counts, p), [1, 0, -1])
    assert intervals_disjoint(np.array([0.6]), np.array([0.8]), np.array([0.1]), np.array([0.5]))[0]
    assert not intervals_disjoint(np.array([0.4]), np.array([0.8]), np.array([0.1]), np.array([0.5]))[0]


def test_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        dirichlet_posterior(np.array([[1, -1]]))
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_posterior(np.array([[1, 1]]), alpha=0)
