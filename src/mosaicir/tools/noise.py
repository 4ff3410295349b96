"""Denoising tools: non-local means (Buades et al. 2005, scikit-image) and a learned U-Net."""

from __future__ import annotations

import cv2
import numpy as np
from pydantic import Field

from mosaicir.core.severity import noise_sigma
from mosaicir.estimators.colour import luminance
from mosaicir.estimators.noise import estimate_noise_sigma
from mosaicir.runtime.tiling import process_tiled
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.learned import NetworkParams, OnnxRestorer, self_ensemble

#: Noise does not follow the picture: a denoising step that takes more than this many times as
#: much (RMS) from the most textured quarter of the frame as from its flattest quarter is taking
#: texture (fur, foliage) for noise. 1.7-2.4 on clean photographs that perception reads as noisy
#: (baboon, pepper: 27-33 dB against the input), 0.7-1.3 where the step gained on synthetic noise
#: (``scripts/noise_evidence.py``, docs/REAL.md). Within bands of like brightness (``BRIGHTNESS_BANDS``)
#: the Poisson and camera noise it vetoed reads under the ratio, but so does the foliage ``nl_means``
#: took from a clean photograph (31.98 dB against its input): not used for the veto (docs/REAL.md, ``s24``).
TEXTURE_RATIO = 1.45


#: Where a step counts as acting: local RMS of what it removed (15 x 15 px) at least this share of
#: its 95th percentile (noise may cover part of the frame only; the comparison is made there).
ACTIVE_SHARE = 0.3


#: Brightness bands of :func:`texture_share` when it compares textured with flat pixels of like
#: brightness: signal-dependent (Poisson, camera) noise is stronger in the brighter parts, and
#: when those are the textured ones the plain comparison reads the noise as texture taken
#: (measured by ``scripts/noise_evidence.py``; not part of the veto).
BRIGHTNESS_BANDS = 6
#: Least pixels of each kind (textured, flat) for a brightness band to count.
BAND_MIN_PIXELS = 16


