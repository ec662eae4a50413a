"""The atlas query API: open an atlas directory and ask it questions.

>>> atlas = Atlas.open("data/atlas1y")
>>> r = atlas.query([[-15.0, 0.0, 0.0]], dst_range=(None, -50))      # storm time, tail
>>> r.to_records()[0]["regimes"][0]                                    # {"id", "name", "p", "lo", "hi"}
>>> atlas.query([[-15, 0, 0]], near={"dst": -80, "ddst": -10}, k=5000)  # TS07D-style kNN
>>> atlas.most_likely_state([10.0, 2.0, 0.0]).median                   # feature medians
>>> atlas.sample([10.0, 2.0, 0.0], n=500, seed=1)                       # plausible states
>>> score, pct = atlas.anomaly_score(new_states_df)                    # nats, percentile

A directory written by :func:`atlas_core.atlas.build.build_atlas` holds ``atlas.nc`` and
``atlas.zarr`` (the same dataset), ``octree.npz``, ``model/`` and ``states.parquet``.
Positions are GSM, Earth radii; Dst in nT; dDst/dt in nT/h.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from atlas_core.atlas.anomaly import (
    ACTIVITY_PRIOR,
    activity_index,
    mixture_table,
    percentile_of,
    score_states,
)
from atlas_core.atlas.columns import StateColumns, index_dtype
from atlas_core.atlas.conditioning import (
    DEFAULT_NEIGHBOURS,
    NEIGHBOUR_PARAMETERS,
    ActivityBins,
    NeighbourIndex,
    OccupancyIndex,
)
from atlas_core.atlas.dataset import global_mix, load_dataset
from atlas_core.atlas.errors import AtlasError, OutsideAtlasError
from atlas_core.atlas.hierarchy import Estimate
from atlas_core.atlas.passes import number_in_state_order, pass_ids, spacecraft_of
from atlas_core.atlas.posterior import dirichlet_posterior
from atlas_core.atlas.sampling import CellStatistics, SamplingModel

CONDITION_COLUMNS = ["dst"] + [c for c, _ in NEIGHBOUR_PARAMETERS.values() if c != "dst"]
"""State columns the conditioning engine reads at open."""
PASS_COLUMNS = ["pass_id", "time", "mission", "probe"]
"""State columns the effective counts read at open (``pass_id`` when the build stored it, else
the passes are found from time, spacecraft and leaf)."""
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles reported for the most likely plasma state."""


class QueryResult:
    """Regime probabilities at M positions under one condition: a view of the product layer's
    :func:`~atlas_core.atlas.product.query_cells` table (the numbers ``atlas query``, the
    dashboard and the figures show).

    Attributes: ``positions`` (M, 3) GSM R_E; ``leaf`` (M,) leaf id (-1 outside the atlas);
    ``count`` (M,) windows in the cell under the condition; ``n_eff`` (M,) its effective count
    (independent looks, :mod:`atlas_core.atlas.passes`); ``low_count`` (M,); ``p``, ``lo``,
    ``hi`` (M, K) hierarchical posterior mean and credible bounds (NaN outside the atlas and in
    a cell holding no window under the condition: no data, no numbers); ``dominant`` (M,);
    ``names`` (K,); ``condition`` a JSON-able dict; ``table`` the query_cells frame.
    """

    def __init__(self, table: pd.DataFrame):
        self.table = table
        self.names = list(table.attrs["names"])
        self.condition = table.attrs["condition"].to_dict()
        k = len(self.names)
        self.positions = table[["x", "y", "z"]].to_numpy()
        self.leaf = table["leaf"].to_numpy()
        self.count = table["windows"].to_numpy()
        self.n_eff = table["n_eff"].to_numpy()
        self.low_count = table["low_count"].to_numpy(dtype=bool)
        self.dominant = table["dominant"].to_numpy()
        self.p, self.lo, self.hi = (table[[f"{name}_{j}" for j in range(k)]].to_numpy()
                                    for name in ("p", "lo", "hi"))

    def __len__(self) -> int:
        return len(self.leaf)

    def to_records(self) -> list[dict]:
        """One JSON-able dict per position, regimes sorted by decreasing probability."""
        from atlas_core.atlas.product import query_records

        return query_records(self.table)


