"""The eight degradation models.

Severity ``s`` in [0, 1] maps monotonically to physical parameters (by :mod:`mosaicir.core.severity`,
the one map per degradation, shared with the tools and perception); the MiO protocol's ranges
(AgenticIR) lie inside each mapping, at the severities given by ``mio_severity``.

=================  =============================================  ============================
name               severity -> parameter                          MiO range reached at
=================  =============================================  ============================
noise              Gaussian sigma = 60 s (of 255), or Poisson,    sigma 20-50: s 0.33-0.83
                   or a camera's chain (raw Poisson-Gaussian,
                   demosaicing, tone curve, JPEG 75-100), with
                   the same mid-grey standard deviation
motion_blur        length = 25 s px, random angle, Gaussian       10-15 px: s 0.4-0.6;
                   profile sigma 0.3-0.55 of the length            extended to 25 px at s 1
defocus_blur       disk radius = 6 s px                           r 3, 4, 6: s 0.5, 0.67, 1
haze               beta = 2.4 s, airlight U(0.7, 1.0), depth      beta 0.6-1.8: s 0.25-0.75
rain               streak density and brightness grow with s,     length 20-40 px, +-30 deg
                   length U(20, 40) px, angle U(-30, 30) deg,
                   1-3 layers, mist of heavy rain above s 0.6
low_light          shift = 60 s /255, or gamma 1/(1 + 1.5 s) on   shift 30-50: s 0.5-0.83;
                   intensity, or maximum rescaled to 255(1-0.7 s)  gamma 0.5-0.7: s 0.29-0.67;
                                                                  max 100-150: s 0.59-0.87
jpeg               quality = round(65 - 60 s), 4:2:0              q 10-30: s 0.58-0.92;
                                                                  5-60: s 0.08-1
low_resolution     scale = 1 / (1 + 3 s), bicubic down then up    1/2-1/4: s 0.33-1
=================  =============================================  ============================
"""

from __future__ import annotations

import io
from typing import ClassVar, Literal

import cv2
import numpy as np
from PIL import Image
from pydantic import Field

from mosaicir.core import severity as severity_map
from mosaicir.core.registry import Registry
from mosaicir.degrade.base import Degradation, DegradationParams, seed_from
from mosaicir.degrade.depth import DepthParams, check_depth, sample_depth_params, synthetic_depth
from mosaicir.estimators.colour import luminance
from mosaicir.estimators.kernels import convolve, disk_kernel, motion_kernel

#: Registry of degradation models by name (instances).
DEGRADATION_REGISTRY: Registry[Degradation] = Registry("degradation", "mosaicir.degradations")


# ----------------------------------------------------------------------------------------- noise
class NoiseParams(DegradationParams):
    kind: Literal["gaussian", "poisson", "camera"] = "gaussian"
    sigma: float = Field(ge=0.0, le=100.0, description="Gaussian standard deviation, of 255")
    peak: float = Field(gt=0.0, description="Poisson: expected photon count at white")
    shot: float = Field(0.0, ge=0.0, description="camera: shot-noise gain, variance per unit of linear raw signal")
    read: float = Field(0.0, ge=0.0, description="camera: read-noise variance on the linear raw signal")
    quality: int = Field(100, ge=1, le=100, description="camera: JPEG quality of the camera's file (100: none)")
    smoothing: float = Field(0.0, ge=0.0, le=3.0, description="camera: in-camera noise reduction, Gaussian "
                             "standard deviation (px) over the luma of the noise, twice that over its colour")
    chroma_gain: float = Field(1.0, ge=0.0, le=1.0, description="camera: share of the noise's colour left by "
                               "the camera's chroma noise reduction")
    seed: int = 0


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear light (IEC 61966-2-1)."""
    return np.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to sRGB-encoded values (IEC 61966-2-1)."""
    image = np.clip(image, 0.0, 1.0)
    return np.where(image <= 0.0031308, image * 12.92, 1.055 * image ** (1 / 2.4) - 0.055).astype(np.float32)


def _bayer(linear: np.ndarray) -> np.ndarray:
    """Linear RGB (``H x W x 3``) sampled on an RGGB Bayer mosaic: ``H x W``."""
    mosaic = np.empty(linear.shape[:2], np.float32)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]
    return mosaic


def _develop(mosaic: np.ndarray) -> np.ndarray:
    """A linear RGGB mosaic (``H x W``) quantised to 16 bits, demosaiced bilinearly (OpenCV) and
    put through the sRGB tone curve: ``H x W x 3`` in [0, 1]."""
    raw = np.round(np.clip(mosaic, 0.0, 1.0) * 65535.0).astype(np.uint16)
    # OpenCV names Bayer patterns by the second row's first two pixels: RGGB is "BG"
    return linear_to_srgb(cv2.cvtColor(raw, cv2.COLOR_BayerBG2RGB).astype(np.float32) / 65535.0)


