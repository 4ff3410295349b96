"""The step judge: its features, the true gain it is trained on, how the quality agent defers to
it, and the training recipe's round trip (skipped where scikit-learn's ONNX converter is absent)."""

import json

import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized

from mosaicir.agents import QualityAgent
from mosaicir.quality.judge import FEATURE_NAMES, JUDGED_TOOLS, StepJudge, step_features, true_gain


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return resized(skimage.data.astronaut(), 128, 128)


def test_features_are_finite_fixed_length_and_see_the_change(scene):
    blurred = degrade(scene, "defocus_blur", 0.5)
    readings = {"score_before": -0.5, "score_after": -0.3, "naturalness": 4.0,
                "artifacts": {"halo": 0.02}, "remaining": {"defocus_blur": 0.1}}
    features = step_features(blurred, scene, None, "wiener_defocus", {"radius": 2.5}, readings)
    assert features.dtype == np.float32 and features.shape == (len(FEATURE_NAMES),)
    assert np.isfinite(features).all()
    named = dict(zip(FEATURE_NAMES, features))
    assert named["tool_wiener_defocus"] == 1.0 and named["tool_sr_unet"] == 0.0
    assert named["param_radius"] == pytest.approx(2.5) and named["score_gain"] == pytest.approx(0.2)
    assert named["diff_rms"] > 0.0 and named["log_gradient_ratio"] > 0.0  # sharper after
    unchanged = dict(zip(FEATURE_NAMES, step_features(blurred, blurred, None, "sr_unet")))
    assert unchanged["diff_rms"] == 0.0 and unchanged["log_gradient_ratio"] == pytest.approx(0.0)
    weight = np.zeros(scene.shape[:2], np.float32)
    weight[:, :64] = 1.0
    assert np.isfinite(step_features(blurred, scene, weight, "lime")).all()


def test_true_gain_is_positive_towards_the_reference_and_floored_on_clean_crops(scene):
    noisy = degrade(scene, "noise", 0.5)
    assert true_gain(noisy, scene, scene) > 10.0
    assert true_gain(scene, noisy, scene) < -10.0
    assert true_gain(scene, scene, scene) == 0.0  # no change on a clean crop: no loss, not NaN
    weight = np.zeros(scene.shape[:2], np.float32)
    weight[:, :64] = 1.0
    half = scene.copy()
    half[:, 64:] = noisy[:, 64:]  # the change lies outside the weight
    assert true_gain(scene, half, scene, weight) == 0.0


class _FixedJudge:
    def __init__(self, value: float) -> None:
        self.value, self.calls = value, 0

    def tools(self):
        return list(JUDGED_TOOLS)

    def predict(self, features):
        self.calls += 1
        assert np.asarray(features).shape[-1] == len(FEATURE_NAMES)
        return np.array([self.value], np.float32)


@pytest.mark.parametrize("predicted, decision", [(0.8, "accept"), (-0.8, "rollback")])
def test_the_quality_agent_defers_to_the_judge_on_tools_without_their_own_test(scene, predicted, decision):
    blurred = degrade(scene, "defocus_blur", 0.5)
    judge = _FixedJudge(predicted)
    agent = QualityAgent(step_judge=judge)
    verdict = agent.judge(blurred, scene, None, ["defocus_blur"], tool="wiener_defocus", params={"radius": 2.0})
    assert verdict.decision == decision and verdict.predicted_gain == pytest.approx(predicted)
    assert "step judge" in verdict.reason
    # a tool with its own evidence, or one the judge was not trained for, is not asked
    for tool, evidence in (("wiener_defocus", 0.9), ("denoise_unet", None)):
        verdict = agent.judge(blurred, scene, None, ["defocus_blur"], tool=tool, evidence=evidence)
        assert verdict.predicted_gain is None
    assert judge.calls == 1


def test_the_judge_decides_in_a_restore_and_the_trajectory_records_its_expectation(scene, monkeypatch):
    from mosaicir.agents import Coordinator, RestoreConfig

    monkeypatch.setattr(StepJudge, "predict", lambda self, features: np.array([-1.0], np.float32))
    monkeypatch.setattr(StepJudge, "threshold", lambda self: 0.0)
    coordinator = Coordinator(RestoreConfig(strategy="global", step_judge=True, ignore=[], memory=False))
    result = coordinator.run(degrade(scene, "defocus_blur", 0.7))
    judged = [s for s in result.trajectory.steps if s.kind == "quality" and s.tool in JUDGED_TOOLS]
    assert judged, "no judged tool was tried on a defocused image"
    assert all(s.predicted_gain == -1.0 for s in judged)
    decisions = [s for s in result.trajectory.steps if s.kind == "decision" and s.tool in JUDGED_TOOLS
                 and "step judge" in s.reason]
    assert decisions and all(s.decision == "rollback" for s in decisions)


