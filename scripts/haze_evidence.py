"""The dark channel's haze evidence and its parts on folders of photographs (hazy, clear, noisy,
rainy), to set the thresholds of ``mosaicir.tools.haze.haze_evidence``: the median dark channel,
the 10th percentile of its 61-px floor (shadows lifted nearly everywhere) and the colour spread
of the darkest pixels (a grey veil).

    .venv/bin/python scripts/haze_evidence.py ../shared/data/paired/SOTS_indoor/input \
        ../shared/data/paired/PolyU/input ../shared/data/paired/Rain100L/input ../shared/data/natural
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.haze import HAZE_FLOOR_PERCENTILE, HAZE_FLOOR_WINDOW, dark_channel, haze_evidence, veil_colour_spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--all", action="store_true", help="list every photograph, not only those with evidence")
    args = parser.parse_args()
    for folder in args.folders:
        floors = []
        for path in iter_image_files([folder], recursive=True):
            image = load_image(path).image
            dark = dark_channel(image)
            floor = float(np.percentile(cv2.erode(dark, np.ones((HAZE_FLOOR_WINDOW,) * 2, np.uint8)), HAZE_FLOOR_PERCENTILE))
            floors.append(floor)
            evidence = haze_evidence(image, dark)
            if evidence > 0 or args.all:
                print(f"{path}: evidence {evidence:.2f}, median dark {np.median(dark):.3f}, floor p10 {floor:.3f}, "
                      f"veil spread {veil_colour_spread(image):.3f}")
        print(f"{folder}: {len(floors)} photographs, floor p10 max {max(floors):.3f}, median {np.median(floors):.3f}")


if __name__ == "__main__":
    main()
