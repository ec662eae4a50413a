"""How good are the regimes: scores against truth, baselines, variants, stability, and K.

Everything here *measures*; nothing feeds back into training. The truth regions exist only in
the synthetic archive (``states["region"]``) and are read by :func:`score_codes` alone, after
the models are fitted.

- :func:`evaluate_regimes`: the model's ARI / NMI / purity next to k-means and a
  full-covariance Gaussian mixture with the same K (scikit-learn, several seeds), and next to
  any variant models given.
- :func:`compare_variants`: trains the variants (VQ-VAE as in the paper, VQ-VAE with lumped
  codes, one mixture component per regime, no octree weighting) with the model's settings.
- :func:`stability`: the model retrained with other seeds and on two halves of the days;
  adjusted Rand index between the labelings of all states.
- :func:`k_sweep`: for K = 4..20, the held-out NLL of a K-component mixture (per state) and of
  the model's components lumped into K regimes (per window, with the pass), the held-out
  metastability, and the eigenvalues of the components' transition matrix.
"""

from __future__ import annotations

import json
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import logsumexp, softmax

from atlas_core.features import check_states, write_json_atomic
from atlas_core.octree import Octree
from atlas_core.regimes.data import day_index, split_days
from atlas_core.regimes.mixture import GaussianMixture, fit_mixture
from atlas_core.regimes.model import RegimeModel
from atlas_core.regimes.temporal import (
    coarse_transitions,
    find_passes,
    forward_backward,
    lump,
    normalised_cut,
    transition_flux,
)
from atlas_core.regimes.train import heldout_criteria, train_regimes
from atlas_core.vqvae import RegimeConfig

BASELINE_SEEDS = (0, 1, 2)


