"""The checks the registry's generated tool tests run on every tool (``tests/test_tools.py``), and
on a plug-in's tool (``tests/test_plugins.py``): shape, dtype, range and determinism; a real gain
on its own degradation; restraint on clean input; a parameter space with ranges."""

from __future__ import annotations

import copy
import json

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.core.names import DEGRADATIONS
from mosaicir.degrade import get_degradation
from mosaicir.tools import Tool

#: Minimum PSNR gain (dB) at severity 0.5 on the fixture, per degradation.
MIN_GAIN = {"noise": 3.0, "motion_blur": 0.5, "defocus_blur": 1.0, "haze": 3.0, "rain": 1.0, "low_light": 2.0,
            "jpeg": 0.2, "low_resolution": 0.05}


def check_contract(tool: Tool, image: np.ndarray) -> None:
    """Shape, dtype, range, determinism, and the input left untouched."""
    assert isinstance(tool, Tool) and tool.targets and set(tool.targets) <= set(DEGRADATIONS)
    degraded, _ = get_degradation(tool.targets[0])(image, 0.5, np.random.default_rng(0))
    out = tool.apply(degraded)
    assert out.shape == degraded.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(out, tool.apply(degraded)), "tools must be deterministic"
    assert np.array_equal(degraded, get_degradation(tool.targets[0])(image, 0.5, np.random.default_rng(0))[0]), "input untouched"


def check_gain(tool: Tool, image: np.ndarray) -> None:
    """A mean gain of at least ``MIN_GAIN`` (or the tool's ``test_min_gain``) over two seeds on each
    of its degradations, at its ``test_severity`` and ``test_settings``."""
    for degradation in tool.targets:
        gains = []
        severity, model = tool.test_severity, copy.copy(get_degradation(degradation))
        for setting, value in tool.test_settings.items():
            setattr(model, setting, value)
        for seed in range(2):
            degraded, _ = model(image, severity, np.random.default_rng(seed))
            gains.append(psnr(image, tool.apply(degraded, tool.params_for(severity))) - psnr(image, degraded))
        least = MIN_GAIN[degradation] if tool.test_min_gain is None else tool.test_min_gain
        assert np.mean(gains) >= least, f"{tool.name} on {degradation}: gains {gains}"


def check_restraint(tool: Tool, image: np.ndarray) -> None:
    """A default tool changes a clean photograph little (above 28 dB against it)."""
    assert psnr(image, tool.apply(image)) > 28.0


def check_param_space(tool: Tool) -> None:
    """Every numeric parameter has a range; the description is JSON."""
    for field, entry in tool.param_space().items():
        if isinstance(entry["default"], bool):
            continue
        assert ("ge" in entry or "gt" in entry) and ("le" in entry or "lt" in entry), f"{tool.name}.{field}"
    json.dumps(tool.describe(), default=str)
