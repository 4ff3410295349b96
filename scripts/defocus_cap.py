"""What capping the planned defocus radius does (``wiener_defocus``, ``capped``): Wiener
deconvolution with the planned disk, with the disk capped by the blur the image shows
(``estimate_defocus_radius`` + ``DEFOCUS_ESTIMATE_MARGIN``), and with the cap plus the image left
unchanged when that is below ``DEFOCUS_PRESENT_SHARE`` of the plan. Mean PSNR gain over the input
(dB), on clean photographs blurred by a disk of known radius and planned at 0.8-1.6 times it, and
optionally on the items of a benchmark set whose id ends with given degradations (after
super-resolution where low resolution is among them, as the planner orders it).

    .venv/bin/python scripts/defocus_cap.py --clean ../shared/data/natural/McMaster \\
        --set bench-data/mio-a-heldout --combos motion_blur+low_resolution haze+defocus_blur
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.estimators import estimate_defocus_radius
from mosaicir.estimators.kernels import convolve, disk_kernel
from mosaicir.io import iter_image_files, load_image
from mosaicir.tools import get_tool
from mosaicir.tools.blur import DEFOCUS_ESTIMATE_MARGIN, DEFOCUS_PRESENT_SHARE, wiener_deconvolve


def deconvolve(image: np.ndarray, radius: float) -> np.ndarray:
    return image if radius < 0.75 else wiener_deconvolve(image, disk_kernel(radius), 5e-4 * radius ** 2)


def gains(image: np.ndarray, clean: np.ndarray, planned: float) -> list[float]:
    """PSNR gains of: the planned disk, the capped one, the capped one with the presence test."""
    shown = estimate_defocus_radius(image) + DEFOCUS_ESTIMATE_MARGIN
    capped = deconvolve(image, min(planned, shown))
    tested = image if shown < DEFOCUS_PRESENT_SHARE * planned else capped
    base = psnr(clean, image)
    return [psnr(clean, deconvolve(image, planned)) - base, psnr(clean, capped) - base, psnr(clean, tested) - base]


def row(label: str, values: list[list[float]]) -> str:
    means = np.mean(values, axis=0)
    return f"| {label} | {len(values)} | " + " | ".join(f"{v:+.2f}" for v in means) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clean", nargs="+", required=True, help="folders of clean photographs")
    parser.add_argument("--limit", type=int, default=14, help="photographs used from the clean folders")
    parser.add_argument("--set", default=None, help="a benchmark set (SET/degraded, SET/clean)")
    parser.add_argument("--combos", nargs="*", default=[], help="item id endings to measure in --set")
    parser.add_argument("--planned", type=float, default=4.0, help="planned radius on the set's items (px)")
    args = parser.parse_args()
    print("| images | n | planned disk | capped | capped, unchanged when far below the plan |")
    print("| --- | --- | --- | --- | --- |")
    files = list(iter_image_files(args.clean))[: args.limit]
    cleans = [load_image(f).image for f in files]
    for true in (1.5, 2.0, 3.5, 5.0):
        for factor in (0.8, 1.0, 1.25, 1.6):
            values = [gains(np.clip(convolve(c, disk_kernel(true)), 0.0, 1.0), c, true * factor) for c in cleans]
            print(row(f"disk {true} px, planned {factor:g} x", values))
    if args.set:
        sr = get_tool("sr_unet")
        root = Path(args.set)
        for combo in args.combos:
            values = []
            for path in sorted((root / "degraded").glob(f"*-{combo}.png")):
                image = load_image(path).image
                if "low_resolution" in combo:
                    image = sr.apply(image)
                values.append(gains(image, load_image(root / "clean" / path.name).image, args.planned))
            print(row(f"`{combo}`, planned {args.planned:g} px", values))


if __name__ == "__main__":
    main()
