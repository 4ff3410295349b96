"""Haze on part of the frame: what the dark-channel dehazer would gain and cost if its own test
(``mosaicir.tools.haze.haze_evidence``) were made on the part of the frame whose shadows are
lifted instead of on the whole frame.

The shipped test asks that the darkest pixel of nearly every 61-px neighbourhood be lifted (the
10th percentile of the floor over the frame): a veil over part of the frame (the ``mosaic`` suite's
hazy regions) fails it, and the dehazer leaves the frame as it is. The variant here takes the
pixels whose 61-px floor is above ``HAZE_FREE_FLOOR``, asks that they cover at least
``--min-share`` of the frame, and makes the three tests (median dark channel, lifted floor, grey
veil) on them only; the dehazer's veil bound then keeps its removal to the lifted part.

Per item: the whole-frame evidence, the partial one (and the share of the frame lifted), and the
change of PSNR of the dehazed frame (``omega`` 0.9) against the reference (generated sets: the
clean image; paired sets: the target) or, for clean photographs, the PSNR of the result against
its input. Only items with partial evidence are listed.

    .venv/bin/python scripts/partial_haze.py --generated bench-data/old-mosaic-heldout \\
        --pairs ../shared/data/paired/PolyU ../shared/data/paired/Rain100L ../shared/data/paired/SOTS_indoor \\
        --clean ../shared/data/natural
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

import mosaicir.tools.haze as haze
from mosaicir.core.image import psnr
from mosaicir.estimators.haze import dark_channel
from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.haze import DarkChannelDehaze, DarkChannelParams


def partial_haze_evidence(image: np.ndarray, min_share: float, dark: np.ndarray | None = None) -> tuple[float, float]:
    """``(evidence in [0, 1], share of the frame lifted)``: :func:`mosaicir.tools.haze.haze_evidence`
    made on the pixels whose 61-px dark-channel floor exceeds ``HAZE_FREE_FLOOR`` (0 when they
    cover less than ``min_share`` of ``image``, ``H x W x 3`` in [0, 1])."""
    dark = dark_channel(image) if dark is None else dark
    floor = cv2.erode(dark, np.ones((haze.HAZE_FLOOR_WINDOW,) * 2, np.uint8))
    lifted = floor > haze.HAZE_FREE_FLOOR
    share = float(lifted.mean())
    if share < min_share:
        return 0.0, share
    spread = haze.veil_colour_spread(image[lifted][None])  # the lifted pixels as a one-row image
    evidence = min(haze.median_dark_evidence(np.median(dark[lifted])),
                   haze.floor_evidence(np.percentile(floor[lifted], haze.HAZE_FLOOR_PERCENTILE)),
                   haze.grey_veil_evidence(spread))
    return evidence, share


def dehaze_with_partial_test(image: np.ndarray, min_share: float) -> np.ndarray:
    """The dark-channel dehazer (``omega`` 0.9) with its test made on the lifted part only."""
    shipped = haze.haze_evidence
    haze.haze_evidence = lambda im, dark=None: partial_haze_evidence(im, min_share, dark)[0]
    try:
        return DarkChannelDehaze().apply(image, DarkChannelParams(omega=0.9))
    finally:
        haze.haze_evidence = shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generated", nargs="*", default=[], help="generated sets (degraded/, clean/, manifest.json): items with haze")
    parser.add_argument("--pairs", nargs="*", default=[], help="paired sets (SET/input, SET/target by stem)")
    parser.add_argument("--clean", nargs="*", default=[], help="folders of clean photographs")
    parser.add_argument("--min-share", type=float, default=0.2, help="least share of the frame lifted")
    args = parser.parse_args()
    groups: list[tuple[str, list[tuple[Path, Path | None]]]] = []
    for folder in map(Path, args.generated):
        items = json.loads((folder / "manifest.json").read_text())["items"]
        hazy = [it["id"] for it in items if any(d["name"] == "haze" for r in it["regions"] for d in r["degradations"])]
        groups.append((str(folder), [(folder / "degraded" / f"{i}.png", folder / "clean" / f"{i}.png") for i in hazy]))
    for folder in map(Path, args.pairs):
        targets = {p.stem: p for p in iter_image_files([folder / "target"])}
        groups.append((str(folder), [(p, targets[p.stem]) for p in iter_image_files([folder / "input"]) if p.stem in targets]))
    for folder in args.clean:
        groups.append((folder, [(p, None) for p in iter_image_files([folder], recursive=True)]))
    for name, items in groups:
        changes = []
        for path, reference_path in items:
            image = load_image(path).image
            evidence, share = partial_haze_evidence(image, args.min_share)
            if evidence <= 0.0:
                continue
            out = dehaze_with_partial_test(image, args.min_share)
            if reference_path is None:
                change, label = psnr(image, out), "PSNR against the input"
            else:
                reference = load_image(reference_path).image
                change, label = psnr(reference, out) - psnr(reference, image), "gain"
            changes.append(change)
            print(f"  {path.stem}: evidence {haze.haze_evidence(image):.2f} whole frame, {evidence:.2f} on the "
                  f"{share:.0%} lifted; {label} {change:+.2f}" if reference_path else
                  f"  {path.stem}: evidence {haze.haze_evidence(image):.2f} whole frame, {evidence:.2f} on the "
                  f"{share:.0%} lifted; {label} {change:.1f} dB")
        summary = ""
        if changes and items[0][1] is not None:
            lowered = sum(c < -0.1 for c in changes)
            summary = f"; mean change over the set {sum(changes) / len(items):+.2f} dB, {lowered} lowered by more than 0.1 dB"
        elif changes:
            summary = f"; {sum(c < 40.0 for c in changes)} below 40 dB against the input"
        print(f"{name}: {len(items)} images, {len(changes)} with partial evidence{summary}\n", flush=True)


if __name__ == "__main__":
    main()
