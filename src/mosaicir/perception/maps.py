"""Degradation maps: which degradation is where, and how strong.

A :class:`DegradationMaps` holds one severity map in [0, 1] per degradation on a grid of
``cell`` x ``cell`` pixel cells (cell 8: a 512 x 384 image gives 64 x 48 maps), the thresholds
above which a cell counts as degraded, and the whole-image estimates of physical parameters.
:meth:`DegradationMaps.upsample` gives a full-resolution map; :meth:`DegradationMaps.summary`
the whole-image report (present degradations, mean and max severity, estimates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mosaicir.core.errors import UnknownNameError
from mosaicir.core.names import DEGRADATIONS

#: Share of the image area that must be flagged for the summary to call a degradation present.
PRESENT_AREA = 0.04


class DegradationReport(BaseModel):
    """Whole-image view of one degradation."""

    model_config = ConfigDict(extra="forbid")

    present: bool
    area: float = Field(ge=0.0, le=1.0, description="share of the image flagged")
    mean_severity: float = Field(ge=0.0, le=1.0, description="mean severity where flagged (0 if nowhere)")
    max_severity: float = Field(ge=0.0, le=1.0)
    basis: Literal["cells", "image"] = Field(
        "cells", description="how presence was decided: flagged cells, or the whole-image threshold")

    def covers(self, share: float) -> bool:
        """Present and flagged over at least ``share`` of the image."""
        return self.present and self.area >= share


class PerceptionSummary(BaseModel):
    """What perception says about a whole image (``mosaicir analyze``)."""

    model_config = ConfigDict(extra="forbid")

    size: tuple[int, int] = Field(description="(height, width) in pixels")
    method: str
    present: list[str] = Field(description="degradations present, in the order of DEGRADATIONS")
    degradations: dict[str, DegradationReport]
    estimates: dict[str, float] = Field(
        default_factory=dict,
        description="physical parameters: noise_sigma (of 255), jpeg_quality, motion_length (px), "
                    "motion_angle (deg), defocus_radius (px), airlight (0-1), white_point (0-1: the 99th "
                    "percentile of the value, with low light)")
    seconds: float = 0.0


@dataclass
class DegradationMaps:
    """Severity per degradation on a grid of cells.

    Attributes:
        severity: ``float32 D x h x w`` in [0, 1], D = ``len(names)``, ``h = ceil(H / cell)``: how
            strong each degradation would be where it is present.
        image_shape: ``(H, W)`` of the image the maps describe.
        cell: pixels per cell side.
        thresholds: ``{name: t}``; a cell is flagged when its confidence exceeds ``t``.
        confidence: ``float32 D x h x w`` in [0, 1], how sure perception is that the degradation
            is present (the learned network's presence probability; the classical estimators use
            their severity). None: the severity.
        names: the degradations, in the order of the first axis (default: all eight).
        method: how the maps were made (``learned``, ``classical`` or ``auto``).
        estimates: whole-image physical estimates (see :class:`PerceptionSummary`).
        image_thresholds: ``{name: t}`` of the whole-image decision: the summary also calls a
            degradation present when ``PRESENT_AREA`` of the cells exceed ``t`` (calibrated per image,
            usually below the cell threshold: a whole image gives more evidence than one cell).
    """

    severity: np.ndarray
    image_shape: tuple[int, int]
    cell: int
    thresholds: dict[str, float]
    confidence: np.ndarray | None = None
    names: tuple[str, ...] = DEGRADATIONS
    method: str = "learned"
    estimates: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    image_thresholds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.severity = np.clip(np.asarray(self.severity, np.float32), 0.0, 1.0)
        if self.severity.ndim != 3 or self.severity.shape[0] != len(self.names):
            raise ValueError(f"severity must be {len(self.names)} x h x w, got {self.severity.shape}")
        if self.confidence is None:
            self.confidence = self.severity
        self.confidence = np.clip(np.asarray(self.confidence, np.float32), 0.0, 1.0)
        if self.confidence.shape != self.severity.shape:
            raise ValueError(f"confidence {self.confidence.shape} and severity {self.severity.shape} differ")

    def index(self, name: str) -> int:
        if name not in self.names:
            raise UnknownNameError(f"unknown degradation {name!r}; known: {', '.join(self.names)}")
        return self.names.index(name)

    def map(self, name: str) -> np.ndarray:
        """``float32 h x w`` cell severity of one degradation."""
        return self.severity[self.index(name)]

    def confidence_map(self, name: str) -> np.ndarray:
        return self.confidence[self.index(name)]

    def expected_map(self, name: str) -> np.ndarray:
        """Confidence times severity: the degradation expected in each cell (0 where surely absent)."""
        return self.confidence_map(name) * self.map(name)

    def flag_cells(self, name: str) -> np.ndarray:
        """``bool h x w``: cells where the degradation is present."""
        return self.confidence_map(name) > self.thresholds.get(name, 0.5)

    def upsample(self, name: str, shape: tuple[int, int] | None = None, which: str = "severity") -> np.ndarray:
        """``float32 H x W`` map at full resolution (bilinear between cell centres); ``which`` is
        ``severity``, ``confidence`` or ``expected``."""
        height, width = shape or self.image_shape
        cells = {"severity": self.map, "confidence": self.confidence_map, "expected": self.expected_map}[which](name)
        scale_y, scale_x = cells.shape[0] * self.cell / self.image_shape[0], cells.shape[1] * self.cell / self.image_shape[1]
        # cell grid covers ceil(H / cell) * cell pixels; crop the covered part back to H x W
        full = cv2.resize(cells, (int(round(width * scale_x)), int(round(height * scale_y))), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(full[:height, :width])

    def flagged(self, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
        """``bool H x W``: where the degradation is present."""
        return self.upsample(name, shape, "confidence") > self.thresholds.get(name, 0.5)

    def any_flagged(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        result = np.zeros(shape or self.image_shape, bool)
        for name in self.names:
            result |= self.flagged(name, shape)
        return result

    def signature(self) -> np.ndarray:
        """``float32 D x h x w``: severity where flagged, 0 elsewhere (what regions are built from)."""
        thresholds = np.array([self.thresholds.get(n, 0.5) for n in self.names], np.float32)[:, None, None]
        return np.where(self.confidence > thresholds, self.severity, 0.0).astype(np.float32)

    def summary(self) -> PerceptionSummary:
        reports, present = {}, []
        for name in self.names:
            cells = self.map(name)
            flagged = self.flag_cells(name)
            area = float(flagged.mean())
            is_present, basis, evidence = area >= PRESENT_AREA, "cells", flagged
            if not is_present and name in self.image_thresholds:
                above = self.confidence_map(name) > self.image_thresholds[name]
                if float(above.mean()) >= PRESENT_AREA:  # area stays the share of flagged cells
                    is_present, basis, evidence = True, "image", above
            reports[name] = DegradationReport(
                present=is_present, area=round(area, 4), basis=basis,
                mean_severity=round(float(cells[evidence].mean()) if evidence.any() else 0.0, 4),
                max_severity=round(float(cells[evidence].max()) if evidence.any() else 0.0, 4),
            )
            if is_present:
                present.append(name)
        return PerceptionSummary(
            size=self.image_shape, method=self.method, present=present, degradations=reports,
            estimates={k: round(float(v), 3) for k, v in self.estimates.items()}, seconds=round(self.seconds, 4),
        )
