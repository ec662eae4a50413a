"""The base of every view: a Panel ``Viewer`` holding the shared store and filters.

A view reads :class:`~dashboard.filters.Filters` (and may set them: a click on the slice sets
``filters.cell``) and asks :class:`~dashboard.store.DataStore` for its numbers; it never
computes science itself. Subclasses build their panel in ``__init__`` and return it from
``__panel__``.
"""

from __future__ import annotations

import param
from panel.viewable import Viewer

from ..filters import CONDITION_PARAMS, Filters
from ..store import DataStore

REGIME_CONDITIONS = CONDITION_PARAMS
"""The filter parameters that change the activity condition (mission included)."""


class View(Viewer):
    """A view over one store and one session's filters."""

    store = param.ClassSelector(class_=DataStore, allow_refs=False, doc="the session's data store")
    filters = param.ClassSelector(class_=Filters, allow_refs=False, doc="the session's controls")

    title = "view"

    def axis_labels(self, plane: str) -> tuple[str, str]:
        u, v = plane[0].lower(), plane[1].lower()
        return f"{u}_gsm [R_E]", f"{v}_gsm [R_E]"