@dataclass
class PlasmaState:
    """The most likely plasma state at a position: the dominant regime and its feature spread.

    ``quantiles`` is a DataFrame (index: quantile; columns: the 14 features in physical units)
    of the regime's generative distribution; ``observed`` the same from the training states of
    that regime in the cell (empty when there are none).
    """

    position: list[float]
    leaf: int
    regime: dict
    quantiles: pd.DataFrame
    observed: pd.DataFrame

    @property
    def median(self) -> pd.Series:
        return self.quantiles.loc[0.5]


class Atlas:
    """An opened atlas: the dataset, the octree, the regime model and the state table.

    Build one with ``atlas build`` (:func:`atlas_core.atlas.build.build_atlas`); open it with
    :meth:`Atlas.open`. Per state an opened atlas holds only what every condition needs: the
    combined key ``leaf * K + regime`` and the pass id (int32 each) and the octree's leaf id
    (int32). The conditioning columns (Dst, the drivers; float32), the Dst order (:attr:`index`),
    the nearest-neighbour trees and the mission labels are read or built on first use
    (:attr:`columns`); the model and the full state table load on first use too.
    """

    def __init__(self, atlas_dir: Path, ds: xr.Dataset, octree, cond) -> None:
        self.atlas_dir = Path(atlas_dir)
        self.ds = ds
        self.octree = octree
        self.names = [str(n) for n in ds["regime_name"].values]
        self.k = len(self.names)
        self.n_leaves = int(ds.sizes["leaf"])
        self.alpha = float(ds.attrs["dirichlet_prior_alpha"])
        self.level = float(ds.attrs["credible_level"])
        self.sampling = SamplingModel.from_attrs(ds.attrs)
        self.min_effective = self.sampling.min_effective
        self.bins = ActivityBins(float(ds.attrs["quiet_max_nT"]), float(ds.attrs["storm_max_nT"]))
        if octree.n_leaves != self.n_leaves:
            raise AtlasError(f"{atlas_dir}: octree has {octree.n_leaves} leaves, dataset {self.n_leaves}")
        cols = cond if isinstance(cond, StateColumns) else StateColumns(cond, CONDITION_COLUMNS)
        where = atlas_dir if cols.path is None else cols.path
        if cols.n != int(ds.attrs["n_states_total"]):
            raise AtlasError(f"{where}: states.parquet has {cols.n} states, the dataset "
                             f"was built from {ds.attrs['n_states_total']}")
        if len(octree.leaf_of_state) != cols.n:
            raise AtlasError(f"{atlas_dir}: octree.npz places {len(octree.leaf_of_state)} states, "
                             f"states.parquet holds {cols.n}")
        self.columns = cols
        # the octree's leaf of each state is the state table's `leaf` column (the build wrote
        # one from the other): held once, int32, and checked below against the stored counts
        octree.leaf_of_state = np.asarray(octree.leaf_of_state, dtype=index_dtype(self.n_leaves))
        if "leaf" in cols.schema and not cols.equals("leaf", octree.leaf_of_state):
            raise AtlasError(f"{where}: its leaf column is not octree.npz's leaf of each state "
                             f"(the two files are from different builds)")
        code = cols.ids("code", self.k)
        if code.size and (code.min() < 0 or code.max() >= self.k):
            raise AtlasError(f"{where}: regime codes outside [0, {self.k})")
        key = octree.leaf_of_state.astype(index_dtype(self.n_leaves * self.k))
        key *= self.k
        key += code
        del code
        pid = number_in_state_order(self._pass_ids(cols, octree.leaf_of_state))
        self.stats = CellStatistics.from_key(octree, key, pid, self.sampling, self.k)
        del key, pid
        self._check_counts(where)
        self.neighbours = NeighbourIndex(cols, self.stats.counter.key)

    def _pass_ids(self, cols: StateColumns, leaf: np.ndarray) -> np.ndarray:
        if "pass_id" in cols.schema:
            return cols.ids("pass_id", cols.n)
        if "time" in cols.schema:  # an atlas built before the passes: find them now
            frame = cols.frame([c for c in PASS_COLUMNS if c in cols.schema and c != "pass_id"])
            return pass_ids(frame["time"].to_numpy(), leaf, spacecraft_of(frame),
                            self.sampling.max_gap_s)
        return np.arange(cols.n, dtype=index_dtype(cols.n))

    def _check_counts(self, where) -> None:
        """The windows per cell and regime of the states as read must be the stored ones."""
        if "count" not in self.ds or "activity" not in self.ds["count"].dims:
            return
        stored = self.ds["count"].isel(activity=0).values
        if stored.shape == (self.n_leaves, self.k) and not np.array_equal(
                stored, self.stats.counter.counts_of()[0]):
            raise AtlasError(f"{where}: the states' leaves and regimes do not give the counts "
                             f"stored in the atlas dataset (octree.npz, states.parquet and "
                             f"atlas.nc are from different builds)")

    @property
    def n_states(self) -> int:
        """Number of states the atlas was built from."""
        return self.columns.n

    @cached_property
    def index(self) -> OccupancyIndex:
        """The Dst order of the states (built on first use: a Dst range, :meth:`occupancy`)."""
        return OccupancyIndex.from_key(self.stats.counter.key, self.columns["dst"], self.n_leaves,
                                       self.k, all_counts=self.stats.counter.counts_of()[0])

    def mission_labels(self) -> tuple[np.ndarray, list[str]]:
        """``(codes (N,) int16, names)``: the mission of each state as ``names[codes[i]]``
        (read on first use; an old table without the column is all MMS, contract C3)."""
        if "mission" not in self.columns.schema:
            return np.zeros(self.n_states, dtype=np.int16), ["MMS"]
        return self.columns.labels("mission")

    @property
    def min_count(self) -> float:
        """Alias of :attr:`min_effective` (effective looks below which a cell is low-count)."""
        return self.min_effective

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, atlas_dir, prefer: str = "nc") -> Atlas:
        """Open an atlas directory; :class:`AtlasError` names what is missing or incompatible."""
        from atlas_core.octree import Octree

        atlas_dir = Path(atlas_dir)
        if not atlas_dir.is_dir():
            raise AtlasError(f"{atlas_dir}: no atlas directory there (build one with `atlas build`)")
        files = {"nc": atlas_dir / "atlas.nc", "zarr": atlas_dir / "atlas.zarr"}
        order = [prefer] + [f for f in files if f != prefer]
        found = [files[f] for f in order if files[f].exists()]
        if not found:
            raise AtlasError(f"{atlas_dir}: neither atlas.nc nor atlas.zarr found")
        ds = load_dataset(found[0])
        for name in ("octree.npz", "states.parquet"):
            if not (atlas_dir / name).exists():
                raise AtlasError(f"{atlas_dir}: {name} is missing")
        try:
            octree = Octree.load(atlas_dir / "octree.npz")
        except (OSError, ValueError, KeyError) as err:
            raise AtlasError(f"{atlas_dir / 'octree.npz'}: unreadable octree ({err})") from err
        cols = StateColumns(atlas_dir / "states.parquet", CONDITION_COLUMNS)
        missing = [c for c in ("leaf", "code", "dst") if c not in cols.schema]
        if missing:
            raise AtlasError(f"{atlas_dir / 'states.parquet'}: missing columns {missing}")
        return cls(atlas_dir, ds, octree, cols)

    @property
    def synthetic(self) -> bool:
        """True when the atlas was built from the synthetic archive."""
        return bool(int(self.ds.attrs.get("synthetic", 0)))

    @cached_property
    def model(self):
        """The regime model (:class:`atlas_core.regimes.RegimeModel`), loaded on first use."""
        from atlas_core.regimes import RegimeModel

        return RegimeModel.load(self.atlas_dir / "model")

    @cached_property
    def states(self) -> pd.DataFrame:
        """The full state table with ``code``, ``leaf``, ``dist`` and ``anomaly`` columns."""
        return pd.read_parquet(self.atlas_dir / "states.parquet")

    @property
    def provenance(self) -> dict:
        a = self.ds.attrs
        return {"code_version": a.get("code_version"), "seed": a.get("seed"),
                "config": json.loads(a.get("config", "{}")),
                "source_files": json.loads(a.get("source_files", "[]"))}

    # --- conditioning ---------------------------------------------------------------------

    def occupancy(self, dst_min: float | None = None, dst_max: float | None = None) -> np.ndarray:
        """(L, K) state counts per cell and regime for ``dst_min <= Dst <= dst_max`` (nT).

        Either bound may be None (open). With no bound, every state. Raises :class:`AtlasError`
        when the range is inverted or holds no state.
        """
        counts = self.index.counts(dst_min, dst_max)
        if (dst_min is not None or dst_max is not None) and not counts.any():
            lo, hi = self.index.dst_extent
            raise AtlasError(f"no state with {_fmt_range(dst_min, dst_max)}; the atlas' states "
                             f"span Dst {lo:g} .. {hi:g} nT")
        return counts

    def select_near(self, k: int = DEFAULT_NEIGHBOURS, max_distance: float | None = None,
                    **target: float) -> np.ndarray:
        """Indices of the ``k`` states nearest the target condition (standardised parameters).

        ``target`` names: dst (nT), ddst (dDst/dt, nT/h), sw_n (cm^-3), sw_v (km/s), imf_bz (nT),
        sw_pdyn (nPa); the solar-wind ones need an atlas built from states with OMNI columns.
        """
        idx, _ = self.neighbours.select(target, k=k, max_distance=max_distance)
        return idx

    def occupancy_near(self, k: int = DEFAULT_NEIGHBOURS, max_distance: float | None = None,
                       **target: float) -> np.ndarray:
        """(L, K) counts of the ``k`` states nearest the target condition (TS07D-style)."""
        keys = self.neighbours.key[self.select_near(k, max_distance, **target)]
        return np.bincount(keys, minlength=self.n_leaves * self.k).reshape(self.n_leaves, self.k)

    def counts_of(self, states=None) -> tuple[np.ndarray, np.ndarray]:
        """``(windows (L, K) int64, effective (L, K) float64)`` of a selection of states (an index
        array or boolean mask over the state table; None: every state, read-only tables).

        ``effective`` counts independent looks: each pass of a spacecraft through a cell counts
        ``m / (1 + (m - 1) rho)`` for its ``m`` selected windows (:mod:`atlas_core.atlas.passes`).
        Contract C2: the product layer gets every number through this and :meth:`estimate`.
        """
        return self.stats.counts_of(states)

    def estimate(self, windows, effective, leaves=None, level: float | None = None,
                 bounds: bool = True) -> Estimate:
        """``Estimate(p, lo, hi, n_eff)``: hierarchical posterior mean and credible bounds (at
        ``level``, default the atlas' credible level) of every leaf, or of ``leaves``, from the
        FULL (L, K) effective counts (a sparse cell borrows from its octree ancestors,
        :mod:`atlas_core.atlas.hierarchy`); ``n_eff`` (rows,) the leaf's own effective count.
        ``bounds=False`` skips the credible bounds (``lo``, ``hi`` None): means cost less."""
        return self.stats.estimate(windows, effective, leaves=leaves, level=level, bounds=bounds)

    def posterior(self, effective, leaves=None):
        """The hierarchical posterior under one condition, to cache: ``.p``, ``.var``,
        ``.n_eff`` now (of every leaf, or of the sorted ``leaves``), ``.bounds(level, leaves)``
        for the cells someone looks at (:class:`atlas_core.atlas.hierarchy.CellPosterior`)."""
        return self.stats.posterior(effective, leaves)

    def low_count(self, n_eff) -> np.ndarray:
        """True where a cell holds fewer than :attr:`min_effective` effective looks."""
        return self.stats.low_count(n_eff)

    def probabilities(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-cell Dirichlet(``alpha``) posterior of raw (..., K) counts, each count an
        independent draw and no pooling: the atlas' estimates come from :meth:`estimate`; this
        is the old estimator, kept for callers that compare against it."""
        return dirichlet_posterior(counts, alpha=self.alpha, level=self.level)

    def shift(self, range_a=(None, -50.0), range_b=(-20.0, 20.0)) -> tuple[np.ndarray, np.ndarray]:
        """(L, K) difference p(a) - p(b) of the hierarchical posterior means (default storm minus
        quiet) and a significance flag: a two-sided test at level 0.05 on the posterior moments
        of the effective counts (:func:`posterior.shift_significant`), where both conditions hold
        at least ``min_effective`` looks in the cell."""
        from atlas_core.atlas.product import Condition, counts

        ea, eb = (counts(self, Condition(*_parse_range(r))).effective for r in (range_a, range_b))
        return self.stats.shift(ea, eb)

    # --- queries --------------------------------------------------------------------------

    def locate(self, positions, outside: str = "raise") -> tuple[np.ndarray, np.ndarray]:
        """Leaf id of each (M, 3) GSM R_E position; ``outside="raise"`` or ``"nan"`` (-1 ids)."""
        pos = np.asarray(positions, dtype=np.float64)
        if pos.ndim == 1:
            pos = pos[None, :]
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise AtlasError(f"positions must have shape (M, 3) in GSM R_E, got {pos.shape}")
        leaf = self.octree.locate(pos)
        bad = leaf < 0
        if bad.any() and outside == "raise":
            lo, hi = self.octree.extent_re
            first = pos[np.flatnonzero(bad)[0]]
            raise OutsideAtlasError(
                f"{int(bad.sum())} of {len(pos)} positions lie outside the atlas (first: "
                f"{first.tolist()} R_E; the atlas covers x {lo[0]:g}..{hi[0]:g}, "
                f"y {lo[1]:g}..{hi[1]:g}, z {lo[2]:g}..{hi[2]:g} R_E GSM)")
        return pos, leaf

    def query(self, positions, dst_range=None, near: dict | None = None,
              k: int = DEFAULT_NEIGHBOURS, outside: str = "raise") -> QueryResult:
        """Regime probabilities with credible intervals at positions under a condition.

        ``dst_range=(min, max)`` nT (either end None) or ``near={"dst": -80, "ddst": -10}`` with
        ``k`` neighbours; neither means all states. ``outside="nan"`` gives NaN rows instead of
        raising :class:`OutsideAtlasError`. The numbers are the product layer's
        (:func:`atlas_core.atlas.product.query_cells`), as in ``atlas query`` and the dashboard.
        """
        from atlas_core.atlas.product import query_cells

        return QueryResult(query_cells(self, positions, self.condition(dst_range, near, k), outside))

    def condition(self, dst_range=None, near: dict | None = None, k: int = DEFAULT_NEIGHBOURS):
        """The product layer's :class:`~atlas_core.atlas.product.Condition` of a Dst range
        ``(min, max)`` nT or a nearest-neighbour target ``near`` (``k`` states); neither: all."""
        from atlas_core.atlas.product import Condition

        if dst_range is not None and near is not None:
            raise AtlasError("give either a Dst range or a nearest-neighbour condition, not both")
        if near is not None:
            return Condition(near=near, k=int(k))
        return Condition(*_parse_range(dst_range)) if dst_range is not None else Condition()

    def most_likely_state(self, position, dst_range=None, near=None, n: int = 4000,
                          seed: int = 0, quantiles=QUANTILES, **kw) -> PlasmaState:
        """The dominant regime at a position under a condition, with its feature quantiles
        (from the generative model, and from the cell's observed states of that regime)."""
        r = self.query([position], dst_range, near, **kw)
        if r.count[0] == 0:
            raise AtlasError(f"no state in the cell at {list(map(float, r.positions[0]))} R_E "
                             f"under {r.condition}: no most likely state")
        top = int(r.dominant[0])
        gen = self.model.sample(top, n, seed)
        features = list(gen.columns)
        q = gen[features].quantile(list(quantiles))
        cell = self.states.iloc[self.octree.states_in(int(r.leaf[0]))]
        cell = cell[cell["code"] == top]
        obs = cell[features].quantile(list(quantiles)) if len(cell) else pd.DataFrame(columns=features)
        regime = {"id": top, "name": self.names[top], "p": float(r.p[0, top]),
                  "lo": float(r.lo[0, top]), "hi": float(r.hi[0, top])}
        return PlasmaState([float(v) for v in r.positions[0]], int(r.leaf[0]), regime, q, obs)

    def sample(self, position, n: int = 1000, dst_range=None, near=None, seed: int = 0,
               **kw) -> pd.DataFrame:
        """``n`` plausible plasma states at a position: regimes drawn from the cell's regime
        probabilities under the condition, features from the generative model of each regime.
        Columns: the features (physical units), ``regime``, ``regime_name``."""
        r = self.query([position], dst_range, near, **kw)
        rng = np.random.default_rng(seed)
        if r.count[0] == 0:
            raise AtlasError(f"no state in the cell at {list(map(float, r.positions[0]))} R_E "
                             f"under {r.condition}: nothing to sample from")
        per_regime = rng.multinomial(int(n), r.p[0] / r.p[0].sum())
        parts = []
        for regime in np.flatnonzero(per_regime):
            df = self.model.sample(int(regime), int(per_regime[regime]), int(seed) + int(regime))
            parts.append(df.assign(regime=int(regime), regime_name=self.names[regime]))
        out = pd.concat(parts, ignore_index=True)
        return out.iloc[rng.permutation(len(out))].reset_index(drop=True)

    # --- anomaly --------------------------------------------------------------------------

    @cached_property
    def _mixtures(self) -> tuple[np.ndarray, np.ndarray]:
        """(L, A, K) cell regime mixtures and (A, K) whole-atlas mixes for scoring (see
        :func:`anomaly.mixture_table`): from the effective counts and the hierarchical means,
        exactly as the build scored its states; an atlas of format 1 keeps the window-count
        mixtures its stored percentiles were made with."""
        if "effective_count" not in self.ds:
            table = mixture_table(self.ds["count"].values, self.ds["p"].values[:, 0],
                                  self.k * self.alpha)
            return table, global_mix(self.ds)
        effective = self.ds["effective_count"].values.astype(np.float64)
        p_all = self.stats.estimator.means(effective[:, 0])
        return mixture_table(effective, p_all, ACTIVITY_PRIOR), global_mix(self.ds)

    def anomaly(self, states: pd.DataFrame, by_activity: bool = True) -> pd.DataFrame:
        """Anomaly measures of new states, one row each (index aligned with ``states``):

        - ``anomaly_score`` (nats): negative log-likelihood of the state's 14 features under its
          cell's regime mixture — for the state's Dst activity bin when ``by_activity`` and Dst
          is known (shrunk towards the cell's all-states mix, :func:`anomaly.mixture_table`),
          else the cell's all-states probabilities;
        - ``anomaly_percentile``: its percentile among the training states' scores;
        - ``place_surprise`` (nats): the score minus the state's score under the whole atlas'
          regime mix (how much less likely *here* than anywhere; see
          :func:`atlas_core.atlas.anomaly.place_surprise`), and ``place_percentile``;
        - ``leaf`` (-1 and NaN measures for a state outside the atlas).
        """
        missing = [c for c in ("x_gsm", "y_gsm", "z_gsm") if c not in states]
        if missing:
            raise AtlasError(f"states lack position columns {missing}")
        for name in ("anomaly_quantile", "place_surprise_quantile"):
            if name not in self.ds:
                raise AtlasError(f"{self.atlas_dir}: the atlas holds no training {name}")
        _, leaf = self.locate(states[["x_gsm", "y_gsm", "z_gsm"]].to_numpy(), outside="nan")
        inside = leaf >= 0
        dst = states["dst"].to_numpy(np.float64) if by_activity and "dst" in states else None
        act = (activity_index(dst, self.bins.label, list(self.ds["activity"].values))
               if dst is not None else np.zeros(len(states), dtype=np.int64))
        score, surprise = np.full(len(states), np.nan), np.full(len(states), np.nan)
        if inside.any():
            log_lik = np.asarray(self.model.log_likelihood(states.loc[inside]), dtype=np.float64)
            table, p_global = self._mixtures
            score[inside], surprise[inside] = score_states(
                log_lik, leaf[inside], act[inside], table, p_global)
        pct = self.ds["percentile"].values
        return pd.DataFrame({
            "leaf": leaf,
            "anomaly_score": score,
            "anomaly_percentile": percentile_of(score, self.ds["anomaly_quantile"].values, pct),
            "place_surprise": surprise,
            "place_percentile": percentile_of(surprise, self.ds["place_surprise_quantile"].values, pct),
        }, index=states.index)

    def anomaly_score(self, states: pd.DataFrame, by_activity: bool = True
                      ) -> tuple[np.ndarray, np.ndarray]:
        """``(anomaly_score, anomaly_percentile)`` arrays of :meth:`anomaly` (NaN outside)."""
        a = self.anomaly(states, by_activity)
        return a["anomaly_score"].to_numpy(), a["anomaly_percentile"].to_numpy()


def _parse_range(dst_range) -> tuple[float | None, float | None]:
    try:
        lo, hi = dst_range
    except (TypeError, ValueError) as err:
        raise AtlasError(f"a Dst range is (dst_min, dst_max) in nT, got {dst_range!r}") from err
    lo = None if lo is None else float(lo)
    hi = None if hi is None else float(hi)
    return lo, hi


def _fmt_range(lo, hi) -> str:
    if lo is None:
        return f"Dst <= {hi:g} nT"
    if hi is None:
        return f"Dst >= {lo:g} nT"
    return f"{lo:g} <= Dst <= {hi:g} nT"
