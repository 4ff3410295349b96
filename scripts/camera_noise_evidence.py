"""What the camera-noise denoiser (``denoise_camera_unet``) removes from real noisy photographs and
from clean ones: per photograph the true gain (paired sets, PSNR against the reference) or the
change (clean photographs, PSNR of the output against the input), with the statistics of the
removed layer the tool's evidence can use. Sets the thresholds of
``mosaicir.tools.noise.camera_noise_evidence``.

    .venv/bin/python scripts/camera_noise_evidence.py --pairs ../shared/data/paired/PolyU \\
        --clean ../shared/data/natural [--model runs/camnoise/denoise_camera_unet.onnx] [--every 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.io import iter_image_files, load_image
from mosaicir.tools.noise import DenoiseCameraNet, camera_noise_statistics


def rows_for(tool: DenoiseCameraNet, pairs: list[tuple[Path, Path | None]]) -> list[dict]:
    rows = []
    for degraded_path, reference_path in pairs:
        image = load_image(degraded_path).image
        out = tool.apply(image)
        row = {"name": degraded_path.stem, **camera_noise_statistics(image, out), "change": psnr(image, out)}
        if reference_path is not None:
            reference = load_image(reference_path).image
            row["gain"] = psnr(reference, out) - psnr(reference, image)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="*", default=[], help="paired sets (SET/input, SET/target by stem)")
    parser.add_argument("--clean", nargs="*", default=[], help="folders of clean photographs")
    parser.add_argument("--model", default=None, help="ONNX file (default: the shipped one)")
    parser.add_argument("--every", type=int, default=1, help="every N-th clean photograph")
    args = parser.parse_args()
    tool = DenoiseCameraNet(args.model)
    paired = []
    for folder in args.pairs:
        targets = {p.stem: p for p in iter_image_files([Path(folder) / "target"])}
        paired += [(p, targets[p.stem]) for p in iter_image_files([Path(folder) / "input"]) if p.stem in targets]
    clean = [(p, None) for p in list(iter_image_files(args.clean, recursive=True))[:: args.every]]
    keys = None
    for title, rows in (("paired (gain against the reference, dB)", rows_for(tool, paired)),
                        ("clean (PSNR of the output against the input, dB)", rows_for(tool, clean))):
        if not rows:
            continue
        keys = [k for k in rows[0] if k not in ("name",)]
        print(f"\n{title}: {len(rows)} photographs")
        print("name".ljust(34) + "".join(k[:9].rjust(10) for k in keys))
        for row in sorted(rows, key=lambda r: r.get("gain", r["change"])):
            print(row["name"][:33].ljust(34) + "".join(f"{row[k]:10.3f}" for k in keys))
        table = np.array([[row[k] for k in keys] for row in rows])
        print("median".ljust(34) + "".join(f"{v:10.3f}" for v in np.median(table, axis=0)))


if __name__ == "__main__":
    main()
