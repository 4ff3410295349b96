"""Strategies side by side on a generated folder (``mosaicir bench run``).

For every item and strategy the output is saved as ``RES/<strategy>/<id>.png`` and scored against
the clean image: whole-image PSNR and SSIM, ``region_psnr`` (mean PSNR over the ground-truth
regions of the recipe; the whole image for whole-image suites), seconds and tool calls.
``RES/results.json``::

    {"strategies": {name: {"psnr", "ssim", "region_psnr", "seconds", "tool_calls",
                           "per_image": [{"id", "psnr", "ssim", "region_psnr", "seconds", "tool_calls"}]}},
     "input": {"psnr", "ssim", "region_psnr"}, "data", "suite", "items", "config", "command"}

``oracle`` knows the labels: ground-truth regions and degradations, and for each region the tool
chain (one of the measured tools, or nothing, per degradation, in restoration order) with the best
PSNR against the clean image; it bounds what perception and planning can reach with our tools.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from mosaicir.agents import Coordinator, RestoreConfig
from mosaicir.agents.messages import restoration_sorted
from mosaicir.agents.planners import preferred_tools
from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import psnr
from mosaicir.degrade.generator import load_manifest
from mosaicir.degrade.recipe import ItemRecipe, render
from mosaicir.fusion import RegionResult, fuse
from mosaicir.io import load_image, save_image
from mosaicir.io.atomic import atomic_write_text
from mosaicir.quality.metrics import get_metric
from mosaicir.regions import mask_bbox
from mosaicir.tools import get_tool

#: Whole-image SSIM (``mosaicir.quality.metrics``); PSNR is also taken under region masks (``core.image.psnr``).
ssim = get_metric("ssim")

BENCH_STRATEGIES: tuple[str, ...] = ("none", "global", "spatial", "oracle")


def ground_truth_masks(recipe: ItemRecipe, clean: np.ndarray) -> np.ndarray:
    """``float32 K x H x W`` soft region masks of an item (one full mask for whole-image items)."""
    _, _, masks = render(clean, recipe)
    return masks


def region_psnr(clean: np.ndarray, image: np.ndarray, masks: np.ndarray) -> float:
    """Mean PSNR over the ground-truth regions (each pixel assigned to its strongest mask)."""
    owner = masks.argmax(axis=0)
    values = [psnr(clean, image, (owner == k).astype(np.float32)) for k in range(masks.shape[0]) if (owner == k).any()]
    return float(np.mean(values))


def _best_chain(degraded: np.ndarray, clean: np.ndarray, weight: np.ndarray | None,
                degradations: dict[str, float]) -> tuple[np.ndarray, int]:
    """Try every chain (per degradation: each measured tool or nothing, restoration order) and keep
    the one with the best PSNR over ``weight``."""
    names = restoration_sorted(degradations)
    options = [[None] + preferred_tools(n) for n in names]
    best_image, best_value, calls = degraded, psnr(clean, degraded, weight), 0
    cache: dict[tuple, np.ndarray] = {(): degraded}
    for combo in itertools.product(*options):
        prefix: tuple = ()
        current = degraded
        for name, tool in zip(names, combo):
            prefix = prefix + ((name, tool),)
            if prefix in cache:
                current = cache[prefix]
                continue
            if tool is not None:
                current = get_tool(tool).apply(current, get_tool(tool).params_for(degradations[name]))
                calls += 1
            cache[prefix] = current
        value = psnr(clean, current, weight)
        if value > best_value:
            best_image, best_value = current, value
    return best_image, calls


def oracle_restore(degraded: np.ndarray, clean: np.ndarray, recipe: ItemRecipe, masks: np.ndarray,
                   margin: int = 32) -> tuple[np.ndarray, int]:
    """Ground-truth regions and degradations, best chain per region by PSNR; returns the image and
    the number of tool calls made while searching."""
    calls = 0
    current = degraded
    if recipe.global_degradations:
        current, n = _best_chain(current, clean, None, {d.name: d.severity for d in recipe.global_degradations})
        calls += n
    results = []
    height, width = degraded.shape[:2]
    for region in recipe.regions:
        if not region.degradations:
            continue
        mask = masks[region.index] if region.index < masks.shape[0] else np.ones((height, width), np.float32)
        top, left, bottom, right = mask_bbox(mask, 1e-3)
        if bottom <= top:
            continue
        top, left = max(0, (top - margin) // 16 * 16), max(0, (left - margin) // 16 * 16)
        bottom, right = min(height, bottom + margin), min(width, right + margin)
        crop, weight = current[top:bottom, left:right], mask[top:bottom, left:right]
        restored, n = _best_chain(crop, clean[top:bottom, left:right], weight, {d.name: d.severity for d in region.degradations})
        calls += n
        results.append(RegionResult(region.index, (top, left, bottom, right), restored, weight))
    return fuse(current, results), calls


def means(rows: list[dict], keys: tuple[str, ...]) -> dict[str, float | None]:
    """``{key: mean over the rows}`` rounded to 4 places (``None`` when there are no rows)."""
    return {key: round(float(np.mean([r[key] for r in rows])), 4) if rows else None for key in keys}


def bench_run(data: str | os.PathLike[str], out: str | os.PathLike[str], *, strategies: list[str],
              config: RestoreConfig | None = None, n: int | None = None, only: str | None = None,
              command: str = "", log=print) -> dict:
    """Run each strategy on every item of a generated folder (those whose id matches the shell
    pattern ``only``, e.g. ``*rain+low_light``; then the first ``n``); returns the ``results.json``
    document."""
    folder, out_dir = Path(data), Path(out)
    unknown = [s for s in strategies if s not in BENCH_STRATEGIES]
    if unknown:
        raise InvalidInputError(f"unknown strategies {unknown}; choose from {', '.join(BENCH_STRATEGIES)}")
    manifest = load_manifest(folder)
    items = [ItemRecipe.model_validate(i) for i in manifest["items"]
             if only is None or fnmatch.fnmatchcase(i["id"], only)][: n or None]
    if not items:
        raise InvalidInputError(f"no item of {folder}{f' matches {only!r}' if only else ''}")
    base = config or RestoreConfig(memory=False)
    coordinators = {s: Coordinator(base.model_copy(update={"strategy": s})) for s in strategies if s in ("none", "global", "spatial")}
    rows: dict[str, list[dict]] = {s: [] for s in strategies}
    inputs = []
    for index, recipe in enumerate(items):
        degraded = load_image(folder / "degraded" / f"{recipe.id}.png").image
        clean = load_image(folder / "clean" / f"{recipe.id}.png").image
        masks = ground_truth_masks(recipe, clean)
        inputs.append({"psnr": psnr(clean, degraded), "ssim": ssim(clean, degraded), "region_psnr": region_psnr(clean, degraded, masks)})
        for strategy in strategies:
            start = time.perf_counter()
            if strategy == "oracle":
                output, calls = oracle_restore(degraded, clean, recipe, masks)
            else:
                result = coordinators[strategy].run(degraded)
                output, calls = result.image, result.tool_calls
            seconds = time.perf_counter() - start
            save_image(out_dir / strategy / f"{recipe.id}.png", output)
            rows[strategy].append({
                "id": recipe.id, "psnr": round(psnr(clean, output), 4), "ssim": round(ssim(clean, output), 4),
                "region_psnr": round(region_psnr(clean, output, masks), 4), "seconds": round(seconds, 3), "tool_calls": calls,
            })
        log(f"[{index + 1}/{len(items)}] {recipe.id}: input {inputs[-1]['psnr']:.2f} dB; "
            + ", ".join(f"{s} {rows[s][-1]['psnr']:.2f}" for s in strategies))
    summary = {strategy: means(per_image, ("psnr", "ssim", "region_psnr", "seconds", "tool_calls")) | {"per_image": per_image}
               for strategy, per_image in rows.items()}
    document = {
        "data": str(folder), "suite": manifest.get("suite"), "only": only, "items": len(items),
        "input": means(inputs, ("psnr", "ssim", "region_psnr")) if inputs else {},
        "strategies": summary, "config": base.model_dump(mode="json"), "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "results.json", json.dumps(document, indent=1) + "\n")
    from mosaicir.report.bench import write_bench_report

    write_bench_report(out_dir / "report.html", document, folder, out_dir)
    return document


def strategies_table(title: str, base: dict, strategies: dict, column: str, base_cell: str, cell) -> str:
    """A Markdown table of strategies against the input: PSNR, gain, SSIM, one measure of the
    caller's (``column``: ``base_cell`` for the input, ``cell(row)`` per strategy), seconds, tool calls."""
    lines = [title, "", f"| strategy | PSNR (dB) | gain | SSIM | {column} | seconds / image | tool calls / image |",
             "| --- | --- | --- | --- | --- | --- | --- |",
             f"| input | {base['psnr']:.2f} | | {base['ssim']:.3f} | {base_cell} | | |"]
    for name, row in strategies.items():
        lines.append(f"| {name} | {row['psnr']:.2f} | {row['psnr'] - base['psnr']:+.2f} | {row['ssim']:.3f} | "
                     f"{cell(row)} | {row['seconds']:.2f} | {row['tool_calls']:.1f} |")
    return "\n".join(lines) + "\n"


def markdown_table(document: dict) -> str:
    """The strategies of one run as a Markdown table."""
    base = document["input"]
    return strategies_table(f"Suite `{document['suite']}`, {document['items']} images.", base, document["strategies"],
                            "region PSNR", f"{base['region_psnr']:.2f}", lambda row: f"{row['region_psnr']:.2f}")
