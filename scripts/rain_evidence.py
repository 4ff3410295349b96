"""What the derainer removes, on rainy photographs with references and on clean ones: the measures
of ``mosaicir.tools.rain.streak_evidence`` (bright share, coherence, grey, amount), the step's true
gain (rainy) or its PSNR against the input (clean), and whether the tool's own test keeps it
(``derain_unet``: at full or at half scale, ``two_scale_rain_evidence``). Sets the ``RAIN_*``
thresholds; ``--half-scale`` prints the measures of both images halved (``RAIN_HALF_*``).

    .venv/bin/python scripts/rain_evidence.py --rainy ../shared/data/paired/Rain100L \
        --clean ../shared/data/natural ../shared/data/paired/PolyU/input ../shared/data/paired/Rain100L/target
"""

from __future__ import annotations

import argparse
import fnmatch
import json
from pathlib import Path


from mosaicir.core.image import psnr
from mosaicir.io import iter_image_files, load_image
from mosaicir.tools import get_tool
from mosaicir.tools.rain import half_scale, streak_evidence

def images(folder: str) -> list[Path]:
    return list(iter_image_files([folder], recursive=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rainy", nargs="*", default=[],
                        help="paired sets (SET/input and SET/target, or a generated set's degraded and clean)")
    parser.add_argument("--clean", nargs="*", default=[], help="folders of photographs without rain")
    parser.add_argument("--tool", default="derain_unet")
    parser.add_argument("--model", default=None, help="ONNX file of derain_unet (default: the shipped one)")
    parser.add_argument("--all", action="store_true", help="print every clean photograph, not only those kept")
    parser.add_argument("--json", default=None, help="write every photograph's measures here")
    parser.add_argument("--half-scale", action="store_true", help="measure both images halved")
    parser.add_argument("--only", default=None, help="shell pattern on the stems of the rainy images")
    args = parser.parse_args()

    def measure(before, after):
        return streak_evidence(half_scale(before), half_scale(after)) if args.half_scale else streak_evidence(before, after)

    tool = type(get_tool(args.tool))(args.model) if args.model else get_tool(args.tool)
    rows: list[dict] = []
    keys = ("bright", "coherence", "grey", "amount", "spread", "long_match")
    kept_gain, all_gain, kept, total = 0.0, 0.0, 0, 0
    for folder in args.rainy:
        generated = (Path(folder) / "degraded").is_dir()
        targets = {p.stem: p for p in images(str(Path(folder) / ("clean" if generated else "target")))}
        for path in images(str(Path(folder) / ("degraded" if generated else "input"))):
            if path.stem not in targets or (args.only and not fnmatch.fnmatchcase(path.stem, args.only)):
                continue
            rainy, clean = load_image(path).image, load_image(targets[path.stem]).image
            out = tool.apply(rainy)
            gain = psnr(clean, out) - psnr(clean, rainy)
            keep = (tool.evidence(rainy, out) or 0.0) >= 0.5
            measures = measure(rainy, out)
            total += 1
            kept += keep
            all_gain += gain
            kept_gain += gain if keep else 0.0
            print(f"rainy {path.stem}: " + " ".join(f"{k} {measures[k]:.3f}" for k in keys) + f" gain {gain:+.2f} {'kept' if keep else '-'}")
            rows.append({"set": "rainy", "name": path.stem, **measures, "gain": gain, "kept": bool(keep)})
    if total:
        print(f"rainy: kept {kept} of {total}; mean gain kept {kept_gain / total:+.2f} dB (all steps {all_gain / total:+.2f})")
    below, changed, count = [], 0, 0
    for folder in args.clean:
        for path in images(folder):
            image = load_image(path).image
            out = tool.apply(image)
            keep = (tool.evidence(image, out) or 0.0) >= 0.5
            count += 1
            value = psnr(image, out)
            measures = measure(image, out)
            rows.append({"set": "clean", "name": path.name, **measures, "change": value, "kept": bool(keep)})
            if keep or args.all:
                print(f"clean {path.name}: " + " ".join(f"{k} {measures[k]:.3f}" for k in keys)
                      + f" {'kept' if keep else '-'}, {value:.1f} dB", flush=True)
            if keep:
                changed += 1
                if value < 40:
                    below.append(path.name)
    if count:
        print(f"clean: {changed} of {count} kept, {len(below)} below 40 dB: {', '.join(below[:10])}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
