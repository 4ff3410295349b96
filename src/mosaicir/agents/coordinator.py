"""The coordinator: perception, the split between global and regional work, region experts in
parallel, fusion and the final check; every decision goes into the trajectory.

Strategies (names used by the CLI and the benchmark):

* ``none``: the input unchanged.
* ``global``: the same agents and tools with one region, the whole image, holding every
  degradation the perception summary finds (the AgenticIR / MAIR / Q-Agent paradigm).
* ``spatial`` (default): JPEG and sensor noise that cover most of the frame are restored on the
  whole image first; the rest is split into regions of like degradation, each restored on its
  crop by its own expert, and the results are blended with feathered masks; haze found anywhere,
  and rain that covers nearly the whole frame, are restored on the whole image last (scene
  degradations come first in the physical order).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mosaicir import __version__
from mosaicir.agents.expert import ExpertResult, RegionExpert
from mosaicir.agents.memory import Memory
from mosaicir.agents.messages import RegionTask, restoration_sorted
from mosaicir.agents.planners import PLANNER_REGISTRY, Planner, make_planner
from mosaicir.agents.quality import QualityAgent
from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image
from mosaicir.core.names import DEGRADATIONS
from mosaicir.fusion import RegionResult, fuse
from mosaicir.perception import DegradationMaps, PerceptionSummary, perceive
from mosaicir.quality import artifact_penalty, artifacts, quality_score
from mosaicir.quality.sample import (
    MEASURE_PIXELS, WINDOW, artifacts_on_windows, remaining_on_windows, sample_windows,
)
from mosaicir.regions import Region, decompose
from mosaicir.tools import TOOL_REGISTRY
from mosaicir.trajectory import (
    FinalCheckStep, FusionStep, PerceptionStep, RegionInfo, RegionsStep, Trajectory, TrajectoryHeader, image_hash,
)

STRATEGIES: tuple[str, ...] = ("none", "global", "spatial")
#: Degradations not acted on by default: their detectors reach a validation F1 below 0.2
#: (docs/PERCEPTION.md), and acting on false alarms costs more than the misses (docs/BENCHMARKS.md).
UNRELIABLE: tuple[str, ...] = ("motion_blur", "rain", "low_light")
#: Scene degradations restored on the whole frame when perception finds them over nearly all of it;
#: rain and low light, ignored by default, are acted on only then, low light only on an
#: under-exposed frame (``UNDEREXPOSED_WHITE``).
FRAME_WIDE_CANDIDATES: tuple[str, ...] = ("haze", "rain", "low_light")
#: Of those, the ones restored on the whole frame wherever perception finds them, however little of
#: the frame it flags: the dehazer estimates the veil pixel by pixel and tests for haze itself
#: (``checks_presence``), so clear parts stay as they are, while the haze maps, weak region by
#: region, flag a few patches of a frame hazy all over (docs/BENCHMARKS.md).
FRAME_WIDE_WHEREVER_FOUND: tuple[str, ...] = ("haze",)
#: Low light found over the whole frame is restored only when the frame's white point (99th
#: percentile of the value, ``white_point`` in the perception estimates) is below this: naturally
#: dark photographs, which perception also reads as darkened all over, keep their lights and
#: highlights, while exposure cut down (scaled or shifted) leaves nothing near white (docs/BENCHMARKS.md).
#: 0.9 until the real sets: a dim rainy photograph of Rain100L (white point 0.75, its reference
#: 0.56) lost 4.7 dB to the stretch, and clean dim photographs reach 0.83-0.89 (docs/REAL.md).
UNDEREXPOSED_WHITE = 0.7
#: Default share of the frame above which they count as covering it (``RestoreConfig.frame_wide_area``).
FRAME_WIDE_AREA = 0.8
#: Regions smaller than this share of the frame are left as they are: on real photographs the
#: detectors' isolated flags (a soft background read as defocus or low resolution, 0.4-5% of the
#: frame) are false alarms, and sharpening them lowered 5 of the 49 PolyU development crops by
#: 0.1-0.5 dB (docs/REAL.md); the regions of the synthetic suites cover a tenth of the frame or more.
MIN_REGION_AREA = 0.06
#: Degradations the coordinator restores on the whole frame when they cover most of it.
GLOBAL_CANDIDATES: tuple[str, ...] = ("jpeg", "noise")
#: Degradations tried on the whole frame of every photograph (``RestoreConfig.try_everywhere``),
#: whatever perception says, with tools that keep a step only on their own evidence of it
#: (``Tool.evidence``): perception finds rain on 17 of the 60 Rain100L development photographs and
#: on 45 of 191 clean ones, while what the derainer removed tells streaks from texture
#: (docs/REAL.md). The value is the severity used when perception does not flag it.
TRY_EVERYWHERE_SEVERITY = 0.5
#: The only tools a pass tried on every photograph may use, per degradation: each tests what its
#: step removed (``Tool.evidence``). Camera noise too faint for perception (PolyU's, 2-6/255 after
#: the camera's demosaicing and JPEG) gets the network trained on the camera's noise, not the
#: Gaussian-trained one (docs/REAL.md).
TRY_EVERYWHERE_TOOLS: dict[str, tuple[str, ...]] = {
    "rain": ("derain_unet",),
    "noise": ("denoise_camera_unet",),
}


class RestoreConfig(BaseModel):
    """Everything that decides a run (saved with every result)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["none", "global", "spatial"] = "spatial"
    planner: str = "prior"
    perception: Literal["auto", "learned", "classical"] = "auto"
    seed: int = 0
    memory: bool = True
    memory_path: str | None = None
    workers: int = Field(2, ge=1, le=64)
    margin: int = Field(32, ge=0, le=256, description="pixels around a region's box given to its expert")
    budget: int = Field(12, ge=1, le=200, description="most tool calls per region")
    global_area: float = Field(0.6, ge=0.0, le=1.0, description="share of the frame above which JPEG/noise are restored globally")
    frame_wide_area: float = Field(
        FRAME_WIDE_AREA, ge=0.0, le=1.0,
        description="share of the frame flagged above which haze and rain are restored on the whole frame, "
                    "even when ignored (1 = never)")
    min_gain: float = Field(0.02, ge=0.0, description="least quality-score gain for a step to be kept")
    min_region_area: float = Field(
        MIN_REGION_AREA, ge=0.0, le=1.0,
        description="share of the frame below which a region is left as it is (spatial strategy)")
    measure_pixels: int = Field(
        MEASURE_PIXELS, ge=WINDOW * WINDOW,
        description="images and crops of more pixels than this are judged (quality agent, final check) on a "
                    "sample of full-resolution windows of half that many pixels in all, and a whole-frame pass "
                    "tried on every photograph first tests its tool on the frame's centre (docs/BIG.md)")
    llm_url: str | None = None
    llm_model: str | None = None
    ignore: list[str] = Field(default_factory=lambda: list(UNRELIABLE), description="degradations perceived but not acted on")
    try_everywhere: list[str] = Field(
        default_factory=lambda: ["rain", "noise"],
        description="degradations tried on the whole frame of every photograph, whatever perception says, "
                    "by tools that keep a step only on their own evidence of it")

    @field_validator("ignore", "try_everywhere")
    @classmethod
    def _known_degradations(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in DEGRADATIONS]
        if unknown:
            raise ValueError(f"unknown degradations {unknown}; known: {', '.join(DEGRADATIONS)}")
        return names


