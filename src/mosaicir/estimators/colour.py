"""The one grey conversion: Rec. 709 luma."""

from __future__ import annotations

import numpy as np

#: Rec. 709 luma weights of R, G, B.
LUMA_WEIGHTS = (0.2126, 0.7152, 0.0722)
#: Standard deviation of the luma of noise drawn independently in each channel, per unit of the
#: channels' standard deviation (``sqrt(sum w^2)``): a noise level read on the luma is divided by it.
LUMA_NOISE_GAIN = float(np.sqrt(np.sum(np.square(LUMA_WEIGHTS))))


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 709 luma of ``H x W x 3`` -> ``H x W`` float32."""
    return (image @ np.array(LUMA_WEIGHTS, np.float32)).astype(np.float32)
