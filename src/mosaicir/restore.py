"""A whole-image restoration used by ``mosaicir restore`` until the agents land.

It measures three degradations without a reference and, where it finds them, runs a registered
tool, in the reverse of the physical order: sensor noise (wavelet noise estimate, then the
``nl_means`` tool), under-exposure (luminance statistics, then ``adaptive_gamma``) and haze
(median dark channel, then ``dark_channel``). Each decision is recorded with its measurements,
parameters and time so that the run can be explained and replayed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import BaseModel

from mosaicir.core.image import check_image
from mosaicir.degrade.models import luminance
from mosaicir.tools import get_tool
from mosaicir.tools.haze import HAZE_FREE_DARK, dark_channel
from mosaicir.tools.noise import estimate_noise_sigma

#: Decision thresholds: noise sigma (of 255), median luminance, median dark channel.
NOISE_SIGMA_MIN = 4.0
DARK_MEDIAN_MAX = 0.2
HAZE_DARK_MIN = HAZE_FREE_DARK + 0.1


class Step(BaseModel):
    """One decision: what was measured, which tool ran (or not) with which parameters."""

    kind: str
    name: str
    measured: dict[str, float] = {}
    params: dict[str, Any] = {}
    applied: bool = False
    seconds: float = 0.0


def _run(tool_name: str, image: np.ndarray, measured: dict[str, float], applied: bool, params: dict | None = None) -> tuple[np.ndarray, Step]:
    start = time.perf_counter()
    tool = get_tool(tool_name)
    parsed = tool.parse_params(params)
    out = tool.apply(image, parsed) if applied else image
    step = Step(kind="tool", name=tool_name, measured=measured, params=parsed.model_dump(mode="json"), applied=applied,
                seconds=round(time.perf_counter() - start, 4))
    return out, step


def restore_image(image: np.ndarray) -> tuple[np.ndarray, list[Step]]:
    """Restore ``image`` (``float32 H x W x 3`` in [0, 1]); returns the result and its steps."""
    check_image(image)
    steps: list[Step] = []
    sigma = estimate_noise_sigma(image) * 255.0
    current, step = _run("nl_means", image, {"noise_sigma_255": round(sigma, 2)}, sigma > NOISE_SIGMA_MIN, {"sigma": sigma})
    steps.append(step)
    median = float(np.median(luminance(current)))
    current, step = _run("adaptive_gamma", current, {"median_luminance": round(median, 3)}, median < DARK_MEDIAN_MAX)
    steps.append(step)
    dark = float(np.median(dark_channel(current)))
    current, step = _run("dark_channel", current, {"median_dark_channel": round(dark, 3)}, dark > HAZE_DARK_MIN)
    steps.append(step)
    return current, steps
