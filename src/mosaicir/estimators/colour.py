"""The one grey conversion: Rec. 709 luma."""

from __future__ import annotations

import numpy as np


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of ``H x W x 3`` -> ``H x W`` float32."""
    return (image @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)
