"""Faster arrays for ``pn.pane.VTK``: 64-bit index arrays converted with numpy.

vtk.js reads no 64-bit integers, so Panel's scene serialiser
(``panel.pane.vtk.synchronizable_serializer.SynchronizationContext.getCachedDataArray``) copies
every vtkIdType / long long array (the cells' point indices, since VTK 9.6 exported in the
legacy layout for every mesh) into a 32-bit array one value at a time in Python: 2.5 million
``GetValue``/``SetValue`` calls, about 1 s, for each update of the ten-year 3D map, and the
browser asks for every array again on each update. :func:`install` replaces that method with
one that makes the same bytes with numpy (values below zero become -1, as there); every other
array takes Panel's own path.
"""

from __future__ import annotations

import numpy as np

_ID_TYPES = {12: np.uint32, 17: np.uint32, 16: np.int32}
"""VTK data type ids (vtkIdType, unsigned long long, long long) -> the 32-bit type Panel sends."""


def array_bytes(array) -> bytes:
    """The bytes Panel sends for a 64-bit VTK index array: negative values as -1, then each
    value cast to 32 bits (C wrap-around, as ``vtkTypeUInt32Array.SetValue`` does)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    values = vtk_to_numpy(array).reshape(-1)
    if values.dtype.kind == "i":
        values = np.where(values < 0, -1, values)
    return values.astype(_ID_TYPES[array.GetDataType()]).tobytes()


def install() -> None:
    """Use :func:`array_bytes` in Panel's serialiser (idempotent)."""
    from panel.pane.vtk import synchronizable_serializer as rws

    context = rws.SynchronizationContext
    if getattr(context.getCachedDataArray, "_atlas_numpy", False):
        return
    panel_method = context.getCachedDataArray

    def getCachedDataArray(self, pMd5, binary=False, compression=False):
        array = self.dataArrayCache[pMd5]["array"]
        if array.GetDataType() not in _ID_TYPES:
            return panel_method(self, pMd5, binary=binary, compression=compression)
        data = array_bytes(array)
        if compression:
            data = rws.zipCompression(pMd5, data)
        return data if binary else rws.base64Encode(data)

    getCachedDataArray._atlas_numpy = True
    getCachedDataArray.panel_method = panel_method
    context.getCachedDataArray = getCachedDataArray