def camera_noise(image: np.ndarray, shot: float, read: float, quality: int, rng: np.random.Generator,
                 smoothing: float = 0.0, chroma_gain: float = 1.0) -> np.ndarray:
    """Noise as a camera makes it (after Brooks et al. 2019, "Unprocessing images"): the sRGB image
    taken back to linear raw values on an RGGB Bayer mosaic, Poisson-Gaussian noise of variance
    ``shot * x + read`` on each photosite, bilinear demosaicing (OpenCV), the sRGB tone curve
    again, the camera's noise reduction and its JPEG (4:2:0) at ``quality`` (100: none).

    The noise reduction acts on the noise only (what the chain adds to the noise-free chain's
    result): a Gaussian of ``smoothing`` px over its luma (mean of the channels) and of twice that
    over its colour differences, which keep a share ``chroma_gain`` (0-1). With ``smoothing`` drawn
    in 0.3-1.0 and ``chroma_gain`` in 0.6-1.0 (``Noise.sample``) the noise is as correlated over
    neighbouring pixels (0.5-0.8), as coarse and as colourful as PolyU's
    (``scripts/camera_noise_model.py``); without it, it is whiter than a real camera's (correlation
    0.42-0.59). The result is noise correlated over neighbouring
    pixels and in colour, stronger in the shadows after the tone curve, and partly smoothed by the
    compression, as in real photographs."""
    mosaic = _bayer(srgb_to_linear(image))
    noise = rng.standard_normal(mosaic.shape, dtype=np.float32) * np.sqrt(shot * mosaic + read).astype(np.float32)
    out = _develop(mosaic + noise)
    if smoothing > 0.0 or chroma_gain < 1.0:
        reference = _develop(mosaic)
        added = out - reference
        luma = added.mean(axis=2, keepdims=True)
        colour = added - luma
        if smoothing > 0.0:
            luma = cv2.GaussianBlur(luma[..., 0], (0, 0), smoothing)[..., None]
            colour = cv2.GaussianBlur(colour, (0, 0), 2.0 * smoothing)
        out = np.clip(reference + luma + np.float32(chroma_gain) * colour, 0.0, 1.0).astype(np.float32)
    if quality >= 100:
        return out
    pixels = np.round(out * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=int(quality), subsampling="4:2:0")
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")).astype(np.float32) / np.float32(255.0)


class Noise(Degradation):
    """Sensor noise: additive white Gaussian (per channel), Poisson (shot) noise, or the noise of a
    camera's processing chain (:func:`camera_noise`: signal-dependent raw noise, demosaicing,
    tone curve, the camera's noise reduction and JPEG), each with the same standard deviation at
    mid-grey for a severity before the camera's noise reduction, which then lowers the camera kind's
    (to about 0.35-0.85 of it, the more the stronger the smoothing drawn)."""

    name = "noise"
    stage = "imaging"
    Params = NoiseParams
    mio_severity: ClassVar[tuple[float, float]] = (1 / 3, 5 / 6)
    poisson_probability = 0.25
    camera_probability = 0.25
    #: Slope of the sRGB curve at mid-grey (linear 0.214): a linear standard deviation s becomes
    #: about 1.08 s after the tone curve.
    SRGB_SLOPE_MID = 1.08
    #: camera: range of the in-camera noise reduction (Gaussian px over the noise's luma) and of the
    #: share of colour it leaves; matched to PolyU's noise (``scripts/camera_noise_model.py``)
    SMOOTHING: ClassVar[tuple[float, float]] = (0.3, 1.0)
    CHROMA_GAIN: ClassVar[tuple[float, float]] = (0.6, 1.0)

    def sample(self, rng: np.random.Generator, severity: float) -> NoiseParams:
        u_kind, seed = rng.random(), seed_from(rng)
        u_shot, u_quality = rng.random(2)
        sigma = severity_map.noise_sigma(severity)
        # Poisson noise with the same standard deviation at mid-grey: sqrt(0.5 / peak) = sigma/255.
        peak = 0.5 / max(sigma / 255.0, 1e-3) ** 2
        # camera: the same standard deviation at mid-grey after the tone curve, a share u of the
        # variance from shot noise, the rest from read noise
        variance = (sigma / 255.0 / self.SRGB_SLOPE_MID) ** 2
        share = 0.5 + 0.45 * float(u_shot)
        kind = ("poisson" if u_kind < self.poisson_probability
                else "camera" if u_kind < self.poisson_probability + self.camera_probability else "gaussian")
        # the camera's noise reduction, drawn from the item's own seed (the other draws stay as they were)
        u_smoothing, u_chroma = np.random.default_rng([seed, 1]).random(2)
        return NoiseParams(severity=severity, kind=kind, sigma=sigma, peak=peak, shot=share * variance / 0.214,
                           read=(1.0 - share) * variance, quality=int(round(75 + 25 * float(u_quality))),
                           smoothing=round(self.SMOOTHING[0] + (self.SMOOTHING[1] - self.SMOOTHING[0]) * float(u_smoothing), 3)
                           if kind == "camera" else 0.0,
                           chroma_gain=round(self.CHROMA_GAIN[0] + (self.CHROMA_GAIN[1] - self.CHROMA_GAIN[0]) * float(u_chroma), 3)
                           if kind == "camera" else 1.0,
                           seed=seed)

    def _apply(self, image, params, depth):
        rng = np.random.default_rng(params.seed)
        if params.kind == "poisson":
            return (rng.poisson(image.astype(np.float64) * params.peak) / params.peak).astype(np.float32)
        if params.kind == "camera":
            return camera_noise(image, params.shot, params.read, params.quality, rng, params.smoothing, params.chroma_gain)
        noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(params.sigma / 255.0)
        return image + noise