@dataclass
class RestoreResult:
    image: np.ndarray
    trajectory: Trajectory
    maps: DegradationMaps | None = None

    @property
    def tool_calls(self) -> int:
        return self.trajectory.tool_calls()


def perception_step(maps: DegradationMaps, image: np.ndarray, region: int | None = None) -> PerceptionStep:
    summary = maps.summary()
    return PerceptionStep(region=region, image=image_hash(image), method=maps.method, present=summary.present,
                          severity={n: summary.degradations[n].mean_severity for n in summary.present},
                          estimates=summary.estimates, seconds=round(maps.seconds, 4))


class Coordinator:
    """Runs one restoration (see the module docstring)."""

    def __init__(self, config: RestoreConfig | None = None, planner: Planner | None = None,
                 memory: Memory | None = None) -> None:
        self.config = config or RestoreConfig()
        if self.config.planner not in PLANNER_REGISTRY and planner is None:
            PLANNER_REGISTRY.get(self.config.planner)  # raises with a suggestion
        self._planner = planner
        self.quality = QualityAgent(self.config.perception, self.config.min_gain, self.config.measure_pixels)
        if memory is not None:
            self.memory = memory
        elif self.config.memory:
            self.memory = Memory(self.config.memory_path)
        else:
            self.memory = None

    def planner(self) -> Planner:
        if self._planner is not None:
            return self._planner
        if self.config.planner == "llm":
            return make_planner("llm", url=self.config.llm_url, model=self.config.llm_model)
        return make_planner(self.config.planner)

    def expert(self) -> RegionExpert:
        return RegionExpert(self.planner(), self.quality, self.memory, self.config.budget)

    def run(self, image: np.ndarray, *, jpeg_quantization: dict | None = None,
            regions: list[Region] | None = None) -> RestoreResult:
        """Restore ``image`` (``float32 H x W x 3`` in [0, 1]). ``regions`` overrides the
        decomposition (e.g. user masks)."""
        image = check_image(image)
        start = time.perf_counter()
        config = self.config
        trajectory = Trajectory(header=TrajectoryHeader(
            mosaicir=__version__, input=image_hash(image), shape=image.shape[:2], config=config.model_dump(mode="json")))
        maps = perceive(image, method=config.perception, jpeg_quantization=jpeg_quantization)
        trajectory.add(perception_step(maps, image))
        current = image
        if config.strategy == "none":
            return self._finish(trajectory, image, image, maps, start)
        global_signature: dict[str, float] = {}
        summary = maps.summary()
        frame_wide = frame_wide_degradations(summary, config)
        acted_on = [n for n in DEGRADATIONS if n not in config.ignore or n in frame_wide]
        scene_signature: dict[str, float] = {}
        if config.strategy == "spatial":
            scene_signature = frame_wide
            for name in GLOBAL_CANDIDATES:
                if name not in acted_on:
                    continue
                report = summary.degradations[name]
                if report.covers(config.global_area):
                    global_signature[name] = report.mean_severity
        perceived = image  # the image whose perception decides the regions
        if global_signature:
            current, maps = self._whole_frame(trajectory, current, global_signature, maps, perceive_after=True)
            perceived = current
        if regions is None:
            skipped = tuple(n for n in DEGRADATIONS if n not in acted_on)
            regions = decompose(maps, exclude=tuple(global_signature) + tuple(scene_signature) + skipped,
                                whole_image=config.strategy == "global", min_area=config.min_region_area)
            if config.strategy == "global" and frame_wide:
                regions = _with_frame_wide(regions, frame_wide, image.shape[:2])
            regions = [r for r in regions if r.area >= config.min_region_area]
        untouched = 1.0 - float(np.clip(sum((r.mask for r in regions), np.zeros(image.shape[:2], np.float32)), 0, 1).mean()) if regions else 1.0
        trajectory.add(RegionsStep(
            global_degradations={**global_signature, **scene_signature}, untouched_area=round(untouched, 4),
            perceived=image_hash(perceived),
            regions=[RegionInfo(id=r.id, bbox=r.bbox, area=round(r.area, 4), signature=r.signature) for r in regions]))
        if regions:
            current = self._restore_regions(trajectory, current, maps, regions, frame_wide=tuple(frame_wide))
        if scene_signature:
            # scene degradations come first in the physical order, so they are restored last
            untested = {n: testing_tools(n) for n in scene_signature
                        if n in config.try_everywhere and testing_tools(n) and not summary.degradations[n].present}
            current, _ = self._whole_frame(trajectory, current, scene_signature, maps, perceive_after=False, tools=untested)
        # imaging degradations tried everywhere that perception did not find: one whole-frame pass
        # at the end, with the tools that test for them (camera noise). At the end, not first: the
        # regions and the scene tests were set on photographs that still carry their noise (a
        # denoised beige close-up lifts its dark-channel floor into "haze", -19 dB; a denoised
        # frame reads as soft and its sharpening lowered PolyU pairs by 2-5 dB; docs/REAL.md)
        tried = {n: TRY_EVERYWHERE_SEVERITY for n in config.try_everywhere
                 if n in GLOBAL_CANDIDATES and n not in global_signature and not summary.degradations[n].present
                 and testing_tools(n)}
        if tried:
            current, _ = self._whole_frame(trajectory, current, tried, maps, perceive_after=False,
                                           tools={n: testing_tools(n) for n in tried})
        return self._finish(trajectory, image, current, maps, start)

    def _whole_frame(self, trajectory: Trajectory, image: np.ndarray, signature: dict[str, float],
                     maps: DegradationMaps, perceive_after: bool,
                     tools: dict[str, list[str]] | None = None) -> tuple[np.ndarray, DegradationMaps]:
        """One expert on the whole frame for ``signature`` (``tools``: the only tools allowed per
        degradation); returns the image and its perception (run again when asked and the image changed)."""
        task = RegionTask(region=None, box=(0, 0) + image.shape[:2], signature=signature, hints=_frame_hints(signature),
                          tools=tools or {})
        outcome = self.expert().run(task, image, None, report=_report(maps))
        for step in outcome.steps:
            trajectory.add(step)
        if not outcome.chain:
            return image, maps
        if perceive_after:
            maps = perceive(outcome.image, method=self.config.perception)
            trajectory.add(perception_step(maps, outcome.image))
        return outcome.image, maps

    def _restore_regions(self, trajectory: Trajectory, base: np.ndarray, maps: DegradationMaps,
                         regions: list[Region], frame_wide: tuple[str, ...] = ()) -> np.ndarray:
        """Region experts in parallel on their crops, feathered fusion and the final check."""
        config = self.config
        # one airlight for the whole scene: every hazy region's dehazer uses the same estimate
        hints = {"airlight": round(maps.estimates["airlight"], 4)} if "airlight" in maps.estimates else {}
        tasks = []
        for region in regions:
            box = region.crop_box(config.margin, base.shape[:2])
            whole = box == (0, 0) + base.shape[:2]
            task_hints = hints | (_frame_hints(n for n in frame_wide if n in region.signature) if whole else {})
            tasks.append((region, box, RegionTask(region=region.id, box=box, signature=region.signature, hints=task_hints)))

        def work(item) -> ExpertResult:
            region, (top, left, bottom, right), task = item
            crop = base[top:bottom, left:right]
            weight = region.mask[top:bottom, left:right]
            return self.expert().run(task, crop, weight, report=_report(maps))

        if config.workers > 1 and len(tasks) > 1:
            with ThreadPoolExecutor(max_workers=config.workers) as pool:
                outcomes = list(pool.map(work, tasks))
        else:
            outcomes = [work(t) for t in tasks]
        results, evidenced = [], set()
        for (region, box, _), outcome in zip(tasks, outcomes):
            for step in outcome.steps:
                trajectory.add(step)
            if outcome.chain:
                top, left, bottom, right = box
                results.append(RegionResult(region.id, box, outcome.image, region.mask[top:bottom, left:right]))
                if outcome.evidenced:
                    evidenced.add(region.id)
        fuse_start = time.perf_counter()
        fused = fuse(base, results)
        trajectory.add(FusionStep(method="feathered-mask", regions=[r.region for r in results], output=image_hash(fused),
                                  seconds=round(time.perf_counter() - fuse_start, 4)))
        return self._final_check(trajectory, base, fused, regions, results, maps, evidenced)

    def _final_check(self, trajectory: Trajectory, base: np.ndarray, fused: np.ndarray, regions: list[Region],
                     results: list[RegionResult], before: DegradationMaps, evidenced: set[int] = frozenset()) -> np.ndarray:
        """Put back, region by region, any restoration the quality agent scores below its input
        (``before``: perception of ``base``, already run). A region one of whose steps was
        accepted on its tool's own evidence (``evidenced``) is kept: that evidence outweighs the
        no-reference score, which reads a brightened or dehazed frame as worse."""
        if not results:
            return fused
        start = time.perf_counter()
        by_id = {r.id: r for r in regions}
        if base.shape[0] * base.shape[1] > self.config.measure_pixels:
            remaining, measured = self._remaining_on_windows(base, fused, results)
        else:
            after = perceive(fused, method=self.config.perception, estimates=False)
            # one full-resolution map at a time, summed under every region's mask (all sixteen at
            # once take 1.5 GB on a 24 MP frame)
            remaining = {r.region: ({}, {}) for r in results}
            totals = {r.region: max(float(by_id[r.region].mask.sum()), 1e-6) for r in results}
            for side, maps in enumerate((before, after)):
                for name in maps.names:
                    expected = maps.upsample(name, which="expected")
                    for result in results:
                        mask = by_id[result.region].mask
                        remaining[result.region][side][name] = float((expected * mask).sum()) / totals[result.region]
                    del expected
            measured = {}
        kept, reverted = [], []
        for result in results:
            remaining_before, remaining_after = remaining[result.region]
            top, left, bottom, right = result.box
            measures = measured.get(result.region)
            if measures is None:
                measures = artifacts(base[top:bottom, left:right], fused[top:bottom, left:right], result.mask)
            penalty = artifact_penalty(measures, list(by_id[result.region].signature))
            if result.region not in evidenced and quality_score(remaining_after, penalty) < quality_score(remaining_before):
                reverted.append(result.region)
            else:
                kept.append(result.region)
        final = fuse(base, [r for r in results if r.region in kept]) if reverted else fused
        trajectory.add(FinalCheckStep(kept=kept, reverted=reverted, output=image_hash(final),
                                      seconds=round(time.perf_counter() - start, 4)))
        return final

    def _remaining_on_windows(self, base: np.ndarray, fused: np.ndarray, results: list[RegionResult],
                              ) -> tuple[dict[int, tuple[dict[str, float], dict[str, float]]], dict[int, dict[str, float]]]:
        """The final check's measures on a frame larger than ``measure_pixels``: per region, the
        degradation remaining before and after and the artifacts, on a sample of windows of the
        region's box (the same for ``base`` and ``fused``; the whole box when it is small enough)."""
        remaining, measured = {}, {}
        for result in results:
            top, left, bottom, right = result.box
            before_crop, after_crop = base[top:bottom, left:right], fused[top:bottom, left:right]
            boxes = sample_windows(before_crop.shape[:2], result.mask, self.config.measure_pixels) or [
                (0, 0, bottom - top, right - left)]
            method = self.config.perception
            remaining[result.region] = (remaining_on_windows(before_crop, result.mask, boxes, method),
                                        remaining_on_windows(after_crop, result.mask, boxes, method))
            measured[result.region] = artifacts_on_windows(before_crop, after_crop, result.mask, boxes)
        return remaining, measured

    def _finish(self, trajectory: Trajectory, image: np.ndarray, result: np.ndarray, maps, start: float) -> RestoreResult:
        trajectory.header.output = image_hash(result)
        trajectory.header.seconds = round(time.perf_counter() - start, 4)
        return RestoreResult(image=result, trajectory=trajectory, maps=maps)


