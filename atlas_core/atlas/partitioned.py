"""Build an atlas from a state table too large to hold in memory: partition by partition,
locally or on a ``dask.distributed`` cluster, with the same counts either way.

:func:`atlas_core.atlas.build.build_atlas` reads the whole state table into one DataFrame,
which is fine for the ~10^6 states of one mission but not for the ~5 x 10^7 of MMS, Cluster and
THEMIS together (issue 13). Here only the columns a stage needs are read:

1. **octree**: the GSM positions of every state (3 x float64 per state), then
   :meth:`atlas_core.octree.Octree.build` as usual (it is one global sort; the leaf of every
   state comes with it);
2. **regime codes** (data-parallel): each partition's 14 features are read and assigned a
   regime by the trained model (:meth:`RegimeModel.assign`), partition by partition: in this
   process (``scheduler=None``: one thread per CPU), or as one task per partition on a ``dask.distributed``
   cluster (a ``Client``, a scheduler address, or ``"local:N"`` for a LocalCluster of N worker
   processes). A worker loads the model once. The codes come back in partition order, so the
   result does not depend on where they were computed;
3. **passes and sampling model**: the passes of every state (time, leaf, spacecraft) and the
   sampling model of :mod:`atlas_core.atlas.sampling` (:func:`fit_statistics`: fitted on all
   states up to :data:`FIT_STATES`, on a subset of whole days above);
4. **counts and estimates**: the same :func:`~atlas_core.atlas.dataset.build_dataset` as
   ``build_atlas``;
5. **anomaly calibration**: out-of-fold scores of a uniform random sample of the states (all of
   them up to :data:`ANOMALY_SAMPLE`): the percentile tables need the score distribution, not
   every score (10^6 states pin each percentile to < 0.1 %);
6. **write**: ``atlas.nc``/``atlas.zarr`` (:func:`save_dataset`), ``octree.npz``, ``model/``,
   and a lean ``states.parquet`` (time, positions, Dst and the driver columns, mission, probe,
   code, leaf, pass_id; the anomaly columns only when every state was scored), streamed
   partition by partition.

With few enough states (<= both thresholds) the result equals ``build_atlas``'s with the same
model (tests/missions/test_partitioned.py). Positions are GSM (the boundary-normalised frame of
``build_atlas(coords="normalised")`` is not offered here).

Training the model is not part of this: pass a trained model (trained on a sample, e.g. one
mission-year, with ``atlas train`` or ``build_atlas``).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from atlas_core.states import FEATURES, POSITION_GSM, state_files

log = logging.getLogger(__name__)

STATE_COLUMNS = ["time", *POSITION_GSM, "dst", "ddst_dt", "sw_n", "sw_v", "imf_bz_gsm",
                 "sw_pdyn", "mission", "probe"]
"""Columns of the input kept in the atlas' lean ``states.parquet`` (those present)."""
ANOMALY_SAMPLE = 1_000_000
"""States scored to calibrate the anomaly percentiles (all of them when there are fewer)."""
FIT_STATES = 2_000_000
"""Above this many states the sampling model is fitted on a subset of whole days."""


def _stage(name: str, t0: float, stages: dict, **extra) -> float:
    """Record a stage's wall time and this process's CPU time (all its threads; not the CPU of
    Dask worker processes) since the previous stage."""
    now, cpu = time.perf_counter(), time.process_time()
    last_cpu = stages.get("_cpu", cpu)
    stages[name] = {"seconds": round(now - t0, 3), "cpu_s": round(cpu - last_cpu, 3), **extra}
    stages["_cpu"] = cpu
    log.info("atlas (partitioned): %s in %.1f s (%.1f s CPU) %s", name, now - t0,
             cpu - last_cpu, " ".join(f"{k}={v}" for k, v in extra.items()))
    return now


def read_columns(paths: list[Path], columns: list[str], dtype=np.float64) -> np.ndarray:
    """(N, len(columns)) array of numeric ``columns`` from every partition, in order."""
    parts = []
    for p in paths:
        t = pq.read_table(p, columns=columns)
        parts.append(np.column_stack([t.column(c).to_numpy().astype(dtype, copy=False)
                                      for c in columns]))
    return np.concatenate(parts) if parts else np.zeros((0, len(columns)), dtype)


def partition_sizes(paths: list[Path]) -> np.ndarray:
    return np.array([pq.ParquetFile(p).metadata.num_rows for p in paths], dtype=np.int64)


@functools.lru_cache(maxsize=2)
def _model(model_dir: str, mtime: float):
    """The regime model, loaded once per process (worker) and model version."""
    import torch

    from atlas_core.regimes import RegimeModel

    torch.set_num_threads(1)  # one core per worker: parallelism comes from the partitions
    return RegimeModel.load(model_dir)