# ----------------------------------------------------------------------------------- motion blur
class MotionBlurParams(DegradationParams):
    length: float = Field(ge=0.0, le=64.0, description="extent of the motion, pixels")
    angle: float = Field(ge=0.0, le=180.0, description="direction, degrees counter-clockwise from +x")
    profile_sigma: float = Field(ge=0.0, description="Gaussian weighting along the path, pixels")


class MotionBlur(Degradation):
    """Linear camera or object motion during exposure."""

    name = "motion_blur"
    stage = "imaging"
    Params = MotionBlurParams
    mio_severity: ClassVar[tuple[float, float]] = (0.4, 0.6)

    def sample(self, rng, severity):
        u_angle, u_sigma = rng.random(2)
        length = severity_map.motion_length(severity)
        return MotionBlurParams(
            severity=severity, length=length, angle=180.0 * float(u_angle),
            profile_sigma=length * (0.3 + 0.25 * float(u_sigma)),
        )

    def _apply(self, image, params, depth):
        if params.length < 1.0:
            return image
        return convolve(image, motion_kernel(params.length, params.angle, params.profile_sigma or None))


# ---------------------------------------------------------------------------------- defocus blur
class DefocusBlurParams(DegradationParams):
    radius: float = Field(ge=0.0, le=16.0, description="disk radius, pixels")


class DefocusBlur(Degradation):
    """Out-of-focus blur: convolution with a uniform disk (circle of confusion)."""

    name = "defocus_blur"
    stage = "imaging"
    Params = DefocusBlurParams
    mio_severity: ClassVar[tuple[float, float]] = (0.5, 1.0)

    def sample(self, rng, severity):
        return DefocusBlurParams(severity=severity, radius=severity_map.defocus_radius(severity))

    def _apply(self, image, params, depth):
        if params.radius < 0.5:
            return image
        return convolve(image, disk_kernel(params.radius))


# ------------------------------------------------------------------------------------------ haze
class HazeParams(DegradationParams):
    beta: float = Field(ge=0.0, le=5.0, description="scattering coefficient (per unit depth)")
    airlight: float = Field(ge=0.0, le=1.0, description="atmospheric light A")
    depth: DepthParams = DepthParams()


class Haze(Degradation):
    """Atmospheric scattering: ``I = J t + A (1 - t)``, ``t = exp(-beta d)`` (Koschmieder).

    The depth ``d`` in [0, 1] comes from the caller (a user depth map) or from the synthetic
    depth generator described by ``params.depth``.
    """

    name = "haze"
    stage = "scene"
    Params = HazeParams
    mio_severity: ClassVar[tuple[float, float]] = (0.25, 0.75)

    def sample(self, rng, severity):
        u_air = rng.random()
        return HazeParams(
            severity=severity, beta=severity_map.haze_beta(severity), airlight=0.7 + 0.3 * float(u_air),
            depth=sample_depth_params(rng),
        )

    def depth_for(self, shape: tuple[int, int], params: HazeParams, depth: np.ndarray | None) -> np.ndarray:
        return synthetic_depth(shape, params.depth) if depth is None else check_depth(depth, shape)

    def _apply(self, image, params, depth):
        d = self.depth_for(image.shape[:2], params, depth)
        t = np.exp(-params.beta * d)[:, :, None].astype(np.float32)
        return image * t + np.float32(params.airlight) * (1.0 - t)