def frame_wide_degradations(summary: PerceptionSummary, config: RestoreConfig) -> dict[str, float]:
    """``{degradation: mean severity}`` of the scene degradations the summary finds over at least
    ``config.frame_wide_area`` of the frame, or anywhere for ``FRAME_WIDE_WHEREVER_FOUND`` (haze),
    restored on the whole frame after the regions (one veil, one rain layer). Ignored ones among
    them are acted on only then: the rain detector, unreliable region by region, is right on most
    images where it finds rain nearly everywhere (docs/BENCHMARKS.md)."""
    share = config.frame_wide_area
    if share >= 1.0:
        return {}
    reports = summary.degradations
    short = summary.estimates.get("short_exposure", 0.0) > 0
    dark = reports["low_light"].covers(share) or short
    underexposed = short or (dark and summary.estimates.get("white_point", 1.0) < UNDEREXPOSED_WHITE)
    wide = {}
    for name in FRAME_WIDE_CANDIDATES:
        anywhere = name in FRAME_WIDE_WHEREVER_FOUND and reports[name].present and name not in config.ignore
        if name == "low_light" and short:
            wide[name] = max(reports[name].mean_severity, 0.5)
            continue
        if not (anywhere or reports[name].covers(share)) or (name == "low_light" and not underexposed):
            continue
        # the derainer, trained on well-exposed photographs, takes more than the streaks from a
        # frame that is dark all over and stays so (docs/BENCHMARKS.md); an under-exposed frame is
        # brightened first (low light comes after rain in the physical order, so before it here)
        if name == "rain" and dark and not underexposed:
            continue
        wide[name] = reports[name].mean_severity
    for name in config.try_everywhere:  # scene degradations here; imaging ones get a pass before the regions
        if name in wide or name not in FRAME_WIDE_CANDIDATES or (name == "rain" and dark and not underexposed):
            continue
        wide[name] = reports[name].mean_severity if reports[name].present else TRY_EVERYWHERE_SEVERITY
    return {n: wide[n] for n in DEGRADATIONS if n in wide}


