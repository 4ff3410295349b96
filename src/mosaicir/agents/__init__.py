"""The agents: coordinator, region experts, planners, quality agent and memory."""

from mosaicir.agents.coordinator import STRATEGIES, Coordinator, RestoreConfig, RestoreResult, restore
from mosaicir.agents.expert import RegionExpert
from mosaicir.agents.memory import Memory
from mosaicir.agents.messages import RESTORATION_ORDER, TOOL_PREFERENCE, Candidate, RegionTask
from mosaicir.agents.planners import PLANNER_REGISTRY, LLMPlanner, Planner, ScriptedPlanner, make_planner
from mosaicir.agents.quality import QualityAgent

__all__ = [
    "PLANNER_REGISTRY", "RESTORATION_ORDER", "STRATEGIES", "TOOL_PREFERENCE", "Candidate", "Coordinator", "LLMPlanner",
    "Memory", "Planner", "QualityAgent", "RegionExpert", "RegionTask", "RestoreConfig", "RestoreResult",
    "ScriptedPlanner", "make_planner", "restore",
]
