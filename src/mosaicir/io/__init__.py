"""Image files in and out: the only place that knows about uint8/uint16, alpha, ICC, EXIF and
orientation. See :func:`load_image` and :func:`save_image`; :mod:`mosaicir.io.batch` plans a batch
of files (names of results, what is never overwritten)."""

from mosaicir.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from mosaicir.io.batch import (
    DEFAULT_SUFFIX,
    OUTPUT_EXTENSIONS,
    BatchItem,
    BatchPlan,
    check_output_folder,
    plan_batch,
)
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
    "DEFAULT_SUFFIX",
    "OUTPUT_EXTENSIONS",
    "SUPPORTED_EXTENSIONS",
    "BatchItem",
    "BatchPlan",
    "ImageMeta",
    "LoadedImage",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_folder",
    "iter_image_files",
    "load_image",
    "plan_batch",
    "remove_stale_temporaries",
    "save_image",
]
