"""Big photographs in bounded memory, exercised on small images with low thresholds: quality on a
sample of windows, the preview of a whole-frame pass, tiled refinement, banded conversions, the
pixel limit set by memory (docs/BIG.md)."""

import hashlib

import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized

from mosaicir.agents import Coordinator, QualityAgent, RestoreConfig
from mosaicir.core.errors import ImageReadError, InvalidInputError
from mosaicir.core.image import psnr
from mosaicir.perception import perceive
from mosaicir.quality.sample import SAMPLE_SHARE, WINDOW, central_box, sample_windows
from mosaicir.regions import decompose
from mosaicir.trajectory import image_hash, replay

#: One window: images above it are judged on windows (the paths of a 24 MP photograph).
LOW = WINDOW * WINDOW


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return resized(skimage.data.chelsea(), 640, 480)


@pytest.fixture(scope="module")
def half_noisy(scene) -> np.ndarray:
    out = scene.copy()
    out[:, :320] = degrade(scene, "noise", 0.6)[:, :320]
    return out


def test_windows_cover_the_weighted_part_on_the_jpeg_grid():
    assert sample_windows((1000, 1000), limit=1_000_000) is None
    boxes = sample_windows((4000, 6000))
    assert 1 <= len(boxes) <= SAMPLE_SHARE * 4_000_000 // WINDOW**2
    assert all(t % 16 == 0 and l % 16 == 0 and b <= 4000 and r <= 6000 for t, l, b, r in boxes)
    rows, cols = {t for t, *_ in boxes}, {l for _, l, *_ in boxes}
    assert len(rows) >= 4 and len(cols) >= 4  # spread in both directions
    weight = np.zeros((4000, 6000), np.float32)
    weight[2000:, :3000] = 1.0
    assert all(t >= 1920 - WINDOW and r <= 3000 + WINDOW for t, l, b, r in sample_windows((4000, 6000), weight))
    assert sample_windows((4000, 6000), weight) == sample_windows((4000, 6000), weight)  # deterministic
    top, left, bottom, right = central_box((4000, 6000))
    assert (bottom - top) * (right - left) <= SAMPLE_SHARE * 4_000_000 and top % 16 == 0 and left % 16 == 0
    assert central_box((100, 100)) is None


def test_quality_on_windows_agrees_with_the_whole(half_noisy, scene):
    whole, sampled = QualityAgent(), QualityAgent(measure_pixels=LOW)
    assert sampled.windows(half_noisy) is not None and whole.windows(half_noisy) is None
    denoised = half_noisy.copy()
    denoised[:, :320] = scene[:, :320]
    for agent in (whole, sampled):
        before, remaining = agent.score(half_noisy)
        verdict = agent.judge(half_noisy, denoised, None, ["noise"], score_before=before)
        assert remaining["noise"] > 0.05 and verdict.remaining["noise"] < remaining["noise"]
        assert verdict.decision == "accept"
    # the windows read the noise of the part of the frame they cover: scaled by the noisy share they
    # hold against the frame's (the left 320 columns are noisy), the two readings agree
    boxes = sampled.windows(half_noisy)
    covered = sum((b - t) * max(0, min(r, 320) - l) for t, l, b, r in boxes) / sum((b - t) * (r - l) for t, l, b, r in boxes)
    expected = whole.score(half_noisy)[1]["noise"] * covered / 0.5
    assert abs(sampled.score(half_noisy)[1]["noise"] - expected) < 0.05


def test_a_big_frame_restores_like_a_small_one_and_replays(half_noisy, scene):
    """With a low ``measure_pixels`` the restore takes every path of a 24 MP photograph (windows in
    the quality agent and the final check, the derainer's test on the centre of the frame first)
    and restores the noisy half as well as the whole-image path does."""
    config = RestoreConfig(memory=False, workers=1, measure_pixels=LOW)
    result = Coordinator(config).run(half_noisy)
    steps = result.trajectory.steps
    assert "denoise_unet" in [s.tool for s in steps if s.kind == "decision" and s.decision == "accept"]
    assert psnr(scene[:, :260], result.image[:, :260]) > psnr(scene[:, :260], half_noisy[:, :260]) + 3.0
    assert psnr(scene[:, 400:], result.image[:, 400:]) > 30.0
    # the pass tried on every photograph judged the derainer on the frame's centre, not run on all of it
    top, left, bottom, right = central_box(half_noisy.shape[:2], LOW)
    rain_calls = [s for s in steps if s.kind == "tool_call" and s.tool == "derain_unet"]
    assert rain_calls and rain_calls[0].input == image_hash(result.image[top:bottom, left:right])  # after the regions
    rain = next(s for s in steps if s.kind == "decision" and s.tool == "derain_unet")
    assert rain.decision == "rollback" and "centre of the frame" in rain.reason
    assert next(s for s in steps if s.kind == "final_check").kept
    np.testing.assert_array_equal(replay(result.trajectory, half_noisy), result.image)


