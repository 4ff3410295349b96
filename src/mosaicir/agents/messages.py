"""Typed messages between the agents (recorded in the trajectory by the coordinator)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mosaicir.core.names import PHYSICAL_ORDER

#: Restoration order: the reverse of the physical order (compression first, scene last), as MAIR does.
RESTORATION_ORDER: tuple[str, ...] = tuple(reversed(PHYSICAL_ORDER))

#: Tools to try per degradation, best first (measured by ``mosaicir bench tools``, docs/TOOLS.md).
#: Under-exposure uses only the self-limiting ``adaptive_gamma``: ``lime`` gains more on truly dark
#: images but brightens well-exposed content too, and perception's low-light flags are not
#: reliable enough (docs/PERCEPTION.md) to let it loose on a region. Haze uses only the dark
#: channel, which tests for a veil itself; the learned dehazer changes any photograph (docs/REAL.md).
#: Low resolution uses only the learned super-resolution: the guided sharpening lowered all 55 real
#: development photographs it was tried on (-3.3 dB on average, ``scripts/real_steps.py``, docs/REAL.md).
#: Defocus tries the learned network first: alone, the Wiener deconvolution gains more at severities
#: 0.25-0.5 (docs/TOOLS.md), but in the engine, where motion blur read as defocus reaches it too, the
#: network first gained more on every held-out suite (``s17``, docs/BENCHMARKS.md: ``mio-a`` +1.38 ->
#: +1.51 dB, no item more than 0.5 dB below its input) and changed nothing on the real sets.
TOOL_PREFERENCE: dict[str, tuple[str, ...]] = {
    "jpeg": ("dejpeg_unet", "deblock"),
    "noise": ("denoise_unet", "nl_means"),
    "low_resolution": ("sr_unet",),
    "defocus_blur": ("deblur_defocus_unet", "wiener_defocus"),
    "motion_blur": ("deconv_motion", "deblur_motion_unet", "wiener_motion"),
    "low_light": ("adaptive_gamma",),
    "rain": ("derain_unet",),
    "haze": ("dark_channel",),
}


def restoration_sorted(names) -> list[str]:
    return [n for n in RESTORATION_ORDER if n in names]


class Candidate(BaseModel):
    """One proposed step: a tool for a degradation, with parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    degradation: str
    tool: str
    params: dict[str, Any] = Field(default_factory=dict)


class RegionTask(BaseModel):
    """What the coordinator asks a region expert to do."""

    model_config = ConfigDict(extra="forbid")

    region: int | None = Field(description="region id (None: the whole image, for global degradations)")
    box: tuple[int, int, int, int]
    signature: dict[str, float]
    hints: dict[str, float] = Field(default_factory=dict, description="whole-image estimates shared by all regions")
    tools: dict[str, list[str]] = Field(
        default_factory=dict,
        description="the only tools to try per degradation, overriding the preference (a pass tried on every "
                    "photograph uses tools that test for their degradation themselves)")


class QualityVerdict(BaseModel):
    """The quality agent's judgement of one step."""

    model_config = ConfigDict(extra="forbid")

    score_before: float
    score_after: float
    remaining: dict[str, float]
    naturalness: float | None = None
    artifacts: dict[str, float]
    decision: Literal["accept", "rollback"]
    reason: str = ""
    #: the tool's own evidence of what the step removed (``Tool.evidence``), when it gave one
    evidence: float | None = None
    #: the step judge's expected change of PSNR, dB (:mod:`mosaicir.quality.judge`), when it decided
    predicted_gain: float | None = None
    #: the tool that removed a degradation masking the score from both sides before they were
    #: scored (``Route.masks_score``; the scores are then those of the unmasked frames)
    unmasked_by: str | None = None

    @property
    def gain(self) -> float:
        return self.score_after - self.score_before