# ------------------------------------------------------------------------------------------ rain
class RainParams(DegradationParams):
    density: float = Field(ge=0.0, le=0.2, description="fraction of pixels that start a streak (front layer)")
    length: float = Field(ge=1.0, le=80.0, description="streak length of the front layer, pixels")
    angle: float = Field(ge=-45.0, le=45.0, description="streak angle from vertical, degrees")
    width: float = Field(ge=0.0, le=3.0, description="streak blur of the front layer (Gaussian sigma), pixels")
    brightness: float = Field(ge=0.0, le=1.0, description="streak opacity of the front layer")
    layers: int = Field(1, ge=1, le=4, description="streak layers; each further one is sparser, shorter, "
                                                    "fainter, wider and slanted a little differently")
    veil: float = Field(0.0, ge=0.0, le=0.6, description="opacity of the mist of heavy rain (a uniform veil)")
    blend: Literal["screen", "add"] = Field("screen", description="how streaks meet the scene: screen "
                                            "(1 - (1 - B)(1 - S)) or added and clipped (the public sets)")
    seed: int = 0


class Rain(Degradation):
    """Rain streaks as the public rain sets make them (Rain100L/H, Yang et al. 2017): sparse drops
    smeared into long, thin, bright streaks along one slant, in one to three layers (nearer
    layers longer, denser and brighter), added to the scene and clipped, with the mist of
    accumulated rain over the whole frame at high severity (Rain100H's veil).

    Checked against Rain100L's residuals (input - reference: grey, positive only, 10-27% of the
    pixels above 0.02, 99th percentile 0.12-0.44, peaks 0.45-0.8) with ``scripts/rain_stats.py``.
    """

    name = "rain"
    stage = "scene"
    Params = RainParams
    mio_severity: ClassVar[tuple[float, float]] = (0.4, 0.8)
    #: Severity above which the mist of heavy rain appears; its opacity grows to ``0.35`` at 1.
    VEIL_FROM = 0.6

    def sample(self, rng, severity):
        u_len, u_angle, u_width, u_layers, u_veil = rng.random(5)
        return RainParams(
            severity=severity,
            density=severity_map.rain_density(severity),
            length=20.0 + 20.0 * float(u_len),
            angle=-30.0 + 60.0 * float(u_angle),
            width=0.35 + 0.45 * float(u_width),
            brightness=min(1.0, 0.45 + 0.5 * severity),
            layers=1 + min(2, int(3 * float(u_layers) * min(1.0, 0.5 + severity))),
            veil=float(max(0.0, severity - self.VEIL_FROM) / (1 - self.VEIL_FROM) * (0.15 + 0.2 * float(u_veil))),
            blend="add",
            seed=seed_from(rng),
        )

    def streak_layer(self, shape: tuple[int, int], params: RainParams) -> np.ndarray:
        """``float32 H x W`` streak opacity in [0, 1], all layers together."""
        rng = np.random.default_rng(params.seed)
        total = np.zeros(shape, np.float32)
        for layer in range(params.layers):
            depth = np.float32(1.0 / (1.0 + layer))  # 1 for the front layer, smaller behind it
            u = rng.random(shape, dtype=np.float32)
            strength = rng.random(shape, dtype=np.float32)
            density = params.density * (1.0 if layer == 0 else 1.5 * depth)
            drops = np.where(u < density, 0.6 + 0.4 * strength, 0.0).astype(np.float32)
            length = max(3.0, params.length * float(depth) ** 0.5)
            angle = params.angle + (0.0 if layer == 0 else float(rng.normal(0.0, 4.0)))
            kernel = motion_kernel(length, 90.0 - float(np.clip(angle, -45, 45)))
            streaks = convolve(drops[:, :, None], kernel)
            if streaks.ndim == 3:
                streaks = streaks[:, :, 0]
            width = params.width * (1.0 + 0.6 * layer)
            if width > 0:
                streaks = cv2.GaussianBlur(streaks, (0, 0), width)
            streaks *= length * 0.6  # a lone streak peaks near its drop's strength
            layer_opacity = np.clip(streaks, 0.0, 1.0) * np.float32(params.brightness) * depth ** 0.5
            total = 1.0 - (1.0 - total) * (1.0 - layer_opacity)
        return total

    def _apply(self, image, params, depth):
        if params.veil > 0:
            image = image * np.float32(1.0 - params.veil) + np.float32(0.9 * params.veil)
        layer = self.streak_layer(image.shape[:2], params)[:, :, None]
        if params.blend == "add":
            return image + layer
        return 1.0 - (1.0 - image) * (1.0 - layer)


