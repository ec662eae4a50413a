"""The regime legend and summary table, and the banner that says when data are synthetic."""

from __future__ import annotations

import html

import panel as pn

from .base import View


class LegendView(View):
    """Regime colour swatches with names, and the model's regime summary table."""

    title = "Regimes"

    def legend_html(self) -> str:
        items = "".join(
            f'<span class="atlas-swatch"><i style="background:{c}"></i>{html.escape(label)}</span>'
            for label, c in zip(self.store.labels, self.store.colors, strict=False))
        return f'<div class="atlas-legend">{items}</div>'

    def __panel__(self):
        table = self.store.regime_table().round(3)
        return pn.Column(
            pn.pane.HTML(self.legend_html(), sizing_mode="stretch_width"),
            pn.pane.DataFrame(table, index=False, sizing_mode="stretch_width", max_height=420,
                              css_classes=["atlas-summary"]),
            sizing_mode="stretch_width")


def banner(store) -> pn.pane.Alert:
    """A page-wide notice of where the data come from."""
    if store.synthetic:
        return pn.pane.Alert(
            "**Synthetic data.** This atlas was built from the project's synthetic MMS-like "
            "archive (`atlas synth`), not from spacecraft measurements.",
            alert_type="warning", sizing_mode="stretch_width", css_classes=["atlas-synthetic"])
    return pn.pane.Alert(f"Atlas of {store.n_states:,} measured states.", alert_type="info",
                         sizing_mode="stretch_width")
