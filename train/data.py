"""Training pairs made on the fly by mosaicir's own degradation models.

Clean crops come from a folder of natural images; each crop is degraded at a random severity
(a tenth of them not at all, so that the networks learn to leave clean content alone) and
centre-cropped to the patch size, the margin absorbing the borders of blur kernels. The margin
is a multiple of 16 so that JPEG's 8x8 (16x16 for chroma) grid stays aligned with the patch.
"""

from __future__ import annotations

import copy
import signal
from pathlib import Path

import cv2
import numpy as np
import torch

from mosaicir.degrade import get_degradation
from mosaicir.io import iter_image_files, load_image

MARGIN = 32


def load_clean_images(folders: list[str], max_side: int = 384, min_side: int = 96) -> list[np.ndarray]:
    """Load every image below ``folders`` as ``uint8 H x W x 3``, longer side at most ``max_side``."""
    images = []
    for folder in folders:
        paths = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        for path in iter_image_files(paths):
            try:
                image = load_image(path).image
            except Exception:  # a training set may hold stray files; skip them
                continue
            height, width = image.shape[:2]
            if max(height, width) > max_side:
                scale = max_side / max(height, width)
                image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
            if min(image.shape[:2]) >= min_side:
                images.append(np.round(image * 255).astype(np.uint8))
    return images


