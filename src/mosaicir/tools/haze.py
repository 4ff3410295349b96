"""Dehazing tools: the dark-channel prior (He et al. 2009) with a guided-filter refined
transmission (He et al. 2010, ``cv2.ximgproc.guidedFilter``), and a learned U-Net."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.estimators.colour import luminance
from mosaicir.estimators.haze import dark_channel, estimate_airlight
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import OnnxRestorer


#: Median dark channel below which an image counts as haze-free, and the ramp above it.
HAZE_FREE_DARK = 0.12
HAZE_RAMP = 0.15
#: The same test on the dark channel's minimum over a wide window, taken at its 10th percentile: a
#: veil lifts the shadows of nearly every neighbourhood, while blur, washed-out texture or a bright
#: wall raises the 15-px dark channel but leaves some dark pixel within HAZE_FLOOR_WINDOW px in
#: part of the frame. 0.26-0.40 on SOTS hazy photographs, at most 0.15 on the 300 clear, noisy and
#: rainy development photographs (``scripts/haze_evidence.py``, docs/REAL.md); its median, used
#: before, let bright clear photographs through (15.8 dB against the input on one).
HAZE_FREE_FLOOR = 0.16
HAZE_FLOOR_RAMP = 0.08
HAZE_FLOOR_PERCENTILE = 10.0
HAZE_FLOOR_WINDOW = 61
#: A veil is the colour of the airlight, near grey: the darkest pixels of a hazy scene (J ~ 0, so
#: I ~ A (1 - t)) are about as grey as the veil. Their colour spread ``(max - min) / max`` is
#: 0.08-0.26 on SOTS hazy photographs and 0.29-0.45 on close-ups of beige or warm surfaces (PolyU
#: crops), which the dark channel alone takes for dense haze and dehazing turns orange (-20 to
#: -28 dB). Full evidence up to HAZE_NEUTRAL_VEIL, none from HAZE_NEUTRAL_VEIL + HAZE_VEIL_RAMP.
HAZE_NEUTRAL_VEIL = 0.26
HAZE_VEIL_RAMP = 0.02
#: Share of the darkest pixels (by value) whose mean colour is the veil's.
VEIL_SHARE = 10.0


def veil_colour_spread(image: np.ndarray) -> float:
    """``(max - min) / max`` of the mean RGB of the darkest ``VEIL_SHARE`` % of pixels (by value,
    the max of RGB), in [0, 1]: near 0 when the shadows are lifted by a grey veil."""
    value = image.max(axis=2)
    darkest = value <= np.percentile(value, VEIL_SHARE)
    colour = image[darkest].mean(axis=0)
    return float((colour.max() - colour.min()) / max(float(colour.max()), 1e-3))


def median_dark_evidence(median_dark: float) -> float:
    """The dark channel's median above that of clear photographs, as evidence in [0, 1] (the
    median as NumPy gives it: a float32 one is ramped in float32)."""
    return float(np.clip((median_dark - HAZE_FREE_DARK) / HAZE_RAMP, 0.0, 1.0))


def floor_evidence(lifted: float) -> float:
    """The wide floor's low percentile above that of clear photographs, as evidence in [0, 1]."""
    return float(np.clip((lifted - HAZE_FREE_FLOOR) / HAZE_FLOOR_RAMP, 0.0, 1.0))


def grey_veil_evidence(spread: float) -> float:
    """The darkest pixels' colour spread (:func:`veil_colour_spread`) as grey as a veil, as
    evidence in [0, 1]: 1 up to ``HAZE_NEUTRAL_VEIL``, 0 from ``HAZE_VEIL_RAMP`` above it."""
    return float(np.clip((HAZE_NEUTRAL_VEIL + HAZE_VEIL_RAMP - spread) / HAZE_VEIL_RAMP, 0.0, 1.0))


