"""A full-covariance Gaussian mixture fitted by EM: the fine components regimes are made of.

``C`` components ``N(x | mu_c, Sigma_c)`` with weights ``w_c`` over the standardised features
(``atlas_core.features``). Each covariance is kept as the Cholesky factor ``P_c`` of its
*precision* (``Sigma_c^-1 = P_c^T P_c``, ``P_c`` lower triangular), so that a log-density is
one matrix product per chunk of states:

    log N(x | c) = -1/2 |P_c (x - mu_c)|^2 + sum(log diag P_c) - d/2 log(2 pi)

EM (Dempster, Laird & Rubin 1977; Bishop, "Pattern Recognition and Machine Learning", 9.2):
k-means++ start, then E and M steps until the weighted mean log-likelihood gains less than
``tol`` nats per state. ``reg_covar`` is added to every covariance's diagonal (standardised
units), as in scikit-learn, so that no component collapses onto a few states. The EM state after
every iteration can be saved and resumed (``state_dict`` / ``from_state``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class EMState:
    """Where an EM run stands: the parameters and the last mean log-likelihood."""

    mean: torch.Tensor  # (C, d)
    prec_chol: torch.Tensor  # (C, d, d) lower triangular
    log_weight: torch.Tensor  # (C,)
    iteration: int = 0
    log_lik: float = -math.inf
    converged: bool = False


class GaussianMixture:
    """Full-covariance Gaussian mixture (see the module docstring). float64 throughout."""

    def __init__(self, mean, prec_chol, log_weight):
        self.mean = torch.as_tensor(mean, dtype=torch.float64)
        self.prec_chol = torch.as_tensor(prec_chol, dtype=torch.float64)
        self.log_weight = torch.as_tensor(log_weight, dtype=torch.float64)

    @property
    def n_components(self) -> int:
        return self.mean.shape[0]

    # --- densities ----------------------------------------------------------------------
    def component_log_prob(self, x, chunk: int = 65536) -> torch.Tensor:
        """(N, C) ``log w_c + log N(x | c)`` (nats, standardised space)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        coef = self._quadratic_coefficients()
        out = [quadratic_features(x[s:s + chunk]) @ coef for s in range(0, len(x), chunk)]
        return torch.cat(out) if out else torch.zeros((0, self.n_components), dtype=torch.float64)

    def _quadratic_coefficients(self) -> torch.Tensor:
        """(F, C) coefficients such that ``quadratic_features(x) @ coef`` is the log-density:
        ``-1/2 x^T L x + x^T L mu - 1/2 mu^T L mu + log det P - d/2 log 2 pi + log w``
        with ``L = P^T P`` the precision (one matrix product instead of C solves)."""
        c, d = self.mean.shape
        prec = self.prec_chol.transpose(1, 2) @ self.prec_chol
        iu = torch.triu_indices(d, d)
        quad = -0.5 * prec[:, iu[0], iu[1]] * torch.where(iu[0] == iu[1], 1.0, 2.0)
        lin = torch.einsum("cij,cj->ci", prec, self.mean)
        const = (-0.5 * (lin * self.mean).sum(1)
                 + torch.log(torch.diagonal(self.prec_chol, dim1=1, dim2=2)).sum(1)
                 - 0.5 * d * math.log(2 * math.pi) + self.log_weight)
        return torch.cat([quad, lin, const[:, None]], 1).T

    def mahalanobis(self, x, component) -> np.ndarray:
        """(N,) Mahalanobis distance of each state to its given component (standardised)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        component = torch.as_tensor(component, dtype=torch.long)
        y = torch.einsum("nij,nj->ni", self.prec_chol[component], x - self.mean[component])
        return y.pow(2).sum(1).sqrt().numpy()

    def covariance(self) -> torch.Tensor:
        """(C, d, d) covariances ``(P^T P)^-1``."""
        return torch.linalg.inv(self.prec_chol.transpose(1, 2) @ self.prec_chol)

    def sample(self, components: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw from each listed component: (n, d) standardised values."""
        chol = torch.linalg.cholesky(self.covariance()).numpy()
        comp = np.asarray(components, dtype=np.int64)
        z = rng.standard_normal((len(comp), self.mean.shape[1]))
        return self.mean.numpy()[comp] + np.einsum("nij,nj->ni", chol[comp], z)

    # --- persistence ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"mean": self.mean, "prec_chol": self.prec_chol, "log_weight": self.log_weight}

    @classmethod
    def from_state_dict(cls, sd: dict) -> GaussianMixture:
        return cls(sd["mean"], sd["prec_chol"], sd["log_weight"])


