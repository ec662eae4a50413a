"""The products' cache on the atlas object: bounded, lock-protected, shared by every thread and
every dashboard session of a process."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd


class ProductCache:
    """A bounded LRU of computed products, shared by the threads of a process.

    At most ``max_items`` entries and ``max_bytes`` of numpy arrays (the least recently used go
    first). A key being computed by one thread is waited for by the others, not recomputed.
    """

    def __init__(self, max_items: int = 32, max_bytes: int = 384 * 2**20):
        self.max_items, self.max_bytes = int(max_items), int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._pending: dict = {}
        self._lock = threading.Lock()

    def get(self, key, compute):
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                event = self._pending.get(key)
                if event is None:
                    event = self._pending[key] = threading.Event()
                    break
            event.wait()
        try:
            value = compute()
        except BaseException:
            with self._lock:
                self._pending.pop(key).set()
            raise
        with self._lock:
            self._items[key] = value
            self._sizes[key] = _nbytes(value)
            self._pending.pop(key).set()
            while len(self._items) > 1 and (len(self._items) > self.max_items
                                            or sum(self._sizes.values()) > self.max_bytes):
                old, _ = self._items.popitem(last=False)
                self._sizes.pop(old, None)
        return value

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._items)


def _nbytes(value, depth: int = 0) -> int:
    """Bytes of the numpy arrays a cached value holds (its own attributes, one level down)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=False).sum())
    if depth > 1:
        return 0
    if isinstance(value, dict | list | tuple):
        items = value.values() if isinstance(value, dict) else value
        return sum(_nbytes(v, depth + 1) for v in items)
    if hasattr(value, "__dict__"):
        return sum(_nbytes(v, depth + 1) for v in vars(value).values()
                   if isinstance(v, np.ndarray | pd.DataFrame))
    return 0


def cache_of(atlas) -> ProductCache:
    """The product cache of an atlas object (made on first use; one per atlas)."""
    cache = atlas.__dict__.get("_product_cache")
    if cache is None:  # dict.setdefault is atomic: concurrent first calls share one cache
        cache = atlas.__dict__.setdefault("_product_cache", ProductCache())
    return cache
