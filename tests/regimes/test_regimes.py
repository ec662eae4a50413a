"""The VQ-VAE regime model on a small labelled table: training, persistence, likelihoods,
sampling, names, scores and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from atlas_core.regimes import (
    RegimeConfig,
    RegimeModel,
    evaluate_regimes,
    name_regime,
    score_codes,
    train_regimes,
)
from atlas_core.states import FEATURES, LOG_FEATURES

FAST = dict(k=6, max_epochs=10, batch_size=128, warmup_epochs=2, kmeans_samples=3000, hidden=32,
            patience=20)


@pytest.fixture(scope="module")
def trained(fake_states, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    model = train_regimes(fake_states, out, RegimeConfig(**FAST), progress=False)
    return model, out


def test_training_writes_a_loadable_model(trained, fake_states):
    model, out = trained
    for name in ("model.pt", "config.json", "scaler.json", "summary.parquet", "history.json",
                 "checkpoint.pt"):
        assert (out / name).exists(), name
    history = json.loads((out / "history.json").read_text())
    assert history[0]["phase"] == "warmup" and history[-1]["phase"] == "vq"
    assert {"loss", "recon_mse", "codes_used", "perplexity", "val_loss"} <= set(history[-1])
    assert history[-1]["recon_mse"] < history[0]["recon_mse"]
    codes, dist = model.assign(fake_states)
    assert codes.shape == dist.shape == (len(fake_states),)
    assert codes.min() >= 0 and codes.max() < model.k and (dist >= 0).all()
    loaded = RegimeModel.load(out)
    codes2, dist2 = loaded.assign(fake_states)
    assert np.array_equal(codes, codes2) and np.allclose(dist, dist2)
    assert loaded.names == model.names and len(loaded.names) == model.k == 6
    assert loaded.summary["count"].sum() == len(fake_states)
    assert np.allclose(loaded.log_likelihood(fake_states[:50]), model.log_likelihood(fake_states[:50]))


def test_regimes_separate_the_regions(trained, fake_states):
    model, _ = trained
    codes, _ = model.assign(fake_states)
    scores = score_codes(codes, fake_states["region"])
    assert scores["purity"] > 0.9  # five well-separated synthetic regions, six codes


def test_deterministic_and_resumable(fake_states, tmp_path):
    cfg = RegimeConfig(**{**FAST, "max_epochs": 4})
    a = train_regimes(fake_states, tmp_path / "a", cfg, progress=False)
    b = train_regimes(fake_states, tmp_path / "b", cfg, progress=False)
    for (ka, va), (kb, vb) in zip(a.net.state_dict().items(), b.net.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb), ka
    # interrupted after 3 epochs, then resumed: same weights as the uninterrupted run
    assert train_regimes(fake_states, tmp_path / "c", cfg, progress=False,
                         stop_after_epoch=2) is None
    assert not (tmp_path / "c" / "model.pt").exists()
    c = train_regimes(fake_states, tmp_path / "c", cfg, resume=True, progress=False)
    for (ka, va), (_, vc) in zip(a.net.state_dict().items(), c.net.state_dict().items(), strict=True):
        assert torch.equal(va, vc), ka
    assert len(json.loads((tmp_path / "c" / "history.json").read_text())) == 4
    with pytest.raises(ValueError, match="another config.*k: 6 != 5"):
        train_regimes(fake_states, tmp_path / "c", RegimeConfig(**{**FAST, "k": 5}),
                      resume=True, progress=False)


def test_checkpoint_from_another_config_is_refused(trained):
    _, out = trained
    with pytest.raises(ValueError, match="another config.*k: 6 != 12"):
        RegimeModel.load(out, config=RegimeConfig(**{**FAST, "k": 12}))
    with pytest.raises(ValueError, match="hidden: 32 != 64"):
        RegimeModel.load(out, config=RegimeConfig(**{**FAST, "hidden": 64}))
    with pytest.raises(FileNotFoundError, match="model.pt"):
        RegimeModel.load(out / "nowhere")


def test_log_likelihood_is_the_decoder_gaussian(trained, fake_states):
    """Against scipy: log10 features ~ Normal, others Normal, in the model space; the
    physical-space density is the product of log-normals and normals."""
    model, _ = trained
    df = fake_states.iloc[:20]
    mean, logvar = (t.double().numpy() for t in model.net.regime_gaussians())
    sc = model.scaler
    y = np.column_stack([np.log10(np.maximum(df[f], sc.floor[f])) if f in LOG_FEATURES
                         else df[f] for f in FEATURES])
    loc = mean * sc.std + np.array(sc.mean)  # (K, d) in model space
    scale = np.exp(0.5 * logvar) * sc.std
    want = stats.norm.logpdf(y[:, None, :], loc[None], scale[None]).sum(-1)
    assert np.allclose(model.log_likelihood(df), want, atol=1e-6)
    phys = np.zeros_like(want)
    for j, f in enumerate(FEATURES):
        x = df[f].to_numpy()[:, None]
        if f in LOG_FEATURES:  # values below the scaler's floor are read as the floor
            x = np.maximum(x, sc.floor[f])
            phys += stats.lognorm.logpdf(x, s=scale[None, :, j] * np.log(10),
                                         scale=10 ** loc[None, :, j])
        else:
            phys += stats.norm.logpdf(x, loc[None, :, j], scale[None, :, j])
    got = model.log_likelihood(df, space="physical")
    assert np.allclose(got, phys, atol=1e-6)


def test_samples_follow_their_regime(trained):
    model, _ = trained
    mean, logvar = model.net.regime_gaussians()
    for k in range(model.k):
        s = model.sample(k, 4000, seed=1)
        assert list(s.columns) == FEATURES and len(s) == 4000
        assert (s[LOG_FEATURES] > 0).all().all()
        j = FEATURES.index("n_mean")
        want = float(mean[k, j]) * model.scaler.std[j] + model.scaler.mean[j]
        assert abs(np.median(np.log10(s["n_mean"])) - want) < 0.05
        # drawn states are most likely under their own regime
        assert (model.log_likelihood(s).argmax(1) == k).mean() > 0.8
    assert model.sample(0, 5, seed=3).equals(model.sample(0, 5, seed=3))
    with pytest.raises(ValueError, match="out of range"):
        model.sample(model.k, 5)


def test_bad_input(fake_states, tmp_path):
    with pytest.raises(ValueError, match=r"missing columns \['n_mean'\]"):
        train_regimes(fake_states.drop(columns="n_mean"), tmp_path, RegimeConfig(**FAST))
    bad = fake_states.copy()
    bad.loc[[3, 7], "T_mean"] = np.nan
    with pytest.raises(ValueError, match=r"2 rows have NaN.*T_mean"):
        train_regimes(bad, tmp_path, RegimeConfig(**FAST))
    with pytest.raises(ValueError, match="fewer than the 6 codes"):
        train_regimes(fake_states.iloc[:5], tmp_path, RegimeConfig(**FAST))
    with pytest.raises(ValueError, match="unknown fields"):
        RegimeConfig.from_dict({"k": 3, "colour": "red"})


def test_seed_table_names():
    """The seed's regime table (Markidis et al. 2026, real MMS1 medians) named by the rules."""
    seed = [  # x, n, T, |Vx|, |B|, expected
        (6.4, 13.0, 286, 163, 19.7, "magnetosheath"),
        (8.3, 59.9, 160, 109, 24.5, "magnetosheath (dense)"),
        (-18.2, 0.3, 528, 15, 20.3, "plasma sheet boundary layer"),
        (-14.0, 0.4, 2896, 8, 20.5, "plasma sheet"),
        (13.1, 5.1, 63, 392, 5.6, "solar wind"),
        (8.5, 19.6, 623, 41, 41.5, "magnetosheath (stagnant, hot)"),
        (-3.4, 0.3, 510, 14, 100.2, "inner magnetosphere"),
        (6.0, 6.0, 561, 220, 15.9, "boundary layer"),
        (-3.9, 12.2, 119, 235, 14.2, "magnetosheath (flank)"),
    ]
    for x, n, T, vx, b, want in seed:
        m = {"x_gsm": x, "r": abs(x), "n": n, "T": T, "abs_Vx": vx, "V": vx * 1.1, "B": b,
             "beta": 0.5}
        assert name_regime(m) == want, (x, n, T)
    lobe = {"x_gsm": -20, "r": 21, "n": 0.02, "T": 300, "abs_Vx": 5, "V": 10, "B": 25,
            "beta": 0.004}
    assert name_regime(lobe) == "lobe"
    foreshock = {"x_gsm": 7.5, "r": 12, "n": 6.5, "T": 247, "abs_Vx": 387, "V": 400, "B": 7.5,
                 "beta": 100}
    assert name_regime(foreshock) == "foreshock (heated solar wind)"


