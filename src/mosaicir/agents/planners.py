"""Planners: which tool, with which parameters, to try next on a region.

A planner sees a :class:`PlanState` (the region's degradation signature, what is left to
restore, what was tried and rejected, the remaining budget, a plan remembered for a similar
signature) and proposes candidates. The region expert runs them and asks the quality agent:

* ``prior``: the reverse of the physical order (compression, then imaging, then scene
  degradations, as MAIR does); per degradation the best measured tool, then its alternative;
  a degradation whose tools are all rejected is skipped. Its selection is :class:`FirstAccepted`:
  the first accepted candidate is kept. A severity read before an accepted step that removes
  part of that degradation too overstates what is left (removing JPEG's blocks smooths much of the
  noise under them: :data:`LESSENED_BY`), so that round also offers weaker settings of the tools
  whose parameters follow the severity (:data:`STALE_FACTORS`), and the best scored of its
  candidates wins (:class:`BestScored`).
* ``greedy``: at each step every candidate tool for every remaining degradation is run and the
  one the quality agent scores best is kept (as Q-Agent does): :class:`BestScored`.
* ``search``: exploration with reflection and rollback under a budget (as AgenticIR does): after
  a rejection it tries the alternative tool, then the same tools with weaker and stronger
  parameters, then defers the degradation to the end of the order once before giving it up.
* ``llm``: an OpenAI-compatible chat endpoint (a local Ollama or vLLM server) proposes the whole
  chain from the perception report; the plan is validated against the registry, and an invalid
  plan or unreachable server hands over to ``prior``.
* ``scripted``: a fixed chain (tests and replays).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from mosaicir.agents.messages import TOOL_PREFERENCE, Candidate, QualityVerdict
from mosaicir.core.errors import MosaicirError
from mosaicir.core.registry import Registry
from mosaicir.tools import TOOL_REGISTRY, get_tool, tools_for


@dataclass
class PlanState:
    signature: dict[str, float]
    remaining: list[str]
    rejected: set[tuple[str, str, str]] = field(default_factory=set)  # (degradation, tool, params json)
    deferred: set[str] = field(default_factory=set)
    budget_left: int = 12
    remembered: list[Candidate] = field(default_factory=list)
    hints: dict[str, float] = field(default_factory=dict)  # whole-image estimates, e.g. airlight
    tools: dict[str, list[str]] = field(default_factory=dict)  # the only tools allowed per degradation (RegionTask.tools)
    restored: list[str] = field(default_factory=list)  # degradations with an accepted step, in order

    def was_rejected(self, candidate: Candidate) -> bool:
        return (candidate.degradation, candidate.tool, json.dumps(candidate.params, sort_keys=True)) in self.rejected

    def reject(self, candidate: Candidate) -> None:
        self.rejected.add((candidate.degradation, candidate.tool, json.dumps(candidate.params, sort_keys=True)))

    # the expert and the planners change the state only through these

    def spend(self) -> None:
        """One tool call used."""
        self.budget_left -= 1

    def done(self, degradation: str) -> None:
        """``degradation`` needs nothing more (restored, found absent, or given up)."""
        if degradation in self.remaining:
            self.remaining.remove(degradation)

    def accept(self, degradation: str) -> None:
        """A step for ``degradation`` was accepted: the image changed since the severities were read."""
        self.restored.append(degradation)
        self.done(degradation)

    def done_all(self) -> None:
        """Nothing more to restore."""
        self.remaining.clear()

    def defer(self, degradation: str) -> None:
        """Try ``degradation`` again after the others, with its rejections forgotten (once)."""
        self.done(degradation)
        self.deferred.add(degradation)
        self.remaining.append(degradation)
        self.rejected = {r for r in self.rejected if r[0] != degradation}


def preferred_tools(degradation: str) -> list[str]:
    """Registered tools for a degradation, best measured first."""
    names = [n for n in TOOL_PREFERENCE.get(degradation, ()) if n in TOOL_REGISTRY]
    names += [t.name for t in tools_for(degradation) if t.name not in names]
    return names


def guesses(state: PlanState, degradation: str, factor: float = 1.0) -> list[Candidate]:
    """First guesses of every preferred tool for ``degradation`` at ``factor`` times its severity."""
    severity = min(1.0, state.signature[degradation] * factor)
    names = state.tools.get(degradation) or preferred_tools(degradation)
    return [first_guess(degradation, tool, severity, state.hints) for tool in names]


def guesses_at(state: PlanState, degradation: str, factors: tuple[float, ...]) -> list[Candidate]:
    """:func:`guesses` at the severity, then at each of ``factors`` times it, each distinct
    (tool, parameters) once, in that order."""
    candidates = guesses(state, degradation)
    for factor in factors:
        candidates += guesses(state, degradation, factor)
    return list({(c.tool, json.dumps(c.params, sort_keys=True)): c for c in candidates}.values())


def first_guess(degradation: str, tool: str, severity: float, hints: dict[str, float] | None = None) -> Candidate:
    """The tool's parameters for the severity, with the coordinator's whole-image estimates (e.g.
    one airlight for every hazy region) filled into the fields of the same name."""
    params = get_tool(tool).params_for(float(severity)).model_dump(mode="json")
    for key, value in (hints or {}).items():
        if key in params:
            params[key] = value
    return Candidate(degradation=degradation, tool=tool, params=params)


@dataclass
class Rollback:
    """A candidate of the round rolled back, with the reason recorded in the trajectory."""

    candidate: Candidate
    call: int
    reason: str


class Selection:
    """How the candidates of one round (what a planner proposed at once) become at most one
    accepted step: a planner's choice (``Planner.selection``), made afresh for every round.

    The region expert runs the candidates in order and tells the selection what each did: its tool
    found none of its degradation (:meth:`absent`), its own test vetoed it (:meth:`vetoed`), or the
    quality agent judged it (:meth:`judged`). Each returns True to end the round. The expert then
    rolls back (rejects and records) what :meth:`take_rollbacks` gives, and after the round takes
    :meth:`close`'s accepted step.

    ``compares_scores``: candidates are compared by score, so one that left the image unchanged
    carries the image's score too (NaN otherwise: no quality run is spent on it).
    """

    compares_scores: ClassVar[bool] = False

    def __init__(self) -> None:
        self.rollbacks: list[Rollback] = []

    def absent(self, candidate: Candidate, verdict: QualityVerdict, call: int) -> bool:
        raise NotImplementedError

    def vetoed(self, candidate: Candidate, verdict: QualityVerdict, call: int) -> bool:
        """The tool's own test says what it removed is not its degradation: rolled back."""
        self.rollbacks.append(Rollback(candidate, call, verdict.reason))
        return False

    def judged(self, candidate: Candidate, image: np.ndarray, verdict: QualityVerdict, call: int) -> bool:
        raise NotImplementedError

    def close(self) -> tuple[Candidate, np.ndarray, QualityVerdict, int] | None:
        """The round's accepted step (candidate, output, verdict, call), or None."""
        raise NotImplementedError

    def take_rollbacks(self) -> list[Rollback]:
        taken, self.rollbacks = self.rollbacks, []
        return taken


