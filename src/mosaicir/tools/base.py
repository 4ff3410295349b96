"""The tool contract (after smolagents' Tool and deepinv's Denoiser): one class per tool.

A tool has a ``name``, the degradations it ``targets``, a pydantic ``Params`` model whose fields
carry their ranges (the space a planner searches; continuous where the method allows), a cost hint
``seconds_per_megapixel`` measured on a 2-core CPU by ``mosaicir bench tools``, and
``apply(image, params) -> image``. Learned tools load their weights lazily on first use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from mosaicir.core.errors import InvalidInputError, MosaicirError
from mosaicir.core.image import check_image
from mosaicir.core.names import DEGRADATIONS
from mosaicir.core.registry import Registry


class ToolParams(BaseModel):
    """Base of every tool's parameters. A value of 0 for an ``auto``-documented field means
    "estimate it from the image"."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Tool(ABC):
    """A restoration tool.

    Class attributes:
        name: registry name (snake case).
        targets: degradation names it restores.
        Params: pydantic parameter model; fields declare ``ge``/``le`` ranges.
        seconds_per_megapixel: measured cost hint on a 2-core CPU.
        learned: True for networks trained by a recipe in ``train/``.
        default: False for tools too slow or too specialised to be chosen by default.
        checks_presence: True for tools that test for their degradation themselves (haze evidence,
            linear motion in the spectrum, exposure) and return the image unchanged when the test
            finds none; the region expert then takes the degradation as absent.

    A tool may also override :meth:`evidence`: how far what one of its steps removed looks like
    the degradation it claims to remove (a grey veil, a short exposure, thin bright streaks). When
    it answers, the quality agent decides on that answer instead of its no-reference score, which
    misreads photographs unlike our training data (docs/REAL.md).
    """

    name: ClassVar[str]
    targets: ClassVar[tuple[str, ...]]
    Params: ClassVar[type[ToolParams]]
    seconds_per_megapixel: ClassVar[float] = 1.0  # measured by `mosaicir bench tools` (docs/TOOLS.md)
    learned: ClassVar[bool] = False
    default: ClassVar[bool] = True
    #: The severity of its degradation the tool is made for, at which the registry's generated
    #: tests check its gain (a tool for faint camera noise is not made for severity 0.5).
    test_severity: ClassVar[float] = 0.5
    #: Settings of its degradation model for those tests (e.g. the camera's noise only), and the
    #: least mean gain they ask for (None: the degradation's default in tests/test_tools.py).
    test_settings: ClassVar[dict[str, float]] = {}
    test_min_gain: ClassVar[float | None] = None
    checks_presence: ClassVar[bool] = False
    #: Tried on every photograph for its degradation, whatever perception says (the coordinator's
    #: passes for ``RestoreConfig.try_everywhere``): only for a tool whose :meth:`evidence` decides
    #: each of its steps from what the step removed.
    tried_everywhere: ClassVar[bool] = False

    def apply(self, image: np.ndarray, params: ToolParams | dict | None = None) -> np.ndarray:
        """Restore ``image`` (``float32 H x W x 3`` in [0, 1]); returns the same shape, dtype and range."""
        check_image(image)
        out = self._apply(image, self.parse_params(params))
        if isinstance(out, np.ndarray) and out.dtype == np.float32 and out.flags.writeable and not np.may_share_memory(out, image):
            return np.clip(out, 0.0, 1.0, out=out)  # a new array of the tool's own: no second full-size copy
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)

    @abstractmethod
    def _apply(self, image: np.ndarray, params: Any) -> np.ndarray:
        """Restore a checked image with parsed parameters."""

    def parse_params(self, params: ToolParams | dict | None) -> ToolParams:
        if params is None:
            return self.Params()
        if isinstance(params, self.Params):
            return params
        if isinstance(params, dict):
            return self.Params.model_validate(params)
        raise InvalidInputError(f"{self.name}: expected {self.Params.__name__} or dict, got {type(params).__name__}")

    def evidence(self, before: np.ndarray, after: np.ndarray) -> float | None:
        """Physical evidence in [0, 1] that the step ``before`` -> ``after`` (both ``H x W x 3`` in
        [0, 1]) removed this tool's degradation, or None when the tool has no opinion on this step
        (no test of its own, or a test that only vetoes: a denoiser that took texture answers 0)."""
        return None

    def explain(self, before: np.ndarray, after: np.ndarray) -> str | None:
        """What the tool's own test saw in the step ``before`` -> ``after``, for the trajectory's
        reason (None: nothing to add to the evidence figure)."""
        return None

    def params_for(self, severity: float) -> ToolParams:
        """A first guess of the parameters for a degradation of ``severity`` in [0, 1] (planners
        refine it). By default: the automatic parameters."""
        return self.Params()

    @classmethod
    def param_space(cls) -> dict[str, dict[str, Any]]:
        """``{field: {"default", "ge", "le", "description"}}``: the planner's search space."""
        space = {}
        for field_name, info in cls.Params.model_fields.items():
            entry: dict[str, Any] = {"default": info.default, "description": info.description or ""}
            for meta in info.metadata:
                for bound in ("ge", "le", "gt", "lt"):
                    if hasattr(meta, bound):
                        entry[bound] = getattr(meta, bound)
            space[field_name] = entry
        return space

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "targets": list(self.targets), "learned": self.learned, "default": self.default,
            "seconds_per_megapixel": self.seconds_per_megapixel, "params": self.param_space(),
            "doc": (type(self).__doc__ or "").strip().split("\n")[0],
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, targets={self.targets})"


