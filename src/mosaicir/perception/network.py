"""The learned map network (``perception_mapnet``, trained by ``train/perception.py``), run with
ONNX Runtime, and its calibration (presence thresholds, method chosen per degradation)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from mosaicir.core.errors import MosaicirError
from mosaicir.runtime.onnx import models_dir, onnx_session
from mosaicir.runtime.tiling import pad_to_multiple, process_tiled

MODEL_NAME = "perception_mapnet"
#: Longest side processed in one pass; larger images go through in overlapping tiles.
TILE = 1024
TILE_OVERLAP = 128


class MapNetwork:
    """ONNX perception network: ``float32 H x W x 3`` -> ``float32 16 x ceil(H/8) x ceil(W/8)``:
    the presence probability of the eight degradations, then their severity.

    The image is padded at the bottom and right only (to a multiple of 32, by reflection), so the
    8 x 8 grid of JPEG blocks stays in phase with the network's cells.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None) -> None:
        self.model_path = Path(model_path) if model_path is not None else models_dir() / f"{MODEL_NAME}.onnx"
        self._session = None
        self.cell = 8
        self.multiple = 32  # the network's coarsest stride

    def session(self):
        if self._session is None:
            self._session = onnx_session(self.model_path, "train/perception.py")
        return self._session

    def _run(self, image: np.ndarray) -> np.ndarray:
        """``h x w x 3`` -> ``ceil(h/8) x ceil(w/8) x 16`` in one pass."""
        height, width = image.shape[:2]
        padded, _ = pad_to_multiple(image, self.multiple)
        session = self.session()
        batch = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        (maps,) = session.run(None, {session.get_inputs()[0].name: batch})
        return maps[0][:, : -(-height // self.cell), : -(-width // self.cell)].transpose(1, 2, 0)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        # tiles on the network's coarsest grid keep every tile's cells and JPEG blocks in phase
        cells = process_tiled(image, self._run, tile=TILE, overlap=TILE_OVERLAP, align=self.multiple, scale=self.cell)
        return np.ascontiguousarray(cells.transpose(2, 0, 1))


@lru_cache(maxsize=4)
def load_calibration(path: str | None = None) -> dict:
    """``{"thresholds": {"learned": {...}, "classical": {...}}, "choice": {name: method}, ...}``."""
    file = Path(path) if path else models_dir() / f"{MODEL_NAME}.json"
    try:
        return json.loads(file.read_text())
    except FileNotFoundError:
        raise MosaicirError(f"perception calibration {file} is missing; train it with train/perception.py") from None


@lru_cache(maxsize=4)
def default_network(path: str | None = None) -> MapNetwork:
    return MapNetwork(path)
