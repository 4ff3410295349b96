"""Recipes of degraded images and their rendering with pixel-level labels.

A recipe says everything needed to re-create a degraded image from its clean source: the layout
of the regions, the degradations of each region with their parameters, the global ones on top,
and the scene depth used by haze. :func:`render` applies it and returns the per-pixel severity
of every degradation present; :func:`render_with_visible` also where it visibly changed the pixels.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mosaicir.core.image import check_image
from mosaicir.core.names import PHYSICAL_ORDER
from mosaicir.degrade.base import DegradationParams
from mosaicir.degrade.depth import DepthParams, synthetic_depth
from mosaicir.degrade.layouts import LayoutParams, make_layout
from mosaicir.degrade.models import get_degradation


class AppliedDegradation(BaseModel):
    """One degradation with its full parameters (as the model's ``Params`` dumps them)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    severity: float = Field(ge=0.0, le=1.0)
    params: dict[str, Any]

    @classmethod
    def from_params(cls, name: str, params: DegradationParams) -> "AppliedDegradation":
        return cls(name=name, severity=params.severity, params=params.model_dump(mode="json"))

    @classmethod
    def sample(cls, name: str, rng: np.random.Generator, severity: float) -> "AppliedDegradation":
        return cls.from_params(name, get_degradation(name).sample(rng, severity))


class RegionRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    degradations: list[AppliedDegradation] = []


class ItemRecipe(BaseModel):
    """Full recipe of one benchmark item."""

    model_config = ConfigDict(extra="forbid")

    id: str
    source: str
    size: tuple[int, int] = Field(description="(height, width) of the clean image")
    layout: LayoutParams | None = None
    regions: list[RegionRecipe] = []
    global_degradations: list[AppliedDegradation] = []
    depth: DepthParams | None = None

    def degradation_names(self) -> list[str]:
        names = {d.name for r in self.regions for d in r.degradations} | {d.name for d in self.global_degradations}
        return [n for n in PHYSICAL_ORDER if n in names]


#: A degradation is visible where it changed the pixels by at least this RMS (of 1: 2.5/255, over
#: ``VISIBLE_WINDOW`` px and the three channels): blur over a flat wall, haze over the near ground
#: or a shift of black change nothing there that a perception network could see.
VISIBLE_CHANGE = 0.01
VISIBLE_WINDOW = 15


def visible_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Where ``after`` differs visibly from ``before`` (both ``H x W x 3`` in [0, 1]): bool ``H x W``,
    the local RMS of the difference over ``VISIBLE_WINDOW`` px at least ``VISIBLE_CHANGE``."""
    squared = ((after - before) ** 2).mean(axis=2).astype(np.float32)
    return cv2.blur(squared, (VISIBLE_WINDOW, VISIBLE_WINDOW)) >= VISIBLE_CHANGE ** 2


def render(clean: np.ndarray, recipe: ItemRecipe, depth: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Apply a recipe to a clean image: :func:`render_with_visible` without the visible labels."""
    degraded, labels, _, masks = render_with_visible(clean, recipe, depth)
    return degraded, labels, masks


def render_with_visible(clean: np.ndarray, recipe: ItemRecipe, depth: np.ndarray | None = None
                        ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Apply a recipe to a clean image.

    Degradations are applied in the physical order (scene -> imaging -> compression); a regional
    one is applied to the whole current image and blended in with its region's soft mask.

    Args:
        clean: ``float32 H x W x 3`` in [0, 1].
        recipe: the recipe; ``recipe.size`` must match the image.
        depth: optional ``float32 H x W`` depth in [0, 1] overriding ``recipe.depth``.

    Returns:
        ``(degraded, labels, visible, masks)``: the degraded image, ``{name: float32 H x W}``
        severity per pixel for each degradation present, the same kept only where each degradation
        visibly changed the image it was applied to (:func:`visible_change`), and the region masks
        ``float32 K x H x W``.
    """
    check_image(clean)
    shape = clean.shape[:2]
    if tuple(recipe.size) != shape:
        raise ValueError(f"recipe {recipe.id} is for size {recipe.size}, image is {shape}")
    if recipe.layout is None or len(recipe.regions) <= 1:
        masks = np.ones((1,) + shape, np.float32)
    else:
        masks = make_layout(recipe.layout, clean)
    if depth is None and recipe.depth is not None:
        depth = synthetic_depth(shape, recipe.depth)

    current = clean.copy()
    labels: dict[str, np.ndarray] = {}
    visible: dict[str, np.ndarray] = {}
    for name in PHYSICAL_ORDER:
        model = get_degradation(name)
        for region in recipe.regions:
            for applied in region.degradations:
                if applied.name != name or applied.severity <= 0:
                    continue
                mask = masks[region.index]
                if float(mask.max()) <= 0:
                    continue
                degraded = model.apply(current, applied.params, depth=depth)
                m = mask[:, :, None]
                before, current = current, (current * (1.0 - m) + degraded * m).astype(np.float32)
                seen = visible_change(before, current)
                labels[name] = labels.get(name, np.zeros(shape, np.float32)) + applied.severity * mask
                visible[name] = visible.get(name, np.zeros(shape, np.float32)) + applied.severity * mask * seen
        for applied in recipe.global_degradations:
            if applied.name == name and applied.severity > 0:
                before, current = current, model.apply(current, applied.params, depth=depth)
                seen = visible_change(before, current)
                labels[name] = np.maximum(labels.get(name, np.zeros(shape, np.float32)), applied.severity)
                visible[name] = np.maximum(visible.get(name, np.zeros(shape, np.float32)), applied.severity * seen)
    present = [k for k, v in labels.items() if float(v.max()) > 0]
    clipped = lambda maps: {k: np.clip(maps[k], 0.0, 1.0).astype(np.float32) for k in present}
    return np.clip(current, 0.0, 1.0).astype(np.float32), clipped(labels), clipped(visible), masks
