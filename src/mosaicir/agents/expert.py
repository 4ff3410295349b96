"""The region expert: plans and runs a tool chain on its region's crop, step by step, each step
judged by the quality agent (accepted, replaced by an alternative, or rolled back)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mosaicir.agents.memory import Memory
from mosaicir.agents.messages import RESTORATION_ORDER, Candidate, QualityVerdict, RegionTask, restoration_sorted
from mosaicir.agents.planners import Planner, PlanState, Rollback
from mosaicir.agents.quality import STRONG_EVIDENCE, QualityAgent
from mosaicir.agents.routing import ROUTES, testing_tools
from mosaicir.degrade import get_degradation
from mosaicir.quality.sample import central_box
from mosaicir.trajectory import DecisionStep, PlanStep, QualityStep, ToolCallStep, image_hash
from mosaicir.tools import get_tool


@dataclass
class ExpertResult:
    image: np.ndarray  # restored crop
    steps: list = field(default_factory=list)
    chain: list[Candidate] = field(default_factory=list)  # accepted steps, in order
    score_before: float = 0.0
    score_after: float = 0.0
    tool_calls: int = 0
    #: accepted steps decided by their tool's own evidence (``Tool.evidence``), not by the score
    evidenced: list[str] = field(default_factory=list)


@dataclass
class Attempt:
    """What one candidate did.

    ``outcome``: ``applied`` (the tool changed the image; ``verdict`` judges it), ``unchanged``
    (the tool returned its input: its own presence test found none, or there was nothing to do),
    ``vetoed`` (its own test on a preview box rejected the step; not run on the whole image) or
    ``failed`` (it raised; ``verdict`` is None). ``image``: the output, ``current`` itself unless
    applied."""

    outcome: Literal["applied", "unchanged", "vetoed", "failed"]
    image: np.ndarray
    verdict: QualityVerdict | None
    call: int


@dataclass
class ObservedStep:
    """One attempt as a :data:`StepObserver` sees it: the task (its ``box`` places ``before`` in
    the frame), the candidate, the crop before the step ``H x W x 3`` in [0, 1], the region's
    weight (``H x W`` or None) and the :class:`Attempt` (``attempt.image`` is the crop after)."""

    task: RegionTask
    candidate: Candidate
    before: np.ndarray
    weight: np.ndarray | None
    attempt: Attempt


#: Called after every attempt of every region expert (``Coordinator(step_observer=...)``): how the
#: step judge's training data is recorded (``train/judge.py collect``). It must not modify the arrays,
#: and with ``RestoreConfig.workers`` above 1 it is called from several threads at once.
StepObserver = Callable[[ObservedStep], None]


class _Unmasker:
    """Removes the degradations of a pass that mask the quality score (``Route.masks_score``:
    rain) from both sides of an earlier step, so that the step is scored on what the pass will
    leave. Only where the masking degradation's testing tool finds it on the step's input (its own
    evidence at least ``STRONG_EVIDENCE``). The tool's outputs on the last two images it saw (a
    step's input and output) are kept, and the pass's own step for the masking degradation takes
    them from here (:meth:`reuse`) instead of running the tool again on the same image."""

    def __init__(self, signature: dict[str, float], state: PlanState) -> None:
        self.masking = [n for n in signature if ROUTES[n].masks_score and testing_tools(n)]
        self.state = state
        self._outputs: list[tuple[np.ndarray, str, np.ndarray]] = []  # (image, tool, its output), the last two
        self._found: tuple[np.ndarray, str, bool] | None = None  # (input, tool, whether its evidence holds)

    def _kept(self, tool, image: np.ndarray) -> np.ndarray | None:
        return next((output for seen, name, output in self._outputs if seen is image and name == tool.name), None)

    def _run(self, tool, image: np.ndarray) -> np.ndarray:
        output = self._kept(tool, image)
        if output is None:
            output = tool.apply(image)
            self._outputs = [*self._outputs[-1:], (image, tool.name, output)]
        return output

    def reuse(self, tool, image: np.ndarray, params: dict) -> np.ndarray | None:
        """The output of ``tool`` on ``image`` computed here with the same (default) parameters, or None."""
        if tool.parse_params(params) != tool.parse_params(None):
            return None
        found = self._kept(tool, image)
        if found is not None:  # the pass's own step was the last use: the frames kept here are let go
            self._outputs = []
        return found

    def __call__(self, candidate: Candidate, before: np.ndarray, after: np.ndarray):
        rank = RESTORATION_ORDER.index(candidate.degradation)
        later = [n for n in self.masking if n in self.state.remaining and RESTORATION_ORDER.index(n) > rank]
        for name in later:
            tool = get_tool(testing_tools(name)[0])
            try:
                cleared = self._run(tool, before)
                if self._found is None or self._found[0] is not before or self._found[1] != tool.name:
                    evidence = tool.evidence(before, cleared)
                    self._found = (before, tool.name, evidence is not None and evidence >= STRONG_EVIDENCE)
                if not self._found[2]:
                    continue
                return cleared, self._run(tool, after), tool.name
            except Exception:  # the step is then scored as it is
                return None
        return None


#: A degradation still to be restored is dropped from the plan when perception, re-run after an
#: accepted step for a degradation of the same physical stage, sees less than this share of what it
#: saw before the first step: the step restored it too (super-resolution also removes the blur that
#: perception read as defocus). Only within a stage: sharpening lowers the haze reading too, but a
#: deblurring step cannot lift a scene's veil.
RESOLVED_SHARE = 0.5


class RegionExpert:
    """Restores one region.

    Args:
        planner: proposes candidates.
        quality: judges each step.
        memory: remembered plans (None: no memory).
        budget: most tool calls for the region.
        observer: called with every attempt (:data:`StepObserver`; None: no one watches).
    """

    def __init__(self, planner: Planner, quality: QualityAgent, memory: Memory | None = None, budget: int = 12,
                 observer: StepObserver | None = None) -> None:
        self.planner = planner
        self.quality = quality
        self.memory = memory
        self.budget = budget
        self.observer = observer

    def run(self, task: RegionTask, crop: np.ndarray, weight: np.ndarray | None, report: str = "") -> ExpertResult:
        region = task.region
        signature = {k: task.signature[k] for k in restoration_sorted(task.signature)}
        remembered = self.memory.lookup(signature) if self.memory is not None else []
        state = PlanState(signature=signature, remaining=list(signature), budget_left=self.budget, remembered=remembered,
                          hints=dict(task.hints), tools={k: list(v) for k, v in task.tools.items()})
        note = self.planner.start(signature, report)
        if remembered:
            note = (note + "; " if note else "") + "memory: " + ", ".join(c.tool for c in remembered)
        result = ExpertResult(image=crop)
        result.steps.append(PlanStep(region=region, planner=self.planner.name, degradations=list(signature),
                                     chain=[(c.tool, c.params) for c in remembered], note=note))
        start = time.perf_counter()
        # the crop's score, measured when a step first needs it: a pass whose candidates all leave
        # the image unchanged or fail their own test on a sample needs none (a 24 MP frame's score
        # takes seconds)
        initial: list[tuple[float, dict[str, float]]] = []

        def score() -> float:
            if known is not None:
                return known
            if not initial:
                initial.append(self.quality.score(crop, weight))
            return initial[0][0]

        known: float | None = None  # the score of ``current`` once a step was accepted
        unmask: _Unmasker | None = _Unmasker(signature, state)
        if not unmask.masking:  # nothing in this pass hides an earlier step from the score
            unmask = None
        current = crop
        while state.remaining and state.budget_left > 0:
            candidates = self.planner.propose(state)
            if not candidates:
                break
            head = candidates[0].degradation
            candidates = [c for c in candidates if c.tool in state.tools.get(c.degradation, (c.tool,))]
            if not candidates:  # the planner proposed only tools this task does not allow
                result.steps.append(DecisionStep(region=region, tool="-", decision="skip",
                                                 reason=f"no allowed tool for {head} ({', '.join(state.tools[head])})"))
                self.planner.give_up(state, head)
                continue
            selection = self.planner.round_selection(state)  # the planner's rule for this round's candidates
            absent: dict[str, str] = {}  # degradation -> the tool whose own test found none of it
            for candidate in candidates:
                if state.budget_left <= 0:
                    break
                if candidate.degradation in absent:
                    continue
                preview = None
                if task.region is None and candidate.degradation in state.tools:
                    preview = central_box(current.shape[:2], self.quality.measure_pixels)
                attempt = self._try(candidate, current, weight, score, result, preview, selection.compares_scores, unmask)
                if self.observer is not None:
                    self.observer(ObservedStep(task, candidate, current, weight, attempt))
                state.spend()
                if attempt.outcome == "failed":
                    state.reject(candidate)
                    continue
                if attempt.outcome != "applied" and get_tool(candidate.tool).checks_presence:  # its own test found none
                    absent[candidate.degradation] = candidate.tool
                    stop = selection.absent(candidate, attempt.verdict, attempt.call)
                elif attempt.verdict.evidence is not None and attempt.verdict.evidence < STRONG_EVIDENCE:
                    # the tool's own test says what it removed is not its degradation (texture taken
                    # for noise, architecture for rain): no other tool is tried for it either
                    absent[candidate.degradation] = candidate.tool
                    stop = selection.vetoed(candidate, attempt.verdict, attempt.call)
                else:
                    stop = selection.judged(candidate, attempt.image, attempt.verdict, attempt.call)
                del attempt
                self._roll_back(selection.take_rollbacks(), state, result)
                if stop:
                    break
            accepted = selection.close()
            self._roll_back(selection.take_rollbacks(), state, result)
            for name, tool in absent.items():  # the tool's own test is the better judge of presence
                if name in state.remaining and (accepted is None or accepted[0].degradation != name):
                    state.done(name)
                    result.steps.append(DecisionStep(region=region, tool="-", decision="skip",
                                                     reason=f"{tool} finds no {name} here: no other tool tried"))
            if accepted is None:
                if head in absent:
                    continue
                result.steps.append(DecisionStep(region=region, tool="-", decision="skip",
                                                 reason=f"no candidate improved {head}"))
                self.planner.give_up(state, head)
                continue
            candidate, current, verdict, call = accepted
            known, seen_now = verdict.score_after, verdict.remaining
            if verdict.unmasked_by is not None:  # what was read on the unmasked frame is not ``current``'s
                known, seen_now = self.quality.score(current, weight)
            seen_before = initial[0][1]  # measured: an accepted step was judged against it
            result.chain.append(candidate)
            if verdict.evidence is not None:
                result.evidenced.append(candidate.tool)
            state.accept(candidate.degradation)
            result.steps.append(DecisionStep(region=region, call=call, tool=candidate.tool, decision="accept",
                                             reason=verdict.reason))
            stage = get_degradation(candidate.degradation).stage
            for name in list(state.remaining):
                before, now = seen_before.get(name, 0.0), seen_now.get(name, 0.0)
                if get_degradation(name).stage == stage and before > 0 and now < RESOLVED_SHARE * before:
                    state.done(name)
                    result.steps.append(DecisionStep(region=region, tool="-", decision="skip",
                                                     reason=f"{name} restored by {candidate.tool} too: perceived "
                                                            f"{before:.3f} before, {now:.3f} now"))
        result.image = current
        if initial:
            result.score_before = initial[0][0]
            result.score_after = known if known is not None else initial[0][0]
        if self.memory is not None and result.chain:
            self.memory.record(signature, result.chain, result.score_after - result.score_before)
        result.steps[0].seconds = round(time.perf_counter() - start, 4)
        return result

    @staticmethod
    def _roll_back(rollbacks: list[Rollback], state: PlanState, result: ExpertResult) -> None:
        """Reject the candidates and record their rollbacks, in the order given."""
        for rollback in rollbacks:
            state.reject(rollback.candidate)
            result.steps.append(DecisionStep(region=result.steps[0].region, call=rollback.call,
                                             tool=rollback.candidate.tool, decision="rollback", reason=rollback.reason))

    def _try(self, candidate: Candidate, current: np.ndarray, weight: np.ndarray | None, score: Callable[[], float],
             result: ExpertResult, preview: tuple[int, int, int, int] | None = None,
             scored_unchanged: bool = False, unmask: _Unmasker | None = None) -> Attempt:
        """Run one candidate and judge it (:class:`Attempt`). A tool that leaves the image
        unchanged gets a rollback verdict without a quality run. ``score()`` is the quality score of
        ``current`` (measured on first call); a rollback decided without the quality agent
        carries it only where candidates are compared by score (``scored_unchanged``,
        ``Selection.compares_scores``), NaN otherwise.

        ``preview``: a box of ``current`` on which the tool's own test (``Tool.evidence``) is made
        first: a test that rejects the step there rolls it back without running the tool on the
        whole of ``current``, and one that accepts it decides for the whole. The coordinator's
        whole-frame passes tried on every photograph (``RegionTask.tools``) use it on frames
        larger than the quality agent's ``measure_pixels``: on a 24 MP photograph without rain
        the derainer then runs on its 2 MP centre, not on 24 MP (docs/BIG.md).

        ``unmask``: a step scored by the quality agent (no evidence of its own) whose pass restores
        a degradation that masks the score later (rain after the stretch of a darkened frame) is
        scored on both sides with it removed, where ``unmask`` finds it (:class:`_Unmasker`)."""
        call = result.tool_calls
        result.tool_calls += 1
        tool = get_tool(candidate.tool)
        start = time.perf_counter()
        sampled = None  # (evidence on the preview box, note for the reason)
        if preview is not None:
            top, left, bottom, right = preview
            sample = current[top:bottom, left:right]
            try:
                sample_out = tool.apply(sample, candidate.params)
            except Exception:  # the whole frame decides below
                sample_out = sample
            if not np.array_equal(sample_out, sample):
                evidence = tool.evidence(sample, sample_out)
                note = f"its test on the {right - left}x{bottom - top} centre of the frame (at {top}, {left})"
                if evidence is not None and evidence < STRONG_EVIDENCE:
                    result.steps.append(ToolCallStep(
                        region=result.steps[0].region, call=call, tool=candidate.tool, degradation=candidate.degradation,
                        params=json.loads(json.dumps(candidate.params)), input=image_hash(sample),
                        output=image_hash(sample_out), seconds=round(time.perf_counter() - start, 4)))
                    return Attempt("vetoed", current, QualityVerdict(
                        score_before=math.nan, score_after=math.nan, remaining={}, artifacts={}, decision="rollback",
                        evidence=evidence, reason=f"the tool's own test: evidence {evidence:.2f} (below {STRONG_EVIDENCE}), "
                                                  f"{note}; not run on the whole frame"), call)
                if evidence is not None:  # no opinion on the centre: the whole frame's test decides
                    seen = tool.explain(sample, sample_out)  # the test held (a failed one returned above)
                    sampled = (evidence, f"{note}: {seen}" if seen else note)
            del sample_out
        error = None
        try:
            out = unmask.reuse(tool, current, candidate.params) if unmask is not None else None
            if out is None:
                out = tool.apply(current, candidate.params)
        except Exception as exc:  # a tool may fail on an odd crop; the expert moves on
            out, error = current, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - start
        result.steps.append(ToolCallStep(
            region=result.steps[0].region, call=call, tool=candidate.tool, degradation=candidate.degradation,
            params=json.loads(json.dumps(candidate.params)), input=image_hash(current), output=image_hash(out),
            error=error, seconds=round(seconds, 4)))
        if error is not None:
            return Attempt("failed", current, None, call)
        if np.array_equal(out, current):  # nothing done: no gain to judge (the input itself is returned)
            unchanged = score() if scored_unchanged else math.nan
            return Attempt("unchanged", current, QualityVerdict(
                score_before=unchanged, score_after=unchanged, remaining={}, artifacts={}, decision="rollback",
                reason=f"{candidate.tool} left the image unchanged"), call)
        start = time.perf_counter()
        evidence = tool.evidence(current, out) if sampled is None else sampled[0]
        unmasked = unmask(candidate, current, out) if unmask is not None and evidence is None else None
        if unmasked is None:
            verdict = self.quality.judge(current, out, weight, [candidate.degradation], score_before=score(),
                                         evidence=evidence, tool=candidate.tool, params=candidate.params)
        else:
            score()  # the crop's own score, which the plan reads (``seen_before``)
            verdict = self.quality.judge(unmasked[0], unmasked[1], weight, [candidate.degradation],
                                         tool=candidate.tool, params=candidate.params)
            verdict.unmasked_by = unmasked[2]
            verdict.reason += f" (both sides scored after {unmasked[2]}, whose own test finds what it removes)"
        if sampled is not None:
            verdict.reason += f" ({sampled[1]})"
        elif evidence is not None and evidence >= STRONG_EVIDENCE and (seen := tool.explain(current, out)):
            verdict.reason += f" ({seen})"
        result.steps.append(QualityStep(
            region=result.steps[0].region, call=call, tool=candidate.tool, score_before=verdict.score_before,
            score_after=verdict.score_after, remaining=verdict.remaining, naturalness=verdict.naturalness,
            artifacts=verdict.artifacts, predicted_gain=verdict.predicted_gain,
            seconds=round(time.perf_counter() - start, 4)))
        return Attempt("applied", out, verdict, call)
