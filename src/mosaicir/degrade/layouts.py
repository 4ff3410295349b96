"""Spatial layouts: soft-edged region masks that partition an image.

Four kinds, each drawn from a seed:

* ``bands``: horizontal bands with gently waving, tilted boundaries (sky and ground);
* ``voronoi``: Voronoi cells of random sites;
* ``blobs``: random smooth blobs over a background;
* ``content``: regions that follow image content, unions of SLIC superpixels grouped by colour and
  position (a subject against its background).

Every layout yields ``K x H x W`` float32 masks in [0, 1] that sum to 1 at every pixel; the edges
are softened by a Gaussian of ``softness`` times the short side.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image

LayoutKind = Literal["bands", "voronoi", "blobs", "content"]
LAYOUT_KINDS: tuple[str, ...] = ("bands", "voronoi", "blobs", "content")
#: A region smaller than this fraction of the image is merged into its neighbour.
MIN_REGION_FRACTION = 0.04


class LayoutParams(BaseModel):
    """How to draw a layout; with the image (for ``content``) it determines the masks exactly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: LayoutKind
    n_regions: int = Field(ge=1, le=8)
    softness: float = Field(0.015, ge=0.0, le=0.2, description="edge blur, fraction of the short side")
    seed: int = 0


def sample_layout_params(rng: np.random.Generator, n_regions: int, kind: str | None = None) -> LayoutParams:
    """Draw a layout of ``n_regions`` regions, of ``kind`` or a random kind."""
    u_kind, u_soft = rng.random(2)
    seed = int(rng.integers(0, 2**31 - 1))
    kind = kind or LAYOUT_KINDS[int(u_kind * len(LAYOUT_KINDS)) % len(LAYOUT_KINDS)]
    if kind not in LAYOUT_KINDS:
        raise InvalidInputError(f"unknown layout kind {kind!r} (known: {', '.join(LAYOUT_KINDS)})")
    return LayoutParams(kind=kind, n_regions=n_regions, softness=0.008 + 0.017 * float(u_soft), seed=seed)


