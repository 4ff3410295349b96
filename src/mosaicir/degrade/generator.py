"""The benchmark generator: degraded images whose labels say, pixel by pixel, which degradation
is where and how strong.

Output layout (other commands and outside scripts rely on it)::

    DIR/manifest.json        suite, seed, and each item's id and full recipe
    DIR/degraded/<id>.png    degraded image (8-bit RGB)
    DIR/clean/<id>.png       its clean reference
    DIR/labels/<id>.npz      one float16 H x W array per degradation present: severity per pixel
    DIR/labels/<id>.visible.npz   the same, kept only where the degradation visibly changed the
                             pixels (``mosaicir.degrade.recipe.visible_change``)

The same arguments give the same bytes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mosaicir.core.errors import MosaicirError
from mosaicir.degrade.recipe import ItemRecipe, render_with_visible
from mosaicir.degrade.sources import CleanSource, bundled_sources, folders_sources
from mosaicir.degrade.suites import get_suite
from mosaicir.io.arrays import save_npz
from mosaicir.io.atomic import atomic_write_text
from mosaicir.io.images import load_image, save_image

#: Clean images are resized (area interpolation) so that their longer side is at most this.
DEFAULT_MAX_SIDE = 512
MIN_SIDE = 32


@dataclass
class GenerationReport:
    """What a generation produced: the item recipes and the sources that could not be used."""

    out_dir: Path
    items: list[ItemRecipe] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def prepare_clean(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Resize so that the longer side is at most ``max_side`` (no change if None or 0) and
    quantise to 8 bits."""
    height, width = image.shape[:2]
    if max_side and max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # quantise to the 8-bit values written to clean/, so that re-loading the clean file
    # reproduces the recipe (masks of content layouts included) exactly
    return (np.round(np.clip(image, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def item_rng(seed: int, suite: str, source_name: str) -> np.random.Generator:
    """Random generator of one source image in one suite: independent of which other images are
    in the set, so ``--n`` and the order of processing do not change an item."""
    return np.random.default_rng([int(seed), zlib.crc32(f"{suite}/{source_name}".encode())])


def generate(
    suite: str,
    out_dir: str | os.PathLike[str],
    *,
    clean_dir: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
    n: int | None = None,
    seed: int = 0,
    max_side: int | None = DEFAULT_MAX_SIDE,
    workers: int = 1,
) -> GenerationReport:
    """Generate a benchmark folder.

    Args:
        suite: ``mosaic``, ``mio-a``, ``mio-b``, ``mio-c``, ``single`` or ``clean``.
        out_dir: destination folder (created; existing files of the same ids are replaced).
        clean_dir: folder (or list of folders) of clean images, searched recursively; None uses
            the bundled images. With several folders, item names start with the folder's name.
        n: take the first ``n`` clean images by name (all if None).
        seed: seed of every random choice.
        max_side: longer side of the clean images after resizing (None or 0: keep the size).
        workers: processes rendering in parallel (results do not depend on it).
    """
    get_suite(suite)  # fail early on an unknown name
    if clean_dir is None:
        sources = bundled_sources()
    else:
        sources = folders_sources(list(clean_dir) if isinstance(clean_dir, (list, tuple)) else [clean_dir])
    if n is not None:
        sources = sources[: max(0, int(n))]
    out = Path(out_dir)
    for sub in ("degraded", "clean", "labels"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    report = GenerationReport(out_dir=out)
    jobs = [(suite, source, seed, max_side, str(out)) for source in sources]
    if workers > 1 and len(jobs) > 1:
        # spawn, not fork: forking a process that runs OpenCV/BLAS threads can deadlock
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_generate_source, jobs))
    else:
        results = [_generate_source(job) for job in jobs]
    for source, (items, error) in zip(sources, results):
        if error is not None:
            report.skipped.append((str(source.path), error))
        report.items.extend(ItemRecipe.model_validate(item) for item in items)
    manifest = {
        "suite": suite,
        "seed": int(seed),
        "max_side": max_side or None,
        "clean_source": "folder" if clean_dir is not None else "bundled",
        "items": [item.model_dump(mode="json") for item in report.items],
        "skipped": [{"source": Path(path).name, "error": error} for path, error in report.skipped],
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return report


def _generate_source(job: tuple[str, CleanSource, int, int | None, str]) -> tuple[list[dict], str | None]:
    suite, source, seed, max_side, out = job
    try:
        clean = prepare_clean(load_image(source.path).image, max_side)
    except MosaicirError as exc:
        return [], str(exc)
    if min(clean.shape[:2]) < MIN_SIDE:
        return [], f"{source.path}: smaller than {MIN_SIDE} pixels"
    rng = item_rng(seed, suite, source.name)
    recipes = get_suite(suite)(source.name, clean, rng)
    out_dir = Path(out)
    for recipe in recipes:
        degraded, labels, visible, _ = render_with_visible(clean, recipe)
        save_image(out_dir / "degraded" / f"{recipe.id}.png", degraded)
        save_image(out_dir / "clean" / f"{recipe.id}.png", clean)
        save_npz(out_dir / "labels" / f"{recipe.id}.npz", {k: v.astype(np.float16) for k, v in labels.items()})
        save_npz(out_dir / "labels" / f"{recipe.id}.visible.npz", {k: v.astype(np.float16) for k, v in visible.items()})
    return [r.model_dump(mode="json") for r in recipes], None


def load_manifest(folder: str | os.PathLike[str]) -> dict:
    """Read ``DIR/manifest.json`` of a generated folder."""
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MosaicirError(f"{folder}: no manifest.json (not a generated benchmark folder)") from None
    except json.JSONDecodeError as exc:
        raise MosaicirError(f"{path}: invalid JSON ({exc})") from None


def load_labels(folder: str | os.PathLike[str], item_id: str, visible: bool = False) -> dict[str, np.ndarray] | None:
    """``{degradation: float32 H x W}`` severity labels of one item; with ``visible``, those kept
    where the degradation visibly changed the pixels (None for a folder generated before they were
    stored)."""
    path = Path(folder) / "labels" / (f"{item_id}.visible.npz" if visible else f"{item_id}.npz")
    if visible and not path.is_file():
        return None
    with np.load(path) as data:
        return {name: data[name].astype(np.float32) for name in data.files}
