"""Low light decided region by region: how far segment-then-compare detectors get.

Perception's map network finds darkened regions poorly (``mosaic`` pixel F1 0.035 held out), and
the statistics of a whole region separate darkened regions much better than the network's cells
(``scripts/perception_regions.py``). This script measures two region-level detectors, trained here
on generated training folders and scored by pixel F1 of "low light present" (label severity > 0.1)
on other folders:

* ``true regions``: a logistic regression on six statistics of each ground-truth region of the
  layout against the rest of the image (mean log value, 99th and 90th percentile, median, black
  share, spread of the log value): what a perfect decomposer would allow; threshold of best F1
  on the training folders.
* ``superpixels``: the image cut into about ``--segments`` SLIC superpixels at quarter resolution,
  16 statistics per superpixel (against the rest of the image, against its neighbours, and
  absolute: log value, percentiles, black share, saturation, log-Laplacian energy), a gradient-
  boosted classifier (scikit-learn); threshold of best F1 on the training folders among those
  flagging at most 2% of the training clean pixels. Also the share of clean pixels it flags.

For comparison the shipped perception (``perceive``, calibrated thresholds) on the same folders,
and, per clean folder, how dark and colourful its photographs are (share of pixels whose value is
below 0.15, median saturation): a detector of "darker than it should be" learns the training
photographs' exposure.

    .venv/bin/python scripts/lowlight_regions.py \\
        --train data/perception/mosaic-10[0-9] data/perception/clean-100 \\
        --eval data/perception/val-mosaic-200 data/perception/val-clean-200 \\
        --eval bench-data/mosaic-heldout bench-data/clean-heldout

The training folders are those of the perception recipe (``train/perception.py``, generated from
the training images); the evaluation pairs are a mosaic folder and a clean folder each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from skimage.segmentation import slic
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from perception_regions import layout_items  # scripts/, on the path when run as a script

from mosaicir.degrade.generator import load_labels, load_manifest
from mosaicir.estimators.colour import luminance
from mosaicir.io import load_image
from mosaicir.perception import perceive

PRESENT = 0.1
MAX_CLEAN_FLAGS = 0.02
THRESHOLDS = np.arange(0.05, 0.95, 0.025)


def log_value(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    value = image.max(axis=2)
    return value, np.log(value + 0.02)


def low_light_truth(folder: Path, item_id: str, shape: tuple[int, int]) -> np.ndarray:
    labels = load_labels(folder, item_id)
    return labels["low_light"] > PRESENT if "low_light" in labels else np.zeros(shape, bool)


def region_statistics(image: np.ndarray, inside: np.ndarray) -> list[float]:
    """Six statistics of a region against the rest of the image."""
    value, log = log_value(image)
    white = np.log(np.quantile(value, 0.99) + 0.02)
    q = lambda mask, p: np.log(np.quantile(value[mask], p) + 0.02)  # noqa: E731
    return [log[inside].mean() - log[~inside].mean(), q(inside, 0.99) - white, q(inside, 0.5) - q(~inside, 0.5),
            (value[inside] < 2 / 255).mean() - (value[~inside] < 2 / 255).mean(), q(inside, 0.9) - q(~inside, 0.9),
            log[inside].std() - log[~inside].std()]


def true_region_rows(folder: Path) -> list[tuple[list[float], int, bool]]:
    """``(statistics, area, darkened)`` per ground-truth region of a mosaic folder."""
    rows = []
    for entry, recipe, image, region_of in layout_items(folder):
        truth = low_light_truth(folder, entry["id"], image.shape[:2])
        for region in recipe.regions:
            inside = region_of == region.index
            if inside.sum() < 200 or (~inside).sum() < 200:
                continue
            rows.append((region_statistics(image, inside), int(inside.sum()), bool(truth[inside].mean() > 0.5)))
    return rows


def superpixel_statistics(image: np.ndarray, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(labels at quarter resolution, statistics n x 16, area n)`` of SLIC superpixels."""
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    labels = slic(small, n_segments=segments, compactness=20, start_label=0, channel_axis=2)
    count, flat = int(labels.max()) + 1, labels.ravel()
    area = np.bincount(flat, minlength=count).astype(np.float64)

    def mean_and_rest(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside = np.bincount(flat, values.ravel(), count) / np.maximum(area, 1)
        return inside, (values.sum() - inside * area) / np.maximum(values.size - area, 1)

    value, log = log_value(small)
    mean_log, rest_log = mean_and_rest(log)
    black, rest_black = mean_and_rest((value < 2 / 255).astype(np.float64))
    saturation, rest_saturation = mean_and_rest((small.max(2) - small.min(2)) / (small.max(2) + 0.02))
    grey = luminance(small)
    log_detail, rest_log_detail = mean_and_rest(np.abs(cv2.Laplacian(np.log(grey + 0.02), cv2.CV_32F)))
    detail, rest_detail = mean_and_rest(np.abs(cv2.Laplacian(grey, cv2.CV_32F)))
    spread = np.sqrt(np.maximum(np.bincount(flat, (log * log).ravel(), count) / np.maximum(area, 1) - mean_log ** 2, 0))
    high = np.array([np.quantile(value[labels == i], 0.95) if area[i] else 0.0 for i in range(count)])
    low = np.array([np.quantile(value[labels == i], 0.05) if area[i] else 0.0 for i in range(count)])
    # mean log value of the neighbouring superpixels, weighted by shared border
    pairs = np.concatenate([np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()]),
                            np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()])], axis=1)
    pairs = pairs[:, pairs[0] != pairs[1]]
    total, border = np.zeros(count), np.zeros(count)
    for a, b in (pairs, pairs[::-1]):
        np.add.at(total, a, mean_log[b])
        np.add.at(border, a, 1.0)
    neighbours = np.where(border > 0, total / np.maximum(border, 1), mean_log)
    white = np.log(np.quantile(value, 0.99) + 0.02)
    ones = np.ones(count)
    statistics = np.stack([
        mean_log - rest_log, np.log(high + 0.02) - white, black - rest_black, mean_log - neighbours, spread, mean_log,
        white * ones, log.mean() * ones, saturation - rest_saturation, saturation,
        np.log(log_detail + 1e-3) - np.log(rest_log_detail + 1e-3), np.log(detail + 1e-3) - np.log(rest_detail + 1e-3),
        np.log(low + 0.02), np.log(high + 0.02), np.median(log) * ones, black,
    ], axis=1)
    return labels, statistics, area


