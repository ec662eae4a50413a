"""Calibration of the label probabilities (``atlas label``): the metrics on probabilities whose
reliability is known by construction, the temperature fit on draws from a known temperature,
the tempered labels, and the held-out-weeks check on the small synthetic archive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from atlas_core.service.label_calibration import (
    expected_calibration_error,
    fit_temperature,
    heldout_calibration,
    reliability_table,
)
from atlas_core.service.labels import tempered


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


def test_ece_of_calibrated_and_overconfident_probabilities():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 1.0, 40_000)
    right = rng.random(p.size) < p  # right exactly as often as stated
    assert expected_calibration_error(p, right) < 0.01
    worse = rng.random(p.size) < p - 0.2  # right 20 points less often than stated
    assert expected_calibration_error(p, worse) == pytest.approx(0.2, abs=0.01)
    table = reliability_table(p, worse)
    assert table["windows"].sum() == p.size
    assert np.all(table["mean_p"] - table["accuracy"] > 0.15)
    # p = 1 falls in the last bin, not outside
    assert reliability_table([1.0, 1.0], [True, False])["windows"].tolist() == [2]


@pytest.mark.parametrize("true_t", [0.7, 1.0, 2.5])
def test_fit_temperature_recovers_the_temperature_of_the_draws(true_t):
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 3.0, size=(20_000, 5))
    prob = _softmax(logits / true_t)
    reference = (rng.random((len(prob), 1)) > prob.cumsum(axis=1)).sum(axis=1)
    assert fit_temperature(logits, reference) == pytest.approx(true_t, rel=0.08)


def test_tempered_keeps_the_label_and_spreads_the_probability():
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 4.0, size=(500, 6))
    np.testing.assert_allclose(tempered(logits, 1.0), _softmax(logits), rtol=1e-6)
    hot = tempered(logits, 3.0)
    np.testing.assert_array_equal(hot.argmax(axis=1), logits.argmax(axis=1))
    assert np.all(hot.max(axis=1) <= _softmax(logits).max(axis=1) + 1e-6)
    np.testing.assert_allclose(tempered(logits, 1e9), 1 / 6, rtol=1e-5)
    with pytest.raises(ValueError, match="temperature"):
        tempered(logits, 0.0)


@pytest.fixture(scope="module")
def small_report(even_weeks):
    from atlas_core.atlas import Atlas

    atlas_dir, heldout = even_weeks
    return heldout_calibration(Atlas.open(atlas_dir), heldout)


def test_heldout_weeks_labels_have_finite_probabilities_and_a_report(even_weeks, small_report):
    """Held-out windows often fall in cells the atlas holds no state in; each still gets a
    prior (its ancestors' mix) and a finite probability, and the report is complete."""
    from atlas_core.atlas import Atlas
    from atlas_core.atlas.product import Condition, estimates
    from atlas_core.service.labels import window_labels

    atlas_dir, heldout = even_weeks
    atlas = Atlas.open(atlas_dir)
    labels = window_labels(atlas, heldout)
    prob = labels.attrs["prob"]
    assert np.isfinite(prob).all()
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-5)
    est = estimates(atlas, Condition())
    empty = (labels["leaf"] >= 0) & (est.n[labels["leaf"].clip(lower=0)] == 0)
    assert empty.sum() > 0  # the case the check is about occurs on held-out weeks
    tempered_labels = window_labels(atlas, heldout, temperature=2.0)
    np.testing.assert_array_equal(tempered_labels["regime"], labels["regime"])
    assert (tempered_labels["p"] <= labels["p"] + 1e-6).all()

    report = small_report
    assert report["fit_windows"] > 0 and report["test_windows"] > 0
    assert report["fit_windows"] + report["test_windows"] == len(heldout)
    assert report["temperature"] > 0
    for ref in ("codes", "features_alone"):
        for kind in ("raw", "tempered"):
            s = report[ref][kind]
            assert s["windows"] == report["test_windows"]
            assert sum(r["windows"] for r in s["reliability"]) == s["windows"]
            assert 0 <= s["ece"] <= 1 and np.isfinite(s["log_loss"])
        assert report[ref]["raw"]["agreement"] == report[ref]["tempered"]["agreement"]
    # the label agrees with the model's own pass-smoothed regime far above chance (12 regimes)
    assert report["codes"]["raw"]["agreement"] > 0.6
    json.dumps(report)  # the CLI writes it as JSON


def test_label_command_temperature(small_atlas, tmp_path, capsys):
    import pandas as pd

    from atlas_core.cli import main

    states = str(small_atlas / "states.parquet")
    out = tmp_path / "labels.csv"
    assert main(["label", states, "--atlas", str(small_atlas), "--out", str(out),
                 "--temperature", "-1"]) == 2
    assert "temperature" in capsys.readouterr().err
    assert main(["label", states, "--atlas", str(small_atlas), "--out", str(out)]) == 0
    sure = pd.read_csv(out)
    assert main(["label", states, "--atlas", str(small_atlas), "--out", str(out),
                 "--temperature", "4"]) == 0
    soft = pd.read_csv(out)
    assert soft["regime"].tolist() == sure["regime"].tolist()  # same intervals, less sure
    assert (soft["mean_probability"] <= sure["mean_probability"] + 1e-4).all()
    assert soft["mean_probability"].mean() < sure["mean_probability"].mean()


def test_a_saved_temperature_is_what_label_uses(small_atlas, small_report, tmp_path, capsys):
    import shutil

    import pandas as pd

    from atlas_core.atlas import Atlas
    from atlas_core.cli import main
    from atlas_core.service.label_calibration import save_temperature
    from atlas_core.service.labels import TEMPERATURE_FILE, label_logits, window_labels

    atlas_dir = tmp_path / "atlas"
    shutil.copytree(small_atlas, atlas_dir)
    report = dict(small_report, temperature=3.0)  # a clearly non-unit temperature
    path = save_temperature(atlas_dir, report)
    assert json.loads(path.read_text())["temperature"] == 3.0
    atlas = Atlas.open(atlas_dir)
    states = pd.read_parquet(atlas_dir / "states.parquet").iloc[:400]
    labels = window_labels(atlas, states)
    assert labels.attrs["temperature"] == 3.0 and labels.attrs["temperature_source"] == str(path)
    _, logits = label_logits(atlas, states)
    np.testing.assert_allclose(labels.attrs["prob"], tempered(logits, 3.0), rtol=1e-6)
    assert window_labels(atlas, states, temperature=1.0)["p"].mean() > labels["p"].mean()
    out = tmp_path / "labels.csv"
    assert main(["label", str(atlas_dir / "states.parquet"), "--atlas", str(atlas_dir),
                 "--out", str(out)]) == 0
    assert "temperature 3" in capsys.readouterr().out
    (atlas_dir / TEMPERATURE_FILE).write_text("{not json")
    assert main(["label", str(atlas_dir / "states.parquet"), "--atlas", str(atlas_dir),
                 "--out", str(out)]) == 2
    assert TEMPERATURE_FILE in capsys.readouterr().err
