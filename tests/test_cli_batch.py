"""Batches as a user runs them: mixed folders, nothing overwritten, reruns that skip what is done,
the same bytes twice, strength, mask, --config and --json; and the plan behind them."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from helpers import resized
from PIL import Image

from mosaicir import __version__
from mosaicir.core.errors import InvalidInputError
from mosaicir.io import ImageMeta, load_image, save_image
from mosaicir.io.atomic import stale_temporaries
from mosaicir.io.batch import check_output_folder, finished, plan_batch


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mosaicir", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def noisy() -> np.ndarray:
    """``float32 48 x 48 x 3``: the astronaut with Gaussian noise (sigma 0.1)."""
    clean = resized(skimage.data.astronaut(), 48, 48)
    return np.clip(clean + np.random.default_rng(0).normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)


def make_mixed_folder(root: Path, image: np.ndarray) -> dict[str, bytes]:
    """PNG, JPEG, 16-bit PNG, RGBA, WebP and TIFF in nested folders, two files with the same stem,
    a text file and a GIF; returns the bytes of every file, by path relative to ``root``."""
    save_image(root / "a.png", image)
    save_image(root / "a.jpg", image)
    save_image(root / "deep.png", image, meta=ImageMeta(bit_depth=16))
    save_image(root / "clear.png", image, alpha=np.full(image.shape[:2], 0.5, np.float32))
    save_image(root / "nested" / "b.webp", image)
    save_image(root / "nested" / "deeper" / "c.tif", image)
    (root / "notes.txt").write_text("not an image")
    Image.fromarray((image * 255).astype(np.uint8)).save(root / "anim.gif")
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


EXPECTED = ["a_restored.jpg", "a_restored.png", "clear_restored.png", "deep_restored.png",
            "nested/b_restored.webp", "nested/deeper/c_restored.tif"]


def test_mixed_folder_restores_in_one_command_and_rerun_skips(tmp_path, noisy):
    src, out = tmp_path / "photos", tmp_path / "out"
    before = make_mixed_folder(src, noisy)
    result = run("restore", "-i", str(src), "-o", str(out), "--recursive", "--strategy", "none", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["restored"], summary["skipped"], summary["failed"]) == (6, 0, 0)
    assert sorted(Path(p).name for p in summary["unsupported"]) == ["anim.gif", "notes.txt"]
    assert "notes.txt" in result.stderr and "anim.gif" in result.stderr, "unsupported files are reported"
    results = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.endswith(".run.json"))
    assert results == EXPECTED
    assert load_image(out / "deep_restored.png").meta.bit_depth == 16
    assert load_image(out / "clear_restored.png").alpha is not None
    np.testing.assert_array_equal(load_image(out / "a_restored.png").image, load_image(src / "a.png").image)
    after = {str(p.relative_to(src)): p.read_bytes() for p in sorted(src.rglob("*")) if p.is_file()}
    assert after == before, "inputs are never modified, and nothing is written among them"

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = run("restore", "-i", str(src), "-o", str(out), "--recursive", "--strategy", "none", "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["restored"], summary["skipped"]) == (0, 6)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps, "a rerun touches nothing"


def test_without_recursive_sub_folders_are_reported(tmp_path, noisy):
    src = tmp_path / "photos"
    make_mixed_folder(src, noisy)
    result = run("restore", str(src), "-o", str(tmp_path / "out"), "--strategy", "none")
    assert result.returncode == 0, result.stderr
    assert "nested" in result.stderr and "--recursive" in result.stderr
    assert not (tmp_path / "out" / "nested").exists()


def test_same_command_twice_gives_identical_bytes(tmp_path, noisy):
    src = tmp_path / "in"
    save_image(src / "one.png", noisy)
    save_image(src / "two.jpg", noisy[::-1].copy())
    outputs = []
    for _ in range(2):
        result = run("restore", str(src), "-o", str(tmp_path / "out"), "--overwrite")  # default strategy and planner
        assert result.returncode == 0, result.stderr
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / "out").iterdir())})
    assert sorted(outputs[0]) == ["one_restored.png", "one_restored.png.run.json", "two_restored.jpg", "two_restored.jpg.run.json"]
    assert outputs[0] == outputs[1]
    assert outputs[0]["one_restored.png"] != (src / "one.png").read_bytes(), "the restoration did something"
    assert json.loads(outputs[0]["one_restored.png.run.json"])["memory"] is False
    assert not (Path(os.environ["MOSAICIR_HOME"]) / "memory.sqlite").exists(), "the plan memory is off by default"


def test_writing_into_the_input_folder(tmp_path, noisy):
    folder = tmp_path / "photos"
    save_image(folder / "a.png", noisy)
    original = (folder / "a.png").read_bytes()
    refused = run("restore", str(folder), "-o", str(folder), "--suffix", "", "--strategy", "none")
    assert refused.returncode == 2 and "which is an input" in one_line_error(refused)
    assert (folder / "a.png").read_bytes() == original and sorted(p.name for p in folder.iterdir()) == ["a.png"]

    done = run("restore", str(folder), "-o", str(folder), "--strategy", "none")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "a_restored.png", "a_restored.png.run.json"]
    again = run("restore", str(folder), "-o", str(folder), "--strategy", "none", "--overwrite")
    assert again.returncode == 0, again.stderr
    assert not (folder / "a_restored_restored.png").exists(), "earlier results are not taken as inputs"
    assert "notes" not in again.stderr and "unsupported" not in again.stderr, "our own sidecars are not reported"


def test_same_stem_is_refused_only_when_names_would_collide(tmp_path, noisy):
    save_image(tmp_path / "in" / "a.png", noisy)
    save_image(tmp_path / "in" / "a.jpg", noisy)
    result = run("restore", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--ext", "png", "--strategy", "none")
    assert result.returncode == 2 and "would both be written to" in one_line_error(result)
    assert not (tmp_path / "out").exists(), "refused before any work"


def test_forced_extension_and_quality(tmp_path, noisy):
    save_image(tmp_path / "in" / "a.png", noisy, meta=ImageMeta(bit_depth=16))
    result = run("restore", str(tmp_path / "in" / "a.png"), "-o", str(tmp_path / "out"), "--ext", "jpg", "--quality", "60",
                 "--strategy", "none")
    assert result.returncode == 0, result.stderr
    loaded = load_image(tmp_path / "out" / "a_restored.jpg")
    assert loaded.meta.format == "JPEG" and loaded.meta.bit_depth == 8


def test_output_folder_is_checked_before_any_work(tmp_path, noisy):
    save_image(tmp_path / "in" / "a.png", noisy)
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        result = run("restore", str(tmp_path / "in"), "-o", str(out))
        assert result.returncode == 2 and str(out) in one_line_error(result)
    missing = run("restore", str(tmp_path / "nowhere.png"), "-o", str(tmp_path / "out"))
    assert missing.returncode == 2 and "no such file" in one_line_error(missing)


def test_strength_zero_gives_the_input_back_and_mask_restores_only_there(tmp_path, noisy):
    src = save_image(tmp_path / "noisy.png", noisy)
    zero = run("restore", str(src), "-o", str(tmp_path / "zero"), "--strength", "0")
    assert zero.returncode == 0, zero.stderr
    np.testing.assert_array_equal(load_image(tmp_path / "zero" / "noisy_restored.png").image, noisy_u8(noisy))
    assert json.loads((tmp_path / "zero" / "noisy_restored.png.run.json").read_text())["strength"] == 0.0

    mask = np.zeros((24, 24), np.float32)
    mask[:, :12] = 1.0  # half the size of the image: resized to it
    save_image(tmp_path / "mask.png", np.repeat(mask[:, :, None], 3, axis=2))
    masked = run("restore", str(src), "-o", str(tmp_path / "masked"), "--mask", str(tmp_path / "mask.png"))
    assert masked.returncode == 0, masked.stderr
    image = load_image(tmp_path / "masked" / "noisy_restored.png").image
    np.testing.assert_array_equal(image[:, 26:], noisy_u8(noisy)[:, 26:])
    assert np.abs(image[:, :22] - noisy_u8(noisy)[:, :22]).mean() > 0.01, "restored where the mask is white"


def noisy_u8(image: np.ndarray) -> np.ndarray:
    """What ``image`` reads back as from an 8-bit PNG."""
    return (np.round(image * 255) / 255).astype(np.float32)


def test_bad_masks(tmp_path, noisy):
    src = save_image(tmp_path / "noisy.png", noisy)
    (tmp_path / "mask.txt").write_text("not a mask")
    unreadable = run("restore", str(src), "-o", str(tmp_path / "out"), "--mask", str(tmp_path / "mask.txt"))
    assert unreadable.returncode == 2 and "bad mask" in one_line_error(unreadable)
    save_image(tmp_path / "wide.png", np.ones((10, 48, 3), np.float32))
    wide = run("restore", str(src), "-o", str(tmp_path / "out"), "--mask", str(tmp_path / "wide.png"), "--strategy", "none")
    assert wide.returncode == 1 and "aspect ratios differ" in wide.stderr and "Traceback" not in wide.stderr


def test_config_file_and_command_line_precedence(tmp_path, noisy):
    src = save_image(tmp_path / "in" / "a.png", noisy)
    config = tmp_path / "restore.toml"
    config.write_text(f'[restore]\nout-dir = "{tmp_path / "out"}"\nstrategy = "none"\nsuffix = "_x"\nonly = ["noise", "jpeg"]\njson = true\n')
    result = run("restore", str(src), "--config", str(config), "--suffix", "_y")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items"][0]["output"].endswith("a_y.png"), "the command line wins"
    record = json.loads((tmp_path / "out" / "a_y.png.run.json").read_text())
    assert record["strategy"] == "none" and "noise" not in record["ignore"] and "haze" in record["ignore"]

    config.write_text('strenght = 0.5\n')
    typo = run("restore", str(src), "-o", str(tmp_path / "out"), "--config", str(config))
    assert typo.returncode == 2 and "did you mean 'strength'" in one_line_error(typo)
    config.write_text('strength = 2\n')
    out_of_range = run("restore", str(src), "-o", str(tmp_path / "out"), "--config", str(config))
    assert out_of_range.returncode == 2 and "restore.toml: strength" in one_line_error(out_of_range)
    config.write_text('strength = \n')
    broken = run("restore", str(src), "-o", str(tmp_path / "out"), "--config", str(config))
    assert broken.returncode == 2 and "not valid TOML" in one_line_error(broken)


@pytest.mark.parametrize("args, message", [
    (["--only", "noise", "--ignore", "rain"], "not both"),
    (["--only", "nosie"], "did you mean 'noise'"),
    (["--strength", "2"], "strength"),
    (["--bogus"], "No such option"),
    (["--ext", "gif"], "ext"),
    (["--suffix", "a/b"], "separator"),
])
def test_bad_options_are_one_line_errors(tmp_path, noisy, args, message):
    src = save_image(tmp_path / "a.png", noisy)
    result = run("restore", str(src), "-o", str(tmp_path / "out"), *args)
    assert result.returncode == 2 and message in one_line_error(result)
    assert not (tmp_path / "out").exists()


def test_version_flag():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == __version__


def test_stale_temporaries_of_a_killed_run_are_cleaned_and_rerun_completes(tmp_path, noisy):
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a", "b"):
        save_image(src / f"{name}.png", noisy)
    first = run("restore", str(src / "a.png"), "-o", str(out), "--strategy", "none")
    assert first.returncode == 0, first.stderr
    # what SIGKILL during the write of b's result leaves: a hidden temporary, no result
    (out / ".b_restored.k1ll3d_x.tmp.png").write_bytes(b"\x89PNG partial")
    assert stale_temporaries(out / "b_restored.png")
    rerun = run("restore", str(src), "-o", str(out), "--strategy", "none", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert [row["status"] for row in json.loads(rerun.stdout)["items"]] == ["skipped", "restored"]
    assert not stale_temporaries(out / "b_restored.png")
    assert load_image(out / "b_restored.png").image.shape == noisy.shape


def test_sigterm_stops_a_batch_cleanly_and_the_rerun_finishes(tmp_path, noisy):
    src, out = tmp_path / "in", tmp_path / "out"
    for index in range(8):
        save_image(src / f"p{index}.png", np.roll(noisy, 5 * index, axis=1))
    process = subprocess.Popen([sys.executable, "-m", "mosaicir", "restore", str(src), "-o", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not list(out.glob("*_restored.png")):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    if process.returncode == 130:
        assert "run the same command again" in stderr
    assert not [p for p in out.rglob("*") if ".tmp" in p.name], "no temporary or partial file is left"
    done = sorted(p.name for p in out.glob("*_restored.png"))
    for name in done:
        assert load_image(out / name).image.shape == noisy.shape
    rerun = run("restore", str(src), "-o", str(out), "--json")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == len(done) and summary["restored"] == 8 - len(done)


def test_progress_bar_stays_quiet_when_not_a_terminal(tmp_path, noisy):
    src = save_image(tmp_path / "a.png", noisy)
    result = run("restore", str(src), "-o", str(tmp_path / "out"), "--strategy", "none")
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout + result.stderr and "ETA" not in result.stderr


# the plan, in process


def test_plan_mirrors_folders_and_names_sidecars(tmp_path, noisy):
    make_mixed_folder(tmp_path / "photos", noisy)
    plan = plan_batch([tmp_path / "photos"], tmp_path / "out", recursive=True)
    assert sorted(str(i.output.relative_to(tmp_path / "out")) for i in plan.items) == EXPECTED
    item = next(i for i in plan.items if i.source.name == "a.jpg")
    assert item.sidecar("run").name == "a_restored.jpg.run.json" and item.sidecar("report").name == "a_restored.jpg.report.html"
    assert not finished(item)
    save_image(item.output, noisy)
    assert finished(item) and not finished(item, ["report"]), "done when the result and the sidecars asked for exist"


def test_plan_leaves_out_the_output_folder_inside_an_input_folder(tmp_path, noisy):
    save_image(tmp_path / "photos" / "a.png", noisy)
    save_image(tmp_path / "photos" / "restored" / "a_restored.png", noisy)
    plan = plan_batch([tmp_path / "photos"], tmp_path / "photos" / "restored", recursive=True)
    assert [i.source.name for i in plan.items] == ["a.png"] and not plan.unsearched


def test_plan_refusals(tmp_path, noisy):
    save_image(tmp_path / "one" / "a.png", noisy)
    save_image(tmp_path / "two" / "a.png", noisy)
    with pytest.raises(InvalidInputError, match="would both be written"):
        plan_batch([tmp_path / "one", tmp_path / "two"], tmp_path / "out")
    with pytest.raises(InvalidInputError, match="which is an input"):
        plan_batch([tmp_path / "one" / "a.png"], tmp_path / "one", suffix="")
    named_twice = plan_batch([tmp_path / "one" / "a.png", tmp_path / "one"], tmp_path / "out")
    assert len(named_twice.items) == 1
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        check_output_folder(tmp_path / "file")


def test_a_large_image_gets_a_bar_of_its_stages():
    from mosaicir import cli

    console = cli._Console(3, as_json=False)
    console.enabled = True  # as on a terminal
    assert console.image_progress(1000) is None  # a small image: the batch bar is enough
    follow = console.image_progress(cli.LARGE_IMAGE_PIXELS)
    follow("regions (1 of 2 done)", 0.5)
    stage = console.progress.tasks[-1]
    assert stage.completed == 0.5 and "regions (1 of 2 done)" in stage.description and stage.visible
    console.image_done()
    assert not console.progress.tasks[-1].visible
    quiet = cli._Console(3, as_json=False)
    quiet.enabled = False  # not a terminal: no bars at all
    assert quiet.image_progress(10 ** 9) is None
