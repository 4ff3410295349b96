"""Routing as data: what is restored where, decided by one pure function of the perception summary
and the configuration, from the traits of each degradation (:data:`ROUTES`) and of the tools
(``Tool.tried_everywhere``).

:func:`route` gives a :class:`~mosaicir.trajectory.RoutingStep`, recorded in the trajectory: the
whole-frame passes before the regions, what the regions may act on, and the whole-frame passes
after them. The coordinator runs it; replay reads it back. No rule here names a degradation: a
new degradation gets a :class:`Route`, a new rule a trait.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from mosaicir.agents.messages import RESTORATION_ORDER
from mosaicir.agents.quality import STRONG_EVIDENCE
from mosaicir.core.names import DEGRADATIONS
from mosaicir.estimators import CLIPPED_SHADOWS, UNDEREXPOSED_WHITE  # low light over the whole frame is restored below it
from mosaicir.perception import PerceptionSummary
from mosaicir.tools import TOOL_REGISTRY, get_tool
from mosaicir.trajectory import RoutingStep, WholeFramePass

WholeFrame = Literal["regions", "first_when_most", "last_when_covering", "last_wherever_found"]


@dataclass(frozen=True)
class Route:
    """How the coordinator treats one degradation.

    Attributes:
        trusted_in_regions: False when acting on it region by region by default cost more than
            it gained (detectors with a validation F1 below 0.2 when decided; low resolution's
            regional steps, docs/BENCHMARKS.md): it is then in ``RestoreConfig.ignore`` and acted
            on only through a whole-frame pass, where it has one (``whole_frame``).
        whole_frame: when it is restored on the whole frame instead of region by region:
            ``first_when_most`` (imaging and compression: before the regions when it covers
            ``global_area`` of the frame; tried on every photograph at the end when listed in
            ``try_everywhere``), ``last_when_covering`` (scene: after the regions when found over
            ``frame_wide_area``), ``last_wherever_found`` (scene: after the regions wherever found;
            its tool tests for it pixel by pixel), or ``regions`` (never).
        darkens_frame: its coverage over ``frame_wide_area`` (or a short exposure) marks the frame
            dark.
        needs_underexposure: restored on the whole frame only on an under-exposed frame (white
            point below ``UNDEREXPOSED_WHITE``, or a short exposure, which forces it).
        spared_on_dark_frames: not restored on a dark frame that is not under-exposed (and stays
            dark: its tool, trained on well-exposed photographs, takes more than the degradation).
        frame_params: tool parameters fixed for a whole-frame pass that restores it.
        masks_score: its presence hides from the quality score what earlier steps of the same pass
            did (bright streaks over a darkened frame: the stretch that a rainy, darkened frame
            needs scores as no gain until the rain is gone). A step judged by the score in a pass
            that will restore it next is judged on the frame with it removed, by its testing tool
            (``testing_tools``), wherever that tool's own evidence finds it (``RegionExpert``).
        tested_when_found: (with ``first_when_most``) when found, faint (mean severity at most
            ``TESTED_MAX_SEVERITY``) and tried on every photograph, its tools that test for it
            (``testing_tools``) are first run on the frame (its centre when large); where their own
            evidence holds, it is left to the pass tried on every photograph, whose tools keep a step
            only on that evidence, and not to the tools of the first pass and the regions (:func:`route`).
    """

    trusted_in_regions: bool = True
    whole_frame: WholeFrame = "regions"
    darkens_frame: bool = False
    needs_underexposure: bool = False
    spared_on_dark_frames: bool = False
    frame_params: dict[str, float] = field(default_factory=dict)
    tested_when_found: bool = False
    masks_score: bool = False


#: The traits of every degradation (docs/ARCHITECTURE.md says where a new one goes).
#: Haze wherever found: the dehazer estimates the veil pixel by pixel and tests for haze itself
#: (``checks_presence``), while the haze maps, weak region by region, flag a few patches of a frame
#: hazy all over (docs/BENCHMARKS.md). Low light: the adaptive gamma only brings the frame's white
#: point back to white (``gamma`` 1); the severity's gamma on top, or a curve chosen from the
#: median, over-brightens (a dark photograph lost up to 10 dB to the median curve). Rain on a frame
#: dark all over: the derainer takes more than the streaks (docs/BENCHMARKS.md); rain masks the score
#: of the stretch before it (``mio-b`` rain + low light: the stretch then deraining gains 5-20 dB
#: where the score, read through the streaks, refused the stretch). Noise found but
#: faint is tested: a camera's noise (PolyU's, 2-6/255, correlated by demosaicing and JPEG) is read
#: at severity 0.27-0.32 by the noise maps, as if it were white noise of 16-19/255, and the tools for
#: that took PolyU crops 2-5 dB down; the camera denoiser's evidence tells it from white noise
#: (docs/REAL.md). Low resolution is not acted on by default: super-resolution of a region gained
#: nothing on the held-out ``mosaic``, ``mio-a`` and ``mio-b`` sets (their spatial gains rose a little
#: without it), lowered rainy ``mio-a`` items, and took a clean photograph to 39.2 dB against its
#: input on a third of the frame read as low resolution; a whole-frame pass where it covers the frame
#: gained nothing more on ``mio-b`` and lowered the same rainy items (docs/BENCHMARKS.md, ``s16``).
ROUTES: dict[str, Route] = {
    "noise": Route(whole_frame="first_when_most", tested_when_found=True),
    "motion_blur": Route(trusted_in_regions=False),
    "defocus_blur": Route(),
    "haze": Route(whole_frame="last_wherever_found"),
    "rain": Route(trusted_in_regions=False, whole_frame="last_when_covering", spared_on_dark_frames=True,
                  masks_score=True),
    "low_light": Route(trusted_in_regions=False, whole_frame="last_when_covering", darkens_frame=True,
                       needs_underexposure=True, frame_params={"gamma": 1.0}),
    "jpeg": Route(whole_frame="first_when_most"),
    "low_resolution": Route(trusted_in_regions=False),
}

#: Degradations not acted on by default (``RestoreConfig.ignore``): their detectors reached a
#: validation F1 below 0.2 when this was decided (docs/PERCEPTION.md), and acting on false alarms
#: cost more than the misses (docs/BENCHMARKS.md). The shipped network reads motion blur at 0.47 and
#: rain at 0.56; acting on them region by region has not been measured with it yet. Low resolution
#: (0.41) is among them since its regional steps were measured to gain nothing (``ROUTES``); it has
#: no whole-frame pass, so by default it is perceived and reported only.
UNRELIABLE: tuple[str, ...] = tuple(n for n in DEGRADATIONS if not ROUTES[n].trusted_in_regions)
#: Degradations restored on the whole frame before the regions when they cover most of it.
GLOBAL_CANDIDATES: tuple[str, ...] = tuple(n for n in RESTORATION_ORDER if ROUTES[n].whole_frame == "first_when_most")
#: Scene degradations restored on the whole frame after the regions.
FRAME_WIDE_CANDIDATES: tuple[str, ...] = tuple(
    n for n in reversed(RESTORATION_ORDER) if ROUTES[n].whole_frame in ("last_when_covering", "last_wherever_found"))
#: Severity given to a degradation tried on every photograph where perception does not flag it.
TRY_EVERYWHERE_SEVERITY = 0.5
#: A degradation ``tested_when_found`` is tested only when its mean severity is at most this: the
#: tools tried on every photograph are made for faint degradations (the camera denoiser trained at
#: severities up to 0.15), and strong noise goes to the tools made for it.
TESTED_MAX_SEVERITY = 0.4


def frame_params(names: Iterable[str]) -> dict[str, float]:
    """Tool parameters fixed for a whole-frame pass restoring ``names`` (``Route.frame_params``)."""
    params: dict[str, float] = {}
    for name in names:
        params.update(ROUTES[name].frame_params)
    return params


def testing_tools(degradation: str) -> list[str]:
    """The registered tools a pass tried on every photograph may use for ``degradation``: those
    marked ``tried_everywhere`` (each keeps a step only on its own evidence, ``Tool.evidence``);
    empty when none is, and then the pass is not made."""
    return [n for n in TOOL_REGISTRY.names() if get_tool(n).tried_everywhere and degradation in get_tool(n).targets]


def degradations_to_test(summary: PerceptionSummary, config) -> list[str]:
    """The degradations found that their testing tools check before routing, in the order of
    ``DEGRADATIONS``: ``tested_when_found`` (imaging ones, ``first_when_most``, whose pass tried on
    every photograph can take them over), faint (mean severity at most ``TESTED_MAX_SEVERITY``),
    tried on every photograph, acted on, and with a tool that tests for them."""
    reports = summary.degradations
    return [n for n in DEGRADATIONS if ROUTES[n].tested_when_found and ROUTES[n].whole_frame == "first_when_most"
            and n in config.try_everywhere and n not in config.ignore and reports[n].present
            and reports[n].mean_severity <= TESTED_MAX_SEVERITY and testing_tools(n)]


def frame_wide_degradations(summary: PerceptionSummary, config) -> dict[str, float]:
    """``{degradation: mean severity}`` of the scene degradations restored on the whole frame after
    the regions (one veil, one rain layer): those the summary finds over at least
    ``config.frame_wide_area`` of the frame, or anywhere (``last_wherever_found``; and low light
    anywhere on an under-exposed frame, ``needs_underexposure``), and those tried on every
    photograph (``config.try_everywhere``). Ignored ones among them are acted on only then:
    the rain detector, unreliable region by region, is right on most images where it finds rain
    nearly everywhere (docs/BENCHMARKS.md)."""
    share = config.frame_wide_area
    if share >= 1.0:
        return {}
    reports = summary.degradations
    short = summary.estimates.get("short_exposure", 0.0) > 0
    darkening = [n for n in DEGRADATIONS if ROUTES[n].darkens_frame]
    # dark all over, or darkened where the shadows are clipped to black: an exposure cut by a
    # constant (``mio-b`` rain + low light: the derainer, right on its evidence, took the bright
    # streaks from frames left dark and lowered three of them by 0.75-1.66 dB; docs/BENCHMARKS.md, ``s21``)
    clipped = (any(reports[n].present for n in darkening)
               and summary.estimates.get("clipped_shadows", 0.0) >= CLIPPED_SHADOWS)
    dark = short or clipped or any(reports[n].covers(share) for n in darkening)
    # the white point is a test of the whole frame: where nothing reaches it, a darkening found on
    # part of the frame is enough (``mio-b`` rain + low light: the rain covers the darkening's
    # reading, a white point of 0.46, -0.22 dB left as it was)
    underexposed = short or (any(reports[n].present for n in darkening)
                             and summary.estimates.get("white_point", 1.0) < UNDEREXPOSED_WHITE)
    wide = {}
    for name in FRAME_WIDE_CANDIDATES:
        traits = ROUTES[name]
        if traits.needs_underexposure and short:
            wide[name] = max(reports[name].mean_severity, 0.5)
            continue
        if traits.needs_underexposure and underexposed and reports[name].present:
            wide[name] = reports[name].mean_severity
            continue
        anywhere = traits.whole_frame == "last_wherever_found" and reports[name].present and name not in config.ignore
        if not (anywhere or reports[name].covers(share)) or (traits.needs_underexposure and not underexposed):
            continue
        # an under-exposed frame is brightened first (low light comes after rain in the physical
        # order, so before it here)
        if traits.spared_on_dark_frames and dark and not underexposed:
            continue
        wide[name] = reports[name].mean_severity
    for name in config.try_everywhere:  # scene degradations here; imaging ones get a pass at the end
        if name in wide or name not in FRAME_WIDE_CANDIDATES or (ROUTES[name].spared_on_dark_frames and dark and not underexposed):
            continue
        wide[name] = reports[name].mean_severity if reports[name].present else TRY_EVERYWHERE_SEVERITY
    return {n: wide[n] for n in DEGRADATIONS if n in wide}


def whole_frame_pass(stage: str, signature: dict[str, float], tools: dict[str, list[str]] | None = None,
                     perceive_after: bool = False) -> WholeFramePass:
    return WholeFramePass(stage=stage, signature=signature, tools=tools or {}, hints=frame_params(signature),
                          perceive_after=perceive_after)


def route(summary: PerceptionSummary, config, tested: dict[str, float] | None = None) -> RoutingStep:
    """The routing of one photograph (``config``: a :class:`~mosaicir.agents.coordinator.RestoreConfig`).

    * ``spatial``: imaging and compression degradations covering ``global_area`` of the frame
      (``first_when_most``) on the whole frame first, perceived again after; the regions act on the
      rest but for the ignored degradations and the scene ones (``frame_wide_degradations``), which
      get a whole-frame pass after the regions, with only the tools that test for themselves where
      they are tried although not perceived.
    * ``global``: one region, the whole frame, with every degradation acted on (but those left to the
      pass tried on every photograph, below), the scene ones added.
    * both: imaging degradations tried on every photograph that perception did not find get one
      whole-frame pass at the end, with the tools that test for them (camera noise). At the end,
      not first: the regions and the scene tests were set on photographs that still carry their
      noise (a denoised beige close-up lifts its dark-channel floor into "haze", -19 dB; a
      denoised frame reads as soft and its sharpening lowered PolyU pairs by 2-5 dB; docs/REAL.md).
    * ``tested``: ``{degradation: evidence}`` of the test of :func:`degradations_to_test` (its
      testing tools run on the frame, or its centre, the strongest evidence). A degradation to test
      whose evidence holds (at least ``STRONG_EVIDENCE``) is routed as if perception had not found
      it: no region (the global strategy's one region included) and no first pass act on it, and it
      is tried in the pass tried on every photograph, kept there on its tools' evidence alone.
    """
    tested = tested or {}
    confirmed = [n for n in degradations_to_test(summary, config) if tested.get(n, 0.0) >= STRONG_EVIDENCE]
    reports = summary.degradations
    frame_wide = frame_wide_degradations(summary, config)
    acted_on = [n for n in DEGRADATIONS if (n not in config.ignore or n in frame_wide) and n not in confirmed]
    first: dict[str, float] = {}
    scene: dict[str, float] = {}
    if config.strategy == "spatial":
        scene = frame_wide
        for name in GLOBAL_CANDIDATES:
            if name in acted_on and reports[name].covers(config.global_area):
                first[name] = reports[name].mean_severity
    skipped = [n for n in DEGRADATIONS if n not in acted_on]
    before = [whole_frame_pass("before_regions", first, perceive_after=True)] if first else []
    after = []
    if scene:
        untested = {n: testing_tools(n) for n in scene
                    if n in config.try_everywhere and testing_tools(n) and not reports[n].present}
        after.append(whole_frame_pass("scene", scene, untested))
    tried = {n: TRY_EVERYWHERE_SEVERITY for n in config.try_everywhere
             if ROUTES[n].whole_frame == "first_when_most" and n not in first
             and (not reports[n].present or n in confirmed) and testing_tools(n)}
    if tried:
        after.append(whole_frame_pass("tried_everywhere", tried, {n: testing_tools(n) for n in tried}))
    return RoutingStep(strategy=config.strategy, before=before, exclude=list(first) + list(scene) + skipped,
                       whole_image=config.strategy == "global", min_area=config.min_region_area,
                       frame_wide=frame_wide, after=after, tested={n: round(float(v), 4) for n, v in tested.items()})
