"""Passes, effective counts and the intra-pass correlation on cases with known answers."""

import numpy as np
import pytest

from atlas_core.atlas.passes import (
    StateCounter,
    effective_counts,
    intraclass_correlation,
    pass_ids,
    pass_weights,
)

MIN = 60 * 10**9  # one minute, ns


def test_pass_ids_split_on_cell_spacecraft_and_gap():
    # one spacecraft: cell 0 for 3 windows, cell 1 for 2, back to cell 0 20 min later (same
    # visit), then cell 0 again after 5 h (a new pass); a second spacecraft in cell 0
    t = np.array([0, 1, 2, 3, 4, 24, 25, 324, 0, 1]) * MIN
    cell = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
    craft = np.array(["a"] * 8 + ["b"] * 2)
    pid = pass_ids(t, cell, craft, max_gap_s=3 * 3600)
    assert pid[0] == pid[1] == pid[2] == pid[5] == pid[6]  # re-entry within 3 h: one pass
    assert pid[3] == pid[4] != pid[0]                     # another cell
    assert pid[7] not in pid[:7]                            # after 5 h: a new pass
    assert pid[8] == pid[9] and pid[8] not in pid[:8]      # another spacecraft
    assert len(np.unique(pid)) == 4 and set(pid) == set(range(4))
    # a gap rule of 10 minutes splits the re-entry too
    pid = pass_ids(t, cell, craft, max_gap_s=600)
    assert pid[5] != pid[0] and len(np.unique(pid)) == 5
    with pytest.raises(ValueError, match="max_gap_s"):
        pass_ids(t, cell, max_gap_s=0)


def test_effective_counts_between_passes_and_windows():
    # cell 0: one pass of 10 windows (7 of regime 0, 3 of regime 1); cell 1: two passes of 1
    pid = np.array([0] * 10 + [1, 2])
    cell = np.array([0] * 10 + [1, 1])
    code = np.array([0] * 7 + [1] * 3 + [2, 2])
    key = cell * 3 + code
    one = effective_counts(key, pid, 6, rho=1.0).reshape(2, 3)
    np.testing.assert_allclose(one, [[0.7, 0.3, 0], [0, 0, 2]])  # a pass counts once
    none = effective_counts(key, pid, 6, rho=0.0).reshape(2, 3)
    np.testing.assert_allclose(none, [[7, 3, 0], [0, 0, 2]])     # every window counts
    half = effective_counts(key, pid, 6, rho=0.5).reshape(2, 3)
    np.testing.assert_allclose(half.sum(1), [10 / (1 + 9 * 0.5), 2])  # Kish: m / (1 + (m-1) rho)
    # a selection re-weighs each pass by its selected windows: half a pass still counts once
    np.testing.assert_allclose(pass_weights(pid[:5], rho=1.0), 0.2)
    counter = StateCounter(cell, code, pid, n_leaves=2, k=3, rho=1.0)
    w, e = counter.counts_of(np.arange(5))
    np.testing.assert_array_equal(w, [[5, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(e, [[1, 0, 0], [0, 0, 0]])
    w_all, e_all = counter.counts_of(None)
    assert not w_all.flags.writeable and not e_all.flags.writeable
    np.testing.assert_allclose(e_all, one)
    mask = np.zeros(12, bool)
    mask[10:] = True
    np.testing.assert_allclose(counter.counts_of(mask)[1], [[0, 0, 0], [0, 0, 2]])


def _clustered_codes(rng, rho: float, n_cells=300, passes=6, m=12, k=3):
    """Windows in passes in cells: each cell has a regime mix, each pass a Dirichlet-mixed
    fraction around it with intra-class correlation ``rho``, windows multinomial given it."""
    p_cell = rng.dirichlet(np.ones(k), n_cells)
    cell = np.repeat(np.arange(n_cells), passes * m)
    pid = np.repeat(np.arange(n_cells * passes), m)
    conc = 1.0 / rho - 1.0
    f = np.array([rng.dirichlet(conc * p + 1e-9) for p in np.repeat(p_cell, passes, axis=0)])
    u = rng.random(len(pid))[:, None]
    code = (u > np.cumsum(f[pid], axis=1)).sum(axis=1)
    return cell, np.minimum(code, k - 1), pid


def test_intraclass_correlation_recovers_known_values():
    rng = np.random.default_rng(3)
    n_cells, passes, m = 200, 10, 10
    cell = np.repeat(np.arange(n_cells), passes * m)
    pid = np.repeat(np.arange(n_cells * passes), m)
    pure = np.repeat(rng.integers(0, 3, n_cells * passes), m)  # every pass one regime
    assert intraclass_correlation(cell, pure, pid, 3) == pytest.approx(1.0)
    iid = rng.integers(0, 3, len(pid))                           # windows independent
    assert intraclass_correlation(cell, iid, pid, 3) == pytest.approx(0.0, abs=0.02)
    for rho in (0.3, 0.6):
        cell, code, pid = _clustered_codes(rng, rho)
        # the ANOVA estimator's standard error here is ~0.02 (1800 passes of 12 windows)
        assert intraclass_correlation(cell, code, pid, 3) == pytest.approx(rho, abs=0.07)
