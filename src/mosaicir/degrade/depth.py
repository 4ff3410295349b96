"""Synthetic scene depth for the haze model.

No depth network is available offline, so the generator draws plausible scene layouts: an open
landscape (ground plane receding to a horizon, sky at infinity), a tilted horizon, a corridor or
street converging to a vanishing point, and a close-up scene with a few nearer objects. Smooth
low-frequency perturbations stand for objects. A user depth map can replace it everywhere.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mosaicir.core.errors import InvalidInputError

DepthLayout = Literal["landscape", "tilted", "corridor", "objects"]
DEPTH_LAYOUTS: tuple[str, ...] = ("landscape", "tilted", "corridor", "objects")


class DepthParams(BaseModel):
    """Parameters of a synthetic depth map (all positions are fractions of the image size)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layout: DepthLayout = "landscape"
    horizon: float = Field(0.4, ge=0.0, le=1.0, description="horizon height from the top")
    tilt: float = Field(0.0, ge=-0.5, le=0.5, description="horizon rise across the width")
    vanishing_x: float = Field(0.5, ge=0.0, le=1.0)
    roughness: float = Field(0.1, ge=0.0, le=0.5, description="amplitude of object perturbations")
    seed: int = 0


def sample_depth_params(rng: np.random.Generator) -> DepthParams:
    """Draw a depth layout (draws a fixed number of random values)."""
    u = rng.random(6)
    return DepthParams(
        layout=DEPTH_LAYOUTS[int(u[0] * len(DEPTH_LAYOUTS)) % len(DEPTH_LAYOUTS)],
        horizon=0.25 + 0.35 * float(u[1]),
        tilt=-0.15 + 0.3 * float(u[2]),
        vanishing_x=0.3 + 0.4 * float(u[3]),
        roughness=0.05 + 0.15 * float(u[4]),
        seed=int(u[5] * (2**31 - 1)),
    )


def synthetic_depth(shape: tuple[int, int], params: DepthParams) -> np.ndarray:
    """Render a depth map.

    Args:
        shape: (H, W).
        params: the layout.

    Returns:
        ``float32 H x W`` in [0, 1], 1 = farthest (sky / vanishing point).
    """
    height, width = shape
    yy, xx = np.meshgrid(
        np.linspace(0.0, 1.0, height, dtype=np.float32), np.linspace(0.0, 1.0, width, dtype=np.float32),
        indexing="ij",
    )
    if params.layout in ("landscape", "tilted"):
        tilt = params.tilt if params.layout == "tilted" else 0.0
        horizon = params.horizon + tilt * (xx - 0.5)
        below = np.clip((yy - horizon) / np.maximum(1.0 - horizon, 1e-3), 0.0, 1.0)
        depth = 1.0 - np.sqrt(below)  # perspective: depth grows fast toward the horizon
    elif params.layout == "corridor":
        dist = np.maximum(np.abs(xx - params.vanishing_x) / 0.5, np.abs(yy - params.horizon) / 0.5)
        depth = 1.0 - np.clip(dist, 0.0, 1.0) ** 0.7
    else:  # objects: a far background with a few nearer smooth blobs
        depth = 0.85 - 0.3 * yy
    rng = np.random.default_rng(params.seed)
    field = _smooth_field(rng, (height, width), scale=0.15)
    if params.layout == "objects":
        depth = depth - 0.6 * np.clip(field - 0.2, 0.0, None)
    depth = depth + params.roughness * field * (1.0 - depth)
    return np.clip(depth, 0.0, 1.0).astype(np.float32)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Zero-mean-ish smooth random field in about [-1, 1], feature size ``scale`` of the short side."""
    height, width = shape
    coarse_h = max(2, int(round(1.0 / scale * height / min(shape))))
    coarse_w = max(2, int(round(1.0 / scale * width / min(shape))))
    coarse = rng.standard_normal((coarse_h, coarse_w)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    peak = float(np.abs(field).max()) or 1.0
    return field / peak


def check_depth(depth: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Validate a user depth map: ``H x W`` (resized if needed), finite, scaled to [0, 1]."""
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim == 3:
        depth = depth.mean(axis=2)
    if depth.ndim != 2 or not np.isfinite(depth).all():
        raise InvalidInputError("depth map must be a finite H x W array")
    if depth.shape != tuple(shape):
        depth = cv2.resize(depth, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    lo, hi = float(depth.min()), float(depth.max())
    if hi - lo < 1e-8:
        return np.full(shape, 0.5, np.float32)
    return ((depth - lo) / (hi - lo)).astype(np.float32)