def texture_share(before: np.ndarray, after: np.ndarray, brightness_bands: int = 1) -> float:
    """How much more a step took from texture than from flat parts, where it acted: the RMS of what
    it removed (luma of ``before - after``, both ``H x W x 3`` in [0, 1]) over the most textured
    quarter of those pixels (local gradient energy of ``after``, 9 x 9 px) divided by its RMS over
    their flattest quarter. >= 0; about 1 for noise, above it when texture was taken.

    With ``brightness_bands`` > 1, the two are compared within each band of local brightness (equal
    shares of the acting pixels; a band counts with at least ``BAND_MIN_PIXELS`` of each kind) and
    the ratios averaged with the textured pixels' weights: signal-dependent noise, stronger where
    the picture is brighter, then reads as about 1 too (the plain ratio when no band counts)."""
    removed, grey = luminance(before - after), luminance(after)
    local = np.sqrt(np.maximum(cv2.blur(removed ** 2, (15, 15)), 0.0))
    active = local >= ACTIVE_SHARE * float(np.percentile(local, 95))
    if active.sum() < 64:
        return 0.0
    energy = cv2.blur(cv2.Sobel(grey, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(grey, cv2.CV_32F, 0, 1) ** 2, (9, 9))[active]
    removed = removed[active]
    flat, textured = energy <= np.percentile(energy, 25), energy >= np.percentile(energy, 75)
    rms = lambda part: float(np.sqrt((removed[part] ** 2).mean())) if part.any() else 0.0
    plain = rms(textured) / max(rms(flat), 1e-9)
    if brightness_bands <= 1:
        return plain
    brightness = cv2.blur(grey, (9, 9))[active]
    edges = np.percentile(brightness, np.linspace(0.0, 100.0, brightness_bands + 1))
    taken = kept = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        band = (brightness >= low) & (brightness <= high)
        band_flat, band_textured = flat & band, textured & band
        if band_flat.sum() < BAND_MIN_PIXELS or band_textured.sum() < BAND_MIN_PIXELS:
            continue
        weight = float(band_textured.sum())
        taken += weight * rms(band_textured)
        kept += weight * rms(band_flat)
    return taken / kept if kept > 0.0 else plain


def noise_evidence(before: np.ndarray, after: np.ndarray) -> float | None:
    """0 (a veto) when what a denoiser removed follows the texture (:func:`texture_share` above
    ``TEXTURE_RATIO``); no opinion otherwise (the quality agent's score decides)."""
    return 0.0 if texture_share(before, after) > TEXTURE_RATIO else None


def camera_noise_statistics(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """Statistics of what a denoising step removed (``before - after``, both ``H x W x 3`` in
    [0, 1]): ``rms`` (of 255, all channels), ``flat_rms`` (of 255, luma, flattest quarter of the
    frame by the local gradient energy of ``after``), ``texture`` (:func:`texture_share`),
    ``correlation`` (of the luma with itself one pixel over, mean of both directions: 0 for white
    noise, about 0.5-0.8 after demosaicing and JPEG), ``chroma`` (RMS of the colour differences
    over that of the luma) and ``coarse`` (share of the luma's energy left after a 7 x 7 box blur:
    what is removed from structure is coarse, noise is not)."""
    removed = (before - after).astype(np.float32)
    luma = luminance(removed)
    grey = luminance(after)
    energy = cv2.blur(cv2.Sobel(grey, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(grey, cv2.CV_32F, 0, 1) ** 2, (9, 9))
    flat = energy <= np.percentile(energy, 25)
    centred = luma - luma.mean()
    variance = float((centred ** 2).mean()) + 1e-12
    correlation = 0.5 * (float((centred[:, 1:] * centred[:, :-1]).mean()) + float((centred[1:] * centred[:-1]).mean())) / variance
    chroma = removed - luma[..., None]
    return {
        "rms": 255.0 * float(np.sqrt((removed ** 2).mean())),
        "flat_rms": 255.0 * float(np.sqrt((luma[flat] ** 2).mean())) if flat.any() else 0.0,
        "texture": texture_share(before, after),
        "correlation": correlation,
        "chroma": float(np.sqrt((chroma ** 2).mean())) / max(float(np.sqrt((luma ** 2).mean())), 1e-9),
        "coarse": float((cv2.blur(luma, (7, 7)) ** 2).mean()) / variance,
    }


#: What the camera-noise denoiser removed is camera noise only when it is about as strong in texture
#: as in flat parts (texture share at most CAMERA_TEXTURE_RATIO: 0.8-2.4 where it gained on the
#: PolyU pairs, 3.9-9.6 on the four it lowered, 2.9 on the one clean photograph it took texture
#: from) and correlated over neighbouring pixels as demosaicing and JPEG make it (at least
#: CAMERA_CORRELATION: 0.33-0.61 on PolyU, 0.22 on the grain of old scans such as `lenna` and
#: `womanhat`, which it would have smoothed to 37.6 and 39.1 dB against the input).
#: Its colour must not outweigh its luma (chroma share at most CAMERA_CHROMA: 0.29-0.85 where it
#: gained on PolyU but for two circuit boards, 0.87-0.89; 0.88-1.58 on the grain of the film scans
#: and JPEG-origin photographs of ../shared/data/natural it would have smoothed to 34.4-39.7 dB
#: against the input).
#: ``scripts/camera_noise_evidence.py``, docs/REAL.md.
CAMERA_TEXTURE_RATIO = 2.5
CAMERA_CORRELATION = 0.3
CAMERA_CHROMA = 0.86


def camera_noise_evidence(before: np.ndarray, after: np.ndarray) -> float:
    """1 when what a denoising step removed looks like a camera's noise (:func:`camera_noise_statistics`:
    texture share at most ``CAMERA_TEXTURE_RATIO``, neighbour correlation at least
    ``CAMERA_CORRELATION``, chroma share at most ``CAMERA_CHROMA``), else 0."""
    measures = camera_noise_statistics(before, after)
    return float(measures["texture"] <= CAMERA_TEXTURE_RATIO and measures["correlation"] >= CAMERA_CORRELATION
                 and measures["chroma"] <= CAMERA_CHROMA)


#: Frames of more pixels than this are denoised by non-local means in overlapping tiles of
#: NLMEANS_TILE px (its peak was 2.68 GB on a 24 MP frame at once; docs/BIG.md).
NLMEANS_TILE_PIXELS = 4_000_000
NLMEANS_TILE = 1024


def central_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The central ``side`` x ``side`` px of ``image`` (all of it along a shorter axis)."""
    top, left = max(0, (image.shape[0] - side) // 2), max(0, (image.shape[1] - side) // 2)
    return image[top:top + side, left:left + side]


class NLMeansParams(ToolParams):
    sigma: float = Field(0.0, ge=0.0, le=100.0, description="noise sigma of 255; 0 = estimate")
    h_factor: float = Field(0.8, ge=0.2, le=2.0, description="filter strength h = h_factor * sigma")


class NLMeans(Tool):
    """Non-local means, fast mode, 5x5 patches searched over 13x13 (scikit-image)."""

    name = "nl_means"
    targets = ("noise",)
    Params = NLMeansParams
    seconds_per_megapixel = 1.31

    def evidence(self, before, after):
        """A veto when it took texture for noise (:func:`noise_evidence`)."""
        return noise_evidence(before, after)

    def params_for(self, severity: float) -> NLMeansParams:
        return NLMeansParams(sigma=noise_sigma(severity))

    def _apply(self, image, params):
        from skimage.restoration import denoise_nl_means

        large = image.shape[0] * image.shape[1] > NLMEANS_TILE_PIXELS
        if params.sigma > 0:
            sigma = params.sigma / 255.0
        else:  # one estimate for the frame (of its centre when large), not one per tile
            sigma = estimate_noise_sigma(central_crop(image, NLMEANS_TILE) if large else image)
        if sigma < 0.5 / 255.0:
            return image

        def denoise(part: np.ndarray) -> np.ndarray:
            return denoise_nl_means(part, h=params.h_factor * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                                    fast_mode=True, channel_axis=2, preserve_range=True).astype(np.float32)

        # each pixel depends on a 17 x 17 px window (5-px patches searched over 13 x 13): tiles that
        # overlap by 32 px and are blended give the whole frame's result, in bounded memory
        return process_tiled(image, denoise, tile=NLMEANS_TILE, overlap=32) if large else denoise(image)


class DenoiseNet(OnnxRestorer):
    """Blind colour denoiser: residual U-Net trained on Gaussian and Poisson noise."""

    name = "denoise_unet"
    targets = ("noise",)
    model_file = "denoise_unet.onnx"
    seconds_per_megapixel = 0.34

    def evidence(self, before, after):
        """A veto when it took texture for noise (:func:`noise_evidence`)."""
        return noise_evidence(before, after)


class DenoiseCameraParams(NetworkParams):
    # 0.9: the network trained with texture bands removes a little more than it should on some
    # clean photographs taken in dim light (the Sun-Hays brewery at dusk: 39.3 dB at 1.0, 40.2 at
    # 0.9); on PolyU 0.9 keeps +2.15 of the +2.20 (docs/REAL.md, session of s22)
    strength: float = Field(0.9, ge=0.0, le=1.0, description="blend of the network's result with the input")
    nlmeans_share: float = Field(0.3, ge=0.0, le=1.0, description="share of OpenCV's colour non-local means "
                                 "averaged into the network's result (0: the network alone)")
    nlmeans_h_factor: float = Field(1.6, ge=0.1, le=4.0, description="its strength h, per unit of the RMS "
                                    "(of 255) of what the network removed")


def opencv_nlmeans(image: np.ndarray, h: float, template: int = 5, search: int = 13, tiled: bool = True,
                   as_bgr: bool = True) -> np.ndarray:
    """OpenCV's colour non-local means (``template``-px patches searched over ``search`` px) at
    strength ``h`` (of 255, luminance and colour alike) on ``image`` (``H x W x 3`` RGB in [0, 1],
    8-bit inside). OpenCV works in Lab converted from BGR, so it is handed the channels in that
    order; ``as_bgr=False`` hands it RGB as it is (red read as blue: the order in which the camera
    denoiser's blend and its evidence thresholds were tuned, kept until they are tuned again). With
    ``tiled``, images above ``NLMEANS_TILE_PIXELS`` go through in overlapping tiles (bounded
    memory; the blend leaves the 8-bit grid in the overlaps). Returns ``float32 H x W x 3`` RGB in
    [0, 1], on the 8-bit grid when not tiled."""
    order = slice(None, None, -1) if as_bgr else slice(None)

    def denoise(part: np.ndarray) -> np.ndarray:
        pixels = np.ascontiguousarray(np.round(np.clip(part[:, :, order], 0.0, 1.0) * 255.0).astype(np.uint8))
        denoised = cv2.fastNlMeansDenoisingColored(pixels, None, float(h), float(h), template, search)
        return np.ascontiguousarray(denoised[:, :, order], dtype=np.float32) / np.float32(255.0)

    large = tiled and image.shape[0] * image.shape[1] > NLMEANS_TILE_PIXELS
    return process_tiled(image, denoise, tile=NLMEANS_TILE, overlap=32) if large else denoise(image)


class DenoiseCameraNet(OnnxRestorer):
    """Denoiser for the faint noise of camera photographs (a few /255 after the camera's
    demosaicing, tone curve and JPEG): residual U-Net trained on the camera-noise model
    (:func:`mosaicir.degrade.models.camera_noise`) at low levels, clean patches and real PolyU
    pairs (``train/restorers.py --degradation camera_noise``). Tried on every photograph, its
    steps are kept only on its own evidence (:meth:`evidence`)."""

    name = "denoise_camera_unet"
    targets = ("noise",)
    default = False  # used by the pass tried on every photograph (RestoreConfig.try_everywhere)
    test_severity = 0.1
    test_settings = {"poisson_probability": 0.0, "camera_probability": 1.0}
    test_min_gain = 1.0  # the demosaicing and JPEG of the camera chain are not its to undo
    model_file = "denoise_camera_unet.onnx"
    Params = DenoiseCameraParams
    # the width-24 network's 0.66 (1.95 times the width-16 one's 0.34, timed side by side), and non-local means
    seconds_per_megapixel = 0.79
    tried_everywhere = True  # camera noise is too faint for perception (PolyU's, 2-6/255; docs/REAL.md)

    def evidence(self, before, after):
        """Whether what it removed looks like a camera's noise (:func:`camera_noise_evidence`)."""
        return camera_noise_evidence(before, after)

    def _apply(self, image, params):
        """The network's result, averaged with non-local means (``nlmeans_share``) at a strength set
        by what the network removed: the two err differently, and on real camera noise their mean
        gains more than either on photographs the network did not train on (docs/REAL.md)."""
        restored = super()._apply(image, params.model_copy(update={"strength": 1.0}))
        if params.nlmeans_share > 0.0:
            removed = 255.0 * float(np.sqrt(np.mean((image - restored) ** 2)))
            if removed > 0.1:
                share = np.float32(params.nlmeans_share)
                # RGB handed over as BGR: the order its share, strength and evidence were tuned in; in the
                # right order the evidence accepts a step that lowers a Rain100L photograph by 0.54 dB
                smoothed = opencv_nlmeans(image, params.nlmeans_h_factor * removed, as_bgr=False)
                smoothed *= share  # in place: a 24 MP frame is 288 MB per copy
                restored = restored * (np.float32(1.0) - share)
                restored += smoothed
        if params.strength >= 1.0:
            return restored
        return image + np.float32(params.strength) * (restored - image)


class DenoiseNetEnsemble(DenoiseNet):
    """``denoise_unet`` averaged over the eight flips and quarter turns of its input (geometric
    self-ensemble): a little more accurate, eight times slower, so never chosen by default."""

    name = "denoise_unet_x8"
    default = False
    seconds_per_megapixel = 2.7

    def run_network(self, image: np.ndarray) -> np.ndarray:
        return self_ensemble(super().run_network)(image)