def make_layout(params: LayoutParams, image: np.ndarray | None = None, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Render the soft masks of a layout.

    Args:
        params: the layout.
        image: ``float32 H x W x 3`` in [0, 1]; required for ``content``, else gives the shape.
        shape: (H, W) when no image is given.

    Returns:
        ``float32 K x H x W`` in [0, 1], summing to 1 over K at every pixel. K may be smaller than
        ``params.n_regions`` when a drawn region is too small to keep.
    """
    if image is not None:
        check_image(image)
        shape = image.shape[:2]
    if shape is None:
        raise InvalidInputError("make_layout needs an image or a shape")
    labels = hard_labels(params, image, shape)
    return soften(labels, params.softness)


def hard_labels(params: LayoutParams, image: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """``int32 H x W`` region index per pixel, regions numbered 0..K-1 without gaps."""
    rng = np.random.default_rng(params.seed)
    k = params.n_regions
    if k == 1:
        return np.zeros(shape, np.int32)
    if params.kind == "bands":
        labels = _bands(rng, shape, k)
    elif params.kind == "voronoi":
        labels = _voronoi(rng, shape, k)
    elif params.kind == "blobs":
        labels = _blobs(rng, shape, k)
    else:
        if image is None:
            raise InvalidInputError("the 'content' layout needs the image")
        labels = _content(rng, image, k)
    return _merge_small(labels)


def soften(labels: np.ndarray, softness: float) -> np.ndarray:
    """One-hot of ``labels`` blurred by a Gaussian of ``softness`` x short side, renormalised."""
    count = int(labels.max()) + 1
    sigma = softness * min(labels.shape)
    masks = np.empty((count,) + labels.shape, np.float32)
    for index in range(count):
        one_hot = (labels == index).astype(np.float32)
        masks[index] = cv2.GaussianBlur(one_hot, (0, 0), sigma) if sigma > 0.3 else one_hot
    masks /= np.maximum(masks.sum(axis=0, keepdims=True), 1e-8)
    return np.clip(masks, 0.0, 1.0)


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    height, width = shape
    return np.meshgrid(np.linspace(0, 1, height, dtype=np.float32), np.linspace(0, 1, width, dtype=np.float32), indexing="ij")


def _bands(rng: np.random.Generator, shape: tuple[int, int], k: int) -> np.ndarray:
    yy, xx = _grid(shape)
    cuts = np.sort(rng.uniform(0.15, 0.85, size=k - 1))
    # keep the bands at least 10% apart
    for i in range(1, len(cuts)):
        cuts[i] = max(cuts[i], cuts[i - 1] + 0.1)
    labels = np.zeros(shape, np.int32)
    for cut in cuts:
        amplitude, period, phase, tilt = rng.uniform(0.0, 0.04), rng.uniform(0.3, 1.0), rng.uniform(0, 2 * np.pi), rng.uniform(-0.15, 0.15)
        boundary = cut + amplitude * np.sin(2 * np.pi * xx / period + phase) + tilt * (xx - 0.5)
        labels += (yy > boundary).astype(np.int32)
    return labels


def _voronoi(rng: np.random.Generator, shape: tuple[int, int], k: int) -> np.ndarray:
    yy, xx = _grid(shape)
    aspect = shape[1] / shape[0]
    sites = rng.uniform(0.1, 0.9, size=(k, 2))
    dist = np.stack([((yy - sy) ** 2 + ((xx - sx) * aspect) ** 2) for sy, sx in sites])
    return dist.argmin(axis=0).astype(np.int32)


def _blobs(rng: np.random.Generator, shape: tuple[int, int], k: int) -> np.ndarray:
    labels = np.zeros(shape, np.int32)
    height, width = shape
    for index in range(1, k):
        coarse = rng.standard_normal((5, max(2, int(round(5 * width / height)))) ).astype(np.float32)
        field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        area = rng.uniform(0.12, 0.3)
        labels[field > np.quantile(field, 1.0 - area)] = index
    return labels


def _content(rng: np.random.Generator, image: np.ndarray, k: int) -> np.ndarray:
    from skimage.color import rgb2lab
    from skimage.segmentation import slic
    from sklearn.cluster import KMeans

    segments = slic(image, n_segments=150, compactness=12.0, start_label=0, channel_axis=2)
    lab = rgb2lab(image)
    yy, xx = _grid(image.shape[:2])
    count = int(segments.max()) + 1
    area = np.maximum(np.bincount(segments.ravel(), minlength=count), 1).astype(np.float64)
    feats = [np.bincount(segments.ravel(), weights=ch.ravel(), minlength=count) / area
             for ch in (lab[..., 0] / 100.0, lab[..., 1] / 100.0, lab[..., 2] / 100.0, yy * 0.6, xx * 0.6)]
    features = np.stack(feats, axis=1)
    clusters = KMeans(n_clusters=min(k, count), n_init=4, random_state=int(rng.integers(0, 2**31 - 1))).fit_predict(features)
    return clusters[segments].astype(np.int32)


def _merge_small(labels: np.ndarray) -> np.ndarray:
    """Merge regions below MIN_REGION_FRACTION into their most frequent neighbour; renumber."""
    total = labels.size
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        small = [(c, i) for i, c in zip(ids, counts) if c < MIN_REGION_FRACTION * total]
        if not small or len(ids) == 1:
            break
        _, victim = min(small)
        region = (labels == victim).astype(np.uint8)
        ring = cv2.dilate(region, np.ones((5, 5), np.uint8)).astype(bool) & (labels != victim)
        neighbours = labels[ring]
        target = np.bincount(neighbours).argmax() if neighbours.size else ids[ids != victim][0]
        labels = np.where(labels == victim, target, labels)
    _, renumbered = np.unique(labels, return_inverse=True)
    return renumbered.reshape(labels.shape).astype(np.int32)
