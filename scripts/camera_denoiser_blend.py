"""How much non-local means to average into the camera denoiser (``denoise_camera_unet``,
``nlmeans_share``): per share, the mean PSNR gain of the tool over the input on a paired set of
real camera noise, split into the photographs the network trained on and those it did not
(``--holdout``: every K-th photograph, its crops together, as ``train/restorers.py
--pairs-holdout`` keeps them apart), both for
every step and for the steps its evidence keeps (``camera_noise_evidence``; a step it refuses
counts 0); and how many clean photographs the evidence lets it change, with the lowest PSNR of
those against their input.

    .venv/bin/python scripts/camera_denoiser_blend.py --pairs ../shared/data/paired/PolyU \\
        --clean ../shared/data/natural [--model runs/camnoise3/denoise_camera_unet.onnx] [--self-ensemble] [--strength 0.9]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.learned import self_ensemble
from mosaicir.tools.noise import DenoiseCameraNet, camera_noise_evidence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", required=True, help="a paired set (SET/input, SET/target by stem)")
    parser.add_argument("--clean", nargs="*", default=[], help="folders of clean photographs")
    parser.add_argument("--clean-every", type=int, default=4, help="every K-th clean photograph")
    parser.add_argument("--model", default=None, help="ONNX file (default: the shipped one)")
    parser.add_argument("--holdout", type=int, default=3, help="every K-th pair is one the network did not train on")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.2, 0.3, 0.4, 0.5])
    parser.add_argument("--strength", type=float, default=None,
                        help="share of the blended result's change kept (default: the tool's own)")
    parser.add_argument("--tile", type=int, default=None,
                        help="side of the tiles the network runs on (default: the tool's; its global context is the tile's)")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the network over the eight flips and quarter turns of its input")
    args = parser.parse_args()
    tool = DenoiseCameraNet(args.model)
    if args.tile:
        tool.tile = args.tile
    if args.self_ensemble:
        tool.run_network = self_ensemble(tool.run_network)
    settings = {} if args.strength is None else {"strength": args.strength}
    folder = Path(args.pairs)
    targets = {p.stem: p for p in iter_image_files([folder / "target"])}
    inputs = sorted((p for p in iter_image_files([folder / "input"]) if p.stem in targets), key=lambda p: p.stem)
    # crops of one photograph (PolyU's <scene>_<crop>) go to the same side (train/data.py)
    photograph = lambda stem: re.sub(r"_\d+$", "", stem)
    photographs = sorted({photograph(p.stem) for p in inputs})
    rows = {share: {"trained": [], "held out": []} for share in args.shares}
    for path in inputs:
        index = photographs.index(photograph(path.stem))
        split = "held out" if args.holdout and index % args.holdout == 0 else "trained"
        image, reference = load_image(path).image, load_image(targets[path.stem]).image
        before = psnr(reference, image)
        for share in args.shares:
            out = tool.apply(image, {"nlmeans_share": share, **settings})
            gain = psnr(reference, out) - before
            rows[share][split].append((gain, gain if camera_noise_evidence(image, out) >= 0.5 else 0.0))
    clean = list(iter_image_files(args.clean, recursive=True))[:: args.clean_every] if args.clean else []
    strength = args.strength if args.strength is not None else tool.Params().strength
    print(f"{len(inputs)} pairs of {args.pairs}; {len(clean)} clean photographs; strength {strength:g}\n")
    print("| share | trained on: every step | kept by the evidence | held out: every step | kept by the evidence "
          "| clean changed | lowest PSNR of those |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for share in args.shares:
        changed = []
        for path in clean:
            image = load_image(path).image
            out = tool.apply(image, {"nlmeans_share": share, **settings})
            if camera_noise_evidence(image, out) >= 0.5:
                changed.append(psnr(image, out))
        cells = []
        for split in ("trained", "held out"):
            if not rows[share][split]:
                cells += ["-", "-"]
                continue
            values = np.array(rows[share][split])
            kept = int(np.count_nonzero(values[:, 1]))
            cells += [f"{values[:, 0].mean():+.2f} ({len(values)})", f"{values[:, 1].mean():+.2f} ({kept} kept)"]
        lowest = f"{min(changed):.2f}" if changed else "-"
        print(f"| {share:g} | " + " | ".join(cells) + f" | {len(changed)} of {len(clean)} | {lowest} |")


if __name__ == "__main__":
    main()
