"""Side-by-side crops of the best and the worst image of each paired set for one strategy.

Reads ``RES/summary.json`` and each set's ``RES/<set>/results.json`` written by
``mosaicir bench paired --sets``, and for every set writes ``OUT/<set>-best.png`` and
``OUT/<set>-worst.png``: input | restored | reference, a crop (at most 256 x 256 px) around the
place where the restoration changed the input most (the centre when it changed nothing). Prints
the Markdown image links (relative to ``--link-base``, by default the folder above OUT).

    .venv/bin/python scripts/real_crops.py bench-results/real1 --out docs/real/

Run it from the folder the benchmark ran in: the input and target paths in ``results.json`` are
as the benchmark was given them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mosaicir.core.errors import MosaicirError
from mosaicir.io import load_image
from mosaicir.io.atomic import atomic_write_bytes

#: Largest crop side (px), and the step by which it shrinks while the PNG is over MAX_BYTES.
CROP = 256
CROP_STEP = 32
#: Keep each figure small enough to commit with the documentation.
MAX_BYTES = 300_000
#: White gap between panels (px).
GAP = 4
#: Side of the box over which |restored - input| is averaged to find where it changed most (px):
#: a region, not one stray pixel.
WINDOW = 32


def most_changed(before: np.ndarray, after: np.ndarray) -> tuple[int, int]:
    """``(row, column)`` of the centre of the ``WINDOW``-box where ``float32 H x W x 3`` images in
    [0, 1] differ most on average; the image centre when they do not differ."""
    difference = np.abs(after - before).mean(axis=2)
    if not difference.any():
        return before.shape[0] // 2, before.shape[1] // 2
    smoothed = cv2.blur(difference, (WINDOW, WINDOW))
    row, column = np.unravel_index(int(np.argmax(smoothed)), smoothed.shape)
    return int(row), int(column)


def crop_box(shape: tuple[int, ...], centre: tuple[int, int], side: int) -> tuple[int, int, int, int]:
    """``(top, left, bottom, right)`` of a box of at most ``side`` px around ``centre``, inside the image."""
    height, width = shape[:2]
    h, w = min(side, height), min(side, width)
    top = min(max(0, centre[0] - h // 2), height - h)
    left = min(max(0, centre[1] - w // 2), width - w)
    return top, left, top + h, left + w


def side_by_side(panels: list[np.ndarray], box: tuple[int, int, int, int]) -> bytes:
    """PNG bytes of the ``box`` of each ``float32 H x W x 3`` panel, left to right, with white gaps."""
    top, left, bottom, right = box
    crops = [np.round(np.clip(p[top:bottom, left:right], 0, 1) * 255).astype(np.uint8) for p in panels]
    gap = np.full((bottom - top, GAP, 3), 255, np.uint8)
    strip = np.concatenate([part for crop in crops for part in (crop, gap)][:-1], axis=1)
    buffer = io.BytesIO()
    Image.fromarray(strip).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def figure(panels: list[np.ndarray], centre: tuple[int, int]) -> bytes:
    """The largest crop around ``centre`` (from :data:`CROP` down) whose PNG fits :data:`MAX_BYTES`."""
    side = CROP
    while True:
        data = side_by_side(panels, crop_box(panels[0].shape, centre, side))
        if len(data) <= MAX_BYTES or side <= CROP_STEP:
            return data
        side -= CROP_STEP


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="the --out folder of mosaicir bench paired --sets")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG figures (e.g. docs/real/)")
    parser.add_argument("--strategy", default="spatial", help="the strategy shown (default spatial)")
    parser.add_argument("--link-base", type=Path, default=None, help="Markdown links are relative to this folder "
                        "(default: the folder above --out)")
    args = parser.parse_args(argv)
    try:
        summary = json.loads((args.results / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        print(f"error: {args.results / 'summary.json'}: cannot read ({exc})", file=sys.stderr)
        return 2
    link_base = args.link_base or args.out.resolve().parent
    links = []
    for row in summary["sets"]:
        name = row["set"]
        try:
            document = json.loads((args.results / name / "results.json").read_text())
        except (OSError, ValueError) as exc:
            print(f"error: {args.results / name / 'results.json'}: cannot read ({exc})", file=sys.stderr)
            return 2
        method = document["strategies"].get(args.strategy)
        if not method or not method["per_image"]:
            print(f"{name}: no {args.strategy} results, skipped", file=sys.stderr)
            continue
        pairs = {p["id"]: p for p in document.get("pairs", [])}
        for which in ("best", "worst"):
            chosen = method[which]
            pair = pairs.get(chosen["id"])
            if pair is None:
                print(f"error: {name}/results.json has no input and target paths for {chosen['id']} "
                      "(results written before they were recorded: run the benchmark again)", file=sys.stderr)
                return 2
            try:
                before = load_image(pair["input"]).image
                after = load_image(args.results / name / args.strategy / f"{chosen['id']}.png").image
                reference = load_image(pair["target"]).image
            except MosaicirError as exc:
                print(f"error: {exc} (run this script from the folder the benchmark ran in)", file=sys.stderr)
                return 2
            data = figure([before, after, reference], most_changed(before, after))
            path = args.out / f"{name}-{which}.png"
            atomic_write_bytes(path, data)
            link = Path(os.path.relpath(path.resolve(), Path(link_base).resolve())).as_posix()
            links.append(f"![{name}, {which} of {args.strategy}: {chosen['id']}, {chosen['change']:+.2f} dB "
                         f"(input | {args.strategy} | reference)]({link})")
            print(f"{path}: {len(data) // 1000} kB", file=sys.stderr)
    print("\n\n".join(links))
    return 0


if __name__ == "__main__":
    sys.exit(main())
