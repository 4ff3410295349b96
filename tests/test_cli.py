"""The command line as a user meets it: one-line errors, non-zero exits, batches that go on."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mosaicir.io import load_image, save_image


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mosaicir", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_version():
    result = run("version")
    assert result.returncode == 0 and result.stdout.strip()


def test_generate_and_preview(tmp_path):
    out = tmp_path / "set"
    result = run("bench", "generate", "--suite", "mio-b", "--n", "1", "--seed", "3", "--max-side", "64", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(json.loads((out / "manifest.json").read_text())["items"]) == 4
    sheet = tmp_path / "sheet.png"
    result = run("bench", "preview", str(out), "-o", str(sheet))
    assert result.returncode == 0, result.stderr
    assert load_image(sheet).image.shape[0] > 64 * 4


def test_unknown_suite_is_one_line_error(tmp_path):
    result = run("bench", "generate", "--suite", "mosiac", "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert "did you mean 'mosaic'" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_preview_of_non_benchmark_folder(tmp_path):
    result = run("bench", "preview", str(tmp_path), "-o", str(tmp_path / "s.png"))
    assert result.returncode == 2 and "manifest.json" in result.stderr and "Traceback" not in result.stderr


def test_restore_batch_goes_on_past_bad_files(tmp_path, astronaut):
    noisy = np.clip(astronaut + np.random.default_rng(0).normal(0, 0.1, astronaut.shape), 0, 1).astype(np.float32)
    good = save_image(tmp_path / "in" / "good.png", noisy)
    (tmp_path / "in" / "bad.png").write_text("not an image")
    before = good.read_bytes()
    out = tmp_path / "out"
    result = run("restore", str(tmp_path / "in"), "-o", str(out), "--trajectory", "--report")
    assert result.returncode == 1
    assert "bad.png" in result.stderr and "1 of 2 images failed" in result.stderr and "Traceback" not in result.stderr
    assert good.read_bytes() == before, "inputs are never modified"
    # results are named <stem>_restored<source extension>, sidecars after the result's full name
    restored = load_image(out / "good_restored.png").image
    assert restored.shape == noisy.shape
    assert (out / "good_restored.png.trajectory.jsonl").read_text().strip()
    assert "<table>" in (out / "good_restored.png.report.html").read_text()
    config = json.loads((out / "good_restored.png.run.json").read_text())
    assert "seed" not in config and config["input"].endswith("good.png")
    assert not (out / "bad_restored.png").exists() and not (out / "bad.png").exists()
    assert "bad.png: bad.png" not in result.stderr.replace(str(tmp_path / "in") + "/", ""), "the path is written once"


def test_restore_sample(tmp_path):
    result = run("restore", "--sample", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sample_restored.png").exists()


def test_restore_without_inputs(tmp_path):
    result = run("restore", "-o", str(tmp_path))
    assert result.returncode == 2 and "no input images" in result.stderr


@pytest.mark.parametrize("name", ["noise", "haze"])
def test_degrade_command(tmp_path, astronaut, name):
    src = save_image(tmp_path / "clean.png", astronaut)
    result = run("degrade", str(src), "-d", name, "-s", "0.5", "-o", str(tmp_path / "d.png"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"]["severity"] == 0.5


def test_restore_options_and_replay(tmp_path, astronaut):
    noisy = np.clip(astronaut + np.random.default_rng(1).normal(0, 0.12, astronaut.shape), 0, 1).astype(np.float32)
    src = save_image(tmp_path / "noisy.png", noisy)
    out = tmp_path / "out"
    result = run("restore", str(src), "-o", str(out), "--strategy", "global", "--planner", "greedy", "--no-memory",
                 "--trajectory", "--report")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "noisy_restored.png.run.json").read_text())
    assert config["strategy"] == "global" and config["planner"] == "greedy" and config["memory"] is False
    assert "perceived degradations" in (out / "noisy_restored.png.report.html").read_text()
    again = run("replay", str(out / "noisy_restored.png.trajectory.jsonl"), str(src), "-o", str(tmp_path / "again.png"))
    assert again.returncode == 0, again.stderr
    np.testing.assert_array_equal(load_image(tmp_path / "again.png").image, load_image(out / "noisy_restored.png").image)


@pytest.mark.parametrize("option, value, message", [
    ("--strategy", "local", "strategy"), ("--planner", "gredy", "did you mean 'greedy'"), ("--perception", "magic", "perception"),
])
def test_restore_bad_options_are_one_line_errors(tmp_path, astronaut, option, value, message):
    src = save_image(tmp_path / "in.png", astronaut)
    result = run("restore", str(src), "-o", str(tmp_path / "out"), option, value)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
