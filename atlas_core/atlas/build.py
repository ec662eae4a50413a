"""Build an atlas directory from a state table: octree, regime model, atlas dataset.

``build_atlas(states, out_dir)`` runs, in order: the octree over the states' GSM positions
(:class:`atlas_core.octree.Octree`), the regime model's training (:func:`atlas_core.regimes.train_regimes`)
or a given trained model, the regime code of every state, the sampling model (passes, their
intra-pass correlation and the hierarchy strengths, fitted on whole-day folds:
:class:`atlas_core.atlas.sampling.CellStatistics`), the atlas dataset
(:func:`atlas_core.atlas.dataset.build_dataset`), and the cross-fitted (out-of-fold) anomaly
scores whose distribution calibrates the anomaly percentiles. Everything lands in ``out_dir``
(see :mod:`atlas_core.atlas.query` for the layout); each file is written atomically.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.atlas.anomaly import activity_index, crossfit_scores
from atlas_core.atlas.conditioning import ActivityBins
from atlas_core.atlas.dataset import add_anomaly_quantiles, build_dataset, save_dataset
from atlas_core.atlas.errors import AtlasError
from atlas_core.atlas.passes import spacecraft_of
from atlas_core.atlas.posterior import DEFAULT_ALPHA, DEFAULT_LEVEL
from atlas_core.atlas.sampling import DEFAULT_MIN_EFFECTIVE, CellStatistics, day_folds
from atlas_core.states import POSITION_GSM

log = logging.getLogger(__name__)


def _codebook(model) -> np.ndarray | None:
    """The model's codebook vectors when it exposes them (K, latent_dim)."""
    for path in ("codebook", "net.codebook.embed", "vqvae.codebook.embed", "module.codebook.embed"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        try:
            arr = obj.detach().cpu().numpy() if hasattr(obj, "detach") else np.asarray(obj)
        except (TypeError, ValueError):
            continue
        if arr.ndim == 2:
            return arr
    return None


def _read_provenance(states_path: Path | None) -> dict:
    if states_path is None:
        return {}
    p = Path(states_path) / "_provenance.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as err:
        log.warning("%s: unreadable provenance (%s); continuing without it", p, err)
        return {}


COORDS = ("gsm", "normalised")
"""Frames an atlas can be built in (``build_atlas(coords=...)``, ``atlas build --coords``)."""


def _boundary_columns(df: pd.DataFrame, coords: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The state table with the boundary-normalised columns (``r_over_rmp``, ``sheath_fraction``,
    ``pdyn_npa``, ``bz_nt``; NaN without OMNI) and the (N, 3) positions the octree is built on:
    GSM, or for ``coords="normalised"`` the reference-frame positions, also kept as ``x_norm``,
    ``y_norm``, ``z_norm`` (R_E)."""
    from atlas_core.physics.normalised import (
        normalised_coordinates,
        reference_positions,
        state_drivers,
    )

    gsm = df[POSITION_GSM].to_numpy(np.float64)
    pdyn, bz = state_drivers(df)
    norm = normalised_coordinates(gsm, pdyn, bz)
    df = df.assign(r_over_rmp=norm["r_over_rmp"], sheath_fraction=norm["sheath_fraction"],
                   pdyn_npa=pdyn, bz_nt=bz)
    if coords == "gsm":
        return df, gsm
    positions, mapped = reference_positions(gsm, pdyn, bz)
    log.info("atlas: boundary-normalised positions for %d of %d states (the rest, without a "
             "solar-wind driver, keep their GSM position)", int(mapped.sum()), len(df))
    df = df.assign(x_norm=positions[:, 0], y_norm=positions[:, 1], z_norm=positions[:, 2])
    return df, positions


def _coords_attrs(coords: str) -> dict:
    from atlas_core.physics.normalised import REFERENCE_BZ_NT, REFERENCE_PDYN_NPA

    if coords == "gsm":
        return {"coords": "gsm"}
    return {
        "coords": "normalised",
        "coordinate_system": (
            "boundary-normalised GSM, Earth radii (R_E): each state moved radially so that the "
            "magnetopause (Shue et al. 1998) and bow shock (Jelinek et al. 2012) of its moment "
            f"sit where they are for Pdyn = {REFERENCE_PDYN_NPA:g} nPa, IMF Bz = "
            f"{REFERENCE_BZ_NT:g} nT (atlas_core.physics.normalised)"),
        "reference_pdyn_nPa": REFERENCE_PDYN_NPA,
        "reference_bz_nT": REFERENCE_BZ_NT,
    }


def _citation_attrs(df: pd.DataFrame, synthetic: bool) -> dict:
    """ISTP/CF citation and acknowledgement attributes (:mod:`atlas_core.citation`) for the
    missions and indices the states hold."""
    from atlas_core.citation import global_attributes, references_attribute

    missions = sorted(set(df["mission"].astype(str))) if "mission" in df else ["MMS"]
    indices = [name for name, col in (("Dst", "dst"), ("OMNI", "sw_pdyn"))
               if col in df and df[col].notna().any()]
    attrs = global_attributes(missions, indices, synthetic)
    attrs["references"] = references_attribute()
    attrs["indices"] = ", ".join(indices)
    return attrs


def assign_codes(model, states: pd.DataFrame, chunk: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Regime code and codebook distance of every state, in chunks of whole days (bounded
    memory). The model assigns a state together with its pass, and passes end at midnight, so
    cutting at day boundaries gives the codes of one call on the whole table."""
    n = len(states)
    if n <= chunk or "time" not in states.columns:
        bounds = [np.arange(s, min(s + chunk, n)) for s in range(0, n, chunk)]
    else:
        day = pd.to_datetime(states["time"]).to_numpy().astype("datetime64[D]").astype(np.int64)
        order = np.argsort(day, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(day[order]) != 0])
        # group whole days greedily into chunks of about ``chunk`` rows
        cuts, last = [0], 0
        for s in starts[1:]:
            if s - last >= chunk:
                cuts.append(int(s))
                last = s
        cuts.append(n)
        bounds = [order[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    codes = np.empty(n, dtype=np.int64)
    dists = np.empty(n, dtype=np.float64)
    for rows in bounds:
        c, d = model.assign(states.iloc[rows])
        codes[rows] = np.asarray(c, dtype=np.int64)
        dists[rows] = np.asarray(d, dtype=np.float64)
    return codes, dists


def log_likelihoods(model, states: pd.DataFrame, chunk: int = 200_000) -> np.ndarray:
    """(N, K) log p(features | regime), in chunks."""
    out = [np.asarray(model.log_likelihood(states.iloc[s:s + chunk]), dtype=np.float64)
           for s in range(0, len(states), chunk)]
    return np.concatenate(out) if out else np.zeros((0, model.k))


def build_atlas(
    states,
    out_dir,
    *,
    model=None,
    train_config: dict | None = None,
    bins: ActivityBins | None = None,
    alpha: float = DEFAULT_ALPHA,
    level: float = DEFAULT_LEVEL,
    min_effective: float = DEFAULT_MIN_EFFECTIVE,
    octree_options: dict | None = None,
    coords: str = "gsm",
) -> Path:
    """Build the atlas directory ``out_dir`` from a state table.

    Parameters
    ----------
    states : path or DataFrame
        A state-table directory (``atlas_core.states.read_states``) or an in-memory table.
    model : RegimeModel or path, optional
        A trained regime model (or its directory) to use instead of training one.
    train_config : dict, optional
        :class:`atlas_core.vqvae.RegimeConfig` fields for training (e.g. ``max_epochs``, ``seed``,
        ``k``).
    bins, alpha, level, min_effective
        Activity bins, Dirichlet prior of the whole-atlas node, credible level, low-count
        threshold (effective looks).
    octree_options : dict, optional
        Keyword arguments of :meth:`Octree.build` (``base_size_re``, ``max_states``, ...).
    coords : "gsm" or "normalised"
        Frame of the octree and the maps: GSM positions, or boundary-normalised positions
        (:func:`atlas_core.physics.normalised.reference_positions`: each state placed relative to
        the magnetopause and bow shock of its moment, mapped onto a reference condition's).
    """
    from atlas_core.octree import Octree
    from atlas_core.regimes import RegimeModel, train_regimes
    from atlas_core.vqvae import RegimeConfig

    bins = bins or ActivityBins()
    if model is not None and hasattr(model, "assign") and not callable(getattr(model, "save", None)):
        # refused before anything is written: an atlas is opened (and served) with its model/
        raise AtlasError(f"build_atlas: the in-memory model ({type(model).__name__}) has no "
                         "save() method, so the atlas could not be opened or served; pass a "
                         "RegimeModel (saved to OUT/model) or a model directory")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    states_path = None
    if isinstance(states, (str, os.PathLike)):
        states_path = Path(states)
        if not states_path.exists():
            raise AtlasError(f"{states_path}: no state table there")
        from atlas_core.states import read_states

        df = read_states(states_path)
    else:
        df = states.reset_index(drop=True)
    if len(df) == 0:
        raise AtlasError("the state table is empty: nothing to build an atlas from")
    prov = _read_provenance(states_path)
    synthetic = bool(prov.get("synthetic", "region" in df.columns))
    log.info("atlas: %d states (%s)", len(df), "synthetic" if synthetic else "real")

    if coords not in COORDS:
        raise AtlasError(f"coords must be one of {', '.join(COORDS)}, got {coords!r}")
    df, positions = _boundary_columns(df, coords)
    octree_options = dict(octree_options or {})
    tree = Octree.build(positions, **octree_options)
    tree.save(out_dir / "octree.npz")
    log.info("atlas: octree %s (%.1f s)", tree, time.perf_counter() - t0)

    config = dict(train_config or {})
    if model is None:
        cfg = RegimeConfig.from_dict(config)
        model = train_regimes(df, out_dir / "model", config=cfg, octree=tree)
    elif not hasattr(model, "assign"):
        src = Path(model)
        model = RegimeModel.load(src)
        if src.resolve() != (out_dir / "model").resolve():
            import shutil

            tmp = out_dir / ".model.tmp"
            if tmp.exists():
                shutil.rmtree(tmp)
            shutil.copytree(src, tmp)
            if (out_dir / "model").exists():
                shutil.rmtree(out_dir / "model")
            tmp.rename(out_dir / "model")
    else:  # an in-memory model: written beside the atlas like a trained one (physics, issue 10)
        import shutil

        tmp = out_dir / ".model.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        model.save(tmp)
        if (out_dir / "model").exists():
            shutil.rmtree(out_dir / "model")
        tmp.rename(out_dir / "model")
    log.info("atlas: model with %d regimes ready (%.1f s)", model.k, time.perf_counter() - t0)

    codes, dist = assign_codes(model, df)
    leaf = tree.leaf_of_state
    time_ns = df["time"].to_numpy()
    fold = day_folds(time_ns)
    stats = CellStatistics.fit(tree, codes, time_ns, model.k, fold, spacecraft_of(df),
                               min_effective=min_effective)
    log.info("atlas: sampling model %s (%.1f s)", stats.model.describe(), time.perf_counter() - t0)

    summary = getattr(model, "summary", None)
    provenance = {
        "seed": config.get("seed", getattr(getattr(model, "config", None), "seed", -1)),
        "config": {"train": config, "octree": octree_options, "bins": bins.to_dict(),
                   "alpha": alpha, "level": level, "min_effective": min_effective,
                   "coords": coords, "states": str(states_path) if states_path else None},
        "source_files": [Path(str(f)).name for f in prov.get("files", [])],
        "history": f"atlas build from {states_path or 'an in-memory state table'}",
    }
    dst = df["dst"].to_numpy(np.float64)
    ds = build_dataset(
        stats=stats, dst=dst, names=list(model.names), bins=bins,
        summary=summary if isinstance(summary, pd.DataFrame) else None,
        codebook=_codebook(model), alpha=alpha, level=level, synthetic=synthetic,
        provenance=provenance,
    )
    ds.attrs.update(_coords_attrs(coords))
    ds.attrs.update(_citation_attrs(df, synthetic))
    # reference anomaly scores, out of fold: each day fold scored with the other folds' mixtures
    activity = list(ds["activity"].values)
    act = activity_index(dst, bins.label, activity)
    scores, surprise = crossfit_scores(
        log_likelihoods(model, df), leaf, act, fold,
        lambda train: stats.anomaly_tables(act, len(activity), np.flatnonzero(train)))
    ds = add_anomaly_quantiles(ds, scores, surprise)
    log.info("atlas: codes and out-of-fold anomaly scores of %d states (%.1f s)", len(df),
             time.perf_counter() - t0)

    keep = [c for c in df.columns if c != "month" and c != "day"]
    table = df[keep].assign(code=codes.astype(np.int16), leaf=leaf.astype(np.int64),
                            pass_id=stats.pass_id, dist=dist.astype(np.float32),
                            anomaly=scores.astype(np.float32),
                            place_surprise=surprise.astype(np.float32))
    tmp = out_dir / ".states.parquet.tmp"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, out_dir / "states.parquet")
    save_dataset(ds, out_dir)
    log.info("atlas: wrote %s (%d leaves, %d non-empty; %.1f s)", out_dir, tree.n_leaves,
             tree.n_nonempty, time.perf_counter() - t0)
    return out_dir


__all__ = ["build_atlas", "assign_codes", "log_likelihoods"]
