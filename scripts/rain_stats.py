"""Statistics of rain residuals (degraded - reference) of a paired rain set, beside those of
``mosaicir.degrade``'s rain model at a few severities on the same references: the share of pixels
brightened by more than 0.02 and 0.05, the 99th percentile and the peak of the grey residual, and
its chroma (real sets add grey streaks).

    .venv/bin/python scripts/rain_stats.py ../shared/data/paired/Rain100L --n 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.degrade import get_degradation
from mosaicir.io import iter_image_files, load_image


def stats(degraded: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    residual = degraded - clean
    grey = residual.mean(axis=2)
    return {"above_0.02": float((grey > 0.02).mean()), "above_0.05": float((grey > 0.05).mean()),
            "p99": float(np.percentile(grey, 99)), "peak": float(grey.max()),
            "chroma": float(np.abs(residual - grey[..., None]).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", help="folder with input/ and target/ matched by file stem")
    parser.add_argument("--n", type=int, default=12, help="pairs read")
    parser.add_argument("--severities", default="0.2,0.35,0.5,0.8,0.95")
    args = parser.parse_args()
    folder = Path(args.set)
    targets = {p.stem: p for p in iter_image_files([folder / "target"])}
    pairs = [(p, targets[p.stem]) for p in iter_image_files([folder / "input"]) if p.stem in targets][: args.n]
    model = get_degradation("rain")
    rows: dict[str, list[dict[str, float]]] = {"real": []}
    rng = np.random.default_rng(0)
    for degraded_path, clean_path in pairs:
        degraded, clean = load_image(degraded_path).image, load_image(clean_path).image
        rows["real"].append(stats(degraded, clean))
        for severity in args.severities.split(","):
            synthetic = model.apply(clean, model.sample(rng, float(severity)))
            rows.setdefault(f"model {severity}", []).append(stats(synthetic, clean))
    keys = list(rows["real"][0])
    print("| residuals | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{np.median([v[k] for v in values]):.3f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
