"""The report of a restoration: one self-contained HTML page (full-resolution before/after slider,
the map as perceived before restoration with its legend, regions outlined, crops, decisions), its
JSON sidecar, ``mosaicir report TRAJ``, and the index page of a batch."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
import skimage.data
from helpers import resized
from PIL import Image

import mosaicir
from mosaicir.core.errors import InvalidInputError
from mosaicir.core.names import DEGRADATIONS
from mosaicir.io import save_image
from mosaicir.report import html as report_html
from mosaicir.report import json_sidecar, report_from_trajectory
from mosaicir.report.facts import change_map, crop_window, trajectory_facts
from mosaicir.report.html import to_uint8
from mosaicir.trajectory import (
    DecisionStep, FinalCheckStep, FusionStep, PlanStep, QualityStep, RegionInfo, RegionsStep, ToolCallStep, Trajectory,
    TrajectoryHeader,
)

SIDE = 96


class Elements(HTMLParser):
    """Every start tag of a page as ``(tag, attrs)``, and the text inside each ``<tr>``."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: list[tuple[dict[str, str], list[str]]] = []
        self._row: tuple[dict[str, str], list[str]] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "tr":
            self._row = (attributes, [])
            self.rows.append(self._row)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        if self._row is not None:
            self._row[1].append(data)

    def by_id(self, ident: str) -> dict[str, str]:
        return next(a for _, a in self.tags if a.get("id") == ident)

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a.get("class", "").split()]


