"""JPEG estimates: the 8 x 8 block grid. Used by the JPEG tools and by perception."""

from __future__ import annotations

import numpy as np


def blockiness(image: np.ndarray) -> float:
    """Mean luminance step across 8x8 block borders minus the mean step elsewhere (>= 0)."""
    grey = image.mean(axis=2)
    dx = np.abs(np.diff(grey, axis=1))
    dy = np.abs(np.diff(grey, axis=0))
    border_x, border_y = dx[:, 7::8], dy[7::8, :]
    inner_x = np.delete(dx, np.s_[7::8], axis=1)
    inner_y = np.delete(dy, np.s_[7::8], axis=0)
    if border_x.size == 0 or border_y.size == 0:
        return 0.0
    return float(max(0.0, (border_x.mean() + border_y.mean() - inner_x.mean() - inner_y.mean()) / 2))


def block_grid_ratio(image: np.ndarray) -> float:
    """How much stronger the luminance steps are on the strongest of the eight column (and row)
    phases than on average (``image`` ``H x W x 3`` in [0, 1]): about 1.0 without JPEG blocking,
    1.1-1.2 after quality 50-65, 1.3-1.7 after quality 20. The phase is free, so a crop that does
    not start on the file's 8 x 8 grid reads the same."""
    grey = image.mean(axis=2)
    ratios = []
    for steps in (np.abs(np.diff(grey, axis=1)).mean(axis=0), np.abs(np.diff(grey, axis=0)).mean(axis=1)):
        if steps.size < 16:
            return 1.0
        by_phase = [steps[phase::8].mean() for phase in range(8)]
        ratios.append(max(by_phase) / max(float(steps.mean()), 1e-9))
    return float(np.mean(ratios))
