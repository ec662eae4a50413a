"""Per-state columns of an opened atlas, compact and read once.

An atlas of 5 x 10^7 states cannot hold its state table in memory (about 10 GB as pandas), and
an opened :class:`~atlas_core.atlas.query.Atlas` needs only a few of its columns, some of them
only for some conditions (the solar-wind drivers for a nearest-neighbour condition or a
selection's summary, the mission for a mission condition). :class:`StateColumns` reads a column
of ``states.parquet`` on first use, one row group at a time into a preallocated array of a
compact type (float32 for measurements: the table stores them as float32 at scale, and a
float64 one rounds to float32 here, about 1e-7 relative; int32 for ids that fit), and keeps it
once: every part of the atlas that needs the column gets this array, never a copy.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_core.atlas.errors import AtlasError

FLOAT = np.float32
"""Type of the measurement columns held (Dst, dDst/dt, solar-wind drivers)."""


def index_dtype(upper: int) -> np.dtype:
    """int32 when every value below ``upper`` fits, else int64."""
    return np.dtype(np.int32) if upper < 2**31 else np.dtype(np.int64)


def as_decimal(value, dtype=FLOAT) -> float:
    """A number computed from a float32 column as the float of its shortest float32 decimal
    (2.07, not 2.069999933242798): what the column holds, printed without float32 noise."""
    if np.dtype(dtype) != np.float32 or not np.isfinite(value):
        return float(value)
    return float(str(np.float32(value)))  # numpy prints the shortest round-trip decimal


class StateColumns(Mapping):
    """Lazily read, compact per-state columns of a state table (``states.parquet`` or a frame).

    As a mapping it offers the float columns named in ``offered`` that the table holds (as
    float32 arrays, read on first access and cached); :meth:`ids` reads an integer column,
    :meth:`labels` a string column as small integer codes; :attr:`n` is the number of states.
    Reads are thread-safe (a dashboard's sessions share one atlas).
    """

    def __init__(self, source, offered=()) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}
        if isinstance(source, pd.DataFrame):
            self.path, self._frame = None, source
            self.schema = list(source.columns)
            self.n = len(source)
        else:
            import pyarrow.parquet as pq

            self.path, self._frame = Path(source), None
            try:
                meta = pq.ParquetFile(self.path).metadata
            except (OSError, ValueError) as err:
                raise AtlasError(f"{self.path}: unreadable state table ({err})") from err
            self.schema = list(meta.schema.names)
            self.n = int(meta.num_rows)
        self.offered = [c for c in offered if c in self.schema]

    # --- the mapping: float measurement columns ----------------------------------------------

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.offered:
            raise KeyError(name)
        return self._cached(name, lambda: self._read(name, FLOAT))

    def __iter__(self):
        return iter(self.offered)

    def __len__(self) -> int:
        return len(self.offered)

    def loaded(self) -> list[str]:
        """Names of the columns read so far."""
        return list(self._cache)

    @property
    def nbytes(self) -> int:
        """Bytes of the columns held."""
        return sum(a.nbytes for a in self._cache.values() if isinstance(a, np.ndarray))

    # --- other columns -----------------------------------------------------------------------

    def ids(self, name: str, upper: int | None = None) -> np.ndarray:
        """An integer column as int32 when ``upper`` (exclusive bound of its values, e.g. the
        number of leaves) allows it, else int64; not cached (callers keep what they derive)."""
        if name not in self.schema:
            raise AtlasError(f"{self._where}: no column {name!r}")
        dtype = index_dtype(upper) if upper is not None else np.dtype(np.int64)
        return self._read(name, dtype)

    def equals(self, name: str, values: np.ndarray) -> bool:
        """True when the column holds exactly ``values`` (compared a row group at a time)."""
        if name not in self.schema:
            raise AtlasError(f"{self._where}: no column {name!r}")
        for start, chunk in self._chunks(name):
            part = chunk if isinstance(chunk, np.ndarray) else chunk.to_numpy()
            if not np.array_equal(part, values[start:start + len(part)]):
                return False
        return True

    def labels(self, name: str) -> tuple[np.ndarray, list[str]]:
        """A string column (e.g. ``mission``) as ``(codes (N,) int16, names)`` with
        ``names[codes[i]]`` the value of state ``i`` (cached; -1 for a missing value)."""
        return self._cached(f"labels:{name}", lambda: self._read_labels(name))

    def frame(self, names: list[str]) -> pd.DataFrame:
        """Some columns as a DataFrame, as stored (for rare, whole-table work)."""
        if self._frame is not None:
            return self._frame[names]
        return pd.read_parquet(self.path, columns=names)

    # --- reading -----------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        return str(self.path) if self.path is not None else "state table"

    def _cached(self, key: str, read):
        with self._lock:  # one read per column, even when sessions ask at once
            if key not in self._cache:
                self._cache[key] = read()
            return self._cache[key]

    def _chunks(self, name: str):
        """(start, numpy values) of a column, one row group at a time (bounded temporaries)."""
        if self._frame is not None:
            yield 0, self._frame[name].to_numpy()
            return
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.path)
        start = 0
        for rg in range(pf.num_row_groups):
            col = pf.read_row_group(rg, columns=[name]).column(0)
            yield start, col
            start += len(col)

    def _read(self, name: str, dtype) -> np.ndarray:
        out = np.empty(self.n, dtype=dtype)
        for start, chunk in self._chunks(name):
            values = chunk if isinstance(chunk, np.ndarray) else chunk.to_numpy()
            if out.dtype.kind == "i" and values.size:
                info = np.iinfo(out.dtype)
                if values.min() < info.min or values.max() > info.max:
                    return self._read(name, np.int64)  # does not fit: the wide type
            out[start:start + len(values)] = values
        return out

    def _read_labels(self, name: str) -> tuple[np.ndarray, list[str]]:
        import pyarrow as pa

        codes = np.full(self.n, -1, dtype=np.int16)
        names: list[str] = []
        for start, chunk in self._chunks(name):
            if isinstance(chunk, np.ndarray):
                values, local = pd.factorize(pd.Series(chunk).astype("string"), sort=True)
                local = [str(v) for v in local]
            else:
                arr = chunk.combine_chunks() if isinstance(chunk, pa.ChunkedArray) else chunk
                if not pa.types.is_dictionary(arr.type):
                    arr = arr.dictionary_encode()
                local = [str(v) for v in arr.dictionary.to_pylist()]
                values = arr.indices.to_numpy(zero_copy_only=False)
                values = np.where(np.isnan(values), -1, values).astype(np.int64) \
                    if values.dtype.kind == "f" else values.astype(np.int64)
            for v in local:
                if v not in names:
                    names.append(v)
            to_global = np.array([names.index(v) for v in local] + [-1], dtype=np.int16)
            codes[start:start + len(values)] = to_global[values]  # -1 indexes the last: missing
        return codes, names
