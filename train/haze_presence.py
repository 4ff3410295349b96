"""A per-tile haze classifier (``haze_presence``), for haze over part of a frame: tried, not shipped.

The dark-channel dehazer tests for haze over the whole frame (``mosaicir.tools.haze.haze_evidence``),
which refuses a veil over part of it (the largest loss of the spatial strategy on ``mosaic``,
docs/BENCHMARKS.md ``s24``), while the same tests made on the lifted part of a frame pass the skies,
snow and white walls of clear photographs. This recipe asks whether a gradient-boosted classifier
on statistics of each ``TILE`` x ``TILE`` tile, its neighbourhood and the frame
(:func:`tile_features`) tells them apart; docs/BENCHMARKS.md ``s25`` has the answer (not well
enough to ship). Four stages.

``collect`` reads every tile of generated folders (``--suites``: a tile is hazy where at least half of
it carries the generator's visible haze label above 0.1; ``--renderings`` also the item's haze alone
on its clean image, what the dehazer sees once the rest is restored), clean photographs
(``--clean-photos``: no tile is hazy) and real paired sets (``--pairs``: ``SET/input`` against
``SET/target``; a set named in ``--hazy-sets`` is hazy all over, the others nowhere), and records the
features of each tile, its label, its group (source photograph or scene) and what dehazing it would
do: the squared error against the reference before and after the dark-channel dehazer forced to act.

    python -m train.haze_presence collect --suites data/haze/mosaic-200 ... \
        --clean-photos ../shared/data/natural/LIVE1 --pairs ../shared/data/paired --out runs/haze/tiles.npz

``fit`` trains a gradient-boosted classifier (scikit-learn) with group-wise cross-validation (no
photograph or scene on both sides), chooses the threshold of the largest dehazing gain on the
out-of-fold predictions with at most ``--max-clear-items`` of the haze-free clean photographs and
real pairs dehazed, and writes ``OUT/haze_presence.onnx`` (skl2onnx), ``.json`` and ``.md``.

    python -m train.haze_presence fit --tiles runs/haze/tiles.npz --out runs/haze/m2

``score`` gives the same figures on other tiles; ``dehaze`` runs the dark-channel step on the tiles
the classifier finds veiled (where the whole frame shows no haze) on folders of photographs:

    python -m train.haze_presence dehaze bench-results/s24c/mosaic/spatial \
        --references bench-data/old-mosaic-heldout/clean --model runs/haze/m2/haze_presence.onnx
    python -m train.haze_presence dehaze ../shared/data/natural ../shared/data/paired/PolyU/input --model ...

With ``--true-regions LABELS`` instead of ``--model``, the step acts where the generator put the haze
(the bound of any classifier).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import cv2
import numpy as np

from mosaicir.estimators.colour import luminance
from mosaicir.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from mosaicir.estimators.haze import dark_channel, estimate_airlight

#: Side of a tile, px.
TILE = 32
#: Windows (px) of the dark channel and of the wide floor (as the dehazer's whole-frame test).
DARK_WINDOW = 15
FLOOR_WINDOW = 61

FEATURE_NAMES: tuple[str, ...] = (
    # the tile
    "dark", "floor", "min_channel", "value", "saturation", "gradient", "local_std", "tile_std",
    "transmission", "veil_spread",
    # its 3 x 3 neighbourhood of tiles
    "dark_near", "floor_near", "saturation_near", "gradient_near", "value_near",
    # against the frame
    "dark_above_frame", "gradient_ratio", "saturation_ratio", "value_above_frame",
    # the frame
    "frame_dark_median", "frame_floor_p10", "frame_floor_p50", "frame_spread", "frame_value_p5",
    "frame_value_p50", "frame_value_p95", "frame_gradient", "frame_saturation", "airlight",
    "frame_evidence",
)


def _tiles(channel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Mean of ``channel`` (``H x W``) over each tile: ``h x w`` (``shape``)."""
    return cv2.resize(channel.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _near(tiles: np.ndarray) -> np.ndarray:
    return cv2.blur(tiles, (3, 3), borderType=cv2.BORDER_REFLECT)


def tile_grid(image_shape: tuple[int, int]) -> tuple[int, int]:
    """``(h, w)`` tiles of an ``H x W`` image (at least 1 x 1)."""
    return max(1, round(image_shape[0] / TILE)), max(1, round(image_shape[1] / TILE))


#: With ``perception``: the map network's presence probability of each degradation, per tile.
PERCEPTION_FEATURES: tuple[str, ...] = tuple(f"perceived_{name}" for name in (
    "noise", "motion_blur", "defocus_blur", "haze", "rain", "low_light", "jpeg", "low_resolution"))


def feature_names(perception: bool = False) -> list[str]:
    return list(FEATURE_NAMES) + (list(PERCEPTION_FEATURES) if perception else [])


def tile_features(image: np.ndarray, perception: bool = False) -> np.ndarray:
    """Statistics of every tile of ``image`` (``float32 H x W x 3`` in [0, 1]): ``float32 h x w x F``
    (``F = len(feature_names(perception))``, ``h x w`` = :func:`tile_grid`)."""
    from mosaicir.tools.haze import haze_evidence, veil_colour_spread

    image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    shape = tile_grid(image.shape[:2])
    value = image.max(axis=2)
    minimum = image.min(axis=2)
    grey = luminance(image)
    dark = dark_channel(image, DARK_WINDOW)
    floor = cv2.erode(dark, np.ones((FLOOR_WINDOW, FLOOR_WINDOW), np.uint8))
    saturation = (value - minimum) / np.maximum(value, 1e-3)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    gradient = np.sqrt(gx * gx + gy * gy)
    mean7 = cv2.blur(grey, (7, 7))
    local_std = np.sqrt(np.maximum(cv2.blur(grey * grey, (7, 7)) - mean7 * mean7, 0.0))
    airlight = estimate_airlight(image, dark)
    transmission = 1.0 - dark / airlight
    # the colour spread of each tile's darkest pixels (its lower quarter by value), as the veil's
    darkest = value <= cv2.resize(_tiles(value, shape) * 0.75 + _tiles(minimum, shape) * 0.25,
                                  (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    weight = np.maximum(_tiles(darkest.astype(np.float32), shape), 1e-3)
    colour = np.stack([_tiles(image[..., c] * darkest, shape) / weight for c in range(3)], axis=-1)
    veil_spread = (colour.max(-1) - colour.min(-1)) / np.maximum(colour.max(-1), 1e-3)

    t = {name: _tiles(m, shape) for name, m in (
        ("dark", dark), ("floor", floor), ("min_channel", minimum), ("value", value),
        ("saturation", saturation), ("gradient", gradient), ("local_std", local_std),
        ("transmission", transmission))}
    t["tile_std"] = np.sqrt(np.maximum(_tiles(grey * grey, shape) - _tiles(grey, shape) ** 2, 0.0))
    t["veil_spread"] = veil_spread
    for name in ("dark", "floor", "saturation", "gradient", "value"):
        t[f"{name}_near"] = _near(t[name])
    frame_gradient = float(np.median(t["gradient"])) + 1e-3
    frame_saturation = float(np.median(t["saturation"])) + 1e-3
    t["dark_above_frame"] = t["dark"] - float(np.percentile(dark, 10))
    t["gradient_ratio"] = t["gradient"] / frame_gradient
    t["saturation_ratio"] = t["saturation"] / frame_saturation
    t["value_above_frame"] = t["value"] - float(np.median(value))
    frame = {
        "frame_dark_median": float(np.median(dark)),
        "frame_floor_p10": float(np.percentile(floor, 10)),
        "frame_floor_p50": float(np.median(floor)),
        "frame_spread": veil_colour_spread(image),
        "frame_value_p5": float(np.percentile(value, 5)),
        "frame_value_p50": float(np.median(value)),
        "frame_value_p95": float(np.percentile(value, 95)),
        "frame_gradient": frame_gradient,
        "frame_saturation": frame_saturation,
        "airlight": airlight,
        "frame_evidence": haze_evidence(image, dark),
    }
    for name, v in frame.items():
        t[name] = np.full(shape, v, np.float32)
    if perception:
        from mosaicir.perception import perceive

        maps = perceive(image, method="learned", estimates=False)
        for name, confidence in zip(maps.names, maps.confidence):
            t[f"perceived_{name}"] = _tiles(confidence, shape)
    return np.stack([t[name] for name in feature_names(perception)], axis=-1).astype(np.float32)


#: Least share of the frame whose tiles must pass for a veil over part of it to count (a region
#: of the generator is at least 4% of the frame, ``MIN_REGION_FRACTION``).
MIN_HAZY_SHARE = 0.04


NAME = "haze_presence"
KINDS = ("generated", "clean", "real")
#: A tile is hazy when at least this share of it carries the haze label above ``PRESENT_LABEL``.
HAZY_SHARE = 0.5
PRESENT_LABEL = 0.1


def _haze_only(item: dict, clean: np.ndarray) -> np.ndarray:
    """The item's recipe with its haze alone, rendered on its clean image: what the dehazer sees
    once the engine has restored the rest (noise, JPEG) before the whole-frame scene pass."""
    from mosaicir.degrade.recipe import ItemRecipe, render

    recipe = ItemRecipe.model_validate(item)
    keep = lambda ds: [d for d in ds if d.name == "haze"]  # noqa: E731
    recipe = recipe.model_copy(update={
        "regions": [r.model_copy(update={"degradations": keep(r.degradations)}) for r in recipe.regions],
        "global_degradations": keep(recipe.global_degradations)})
    return np.clip(render(clean, recipe)[0], 0.0, 1.0)


def _items(args) -> list[tuple[str, str, str, Path, Path | None, Path | None]]:
    """(kind, group, id, input, reference, labels) of every item; a generated item's labels come
    with its manifest entry."""
    from mosaicir.bench.paired import find_sets, image_files, set_name
    from mosaicir.degrade.generator import load_manifest

    items = []
    for suite in args.suites:
        folder = Path(suite)
        for item in load_manifest(folder)["items"][: args.n_per_suite]:
            labels = folder / "labels" / f"{item['id']}.visible.npz"
            labels = labels if labels.exists() else folder / "labels" / f"{item['id']}.npz"
            items.append(("generated", item["source"], f"{folder.name}/{item['id']}",
                          folder / "degraded" / f"{item['id']}.png", folder / "clean" / f"{item['id']}.png", (labels, item)))
    for photos in args.clean_photos:
        folder = Path(photos)
        for stem, path in sorted(image_files(folder).items())[: args.n_per_set]:
            # the group as the generator names its source (``LIVE1_bikes``): a photograph and the
            # frames generated from it fall on the same side of every fold
            items.append(("clean", f"{folder.name}_{stem}", f"{folder.name}/{stem}", path, path, None))
    for folder in find_sets(args.pairs) if args.pairs else []:
        inputs, targets = image_files(folder / "input"), image_files(folder / "target")
        for stem in sorted(inputs)[: args.n_per_set]:
            if stem in targets:
                scene = re.sub(r"_\d+$", "", stem) if set_name(folder) == "PolyU" else stem
                items.append(("real", f"{set_name(folder)}/{scene}", f"{set_name(folder)}/{stem}",
                              inputs[stem], targets[stem], set_name(folder) in args.hazy_sets))
    return items


def _read(path: Path, max_side: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        scale = max_side / max(img.size)
        if scale < 1.0:
            img = img.resize((round(img.size[0] * scale), round(img.size[1] * scale)), Image.Resampling.BICUBIC)
        return np.asarray(img, np.float32) / 255.0


def collect(args) -> None:
    from mosaicir.tools.haze import DarkChannelDehaze

    class ForcedDehaze(DarkChannelDehaze):
        def presence(self, image, dark):
            return 1.0

    dehaze = ForcedDehaze()
    names = feature_names(args.perception)
    rows: dict[str, list] = {k: [] for k in ("features", "label", "share", "mse_before", "mse_after", "kind", "group", "item")}
    items = _items(args)
    start = time.time()
    for n, (kind, group, item, source, reference, labels) in enumerate(items):
        image = _read(source, args.max_side)
        target = _read(reference, args.max_side)
        if target.shape != image.shape:
            continue
        shape = tile_grid(image.shape[:2])
        if isinstance(labels, tuple):
            with np.load(labels[0]) as z:
                haze = z["haze"] if "haze" in z.files else np.zeros(image.shape[:2], np.float32)
            share = _tiles((haze > PRESENT_LABEL).astype(np.float32), shape).reshape(-1)
            inputs = [image] if args.renderings == "degraded" else [_haze_only(labels[1], target)]
            if args.renderings == "both":
                inputs.insert(0, image)
        else:
            share = np.full(shape[0] * shape[1], 1.0 if labels else 0.0, np.float32)
            inputs = [image]
        for rendering in inputs:
            after = np.clip(dehaze._apply(rendering, dehaze.Params()), 0.0, 1.0)
            rows["features"].append(tile_features(rendering, args.perception).reshape(-1, len(names)))
            rows["share"].append(share)
            rows["label"].append(share >= HAZY_SHARE)
            rows["mse_before"].append(_tiles(((rendering - target) ** 2).mean(-1), shape).reshape(-1))
            rows["mse_after"].append(_tiles(((after - target) ** 2).mean(-1), shape).reshape(-1))
            for key, value in (("kind", kind), ("group", group), ("item", item if rendering is image else item + "#haze")):
                rows[key].append(np.full(len(share), value, object))
        if (n + 1) % 50 == 0:
            print(f"{n + 1}/{len(items)} items, {time.time() - start:.0f} s", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        np.savez_compressed(tmp, **{k: np.concatenate(v) for k, v in rows.items()}, feature_names=np.array(names))
    print(f"{sum(len(s) for s in rows['share'])} tiles of {len(rows['share'])} items -> {out}")


def _model(args):
    # the classic boosting, not the histogram one: skl2onnx 1.20 writes the latter's missing-value
    # flags as booleans that onnx 1.23 refuses
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=args.trees, learning_rate=args.learning_rate, max_leaf_nodes=args.leaves,
                                      min_samples_leaf=args.min_leaf, subsample=0.8, random_state=args.seed)


def _fit_rows(args, rows: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """At most ``--max-rows`` of ``rows`` with a weight, drawn with the seed (the classic boosting's
    time grows with the rows; neighbouring tiles say much the same)."""
    rows = rows[weight[rows] > 0]
    if len(rows) > args.max_rows:
        rows = np.sort(np.random.default_rng(args.seed).choice(rows, args.max_rows, replace=False))
    return rows


def _touched(chosen: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per tile: whether its item is dehazed at all (at least ``MIN_HAZY_SHARE`` of its tiles chosen,
    as :meth:`HazePresence.map` decides)."""
    share = np.bincount(index, weights=chosen.astype(float)) / np.bincount(index)
    return (share >= MIN_HAZY_SHARE)[index]


def _gain_db(mse_before: np.ndarray, mse_after: np.ndarray, chosen: np.ndarray, items: np.ndarray) -> float:
    """Mean over items of the change of PSNR if the chosen tiles were dehazed (tiles as equal areas;
    an item with fewer than ``MIN_HAZY_SHARE`` of its tiles chosen is left as it is)."""
    _, index = np.unique(items, return_inverse=True)
    chosen = chosen & _touched(chosen, index)
    before = np.bincount(index, weights=mse_before)
    after = np.bincount(index, weights=np.where(chosen, mse_after, mse_before))
    return float(np.mean(10 * np.log10((before + 1e-10) / (after + 1e-10))))


def evaluate(probability: np.ndarray, data: dict, threshold: float) -> dict:
    """Per kind: tile precision and recall, share of haze-free tiles passed, items touched (at
    least ``MIN_HAZY_SHARE`` of their tiles passed), and the mean change of PSNR per item if the
    tiles passed were dehazed (against the reference; clean photographs: none to gain)."""
    chosen = probability > threshold
    figures = {}
    for kind in KINDS + ("all",):
        m = np.ones(len(chosen), bool) if kind == "all" else data["kind"] == kind
        if not m.any():
            continue
        label, pick, item = data["label"][m], chosen[m], data["item"][m]
        names, index = np.unique(item, return_inverse=True)
        touched = _touched(pick, index)
        pick = pick & touched
        tp = int((pick & label).sum())
        figures[kind] = {
            "tiles": int(m.sum()), "hazy": int(label.sum()),
            "precision": round(tp / max(1, int(pick.sum())), 3), "recall": round(tp / max(1, int(label.sum())), 3),
            "clear_passed": round(float(pick[~label].mean()) if (~label).any() else 0.0, 4),
            "items": len(names), "items_touched": int(len(np.unique(index[touched]))),
            "clear_items": int((np.bincount(index, weights=label) == 0).sum()),
            "clear_items_touched": int(len(np.unique(index[touched & (np.bincount(index, weights=label) == 0)[index]]))),
        }
        if kind not in ("clean", "all"):
            figures[kind]["gain_db"] = round(_gain_db(data["mse_before"][m], data["mse_after"][m], pick, item), 3)
            figures[kind]["oracle_gain_db"] = round(_gain_db(data["mse_before"][m], data["mse_after"][m], label, item), 3)
    return figures


def fit(args) -> None:
    from sklearn.model_selection import GroupKFold

    raw = np.load(args.tiles, allow_pickle=True)
    data = {k: raw[k] for k in raw.files}
    names = [str(n) for n in data["feature_names"]]
    if names not in (feature_names(False), feature_names(True)):
        raise SystemExit(f"{args.tiles} holds other features; collect again")
    x, y, groups = data["features"], data["label"].astype(int), data["group"]
    ambiguous = (data["share"] > 0.1) & (data["share"] < HAZY_SHARE)  # edges of a hazy region: left out of training
    weight = np.where(ambiguous, 0.0, 1.0)
    oof = np.zeros(len(y), np.float32)
    start = time.time()
    folds = [] if args.out_of_fold else GroupKFold(n_splits=args.folds).split(x, y, groups)
    if args.out_of_fold:
        oof = np.load(args.out_of_fold)
        if len(oof) != len(y):
            raise SystemExit(f"{args.out_of_fold} holds {len(oof)} predictions for {len(y)} tiles")
    for fold, (train, test) in enumerate(folds):
        rows = _fit_rows(args, train, weight)
        model = _model(args).fit(x[rows], y[rows])
        oof[test] = model.predict_proba(x[test])[:, 1]
        print(f"fold {fold + 1}/{args.folds}: {time.time() - start:.0f} s", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "out_of_fold.npy") as tmp:
        np.save(tmp, oof)
    best = None
    for threshold in np.arange(0.3, 0.99, 0.01):
        f = evaluate(oof, data, threshold)
        clear = sum(f[k]["clear_items_touched"] for k in ("clean", "real") if k in f)
        items = sum(f[k]["clear_items"] for k in ("clean", "real") if k in f)
        scored = f.get("generated", f.get("real"))  # generated items, or the real ones without any
        gain = scored["gain_db"] if scored else 0.0
        # the higher threshold wins a tie: the same gain for fewer photographs touched
        if clear <= args.max_clear_items * items and (best is None or gain >= best[0]):
            best = (gain, float(threshold), f)
    if best is None:
        raise SystemExit(f"no threshold touches at most {args.max_clear_items} of the clean photographs and real pairs without haze")
    _, threshold, figures = best
    print(json.dumps({"threshold": round(threshold, 2), **figures}, indent=1))
    rows = _fit_rows(args, np.arange(len(y)), weight)
    model = _model(args).fit(x[rows], y[rows])
    from skl2onnx import to_onnx

    onnx = to_onnx(model, x[:1].astype(np.float32), options={id(model): {"zipmap": False}},
                   target_opset={"": 17, "ai.onnx.ml": 3})
    card = {"features": names, "threshold": round(threshold, 2), "cross_validation": figures,
            "recipe": "python -m train.haze_presence fit " + " ".join(args.argv), "seconds": round(time.time() - start, 1)}
    atomic_write_text(out / f"{NAME}.json", json.dumps(card, indent=1) + "\n")
    atomic_write_bytes(out / f"{NAME}.onnx", onnx.SerializeToString())
    kinds = ", ".join(f"{k} {int((data['kind'] == k).sum())}" for k in KINDS)
    lines = [f"# {NAME}", "",
             "Per-tile haze classifier (`mosaicir.tools.haze_presence`): the probability that a "
             f"{TILE} x {TILE} tile is under a veil, from statistics of the tile, its neighbourhood and the frame; "
             "a gradient-boosted classifier (scikit-learn `GradientBoostingClassifier`, exported with skl2onnx).", "",
             f"- Tiles: {len(y)} ({kinds}) of {len(set(data['item']))} items; data {args.tiles}",
             f"- Recipe: `{card['recipe']}` (tiles from `python -m train.haze_presence collect`)",
             f"- A tile counts as hazy above probability {threshold:.2f}: the largest gain on generated items "
             f"with at most {args.max_clear_items:.3f} of the clean photographs and haze-free real pairs dehazed.", "",
             f"Group-wise {args.folds}-fold cross-validation (no photograph or scene on both sides); `gain` is the mean "
             "change of PSNR per item if the tiles passed were dehazed by the dark-channel dehazer, `oracle` with the true tiles:", "",
             "| items | tiles | hazy | precision | recall | clear tiles passed | items touched | of them without haze | gain dB | oracle dB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for kind, f in figures.items():
        gains = [f"{f[k]:+.3f}" if k in f else "-" for k in ("gain_db", "oracle_gain_db")]
        lines.append(f"| {kind} ({f['items']}) | {f['tiles']} | {f['hazy']} | {f['precision']} | {f['recall']} | "
                     f"{f['clear_passed']} | {f['items_touched']} | {f['clear_items_touched']} of {f['clear_items']} | {gains[0]} | {gains[1]} |")
    atomic_write_text(out / f"{NAME}.md", "\n".join(lines) + "\n")
    print(f"-> {out / NAME}.onnx ({platform.python_version()})")


class HazePresence:
    """A trained classifier (``OUT/haze_presence.onnx``, its threshold in the ``.json`` beside it)
    applied to images: :meth:`probability` per tile, :meth:`map` of where to dehaze."""

    def __init__(self, model: str | Path, threshold: float | None = None) -> None:
        from mosaicir.runtime.onnx import onnx_session

        self.model_path = Path(model)
        card = self.model_path.with_suffix(".json")
        card = json.loads(card.read_text()) if card.exists() else {}
        names = card.get("features", feature_names(False))
        if names not in (feature_names(False), feature_names(True)):
            raise SystemExit(f"{self.model_path} was trained on other features; fit it again")
        self.perception = names == feature_names(True)
        self.threshold = float(card.get("threshold", 0.5) if threshold is None else threshold)
        self.session = onnx_session(self.model_path, recipe="train/haze_presence.py")

    def rows(self, features: np.ndarray) -> np.ndarray:
        """``N`` probabilities of ``N x F`` feature rows."""
        outputs = self.session.run(None, {self.session.get_inputs()[0].name: np.asarray(features, np.float32)})
        return np.asarray(outputs[1], np.float32)[:, 1]

    def probability(self, image: np.ndarray) -> np.ndarray:
        """``float32 h x w`` in [0, 1]: the probability that each tile (:func:`tile_grid`) is veiled."""
        features = tile_features(image, self.perception)
        return self.rows(features.reshape(-1, features.shape[-1])).reshape(features.shape[:2])

    def map(self, image: np.ndarray) -> np.ndarray | None:
        """``float32 H x W`` in [0, 1]: where ``image`` is under a veil (the tiles above the
        threshold, their edges softened over a tile, scaled by the whole-frame test's grey veil on
        them), or None when fewer than ``MIN_HAZY_SHARE`` of the tiles pass or their veil is not grey."""
        from mosaicir.tools.haze import grey_veil_evidence, veil_colour_spread

        hazy = (self.probability(image) > self.threshold).astype(np.float32)
        if hazy.mean() < MIN_HAZY_SHARE:
            return None
        soft = cv2.GaussianBlur(hazy, (0, 0), 0.75, borderType=cv2.BORDER_REPLICATE)
        soft = np.clip(cv2.resize(soft, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
        # the lifted shadows of a veil are about as grey as the airlight, those of a beige close-up are not
        spread = veil_colour_spread(image[soft > 0.5][None])
        grey = grey_veil_evidence(spread)
        return soft * grey if grey > 0.0 else None


def score(args) -> None:
    """The figures of :func:`evaluate` for a trained classifier on tiles it never saw, or for the
    out-of-fold predictions a ``fit`` saved (``--out-of-fold``, on the tiles it was fitted on);
    ``--frame-haze-free``: only the frames the whole-frame test finds no haze in (those the
    classifier is for); ``--sweep``: a line per threshold."""
    raw = np.load(args.tiles, allow_pickle=True)
    data = {k: raw[k] for k in raw.files}
    if args.out_of_fold:
        probability = np.load(args.out_of_fold)
        if len(probability) != len(data["label"]):
            raise SystemExit(f"{args.out_of_fold} holds {len(probability)} predictions for {len(data['label'])} tiles")
        threshold = 0.5 if args.threshold is None else args.threshold
    else:
        model = HazePresence(args.model, args.threshold)
        probability, threshold = model.rows(data["features"]), model.threshold
    if args.frame_haze_free:
        keep = data["features"][:, list(data["feature_names"]).index("frame_evidence")] == 0.0
        data = {k: (v if k == "feature_names" else v[keep]) for k, v in data.items()}
        probability = probability[keep]
    if args.sweep:
        for t in (0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98):
            f = evaluate(probability, data, t)
            print(f"threshold {t:.2f}: " + "; ".join(
                f"{kind} {v['items_touched']} of {v['items']} touched ({v['clear_items_touched']} of {v['clear_items']} without haze)"
                + (f", gain {v['gain_db']:+.3f} dB (true tiles {v['oracle_gain_db']:+.3f})" if "gain_db" in v else "")
                for kind, v in f.items() if kind != "all"))
        return
    figures = evaluate(probability, data, threshold)
    print(json.dumps({"threshold": threshold, **figures}, indent=1))
    if args.per_item:
        for item in np.unique(data["item"]):
            m = data["item"] == item
            pick = probability[m] > threshold
            if pick.any() or data["label"][m].any():
                print(f"{item:50s} hazy {data['label'][m].mean():.2f} passed {pick.mean():.2f} "
                      f"gain {_gain_db(data['mse_before'][m], data['mse_after'][m], pick, data['item'][m]):+.2f} "
                      f"oracle {_gain_db(data['mse_before'][m], data['mse_after'][m], data['label'][m], data['item'][m]):+.2f}")


def dehaze(args) -> None:
    """The dark-channel step as shipped where the whole frame shows haze and, where it shows none,
    on the tiles the classifier finds veiled (:meth:`HazePresence.map`): the photographs the tiles
    change, with their PSNR against the input or, with ``--references``, their gain."""
    from mosaicir.core.image import psnr
    from mosaicir.io import iter_image_files, load_image
    from mosaicir.tools.haze import DarkChannelDehaze, haze_evidence

    if (args.model is None) == (args.true_regions is None):
        raise SystemExit("dehaze: give --model or --true-regions")
    presence = HazePresence(args.model, args.threshold) if args.model else None
    truth: dict[str, np.ndarray | None] = {}

    def true_map(name: str, shape: tuple[int, int]) -> np.ndarray | None:
        """The generator's full haze label (not only where visible: the bound of acting on the region)."""
        path = Path(args.true_regions) / f"{name}.npz"
        if not path.exists():
            raise SystemExit(f"dehaze: no labels {path}")
        with np.load(path) as z:
            if "haze" not in z.files:
                return None
            if z["haze"].shape != shape:
                raise SystemExit(f"dehaze: {path} is for {z['haze'].shape[::-1]} pixels, the image for {shape[::-1]}")
            return np.clip(z["haze"].astype(np.float32) / PRESENT_LABEL, 0.0, 1.0)

    class TileDehaze(DarkChannelDehaze):
        def presence(self, image, dark):
            frame = truth["frame"] = haze_evidence(image, dark)
            if frame > 0.0:
                return frame
            local = truth["used"] = presence.map(image) if presence is not None else truth["current"]
            return frame if local is None or not local.any() else local

    tool = TileDehaze()
    fired, whole, total, gains = 0, 0, 0, []
    for path in iter_image_files(args.folders, recursive=True):
        total += 1
        image = load_image(path).image
        truth["used"] = None
        if args.true_regions:
            truth["current"] = true_map(path.stem, image.shape[:2])
        out = tool.apply(image, tool.params_for(args.severity))
        frame = truth["frame"]
        if args.references:
            clean = load_image(Path(args.references) / path.name).image
            gains.append(psnr(clean, out) - psnr(clean, image))
            figure = f"gain {gains[-1]:+.2f} dB"
        else:
            figure = f"{psnr(image, out):.1f} dB against the input"
        if np.array_equal(out, image):
            continue
        if frame > 0.0:  # the shipped whole-frame test: as the engine does already
            whole += 1
            print(f"{path}: whole-frame evidence {frame:.2f}; {figure}")
        else:
            fired += 1
            print(f"{path}: veiled tiles over {float(np.mean(truth['used'] > 0.5)):.0%} of the frame; {figure}")
    summary = f"{fired} of {total} photographs dehazed on the tiles ({whole} on the whole-frame test)"
    if gains:
        summary += f"; mean gain {np.mean(gains):+.2f} dB over all {total}"
    print(summary)


def main(argv: list[str] | None = None) -> None:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m train.haze_presence", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="stage", required=True)
    c = sub.add_parser("collect", help="features, labels and dehazing errors of every tile")
    c.add_argument("--suites", nargs="*", default=[], help="generated folders (manifest.json, degraded/, clean/, labels/)")
    c.add_argument("--clean-photos", nargs="*", default=[], help="folders of clean photographs (no haze)")
    c.add_argument("--pairs", nargs="*", default=[], help="real paired sets (SET/input, SET/target) or folders of them")
    c.add_argument("--hazy-sets", nargs="*", default=["SOTS_indoor", "SOTS_outdoor", "SOTS"], help="paired sets hazy all over")
    c.add_argument("--n-per-suite", type=int, default=10_000)
    c.add_argument("--n-per-set", type=int, default=10_000)
    c.add_argument("--renderings", choices=("degraded", "haze", "both"), default="both",
                   help="of a generated item: its degraded image, its haze alone on the clean image (_haze_only), or both")
    c.add_argument("--perception", action="store_true", help="also the map network's presence probabilities per tile")
    c.add_argument("--max-side", type=int, default=512, help="longer side the images are read at, px")
    c.add_argument("--out", required=True)
    f = sub.add_parser("fit", help="train, cross-validate, calibrate and export")
    f.add_argument("--tiles", required=True)
    f.add_argument("--trees", type=int, default=200)
    f.add_argument("--learning-rate", type=float, default=0.1)
    f.add_argument("--leaves", type=int, default=15)
    f.add_argument("--max-rows", type=int, default=40_000, help="tiles drawn for each fit")
    f.add_argument("--min-leaf", type=int, default=40)
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--max-clear-items", type=float, default=0.01,
                   help="largest share of the clean photographs and haze-free real pairs dehazed (out of fold)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--out-of-fold", help="the out-of-fold probabilities of an earlier fit with the same folds (skips them)")
    f.add_argument("--out", required=True)
    s = sub.add_parser("score", help="the figures of a trained classifier on other tiles")
    s.add_argument("--tiles", required=True)
    s.add_argument("--model", help="haze_presence.onnx (its .json beside it)")
    s.add_argument("--out-of-fold", help="instead of --model: the out-of-fold probabilities a fit saved for these tiles")
    s.add_argument("--frame-haze-free", action="store_true", help="only the frames the whole-frame test finds no haze in")
    s.add_argument("--sweep", action="store_true", help="a line per threshold")
    s.add_argument("--threshold", type=float, default=None, help="instead of the calibrated one")
    s.add_argument("--per-item", action="store_true", help="also a line per item passed or hazy")
    d = sub.add_parser("dehaze", help="the dark-channel step on the tiles a trained classifier finds veiled, on folders")
    d.add_argument("folders", nargs="+")
    d.add_argument("--model", help="haze_presence.onnx (its .json beside it)")
    d.add_argument("--true-regions", help="instead of a classifier, a generated set's labels/ (haze above 0.1): the bound")
    d.add_argument("--threshold", type=float, default=None, help="instead of the calibrated one")
    d.add_argument("--references", help="folder of the clean photographs of the same names (a generated set's clean/)")
    d.add_argument("--severity", type=float, default=0.5, help="haze severity the step's parameters are chosen for")
    args = parser.parse_args(argv)
    args.argv = argv[1:]
    {"collect": collect, "fit": fit, "score": score, "dehaze": dehaze}[args.stage](args)


if __name__ == "__main__":
    main()