def haze_evidence(image: np.ndarray, dark: np.ndarray | None = None) -> float:
    """How much haze ``image`` (``H x W x 3`` in [0, 1]) shows, in [0, 1]: the dark channel's
    median above that of clear photographs (He et al.), the darkest pixel of nearly every wide
    neighbourhood lifted by the veil, and the lifted shadows as grey as a veil; the least of the
    three."""
    dark = dark_channel(image) if dark is None else dark
    floor = cv2.erode(dark, np.ones((HAZE_FLOOR_WINDOW, HAZE_FLOOR_WINDOW), np.uint8))
    lifted = float(np.percentile(floor, HAZE_FLOOR_PERCENTILE))
    return min(median_dark_evidence(np.median(dark)), floor_evidence(lifted),
               grey_veil_evidence(veil_colour_spread(image)))


class DarkChannelParams(ToolParams):
    omega: float = Field(0.95, ge=0.3, le=1.0, description="fraction of haze removed")
    t_min: float = Field(0.1, ge=0.02, le=0.6, description="lower bound of the transmission")
    airlight: float = Field(0.0, ge=0.0, le=1.0, description="atmospheric light; 0 = estimate")
    radius: int = Field(40, ge=4, le=120, description="guided-filter radius, px")
    veil_window: int = Field(61, ge=0, le=301, description="window of the veil bound, px (0: no bound)")


class DarkChannelDehaze(Tool):
    """Dark-channel prior dehazing with guided-filter transmission refinement."""

    name = "dark_channel"
    checks_presence = True  # the haze evidence over 15- and 61-px windows
    targets = ("haze",)
    Params = DarkChannelParams
    seconds_per_megapixel = 0.13

    def params_for(self, severity: float) -> DarkChannelParams:
        return DarkChannelParams(omega=float(np.clip(0.75 + 0.25 * severity, 0.3, 1.0)))

    def evidence(self, before, after):
        """The haze evidence of the step's input (:func:`haze_evidence`): the dehazed result is the
        scattering model inverted, so what it removed is a veil by construction; whether there
        was a veil to remove is the question."""
        return haze_evidence(before)

    def presence(self, image: np.ndarray, dark: np.ndarray) -> float | np.ndarray:
        """How much haze the step's input shows, in [0, 1] (:func:`haze_evidence`); the removal is
        scaled by it. A variant test may answer with an ``H x W`` map instead (haze over part of the
        frame: ``train/haze_presence.py``)."""
        return haze_evidence(image, dark)

    def _apply(self, image, params):
        dark = dark_channel(image)
        airlight = params.airlight or estimate_airlight(image, dark)
        # scale the removal down where the image shows little haze, so clear images pass unchanged
        evidence = self.presence(image, dark)
        if np.max(evidence) <= 0.0:
            return image
        transmission = 1.0 - params.omega * evidence * dark_channel(image / airlight)
        if params.veil_window:
            # the veil A (1 - t) lifts every pixel, so it cannot exceed the darkest pixel nearby:
            # a bright wall or sky next to shadows is not haze
            window = np.ones((params.veil_window, params.veil_window), np.uint8)
            floor = cv2.blur(cv2.erode(dark, window), (params.veil_window, params.veil_window))
            transmission = np.maximum(transmission, 1.0 - floor / airlight)
        transmission = cv2.ximgproc.guidedFilter(luminance(image), transmission.astype(np.float32), params.radius, 1e-3)
        t = np.clip(transmission, params.t_min, 1.0)[:, :, None]
        return (image - airlight) / t + airlight


class DehazeNet(OnnxRestorer):
    """Learned dehazing U-Net with a global-context branch (airlight, haze density)."""

    name = "dehaze_unet"
    targets = ("haze",)
    #: changes any image, hazy or not (-5 to -10 dB on rainy and warm-toned photographs of the
    #: public sets): only for planners that already know the haze is there
    default = False
    model_file = "dehaze_unet.onnx"
    seconds_per_megapixel = 0.35