def test_the_shipped_judge_matches_the_features_and_predicts_finite_gains(scene):
    judge = StepJudge()
    if not judge.available():
        pytest.skip("no shipped step judge")
    assert judge.feature_names() == list(FEATURE_NAMES)
    rows = np.stack([step_features(degrade(scene, "defocus_blur", 0.5), scene, None, "wiener_defocus"),
                     step_features(scene, degrade(scene, "noise", 0.4), None, "sr_unet")])
    predicted = judge.predict(rows)
    assert predicted.shape == (2,) and np.isfinite(predicted).all()


def test_the_recipe_fits_measures_and_exports_a_judge_that_onnx_runtime_runs(tmp_path):
    pytest.importorskip("skl2onnx")
    from train.judge import main

    rng = np.random.default_rng(0)
    n = 400
    features = rng.normal(size=(n, len(FEATURE_NAMES))).astype(np.float32)
    gain = (2.0 * features[:, FEATURE_NAMES.index("score_gain")] + 0.1 * rng.normal(size=n)).astype(np.float32)
    tools = np.asarray([JUDGED_TOOLS[i % 3] for i in range(n)])
    np.savez(tmp_path / "steps.npz", features=features, gain=gain, tool=tools, accepted=rng.random(n) > 0.5,
             kind=np.asarray(["generated", "real", "clean"] * (n // 3) + ["generated"] * (n % 3)),
             group=np.asarray([f"g{i % 40}" for i in range(n)]), item=np.asarray([f"i{i}" for i in range(n)]),
             feature_names=np.asarray(FEATURE_NAMES))
    main(["fit", "--steps", str(tmp_path / "steps.npz"), "--out", str(tmp_path), "--trees", "40", "--folds", "4"])
    record = json.loads((tmp_path / "step_judge.json").read_text())
    assert record["features"] == list(FEATURE_NAMES) and record["steps"] == n
    figures = record["cross_validation"]["all"]
    assert figures["judge"]["accuracy"] > 0.85 > figures["agent"]["accuracy"]  # it learnt the rule; coin flips did not
    assert (tmp_path / "step_judge.md").read_text().startswith("# step_judge")
    predicted = StepJudge(tmp_path / "step_judge.onnx").predict(features[:10])
    assert np.corrcoef(predicted, gain[:10])[0, 1] > 0.9


def test_collect_records_the_engine_and_probe_steps_with_their_true_gain(scene, tmp_path):
    from mosaicir.io import save_image
    from train.judge import main

    for part in ("input", "target"):
        (tmp_path / "pairs" / "Blurred" / part).mkdir(parents=True)
    save_image(tmp_path / "pairs" / "Blurred" / "input" / "cat.png", degrade(scene, "defocus_blur", 0.5))
    save_image(tmp_path / "pairs" / "Blurred" / "target" / "cat.png", scene)
    main(["collect", "--pairs", str(tmp_path / "pairs" / "Blurred"), "--probes", "1", "--strategies", "spatial",
          "--out", str(tmp_path / "steps.npz")])
    steps = np.load(tmp_path / "steps.npz")
    assert len(steps["gain"]) >= 3 and steps["features"].shape == (len(steps["gain"]), len(FEATURE_NAMES))
    assert set(steps["tool"]) <= set(JUDGED_TOOLS) and set(steps["kind"]) == {"real"}
    assert np.isfinite(steps["gain"]).all() and steps["gain"].max() > 0.5  # deblurring a blurred cat helps


def test_a_missing_judge_is_a_clear_error_before_the_restore_starts(monkeypatch):
    from mosaicir.agents import Coordinator, RestoreConfig
    from mosaicir.core.errors import MosaicirError

    monkeypatch.setattr(StepJudge, "model_file", "no_such_judge.onnx")
    with pytest.raises(MosaicirError, match="train/judge.py"):
        Coordinator(RestoreConfig(step_judge=True))
    Coordinator(RestoreConfig(step_judge=False))  # not asked for: not needed
