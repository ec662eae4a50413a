"""The 3D regime map view: its own controls (regimes shown, minimum confidence, clipping plane,
boundaries) and a ``pn.pane.VTK`` whose scene follows them and the page's condition.

The cells come from the store (``cell_table`` of the product layer: the dominant regime and its
probability per non-empty leaf); the boundary surfaces use the page's Pdyn and IMF Bz (the
selection's medians unless the user chose others), like every other view. The scene is built the
first time the tab is shown and refreshed on a condition change only while it is shown (else
when it is next shown): a page that never opens the 3D map never pays for it.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from ..base import REGIME_CONDITIONS, View
from .geometry import boundary_surfaces, regime_voxels
from .scene import build_plotter, populate
from .serialise import install as install_fast_arrays

VIEW_NAME = "map3d"
"""The view's name in :data:`dashboard.filters.VIEWS` (the tab it lives in)."""
SERVER_RENDER_SIZE = (240, 160)
"""Pixels of the server's off-screen render window (not what the browser shows)."""
MAX_CELLS = 12000
"""The most cells the map draws: more would not be resolved at the view's size, and each one
costs serialisation on the server and parsing in the browser (measured in docs/benchmarks.md)."""


class Regime3DView(View):
    """Voxels coloured by regime, Earth, magnetopause and bow shock, in the browser's WebGL."""

    title = "3D regime map"

    regimes = param.ListSelector(default=[], objects=[], label="Regimes shown",
                                 doc="regime ids shown (all when empty)")
    min_confidence = param.Number(default=0.0, bounds=(0.0, 1.0), step=0.05,
                                  label="Minimum confidence",
                                  doc="hide cells whose dominant regime is less probable")
    clip_axis = param.Selector(default="none", objects=["none", "x", "y", "z"],
                               label="Clipping plane normal (GSM)")
    clip_offset_re = param.Number(default=0.0, bounds=(-30.0, 30.0), step=0.5,
                                  label="Clipping plane offset [R_E]")
    clip_side = param.Selector(default="below", objects=["below", "above"], label="Keep the side")
    show_boundaries = param.Boolean(default=True, label="Magnetopause and bow shock")

    def __init__(self, **params):
        super().__init__(**params)
        install_fast_arrays()
        self.param.regimes.objects = list(range(self.store.k))
        self._data: tuple[np.ndarray, ...] | None = None
        self._condition = None  # the condition self._data were made for
        self._drawn = None  # the _state() last sent to the browser
        self._pane: pn.pane.VTK | None = None
        self._plotter = None
        self._holder = pn.Column(pn.pane.Markdown("*The 3D map is drawn when this tab opens.*"),
                                 sizing_mode="stretch_width")
        self._note = pn.pane.Markdown("", margin=(0, 10), css_classes=["atlas-map3d-note"])
        f = self.filters
        # one watcher for everything the scene follows: a condition change also moves the
        # boundaries (App follows the selection's solar wind), and the scene must be sent once
        f.param.watch(self._changed, [*REGIME_CONDITIONS, "pdyn", "imf_bz", "view"])
        self.param.watch(self._changed, ["regimes", "min_confidence", "clip_axis",
                                         "clip_offset_re", "clip_side", "show_boundaries"])
        if f.view == VIEW_NAME:
            self.show()

    # --- data and scene ---------------------------------------------------------------------

    def set_data(self, lo, hi, regime, confidence) -> None:
        """New leaf bounds (R_E), dominant regime ids and their probabilities; redraws."""
        self._data = tuple(np.asarray(a) for a in (lo, hi, regime, confidence))
        self._condition = self.filters.current()
        self._draw()

    def _load(self) -> None:
        """The cells of the page's condition, at most MAX_CELLS of them (small leaves merged
        into blocks the camera can resolve, said in the note)."""
        cond = self.filters.current()
        cells = self.store.cell_table(cond, max_cells=MAX_CELLS)
        self._data = (cells[["x0", "y0", "z0"]].to_numpy(), cells[["x1", "y1", "z1"]].to_numpy(),
                      cells["dominant"].to_numpy(), cells["confidence"].to_numpy())
        self._condition = cond
        block = cells.attrs.get("block_re")
        n_leaves = cells.attrs.get("n_leaves", len(cells))
        self._note.object = (
            f"{len(cells):,} cells. " + (f"The {n_leaves:,} non-empty leaves are more than "
                                        f"the view draws well: leaves smaller than {block:g} R_E "
                                        "are shown merged into blocks of that size (mix "
                                        "weighted by effective counts)." if block else ""))

    def _clip(self):
        return None if self.clip_axis == "none" else (self.clip_axis, float(self.clip_offset_re),
                                                        self.clip_side)

    def _scene(self):
        lo, hi, regime, conf = self._data or (np.zeros((0, 3)), np.zeros((0, 3)),
                                              np.zeros(0, int), np.zeros(0))
        voxels = regime_voxels(lo, hi, regime, conf, colors=self.store.colors,
                               regimes=self.regimes or None, min_confidence=self.min_confidence,
                               clip=self._clip())
        f = self.filters
        bounds = boundary_surfaces(f.imf_bz, f.pdyn) if self.show_boundaries else None
        return voxels, bounds

    def plotter(self):
        """A new plotter for the current data and controls."""
        voxels, bounds = self._scene()
        # the browser draws the scene at the pane's size; the server's off-screen render
        # (which Panel runs before every serialisation) only needs to be cheap
        return build_plotter(voxels, boundaries=bounds, clip=self._clip(),
                             window_size=SERVER_RENDER_SIZE)

    def _state(self) -> tuple:
        """Everything the scene shows, to send it once per change however many watchers fire."""
        f = self.filters
        return (self._condition, f.pdyn, f.imf_bz, tuple(self.regimes), self.min_confidence,
                self._clip(), self.show_boundaries)

    def _draw(self) -> None:
        """Send the scene to the browser: the same plotter and actors with new inputs, so the
        browser keeps its renderer and camera."""
        if self._pane is None or self._state() == self._drawn:
            return
        self._drawn = self._state()
        voxels, bounds = self._scene()
        populate(self._plotter, voxels, boundaries=bounds, clip=self._clip())
        self._pane.synchronize()

    def show(self) -> None:
        """Build the scene (first time) or bring it up to the page's condition."""
        if self._condition != self.filters.current():
            self._load()
            self._draw()
        if self._pane is None:
            self._plotter = self.plotter()
            # a fixed size: vtk.js sizes its WebGL buffers when the view is made, and a
            # stretching container is 0 px wide at that moment (GL "zero size" warnings)
            self._pane = pn.pane.VTK(self._plotter.ren_win, sizing_mode="fixed", width=860,
                                     height=600, orientation_widget=False,
                                     enable_keybindings=False, css_classes=["atlas-regime3d"])
            self._drawn = self._state()
            self._holder.objects = [self._pane]

    def _changed(self, *_) -> None:
        """Anything the scene follows changed: redraw once if the tab is shown (else when it is
        next shown; the boundaries and controls are read then)."""
        if self.filters.view != VIEW_NAME:
            return
        if self._pane is None or self._condition != self.filters.current():
            self.show()
        else:
            self._draw()

    # --- layout -----------------------------------------------------------------------------

    def controls(self) -> pn.Param:
        options = {label: i for i, label in enumerate(self.store.labels)}
        return pn.Param(self.param, parameters=["regimes", "min_confidence", "clip_axis",
                                                "clip_offset_re", "clip_side", "show_boundaries"],
                        # a plain multiple select: Choices.js (MultiChoice) logs a deprecation
                        # warning in the console
                        widgets={"regimes": {"type": pn.widgets.MultiSelect, "options": options,
                                             "size": 6},
                                 "min_confidence": pn.widgets.FloatSlider,
                                 "clip_offset_re": pn.widgets.FloatSlider},
                        show_name=False, width=300)

    def __panel__(self):
        note = pn.pane.Markdown(
            "Cells under the page's condition, coloured by their dominant regime, more opaque "
            "where it is more probable. Boundaries for the page's Pdyn and IMF Bz. Drag to turn, "
            "scroll to zoom.", margin=(0, 10))
        return pn.Row(pn.Column(self.controls(), note, self._note, width=320), self._holder,
                      sizing_mode="stretch_width", css_classes=["atlas-map3d"])
