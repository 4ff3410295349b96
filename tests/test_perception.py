"""Perception: maps of the right shape and range, degradations found where they are, JPEG quality
read from the file, the summary, the analyze command and the perception benchmark."""

import json
import subprocess
import sys

import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized
from PIL import Image

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.names import DEGRADATIONS
from mosaicir.io import load_image, save_image
from mosaicir.perception import DegradationMaps, perceive
from mosaicir.perception import network as network_module
from mosaicir.perception.classical import classical_severity, quality_from_quantization


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    """``float32 256 x 384 x 3``: a natural image large enough for cell statistics."""
    return resized(skimage.data.chelsea(), 384, 256)



@pytest.mark.parametrize("method", ["auto", "learned", "classical"])
def test_maps_shape_range_and_determinism(scene, method):
    maps = perceive(scene[:250, :379], method=method)
    assert maps.severity.shape == (8, 32, 48)
    assert maps.severity.dtype == np.float32
    assert 0.0 <= maps.severity.min() and maps.severity.max() <= 1.0
    assert maps.upsample("noise").shape == (250, 379)
    again = perceive(scene[:250, :379], method=method)
    np.testing.assert_array_equal(maps.severity, again.severity)
    assert set(maps.thresholds) == set(DEGRADATIONS)


def test_unknown_method_and_name(scene):
    with pytest.raises(InvalidInputError):
        perceive(scene, method="oracle")
    with pytest.raises(KeyError):
        perceive(scene).map("fog")


# low_light is left out: the shipped network misses whole-frame darkening of this image (docs/PERCEPTION.md);
# rain too since the streak model changed (added, thin, layered streaks as in the public sets): the
# shipped network was trained on the earlier model, and rain is now tried on every frame and decided
# by what the derainer removed (docs/REAL.md), not by the maps
@pytest.mark.parametrize("name", ["noise", "haze", "jpeg", "defocus_blur"])
def test_whole_image_degradation_is_found(scene, name):
    degraded = degrade(scene, name, 0.7)
    summary = perceive(degraded).summary()
    assert name in summary.present, summary.present
    assert summary.degradations[name].area > 0.2


def test_clean_image_is_mostly_left_alone(scene):
    maps = perceive(scene)
    assert maps.any_flagged().mean() < 0.5


def test_regional_noise_is_located(scene):
    noisy = degrade(scene, "noise", 0.6)
    half = scene.copy()
    half[:, :192] = noisy[:, :192]
    noise = perceive(half).upsample("noise")
    assert noise[:, 16:176].mean() > noise[:, 208:368].mean() + 0.2


def test_jpeg_quality_from_the_file(tmp_path, scene):
    pixels = np.round(scene * 255).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(path, quality=30)
    loaded = load_image(path)
    assert quality_from_quantization(loaded.meta.jpeg_quantization) == 30
    maps = perceive(loaded.image, jpeg_quantization=loaded.meta.jpeg_quantization)
    np.testing.assert_allclose(maps.map("jpeg"), (65 - 30) / 60, atol=1e-6)
    assert maps.estimates["jpeg_quality"] == 30


def test_summary_and_estimates(scene):
    maps = perceive(degrade(scene, "noise", 0.5))
    summary = maps.summary()
    assert summary.size == (256, 384)
    assert 15.0 < summary.estimates["noise_sigma"] < 45.0  # applied: 30 of 255
    json.loads(summary.model_dump_json())


def test_tiled_network_matches_whole(scene, monkeypatch):
    net = network_module.MapNetwork()
    whole = net(scene)
    monkeypatch.setattr(network_module, "TILE", 192)
    monkeypatch.setattr(network_module, "TILE_OVERLAP", 64)
    tiled = net(scene)
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).mean() < 0.05


def test_classical_maps_follow_noise_level(scene):
    low = classical_severity(degrade(scene, "noise", 0.2))[DEGRADATIONS.index("noise")].mean()
    high = classical_severity(degrade(scene, "noise", 0.8))[DEGRADATIONS.index("noise")].mean()
    assert high > low + 0.3


