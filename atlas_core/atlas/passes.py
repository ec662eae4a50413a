"""Passes: what is independent in a cell's regime counts, and the effective count built on it.

A state is a 2-minute window with a 1-minute stride, so consecutive windows share half their
samples, and a spacecraft crossing a cell leaves tens of consecutive windows there, nearly all
of one regime. Counting those windows as independent draws makes every interval too narrow (a
leaf split at 25 windows is one crossing). The unit that *is* close to independent is the
**pass**: the windows one spacecraft leaves in one cell during one visit.

Definition (this module, used everywhere in the atlas):

* a pass is a maximal run of the windows of one spacecraft (``mission`` + ``probe``) in one cell,
  in time order, in which consecutive windows are at most ``max_gap_s`` apart (default 3 h);
* a longer gap starts a new pass, even in the same cell (a data gap, or the next orbit);
* leaving the cell and coming back within ``max_gap_s`` is the same pass (a spacecraft sitting
  on a cell face would otherwise make many "passes" of one visit).

The gap is long on purpose: a plasma regime at a fixed place persists for hours (the
magnetopause and the plasma sheet move on the time scale of the solar-wind driving), so two
visits of one cell an orbit apart are far less alike than two visits an hour apart. The choice
is checked, not assumed: ``atlas calibrate`` measures the coverage of the intervals built on it
on held-out days.

**Effective count.** The windows of a pass are not one draw either: a pass often crosses a
boundary, or the regime code changes along it. With ``rho`` the intra-pass correlation of the
regime indicators (windows of one pass alike, relative to the cell's mix), a pass of ``m``
windows carries ``m / (1 + (m - 1) rho)`` independent looks: Kish's design effect of a cluster
sample. Each window then weighs ``1 / (1 + (m - 1) rho)``; a cell's effective regime counts
are the weighted window counts and its effective total the sum of its passes' looks (between
its number of passes, ``rho = 1``, and its number of windows, ``rho = 0``). ``rho`` is not
assumed: :mod:`atlas_core.atlas.sampling` chooses it by held-out likelihood on whole-day folds
(:func:`intraclass_correlation` is the ANOVA estimate it starts from). Under a condition (a
Dst range, nearest neighbours) ``m`` counts the selected windows of each pass, and the
effective count is one ``bincount`` over the selection.

This is the cluster (block) idea of the moving-block bootstrap (Künsch 1989, Ann. Stat. 17,
1217) and of survey sampling (Kish 1965, *Survey Sampling*: the design effect of clustered
samples; Rao & Scott 1981, JASA 76, 221, for tests on clustered counts), with the clusters
fixed by the sampling geometry instead of by a block length.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MAX_GAP_S = 3 * 3600.0
"""A gap longer than this (seconds) between two windows of one spacecraft in one cell starts a
new pass."""


def pass_ids(time_ns: np.ndarray, cell: np.ndarray, spacecraft: np.ndarray | None = None,
             max_gap_s: float = DEFAULT_MAX_GAP_S) -> np.ndarray:
    """Pass id of every state (0 .. P-1, numbered in order of (spacecraft, cell, time)).

    Parameters
    ----------
    time_ns : (N,) int64 or datetime64
        Window centre times (ns since the epoch when integers).
    cell : (N,) int
        Cell (octree leaf) of each state; negative ids (outside) get their own passes too.
    spacecraft : (N,) hashable, optional
        Spacecraft of each state (e.g. ``mission + "/" + probe``); None = one spacecraft.
    max_gap_s : float
        Seconds; a larger gap between consecutive windows in a cell starts a new pass.
    """
    t = np.asarray(time_ns)
    t = t.astype("datetime64[ns]").astype(np.int64) if t.dtype.kind == "M" else t.astype(np.int64)
    cell = np.asarray(cell, dtype=np.int64)
    if t.shape != cell.shape or t.ndim != 1:
        raise ValueError("time and cell must be 1-D arrays of one length")
    if not max_gap_s > 0:
        raise ValueError(f"max_gap_s must be > 0, got {max_gap_s}")
    n = len(t)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if spacecraft is None:
        craft = np.zeros(n, dtype=np.int64)
    else:
        _, craft = np.unique(np.asarray(spacecraft), return_inverse=True)
        craft = craft.ravel().astype(np.int64)
    order = np.lexsort((t, cell, craft))
    ts, cs, ks = t[order], cell[order], craft[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (ks[1:] != ks[:-1]) | (cs[1:] != cs[:-1]) | (np.diff(ts) > max_gap_s * 1e9)
    out = np.empty(n, dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def spacecraft_of(states) -> np.ndarray | None:
    """``mission/probe`` label per state from a state table (None when it has neither column:
    old tables are MMS1 only, contract C3)."""
    cols = [c for c in ("mission", "probe") if c in states]
    if not cols:
        return None
    label = states[cols[0]].astype(str).to_numpy()
    for c in cols[1:]:
        label = np.char.add(np.char.add(label.astype(str), "/"), states[c].astype(str).to_numpy())
    return label


def _per_pass(pass_id: np.ndarray, n_passes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(at, size)``: ``size[at[i]]`` is how many of the given states share state i's pass. A
    ``bincount`` over every pass id when the selection is a large part of them, else a sort of
    the selection only (O(m log m), not O(passes): a narrow condition on 5 x 10^7 states)."""
    if n_passes is not None and 8 * pass_id.size < n_passes:
        _, inverse, size = np.unique(pass_id, return_inverse=True, return_counts=True)
        return inverse.ravel(), size
    return pass_id, np.bincount(pass_id, minlength=n_passes or 0)


