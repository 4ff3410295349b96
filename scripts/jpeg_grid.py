"""The 8 x 8 grid of JPEG, read as :func:`mosaicir.tools.jpeg.block_grid_ratio`, on clean photographs
(as they are) and on the same photographs after JPEG at a few qualities: sets
``mosaicir.tools.jpeg.JPEG_GRID_RATIO``, the veto of JPEG steps on inputs without a grid.

    .venv/bin/python scripts/jpeg_grid.py ../shared/data/natural [--qualities 65 50 35 20] [--every 4]

With ``--steps``, ``dejpeg_unet`` is run on each JPEG row: the grid before and after the step, its
true gain, and whether the quality agent's score alone would keep it (the rows that set
``JPEG_STRONG_GRID`` and ``JPEG_GRID_LEFT``, the grid that makes a step's own evidence).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.jpeg import JPEG_GRID_RATIO, JPEG_STRONG_GRID, block_grid_ratio


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)).save(buffer, format="JPEG", quality=quality,
                                                                             subsampling="4:2:0")
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="folders of clean photographs")
    parser.add_argument("--qualities", nargs="*", type=int, default=[65, 50, 35, 20])
    parser.add_argument("--every", type=int, default=4, help="every N-th photograph for the JPEG rows")
    parser.add_argument("--steps", action="store_true", help="dejpeg_unet on each JPEG row, with its gain")
    args = parser.parse_args()
    files = list(iter_image_files([Path(f) for f in args.folders], recursive=True))
    images = [(f, load_image(f).image) for f in files]
    clean = sorted(((block_grid_ratio(image), f"{f.parent.name}/{f.stem}") for f, image in images), reverse=True)
    print(f"threshold {JPEG_GRID_RATIO}")
    print(f"as they are ({len(clean)} photographs): median {np.median([r for r, _ in clean]):.3f}; "
          f"{sum(r >= JPEG_GRID_RATIO for r, _ in clean)} at or above the threshold; highest:")
    for ratio, name in clean[:10]:
        print(f"  {ratio:.3f} {name}")
    print("quality  10th pct  median  below the threshold")
    for quality in args.qualities:
        ratios = [block_grid_ratio(jpeg(image, quality)) for _, image in images[:: args.every]]
        below = sum(r < JPEG_GRID_RATIO for r in ratios)
        print(f"{quality:7d}  {np.percentile(ratios, 10):8.3f}  {np.median(ratios):6.3f}  {below}/{len(ratios)}")
    if args.steps:
        steps(images[:: args.every], args.qualities)


def steps(images, qualities) -> None:
    """``dejpeg_unet`` on every photograph at every quality: grid before and after, true gain, the
    score's decision and the tool's own evidence; then, per grid band, the gains."""
    from mosaicir.agents.quality import QualityAgent
    from mosaicir.core.image import psnr
    from mosaicir.tools import get_tool

    tool, agent = get_tool("dejpeg_unet"), QualityAgent()
    rows = []
    for path, image in images:
        for quality in qualities:
            compressed = jpeg(image, quality)
            out = tool.apply(compressed)
            gain = psnr(image, out) - psnr(image, compressed)
            score_keeps = agent.judge(compressed, out, None, ["jpeg"]).decision == "accept"
            evidence = tool.evidence(compressed, out)
            rows.append((block_grid_ratio(compressed), block_grid_ratio(out), gain, score_keeps, evidence))
            print(f"  {path.stem} q{quality}: grid {rows[-1][0]:.3f} -> {rows[-1][1]:.3f}, gain {gain:+.2f} dB, "
                  f"score {'keeps' if score_keeps else 'refuses'}, evidence {evidence}")
    grid = np.array([r[0] for r in rows])
    gains = np.array([r[2] for r in rows])
    keeps = np.array([r[3] for r in rows])
    kept = np.array([r[4] is not None and r[4] >= 0.5 or (r[4] is None and r[3]) for r in rows])
    for low, high in ((1.0, JPEG_GRID_RATIO), (JPEG_GRID_RATIO, JPEG_STRONG_GRID), (JPEG_STRONG_GRID, 99.0)):
        band = (grid >= low) & (grid < high)
        if band.any():
            print(f"grid {low:.2f}-{high:.2f}: {band.sum()} steps, gain {gains[band].mean():+.2f} dB (lowest {gains[band].min():+.2f}); "
                  f"the score keeps {keeps[band].sum()} (their gain {gains[band & keeps].sum() / len(rows):+.3f} dB a step over all), "
                  f"the agent with the evidence {kept[band].sum()} ({gains[band & kept].sum() / len(rows):+.3f})")


if __name__ == "__main__":
    main()
