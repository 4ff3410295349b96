"""``mosaicir bench paired`` over several sets: the summary table, baselines, the clean photographs'
row, bad pairs and sets, and the crops script; tiny synthetic folders only (never the shared data)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from helpers import degrade, resized

from mosaicir.bench.baselines import BASELINES, GAMMA_TARGET_MEAN, gamma, get_baseline, nlmeans
from mosaicir.bench.paired import LOWERED_BY, bench_clean, bench_paired_sets, find_sets
from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import psnr
from mosaicir.io import save_image

ROOT = Path(__file__).resolve().parents[1]


def _cat(width: int = 96, height: int = 64) -> np.ndarray:
    return resized(skimage.data.chelsea(), width, height)


def _coffee(width: int = 96, height: int = 64) -> np.ndarray:
    return resized(skimage.data.coffee(), width, height)


def _make_sets(root: Path) -> None:
    """``root/A``: two noisy pairs and an unreadable one; ``root/B``: one pair and an input without
    a reference; ``root/notes``: not a set (no input/ and target/)."""
    for stem, image in (("cat", _cat()), ("coffee", _coffee())):
        save_image(root / "A" / "target" / f"{stem}.png", image)
        save_image(root / "A" / "input" / f"{stem}.png", degrade(image, "noise", 0.5))
    (root / "A" / "input" / "broken.png").write_text("not an image")
    (root / "A" / "target" / "broken.png").write_text("not an image")
    save_image(root / "B" / "target" / "cat.jpg", _cat())
    save_image(root / "B" / "input" / "cat.png", degrade(_cat(), "noise", 0.3, seed=1))
    save_image(root / "B" / "input" / "lonely.png", _coffee())
    (root / "notes").mkdir()


def _mosaicir(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mosaicir", "bench", "paired", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_two_sets_give_one_summary_row_each_and_a_bad_pair_is_reported(tmp_path):
    data, res = tmp_path / "paired", tmp_path / "res"
    _make_sets(data)
    result = _mosaicir("--sets", data, "--out", res, "--strategies", "spatial", "--baseline", "gamma")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "1 of 4 images failed" in result.stderr and "broken" in result.stderr
    summary = json.loads((res / "summary.json").read_text())
    assert [row["set"] for row in summary["sets"]] == ["A", "B"] and summary["failed_sets"] == []
    a, b = summary["sets"]
    assert (a["images"], b["images"]) == (2, 1) and [f["id"] for f in a["failed"]] == ["broken"]
    assert (a["unpaired"], b["unpaired"]) == (0, 1)
    assert summary["lowered_by"] == LOWERED_BY == 0.1 and summary["baseline_names"] == ["gamma"]
    for row in summary["sets"]:
        document = json.loads((res / row["set"] / "results.json").read_text())
        spatial = document["strategies"]["spatial"]
        changes = [r["psnr"] - r["input_psnr"] for r in spatial["per_image"]]
        assert row["strategies"]["spatial"]["lowered"] == sum(c < -LOWERED_BY for c in changes)
        assert row["strategies"]["spatial"]["gain"] == pytest.approx(np.mean(changes), abs=1e-3)
        assert row["strategies"]["spatial"]["worst"]["change"] == pytest.approx(min(changes), abs=1e-3)
        assert row["strategies"]["spatial"]["gain"] > 1.0  # the noise is removed
        assert set(row["baselines"]) == {"gamma"} and "lowered" in row["baselines"]["gamma"]
        assert {p["id"] for p in document["pairs"]} == {r["id"] for r in spatial["per_image"]}
        for r in spatial["per_image"]:
            assert (res / row["set"] / "spatial" / f"{r['id']}.png").is_file()
            assert (res / row["set"] / "gamma" / f"{r['id']}.png").is_file()
    assert json.loads((res / "B" / "results.json").read_text())["pairs"][0]["target"].endswith("cat.jpg")
    table = (res / "summary.md").read_text()
    assert table in result.stdout
    assert "| A | 2 (1 failed) |" in table and "| B | 1 |" in table
    assert "spatial lowered" in table and "gamma gain" in table and "more than 0.1 dB" in table

    crops = subprocess.run([sys.executable, str(ROOT / "scripts" / "real_crops.py"), str(res), "--out", str(tmp_path / "docs" / "real")],
                           capture_output=True, text=True, timeout=120)
    assert crops.returncode == 0, crops.stderr
    figures = sorted((tmp_path / "docs" / "real").glob("*.png"))
    assert [f.name for f in figures] == ["A-best.png", "A-worst.png", "B-best.png", "B-worst.png"]
    assert all(f.stat().st_size < 300_000 for f in figures)
    assert "](real/A-worst.png)" in crops.stdout


def test_a_list_of_sets_runs_the_nlmeans_baseline_and_a_set_without_pairs_is_listed(tmp_path):
    _make_sets(tmp_path / "paired")
    save_image(tmp_path / "empty" / "input" / "x.png", _cat(32, 32))
    save_image(tmp_path / "empty" / "target" / "y.png", _cat(32, 32))
    summary = bench_paired_sets(find_sets([tmp_path / "paired" / "B", tmp_path / "empty"]), tmp_path / "res",
                                strategies=["none"], baselines={"nlmeans": get_baseline("nlmeans", h=10)},
                                baseline_options={"nlmeans": {"h": 10}}, log=lambda line: None)
    assert [row["set"] for row in summary["sets"]] == ["B"]
    assert [f["set"] for f in summary["failed_sets"]] == ["empty"] and "reference" in summary["failed_sets"][0]["error"]
    nl = summary["sets"][0]["baselines"]["nlmeans"]
    assert nl["gain"] > 0.5 and nl["lowered"] == 0 and nl["seconds"] >= 0
    assert summary["sets"][0]["strategies"]["none"]["gain"] == 0.0
    table = (tmp_path / "res" / "summary.md").read_text()
    assert "nlmeans: h 10" in table and "Set empty not run" in table


def test_the_clean_row_counts_unchanged_and_changed_photographs(tmp_path):
    clean = tmp_path / "natural"
    save_image(clean / "one" / "cat.png", _cat())                          # clean: left as it is
    save_image(clean / "two" / "coffee.png", degrade(_coffee(), "noise", 0.6))  # noisy: denoised
    document = bench_clean(clean, tmp_path / "res", log=lambda line: None)
    rows = {r["id"]: r for r in document["per_image"]}
    assert set(rows) == {"one_cat", "two_coffee"} and document["images"] == 2
    assert rows["one_cat"]["changed"] is False and rows["one_cat"]["psnr"] == 100.0
    assert rows["two_coffee"]["changed"] is True and rows["two_coffee"]["psnr"] < 40
    assert document["changed"] == 1 and document["below_floor"] == 1
    assert document["lowest"]["id"] == "two_coffee"
    assert document["mean_changed_psnr"] == rows["two_coffee"]["psnr"]
    assert (tmp_path / "res" / "spatial" / "one_cat.png").is_file()
    untouched = bench_clean(clean, tmp_path / "none", strategy="none", log=lambda line: None)
    assert untouched["changed"] == 0 and untouched["below_floor"] == 0 and untouched["mean_changed_psnr"] is None


def test_clean_only_run_writes_the_clean_table(tmp_path):
    save_image(tmp_path / "natural" / "cat.png", _cat(64, 48))
    result = _mosaicir("--clean", tmp_path / "natural", "--out", tmp_path / "res")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["sets"] == [] and summary["clean"]["images"] == 1 and summary["clean"]["changed"] == 0
    assert "| 1 | 0 | 0 | 100.00 (cat) | - |" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--sets", "{tmp}/nothing-here"], "not a folder"),
    (["--sets", "{tmp}"], "neither input/ and target/"),
    (["{tmp}"], "INPUTS TARGETS"),
    (["--sets", "{tmp}/paired", "--baseline", "magic"], "unknown baseline 'magic'"),
    (["--sets", "{tmp}/paired", "--strategies", "oracle"], "unknown strategies"),
])
def test_errors_are_one_line(tmp_path, args, message):
    _make_sets(tmp_path / "paired")
    (tmp_path / "paired" / "A" / "input").rename(tmp_path / "paired" / "A" / "inputs")  # A is no set now
    result = _mosaicir(*[a.format(tmp=tmp_path) for a in args], "--out", tmp_path / "res")
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_baselines_keep_shape_and_range_and_do_their_job():
    assert list(BASELINES) == ["nlmeans", "gamma"]
    clean = _cat()
    noisy = degrade(clean, "noise", 0.3)
    denoised = nlmeans(noisy, h=8)
    assert denoised.shape == noisy.shape and denoised.dtype == np.float32
    assert 0 <= denoised.min() and denoised.max() <= 1
    assert psnr(clean, denoised) > psnr(clean, noisy) + 1
    dark = (clean * 0.2).astype(np.float32)
    lifted = gamma(dark)
    assert lifted.dtype == np.float32 and abs(float(lifted.mean()) - GAMMA_TARGET_MEAN) < 0.05
    bright = np.full((8, 8, 3), 0.6, np.float32)
    assert np.array_equal(gamma(bright), bright)
    assert np.array_equal(gamma(np.zeros((4, 4, 3), np.float32)), np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InvalidInputError):
        get_baseline("magic")
