"""Colour-coded pictures of degradation maps for people: a tint per degradation over a grey
copy of the image, and a legend."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mosaicir.core.names import DEGRADATION_COLOURS, PHYSICAL_ORDER


def label_overlay(base: np.ndarray, labels: dict[str, np.ndarray], strength: float = 0.75) -> np.ndarray:
    """Colour the labels over a grey version of ``base``.

    Args:
        base: ``float32 H x W x 3`` in [0, 1].
        labels: ``{degradation: float32 H x W severity in [0, 1]}``.

    Returns:
        ``float32 H x W x 3``: each pixel tinted by the mean colour of its degradations, the tint
        opacity following the strongest severity.
    """
    grey = np.repeat(base.mean(axis=2, keepdims=True), 3, axis=2) * 0.6 + 0.2
    colour = np.zeros_like(base)
    weight = np.zeros(base.shape[:2], np.float32)
    for name, severity in labels.items():
        colour += severity[:, :, None] * np.asarray(DEGRADATION_COLOURS[name], np.float32)
        weight += severity
    mean_colour = colour / np.maximum(weight, 1e-6)[:, :, None]
    alpha = strength * np.clip(max_labels(labels, base.shape[:2]) * 1.5, 0, 1)[:, :, None]
    return np.clip(grey * (1 - alpha) + mean_colour * alpha, 0, 1).astype(np.float32)


def max_labels(labels: dict[str, np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for severity in labels.values():
        out = np.maximum(out, severity)
    return out


def with_legend(image: np.ndarray, names: list[str] | None = None) -> np.ndarray:
    """``image`` (``float32 H x W x 3``) with a strip on top naming the colour of each degradation."""
    font = ImageFont.load_default()
    names = list(names or PHYSICAL_ORDER)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [28 + int(probe.textlength(n, font=font)) for n in names]
    width = max(image.shape[1], sum(widths) + 8)
    sheet = Image.new("RGB", (width, image.shape[0] + 22), "white")
    draw = ImageDraw.Draw(sheet)
    x = 4
    for name, w in zip(names, widths):
        colour = tuple(int(c * 255) for c in DEGRADATION_COLOURS[name])
        draw.rectangle([x, 5, x + 12, 17], fill=colour, outline="black")
        draw.text((x + 16, 5), name, fill="black", font=font)
        x += w
    sheet.paste(Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)), (0, 22))
    return np.asarray(sheet).astype(np.float32) / 255.0


def maps_overlay(image: np.ndarray, maps) -> np.ndarray:
    """Perceived degradations over ``image``: the severity of each flagged degradation tinted in its
    colour (``maps``: a :class:`mosaicir.perception.DegradationMaps`), with a legend strip."""
    signature = maps.signature()
    labels = {}
    for i, name in enumerate(maps.names):
        if signature[i].any():
            full = maps.upsample(name) * maps.flagged(name)
            labels[name] = full.astype(np.float32)
    return with_legend(label_overlay(image, labels), list(maps.names))


def perceived_overlay(image: np.ndarray, maps, max_side: int = 1024) -> np.ndarray:
    """The perceived degradations tinted over a reduced grey copy of ``image`` (no legend strip:
    the HTML report draws its own), for showing at the image's size.

    Args:
        image: ``float32 H x W x 3`` in [0, 1], the image the maps were perceived on.
        maps: its :class:`mosaicir.perception.DegradationMaps`.
        max_side: the long side of the result (the maps have one value per 8 x 8 pixel cell, so a
            larger picture would show no more).

    Returns:
        ``float32 h x w x 3`` in [0, 1], ``h / w`` as ``H / W``, long side ``min(max(H, W), max_side)``.
    """
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    base = image if scale == 1.0 else cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    signature = maps.signature()
    labels = {name: (maps.upsample(name, shape) * maps.flagged(name, shape)).astype(np.float32)
              for i, name in enumerate(maps.names) if signature[i].any()}
    return label_overlay(np.ascontiguousarray(base, dtype=np.float32), labels)
