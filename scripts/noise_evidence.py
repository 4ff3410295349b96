"""What a denoiser removes, textured against flat parts (``mosaicir.tools.noise.texture_share``):
on clean photographs that perception reads as noisy, and on the same kind of photographs with
synthetic noise (Gaussian and the camera chain) at a few severities, with the step's true gain.
Sets ``TEXTURE_RATIO``.

    .venv/bin/python scripts/noise_evidence.py ../shared/data/natural --every 12
"""

from __future__ import annotations

import argparse

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.degrade import get_degradation
from mosaicir.io import iter_image_files, load_image
from mosaicir.perception import perceive
from mosaicir.tools import get_tool
from mosaicir.tools.noise import TEXTURE_RATIO, texture_share

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--tool", default="denoise_unet")
    parser.add_argument("--every", type=int, default=12, help="synthetic noise on every N-th photograph")
    args = parser.parse_args()
    tool, model = get_tool(args.tool), get_degradation("noise")
    paths = list(iter_image_files([args.folder], recursive=True))
    print(f"threshold {TEXTURE_RATIO}")
    print("clean photographs perception reads as noisy (share, PSNR of the step against the input):")
    for path in paths:
        image = load_image(path).image
        summary = perceive(image, estimates=False).summary()
        if "noise" in summary.present:
            out = tool.apply(image)
            print(f"  {path.name}: {texture_share(image, out):.2f}, {psnr(image, out):.1f} dB")
    print("synthetic noise (share, gain of the step in dB):")
    rng = np.random.default_rng(0)
    rows = []
    for path in paths[:: args.every]:
        clean = load_image(path).image
        for severity, kind in [(0.1, "gaussian"), (0.2, "gaussian"), (0.4, "gaussian"), (0.15, "camera"), (0.3, "camera")]:
            noisy = model.apply(clean, model.sample(rng, severity).model_copy(update={"kind": kind}))
            out = tool.apply(noisy)
            rows.append((texture_share(noisy, out), psnr(clean, out) - psnr(clean, noisy)))
            print(f"  {path.name} {kind} {severity}: {rows[-1][0]:.2f}, {rows[-1][1]:+.1f}")
    rows = np.array(rows)
    vetoed = rows[:, 0] > TEXTURE_RATIO
    print(f"vetoed {vetoed.sum()} of {len(rows)} synthetic steps (mean gain {rows[vetoed, 1].mean() if vetoed.any() else 0:+.2f} dB), "
          f"kept mean gain {rows[~vetoed, 1].mean():+.2f} dB")


if __name__ == "__main__":
    main()
