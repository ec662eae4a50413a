"""Every number the dashboard shows, from the atlas product layer, with no UI (no Panel import).

``DataStore`` is a thin adapter: the numbers, colours, scales and boundary curves come from
:mod:`atlas_core.atlas.product` and :mod:`atlas_core.physics.boundaries`, the same functions
behind ``atlas export`` and ``atlas query``. What every session shares (counts and estimates
per condition, the coverage frame, the feature samples) is cached once per process on the
opened atlas (``pn.cache`` in the app shares the atlas; the product layer's bounded,
lock-protected cache sits on it). A store holds per session only what that session changed:
its warnings.

Coordinates are GSM, R_E; Dst in nT; dDst/dt in nT/h; entropy in bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.atlas import product
from atlas_core.atlas.errors import AtlasError
from atlas_core.atlas.product import Condition
from atlas_core.physics.boundaries import boundary_cuts, earth_cut
from atlas_core.states import FEATURE_UNITS, FEATURES, LOG_FEATURES, POSITION_GSM

from .filters import PLANES, Filters
from .palette import regime_colors, regime_labels

AXES = {"x": 0, "y": 1, "z": 2}
PLANE_AXES = {"XY": ("x", "y"), "XZ": ("x", "z"), "YZ": ("y", "z")}
"""Slice plane -> its horizontal and vertical GSM axes."""
NO_DATA = "no data"


class StoreError(RuntimeError):
    """The atlas cannot back the dashboard (missing, corrupt or incomplete)."""


def open_atlas(atlas_dir: str | Path):
    """Open an atlas directory, turning every failure into a :class:`StoreError` that names
    the directory and the problem (shown to the user at start)."""
    path = Path(atlas_dir).expanduser()
    if not path.exists():
        raise StoreError(f"atlas directory {path} does not exist (build one with `atlas build`)")
    if not path.is_dir():
        raise StoreError(f"{path} is not a directory (expected an atlas built by `atlas build`)")
    try:
        from atlas_core.atlas import Atlas
    except ImportError as err:  # the atlas stage is not installed
        raise StoreError(f"atlas_core.atlas is unavailable: {err}") from err
    try:
        return Atlas.open(path)
    except Exception as err:  # AtlasError, or a reader's error on a corrupt file
        raise StoreError(f"cannot open the atlas in {path}: {err}") from err


def _members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which ``values`` lie in ``sorted_set`` (ascending): a binary search each, so a cell's
    few states are matched against a 10^5-state selection in microseconds."""
    if sorted_set.size == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[pos] == values


def _feature_label(feature: str) -> str:
    quantity = feature.rsplit("_", 1)[0]
    unit = FEATURE_UNITS.get(quantity, "")
    text = f"{feature} [{unit}]" if unit and unit != "1" else feature
    return f"log10 {text}" if feature in LOG_FEATURES else text


@dataclass
class CellReport:
    """What the inspector shows for one octree leaf."""

    leaf: int
    lo: np.ndarray  # (3,) R_E
    hi: np.ndarray  # (3,) R_E
    level: int
    n_states: int  # all states in the cell
    regimes: pd.DataFrame  # per (condition, regime): count (windows), n_eff, p, p_lo, p_hi
    counts: dict[str, int]  # condition label -> windows in the cell
    features: pd.DataFrame = field(repr=False)  # the cell's states: feature, value, condition

    def summary(self) -> str:
        lo = ", ".join(f"{v:.2f}" for v in self.lo)
        hi = ", ".join(f"{v:.2f}" for v in self.hi)
        parts = ", ".join(f"{k}: {v}" for k, v in self.counts.items())
        return f"leaf {self.leaf} (level {self.level}) [{lo}] – [{hi}] R_E; {self.n_states} states ({parts})"