def plugin_tool(name: str, loaded: object) -> Tool:
    """The tool an entry point of the ``mosaicir.tools`` group names, checked: ``loaded`` is a
    :class:`Tool` subclass (instantiated without arguments), a Tool instance, or a function
    without arguments that returns either. The tool's ``name`` must be the entry point's, its
    ``targets`` known degradations and its ``Params`` a :class:`ToolParams` whose defaults are
    valid. Raises :class:`MosaicirError` saying what is wrong."""
    tool = loaded
    if not isinstance(tool, (Tool, type)) and callable(tool):
        tool = tool()  # a factory, which may return an instance or a class
    if isinstance(tool, type) and issubclass(tool, Tool):
        tool = tool()
    if not isinstance(tool, Tool):
        raise MosaicirError(f"it gives {type(tool).__name__}, not a mosaicir Tool (a subclass, an instance "
                            "or a function that returns one)")
    if getattr(tool, "name", None) != name:
        raise MosaicirError(f"the entry point is called {name!r} but its tool {getattr(tool, 'name', None)!r}")
    targets = tuple(getattr(tool, "targets", ()))
    if not targets or not set(targets) <= set(DEGRADATIONS):
        raise MosaicirError(f"targets {targets!r} are not among the degradations {', '.join(DEGRADATIONS)}")
    params = getattr(tool, "Params", None)
    if not (isinstance(params, type) and issubclass(params, ToolParams)):
        raise MosaicirError("its Params is not a mosaicir.tools.ToolParams subclass")
    params()  # the defaults must be valid: planners start from them
    return tool


#: Tools by name (instances). Third-party tools register through the entry-point group
#: ``mosaicir.tools``: each entry point names a Tool subclass, an instance or a function that
#: returns one (:func:`plugin_tool` checks it).
TOOL_REGISTRY: Registry[Tool] = Registry("tool", "mosaicir.tools", loader=plugin_tool)


def register_tool(tool: Tool | type[Tool]) -> Tool:
    instance = tool() if isinstance(tool, type) else tool
    TOOL_REGISTRY.register(instance.name, instance)
    return instance


def get_tool(name: str) -> Tool:
    """The registered tool called ``name`` (raises with a suggestion if unknown)."""
    entry = TOOL_REGISTRY.get(name)
    if isinstance(entry, type):  # an entry point may name the class
        entry = entry()
    return entry


def tools_for(degradation: str, *, include_slow: bool = False) -> list[Tool]:
    """Registered tools that target ``degradation`` (default tools only unless ``include_slow``)."""
    tools = [get_tool(name) for name in TOOL_REGISTRY.names()]
    return [t for t in tools if degradation in t.targets and (include_slow or t.default)]
