"""A folder of 30 mixed files restored as a user would, and every promise of a batch checked: one
command with a progress bar (run under a pseudo-terminal), nothing overwritten, a rerun that skips
everything done, a run killed mid-way (SIGKILL) that leaves no partial file and whose rerun
completes, and the same command twice giving identical bytes. Prints a table (docs/BATCH.md).

    .venv/bin/python scripts/batch_check.py --work /tmp/batch-check [--size 160]

The folder: 23 photographs (skimage's samples, cropped and resized, lightly degraded) as 8-bit PNG,
16-bit PNG, RGBA PNG, JPEG, WebP, 8- and 16-bit TIFF and BMP, half of them in nested folders, two
pairs of files with the same stem in different formats, a greyscale PNG, a text file, an empty
file, a GIF and a file with an image extension that is not an image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

from mosaicir.io import ImageMeta, load_image, save_image

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "cat", "colorwheel")


def photographs(size: int) -> list[np.ndarray]:
    """Three crops of each sample photograph, resized to ``size`` px, with noise or JPEG-like blur."""
    rng = np.random.default_rng(0)
    out = []
    for name in SAMPLES:
        full = getattr(skimage.data, name)()
        height, width = full.shape[:2]
        for k in range(3):
            side = min(height, width) * (3 - k) // 3 or min(height, width)
            top, left = (height - side) * k // 2, (width - side) * (2 - k) // 2
            crop = cv2.resize(full[top:top + side, left:left + side], (size, size), interpolation=cv2.INTER_AREA)
            image = crop.astype(np.float32) / 255.0
            image = np.clip(image + rng.normal(0, 0.03 * k, image.shape), 0, 1).astype(np.float32)
            out.append(image)
    return out


def make_folder(root: Path, size: int) -> int:
    """The 30 files; returns how many are images the batch should restore."""
    formats = [("png", {}), ("png", {"bit_depth": 16}), ("jpg", {}), ("webp", {}), ("tif", {}), ("tif", {"bit_depth": 16}),
               ("bmp", {}), ("png", {"alpha": True})]
    images = photographs(size)[:23]
    for index, image in enumerate(images):
        suffix, options = formats[index % len(formats)]
        folder = root / ("nested" if index % 2 else "") / ("deeper" if index % 4 == 3 else "")
        path = folder / f"photo_{index:02d}.{suffix}"
        alpha = np.full(image.shape[:2], 0.6, np.float32) if options.get("alpha") else None
        meta = ImageMeta(bit_depth=options["bit_depth"]) if "bit_depth" in options else None
        save_image(path, image, alpha=alpha, meta=meta)
    save_image(root / "photo_00.jpg", images[0])  # the same stem as photo_00.png
    save_image(root / "nested" / "photo_01.jpg", images[1])  # the same stem as nested/photo_01.png
    Image.fromarray((images[2].mean(axis=2) * 255).astype(np.uint8)).save(root / "grey.png")
    (root / "notes.txt").write_text("not an image\n")
    (root / "empty.png").write_bytes(b"")
    Image.fromarray((images[3] * 255).astype(np.uint8)).save(root / "anim.gif")
    (root / "fake.jpg").write_bytes(b"this is not a JPEG")
    files = [p for p in root.rglob("*") if p.is_file()]
    assert len(files) == 30, len(files)
    return len(images) + 3  # the photographs, the two stem twins and the grey one


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            for p in sorted(folder.rglob("*")) if p.is_file()}


def restore(inputs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mosaicir", "restore", str(inputs), "-o", str(out), "--recursive", *extra],
                          capture_output=True, text=True, timeout=3600)


def restore_on_a_terminal(inputs: Path, out: Path) -> tuple[int, str]:
    """The command under a pseudo-terminal (as a user types it): exit status and what it drew."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-m", "mosaicir", "restore", str(inputs), "-o", str(out), "--recursive"])
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done and not ready:
            break
    if not done:
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def temporaries(folder: Path) -> list[Path]:
    """The hidden temporaries of atomic writes (``.<stem>.*.tmp<suffix>``) under ``folder``."""
    return [p for p in folder.rglob(".*") if p.is_file() and ".tmp" in p.name] if folder.exists() else []


