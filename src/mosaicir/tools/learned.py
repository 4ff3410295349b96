"""Tools backed by small ONNX networks (trained by ``train/restorers.py``), run with ONNX Runtime.

Weights load lazily on first use from ``mosaicir/models/<file>``; large images are processed in
overlapping, feathered tiles so that memory stays bounded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from mosaicir.runtime.onnx import models_dir, onnx_session
from mosaicir.runtime.tiling import pad_to_multiple, process_tiled
from mosaicir.tools.base import Tool, ToolParams

#: Images of more pixels than this also go through a tool's ``refine`` step in overlapping tiles
#: of ``REFINE_TILE`` px (the step is local), so that its full-size temporaries stay bounded on
#: large photographs (the chroma step of ``dejpeg_unet`` took 2 GB on a 24 MP frame at once).
REFINE_TILE_PIXELS = 8_000_000
REFINE_TILE = 2048


def self_ensemble(run_network: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``run_network`` (``H x W x 3 -> H x W x 3``) averaged over the eight flips and quarter turns
    of its input (geometric self-ensemble): a little more accurate, eight times slower."""

    def averaged(image: np.ndarray) -> np.ndarray:
        total = np.zeros_like(image)
        for turns in range(4):
            for flip in (False, True):
                view = np.rot90(image[:, ::-1] if flip else image, turns)
                restored = np.rot90(run_network(np.ascontiguousarray(view)), -turns)
                total += restored[:, ::-1] if flip else restored
        return total / np.float32(8.0)

    return averaged


class NetworkParams(ToolParams):
    strength: float = Field(1.0, ge=0.0, le=1.0, description="blend of the network's output with the input")


class OnnxRestorer(Tool):
    """Base of the learned tools: a residual network ``1 x 3 x H x W -> 1 x 3 x H x W`` in [0, 1]."""

    Params = NetworkParams
    learned = True
    model_file: ClassVar[str]
    tile: ClassVar[int] = 512
    overlap: ClassVar[int] = 32
    #: overlap of the tiles ``refine`` runs on above ``REFINE_TILE_PIXELS`` (at least twice its reach)
    refine_overlap: ClassVar[int] = 64

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self._session = None

    @property
    def model_path(self) -> Path:
        return self._model_path or models_dir() / self.model_file

    def session(self):
        """The ONNX Runtime session, created on first use."""
        if self._session is None:
            self._session = onnx_session(self.model_path)
        return self._session

    def run_network(self, image: np.ndarray) -> np.ndarray:
        padded, (height, width) = pad_to_multiple(image, 16)
        session = self.session()
        batch = np.ascontiguousarray(padded.transpose(2, 0, 1)[None])
        (restored,) = session.run(None, {session.get_inputs()[0].name: batch})
        return restored[0].transpose(1, 2, 0)[:height, :width]

    def refine(self, restored: np.ndarray, params: NetworkParams) -> np.ndarray:
        """A step after the network, on the restored image (none here; subclasses add one). It
        must be local (each pixel from a window of at most ``refine_overlap / 2`` px around it):
        images of more than ``REFINE_TILE_PIXELS`` go through it in overlapping tiles."""
        return restored

    def _apply(self, image: np.ndarray, params: NetworkParams) -> np.ndarray:
        restored = process_tiled(image, self.run_network, tile=self.tile, overlap=self.overlap)
        if type(self).refine is not OnnxRestorer.refine:
            if image.shape[0] * image.shape[1] > REFINE_TILE_PIXELS:
                restored = process_tiled(restored, lambda part: self.refine(part, params), tile=REFINE_TILE,
                                         overlap=self.refine_overlap)
            else:
                restored = self.refine(restored, params)
        if params.strength >= 1.0:
            return restored
        return image + np.float32(params.strength) * (restored - image)


def onnx_tool(name: str, targets: tuple[str, ...], model_path: str | os.PathLike[str], cost: float = 2.0) -> OnnxRestorer:
    """Make a tool from any ONNX restoration network with the same input/output contract, e.g.
    for a plug-in: ``entry_points={"mosaicir.tools": ["mynet = mypkg:make_tool"]}``."""
    cls = type(f"Onnx_{name}", (OnnxRestorer,), {"name": name, "targets": targets, "model_file": Path(model_path).name,
                                                   "seconds_per_megapixel": cost, "__doc__": f"ONNX network {name}."})
    return cls(model_path)