def test_scores():
    truth = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2)
    assert score_codes(np.array([5] * 4 + [1] * 4 + [2] * 2), truth) == {
        "ari": 1.0, "nmi": 1.0, "purity": 1.0}
    # one code for everything: purity = majority share 0.4, ARI 0
    s = score_codes(np.zeros(10, int), truth)
    assert s["purity"] == pytest.approx(0.4) and s["ari"] == pytest.approx(0.0)
    # splitting a region costs no purity
    assert score_codes(np.array([0, 0, 1, 1, 2, 2, 2, 2, 3, 3]), truth)["purity"] == 1.0


def test_evaluate_report(trained, fake_states):
    model, _ = trained
    rep = evaluate_regimes(model, fake_states, max_fit=3000)
    for key in ("vqvae", "kmeans", "gmm"):
        assert set(rep[key]) == {"ari", "nmi", "purity"}
    assert 1 <= rep["codes_used"] <= model.k and 1 <= rep["perplexity"] <= model.k
    with pytest.raises(ValueError, match="no 'region' column"):
        evaluate_regimes(model, fake_states.drop(columns="region"))


def test_ema_codebook_update_and_dead_code_restart():
    from atlas_core.vqvae import EMACodebook

    cb = EMACodebook(k=3, dim=2, decay=0.0, dead_threshold=0.5)
    cb.set(torch.tensor([[0.0, 0.0], [10.0, 10.0], [1e3, 1e3]]))
    z = torch.tensor([[1.0, 0.0], [-1.0, 2.0], [9.0, 11.0], [11.0, 11.0]])
    codes, dist = cb.nearest(z)
    assert codes.tolist() == [0, 0, 1, 1]
    assert torch.allclose(dist, torch.tensor([1.0, 5**0.5, 2**0.5, 2**0.5]))
    restarted = cb.update(z, codes, torch.Generator().manual_seed(0))
    # decay 0: each used code moves to the mean of its encodings (up to Laplace smoothing)
    assert torch.allclose(cb.embed[0], torch.tensor([0.0, 1.0]), atol=1e-4)
    assert torch.allclose(cb.embed[1], torch.tensor([10.0, 11.0]), atol=1e-4)
    # the code nobody uses is dead and restarts on one of the batch's encodings
    assert restarted == 1
    assert any(torch.equal(cb.embed[2], v) for v in z)
