"""The Python API: restore or analyze an image, or an image file, in one call.

    import mosaicir

    result = mosaicir.restore("photo.jpg", strength=0.8)   # or a float32 H x W x 3 array in [0, 1]
    result.save("photo_restored.png")                        # atomic; source metadata kept
    result.report("photo.report.html")
    maps = mosaicir.analyze("photo.jpg")                     # perception only
    print(maps.summary().present)

Both are reached lazily from the package (``import mosaicir`` does not load the agents). Every
error made on purpose is a :class:`~mosaicir.core.errors.MosaicirError` subclass:
``ImageReadError`` for a file that cannot be read, ``InvalidImageError`` for an array outside the
image contract, ``InvalidInputError`` for an option or mask that is not acceptable,
``UnknownNameError`` for an unknown planner or degradation.

The plan memory (plans that worked, kept in a file between runs) is *off* unless
``memory=True``: with it off, the same call on the same image gives the same result.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from mosaicir import __version__
from mosaicir.core.errors import InvalidImageError, InvalidInputError, MosaicirError
from mosaicir.core.image import check_image, check_mask
from mosaicir.core.names import DEGRADATIONS
from mosaicir.io import DEFAULT_MAX_PIXELS, ImageMeta, LoadedImage, load_image, save_image

if TYPE_CHECKING:
    from mosaicir.agents import Coordinator, RestoreConfig
    from mosaicir.perception import DegradationMaps
    from mosaicir.trajectory import Trajectory
    from mosaicir.trajectory.records import RegionInfo

#: What :func:`restore` and :func:`analyze` accept: a path to an image file, or a ``float32
#: H x W x 3`` RGB array in [0, 1].
ImageInput = Union[str, os.PathLike, np.ndarray]
#: What a mask may be: a path to an image file (its grey values), or an ``H x W`` array in [0, 1]
#: (float or bool).
MaskInput = Union[str, os.PathLike, np.ndarray]
#: A mask's aspect ratio may differ from the image's by this share and still be resized to it.
MASK_ASPECT_TOLERANCE = 0.02


@dataclass(repr=False)
class Result:
    """The outcome of :func:`restore`.

    Attributes:
        image: ``float32 H x W x 3`` in [0, 1], the result (after ``strength`` and ``mask``).
        input: ``float32 H x W x 3`` in [0, 1], the image restored (EXIF orientation applied).
        restored: ``float32 H x W x 3`` in [0, 1], the agents' restoration before ``strength`` and
            ``mask`` (the image the trajectory's header hashes and ``mosaicir replay`` reproduces).
        regions: the regions restored one by one (id, bounding box ``(top, left, bottom, right)``,
            share of the image, degradation signature); empty for ``strategy="none"``.
        trajectory: every decision of the run (:class:`~mosaicir.trajectory.Trajectory`).
        config: the :class:`~mosaicir.agents.RestoreConfig` of the run.
        strength: in [0, 1], how far from the input towards the restoration the result goes.
        mask: ``float32 H x W`` in [0, 1] (1: restored, 0: input kept), or None (everywhere).
        source: the loaded file (metadata, alpha, path), or None for an array.
        region_maps: the perception the regions were built from (of the image after the
            whole-frame passes, e.g. JPEG and noise removal), as the coordinator returned it.

    ``maps`` (a property) is the perception of the input itself, as perceived before restoration.
    """

    image: np.ndarray
    input: np.ndarray
    restored: np.ndarray
    regions: list[RegionInfo]
    trajectory: Trajectory
    config: RestoreConfig
    strength: float = 1.0
    mask: np.ndarray | None = field(default=None, repr=False)
    source: LoadedImage | None = field(default=None, repr=False)
    region_maps: DegradationMaps | None = field(default=None, repr=False)
    _input_maps: DegradationMaps | None = field(default=None, init=False, repr=False)

    @property
    def maps(self) -> DegradationMaps:
        """The degradation maps of the input (:class:`~mosaicir.perception.DegradationMaps`, 8 x 8
        pixel cells), as perceived before restoration with the run's perception method; computed
        on first use (the coordinator keeps only the maps after its whole-frame passes)."""
        if self._input_maps is None:
            from mosaicir.perception import perceive

            quantization = self.source.meta.jpeg_quantization if self.source is not None else None
            self._input_maps = perceive(self.input, method=self.config.perception, jpeg_quantization=quantization)
        return self._input_maps

    def __repr__(self) -> str:
        height, width = self.image.shape[:2]
        return (f"Result({width}x{height}, tools={self.accepted_tools}, regions={len(self.regions)}, "
                f"strength={self.strength:g}, mask={self.mask is not None}, {self.seconds:.2f} s)")

    @property
    def tool_calls(self) -> int:
        """Tool calls made, kept or not."""
        return self.trajectory.tool_calls()

    @property
    def accepted_tools(self) -> list[str]:
        """Names of the tools whose steps were kept, in order, each once."""
        accepted = [s.tool for s in self.trajectory.steps if s.kind == "decision" and s.decision == "accept"]
        return list(dict.fromkeys(accepted))

    @property
    def seconds(self) -> float:
        """Seconds the restoration took (perception, agents, fusion, final check)."""
        return float(self.trajectory.header.seconds or 0.0)

    def record(self) -> dict[str, Any]:
        """The facts of the run as JSON-ready values: version, input, strength, mask, the
        restore configuration; no timings, so the same run gives the same record."""
        source = self.source.path if self.source is not None else None
        return {"mosaicir": __version__, "input": str(source) if source else self.trajectory.header.input,
                "strength": self.strength, "mask": self.mask is not None,
                "tool_calls": self.tool_calls} | self.config.model_dump(mode="json")

    def save(self, path: str | os.PathLike[str], *, quality: int = 95, strip_metadata: bool = False) -> Path:
        """Write the result atomically (a temporary file renamed into place). The extension
        chooses the format; a file's alpha, bit depth, ICC profile and EXIF are kept
        (``strip_metadata`` drops ICC and EXIF). ``quality`` (1-100) is for JPEG and WebP."""
        meta = self.source.meta if self.source is not None else ImageMeta()
        alpha = self.source.alpha if self.source is not None else None
        return save_image(path, self.image, alpha=alpha, meta=meta, strip_icc=strip_metadata,
                          strip_exif=strip_metadata, quality=quality)

    def report(self, path: str | os.PathLike[str], *, title: str | None = None,
               record: dict[str, Any] | None = None) -> Path:
        """Write the report of the run with :func:`mosaicir.report.write_restore_report`: a
        self-contained HTML page (input and result at full resolution with a before/after slider
        and zoom, the degradation map of the input as perceived before restoration (:attr:`maps`)
        with the regions outlined, each region's plan, parameters, quality and time, zoomed crops,
        the decisions) and its JSON sidecar (``x.report.json`` beside ``x.report.html``), both
        written atomically. ``record`` replaces :meth:`record` as the configuration shown (its
        ``output``, if any, is named as the result's file)."""
        from mosaicir.report import write_restore_report

        name = self.source.path.name if self.source is not None and self.source.path else "image"
        config = record or self.record()
        source = str(self.source.path) if self.source is not None and self.source.path else None
        output = config.get("output") if isinstance(config.get("output"), str) else None
        notes = []
        if self.strength != 1.0 or self.mask is not None:
            notes.append(f"the output is the restoration blended by strength {self.strength:g}"
                         + (" and a mask" if self.mask is not None else ""))
        return write_restore_report(path, trajectory=self.trajectory, before=self.input, after=self.image,
                                    maps=self.maps, title=title or f"mosaicir: {name}", config=config,
                                    input_path=source, output_path=output, output_source="result", notes=notes)


def restore(
    image_or_path: ImageInput,
    *,
    strength: float = 1.0,
    mask: MaskInput | None = None,
    only: str | Sequence[str] | None = None,
    ignore: str | Sequence[str] | None = None,
    memory: bool = False,
    max_pixels: int | None = None,
    config: RestoreConfig | None = None,
    **options: Any,
) -> Result:
    """Restore an image or an image file.

    Args:
        image_or_path: a path to an image file (PNG, JPEG, TIFF, WebP, BMP), or a ``float32
            H x W x 3`` RGB array in [0, 1].
        strength: in [0, 1]; the result is ``input + strength * (restored - input)`` (0 gives
            the input back, 1 the restoration).
        mask: where to restore: a path to an image (its grey values; white restores, black keeps
            the input) or an ``H x W`` array in [0, 1]; resized to the image when the aspect
            ratios agree. The result is ``input + strength * mask * (restored - input)``.
        only: act only on these degradations (names or a comma list); the others are ignored.
        ignore: degradations perceived but not acted on (``"none"`` or ``[]`` acts on all;
            default: those whose detectors are unreliable, see ``RestoreConfig.ignore``).
        memory: use and grow the plan memory (off by default: the same call gives the same result).
        max_pixels: refuse images with more pixels than this (default: what this machine's memory
            can restore, :func:`mosaicir.io.memory.restore_max_pixels`; docs/BIG.md).
        config: a ready :class:`~mosaicir.agents.RestoreConfig` (then ``only``, ``ignore``,
            ``memory`` and ``options`` must not be given).
        options: any other field of ``RestoreConfig``: ``strategy`` (``spatial``, ``global``,
            ``none``), ``planner``, ``perception``, ``workers``, ``budget``, ...

    Returns:
        :class:`Result`.
    """
    if config is not None and (only is not None or ignore is not None or memory or options):
        raise InvalidInputError("give either config= or options (only, ignore, memory, ...), not both")
    run_config = config if config is not None else make_config(only=only, ignore=ignore, memory=memory, **options)
    from mosaicir.agents import Coordinator

    note = None
    if max_pixels is None:  # the pixel limit set by the memory a restore needs
        from mosaicir.io.memory import limit_note, restore_max_pixels

        max_pixels = restore_max_pixels()
        note = limit_note(max_pixels)
    loaded = load_input(image_or_path, max_pixels=max_pixels, limit_note=note)
    return restore_loaded(loaded, Coordinator(run_config), strength=strength, mask=mask)


def analyze(image_or_path: ImageInput, *, method: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS) -> DegradationMaps:
    """Where each degradation is, and how strong, without restoring anything.

    Args:
        image_or_path: a path to an image file or a ``float32 H x W x 3`` array in [0, 1].
        method: ``auto``, ``learned`` or ``classical`` (see :func:`mosaicir.perception.perceive`).

    Returns:
        :class:`~mosaicir.perception.DegradationMaps`: severity per 8 x 8 cell and degradation;
        ``.summary()`` gives the whole-image findings, ``.upsample(name)`` a full-size map.
    """
    from mosaicir.perception import perceive

    loaded = load_input(image_or_path, max_pixels=max_pixels)
    return perceive(loaded.image, method=method, jpeg_quantization=loaded.meta.jpeg_quantization)


def load_input(image_or_path: ImageInput, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               limit_note: str | None = None) -> LoadedImage:
    """A path is loaded with :func:`mosaicir.io.load_image`; an array is checked against the image
    contract (``float32 H x W x 3`` in [0, 1]; nothing is rescaled) and against ``max_pixels``."""
    if isinstance(image_or_path, np.ndarray):
        if image_or_path.dtype in (np.uint8, np.uint16):
            scale = 255 if image_or_path.dtype == np.uint8 else 65535
            raise InvalidImageError(f"image must be float32 in [0, 1], got {image_or_path.dtype} "
                                    f"(divide by {scale} and cast to float32 first)")
        image = check_image(image_or_path)
        height, width = image.shape[:2]
        if height * width > max_pixels:
            raise InvalidInputError(f"image: {width}x{height} = {height * width} pixels exceeds the limit of {max_pixels}"
                                    f" ({limit_note or 'raise it with max_pixels'})")
        return LoadedImage(image=image, alpha=None, meta=ImageMeta())
    if isinstance(image_or_path, (str, os.PathLike)):
        return load_image(image_or_path, max_pixels=max_pixels, limit_note=limit_note)
    raise InvalidImageError(f"expected a path or a numpy array, got {type(image_or_path).__name__}")


def make_config(*, only: str | Sequence[str] | None = None, ignore: str | Sequence[str] | None = None,
                memory: bool = False, **options: Any) -> RestoreConfig:
    """A :class:`~mosaicir.agents.RestoreConfig` from keyword options, with ``only`` and ``ignore``
    (names or comma lists) turned into its fields.

    ``only`` ignores every other degradation, leaves the others out of the passes tried on every
    frame (``try_everywhere``), and, when a scene degradation (haze, rain, low light) is among the
    others, turns off the whole-frame scene pass (``frame_wide_area`` 1), which would otherwise act
    on those found over nearly the whole frame even when ignored; what ``only`` names is then
    restored region by region.

    Raises:
        InvalidInputError: an unknown option or degradation, a value out of range, or both
            ``only`` and ``ignore``.
    """
    from pydantic import ValidationError

    from mosaicir.agents import RestoreConfig
    from mosaicir.agents.routing import FRAME_WIDE_CANDIDATES  # restored frame-wide even when ignored

    known = set(RestoreConfig.model_fields)
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known | {"only", "ignore", "strength", "mask"}), n=1)
            hint = f"; did you mean {close[0]!r}" if close else ""
            raise InvalidInputError(f"unknown option {name!r}{hint}")
    if only is not None and ignore is not None:
        raise InvalidInputError("give --only or --ignore, not both")
    fields: dict[str, Any] = dict(options, memory=memory)
    if ignore is not None:
        fields["ignore"] = [n for n in degradation_names(ignore, "ignore") if n != "none"]
    if only is not None:
        chosen = degradation_names(only, "only")
        if not chosen:
            raise InvalidInputError("--only needs at least one degradation")
        fields["ignore"] = [n for n in DEGRADATIONS if n not in chosen]
        if "try_everywhere" not in options and "try_everywhere" in known:
            tried = RestoreConfig.model_fields["try_everywhere"].get_default(call_default_factory=True)
            fields["try_everywhere"] = [n for n in tried if n in chosen]
        if "frame_wide_area" not in options and "frame_wide_area" in known and any(n not in chosen for n in FRAME_WIDE_CANDIDATES):
            fields["frame_wide_area"] = 1.0
    try:
        return RestoreConfig(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "options"
        raise InvalidInputError(f"--{where.replace('_', '-')}: {error['msg']}") from None


def degradation_names(value: str | Iterable[str], option: str = "degradations") -> list[str]:
    """``"noise, jpeg"`` or ``["noise", "jpeg"]`` -> ``["noise", "jpeg"]``, each checked (``none``
    passes through)."""
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = [str(n).strip() for n in names if str(n).strip()]
    for name in cleaned:
        if name != "none" and name not in DEGRADATIONS:
            close = difflib.get_close_matches(name, DEGRADATIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InvalidInputError(f"--{option}: unknown degradation {name!r}; {hint}known: {', '.join(DEGRADATIONS)}")
    return cleaned


def restore_loaded(loaded: LoadedImage, coordinator: Coordinator, *, strength: float = 1.0,
                   mask: MaskInput | None = None, progress: Callable[[str, float], None] | None = None) -> Result:
    """Restore an already loaded image with a ready coordinator (a batch reuses one), then blend
    by ``strength`` and ``mask`` (see :func:`restore`); ``progress(stage, done)`` follows the run
    (:meth:`Coordinator.run`)."""
    strength = check_strength(strength)
    weight = prepare_mask(mask, loaded.image.shape[:2]) if mask is not None else None
    raw = coordinator.run(loaded.image, jpeg_quantization=loaded.meta.jpeg_quantization, progress=progress)
    regions_steps = raw.trajectory.of_kind("regions")
    return Result(image=blend(loaded.image, raw.image, strength, weight), input=loaded.image, restored=raw.image,
                  regions=list(regions_steps[0].regions) if regions_steps else [], trajectory=raw.trajectory,
                  config=coordinator.config, strength=strength, mask=weight, source=loaded, region_maps=raw.maps)


def check_strength(strength: float) -> float:
    """``strength`` as a float if it lies in [0, 1]."""
    try:
        value = float(strength)
    except (TypeError, ValueError):
        raise InvalidInputError(f"--strength must be a number in [0, 1], got {strength!r}") from None
    if not 0.0 <= value <= 1.0:
        raise InvalidInputError(f"--strength must lie in [0, 1], got {value:g}")
    return value


def blend(original: np.ndarray, restored: np.ndarray, strength: float = 1.0, mask: np.ndarray | None = None) -> np.ndarray:
    """``original + strength * mask * (restored - original)``.

    Args:
        original, restored: ``float32 H x W x 3`` in [0, 1].
        strength: in [0, 1].
        mask: ``float32 H x W`` in [0, 1], or None (1 everywhere).

    Returns:
        ``float32 H x W x 3`` in [0, 1]; exactly ``original`` where the weight is 0 and exactly
        ``restored`` where it is 1.
    """
    if mask is None:
        if strength == 1.0:
            return restored
        if strength == 0.0:
            return original.copy()
        weight = np.full(original.shape[:2], strength, np.float32)
    else:
        weight = (mask * np.float32(strength)).astype(np.float32)
    mixed = original + weight[:, :, None] * (restored - original)
    mixed = np.where(weight[:, :, None] >= 1.0, restored, np.where(weight[:, :, None] <= 0.0, original, mixed))
    return np.clip(mixed, 0.0, 1.0).astype(np.float32)


def load_mask(mask: MaskInput) -> np.ndarray:
    """A mask as ``float32 h x w`` in [0, 1] at its own size: a file's grey values (the mean of
    its colour channels), or an array checked against the mask contract (bool becomes 0/1).

    Raises:
        InvalidInputError: the file cannot be read as an image, or the array is not ``H x W`` in [0, 1].
    """
    if isinstance(mask, np.ndarray):
        array = mask.astype(np.float32) if mask.dtype == bool else mask
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        try:
            return check_mask(array)
        except InvalidImageError as exc:
            raise InvalidInputError(f"bad mask: {exc}") from None
    if not isinstance(mask, (str, os.PathLike)):
        raise InvalidInputError(f"bad mask: expected a path or a numpy array, got {type(mask).__name__}")
    try:
        loaded = load_image(mask)
    except MosaicirError as exc:
        raise InvalidInputError(f"bad mask: {exc}") from None
    return np.ascontiguousarray(loaded.image.mean(axis=2, dtype=np.float32))


def prepare_mask(mask: MaskInput, shape: tuple[int, int]) -> np.ndarray:
    """A mask (see :func:`load_mask`) as ``float32 H x W`` in [0, 1] for an image of ``shape``
    ``(H, W)``, resized when its aspect ratio agrees with the image's.

    Raises:
        InvalidInputError: unreadable, or of another aspect ratio than the image.
    """
    import cv2

    grey = load_mask(mask)
    height, width = shape
    if grey.shape == (height, width):
        return grey
    mask_height, mask_width = grey.shape
    if abs((mask_width / mask_height) / (width / height) - 1.0) > MASK_ASPECT_TOLERANCE:
        raise InvalidInputError(f"bad mask: it is {mask_width}x{mask_height} but the image is {width}x{height} "
                                "(the aspect ratios differ; give a mask of the image's shape)")
    shrinking = mask_width > width
    resized = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.ascontiguousarray(np.clip(resized, 0.0, 1.0).astype(np.float32))
