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
from mosaicir.runtime.tiling import feather_ramp

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
        height, width = image.shape[:2]
        pad_h, pad_w = (-height) % self.multiple, (-width) % self.multiple
        if pad_h or pad_w:
            image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect" if min(height, width) > 32 else "edge")
        session = self.session()
        batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
        (maps,) = session.run(None, {session.get_inputs()[0].name: batch})
        return np.ascontiguousarray(maps[0][:, : -(-height // self.cell), : -(-width // self.cell)])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        if max(height, width) <= TILE:
            return self._run(image)
        cell = self.cell
        out = np.zeros((16, -(-height // cell), -(-width // cell)), np.float32)
        weight = np.zeros(out.shape[1:], np.float32)
        step = TILE - TILE_OVERLAP
        for y in range(0, max(height - TILE_OVERLAP, 1), step):
            for x in range(0, max(width - TILE_OVERLAP, 1), step):
                tile = image[y:y + TILE, x:x + TILE]
                cells = self._run(tile)
                cy, cx = y // cell, x // cell
                h, w = cells.shape[1:]
                ramp_y = feather_ramp(h, TILE_OVERLAP // cell // 2, y == 0, y + TILE >= height)
                ramp_x = feather_ramp(w, TILE_OVERLAP // cell // 2, x == 0, x + TILE >= width)
                wt = ramp_y[:, None] * ramp_x[None, :]
                out[:, cy:cy + h, cx:cx + w] += cells * wt
                weight[cy:cy + h, cx:cx + w] += wt
        return out / np.maximum(weight, 1e-6)


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
