import json
import subprocess
import sys

import pytest

from mosaicir.bench.tools import bench_denoise, bench_tools, best_gains
from mosaicir.core.errors import InvalidInputError
from mosaicir.degrade.generator import generate


@pytest.fixture(scope="module")
def single_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    generate("single", out, n=1, seed=2, max_side=96)
    return out


def test_bench_tools_rows(single_set, tmp_path):
    document = bench_tools(single_set, tmp_path, tools=["dark_channel", "deblock"])
    rows = document["rows"]
    assert {(r["tool"], r["severity"]) for r in rows} == {(t, s) for t in ("dark_channel", "deblock") for s in (0.25, 0.5, 0.75)}
    keys = {"tool", "degradation", "severity", "psnr_before", "psnr_after", "ssim_before", "ssim_after", "seconds_per_megapixel"}
    assert all(keys <= set(r) for r in rows)
    on_disk = json.loads((tmp_path / "tools.json").read_text())
    assert on_disk["rows"] == rows
    assert "| haze | dark_channel | 0.50 |" in (tmp_path / "tools.md").read_text()
    assert best_gains(rows, 0.5)["haze"][0] == "dark_channel"


def test_bench_tools_needs_single_items(tmp_path):
    generate("mio-b", tmp_path / "mio", n=1, seed=2, max_side=64)
    with pytest.raises(InvalidInputError, match="single"):
        bench_tools(tmp_path / "mio", tmp_path / "res")


def test_bench_denoise(tmp_path, astronaut):
    from mosaicir.io import save_image

    save_image(tmp_path / "clean" / "a.png", astronaut)
    document = bench_denoise(tmp_path / "clean", tmp_path / "res", sigma=25, tools=["nl_means"])
    assert document["psnr"]["nl_means"] > document["psnr"]["input"] + 3


def test_bench_tools_cli(single_set, tmp_path):
    doc = tmp_path / "TOOLS.md"
    result = subprocess.run([sys.executable, "-m", "mosaicir", "bench", "tools", str(single_set), "--out", str(tmp_path / "r"),
                             "--tools", "adaptive_gamma", "--doc", str(doc)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "low_light" in result.stdout and doc.read_text().startswith("# Tools")
    assert "mosaicir bench tools" in doc.read_text()
