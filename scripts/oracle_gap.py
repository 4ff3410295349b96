"""Where the gap between two strategies lies: per degradation, the summed per-image PSNR gap.

Reads the per-image rows of ``mosaicir bench run`` results (``results.json``; several files are
merged, a later one overriding a strategy of an earlier one) and the folder's manifest, and sums
``PSNR(better) - PSNR(worse)`` over the images that hold each degradation in some region or over
the whole frame (an image counts under each of its degradations).

    .venv/bin/python scripts/oracle_gap.py bench-data/mosaic-heldout \\
        bench-results/s2/mosaic/results.json bench-results/s4/mosaic/results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mosaicir.core.names import DEGRADATIONS
from mosaicir.degrade.generator import load_manifest


def degradations_of(entry: dict) -> set[str]:
    names = {d["name"] for region in entry.get("regions", []) for d in region.get("degradations", [])}
    return names | {d["name"] for d in entry.get("global_degradations") or []}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="the generated folder the results were measured on")
    parser.add_argument("results", nargs="+", help="results.json files of mosaicir bench run")
    parser.add_argument("--better", default="oracle")
    parser.add_argument("--worse", default="spatial")
    args = parser.parse_args(argv)
    strategies: dict[str, dict[str, float]] = {}
    for path in args.results:
        for name, result in json.loads(Path(path).read_text())["strategies"].items():
            strategies[name] = {row["id"]: row["psnr"] for row in result["per_image"]}
    better, worse = strategies[args.better], strategies[args.worse]
    entries = {e["id"]: degradations_of(e) for e in load_manifest(args.data)["items"]}
    gaps = {item: better[item] - worse[item] for item in entries if item in better and item in worse}
    print(f"{len(gaps)} images, summed gap {args.better} - {args.worse}: {sum(gaps.values()):.1f} dB "
          f"(mean {sum(gaps.values()) / max(len(gaps), 1):.2f} dB)\n")
    print("| degradation | images | summed gap (dB) | mean gap (dB) |")
    print("| --- | --- | --- | --- |")
    for name in DEGRADATIONS:
        held = [gaps[item] for item, names in entries.items() if name in names and item in gaps]
        if held:
            print(f"| {name} | {len(held)} | {sum(held):.1f} | {sum(held) / len(held):.2f} |")


if __name__ == "__main__":
    main()
