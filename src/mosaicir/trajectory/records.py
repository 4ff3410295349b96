"""Typed records of every decision of a restoration (after pydantic-ai's messages).

Each step is a pydantic model with a ``kind`` discriminator; a :class:`Trajectory` is the run's
configuration followed by its steps, stored as JSONL (one JSON object per line, the first one the
header). Images are never embedded: they are referenced by :func:`image_hash`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mosaicir.core.errors import InvalidInputError
from mosaicir.io.atomic import atomic_write_text


def image_hash(image: np.ndarray) -> str:
    """``sha256:<16 hex>`` of an image's shape and 8-bit pixels (stable across float noise).

    Converted and hashed in bands of rows: the same digest as of the whole 8-bit image at once,
    without its float copies (a 24 MP photograph is hashed several times per run)."""
    hasher = hashlib.sha256(str(image.shape).encode())
    rows = max(1, (1 << 22) // max(1, image[0].size))  # about 4 M values per band
    for top in range(0, image.shape[0], rows):
        hasher.update(np.round(np.clip(image[top:top + rows], 0, 1) * 255).astype(np.uint8).tobytes())
    return f"sha256:{hasher.hexdigest()[:16]}"


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: int | None = Field(None, description="region id (None: the whole image)")
    seconds: float = 0.0


class PerceptionStep(_Step):
    kind: Literal["perception"] = "perception"
    image: str
    method: str
    present: list[str]
    severity: dict[str, float] = Field(description="mean severity where flagged, per degradation present")
    estimates: dict[str, float] = {}


class RegionInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    bbox: tuple[int, int, int, int] = Field(description="(top, left, bottom, right) in pixels, bottom/right exclusive")
    area: float = Field(description="share of the image")
    signature: dict[str, float] = Field(description="degradation -> severity")


class RegionsStep(_Step):
    kind: Literal["regions"] = "regions"
    global_degradations: dict[str, float] = {}
    regions: list[RegionInfo]
    untouched_area: float = Field(description="share of the image that needs nothing")
    perceived: str | None = Field(
        None, description="hash of the image whose perception gave the regions (None: the image after every "
                          "whole-frame pass before them)")


class WholeFramePass(BaseModel):
    """One expert on the whole frame, for ``signature``."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal["before_regions", "scene", "tried_everywhere"]
    signature: dict[str, float] = Field(description="degradation -> severity")
    tools: dict[str, list[str]] = Field(default_factory=dict, description="the only tools allowed, per degradation")
    hints: dict[str, float] = Field(default_factory=dict, description="tool parameters fixed for this pass")
    perceive_after: bool = Field(False, description="perceive the frame again after it (the regions follow)")


class RoutingStep(_Step):
    """What is restored where (``mosaicir.agents.routing.route``): whole-frame passes before the
    regions, the regions and what they may act on, whole-frame passes after them."""

    kind: Literal["routing"] = "routing"
    strategy: str
    before: list[WholeFramePass] = []
    exclude: list[str] = Field(default_factory=list, description="degradations the regions do not act on")
    whole_image: bool = Field(False, description="one region, the whole frame (the global strategy)")
    min_area: float = Field(0.0, description="share of the frame below which a region is left as it is")
    frame_wide: dict[str, float] = Field(
        default_factory=dict, description="scene degradations over the whole frame (added to the whole-frame region "
                                          "of the global strategy; their fixed parameters go to whole-frame crops)")
    after: list[WholeFramePass] = []
    tested: dict[str, float] = Field(
        default_factory=dict, description="{degradation: evidence} of the tools that test for a faint degradation "
                                          "found, run on the frame (its centre when large) before routing; where it "
                                          "holds, the degradation is left to the pass tried on every photograph")


class PlanStep(_Step):
    kind: Literal["plan"] = "plan"
    planner: str
    degradations: list[str]
    chain: list[tuple[str, dict[str, Any]]] = Field(default_factory=list, description="(tool, params) proposed")
    note: str = ""


class ToolCallStep(_Step):
    kind: Literal["tool_call"] = "tool_call"
    call: int = Field(description="number of the call within its region (decisions refer to it)")
    tool: str
    degradation: str
    params: dict[str, Any]
    input: str
    output: str
    error: str | None = None


class QualityStep(_Step):
    kind: Literal["quality"] = "quality"
    call: int
    tool: str
    score_before: float
    score_after: float
    remaining: dict[str, float] = {}
    naturalness: float | None = None
    artifacts: dict[str, float] = {}
    #: the step judge's expected change of PSNR, dB, when it decided the step
    predicted_gain: float | None = None


class DecisionStep(_Step):
    kind: Literal["decision"] = "decision"
    call: int | None = None
    tool: str
    decision: Literal["accept", "rollback", "alternative", "skip"]
    reason: str = ""


class FusionStep(_Step):
    kind: Literal["fusion"] = "fusion"
    method: str
    regions: list[int]
    output: str


class FinalCheckStep(_Step):
    kind: Literal["final_check"] = "final_check"
    kept: list[int] = Field(description="regions whose restoration was kept")
    reverted: list[int] = Field(description="regions put back to the input (restoration judged worse)")
    output: str


Step = Annotated[
    Union[PerceptionStep, RoutingStep, RegionsStep, PlanStep, ToolCallStep, QualityStep, DecisionStep, FusionStep, FinalCheckStep],
    Field(discriminator="kind"),
]
STEP_ADAPTER: TypeAdapter[Step] = TypeAdapter(Step)


class TrajectoryHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["header"] = "header"
    mosaicir: str
    input: str = Field(description="hash of the input image")
    shape: tuple[int, int]
    config: dict[str, Any]
    output: str | None = None
    seconds: float | None = None


class Trajectory(BaseModel):
    """A header and the ordered steps of one run."""

    model_config = ConfigDict(extra="forbid")

    header: TrajectoryHeader
    steps: list[Step] = []

    def add(self, step: BaseModel) -> BaseModel:
        self.steps.append(step)
        return step

    def of_kind(self, kind: str) -> list[Any]:
        return [s for s in self.steps if s.kind == kind]

    def tool_calls(self) -> int:
        return len(self.of_kind("tool_call"))

    def to_jsonl(self) -> str:
        lines = [self.header.model_dump_json()] + [s.model_dump_json() for s in self.steps]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_jsonl(cls, text: str) -> "Trajectory":
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise InvalidInputError("empty trajectory")
        try:
            header = TrajectoryHeader.model_validate_json(lines[0])
            steps = [STEP_ADAPTER.validate_json(line) for line in lines[1:]]
        except ValueError as exc:
            raise InvalidInputError(f"not a mosaicir trajectory ({str(exc).splitlines()[0]})") from None
        return cls(header=header, steps=steps)

    def save(self, path: str | os.PathLike[str]) -> Path:
        atomic_write_text(path, self.to_jsonl())
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Trajectory":
        try:
            text = Path(path).read_text()
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{path}: cannot read trajectory ({type(exc).__name__})") from None
        return cls.from_jsonl(text)

    def as_rows(self) -> list[dict[str, Any]]:
        """The steps as plain dicts (for reports)."""
        return [json.loads(s.model_dump_json()) for s in self.steps]
