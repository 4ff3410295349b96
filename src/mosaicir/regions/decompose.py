"""Decomposition of an image into regions of like degradation.

Cells of the perception grid are labelled by the set of degradations flagged there (their
"degradation signature"); 4-connected cells with the same set form a region, regions smaller
than ``min_cells`` are merged into the neighbour whose mean severities are closest, and each
region gets a feathered soft mask, a bounding box and its signature (degradation -> mean
severity). Cells where nothing is flagged belong to no region: those pixels are left untouched.
Degradations the coordinator handles on the whole image are left out of the signatures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from mosaicir.core.image import check_mask
from mosaicir.core.names import DEGRADATIONS
from mosaicir.perception.maps import DegradationMaps

#: Regions smaller than this many cells (8 x 8 px) are merged into a neighbour.
MIN_CELLS = 48
#: Soft-mask feathering: Gaussian sigma in pixels.
FEATHER_SIGMA = 6.0
#: ``decompose(min_area=a)`` leaves out regions whose cells cover less than this share of ``a``:
#: the feathered mask has the cells' area up to what falls below 1e-3 at its rim, never twice it.
MIN_AREA_SHARE = 0.5


@dataclass
class Region:
    """One region.

    Attributes:
        id: index among the image's regions (0 is the first region to restore).
        mask: ``float32 H x W`` soft mask in [0, 1].
        bbox: ``(top, left, bottom, right)`` of the pixels where ``mask > 0`` (bottom/right exclusive).
        signature: ``{degradation: severity in [0, 1]}`` to restore here.
    """

    id: int
    mask: np.ndarray
    bbox: tuple[int, int, int, int]
    signature: dict[str, float] = field(default_factory=dict)

    @property
    def area(self) -> float:
        return float(self.mask.mean())

    def crop_box(self, margin: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """The bounding box grown by ``margin`` pixels, clipped to the image, on a 16-px grid
        (top/left) so that JPEG blocks keep their phase inside the crop."""
        top, left, bottom, right = self.bbox
        top, left = max(0, (top - margin) // 16 * 16), max(0, (left - margin) // 16 * 16)
        return top, left, min(shape[0], bottom + margin), min(shape[1], right + margin)


def mask_bbox(mask: np.ndarray, level: float = 1e-3) -> tuple[int, int, int, int]:
    above = mask > level
    rows, cols = np.flatnonzero(above.any(axis=1)), np.flatnonzero(above.any(axis=0))  # no index list per pixel
    if rows.size == 0:
        return 0, 0, 0, 0
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _feather(hard: np.ndarray, sigma: float) -> np.ndarray:
    soft = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), sigma) if sigma > 0 else hard.astype(np.float32)
    soft[soft < 1e-3] = 0.0
    return np.clip(soft, 0.0, 1.0)


def decompose(maps: DegradationMaps, *, exclude: tuple[str, ...] = (), min_cells: int = MIN_CELLS,
              feather_sigma: float = FEATHER_SIGMA, whole_image: bool = False, min_area: float = 0.0) -> list[Region]:
    """Regions of like degradation from perception maps.

    Args:
        maps: perception of the image.
        exclude: degradations handled elsewhere (globally); they do not split regions.
        min_cells: smallest region kept on its own, in cells.
        feather_sigma: softness of the mask borders, pixels.
        whole_image: one region covering the whole image, whose signature holds every degradation
            the summary finds present (the ``global`` strategy).
        min_area: share of the image below which the caller drops a region (``Region.area``):
            regions whose cells cover less than ``MIN_AREA_SHARE`` of it are left out before their
            full-resolution mask is made (on a 24 MP photograph a few hundred specks of a few cells
            each would otherwise take a 96 MB mask each); the caller still compares ``area`` with it.

    Returns:
        Regions that need restoring, largest first.
    """
    names = [n for n in maps.names if n not in exclude]
    height, width = maps.image_shape
    if whole_image:
        summary = maps.summary()
        signature = {n: summary.degradations[n].mean_severity for n in summary.present if n in names}
        if not signature:
            return []
        return [Region(0, np.ones((height, width), np.float32), (0, 0, height, width), signature)]
    # flags cleaned by a 3 x 3 majority (median) filter so that speckle does not split regions
    flagged = (np.stack([cv2.medianBlur(maps.flag_cells(n).astype(np.uint8), 3) > 0 for n in names])
               if names else np.zeros((0,) + maps.severity.shape[1:], bool))
    if flagged.shape[0] == 0 or not flagged.any():
        return []
    severity = np.stack([maps.map(n) for n in names])
    # signature key per cell: bit set of flagged degradations
    keys = np.zeros(flagged.shape[1:], np.int32)
    for bit in range(flagged.shape[0]):
        keys |= flagged[bit].astype(np.int32) << bit
    labels = np.zeros(keys.shape, np.int32)
    count = 0
    for key in np.unique(keys):
        if key == 0:
            continue
        n, comp = cv2.connectedComponents((keys == key).astype(np.uint8), connectivity=4)
        for c in range(1, n):
            count += 1
            labels[comp == c] = count
    labels = _merge_small(labels, severity, min_cells)
    regions = []
    # pixels per cell along each axis (the last row and column of cells may be cut by the border)
    rows = np.minimum(maps.cell, height - np.arange(labels.shape[0]) * maps.cell).astype(np.float64)
    cols = np.minimum(maps.cell, width - np.arange(labels.shape[1]) * maps.cell).astype(np.float64)
    for value in np.unique(labels):
        if value == 0:
            continue
        cells = labels == value
        if min_area > 0 and float(rows @ cells @ cols) / (height * width) < MIN_AREA_SHARE * min_area:
            continue  # feathering keeps a region's area (a Gaussian keeps mass): it cannot reach min_area
        signature = {name: round(float(severity[i][cells & flagged[i]].mean()), 3)
                     for i, name in enumerate(names) if (cells & flagged[i]).mean() > 0.3 * cells.mean()}
        if not signature:
            continue
        hard = cv2.resize(cells.astype(np.uint8), (cells.shape[1] * maps.cell, cells.shape[0] * maps.cell),
                          interpolation=cv2.INTER_NEAREST)[:height, :width]
        mask = _feather(hard, feather_sigma)
        regions.append(Region(0, mask, mask_bbox(mask), signature))
    regions.sort(key=lambda r: -r.area)
    for i, region in enumerate(regions):
        region.id = i
    return regions


def _merge_small(labels: np.ndarray, severity: np.ndarray, min_cells: int) -> np.ndarray:
    """Merge components under ``min_cells`` into the touching component of closest mean severity
    (into nothing when no degraded component touches them and they are tiny)."""
    labels = labels.copy()
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(8):
        values, sizes = np.unique(labels[labels > 0], return_counts=True)
        small = [(v, s) for v, s in zip(values, sizes) if s < min_cells]
        if not small:
            break
        changed = False
        means = {v: severity[:, labels == v].mean(axis=1) for v in values}
        for value, _size in sorted(small, key=lambda t: t[1]):
            cells = labels == value
            if not cells.any():
                continue
            ring = cv2.dilate(cells.astype(np.uint8), kernel).astype(bool) & ~cells
            neighbours = [v for v in np.unique(labels[ring]) if v > 0 and v != value]
            if neighbours:
                best = min(neighbours, key=lambda v: float(np.abs(means[v] - means[value]).sum()))
                labels[cells] = best
                changed = True
            elif cells.sum() < min_cells // 3:
                labels[cells] = 0
                changed = True
        if not changed:
            break
    return labels


def regions_from_masks(masks: np.ndarray | list[np.ndarray], maps: DegradationMaps, *,
                       exclude: tuple[str, ...] = (), feather_sigma: float = 0.0) -> list[Region]:
    """Regions from user masks (``K x H x W`` or a list of ``H x W`` in [0, 1]); each region's
    signature is what perception flags inside its mask (empty regions are dropped)."""
    regions = []
    for mask in masks:
        mask = check_mask(np.asarray(mask, np.float32), maps.image_shape)
        soft = _feather((mask > 0.5).astype(np.float32), feather_sigma) if feather_sigma > 0 else mask.copy()
        cells = cv2.resize(mask, (maps.severity.shape[2], maps.severity.shape[1]), interpolation=cv2.INTER_AREA) > 0.5
        signature = {}
        for name in maps.names:
            if name in exclude or not cells.any():
                continue
            flags = maps.flag_cells(name)[cells]
            if flags.mean() > 0.3:
                signature[name] = round(float(maps.map(name)[cells][flags].mean()), 3)
        if signature:
            regions.append(Region(len(regions), soft, mask_bbox(soft), signature))
    return regions


__all__ = ["DEGRADATIONS", "Region", "decompose", "mask_bbox", "regions_from_masks"]