def decodes(path: Path) -> bool:
    try:
        load_image(path)
    except Exception:
        return False
    return True


def outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*_restored.*") if p.is_file() and not p.name.endswith(".json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/batch-check", help="scratch folder (emptied first)")
    parser.add_argument("--size", type=int, default=160, help="side of the photographs, px")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    inputs = work / "inputs"
    expected = make_folder(inputs, args.size)
    before = digest(inputs)
    rows = []

    start = time.perf_counter()
    status, drawn = restore_on_a_terminal(inputs, work / "out")
    seconds = time.perf_counter() - start
    made = outputs(work / "out")
    bar = "ETA" in drawn and "━" in drawn
    rows.append(("one command, progress bar", f"exit {status}; {len(made)} results of {expected} images; "
                 f"bar drawn: {'yes' if bar else 'no'}; {seconds:.1f} s", status == 1 and len(made) == expected and bar))
    untouched = digest(inputs) == before
    names = {p.relative_to(work / "out") for p in made}
    rows.append(("nothing overwritten", f"inputs unchanged: {'yes' if untouched else 'no'}; {len(names)} distinct results "
                 "(photo_00.png and photo_00.jpg give two)", untouched and len(names) == expected))

    first = digest(work / "out")
    rerun = restore(inputs, work / "out", "--json")
    summary = json.loads(rerun.stdout)
    skipped = summary["skipped"] if summary["restored"] == 0 else -1
    rows.append(("a rerun skips what is done", f"exit {rerun.returncode}; {skipped} of {expected} skipped; results unchanged: "
                 f"{'yes' if digest(work / 'out') == first else 'no'}", skipped == expected and digest(work / "out") == first))

    killed_out = work / "killed"
    process = subprocess.Popen([sys.executable, "-m", "mosaicir", "restore", str(inputs), "-o", str(killed_out), "--recursive"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(outputs(killed_out)) < expected // 3 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_at_kill = len(outputs(killed_out))
    whole = all(decodes(p) for p in outputs(killed_out))
    hidden = temporaries(killed_out)
    completed = restore(inputs, killed_out)
    rows.append(("killed mid-way (SIGKILL), then rerun",
                 f"{done_at_kill} results at the kill, every one whole: {'yes' if whole else 'no'}; hidden temporaries "
                 f"left: {len(hidden)}; rerun exit {completed.returncode}, {len(outputs(killed_out))} results, hidden "
                 f"temporaries after: {len(temporaries(killed_out))}",
                 whole and len(outputs(killed_out)) == expected and not temporaries(killed_out)))

    again = work / "again"
    restore(inputs, again)
    same = {k: v for k, v in digest(again).items() if not k.endswith(".json")} == \
        {k: v for k, v in first.items() if not k.endswith(".json")}
    rows.append(("the same command twice", f"identical bytes: {'yes' if same else 'no'}", same))

    errors = [line for line in rerun.stderr.splitlines() if line.startswith("error")] or \
        [line for line in restore(inputs, work / "errors").stderr.splitlines() if line.startswith("error")]
    rows.append(("bad files reported, the batch goes on", f"{len(errors)} one-line errors: " + "; ".join(
        e.split(": ", 1)[1][:60] for e in errors[:4]), len(errors) >= 2))

    print(f"30 files ({expected} images), {args.size} px, `scripts/batch_check.py`\n")
    print("| check | measured | holds |\n| --- | --- | --- |")
    for name, measured, holds in rows:
        print(f"| {name} | {measured} | {'yes' if holds else 'NO'} |")
    sys.exit(0 if all(holds for *_, holds in rows) else 1)


if __name__ == "__main__":
    main()
