"""The per-tile haze classifier's recipe (``train/haze_presence.py``; tried, not shipped)."""

import json

import numpy as np
import pytest


def test_haze_tile_features_describe_every_tile_the_same_way_each_time():
    import skimage.data

    from helpers import resized
    from train.haze_presence import FEATURE_NAMES, TILE, tile_features, tile_grid

    image = resized(skimage.data.coffee(), 100, 150)  # 150 x 100
    features = tile_features(image)
    assert tile_grid(image.shape[:2]) == (round(150 / TILE), round(100 / TILE)) == (5, 3)
    assert features.shape == (5, 3, len(FEATURE_NAMES)) and features.dtype == np.float32
    assert np.isfinite(features).all() and np.array_equal(features, tile_features(image))


def test_the_haze_tile_recipe_collects_fits_and_dehazes_where_its_classifier_finds_a_veil(tmp_path, capsys):
    """collect labels the tiles of a hazy real set hazy and those of clean photographs clear, and
    dehazing the hazy ones lowers their error; fit exports a classifier that ONNX Runtime runs and
    that finds the veil; dehaze acts on a frame veiled over its top half, there alone."""
    pytest.importorskip("skl2onnx")
    import skimage.data

    from helpers import resized
    from mosaicir.io import save_image
    from train.haze_presence import FEATURE_NAMES, HazePresence, main

    scenes = [resized(getattr(skimage.data, name)(), 160, 128) for name in ("astronaut", "coffee", "chelsea", "rocket")]
    for part in ("input", "target"):
        (tmp_path / "pairs" / "SOTS_indoor" / part).mkdir(parents=True)
    (tmp_path / "photos").mkdir()
    for i, scene in enumerate(scenes):
        save_image(tmp_path / "photos" / f"p{i}.png", scene)
        save_image(tmp_path / "pairs" / "SOTS_indoor" / "input" / f"h{i}.png", 0.4 * scene + 0.6 * 0.9)
        save_image(tmp_path / "pairs" / "SOTS_indoor" / "target" / f"h{i}.png", scene)
    main(["collect", "--clean-photos", str(tmp_path / "photos"), "--pairs", str(tmp_path / "pairs"),
          "--out", str(tmp_path / "tiles.npz")])
    tiles = np.load(tmp_path / "tiles.npz", allow_pickle=True)
    assert tiles["features"].shape == (8 * 4 * 5, len(FEATURE_NAMES))
    hazy = tiles["kind"] == "real"
    assert tiles["label"][hazy].all() and not tiles["label"][~hazy].any()
    assert tiles["mse_after"][hazy].sum() < 0.5 * tiles["mse_before"][hazy].sum()
    main(["fit", "--tiles", str(tmp_path / "tiles.npz"), "--folds", "2", "--trees", "20", "--min-leaf", "2",
          "--max-clear-items", "0.5", "--out", str(tmp_path / "model")])
    card = json.loads((tmp_path / "model" / "haze_presence.json").read_text())
    assert card["features"] == list(FEATURE_NAMES) and card["cross_validation"]["real"]["hazy"] == 4 * 4 * 5
    assert (tmp_path / "model" / "haze_presence.md").read_text().startswith("# haze_presence")
    presence = HazePresence(tmp_path / "model" / "haze_presence.onnx")
    probabilities = presence.rows(tiles["features"])
    assert probabilities[hazy].min() > 0.5 > probabilities[~hazy].max()  # in-sample: it learnt the veil
    half = scenes[0].copy()
    half[:64] = 0.4 * half[:64] + 0.6 * 0.9
    (tmp_path / "half").mkdir()
    save_image(tmp_path / "half" / "astronaut.png", half)
    veil = presence.map(half)
    assert veil is not None and veil[:64].mean() > 0.1 > 0.01 > veil[96:].max()  # the veiled half alone
    main(["dehaze", str(tmp_path / "half"), "--model", str(tmp_path / "model" / "haze_presence.onnx")])
    assert "1 of 1 photographs dehazed on the tiles (0 on the whole-frame test)" in capsys.readouterr().out
    (tmp_path / "labels").mkdir()
    haze = np.zeros(half.shape[:2], np.float32)
    haze[:64] = 0.6
    np.savez(tmp_path / "labels" / "astronaut.npz", haze=haze)
    (tmp_path / "clean").mkdir()
    save_image(tmp_path / "clean" / "astronaut.png", scenes[0])
    main(["dehaze", str(tmp_path / "half"), "--true-regions", str(tmp_path / "labels"), "--references", str(tmp_path / "clean")])
    out = capsys.readouterr().out
    assert "1 of 1 photographs dehazed on the tiles" in out
    assert float(out.split("gain ")[1].split(" dB")[0]) > 1.0  # the veiled half comes back


def test_the_gain_counts_an_item_only_when_enough_of_its_tiles_are_chosen():
    """Per item, 10 log10 of the summed error before over after dehazing the chosen tiles; an item
    with fewer than MIN_HAZY_SHARE of its tiles chosen is left as it is; the threshold search keeps
    the higher of two thresholds that gain the same."""
    from train.haze_presence import MIN_HAZY_SHARE, _gain_db, evaluate

    assert MIN_HAZY_SHARE == 0.04
    items = np.array(["a"] * 4 + ["b"] * 50)
    before = np.ones(54)
    after = np.full(54, 0.25)
    chosen = np.zeros(54, bool)
    chosen[:2] = True  # half of a: (4 -> 2.5) 2.04 dB
    chosen[4] = True   # 1 of 50 of b (2%): left as it is
    expected = (10 * np.log10(4 / 2.5) + 0.0) / 2
    assert _gain_db(before, after, chosen, items) == pytest.approx(expected)
    data = {"kind": np.array(["generated"] * 4 + ["clean"] * 50), "item": items, "label": chosen.copy(),
            "mse_before": before, "mse_after": after}
    figures = evaluate(np.where(chosen, 0.9, 0.1), data, 0.5)
    assert figures["generated"]["items_touched"] == 1 and figures["generated"]["precision"] == 1.0
    assert figures["clean"]["items_touched"] == 0 and figures["clean"]["clear_items"] == 0  # b holds a hazy tile
