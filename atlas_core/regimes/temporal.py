"""Time along the orbit: passes, transition flux, metastable regimes, and HMM smoothing.

A spacecraft stays in one plasma region for many consecutive windows and crosses a boundary
now and then, while its fine mixture components (``mixture.py``) flicker among each other
inside a region (a region's states are not one Gaussian). Two uses of that, neither of which a
per-state clustering can make:

- **Regimes are metastable sets of components** (the Markov-state-model idea: Deuflhard &
  Weber 2005, "Robust Perron cluster analysis in conformation dynamics"; Shi & Malik 2000,
  "Normalized cuts and image segmentation"). From the posteriors of consecutive windows of the
  same pass we count the flux ``F[i, j]`` between components; a partition of the components
  into K regimes is scored by its normalised cut ``sum_k cut(A_k) / vol(A_k)``, i.e. K minus
  its metastability ``sum_k P(next window in A_k | this window in A_k)``. :func:`lump`
  minimises it: greedy agglomeration (merge the pair that lowers it most), then single-
  component moves until none helps.
- **Assignment uses the neighbours** (:func:`forward_backward`): the regimes' one-window
  transition matrix (the flux coarse-grained to K, with powers for gaps of a few windows) is
  the prior of a hidden Markov model whose emissions are the regimes' mixture densities; each
  state gets its posterior given the whole pass (Rabiner 1989, scaled forward-backward).

A *pass* is one spacecraft's run of windows, within one UTC day, whose consecutive centres
are at most ``max_gap_s`` apart (sorted by time within each probe); a larger gap, another probe
or midnight starts a new pass, so a missing neighbour simply ends the chain there. Cutting at
midnight makes the assignment of a day's states the same whether the day is assigned alone (a
partition of the state table, a held-out day) or within the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STRIDE_NS = 60 * 10**9  # one window stride (states.STRIDE_S)
DAY_NS = 86_400 * 10**9


@dataclass
class Passes:
    """States ordered by (probe, time), cut into passes.

    ``order`` (N,) indices into the table in pass order; ``first`` (N,) bool, True where a row
    (in ``order``) starts a pass; ``steps`` (N,) windows since the previous row of its pass
    (1 for consecutive windows; 0 at a pass start).
    """

    order: np.ndarray
    first: np.ndarray
    steps: np.ndarray

    @property
    def n_passes(self) -> int:
        return int(self.first.sum())

    def pass_id(self) -> np.ndarray:
        """(N,) pass number of every row of the original table."""
        out = np.empty(len(self.order), dtype=np.int64)
        out[self.order] = np.cumsum(self.first) - 1
        return out


def find_passes(states: pd.DataFrame, max_gap_s: float = 300.0) -> Passes | None:
    """:class:`Passes` of a state table from its ``time`` (and ``probe``/``mission``) columns;
    ``None`` when it has no ``time`` column (then no state has neighbours)."""
    if "time" not in states.columns or len(states) == 0:
        return None
    t = pd.to_datetime(states["time"]).to_numpy().astype("datetime64[ns]").astype(np.int64)
    craft = np.zeros(len(states), dtype=np.int64)
    for col in ("mission", "probe"):
        if col in states.columns:
            _, codes = np.unique(states[col].astype(str).to_numpy(), return_inverse=True)
            craft = craft * (codes.max() + 1) + codes
    order = np.lexsort((t, craft))
    ts, cs = t[order], craft[order]
    dt = np.diff(ts)
    day = ts // DAY_NS
    first = np.r_[True, (cs[1:] != cs[:-1]) | (dt > max_gap_s * 1e9) | (dt <= 0)
                  | (day[1:] != day[:-1])]
    steps = np.zeros(len(order), dtype=np.int64)
    steps[1:] = np.maximum(np.rint(dt / STRIDE_NS), 1)
    steps[first] = 0
    return Passes(order=order, first=first, steps=steps)


def transition_flux(post: np.ndarray, passes: Passes, rows: np.ndarray | None = None) -> np.ndarray:
    """(C, C) symmetric flux between components over consecutive windows (one stride apart)
    of the same pass: ``sum_t p_t p_{t+1}^T`` plus its transpose. ``post`` (N, C) are the
    component posteriors in table order; ``rows`` (bool mask, table order) restricts the
    pairs to those whose two windows both lie in it (e.g. the training days)."""
    p = post[passes.order]
    pair = passes.steps[1:] == 1
    if rows is not None:
        keep = rows[passes.order]
        pair &= keep[1:] & keep[:-1]
    flux = p[:-1][pair].T @ p[1:][pair]
    return flux + flux.T


def normalised_cut(flux: np.ndarray, labels: np.ndarray) -> float:
    """``sum_k cut(A_k) / vol(A_k)`` of a partition (labels (C,)) of the flux graph."""
    onehot = np.eye(labels.max() + 1)[labels]
    between = onehot.T @ flux @ onehot  # (K, K) flux between groups
    vol = between.sum(1)
    inside = np.diag(between)
    ok = vol > 0
    return float(((vol[ok] - inside[ok]) / vol[ok]).sum())


def lump(flux: np.ndarray, k: int) -> np.ndarray:
    """(C,) regime of every component: a partition into ``k`` groups of low normalised cut
    (greedy merges, then single moves; see the module docstring). Deterministic."""
    c = len(flux)
    if not 1 <= k <= c:
        raise ValueError(f"lump: cannot make {k} regimes of {c} components")
    flux = np.asarray(flux, dtype=np.float64)
    labels = np.arange(c)
    # greedy: G groups -> G-1 by the merge that lowers the cut most (group-level flux matrix)
    between = flux.copy()
    while between.shape[0] > k:
        vol = between.sum(1)
        cut = vol - np.diag(between)
        term = np.divide(cut, vol, out=np.zeros_like(cut), where=vol > 0)
        merged_cut = cut[:, None] + cut[None, :] - 2 * between
        merged_vol = vol[:, None] + vol[None, :]
        gain = term[:, None] + term[None, :] - np.divide(
            merged_cut, merged_vol, out=np.zeros_like(merged_cut), where=merged_vol > 0)
        np.fill_diagonal(gain, -np.inf)
        i, j = np.unravel_index(np.argmax(gain), gain.shape)
        i, j = min(i, j), max(i, j)
        labels[labels == j] = i
        labels[labels > j] -= 1
        between[i] += between[j]
        between[:, i] += between[:, j]
        between = np.delete(np.delete(between, j, 0), j, 1)
    # refinement: move one component to another group while that lowers the cut
    best = normalised_cut(flux, labels)
    improved = True
    while improved:
        improved = False
        for comp in range(c):
            here = labels[comp]
            if (labels == here).sum() == 1:
                continue
            for there in range(k):
                if there == here:
                    continue
                labels[comp] = there
                score = normalised_cut(flux, labels)
                if score < best - 1e-12:
                    best, here, improved = score, there, True
                else:
                    labels[comp] = here
    # regimes numbered by decreasing volume (stable, readable ids)
    vol = np.bincount(labels, weights=flux.sum(1), minlength=k)
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(-vol, kind="stable")] = np.arange(k)
    return rank[labels]


def coarse_transitions(flux: np.ndarray, labels: np.ndarray, k: int,
                       pseudo: float = 1.0) -> np.ndarray:
    """(K, K) one-window transition matrix between regimes from the component flux (rows sum
    to 1; ``pseudo`` counts added to every entry so that no transition is impossible)."""
    onehot = np.eye(k)[labels]
    between = onehot.T @ flux @ onehot / 2 + pseudo  # the flux counts each pair twice
    return between / between.sum(1, keepdims=True)


def forward_backward(log_emission: np.ndarray, passes: Passes, transition: np.ndarray,
                     initial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior (N, K) of each state's regime given its whole pass, and the (N,) per-window
    log-likelihood increments ``log p(x_t | x_<t)`` (sum over a pass = its log-likelihood).

    ``log_emission`` (N, K) ``log p(x | k)`` in table order; ``transition`` (K, K) per window
    (a gap of g windows uses its g-th power); ``initial`` (K,) regime probabilities at a pass
    start. Scaled forward-backward, vectorised over passes (a loop over positions in a pass).
    """
    n, k = log_emission.shape
    le = log_emission[passes.order]
    shift = le.max(1, keepdims=True)
    emit = np.exp(le - shift)
    max_step = int(passes.steps.max(initial=1))
    powers = [np.eye(k), transition]
    for _ in range(2, max_step + 1):
        powers.append(powers[-1] @ transition)
    powers = np.stack(powers)
    pos = np.zeros(n, dtype=np.int64)  # position of every row in its pass
    start = np.flatnonzero(passes.first)
    lengths = np.diff(np.r_[start, n])
    pos = np.arange(n) - np.repeat(start, lengths)
    by_pos = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[by_pos], np.arange(pos.max() + 2))
    alpha = np.empty_like(emit)
    scale = np.empty(n)
    rows = by_pos[bounds[0]:bounds[1]]
    a = emit[rows] * initial
    scale[rows] = a.sum(1)
    alpha[rows] = a / scale[rows, None]
    for t in range(1, len(bounds) - 1):
        rows = by_pos[bounds[t]:bounds[t + 1]]
        pred = np.einsum("nk,nkl->nl", alpha[rows - 1], powers[passes.steps[rows]])
        a = emit[rows] * pred
        scale[rows] = a.sum(1)
        alpha[rows] = a / scale[rows, None]
    beta = np.ones_like(emit)
    for t in range(len(bounds) - 3, -1, -1):
        rows = by_pos[bounds[t]:bounds[t + 1]]
        has_next = rows + 1 < n
        rows = rows[has_next]
        rows = rows[~passes.first[rows + 1]]
        nxt = rows + 1
        b = np.einsum("nkl,nl->nk", powers[passes.steps[nxt]], emit[nxt] * beta[nxt])
        beta[rows] = b / scale[nxt, None]
    gamma = alpha * beta
    gamma /= gamma.sum(1, keepdims=True)
    post = np.empty_like(gamma)
    post[passes.order] = gamma
    inc = np.empty(n)
    inc[passes.order] = np.log(scale) + shift[:, 0]
    return post, inc
