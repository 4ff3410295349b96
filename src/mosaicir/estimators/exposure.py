"""Exposure estimates: the colour noise of few photons and the test for a short exposure. Used by
the low-light tools and by perception."""

from __future__ import annotations

import cv2
import numpy as np

from mosaicir.estimators.colour import luminance


#: A short exposure: nothing near white (white point below this) and the frame dark on average
#: (mean luminance below SHORT_EXPOSURE_MEAN). The white-point stretch alone leaves such a frame
#: dark (LOL inputs: white points 0.12-0.38, means 0.06-0.10); an exposure gain to a normal mean
#: luminance restores it (+10.9 to +13.0 dB on the LOL development pairs against +7-11 for a
#: gamma to the same mean: a short exposure scales the signal, it does not bend the curve).
SHORT_EXPOSURE_WHITE = 0.5


SHORT_EXPOSURE_MEAN = 0.15


#: An under-exposed frame: its white point (:func:`white_point`) below this. Naturally dark
#: photographs keep their lights and highlights, while exposure cut down (scaled or shifted) leaves
#: nothing near white (docs/BENCHMARKS.md). 0.9 until the real sets: a dim rainy photograph of
#: Rain100L (white point 0.75, its reference 0.56) lost 4.7 dB to the stretch, and clean dim
#: photographs reach 0.83-0.89; the lowest of the 191 clean photographs of the development set is
#: 0.74 (docs/REAL.md).
UNDEREXPOSED_WHITE = 0.7


#: A short exposure also shows the colour noise of few photons: fine chroma variation in flat
#: parts, relative to their brightness, of at least this (LOL inputs 0.032-0.043; a dark crop of a
#: camera JPEG, whose colour the camera smoothed, 0.000; ``colour_noise``).
SHORT_EXPOSURE_COLOUR_NOISE = 0.02


#: Shadows clipped to black: at least this share of the pixels black in every channel (8-bit 0).
#: A darkening that cuts the exposure by a constant (MiO's ``shift``) clips every shadow below the
#: cut: 9 of the 10 ``mio-b`` rain + low light frames it darkened reach this (up to 15.8%); the rainy
#: photographs of Rain100L and RainTrainH reach at most 0.01% (``scripts/clipped_shadows.py``,
#: docs/BENCHMARKS.md, ``s21``).
CLIPPED_SHADOWS = 0.005


def clipped_shadows(image: np.ndarray) -> float:
    """Share of the pixels of ``image`` (``H x W x 3`` in [0, 1]; every other pixel of every other
    row) that are black in every channel on the 8-bit grid (value below 0.5/255), in [0, 1]."""
    return round(float((image[::2, ::2].max(axis=2) < 0.5 / 255.0).mean()), 5)


def colour_noise(image: np.ndarray) -> float:
    """Fine colour variation in the flattest 40% of ``image`` (``H x W x 3`` in [0, 1]): the
    median absolute difference of the chroma (RGB minus grey) from its Gaussian blur (sigma 1 px),
    divided by the median luminance there; >= 0."""
    grey = luminance(image)
    smooth = cv2.GaussianBlur(grey, (0, 0), 3.0)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    flat = gradient <= np.percentile(gradient, 40)
    chroma = image - image.mean(axis=2, keepdims=True)
    detail = chroma - cv2.GaussianBlur(chroma, (0, 0), 1.0)
    return float(np.median(np.abs(detail[flat])) / max(float(np.median(grey[flat])), 1e-3))


def white_point(image: np.ndarray) -> float:
    """The 99th percentile of the value (max of RGB) of ``image`` (``H x W x 3`` in [0, 1]) over
    every other pixel of every other row, in [0, 1]: near 1 when something in the photograph
    reaches white (a correctly exposed dark scene still has its lights and highlights), lower when
    the exposure was cut down (scaled or shifted)."""
    return round(float(np.percentile(image.max(axis=2)[::2, ::2], 99.0)), 4)


def short_exposure(image: np.ndarray) -> bool:
    """Whether ``image`` (``H x W x 3`` in [0, 1]) looks like a short exposure: nothing near white,
    dark on average (``SHORT_EXPOSURE_WHITE``, ``SHORT_EXPOSURE_MEAN``; every other pixel of every
    other row) and the colour noise of few photons (``SHORT_EXPOSURE_COLOUR_NOISE``)."""
    sample = image[::2, ::2]
    return (float(np.percentile(sample.max(axis=2), 99.0)) < SHORT_EXPOSURE_WHITE
            and float(luminance(sample).mean()) < SHORT_EXPOSURE_MEAN
            and colour_noise(image) >= SHORT_EXPOSURE_COLOUR_NOISE)
