"""How our camera-noise model (``mosaicir.degrade.models.camera_noise``) compares with the noise of
real photographs: the statistics of ``noisy - reference`` (``camera_noise_statistics``: RMS,
neighbour correlation, chroma share, coarse share) over a paired set of real camera noise, against
the same statistics of the model's noise added to the references at the suites' low severities,
with the camera's noise reduction as drawn by ``Noise.sample`` and without it. Prints a Markdown
table of the 10th, 50th and 90th percentiles.

    .venv/bin/python scripts/camera_noise_model.py --pairs ../shared/data/paired/PolyU
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.degrade.models import Noise, camera_noise
from mosaicir.io import load_image
from mosaicir.tools.noise import camera_noise_statistics

MEASURES = ("rms", "correlation", "chroma", "coarse")


def paired(folder: Path) -> list[tuple[Path, Path]]:
    targets = {p.stem: p for p in (folder / "target").iterdir()}
    return [(p, targets[p.stem]) for p in sorted((folder / "input").iterdir()) if p.stem in targets]


def percentiles(rows: list[dict[str, float]]) -> list[str]:
    return [" / ".join(f"{v:.2f}" for v in np.percentile([r[m] for r in rows], [10, 50, 90])) for m in MEASURES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", required=True, help="a paired set of real camera noise (SET/input, SET/target)")
    parser.add_argument("--severity", type=float, nargs=2, default=(0.04, 0.12), metavar=("LO", "HI"),
                        help="severities of the model's noise, uniform in [LO, HI] (PolyU: about 0.04-0.1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pairs = paired(Path(args.pairs))
    if not pairs:
        raise SystemExit(f"error: no pairs in {args.pairs}")
    real, model, plain = [], [], []
    rng = np.random.default_rng(args.seed)
    noise = Noise()
    for noisy_path, reference_path in pairs:
        reference = load_image(reference_path).image
        real.append(camera_noise_statistics(load_image(noisy_path).image, reference))
        params = noise.sample(rng, float(rng.uniform(*args.severity)))
        for rows, smoothing, chroma_gain in ((model, params.smoothing, params.chroma_gain), (plain, 0.0, 1.0)):
            out = camera_noise(reference, params.shot, params.read, params.quality,
                               np.random.default_rng(params.seed), smoothing, chroma_gain)
            rows.append(camera_noise_statistics(out, reference))
    print(f"{len(pairs)} pairs of {args.pairs}; 10th / 50th / 90th percentiles\n")
    print("| noise | " + " | ".join(MEASURES) + " |")
    print("| --- |" + " --- |" * len(MEASURES))
    for label, rows in (("real", real), ("model, with the camera's noise reduction", model),
                        ("model, without it", plain)):
        print(f"| {label} | " + " | ".join(percentiles(rows)) + " |")


if __name__ == "__main__":
    main()
