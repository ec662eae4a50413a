"""The sidebar: widgets for the filters, in labelled groups, each button group with a visible
label and a filled selected button; controls that do not apply in the current mode are hidden.
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from atlas_core.atlas.describe import feature_label
from atlas_core.states import FEATURES

from ..filters import COVERAGE_COLORS, NEAR_DRIVERS, SLICE_COLORS, Filters
from ..store import DataStore


def _labelled(label: str, widget) -> pn.Column:
    """A button group with its label above it (RadioButtonGroup shows no name itself)."""
    return pn.Column(pn.pane.HTML(f'<label class="atlas-label">{label}</label>', margin=(4, 10, 0, 10)),
                     widget, margin=0)


def _buttons(param, options: dict, css: str):
    return pn.widgets.RadioButtonGroup.from_param(
        param, options=options, button_type="primary", button_style="outline",
        css_classes=["atlas-buttons", css])


def controls(filters: Filters, store: DataStore) -> pn.Column:
    """Widgets bound to ``filters`` (sliders report on release, so a drag costs one update)."""
    f, W = filters, pn.widgets
    regimes = dict(zip(store.labels, range(store.k), strict=False))
    slice_box = pn.Column(
        "### Octree slice",
        _labelled("Plane (GSM)", _buttons(f.param.plane, {p: p for p in ("XY", "XZ", "YZ")},
                                          "atlas-plane")),
        W.FloatSlider.from_param(f.param.offset, name="Offset along the normal [R_E]",
                                 throttled=True, step=0.5),
        W.Select.from_param(f.param.slice_color, name="Colour cells by",
                            options={v: k for k, v in SLICE_COLORS.items()}),
        W.Select.from_param(f.param.regime, name="Regime (probability, storm − quiet)",
                            options=regimes),
    )
    ranges = [
        W.RangeSlider.from_param(f.param.quiet_dst, name="Quiet: Dst range [nT]", step=1,
                                 throttled=True, css_classes=["atlas-quiet-slider"]),
        W.RangeSlider.from_param(f.param.storm_dst, name="Storm: Dst range [nT] (±500 = open)",
                                 step=1, throttled=True, css_classes=["atlas-storm-slider"]),
    ]
    show = _labelled("Maps show", _buttons(f.param.show, {"all states": "all", "quiet": "quiet",
                                                          "storm": "storm"}, "atlas-show"))
    drivers = pn.widgets.CheckButtonGroup.from_param(
        f.param.near_drivers, options={NEAR_DRIVERS[n]: n for n in f.param.near_drivers.objects},
        button_type="primary", button_style="outline",
        css_classes=["atlas-buttons", "atlas-near-drivers"])
    targets = {
        "dst": W.FloatSlider.from_param(f.param.target_dst, name="Target Dst [nT]", step=1,
                                        throttled=True),
        "ddst": W.FloatSlider.from_param(f.param.target_ddst, name="Target dDst/dt [nT/h]",
                                         step=0.5, throttled=True),
        "imf_bz": W.FloatSlider.from_param(f.param.target_imf_bz, name="Target IMF Bz GSM [nT]",
                                           step=0.5, throttled=True),
        "sw_pdyn": W.FloatSlider.from_param(f.param.target_sw_pdyn, name="Target Pdyn [nPa]",
                                            step=0.1, throttled=True),
        "sw_v": W.FloatSlider.from_param(f.param.target_sw_v, name="Target V_sw [km/s]", step=10,
                                         throttled=True),
    }
    nearest = [_labelled("Drivers used", drivers), *targets.values(),
               W.IntInput.from_param(f.param.k_near, name="Neighbour windows", step=1000)]

    def by_mode(*_):
        near = f.mode == "nearest"
        show.visible = not near
        for w in nearest:
            w.visible = near
        for name, w in targets.items():  # a driver's target only while the driver is used
            w.visible = near and name in f.near_drivers

    f.param.watch(by_mode, ["mode", "near_drivers"])
    by_mode()
    cond_box = pn.Column(
        "### Activity condition",
        _labelled("Condition by", _buttons(f.param.mode, {"Dst ranges": "range",
                                                          "nearest neighbours": "nearest"},
                                           "atlas-mode")),
        show, *ranges, *nearest,
        W.Select.from_param(f.param.mission, name="Mission",
                            visible=len(f.param.mission.objects) > 2),
    )
    bound_box = pn.Column(
        "### Boundaries (magnetopause, bow shock)",
        _labelled("Drawn for", _buttons(f.param.boundaries, {"selection's median": "selection",
                                                             "values below": "chosen"},
                                         "atlas-boundaries")),
        W.FloatSlider.from_param(f.param.pdyn, name="Solar-wind Pdyn [nPa]", throttled=True),
        W.FloatSlider.from_param(f.param.imf_bz, name="IMF Bz GSM [nT]", throttled=True),
    )
    other_box = pn.Column(
        "### Other views",
        W.Select.from_param(f.param.coverage_color, name="Colour coverage by",
                            options={v: k for k, v in COVERAGE_COLORS.items()}),
        W.Select.from_param(f.param.feature, name="Violin feature",
                            options={feature_label(x, long=True): x for x in FEATURES}),
    )
    return pn.Column(slice_box, cond_box, bound_box, other_box, sizing_mode="stretch_width")


def series_controls(filters: Filters, store: DataStore) -> pn.Row:
    """Start, length and stepping of the time-series interval (above the time-series view)."""
    f, W = filters, pn.widgets
    start = W.TextInput.from_param(f.param.series_start, name="Start (UTC; empty: first storm)",
                                   placeholder="2016-01-20T06:00", width=230)
    hours = W.FloatSlider.from_param(f.param.series_hours, name="Length [h]", width=260,
                                     throttled=True)

    def step(sign):
        def go(_):
            from .timeseries import series_interval

            t0, _ = series_interval(f, store)
            shifted = t0 + sign * pd.Timedelta(hours=float(f.series_hours))
            f.series_start = shifted.isoformat(timespec="minutes")
        return go

    earlier = W.Button(name="◀ earlier", width=90, margin=(24, 5, 5, 5))
    later = W.Button(name="later ▶", width=90, margin=(24, 5, 5, 5))
    earlier.on_click(step(-1))
    later.on_click(step(+1))
    return pn.Row(start, hours, earlier, later)
