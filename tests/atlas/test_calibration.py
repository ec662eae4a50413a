"""Honest intervals on a synthetic world with known dependence: windows come in passes whose
regime fractions scatter around their cell's mix (intra-pass correlation 0.5), cells' mixes
scatter around their parents'. Counting windows as independent under-covers; the effective
counts with the octree hierarchy do not. The truth (every cell's regime mix) is known here, so
the intervals are checked against it, not against the code."""

import json

import numpy as np
import pytest
from scipy import stats as sps

from atlas_core.atlas.calibrate import pit_coverage, predictive_cdf, top_regime_coverage
from atlas_core.atlas.passes import StateCounter, pass_ids
from atlas_core.atlas.posterior import dirichlet_posterior, intervals_disjoint
from atlas_core.atlas.sampling import CellStatistics, day_folds
from atlas_core.octree import Octree

MIN_NS, DAY_NS = 60 * 10**9, 86_400 * 10**9
RHO, K = 0.5, 4


def world(seed: int = 0, n_passes: int = 2400):
    """Positions (R_E), regime codes and times of passes through 1 R_E cells of an 8 x 8 x 4 R_E
    box; each cell's mix ~ Dirichlet(8 x its 2 R_E parent's), each parent's ~ Dirichlet(20 g);
    a pass's fraction ~ Dirichlet(p (1/rho - 1)); passes >= 4 h apart."""
    rng = np.random.default_rng(seed)
    g = rng.dirichlet(np.full(K, 2.0))
    root_p = rng.dirichlet(20 * g, (4, 4, 2))
    cell_p = np.empty((8, 8, 4, K))
    for idx in np.ndindex(8, 8, 4):
        cell_p[idx] = rng.dirichlet(8 * root_p[idx[0] // 2, idx[1] // 2, idx[2] // 2])
    weight = rng.lognormal(0, 1.0, 8 * 8 * 4)
    cells = rng.choice(8 * 8 * 4, n_passes, p=weight / weight.sum())
    ijk = np.stack(np.unravel_index(cells, (8, 8, 4)), 1)
    m = 4 + rng.poisson(10, n_passes)
    pos, code, t = [], [], []
    for j in range(n_passes):
        f = rng.dirichlet((1 / RHO - 1) * cell_p[tuple(ijk[j])] + 1e-9)
        code.append(rng.choice(K, m[j], p=f / f.sum()))
        pos.append(ijk[j] + 0.5 + rng.uniform(-0.3, 0.3, (m[j], 3)))
        t.append((j // 6) * DAY_NS + (j % 6) * 4 * 3600 * 10**9 + np.arange(m[j]) * MIN_NS)
    return np.concatenate(pos), np.concatenate(code), np.concatenate(t), cell_p


def fit(pos, code, t):
    tree = Octree.build(pos, base_size_re=2.0, max_states=1, min_size_re=1.0)
    return tree, CellStatistics.fit(tree, code, t, K, day_folds(t))


@pytest.fixture(scope="module")
def synthetic():
    pos, code, t, cell_p = world()
    tree, stats = fit(pos, code, t)
    return pos, code, t, cell_p, tree, stats


def test_intra_pass_correlation_is_recovered(synthetic):
    *_, stats = synthetic
    # chosen on a 0.05 grid by held-out likelihood; 2400 passes pin it to about +-0.05
    assert stats.model.rho == pytest.approx(RHO, abs=0.1)


def test_credible_intervals_cover_the_true_mix(synthetic):
    pos, code, t, cell_p, tree, stats = synthetic
    windows, effective = stats.counts_of()
    est = stats.estimate(windows, effective)
    fine = tree.leaf_level == 1
    truth = cell_p[tuple(tree.leaf_ijk[fine].T)]
    seen = effective[fine].sum(1) > 0
    new = (est.lo[fine] <= truth) & (truth <= est.hi[fine])
    _, lo, hi = dirichlet_posterior(windows)  # windows as independent draws, per leaf
    old = (lo[fine] <= truth) & (truth <= hi[fine])
    # ~240 cells x 4 regimes, correlated within a cell: a few points of sampling error
    assert 0.84 <= new[seen].mean() <= 0.96, new[seen].mean()
    assert 0.80 <= new[~seen].mean() <= 1.0  # cells without a pass: their parent's estimate
    assert old[seen].mean() < 0.7, old[seen].mean()


def test_shift_test_holds_its_level_on_a_null_split(synthetic):
    *_, stats = synthetic
    rng = np.random.default_rng(5)
    half = rng.random(stats.pass_id.max() + 1)[stats.pass_id] < 0.5  # two halves of the passes
    w1, e1 = stats.counts_of(np.flatnonzero(half))
    w2, e2 = stats.counts_of(np.flatnonzero(~half))
    _, flag = stats.shift(e1, e2)
    tested = ~stats.low_count(e1.sum(1)) & ~stats.low_count(e2.sum(1))
    assert tested.sum() > 50
    rate = flag[tested].mean()
    assert rate <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / flag[tested].size), rate
    _, l1, h1 = dirichlet_posterior(w1)
    _, l2, h2 = dirichlet_posterior(w2)
    enough = (w1.sum(1) >= 10) & (w2.sum(1) >= 10)
    old = intervals_disjoint(l1, h1, l2, h2)[enough].mean()
    assert old > 5 * 0.02, old  # nominal ~0.02 for disjoint 90 % intervals


def test_predictive_coverage_on_held_out_days(synthetic):
    pos, code, t, *_ = synthetic
    in_a = (t // DAY_NS) % 2 == 0
    ia, ib = np.flatnonzero(in_a), np.flatnonzero(~in_a)
    tree, stats = fit(pos[ia], code[ia], t[ia])
    leaf_b = tree.locate(pos[ib])
    ok = leaf_b >= 0
    pid_b = pass_ids(t[ib][ok], leaf_b[ok])
    w_b, _ = StateCounter(leaf_b[ok], code[ib][ok], pid_b, tree.n_leaves, K).counts_of()
    size = np.bincount(pid_b)
    pass_cell = np.zeros(len(size), dtype=np.int64)
    pass_cell[pid_b] = leaf_b[ok]
    cells = np.flatnonzero(w_b.sum(1) > 0)
    w_a, e_a = stats.counts_of()
    a, b = stats.estimator.marginals(e_a)
    new = top_regime_coverage(a, b, cells, w_b, pass_cell, size, stats.model.rho, 1000, 0)
    a0 = w_a + 0.5
    old = top_regime_coverage(a0, a0.sum(1, keepdims=True) - a0, cells, w_b, pass_cell, size,
                              0.0, 1000, 0)
    for level in (0.5, 0.9):
        assert new[level].mean() == pytest.approx(level, abs=0.06), (level, new[level].mean())
        assert old[level].mean() < level - 0.2


def test_predictive_cdf_matches_the_beta_binomial():
    """With windows independent (rho = 0) the predictive of y / n windows is beta-binomial."""
    rng = np.random.default_rng(1)
    n_cells = 400
    a, b = rng.uniform(0.5, 5, n_cells), rng.uniform(0.5, 5, n_cells)
    n = rng.integers(1, 30, n_cells)
    y = rng.integers(0, n + 1)
    # each cell one "pass" per window: rho = 0 makes the split irrelevant
    f_lo, f_hi = predictive_cdf(a, b, np.repeat(np.arange(n_cells), n), np.ones(n.sum(), int),
                                y / n, rho=0.0, draws=4000, seed=2)
    np.testing.assert_allclose(f_hi, sps.betabinom.cdf(y, n, a, b), atol=0.03)
    np.testing.assert_allclose(f_lo, sps.betabinom.cdf(y - 1, n, a, b), atol=0.03)
    # a right predictive gives nominal coverage: y drawn from it
    p = rng.beta(a, b)
    y = rng.binomial(n, p)
    f_lo, f_hi = predictive_cdf(a, b, np.repeat(np.arange(n_cells), n), np.ones(n.sum(), int),
                                y / n, rho=0.0, draws=4000, seed=3)
    for level in (0.5, 0.9):
        assert pit_coverage(f_lo, f_hi, level).mean() == pytest.approx(level, abs=0.05)


def test_calibrate_command_on_the_small_atlas(small_atlas, capsys):
    from atlas_core.cli import main

    assert main(["calibrate", str(small_atlas), "--json", "--draws", "300",
                 "--null-repeats", "2"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) >= {"coverage", "coverage_by_count", "null_flag_rate", "null_nominal",
                      "anomaly_above_p90", "heldout_loglik"}
    assert set(r["coverage"]) == {"0.5", "0.9"}
    assert all(0 <= v <= 1 for v in r["coverage"].values())
    assert r["coverage_by_count"][0]["n_eff_min"] == 0.0
    assert r["null_nominal"] == 0.05 and 0 <= r["anomaly_above_p90"] <= 1
    # the hierarchy never does materially worse than per-leaf counts on held-out days (on this
    # dozen-day fixture every day is a different orbit and the two are within ~0.01 nat; the
    # one-year figures in docs/atlas.md are where the hierarchy's gain is measured)
    hier = r["heldout_loglik"]["hierarchical"]["per_effective"]
    assert np.isfinite(hier)
    assert hier > r["heldout_loglik"]["per_leaf_windows"]["per_effective"] - 0.05
    assert main(["calibrate", str(small_atlas)]) == 0
    assert "coverage of the predictive intervals" in capsys.readouterr().out
