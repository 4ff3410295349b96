"""mosaicir: spatially-aware multi-agent restoration of photographs.

Inside the system an image is a ``numpy.float32`` array ``H x W x 3``, RGB, values in [0, 1];
a mask is ``float32 H x W`` in [0, 1]. Only :mod:`mosaicir.io` deals with files, integer
pixel types, alpha and orientation.

The Python API (see :mod:`mosaicir.api`)::

    import mosaicir
    result = mosaicir.restore("photo.jpg")      # or a float32 H x W x 3 array in [0, 1]
    result.save("photo_restored.jpg")
    maps = mosaicir.analyze("photo.jpg")

``restore``, ``analyze`` and ``Result`` are imported on first use, so ``import mosaicir`` stays
fast (it loads neither the agents nor the networks).
"""

from typing import TYPE_CHECKING, Any

from mosaicir.core.errors import (
    ImageReadError, ImageWriteError, InvalidImageError, InvalidInputError, MosaicirError, UnknownNameError,
)
from mosaicir.core.names import DEGRADATIONS

__version__ = "0.1.0"

_LAZY = {"restore": "mosaicir.api", "analyze": "mosaicir.api", "Result": "mosaicir.api"}

if TYPE_CHECKING:
    from mosaicir.api import Result, analyze, restore

__all__ = [
    "DEGRADATIONS",
    "ImageReadError",
    "ImageWriteError",
    "InvalidImageError",
    "InvalidInputError",
    "MosaicirError",
    "Result",
    "UnknownNameError",
    "__version__",
    "analyze",
    "restore",
]


def __getattr__(name: str) -> Any:
    """Import ``restore``, ``analyze`` and ``Result`` from :mod:`mosaicir.api` on first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mosaicir' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
