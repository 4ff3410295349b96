import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mosaicir.degrade import get_degradation
from mosaicir.degrade.generator import generate, load_labels, load_manifest
from mosaicir.degrade.layouts import LayoutParams, make_layout
from mosaicir.degrade.suites import MIO_GROUPS, SINGLE_SEVERITIES
from mosaicir.io import load_image

SIDE = 96


@pytest.fixture(scope="module")
def mosaic_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mosaic")
    generate("mosaic", out, n=6, seed=7, max_side=SIDE)
    return out


def _tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path, mosaic_set):
    again = tmp_path / "again"
    generate("mosaic", again, n=6, seed=7, max_side=SIDE, workers=2)
    assert _tree_bytes(again) == _tree_bytes(mosaic_set)
    other = tmp_path / "other"
    generate("mosaic", other, n=6, seed=8, max_side=SIDE)
    assert _tree_bytes(other) != _tree_bytes(mosaic_set)


def test_output_layout(mosaic_set):
    manifest = load_manifest(mosaic_set)
    assert manifest["suite"] == "mosaic" and manifest["seed"] == 7
    assert len(manifest["items"]) == 6
    ids = [item["id"] for item in manifest["items"]]
    assert ids == sorted(ids)
    for item in manifest["items"]:
        degraded = load_image(mosaic_set / "degraded" / f"{item['id']}.png").image
        clean = load_image(mosaic_set / "clean" / f"{item['id']}.png").image
        assert degraded.shape == clean.shape and max(clean.shape[:2]) == SIDE
        assert 2 <= len(item["regions"]) <= 4
        with np.load(mosaic_set / "labels" / f"{item['id']}.npz") as data:
            assert all(data[name].dtype == np.float16 and data[name].shape == clean.shape[:2] for name in data.files)


def test_labels_agree_with_recipe(mosaic_set):
    manifest = load_manifest(mosaic_set)
    for item in manifest["items"]:
        clean = load_image(mosaic_set / "clean" / f"{item['id']}.png").image
        labels = load_labels(mosaic_set, item["id"])
        masks = make_layout(LayoutParams.model_validate(item["layout"]), clean)
        assert masks.shape[0] == len(item["regions"])
        expected: dict[str, np.ndarray] = {}
        for region in item["regions"]:
            for d in region["degradations"]:
                expected[d["name"]] = expected.get(d["name"], 0) + d["severity"] * masks[region["index"]]
        for d in item["global_degradations"]:
            expected[d["name"]] = np.full(clean.shape[:2], d["severity"], np.float32)
        assert set(labels) == set(expected), item["id"]
        for name, label in labels.items():
            assert np.abs(label - expected[name]).max() < 2e-3, (item["id"], name)
        # where the labels say nothing happened, the pixels are the clean ones
        degraded = load_image(mosaic_set / "degraded" / f"{item['id']}.png").image
        untouched = np.ones(clean.shape[:2], bool)
        for label in labels.values():
            untouched &= label == 0
        if untouched.any():
            assert np.abs(degraded[untouched] - clean[untouched]).max() <= 1 / 255 + 1e-6


def test_visible_labels_keep_only_what_changed_the_pixels(mosaic_set):
    from mosaicir.degrade.recipe import ItemRecipe, render_with_visible

    for item in load_manifest(mosaic_set)["items"]:
        labels, visible = load_labels(mosaic_set, item["id"]), load_labels(mosaic_set, item["id"], visible=True)
        assert set(visible) == set(labels)
        for name, label in labels.items():  # the severities, kept (region by region) on a subset of the pixels
            assert (visible[name] <= label + 2e-3).all() and not ((visible[name] > 0) & (label == 0)).any()
    # blur over a flat frame changes nothing: labelled, not visible; noise is visible everywhere
    flat = np.full((64, 64, 3), 0.5, np.float32)
    for name, seen in (("defocus_blur", 0.0), ("noise", 1.0)):
        recipe = ItemRecipe.model_validate({"id": "flat", "source": "flat", "size": (64, 64), "global_degradations": [
            {"name": name, "severity": 0.5, "params": get_degradation(name).sample(np.random.default_rng(0), 0.5).model_dump(mode="json")}]})
        _, labels, visible, _ = render_with_visible(flat, recipe)
        assert labels[name].min() == 0.5 and np.mean(visible[name] > 0) == seen, name
    # folders generated before visible labels were stored have none
    assert load_labels(Path(__file__).parent, "nothing", visible=True) is None


