"""Regime models on small labelled tables: training, persistence, assignment with the pass,
likelihoods, sampling, names, scores and bad input — the Gaussian-mixture default and the
VQ-VAE."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from atlas_core.regimes import (
    RegimeConfig,
    RegimeModel,
    evaluate_regimes,
    name_regime,
    name_regimes,
    score_codes,
    train_regimes,
)
from atlas_core.states import FEATURES, LOG_FEATURES

FAST = dict(k=4, components=8, em_max_iter=40, states_per_component=100)
VQ_FAST = dict(model="vqvae", k=6, components=6, smoothing=False, max_epochs=10,
               batch_size=128, warmup_epochs=2, kmeans_samples=3000, hidden=32, patience=20)


@pytest.fixture(scope="module")
def trained(fake_passes, tmp_path_factory):
    out = tmp_path_factory.mktemp("mixture")
    return train_regimes(fake_passes, out, RegimeConfig(**FAST), progress=False), out


@pytest.fixture(scope="module")
def trained_vq(fake_states, tmp_path_factory):
    out = tmp_path_factory.mktemp("vqvae")
    return train_regimes(fake_states, out, RegimeConfig(**VQ_FAST), progress=False), out


def test_training_writes_a_loadable_model(trained, fake_passes):
    model, out = trained
    for name in ("model.pt", "config.json", "scaler.json", "summary.parquet", "history.json",
                 "diagnostics.json", "checkpoint.pt"):
        assert (out / name).exists(), name
    history = json.loads((out / "history.json").read_text())
    ll = [h["log_lik"] for h in history]
    assert np.all(np.diff(ll) >= -1e-9)  # EM never lowers the likelihood
    diag = json.loads((out / "diagnostics.json").read_text())
    assert {"heldout_nll", "heldout_sequence_nll", "heldout_metastability"} <= set(diag)
    # three EM runs; the kept one has the most metastable regimes (lowest normalised cut)
    cuts = [run["train_ncut"] for run in diag["runs"]]
    assert len(cuts) == 3 and diag["train_ncut"] == min(cuts) == cuts[diag["kept_run"]]
    assert diag["heldout_sequence_nll"] < diag["heldout_nll"]  # the pass helps predict
    codes, dist = model.assign(fake_passes)
    assert codes.shape == dist.shape == (len(fake_passes),)
    assert codes.min() >= 0 and codes.max() < model.k and (dist >= 0).all()
    loaded = RegimeModel.load(out)
    codes2, dist2 = loaded.assign(fake_passes)
    assert np.array_equal(codes, codes2) and np.allclose(dist, dist2)
    assert loaded.names == model.names and len(set(loaded.names)) == model.k == 4
    assert loaded.summary["count"].sum() == len(fake_passes)
    assert sorted(set(loaded.regime_of)) == list(range(4)) and len(loaded.regime_of) == 8
    assert np.allclose(loaded.log_likelihood(fake_passes[:50]),
                       model.log_likelihood(fake_passes[:50]))


def test_regimes_are_the_regions_components_are_not(trained, fake_passes):
    """Each region flips between two sub-states: the eight components split the regions, the
    four regimes lumped from their transitions along the passes are the regions."""
    model, _ = trained
    truth = fake_passes["region"]
    post = model.posterior(fake_passes)
    assert score_codes(post.argmax(1), truth)["ari"] > 0.95
    components = model.component_log_prob(fake_passes).argmax(1)
    assert score_codes(components, truth)["ari"] < 0.8
    # every region's two sub-states are components of one regime
    for region in truth.unique():
        held = model.regime_of[components[(truth == region).to_numpy()]]
        assert np.bincount(held).max() / len(held) > 0.95


def test_assignment_uses_the_pass_whatever_the_row_order(trained, fake_passes):
    model, _ = trained
    codes, dist = model.assign(fake_passes)
    perm = np.random.default_rng(0).permutation(len(fake_passes))
    codes_p, dist_p = model.assign(fake_passes.iloc[perm])
    assert np.array_equal(codes_p, codes[perm]) and np.allclose(dist_p, dist[perm])
    # without times every state is assigned alone: the most probable regime of the state
    alone, _ = model.assign(fake_passes.drop(columns="time"))
    joint = model.log_likelihood(fake_passes) + model.regime_log_weight()
    assert np.array_equal(alone, joint.argmax(1))
    assert model.assign(fake_passes.iloc[[5]])[0].shape == (1,)
    # a day assigned alone (a partition of the state table) as within the whole table
    day = (fake_passes["time"].dt.floor("D") == fake_passes["time"].iloc[700].floor("D"))
    alone_day, _ = model.assign(fake_passes[day])
    assert np.array_equal(alone_day, codes[day.to_numpy()])


def test_vqvae_trains_and_separates(trained_vq, fake_states):
    model, out = trained_vq
    codes, _ = model.assign(fake_states)
    assert score_codes(codes, fake_states["region"])["purity"] > 0.9
    z = torch.as_tensor(model.encode(fake_states))
    assert np.array_equal(codes, model.net.codebook.nearest(z)[0].numpy())  # nearest code
    history = json.loads((out / "history.json").read_text())
    assert history[0]["phase"] == "warmup" and history[-1]["phase"] == "vq"
    assert history[-1]["recon_mse"] < history[0]["recon_mse"]


def test_a_model_directory_from_before_the_mixture_loads_as_a_vqvae(trained_vq, fake_states,
                                                                    tmp_path):
    model, out = trained_vq
    import shutil

    old = tmp_path / "old"
    shutil.copytree(out, old)
    cfg = json.loads((old / "config.json").read_text())
    for key in ("model", "components", "smoothing", "max_gap_s", "reg_covar", "em_max_iter",
                "em_tol", "max_fit_states", "n_init", "states_per_component"):
        cfg.pop(key)
    (old / "config.json").write_text(json.dumps(cfg))
    blob = torch.load(old / "model.pt", weights_only=True)
    torch.save({"config": cfg, "model": blob["model"]}, old / "model.pt")
    loaded = RegimeModel.load(old)
    assert loaded.config.model == "vqvae" and loaded.config.components == loaded.k == 6
    assert np.array_equal(loaded.assign(fake_states)[0], model.assign(fake_states)[0])


@pytest.mark.parametrize("kind", ["mixture", "vqvae"])
def test_deterministic_and_resumable(kind, fake_passes, tmp_path):
    cfg = RegimeConfig(**({**FAST, "em_max_iter": 6, "em_tol": 0.0} if kind == "mixture"
                          else {**VQ_FAST, "max_epochs": 4}))
    a = train_regimes(fake_passes, tmp_path / "a", cfg, progress=False)
    b = train_regimes(fake_passes, tmp_path / "b", cfg, progress=False)
    sa, sb = a.emission.state_dict(), b.emission.state_dict()
    assert all(torch.equal(sa[key], sb[key]) for key in sa)
    # interrupted after 3 iterations/epochs, then resumed: the uninterrupted run's weights
    assert train_regimes(fake_passes, tmp_path / "c", cfg, progress=False,
                         stop_after_epoch=2) is None
    assert not (tmp_path / "c" / "model.pt").exists()
    c = train_regimes(fake_passes, tmp_path / "c", cfg, resume=True, progress=False)
    sc = c.emission.state_dict()
    assert all(torch.equal(sa[key], sc[key]) for key in sa)
    assert np.array_equal(a.regime_of, c.regime_of)
    assert len(json.loads((tmp_path / "c" / "history.json").read_text())) == (
        6 if kind == "mixture" else 4)
    other = RegimeConfig.from_dict({**cfg.to_dict(), "k": cfg.k - 1})
    with pytest.raises(ValueError, match=f"another config.*k: {cfg.k} != {cfg.k - 1}"):
        train_regimes(fake_passes, tmp_path / "c", other, resume=True, progress=False)


def test_checkpoint_from_another_config_is_refused(trained, trained_vq):
    _, out = trained
    with pytest.raises(ValueError, match="another config.*components: 8 != 12"):
        RegimeModel.load(out, config=RegimeConfig(**{**FAST, "components": 12}))
    with pytest.raises(ValueError, match="model: 'mixture' != 'vqvae'"):
        RegimeModel.load(out, config=RegimeConfig(**{**FAST, "model": "vqvae"}))
    _, out_vq = trained_vq
    with pytest.raises(ValueError, match="hidden: 32 != 64"):
        RegimeModel.load(out_vq, config=RegimeConfig(**{**VQ_FAST, "hidden": 64}))
    with pytest.raises(FileNotFoundError, match="model.pt"):
        RegimeModel.load(out / "nowhere")


def _model_space(df, scaler):
    return np.column_stack([np.log10(np.maximum(df[f], scaler.floor[f])) if f in LOG_FEATURES
                            else df[f] for f in FEATURES])


def test_log_likelihood_is_the_regime_mixture(trained, fake_passes):
    """Against scipy: regime k's density in the model space (log10 of the log features) is
    the weighted mixture of its components' Gaussians, mapped through the scaler; the
    physical-unit density divides by x ln 10 for every log-scaled feature."""
    model, _ = trained
    df = fake_passes.iloc[:20]
    sc = model.scaler
    y = _model_space(df, sc)
    mix = model.emission
    std = np.array(sc.std)
    w = np.exp(mix.log_weight.numpy())
    per_component = np.stack([
        np.log(w[c]) + stats.multivariate_normal(
            mix.mean[c].numpy() * std + np.array(sc.mean),
            mix.covariance()[c].numpy() * np.outer(std, std)).logpdf(y)
        for c in range(mix.n_components)], 1)
    want = np.stack([logsumexp(per_component[:, model.regime_of == k], axis=1)
                     for k in range(model.k)], 1)
    want -= np.log(np.bincount(model.regime_of, weights=w))
    assert np.allclose(model.log_likelihood(df), want, atol=1e-6)
    x_log = np.maximum(df[LOG_FEATURES].to_numpy(), [sc.floor[f] for f in LOG_FEATURES])
    assert np.allclose(model.log_likelihood(df, space="physical"),
                       want - np.log(x_log * np.log(10)).sum(1)[:, None], atol=1e-6)


def test_vqvae_log_likelihood_is_the_decoder_gaussian(trained_vq, fake_states):
    model, _ = trained_vq
    df = fake_states.iloc[:20]
    mean, logvar = (t.double().numpy() for t in model.net.regime_gaussians())
    sc = model.scaler
    loc = mean * sc.std + np.array(sc.mean)
    scale = np.exp(0.5 * logvar) * sc.std
    want = stats.norm.logpdf(_model_space(df, sc)[:, None, :], loc[None], scale[None]).sum(-1)
    assert np.allclose(model.log_likelihood(df), want, atol=1e-6)


@pytest.mark.parametrize("which", ["trained", "trained_vq"])
def test_samples_follow_their_regime(which, request):
    model, _ = request.getfixturevalue(which)
    for k in range(model.k):
        s = model.sample(k, 2000, seed=1)
        assert list(s.columns) == FEATURES and len(s) == 2000
        assert (s[LOG_FEATURES] > 0).all().all()
        # drawn states are most probable under their own regime
        joint = model.log_likelihood(s) + model.regime_log_weight()
        assert (joint.argmax(1) == k).mean() > 0.8
    assert model.sample(0, 5, seed=3).equals(model.sample(0, 5, seed=3))
    with pytest.raises(ValueError, match="out of range"):
        model.sample(model.k, 5)


def test_bad_input(fake_passes, tmp_path):
    with pytest.raises(ValueError, match=r"missing columns \['n_mean'\]"):
        train_regimes(fake_passes.drop(columns="n_mean"), tmp_path, RegimeConfig(**FAST))
    bad = fake_passes.copy()
    bad.loc[[3, 7], "T_mean"] = np.nan
    with pytest.raises(ValueError, match=r"2 rows have NaN.*T_mean"):
        train_regimes(bad, tmp_path, RegimeConfig(**FAST))
    with pytest.raises(ValueError, match="3 states, fewer than the 4 regimes"):
        train_regimes(fake_passes.iloc[:3], tmp_path, RegimeConfig(**FAST))
    with pytest.raises(ValueError, match="3 training states, fewer than 4 components"):
        train_regimes(fake_passes.iloc[:4], tmp_path, RegimeConfig(**FAST))
    with pytest.raises(ValueError, match="no 'time' column"):
        train_regimes(fake_passes.drop(columns="time"), tmp_path, RegimeConfig(**FAST))
    with pytest.raises(ValueError, match="unknown fields"):
        RegimeConfig.from_dict({"k": 3, "colour": "red"})
    with pytest.raises(ValueError, match="k=9 regimes need 1 <= k <= components=8"):
        train_regimes(fake_passes, tmp_path, RegimeConfig(**{**FAST, "k": 9}))
    with pytest.raises(ValueError, match="model must be one of"):
        RegimeConfig(model="kmeans").check()


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
    hot = {"x_gsm": -3.0, "r": 8, "n": 0.5, "T": 4000, "abs_Vx": 5, "V": 10, "B": 25,
           "beta": 1.0}
    assert name_regime(hot) == "outer magnetosphere"
    assert name_regime({**hot, "x_gsm": 4.0}) == "dayside magnetosphere"
    assert name_regime({**hot, "x_gsm": -4.0}) == "nightside magnetosphere"


def test_names_are_unique_and_say_what_differs():
    sheath = {"x_gsm": 9.0, "y_gsm": 0.0, "r": 10, "T": 200, "abs_Vx": 150, "V": 160,
              "beta": 2.0, "B": 20.0}
    rows = [{**sheath, "n": 10.0, "count": 30}, {**sheath, "n": 12.0, "B": 60.0, "count": 20},
            {**sheath, "n": 11.0, "B": 61.0, "count": 10},
            {"x_gsm": -20, "y_gsm": 0.0, "r": 21, "n": 0.02, "T": 300, "abs_Vx": 5, "V": 10,
             "B": 25, "beta": 0.004, "count": 5}]
    names = name_regimes(pd.DataFrame(rows))
    # split at the widest gap, |B| 20 | 60, 61 nT; then the strong-field pair by density
    assert names == ["magnetosheath (weak field)", "magnetosheath (strong field, dense)",
                     "magnetosheath (strong field, tenuous)", "lobe"]
    twins = pd.DataFrame([rows[0], rows[0]])  # nothing tells them apart: numbered
    assert name_regimes(twins) == ["magnetosheath", "magnetosheath 2"]


def test_scores():
    truth = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 2)
    assert score_codes(np.array([5] * 4 + [1] * 4 + [2] * 2), truth) == {
        "ari": 1.0, "nmi": 1.0, "purity": 1.0}
    # one code for everything: purity = majority share 0.4, ARI 0
    s = score_codes(np.zeros(10, int), truth)
    assert s["purity"] == pytest.approx(0.4) and s["ari"] == pytest.approx(0.0)
    # splitting a region costs no purity
    assert score_codes(np.array([0, 0, 1, 1, 2, 2, 2, 2, 3, 3]), truth)["purity"] == 1.0


def test_evaluate_report(trained, trained_vq, fake_passes):
    model, _ = trained
    rep = evaluate_regimes(model, fake_passes, variants={"vq": trained_vq[0]}, max_fit=3000,
                           seeds=(0, 1))
    for scores in (rep["scores"], rep["variants"]["vq"]["scores"]):
        assert set(scores["smoothed"]) == set(scores["per_state"]) == {"ari", "nmi", "purity"}
    for key in ("kmeans", "gmm"):
        assert [r["seed"] for r in rep[key]["seeds"]] == [0, 1]
        assert rep[key]["ari_max"] >= rep[key]["ari"]
    assert rep["regimes_used"] == model.k and 1 <= rep["perplexity"] <= model.k
    with pytest.raises(ValueError, match="no 'region' column"):
        evaluate_regimes(model, fake_passes.drop(columns="region"))


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
