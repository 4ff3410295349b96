"""The eight degradation names, used everywhere: files, JSON, the command line."""

from typing import Final, Literal

DegradationName = Literal[
    "noise", "motion_blur", "defocus_blur", "haze", "rain", "low_light", "jpeg", "low_resolution"
]

DEGRADATIONS: Final[tuple[str, ...]] = (
    "noise",
    "motion_blur",
    "defocus_blur",
    "haze",
    "rain",
    "low_light",
    "jpeg",
    "low_resolution",
)

#: Order in which degradations happen physically: scene (haze, rain, illumination), then imaging
#: (optics, motion, sampling, sensor noise), then compression. Restoration plans usually run
#: the reverse of this order.
PHYSICAL_ORDER: Final[tuple[str, ...]] = (
    "haze",
    "rain",
    "low_light",
    "motion_blur",
    "defocus_blur",
    "low_resolution",
    "noise",
    "jpeg",
)

#: Colour used for each degradation in overlays and plots (RGB in [0, 1]).
DEGRADATION_COLOURS: Final[dict[str, tuple[float, float, float]]] = {
    "noise": (0.90, 0.10, 0.10),
    "motion_blur": (0.10, 0.45, 0.95),
    "defocus_blur": (0.00, 0.80, 0.80),
    "haze": (0.85, 0.85, 0.85),
    "rain": (0.20, 0.85, 0.20),
    "low_light": (0.55, 0.20, 0.85),
    "jpeg": (1.00, 0.60, 0.00),
    "low_resolution": (1.00, 0.95, 0.10),
}
