"""The 8 x 8 grid of JPEG, read as :func:`mosaicir.tools.jpeg.block_grid_ratio`, on clean photographs
(as they are) and on the same photographs after JPEG at a few qualities: sets
``mosaicir.tools.jpeg.JPEG_GRID_RATIO``, the veto of JPEG steps on inputs without a grid.

    .venv/bin/python scripts/jpeg_grid.py ../shared/data/natural [--qualities 65 50 35 20] [--every 4]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.jpeg import JPEG_GRID_RATIO, block_grid_ratio


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


if __name__ == "__main__":
    main()