def testing_tools(degradation: str) -> list[str]:
    """The registered tools a pass tried on every photograph may use for ``degradation``
    (``TRY_EVERYWHERE_TOOLS``; empty when none is, and then the pass is not made)."""
    return [t for t in TRY_EVERYWHERE_TOOLS.get(degradation, ()) if t in TOOL_REGISTRY]


def _with_frame_wide(regions: list[Region], frame_wide: dict[str, float], shape: tuple[int, int]) -> list[Region]:
    """The ``global`` strategy's one region with the frame-wide degradations added to its signature
    (a whole-frame region is made when perception found nothing else)."""
    if not regions:
        return [Region(0, np.ones(shape, np.float32), (0, 0) + tuple(shape), dict(frame_wide))]
    whole = regions[0]
    return [Region(whole.id, whole.mask, whole.bbox, {**frame_wide, **whole.signature})]


def _frame_hints(names: Iterable[str]) -> dict[str, float]:
    """Parameters fixed for a pass over the whole frame restoring ``names``: the adaptive gamma
    only brings the frame's white point back to white (``gamma`` 1), which undoes an exposure
    scaled down exactly; the severity's gamma on top, or a curve chosen from the median,
    over-brightens (a dark photograph lost up to 10 dB to the median curve; docs/BENCHMARKS.md)."""
    return {"gamma": 1.0} if "low_light" in set(names) else {}


def _report(maps: DegradationMaps) -> str:
    summary = maps.summary()
    if not summary.present:
        return "no degradation found"
    parts = []
    for name in restoration_sorted(summary.present):
        report = summary.degradations[name]
        where = f"{100 * report.area:.0f}% of the image" if report.basis == "cells" else "weak, over the whole image"
        parts.append(f"{name}: {where}, severity {report.mean_severity:.2f}")
    return "; ".join(parts)


def restore(image: np.ndarray, config: RestoreConfig | None = None, **kwargs) -> RestoreResult:
    """Restore an image with the agents (see :class:`RestoreConfig`)."""
    if config is None:
        try:
            config = RestoreConfig(**kwargs)
        except ValueError as exc:
            raise InvalidInputError(f"invalid restore options: {str(exc).splitlines()[0]}") from None
    return Coordinator(config).run(image)