def score_codes(codes: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Adjusted Rand index, normalised mutual information, and purity (each code mapped to
    its majority truth region) of a clustering against truth labels."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    codes = np.asarray(codes)
    truth_ids, truth_int = np.unique(np.asarray(truth).astype(str), return_inverse=True)
    _, code_int = np.unique(codes, return_inverse=True)
    table = np.zeros((code_int.max() + 1, len(truth_ids)), dtype=np.int64)
    np.add.at(table, (code_int, truth_int), 1)
    return {"ari": float(adjusted_rand_score(truth_int, code_int)),
            "nmi": float(normalized_mutual_info_score(truth_int, code_int)),
            "purity": float(table.max(axis=1).sum() / len(codes))}


def _truth(states: pd.DataFrame) -> np.ndarray:
    if "region" not in states.columns:
        raise ValueError("evaluate: the state table has no 'region' column (truth labels "
                         "exist only for the synthetic archive)")
    return states["region"].astype(str).to_numpy()


def _mean_scores(runs: list[dict]) -> dict:
    out = {key: float(np.mean([r[key] for r in runs])) for key in ("ari", "nmi", "purity")}
    out.update({f"{key}_max": float(np.max([r[key] for r in runs])) for key in ("ari", "nmi")})
    return out | {"seeds": runs}


def baselines(x: np.ndarray, truth: np.ndarray, k: int, max_fit: int = 100_000,
              seeds=BASELINE_SEEDS) -> dict:
    """k-means (4 restarts) and a full-covariance Gaussian mixture (scikit-learn, 2 restarts,
    reg_covar 1e-4), K clusters each, fitted per seed on at most ``max_fit`` random states of
    the scaled features ``x`` and applied to all: their scores, per seed and mean."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture as SkGMM
    from threadpoolctl import threadpool_limits

    km_runs, gmm_runs = [], []
    t0 = time.perf_counter()
    # one BLAS/OpenMP thread: ~10x faster than two on a shared 2-core machine
    with threadpool_limits(1):
        for seed in seeds:
            rng = np.random.default_rng(seed)
            fit = x[rng.permutation(len(x))[:max_fit]]
            km = KMeans(k, n_init=4, random_state=seed).fit(fit)
            km_runs.append({"seed": seed, **score_codes(km.predict(x), truth)})
            gmm = SkGMM(k, covariance_type="full", n_init=2, random_state=seed,
                        reg_covar=1e-4).fit(fit)
            gmm_runs.append({"seed": seed, **score_codes(gmm.predict(x), truth)})
    return {"kmeans": _mean_scores(km_runs), "gmm": _mean_scores(gmm_runs),
            "baseline_seconds": time.perf_counter() - t0}


def model_scores(model: RegimeModel, states: pd.DataFrame, truth: np.ndarray) -> dict:
    """The model's scores with its pass-smoothed assignment and state by state."""
    lp = model.component_log_prob(states)
    out = {"smoothed": score_codes(model.posterior(states, lp, smoothing=True).argmax(1),
                                   truth),
           "per_state": score_codes(model.posterior(states, lp, smoothing=False).argmax(1),
                                    truth)}
    out["assigned"] = out["smoothed" if model.config.smoothing else "per_state"]
    return out


def evaluate_regimes(model: RegimeModel, states: pd.DataFrame,
                     variants: dict[str, RegimeModel] | None = None,
                     max_fit: int = 100_000, seeds=BASELINE_SEEDS) -> dict:
    """Score ``model`` (and the ``variants``) against ``states["region"]``, next to k-means
    and a full-covariance Gaussian mixture with the same K. Returns the JSON-ready report."""
    truth = _truth(states)
    check_states(states)
    codes, _ = model.assign(states)
    counts = np.bincount(codes, minlength=model.k)
    report = {"n_states": len(states), "k": model.k, "model": model.config.model,
              "components": model.config.components, "smoothing": model.config.smoothing,
              "octree_weighting": model.config.octree_weighting,
              "scores": model_scores(model, states, truth)}
    report["variants"] = {name: {"config": {key: m.config.to_dict()[key] for key in (
        "model", "components", "k", "octree_weighting")},
        "scores": model_scores(m, states, truth)} for name, m in (variants or {}).items()}
    report |= baselines(model.scaler.transform(states), truth, model.k, max_fit, seeds)
    p = counts / counts.sum()
    report["perplexity"] = float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))
    report["regimes_used"] = int((counts > 0).sum())
    report["truth_regions"] = {str(k): int(v) for k, v in
                               zip(*np.unique(truth, return_counts=True), strict=True)}
    # which truth region each regime holds most of (for reading the names, not for scoring)
    names = model.names if model._summary is not None else [str(c) for c in range(model.k)]
    report["regime_majority"] = {}
    for c in np.flatnonzero(counts):
        regions, n = np.unique(truth[codes == c], return_counts=True)
        report["regime_majority"][int(c)] = {"name": names[c], "majority": str(regions[n.argmax()]),
                                             "share": float(n.max() / n.sum()),
                                             "count": int(counts[c])}
    return report


# --- variants -------------------------------------------------------------------------------

def variant_configs(config: RegimeConfig) -> dict[str, RegimeConfig]:
    """The alternatives measured beside ``config`` (same seed, K and training settings)."""
    base = config.to_dict()
    out = {
        "vqvae_paper": {"model": "vqvae", "components": config.k},
        "vqvae_lumped": {"model": "vqvae", "components": config.components},
        "mixture_one_per_regime": {"model": "mixture", "components": config.k},
        "mixture_unweighted": {"model": "mixture", "components": config.components,
                               "octree_weighting": not config.octree_weighting},
    }
    return {name: RegimeConfig.from_dict({**base, **change}) for name, change in out.items()
            if {**base, **change} != base}


def _load_or_train(states, out: Path, config: RegimeConfig, octree, progress) -> RegimeModel:
    saved = out / "config.json"
    if saved.exists() and (out / "model.pt").exists() and RegimeConfig.from_saved(
            json.loads(saved.read_text())) == config:
        return RegimeModel.load(out)
    return train_regimes(states, out, config, octree=octree, progress=progress)


def compare_variants(model_dir, states: pd.DataFrame, progress: bool = True) -> dict:
    """Train (or load from ``model_dir/variants/<name>``) every variant of the model's config;
    returns {name: model}; their held-out criteria are in each ``diagnostics.json``."""
    model_dir = Path(model_dir)
    model = RegimeModel.load(model_dir)
    octree = _octree_for(model_dir, states)
    return {name: _load_or_train(states, model_dir / "variants" / name, cfg, octree, progress)
            for name, cfg in variant_configs(model.config).items()}