def codes_of_partition(path: str, model_dir: str) -> np.ndarray:
    """Regime code (int16) of every state in one partition file: the data-parallel step."""
    import pandas as pd

    model = _model(str(model_dir), os.path.getmtime(Path(model_dir) / "model.pt"))
    # time and spacecraft too: the regime model assigns a state with its pass's neighbours
    # (passes end at midnight, so a day partition gets the codes the whole table would)
    names = pq.read_schema(path).names
    cols = FEATURES + [c for c in ("time", "mission", "probe") if c in names]
    table = pq.read_table(path, columns=cols)
    df = pd.DataFrame({c: table.column(c).to_numpy() for c in cols})
    codes, _ = model.assign(df)
    return np.asarray(codes, dtype=np.int16)


def _client(scheduler):
    """(client, cluster or None, own) for a Client, an address, or ``"local:N"``."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, None, False
    if isinstance(scheduler, str) and scheduler.startswith("local"):
        n = int(scheduler.split(":", 1)[1]) if ":" in scheduler else 2
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
        return Client(cluster), cluster, True
    return Client(scheduler), None, True


def assign_codes(paths: list[Path], model_dir: Path, scheduler=None) -> np.ndarray:
    """Regime codes of every state of the partitions ``paths``, in order.

    ``scheduler``: None or ``"threads:N"`` (this process, partitions on N threads, default
    one per CPU), a ``distributed.Client``, a scheduler address, or ``"local:N"`` (a
    LocalCluster of N single-threaded worker processes, closed afterwards). Same inputs, same
    codes, wherever they run."""
    model_dir = str(Path(model_dir).resolve())
    if scheduler is None or (isinstance(scheduler, str) and scheduler.startswith("threads")):
        # in this process: partitions on a few threads (torch and pyarrow release the GIL)
        from concurrent.futures import ThreadPoolExecutor

        n = (int(scheduler.split(":", 1)[1]) if isinstance(scheduler, str) and ":" in scheduler
             else os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=n) as pool:
            out = []
            for i, codes in enumerate(pool.map(codes_of_partition, map(str, paths),
                                               [model_dir] * len(paths)), 1):
                out.append(codes)
                if i % 10 == 0 or i == len(paths):
                    log.info("atlas (partitioned): codes of %d/%d partitions", i, len(paths))
        return np.concatenate(out) if out else np.zeros(0, np.int16)
    client, cluster, own = _client(scheduler)
    try:
        futures = client.map(codes_of_partition, [str(p) for p in paths], model_dir=model_dir,
                             pure=False)
        out = client.gather(futures)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return np.concatenate(out) if out else np.zeros(0, np.int16)


def _write_states(paths: list[Path], columns: dict[str, np.ndarray], out: Path) -> None:
    """Stream the lean state table (the input's :data:`STATE_COLUMNS` plus ``columns``, per
    state) to ``out`` atomically, partition by partition."""
    tmp = out.with_name(f".{out.name}.tmp")
    writer = None
    offset = 0
    try:
        for p in paths:
            names = pq.read_schema(p).names
            table = pq.read_table(p, columns=[c for c in STATE_COLUMNS if c in names])
            n = table.num_rows
            for name, values in columns.items():
                table = table.append_column(name, pa.array(values[offset:offset + n]))
            offset += n
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(tmp, schema)
            writer.write_table(table.cast(schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out)


def spacecraft_codes(paths: list[Path]) -> tuple[np.ndarray, list[str]]:
    """(N,) int code of each state's ``mission/probe`` and the labels, sorted (the order
    :func:`atlas_core.atlas.passes.pass_ids` gives labels); MMS/mms1 for a table without them."""
    parts, labels = [], {}
    for p in paths:
        names = pq.read_schema(p).names
        t = pq.read_table(p, columns=[c for c in ("mission", "probe") if c in names])
        n = pq.ParquetFile(p).metadata.num_rows
        m = (t.column("mission").to_numpy(zero_copy_only=False).astype(str)
             if "mission" in names else np.full(n, "MMS"))
        r = (t.column("probe").to_numpy(zero_copy_only=False).astype(str)
             if "probe" in names else np.full(n, "mms1"))
        uniq, inv = np.unique(np.char.add(np.char.add(m, "/"), r), return_inverse=True)
        for u in uniq:
            labels.setdefault(str(u), len(labels))
        parts.append(np.array([labels[str(u)] for u in uniq], dtype=np.int16)[inv.ravel()])
    order = sorted(labels)
    remap = np.empty(len(labels), dtype=np.int16)
    for new_code, label in enumerate(order):
        remap[labels[label]] = new_code
    codes = remap[np.concatenate(parts)] if parts else np.zeros(0, np.int16)
    return codes, order


def fit_statistics(tree, codes, time_ns, craft, k: int, fold, min_effective: float,
                   fit_states: int = FIT_STATES, sampling=None):
    """:class:`~atlas_core.atlas.sampling.CellStatistics` of all states. ``sampling``: a
    :class:`~atlas_core.atlas.sampling.SamplingModel` to use as it is (e.g. the one fitted with
    the regime model on a sample, ``Atlas.open(ref).sampling``). Else, with more than
    ``fit_states`` states, the sampling model's few global parameters (intra-pass correlation,
    hierarchy strengths) are fitted on whole days, one in every ``ceil(N / fit_states)``;
    with fewer, exactly as :func:`~atlas_core.atlas.build.build_atlas` (fitted on all). The
    passes are found over every state either way. Returns the statistics and the number of
    states the model was fitted on (0 when given)."""
    from atlas_core.atlas.hierarchy import CellTree
    from atlas_core.atlas.passes import pass_ids
    from atlas_core.atlas.sampling import CellStatistics, fit_sampling_model

    n = codes.size
    leaf = tree.leaf_of_state
    if sampling is not None:
        pid = pass_ids(time_ns, leaf, craft, sampling.max_gap_s)
        return CellStatistics.from_parts(tree, leaf, codes, pid, sampling, k), 0
    if n <= fit_states:
        return CellStatistics.fit(tree, codes, time_ns, k, fold, craft,
                                  min_effective=min_effective), n
    every = int(np.ceil(n / fit_states))
    day = time_ns.astype("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    sub = np.flatnonzero(day % every == 0)
    cells = CellTree.from_octree(tree.leaf_level, tree.leaf_ijk)
    model, _ = fit_sampling_model(cells, leaf[sub], codes[sub], time_ns[sub], k, fold[sub],
                                  craft[sub], min_effective=min_effective)
    pid = pass_ids(time_ns, leaf, craft, model.max_gap_s)
    return CellStatistics.from_parts(tree, leaf, codes, pid, model, k), int(sub.size)


def build_atlas_partitioned(
    states,
    out_dir,
    model,
    *,
    scheduler=None,
    bins=None,
    alpha: float | None = None,
    level: float | None = None,
    min_effective: float | None = None,
    octree_options: dict | None = None,
    anomaly_sample: int = ANOMALY_SAMPLE,
    fit_states: int = FIT_STATES,
    sampling=None,
    seed: int = 0,
    write_states: bool = True,
) -> dict:
    """Build the atlas directory ``out_dir`` from the state table ``states`` (a folder of
    Parquet partitions, :func:`atlas_core.states.state_files`) with the trained regime
    ``model`` (a model directory), in GSM. ``sampling``: a fitted SamplingModel to reuse
    (:func:`fit_statistics`). Returns per-stage timings and sizes; see the module docstring for
    the stages and ``scheduler``."""
    import pandas as pd

    from atlas_core.atlas.anomaly import activity_index, score_states
    from atlas_core.atlas.build import _citation_attrs, _codebook, _coords_attrs, log_likelihoods
    from atlas_core.atlas.conditioning import ActivityBins
    from atlas_core.atlas.dataset import add_anomaly_quantiles, build_dataset, save_dataset
    from atlas_core.atlas.errors import AtlasError
    from atlas_core.atlas.posterior import DEFAULT_ALPHA, DEFAULT_LEVEL
    from atlas_core.atlas.sampling import DEFAULT_MIN_EFFECTIVE, day_folds
    from atlas_core.octree import Octree
    from atlas_core.regimes import RegimeModel

    bins = bins or ActivityBins()
    alpha = DEFAULT_ALPHA if alpha is None else alpha
    level = DEFAULT_LEVEL if level is None else level
    min_effective = DEFAULT_MIN_EFFECTIVE if min_effective is None else min_effective
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = state_files(states)
    if not paths:
        raise AtlasError(f"{states}: no state partitions there")
    model_dir = Path(model)
    reg = RegimeModel.load(model_dir)
    stages: dict = {"_cpu": time.process_time()}
    t0 = time.perf_counter()

    sizes = partition_sizes(paths)
    n = int(sizes.sum())
    pos = read_columns(paths, POSITION_GSM)
    t = _stage("read positions", t0, stages, states=n, partitions=len(paths))
    octree_options = dict(octree_options or {})
    tree = Octree.build(pos, **octree_options)
    del pos
    leaf = tree.leaf_of_state
    tree.save(out_dir / "octree.npz")
    t = _stage("octree", t, stages, leaves=tree.n_leaves, nonempty=tree.n_nonempty)

    codes = assign_codes(paths, model_dir, scheduler)
    if codes.size != n:
        raise AtlasError(f"{codes.size} regime codes for {n} states")
    t = _stage("codes", t, stages, scheduler=str(scheduler or "local"))

    time_ns = read_columns(paths, ["time"], dtype=np.int64)[:, 0]
    dst = read_columns(paths, ["dst"])[:, 0]
    craft, labels = spacecraft_codes(paths)
    fold = day_folds(time_ns)
    stats, n_fit = fit_statistics(tree, codes, time_ns, craft, reg.k, fold, min_effective,
                                  fit_states, sampling)
    t = _stage("passes and sampling model", t, stages, fitted_on=n_fit,
               model=stats.model.describe())

    missions = sorted({lab.split("/")[0] for lab in labels})
    provenance = {
        "seed": seed,
        "config": {"octree": octree_options, "bins": bins.to_dict(), "alpha": alpha,
                   "level": level, "min_effective": min_effective, "coords": "gsm",
                   "states": str(states), "partitions": len(paths),
                   "sampling_model_fitted_on": n_fit},
        "history": f"partitioned atlas build from {states} ({n} states, {len(paths)} partitions)",
    }
    ds = build_dataset(stats=stats, dst=dst, names=list(reg.names), bins=bins,
                       summary=getattr(reg, "summary", None), codebook=_codebook(reg),
                       alpha=alpha, level=level, synthetic=True, provenance=provenance)
    ds.attrs.update(_coords_attrs("gsm"))
    finite = np.isfinite(dst)
    ds.attrs.update(_citation_attrs(pd.DataFrame({
        "mission": missions, "dst": float(dst[finite][0]) if finite.any() else np.nan}), True))
    t = _stage("counts and estimates", t, stages)

    # out-of-fold anomaly scores of a uniform random sample (all states when few): each day
    # fold scored with the mixtures of every state in the other folds
    activity = list(ds["activity"].values)
    act = activity_index(dst, bins.label, activity)
    rng = np.random.default_rng(seed)
    take = (np.arange(n) if n <= anomaly_sample
            else np.sort(rng.choice(n, size=anomaly_sample, replace=False)))
    log_lik = log_likelihoods(reg, _rows(paths, sizes, take, FEATURES))
    scores, surprise = np.full(take.size, np.nan), np.full(take.size, np.nan)
    for f in np.unique(fold[take]):
        test = fold[take] == f
        p_table, p_global = stats.anomaly_tables(act, len(activity), np.flatnonzero(fold != f))
        scores[test], surprise[test] = score_states(log_lik[test], leaf[take][test],
                                                    act[take][test], p_table, p_global)
        del p_table
    ds = add_anomaly_quantiles(ds, scores, surprise)
    t = _stage("anomaly calibration", t, stages, sample=int(take.size))

    save_dataset(ds, out_dir)
    t = _stage("write netcdf+zarr", t, stages,
               nc_mb=round((out_dir / "atlas.nc").stat().st_size / 1e6, 1))
    if (out_dir / "model").resolve() != model_dir.resolve():
        tmp = out_dir / ".model.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(model_dir, tmp)
        shutil.rmtree(out_dir / "model", ignore_errors=True)
        tmp.rename(out_dir / "model")
    if write_states:
        extra = {}
        if take.size == n:  # every state scored: keep the scores, as build_atlas does
            extra = {"anomaly": scores.astype(np.float32),
                     "place_surprise": surprise.astype(np.float32)}
        _write_states(paths, {"code": codes, "leaf": leaf, "pass_id": stats.pass_id, **extra},
                      out_dir / "states.parquet")
        t = _stage("write states.parquet", t, stages)
    stages.pop("_cpu")
    stages["total"] = {"seconds": round(time.perf_counter() - t0, 3),
                       "cpu_s": round(sum(v["cpu_s"] for v in stages.values()), 3), "states": n}
    return {"stages": stages, "counts": ds["count"].values, "n_states": n,
            "n_leaves": tree.n_leaves}


def _rows(paths, sizes, rows: np.ndarray, columns: list[str]):
    """The ``rows`` (sorted global indices) of ``columns`` as a DataFrame."""
    import pandas as pd

    starts = np.concatenate([[0], np.cumsum(sizes)])
    frames = []
    for i, p in enumerate(paths):
        sel = rows[(rows >= starts[i]) & (rows < starts[i + 1])] - starts[i]
        if sel.size:
            frames.append(pq.read_table(p, columns=columns).take(pa.array(sel)).to_pandas())
    return pd.concat(frames, ignore_index=True)