class FirstAccepted(Selection):
    """The first candidate the quality agent accepts ends the round; a tool that finds none of its
    degradation, or whose own test vetoes its step, ends it too (no other tool is tried for it)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: tuple[Candidate, np.ndarray, QualityVerdict, int] | None = None

    def absent(self, candidate, verdict, call):
        self.rollbacks.append(Rollback(candidate, call, verdict.reason))
        return True

    def vetoed(self, candidate, verdict, call):
        super().vetoed(candidate, verdict, call)
        return True

    def judged(self, candidate, image, verdict, call):
        if verdict.decision == "accept":
            self.accepted = (candidate, image, verdict, call)
            return True
        self.rollbacks.append(Rollback(candidate, call, verdict.reason))
        return False

    def close(self):
        return self.accepted


class BestScored(Selection):
    """Every candidate of the round is run; the first of the highest scores wins (as ``max`` picks
    it) when the quality agent accepts it, and the others are rolled back. Only the best output so
    far is kept (each is a full copy of the crop: a whole 24 MP frame is 288 MB)."""

    compares_scores = True

    def __init__(self) -> None:
        super().__init__()
        self.tried: list[tuple[Candidate, QualityVerdict, int]] = []
        self.best: tuple[Candidate, np.ndarray, QualityVerdict, int] | None = None

    def absent(self, candidate, verdict, call):
        return False

    def judged(self, candidate, image, verdict, call):
        if self.best is None or verdict.score_after > self.best[2].score_after:
            self.best = (candidate, image, verdict, call)
        self.tried.append((candidate, verdict, call))
        return False

    def close(self):
        if self.best is None:
            return None
        winner = self.best[0]
        for candidate, verdict, call in self.tried:
            if candidate is not winner or verdict.decision != "accept":
                self.rollbacks.append(Rollback(candidate, call, verdict.reason if verdict.decision != "accept"
                                               else "another candidate scored better"))
        return self.best if self.best[2].decision == "accept" else None


class Planner:
    name: ClassVar[str]
    #: how one round's candidates become at most one accepted step
    selection: ClassVar[type[Selection]] = FirstAccepted

    def start(self, signature: dict[str, float], report: str = "") -> str:
        """Called once per region before the first proposal; returns a note for the trajectory."""
        return ""

    def propose(self, state: PlanState) -> list[Candidate]:
        raise NotImplementedError

    def round_selection(self, state: PlanState) -> Selection:
        """The rule for the round just proposed for ``state`` (:attr:`selection` unless a planner
        decides per round)."""
        return self.selection()

    def give_up(self, state: PlanState, degradation: str) -> None:
        """Every candidate for ``degradation`` was rejected: skip it."""
        state.done(degradation)

    def _remembered_first(self, state: PlanState, degradation: str, candidates: list[Candidate]) -> list[Candidate]:
        allowed = state.tools.get(degradation)
        remembered = [c for c in state.remembered if c.degradation == degradation and (not allowed or c.tool in allowed)]
        ordered = remembered + [c for c in candidates if c not in remembered]
        return [c for c in ordered if not state.was_rejected(c)]


#: Degradations whose severity, read before the pass, an accepted step for another also lessens:
#: the JPEG networks smooth the noise under the blocks. Not blur or haze after an earlier step: a
#: deblurring or dehazing round compared by score after the JPEG or rain step chose settings the
#: score liked and PSNR did not (`mio-a` defocus blur + JPEG under ``global`` +1.06 -> +0.07 dB;
#: docs/BENCHMARKS.md, `s22`).
LESSENED_BY: dict[str, tuple[str, ...]] = {"noise": ("jpeg",)}
#: Severity factors ``prior`` adds where a step of :data:`LESSENED_BY` was accepted (see the
#: module's docstring): on `mio-a`'s `CSet14_comic` noise + JPEG, non-local means at the severity
#: read before the JPEG step (34/255) took the frame from 21.1 dB after that step to 19.6; at
#: 12/255 to 21.7, and the quality agent scores 12-17/255 best (docs/BENCHMARKS.md, `s22`).
STALE_FACTORS: tuple[float, ...] = (0.6, 0.35)


def read_stale(state: PlanState, degradation: str) -> bool:
    """Whether a step accepted in this pass also lessened ``degradation`` (:data:`LESSENED_BY`)."""
    return any(earlier in state.restored for earlier in LESSENED_BY.get(degradation, ()))


class PriorPlanner(Planner):
    name = "prior"

    def propose(self, state: PlanState) -> list[Candidate]:
        if not state.remaining:
            return []
        degradation = state.remaining[0]
        factors = STALE_FACTORS if read_stale(state, degradation) else ()
        return self._remembered_first(state, degradation, guesses_at(state, degradation, factors))

    def round_selection(self, state: PlanState) -> Selection:
        """:class:`BestScored` for a degradation read before a step that lessened it, else
        :class:`FirstAccepted`."""
        return BestScored() if state.remaining and read_stale(state, state.remaining[0]) else FirstAccepted()


class GreedyPlanner(Planner):
    name = "greedy"
    selection = BestScored

    def propose(self, state: PlanState) -> list[Candidate]:
        candidates = []
        for degradation in state.remaining:
            candidates += self._remembered_first(state, degradation, guesses(state, degradation))
        return candidates

    def give_up(self, state: PlanState, degradation: str) -> None:
        state.done_all()  # nothing improves any more


class SearchPlanner(Planner):
    name = "search"
    #: Severity multipliers tried after the first guess was rejected (weaker, then stronger).
    variations: ClassVar[tuple[float, ...]] = (0.6, 1.4)

    def propose(self, state: PlanState) -> list[Candidate]:
        if not state.remaining:
            return []
        degradation = state.remaining[0]
        return self._remembered_first(state, degradation, guesses_at(state, degradation, self.variations))

    def give_up(self, state: PlanState, degradation: str) -> None:
        state.done(degradation)
        if degradation not in state.deferred and state.remaining:
            state.defer(degradation)  # reflect: retry after the others are restored


class ScriptedPlanner(Planner):
    """Proposes a fixed chain, one candidate per step, in the given order."""

    name = "scripted"

    def __init__(self, chain: list[Candidate]) -> None:
        self.chain = list(chain)

    def propose(self, state: PlanState) -> list[Candidate]:
        """The chain's untried candidates for the first degradation that still has some."""
        for candidate in self.chain:
            if candidate.degradation in state.remaining and not state.was_rejected(candidate):
                return [c for c in self.chain if c.degradation == candidate.degradation and not state.was_rejected(c)]
        return []

    def give_up(self, state: PlanState, degradation: str) -> None:
        state.done(degradation)