def pass_sizes(pass_id: np.ndarray, n_passes: int | None = None) -> np.ndarray:
    """``m`` of each given state: how many of the given states share its pass."""
    at, size = _per_pass(np.asarray(pass_id), n_passes)
    return size[at]


def number_in_state_order(pass_id: np.ndarray) -> np.ndarray:
    """The same passes numbered 0 .. P-1 so that the numbers rise with the states' rows (a pass
    takes its place from one of its states; which one does not matter, the grouping is the
    same). A build numbers passes in (spacecraft, cell, time) order, which is random against
    the rows: then every count of a wide selection reads and writes its per-pass arrays at
    random (5 x 10^7 states in 4 x 10^7 passes: seconds of cache misses per condition)."""
    pass_id = np.asarray(pass_id)
    n = pass_id.size
    if n == 0:
        return pass_id
    anchor = np.full(int(pass_id.max()) + 1, -1, dtype=np.int64)
    anchor[pass_id] = np.arange(n)  # one state of each pass
    used = anchor >= 0
    mark = np.zeros(n, dtype=bool)
    mark[anchor[used]] = True
    number = np.full(anchor.size, -1, dtype=np.int64)
    number[used] = (np.cumsum(mark) - 1)[anchor[used]]
    del anchor, mark
    return number[pass_id].astype(pass_id.dtype if pass_id.dtype.kind == "i" else np.int64)


def pass_weights(pass_id: np.ndarray, rho: float = 1.0, n_passes: int | None = None) -> np.ndarray:
    """Weight ``1 / (1 + (m - 1) rho)`` of each state, ``m`` the number of the given states in
    its pass: a pass of ``m`` windows counts ``m / (1 + (m - 1) rho)`` (Kish's design effect of
    a cluster with intra-cluster correlation ``rho``), 1 when ``rho = 1``, ``m`` when ``rho = 0``.
    ``pass_id`` holds the ids of the selected states only."""
    pass_id = np.asarray(pass_id)
    if pass_id.dtype.kind not in "iu":
        pass_id = pass_id.astype(np.int64)
    if pass_id.size == 0:
        return np.zeros(0)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"intra-pass correlation must lie in [0, 1], got {rho}")
    at, size = _per_pass(pass_id, n_passes)
    with np.errstate(divide="ignore"):  # ids no given state has: never gathered
        weight = 1.0 / (1.0 + (size - 1.0) * float(rho))  # per pass, then one gather
    return weight[at]


def effective_counts(key: np.ndarray, pass_id: np.ndarray, n_keys: int, rho: float = 1.0,
                     n_passes: int | None = None) -> np.ndarray:
    """(n_keys,) effective counts: ``bincount(key, weights=pass_weights)`` over the given states.

    ``key`` is ``cell * K + regime``; reshape the result to (cells, K). With ``rho = 1`` the
    totals per cell are its numbers of passes and the per-regime parts the passes' regime
    fractions.
    """
    key = np.asarray(key)
    if key.dtype.kind not in "iu":
        key = key.astype(np.int64)
    return np.bincount(key, weights=pass_weights(pass_id, rho, n_passes), minlength=n_keys)


def _compact(ids: np.ndarray, upper: int) -> np.ndarray:
    """int32 ids when every value below ``upper`` fits (half the bytes of int64), else int64;
    no copy when the array already has that type."""
    return np.asarray(ids, dtype=np.int32 if upper < 2**31 else np.int64)


