"""mosaicir: spatially-aware multi-agent restoration of photographs.

Inside the system an image is a ``numpy.float32`` array ``H x W x 3``, RGB, values in [0, 1];
a mask is ``float32 H x W`` in [0, 1]. Only :mod:`mosaicir.io` deals with files, integer
pixel types, alpha and orientation.
"""

from mosaicir.core.errors import ImageReadError, InvalidImageError, MosaicirError, UnknownNameError
from mosaicir.core.names import DEGRADATIONS

__version__ = "0.1.0"

__all__ = [
    "DEGRADATIONS",
    "ImageReadError",
    "InvalidImageError",
    "MosaicirError",
    "UnknownNameError",
    "__version__",
]
