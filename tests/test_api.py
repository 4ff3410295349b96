"""The Python API: mosaicir.restore and mosaicir.analyze on paths and arrays, the Result, strength
and mask, errors, lazy imports, and the README's example run as it is written."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from helpers import resized

import mosaicir
from mosaicir.api import blend, prepare_mask
from mosaicir.core.errors import ImageReadError, InvalidImageError, InvalidInputError, MosaicirError, UnknownNameError
from mosaicir.io import load_image, save_image
from mosaicir.io.atomic import stale_temporaries
from mosaicir.perception import DegradationMaps

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def noisy() -> np.ndarray:
    """``float32 48 x 48 x 3``: the astronaut with Gaussian noise (sigma 0.1)."""
    clean = resized(skimage.data.astronaut(), 48, 48)
    return np.clip(clean + np.random.default_rng(0).normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)


def test_import_is_lazy():
    code = ("import sys, mosaicir; loaded = [m for m in sys.modules if m.startswith(('mosaicir.agents', 'mosaicir.api', 'onnxruntime'))];"
            "assert not loaded, loaded; assert callable(mosaicir.restore) and 'mosaicir.api' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_restore_a_path(tmp_path, noisy):
    src = save_image(tmp_path / "noisy.png", noisy)
    result = mosaicir.restore(src)
    assert isinstance(result, mosaicir.Result)
    assert result.image.dtype == np.float32 and result.image.shape == (48, 48, 3)
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    assert np.abs(result.image - result.input).mean() > 0.01, "the noise was acted on"
    assert isinstance(result.maps, DegradationMaps) and "noise" in result.maps.summary().present, "maps of the input"
    assert isinstance(result.regions, list) and result.trajectory.steps and result.accepted_tools
    assert result.record()["input"] == str(src) and result.record()["memory"] is False
    saved = result.save(tmp_path / "out" / "restored.png")
    assert not stale_temporaries(saved)
    np.testing.assert_allclose(load_image(saved).image, result.image, atol=0.5 / 255 + 1e-6)
    page = result.report(tmp_path / "out" / "report.html").read_text()
    assert "<html" in page and "noisy.png" in page
    assert "48x48" in repr(result) and len(repr(result)) < 200


def test_restore_an_array_twice_gives_the_same_result(noisy):
    first, second = mosaicir.restore(noisy), mosaicir.restore(noisy)
    np.testing.assert_array_equal(first.image, second.image)
    assert first.source.path is None and first.record()["input"].startswith("sha256:")


def test_strength_and_mask_blend_towards_the_restoration(noisy):
    full = mosaicir.restore(noisy, strategy="global", planner="prior")
    none = mosaicir.restore(noisy, strategy="global", strength=0.0)
    np.testing.assert_array_equal(none.image, noisy)
    half = mosaicir.restore(noisy, strategy="global", strength=0.5)
    np.testing.assert_allclose(half.image, (noisy + full.restored) / 2, atol=1e-6)
    mask = np.zeros((48, 48), bool)
    mask[:, :24] = True
    masked = mosaicir.restore(noisy, strategy="global", mask=mask)
    np.testing.assert_array_equal(masked.image[:, 24:], noisy[:, 24:])
    np.testing.assert_array_equal(masked.image[:, :24], full.restored[:, :24])


def test_blend_and_mask_helpers():
    original, restored = np.zeros((4, 6, 3), np.float32), np.ones((4, 6, 3), np.float32)
    assert blend(original, restored, 1.0) is restored
    np.testing.assert_array_equal(blend(original, restored, 0.25), np.full((4, 6, 3), 0.25, np.float32))
    grey = np.linspace(0, 1, 4 * 6, dtype=np.float32).reshape(4, 6)
    np.testing.assert_allclose(blend(original, restored, 0.5, grey)[:, :, 0], 0.5 * grey, atol=1e-7)
    assert prepare_mask(np.ones((2, 3), np.float32), (4, 6)).shape == (4, 6)
    with pytest.raises(InvalidInputError, match="aspect ratios differ"):
        prepare_mask(np.ones((4, 4), np.float32), (4, 6))
    with pytest.raises(InvalidInputError, match="bad mask"):
        prepare_mask(np.full((4, 6), 2.0, np.float32), (4, 6))


def test_analyze(tmp_path, noisy):
    maps = mosaicir.analyze(save_image(tmp_path / "noisy.png", noisy))
    assert isinstance(maps, DegradationMaps) and maps.image_shape == (48, 48)
    assert "noise" in maps.summary().present and maps.upsample("noise").shape == (48, 48)
    assert mosaicir.analyze(noisy, method="classical").method == "classical"


@pytest.mark.parametrize("call, error, message", [
    (lambda image: mosaicir.restore(image, strength=1.5), InvalidInputError, "strength"),
    (lambda image: mosaicir.restore(image, strenght=0.5), InvalidInputError, "did you mean 'strength'"),
    (lambda image: mosaicir.restore(image, only="nosie"), InvalidInputError, "did you mean 'noise'"),
    (lambda image: mosaicir.restore(image, only="noise", ignore="rain"), InvalidInputError, "not both"),
    (lambda image: mosaicir.restore(image, strategy="local"), InvalidInputError, "strategy"),
    (lambda image: mosaicir.restore(image, planner="gredy"), UnknownNameError, "did you mean 'greedy'"),
    (lambda image: mosaicir.restore((image * 255).astype(np.uint8)), InvalidImageError, "divide by 255"),
    (lambda image: mosaicir.restore(image[:, :, 0]), InvalidImageError, "H x W x 3"),
    (lambda image: mosaicir.restore("no/such/photo.jpg"), ImageReadError, "no such file"),
    (lambda image: mosaicir.restore(image, mask=np.ones((10, 48), np.float32)), InvalidInputError, "aspect ratios"),
    (lambda image: mosaicir.analyze(image, method="magic"), InvalidInputError, "magic"),
])
def test_errors_are_mosaicir_errors(noisy, call, error, message):
    with pytest.raises(error, match=re.escape(message)) as caught:
        call(noisy)
    assert isinstance(caught.value, MosaicirError)


def test_only_restricts_what_is_acted_on(noisy):
    result = mosaicir.restore(noisy, only=["noise"], strategy="none")
    assert result.config.ignore == [n for n in mosaicir.DEGRADATIONS if n != "noise"]
    assert "rain" not in result.config.try_everywhere


def readme_python_example() -> str:
    text = README.read_text()
    section = text[text.index("\n## Python\n"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs(tmp_path, noisy, monkeypatch, capsys):
    save_image(tmp_path / "photo.jpg", noisy, quality=90)
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_python_example(), "README.md", "exec"), {})
    assert load_image(tmp_path / "photo_restored.png").image.shape == (48, 48, 3)
    assert "<html" in (tmp_path / "photo.report.html").read_text()
    assert "Result(48x48" in capsys.readouterr().out
