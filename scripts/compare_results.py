"""Compare two result folders image by image, byte for byte: which images differ, and by how much.

    .venv/bin/python scripts/compare_results.py /tmp/big-check/before /tmp/big-check/after

Images are matched by their path relative to each folder (``*.png``, ``*.jpg``, ``*.tif``, ...,
searched recursively, so two ``mosaicir bench run`` folders compare strategy by strategy). For
each pair whose bytes differ the PSNR between the two decoded images is printed (inf when the
pixels agree and only the file differs, e.g. in metadata). Exit status 0 when every image is
identical, 1 otherwise (2 when an image is in one folder only).

With ``--gains STRATEGY``, two ``mosaicir bench run`` folders are compared by their
``results.json`` instead: each item's gain over the input under STRATEGY in both runs and the
change, largest losses first (items whose gain moved by at most 0.005 dB are counted, not listed).

    .venv/bin/python scripts/compare_results.py bench-results/s7x/mosaic bench-results/s23/mosaic --gains spatial
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"}


def images(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) between two images in [0, 1] of the same shape (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def item_gains(folder: Path, strategy: str) -> dict[str, float]:
    """``{item id: PSNR gain over the input}`` under ``strategy`` in a ``bench run`` folder."""
    strategies = json.loads((folder / "results.json").read_text())["strategies"]
    if strategy not in strategies or "none" not in strategies:
        raise SystemExit(f"{folder / 'results.json'} lacks the strategy {strategy!r} or the input ('none')")
    before = {row["id"]: row["psnr"] for row in strategies["none"]["per_image"]}
    return {row["id"]: row["psnr"] - before[row["id"]] for row in strategies[strategy]["per_image"] if row["id"] in before}


def compare_gains(first: Path, second: Path, strategy: str) -> int:
    left, right = item_gains(first, strategy), item_gains(second, strategy)
    common = sorted(set(left) & set(right), key=lambda name: right[name] - left[name])
    moved = [name for name in common if abs(right[name] - left[name]) > 0.005]
    for name in moved:
        print(f"{name}: {left[name]:+.2f} -> {right[name]:+.2f} dB ({right[name] - left[name]:+.2f})")
    mean = lambda gains: float(np.mean([gains[name] for name in common])) if common else 0.0
    print(f"{len(common)} items in both: mean gain {mean(left):+.3f} -> {mean(right):+.3f} dB under {strategy}; "
          f"{len(moved)} moved by more than 0.005 dB")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--gains", metavar="STRATEGY", help="compare the item gains of two bench run folders")
    args = parser.parse_args(argv)
    if args.gains:
        return compare_gains(args.first, args.second, args.gains)
    from mosaicir.io import load_image

    left, right = images(args.first), images(args.second)
    only = sorted(set(left) ^ set(right))
    same, differ = 0, []
    for name in sorted(set(left) & set(right)):
        if left[name].read_bytes() == right[name].read_bytes():
            same += 1
            continue
        a, b = load_image(left[name]).image, load_image(right[name]).image
        value = psnr(a, b) if a.shape == b.shape else float("nan")
        changed = float(np.mean(np.any(a != b, axis=2))) if a.shape == b.shape else 1.0
        differ.append((name, value, changed))
    for name, value, changed in differ:
        print(f"differs: {name}: PSNR {value:.2f} dB between them, {100 * changed:.2f}% of pixels changed")
    for name in only:
        print(f"only in {'first' if name in left else 'second'}: {name}")
    print(f"{same} identical, {len(differ)} differ, {len(only)} in one folder only")
    return 2 if only else 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
