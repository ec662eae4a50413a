"""Errors raised by the atlas: all subclasses of :class:`ValueError`, so callers may catch either."""

from __future__ import annotations


class AtlasError(ValueError):
    """A clear, user-facing problem with an atlas, a query or a condition."""


class AtlasVersionError(AtlasError):
    """The atlas on disk was written by an incompatible version of this format."""


class OutsideAtlasError(AtlasError):
    """A position lies outside the atlas' octree."""
