"""Tests generated from the metric registry: every metric is called as it declares (with or without
a reference), stays in its range, and prefers the clean photograph to a degraded copy in its own
direction."""

import math

import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized

from mosaicir.core.errors import UnknownNameError
from mosaicir.quality.metrics import METRIC_REGISTRY, get_metric

METRICS = METRIC_REGISTRY.names()


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    clean = resized(skimage.data.astronaut(), 192, 192)
    return clean, degrade(clean, "noise", 0.6)


@pytest.mark.parametrize("name", METRICS)
def test_metric_range_and_direction(name, pair):
    metric = get_metric(name)
    clean, noisy = pair
    values = [metric(clean, image) if metric.needs_reference else metric(image) for image in (clean, noisy)]
    low, high = metric.range
    assert all(low <= v <= high for v in values), values
    assert metric.better(values[0], values[1]), (name, values)
    with pytest.raises(TypeError):
        metric(clean, noisy, noisy)


def test_the_registry_describes_every_metric():
    assert {"psnr", "ssim", "niqe", "remaining"} <= set(METRICS)
    for name in METRICS:
        metric = get_metric(name)
        assert metric.name == name and metric.description and metric.range[0] < metric.range[1]
    assert get_metric("psnr").needs_reference and not get_metric("niqe").needs_reference
    assert math.isinf(get_metric("niqe").range[1])
    with pytest.raises(UnknownNameError, match="did you mean 'psnr'"):
        get_metric("psnrr")
