"""The EM Gaussian mixture against scipy and against sample moments."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from atlas_core.regimes.mixture import EMState, GaussianMixture, fit_mixture


def _blobs(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 0.0], [0.0, 8.0, 4.0]])
    a = rng.normal(size=(3, 3, 3))
    covs = np.einsum("kij,klj->kil", a, a) / 3 + 0.2 * np.eye(3)
    label = rng.integers(0, 3, n)
    x = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in label])
    return x, label, means, covs


def test_log_density_is_scipys():
    x, _, means, covs = _blobs(50)
    prec_chol = np.linalg.inv(np.linalg.cholesky(covs))
    w = np.array([0.2, 0.3, 0.5])
    mix = GaussianMixture(means, prec_chol, np.log(w))
    want = np.stack([np.log(w[k]) + stats.multivariate_normal(means[k], covs[k]).logpdf(x)
                     for k in range(3)], 1)
    assert np.allclose(mix.component_log_prob(x).numpy(), want, atol=1e-9)
    assert np.allclose(mix.covariance().numpy(), covs)
    d = mix.mahalanobis(x[:4], [0, 1, 2, 0])
    for i, k in enumerate([0, 1, 2, 0]):
        diff = x[i] - means[k]
        assert np.isclose(d[i] ** 2, diff @ np.linalg.solve(covs[k], diff))


def test_em_recovers_separated_components():
    x, label, means, covs = _blobs()
    st = fit_mixture(x, 3, seed=1, tol=1e-6, reg_covar=1e-6)
    mix = GaussianMixture(st.mean, st.prec_chol, st.log_weight)
    got = mix.component_log_prob(x).numpy().argmax(1)
    for k in range(3):  # each fitted component is one blob's sample mean and covariance
        c = np.bincount(got[label == k]).argmax()
        assert (got[label == k] == c).mean() > 0.99
        assert np.allclose(st.mean[c].numpy(), x[label == k].mean(0), atol=0.05)
        assert np.allclose(mix.covariance()[c].numpy(), np.cov(x[label == k].T, bias=True),
                           atol=0.05)
    assert st.converged and st.iteration < 100


def test_weights_count_like_repeated_rows():
    x, _, means, covs = _blobs(600, seed=3)
    w = np.random.default_rng(4).integers(1, 4, len(x))

    def start():
        return EMState(torch.tensor(means + 0.5), torch.tensor(np.linalg.inv(
            np.linalg.cholesky(covs))), torch.log(torch.full((3,), 1 / 3, dtype=torch.float64)))

    one = fit_mixture(x, 3, weight=w, max_iter=4, tol=0, state=start())
    two = fit_mixture(np.repeat(x, w, axis=0), 3, max_iter=4, tol=0, state=start())
    assert torch.allclose(one.mean, two.mean) and torch.allclose(one.prec_chol, two.prec_chol)
    assert np.isclose(one.log_lik, two.log_lik)


def test_resumed_em_ends_where_an_uninterrupted_one_does():
    x, _, _, _ = _blobs(800, seed=5)
    full = fit_mixture(x, 3, seed=2, max_iter=12, tol=0)
    part = fit_mixture(x, 3, seed=2, max_iter=4, tol=0)
    rest = fit_mixture(x, 3, seed=2, max_iter=12, tol=0, state=part)
    assert torch.equal(full.mean, rest.mean) and full.iteration == rest.iteration == 12


def test_samples_have_the_components_moments():
    _, _, means, covs = _blobs(10)
    mix = GaussianMixture(means, np.linalg.inv(np.linalg.cholesky(covs)), np.log(np.ones(3) / 3))
    z = mix.sample(np.full(20000, 2), np.random.default_rng(0))
    assert np.allclose(z.mean(0), means[2], atol=0.05)
    assert np.allclose(np.cov(z.T), covs[2], atol=0.08)
