"""User-named files, checked before anything opens them.

A path that arrives from a browser (the dashboard's nowcast file fields) or any other remote
caller must never reach the file system unchecked: :func:`checked_file` resolves it (symbolic
links and ``..`` included) and accepts it only when it is a regular file inside one of the
directories the operator allowed (``atlas serve --files DIR``), with an allowed suffix and a
bounded size. The error names the problem without echoing anything outside the allowed roots.
"""

from __future__ import annotations

from pathlib import Path

DRIVER_SUFFIXES = (".cdf", ".dat", ".txt", ".wdc", ".asc", ".lst")
"""Suffixes of driver files (OMNI HRO CDF, OMNI2 text, Kyoto WDC Dst)."""
MAX_BYTES = 512 * 2**20
"""Largest file a remote caller may have the server read, bytes."""


class FileAccessError(ValueError):
    """A user-named path that is not an allowed, readable file."""


def checked_file(path, roots, suffixes=DRIVER_SUFFIXES, max_bytes: int = MAX_BYTES) -> Path:
    """The resolved :class:`Path` of ``path`` if it is a regular file under one of ``roots``
    (relative paths are taken relative to the first root), else :class:`FileAccessError`."""
    roots = [Path(r).resolve() for r in roots or ()]
    if not roots:
        raise FileAccessError("no directory is open for reading files (start the server with "
                              "--files DIR)")
    text = str(path).strip()
    if not text or "\x00" in text:
        raise FileAccessError("empty or invalid file name")
    p = Path(text).expanduser()
    if not p.is_absolute():
        p = roots[0] / p
    try:
        resolved = p.resolve(strict=True)
    except (OSError, RuntimeError):
        raise FileAccessError(f"{text}: no such file under the allowed directories") from None
    if not any(resolved.is_relative_to(r) for r in roots):
        raise FileAccessError(f"{text}: outside the allowed directories "
                              f"({', '.join(str(r) for r in roots)})")
    if not resolved.is_file():
        raise FileAccessError(f"{text}: not a regular file")
    if suffixes and resolved.suffix.lower() not in suffixes:
        raise FileAccessError(f"{text}: expected a file ending in {', '.join(suffixes)}")
    if resolved.stat().st_size > max_bytes:
        raise FileAccessError(f"{text}: larger than {max_bytes // 2**20} MiB")
    return resolved