def test_maps_validate_their_shape():
    with pytest.raises(ValueError):
        DegradationMaps(severity=np.zeros((3, 4, 4)), image_shape=(32, 32), cell=8, thresholds={})


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mosaicir", *args], capture_output=True, text=True, timeout=300)


def test_summary_whole_image_threshold():
    # haze just under the cell threshold over a tenth of the image: no cell is flagged, but the
    # whole-image decision, with its own (lower) threshold, calls it present
    from mosaicir.perception.maps import DegradationMaps

    confidence = np.zeros((8, 10, 10), np.float32)
    haze = DEGRADATIONS.index("haze")
    confidence[haze, :1] = 0.55
    thresholds = {n: 0.6 for n in DEGRADATIONS}
    maps = DegradationMaps(severity=confidence.copy(), confidence=confidence, image_shape=(80, 80), cell=8, thresholds=thresholds)
    assert maps.summary().present == [] and not maps.flag_cells("haze").any()
    maps.image_thresholds = {"haze": 0.5}
    summary = maps.summary()
    assert summary.present == ["haze"] and summary.degradations["haze"].area == 0.0
    assert summary.degradations["haze"].basis == "image" and summary.degradations["haze"].mean_severity == pytest.approx(0.55)
    maps.image_thresholds = {"haze": 0.58}
    assert maps.summary().present == []


def test_analyze_command(tmp_path, scene):
    path = save_image(tmp_path / "noisy.png", degrade(scene, "noise", 0.6))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    overlay = tmp_path / "overlay.png"
    result = run_cli("analyze", str(path), "--json", "--overlay", str(overlay))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert "noise" in summary["present"]
    assert load_image(overlay).image.shape[1] >= 384
    text = run_cli("analyze", str(path))
    assert "noise" in text.stdout
    bad = run_cli("analyze", str(tmp_path / "broken.png"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "broken.png" in bad.stderr


def test_bench_perception_writes_the_document(tmp_path):
    data, res = tmp_path / "set", tmp_path / "res"
    result = run_cli("bench", "generate", "--suite", "mosaic", "--n", "2", "--seed", "1", "--max-side", "160", "--out", str(data))
    assert result.returncode == 0, result.stderr
    result = run_cli("bench", "perception", str(data), "--out", str(res))
    assert result.returncode == 0, result.stderr
    document = json.loads((res / "perception.json").read_text())
    for key in ("per_degradation", "macro_f1", "macro_f1_visible", "severity_mae", "false_alarm_rate", "seconds_per_megapixel"):
        assert key in document
    assert set(document["per_degradation"]) == set(DEGRADATIONS)
    # both F1s: against the labels, and against the labels kept where the pixels visibly changed
    assert 0.0 <= document["macro_f1_visible"] <= 1.0
    assert all(r["f1_visible"] is None for r in document["per_degradation"].values() if r["support"] == 0)
    assert any(r["f1_visible"] is not None for r in document["per_degradation"].values())
    assert "F1 (visible)" in (res / "perception.md").read_text()
    row = document["per_degradation"]["noise"]
    assert {"precision", "recall", "f1", "severity_mae", "false_alarm_rate", "frame_wide_images", "frame_wide_right",
            "frame_wide_acted", "frame_wide_acted_right"} <= set(row)
    assert all(0 <= r["frame_wide_right"] <= r["frame_wide_images"] <= document["items"]
               and 0 <= r["frame_wide_acted_right"] <= r["frame_wide_acted"] <= document["items"]
               for r in document["per_degradation"].values())
    assert all(set(item["frame_wide"]) <= set(item["named"]) for item in document["per_image"])
    assert 0.0 <= document["false_alarm_rate"] <= 1.0
    # no single degradation's false alarms exceed those of all of them together
    assert all(r["false_alarm_rate"] <= document["false_alarm_rate"] + 1e-9 for r in document["per_degradation"].values())