class StateCounter:
    """Window and effective counts per (cell, regime) of any selection of states.

    Parameters: ``leaf`` (N,), ``code`` (N,), ``pass_id`` (N,) of every state, ``n_leaves``,
    ``k``, ``rho`` the intra-pass correlation (:func:`intraclass_correlation`). The all-states
    tables are computed once; a selection costs two ``bincount`` over it (vectorised, no
    per-cell Python), so conditioning stays interactive. Per state it holds the key
    ``leaf * k + code`` and the pass id, int32 when they fit (8 bytes a state).
    """

    def __init__(self, leaf, code, pass_id, n_leaves: int, k: int, rho: float = 1.0) -> None:
        key = np.asarray(leaf, dtype=np.int64) * int(k) + np.asarray(code, dtype=np.int64)
        self._setup(_compact(key, int(n_leaves) * int(k)), pass_id, n_leaves, k, rho)

    @classmethod
    def from_key(cls, key, pass_id, n_leaves: int, k: int, rho: float = 1.0) -> StateCounter:
        """From the combined key ``leaf * k + code`` of every state (kept, not copied, when
        it is already compact)."""
        self = cls.__new__(cls)
        self._setup(_compact(key, int(n_leaves) * int(k)), pass_id, n_leaves, k, rho)
        return self

    def _setup(self, key, pass_id, n_leaves, k, rho) -> None:
        pass_id = np.asarray(pass_id)
        self.n_passes = int(pass_id.max()) + 1 if pass_id.size else 0
        self.key, self.pass_id = key, _compact(pass_id, self.n_passes)
        if self.key.shape != self.pass_id.shape:
            raise ValueError("leaf, code and pass_id must have one length")
        self.n_leaves, self.k, self.rho = int(n_leaves), int(k), float(rho)
        self._all = self._count(self.key, self.pass_id)
        for a in self._all:
            a.flags.writeable = False

    @property
    def n_states(self) -> int:
        return int(self.key.size)

    def _count(self, key: np.ndarray, pass_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_keys = self.n_leaves * self.k
        windows = np.bincount(key, minlength=n_keys).reshape(self.n_leaves, self.k)
        effective = effective_counts(key, pass_id, n_keys, self.rho, self.n_passes)
        return windows.astype(np.int64, copy=False), effective.reshape(self.n_leaves, self.k)

    def counts_of(self, states: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(windows (L, K) int64, effective (L, K) float64)`` of the states with these indices
        (None: every state; the returned all-states tables are read-only)."""
        if states is None:
            return self._all
        states = np.asarray(states)
        if states.dtype == bool:
            states = np.flatnonzero(states)
        return self._count(self.key[states], self.pass_id[states])

    def counts_of_slices(self, key: np.ndarray, pass_id: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """The same from already-gathered ``key`` and ``pass_id`` arrays of a selection."""
        return self._count(np.asarray(key, np.int64), np.asarray(pass_id, np.int64))


def intraclass_correlation(cell: np.ndarray, code: np.ndarray, pass_id: np.ndarray,
                           k: int) -> float:
    """Intra-pass correlation ``rho`` of the regime indicators, relative to each cell's mix.

    Nested one-way ANOVA (windows in passes in cells; Searle, Casella & McCulloch 1992,
    *Variance Components*, sec. 3.6; for binary data Donner & Koval 1980), summed over the K
    regime indicators: within-pass mean square ``MSW``, between-pass-within-cell mean square
    ``MSA``, ``sigma_A^2 = (MSA - MSW) / n0`` with the unbalanced coefficient
    ``n0 = (N - sum_c sum_j m_j^2 / M_c) / (J - C)``, and ``rho = sigma_A^2 / (sigma_A^2 + MSW)``
    clipped to [0, 1]. ``rho = 1``: every pass is one regime (a pass is one draw); ``rho = 0``:
    the windows of a pass are as varied as those of different passes (each window one draw).
    """
    cell = np.asarray(cell, np.int64)
    code = np.asarray(code, np.int64)
    pass_id = np.asarray(pass_id, np.int64)
    n = len(pass_id)
    if n == 0:
        return 1.0
    n_pass = int(pass_id.max()) + 1
    m = np.bincount(pass_id, minlength=n_pass).astype(np.float64)
    pass_cell = np.zeros(n_pass, dtype=np.int64)
    pass_cell[pass_id] = cell
    present = m > 0
    # per pass and per cell regime counts
    f_pass = np.bincount(pass_id * k + code, minlength=n_pass * k).reshape(n_pass, k)
    _, cidx = np.unique(pass_cell[present], return_inverse=True)
    n_cells = int(cidx.max()) + 1
    f_pass, m, cidx = f_pass[present].astype(np.float64), m[present], cidx.ravel()
    cell_counts = np.zeros((n_cells, k))
    np.add.at(cell_counts, cidx, f_pass)
    big_m = np.bincount(cidx, weights=m, minlength=n_cells)
    p_cell = cell_counts / big_m[:, None]
    frac = f_pass / m[:, None]
    ss_within = float((m * (1.0 - (frac**2).sum(axis=1))).sum())
    ss_between = float((m[:, None] * (frac - p_cell[cidx]) ** 2).sum())
    n_pass, n_cells = len(m), n_cells
    df_w, df_a = n - n_pass, n_pass - n_cells
    if df_w <= 0 or df_a <= 0:
        return 1.0
    msw, msa = ss_within / df_w, ss_between / df_a
    n0 = (n - float((m**2 / big_m[cidx]).sum())) / df_a
    sigma_a = max((msa - msw) / n0, 0.0)
    if sigma_a + msw <= 0:
        return 1.0
    return float(min(sigma_a / (sigma_a + msw), 1.0))
