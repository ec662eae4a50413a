"""The sidebar: widgets for the filters, grouped as the views use them."""

from __future__ import annotations

import panel as pn

from ..filters import COVERAGE_COLORS, SLICE_COLORS, Filters
from ..store import DataStore


def controls(filters: Filters, store: DataStore) -> pn.Column:
    """Widgets bound to ``filters`` (sliders report on release, so a drag costs one update)."""
    f = filters
    W = pn.widgets
    regimes = dict(zip(store.labels, range(store.k), strict=False))
    slice_box = pn.Column(
        "### Octree slice",
        W.RadioButtonGroup.from_param(f.param.plane, button_type="default"),
        W.FloatSlider.from_param(f.param.offset, name="Offset along the normal [R_E]",
                                 throttled=True, step=0.5),
        W.Select.from_param(f.param.slice_color, name="Colour cells by",
                            options={v: k for k, v in SLICE_COLORS.items()}),
        W.Select.from_param(f.param.regime, name="Regime (probability, storm − quiet)",
                            options=regimes),
    )
    cond_box = pn.Column(
        "### Activity condition",
        W.RadioButtonGroup.from_param(f.param.mode, name="Condition by",
                                      options={"Dst ranges": "range", "nearest neighbours": "nearest"}),
        W.RadioButtonGroup.from_param(f.param.show, name="Slice and 3D map show",
                                      options={"all states": "all", "quiet": "quiet", "storm": "storm"}),
        W.RangeSlider.from_param(f.param.quiet_dst, name="Quiet: Dst range [nT]", step=1,
                                 throttled=True, css_classes=["atlas-quiet-slider"]),
        W.RangeSlider.from_param(f.param.storm_dst, name="Storm: Dst range [nT] (±500 = open)",
                                 step=1, throttled=True, css_classes=["atlas-storm-slider"]),
        W.FloatSlider.from_param(f.param.target_dst, name="Nearest: target Dst [nT]", step=1,
                                 throttled=True),
        W.FloatSlider.from_param(f.param.target_ddst, name="Nearest: target dDst/dt [nT/h]",
                                 step=0.5, throttled=True),
        W.IntInput.from_param(f.param.k_near, name="Nearest: neighbour states", step=1000),
    )
    cov_box = pn.Column(
        "### Coverage and boundaries",
        W.Select.from_param(f.param.coverage_color, name="Colour coverage by",
                            options={v: k for k, v in COVERAGE_COLORS.items()}),
        W.FloatSlider.from_param(f.param.pdyn, name="Solar-wind Pdyn [nPa]", throttled=True),
        W.FloatSlider.from_param(f.param.imf_bz, name="IMF Bz GSM [nT]", throttled=True),
        W.Select.from_param(f.param.feature, name="Violin feature"),
    )
    return pn.Column(slice_box, cond_box, cov_box, sizing_mode="stretch_width")
