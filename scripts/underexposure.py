"""Where the under-exposure threshold of the whole-frame low-light rule comes from.

For every image of the given generated folders whose perception summary finds low light over at
least ``FRAME_WIDE_AREA`` of the frame: its white point (``white_point`` in the perception
estimates: the 99th percentile of the value) and whether the generator really darkened it (label
over at least that share of the frame), with the darkening method. Prints the white points of the
images found dark that were not darkened, the quantiles of those that were, and the share of the
darkened ones, per method, that fall below candidate thresholds. Read it on draws of the training
images (``UNDEREXPOSED_WHITE`` in ``mosaicir.estimators.exposure`` was read from such draws):

    .venv/bin/python scripts/underexposure.py data/context/mio-a-300 data/context/mio-b-300 \\
        data/context/mio-c-300 data/context/clean-300 data/context/mosaic-30[0-3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mosaicir.agents.coordinator import FRAME_WIDE_AREA
from mosaicir.estimators import UNDEREXPOSED_WHITE, white_point
from mosaicir.degrade.generator import load_labels, load_manifest
from mosaicir.io import load_image
from mosaicir.perception import perceive


PRESENT = 0.1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="+", help="generated folders")
    args = parser.parse_args(argv)
    darkened: list[tuple[float, str]] = []
    natural: list[tuple[float, str]] = []
    for folder in map(Path, args.data):
        for entry in load_manifest(folder)["items"]:
            image = load_image(folder / "degraded" / f"{entry['id']}.png").image
            if not perceive(image, estimates=False).summary().degradations["low_light"].covers(FRAME_WIDE_AREA):
                continue
            label = load_labels(folder, entry["id"]).get("low_light")
            methods = [d["params"]["method"] for r in entry["regions"] for d in r["degradations"] if d["name"] == "low_light"]
            if label is not None and float((label > PRESENT).mean()) >= FRAME_WIDE_AREA:
                darkened.append((white_point(image), methods[0]))
            else:
                natural.append((white_point(image), f"{folder.name}/{entry['id']}"))
    print(f"found dark over {FRAME_WIDE_AREA:.0%} of the frame: {len(darkened) + len(natural)} images, "
          f"{len(darkened)} darkened, {len(natural)} not")
    for value, name in sorted(natural):
        print(f"  not darkened: {name}, white point {value:.3f}")
    if not darkened:
        return
    values = np.array([v for v, _ in darkened])
    print("darkened: white point quantiles 10/50/90%: " + " / ".join(f"{q:.3f}" for q in np.quantile(values, [0.1, 0.5, 0.9])))
    print("\n| threshold | all | " + " | ".join(m for m in ("scale", "shift", "gamma")) + " |")
    print("| --- | --- | --- | --- | --- |")
    for threshold in sorted({0.85, 0.9, 0.95, UNDEREXPOSED_WHITE}):
        shares = [np.mean([v < threshold for v, m in darkened if m == method] or [np.nan]) for method in ("scale", "shift", "gamma")]
        print(f"| {threshold} | {np.mean(values < threshold):.0%} | " + " | ".join(f"{s:.0%}" for s in shares) + " |")


if __name__ == "__main__":
    main()