def quadratic_features(x: torch.Tensor) -> torch.Tensor:
    """(N, d(d+1)/2 + d + 1): the products ``x_i x_j`` (i <= j), ``x`` and 1."""
    d = x.shape[1]
    iu = torch.triu_indices(d, d)
    return torch.cat([x[:, iu[0]] * x[:, iu[1]], x, torch.ones(len(x), 1, dtype=x.dtype)], 1)


def _m_step(feats: torch.Tensor, resp: torch.Tensor, d: int,
            reg_covar: float) -> tuple[torch.Tensor, ...]:
    """Means, covariances (as precision Cholesky factors) and log weights from the
    responsibilities ``resp`` (N, C): one product ``resp^T feats`` gives every moment."""
    n_quad = d * (d + 1) // 2
    moments = resp.T @ feats  # (C, F): sums of x_i x_j, x and 1 per component
    nk = moments[:, -1] + 1e-10
    mean = moments[:, n_quad:n_quad + d] / nk[:, None]
    iu = torch.triu_indices(d, d)
    second = torch.zeros(len(nk), d, d, dtype=feats.dtype)
    second[:, iu[0], iu[1]] = moments[:, :n_quad] / nk[:, None]
    second = second + second.transpose(1, 2) - torch.diag_embed(torch.diagonal(second, 0, 1, 2))
    eye = torch.eye(d, dtype=feats.dtype)
    cov = second - mean[:, :, None] * mean[:, None, :] + reg_covar * eye
    chol = torch.linalg.cholesky(cov)
    prec_chol = torch.linalg.solve_triangular(chol, eye.expand_as(cov), upper=False)
    return mean, prec_chol, torch.log(nk / nk.sum())


def fit_mixture(x: np.ndarray, n_components: int, *, weight: np.ndarray | None = None,
                seed: int = 0, max_iter: int = 100, tol: float = 1e-3, reg_covar: float = 1e-4,
                init_sample: int = 20_000, state: EMState | None = None,
                on_iteration=None) -> EMState:
    """EM for a full-covariance mixture on the rows ``x`` (N, d), each counted with its
    ``weight`` (N,) (e.g. the octree weights; default 1).

    ``state`` continues an earlier run (from a checkpoint); ``on_iteration(state)`` is called
    after every iteration (progress, checkpoints). Deterministic for a seed.
    """
    x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    n, d = x.shape
    w = torch.ones(n, dtype=torch.float64) if weight is None else torch.as_tensor(
        np.asarray(weight, dtype=np.float64))
    w = w / w.mean()
    feats = quadratic_features(x)
    if n < n_components:
        raise ValueError(f"mixture: {n} states for {n_components} components")
    if state is None:
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        rng = np.random.default_rng([seed, 11])
        p = (w / w.sum()).numpy()
        sub = x[rng.choice(n, min(init_sample, n), replace=False, p=p)].numpy()
        with threadpool_limits(1):  # two OpenMP threads spin on a shared 2-core machine
            km = KMeans(n_components, n_init=1, random_state=seed).fit(sub)
            labels = torch.as_tensor(km.predict(x.numpy()), dtype=torch.long)
        resp = torch.nn.functional.one_hot(labels, n_components).double()
        state = EMState(*_m_step(feats, resp * w[:, None], d, reg_covar))
    while state.iteration < max_iter and not state.converged:
        mix = GaussianMixture(state.mean, state.prec_chol, state.log_weight)
        lp = feats @ mix._quadratic_coefficients()
        ll = torch.logsumexp(lp, 1)
        mean_ll = float((ll * w).mean())
        state.converged = mean_ll - state.log_lik < tol
        state.log_lik = mean_ll
        state.mean, state.prec_chol, state.log_weight = _m_step(
            feats, torch.exp(lp - ll[:, None]) * w[:, None], d, reg_covar)
        state.iteration += 1
        if on_iteration is not None:
            on_iteration(state)
    return state
