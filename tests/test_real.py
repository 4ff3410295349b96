"""Do no harm on photographs unlike our synthetic degradations: the physical tests that decide a
step (a grey veil, a short exposure, what a derainer removed), and the quality agent deciding on a
tool's own evidence. Images are made here from the bundled samples, never from shared data."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from helpers import degrade, resized
from mosaicir.agents import Coordinator, RestoreConfig
from mosaicir.agents.quality import STRONG_EVIDENCE, QualityAgent
from mosaicir.core.image import psnr
from mosaicir.tools import get_tool
from mosaicir.tools.haze import haze_evidence, veil_colour_spread
from mosaicir.estimators.exposure import colour_noise, short_exposure
from mosaicir.tools.learned import OnnxRestorer
from mosaicir.tools.rain import half_scale_rain_evidence, rain_evidence, streak_evidence


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return resized(skimage.data.chelsea(), 256, 192)


def warm_close_up(shape=(192, 256)) -> np.ndarray:
    """A beige surface filling the frame, softly textured: bright, low contrast, dark channel high
    everywhere, like the close-ups the dark channel alone takes for dense haze."""
    rng = np.random.default_rng(0)
    texture = np.cumsum(rng.normal(0, 0.004, shape), axis=1).astype(np.float32)
    base = np.array([0.85, 0.74, 0.58], np.float32)
    return np.clip(base + texture[..., None] - texture.mean(), 0, 1).astype(np.float32)


def test_a_grey_veil_is_haze_and_a_warm_close_up_is_not(scene):
    hazy = np.float32(0.4) * scene + np.float32(0.6 * 0.9)  # a dense grey veil over the whole frame
    assert veil_colour_spread(hazy) < 0.2
    assert haze_evidence(hazy) > 0.5
    close_up = warm_close_up()
    assert veil_colour_spread(close_up) > 0.3
    assert haze_evidence(close_up) == 0.0
    tool = get_tool("dark_channel")
    np.testing.assert_array_equal(tool.apply(close_up), close_up)  # its own test finds no haze
    assert tool.evidence(hazy, tool.apply(hazy)) > STRONG_EVIDENCE


def short_exposure_of(scene: np.ndarray, seed: int = 0) -> np.ndarray:
    """The scene at about an eighth of its exposure with per-channel shot noise (few photons)."""
    rng = np.random.default_rng(seed)
    dark = scene * np.float32(0.11)
    return np.clip(dark + rng.normal(0, 1, dark.shape).astype(np.float32) * np.sqrt(dark / 600.0 + 1e-6), 0, 1).astype(np.float32)


def test_a_short_exposure_is_told_from_a_dark_photograph(scene):
    short = short_exposure_of(scene)
    assert colour_noise(short) >= 0.02 and short_exposure(short)
    # the same darkness with the colour smoothed (a camera JPEG of a dim scene): left alone
    smooth = scene * np.float32(0.11)
    assert not short_exposure(smooth)
    # a dark photograph with its lights: not a short exposure either
    lit = short.copy()
    lit[:40, :40] = 1.0
    assert not short_exposure(lit)


@pytest.mark.parametrize("strategy", ["global", "spatial"])
def test_a_short_exposure_is_brought_back_by_an_exposure_gain(scene, strategy):
    short = short_exposure_of(scene)
    result = Coordinator(RestoreConfig(strategy=strategy, memory=False)).run(short)
    assert psnr(scene, result.image) > psnr(scene, short) + 8.0
    accepted = [s for s in result.trajectory.steps if s.kind == "decision" and s.decision == "accept"]
    gain = [s for s in accepted if s.tool == "adaptive_gamma"]
    assert gain and "own test" in gain[0].reason


def test_a_frame_with_nothing_near_white_is_stretched_only_on_the_quality_agents_word(scene):
    gamma = get_tool("adaptive_gamma")
    # exposure halved: nothing above 0.5, but no short exposure's colour noise; a dark crop of a
    # correctly exposed photograph looks the same, so the tool has no opinion and the score decides
    cut = (scene * np.float32(0.5)).astype(np.float32)
    assert not short_exposure(cut) and gamma.evidence(cut, gamma.apply(cut)) is None
    short = short_exposure_of(scene)
    assert gamma.evidence(short, gamma.apply(short)) == 1.0


def test_what_a_derainer_removed_must_look_like_rain(scene):
    rainy = degrade(scene, "rain", 0.4)
    measures = streak_evidence(rainy, scene)  # the perfect derainer removes exactly the streaks
    assert measures["bright"] > 0.95 and measures["coherence"] > 0.7 and measures["grey"] < 0.35
    assert rain_evidence(rainy, scene) == 1.0
    # smoothing a clean photograph removes texture in every direction: not rain
    import cv2

    smoothed = cv2.GaussianBlur(scene, (0, 0), 1.5)
    assert rain_evidence(scene, smoothed) == 0.0
    # a trace of change is not evidence either
    assert rain_evidence(scene, np.clip(scene - 0.0005, 0, 1)) == 0.0


def test_rain_widened_by_a_low_resolution_is_found_at_half_scale(scene):
    rainy = degrade(degrade(scene, "rain", 0.5), "low_resolution", 1.0)  # four times smaller, then back
    tool = get_tool("derain_unet")
    at_full_scale = OnnxRestorer._apply(tool, rainy, tool.Params())
    assert rain_evidence(rainy, at_full_scale) == 0.0  # the network at full scale finds no streaks
    assert psnr(scene, at_full_scale) < psnr(scene, rainy) + 0.5
    out = tool.apply(rainy)
    assert half_scale_rain_evidence(rainy, out) == 1.0 and tool.evidence(rainy, out) == 1.0
    assert psnr(scene, out) > psnr(scene, rainy) + 2.0
    assert tool.explain(rainy, out) == "streaks found at half scale"
    # a clean photograph gives it nothing to find at either scale
    assert tool.evidence(scene, tool.apply(scene)) == 0.0
    # the trajectory says at which scale the step's own test found the rain
    result = Coordinator(RestoreConfig(strategy="global", memory=False)).run(rainy)
    accepted = [s for s in result.trajectory.steps if s.kind == "decision" and s.decision == "accept"
                and s.tool == "derain_unet"]
    assert accepted and "half scale" in accepted[0].reason


def test_the_quality_agent_decides_on_a_tools_own_evidence(scene):
    agent = QualityAgent()
    darker = np.clip(scene * 0.5, 0, 1).astype(np.float32)
    kept = agent.judge(scene, darker, None, ["low_light"], evidence=1.0)
    dropped = agent.judge(scene, darker, None, ["low_light"], evidence=0.0)
    assert kept.decision == "accept" and "own test" in kept.reason
    assert dropped.decision == "rollback" and "own test" in dropped.reason
    # without evidence the usual score decides (and records itself in both cases)
    assert agent.judge(scene, darker, None, ["low_light"]).reason.startswith(("score", "artifacts"))


def test_a_warm_close_up_is_left_alone(scene):
    close_up = warm_close_up()
    for strategy in ("global", "spatial"):
        result = Coordinator(RestoreConfig(strategy=strategy, memory=False)).run(close_up)
        assert psnr(close_up, result.image) >= 40.0


def test_faint_noise_is_tried_on_every_photograph_with_the_camera_denoiser_only(scene):
    from mosaicir.trajectory import image_hash, replay

    result = Coordinator(RestoreConfig(memory=False, workers=1)).run(scene)
    steps = result.trajectory.steps
    split = next(i for i, s in enumerate(steps) if s.kind == "regions")
    if "noise" in steps[0].present:  # perception saw noise: the usual global pass, not this one
        pytest.skip("perception finds noise in the fixture")
    noise_calls = [s.tool for s in steps if s.kind == "tool_call" and s.degradation == "noise"]
    assert noise_calls == ["denoise_camera_unet"]
    # the pass comes last: the regions and the scene passes are decided on the photograph as it was
    last_plan = max(i for i, s in enumerate(steps) if s.kind == "plan")
    assert last_plan > split and steps[last_plan].degradations == ["noise"]
    assert steps[split].perceived == image_hash(scene)
    np.testing.assert_array_equal(replay(result.trajectory, scene), result.image)


def test_the_camera_denoiser_gains_on_camera_noise_and_its_evidence_reads_the_removed_layer(scene):
    import copy

    import cv2

    from mosaicir.degrade import get_degradation
    from mosaicir.tools.noise import CAMERA_CHROMA, camera_noise_evidence, camera_noise_statistics

    model = copy.copy(get_degradation("noise"))
    model.poisson_probability, model.camera_probability = 0.0, 1.0
    noisy = model.apply(scene, model.sample(np.random.default_rng(0), 0.1))
    tool = get_tool("denoise_camera_unet")
    out = tool.apply(noisy)
    assert psnr(scene, out) > psnr(scene, noisy) + 0.5
    # our camera model leaves more colour in its noise than the cameras' own JPEG engines (chroma
    # share 0.9-1.1 against PolyU's 0.29-0.85, docs/REAL.md): the evidence, read on real photographs,
    # does not take it for a camera's
    assert camera_noise_statistics(noisy, out)["chroma"] > CAMERA_CHROMA and tool.evidence(noisy, out) == 0.0
    # the evidence itself, on removed layers made to measure: grey noise correlated over neighbouring
    # pixels, as strong on flat parts as in texture, is a camera's; the same noise drawn per channel
    # (colour) is not, and neither is white grain (an old scan's)
    rng = np.random.default_rng(1)
    correlated = cv2.GaussianBlur(rng.normal(0, 3 / 255, scene.shape[:2]).astype(np.float32), (0, 0), 0.8)
    grey_layer = np.repeat(correlated[..., None], 3, axis=2) * 2.0
    assert camera_noise_evidence(scene + grey_layer, scene) == 1.0
    colour_layer = cv2.GaussianBlur(rng.normal(0, 3 / 255, scene.shape).astype(np.float32), (0, 0), 0.8) * 2.0
    assert camera_noise_evidence(scene + colour_layer, scene) == 0.0
    grainy = np.clip(scene + rng.normal(0, 3 / 255, scene.shape).astype(np.float32), 0, 1)
    assert tool.evidence(grainy, tool.apply(grainy)) == 0.0




def summary_with(found: dict[str, tuple[float, float]]):
    """A perception summary finding ``{degradation: (area, mean severity)}`` and nothing else."""
    from mosaicir.core.names import DEGRADATIONS
    from mosaicir.perception import PerceptionSummary
    from mosaicir.perception.maps import DegradationReport

    reports = {n: DegradationReport(present=n in found, area=found.get(n, (0.0, 0.0))[0],
                                    mean_severity=found.get(n, (0.0, 0.0))[1], max_severity=found.get(n, (0.0, 0.0))[1])
               for n in DEGRADATIONS}
    return PerceptionSummary(size=(192, 256), method="learned", present=[n for n in DEGRADATIONS if n in found],
                             degradations=reports)


def test_faint_noise_found_is_tested_and_camera_noise_goes_to_the_camera_denoiser():
    from mosaicir.agents.routing import TESTED_MAX_SEVERITY, degradations_to_test, route

    config = RestoreConfig(memory=False)
    faint = summary_with({"noise": (0.9, 0.3), "jpeg": (0.9, 0.2)})
    assert degradations_to_test(faint, config) == ["noise"]
    # strong noise, noise not tried on every photograph, or noise ignored: no test
    assert degradations_to_test(summary_with({"noise": (0.9, TESTED_MAX_SEVERITY + 0.1)}), config) == []
    assert degradations_to_test(faint, RestoreConfig(memory=False, try_everywhere=["rain"])) == []
    assert degradations_to_test(faint, RestoreConfig(memory=False, ignore=["noise"])) == []
    # the camera denoiser's evidence holds: no first pass and no region acts on the noise, the pass
    # tried on every photograph restores it with the camera denoiser, and the test is recorded
    confirmed = route(faint, config, {"noise": 1.0})
    assert [p.signature for p in confirmed.before] == [{"jpeg": 0.2}]
    assert "noise" in confirmed.exclude and confirmed.tested == {"noise": 1.0}
    assert [(p.stage, p.tools) for p in confirmed.after][-1] == ("tried_everywhere", {"noise": ["denoise_camera_unet"]})
    # it does not: the noise found is restored as before, first on the whole frame
    refused = route(faint, config, {"noise": 0.0})
    assert refused.before[0].signature == {"noise": 0.3, "jpeg": 0.2}
    assert [p.stage for p in refused.after] == ["scene"]  # the rain tried on every photograph
    assert route(faint, config).model_dump(exclude={"tested"}) == refused.model_dump(exclude={"tested"})
    # evidence for what was not to be tested confirms nothing (strong noise, noise not tried everywhere)
    strong = summary_with({"noise": (0.9, 0.8)})
    assert "noise" in route(strong, config, {"noise": 1.0}).before[0].signature
    narrow = RestoreConfig(memory=False, try_everywhere=["rain"])
    assert "noise" in route(faint, narrow, {"noise": 1.0}).before[0].signature
    # the global strategy: its one region leaves the confirmed noise to the same pass
    whole = route(faint, RestoreConfig(memory=False, strategy="global"), {"noise": 1.0})
    assert "noise" in whole.exclude and whole.after[-1].signature == {"noise": 0.5}


def test_the_test_before_routing_runs_the_camera_denoiser_on_the_frame(scene, monkeypatch):
    import cv2

    from mosaicir.tools.noise import DenoiseCameraNet

    coordinator = Coordinator(RestoreConfig(memory=False))
    faint = summary_with({"noise": (0.9, 0.3)})
    rng = np.random.default_rng(1)
    white = np.clip(scene + rng.normal(0, 8 / 255, scene.shape).astype(np.float32), 0, 1)
    assert coordinator._test_before_routing(faint, white) == {"noise": 0.0}  # white noise is not a camera's
    assert coordinator._test_before_routing(summary_with({}), white) == {}
    seen = []
    monkeypatch.setattr(DenoiseCameraNet, "evidence", lambda self, before, after: seen.append(before.shape) or 1.0)
    assert coordinator._test_before_routing(faint, white) == {"noise": 1.0}
    assert seen == [white.shape]  # the whole of a small frame
    big = cv2.resize(white, (2048, 1536))
    seen.clear()
    assert Coordinator(RestoreConfig(memory=False, measure_pixels=1 << 20))._test_before_routing(faint, big) == {"noise": 1.0}
    assert seen and seen[0][0] * seen[0][1] < 1 << 20  # the centre of a large one


def test_camera_noise_found_faint_is_left_to_the_camera_denoiser_in_a_run():
    from mosaicir.degrade import get_degradation
    from mosaicir.trajectory import replay

    clean = resized(skimage.data.astronaut(), 384, 384)
    model = get_degradation("noise")
    params = model.sample(np.random.default_rng(2), 0.25)
    assert params.kind == "camera"
    noisy = model.apply(clean, params)
    result = Coordinator(RestoreConfig(memory=False, workers=1)).run(noisy)
    steps = result.trajectory.steps
    routing = next(s for s in steps if s.kind == "routing")
    assert "noise" in steps[0].present and routing.tested == {"noise": 1.0}
    assert "noise" in routing.exclude and all("noise" not in p.signature for p in routing.before)
    assert routing.after[-1].stage == "tried_everywhere" and routing.after[-1].tools == {"noise": ["denoise_camera_unet"]}
    noise_calls = [s.tool for s in steps if s.kind == "tool_call" and s.degradation == "noise"]
    assert noise_calls == ["denoise_camera_unet"]
    assert psnr(clean, result.image) > psnr(clean, noisy) + 0.5
    np.testing.assert_array_equal(replay(result.trajectory, noisy), result.image)


def test_rain_over_a_darkened_frame_does_not_hide_the_stretch_from_the_score(scene):
    """Bright streaks over a frame with its exposure cut: scored through the streaks, the stretch
    gains nothing; scored after the derainer (whose own test finds rain on the frame) it does,
    and the pass then derains the stretched frame. Without rain, nothing is unmasked."""
    from mosaicir.agents.expert import RegionExpert
    from mosaicir.agents.messages import RegionTask
    from mosaicir.agents.planners import make_planner

    def run(image):
        task = RegionTask(region=None, box=(0, 0) + image.shape[:2], signature={"rain": 0.5, "low_light": 0.6},
                          hints={"gamma": 1.0}, tools={"low_light": ["adaptive_gamma"], "rain": ["derain_unet"]})
        result = RegionExpert(make_planner("prior"), QualityAgent(), None).run(task, image, None)
        return result, {s.tool: s.reason for s in result.steps if s.kind == "decision" and s.tool != "-"}

    derainer = type(get_tool("derain_unet"))
    calls = []  # the images the derainer ran on
    original = derainer.apply
    derainer.apply = lambda self, image, params=None: calls.append(image) or original(self, image, params)
    try:
        dark_rain = (degrade(scene, "rain", 0.5) * np.float32(0.45)).astype(np.float32)
        result, reasons = run(dark_rain)
        assert "scored after derain_unet" in reasons["adaptive_gamma"]
        assert [c.tool for c in result.chain] == ["adaptive_gamma", "derain_unet"]
        assert psnr(scene, result.image) > psnr(scene, dark_rain) + 5.0
        _, reasons = run((scene * np.float32(0.45)).astype(np.float32))
        assert "scored after" not in reasons.get("adaptive_gamma", "")
    finally:
        derainer.apply = original
    # the test that unmasks a step is the pass's own deraining of that image: never run twice
    assert len({id(image) for image in calls}) == len(calls)


def test_texture_share_within_brightness_bands():
    """``texture_share``: signal-dependent noise, stronger in the bright textured half than in the
    dark flat half, removed whole, reads as texture taken over the frame but not within bands of
    like brightness; smoothing the texture itself reads as taken both ways (``noise_evidence``
    vetoes on the first ratio alone: the bands also release texture taken from foliage)."""
    from mosaicir.tools.noise import BRIGHTNESS_BANDS, TEXTURE_RATIO, noise_evidence, texture_share

    rng = np.random.default_rng(0)
    height, width = 128, 256
    ramp = np.linspace(0.1, 0.9, height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    texture = 0.15 * np.sin(np.arange(width, dtype=np.float32) / 1.5)[None, :] * (np.arange(width) >= width // 2)
    clean = np.repeat(np.clip(ramp * (0.4 + 0.6 * (np.arange(width) >= width // 2)) + texture, 0, 1)[..., None], 3, axis=2)
    noise = rng.normal(0.0, 1.0, clean.shape[:2]).astype(np.float32)[..., None] * 0.06 * np.sqrt(clean + 0.01)
    noisy = np.clip(clean + noise, 0, 1).astype(np.float32)
    assert texture_share(noisy, clean) > TEXTURE_RATIO
    assert texture_share(noisy, clean, BRIGHTNESS_BANDS) < TEXTURE_RATIO
    assert noise_evidence(noisy, clean) == 0.0
    flattened = clean.copy()
    flattened[:, width // 2:] = cv2.blur(clean[:, width // 2:], (7, 7))
    assert texture_share(clean, flattened, BRIGHTNESS_BANDS) > TEXTURE_RATIO
    assert noise_evidence(clean, flattened) == 0.0


def test_a_strong_jpeg_grid_taken_away_is_the_steps_own_evidence(scene):
    """``jpeg_grid_evidence``: no grid vetoes a JPEG step; a strong grid (low quality) that the step
    took away keeps it whatever the score; a faint grid leaves the decision to the score."""
    import io

    from PIL import Image

    from mosaicir.estimators.jpeg import block_grid_ratio
    from mosaicir.tools.jpeg import JPEG_STRONG_GRID, jpeg_grid_evidence

    def compressed(quality: int) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray((scene * 255 + 0.5).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
        return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0

    tool = get_tool("dejpeg_unet")
    assert jpeg_grid_evidence(scene, tool.apply(scene)) == 0.0
    blocky = compressed(10)
    assert block_grid_ratio(blocky) >= JPEG_STRONG_GRID
    restored = tool.apply(blocky)
    assert jpeg_grid_evidence(blocky, restored) == 1.0
    assert psnr(scene, restored) > psnr(scene, blocky)
    assert jpeg_grid_evidence(blocky, blocky) is None  # the grid is still there: no evidence of its own