def decoded(uri: str) -> np.ndarray:
    header, payload = uri.split(",", 1)
    assert header.startswith("data:image/") and header.endswith(";base64")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mosaicir", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def half_noisy() -> np.ndarray:
    """``float32 96 x 96 x 3``: the astronaut with Gaussian noise (sigma 0.1) on its left half."""
    image = resized(skimage.data.astronaut(), SIDE, SIDE)
    noise = np.random.default_rng(0).normal(0, 0.1, image.shape).astype(np.float32)
    noise[:, SIDE // 2:] = 0
    return np.clip(image + noise, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def restored(tmp_path_factory, half_noisy):
    folder = tmp_path_factory.mktemp("report")
    source = save_image(folder / "photo.png", half_noisy)
    result = mosaicir.restore(source)
    page = result.report(folder / "photo.report.html")
    return result, page


def test_page_is_self_contained_with_a_full_resolution_slider(restored):
    result, page = restored
    text = page.read_text()
    found = Elements(text)
    assert found.by_id("split").get("type") == "range" and found.by_id("viewer") and "clip-path" in text
    assert "addEventListener('wheel'" in text and 'data-zoom="1"' in text, "zoom by wheel and buttons"
    for attribute in ("src", "href"):
        external = [a[attribute] for _, a in found.tags if a.get(attribute, "").startswith(("http:", "https:", "//"))]
        assert not external, f"nothing is fetched: {external}"
    assert not [t for t, a in found.tags if t == "script" and a.get("src")] and "<link" not in text
    before, after = decoded(found.by_id("img-before")["src"]), decoded(found.by_id("img-after")["src"])
    assert before.shape == after.shape == (SIDE, SIDE, 3), "both images at full resolution"
    np.testing.assert_array_equal(before, to_uint8(result.input))
    np.testing.assert_array_equal(after, to_uint8(result.image))
    assert not np.array_equal(before, after), "the restoration is visible"


def test_map_as_perceived_before_restoration_with_legend(restored):
    result, page = restored
    found = Elements(page.read_text())
    legend = [a for a in found.with_class("legend")]
    assert len(legend) == 1
    text = page.read_text()
    items = text[text.index('<ul class="legend">'):text.index("</ul>", text.index('<ul class="legend">'))]
    assert all(name in items for name in DEGRADATIONS), "the legend names every degradation"
    assert decoded(found.by_id("map-img")["src"]).shape[:2] == (SIDE, SIDE)
    facts = json.loads(json_sidecar(page).read_text())
    assert facts["perception"]["when"] == "before restoration"
    assert facts["perception"]["present"] == result.maps.summary().present and "noise" in facts["perception"]["present"]
    assert "noise" in items.split('class="present"')[1], "the noise perceived in the input is marked present"


def test_noise_removed_over_the_whole_frame_still_shows_on_the_map(tmp_path):
    """The map is the input's: noise everywhere is removed by a whole-frame pass before the regions
    are built, so the coordinator's maps no longer show it, but the report does."""
    clean = resized(skimage.data.astronaut(), SIDE, SIDE)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    result = mosaicir.restore(noisy)
    assert "noise" not in result.region_maps.summary().present, "the premise: maps after the whole-frame pass"
    page = result.report(tmp_path / "noisy.report.html")
    facts = json.loads(json_sidecar(page).read_text())
    assert "noise" in facts["perception"]["present"]
    passes = facts["passes"]
    assert passes and passes[0]["when"] == "before the regions" and passes[0]["kept"], "the whole-frame denoising"
    assert facts["crops"] and facts["crops"][0]["region"] is None, "a crop of the whole frame, which changed"
    text = page.read_text()
    assert "Whole-frame passes" in text and passes[0]["kept"][0]["tool"] in text


def test_one_outline_per_region_and_a_row_each(restored):
    result, page = restored
    found = Elements(page.read_text())
    assert result.regions, "the half-noisy image has a region"
    outlines = [a for _, a in found.tags if a.get("class") == "region-outline"]
    assert len(outlines) == len(result.regions)
    for outline, region in zip(outlines, result.regions):
        top, left, bottom, right = region.bbox
        assert outline["data-region"] == str(region.id)
        assert (int(outline["x"]), int(outline["y"]), int(outline["width"]), int(outline["height"])) == \
            (left, top, right - left, bottom - top)
    rows = [cells for attrs, cells in found.rows if "region" in attrs.get("class", "").split()]
    assert len(rows) == len(result.regions)
    region_row = " ".join(rows[0])
    assert "denoise" in region_row and "strength=" in region_row, "the plan and its parameters"
    assert "→" in region_row, "quality before and after"


def test_decisions_table_matches_the_trajectory(restored):
    result, page = restored
    found = Elements(page.read_text())
    decisions = [s for s in result.trajectory.steps if s.kind == "decision"]
    rows = [(attrs, cells) for attrs, cells in found.rows if "decision" in attrs.get("class", "").split()]
    assert len(rows) == len(decisions) > 0
    for (attrs, cells), step in zip(rows, decisions):
        assert step.decision in attrs["class"].split()
        assert step.tool in cells and step.decision in cells
        assert attrs["data-region"] == ("" if step.region is None else str(step.region))


def test_json_sidecar_has_the_same_facts(restored):
    result, page = restored
    facts = json.loads(json_sidecar(page).read_text())
    assert json_sidecar(page).name == "photo.report.json"
    assert [(r["id"], tuple(r["bbox"]), r["signature"]) for r in facts["regions"]] == \
        [(r.id, tuple(r.bbox), r.signature) for r in result.regions]
    decisions = [s for s in result.trajectory.steps if s.kind == "decision"]
    assert [(d["region"], d["call"], d["tool"], d["decision"], d["reason"]) for d in facts["decisions"]] == \
        [(s.region, s.call, s.tool, s.decision, s.reason) for s in decisions]
    assert facts["input"] == {"path": str(result.source.path), "hash": result.trajectory.header.input,
                              "width": SIDE, "height": SIDE}
    assert facts["output"]["matches_trajectory"] and facts["embedded"]["format"] == "png"
    assert facts["crops"] and facts["crops"][0]["region"] == result.regions[0].id, "a crop of the changed region"
    top, left, bottom, right = facts["crops"][0]["box"]
    assert left < SIDE // 2, "the crop is where the noise was removed"
    region = facts["regions"][0]
    assert region["quality_before"] is not None and region["seconds"] > 0 and region["kept"]


def test_report_command_makes_the_same_report_and_batches_get_an_index(tmp_path, half_noisy):
    save_image(tmp_path / "in" / "a.png", half_noisy)
    save_image(tmp_path / "in" / "b.png", half_noisy[::-1].copy())
    out = tmp_path / "out"
    done = run("restore", str(tmp_path / "in"), "-o", str(out), "--report", "--trajectory")
    assert done.returncode == 0, done.stderr

    index = (out / "index.html").read_text()
    links = [a["href"] for t, a in Elements(index).tags if t == "a" and a["href"].endswith(".report.html")]
    assert sorted(links) == ["a_restored.png.report.html", "b_restored.png.report.html"]
    assert all((out / link).is_file() and json_sidecar(out / link).is_file() for link in links)

    again = run("report", str(out / "a_restored.png.trajectory.jsonl"), "-o", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    first = json.loads((out / "a_restored.png.report.json").read_text())
    second = json.loads((tmp_path / "again.json").read_text())
    assert first["output"].pop("source") == "result" and second["output"].pop("source") == "replay"
    assert first == second, "the same facts from the trajectory (input found from the run file, output replayed)"
    pages = [Elements(p.read_text()) for p in (out / "a_restored.png.report.html", tmp_path / "again.html")]
    for ident in ("img-before", "img-after", "map-img"):
        np.testing.assert_array_equal(decoded(pages[0].by_id(ident)["src"]), decoded(pages[1].by_id(ident)["src"]))

    refused = run("report", str(out / "a_restored.png.trajectory.jsonl"))
    assert refused.returncode == 2 and "exists" in refused.stderr, "an existing report is not replaced"


def test_report_from_trajectory_with_given_images(tmp_path, restored):
    result, _ = restored
    trajectory = result.trajectory.save(tmp_path / "run.trajectory.jsonl")
    with pytest.raises(InvalidInputError, match="--input IMAGE"):
        report_from_trajectory(trajectory)  # no run file beside it: only the input's hash is known
    output = result.save(tmp_path / "out.png")
    page = report_from_trajectory(trajectory, input_path=result.source.path, output_path=output)
    assert page == tmp_path / "run.report.html"
    facts = json.loads(json_sidecar(page).read_text())
    assert facts["output"]["source"] == "file" and facts["output"]["matches_trajectory"]
    other = save_image(tmp_path / "other.png", np.zeros((SIDE, SIDE, 3), np.float32))
    with pytest.raises(InvalidInputError, match="not this trajectory's input"):
        report_from_trajectory(trajectory, input_path=other, out=tmp_path / "x.html")


@pytest.mark.parametrize("content", ["not json at all\n", "", '{"kind": "header"}\n'])
def test_bad_trajectory_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "bad.trajectory.jsonl"
    path.write_text(content)
    result = run("report", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "bad.report.html").exists()


def test_large_images_are_embedded_as_jpeg_and_said_so(monkeypatch):
    image = np.random.default_rng(0).random((40, 50, 3)).astype(np.float32)
    uri, how = report_html.full_resolution_uri(image)
    assert uri.startswith("data:image/png;") and how["format"] == "png" and not how["note"]
    monkeypatch.setattr(report_html, "MAX_PNG_PIXELS", 1000)
    uri, how = report_html.full_resolution_uri(image)
    assert uri.startswith("data:image/jpeg;") and how["quality"] == 95 and "JPEG" in how["note"]
    assert decoded(uri).shape == (40, 50, 3), "still at full resolution"


def test_crop_goes_where_the_change_is():
    before = np.zeros((300, 500, 3), np.float32)
    after = before.copy()
    after[200:240, 400:450] = 0.5
    changes, factor = change_map(before, after, max_side=100)
    assert factor == 5 and changes.shape == (60, 100)
    top, left, bottom, right = crop_window(changes, factor, (0, 0, 300, 500), 60)
    assert bottom - top == right - left == 60
    assert top <= 200 and bottom >= 240 and left <= 400 and right >= 450


def test_facts_of_passes_regions_and_the_final_check():
    header = TrajectoryHeader(mosaicir="test", input="sha256:0", shape=(64, 64), config={})
    steps = [
        PlanStep(planner="prior", degradations=["jpeg"]),
        ToolCallStep(call=0, tool="deblock", degradation="jpeg", params={"q": 1.0}, input="a", output="b", seconds=0.5),
        QualityStep(call=0, tool="deblock", score_before=-1.0, score_after=-0.5),
        DecisionStep(call=0, tool="deblock", decision="accept", reason="better"),
        RegionsStep(regions=[RegionInfo(id=0, bbox=(0, 0, 32, 64), area=0.5, signature={"noise": 0.4}),
                             RegionInfo(id=1, bbox=(32, 0, 64, 64), area=0.5, signature={"haze": 0.3})],
                    untouched_area=0.0),
        PlanStep(region=0, planner="prior", degradations=["noise"]),
        ToolCallStep(region=0, call=0, tool="denoise", degradation="noise", params={"h": 3}, input="b", output="c"),
        QualityStep(region=0, call=0, tool="denoise", score_before=-0.5, score_after=-0.2),
        DecisionStep(region=0, call=0, tool="denoise", decision="accept"),
        PlanStep(region=1, planner="prior", degradations=["haze"]),
        ToolCallStep(region=1, call=0, tool="dehaze", degradation="haze", params={}, input="b", output="d"),
        QualityStep(region=1, call=0, tool="dehaze", score_before=-0.4, score_after=-0.6),
        DecisionStep(region=1, call=0, tool="dehaze", decision="rollback", reason="worse"),
        FusionStep(method="feathered-mask", regions=[0], output="e"),
        FinalCheckStep(kept=[], reverted=[0], output="b"),
    ]
    facts = trajectory_facts(Trajectory(header=header, steps=steps))
    assert [p["when"] for p in facts["passes"]] == ["before the regions"]
    assert facts["passes"][0]["kept"] == [{"tool": "deblock", "params": {"q": 1.0}}]
    assert facts["passes"][0]["seconds"] == 0.5
    first, second = facts["regions"]
    assert first["status"] == "reverted by the final check" and first["quality_after"] == -0.2
    assert second["status"] == "nothing kept" and second["quality_before"] == second["quality_after"] == -0.4
    assert [(d["where"], d["decision"]) for d in facts["decisions"]] == [
        ("whole frame, before the regions", "accept"), ("region 0", "accept"), ("region 1", "rollback")]
