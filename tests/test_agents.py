"""Agents, regions, fusion and trajectories: the coordinator's contract on small images, with a
scripted planner where the test needs a fixed plan (no network, no LLM)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized

from mosaicir.agents import (
    PLANNER_REGISTRY, Candidate, Coordinator, LLMPlanner, Memory, QualityAgent, RegionExpert, RegionTask, RestoreConfig,
    ScriptedPlanner, make_planner,
)
from mosaicir.agents.messages import QualityVerdict
from mosaicir.agents.planners import STALE_FACTORS, PlanState, Rollback, Selection, guesses
from mosaicir.core.errors import InvalidInputError, UnknownNameError
from mosaicir.core.image import psnr
from mosaicir.fusion import RegionResult, fuse
from mosaicir.perception import perceive
from mosaicir.regions import Region, decompose, regions_from_masks
from mosaicir.trajectory import STEP_ADAPTER, Trajectory, replay


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return resized(skimage.data.chelsea(), 256, 192)



@pytest.fixture(scope="module")
def half_noisy(scene) -> np.ndarray:
    """Left half noisy (sigma 36), right half clean."""
    out = scene.copy()
    out[:, :128] = degrade(scene, "noise", 0.6)[:, :128]
    return out


def config(**kw) -> RestoreConfig:
    return RestoreConfig(memory=False, workers=1, **kw)


def test_fuse_keeps_untouched_pixels_bit_identical(scene):
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1.0
    result = RegionResult(0, (10, 20, 74, 84), np.ones((64, 64, 3), np.float32), mask)
    fused = fuse(scene, [result])
    untouched = np.ones(scene.shape[:2], bool)
    untouched[26:58, 36:68] = False
    np.testing.assert_array_equal(fused[untouched], scene[untouched])
    assert np.allclose(fused[30:50, 40:60], 1.0)


def test_fuse_normalises_overlaps(scene):
    ones = np.ones((32, 32), np.float32)
    a = RegionResult(0, (0, 0, 32, 32), np.full((32, 32, 3), 0.2, np.float32), ones)
    b = RegionResult(1, (0, 0, 32, 32), np.full((32, 32, 3), 0.6, np.float32), ones)
    assert np.allclose(fuse(scene, [a, b])[:32, :32], 0.4)


def test_decompose_finds_the_noisy_half(half_noisy):
    maps = perceive(half_noisy)
    regions = decompose(maps)
    assert regions, "the noisy half must form a region"
    noisy = [r for r in regions if "noise" in r.signature]
    assert noisy
    mask = np.clip(sum(r.mask for r in noisy), 0, 1)
    assert mask[:, :100].mean() > 0.8 and mask[:, 160:].mean() < 0.1
    assert min(r.bbox[1] for r in noisy) == 0 and max(r.bbox[3] for r in noisy) <= 216  # the half plus feathering


def test_whole_image_region_and_user_masks(half_noisy):
    maps = perceive(half_noisy)
    (whole,) = decompose(maps, whole_image=True)
    assert whole.bbox == (0, 0, 192, 256) and "noise" in whole.signature
    user = np.zeros((192, 256), np.float32)
    user[:, :128] = 1
    regions = regions_from_masks([user, 1 - user], maps)
    assert regions[0].bbox == (0, 0, 192, 128) and "noise" in regions[0].signature
    assert all("noise" not in r.signature for r in regions[1:])


def test_region_crop_box_is_on_the_jpeg_grid():
    region = Region(0, np.zeros((100, 100), np.float32), (37, 41, 60, 70), {"noise": 0.5})
    top, left, bottom, right = region.crop_box(8, (100, 100))
    assert top % 16 == 0 and left % 16 == 0 and top <= 29 and left <= 33 and bottom == 68 and right == 78


def test_spatial_restores_the_noisy_half_and_leaves_the_rest(scene, half_noisy):
    result = Coordinator(config(strategy="spatial")).run(half_noisy)
    assert psnr(scene[:, :112], result.image[:, :112]) > psnr(scene[:, :112], half_noisy[:, :112]) + 3.0
    assert psnr(scene[:, 176:], result.image[:, 176:]) > 30.0  # the clean half stays close to what it was
    kinds = [s.kind for s in result.trajectory.steps]
    for kind in ("perception", "regions", "plan", "tool_call", "quality", "decision", "fusion"):
        assert kind in kinds
    assert result.tool_calls >= 1


def test_a_step_observer_sees_every_tool_call_and_changes_nothing(half_noisy):
    seen = []
    watched = Coordinator(config(strategy="spatial"), step_observer=seen.append).run(half_noisy)
    plain = Coordinator(config(strategy="spatial")).run(half_noisy)
    np.testing.assert_array_equal(watched.image, plain.image)
    calls = [s for s in watched.trajectory.steps if s.kind == "tool_call"]
    assert len(seen) == len(calls) >= 1
    for step in seen:
        top, left, bottom, right = step.task.box
        assert step.before.shape == half_noisy[top:bottom, left:right].shape == step.attempt.image.shape
        assert step.attempt.outcome in ("applied", "unchanged", "vetoed", "failed")
    assert [s.candidate.tool for s in seen] == [s.tool for s in calls]


def test_none_strategy_and_clean_image(scene):
    result = Coordinator(config(strategy="none")).run(scene)
    np.testing.assert_array_equal(result.image, scene)
    clean = Coordinator(config(strategy="spatial")).run(scene)
    assert psnr(scene, clean.image) > 40.0


def test_trajectory_round_trips_and_replays(half_noisy, tmp_path):
    result = Coordinator(config(strategy="spatial")).run(half_noisy)
    path = result.trajectory.save(tmp_path / "run.jsonl")
    loaded = Trajectory.load(path)
    assert loaded == result.trajectory
    for step in result.trajectory.steps:
        assert STEP_ADAPTER.validate_json(step.model_dump_json()) == step
    np.testing.assert_array_equal(replay(loaded, half_noisy), result.image)
    with pytest.raises(InvalidInputError):
        replay(loaded, half_noisy[::-1].copy())


def test_bad_trajectory_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"kind": "header"}\n')
    with pytest.raises(InvalidInputError):
        Trajectory.load(path)


def test_scripted_planner_and_rollback(scene, half_noisy):
    # brightening a normally exposed noisy region is judged worse and rolled back; the denoiser is kept
    chain = [Candidate(degradation="noise", tool="adaptive_gamma", params={"gamma": 0.3}),
             Candidate(degradation="noise", tool="denoise_unet", params={})]
    coordinator = Coordinator(config(strategy="global"), planner=ScriptedPlanner(chain))
    result = coordinator.run(half_noisy)
    decisions = [(s.tool, s.decision) for s in result.trajectory.steps if s.kind == "decision"]
    assert ("adaptive_gamma", "rollback") in decisions
    assert ("denoise_unet", "accept") in decisions


@pytest.mark.parametrize("planner", ["prior", "greedy", "search"])
def test_a_task_may_restrict_the_tools_of_a_degradation(half_noisy, planner):
    task = RegionTask(region=None, box=(0, 0) + half_noisy.shape[:2], signature={"noise": 0.6},
                      tools={"noise": ["nl_means"]})
    result = RegionExpert(make_planner(planner), QualityAgent(), None, budget=6).run(task, half_noisy, None)
    assert {s.tool for s in result.steps if s.kind == "tool_call"} == {"nl_means"}


def test_a_proposal_of_tools_the_task_does_not_allow_is_skipped(scene):
    planner = ScriptedPlanner([Candidate(degradation="noise", tool="denoise_unet", params={})])
    task = RegionTask(region=None, box=(0, 0) + scene.shape[:2], signature={"noise": 0.5}, tools={"noise": ["nl_means"]})
    result = RegionExpert(planner, QualityAgent(), None).run(task, scene, None)
    assert not result.chain and not [s for s in result.steps if s.kind == "tool_call"]
    assert [s.reason for s in result.steps if s.kind == "decision"] == ["no allowed tool for noise (nl_means)"]


class LastAccepted(Selection):
    """Runs every candidate of the round and keeps the last one the quality agent accepts."""

    def __init__(self):
        super().__init__()
        self.accepted = []

    def absent(self, candidate, verdict, call):
        return False

    def judged(self, candidate, image, verdict, call):
        if verdict.decision == "accept":
            self.accepted.append((candidate, image, verdict, call))
        else:
            self.rollbacks.append(Rollback(candidate, call, verdict.reason))
        return False

    def close(self):
        for candidate, _, _, call in self.accepted[:-1]:
            self.rollbacks.append(Rollback(candidate, call, "a later candidate was accepted too"))
        return self.accepted[-1] if self.accepted else None


def test_the_planner_owns_how_a_round_becomes_one_step(half_noisy):
    # the expert runs the candidates and records what the planner's selection decides; it never
    # asks which planner it runs
    class Planner(ScriptedPlanner):
        selection = LastAccepted

    chain = [Candidate(degradation="noise", tool="denoise_unet", params={"strength": 1.0}),
             Candidate(degradation="noise", tool="denoise_unet", params={"strength": 0.8})]
    task = RegionTask(region=None, box=(0, 0) + half_noisy.shape[:2], signature={"noise": 0.6})
    quality = QualityAgent()
    result = RegionExpert(Planner(chain), quality).run(task, half_noisy, None)
    decisions = [(s.tool, s.decision, s.reason) for s in result.steps if s.kind == "decision"]
    assert [c.params["strength"] for c in result.chain] == [0.8]
    assert decisions[0] == ("denoise_unet", "rollback", "a later candidate was accepted too")
    assert decisions[1][:2] == ("denoise_unet", "accept")
    # the shipped planners: the first accepted candidate ends the round (prior), or every candidate
    # runs and the best score wins (greedy)
    first = RegionExpert(ScriptedPlanner(chain), quality).run(task, half_noisy, None)
    assert [c.params["strength"] for c in first.chain] == [1.0]
    assert len([s for s in first.steps if s.kind == "tool_call"]) == 1


class ReadingsQuality(QualityAgent):
    """A quality agent whose perception readings are scripted: what it sees before any step, then
    after each step in turn (every step is accepted)."""

    def __init__(self, readings: list[dict[str, float]]) -> None:
        super().__init__()
        self.readings = list(readings)

    def score(self, image, weight=None):
        remaining = self.readings.pop(0)
        return -sum(remaining.values()), remaining

    def judge(self, before, after, weight, targets, score_before=None, evidence=None, tool=None, params=None):
        remaining = self.readings.pop(0)
        return QualityVerdict(score_before=score_before, score_after=-sum(remaining.values()), remaining=remaining,
                              artifacts={}, decision="accept", reason="scripted")


def test_expert_drops_what_an_earlier_step_restored_too(scene):
    # super-resolution also removes the blur perception had read as defocus: no deblurring follows
    chain = [Candidate(degradation="low_resolution", tool="sr_unet", params={}),
             Candidate(degradation="defocus_blur", tool="wiener_defocus", params={"radius": 3.0, "capped": False})]
    quality = ReadingsQuality([{"low_resolution": 0.6, "defocus_blur": 0.5}, {"low_resolution": 0.1, "defocus_blur": 0.2}])
    expert = RegionExpert(ScriptedPlanner(chain), quality)
    task = RegionTask(region=0, box=(0, 0, 192, 256), signature={"low_resolution": 0.6, "defocus_blur": 0.5})
    outcome = expert.run(task, scene, None)
    assert [c.tool for c in outcome.chain] == ["sr_unet"]
    skips = [s for s in outcome.steps if s.kind == "decision" and s.decision == "skip"]
    assert skips and "defocus_blur restored by sr_unet" in skips[0].reason
    # when the blur is still seen after the first step, the second one runs
    quality = ReadingsQuality([{"low_resolution": 0.6, "defocus_blur": 0.5}, {"low_resolution": 0.1, "defocus_blur": 0.4},
                               {"low_resolution": 0.1, "defocus_blur": 0.1}])
    outcome = RegionExpert(ScriptedPlanner(chain), quality).run(task, scene, None)
    assert [c.tool for c in outcome.chain] == ["sr_unet", "wiener_defocus"]
    # a deblurring step that lowers the haze reading does not skip the dehazer (another stage)
    chain = [Candidate(degradation="defocus_blur", tool="wiener_defocus", params={"radius": 3.0, "capped": False}),
             Candidate(degradation="haze", tool="dehaze_unet", params={})]
    quality = ReadingsQuality([{"defocus_blur": 0.5, "haze": 0.5}, {"defocus_blur": 0.1, "haze": 0.1},
                               {"defocus_blur": 0.1, "haze": 0.05}])
    task = RegionTask(region=0, box=(0, 0, 192, 256), signature={"defocus_blur": 0.5, "haze": 0.5})
    outcome = RegionExpert(ScriptedPlanner(chain), quality).run(task, scene, None)
    assert [c.tool for c in outcome.chain] == ["wiener_defocus", "dehaze_unet"]


def test_prior_offers_weaker_settings_once_a_step_of_the_pass_was_accepted(scene):
    # the noise severity was read before the JPEG step, which removed much of the noise: after it
    # was accepted the round also offers non-local means at weaker sigmas, and the best scored wins;
    # not after a step that does not lessen noise, nor for a blur read before the JPEG step
    planner = make_planner("prior")
    fresh = PlanState(signature={"jpeg": 0.6, "noise": 0.57}, remaining=["noise"])
    first = planner.propose(fresh)
    assert type(planner.round_selection(fresh)).__name__ == "FirstAccepted"
    after = PlanState(signature={"jpeg": 0.6, "noise": 0.57}, remaining=["noise"], restored=["jpeg"])
    offered = planner.propose(after)
    assert type(planner.round_selection(after)).__name__ == "BestScored"
    sigmas = [c.params["sigma"] for c in offered if c.tool == "nl_means"]
    assert sigmas[0] == next(c.params["sigma"] for c in first if c.tool == "nl_means")
    assert sigmas == sorted(sigmas, reverse=True) and len(sigmas) == 1 + len(STALE_FACTORS)
    assert len({c.tool for c in offered if c.tool != "nl_means"}) == len(offered) - len(sigmas)  # networks once
    for state in (PlanState(signature={"rain": 0.5, "noise": 0.57}, remaining=["noise"], restored=["rain"]),
                  PlanState(signature={"jpeg": 0.6, "defocus_blur": 0.5}, remaining=["defocus_blur"], restored=["jpeg"])):
        assert type(planner.round_selection(state)).__name__ == "FirstAccepted"
        assert len(planner.propose(state)) == len(guesses(state, state.remaining[0]))
    # in the expert: the JPEG step accepted, then every noise candidate runs; the best scored wins
    readings = [{"jpeg": 0.6, "noise": 0.57}, {"jpeg": 0.0, "noise": 0.5},
                {"noise": 0.45}, {"noise": 0.3}, {"noise": 0.2}, {"noise": 0.1}]
    task = RegionTask(region=0, box=(0, 0, 192, 256), signature={"jpeg": 0.6, "noise": 0.57})
    outcome = RegionExpert(make_planner("prior"), ReadingsQuality(readings)).run(task, scene, None)
    assert [c.tool for c in outcome.chain] == ["dejpeg_unet", "nl_means"]
    assert outcome.chain[1].params["sigma"] == min(sigmas)
    rolled = [s.reason for s in outcome.steps if s.kind == "decision" and s.decision == "rollback"]
    assert rolled.count("another candidate scored better") == len(offered) - 1


@pytest.mark.parametrize("planner", ["prior", "greedy", "search"])
def test_a_tool_that_finds_no_haze_rules_it_out(scene, planner):
    # the photograph has no haze: the dark-channel dehazer's own evidence test leaves it unchanged,
    # and the expert takes haze as absent instead of trying the learned dehazer, which always
    # changes an image; the unchanged step is not judged
    expert = RegionExpert(make_planner(planner), QualityAgent())
    task = RegionTask(region=0, box=(0, 0, 192, 256), signature={"haze": 0.5})
    outcome = expert.run(task, scene, None)
    calls = [s.tool for s in outcome.steps if s.kind == "tool_call"]
    assert calls == ["dark_channel"] and not outcome.chain
    assert not [s for s in outcome.steps if s.kind == "quality"]
    assert any(s.kind == "decision" and s.decision == "skip" and "dark_channel finds no haze" in s.reason for s in outcome.steps)
    np.testing.assert_array_equal(outcome.image, scene)
    # a hazy crop (a dense veil over all of it: seed 1) is dehazed as before
    hazy = degrade(scene, "haze", 0.6, seed=1)
    outcome = RegionExpert(make_planner(planner), QualityAgent()).run(task, hazy, None)
    assert [c.tool for c in outcome.chain][:1] in (["dark_channel"], ["dehaze_unet"])


@pytest.mark.parametrize("name", sorted(PLANNER_REGISTRY.names()))
def test_every_planner_proposes_registered_tools(name):
    planner = make_planner(name) if name != "llm" else LLMPlanner(url="http://127.0.0.1:9", timeout=0.5)
    signature = {"noise": 0.5, "haze": 0.4}
    planner.start(signature, "test")
    state = PlanState(signature=signature, remaining=["noise", "haze"])
    candidates = planner.propose(state)
    assert candidates and all(c.degradation in signature for c in candidates)


def test_unknown_planner_is_refused():
    with pytest.raises(UnknownNameError):
        Coordinator(config(planner="gredy"))


def test_greedy_and_search_restore(half_noisy, scene):
    for planner in ("greedy", "search"):
        result = Coordinator(config(strategy="spatial", planner=planner)).run(half_noisy)
        assert psnr(scene, result.image) > psnr(scene, half_noisy) + 2.0, planner


def test_memory_remembers_and_is_tried_first(tmp_path, half_noisy):
    memory = Memory(tmp_path / "memory.sqlite")
    assert memory.lookup({"noise": 0.5}) == []
    memory.record({"noise": 0.5}, [Candidate(degradation="noise", tool="nl_means", params={"sigma": 30.0, "h_factor": 0.8})], 0.4)
    assert memory.lookup({"noise": 0.45})[0].tool == "nl_means"
    assert memory.lookup({"noise": 0.5, "haze": 0.3}) == []
    expert = RegionExpert(make_planner("prior"), QualityAgent(), memory)
    outcome = expert.run(RegionTask(region=0, box=(0, 0, 192, 128), signature={"noise": 0.55}), half_noisy[:, :128], None)
    calls = [s.tool for s in outcome.steps if s.kind == "tool_call"]
    assert calls[0] == "nl_means" and outcome.chain
    assert len(memory) == 2


def test_a_run_made_with_memory_records_its_hits_and_replays_without_it(tmp_path, half_noisy):
    # a remembered plan (NL-means for this noise) changes what the run does; the trajectory says
    # so (the plan step's remembered chain and note), and replay, which consults no memory,
    # reproduces the run's output bit for bit from the recorded calls
    memory = Memory(tmp_path / "memory.sqlite")
    without = Coordinator(config()).run(half_noisy)
    signature = next(s for s in without.trajectory.steps if s.kind == "regions").regions[0].signature
    memory.record(signature, [Candidate(degradation="noise", tool="nl_means", params={"sigma": 30.0, "h_factor": 0.8})], 0.4)
    with_memory = Coordinator(config(), memory=memory).run(half_noisy)
    hits = [s for s in with_memory.trajectory.steps if s.kind == "plan" and "memory: nl_means" in s.note]
    assert hits and hits[0].chain == [("nl_means", {"sigma": 30.0, "h_factor": 0.8})]
    assert not np.array_equal(with_memory.image, without.image)  # the memory changed the run
    np.testing.assert_array_equal(replay(with_memory.trajectory, half_noisy), with_memory.image)
    reloaded = Trajectory.from_jsonl(with_memory.trajectory.to_jsonl())
    np.testing.assert_array_equal(replay(reloaded, half_noisy), with_memory.image)


def test_progress_follows_the_stages_of_a_run(half_noisy):
    seen = []
    result = Coordinator(config(strategy="spatial")).run(half_noisy, progress=lambda stage, done: seen.append((stage, done)))
    stages, fractions = [s for s, _ in seen], [d for _, d in seen]
    assert stages[0] == "perception" and seen[-1] == ("done", 1.0)
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)
    regions = len(next(s for s in result.trajectory.steps if s.kind == "regions").regions)
    if regions:
        assert f"regions ({regions} of {regions} done)" in stages and "fusion and final check" in stages


class _ChatServer(BaseHTTPRequestHandler):
    answer = ""

    def do_POST(self):  # noqa: N802 (http.server API)
        length = int(self.headers["Content-Length"])
        request = json.loads(self.rfile.read(length))
        assert request["messages"][0]["role"] == "system"
        body = json.dumps({"choices": [{"message": {"role": "assistant", "content": type(self).answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def chat_server():
    server = HTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_llm_planner_follows_a_valid_plan(chat_server):
    _ChatServer.answer = 'Here you go: {"plan": [{"degradation": "noise", "tool": "nl_means", "params": {"sigma": 20}}]}'
    planner = LLMPlanner(url=f"http://127.0.0.1:{chat_server.server_port}/v1", model="test")
    note = planner.start({"noise": 0.5}, "noise: 50% of the image")
    assert "nl_means" in note
    first = planner.propose(PlanState(signature={"noise": 0.5}, remaining=["noise"]))[0]
    assert first.tool == "nl_means" and first.params["sigma"] == 20


@pytest.mark.parametrize("answer", [
    '{"plan": [{"degradation": "noise", "tool": "magic_denoiser"}]}',
    '{"plan": [{"degradation": "noise", "tool": "nl_means", "params": {"sigma": 500}}]}',
    '{"plan": [{"degradation": "noise", "tool": "dark_channel"}]}',
    "I cannot help with that.",
])
def test_llm_planner_falls_back_on_invalid_plans(chat_server, answer):
    _ChatServer.answer = answer
    planner = LLMPlanner(url=f"http://127.0.0.1:{chat_server.server_port}/v1", model="test")
    note = planner.start({"noise": 0.5}, "")
    assert "prior planner takes over" in note
    assert planner.propose(PlanState(signature={"noise": 0.5}, remaining=["noise"]))[0].tool == "denoise_unet"


def test_ignored_degradations_are_acted_on_only_over_the_whole_frame():
    from mosaicir.agents.routing import frame_wide_degradations
    from mosaicir.core.names import DEGRADATIONS
    from mosaicir.perception import DegradationReport, PerceptionSummary

    def summary(white_point=1.0, clipped_shadows=0.0, **areas):
        reports = {n: DegradationReport(present=n in areas, area=areas.get(n, 0.0), mean_severity=0.6 if n in areas else 0.0,
                                        max_severity=0.7 if n in areas else 0.0) for n in DEGRADATIONS}
        estimates = {"white_point": white_point, "clipped_shadows": clipped_shadows} if "low_light" in areas else {}
        return PerceptionSummary(size=(64, 64), method="auto", present=sorted(areas), degradations=reports, estimates=estimates)

    assert set(RestoreConfig().ignore) >= {"rain", "low_light", "motion_blur"}
    # rain is also tried on every frame by default (the derainer keeps a step only on its own
    # evidence), except a frame that is dark all over and stays so; the perception rules first
    tried = RestoreConfig()
    assert frame_wide_degradations(summary(haze=0.05), tried) == {"haze": 0.6, "rain": 0.5}
    assert frame_wide_degradations(summary(rain=0.3), tried) == {"rain": 0.6}
    assert frame_wide_degradations(summary(low_light=1.0), tried) == {}
    default = RestoreConfig(try_everywhere=[])
    # rain over nearly the whole frame is acted on, a rainy corner is not; low light only when the
    # frame is under-exposed (a naturally dark photograph reads as darkened all over, but keeps its
    # highlights)
    assert frame_wide_degradations(summary(rain=0.85), default) == {"rain": 0.6}
    assert frame_wide_degradations(summary(rain=0.3), default) == {}
    assert frame_wide_degradations(summary(low_light=1.0), default) == {}
    assert frame_wide_degradations(summary(low_light=1.0, white_point=0.98), default) == {}
    assert frame_wide_degradations(summary(low_light=1.0, white_point=0.75), default) == {}
    assert frame_wide_degradations(summary(low_light=1.0, white_point=0.6), default) == {"low_light": 0.6}
    # the white point tests the whole frame: on an under-exposed one, low light found on part of it
    # is enough (rain's bright streaks can hide the darkening from the maps)
    assert frame_wide_degradations(summary(low_light=0.5, white_point=0.6), default) == {"low_light": 0.6}
    assert frame_wide_degradations(summary(low_light=0.5, white_point=0.75), default) == {}
    # rain on a dark frame that stays dark is left: the derainer would take more than the streaks;
    # on an under-exposed frame it follows the brightening
    assert frame_wide_degradations(summary(rain=0.9, low_light=0.9, haze=0.9), default) == {"haze": 0.6}
    assert frame_wide_degradations(summary(rain=0.9, low_light=0.9, white_point=0.6), default) == {"rain": 0.6, "low_light": 0.6}
    # so is rain on a frame darkened on part of it with its shadows clipped to black (an exposure
    # cut by a constant), tried everywhere or found; not when the shadows keep their detail
    assert frame_wide_degradations(summary(rain=0.9, low_light=0.3, clipped_shadows=0.02), default) == {}
    assert frame_wide_degradations(summary(low_light=0.3, clipped_shadows=0.02), tried) == {}
    assert frame_wide_degradations(summary(rain=0.9, low_light=0.3, clipped_shadows=0.0001), default) == {"rain": 0.6}
    assert frame_wide_degradations(summary(rain=0.9, clipped_shadows=0.02), default) == {"rain": 0.6}
    # haze over the whole frame too (one veil), wherever it is found: the dehazer tests for haze
    # itself and leaves clear parts alone, the maps miss most of a hazy frame; unless ignored.
    # Motion blur stays ignored however much of the frame it covers; 1 turns the rule off
    assert frame_wide_degradations(summary(haze=0.9, noise=1.0), default) == {"haze": 0.6}
    assert frame_wide_degradations(summary(haze=0.05), default) == {"haze": 0.6}
    assert frame_wide_degradations(summary(haze=0.05), RestoreConfig(ignore=["haze"], try_everywhere=[])) == {}
    assert frame_wide_degradations(summary(motion_blur=1.0), default) == {}
    # low resolution is perceived and not acted on by default, however much of the frame it
    # covers (regional super-resolution gained nothing and sharpened clean photographs)
    assert "low_resolution" in RestoreConfig().ignore
    assert frame_wide_degradations(summary(low_resolution=1.0), default) == {}
    assert frame_wide_degradations(summary(rain=1.0), RestoreConfig(frame_wide_area=1.0, try_everywhere=[])) == {}


def test_clipped_shadows_tell_an_exposure_cut_by_a_constant(scene):
    from mosaicir.estimators import CLIPPED_SHADOWS, clipped_shadows

    # a cut of 46/255 (MiO's shift at severity 0.77) clips the cat's shadows to black; scaling the
    # exposure down, or bending the curve, keeps them
    assert clipped_shadows(np.clip(scene - 46 / 255, 0.0, 1.0)) >= 2 * CLIPPED_SHADOWS
    assert clipped_shadows(scene) == 0.0
    assert clipped_shadows(scene * 0.45) == 0.0
    assert clipped_shadows(scene ** 2) < CLIPPED_SHADOWS


def test_low_resolution_is_acted_on_only_when_asked_for():
    """Regions read as low resolution are left alone by default (``exclude``), and restored region
    by region when the user asks (``--ignore none``, ``--only low_resolution``)."""
    from mosaicir.agents.routing import route
    from mosaicir.api import make_config
    from mosaicir.core.names import DEGRADATIONS
    from mosaicir.perception import DegradationReport, PerceptionSummary

    reports = {n: DegradationReport(present=n == "low_resolution", area=0.36 if n == "low_resolution" else 0.0,
                                    mean_severity=0.3 if n == "low_resolution" else 0.0,
                                    max_severity=0.4 if n == "low_resolution" else 0.0) for n in DEGRADATIONS}
    summary = PerceptionSummary(size=(64, 64), method="auto", present=["low_resolution"], degradations=reports)
    for strategy in ("spatial", "global"):
        assert "low_resolution" in route(summary, RestoreConfig(strategy=strategy)).exclude
        assert "low_resolution" not in route(summary, make_config(ignore="none", strategy=strategy)).exclude
        assert "low_resolution" not in route(summary, make_config(only="low_resolution", strategy=strategy)).exclude


def test_whole_frame_scene_pass_runs_after_the_regions_and_replays(scene, monkeypatch):
    import mosaicir.agents.routing as routing

    # a hazy scene, noisy on its left half; perception is made to report the haze over the whole
    # frame: the dehazer runs on the whole image after the regional denoising (haze comes first in
    # the physical order), and replay follows the same order (a dense veil over all of it: seed 1)
    hazy = degrade(scene, "haze", 0.6, seed=1)
    image = hazy.copy()
    image[:, :128] = degrade(hazy, "noise", 0.6)[:, :128]
    monkeypatch.setattr(routing, "frame_wide_degradations", lambda summary, config: {"haze": 0.5})
    monkeypatch.setattr(routing, "GLOBAL_CANDIDATES", ())  # the noise stays regional here
    result = Coordinator(config(strategy="spatial")).run(image)
    steps = result.trajectory.steps
    regions_at = next(i for i, s in enumerate(steps) if s.kind == "regions")
    assert steps[regions_at].global_degradations == {"haze": 0.5}
    assert all("haze" not in r.signature for r in steps[regions_at].regions)
    regional = [i for i, s in enumerate(steps) if s.kind == "decision" and s.region is not None and s.decision == "accept"]
    scene_pass = [s for s in steps[max(regional):] if s.kind == "decision" and s.region is None and s.decision == "accept"]
    assert regional and [s.tool for s in scene_pass] == ["dark_channel"]
    np.testing.assert_array_equal(replay(result.trajectory, image), result.image)
    assert psnr(scene, result.image) > psnr(scene, image) + 3.0


def test_under_exposed_frame_is_brightened_from_its_own_white_point(scene, monkeypatch):
    import mosaicir.agents.coordinator as coordinator
    from mosaicir.core.names import DEGRADATIONS
    from mosaicir.estimators import UNDEREXPOSED_WHITE, white_point

    # exposure cut to 45%: perception is made to report low light over the under-exposed frame; the
    # adaptive gamma runs on the whole frame and only stretches the white point back to white
    # (gamma 1), in both strategies (a photograph whose brightest pixels were below white comes
    # out a little too bright)
    dark = (scene * 0.45).astype(np.float32)
    real_perceive = coordinator.perceive

    def perceive_dark(image, **kwargs):  # low light over the whole frame while it is under-exposed
        maps = real_perceive(image, **kwargs)
        if white_point(image) < UNDEREXPOSED_WHITE:
            maps.confidence[DEGRADATIONS.index("low_light")] = 1.0
            maps.severity[DEGRADATIONS.index("low_light")] = 0.6
        return maps

    monkeypatch.setattr(coordinator, "perceive", perceive_dark)
    for strategy in ("spatial", "global"):
        result = Coordinator(config(strategy=strategy)).run(dark)
        steps = result.trajectory.steps
        calls = [s for s in steps if s.kind == "tool_call" and s.tool == "adaptive_gamma"]
        assert calls and calls[0].region is None if strategy == "spatial" else calls, strategy
        assert calls[0].params["gamma"] == 1.0, strategy
        assert any(s.kind == "decision" and s.tool == "adaptive_gamma" and s.decision == "accept" for s in steps), strategy
        assert psnr(scene, result.image) > psnr(scene, dark) + 5.0



def test_a_hazy_frame_is_dehazed_over_all_of_it():
    # the dehazer runs on the whole frame after the regions (region None) and tests the haze
    # itself (a dense veil: seed 1); that haze flagged on part of a frame goes to the same pass is
    # the routing rule of test_ignored_degradations_are_acted_on_only_over_the_whole_frame
    scene = resized(skimage.data.coffee(), 256, 192)
    hazy = degrade(scene, "haze", 0.6, seed=1)
    result = Coordinator(config()).run(hazy)
    assert result.maps.summary().degradations["haze"].present
    calls = [(s.tool, s.region) for s in result.trajectory.steps if s.kind == "tool_call"]
    assert ("dark_channel", None) in calls
    assert psnr(scene, result.image) > psnr(scene, hazy) + 3.0