def _octree_for(model_dir: Path, states: pd.DataFrame) -> Octree | None:
    path = model_dir / "octree.npz"
    if not path.exists():
        return None
    tree = Octree.load(path)
    return tree if len(tree.leaf_of_state) == len(states) else None


def diagnostics_of(model_dir) -> dict:
    path = Path(model_dir) / "diagnostics.json"
    return json.loads(path.read_text()) if path.exists() else {}


# --- stability ------------------------------------------------------------------------------

def stability(model_dir, states: pd.DataFrame, seeds=(1, 2), progress: bool = True) -> dict:
    """Adjusted Rand index between the labelings of all states by the model and by the same
    config retrained with ``seeds``, and between two models trained on the even and the odd
    days (by UTC day number). Models are kept in ``model_dir/stability/``."""
    from sklearn.metrics import adjusted_rand_score

    model_dir = Path(model_dir)
    model = RegimeModel.load(model_dir)
    base = model.config.to_dict()
    labels = {f"seed {model.config.seed}": model.assign(states)[0]}
    for seed in seeds:
        cfg = RegimeConfig.from_dict({**base, "seed": seed})
        m = _load_or_train(states, model_dir / "stability" / f"seed{seed}", cfg,
                           _octree_for(model_dir, states), progress)
        labels[f"seed {seed}"] = m.assign(states)[0]
    day = day_index(states)
    if day is None:
        raise ValueError("stability: the state table has no 'time' column to split days")
    halves = {}
    for name, keep in (("even days", day % 2 == 0), ("odd days", day % 2 == 1)):
        sub = states.iloc[np.flatnonzero(keep)].reset_index(drop=True)
        m = _load_or_train(sub, model_dir / "stability" / name.replace(" ", "_"),
                           model.config, None, progress)
        halves[name] = m.assign(states)[0]
    seed_pairs = {f"{a} vs {b}": float(adjusted_rand_score(labels[a], labels[b]))
                  for a, b in combinations(labels, 2)}
    return {"seed_ari": seed_pairs, "seed_ari_min": min(seed_pairs.values()),
            "seed_ari_mean": float(np.mean(list(seed_pairs.values()))),
            "halves_ari": float(adjusted_rand_score(halves["even days"], halves["odd days"])),
            "halves_vs_model_ari": {h: float(adjusted_rand_score(labels[f"seed {model.config.seed}"],
                                                                 v)) for h, v in halves.items()},
            "n_states": len(states)}


# --- the number of regimes ------------------------------------------------------------------

