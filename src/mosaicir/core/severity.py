"""The one severity-to-parameter map per degradation: what a severity ``s`` in [0, 1] means
physically. The degradation models (:mod:`mosaicir.degrade.models`) draw their parameters from
these maps, the tools plan from them (``Tool.params_for``), and perception inverts them (a JPEG
quality read from the file's tables gives a severity).

=================  ==========================  ======================
degradation        parameter at severity s      unit
=================  ==========================  ======================
noise              sigma = 60 s                 of 255, at mid-grey
motion_blur        length = 25 s                px
defocus_blur       radius = 6 s                 px (disk)
haze               beta = 2.4 s                 scattering, depth 0-1
rain               density = 0.012 s            streaks per pixel
low_light          exponent = 1 + 1.5 s         intensity power
jpeg               quality = 65 - 60 s          IJG quality
low_resolution     scale = 1 / (1 + 3 s)        down-sampling factor
=================  ==========================  ======================

Low light darkens by one of three methods whose parameters all follow ``s``: the exponent above
(:func:`low_light_gamma` is its inverse, the gamma the degradation and its tool use), a shift of
:func:`low_light_shift` and a new maximum of :func:`low_light_maximum`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mosaicir.core.names import DEGRADATIONS


def noise_sigma(severity: float) -> float:
    """Standard deviation of the noise at mid-grey (of 255)."""
    return 60.0 * severity


def motion_length(severity: float) -> float:
    """Length of the motion-blur kernel (px)."""
    return 25.0 * severity


def defocus_radius(severity: float) -> float:
    """Radius of the defocus disk (px)."""
    return 6.0 * severity


def haze_beta(severity: float) -> float:
    """Scattering coefficient of the haze (transmission ``exp(-beta depth)``, depth in [0, 1])."""
    return 2.4 * severity


def rain_density(severity: float) -> float:
    """Streaks per pixel of the rain layer."""
    return 0.012 * severity


def low_light_gamma(severity: float) -> float:
    """Gamma of the darkening: intensity becomes ``intensity ** (1 / gamma)``, in (0, 1]."""
    return 1.0 / (1.0 + 1.5 * severity)


def low_light_shift(severity: float) -> float:
    """Constant subtracted by the shifting kind of low light (of 255)."""
    return 60.0 * severity


def low_light_maximum(severity: float) -> float:
    """New maximum of the rescaling kind of low light (of 255)."""
    return 255.0 * (1.0 - 0.7 * severity)


def jpeg_quality(severity: float) -> float:
    """IJG quality (the model rounds it to an integer)."""
    return 65.0 - 60.0 * severity


def low_resolution_scale(severity: float) -> float:
    """Down-sampling factor (1/4: four times smaller)."""
    return 1.0 / (1.0 + 3.0 * severity)


def _clip(severity: float) -> float:
    return float(min(max(severity, 0.0), 1.0))


@dataclass(frozen=True)
class SeverityMap:
    """One degradation's map: ``parameter = at(severity)``, ``severity = severity_of(parameter)``
    (clipped to [0, 1]); ``at`` is monotonic."""

    parameter: str
    unit: str
    at: Callable[[float], float]
    severity_of: Callable[[float], float]


#: The map of every degradation, by name (:data:`mosaicir.core.names.DEGRADATIONS`).
SEVERITY_MAPS: dict[str, SeverityMap] = {
    "noise": SeverityMap("sigma", "of 255", noise_sigma, lambda sigma: _clip(sigma / 60.0)),
    "motion_blur": SeverityMap("length", "px", motion_length, lambda length: _clip(length / 25.0)),
    "defocus_blur": SeverityMap("radius", "px", defocus_radius, lambda radius: _clip(radius / 6.0)),
    "haze": SeverityMap("beta", "per unit depth", haze_beta, lambda beta: _clip(beta / 2.4)),
    "rain": SeverityMap("density", "streaks per pixel", rain_density, lambda density: _clip(density / 0.012)),
    "low_light": SeverityMap("gamma", "intensity ** (1 / gamma)", low_light_gamma,
                             lambda gamma: _clip((1.0 / gamma - 1.0) / 1.5)),
    "jpeg": SeverityMap("quality", "IJG", jpeg_quality, lambda quality: _clip((65.0 - quality) / 60.0)),
    "low_resolution": SeverityMap("scale", "factor", low_resolution_scale,
                                  lambda scale: _clip((1.0 / scale - 1.0) / 3.0)),
}
assert tuple(SEVERITY_MAPS) == DEGRADATIONS
