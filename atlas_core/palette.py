"""Regime colours, the same in every view and every exported figure.

The palette lives in ``assets/palette.json``: a regime's physics-based name (from
``atlas_core.regimes``) is matched against colour *families* (solar wind, magnetosheath,
plasma sheet, lobe, ...), so that sheath-like regimes are always orange-red and lobe-like ones
always blue, whatever the regime ids are. It sits in ``atlas_core`` so that the figure export
and the dashboard share one rule (``atlas_core`` never imports the dashboard).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"
"""The repository's ``assets/`` folder (palette, CSS, logo)."""


@lru_cache(maxsize=1)
def load_palette() -> dict:
    """The parsed ``assets/palette.json`` (read once per process; treat as read-only)."""
    path = ASSETS / "palette.json"
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as err:
        raise RuntimeError(f"{path}: cannot read the regime palette ({err})") from err


def regime_colors(names: list[str]) -> list[str]:
    """One hex colour per regime, in regime-id order, from the regimes' names.

    Regimes of one family take its shades in id order; names that match no family, or a
    family whose shades ran out, take the fallback colours in order.
    """
    palette = load_palette()
    families = palette["families"]
    used = {f["family"]: 0 for f in families}
    fallback = iter(palette["fallback"] * (1 + len(names) // len(palette["fallback"])))
    colors = []
    for name in names:
        low = str(name).lower()
        color = None
        for fam in families:
            if any(kw in low for kw in fam["keywords"]):
                i = used[fam["family"]]
                if i < len(fam["shades"]):
                    color = fam["shades"][i]
                    used[fam["family"]] = i + 1
                break
        colors.append(color or next(fallback))
    return colors


def regime_labels(names: list[str]) -> list[str]:
    """Unique display labels: the names themselves, with ``" #<id>"`` added to a name that
    several regimes share."""
    names = [str(n) for n in names]
    return [n if names.count(n) == 1 else f"{n} #{k}" for k, n in enumerate(names)]
