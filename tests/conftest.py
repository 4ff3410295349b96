"""Shared fixtures: small images made from the bundled samples (never from shared data)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data


def _small(image: np.ndarray, side: int) -> np.ndarray:
    image = image.astype(np.float32) / 255.0
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA).clip(0, 1))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """``float32 128 x 128 x 3`` in [0, 1]."""
    return _small(skimage.data.astronaut(), 128)


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    return _small(skimage.data.coffee(), 128)


@pytest.fixture(scope="session")
def bundled_pair(astronaut, coffee) -> list[np.ndarray]:
    return [astronaut, coffee]


@pytest.fixture(autouse=True)
def private_memory(tmp_path_factory, monkeypatch):
    """Keep the plan memory of every test (and of the commands it runs) out of the user's folder."""
    monkeypatch.setenv("MOSAICIR_HOME", str(tmp_path_factory.mktemp("mosaicir-home")))
