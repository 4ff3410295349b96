"""The degradation contract: sampling is separate from applying (as in deepinv's generators).

``sample(rng, severity) -> Params`` draws every random choice, including the seed of any noise
realisation, so that ``apply(image, params)`` is a pure function and a recorded ``Params``
replays exactly. Severity is a number in [0, 1] (0 = absent), mapped monotonically to the
physical parameters documented on each model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import check_image

Stage = Literal["scene", "imaging", "compression"]


class DegradationParams(BaseModel):
    """Base of every degradation's parameters; ``severity`` is the [0, 1] value it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: float = Field(ge=0.0, le=1.0)


class Degradation(ABC):
    """A degradation model.

    Class attributes:
        name: one of :data:`mosaicir.core.names.DEGRADATIONS`.
        stage: where it happens physically ("scene", "imaging", "compression").
        Params: the pydantic parameter model.
        mio_severity: severity interval that reproduces the ranges of the MiO protocol
            (AgenticIR's benchmark), used by the ``mio-*`` suites.
    """

    name: ClassVar[str]
    stage: ClassVar[Stage]
    Params: ClassVar[type[DegradationParams]]
    mio_severity: ClassVar[tuple[float, float]]

    @abstractmethod
    def sample(self, rng: np.random.Generator, severity: float) -> DegradationParams:
        """Draw parameters for ``severity`` in [0, 1]. Draws the same number of random values
        whatever the severity, so that one seed gives comparable samples across severities."""

    @abstractmethod
    def _apply(self, image: np.ndarray, params: DegradationParams, depth: np.ndarray | None) -> np.ndarray:
        """Apply to a checked image; return ``float32 H x W x 3`` in [0, 1]."""

    def apply(
        self, image: np.ndarray, params: DegradationParams | dict, *, depth: np.ndarray | None = None
    ) -> np.ndarray:
        """Degrade ``image`` (``float32 H x W x 3`` in [0, 1]) with ``params``; severity 0 is identity.

        Args:
            depth: optional ``float32 H x W`` scene depth in [0, 1] (1 = far), used by haze.
        """
        check_image(image)
        params = self.parse_params(params)
        if params.severity <= 0.0:
            return image.copy()
        out = self._apply(image, params, depth)
        return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)

    def parse_params(self, params: DegradationParams | dict) -> DegradationParams:
        if isinstance(params, self.Params):
            return params
        if isinstance(params, dict):
            return self.Params.model_validate(params)
        raise InvalidInputError(f"{self.name}: expected {self.Params.__name__}, got {type(params).__name__}")

    def __call__(
        self, image: np.ndarray, severity: float, rng: np.random.Generator | int | None = None
    ) -> tuple[np.ndarray, DegradationParams]:
        """Sample and apply in one go; returns the degraded image and the parameters used."""
        severity = check_severity(severity)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        params = self.sample(rng, severity)
        return self.apply(image, params), params

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, stage={self.stage!r})"


def check_severity(severity: float) -> float:
    if not 0.0 <= float(severity) <= 1.0:
        raise InvalidInputError(f"severity must lie in [0, 1], got {severity}")
    return float(severity)


def seed_from(rng: np.random.Generator) -> int:
    """A 31-bit seed drawn from ``rng`` for a noise realisation stored in the parameters."""
    return int(rng.integers(0, 2**31 - 1))
