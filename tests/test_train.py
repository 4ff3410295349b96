"""The training recipes' data stream (skipped where the optional PyTorch extra is absent)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from train.data import DegradationPairs, pair_loader, saturate  # noqa: E402


def test_saturate_scales_colour_at_fixed_luma():
    rng = np.random.default_rng(0)
    image = rng.uniform(0.3, 0.7, size=(16, 16, 3)).astype(np.float32)
    luma = lambda x: x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert np.array_equal(saturate(image, 1.0), image)
    boosted = saturate(image, 1.5)
    assert boosted.dtype == np.float32 and boosted.min() >= 0.0 and boosted.max() <= 1.0
    np.testing.assert_allclose(luma(boosted), luma(image), atol=1e-5)
    spread = lambda x: np.abs(x - luma(x)[..., None]).mean()
    assert spread(boosted) == pytest.approx(1.5 * spread(image), rel=1e-4)


def test_degradation_pairs_stream_through_worker_processes():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, size=(160, 200, 3), dtype=np.uint8) for _ in range(3)]
    dataset = DegradationPairs(images, "jpeg", patch=32, seed=3, saturation=2.0)
    loader = pair_loader(dataset, batch=4, workers=2)
    degraded, clean = next(iter(loader))
    assert degraded.shape == clean.shape == (4, 3, 32, 32)
    assert float((degraded - clean).abs().mean()) > 0.0


def test_later_degradations_reach_both_sides_of_a_pair():
    """``then``: low resolution after rain, on the rainy and the clean side alike, so that the
    derainer learns to take the widened streaks and leave the softness."""
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, size=(160, 160, 3), dtype=np.uint8)]
    plain = DegradationPairs(images, "rain", patch=64, seed=5, clean_fraction=0.0)
    softened = DegradationPairs(images, "rain", patch=64, seed=5, clean_fraction=0.0, then=(("low_resolution", 1.0),))
    _, sharp_clean = plain.pair(np.random.default_rng(0))
    degraded, clean = softened.pair(np.random.default_rng(0))
    detail = lambda t: float(np.abs(np.diff(t.numpy(), axis=2)).mean())
    assert detail(clean) < 0.7 * detail(sharp_clean)  # the target is softened too
    assert float((degraded - clean).abs().mean()) > 0.01  # and the rain is still there to remove


def test_a_band_of_dense_texture_is_set_beside_the_patch_on_both_sides():
    """``texture_share``: a band (whole rows or columns, a third to two thirds of the patch) of the
    most textured of four crops of another image replaces part of the patch, the same on both
    sides of a real pair, so that the band keeps its own degradation."""
    rng = np.random.default_rng(4)
    flat = (np.full((128, 128, 3), 110, np.uint8), np.full((128, 128, 3), 100, np.uint8))  # +10 everywhere
    texture = rng.integers(0, 250, size=(128, 128, 3), dtype=np.uint8)
    textured = (texture + 5, texture)  # +5 everywhere
    dataset = DegradationPairs([texture], "noise", patch=48, real_pairs=[flat, textured], real_share=1.0, texture_share=1.0)
    def is_band(mask: np.ndarray) -> bool:  # whole rows or whole columns, a third to two thirds
        rows, cols = mask.any(axis=1), mask.any(axis=0)
        return (bool(mask[np.ix_(rows, cols)].all()) and (rows.all() or cols.all())
                and 48 // 3 <= min(rows.sum(), cols.sum()) <= 2 * 48 // 3)

    for seed in range(12):
        degraded, clean = dataset.pair(np.random.default_rng(seed))
        difference = np.round(255 * (degraded - clean).numpy()).astype(int)
        assert set(np.unique(difference)) == {5, 10}  # both pairs in one patch, each with its own change
        assert (difference == difference[:1]).all()  # the same band in every channel
        assert is_band(difference[0] == 5) or is_band(difference[0] == 10)
    # synthetic pairs: the band is set into the clean crop before it is degraded
    plain = DegradationPairs([np.full((160, 160, 3), 128, np.uint8), texture], "noise", patch=48, clean_fraction=1.0, texture_share=1.0)
    _, clean = plain.pair(np.random.default_rng(0))
    assert float(clean.std()) > 0.05  # the flat image drawn or not, texture is in the view


def test_then_is_parsed_and_checked():
    from train.restorers import parse_args

    args = parse_args(["--degradation", "rain", "--data", "d", "--out", "o", "--steps", "1", "--then", "low_resolution:0.3"])
    assert args.then == [("low_resolution", 0.3)]
    for bad in ("low_resolution", "fog:0.5", "jpeg:1.5"):
        with pytest.raises(SystemExit):
            parse_args(["--degradation", "rain", "--data", "d", "--out", "o", "--steps", "1", "--then", bad])


def test_a_checkpoint_rebuilt_from_the_shipped_onnx_computes_what_it_does(tmp_path):
    """Training resumes from a shipped network whose checkpoint is gone (train/from_onnx.py): the
    export folds each batch normalisation into its convolution; the rebuilt network unfolds it."""
    from train.from_onnx import rebuild
    from train.nets import DegradationMapNet, export_onnx

    torch.manual_seed(0)
    trained = DegradationMapNet(width=8)
    trained.train()(torch.rand(4, 3, 64, 64))  # batch statistics away from their start
    path = tmp_path / "net.onnx"
    export_onnx(trained.eval(), path, "maps", same_size=False)
    rng = np.random.default_rng(0)
    crops = [rng.random((64, 64, 3), dtype=np.float32) for _ in range(4)]
    rebuilt = DegradationMapNet(width=8)
    assert rebuild(rebuilt, path, crops) < 1e-4
    with torch.no_grad():
        sample = torch.from_numpy(crops[0].transpose(2, 0, 1).copy())[None]
        assert torch.allclose(rebuilt.eval()(sample), trained(sample), atol=1e-4)


def test_a_higher_precision_floor_for_one_degradation_raises_its_threshold():
    import numpy as np
    import pytest

    from train.perception import best_threshold, parse_args, precision_floors

    args = parse_args(["--data", "x", "--out", "o", "--min-precision", "0.5", "--min-precision-of", "motion_blur=0.75"])
    assert args.min_precision_of == {"motion_blur": 0.75} and args.min_precision == 0.5
    floors = precision_floors(0.5, {"motion_blur": 0.75, "rain": 0.2})
    assert floors["motion_blur"] == 0.75 and floors["rain"] == 0.5 and floors["noise"] == 0.5  # never below the common floor
    for bad in (["--min-precision-of", "motion_blur"], ["--min-precision-of", "blur=0.7"], ["--min-precision-of", "motion_blur=7.5"]):
        with pytest.raises(SystemExit):
            parse_args(["--data", "x", "--out", "o"] + bad)
    # scores rising with the truth, but with false alarms at every level: a higher floor, a higher threshold
    rng = np.random.default_rng(0)
    truth = rng.random(20000) < 0.3
    scores = np.clip(np.where(truth, 0.6, 0.35) + rng.normal(0, 0.15, truth.size), 0, 1)
    low, _ = best_threshold(scores, truth, min_precision=0.5)
    high, _ = best_threshold(scores, truth, min_precision=0.95)
    assert high > low
    predicted = scores > high
    assert (predicted & truth).sum() / predicted.sum() >= 0.95


def test_a_restorer_run_checkpoints_as_it_goes_and_stops_cleanly_on_request(tmp_path, monkeypatch):
    """Sessions end wherever they are: the checkpoint is written every --save-every steps, and a
    SIGTERM (here: a stop requested from the start) ends the run after the step, exported as usual."""
    from PIL import Image

    import train.restorers as restorers

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, size=(96, 96, 3), dtype=np.uint8)).save(data / f"{i}.png")
    common = ["--degradation", "noise", "--data", str(data), "--batch", "2", "--patch", "32", "--width", "8",
              "--workers", "0"]
    out = tmp_path / "run"
    saved = []
    save = restorers._save_checkpoint
    monkeypatch.setattr(restorers, "_save_checkpoint", lambda model, path, steps, width: (saved.append(steps), save(model, path, steps, width)))
    restorers.main([*common, "--out", str(out), "--steps", "5", "--save-every", "2"])
    tool = restorers.NETWORKS["noise"][0]
    assert saved == [2, 4, 5]  # every two steps, then at the end
    assert torch.load(out / f"{tool}.pt", map_location="cpu")["steps_total"] == 5
    assert (out / f"{tool}.onnx").is_file() and not (out / f"{tool}.pt.tmp").exists()

    class StopAtOnce(restorers.StopRequest):
        def __init__(self, install=True):
            super().__init__(install)
            self.requested = install  # as if SIGTERM came before the first step

    monkeypatch.setattr(restorers, "StopRequest", StopAtOnce)
    common[1] = "noise,jpeg"  # the second network must not start
    restorers.main([*common, "--out", str(out), "--steps", "50", "--resume"])
    record = json.loads((out / f"{tool}.log.json").read_text())
    assert record["stopped_early"] and record["steps"] == 1 and record["steps_total"] == 6
    assert not (out / f"{restorers.NETWORKS['jpeg'][0]}.onnx").exists()


def test_loader_workers_outlive_a_stop_request_sent_to_the_process_group():
    """Ctrl-C or ``timeout`` signal every process of the group: the workers must stay alive so
    that the main process can finish its step, validate and export."""
    import os
    import signal
    import time

    rng = np.random.default_rng(4)
    images = [rng.integers(0, 256, size=(96, 96, 3), dtype=np.uint8) for _ in range(2)]
    loader = pair_loader(DegradationPairs(images, "jpeg", patch=32, seed=3), batch=2, workers=1)
    batches = iter(loader)
    next(batches)
    workers = batches._workers
    for worker in workers:
        os.kill(worker.pid, signal.SIGTERM)
        os.kill(worker.pid, signal.SIGINT)
    time.sleep(0.5)
    assert all(worker.is_alive() for worker in workers)
    degraded, _ = next(batches)
    assert degraded.shape == (2, 3, 32, 32)


def test_a_perception_run_stops_on_request_and_records_the_steps_it_took(tmp_path, monkeypatch):
    """SIGTERM (or the end of ``--time-budget``) stops the perception run after its step; it then
    calibrates, exports and records the steps it took as at the end."""
    import numpy as np

    from train import perception

    rng = np.random.default_rng(0)
    items = [(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), np.zeros((8, 8, 8), np.float32)) for _ in range(3)]
    monkeypatch.setattr(perception, "training_folders", lambda args: ([], []))
    monkeypatch.setattr(perception, "load_items", lambda *a, **k: items)
    monkeypatch.setattr(perception, "calibrate", lambda *a, **k: {"f1": {}})
    written = []
    monkeypatch.setattr(perception, "_write_outputs", lambda out, record: written.append(record))
    calls = {"n": 0}

    class StopAfterThree(perception.StopRequest):
        @property
        def requested(self):
            calls["n"] += 1
            return calls["n"] > 3  # asked before each step: three steps, then the signal

        @requested.setter
        def requested(self, value):
            pass

    monkeypatch.setattr(perception, "StopRequest", StopAfterThree)
    out = tmp_path / "percept"
    perception.main(["--data", str(tmp_path), "--out", str(out), "--steps", "40", "--batch", "2", "--patch", "64",
                     "--width", "8"])
    assert written[-1]["steps"] == 3 and written[-1]["steps_total"] == 3
    assert (out / "perception_mapnet.onnx").is_file()
    assert torch.load(out / "perception_mapnet.pt", map_location="cpu")["steps_total"] == 3
