"""The atlas' model of its own sampling: passes, their intra-pass correlation, the hierarchy.

Three numbers decide every interval the atlas reports, and all three are fitted on the data by
held-out likelihood on whole-day folds (never on windows of a pass seen in training):

* ``max_gap_s``: how gaps split passes (:mod:`atlas_core.atlas.passes`; fixed, 3 h);
* ``rho``: the intra-pass correlation of the regime indicators, which turns a pass of ``m``
  windows into ``m / (1 + (m - 1) rho)`` effective looks. Chosen by the held-out composite
  marginal likelihood of the held-out passes' regime counts: per regime, each pass's count is
  beta-binomial around the cell's probability (Skellam 1948; the intra-class correlation of
  the beta-binomial is ``1 / (1 + c)``), the cell's probability integrated over its posterior
  from the other folds (the mean over its 16 posterior quantiles at (i + 1/2)/16), the regimes
  multiplied as if independent (a
  composite likelihood: Lindsay 1988, Contemp. Math. 80, 221; Varin, Reid & Firth 2011);
* ``strengths``: the hierarchical prior strength per octree level
  (:func:`atlas_core.atlas.hierarchy.choose_strengths`).

:func:`fit_sampling_model` runs it (ANOVA ``rho`` to start, strengths, ``rho``, strengths again);
:class:`SamplingModel` is what the atlas stores (dataset attributes) and reads back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import special

from atlas_core.atlas.hierarchy import CellEstimator, CellTree, choose_strengths
from atlas_core.atlas.passes import (
    DEFAULT_MAX_GAP_S,
    StateCounter,
    intraclass_correlation,
    pass_ids,
)
from atlas_core.atlas.posterior import DEFAULT_SHIFT_ALPHA, beta_ppfs, shift_significant

log = logging.getLogger(__name__)

DAY_NS = 86_400 * 10**9

DEFAULT_MIN_EFFECTIVE = 3.0
"""Cells with fewer effective looks than this under a condition are flagged ``low_count``."""
RHO_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Candidate intra-pass correlations (then the half steps beside the best)."""
N_FOLDS = 5
QUADRATURE = 16
"""Posterior quantiles over which a cell's probability is integrated in the marginal likelihood."""


def day_number(time) -> np.ndarray:
    """Whole days since 1970-01-01 (UTC) of datetime64 or int64-ns times."""
    t = np.asarray(time)
    t = t.astype("datetime64[ns]").astype(np.int64) if t.dtype.kind == "M" else t.astype(np.int64)
    return t // DAY_NS


