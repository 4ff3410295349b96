"""The coordinator: perception, the split between global and regional work, region experts in
parallel, fusion and the final check; every decision goes into the trajectory.

Strategies (names used by the CLI and the benchmark):

* ``none``: the input unchanged.
* ``global``: the same agents and tools with one region, the whole image, holding every
  degradation the perception summary finds (the AgenticIR / MAIR / Q-Agent paradigm), but faint
  noise that the camera denoiser's test confirms, which goes to the pass tried on every photograph.
* ``spatial`` (default): JPEG and sensor noise that cover most of the frame are restored on the
  whole image first; the rest is split into regions of like degradation, each restored on its
  crop by its own expert, and the results are blended with feathered masks; haze found anywhere,
  and rain that covers nearly the whole frame, are restored on the whole image last (scene
  degradations come first in the physical order).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mosaicir import __version__
from mosaicir.agents.expert import ExpertResult, RegionExpert, StepObserver
from mosaicir.agents.memory import Memory
from mosaicir.agents.messages import RegionTask, restoration_sorted
from mosaicir.agents.planners import PLANNER_REGISTRY, Planner, first_guess, make_planner
from mosaicir.agents.quality import QualityAgent
from mosaicir.agents.routing import (
    TRY_EVERYWHERE_SEVERITY, UNRELIABLE, degradations_to_test, frame_params, route, testing_tools,
)
from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image
from mosaicir.core.names import DEGRADATIONS
from mosaicir.fusion import RegionResult, fuse
from mosaicir.perception import DegradationMaps, PerceptionSummary, perceive
from mosaicir.quality.judge import StepJudge
from mosaicir.quality.sample import MEASURE_PIXELS, WINDOW, central_box
from mosaicir.regions import Region, decompose
from mosaicir.tools import get_tool
from mosaicir.trajectory import (
    FinalCheckStep, FusionStep, PerceptionStep, RegionInfo, RegionsStep, Trajectory, TrajectoryHeader, WholeFramePass,
    image_hash,
)

STRATEGIES: tuple[str, ...] = ("none", "global", "spatial")
#: ``progress(stage, done)``: what a run is doing and how far it is, ``done`` in [0, 1].
Progress = Callable[[str, float], None]
#: Where each stage starts on the progress scale (rough shares of a run's time).
PROGRESS = {"before": 0.1, "regions": 0.25, "fusion": 0.8, "after": 0.85}
#: Default share of the frame above which scene degradations count as covering it
#: (``RestoreConfig.frame_wide_area``).
FRAME_WIDE_AREA = 0.8
#: Regions smaller than this share of the frame are left as they are: on real photographs the
#: detectors' isolated flags (a soft background read as defocus or low resolution, 0.4-5% of the
#: frame) are false alarms, and sharpening them lowered 5 of the 49 PolyU development crops by
#: 0.1-0.5 dB (docs/REAL.md); the regions of the synthetic suites cover a tenth of the frame or more.
MIN_REGION_AREA = 0.06
#: Degradations tried on the whole frame of every photograph by default
#: (``RestoreConfig.try_everywhere``), whatever perception says, with the tools that keep a step only
#: on their own evidence of it (``Tool.tried_everywhere``): perception finds rain on 17 of the 60
#: Rain100L development photographs and on 45 of 191 clean ones, while what the derainer removed
#: tells streaks from texture; camera noise is too faint for perception (docs/REAL.md).
TRY_EVERYWHERE: tuple[str, ...] = ("rain", "noise")


class RestoreConfig(BaseModel):
    """Everything that decides a run (saved with every result)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["none", "global", "spatial"] = "spatial"
    planner: str = "prior"
    perception: Literal["auto", "learned", "classical"] = "auto"
    memory: bool = True
    memory_path: str | None = None
    workers: int = Field(2, ge=1, le=64)
    margin: int = Field(32, ge=0, le=256, description="pixels around a region's box given to its expert")
    budget: int = Field(12, ge=1, le=200, description="most tool calls per region")
    global_area: float = Field(0.6, ge=0.0, le=1.0, description="share of the frame above which JPEG/noise are restored globally")
    frame_wide_area: float = Field(
        FRAME_WIDE_AREA, ge=0.0, le=1.0,
        description="share of the frame flagged above which the scene degradations (rain; low light on an "
                    "under-exposed frame) are restored on the whole frame after the regions, even when ignored; haze is "
                    "restored so wherever found (1 = none of them)")
    min_gain: float = Field(0.02, ge=0.0, description="least quality-score gain for a step to be kept")
    step_judge: bool = Field(
        False, description="decide the steps of tools without a test of their own (deblurring, super-resolution) by "
                           "the learned step judge's expected change of PSNR instead of the no-reference score")
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
        default_factory=lambda: list(TRY_EVERYWHERE),
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
    """Runs one restoration (see the module docstring).

    ``step_observer`` is called with every step any region expert attempts
    (:class:`mosaicir.agents.expert.ObservedStep`), as it happens; the restoration is the same.
    """

    def __init__(self, config: RestoreConfig | None = None, planner: Planner | None = None,
                 memory: Memory | None = None, step_observer: StepObserver | None = None) -> None:
        self.config = config or RestoreConfig()
        self.step_observer = step_observer
        if self.config.planner not in PLANNER_REGISTRY and planner is None:
            PLANNER_REGISTRY.get(self.config.planner)  # raises with a suggestion
        self._planner = planner
        judge = StepJudge() if self.config.step_judge else None
        if judge is not None:
            judge.check()
        self.quality = QualityAgent(self.config.perception, self.config.min_gain, self.config.measure_pixels,
                                    step_judge=judge, judge_threshold=judge.threshold() if judge is not None else 0.0)
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
        return RegionExpert(self.planner(), self.quality, self.memory, self.config.budget, self.step_observer)

    def run(self, image: np.ndarray, *, jpeg_quantization: dict | None = None,
            regions: list[Region] | None = None, progress: Progress | None = None) -> RestoreResult:
        """Restore ``image`` (``float32 H x W x 3`` in [0, 1]). ``regions`` overrides the
        decomposition (e.g. user masks). ``progress(stage, done)`` is told what the run is doing and
        how far it is (``done`` in [0, 1], non-decreasing; 1 at the end); it may be called from the
        region experts' threads."""
        report = progress or (lambda stage, done: None)
        report("perception", 0.0)
        image = check_image(image)
        start = time.perf_counter()
        config = self.config
        trajectory = Trajectory(header=TrajectoryHeader(
            mosaicir=__version__, input=image_hash(image), shape=image.shape[:2], config=config.model_dump(mode="json")))
        maps = perceive(image, method=config.perception, jpeg_quantization=jpeg_quantization)
        trajectory.add(perception_step(maps, image))
        current = image
        if config.strategy == "none":
            report("done", 1.0)
            return self._finish(trajectory, image, image, maps, start)
        summary = maps.summary()
        test_start = time.perf_counter()
        routing = route(summary, config, self._test_before_routing(summary, image))
        routing.seconds = round(time.perf_counter() - test_start, 4)
        trajectory.add(routing)
        perceived = image  # the image whose perception decides the regions
        for plan in routing.before:
            report("whole frame, before the regions", PROGRESS["before"])
            current, maps = self._whole_frame(trajectory, current, plan, maps)
            perceived = current
        if regions is None:
            regions = decompose(maps, exclude=tuple(routing.exclude), whole_image=routing.whole_image,
                                min_area=routing.min_area)
            if routing.whole_image and routing.frame_wide:
                regions = _with_frame_wide(regions, routing.frame_wide, image.shape[:2])
            regions = [r for r in regions if r.area >= routing.min_area]
        untouched = 1.0 - float(np.clip(sum((r.mask for r in regions), np.zeros(image.shape[:2], np.float32)), 0, 1).mean()) if regions else 1.0
        first = {n: v for plan in routing.before for n, v in plan.signature.items()}
        scene = {n: v for plan in routing.after if plan.stage == "scene" for n, v in plan.signature.items()}
        trajectory.add(RegionsStep(
            global_degradations={**first, **scene}, untouched_area=round(untouched, 4),
            perceived=image_hash(perceived),
            regions=[RegionInfo(id=r.id, bbox=r.bbox, area=round(r.area, 4), signature=r.signature) for r in regions]))
        if regions:
            current = self._restore_regions(trajectory, current, maps, regions, frame_wide=tuple(routing.frame_wide),
                                            progress=report)
        for index, plan in enumerate(routing.after):
            report("whole frame, after the regions",
                   PROGRESS["after"] + (1.0 - PROGRESS["after"]) * index / len(routing.after))
            current, _ = self._whole_frame(trajectory, current, plan, maps)
        report("done", 1.0)
        return self._finish(trajectory, image, current, maps, start)

    def _test_before_routing(self, summary: PerceptionSummary, image: np.ndarray) -> dict[str, float]:
        """``{degradation: evidence in [0, 1]}`` for the faint degradations found that their testing
        tools check before routing (:func:`~mosaicir.agents.routing.degradations_to_test`) on
        ``image`` (``float32 H x W x 3`` in [0, 1]): each tool is run on the whole frame, or on its
        centre (``central_box``) when the frame has more than ``measure_pixels`` pixels, with the
        parameters of the pass tried on every photograph, and gives its own evidence
        (``Tool.evidence``; 0 when it changes nothing, has no opinion or fails); the strongest is kept."""
        tested: dict[str, float] = {}
        box = central_box(image.shape[:2], self.config.measure_pixels) or (0, 0) + image.shape[:2]
        top, left, bottom, right = box
        centre = image[top:bottom, left:right]
        for name in degradations_to_test(summary, self.config):
            best = 0.0
            for tool_name in testing_tools(name):
                tool = get_tool(tool_name)
                candidate = first_guess(name, tool_name, TRY_EVERYWHERE_SEVERITY, frame_params([name]))
                try:
                    out = tool.apply(centre, candidate.params)
                    evidence = None if np.array_equal(out, centre) else tool.evidence(centre, out)
                except Exception:  # a failed test confirms nothing
                    evidence = None
                best = max(best, float(evidence or 0.0))
            tested[name] = best
        return tested

    def _whole_frame(self, trajectory: Trajectory, image: np.ndarray, plan: WholeFramePass,
                     maps: DegradationMaps) -> tuple[np.ndarray, DegradationMaps]:
        """One expert on the whole frame for ``plan`` (its signature, the only tools allowed per
        degradation, fixed parameters); returns the image and its perception (run again when the
        plan asks and the image changed)."""
        task = RegionTask(region=None, box=(0, 0) + image.shape[:2], signature=plan.signature, hints=plan.hints,
                          tools=plan.tools)
        outcome = self.expert().run(task, image, None, report=_report(maps))
        for step in outcome.steps:
            trajectory.add(step)
        if not outcome.chain:
            return image, maps
        if plan.perceive_after:
            maps = perceive(outcome.image, method=self.config.perception)
            trajectory.add(perception_step(maps, outcome.image))
        return outcome.image, maps

    def _restore_regions(self, trajectory: Trajectory, base: np.ndarray, maps: DegradationMaps,
                         regions: list[Region], frame_wide: tuple[str, ...] = (),
                         progress: Progress | None = None) -> np.ndarray:
        """Region experts in parallel on their crops, feathered fusion and the final check."""
        report = progress or (lambda stage, done: None)
        finished = []
        lock = threading.Lock()
        config = self.config
        # one airlight for the whole scene: every hazy region's dehazer uses the same estimate
        hints = {"airlight": round(maps.estimates["airlight"], 4)} if "airlight" in maps.estimates else {}
        tasks = []
        for region in regions:
            box = region.crop_box(config.margin, base.shape[:2])
            whole = box == (0, 0) + base.shape[:2]
            task_hints = hints | (frame_params(n for n in frame_wide if n in region.signature) if whole else {})
            tasks.append((region, box, RegionTask(region=region.id, box=box, signature=region.signature, hints=task_hints)))

        def work(item) -> ExpertResult:
            region, (top, left, bottom, right), task = item
            crop = base[top:bottom, left:right]
            weight = region.mask[top:bottom, left:right]
            outcome = self.expert().run(task, crop, weight, report=_report(maps))
            with lock:
                finished.append(region.id)
                report(f"regions ({len(finished)} of {len(tasks)} done)",
                       PROGRESS["regions"] + (PROGRESS["fusion"] - PROGRESS["regions"]) * len(finished) / len(tasks))
            return outcome

        report(f"regions (0 of {len(tasks)} done)", PROGRESS["regions"])
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
        report("fusion and final check", PROGRESS["fusion"])
        fuse_start = time.perf_counter()
        fused = fuse(base, results)
        trajectory.add(FusionStep(method="feathered-mask", regions=[r.region for r in results], output=image_hash(fused),
                                  seconds=round(time.perf_counter() - fuse_start, 4)))
        return self._final_check(trajectory, base, fused, regions, results, maps, evidenced)

    def _final_check(self, trajectory: Trajectory, base: np.ndarray, fused: np.ndarray, regions: list[Region],
                     results: list[RegionResult], before: DegradationMaps, evidenced: set[int] = frozenset()) -> np.ndarray:
        """Put back, region by region, any restoration the quality agent scores below its input
        (:meth:`QualityAgent.region_scores`; ``before``: perception of ``base``, already run). A
        region one of whose steps was accepted on its tool's own evidence (``evidenced``) is kept:
        that evidence outweighs the no-reference score, which reads a brightened or dehazed frame
        as worse."""
        if not results:
            return fused
        start = time.perf_counter()
        scores = self.quality.region_scores(base, fused, [(r.region, r.box, r.mask) for r in results],
                                            {r.id: r for r in regions}, before)
        kept, reverted = [], []
        for result in results:
            score_before, score_after = scores[result.region]
            if result.region not in evidenced and score_after < score_before:
                reverted.append(result.region)
            else:
                kept.append(result.region)
        final = fuse(base, [r for r in results if r.region in kept]) if reverted else fused
        trajectory.add(FinalCheckStep(kept=kept, reverted=reverted, output=image_hash(final),
                                      seconds=round(time.perf_counter() - start, 4)))
        return final

    def _finish(self, trajectory: Trajectory, image: np.ndarray, result: np.ndarray, maps, start: float) -> RestoreResult:
        trajectory.header.output = image_hash(result)
        trajectory.header.seconds = round(time.perf_counter() - start, 4)
        return RestoreResult(image=result, trajectory=trajectory, maps=maps)


def _with_frame_wide(regions: list[Region], frame_wide: dict[str, float], shape: tuple[int, int]) -> list[Region]:
    """The ``global`` strategy's one region with the frame-wide degradations added to its signature
    (a whole-frame region is made when perception found nothing else)."""
    if not regions:
        return [Region(0, np.ones(shape, np.float32), (0, 0) + tuple(shape), dict(frame_wide))]
    whole = regions[0]
    return [Region(whole.id, whole.mask, whole.bbox, {**frame_wide, **whole.signature})]


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