class LLMPlanner(Planner):
    """Plans with an OpenAI-compatible chat endpoint; ``prior`` takes over when the answer is not
    a valid plan. Endpoint and model come from the arguments or from ``MOSAICIR_LLM_URL``,
    ``MOSAICIR_LLM_MODEL`` and ``MOSAICIR_LLM_KEY``."""

    name = "llm"

    def __init__(self, url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0) -> None:
        self.url = (url or os.environ.get("MOSAICIR_LLM_URL") or "http://127.0.0.1:11434/v1").rstrip("/")
        self.model = model or os.environ.get("MOSAICIR_LLM_MODEL") or "llama3.1"
        self.api_key = api_key or os.environ.get("MOSAICIR_LLM_KEY")
        self.timeout = timeout
        self.fallback = PriorPlanner()
        self._plans: dict[str, list[Candidate] | None] = {}

    def prompt(self, signature: dict[str, float], report: str) -> list[dict[str, str]]:
        tools = {d: [get_tool(t).describe() for t in preferred_tools(d)] for d in signature}
        catalogue = {d: [{"tool": t["name"], "params": {k: {b: v for b, v in p.items() if b in ("ge", "le", "default")}
                                                       for k, p in t["params"].items()}} for t in ts]
                     for d, ts in tools.items()}
        system = ("You plan image restoration. Answer with JSON only: "
                  '{"plan": [{"degradation": str, "tool": str, "params": {...}}, ...]} '
                  "choosing one tool per degradation from the catalogue, in the order to apply them.")
        user = (f"Perception report: {report}\nDegradations to remove (severity 0-1): {json.dumps(signature)}\n"
                f"Catalogue: {json.dumps(catalogue)}")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def ask(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.url}/chat/completions", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            answer = json.loads(response.read().decode())
        return answer["choices"][0]["message"]["content"]

    def validate(self, text: str, signature: dict[str, float]) -> list[Candidate]:
        """Parse and check the model's plan; raises ``MosaicirError`` when it is not usable."""
        match = re.search(r"\{.*\}", text, re.S)
        if not match:
            raise MosaicirError("no JSON object in the answer")
        steps = json.loads(match.group(0)).get("plan")
        if not isinstance(steps, list) or not steps:
            raise MosaicirError("no 'plan' list")
        chain = []
        for step in steps:
            degradation, tool = step.get("degradation"), step.get("tool")
            if degradation not in signature:
                raise MosaicirError(f"degradation {degradation!r} is not in the region")
            if tool not in TOOL_REGISTRY or degradation not in get_tool(tool).targets:
                raise MosaicirError(f"tool {tool!r} does not exist or does not restore {degradation}")
            params = get_tool(tool).Params.model_validate(step.get("params") or {}).model_dump(mode="json")
            chain.append(Candidate(degradation=degradation, tool=tool, params=params))
        return chain

    def start(self, signature: dict[str, float], report: str = "") -> str:
        key = json.dumps(signature, sort_keys=True)
        try:
            self._plans[key] = self.validate(self.ask(self.prompt(signature, report)), signature)
            return f"llm plan from {self.model}: " + ", ".join(c.tool for c in self._plans[key])
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError, MosaicirError) as exc:
            self._plans[key] = None
            return f"llm plan unusable ({type(exc).__name__}: {str(exc)[:120]}); prior planner takes over"

    def propose(self, state: PlanState) -> list[Candidate]:
        chain = self._plans.get(json.dumps(state.signature, sort_keys=True))
        if chain is None:
            return self.fallback.propose(state)
        for candidate in chain:
            if candidate.degradation in state.remaining and not state.was_rejected(candidate):
                # the model's choice first, the measured alternatives after it
                rest = [c for c in self.fallback.propose(state) if c.degradation == candidate.degradation and c != candidate]
                return [candidate] + rest
        return self.fallback.propose(state)


PLANNER_REGISTRY: Registry[type[Planner]] = Registry("planner")
for _planner in (PriorPlanner, GreedyPlanner, SearchPlanner, LLMPlanner):
    PLANNER_REGISTRY.register(_planner.name, _planner)


def make_planner(name: str, **options) -> Planner:
    cls = PLANNER_REGISTRY.get(name)
    return cls(**options) if options else cls()
