"""Passes, metastable lumping and the forward-backward smoother against independent
computations (enumeration of every path, a hand-made block flux)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from atlas_core.regimes.temporal import (
    coarse_transitions,
    find_passes,
    forward_backward,
    lump,
    normalised_cut,
    transition_flux,
)


def _table(minutes, probes):
    return pd.DataFrame({"time": pd.Timestamp("2020-01-01") + pd.to_timedelta(minutes, "min"),
                         "probe": probes})


def test_passes_follow_time_probe_and_gaps():
    # rows out of order, two probes, a 2-minute hole (kept) and a 10-minute hole (split)
    df = _table([3, 0, 1, 5, 15, 16, 0, 1], ["a", "a", "a", "a", "a", "a", "b", "b"])
    p = find_passes(df, max_gap_s=300)
    assert df["time"].iloc[p.order].tolist() == sorted(df["time"].iloc[:6]) + sorted(
        df["time"].iloc[6:])
    assert p.first.tolist() == [True, False, False, False, True, False, True, False]
    assert p.steps.tolist() == [0, 1, 2, 2, 0, 1, 0, 1]
    assert p.n_passes == 3
    assert p.pass_id().tolist() == [0, 0, 0, 0, 1, 1, 2, 2]
    assert find_passes(df.drop(columns="time")) is None
    # without a probe column all rows are one spacecraft's
    assert find_passes(df.iloc[:6].drop(columns="probe")).n_passes == 2
    # midnight ends a pass: a day's states are assigned the same alone or in the whole table
    late = _table([1438, 1439, 1440, 1441], ["a"] * 4)
    assert find_passes(late).first.tolist() == [True, False, True, False]


def _brute_force(emission, steps, first, transition, initial):
    """Posterior marginals and log-likelihood of one pass by enumerating every path."""
    n, k = emission.shape
    post = np.zeros((n, k))
    total = 0.0
    for path in itertools.product(range(k), repeat=n):
        p = initial[path[0]] * emission[0, path[0]]
        for t in range(1, n):
            p *= np.linalg.matrix_power(transition, steps[t])[path[t - 1], path[t]]
            p *= emission[t, path[t]]
        total += p
        post[np.arange(n), path] += p
    return post / total, np.log(total)


def test_forward_backward_matches_enumeration():
    rng = np.random.default_rng(1)
    k = 3
    transition = rng.dirichlet(np.ones(k) * 2, size=k) * 0.3 + np.eye(k) * 0.7
    initial = rng.dirichlet(np.ones(k))
    # two passes (5 and 3 windows) of one probe, a 2-window step inside the first
    df = _table([0, 1, 3, 4, 5, 60, 61, 62], ["a"] * 8)
    passes = find_passes(df, max_gap_s=300)
    log_em = rng.normal(0, 1.5, (8, k))
    post, inc = forward_backward(log_em, passes, transition, initial)
    for rows in (slice(0, 5), slice(5, 8)):
        want, ll = _brute_force(np.exp(log_em[rows]), passes.steps[rows], passes.first[rows],
                                transition, initial)
        assert np.allclose(post[rows], want)
        assert np.isclose(inc[rows].sum(), ll)
    # the table's order does not matter
    perm = rng.permutation(8)
    post_p, inc_p = forward_backward(log_em[perm], find_passes(df.iloc[perm]), transition,
                                     initial)
    assert np.allclose(post_p, post[perm]) and np.allclose(inc_p, inc[perm])


def test_lump_finds_the_blocks():
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1, 2], [3, 4, 2])[rng.permutation(9)]
    flux = rng.uniform(0, 1, (9, 9))
    flux += 50 * (truth[:, None] == truth[None, :])
    flux = flux + flux.T
    labels = lump(flux, 3)
    pairs = labels[:, None] == labels[None, :]
    assert np.array_equal(pairs, truth[:, None] == truth[None, :])
    # regime 0 is the group with the largest volume (the block of four)
    assert (labels[truth == 1] == 0).all()
    assert lump(flux, 9).tolist() != [0] * 9 and len(set(lump(flux, 9))) == 9
    with pytest.raises(ValueError, match="cannot make 10 regimes of 9"):
        lump(flux, 10)


def test_normalised_cut_and_coarse_transitions():
    flux = np.array([[8.0, 2.0, 0.0], [2.0, 6.0, 1.0], [0.0, 1.0, 3.0]])
    labels = np.array([0, 0, 1])
    # group {0,1}: volume 19, cut 1; group {2}: volume 4, cut 1
    assert np.isclose(normalised_cut(flux, labels), 1 / 19 + 1 / 4)
    t = coarse_transitions(flux, labels, 2, pseudo=0.0)
    assert np.allclose(t, [[18 / 19, 1 / 19], [1 / 4, 3 / 4]])


def test_flux_counts_consecutive_windows_of_a_pass_only():
    df = _table([0, 1, 2, 10, 11], ["a"] * 5)
    post = np.eye(2)[[0, 1, 1, 0, 0]]
    f = transition_flux(post, find_passes(df, max_gap_s=300))
    # pairs 0->1, 1->1 in the first pass, 0->0 in the second; symmetrised
    assert np.allclose(f, [[2, 1], [1, 2]])
    keep = np.array([True, True, False, True, True])
    assert np.allclose(transition_flux(post, find_passes(df), keep), [[2, 1], [1, 0]])
