"""Where ``CLIPPED_SHADOWS`` comes from: the share of pixels black in every channel
(``mosaicir.estimators.clipped_shadows``) on generated frames, by the method that darkened them,
and on folders of photographs (rainy, clean), with the frames at or above the threshold named.

    .venv/bin/python scripts/clipped_shadows.py --generated bench-data/mio-b-heldout --only '*rain+low_light' \\
        --photographs ../shared/data/paired/Rain100L/input ../shared/data/train/RainTrainH/input
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from pathlib import Path

from mosaicir.estimators import CLIPPED_SHADOWS, clipped_shadows
from mosaicir.io import iter_image_files, load_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generated", nargs="*", default=[], help="generated sets (degraded/, manifest.json)")
    parser.add_argument("--only", default="*", help="item ids matching this pattern")
    parser.add_argument("--photographs", nargs="*", default=[], help="folders of photographs")
    args = parser.parse_args()
    print(f"threshold {CLIPPED_SHADOWS:.2%}")
    for folder in map(Path, args.generated):
        by_method: dict[str, list[tuple[float, str]]] = {}
        for item in json.loads((folder / "manifest.json").read_text())["items"]:
            if not fnmatch.fnmatch(item["id"], args.only):
                continue
            methods = [d["params"]["method"] for r in item["regions"] for d in r["degradations"] if d["name"] == "low_light"]
            share = clipped_shadows(load_image(folder / "degraded" / f"{item['id']}.png").image)
            by_method.setdefault(methods[0] if methods else "not darkened", []).append((share, item["id"]))
        for method, rows in sorted(by_method.items()):
            shares = [s for s, _ in rows]
            above = sum(s >= CLIPPED_SHADOWS for s in shares)
            print(f"{folder} {method}: {len(rows)} frames, {min(shares):.2%}-{max(shares):.2%}, {above} at or above")
    for folder in args.photographs:
        rows = [(clipped_shadows(load_image(p).image), p.name) for p in iter_image_files([folder], recursive=True)]
        above = [f"{name} {share:.2%}" for share, name in rows if share >= CLIPPED_SHADOWS]
        print(f"{folder}: {len(rows)} photographs, at most {max(rows)[0]:.2%} ({max(rows)[1]}); "
              f"at or above: {', '.join(above) or 'none'}")


if __name__ == "__main__":
    main()
