"""The dark channel's haze evidence and its parts on folders of photographs (hazy, clear, noisy,
rainy), to set the thresholds of ``mosaicir.tools.haze.haze_evidence``: the median dark channel,
the 10th percentile of its 61-px floor (shadows lifted nearly everywhere) and the colour spread
of the darkest pixels (a grey veil).

    .venv/bin/python scripts/haze_evidence.py ../shared/data/paired/SOTS_indoor/input \
        ../shared/data/paired/PolyU/input ../shared/data/paired/Rain100L/input ../shared/data/natural

With ``--local``, the same tests made on the part of the frame whose 61-px floor is lifted
(haze over part of a frame, as the ``mosaic`` suite makes it, fails the whole-frame floor test),
and the dark-channel step at that evidence (the tool's own transmission and veil bound): PSNR of
the step against the input, or its gain against the photograph of the same name in
``--references`` (a generated set's ``clean`` folder). Not shipped: ``docs/BENCHMARKS.md``, ``s24``.

    .venv/bin/python scripts/haze_evidence.py --local bench-data/old-mosaic-heldout/degraded \
        --references bench-data/old-mosaic-heldout/clean [--perception]
    .venv/bin/python scripts/haze_evidence.py --local ../shared/data/natural ../shared/data/paired/PolyU/input
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from mosaicir.core.image import psnr
from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.haze import (HAZE_FLOOR_PERCENTILE, HAZE_FLOOR_WINDOW, HAZE_FREE_FLOOR, DarkChannelDehaze, dark_channel,
                                 grey_veil_evidence, haze_evidence, median_dark_evidence, veil_colour_spread)

#: Least share of the frame whose floor must be lifted for the local test to look at it.
LOCAL_MIN_SHARE = 0.15


def lifted_part(image: np.ndarray, dark: np.ndarray | None = None) -> np.ndarray:
    """``H x W`` bool: the pixels whose 61-px dark-channel floor exceeds ``HAZE_FREE_FLOOR``."""
    dark = dark_channel(image) if dark is None else dark
    return cv2.erode(dark, np.ones((HAZE_FLOOR_WINDOW,) * 2, np.uint8)) > HAZE_FREE_FLOOR


def local_haze_evidence(image: np.ndarray) -> tuple[float, float]:
    """``(evidence in [0, 1], lifted share of the frame)``: the median-dark and grey-veil tests of
    :func:`haze_evidence` made on :func:`lifted_part` (0 when it is under ``LOCAL_MIN_SHARE`` of
    the frame)."""
    dark = dark_channel(image)
    lifted = lifted_part(image, dark)
    share = float(lifted.mean())
    if share < LOCAL_MIN_SHARE:
        return 0.0, share
    spread = veil_colour_spread(image[lifted][None])  # the lifted pixels as a one-row image
    return min(median_dark_evidence(np.median(dark[lifted])), grey_veil_evidence(spread)), share


class LocalEvidenceDehaze(DarkChannelDehaze):
    """The dark-channel step with :func:`local_haze_evidence` in place of the whole-frame test."""

    def presence(self, image, dark):
        return local_haze_evidence(image)[0]


def lifted_flagged_share(image: np.ndarray) -> float:
    """Share of the lifted part of the frame (:func:`local_haze_evidence`) that perception's haze
    map flags."""
    from mosaicir.perception import perceive

    lifted = lifted_part(image)
    flagged = perceive(image, estimates=False).flagged("haze", image.shape[:2])
    return float(flagged[lifted].mean()) if lifted.any() else 0.0


def local_report(folders: list[str], references: str | None, with_perception: bool = False) -> None:
    tool = LocalEvidenceDehaze()
    fired, total, gains = 0, 0, []
    for folder in folders:
        for path in iter_image_files([folder], recursive=True):
            total += 1
            image = load_image(path).image
            evidence, share = local_haze_evidence(image)
            out = tool.apply(image, tool.params_for(0.5)) if evidence > 0 else image
            if references:
                clean = load_image(Path(references) / path.name).image
                gains.append(psnr(clean, out) - psnr(clean, image))
                figure = f"gain {gains[-1]:+.2f} dB"
            else:
                figure = f"{psnr(image, out):.1f} dB against the input" if evidence > 0 else "unchanged"
            fired += evidence > 0
            if evidence > 0:
                flagged = f", perception flags haze on {lifted_flagged_share(image):.0%} of it" if with_perception else ""
                print(f"{path}: local evidence {evidence:.2f} over {share:.0%} of the frame{flagged} "
                      f"(whole-frame evidence {haze_evidence(image):.2f}); {figure}")
    summary = f"{fired} of {total} photographs dehazed on local evidence"
    if gains:
        summary += f"; mean gain {np.mean(gains):+.2f} dB over all {total}"
    print(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--all", action="store_true", help="list every photograph, not only those with evidence")
    parser.add_argument("--local", action="store_true", help="the tests on the lifted part of the frame, and the step")
    parser.add_argument("--references", help="with --local: folder of the clean photographs (same names)")
    parser.add_argument("--perception", action="store_true",
                        help="with --local: how much of the lifted part perception's haze map flags")
    args = parser.parse_args()
    if args.local:
        local_report(args.folders, args.references, args.perception)
        return
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
