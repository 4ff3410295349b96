"""Strategies on a paired set made by others (``mosaicir bench paired``): degraded photographs in one
folder, their references in another, matched by file stem (``rain/12.png`` with ``clean/12.jpg``).

Public rain and haze sets come this way (a degraded input and its ground truth per photograph). Each
strategy restores every input as ``mosaicir restore`` does (a JPEG input's own quantisation tables
included); the output is scored against the reference: PSNR, SSIM, seconds,
tool calls, and per strategy how many images it left below the input's PSNR (``lowered``, the
published agents' failure on such sets). ``RES/results.json``::

    {"strategies": {name: {"psnr", "ssim", "seconds", "tool_calls", "lowered",
                           "per_image": [{"id", "input_psnr", "psnr", "ssim", "seconds", "tool_calls"}]}},
     "input": {"psnr", "ssim"}, "inputs", "targets", "only", "items", "failed", "unpaired", "config", "command"}

A pair that cannot be read, or whose images differ in size, is skipped and listed in ``failed``;
inputs without a reference are listed in ``unpaired``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import time
from pathlib import Path

from mosaicir.agents import Coordinator, RestoreConfig
from mosaicir.bench.run import means, strategies_table
from mosaicir.core.errors import InvalidInputError, MosaicirError
from mosaicir.core.image import psnr, ssim
from mosaicir.io import iter_image_files, load_image, save_image
from mosaicir.io.atomic import atomic_write_text

PAIRED_STRATEGIES: tuple[str, ...] = ("none", "global", "spatial")
#: A restored image counts as lowered when its PSNR is below the input's by more than this (dB).
LOWERED_BY = 0.01


def image_files(folder: Path) -> dict[str, Path]:
    """``{stem: path}`` of the image files directly in ``folder`` (the formats ``mosaicir restore`` reads)."""
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder")
    return {p.stem: p for p in iter_image_files([folder])}


def bench_paired(inputs: str | os.PathLike[str], targets: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 strategies: list[str], config: RestoreConfig | None = None, n: int | None = None,
                 only: str | None = None, command: str = "", log=print) -> dict:
    """Run each strategy on every input that has a reference (and whose stem matches the shell
    pattern ``only``, e.g. ``*rain-075``); returns the ``results.json`` document."""
    inputs, targets, out_dir = Path(inputs), Path(targets), Path(out)
    unknown = [s for s in strategies if s not in PAIRED_STRATEGIES]
    if unknown:
        raise InvalidInputError(f"unknown strategies {unknown}; choose from {', '.join(PAIRED_STRATEGIES)}")
    degraded_files, reference_files = image_files(inputs), image_files(targets)
    if only:
        degraded_files = {stem: path for stem, path in degraded_files.items() if fnmatch.fnmatchcase(stem, only)}
    stems = [s for s in degraded_files if s in reference_files][: n or None]
    if not stems:
        raise InvalidInputError(f"no image of {inputs}{f' matching {only!r}' if only else ''} has a reference "
                                f"of the same name in {targets}")
    unpaired = [s for s in degraded_files if s not in reference_files]
    if unpaired:
        log(f"{len(unpaired)} inputs without a reference of the same name, not scored: {', '.join(unpaired[:10])}"
            + (" ..." if len(unpaired) > 10 else ""))
    base = config or RestoreConfig(memory=False)
    coordinators = {s: Coordinator(base.model_copy(update={"strategy": s})) for s in strategies}
    rows: dict[str, list[dict]] = {s: [] for s in strategies}
    scored_inputs, failed = [], []
    for index, stem in enumerate(stems):
        try:
            loaded = load_image(degraded_files[stem])
            degraded = loaded.image
            reference = load_image(reference_files[stem]).image
            if degraded.shape != reference.shape:
                raise InvalidInputError(f"sizes differ: {degraded.shape[1]}x{degraded.shape[0]} against "
                                        f"{reference.shape[1]}x{reference.shape[0]}")
        except MosaicirError as exc:
            failed.append({"id": stem, "error": str(exc)})
            log(f"[{index + 1}/{len(stems)}] {stem}: skipped ({exc})")
            continue
        input_psnr = psnr(reference, degraded)
        scored_inputs.append({"psnr": input_psnr, "ssim": ssim(reference, degraded)})
        for strategy in strategies:
            start = time.perf_counter()
            result = coordinators[strategy].run(degraded, jpeg_quantization=loaded.meta.jpeg_quantization)
            seconds = time.perf_counter() - start
            save_image(out_dir / strategy / f"{stem}.png", result.image)
            rows[strategy].append({
                "id": stem, "input_psnr": round(input_psnr, 4), "psnr": round(psnr(reference, result.image), 4),
                "ssim": round(ssim(reference, result.image), 4), "seconds": round(seconds, 3), "tool_calls": result.tool_calls,
            })
        log(f"[{index + 1}/{len(stems)}] {stem}: input {input_psnr:.2f} dB; "
            + ", ".join(f"{s} {rows[s][-1]['psnr']:.2f}" for s in strategies))
    summary = {strategy: means(per_image, ("psnr", "ssim", "seconds", "tool_calls"))
               | {"lowered": sum(1 for r in per_image if r["psnr"] < r["input_psnr"] - LOWERED_BY), "per_image": per_image}
               for strategy, per_image in rows.items()}
    document = {
        "inputs": str(inputs), "targets": str(targets), "only": only, "items": len(scored_inputs), "failed": failed,
        "unpaired": unpaired,
        "input": means(scored_inputs, ("psnr", "ssim")) if scored_inputs else {},
        "strategies": summary, "config": base.model_dump(mode="json"), "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "results.json", json.dumps(document, indent=1) + "\n")
    return document


def paired_markdown_table(document: dict) -> str:
    """The strategies of one paired run as a Markdown table."""
    if not document["items"]:
        return "No pair could be scored.\n"
    selection = f" (stems matching `{document['only']}`)" if document.get("only") else ""
    return strategies_table(f"`{document['inputs']}`{selection} against `{document['targets']}`, {document['items']} images.",
                            document["input"], document["strategies"], "images below the input", "",
                            lambda row: str(row["lowered"]))
