"""Regime colours for the views: the one rule of :mod:`atlas_core.palette`, re-exported."""

from atlas_core.palette import ASSETS, load_palette, regime_colors, regime_labels

__all__ = ["ASSETS", "load_palette", "regime_colors", "regime_labels"]
