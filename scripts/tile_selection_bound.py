"""How much choosing region by region among what the strategies produced could gain: an upper bound.

For each item of a generated set, the frame is cut into square tiles; each tile is taken from
whichever of the input and the given strategies' results (``RES/<strategy>/<id>.png`` of
``mosaicir bench run``) is closest to the clean image there (mean squared error), and the PSNR of
that composite against the clean image is compared with the input's. A judge that knew, tile by
tile, whether a result helped could reach this figure and no more without taking other steps:
when it is close to the best strategy's own gain, what separates a strategy from the oracle is the
steps it never took, not the ones it took in the wrong place.

    .venv/bin/python scripts/tile_selection_bound.py bench-data/old-mosaic-heldout \\
        bench-results/s23/mosaic bench-results/s23/mosaic-actall --strategies global spatial --tiles 32 64 128

Several result folders (runs of other configurations on the same set) pool their results. Prints
the mean gain (dB over the input) of each result and, per tile size, of the per-tile best of the
input with the first result, and with all of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.core.image import psnr
from mosaicir.degrade.generator import load_manifest
from mosaicir.io import load_image


def tile_best(reference: np.ndarray, candidates: list[np.ndarray], tile: int) -> np.ndarray:
    """Composite of ``candidates`` (each ``H x W x 3`` like ``reference``): every ``tile`` x
    ``tile`` square from the candidate with the least squared error against ``reference`` there."""
    composite = np.empty_like(reference)
    height, width = reference.shape[:2]
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            part = (slice(y, y + tile), slice(x, x + tile))
            errors = [float(((c[part] - reference[part]) ** 2).mean()) for c in candidates]
            composite[part] = candidates[int(np.argmin(errors))][part]
    return composite


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="the generated folder (degraded/, clean/, manifest.json)")
    parser.add_argument("results", type=Path, nargs="+", help="output folders of mosaicir bench run on it")
    parser.add_argument("--strategies", nargs="+", default=["global", "spatial"])
    parser.add_argument("--tiles", nargs="+", type=int, default=[32, 64, 128], help="tile sides in pixels")
    args = parser.parse_args(argv)
    manifest = load_manifest(args.data)
    ids = [item["id"] for item in manifest["items"]]
    sources = [(f"{folder}/{s}" if len(args.results) > 1 else s, folder / s) for folder in args.results for s in args.strategies]
    missing = [name for name, folder in sources if not folder.is_dir()]
    if missing:
        raise SystemExit(f"no results of {', '.join(missing)}")
    gains: dict[str, list[float]] = {}
    for item in ids:
        clean = load_image(args.data / "clean" / f"{item}.png").image
        degraded = load_image(args.data / "degraded" / f"{item}.png").image
        results = [load_image(folder / f"{item}.png").image for _, folder in sources]
        base = psnr(clean, degraded)
        for (name, _), result in zip(sources, results):
            gains.setdefault(name, []).append(psnr(clean, result) - base)
        for tile in args.tiles:
            first = tile_best(clean, [degraded, results[0]], tile)
            gains.setdefault(f"input or {sources[0][0]}, per {tile}-px tile", []).append(psnr(clean, first) - base)
            if len(results) > 1:
                every = tile_best(clean, [degraded, *results], tile)
                gains.setdefault(f"input or any of the {len(results)} results, per {tile}-px tile", []).append(
                    psnr(clean, every) - base)
    print(f"{len(ids)} items of {args.data}; mean gain over the input (dB)\n")
    print("| result | gain |\n| --- | --- |")
    for name, values in gains.items():
        print(f"| {name} | {np.mean(values):+.2f} |")


if __name__ == "__main__":
    main()
