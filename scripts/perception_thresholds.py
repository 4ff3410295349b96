"""What another presence threshold would give one degradation: per threshold, the pixel precision,
recall and F1 of perception's flags against the labels of a generated folder (present where the
label severity exceeds 0.1, as ``mosaicir bench perception`` scores them), and the share of the
pixels of a folder of clean images it would flag. The shipped threshold is calibrated on the
training draw (``train/perception.py``); this shows whether any threshold would do better on
held-out sets, i.e. whether the network separates the degradation at all.

    .venv/bin/python scripts/perception_thresholds.py bench-data/mosaic-heldout-v \\
        --clean bench-data/clean-heldout --degradation low_light
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.bench.perception import PRESENT
from mosaicir.degrade.generator import load_labels, load_manifest
from mosaicir.io import load_image
from mosaicir.perception import perceive


def confidences(folder: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Perception's confidence and the label's presence, pixel by pixel over every item of ``folder``."""
    values, truths = [], []
    for entry in load_manifest(folder)["items"]:
        image = load_image(folder / "degraded" / f"{entry['id']}.png").image
        maps = perceive(image, estimates=False)
        labels = load_labels(folder, entry["id"])
        values.append(maps.upsample(name, which="confidence").ravel())
        truths.append((labels.get(name, np.zeros(image.shape[:2], np.float32)) > PRESENT).ravel())
    return np.concatenate(values), np.concatenate(truths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="a generated folder with labels")
    parser.add_argument("--clean", required=True, help="a generated folder of clean images (the clean suite)")
    parser.add_argument("--degradation", required=True)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    args = parser.parse_args()
    confidence, truth = confidences(Path(args.data), args.degradation)
    clean, _ = confidences(Path(args.clean), args.degradation)
    print(f"{args.degradation}: {truth.mean():.1%} of the pixels of {args.data} present; mean confidence "
          f"{confidence[truth].mean():.3f} where present, {confidence[~truth].mean():.3f} elsewhere, "
          f"{clean.mean():.3f} on {args.clean}\n")
    print("| threshold | precision | recall | F1 | clean pixels flagged |")
    print("| --- | --- | --- | --- | --- |")
    for threshold in args.thresholds:
        flagged = confidence > threshold
        hits = np.count_nonzero(flagged & truth)
        precision, recall = hits / max(np.count_nonzero(flagged), 1), hits / max(np.count_nonzero(truth), 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        print(f"| {threshold:g} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {np.mean(clean > threshold):.1%} |")


if __name__ == "__main__":
    main()
