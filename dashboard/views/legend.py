"""The regime legend (grouped by family, each entry's medians on hover), the regime summary
table with units, and the page header that says where the data come from and what they span.
"""

from __future__ import annotations

import html

import pandas as pd
import panel as pn

from atlas_core.palette import regime_family

from .base import View

SUMMARY_COLUMNS = {  # model summary column -> shown header (medians of the regime's windows)
    "count": "windows", "fraction": "fraction", "x_gsm": "x [R_E]", "y_gsm": "y [R_E]",
    "z_gsm": "z [R_E]", "r": "r [R_E]", "n": "n [cm⁻³]", "T": "T [eV]", "V": "|V| [km/s]",
    "abs_Vx": "|V_x| [km/s]", "B": "|B| [nT]", "Bz": "B_z [nT]", "beta": "β",
}


class LegendView(View):
    """Regime colour swatches grouped by family, and the model's regime summary table."""

    title = "Regimes"

    def families(self) -> dict[str, list[int]]:
        """Family name -> the regime ids in it (palette order; unmatched names last)."""
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(self.store.names):
            groups.setdefault(regime_family(name) or "other", []).append(i)
        return groups

    def legend_html(self) -> str:
        medians = self.store.regime_medians()
        parts = []
        for family, ids in self.families().items():
            items = "".join(
                f'<span class="atlas-swatch" title="{html.escape(medians[i])}">'
                f'<i style="background:{self.store.colors[i]}"></i>'
                f'{html.escape(self.store.labels[i])}</span>' for i in ids)
            parts.append(f'<span class="atlas-family"><b>{html.escape(family)}</b>{items}</span>')
        faded = ('<span class="atlas-swatch"><i class="atlas-faded"></i>faded, hatched: '
                 'few effective counts</span><span class="atlas-swatch">'
                 '<i style="background:#EEEEEE"></i>no windows</span>')
        return f'<div class="atlas-legend">{"".join(parts)}<span class="atlas-family">{faded}</span></div>'

    def table(self) -> pd.DataFrame:
        summary = self.store.model.summary
        out = pd.DataFrame({"regime": self.store.labels[: len(summary)],
                            "family": [regime_family(n) or "other" for n in self.store.names]})
        for col, header in SUMMARY_COLUMNS.items():
            if col in summary.columns:
                out[header] = summary[col].to_numpy()
        return out

    def __panel__(self):
        table = self.table()
        fmt = {c: "{:.3g}" for c in table.columns if c not in ("regime", "family", "windows")}
        fmt["fraction"] = "{:.1%}"
        styled = table.style.format(fmt).hide(axis="index")
        return pn.Column(
            pn.pane.Markdown("Regimes found by the model without labels; names from the medians "
                             "of their windows (hover a legend entry for them). Table: medians "
                             "over each regime's windows.", margin=(0, 10)),
            pn.pane.HTML(self.legend_html(), sizing_mode="stretch_width"),
            pn.pane.HTML(styled.to_html(), sizing_mode="stretch_width", max_height=520,
                         css_classes=["atlas-summary"]),
            sizing_mode="stretch_width", css_classes=["atlas-regimes"])


def header(store) -> pn.pane.Alert:
    """A page-wide notice of where the data come from and what they span."""
    span = store.data_span()
    if span["start"] is not None:
        extent = (f"Data: {span['start']:%Y-%m-%d} to {span['end']:%Y-%m-%d} UTC, "
                  f"{span['n_windows']:,} windows on {span['n_days']:,} days, "
                  f"{span['n_storm_days']:,} storm days (Dst ≤ {span['storm_dst_nt']:g} nT).")
    else:
        extent = "The atlas holds no windows."
    if store.synthetic:
        return pn.pane.Alert(
            f"**Synthetic data.** Built from the project's synthetic MMS-like archive (`atlas "
            f"synth`), not from spacecraft measurements. {extent}",
            alert_type="warning", sizing_mode="stretch_width", css_classes=["atlas-header"])
    return pn.pane.Alert(f"{extent} Missions: {', '.join(store.missions())}.", alert_type="info",
                         sizing_mode="stretch_width", css_classes=["atlas-header"])
