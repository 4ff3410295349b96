"""Contract tests generated from the tool registry: every registered tool is checked for shape,
dtype, range, determinism, a real gain on its own degradation, and restraint on clean input."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import skimage.data

from mosaicir.core.errors import UnknownNameError
from mosaicir.core.image import psnr
from mosaicir.core.names import DEGRADATIONS
from mosaicir.core.registry import Registry
from mosaicir.degrade import get_degradation
from mosaicir.tools import TOOL_REGISTRY, get_tool, tools_for
from mosaicir.runtime.tiling import process_tiled
from helpers import resized
from tool_contract import check_contract, check_gain, check_param_space, check_restraint

TOOLS = TOOL_REGISTRY.names()


@pytest.fixture(scope="module")
def fixture_image() -> np.ndarray:
    """``float32 192 x 192 x 3``: the astronaut, a well-exposed photograph with edges and texture."""
    return (cv2.resize(skimage.data.astronaut(), (192, 192), interpolation=cv2.INTER_AREA) / 255.0).astype(np.float32)


def test_every_degradation_has_two_tools_one_learned_for_five():
    for name in DEGRADATIONS:
        assert len(tools_for(name, include_slow=True)) >= 2, name
    learned = {d for t in TOOLS for d in get_tool(t).targets if get_tool(t).learned}
    assert len(learned) >= 5


@pytest.mark.parametrize("name", TOOLS)
def test_contract(name, fixture_image):
    check_contract(get_tool(name), fixture_image)


@pytest.mark.parametrize("name", TOOLS)
def test_real_gain_on_own_degradation(name, fixture_image):
    check_gain(get_tool(name), fixture_image)


@pytest.mark.parametrize("name", [n for n in TOOLS if get_tool(n).default])
def test_default_tools_change_little_on_clean_input(name, fixture_image):
    check_restraint(get_tool(name), fixture_image)


@pytest.mark.parametrize("name", TOOLS)
def test_param_space_has_ranges(name):
    check_param_space(get_tool(name))


def test_unknown_tool_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'nl_means'"):
        get_tool("nlmeans")


def test_tiling_has_no_seams():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.random((300, 420, 3), dtype=np.float32), (0, 0), 3)
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), 1.5)
    whole = blur(image)
    tiled = process_tiled(image, blur, tile=128, overlap=32)
    assert np.abs(tiled - whole)[8:-8, 8:-8].max() < 2e-3
    assert np.allclose(process_tiled(image, lambda x: x, tile=128, overlap=32), image, atol=1e-6)


def test_tiles_keep_their_phase_and_may_shrink_the_grid():
    """Every tile origin is aligned (the 8x8 JPEG grid keeps its phase); with ``scale`` the tiles
    map to a coarser grid (perception's cells) and blend to what the whole image gives."""
    rng = np.random.default_rng(1)
    image = rng.random((300, 420, 3), dtype=np.float32)

    def cells(tile):  # the mean of each 8 x 8 cell (the border ones padded)
        padded = np.pad(tile, ((0, -tile.shape[0] % 8), (0, -tile.shape[1] % 8), (0, 0)), mode="edge")
        return padded.reshape(padded.shape[0] // 8, 8, padded.shape[1] // 8, 8, 3).mean(axis=(1, 3))

    whole = cells(image)
    tiled = process_tiled(image, cells, tile=128, overlap=32, align=32, scale=8)
    assert tiled.shape == whole.shape == (38, 53, 3)
    # tiles on the 8-px grid: the area average of each cell is the same whatever the tile
    assert np.abs(tiled - whole).max() < 1e-5
    rows, cols = np.mgrid[0:300, 0:420].astype(np.float32)
    where = np.dstack([rows, cols, rows])  # each pixel holds its own position
    seen = []
    process_tiled(where, lambda tile: seen.append((int(tile[0, 0, 0]), int(tile[0, 0, 1]))) or tile, tile=128, overlap=32)
    assert all(y % 16 == 0 and x % 16 == 0 for y, x in seen)
    assert {y for y, _ in seen} == {0, 96, 176} and max(x for _, x in seen) == 304  # the last ones reach the border
    with pytest.raises(ValueError, match="multiple of the scale"):
        process_tiled(image, cells, tile=128, overlap=32, align=12, scale=8)


def test_learned_tool_tiles_like_whole(fixture_image):
    tool = get_tool("denoise_unet")
    noisy, _ = get_degradation("noise")(fixture_image, 0.5, np.random.default_rng(0))
    big = np.concatenate([noisy, noisy[:, ::-1]], axis=1)
    whole = tool.run_network(big)
    tool_small = type(tool)()
    tool_small.tile, tool_small.overlap = 128, 32
    tiled = tool_small.apply(big)
    assert psnr(whole, tiled) > 35.0


def test_entry_point_plugins(monkeypatch):
    class FakeEntryPoint:
        name, value = "my_tool", "fake:MyTool"

        def load(self):
            return get_tool("deblock")

    import mosaicir.core.registry as registry_module

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [FakeEntryPoint()] if group == "g" else [])
    registry: Registry = Registry("tool", "g")
    assert registry.get("my_tool").name == "deblock"


def test_tools_list_cli():
    result = subprocess.run([sys.executable, "-m", "mosaicir", "tools", "list", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = {entry["name"] for entry in json.loads(result.stdout)}
    assert names == set(TOOLS)


@pytest.mark.parametrize("length,angle", [(12.5, 30.0), (18.0, 120.0)])
def test_spectral_motion_estimate(length, angle):
    from mosaicir.estimators.kernels import convolve, motion_kernel
    from mosaicir.tools.blur import MOTION_MIN_LENGTH, estimate_motion

    sharp = (cv2.resize(skimage.data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA) / 255.0).astype(np.float32)
    blurred = convolve(sharp, motion_kernel(length, angle, 0.4 * length))
    got_length, got_angle, confidence = estimate_motion(blurred)
    assert abs((got_angle - angle + 90) % 180 - 90) < 10, got_angle
    assert abs(got_length - length) <= 0.25 * length and confidence > 0, got_length
    assert estimate_motion(sharp)[0] < MOTION_MIN_LENGTH  # a sharp photograph reads as (almost) no motion


def test_tv_deconvolution_beats_wiener_with_the_true_kernel(fixture_image):
    from mosaicir.estimators.kernels import convolve, motion_kernel
    from mosaicir.tools.blur import tv_deconvolve, wiener_deconvolve

    kernel = motion_kernel(11.0, 60.0, 4.4)
    blurred = np.round(convolve(fixture_image, kernel) * 255) / 255  # 8-bit, as stored
    tv = psnr(fixture_image, np.clip(tv_deconvolve(blurred, kernel), 0, 1))
    wiener = psnr(fixture_image, np.clip(wiener_deconvolve(blurred, kernel, 0.02), 0, 1))
    assert tv > wiener > psnr(fixture_image, blurred), (tv, wiener)


def test_dehaze_veil_bound_spares_bright_clean_content():
    # bright, washed-out bands (a white wall, an overcast sky) between bands of ordinary content
    # with shadows: no veil can lift the bright bands more than the shadows next to them
    scene = resized(skimage.data.coffee(), 192, 192)
    bands = (np.arange(192) // 24) % 3 != 0
    scene[:, bands] = scene[:, bands] * 0.35 + 0.6
    tool = get_tool("dark_channel")
    assert np.array_equal(tool.apply(scene), scene)  # its shadows are not lifted: no haze at all
    scene = scene * 0.6 + 0.35  # a veil over everything: now the bound decides
    bounded = psnr(scene, tool.apply(scene, {"veil_window": 61}))
    unbounded = psnr(scene, tool.apply(scene, {"veil_window": 0}))
    assert bounded > unbounded + 3.0, (bounded, unbounded)


def test_chroma_from_luma_restores_colour_edges_that_follow_luma_edges():
    from mosaicir.tools.jpeg import chroma_from_luma

    rng = np.random.default_rng(0)
    # colour patches whose borders are also luminance borders, as in most photographs
    blocks = rng.uniform(0.1, 0.9, size=(6, 6, 3)).astype(np.float32)
    clean = cv2.resize(blocks, (120, 120), interpolation=cv2.INTER_NEAREST)
    degraded, _ = get_degradation("jpeg")(clean, 0.5, rng)
    ycc = lambda x: cv2.cvtColor(x, cv2.COLOR_RGB2YCrCb)[:, :, 1:]
    restored = chroma_from_luma(degraded)
    assert restored.dtype == np.float32 and restored.shape == clean.shape
    assert np.abs(ycc(restored) - ycc(clean)).mean() < 0.85 * np.abs(ycc(degraded) - ycc(clean)).mean()
    flat = np.full((32, 32, 3), (0.7, 0.4, 0.2), np.float32)
    np.testing.assert_allclose(chroma_from_luma(flat), flat, atol=1e-3)


def test_wiener_defocus_leaves_directional_blur_alone(fixture_image):
    tool = get_tool("wiener_defocus")
    moved, _ = get_degradation("motion_blur")(fixture_image, 0.5, np.random.default_rng(0))
    assert np.array_equal(tool.apply(moved, tool.params_for(0.5)), moved)
    forced = tool.apply(moved, tool.params_for(0.5).model_copy(update={"motion_check": False}))
    assert psnr(fixture_image, forced) < psnr(fixture_image, moved)  # what the check spares
    defocused, _ = get_degradation("defocus_blur")(fixture_image, 0.5, np.random.default_rng(0))
    assert psnr(fixture_image, tool.apply(defocused, tool.params_for(0.5))) > psnr(fixture_image, defocused) + 1.0


def test_wiener_defocus_caps_a_planned_radius_by_the_blur_shown(fixture_image):
    from mosaicir.estimators.kernels import convolve, disk_kernel

    tool = get_tool("wiener_defocus")
    # a sharp frame planned as strongly defocused: left unchanged
    assert np.array_equal(tool.apply(fixture_image, {"radius": 4.0}), fixture_image)
    # a disk of 2 px planned at 2.6: the cap keeps the gain the planned disk throws away
    blurred = np.clip(convolve(fixture_image, disk_kernel(2.0)), 0.0, 1.0).astype(np.float32)
    capped = psnr(fixture_image, tool.apply(blurred, {"radius": 2.6}))
    planned = psnr(fixture_image, tool.apply(blurred, {"radius": 2.6, "capped": False}))
    assert capped > planned + 1.0 and capped > psnr(fixture_image, blurred) + 1.0


def test_dehaze_needs_a_veil_over_every_neighbourhood():
    # washed-out texture (as blur leaves colourful detail) with small shadows every 40 px: its
    # 15-px dark channel is high, but no veil lifts the shadows, so this is not haze
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.uniform(0.35, 0.85, size=(192, 192, 3)).astype(np.float32), (0, 0), 1.5)
    scene[20::40, 20::40] = 0.02
    scene = cv2.dilate(1.0 - scene, np.ones((3, 3), np.uint8))
    scene = np.ascontiguousarray(1.0 - scene)
    tool = get_tool("dark_channel")
    assert np.array_equal(tool.apply(scene), scene)
    hazy, _ = get_degradation("haze")(scene, 0.5, np.random.default_rng(1))
    assert psnr(scene, tool.apply(hazy)) > psnr(scene, hazy) + 1.5


def test_self_ensemble_is_equivariant_to_flips_and_quarter_turns():
    """The average over the eight views turns and flips with its input, even for a network that
    does not (here a shift down and to the right), and leaves an identity unchanged."""
    from mosaicir.tools.learned import self_ensemble

    image = np.random.default_rng(0).random((6, 9, 3), dtype=np.float32)
    assert np.allclose(self_ensemble(lambda x: x.copy())(image), image)
    lopsided = self_ensemble(lambda x: np.roll(x, (1, 2), axis=(0, 1)))
    assert not np.allclose(lopsided(image), np.roll(image, (1, 2), axis=(0, 1)))
    assert np.allclose(lopsided(np.rot90(image)), np.rot90(lopsided(image)), atol=1e-5)
    assert np.allclose(lopsided(image[:, ::-1]), lopsided(image)[:, ::-1], atol=1e-5)