class DataStore:
    """The dashboard's data layer over one atlas (see the module docstring)."""

    def __init__(self, atlas, file_roots=()):
        if isinstance(atlas, str | Path):
            atlas = open_atlas(atlas)
        self.atlas = atlas
        # the folders given to `atlas serve --files`: the only ones a typed file name may reach
        self.file_roots = tuple(Path(r).expanduser().resolve() for r in file_roots)
        self.octree = atlas.octree
        self.names: list[str] = list(atlas.names)
        self.k = len(self.names)
        self.labels = regime_labels(self.names)
        self.colors = regime_colors(self.names)
        self.synthetic = bool(getattr(atlas, "synthetic", False))
        self.n_states = int(len(atlas.neighbours.key))
        self.n_leaves = int(self.octree.n_leaves)
        self.leaf_lo = np.asarray(self.octree.leaf_lo, dtype=float)
        self.leaf_hi = np.asarray(self.octree.leaf_hi, dtype=float)
        self.leaf_level = np.asarray(self.octree.leaf_level)
        self.min_states = int(atlas.min_count)
        self.warnings: list[str] = []  # conditions that selected nothing, newest last

    @classmethod
    def open(cls, atlas_dir: str | Path) -> DataStore:
        return cls(open_atlas(atlas_dir))

    @property
    def model(self):
        return self.atlas.model

    @property
    def states(self) -> pd.DataFrame:
        """The atlas' full state table (loaded once per process, on first use)."""
        return self.atlas.states

    # --- overview --------------------------------------------------------------------------

    @property
    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) corners of the octree, R_E."""
        return self.leaf_lo.min(axis=0), self.leaf_hi.max(axis=0)

    def plane_limits(self, plane: str, pad: float = 1.0) -> tuple[tuple, tuple]:
        """Axis limits (R_E) of a plane's horizontal and vertical axes: the octree's extent."""
        lo, hi = self.extent
        iu, iv = (AXES[a] for a in PLANE_AXES[plane.upper()])
        return (lo[iu] - pad, hi[iu] + pad), (lo[iv] - pad, hi[iv] + pad)

    def regime_table(self) -> pd.DataFrame:
        """The regime summary table (the model's, with display label and colour first)."""
        summary = self.model.summary.copy()
        summary.insert(0, "colour", self.colors[: len(summary)])
        summary.insert(0, "regime", self.labels[: len(summary)])
        return summary.drop(columns=[c for c in ("id", "name") if c in summary.columns])

    # --- conditioning (the product layer, cached per process) ------------------------------

    def _warn(self, cond: Condition, err: Exception) -> None:
        self.warnings.append(f"{cond.label}: {err}")

    def counts(self, cond: Condition) -> product.CellCounts:
        """Windows and effective counts under a condition (empty, with a warning, when it
        selects no state)."""
        try:
            return product.counts(self.atlas, cond)
        except AtlasError as err:
            self._warn(cond, err)
            return product.counts(self.atlas, cond, allow_empty=True)

    def estimates(self, cond: Condition) -> product.CellEstimates:
        self.counts(cond)  # warns once for an empty selection
        return product.estimates(self.atlas, cond, allow_empty=True)

    def summary(self, cond: Condition) -> dict:
        """What the selection spans: n_states and Dst/drivers 5/50/95 % (product layer)."""
        return self.counts(cond).summary

    def solar_wind(self, cond: Condition, pdyn: float | None = None, bz: float | None = None):
        """The boundary condition (:class:`~atlas_core.atlas.product.SolarWind`): the given
        Pdyn/Bz, else the selection's medians."""
        if self.counts(cond).n_states == 0:
            return product.solar_wind(self.atlas, Condition(), pdyn, bz)
        return product.solar_wind(self.atlas, cond, pdyn, bz)

    def occupancy(self, cond: Condition) -> np.ndarray:
        """(L, K) windows per leaf and regime under a condition."""
        return self.counts(cond).windows

    def state_mask(self, cond: Condition) -> np.ndarray:
        """Boolean mask of the states a condition selects."""
        states = self.counts(cond).states
        if states is None:
            return np.ones(self.n_states, dtype=bool)
        mask = np.zeros(self.n_states, dtype=bool)
        mask[states] = True
        return mask

    def occupancy_comparison(self, a: Condition, b: Condition, names=("quiet", "storm")) -> pd.DataFrame:
        """Regime occupancy (fraction of the windows under each condition), long format:
        columns regime, condition, count, fraction, colour."""
        rows = []
        for cond, name in zip((a, b), names, strict=False):
            per_regime = self.counts(cond).per_regime
            total = per_regime.sum()
            frac = per_regime / total if total else np.zeros(self.k)
            for r in range(self.k):
                rows.append((self.labels[r], f"{name} n={int(total)}", int(per_regime[r]),
                             float(frac[r]), self.colors[r]))
        return pd.DataFrame(rows, columns=["regime", "condition", "count", "fraction", "colour"])

    # --- slice -----------------------------------------------------------------------------

    def slice_leaves(self, plane: str, offset: float) -> np.ndarray:
        return product.slice_leaves(self.atlas, plane, offset)

    def slice_table(self, plane: str, offset: float, cond: Condition, color: str = "dominant",
                    regime: int = 0, quiet: Condition | None = None,
                    storm: Condition | None = None) -> pd.DataFrame:
        """The product layer's slice table (:func:`atlas_core.atlas.product.slice_table`): the
        rectangles (u0, u1, v0, v1 in the plane's axes, R_E), every number, and the ``fill``
        and ``alpha`` the cells are drawn with; ``attrs["scale"]`` the colour scale."""
        for c in (cond, quiet, storm) if color == "storm_minus_quiet" else (cond,):
            if c is not None:
                self.counts(c)  # warn about an empty selection
        return product.slice_table(self.atlas, plane, offset, cond, color, regime, quiet=quiet,
                                   storm=storm, allow_empty=True)

    def slice_frame(self, filters: Filters) -> pd.DataFrame:
        """:meth:`slice_table` for the filters' plane, offset, colouring and condition: the
        table the slice view's glyphs draw."""
        return self.slice_table(filters.plane, filters.offset, filters.current(),
                                filters.slice_color, int(filters.regime), filters.quiet(),
                                filters.storm())

    def cell_table(self, cond: Condition, max_cells: int | None = None) -> pd.DataFrame:
        """The non-empty cells under a condition for the 3D map (product layer; at most
        ``max_cells``, small leaves merged into blocks beyond that)."""
        self.counts(cond)
        return product.cell_table(self.atlas, cond, allow_empty=True, max_cells=max_cells)

    # --- cells -----------------------------------------------------------------------------

    def leaf_at(self, plane: str, offset: float, u: float, v: float) -> int:
        """The leaf under a point (u, v) of a slice plane; -1 outside the octree."""
        point = np.zeros(3)
        iu, iv = (AXES[a] for a in PLANE_AXES[plane.upper()])
        point[AXES[PLANES[plane.upper()]]] = offset
        point[iu], point[iv] = u, v
        return self.locate(point)

    def locate(self, position) -> int:
        """The leaf holding a GSM position (R_E); -1 outside the octree."""
        pos = np.asarray(position, dtype=float).reshape(1, 3)
        if not np.all(np.isfinite(pos)):
            return -1
        return int(np.asarray(self.octree.locate(pos))[0])

    def states_in(self, leaf: int) -> np.ndarray:
        """Row indices (into ``states``) of the states in a leaf."""
        return np.asarray(self.octree.states_in(int(leaf)), dtype=np.int64)

    def inspect_cell(self, leaf: int, conditions: dict[str, Condition]) -> CellReport:
        """A leaf's regime distribution under each named condition (windows, effective count,
        posterior mean and credible interval; NaN probabilities where the cell holds no window
        under the condition: the prior is not data), and its states' features by condition."""
        leaf = int(leaf)
        if not 0 <= leaf < self.n_leaves:
            raise ValueError(f"leaf {leaf} is outside 0..{self.n_leaves - 1}")
        idx = self.states_in(leaf)
        names, regimes, feats = list(conditions), [], []
        counts_by = {}
        for name, cond in conditions.items():
            c, est = self.counts(cond), self.estimates(cond)
            row = c.row[leaf]
            windows = c.windows_rows[row]
            counts_by[name] = int(windows.sum())
            p, lo, hi = (a[0] for a in est.at([leaf]))  # NaN where the cell holds no window
            regimes.append((windows, c.effective_rows[row], p, lo, hi))
            chosen = idx if c.states is None else idx[_members(idx, c.states)]
            if len(chosen):
                feats.append((name, chosen))
        k, m = self.k, len(names)
        stack = [np.concatenate([r[j] for r in regimes]) if regimes else np.zeros(0)
                 for j in range(5)]
        table = pd.DataFrame({
            "condition": np.repeat(np.array(names, dtype=object), k),
            "regime": np.tile(np.array(self.labels, dtype=object), m),
            "colour": np.tile(np.array(self.colors, dtype=object), m),
            "count": stack[0].astype(int), "n_eff": stack[1], "p": stack[2], "p_lo": stack[3],
            "p_hi": stack[4]})
        return CellReport(
            leaf=leaf, lo=self.leaf_lo[leaf], hi=self.leaf_hi[leaf],
            level=int(self.leaf_level[leaf]), n_states=int(len(idx)),
            regimes=table, counts=counts_by, features=self._long_features(feats),
        )

    cell_report = inspect_cell

    def _long_features(self, chosen: list[tuple[str, np.ndarray]]) -> pd.DataFrame:
        """Long format (feature, value, condition) of the chosen states of each condition,
        log10 for the features that span decades; built from numpy in one frame (a pandas
        melt per condition cost ~0.1 s a click)."""
        labels = np.array([_feature_label(f) for f in FEATURES], dtype=object)
        log = np.array([f in LOG_FEATURES for f in FEATURES])
        parts_v, parts_f, parts_c = [], [], []
        for name, idx in chosen:
            block = np.column_stack([self.states[f].to_numpy(dtype=float)[idx] for f in FEATURES])
            with np.errstate(divide="ignore", invalid="ignore"):
                block[:, log] = np.log10(np.where(block[:, log] > 0, block[:, log], np.nan))
            values = block.T.ravel()  # feature-major, as a melt gives
            ok = np.isfinite(values)
            parts_v.append(values[ok])
            parts_f.append(np.repeat(labels, len(idx))[ok])
            parts_c.append(np.full(int(ok.sum()), name, dtype=object))
        if not parts_v:
            return pd.DataFrame(columns=["feature", "value", "condition"])
        return pd.DataFrame({"feature": np.concatenate(parts_f), "value": np.concatenate(parts_v),
                             "condition": np.concatenate(parts_c)})

    # --- coverage, violins (shared by every session through the atlas' cache) --------------

    def coverage_frame(self) -> pd.DataFrame:
        """Window positions (GSM, R_E) with regime label (categorical), Dst and mission; one
        frame per process, read-only."""
        return product.cache_of(self.atlas).get(("coverage_frame",), self._coverage_frame)

    def _coverage_frame(self) -> pd.DataFrame:
        s = self.states
        frame = pd.DataFrame({c: s[c].to_numpy(dtype=np.float32) for c in POSITION_GSM})
        frame["regime"] = pd.Categorical.from_codes(s["code"].to_numpy(), categories=self.labels)
        frame["dst"] = s["dst"].to_numpy(dtype=np.float32)
        mission = s["mission"] if "mission" in s.columns else pd.Series("MMS", index=s.index)
        frame["mission"] = mission.astype("category")
        return frame

    def feature_samples(self, feature: str, n_per_regime: int = 400, seed: int = 0) -> pd.DataFrame:
        """Observed states beside samples from the generative model, for one feature:
        columns regime (label), source ("observed" | "generated"), value (log10 when the
        feature spans decades). One frame per (feature, n, seed) per process, read-only."""
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}; expected one of {FEATURES}")
        key = ("feature_samples", feature, int(n_per_regime), int(seed))
        return product.cache_of(self.atlas).get(
            key, lambda: self._feature_samples(feature, int(n_per_regime), int(seed)))

    def _feature_samples(self, feature: str, n_per_regime: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        codes = self.states["code"].to_numpy()
        values = self.states[feature].to_numpy(dtype=float)
        parts = []
        for r in range(self.k):
            idx = np.flatnonzero(codes == r)
            if len(idx) > n_per_regime:
                idx = rng.choice(idx, n_per_regime, replace=False)
            parts.append(pd.DataFrame({"regime": self.labels[r], "source": "observed", "value": values[idx]}))
            if len(idx):
                gen = self.model.sample(r, n_per_regime, seed=seed + r)
                parts.append(pd.DataFrame({"regime": self.labels[r], "source": "generated",
                                           "value": np.asarray(gen[feature], dtype=float)}))
        frame = pd.concat(parts, ignore_index=True)
        if feature in LOG_FEATURES:
            v = frame["value"].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                frame["value"] = np.log10(np.where(v > 0, v, np.nan))
        return frame.dropna()

    @staticmethod
    def feature_label(feature: str) -> str:
        return _feature_label(feature)

    # --- boundaries and export ---------------------------------------------------------------

    @staticmethod
    def boundary_cuts(plane: str, offset: float, pdyn: float, bz: float) -> dict[str, list[np.ndarray]]:
        """Magnetopause and bow shock cut by a slice plane
        (:func:`atlas_core.physics.boundaries.boundary_cuts`) and ``"earth"``."""
        return {**boundary_cuts(plane, offset, pdyn, bz), "earth": earth_cut(plane, offset)}

    @staticmethod
    def boundary_curves(plane: str, offset: float, pdyn: float, bz: float) -> dict[str, list[np.ndarray]]:
        """:meth:`boundary_cuts` under the names the views used before the product layer
        (``"Earth"``, ``"magnetopause"``, ``"bow shock"``)."""
        cuts = DataStore.boundary_cuts(plane, offset, pdyn, bz)
        return {"Earth": cuts["earth"], "magnetopause": cuts["magnetopause"],
                "bow shock": cuts["bow_shock"]}

    def export(self, fmt: str, plane: str, offset: float, cond: Condition, color: str = "dominant",
               regime: int = 0, quiet: Condition | None = None, storm: Condition | None = None,
               pdyn: float | None = None, bz: float | None = None) -> bytes:
        """The slice as a PNG/SVG/PDF figure (:func:`atlas_core.figures.render_slice`, what
        ``atlas export`` writes)."""
        from atlas_core.figures import render_slice

        return render_slice(self.atlas, plane, offset, color, cond, fmt, regime=regime,
                            quiet=quiet, storm=storm, pdyn_npa=pdyn, bz_nt=bz)

    def export_filename(self, fmt: str, plane: str, offset: float, cond: Condition,
                        color: str = "dominant", regime: int = 0, quiet: Condition | None = None,
                        storm: Condition | None = None) -> str:
        """The download name of a slice figure (names the condition)."""
        from atlas_core.figures import export_filename

        return export_filename(plane, offset, color, cond, fmt, regime=regime, quiet=quiet,
                               storm=storm, bins=self.atlas.bins)

    # --- time, maps and cell statistics (added by the dashboard engineer; the computations
    # live in atlas_core.atlas.timeline / maps / describe, shared read-only per process) ------

    def missions(self) -> list[str]:
        """The missions whose states the atlas holds, in the canonical order
        (:func:`atlas_core.atlas.coverage.missions_in`: reads the one column)."""
        from atlas_core.atlas.coverage import missions_in

        return product.cache_of(self.atlas).get(("missions_present",),
                                                lambda: missions_in(self.atlas))

    def data_span(self) -> dict:
        """First/last window, days with data and storm days (Dst ≤ the atlas' storm bound):
        :func:`atlas_core.atlas.timeline.data_span`, once per process."""
        from atlas_core.atlas.timeline import data_span

        storm = float(self.atlas.bins.storm_max)
        return product.cache_of(self.atlas).get(
            ("data_span", storm), lambda: data_span(self.states[["time", "dst"]], storm))

    def first_storm_time(self) -> pd.Timestamp | None:
        """The centre of the first window at Dst ≤ the storm bound (None without one)."""
        def find():
            dst = self.states["dst"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                hit = np.flatnonzero(dst <= float(self.atlas.bins.storm_max))
            return pd.Timestamp(self.states["time"].iloc[hit[0]]) if hit.size else None

        return product.cache_of(self.atlas).get(("first_storm",), find)

    def interval(self, start, end, probe: str | None = None) -> pd.DataFrame:
        """The windows of a time interval with gaps marked (:func:`timeline.interval`)."""
        from atlas_core.atlas.timeline import interval

        return interval(self.states, start, end, probe=probe)

    def cell_intervals(self, leaf: int, cond: Condition) -> pd.DataFrame:
        """The contiguous visits behind a cell under a condition
        (:func:`atlas_core.atlas.timeline.cell_intervals`)."""
        from atlas_core.atlas.timeline import cell_intervals

        idx = self.states_in(leaf)
        chosen = self.counts(cond).states
        if chosen is not None:
            idx = idx[np.isin(idx, chosen)]
        return cell_intervals(self.states, idx, self.labels)

    def regime_map(self, kind: str, cond: Condition) -> pd.DataFrame:
        """An MLT–R or X–ρ map of the regimes under a condition
        (:func:`atlas_core.atlas.maps.regime_map`; coordinates once per process)."""
        from atlas_core.atlas.maps import map_coordinates, regime_map

        cache = product.cache_of(self.atlas)
        u, v = cache.get(("map_coordinates", kind), lambda: map_coordinates(self.states, kind))
        codes = cache.get(("codes",), lambda: self.states["code"].to_numpy(dtype=np.int64))
        rows = self.counts(cond).states
        return cache.get(("regime_map", kind, cond), lambda: regime_map(
            u, v, codes, self.names, kind, rows, min_count=self.min_states))

    def feature_quantiles(self, leaf: int, conditions: dict[str, Condition]) -> pd.DataFrame:
        """Quantiles of the features of a cell's windows under each named condition
        (:func:`atlas_core.atlas.describe.feature_quantiles`)."""
        from atlas_core.atlas.describe import feature_quantiles

        idx = self.states_in(leaf)
        groups = {}
        for name, cond in conditions.items():
            chosen = self.counts(cond).states
            rows = idx if chosen is None else idx[np.isin(idx, chosen)]
            if len(rows):
                groups[name] = self.states.iloc[rows]
        return feature_quantiles(groups)

    @staticmethod
    def boundary_profiles(pdyn: float, bz: float) -> dict:
        """(x, ρ) profiles of the magnetopause and bow shock (R_E; X–ρ maps, 3D surfaces):
        :func:`atlas_core.physics.boundaries.boundary_profiles`."""
        from atlas_core.physics.boundaries import boundary_profiles

        return boundary_profiles(pdyn, bz)

    def regime_medians(self) -> list[str]:
        """One short line of medians per regime (n, T, |B|, |V|, position) for hovers and the
        legend, from the model's summary table."""
        from atlas_core.atlas.describe import regime_medians

        return regime_medians(self.model.summary)

    def occupancy_matched(self, a: Condition, b: Condition) -> pd.DataFrame | None:
        """Regime occupancy of two conditions, global and position-matched (the same cells
        with the same weights for both; :func:`atlas_core.atlas.shifts.position_matched`),
        cached per condition pair; None when either selects no window."""
        from atlas_core.atlas.shifts import position_matched

        ca, cb = self.counts(a), self.counts(b)
        if ca.n_states == 0 or cb.n_states == 0:
            return None
        return product.cache_of(self.atlas).get(
            ("position_matched", a, b), lambda: position_matched(self.atlas, ca.states, cb.states))

    # --- nowcast (issue 14): driver files, read only under the served folders --------------

    def drivers(self) -> set[str]:
        """The nearest-neighbour drivers this atlas' states hold values of
        (:func:`atlas_core.service.nowcast.atlas_drivers`, once per process)."""
        from atlas_core.service.nowcast import atlas_drivers

        return product.cache_of(self.atlas).get(("drivers_present",),
                                                lambda: atlas_drivers(self.atlas))

    def nowcast(self, names, time: str | None = None, k: int = 8000):
        """The nowcast of driver files (:func:`atlas_core.service.nowcast.nowcast`). ``names``:
        file names (a list, or one string separated by commas, semicolons or new lines),
        relative to the first served folder or absolute; each must pass
        :func:`atlas_core.service.files.checked_file` against :attr:`file_roots` (else
        ``FileAccessError``, nothing read). ``time``: ISO UTC hour, None/"" the latest."""
        import re

        from atlas_core.service.files import FileAccessError, checked_file
        from atlas_core.service.nowcast import nowcast

        if isinstance(names, str):
            names = re.split(r"[,;\n]", names)
        names = [n.strip() for n in names if n and n.strip()]
        if not names:
            raise FileAccessError("name at least one driver file (OMNI, Dst)")
        paths = [checked_file(n, self.file_roots) for n in names]
        return nowcast(self.atlas, paths, time=(time or "").strip() or None, k=int(k))
