"""Typed, replayable records of every decision of a restoration (JSONL on disk)."""

from mosaicir.trajectory.records import (
    STEP_ADAPTER, DecisionStep, FinalCheckStep, FusionStep, PerceptionStep, PlanStep, QualityStep, RegionInfo,
    RegionsStep, RoutingStep, Step, ToolCallStep, Trajectory, TrajectoryHeader, WholeFramePass, image_hash,
)
from mosaicir.trajectory.replay import accepted_calls, replay

__all__ = [
    "accepted_calls", "replay",
    "STEP_ADAPTER", "DecisionStep", "FinalCheckStep", "FusionStep", "PerceptionStep", "PlanStep", "QualityStep",
    "RegionInfo", "RegionsStep", "RoutingStep", "Step", "ToolCallStep", "Trajectory", "TrajectoryHeader", "WholeFramePass", "image_hash",
]
