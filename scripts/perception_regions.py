"""How far perception is from deciding region by region, on a generated folder with layouts.

Per degradation, three pixel F1 figures against the labels (present: severity > 0.1):

* ``cells``: the shipped maps at their calibrated thresholds (what ``mosaicir bench perception`` scores);
* ``true regions``: the network's confidence averaged over each ground-truth region of the
  layout, at the same thresholds (what a perfect decomposer would give the same detector);
* ``true regions, best threshold``: the best single threshold on those averages, chosen on the
  folder itself (an upper bound of the detector's evidence, not a result).

Then, for low light, how well simple statistics of a ground-truth region separate darkened
regions from the others (area under the ROC curve, 0.5 = chance): the mean log value against the
rest of the image, the 99th percentile and median of the value, the share of black pixels.

    .venv/bin/python scripts/perception_regions.py bench-data/mosaic-heldout
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.core.names import DEGRADATIONS
from mosaicir.degrade.generator import load_labels, load_manifest
from mosaicir.degrade.layouts import make_layout
from mosaicir.degrade.recipe import ItemRecipe
from mosaicir.io import load_image
from mosaicir.perception import perceive

PRESENT = 0.1


def f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1e-9)


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties half)."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / max(n_pos * n_neg, 1))


def layout_items(folder: Path):
    """Per item of a generated folder with a layout of several regions: ``(manifest entry, recipe,
    degraded image, region index per pixel)``."""
    for entry in load_manifest(folder)["items"]:
        recipe = ItemRecipe.model_validate(entry)
        if recipe.layout is None or len(recipe.regions) <= 1:
            continue
        image = load_image(folder / "degraded" / f"{entry['id']}.png").image
        clean = load_image(folder / "clean" / f"{entry['id']}.png").image
        yield entry, recipe, image, make_layout(recipe.layout, clean).argmax(axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="a generated folder (mosaic suite)")
    args = parser.parse_args(argv)
    folder = Path(args.data)
    counts = {kind: {n: np.zeros(3) for n in DEGRADATIONS} for kind in ("cells", "regions")}
    region_rows: dict[str, list[tuple[float, int, bool]]] = {n: [] for n in DEGRADATIONS}
    light_rows = []
    for entry, recipe, image, region_of in layout_items(folder):
        labels = load_labels(folder, entry["id"])
        maps = perceive(image, estimates=False)
        for name in DEGRADATIONS:
            truth = labels.get(name, np.zeros(image.shape[:2], np.float32)) > PRESENT
            confidence = maps.upsample(name, which="confidence")
            pooled = np.zeros_like(confidence)
            for index in np.unique(region_of):
                inside = region_of == index
                pooled[inside] = confidence[inside].mean()
                region_rows[name].append((float(pooled[inside][0]), int(inside.sum()), bool(truth[inside].mean() > 0.5)))
            for kind, flagged in (("cells", confidence > maps.thresholds[name]), ("regions", pooled > maps.thresholds[name])):
                counts[kind][name] += (np.count_nonzero(truth & flagged), np.count_nonzero(~truth & flagged),
                                       np.count_nonzero(truth & ~flagged))
        value = image.max(axis=2)
        log_value = np.log(value + 0.02)
        for region in recipe.regions:
            inside = region_of == region.index
            if inside.sum() < 500 or (~inside).sum() < 500:
                continue
            darkened = any(d.name == "low_light" for d in region.degradations)
            light_rows.append((log_value[inside].mean() - log_value[~inside].mean(), np.quantile(value[inside], 0.99),
                               np.median(value[inside]), (value[inside] < 2 / 255).mean(), darkened))
    print(f"{folder}: pixel F1 per degradation\n")
    print("| degradation | cells | true regions | true regions, best threshold |")
    print("| --- | --- | --- | --- |")
    means = {"cells": [], "regions": [], "best": []}
    for name in DEGRADATIONS:
        rows = np.array(region_rows[name], dtype=float)
        scores, area, truth = rows[:, 0], rows[:, 1], rows[:, 2] > 0.5
        best = max(f1(area[(scores > t) & truth].sum(), area[(scores > t) & ~truth].sum(), area[(scores <= t) & truth].sum())
                   for t in np.arange(0.02, 0.99, 0.02))
        cells, regions = f1(*counts["cells"][name]), f1(*counts["regions"][name])
        for key, value in (("cells", cells), ("regions", regions), ("best", best)):
            means[key].append(value)
        print(f"| {name} | {cells:.3f} | {regions:.3f} | {best:.3f} |")
    print(f"| macro | {np.mean(means['cells']):.3f} | {np.mean(means['regions']):.3f} | {np.mean(means['best']):.3f} |")
    rows = np.array(light_rows, dtype=float)
    darkened = rows[:, 4] > 0.5
    print(f"\nLow light: {int(darkened.sum())} darkened regions of {len(rows)}; AUC of region statistics "
          "(darker or blacker = darkened)\n")
    print("| statistic | AUC |\n| --- | --- |")
    for column, label, sign in ((0, "mean log value against the rest", -1), (1, "99th percentile of the value", -1),
                                (2, "median value", -1), (3, "share of black pixels", 1)):
        print(f"| {label} | {auc(sign * rows[:, column], darkened):.3f} |")


if __name__ == "__main__":
    main()
