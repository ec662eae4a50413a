"""The synthetic MMS-like archive: orbit, driver, boundaries, regions, CDF writer.

``generate_archive(out_dir, start, end, seed=0, every_nth_day=1, workers=None, progress=True)``
writes real MMS-format CDF files in the SDC layout, the truth region of every FPI sample in
Parquet beside them, OMNI2/Kyoto-format indices and ``archive.json``. See
docs/synthetic-archive.md for what is modelled and what is not.
"""

from atlas_core.synth.archive import generate_archive
from atlas_core.synth.regions import REGIONS

__all__ = ["generate_archive", "REGIONS"]
