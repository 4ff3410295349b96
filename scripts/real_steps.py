"""Each tool alone, on real paired photographs: mean PSNR change and how many it lowers by more
than 0.1 dB; and how often perception flags each degradation on a folder. The one-tool
measurements behind docs/REAL.md (the guided sharpening, super-resolution, the learned dehazer on
real photographs; perception's rain flags).

    .venv/bin/python scripts/real_steps.py --sets ../shared/data/paired/PolyU ../shared/data/paired/Rain100L \
        --every 2 --tools sr_unet,guided_sharpen,deblur_defocus_unet --severity 0.4
    .venv/bin/python scripts/real_steps.py --flags ../shared/data/paired/Rain100L/input ../shared/data/natural
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.io import iter_image_files, load_image
from mosaicir.perception import perceive
from mosaicir.tools import get_tool

LOWERED_BY = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=[], help="paired sets (SET/input, SET/target)")
    parser.add_argument("--tools", default="sr_unet,guided_sharpen")
    parser.add_argument("--severity", type=float, default=0.4, help="severity the tools' parameters are chosen for")
    parser.add_argument("--every", type=int, default=1, help="every N-th pair of each set")
    parser.add_argument("--flags", nargs="*", default=[], help="folders on which to count perception's flags")
    args = parser.parse_args()
    pairs = []
    for folder in args.sets:
        targets = {p.stem: p for p in iter_image_files([Path(folder) / "target"])}
        inputs = [p for p in iter_image_files([Path(folder) / "input"]) if p.stem in targets]
        pairs += [(p, targets[p.stem]) for p in inputs[:: args.every]]
    for name in [t for t in args.tools.split(",") if t] if pairs else []:
        tool = get_tool(name)
        gains = []
        for degraded_path, reference_path in pairs:
            degraded, reference = load_image(degraded_path).image, load_image(reference_path).image
            out = tool.apply(degraded, tool.params_for(args.severity))
            gains.append(psnr(reference, out) - psnr(reference, degraded))
        gains = np.array(gains)
        print(f"{name}: {len(gains)} photographs, mean {gains.mean():+.2f} dB, lowered {(gains < -LOWERED_BY).sum()}")
    for folder in args.flags:
        counts, total = {}, 0
        for path in iter_image_files([folder], recursive=True):
            total += 1
            for degradation in perceive(load_image(path).image, estimates=False).summary().present:
                counts[degradation] = counts.get(degradation, 0) + 1
        print(f"{folder}: {total} photographs; flagged " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
