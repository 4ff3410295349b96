"""Fit NIQE's pristine model on clean natural images (``src/mosaicir/models/niqe_pristine.npz``).

The sharpest patches (local contrast at least 0.75 of the image's highest) of every image under
``--data`` give 36 features each (``mosaicir.quality.niqe.patch_features``); the pristine model is
their mean and covariance.

    python -m train.niqe --data ../shared/data/natural/LIVE1 ../shared/data/natural/CSun_Hays80 \\
        ../shared/data/natural/CUrban100 --out src/mosaicir/models/niqe_pristine.npz
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np

from mosaicir.quality.niqe import PATCH, patch_features
from train.data import load_clean_images


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-side", type=int, default=512)
    args = parser.parse_args(argv)
    images = load_clean_images(args.data, max_side=args.max_side)
    features = np.concatenate([patch_features(img.astype(np.float32) / 255.0, PATCH, sharp_only=True) for img in images])
    features = features[np.isfinite(features).all(axis=1)]
    mean, cov = features.mean(axis=0), np.cov(features, rowvar=False)
    buffer = io.BytesIO()
    np.savez(buffer, mean=mean, cov=cov)
    Path(args.out).write_bytes(buffer.getvalue())
    print(json.dumps({"images": len(images), "patches": int(features.shape[0]), "patch": PATCH, "out": args.out}))


if __name__ == "__main__":
    main()
