"""Anomaly score of a plasma state for its place and condition.

The atlas gives each cell a regime mixture ``p_k`` and the generative decoder gives each regime a
density over the 14 features, ``p(x | k)``. A state ``x`` observed in the cell scores

    score(x) = -log sum_k p_k p(x | k)        (nats; higher = more unusual)

its negative log-likelihood under the cell's mixture, and that score is placed against a
reference distribution as a percentile (DESIGN.md §7; the anomaly use case of Markidis et al.
2026).

**Out-of-sample percentiles.** A state the mixture was fitted with scores lower than a new one
(its own windows raised its cell's weight on its regime), so percentiles against the training
states' own scores are too high for new states (on ten synthetic years 20.8 % of held-out
normal states fell above the "90th" percentile). The reference scores are therefore
cross-fitted (:func:`crossfit_scores`): the states are dealt into folds of whole days, and each
fold is scored with the mixtures built from the other folds only. A new normal state and a
reference state are then scored alike, so a new state's percentile is uniform (split-conformal
calibration, Vovk, Gammerman & Shafer 2005, *Algorithmic Learning in a Random World*; Lei et al.
2018, JASA 113, 1094, for the split version; cross-fitting folds as in Chernozhukov et al. 2018).
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


def place_surprise(log_lik: np.ndarray, p_cell: np.ndarray, p_global: np.ndarray) -> np.ndarray:
    """How much less likely a state is *here* than anywhere, nats:

        surprise(x) = -log sum_k p_cell,k p(x | k) + log sum_k p_global,k p(x | k)

    the negative pointwise mutual information between the state and its cell. It cancels what
    makes a state unusual everywhere (rare feature values) and keeps what makes it unusual for
    its place (a magnetosheath state in the lobe): positive when the cell's regimes explain the
    state worse than the regime mix of the whole atlas does.
    """
    return mixture_nll(log_lik, p_cell) - mixture_nll(log_lik, p_global)


def activity_index(dst: np.ndarray | None, labels_of, activity: list[str]) -> np.ndarray:
    """Index into the atlas' ``activity`` dim of each state: its Dst bin, or 0 ("all") when
    Dst is unknown or ``dst`` is None. ``labels_of`` maps Dst values to bin names."""
    if dst is None:
        return np.zeros(0, dtype=np.int64)
    labels = labels_of(np.asarray(dst, dtype=np.float64))
    act = np.zeros(len(labels), dtype=np.int64)
    for a, name in enumerate(activity):
        if a:
            act[labels == name] = a
    return act


def score_states(log_lik: np.ndarray, leaf: np.ndarray, act: np.ndarray, p_table: np.ndarray,
                 p_global: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anomaly score and place surprise (nats) of states inside the atlas.

    ``log_lik`` (N, K); ``leaf`` (N,) leaf ids (all >= 0); ``act`` (N,) activity index;
    ``p_table`` (L, A, K) cell regime mixtures (:func:`mixture_table`); ``p_global`` (A, K) the
    whole atlas' mix.
    """
    p_cell = p_table[leaf, act]
    score = mixture_nll(log_lik, p_cell)
    return score, score - mixture_nll(log_lik, p_global[act])


ACTIVITY_PRIOR = 2.0
"""Prior mass (effective looks) of a cell's activity-bin mixture, centred on its all-states mix."""


def mixture_table(counts: np.ndarray, p_all: np.ndarray, mass: float = ACTIVITY_PRIOR) -> np.ndarray:
    """(L, A, K) regime mixtures used to score states, from (L, A, K) counts per activity bin
    (index 0 = all states; effective counts) and the (L, K) all-states posterior mean.

    Activity bins are sparse (storm states are a few % of all), so a bin's mixture is the
    posterior under a Dirichlet prior of total ``mass`` centred on the cell's all-states mix (a
    hierarchical prior: bin within cell): ``w = (n_bin + mass p_all) / (N_bin + mass)``. A cell
    with no state in the bin falls back to its all-states mix; index 0 is ``p_all`` itself.
    """
    w = (counts + mass * p_all[:, None, :]) / (counts.sum(-1, keepdims=True) + mass)
    w[:, 0, :] = p_all
    return w


def global_mixture(counts: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(A, K) regime mix of the whole atlas per activity bin from (L, A, K) counts: the
    Dirichlet(``alpha``) posterior mean of the summed counts (no regime gets probability 0)."""
    total = np.asarray(counts, dtype=np.float64).sum(axis=0)
    return (total + alpha) / (total.sum(axis=-1, keepdims=True) + alpha * total.shape[-1])


def crossfit_scores(log_lik: np.ndarray, leaf: np.ndarray, act: np.ndarray, fold: np.ndarray,
                    tables) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold anomaly scores and place surprises (nats) of states inside the atlas.

    ``fold`` (N,) labels whole-day folds; ``tables(train)`` returns the ``(p_table (L, A, K),
    p_global (A, K))`` mixtures built from the states of the boolean mask ``train`` only. Each
    fold is scored with the mixtures of the other folds (see the module doc).
    """
    score, surprise = np.full(len(leaf), np.nan), np.full(len(leaf), np.nan)
    for f in np.unique(fold):
        test = fold == f
        p_table, p_global = tables(~test)
        score[test], surprise[test] = score_states(log_lik[test], leaf[test], act[test], p_table,
                                                   p_global)
    return score, surprise
