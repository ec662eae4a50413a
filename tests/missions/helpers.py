"""Small helpers shared by the mission tests."""

from __future__ import annotations


def day_files(archive, mission: str, probe: str, day) -> dict[str, list[str]]:
    """The files a day's windows need: the day's own, plus the day before's last file."""
    files = archive.for_day(mission, probe, day)
    for product, paths in archive.margin_for(mission, probe, day).items():
        files[product] = paths + files.get(product, [])
    return files
