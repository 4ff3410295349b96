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
#: Images of more pixels than this also go through a tool's ``refine`` step in overlapping tiles
#: of ``REFINE_TILE`` px (the step is local), so that its full-size temporaries stay bounded on
#: large photographs (the chroma step of ``dejpeg_unet`` took 2 GB on a 24 MP frame at once).
REFINE_TILE_PIXELS = 8_000_000
REFINE_TILE = 2048


@functools.lru_cache(maxsize=None)
def _shared_arena() -> bool:
    """Register one CPU memory arena for every session of the process (True when it could be).

    Each session's own arena keeps the activations of the largest tile it has run for the rest of
    the process (about 230 MB per network: 1.4 GB once six networks have run); one shared arena
    holds that of the largest alone. The outputs are the same bits, and it is as fast."""
    import onnxruntime as ort

    try:
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
    except Exception:  # an older runtime, or one registered already by the host: each session keeps its own
        return False
    return True


@functools.lru_cache(maxsize=None)
def _cached_session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, os.cpu_count() or 1)
    options.log_severity_level = 3
    if _shared_arena():
        options.add_session_config_entry("session.use_env_allocators", "1")
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
