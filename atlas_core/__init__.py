"""Magnetosphere Atlas: a probabilistic atlas of Earth's magnetosphere from in-situ data.

Data flow one way: files -> ``sources`` (readers) -> ``states`` (2-min windows) -> ``octree``
-> ``vqvae``/``regimes`` -> ``atlas``. ``synth`` makes a synthetic MMS-like archive that the
readers ingest exactly like the real one. ``atlas_core`` never imports ``dashboard``.
"""

__version__ = "0.1.0"
