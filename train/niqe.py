"""Fit NIQE's pristine model on clean natural images (``src/mosaicir/models/niqe_pristine.npz``).

The sharpest patches (local contrast at least 0.75 of the image's highest) of every image under
``--data`` give 36 features each (``mosaicir.quality.niqe.patch_features``); the pristine model is
their mean and covariance.

    python -m train.niqe --data ../shared/data/natural/LIVE1 ../shared/data/natural/CSun_Hays80 \\
        ../shared/data/natural/CUrban100 --out src/mosaicir/models/niqe_pristine.npz \\
        --check ../shared/data/natural/McMaster/1.png

``--check IMAGE`` then prints the fitted model's NIQE of an image kept out of the fit, clean and
degraded by each model at severities 0.3 and 0.7 (seed 0): the figures of the model card.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np

from mosaicir.core.names import DEGRADATIONS
from mosaicir.degrade import get_degradation
from mosaicir.io import load_image
from mosaicir.quality.niqe import PATCH, niqe, patch_features
from train.data import load_clean_images


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--check", default=None, help="an image kept out of the fit, scored clean and degraded")
    args = parser.parse_args(argv)
    images = load_clean_images(args.data, max_side=args.max_side)
    features = np.concatenate([patch_features(img.astype(np.float32) / 255.0, PATCH, sharp_only=True) for img in images])
    features = features[np.isfinite(features).all(axis=1)]
    mean, cov = features.mean(axis=0), np.cov(features, rowvar=False)
    buffer = io.BytesIO()
    np.savez(buffer, mean=mean, cov=cov)
    Path(args.out).write_bytes(buffer.getvalue())
    print(json.dumps({"images": len(images), "patches": int(features.shape[0]), "patch": PATCH, "out": args.out}))
    if args.check:
        print(json.dumps(check(args.check, args.out)))


def check(path: str, model: str) -> dict[str, object]:
    """NIQE under the model at ``model`` of the image at ``path`` (longer side at most 512 px),
    clean and degraded by each degradation model at severities 0.3 and 0.7 (seed 0)."""
    import cv2

    image = load_image(path).image
    scale = 512 / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    scores: dict[str, object] = {"clean": round(niqe(image, model=model), 2)}
    for name in DEGRADATIONS:
        scores[name] = [round(niqe(get_degradation(name)(image, s, 0)[0], model=model), 2) for s in (0.3, 0.7)]
    return scores


if __name__ == "__main__":
    main()
