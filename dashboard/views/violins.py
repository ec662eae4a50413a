"""Per-regime feature violins: observed states beside samples from the generative model."""

from __future__ import annotations

import holoviews as hv
import panel as pn
from holoviews import dim

from atlas_core.atlas.describe import feature_label
from atlas_core.states import LOG_FEATURES

from .base import View


def _vertical_groups(plot, element):
    plot.state.xaxis[0].group_label_orientation = "vertical"  # regime names


class ViolinView(View):
    """One feature by regime; for each regime the observed and the generated distribution."""

    title = "Feature violins"

    def __init__(self, **params):
        super().__init__(**params)
        self._pane = pn.pane.HoloViews(pn.bind(self._violins, feature=self.filters.param.feature),
                                       sizing_mode="stretch_width", min_height=540)

    def _violins(self, feature: str):
        frame = self.store.feature_samples(feature)
        colors = dict(zip(self.store.labels, self.store.colors, strict=False))
        label = feature_label(feature) + (" (log10)" if feature in LOG_FEATURES else "")
        violins = hv.Violin(frame, kdims=["regime", "source"], vdims=[hv.Dimension(
            "value", label=label)])
        return violins.opts(
            violin_fill_color=dim("regime").categorize(colors, default="#999999"),
            violin_fill_alpha=dim("source").categorize({"observed": 0.95, "generated": 0.4}),
            inner="quartiles", xrotation=90, responsive=True, min_height=520, xlabel="",
            hooks=[_vertical_groups],
            title=f"{feature_label(feature, long=True)}: observed (solid) beside generated (faded)")

    def __panel__(self):
        return pn.Column(self._pane, sizing_mode="stretch_width", css_classes=["atlas-violins"])