# ------------------------------------------------------------------------------------- low light
class LowLightParams(DegradationParams):
    method: Literal["shift", "gamma", "scale"] = "gamma"
    shift: float = Field(0.0, ge=0.0, le=255.0, description="subtracted constant, of 255")
    gamma: float = Field(1.0, gt=0.0, le=1.0, description="intensity becomes intensity^(1/gamma)")
    maximum: float = Field(255.0, gt=0.0, le=255.0, description="new maximum, of 255")


class LowLight(Degradation):
    """Under-exposure, as in the MiO protocol: a constant shift down, a gamma on intensity
    (hue kept), or a rescaling of the maximum."""

    name = "low_light"
    stage = "scene"
    Params = LowLightParams
    mio_severity: ClassVar[tuple[float, float]] = (0.5, 0.85)
    methods: tuple[str, ...] = ("shift", "gamma", "scale")

    def sample(self, rng, severity):
        method = self.methods[int(rng.random() * 3) % 3]
        return LowLightParams(
            severity=severity, method=method, shift=severity_map.low_light_shift(severity),
            gamma=severity_map.low_light_gamma(severity), maximum=severity_map.low_light_maximum(severity),
        )

    def _apply(self, image, params, depth):
        if params.method == "shift":
            return image - np.float32(params.shift / 255.0)
        if params.method == "scale":
            return image * np.float32(params.maximum / 255.0)
        value = image.max(axis=2, keepdims=True)
        darker = np.power(value, np.float32(1.0 / params.gamma))
        return image * (darker / np.maximum(value, 1e-6))


# ------------------------------------------------------------------------------------------ jpeg
class JpegParams(DegradationParams):
    quality: int = Field(ge=1, le=100)
    subsampling: Literal["4:4:4", "4:2:2", "4:2:0"] = "4:2:0"


class Jpeg(Degradation):
    """JPEG compression (libjpeg through Pillow) at a given quality, chroma 4:2:0."""

    name = "jpeg"
    stage = "compression"
    Params = JpegParams
    mio_severity: ClassVar[tuple[float, float]] = (0.58, 0.92)

    def sample(self, rng, severity):
        return JpegParams(severity=severity, quality=int(round(severity_map.jpeg_quality(severity))))

    def _apply(self, image, params, depth):
        pixels = np.round(np.clip(image, 0, 1) * 255.0).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=params.quality, subsampling=params.subsampling)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        return decoded.astype(np.float32) / np.float32(255.0)


# -------------------------------------------------------------------------------- low resolution
class LowResolutionParams(DegradationParams):
    scale: float = Field(gt=0.0, le=1.0, description="down-sampling factor (1/4 = four times smaller)")


class LowResolution(Degradation):
    """Bicubic down-sampling (anti-aliased, as MATLAB's imresize) then bicubic up-sampling back to
    the original size, so that it can be applied per region."""

    name = "low_resolution"
    stage = "imaging"
    Params = LowResolutionParams
    mio_severity: ClassVar[tuple[float, float]] = (0.85, 1.0)

    def sample(self, rng, severity):
        return LowResolutionParams(severity=severity, scale=severity_map.low_resolution_scale(severity))

    def _apply(self, image, params, depth):
        height, width = image.shape[:2]
        small = (max(1, int(round(width * params.scale))), max(1, int(round(height * params.scale))))
        return resize_bicubic(resize_bicubic(image, small), (width, height))


def resize_bicubic(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``H x W x 3`` float32 to ``size`` = (width, height) with Pillow's bicubic filter,
    which widens its support when reducing (anti-aliasing)."""
    planes = [np.asarray(Image.fromarray(image[:, :, c], mode="F").resize(size, Image.Resampling.BICUBIC))
              for c in range(image.shape[2])]
    return np.stack(planes, axis=2).astype(np.float32)


for _model in (Noise(), MotionBlur(), DefocusBlur(), Haze(), Rain(), LowLight(), Jpeg(), LowResolution()):
    DEGRADATION_REGISTRY.register(_model.name, _model)


def get_degradation(name: str) -> Degradation:
    """The registered degradation model called ``name`` (raises with a suggestion if unknown)."""
    return DEGRADATION_REGISTRY.get(name)


__all__ = [
    "DEGRADATION_REGISTRY",
    "DefocusBlur",
    "Haze",
    "Jpeg",
    "LowLight",
    "LowResolution",
    "MotionBlur",
    "Noise",
    "Rain",
    "get_degradation",
    "luminance",
    "resize_bicubic",
]