def load_real_pairs(folders: list[str], holdout: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """Paired sets made by others (``SET/input/<stem>.*`` degraded, ``SET/target/<stem>.*``
    reference) as ``uint8 H x W x 3`` pairs at their own size (the degradation's scale is the
    photograph's). Every ``holdout``-th photograph of each set (0: none) is kept apart for
    validation: crops of one photograph (stems that differ only by a trailing ``_<number>``, as
    PolyU's ``<scene>_<crop>``) go to the same side. Returns ``(training, validation, validation names)``."""
    training, validation, names = [], [], []
    for folder in folders:
        inputs = {p.stem: p for p in iter_image_files([Path(folder) / "input"])}
        targets = {p.stem: p for p in iter_image_files([Path(folder) / "target"])}
        stems = sorted(set(inputs) & set(targets))
        photographs = sorted({photograph_of(stem) for stem in stems})
        for stem in stems:
            index = photographs.index(photograph_of(stem))
            degraded, clean = load_image(inputs[stem]).image, load_image(targets[stem]).image
            if degraded.shape != clean.shape or min(degraded.shape[:2]) < 96:
                continue
            pair = (np.round(degraded * 255).astype(np.uint8), np.round(clean * 255).astype(np.uint8))
            if holdout and index % holdout == 0:
                validation.append(pair)
                names.append(f"{Path(folder).name}/{stem}")
            else:
                training.append(pair)
    return training, validation, names


def photograph_of(stem: str) -> str:
    """The photograph a crop's file stem comes from: the stem without a trailing ``_<number>``."""
    head, _, tail = stem.rpartition("_")
    return head if head and tail.isdigit() else stem


class DegradationPairs(torch.utils.data.IterableDataset):
    """Endless stream of ``(degraded, clean)`` tensors ``3 x P x P`` in [0, 1].

    Args:
        images: clean ``uint8 H x W x 3`` images.
        degradation: a degradation name.
        patch: patch side P (multiple of 16).
        clean_fraction: share of pairs left undegraded.
        seed: base seed; each data-loader worker derives its own stream from it.
        saturation: largest factor by which the colour (Cb, Cr about grey) of a clean patch is
            multiplied before degrading, drawn uniformly in [1, saturation]; 1 keeps the
            photographs' own colours. More saturated patches carry the colour errors that
            4:2:0 JPEG makes on vivid photographs, rare in the training folders.
        real_pairs: ``(degraded, clean)`` ``uint8`` photographs of a paired set made by others
            (:func:`load_real_pairs`); a share ``real_share`` of the patches is cut from them
            (same place in both, same flips) instead of being degraded by our model.
        model_settings: attributes of the degradation model changed for this stream (e.g.
            ``{"camera_probability": 1.0}`` for the camera's noise only).
        then: ``(degradation, probability)`` of later stages applied, each with its probability,
            to both sides of a synthetic pair (the same parameters, severity drawn from
            ``severity_range``): the network learns to remove its own degradation under them and
            to leave them (low resolution after rain widens the streaks, as in MiO's rain + low
            resolution). Only degradations that are a fixed function of their parameters.
        texture_share: share of the patches made of two: the patch as drawn, and over a random
            band of it (a third to two thirds of its side, along either axis) the most textured of
            four crops of another image, or of another real pair (:meth:`textured_band`); the
            same band on both sides of the pair. A network with a global context branch sees
            dense texture beside flat, degraded parts in one view, as a large tile shows it at
            inference, and learns not to read the whole view as clean.
    """

    def __init__(self, images: list[np.ndarray], degradation: str, patch: int = 128,
                 clean_fraction: float = 0.1, severity_range: tuple[float, float] = (0.1, 1.0), seed: int = 0,
                 saturation: float = 1.0, real_pairs: list[tuple[np.ndarray, np.ndarray]] | None = None,
                 real_share: float = 0.0, model_settings: dict[str, float] | None = None,
                 then: tuple[tuple[str, float], ...] = (), texture_share: float = 0.0) -> None:
        super().__init__()
        self.texture_share = texture_share
        self.then = [(get_degradation(name), float(probability)) for name, probability in then]
        self.real_pairs = real_pairs or []
        self.real_share = real_share if self.real_pairs else 0.0
        self.images = images
        self.image_sources = [(image,) for image in images]
        self.model = copy.copy(get_degradation(degradation)) if model_settings else get_degradation(degradation)
        for attribute, value in (model_settings or {}).items():
            if not hasattr(self.model, attribute):
                raise ValueError(f"degradation {degradation!r} has no setting {attribute!r}")
            setattr(self.model, attribute, value)
        self.patch = patch
        self.clean_fraction = clean_fraction
        self.severity_range = severity_range
        self.seed = seed
        self.saturation = saturation

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, worker])
        while True:
            yield self.pair(rng)

    def pair(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.real_share and rng.random() < self.real_share:
            return self.real_pair(rng)
        size = self.patch + 2 * MARGIN
        image = self.images[int(rng.integers(len(self.images)))]
        height, width = image.shape[:2]
        if height < size or width < size:
            pad_h, pad_w = max(0, size - height), max(0, size - width)
            image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
            height, width = image.shape[:2]
        y, x = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
        crop = image[y:y + size, x:x + size]
        crop = np.rot90(crop, int(rng.integers(4)))
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if self.texture_share and rng.random() < self.texture_share:
            band, rows, cols = self.textured_band(rng, self.image_sources, size)
            crop = np.ascontiguousarray(crop).copy()
            crop[rows, cols] = band[0]
        clean = np.ascontiguousarray(crop).astype(np.float32) / 255.0
        if self.saturation > 1.0:
            clean = saturate(clean, float(rng.uniform(1.0, self.saturation)))
        if rng.random() < self.clean_fraction:
            degraded = clean
        else:
            severity = float(rng.uniform(*self.severity_range))
            degraded = self.model.apply(clean, self.model.sample(rng, severity))
            for later, probability in self.then:
                if rng.random() < probability:
                    params = later.sample(rng, float(rng.uniform(*self.severity_range)))
                    degraded, clean = later.apply(degraded, params), later.apply(clean, params)
        inner = slice(MARGIN, MARGIN + self.patch)
        to_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a[inner, inner].transpose(2, 0, 1)))
        return to_tensor(degraded), to_tensor(clean)


    def real_pair(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A patch of one of the real pairs, the same crop, turn and flip on both sides."""
        degraded, clean = self.real_pairs[int(rng.integers(len(self.real_pairs)))]
        height, width = clean.shape[:2]
        size = min(self.patch, height, width)
        y, x = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
        turns, flip = int(rng.integers(4)), rng.random() < 0.5
        band = None
        if self.texture_share and rng.random() < self.texture_share:
            band = self.textured_band(rng, [pair for pair in self.real_pairs if pair[0] is not degraded] or self.real_pairs, size)

        def view(image: np.ndarray, side: int) -> torch.Tensor:
            crop = np.rot90(image[y:y + size, x:x + size], turns)
            crop = crop[:, ::-1] if flip else crop
            if band is not None:
                crop = np.ascontiguousarray(crop).copy()
                crop[band[1], band[2]] = band[0][side]
            if size < self.patch:
                crop = cv2.copyMakeBorder(np.ascontiguousarray(crop), 0, self.patch - size, 0, self.patch - size,
                                          cv2.BORDER_REFLECT_101)
            return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)).astype(np.float32) / 255.0)

        return view(degraded, 0), view(clean, 1)

    def textured_band(self, rng: np.random.Generator, sources: list[tuple[np.ndarray, ...]], size: int):
        """A band of a ``size`` x ``size`` patch (a third to two thirds of its side, along a random
        axis) and its content: of four crops of that shape from random ``sources`` (tuples of
        aligned ``uint8`` images, e.g. a real pair), the one of most gradient energy in its last image
        (the clean side). Returns ``(contents, rows, cols)``: one array per image of the tuple,
        and the slices of the patch they replace."""
        width = int(rng.integers(size // 3, 2 * size // 3 + 1))
        start = int(rng.integers(0, size - width + 1))
        along_rows = rng.random() < 0.5
        height_b, width_b = (width, size) if along_rows else (size, width)
        rows = slice(start, start + width) if along_rows else slice(0, size)
        cols = slice(0, size) if along_rows else slice(start, start + width)
        best, best_energy = None, -1.0
        for _ in range(4):
            source = sources[int(rng.integers(len(sources)))]
            height, width_s = source[0].shape[:2]
            if height < height_b or width_s < width_b:
                continue
            y, x = int(rng.integers(0, height - height_b + 1)), int(rng.integers(0, width_s - width_b + 1))
            contents = tuple(image[y:y + height_b, x:x + width_b] for image in source)
            grey = contents[-1].astype(np.float32).mean(axis=2)
            energy = float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())
            if energy > best_energy:
                best, best_energy = contents, energy
        if best is None:  # no source large enough: the patch's own first source, tiled
            best = tuple(cv2.resize(image, (width_b, height_b), interpolation=cv2.INTER_AREA) for image in sources[0])
        return best, rows, cols


def saturate(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` (float32 ``H x W x 3`` in [0, 1]) with its chroma (JPEG's Cb, Cr about grey)
    multiplied by ``factor`` >= 1, clipped back into the RGB cube. Scaling Cb and Cr at fixed luma
    Y is ``Y + factor * (RGB - Y)`` (numpy only: OpenCV's thread pool can hang in forked workers)."""
    luma = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.clip(luma[..., None] + np.float32(factor) * (image - luma[..., None]), 0.0, 1.0).astype(np.float32)


def pair_loader(dataset: DegradationPairs, batch: int, workers: int) -> torch.utils.data.DataLoader:
    """Batches of ``dataset`` made by ``workers`` processes (0: in this one). The workers are
    spawned, not forked: a fork after the parent has used its thread pools can hang them."""
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch, num_workers=workers, worker_init_fn=worker_init,
        persistent_workers=workers > 0, prefetch_factor=4 if workers > 0 else None,
        multiprocessing_context="spawn" if workers > 0 else None,
    )


def worker_init(_: int) -> None:
    """Set up one loader worker: single-threaded, and deaf to SIGTERM and SIGINT. A stop request
    sent to the whole process group (Ctrl-C, ``timeout``) is the main process's to handle: it
    finishes its step and exports, which needs the workers alive; they exit with it."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