def test_mosaic_has_clean_and_degraded_regions(tmp_path):
    generate("mosaic", tmp_path, n=18, seed=3, max_side=64)
    items = load_manifest(tmp_path)["items"]
    assert all(any(r["degradations"] for r in item["regions"]) for item in items)
    assert any(not r["degradations"] for item in items for r in item["regions"])
    assert any(item["global_degradations"] for item in items)
    assert {item["layout"]["kind"] for item in items} == {"bands", "voronoi", "blobs", "content"}


@pytest.mark.parametrize("suite", sorted(MIO_GROUPS))
def test_mio_suites_contain_exactly_the_listed_combinations(tmp_path, suite):
    generate(suite, tmp_path, n=2, seed=1, max_side=64)
    items = load_manifest(tmp_path)["items"]
    combos = [frozenset(d["name"] for d in item["regions"][0]["degradations"]) for item in items]
    expected = [frozenset(c) for c in MIO_GROUPS[suite]]
    assert sorted(map(sorted, combos)) == sorted(map(sorted, expected * 2))
    for item in items:
        assert item["layout"] is None and not item["global_degradations"]
        labels = load_labels(tmp_path, item["id"])
        assert set(labels) == {d["name"] for d in item["regions"][0]["degradations"]}


def test_single_and_clean_suites(tmp_path):
    generate("single", tmp_path / "single", n=1, seed=1, max_side=64)
    items = load_manifest(tmp_path / "single")["items"]
    assert len(items) == 24
    for item in items:
        (d,) = item["regions"][0]["degradations"]
        assert d["severity"] in SINGLE_SEVERITIES
        (label,) = load_labels(tmp_path / "single", item["id"]).values()
        assert np.allclose(label, d["severity"], atol=1e-3)
    generate("clean", tmp_path / "clean", n=2, seed=1, max_side=64)
    for item in load_manifest(tmp_path / "clean")["items"]:
        assert load_labels(tmp_path / "clean", item["id"]) == {}
        a = (tmp_path / "clean" / "degraded" / f"{item['id']}.png").read_bytes()
        assert a == (tmp_path / "clean" / "clean" / f"{item['id']}.png").read_bytes()


def test_clean_dir_of_any_images(tmp_path, astronaut, coffee):
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    Image.fromarray((astronaut * 255).astype(np.uint8)).save(src / "b.png")
    Image.fromarray((coffee[:100, :70] * 255).astype(np.uint8)).save(src / "nested" / "a.jpg")
    Image.fromarray((coffee * 255).astype(np.uint8)).resize((300, 90)).save(src / "c.jpeg")
    (src / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    report = generate("mosaic", out, clean_dir=src, n=24, seed=7)
    assert [i.id for i in report.items] == ["b", "c", "nested_a"]
    assert len(report.skipped) == 1 and "broken.png" in report.skipped[0][0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skipped"][0]["source"] == "broken.png"
    assert load_image(out / "degraded" / "c.png").image.shape == (90, 300, 3)


def test_several_clean_dirs(tmp_path, astronaut, coffee):
    for folder, image in (("setA", astronaut), ("setB", coffee)):
        (tmp_path / folder).mkdir()
        Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / folder / "img.png")
    report = generate("clean", tmp_path / "out", clean_dir=[tmp_path / "setA", tmp_path / "setB"], seed=1)
    assert [i.id for i in report.items] == ["setA_img", "setB_img"]
