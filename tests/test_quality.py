"""No-reference quality: NIQE ranks degraded images below clean ones, artifact checks fire on
the artifacts they name, the score rewards removing a degradation."""

import cv2
import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized

from mosaicir.agents import QualityAgent
from mosaicir.quality import artifact_penalty, artifacts, niqe, remaining_degradation


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return resized(skimage.data.astronaut(), 256, 256)



@pytest.mark.parametrize("name", ["noise", "defocus_blur", "motion_blur", "low_resolution"])
def test_niqe_prefers_the_clean_image(scene, name):
    assert niqe(degrade(scene, name, 0.6)) > niqe(scene) + 0.5


def test_niqe_of_a_tiny_image_is_nan():
    assert np.isnan(niqe(np.full((40, 40, 3), 0.5, np.float32)))


def test_artifact_checks(scene):
    none = artifacts(scene, scene)
    assert none == {"colour_shift": 0.0, "halo": 0.0, "over_smoothing": 0.0}
    tinted = np.clip(scene * np.array([1.2, 1.0, 0.8], np.float32), 0, 1)
    assert artifacts(scene, tinted)["colour_shift"] > 6.0
    smooth = cv2.GaussianBlur(scene, (0, 0), 3.0)
    assert artifacts(scene, smooth)["over_smoothing"] > 0.5
    sharpened = np.clip(scene + 3.0 * (scene - cv2.GaussianBlur(scene, (0, 0), 2.0)), 0, 1)
    assert artifacts(scene, sharpened)["halo"] > 0.01
    assert artifact_penalty(artifacts(scene, smooth), ["defocus_blur"]) > 0
    assert artifact_penalty(artifacts(scene, smooth), ["noise"]) == 0  # denoising may smooth


def test_remaining_degradation_and_verdicts(scene):
    noisy = degrade(scene, "noise", 0.6)
    assert remaining_degradation(noisy)["noise"] > remaining_degradation(scene)["noise"] + 0.3
    agent = QualityAgent()
    good = agent.judge(noisy, cv2.bilateralFilter(noisy, 9, 0.15, 3), None, ["noise"])
    assert good.decision == "accept" and good.naturalness is not None
    bad = agent.judge(scene, np.clip(scene * 0.4, 0, 1), None, ["noise"])
    assert bad.decision == "rollback"