def superpixel_rows(folder: Path, segments: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per item: ``(statistics, area, darkened share)`` of its superpixels."""
    items = []
    for entry in load_manifest(folder)["items"]:
        image = load_image(folder / "degraded" / f"{entry['id']}.png").image
        labels, statistics, area = superpixel_statistics(image, segments)
        truth = low_light_truth(folder, entry["id"], image.shape[:2]).astype(np.float32)
        truth = cv2.resize(truth, (labels.shape[1], labels.shape[0]), interpolation=cv2.INTER_AREA)
        share = np.bincount(labels.ravel(), truth.ravel(), len(area)) / np.maximum(area, 1)
        items.append((statistics, area, share))
    return items


def stacked(items):
    return (np.concatenate([i[0] for i in items]), np.concatenate([i[1] for i in items]),
            np.concatenate([i[2] for i in items]))


def area_f1(flagged: np.ndarray, share: np.ndarray, area: np.ndarray) -> float:
    """Pixel F1 with each unit's pixels counted by area (``share``: its darkened fraction)."""
    true_positive = (area * share)[flagged].sum()
    return float(2 * true_positive / max(area[flagged].sum() + (area * share).sum(), 1e-9))


def perception_f1(mosaic: Path, clean: Path) -> tuple[float, float]:
    """The shipped perception's low-light pixel F1 on a mosaic folder and clean share flagged."""
    counts = np.zeros(3)
    for entry in load_manifest(mosaic)["items"]:
        image = load_image(mosaic / "degraded" / f"{entry['id']}.png").image
        flagged = perceive(image, estimates=False).flagged("low_light")
        truth = low_light_truth(mosaic, entry["id"], image.shape[:2])
        counts += (np.count_nonzero(flagged & truth), np.count_nonzero(flagged), np.count_nonzero(truth))
    clean_flags = np.zeros(2)
    for entry in load_manifest(clean)["items"]:
        flagged = perceive(load_image(clean / "degraded" / f"{entry['id']}.png").image, estimates=False).flagged("low_light")
        clean_flags += (np.count_nonzero(flagged), flagged.size)
    return 2 * counts[0] / max(counts[1] + counts[2], 1), clean_flags[0] / max(clean_flags[1], 1)


def exposure(folder: Path) -> tuple[float, float]:
    """``(share of pixels with value below 0.15, median of the images' median saturation)``."""
    dark, saturation = [], []
    for entry in load_manifest(folder)["items"]:
        image = load_image(folder / "degraded" / f"{entry['id']}.png").image
        value = image.max(axis=2)
        dark.append((value < 0.15).mean())
        saturation.append(np.median((value - image.min(axis=2)) / (value + 0.02)))
    return float(np.mean(dark)), float(np.median(saturation))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", nargs="+", required=True, help="generated training folders (mosaic and clean suites)")
    parser.add_argument("--eval", nargs=2, action="append", required=True, metavar=("MOSAIC", "CLEAN"),
                        help="a mosaic folder and a clean folder to score on (repeatable)")
    parser.add_argument("--segments", type=int, default=60, help="SLIC superpixels per image")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train = [Path(f) for f in args.train]
    is_clean = {f: load_manifest(f).get("suite") == "clean" for f in train}

    regions = [row for f in train if not is_clean[f] for row in true_region_rows(f)]
    x, area, darkened = (np.array([r[i] for r in regions], dtype=float) for i in range(3))
    darkened = darkened > 0.5
    regression = LogisticRegression(C=10.0, max_iter=2000).fit(x, darkened, sample_weight=area / area.mean())
    p = regression.predict_proba(x)[:, 1]
    region_threshold = max(THRESHOLDS, key=lambda t: area_f1(p > t, darkened.astype(float), area))

    train_items = {f: superpixel_rows(f, args.segments) for f in train}
    stats, sp_area, share = stacked([i for items in train_items.values() for i in items])
    clean_units = np.concatenate([np.full(len(i[1]), is_clean[f]) for f, items in train_items.items() for i in items])
    booster = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_depth=4, random_state=args.seed)
    booster.fit(stats, share > 0.5, sample_weight=sp_area / sp_area.mean())
    p = booster.predict_proba(stats)[:, 1]
    clean_area = sp_area[clean_units].sum()
    allowed = [t for t in THRESHOLDS if sp_area[clean_units & (p > t)].sum() <= MAX_CLEAN_FLAGS * max(clean_area, 1)]
    sp_threshold = max(allowed, key=lambda t: area_f1((p > t) & ~clean_units, share * ~clean_units, sp_area))
    print(f"trained on {len(regions)} true regions and {len(share)} superpixels; thresholds "
          f"{region_threshold:.3f} (true regions), {sp_threshold:.3f} (superpixels)\n")

    for folder in (f for f in train if is_clean[f]):
        dark, saturation = exposure(folder)
        print(f"{folder}: dark pixels {dark:.3f}, median saturation {saturation:.3f}")
    print("\n| folder | perception (cells) | true regions | superpixels | clean flagged: perception | superpixels "
          "| clean: dark pixels, saturation |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mosaic, clean in args.eval:
        mosaic, clean = Path(mosaic), Path(clean)
        rows = true_region_rows(mosaic)
        rx, ra, rd = (np.array([r[i] for r in rows], dtype=float) for i in range(3))
        region_f1 = area_f1(regression.predict_proba(rx)[:, 1] > region_threshold, rd, ra)
        stats, sp_area, share = stacked(superpixel_rows(mosaic, args.segments))
        sp_f1 = area_f1(booster.predict_proba(stats)[:, 1] > sp_threshold, share, sp_area)
        clean_stats, clean_area, _ = stacked(superpixel_rows(clean, args.segments))
        sp_clean = clean_area[booster.predict_proba(clean_stats)[:, 1] > sp_threshold].sum() / clean_area.sum()
        cell_f1, cell_clean = perception_f1(mosaic, clean)
        dark, saturation = exposure(clean)
        print(f"| {mosaic} | {cell_f1:.3f} | {region_f1:.3f} | {sp_f1:.3f} | {cell_clean:.3f} | {sp_clean:.3f} "
              f"| {dark:.3f}, {saturation:.3f} |")


if __name__ == "__main__":
    main()
