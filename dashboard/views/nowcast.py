"""Nowcast from driver files (issue 14): the user names OMNI / Dst files under the folders the
server was started with (``atlas serve --files DIR``), and the page switches to the
nearest-neighbour condition of the drivers at the files' latest hour (or a chosen one).

The file names go to the store, which lets a name reach the file system only through
:func:`atlas_core.service.files.checked_file` (under the served folders, a driver file type, a
size limit); the condition and the numbers come from :func:`atlas_core.service.nowcast.nowcast`
(the same call as ``atlas nowcast``). Drawing only: the result sets the filters' target, and
every view redraws for it.
"""

from __future__ import annotations

import html

import panel as pn

from atlas_core.atlas.errors import AtlasError
from atlas_core.service.files import FileAccessError

from .base import View

NOTE_CSS = "atlas-nowcast-note"


class NowcastView(View):
    """File names, an optional hour, the button, and what the nowcast used."""

    title = "Nowcast"

    def __init__(self, **params):
        super().__init__(**params)
        roots = self.store.file_roots
        self._files = pn.widgets.TextInput(
            name="Driver files (OMNI, Dst; comma-separated)", placeholder="omni2_2016.dat, "
            "dst_2016.wdc", disabled=not roots, css_classes=["atlas-nowcast-files"])
        self._time = pn.widgets.TextInput(name="Hour (UTC; empty: the files' latest)",
                                          placeholder="2016-03-14T06:00", disabled=not roots,
                                          css_classes=["atlas-nowcast-time"])
        self._go = pn.widgets.Button(name="Nowcast", button_type="primary", disabled=not roots,
                                     css_classes=["atlas-nowcast-button"])
        self._go.on_click(self._run)
        where = ", ".join(str(r) for r in roots)
        self._note = pn.pane.Markdown(
            f"Files are read from {html.escape(where)} only." if roots else
            "No directory is open for reading files: start the server with "
            "`atlas serve ATLAS --files DIR`.", css_classes=[NOTE_CSS], margin=(0, 10))

    def _run(self, _event=None) -> None:
        f = self.filters
        try:
            result = self.store.nowcast(self._files.value, self._time.value, f.k_near)
        except (FileAccessError, AtlasError, ValueError, OSError) as err:
            self._note.object = f"**Nowcast failed:** {html.escape(str(err))}"
            return
        notes = f.set_target(dict(result.condition.near), k=result.condition.k)
        self._note.object = describe(result.record, notes)

    def __panel__(self):
        return pn.Column("### Nowcast from driver files", self._files, self._time, self._go,
                         self._note, sizing_mode="stretch_width")


def describe(record: dict, notes: list[str] = ()) -> str:
    """The nowcast's hour, the driver values it used (with their age) and how many effective
    neighbours the atlas holds for them, as Markdown."""
    used = record.get("condition", {}).get("near", {})
    lines = [f"**Nowcast for {record.get('time', '?')}** (nearest-neighbour condition set):"]
    for name, d in record.get("drivers", {}).items():
        if name in used:
            age = d.get("age_h")
            lines.append(f"- {d.get('label', name)}: {d['value']:g} {d.get('unit', '')}"
                         + (f" ({age} h old)" if age else ""))
    nb = record.get("neighbours", {})
    if nb:
        lines.append(f"- {nb.get('k', '?'):,} neighbour windows, "
                     f"{nb.get('n_effective', float('nan')):.0f} effective looks")
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines)
