"""Training: fit the fine components (EM mixture or VQ-VAE), lump them into regimes, save.

``train_regimes(states, out_dir, config)`` runs, in order:

1. hold out 10 % of the **days** (``data.split_days``) and fit the feature scaler on the rest;
2. fit the fine components on the training days, each state weighted by 1 / (states in its
   octree leaf) unless ``octree_weighting=False``: a full-covariance Gaussian mixture by EM
   (``config.model == "mixture"``, :func:`fit_mixture`) or the VQ-VAE (:func:`train_vqvae`,
   the explicit loop below);
3. count the transitions between components along the training days' passes, lump the
   components into ``k`` metastable regimes and coarse-grain the transition matrix
   (``temporal.py``);
4. measure on the held-out days: the mixture's NLL per state, the regime HMM's NLL per window
   and the regimes' metastability (``diagnostics.json``); assign every state, write the
   summary and the model directory.

Both fits checkpoint after every iteration/epoch; ``resume=True`` continues where an
interrupted run stopped and ends where an uninterrupted one would (deterministic per seed).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp, softmax

from atlas_core.features import FeatureScaler, check_states, write_json_atomic
from atlas_core.octree import Octree
from atlas_core.regimes.data import octree_weights, split_days
from atlas_core.regimes.mixture import EMState, GaussianMixture, fit_mixture
from atlas_core.regimes.model import RegimeModel, logsumexp_groups, save_torch_atomic
from atlas_core.regimes.summary import regime_summary
from atlas_core.regimes.temporal import (
    coarse_transitions,
    find_passes,
    forward_backward,
    lump,
    normalised_cut,
    transition_flux,
)
from atlas_core.states import FEATURES, POSITION_GSM
from atlas_core.vqvae import VQVAE, RegimeConfig, config_mismatch, pick_device

log = logging.getLogger("atlas_core.regimes")

RESUMABLE_FIELDS = ("max_epochs", "patience", "num_threads", "device", "em_max_iter")
"""Config fields that may change between a checkpoint and its resumed run (max_epochs also
sets the VQ-VAE's learning-rate schedule: resuming with another continues on the new one)."""


def train_regimes(states: pd.DataFrame, out_dir, config: RegimeConfig | None = None,
                  octree: Octree | None = None, resume: bool = False,
                  progress: bool = True, stop_after_epoch: int | None = None) -> RegimeModel:
    """Train a regime model on ``states`` and write the model directory ``out_dir``.

    ``octree`` (optional) supplies the occupancy for the octree-informed weights; without it
    the tree is built over the states' GSM positions. ``resume=True`` continues from
    ``out_dir/checkpoint.pt`` (refused, with the reason, when its config differs).
    ``stop_after_epoch`` ends this call after that epoch (VQ-VAE) or EM iteration (mixture,
    counted from 0), as an interruption would (the checkpoint is written; the model directory
    is not), and returns ``None``.
    """
    config = config or RegimeConfig()
    config.check()
    check_states(states)
    if config.n_features != len(FEATURES):
        raise ValueError(f"config: n_features={config.n_features}, the table has {len(FEATURES)}")
    if len(states) < max(config.k, 2):
        raise ValueError(f"state table: {len(states)} states, fewer than the {config.k} "
                         "regimes")
    if config.components > config.k and "time" not in states.columns:
        raise ValueError("state table: no 'time' column; lumping components into regimes "
                         "needs the windows' order (or set components = k)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.num_threads)
    say = log.info if progress else log.debug
    t0 = time.perf_counter()

    held = split_days(states, config.val_fraction, config.seed)
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    config = fit_size(config, len(train_idx), say)
    if len(train_idx) < config.components:
        raise ValueError(f"state table: {len(train_idx)} training states, fewer than "
                         f"{config.components} components")
    scaler = FeatureScaler().fit(states.iloc[train_idx])
    x = scaler.transform(states, dtype=np.float64)
    weights = (octree_weights(states[POSITION_GSM].to_numpy(dtype=np.float64), octree)
               if config.octree_weighting else np.ones(len(states)))
    ckpt_path = out_dir / "checkpoint.pt"
    if config.model == "mixture":
        model, diagnostics, history = fit_mixture_restarts(
            x, states, held, weights, scaler, config, ckpt_path, resume, say, stop_after_epoch)
    else:
        net, history = train_vqvae(x, train_idx, val_idx, weights, config, ckpt_path, resume,
                                   say, stop_after_epoch)
        model = None if net is None else RegimeModel(net, scaler, config)
        diagnostics = {} if model is None else fit_regimes(model, states, held)
    if model is None:
        return None
    diagnostics["train_seconds"] = time.perf_counter() - t0
    say("regimes: %d components -> %d regimes; held-out NLL %.3f per state, %.3f per window "
        "with the pass; metastability %.2f of %d", config.components, config.k,
        diagnostics["heldout_nll"], diagnostics.get("heldout_sequence_nll", np.nan),
        diagnostics.get("heldout_metastability", np.nan), config.k)
    codes, dist = model.assign(states)
    model._summary = regime_summary(states, codes, dist, config.k)
    model.save(out_dir)
    write_json_atomic(out_dir / "history.json", history)
    write_json_atomic(out_dir / "diagnostics.json", diagnostics)
    say("regimes: %s (%.1f s)", ", ".join(f"{i}={n}" for i, n in enumerate(model.names)),
        time.perf_counter() - t0)
    return model


def fit_size(config: RegimeConfig, n_train: int, say) -> RegimeConfig:
    """``config`` with at most one mixture component per ``states_per_component`` training
    states (and at least ``k``): a full-covariance component has 1 + d + d(d+1)/2 = 120
    parameters."""
    if config.model != "mixture":
        return config
    fit = min(config.components, max(config.k, n_train // config.states_per_component))
    if fit != config.components:
        say("%d training states: %d components instead of %d (%d states per component)",
            n_train, fit, config.components, config.states_per_component)
        config = RegimeConfig.from_dict({**config.to_dict(), "components": fit})
    return config


def fit_regimes(model: RegimeModel, states: pd.DataFrame, held: np.ndarray) -> dict:
    """Lump ``model``'s components into its ``k`` regimes from the transitions of the
    training days (``~held``), set its transition matrix, and return the held-out criteria:
    ``heldout_nll`` (nats per state, model space, the fine mixture), ``heldout_sequence_nll``
    (nats per window, the regime HMM along each held-out pass), ``heldout_metastability``
    (K minus the normalised cut of the held-out transitions) and ``train_ncut``."""
    cfg = model.config
    lp = model.component_log_prob(states)
    passes = find_passes(states, cfg.max_gap_s)
    if passes is None:  # no time: one regime per component, no transitions
        model.regime_of, model.transition = np.arange(cfg.components), None
        return {"heldout_nll": float(-(logsumexp(lp[held], 1).mean()
                                        + model.scaler.log_jacobian()))}
    post = softmax(lp, axis=1)
    flux = transition_flux(post, passes, ~held)
    model.regime_of = lump(flux, cfg.k) if cfg.components > cfg.k else np.arange(cfg.k)
    model.transition = coarse_transitions(flux, model.regime_of, cfg.k)
    return heldout_criteria(model, states, held, lp) | {
        "train_ncut": normalised_cut(flux, model.regime_of)}


def heldout_criteria(model: RegimeModel, states: pd.DataFrame, held: np.ndarray,
                     component_lp: np.ndarray | None = None) -> dict:
    """The held-out criteria of :func:`fit_regimes` for a fitted model."""
    lp = model.component_log_prob(states) if component_lp is None else component_lp
    out = {"n_heldout": int(held.sum()),
           "heldout_nll": float(-(logsumexp(lp[held], 1).mean() + model.scaler.log_jacobian()))}
    sub = states.iloc[np.flatnonzero(held)]
    passes = find_passes(sub, model.config.max_gap_s)
    if passes is None or model.transition is None or len(sub) == 0:
        return out
    joint = logsumexp_groups(lp[held], model.regime_of, model.k)
    log_w = model.regime_log_weight()
    _, inc = forward_backward(joint - log_w, passes, model.transition, np.exp(log_w))
    flux = transition_flux(softmax(lp[held], axis=1), passes)
    out["heldout_sequence_nll"] = float(-(inc.mean() + model.scaler.log_jacobian()))
    out["heldout_metastability"] = model.k - normalised_cut(flux, model.regime_of)
    return out


# --- the Gaussian mixture ------------------------------------------------------------------

def _check_resume(ckpt: dict, config: RegimeConfig, path: Path) -> None:
    saved = RegimeConfig.from_saved(dict(ckpt["config"])).to_dict()
    keys = [k for k in saved if k not in RESUMABLE_FIELDS]
    diff = config_mismatch(saved, config.to_dict(), keys)
    if diff:
        raise ValueError(f"{path}: checkpoint was trained with another config "
                         f"({'; '.join(diff)}); use a new output folder or the same config")


def fit_components(x: np.ndarray, train_idx: np.ndarray, weights: np.ndarray,
                   config: RegimeConfig, seed: int, checkpoint: dict | None, say,
                   stop_after: int | None) -> tuple[GaussianMixture | None, list]:
    """EM on the training states (at most ``max_fit_states`` of them, a seeded random
    subset) from a k-means start drawn with ``seed``. ``checkpoint`` (optional) is a dict
    with ``"path"`` and ``"data"``: the run continues from ``data["em"]`` when present and
    stores its state there, saved to ``path``, after every iteration. Returns (mixture,
    history), or (None, history) when stopped by ``stop_after`` (an iteration number)."""
    idx = train_idx
    if len(idx) > config.max_fit_states:
        rng = np.random.default_rng([config.seed, 5])
        idx = np.sort(rng.choice(idx, config.max_fit_states, replace=False))
    run = {} if checkpoint is None else checkpoint["data"]
    state = EMState(**run["em"]) if "em" in run else None
    history = list(run.get("history", []))
    t0 = time.perf_counter()

    def on_iteration(st: EMState) -> None:
        history.append({"iteration": st.iteration, "log_lik": st.log_lik,
                        "seconds": time.perf_counter() - t0})
        if st.iteration % 10 == 0 or st.converged:
            say("EM %3d: mean log-likelihood %.4f per state (%d states, %d components, "
                "seed %d, %.1f s)", st.iteration, st.log_lik, len(idx), config.components,
                seed, time.perf_counter() - t0)
        if checkpoint is not None:
            run.update({"em": vars(st), "history": history})
            checkpoint["save"]()

    max_iter = config.em_max_iter if stop_after is None else min(config.em_max_iter,
                                                                 stop_after + 1)
    state = fit_mixture(x[idx], config.components, weight=weights[idx], seed=seed,
                        max_iter=max_iter, tol=config.em_tol, reg_covar=config.reg_covar,
                        state=state, on_iteration=on_iteration)
    if not state.converged and state.iteration < config.em_max_iter:
        return None, history
    return GaussianMixture(state.mean, state.prec_chol, state.log_weight), history


def fit_mixture_restarts(x, states, held, weights, scaler, config: RegimeConfig,
                         ckpt_path: Path, resume: bool, say, stop_after: int | None):
    """``config.n_init`` EM runs from different k-means starts (seeds ``seed + 1000 r``),
    each lumped into regimes; keep the run whose regimes have the lowest normalised cut on
    the training days (the lumping's own objective: the most metastable regimes). Returns
    (model, diagnostics with every run's criteria, history of the kept run), or (None, ...)
    when stopped. Every run is checkpointed in ``ckpt_path``."""
    data = {"config": config.to_dict(), "runs": {}}
    if resume and ckpt_path.exists():
        saved = torch.load(ckpt_path, weights_only=True)
        _check_resume(saved, config, ckpt_path)
        data["runs"] = dict(saved.get("runs", {}))
        say("resuming %s (%d EM runs stored)", ckpt_path, len(data["runs"]))
    train_idx = np.flatnonzero(~held)
    best, runs = None, []
    for r in range(config.n_init):
        seed = config.seed + 1000 * r
        run = data["runs"].setdefault(str(r), {})
        ckpt = {"data": run, "save": lambda: save_torch_atomic(data, ckpt_path)}
        mix, history = fit_components(x, train_idx, weights, config, seed, ckpt, say,
                                      stop_after)
        if mix is None:
            say("stopping after EM iteration %d of run %d (checkpoint %s)", stop_after, r,
                ckpt_path)
            return None, {}, history
        model = RegimeModel(mix, scaler, config)
        crit = fit_regimes(model, states, held)
        runs.append({"seed": seed, "train_log_lik": history[-1]["log_lik"],
                     "em_iterations": len(history), **crit})
        if best is None or crit["train_ncut"] < best[1]["train_ncut"]:
            best = (model, crit, history, r)
    model, crit, history, kept = best
    if config.n_init > 1:
        say("kept EM run %d of %d (normalised cut %s)", kept, config.n_init,
            ", ".join(f"{run['train_ncut']:.3f}" for run in runs))
    return model, {**crit, "kept_run": kept, "runs": runs}, history


# --- the VQ-VAE ----------------------------------------------------------------------------

def _perplexity(counts: np.ndarray) -> float:
    p = counts / max(counts.sum(), 1)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


@torch.no_grad()
def _evaluate_loss(net: VQVAE, x: torch.Tensor, w: torch.Tensor, quantise: bool,
                   batch: int = 65536) -> tuple[float, float, float, np.ndarray]:
    """Weighted mean loss, reconstruction MSE and NLL, and code counts, over ``x`` (nearest
    codes: the inference path)."""
    net.eval()
    loss = mse = nll = 0.0
    counts = np.zeros(net.config.components)
    for s in range(0, len(x), batch):
        out = net(x[s:s + batch], quantise=quantise)
        wb = w[s:s + batch]
        loss += float(((out["nll"] + net.config.beta * out["commit"]) * wb).sum())
        nll += float((out["nll"] * wb).sum())
        mse += float((out["sq_err"] * wb).sum())
        counts += np.bincount(out["codes"].cpu().numpy(), minlength=net.config.components)
    net.train()
    total = float(w.sum())
    return loss / total, mse / total, nll / total, counts


def train_vqvae(x: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
                weights: np.ndarray, config: RegimeConfig, ckpt_path: Path, resume: bool,
                say, stop_after_epoch: int | None) -> tuple[VQVAE | None, list]:
    """The VQ-VAE's training loop (``atlas_core.vqvae``): a warm-up epoch as a plain
    autoencoder, k-means codebook initialisation, then EMA-codebook epochs with early stopping
    on the held-out days' NLL. Each epoch draws the training states with probability
    proportional to their weights; per-epoch randomness is seeded by ``(seed, epoch)``."""
    device = pick_device(config.device)
    x_all = torch.as_tensor(x, dtype=torch.float32, device=device)
    p_train = weights[train_idx] / weights[train_idx].sum()
    x_val = x_all[val_idx]
    w_val = torch.as_tensor(weights[val_idx], dtype=torch.float32, device=device)
    torch.manual_seed(config.seed)
    net = VQVAE(config).to(device)
    opt = torch.optim.AdamW(list(net.encoder.parameters()) + list(net.decoder.parameters()),
                            lr=config.lr, weight_decay=config.weight_decay)
    state = {"epoch": -1, "best_val": float("inf"), "best_model": None, "bad_epochs": 0,
             "history": [], "done": False}
    if resume and ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=True)
        _check_resume(ckpt, config, ckpt_path)
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state.update({k: ckpt[k] for k in state})
        state["done"] = bool(state["done"]) and config.max_epochs <= state["epoch"] + 1
        say("resuming %s from epoch %d", ckpt_path, state["epoch"] + 1)

    n_train, n_codes = len(train_idx), config.components
    for epoch in range(state["epoch"] + 1, config.max_epochs):
        if state["done"]:
            break
        t0 = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = (rng.choice(train_idx, size=n_train, p=p_train) if config.octree_weighting
                 else rng.permutation(train_idx))
        quantise = epoch >= config.warmup_epochs
        frac = epoch / max(config.max_epochs - 1, 1)  # cosine schedule, a function of the epoch
        lr = config.lr * float(config.lr_min_ratio + (1 - config.lr_min_ratio)
                               * 0.5 * (1 + np.cos(np.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        if epoch == config.warmup_epochs:  # k-means codebook initialisation
            with torch.no_grad():
                net.init_codebook(net.encoder(x_all[order[: config.kmeans_samples]]),
                                  seed=config.seed)
        counts = np.zeros(n_codes)
        tot_loss = tot_mse = 0.0
        restarts = 0
        order_t = torch.as_tensor(order, device=device)
        for s in range(0, n_train, config.batch_size):
            xb = x_all[order_t[s:s + config.batch_size]]
            target = (net.likelihood_codes(xb) if quantise and config.assignment == "likelihood"
                      else None)
            out = net(xb, quantise=quantise, codes=target)
            loss = net.loss(out)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
            opt.step()
            if quantise:
                restarts += net.codebook.update(out["z_e"].detach(), out["codes"], gen)
            counts += np.bincount(out["codes"].cpu().numpy(), minlength=n_codes)
            tot_loss += loss.item() * len(xb)
            tot_mse += out["sq_err"].sum().item()
        val_loss, val_mse, val_nll, val_counts = (
            _evaluate_loss(net, x_val, w_val, quantise) if len(val_idx)
            else (tot_loss / n_train, 0.0, 0.0, counts))
        row = {"epoch": epoch, "phase": "vq" if quantise else "warmup",
               "loss": tot_loss / n_train, "recon_mse": tot_mse / n_train,
               "val_loss": val_loss, "val_nll": val_nll, "val_recon_mse": val_mse,
               "codes_used": int((counts > 0).sum()), "perplexity": _perplexity(counts),
               "val_perplexity": _perplexity(val_counts), "restarts": restarts,
               "seconds": time.perf_counter() - t0}
        state["history"].append(row)
        say("epoch %2d %-6s loss %.3f val %.3f mse %.3f codes %d perplexity %.2f restarts %d "
            "(%.1f s)", epoch, row["phase"], row["loss"], val_loss, row["recon_mse"],
            row["codes_used"], row["perplexity"], restarts, row["seconds"])
        if quantise:
            # early stopping on the held-out NLL through the inference path (nearest codes):
            # the generative objective; the commitment term is a regulariser only
            if val_nll < state["best_val"] - config.min_delta or state["best_model"] is None:
                state["best_val"], state["bad_epochs"] = val_nll, 0
                state["best_model"] = copy.deepcopy(net.state_dict())
            else:
                state["bad_epochs"] += 1
                if state["bad_epochs"] >= config.patience:
                    say("early stop: held-out NLL has not improved for %d epochs",
                        config.patience)
                    state["done"] = True
        state["epoch"] = epoch
        save_torch_atomic({"config": config.to_dict(), "model": net.state_dict(),
                           "optimizer": opt.state_dict(), **state}, ckpt_path)
        if stop_after_epoch is not None and epoch >= stop_after_epoch and not state["done"]:
            say("stopping after epoch %d (checkpoint %s)", epoch, ckpt_path)
            return None, state["history"]

    if state["best_model"] is None:  # max_epochs <= warmup_epochs: no VQ epoch yet
        raise ValueError(f"config: max_epochs={config.max_epochs} leaves no epoch after "
                         f"{config.warmup_epochs} warm-up epochs")
    net.load_state_dict(state["best_model"])
    return net.cpu(), state["history"]
