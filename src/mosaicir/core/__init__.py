"""Image contract and checks, registry, errors and the fixed degradation names."""

from mosaicir.core.errors import ImageReadError, InvalidImageError, MosaicirError, UnknownNameError
from mosaicir.core.image import check_image, check_mask, psnr, ssim
from mosaicir.core.names import DEGRADATIONS, PHYSICAL_ORDER
from mosaicir.core.registry import Registry

__all__ = [
    "DEGRADATIONS",
    "PHYSICAL_ORDER",
    "ImageReadError",
    "InvalidImageError",
    "MosaicirError",
    "Registry",
    "UnknownNameError",
    "check_image",
    "check_mask",
    "psnr",
    "ssim",
]
