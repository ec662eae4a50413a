"""The atlas as an ``xarray.Dataset``: per-cell regime counts and probabilities per activity bin.

Layout (dims ``leaf``, ``regime``, ``activity``, ``axis``; CF-style ``units``/``long_name``):

* cell geometry: ``leaf_lo``, ``leaf_hi`` (leaf, axis) GSM R_E, ``leaf_level`` (0 = 2 R_E root);
* ``count`` (leaf, activity, regime): states per regime, with ``activity`` one of ``all`` (every
  state, including those without Dst) and the bins of :class:`ActivityBins`;
* ``p``, ``p_lo``, ``p_hi``: Dirichlet posterior mean and credible interval; ``entropy`` (bits),
  ``dominant`` (-1 for an empty cell), ``low_count`` (fewer than ``min_count`` states);
* ``storm_minus_quiet`` (leaf, regime) and ``shift_significant`` (non-overlapping intervals);
* the regime summary table (``regime_name`` and ``summary_*``), the ``codebook`` when the model
  exposes one, and ``anomaly_quantile``/``place_surprise_quantile`` (the training states' anomaly
  score distributions, see :mod:`atlas_core.atlas.anomaly`).

Provenance sits in global attributes: source files, code version, build config (JSON), seed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import atlas_core
from atlas_core.atlas.conditioning import ActivityBins, OccupancyIndex
from atlas_core.atlas.errors import AtlasError, AtlasVersionError
from atlas_core.atlas.posterior import (
    DEFAULT_ALPHA,
    DEFAULT_LEVEL,
    dirichlet_posterior,
    dominant,
    entropy_bits,
    intervals_disjoint,
)

FORMAT = "magnetosphere-atlas"
FORMAT_VERSION = 1
"""Bump when the dataset layout changes; :func:`load_dataset` refuses other versions."""
DEFAULT_MIN_COUNT = 10
"""Cells with fewer states than this (under a condition) are flagged ``low_count``."""
ANOMALY_PERCENTILES = np.linspace(0.0, 100.0, 1001)
"""Percentiles at which the training states' anomaly scores are stored."""


def code_version() -> str:
    """``atlas_core`` version plus the git commit of the source tree when there is one."""
    version = atlas_core.__version__
    try:
        root = Path(atlas_core.__file__).resolve().parents[1]
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        if commit:
            version = f"{version}+g{commit}"
    except (OSError, subprocess.SubprocessError):
        pass
    return version


def posterior_layers(
    counts: np.ndarray, alpha: float, level: float, min_count: int
) -> dict[str, np.ndarray]:
    """p, p_lo, p_hi, entropy, dominant, n_states and low_count from (..., K) counts."""
    p, lo, hi = dirichlet_posterior(counts, alpha=alpha, level=level)
    n = counts.sum(axis=-1)
    return {
        "p": p.astype(np.float32),
        "p_lo": lo.astype(np.float32),
        "p_hi": hi.astype(np.float32),
        "entropy": entropy_bits(p).astype(np.float32),
        "dominant": dominant(counts, p),
        "n_states": n.astype(np.int32),
        "low_count": n < min_count,
    }


