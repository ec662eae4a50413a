"""The atlas as a service to other tools: solar-wind conditions and nowcasts, trajectories,
label catalogues, a HAPI server, citation.

Modules: :mod:`drivers` (OMNI/Dst files -> driver values), :mod:`files` (checked user paths),
:mod:`nowcast`, :mod:`flythrough`, :mod:`labels` (per-window regime labels, intervals,
catalogues), :mod:`hapi` (the HAPI 3.1 server), :mod:`boundary_compare` (GSM vs
boundary-normalised atlas). Citation attributes live in :mod:`atlas_core.citation`.
"""
