"""Where the JPEG error is, and what each part of ``dejpeg_unet`` removes.

On the ``jpeg`` items of a ``single``-suite folder at one severity, prints the mean PSNR of:
the input; the input with only its luma error (colour taken from the clean image) and with only
its colour error (luma from the clean image), on the colour photographs only; ``dejpeg_unet`` without and with its
chroma-from-luma step; and the same for other ONNX checkpoints given with ``--onnx``. Figures for
``docs/TOOLS.md``. Run::

    .venv/bin/python scripts/jpeg_colour.py bench-data/single-heldout --severity 0.5 [--onnx OTHER.onnx ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from mosaicir.core.image import psnr
from mosaicir.io import load_image
from mosaicir.tools.jpeg import DejpegNet


def with_planes(luma_from: np.ndarray, colour_from: np.ndarray) -> np.ndarray:
    """RGB image with the luma (Y) of one image and the chroma (Cb, Cr) of another."""
    ycc = cv2.cvtColor(colour_from, cv2.COLOR_RGB2YCrCb)
    ycc[:, :, 0] = cv2.cvtColor(luma_from, cv2.COLOR_RGB2YCrCb)[:, :, 0]
    return np.clip(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a folder made by `mosaicir bench generate --suite single`")
    parser.add_argument("--severity", type=float, default=0.5)
    parser.add_argument("--onnx", nargs="*", default=[], help="other checkpoints of the network to compare")
    args = parser.parse_args()

    suffix = f"-jpeg-{int(round(args.severity * 100)):03d}"
    items = [item["id"] for item in json.loads((args.folder / "manifest.json").read_text())["items"]
             if item["id"].endswith(suffix)]
    if not items:
        raise SystemExit(f"error: no jpeg items at severity {args.severity} in {args.folder}")
    networks = {"dejpeg_unet": DejpegNet()} | {Path(p).name: DejpegNet(p) for p in args.onnx}
    rows: dict[str, list[float]] = {}
    add = lambda key, value: rows.setdefault(key, []).append(value)
    for name in items:
        degraded = load_image(args.folder / "degraded" / f"{name}.png").image
        clean = load_image(args.folder / "clean" / f"{name}.png").image
        add("input", psnr(clean, degraded))
        chroma = cv2.cvtColor(clean, cv2.COLOR_RGB2YCrCb)[:, :, 1:]
        if np.abs(chroma - 0.5).max() > 1.0 / 255.0:  # the split means nothing on grey photographs
            add("input, luma error only (colour images)", psnr(clean, with_planes(degraded, clean)))
            add("input, colour error only (colour images)", psnr(clean, with_planes(clean, degraded)))
            add("input (colour images)", psnr(clean, degraded))
        for label, tool in networks.items():
            add(f"{label}, network only", psnr(clean, tool.apply(degraded, tool.Params(chroma_radius=0))))
            add(f"{label}, with chroma from luma", psnr(clean, tool.apply(degraded, tool.Params())))
    base = float(np.mean(rows["input"]))
    print(f"{len(items)} items at severity {args.severity} in {args.folder}")
    for key, values in rows.items():
        mean = float(np.mean(values))
        print(f"{key:55s} {mean:6.2f} dB" + (f"  ({mean - base:+.2f})" if key != "input" else ""))


if __name__ == "__main__":
    main()
