"""Anomaly-score arithmetic against independent values."""

import numpy as np
import pytest
from scipy import stats

from atlas_core.atlas.anomaly import mixture_nll, mixture_table, percentile_of, place_surprise


def test_mixture_nll_matches_scipy_gaussian_mixture():
    x = np.array([-1.0, 0.3, 4.0])
    means, sds, w = np.array([0.0, 3.0]), np.array([1.0, 0.5]), np.array([0.7, 0.3])
    log_lik = np.stack([stats.norm(m, s).logpdf(x) for m, s in zip(means, sds, strict=True)], 1)
    expect = -np.log((w * np.stack([stats.norm(m, s).pdf(x) for m, s in zip(means, sds, strict=True)], 1)).sum(1))
    np.testing.assert_allclose(mixture_nll(log_lik, np.tile(w, (3, 1))), expect, rtol=1e-12)
    # zero weight on a regime: that regime cannot explain the state
    np.testing.assert_allclose(mixture_nll(log_lik, np.tile([1.0, 0.0], (3, 1))), -log_lik[:, 0])


def test_place_surprise_is_zero_when_the_cell_is_the_atlas():
    log_lik = np.random.default_rng(0).normal(size=(5, 4))
    g = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(place_surprise(log_lik, np.tile(g, (5, 1)), np.tile(g, (5, 1))), 0, atol=1e-12)
    # a cell without regime 0, for states only regime 0 explains: surprise = -log(p_cell/p_g)
    ll = np.array([[0.0, -50.0, -50.0, -50.0]])
    cell = np.array([[0.01, 0.33, 0.33, 0.33]])
    assert place_surprise(ll, cell, g[None]) == pytest.approx(-np.log(0.01 / 0.1), rel=1e-6)


def test_mixture_table_shrinks_sparse_bins_to_the_cell():
    counts = np.zeros((2, 3, 4))
    counts[0, 0] = [10, 0, 0, 10]  # all
    counts[0, 1] = [10, 0, 0, 0]   # a well-filled bin
    counts[1, 0] = [0, 5, 0, 0]    # cell 1: its storm bin (2) is empty
    p_all = counts[:, 0] / counts[:, 0].sum(-1, keepdims=True)
    w = mixture_table(counts, p_all, mass=2.0)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    np.testing.assert_allclose(w[:, 0], p_all)
    np.testing.assert_allclose(w[1, 2], p_all[1])  # empty bin -> the cell's own mix
    np.testing.assert_allclose(w[0, 1], (counts[0, 1] + 2 * p_all[0]) / 12)  # mass 2


def test_percentiles():
    q = np.linspace(0, 10, 101)
    pct = np.linspace(0, 100, 101)
    np.testing.assert_allclose(percentile_of(np.array([-1.0, 5.0, 20.0, np.nan]), q, pct)[:3], [0, 50, 100])
    assert np.isnan(percentile_of(np.array([np.nan]), q, pct)[0])