def build_dataset(
    *,
    leaf_lo: np.ndarray,
    leaf_hi: np.ndarray,
    leaf_level: np.ndarray,
    index: OccupancyIndex,
    names: list[str],
    bins: ActivityBins | None = None,
    summary: pd.DataFrame | None = None,
    codebook: np.ndarray | None = None,
    alpha: float = DEFAULT_ALPHA,
    level: float = DEFAULT_LEVEL,
    min_count: int = DEFAULT_MIN_COUNT,
    synthetic: bool = False,
    provenance: dict | None = None,
) -> xr.Dataset:
    """Assemble the atlas dataset from the octree geometry and an :class:`OccupancyIndex`."""
    bins = bins or ActivityBins()
    n_leaves, k = index.n_leaves, index.k
    if len(names) != k:
        raise AtlasError(f"{len(names)} regime names for {k} regimes")
    ranges = bins.ranges()
    activity = ["all", *ranges]
    counts = np.stack(
        [index.counts()] + [index.counts(*ranges[a]) for a in ranges], axis=1
    ).astype(np.int32)  # (L, A, K)
    layers = posterior_layers(counts, alpha, level, min_count)
    a_q, a_s = activity.index("quiet"), activity.index("storm")
    diff = layers["p"][:, a_s] - layers["p"][:, a_q]
    # only where both conditions hold data: with few states an interval is mostly the prior's
    enough = (layers["n_states"][:, a_q] >= min_count) & (layers["n_states"][:, a_s] >= min_count)
    significant = enough[:, None] & intervals_disjoint(
        layers["p_lo"][:, a_q], layers["p_hi"][:, a_q], layers["p_lo"][:, a_s], layers["p_hi"][:, a_s]
    )
    lk, lak, la = ("leaf", "regime"), ("leaf", "activity", "regime"), ("leaf", "activity")
    data = {
        "leaf_lo": (("leaf", "axis"), np.asarray(leaf_lo, np.float64),
                    {"units": "R_E", "long_name": "cell lower corner, GSM"}),
        "leaf_hi": (("leaf", "axis"), np.asarray(leaf_hi, np.float64),
                    {"units": "R_E", "long_name": "cell upper corner, GSM"}),
        "leaf_level": ("leaf", np.asarray(leaf_level, np.int16),
                       {"units": "1", "long_name": "octree level (0 = base cell)"}),
        "count": (lak, counts, {"units": "1", "long_name": "states per regime"}),
        "n_states": (la, layers["n_states"], {"units": "1", "long_name": "states in the cell"}),
        "p": (lak, layers["p"], {"units": "1", "long_name": "regime probability, Dirichlet posterior mean"}),
        "p_lo": (lak, layers["p_lo"], {"units": "1", "long_name": f"lower {level:.0%} credible bound"}),
        "p_hi": (lak, layers["p_hi"], {"units": "1", "long_name": f"upper {level:.0%} credible bound"}),
        "entropy": (la, layers["entropy"], {"units": "bit", "long_name": "entropy of the regime probabilities"}),
        "dominant": (la, layers["dominant"], {"units": "1", "long_name": "most probable regime (-1: no state)"}),
        "low_count": (la, layers["low_count"], {"long_name": f"fewer than {min_count} states"}),
        "storm_minus_quiet": (lk, diff.astype(np.float32),
                              {"units": "1", "long_name": "p(storm) - p(quiet)"}),
        "shift_significant": (lk, significant, {
            "long_name": f"storm and quiet credible intervals do not overlap (both >= {min_count} states)"}),
        "activity_dst_min": ("activity", [-np.inf] + [r[0] for r in ranges.values()],
                             {"units": "nT", "long_name": "lower Dst bound of the bin"}),
        "activity_dst_max": ("activity", [np.inf] + [r[1] for r in ranges.values()],
                             {"units": "nT", "long_name": "upper Dst bound of the bin"}),
        "activity_definition": ("activity", np.array([
            "every state", f"|Dst| <= {bins.quiet_max:g} nT",
            f"{bins.storm_max:g} < Dst < {-bins.quiet_max:g} nT",
            f"Dst <= {bins.storm_max:g} nT", f"Dst > {bins.quiet_max:g} nT"], dtype=str)),
        "regime_name": ("regime", np.asarray(names, dtype=str), {"long_name": "regime name"}),
    }
    if summary is not None:
        for col in summary.columns:
            values = summary[col].to_numpy()
            if col in ("id", "name") or len(values) != k or values.dtype.kind not in "iuf":
                continue
            data[f"summary_{col}"] = ("regime", values, {"long_name": f"regime summary: {col}"})
    if codebook is not None:
        codebook = np.asarray(codebook, dtype=np.float32)
        if codebook.ndim == 2 and codebook.shape[0] == k:
            data["codebook"] = (("regime", "latent"), codebook,
                                {"long_name": "VQ-VAE codebook vector of each regime"})
    coords = {
        "leaf": np.arange(n_leaves, dtype=np.int64),
        "regime": np.arange(k, dtype=np.int16),
        "activity": np.asarray(activity, dtype=str),
        "axis": np.array(["x", "y", "z"]),
    }
    prov = provenance or {}
    attrs = {
        "title": "Magnetosphere Atlas: regime probabilities per octree cell",
        "Conventions": "CF-1.8",
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "synthetic": int(bool(synthetic)),
        "source": "synthetic MMS-like archive (atlas_core.synth)" if synthetic else "MMS1 L2 in-situ data",
        "references": "Markidis, Ekelund & Pennati, A Generative Atlas of the Magnetosphere (ICCS 2026); "
                      "Sitnov et al. 2008, JGR 113, A07218 (nearest-neighbour conditioning)",
        "coordinate_system": "GSM, Earth radii (R_E)",
        "code_version": code_version(),
        "dirichlet_prior_alpha": float(alpha),
        "credible_level": float(level),
        "min_count": int(min_count),
        "quiet_max_nT": float(bins.quiet_max),
        "storm_max_nT": float(bins.storm_max),
        "significance_test": "non-overlapping credible intervals of p(storm) and p(quiet)",
        "n_states_total": int(index.n_states),
        "seed": int(prov.get("seed", -1)),
        "config": json.dumps(prov.get("config", {}), sort_keys=True, default=str),
        "source_files": json.dumps(prov.get("source_files", []), default=str),
        "history": prov.get("history", "built by atlas_core.atlas"),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def global_mix(ds: xr.Dataset) -> np.ndarray:
    """(A, K) regime mix of the whole atlas per activity condition (Dirichlet posterior mean of
    the summed counts, so no regime has probability zero)."""
    p, _, _ = dirichlet_posterior(ds["count"].sum("leaf").values,
                                  alpha=float(ds.attrs["dirichlet_prior_alpha"]))
    return p


def add_anomaly_quantiles(ds: xr.Dataset, score: np.ndarray, surprise: np.ndarray) -> xr.Dataset:
    """Add the training states' anomaly-score and place-surprise distributions (quantiles at
    ``ANOMALY_PERCENTILES``), against which new states get their percentiles."""
    if not np.isfinite(score).any():
        raise AtlasError("no finite training anomaly score: cannot calibrate percentiles")
    return ds.assign_coords(percentile=("percentile", ANOMALY_PERCENTILES, {"units": "percent"})).assign(
        anomaly_quantile=("percentile", np.nanpercentile(score, ANOMALY_PERCENTILES), {
            "units": "nat", "long_name": "training states' anomaly score (mixture NLL) quantiles"}),
        place_surprise_quantile=("percentile", np.nanpercentile(surprise, ANOMALY_PERCENTILES), {
            "units": "nat", "long_name": "training states' place surprise quantiles"}),
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_dir_write(target: Path, write) -> None:
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        write(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old) if old.is_dir() else old.unlink()
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_dataset(ds: xr.Dataset, atlas_dir: Path, formats=("nc", "zarr")) -> list[Path]:
    """Write ``atlas.nc`` (NetCDF4, compressed) and/or ``atlas.zarr`` atomically."""
    atlas_dir = Path(atlas_dir)
    atlas_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "nc" in formats:
        path = atlas_dir / "atlas.nc"
        fd, tmp = tempfile.mkstemp(prefix=".atlas.", suffix=".nc", dir=atlas_dir)
        os.close(fd)
        try:
            encoding = {v: {"zlib": True, "complevel": 4} for v in ds.data_vars
                        if ds[v].dtype.kind in "iuf"}
            ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written.append(path)
    if "zarr" in formats:
        path = atlas_dir / "atlas.zarr"
        _atomic_dir_write(path, lambda tmp: ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2))
        written.append(path)
    return written


def load_dataset(path: Path) -> xr.Dataset:
    """Open ``atlas.nc`` or ``atlas.zarr`` fully into memory, checking the format version."""
    path = Path(path)
    if not path.exists():
        raise AtlasError(f"{path}: no such atlas file")
    try:
        if path.suffix == ".zarr" or path.is_dir():
            ds = xr.open_zarr(path, consolidated=True).load()
        else:
            with xr.open_dataset(path, engine="netcdf4") as f:
                ds = f.load()
    except (OSError, ValueError, KeyError) as err:
        raise AtlasError(f"{path}: cannot read as an atlas dataset ({err})") from err
    if ds.attrs.get("format") != FORMAT:
        raise AtlasError(f"{path}: not a Magnetosphere Atlas dataset (format={ds.attrs.get('format')!r})")
    version = ds.attrs.get("format_version")
    if version != FORMAT_VERSION:
        raise AtlasVersionError(
            f"{path}: atlas format version {version} is not the supported version "
            f"{FORMAT_VERSION}; rebuild it with `atlas build`"
        )
    return ds
