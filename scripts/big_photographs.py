"""Big photographs in bounded memory: make test photographs of 6, 12, 24 and 48 megapixels, restore
each with the default ``mosaicir restore`` under ``/usr/bin/time -v``, and print the table of peak
memory (maximum resident set size) and wall time that docs/BIG.md opens with.

A test photograph is a clean image (default: scikit-image's ``astronaut``, bundled offline; or
``--source FILE``) tiled at its own resolution with mirrored copies (no seams, natural grain at
every scale) up to the size asked for, with a synthetic degradation that varies across the frame:
Gaussian noise (sigma 25/255) over the left half with a soft edge, and haze thickening towards the
top over the upper third (Koschmieder, airlight 0.85); saved as a JPEG of quality 92, as a camera
would. ``--kind heavy`` makes the hardest case for memory instead: noise (sigma 20/255) and a
veil of haze over the whole frame, saved as a JPEG of quality 35, so that the whole frame goes
through the JPEG pass, the noise pass and the dehazer. Every run is one process at a time (the
machine has 2 cores).

    .venv/bin/python scripts/big_photographs.py --sizes 6,12,24,48 --work /tmp/big
    .venv/bin/python scripts/big_photographs.py --sizes 24 --kind heavy --work /tmp/big

``--make-only`` writes the photographs and stops; ``--sizes`` takes megapixels (3:2 frames:
6 MP = 3000x2000, 24 MP = 6000x4000, 48 MP = 8486x5658); options after ``--`` go to
``mosaicir restore``. The ``mosaicir`` beside the running Python is measured: to measure another
checkout, run with ``PYTHONPATH=<checkout>/src``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

NOISE_SIGMA = 25.0 / 255.0
HAZE_BETA = 1.6
HAZE_AIRLIGHT = 0.85
JPEG_QUALITY = 92
HEAVY_NOISE_SIGMA = 20.0 / 255.0
HEAVY_HAZE_TRANSMISSION = 0.55
HEAVY_JPEG_QUALITY = 35


def frame_for(megapixels: float) -> tuple[int, int]:
    """``(height, width)`` of a 3:2 frame of about ``megapixels`` (both even)."""
    width = int(round(math.sqrt(megapixels * 1e6 * 1.5) / 2)) * 2
    height = int(round(width / 1.5 / 2)) * 2
    return height, width


def clean_source(path: str | None) -> np.ndarray:
    """``float32 h x w x 3`` in [0, 1]: ``path`` (any image file mosaicir reads) or astronaut."""
    if path:
        from mosaicir.io import load_image

        return load_image(path).image
    import skimage.data

    return (skimage.data.astronaut()[:, :, :3] / 255.0).astype(np.float32)


def mirror_tile(source: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``source`` repeated with every other copy mirrored (so that edges meet their own reflection)
    until it covers ``shape``, cropped to it."""
    height, width = shape
    h, w = source.shape[:2]
    row = np.concatenate([source, source[:, ::-1]], axis=1)
    block = np.concatenate([row, row[::-1]], axis=0)
    reps = (-(-height // (2 * h)), -(-width // (2 * w)), 1)
    return np.ascontiguousarray(np.tile(block, reps)[:height, :width])


def degrade(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """Noise over the left half (soft edge), haze over the upper third; ``float32`` in [0, 1]."""
    height, width = clean.shape[:2]
    rng = np.random.default_rng(seed)
    out = clean.copy()
    x = np.arange(width, dtype=np.float32) / width
    noise_weight = np.clip((0.55 - x) / 0.1, 0.0, 1.0)  # 1 left of 45%, 0 right of 55%
    for rows in range(0, height, 512):  # in bands: bounded memory for the 48 MP frame
        band = out[rows:rows + 512]
        noise = rng.standard_normal(band.shape, dtype=np.float32) * np.float32(NOISE_SIGMA)
        band += noise * noise_weight[None, :, None]
    y = np.arange(height, dtype=np.float32) / height
    depth = np.clip((0.4 - y) / 0.4, 0.0, 1.0)  # 1 at the top, 0 from 40% down
    t = np.exp(-HAZE_BETA * depth)[:, None, None].astype(np.float32)
    out *= t
    out += np.float32(HAZE_AIRLIGHT) * (1.0 - t)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def degrade_heavy(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """Noise and an even veil of haze over the whole frame; ``float32`` in [0, 1]."""
    rng = np.random.default_rng(seed)
    out = clean * np.float32(HEAVY_HAZE_TRANSMISSION) + np.float32(HAZE_AIRLIGHT * (1.0 - HEAVY_HAZE_TRANSMISSION))
    for rows in range(0, out.shape[0], 512):
        band = out[rows:rows + 512]
        band += rng.standard_normal(band.shape, dtype=np.float32) * np.float32(HEAVY_NOISE_SIGMA)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def make_photograph(megapixels: float, folder: Path, source: str | None = None, kind: str = "mixed") -> Path:
    """Write (once) and return the test photograph of ``megapixels`` (``kind``: mixed or heavy)."""
    from PIL import Image

    height, width = frame_for(megapixels)
    path = folder / f"big_{width}x{height}{'' if kind == 'mixed' else '_' + kind}.jpg"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    clean = mirror_tile(clean_source(source), (height, width))
    degraded = degrade(clean) if kind == "mixed" else degrade_heavy(clean)
    del clean
    pixels = np.round(degraded * 255.0).astype(np.uint8)
    del degraded
    Image.fromarray(pixels).save(path, quality=JPEG_QUALITY if kind == "mixed" else HEAVY_JPEG_QUALITY)
    return path


def parse_time_v(text: str) -> dict[str, float]:
    """Peak RSS (GB, 2**30 bytes), wall time (s) and CPU time (user + system, s) from
    ``/usr/bin/time -v``'s report."""
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    seconds = 0.0
    if wall:
        for part in wall.group(1).split(":"):
            seconds = seconds * 60 + float(part)
    return {"peak_gb": int(rss.group(1)) / 1024 ** 2 if rss else float("nan"), "seconds": seconds, "cpu_seconds": cpu}


def measure(photo: Path, out_dir: Path, extra: list[str]) -> dict:
    """Restore ``photo`` with the default ``mosaicir restore`` under ``/usr/bin/time -v``."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    mosaicir = Path(sys.executable).with_name("mosaicir")
    command = ["/usr/bin/time", "-v", str(mosaicir), "restore", str(photo), "-o", str(out_dir), "--json", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    figures = parse_time_v(done.stderr)
    figures["status"] = done.returncode
    try:
        summary = json.loads(done.stdout)
        item = summary["items"][0]
        figures["tools"] = item.get("tools", [])
        figures["error"] = item.get("error")
    except (json.JSONDecodeError, KeyError, IndexError):
        figures["tools"], figures["error"] = [], done.stderr.strip().splitlines()[-1:] or None
    figures["outer_seconds"] = round(time.perf_counter() - started, 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="6,12,24,48", help="comma list of megapixels")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mosaicir-big"), help="folder for photographs and results")
    parser.add_argument("--source", default=None, help="clean image to tile (default: scikit-image's astronaut)")
    parser.add_argument("--kind", choices=("mixed", "heavy"), default="mixed",
                        help="mixed: noise on the left half, haze at the top; heavy: noise, haze and JPEG 35 everywhere")
    parser.add_argument("--make-only", action="store_true", help="write the photographs and stop")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("restore_args", nargs="*", help="after --: more options for mosaicir restore")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    photos = [make_photograph(size, args.work / "photos", args.source, args.kind) for size in sizes]
    if args.make_only:
        for photo in photos:
            print(photo)
        return 0
    rows = []
    for size, photo in zip(sizes, photos):
        figures = measure(photo, args.work / "out" / photo.stem, args.restore_args)
        height, width = frame_for(size)
        rows.append({"megapixels": size, "width": width, "height": height, **figures})
        print(f"{width}x{height}: {figures['peak_gb']:.2f} GB, {figures['seconds']:.1f} s, "
              f"exit {figures['status']}, tools {', '.join(figures['tools']) or '-'}", file=sys.stderr, flush=True)
    print("| photograph | megapixels | peak memory (GB) | wall time (s) | CPU time (s) | tools kept | exit |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['width']}x{row['height']}{'' if args.kind == 'mixed' else ' ' + args.kind} | "
              f"{row['width'] * row['height'] / 1e6:.1f} | {row['peak_gb']:.2f} | {row['seconds']:.1f} | "
              f"{row['cpu_seconds']:.1f} | {', '.join(row['tools']) or '-'} | {row['status']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["status"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
