"""Simple tools a user could pick instead of mosaicir: the bar a restoration has to beat.

``mosaicir bench paired --baseline nlmeans,gamma`` runs them on the same inputs as the strategies
and reports their gains beside them. Each baseline takes a ``float32 H x W x 3`` RGB image in
[0, 1] and returns one of the same shape and range; it knows nothing of the degradation.

- ``nlmeans``: OpenCV's colour non-local means at one fixed strength (``h`` of 255), what an
  image editor's "reduce noise" does.
- ``gamma``: one global gamma on all channels that lifts the image's mean to 0.4, an editor's
  "auto brightness"; images already as bright are left as they are.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image
from mosaicir.tools.noise import opencv_nlmeans

#: Filter strength of ``nlmeans`` (of 255, luminance and colour alike): a light, fixed setting, the
#: one a user would leave alone; the bar is untuned on purpose (``--nlmeans-h`` changes it).
NLMEANS_H = 4.0
#: OpenCV's recommended template patch and search window sizes (px).
NLMEANS_TEMPLATE = 7
NLMEANS_SEARCH = 21
#: ``gamma`` lifts an image's mean (over all pixels and channels) to this value, a little below
#: mid-grey: a normally exposed photograph's mean, so that highlights keep room.
GAMMA_TARGET_MEAN = 0.4

Baseline = Callable[[np.ndarray], np.ndarray]


def nlmeans(image: np.ndarray, h: float = NLMEANS_H) -> np.ndarray:
    """``cv2.fastNlMeansDenoisingColored(img_u8, None, h, h, 7, 21)`` on the 8-bit image.

    Args:
        image: ``float32 H x W x 3`` RGB in [0, 1].
        h: filter strength of luminance and colour (of 255).

    Returns:
        ``float32 H x W x 3`` RGB in [0, 1] (on the 8-bit grid).
    """
    check_image(image)
    if h <= 0:
        raise InvalidInputError(f"nlmeans strength h must be positive, got {h}")
    return opencv_nlmeans(image, h, NLMEANS_TEMPLATE, NLMEANS_SEARCH, tiled=False)


def gamma(image: np.ndarray, target: float = GAMMA_TARGET_MEAN) -> np.ndarray:
    """``image ** (log(target) / log(mean))`` when the mean of ``image`` is below ``target``,
    else ``image`` unchanged (a black image too: no gamma lifts it).

    Args:
        image: ``float32 H x W x 3`` RGB in [0, 1].
        target: the mean the output should have, in (0, 1).

    Returns:
        ``float32 H x W x 3`` RGB in [0, 1].
    """
    check_image(image)
    if not 0 < target < 1:
        raise InvalidInputError(f"gamma target mean must lie in (0, 1), got {target}")
    mean = float(np.clip(image, 0, 1).mean(dtype=np.float64))
    if mean <= 0 or mean >= target:
        return image.copy()
    exponent = math.log(target) / math.log(mean)
    return np.power(np.clip(image, 0, 1), np.float32(exponent)).astype(np.float32)


#: The baselines by name, in the order tables show them.
BASELINES: dict[str, Callable[..., np.ndarray]] = {"nlmeans": nlmeans, "gamma": gamma}


def get_baseline(name: str, **options: float) -> Baseline:
    """The baseline ``name`` with its options bound (e.g. ``get_baseline("nlmeans", h=6)``)."""
    if name not in BASELINES:
        raise InvalidInputError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    return functools.partial(BASELINES[name], **options) if options else BASELINES[name]
