"""Tools backed by small ONNX networks (trained by ``train/restorers.py``), run with ONNX Runtime.

Weights load lazily on first use from ``mosaicir/models/<file>``; large images are processed in
overlapping, feathered tiles so that memory stays bounded.
"""

from __future__ import annotations

import functools
import os
import threading
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from mosaicir.core.errors import MosaicirError
from mosaicir.tools.base import Tool, ToolParams
from mosaicir.tools.tiling import pad_to_multiple, process_tiled

_SESSION_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _cached_session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, os.cpu_count() or 1)
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def onnx_session(path: Path, recipe: str = "train/restorers.py"):
    """The ONNX Runtime session of a weight file (one per file and process, created on first use)."""
    if not Path(path).is_file():
        raise MosaicirError(f"weights {path} are missing; train them with {recipe}")
    with _SESSION_LOCK:
        return _cached_session(str(path))


def models_dir() -> Path:
    """Folder of the shipped ONNX weights."""
    return Path(str(files("mosaicir") / "models"))


class NetworkParams(ToolParams):
    strength: float = Field(1.0, ge=0.0, le=1.0, description="blend of the network's output with the input")


class OnnxRestorer(Tool):
    """Base of the learned tools: a residual network ``1 x 3 x H x W -> 1 x 3 x H x W`` in [0, 1]."""

    Params = NetworkParams
    learned = True
    model_file: ClassVar[str]
    tile: ClassVar[int] = 512
    overlap: ClassVar[int] = 32

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
        """A step after the network, on the whole restored image (none here; subclasses add one)."""
        return restored

    def _apply(self, image: np.ndarray, params: NetworkParams) -> np.ndarray:
        restored = self.refine(process_tiled(image, self.run_network, tile=self.tile, overlap=self.overlap), params)
        if params.strength >= 1.0:
            return restored
        return image + np.float32(params.strength) * (restored - image)


def onnx_tool(name: str, targets: tuple[str, ...], model_path: str | os.PathLike[str], cost: float = 2.0) -> OnnxRestorer:
    """Make a tool from any ONNX restoration network with the same input/output contract, e.g.
    for a plug-in: ``entry_points={"mosaicir.tools": ["mynet = mypkg:make_tool"]}``."""
    cls = type(f"Onnx_{name}", (OnnxRestorer,), {"name": name, "targets": targets, "model_file": Path(model_path).name,
                                                   "seconds_per_megapixel": cost, "__doc__": f"ONNX network {name}."})
    return cls(model_path)