def k_sweep(model_dir, states: pd.DataFrame, ks=range(4, 21)) -> dict:
    """For each K: the held-out NLL per state of a K-component full-covariance mixture fitted
    like the model's (same training days, weights, EM settings), and of the model's
    components lumped into K regimes the held-out NLL per window along each pass and the
    held-out metastability; plus the leading eigenvalues of the components' one-window
    transition matrix (a gap after the m-th suggests m metastable sets)."""
    model_dir = Path(model_dir)
    model = RegimeModel.load(model_dir)
    cfg = model.config
    held = split_days(states, cfg.val_fraction, cfg.seed)
    x = model.scaler.transform(states, dtype=np.float64)
    from .data import octree_weights

    weights = (octree_weights(states[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(np.float64),
                              _octree_for(model_dir, states))
               if cfg.octree_weighting else np.ones(len(states)))
    train = np.flatnonzero(~held)
    if len(train) > cfg.max_fit_states:
        train = np.sort(np.random.default_rng([cfg.seed, 5]).choice(
            train, cfg.max_fit_states, replace=False))
    lp = model.component_log_prob(states)
    passes = find_passes(states, cfg.max_gap_s)
    flux = transition_flux(softmax(lp, axis=1), passes, ~held)
    rows = []
    for k in ks:
        t0 = time.perf_counter()
        st = fit_mixture(x[train], k, weight=weights[train], seed=cfg.seed,
                         max_iter=cfg.em_max_iter, tol=cfg.em_tol, reg_covar=cfg.reg_covar)
        gmm = GaussianMixture(st.mean, st.prec_chol, st.log_weight)
        gmm_nll = -(logsumexp(gmm.component_log_prob(x[held]).numpy(), 1).mean()
                    + model.scaler.log_jacobian())
        row = {"k": int(k), "gmm_heldout_nll": float(gmm_nll),
               "gmm_seconds": time.perf_counter() - t0}
        if k <= cfg.components:
            lumped = RegimeModel(model.emission, model.scaler,
                                 RegimeConfig.from_dict({**cfg.to_dict(), "k": int(k)}))
            lumped.regime_of = lump(flux, k) if k < cfg.components else np.arange(k)
            lumped.transition = coarse_transitions(flux, lumped.regime_of, k)
            crit = heldout_criteria(lumped, states, held, lp)
            row |= {"lumped_heldout_sequence_nll": crit["heldout_sequence_nll"],
                    "lumped_heldout_metastability": crit["heldout_metastability"],
                    "lumped_train_ncut": normalised_cut(flux, lumped.regime_of)}
        rows.append(row)
    deg = flux.sum(1)
    sym = flux / np.sqrt(np.outer(deg, deg) + 1e-300)
    eig = np.sort(np.linalg.eigvalsh(sym))[::-1][:25]
    gaps = -np.diff(eig)
    return {"rows": rows, "heldout_states": int(held.sum()),
            "transition_eigenvalues": eig.tolist(),
            "largest_gaps_after": [int(i + 1) for i in np.argsort(-gaps[1:24])[:4] + 1]}


def component_sweep(states: pd.DataFrame, config: RegimeConfig,
                    grid=(16, 24, 32, 48, 64, 96), seeds=(0,)) -> dict:
    """For each number of fine components C in ``grid`` (and seed): fit the mixture as
    ``train_regimes`` would (same days, weights, EM settings), lump into ``config.k`` regimes
    and report the held-out criteria (``fit_regimes``) and the fit's CPU seconds."""
    from .data import octree_weights
    from .train import fit_components, fit_regimes

    held = split_days(states, config.val_fraction, config.seed)
    from atlas_core.features import FeatureScaler

    scaler = FeatureScaler().fit(states.iloc[np.flatnonzero(~held)])
    x = scaler.transform(states, dtype=np.float64)
    weights = (octree_weights(states[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(np.float64))
               if config.octree_weighting else np.ones(len(states)))
    rows = []
    for c in grid:
        for seed in seeds:
            cfg = RegimeConfig.from_dict({**config.to_dict(), "components": int(c),
                                          "seed": int(seed), "model": "mixture"})
            t0 = time.process_time()
            mix, history = fit_components(x, np.flatnonzero(~held), weights, cfg, int(seed),
                                          None, lambda *a: None, None)
            cpu = time.process_time() - t0
            model = RegimeModel(mix, scaler, cfg)
            rows.append({"components": int(c), "seed": int(seed), "em_iterations": len(history),
                         "fit_cpu_seconds": cpu, **fit_regimes(model, states, held)})
    return {"k": config.k, "rows": rows}


def evaluate_model_dir(model_dir, states: pd.DataFrame, compare: bool = False,
                       progress: bool = True) -> dict:
    """Evaluate the model in ``model_dir`` (and, with ``compare``, its variants) against
    the truth and write ``evaluation.json``."""
    model_dir = Path(model_dir)
    model = RegimeModel.load(model_dir)
    variants = compare_variants(model_dir, states, progress) if compare else None
    report = evaluate_regimes(model, states, variants=variants, seeds=BASELINE_SEEDS)
    report["diagnostics"] = diagnostics_of(model_dir)
    for name in report["variants"]:
        report["variants"][name]["diagnostics"] = diagnostics_of(model_dir / "variants" / name)
    if (model_dir / "octree.npz").exists():
        tree = Octree.load(model_dir / "octree.npz")
        report["octree"] = {"n_leaves": tree.n_leaves, "n_nonempty": tree.n_nonempty,
                            "depth": tree.depth, "min_size_re": tree.min_size_re}
    write_json_atomic(model_dir / "evaluation.json", report)
    return report


__all__ = ["score_codes", "baselines", "evaluate_regimes", "compare_variants", "stability",
           "k_sweep", "evaluate_model_dir", "variant_configs", "forward_backward"]