def test_decompose_leaves_out_specks_before_making_their_masks(half_noisy):
    maps = perceive(half_noisy)
    every = decompose(maps)
    large = decompose(maps, min_area=0.06)
    facts = lambda regions: [(r.id, r.bbox, r.signature, r.area) for r in regions if r.area >= 0.06]
    assert facts(large) == facts(every) and len(large) <= len(every)


def test_refine_runs_in_tiles_above_its_threshold(scene, monkeypatch):
    import mosaicir.tools.learned as learned
    from mosaicir.tools import get_tool

    tool = get_tool("dejpeg_unet")
    blocky = degrade(scene, "jpeg", 0.7)
    whole = tool.apply(blocky)
    monkeypatch.setattr(learned, "REFINE_TILE_PIXELS", 100_000)
    monkeypatch.setattr(learned, "REFINE_TILE", 256)
    tiled = tool.apply(blocky)
    assert np.abs(tiled - whole).max() < 2e-3  # the same step, no seams


def test_non_local_means_runs_in_tiles_above_its_threshold(scene, monkeypatch):
    import mosaicir.tools.noise as noise
    from mosaicir.tools import get_tool

    tool = get_tool("nl_means")
    noisy = degrade(scene, "noise", 0.4)
    params = {"sigma": 20.0}  # one sigma for both, as a large frame estimates it once
    whole = tool.apply(noisy, params)
    monkeypatch.setattr(noise, "NLMEANS_TILE_PIXELS", 20_000)
    monkeypatch.setattr(noise, "NLMEANS_TILE", 96)
    tiled = tool.apply(noisy, params)
    # the same step: tiles differ only within 8 px of their borders, which the blend weighs little
    assert np.abs(tiled - whole).max() < 2.0 / 255 and psnr(whole, tiled) > 55.0
    assert psnr(scene, tool.apply(noisy)) > psnr(scene, noisy) + 3.0  # the sigma estimated on the centre


def test_banded_hash_and_quantisation_give_the_same_bytes(tmp_path, monkeypatch):
    import mosaicir.io.images as images

    image = np.random.default_rng(0).random((301, 257, 3), dtype=np.float32)
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    expected = "sha256:" + hashlib.sha256(str(image.shape).encode() + pixels.tobytes()).hexdigest()[:16]
    assert image_hash(image) == expected
    whole = images.save_image(tmp_path / "whole.png", image).read_bytes()
    monkeypatch.setattr(images, "_QUANTIZE_ROWS", 7)
    assert images.save_image(tmp_path / "bands.png", image).read_bytes() == whole


def test_the_pixel_limit_is_set_by_memory(tmp_path, monkeypatch):
    import mosaicir
    import mosaicir.io.memory as memory

    assert memory.restore_max_pixels(8 * 2**30) < memory.restore_max_pixels(32 * 2**30)
    assert memory.restore_memory(memory.restore_max_pixels(16 * 2**30)) <= memory.MEMORY_SHARE * 16 * 2**30
    path = tmp_path / "photo.png"
    mosaicir.io.save_image(path, np.zeros((64, 64, 3), np.float32))
    monkeypatch.setattr(memory, "restore_max_pixels", lambda memory=None: 1000)
    with pytest.raises(ImageReadError, match="bytes per pixel"):
        mosaicir.restore(path)
    with pytest.raises(InvalidInputError, match="exceeds the limit"):
        mosaicir.restore(np.zeros((64, 64, 3), np.float32))
    assert mosaicir.restore(path, max_pixels=64 * 64, strategy="none").image.shape == (64, 64, 3)
