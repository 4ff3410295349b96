"""Loading and saving images with their metadata.

Inside the system an image is ``float32 H x W x 3`` RGB in [0, 1]. :func:`load_image` returns it
together with what travels beside it (alpha, ICC profile, EXIF, bit depth, grey or colour), and
:func:`save_image` writes those back (flags strip them). Formats: PNG, JPEG, TIFF, WebP, BMP,
8 and 16 bits per channel (16 bits for PNG and TIFF), grey, RGB, RGBA and palette images. EXIF
orientation is applied on load and reset to "normal" in the EXIF written back.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from mosaicir.core.errors import ImageReadError, ImageWriteError
from mosaicir.core.image import check_image, check_mask
from mosaicir.io.atomic import atomic_path

#: Default guard against decompression bombs: 100 megapixels.
DEFAULT_MAX_PIXELS = 100_000_000

#: File extensions read and written, mapped to Pillow format names.
SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_READABLE_FORMATS = {"PNG", "JPEG", "MPO", "TIFF", "WEBP", "BMP"}
_SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
_EXIF_ORIENTATION = 0x0112
_PIL_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ImageMeta:
    """What travels beside the pixels of a loaded image.

    Attributes:
        format: Pillow format name of the source ("PNG", "JPEG", ...).
        bit_depth: 8 or 16 bits per channel in the source.
        grey: the source had a single colour channel.
        icc_profile: raw ICC profile bytes, or None.
        exif: raw EXIF bytes ("Exif\\0\\0" + TIFF block) with orientation reset to 1, or None.
        orientation: the EXIF orientation (1-8) that was applied on load.
        jpeg_quantization: the JPEG quantisation tables of a JPEG source ({table: 64 values}).
    """

    format: str = "PNG"
    bit_depth: int = 8
    grey: bool = False
    icc_profile: bytes | None = None
    exif: bytes | None = None
    orientation: int = 1
    jpeg_quantization: dict[int, list[int]] | None = field(default=None, compare=False)


@dataclass
class LoadedImage:
    """An image as the system sees it plus its metadata.

    Attributes:
        image: ``float32 H x W x 3`` RGB in [0, 1].
        alpha: ``float32 H x W`` in [0, 1], or None when the source had no alpha.
        meta: see :class:`ImageMeta`.
        path: where it was loaded from, if from a file.
    """

    image: np.ndarray
    alpha: np.ndarray | None
    meta: ImageMeta
    path: Path | None = None


def load_image(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS,
               limit_note: str | None = None) -> LoadedImage:
    """Load an image file into the system's contract.

    Args:
        path: file to read (PNG, JPEG, TIFF, WebP or BMP).
        max_pixels: refuse images with more pixels than this (decompression bombs; for a restore,
            what the memory allows: :func:`mosaicir.io.memory.restore_max_pixels`).
        limit_note: what the refusal says about the limit (default: how to raise it).

    Raises:
        ImageReadError: missing, unreadable, truncated, unsupported or too large.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image file") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror or exc})") from None
    loaded = decode_image(data, max_pixels=max_pixels, name=str(path), limit_note=limit_note)
    loaded.path = path
    return loaded


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "image",
                 limit_note: str | None = None) -> LoadedImage:
    """Decode the bytes of an image file; see :func:`load_image`."""
    if not data:
        raise ImageReadError(f"{name}: empty file")
    pil = _open_checked(data, max_pixels, name, limit_note)
    fmt = pil.format or ""
    if fmt not in _READABLE_FORMATS:
        raise ImageReadError(f"{name}: unsupported image format {fmt or 'unknown'!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pil.load()
            exif = pil.getexif()
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        raise ImageReadError(f"{name}: damaged or truncated image ({exc})") from None
    orientation = int(exif.get(_EXIF_ORIENTATION, 1) or 1)
    if orientation not in range(1, 9):
        orientation = 1
    icc = pil.info.get("icc_profile") or None
    quant = {int(k): list(v) for k, v in pil.quantization.items()} if fmt in {"JPEG", "MPO"} else None

    bit_depth = 16 if fmt in _SIXTEEN_BIT_FORMATS and _is_sixteen_bit(data, pil) else 8
    if bit_depth == 16:
        pixels = _decode_sixteen_bit(data, fmt, name)
        scale = 65535.0
    else:
        pixels = _pil_to_array(pil, name)
        scale = 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    grey = channels in (1, 2)
    if grey:
        colour = np.repeat(pixels[:, :, :1], 3, axis=2)
        alpha_raw = pixels[:, :, 1] if channels == 2 else None
    else:
        colour = pixels[:, :, :3]
        alpha_raw = pixels[:, :, 3] if channels == 4 else None
    image = (colour.astype(np.float32) / np.float32(scale)).clip(0, 1)
    alpha = None if alpha_raw is None else (alpha_raw.astype(np.float32) / np.float32(scale)).clip(0, 1)
    image = apply_orientation(image, orientation)
    if alpha is not None:
        alpha = np.ascontiguousarray(apply_orientation(alpha[:, :, None], orientation)[:, :, 0])
    if icc is not None and len(icc) >= 20 and icc[16:20] not in (b"RGB ", b"GRAY"):
        icc = None  # e.g. a CMYK profile no longer describes the converted RGB pixels
    exif_bytes = None
    if len(exif):
        exif[_EXIF_ORIENTATION] = 1
        exif_bytes = exif.tobytes()
    meta = ImageMeta(
        format=fmt, bit_depth=bit_depth, grey=grey, icc_profile=icc, exif=exif_bytes,
        orientation=orientation, jpeg_quantization=quant,
    )
    return LoadedImage(image=np.ascontiguousarray(image), alpha=alpha, meta=meta)


def _open_checked(data: bytes, max_pixels: int, name: str, limit_note: str | None = None) -> Image.Image:
    with _PIL_LIMIT_LOCK:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # our own limit below governs
        try:
            pil = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageReadError(f"{name}: not an image file, or a format that is not supported") from None
        except (OSError, SyntaxError, ValueError, struct.error) as exc:
            raise ImageReadError(f"{name}: damaged image ({exc})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    width, height = pil.size
    if width * height > max_pixels:
        raise ImageReadError(
            f"{name}: {width}x{height} = {width * height} pixels exceeds the limit of {max_pixels}"
            f" ({limit_note or 'raise it with --max-pixels if the file is trusted'})"
        )
    return pil


def _is_sixteen_bit(data: bytes, pil: Image.Image) -> bool:
    if pil.mode.startswith("I;16") or pil.mode == "I":
        return True
    if pil.format == "PNG":
        return len(data) > 24 and data[24] == 16  # IHDR bit depth
    if pil.format == "TIFF":
        bits = pil.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) == 16
    return False


def _decode_sixteen_bit(data: bytes, fmt: str, name: str) -> np.ndarray:
    if fmt == "TIFF":
        import tifffile

        try:
            pixels = tifffile.imread(io.BytesIO(data))
        except Exception as exc:  # tifffile raises many types for damaged files
            raise ImageReadError(f"{name}: damaged 16-bit TIFF ({exc})") from None
        pixels = np.asarray(pixels)
        if pixels.ndim == 3 and pixels.shape[0] in (1, 3, 4) and pixels.shape[2] not in (1, 2, 3, 4):
            pixels = np.moveaxis(pixels, 0, 2)
    else:
        import cv2

        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            raise ImageReadError(f"{name}: damaged 16-bit PNG")
        if pixels.ndim == 3 and pixels.shape[2] == 3:
            pixels = pixels[:, :, ::-1]
        elif pixels.ndim == 3 and pixels.shape[2] == 4:
            pixels = pixels[:, :, [2, 1, 0, 3]]
    if pixels.dtype != np.uint16:
        raise ImageReadError(f"{name}: unsupported 16-bit pixel type {pixels.dtype}")
    return pixels


def _pil_to_array(pil: Image.Image, name: str) -> np.ndarray:
    mode = pil.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        converted = pil
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in pil.info
        converted = pil.convert("RGBA" if has_alpha else "RGB")
    elif mode == "1":
        converted = pil.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        converted = pil.convert("RGBA" if mode in ("RGBa", "La") else "RGB")
    else:
        raise ImageReadError(f"{name}: unsupported pixel mode {mode!r}")
    array = np.asarray(converted)
    if array.dtype != np.uint8:
        raise ImageReadError(f"{name}: unsupported pixel type {array.dtype}")
    return array


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an ``H x W x C`` array by an EXIF orientation value (1-8) so that it displays upright."""
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1, :]
    if orientation == 5:
        return array.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(array, k=-1)
    if orientation == 7:
        return array[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(array, k=1)
    return array


def save_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    meta: ImageMeta | None = None,
    bit_depth: Literal[8, 16] | None = None,
    strip_alpha: bool = False,
    strip_icc: bool = False,
    strip_exif: bool = False,
    quality: int = 95,
) -> Path:
    """Write an image atomically, restoring the metadata of its source.

    Args:
        path: destination; the extension chooses the format (see ``SUPPORTED_EXTENSIONS``).
        image: ``float32 H x W x 3`` RGB in [0, 1].
        alpha: ``float32 H x W`` in [0, 1] written as an alpha channel where the format has one
            (not JPEG).
        meta: metadata of the source (bit depth, grey, ICC, EXIF); defaults to 8-bit RGB, none.
        bit_depth: overrides ``meta.bit_depth``; 16 is honoured for PNG and TIFF only.
        strip_alpha, strip_icc, strip_exif: leave that part out.
        quality: JPEG/WebP quality (1-100).

    Returns:
        The path written.
    """
    path = Path(path)
    check_image(image)
    fmt = SUPPORTED_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise ImageWriteError(f"{path}: unsupported extension {path.suffix!r} (use one of {known})")
    meta = meta or ImageMeta()
    depth = bit_depth or meta.bit_depth
    if fmt not in _SIXTEEN_BIT_FORMATS:
        depth = 8
    if alpha is not None and not strip_alpha and fmt != "JPEG":
        check_mask(alpha, image.shape[:2], name="alpha")
    else:
        alpha = None
    icc = None if strip_icc else meta.icc_profile
    exif = None if strip_exif else meta.exif

    maximum = 65535.0 if depth == 16 else 255.0
    dtype = np.uint16 if depth == 16 else np.uint8
    pixels = _quantize(image, alpha, meta.grey, maximum, dtype)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]

    try:
        if depth == 16 and fmt == "PNG":
            data = _encode_png16(pixels, icc, exif)
        elif depth == 16:
            data = _encode_tiff16(pixels, icc)
        else:
            data = _encode_pil(pixels, fmt, icc, exif, quality)
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise ImageWriteError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


#: Rows converted at a time by :func:`_quantize` (float temporaries of a band, not of the image).
_QUANTIZE_ROWS = 256


def _quantize(image: np.ndarray, alpha: np.ndarray | None, grey: bool, maximum: float, dtype: type) -> np.ndarray:
    """``round(clip(planes, 0, 1) * maximum)`` as ``dtype`` (``H x W x C``: grey or RGB, then alpha),
    band by band of ``_QUANTIZE_ROWS`` rows: the same values as converting the whole image at once,
    without its float copies (three of 288 MB for a 24 MP photograph)."""
    height, width = image.shape[:2]
    channels = (1 if grey else 3) + (alpha is not None)
    pixels = np.empty((height, width, channels), dtype)
    for top in range(0, height, _QUANTIZE_ROWS):
        rows = slice(top, top + _QUANTIZE_ROWS)
        planes = [image[rows].mean(axis=2, keepdims=True)] if grey else [image[rows]]
        if alpha is not None:
            planes.append(alpha[rows, :, None])
        band = np.concatenate(planes, axis=2) if len(planes) > 1 else planes[0]
        pixels[rows] = np.round(np.clip(band, 0, 1) * maximum).astype(dtype)
    return pixels


def _encode_pil(pixels: np.ndarray, fmt: str, icc: bytes | None, exif: bytes | None, quality: int) -> bytes:
    pil = Image.fromarray(pixels)
    options: dict[str, object] = {}
    if icc and fmt != "BMP":
        options["icc_profile"] = icc
    if exif and fmt in {"JPEG", "PNG", "WEBP", "TIFF"}:
        options["exif"] = exif
    if fmt in {"JPEG", "WEBP"}:
        options["quality"] = int(quality)
    if fmt == "PNG":
        options["compress_level"] = 6
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _encode_png16(pixels: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    import cv2

    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = pixels[:, :, ::-1]
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, [2, 1, 0, 3]]
    elif pixels.ndim == 3 and pixels.shape[2] == 2:
        # OpenCV cannot write grey + alpha; write it as RGBA.
        grey, alpha = pixels[:, :, 0], pixels[:, :, 1]
        pixels = np.stack([grey, grey, grey, alpha], axis=2)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels))
    if not ok:
        raise ImageWriteError("OpenCV could not encode the 16-bit PNG")
    data = encoded.tobytes()
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        raw = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        extra += _png_chunk(b"eXIf", raw)
    ihdr_end = 8 + 8 + 13 + 4  # signature + IHDR (length, type, 13 bytes, CRC)
    return data[:ihdr_end] + extra + data[ihdr_end:]


def _encode_tiff16(pixels: np.ndarray, icc: bytes | None) -> bytes:
    import tifffile

    buffer = io.BytesIO()
    extratags = [(34675, "B", len(icc), icc, True)] if icc else []
    photometric = "minisblack" if pixels.ndim == 2 else "rgb"
    extrasamples = ("unassalpha",) if pixels.ndim == 3 and pixels.shape[2] in (2, 4) else None
    tifffile.imwrite(
        buffer, pixels, photometric=photometric, extrasamples=extrasamples,
        extratags=extratags, compression="zlib",
    )
    return buffer.getvalue()


def iter_image_files(inputs: Iterable[str | os.PathLike[str]], recursive: bool = False) -> Iterator[Path]:
    """Expand files and folders into image paths, folders sorted by name (with ``recursive``, every
    image below a folder, sorted by path).

    Paths given explicitly are yielded even if their extension is unknown, so that the caller
    reports them as unreadable instead of skipping them silently.
    """
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in sorted(path.rglob("*") if recursive else path.iterdir()):
                if child.is_file() and child.suffix.lower() in SUPPORTED_EXTENSIONS:
                    yield child
        else:
            yield path

