"""One family of estimators of physical quantities, shared by the tools, perception and quality:
the grey conversion (:mod:`.colour`), blur kernels (:mod:`.kernels`), the motion and defocus
estimates (:mod:`.blur`), noise level (:mod:`.noise`), the dark channel and airlight
(:mod:`.haze`), exposure (:mod:`.exposure`) and the JPEG block grid (:mod:`.jpeg`). Above
:mod:`mosaicir.core` and :mod:`mosaicir.runtime`; below degrade, tools, perception and quality."""

from mosaicir.estimators.blur import MOTION_MIN_LENGTH, estimate_defocus_radius, estimate_motion
from mosaicir.estimators.colour import luminance
from mosaicir.estimators.exposure import (
    CLIPPED_SHADOWS, UNDEREXPOSED_WHITE, clipped_shadows, colour_noise, short_exposure, white_point,
)
from mosaicir.estimators.haze import dark_channel, estimate_airlight
from mosaicir.estimators.jpeg import block_grid_ratio, blockiness
from mosaicir.estimators.kernels import convolve, disk_kernel, motion_kernel
from mosaicir.estimators.noise import estimate_noise_sigma

__all__ = [
    "CLIPPED_SHADOWS", "MOTION_MIN_LENGTH", "UNDEREXPOSED_WHITE", "block_grid_ratio", "blockiness", "clipped_shadows", "colour_noise", "convolve", "dark_channel", "disk_kernel",
    "estimate_airlight", "estimate_defocus_radius", "estimate_motion", "estimate_noise_sigma", "luminance",
    "motion_kernel", "short_exposure", "white_point",
]
