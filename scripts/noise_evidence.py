"""What a denoiser removes, textured against flat parts (``mosaicir.tools.noise.texture_share``):
on clean photographs that perception reads as noisy, and on the same kind of photographs with
synthetic noise (Gaussian, Poisson and the camera chain) at a few severities, with the step's true
gain. Both ratios are printed: over the frame (``noise_evidence``'s veto, above ``TEXTURE_RATIO``) and within bands of like
brightness (``BRIGHTNESS_BANDS``), with what a veto needing both would have kept (tried in ``s24``,
not shipped: docs/REAL.md). Sets ``TEXTURE_RATIO``.

    .venv/bin/python scripts/noise_evidence.py ../shared/data/natural --every 8
"""

from __future__ import annotations

import argparse

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.degrade import get_degradation
from mosaicir.io import iter_image_files, load_image
from mosaicir.perception import perceive
from mosaicir.tools import get_tool
from mosaicir.tools.noise import BRIGHTNESS_BANDS, TEXTURE_RATIO, texture_share


def ratios(before, after) -> tuple[float, float]:
    """The texture share over the frame (``noise_evidence`` vetoes above ``TEXTURE_RATIO``) and
    within brightness bands."""
    return texture_share(before, after), texture_share(before, after, BRIGHTNESS_BANDS)


def describe(plain: float, banded: float) -> str:
    """The two ratios, and the veto: the shipped one (the first ratio), and whether the one tried
    in ``s24`` (both ratios above ``TEXTURE_RATIO``) would release the step."""
    text = f"share {plain:.2f}, in brightness bands {banded:.2f}"
    if plain <= TEXTURE_RATIO:
        return text
    return text + (" (vetoed)" if banded > TEXTURE_RATIO else " (vetoed; the bands would release it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--tool", default="denoise_unet")
    parser.add_argument("--every", type=int, default=8, help="synthetic noise on every N-th photograph")
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
            plain, banded = ratios(image, out)
            print(f"  {path.name}: {describe(plain, banded)}, {psnr(image, out):.1f} dB")
    print("synthetic noise (share, gain of the step in dB):")
    rng = np.random.default_rng(0)
    rows = []
    for path in paths[:: args.every]:
        clean = load_image(path).image
        for severity, kind in [(0.1, "gaussian"), (0.25, "gaussian"), (0.4, "gaussian"), (0.3, "poisson"), (0.45, "poisson"),
                               (0.15, "camera"), (0.3, "camera")]:
            noisy = model.apply(clean, model.sample(rng, severity).model_copy(update={"kind": kind}))
            out = tool.apply(noisy)
            gain = psnr(clean, out) - psnr(clean, noisy)
            plain, banded = ratios(noisy, out)
            rows.append((plain > TEXTURE_RATIO, plain > TEXTURE_RATIO and banded > TEXTURE_RATIO, gain))
            print(f"  {path.name} {kind} {severity}: {describe(plain, banded)}, {gain:+.2f} dB")
    rows = np.array(rows, dtype=float)
    for column, rule in ((0, "over the frame alone (shipped)"), (1, "over the frame and within brightness bands (tried, not shipped)")):
        veto = rows[:, column] > 0
        print(f"{rule}: vetoed {int(veto.sum())} of {len(rows)} synthetic steps (mean gain "
              f"{rows[veto, 2].mean() if veto.any() else 0:+.2f} dB), kept mean gain {rows[~veto, 2].mean():+.2f} dB")


if __name__ == "__main__":
    main()
