"""Anomaly score of a plasma state for its place and condition.

The atlas gives each cell a regime mixture ``p_k`` and the generative decoder gives each regime a
density over the 14 features, ``p(x | k)``. A state ``x`` observed in the cell scores

    score(x) = -log sum_k p_k p(x | k)        (nats; higher = more unusual)

its negative log-likelihood under the cell's mixture, and that score is placed against the
distribution of the training states' own scores as a percentile (DESIGN.md §7; the anomaly use
case of Markidis et al. 2026).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def mixture_nll(log_lik: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Negative log-likelihood under per-row mixtures.

    Parameters
    ----------
    log_lik : (N, K) float
        ``log p(x_i | regime k)`` from the generative model.
    p : (N, K) float
        Mixture weights of each row's cell (rows sum to 1; zero weights are allowed).

    Returns
    -------
    (N,) float, nats: ``-log sum_k p_ik exp(log_lik_ik)``.
    """
    log_lik = np.asarray(log_lik, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    return -logsumexp(log_lik + log_p, axis=1)


def percentile_of(scores: np.ndarray, quantiles: np.ndarray, percentiles: np.ndarray) -> np.ndarray:
    """Percentile (0-100) of each score within the training distribution given by its quantiles."""
    scores = np.asarray(scores, dtype=np.float64)
    out = np.interp(scores, quantiles, percentiles, left=0.0, right=100.0)
    return np.where(np.isfinite(scores), out, np.nan)