def day_folds(time, n_folds: int = 5, block_days: int = 7) -> np.ndarray:
    """Fold (0 .. n_folds-1) of each state: consecutive blocks of ``block_days`` whole days dealt
    round-robin, so each fold spans the whole period (every season, every orbit phase)."""
    return (day_number(time) // int(block_days)) % int(n_folds)


@dataclass
class SamplingModel:
    """How an atlas counts independent looks and pools sparse cells (stored in its attributes)."""

    rho: float = 1.0
    max_gap_s: float = DEFAULT_MAX_GAP_S
    strengths: dict = field(default_factory=lambda: {0: 2.0})
    min_effective: float = DEFAULT_MIN_EFFECTIVE

    def to_attrs(self) -> dict:
        """Dataset attributes (numbers and a JSON table, NetCDF-safe)."""
        return {"intra_pass_correlation": float(self.rho), "pass_max_gap_s": float(self.max_gap_s),
                "hierarchy_strengths": json.dumps({str(k): v for k, v in self.strengths.items()}),
                "min_effective": float(self.min_effective)}

    @classmethod
    def from_attrs(cls, attrs: dict) -> SamplingModel:
        """From dataset attributes; an atlas built before the sampling model gets the defaults
        (passes count once, one prior strength of 2 pseudo-passes)."""
        out = cls()
        if "intra_pass_correlation" in attrs:
            out.rho = float(attrs["intra_pass_correlation"])
        if "pass_max_gap_s" in attrs:
            out.max_gap_s = float(attrs["pass_max_gap_s"])
        if "hierarchy_strengths" in attrs:
            out.strengths = {int(k): float(v) for k, v in json.loads(attrs["hierarchy_strengths"]).items()}
        if "min_effective" in attrs:
            out.min_effective = float(attrs["min_effective"])
        return out

    def describe(self) -> dict:
        return asdict(self)


def quantile_nodes(a: np.ndarray, b: np.ndarray, n: int = QUADRATURE
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (..., n): the Beta(a, b) quantiles at (i + 1/2)/n, equal weights."""
    u = (np.arange(n) + 0.5) / n
    return np.stack(beta_ppfs(a, b, u), axis=-1), np.full(n, 1.0 / n)


def heldout_pass_loglik(estimator: CellEstimator, counter: StateCounter, leaf: np.ndarray,
                        code: np.ndarray, pass_id: np.ndarray, fold: np.ndarray, rho: float
                        ) -> float:
    """Composite marginal log-likelihood of every fold's passes given the other folds (see the
    module doc); constant terms (binomial coefficients) left out."""
    k = counter.k
    conc_w = 1.0 / rho - 1.0
    total = 0.0
    for f in np.unique(fold):
        train = np.flatnonzero(fold != f)
        test = np.flatnonzero(fold == f)
        a_all, b_all = estimator.marginals(counter.counts_of(train)[1])
        passes, inv = np.unique(pass_id[test], return_inverse=True)
        inv = inv.ravel()
        y = np.bincount(inv * k + code[test], minlength=len(passes) * k).reshape(-1, k).astype(float)
        m = y.sum(axis=1)
        first = np.zeros(len(passes), dtype=np.int64)
        first[inv[::-1]] = np.arange(len(inv))[::-1]
        cells, cell_of_pass = np.unique(leaf[test][first], return_inverse=True)
        cell_of_pass = cell_of_pass.ravel()
        p, w = quantile_nodes(a_all[cells], b_all[cells])
        p = np.clip(p, 1e-9, 1 - 1e-9)
        order = np.argsort(cell_of_pass, kind="stable")
        cell_ll = np.zeros((len(cells), k, len(w)))
        step = max(1, 2_000_000 // (k * len(w)))
        for j0 in range(0, len(order), step):  # bounded (passes, K, Q) temporaries
            js = order[j0:j0 + step]
            al = conc_w * p[cell_of_pass[js]]
            be = conc_w * (1.0 - p[cell_of_pass[js]])
            yy, mm = y[js][:, :, None], m[js][:, None, None]
            ll = special.betaln(yy + al, mm - yy + be) - special.betaln(al, be)
            cs = cell_of_pass[js]
            run = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
            cell_ll[cs[run]] += np.add.reduceat(ll, run, axis=0)
        total += float(special.logsumexp(cell_ll, axis=2, b=w).sum())
    return total


def fit_sampling_model(tree: CellTree, leaf: np.ndarray, code: np.ndarray, time: np.ndarray,
                       k: int, fold: np.ndarray, spacecraft: np.ndarray | None = None,
                       max_gap_s: float = DEFAULT_MAX_GAP_S,
                       min_effective: float = DEFAULT_MIN_EFFECTIVE,
                       rho_grid=RHO_GRID) -> tuple[SamplingModel, np.ndarray]:
    """Fit the sampling model of states in leaves (``leaf``, ``code``, ``time`` (N,)) with
    whole-day ``fold`` labels; returns it and the pass id of every state."""
    leaf = np.asarray(leaf, np.int64)
    code = np.asarray(code, np.int64)
    fold = np.asarray(fold)
    n_leaves = len(tree.leaf_node)
    pid = pass_ids(time, leaf, spacecraft, max_gap_s)
    rho0 = intraclass_correlation(leaf, code, pid, k)
    log.info("sampling: %d states, %d passes, ANOVA intra-pass correlation %.3f", len(leaf),
             int(pid.max()) + 1 if len(pid) else 0, rho0)

    def folds_at(counter):
        return [(counter.counts_of(np.flatnonzero(fold != f))[1],
                 counter.counts_of(np.flatnonzero(fold == f))[1]) for f in np.unique(fold)]

    if len(np.unique(fold)) < 2:
        raise ValueError("fitting the sampling model needs at least two day folds")
    start = min(max(rho0, min(rho_grid)), max(rho_grid))
    counter = StateCounter(leaf, code, pid, n_leaves, k, start)
    strengths = choose_strengths(tree, folds_at(counter), sweeps=1)
    estimator = CellEstimator(tree, strengths)
    scores = {}

    def score(rho):
        rho = round(float(rho), 3)
        if rho not in scores and 0 < rho < 1:
            counter = StateCounter(leaf, code, pid, n_leaves, k, rho)
            scores[rho] = heldout_pass_loglik(estimator, counter, leaf, code, pid, fold, rho)
            log.info("sampling: rho %.2f held-out pass log-likelihood %.1f", rho, scores[rho])
        return scores.get(rho, -np.inf)

    for rho in rho_grid:  # coarse grid, then the half steps beside the best
        score(rho)
    best = max(scores, key=scores.get)
    step = float(np.min(np.diff(sorted(rho_grid)))) / 2 if len(rho_grid) > 1 else 0.0
    if step > 0:
        score(best - step)
        score(best + step)
    rho = max(scores, key=scores.get)
    counter = StateCounter(leaf, code, pid, n_leaves, k, rho)
    strengths = choose_strengths(tree, folds_at(counter))
    log.info("sampling: rho %.2f, strengths %s", rho, {lv: round(s, 3) for lv, s in strengths.items()})
    return SamplingModel(rho=float(rho), max_gap_s=float(max_gap_s), strengths=strengths,
                         min_effective=float(min_effective)), pid


class CellStatistics:
    """Everything the atlas estimates from where, when and in which regime its states were:
    the leaves' ancestry, each state's pass, the sampling model, the counter and the estimator.

    Build with :meth:`fit` (from states) or :meth:`from_parts` (from a stored atlas).
    ``counts_of`` and ``estimate`` are contract C2 of the team board.
    """

    def __init__(self, octree, leaf, code, pass_id, model: SamplingModel, k: int) -> None:
        self._setup(octree, StateCounter(leaf, code, pass_id, octree.n_leaves, k, model.rho),
                    model, k)

    def _setup(self, octree, counter: StateCounter, model: SamplingModel, k: int) -> None:
        # per state only the counter's key and pass id (int32 when they fit): an atlas of
        # 5 x 10^7 states opens in a few GB
        self.octree, self.model, self.k = octree, model, int(k)
        self.cells = CellTree.from_octree(octree.leaf_level, octree.leaf_ijk)
        self.counter = counter
        self.estimator = CellEstimator(self.cells, model.strengths)

    @classmethod
    def from_parts(cls, octree, leaf, code, pass_id, model: SamplingModel, k: int) -> CellStatistics:
        return cls(octree, leaf, code, pass_id, model, k)

    @classmethod
    def from_key(cls, octree, key, pass_id, model: SamplingModel, k: int) -> CellStatistics:
        """From each state's combined key ``leaf * k + code`` (kept, not copied, when int32)."""
        self = cls.__new__(cls)
        self._setup(octree, StateCounter.from_key(key, pass_id, octree.n_leaves, k, model.rho),
                    model, k)
        return self

    @property
    def n_states(self) -> int:
        return self.counter.n_states

    @property
    def leaf(self) -> np.ndarray:
        """(N,) leaf of every state (a new array, from the counter's key)."""
        return self.counter.key // self.k

    @property
    def code(self) -> np.ndarray:
        """(N,) regime of every state (a new array, from the counter's key)."""
        return self.counter.key % self.k

    @property
    def pass_id(self) -> np.ndarray:
        """(N,) int64 pass id of every state (a new array, for writing the state table)."""
        return self.counter.pass_id.astype(np.int64)

    @classmethod
    def fit(cls, octree, code, time, k: int, fold: np.ndarray, spacecraft=None,
            max_gap_s: float = DEFAULT_MAX_GAP_S,
            min_effective: float = DEFAULT_MIN_EFFECTIVE) -> CellStatistics:
        """Fit the sampling model of the octree's build states (their ``code``, ``time``,
        ``fold`` and ``spacecraft``)."""
        cells = CellTree.from_octree(octree.leaf_level, octree.leaf_ijk)
        model, pid = fit_sampling_model(cells, octree.leaf_of_state, code, time, k, fold,
                                        spacecraft, max_gap_s, min_effective)
        return cls(octree, octree.leaf_of_state, code, pid, model, k)

    @property
    def n_leaves(self) -> int:
        return self.counter.n_leaves

    def counts_of(self, states=None) -> tuple[np.ndarray, np.ndarray]:
        """``(windows (L, K) int64, effective (L, K) float64)`` of the states with these
        indices (or boolean mask; None: all, returned read-only)."""
        return self.counter.counts_of(states)

    def estimate(self, windows, effective, leaves=None, level: float | None = None,
                 bounds: bool = True):
        """:class:`~atlas_core.atlas.hierarchy.Estimate` ``(p, lo, hi, n_eff)`` from the counts
        (``windows`` is accepted for symmetry with ``counts_of``; the probabilities and
        intervals come from ``effective`` only)."""
        del windows
        return self.estimator.estimate(effective, level=level, leaves=leaves, bounds=bounds)

    def posterior(self, effective, leaves=None):
        """:class:`~atlas_core.atlas.hierarchy.CellPosterior`: means and variances now,
        credible bounds of any leaves later (``.bounds(level, leaves)``)."""
        return self.estimator.posterior(effective, leaves)

    def shift(self, effective_a: np.ndarray, effective_b: np.ndarray,
              alpha: float = DEFAULT_SHIFT_ALPHA) -> tuple[np.ndarray, np.ndarray]:
        """(L, K) difference of the posterior means p(a) - p(b) and its significance flag:
        :func:`~atlas_core.atlas.posterior.shift_significant` where both conditions hold at
        least ``min_effective`` looks in the cell (a difference with fewer is mostly the two
        priors'), False elsewhere."""
        m_a, v_a = self.estimator.moments(effective_a)
        m_b, v_b = self.estimator.moments(effective_b)
        diff, flag = m_a - m_b, shift_significant(m_a, v_a, m_b, v_b, alpha)
        enough = ~self.low_count(np.sum(effective_a, axis=1)) & ~self.low_count(np.sum(effective_b, axis=1))
        return diff, flag & enough[:, None]

    def activity_counts(self, act: np.ndarray, n_activity: int, states=None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """(L, A, K) windows and effective counts per activity bin: index 0 every (selected)
        state, index a >= 1 the states with ``act == a`` (``act`` (N,) over all states)."""
        n = self.counter.n_states
        mask = np.ones(n, dtype=bool) if states is None else np.zeros(n, bool)
        if states is not None:
            mask[states] = True
        parts = [self.counts_of(None if states is None else mask)]
        parts += [self.counts_of(mask & (act == a)) for a in range(1, n_activity)]
        return (np.stack([w for w, _ in parts], axis=1), np.stack([e for _, e in parts], axis=1))

    def anomaly_tables(self, act: np.ndarray, n_activity: int, states=None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """``(p_table (L, A, K), p_global (A, K))`` regime mixtures for anomaly scores, from the
        (selected) states' effective counts per activity bin (:func:`anomaly.mixture_table`)."""
        from atlas_core.atlas.anomaly import global_mixture, mixture_table

        _, effective = self.activity_counts(act, n_activity, states)
        p_all = self.estimator.means(effective[:, 0])
        return mixture_table(effective, p_all), global_mixture(effective)

    def low_count(self, n_eff: np.ndarray) -> np.ndarray:
        """True where a cell has fewer than ``min_effective`` effective looks."""
        return np.asarray(n_eff) < self.model.min_effective
