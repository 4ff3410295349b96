"""Image files in and out: the only place that knows about uint8/uint16, alpha, ICC, EXIF and
orientation. See :func:`load_image` and :func:`save_image`."""

from mosaicir.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from mosaicir.io.images import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    LoadedImage,
    ImageMeta,
    iter_image_files,
    load_image,
    save_image,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_EXTENSIONS",
    "ImageMeta",
    "LoadedImage",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "iter_image_files",
    "load_image",
    "save_image",
]
