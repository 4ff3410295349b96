"""Byte-reproducible ``.npz`` files (numpy's own writer stamps the current time into the zip)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np

from mosaicir.io.atomic import atomic_write_bytes

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def save_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` (readable by ``numpy.load``), atomically, with
    fixed zip timestamps and sorted members so that equal arrays give identical bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)
