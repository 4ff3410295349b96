"""Per-tool benchmark: every tool on the items of its own degradation in a ``single``-suite folder.

Writes ``RES/tools.json`` of the form ``{"rows": [{"tool", "degradation", "severity",
"psnr_before", "psnr_after", "ssim_before", "ssim_after", "seconds_per_megapixel", "items"}]}``
(means over the items) and a Markdown table ``RES/tools.md`` (optionally copied to a doc).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from mosaicir.core.errors import InvalidInputError
from mosaicir.core.image import psnr, ssim
from mosaicir.degrade.generator import load_manifest, prepare_clean
from mosaicir.io import load_image
from mosaicir.io.atomic import atomic_write_text
from mosaicir.tools import TOOL_REGISTRY, get_tool


def single_items(folder: Path) -> list[tuple[str, str, float]]:
    """``(id, degradation, severity)`` of the one-degradation whole-image items of a folder."""
    manifest = load_manifest(folder)
    items = []
    for item in manifest["items"]:
        degradations = [d for r in item["regions"] for d in r["degradations"]] + item["global_degradations"]
        if len(degradations) == 1:
            items.append((item["id"], degradations[0]["name"], float(degradations[0]["severity"])))
    if not items:
        raise InvalidInputError(f"{folder}: no single-degradation items (generate it with --suite single)")
    return items


def bench_tools(data: str | os.PathLike[str], out: str | os.PathLike[str], *, tools: list[str] | None = None,
                command: str = "") -> dict:
    """Run the benchmark; returns the JSON document written to ``out/tools.json``."""
    folder, out_dir = Path(data), Path(out)
    items = single_items(folder)
    names = tools or TOOL_REGISTRY.names()
    selected = [get_tool(n) for n in names]
    cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sums: dict[tuple[str, str, float], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for tool in selected:
        for item_id, degradation, severity in items:
            if degradation not in tool.targets:
                continue
            if item_id not in cache:
                cache[item_id] = (load_image(folder / "degraded" / f"{item_id}.png").image,
                                  load_image(folder / "clean" / f"{item_id}.png").image)
            degraded, clean = cache[item_id]
            start = time.perf_counter()
            restored = tool.apply(degraded)
            seconds = time.perf_counter() - start
            row = sums[(tool.name, degradation, severity)]
            row["psnr_before"].append(psnr(clean, degraded))
            row["psnr_after"].append(psnr(clean, restored))
            row["ssim_before"].append(ssim(clean, degraded))
            row["ssim_after"].append(ssim(clean, restored))
            row["seconds_per_megapixel"].append(seconds / (degraded.shape[0] * degraded.shape[1] / 1e6))
    rows = []
    for (tool_name, degradation, severity), values in sums.items():
        row = {"tool": tool_name, "degradation": degradation, "severity": severity}
        row.update({k: round(float(np.mean(v)), 4) for k, v in values.items()})
        row["items"] = len(values["psnr_before"])
        rows.append(row)
    rows.sort(key=lambda r: (r["degradation"], r["tool"], r["severity"]))
    document = {"data": str(folder), "machine": f"{platform.machine()}, {os.cpu_count()} cores", "command": command, "rows": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "tools.json", json.dumps(document, indent=1) + "\n")
    atomic_write_text(out_dir / "tools.md", tools_table(document))
    return document


def tools_table(document: dict) -> str:
    """Markdown: per degradation and tool, PSNR/SSIM before -> after and gain per severity."""
    lines = [f"Command: `{document.get('command') or 'mosaicir bench tools'}`  ", f"Machine: {document['machine']}", "",
             "| degradation | tool | severity | PSNR before | PSNR after | gain (dB) | SSIM before | SSIM after | s/MP |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in document["rows"]:
        lines.append(f"| {r['degradation']} | {r['tool']} | {r['severity']:.2f} | {r['psnr_before']:.2f} | {r['psnr_after']:.2f} | "
                     f"{r['psnr_after'] - r['psnr_before']:+.2f} | {r['ssim_before']:.3f} | {r['ssim_after']:.3f} | {r['seconds_per_megapixel']:.2f} |")
    best = best_gains(document["rows"], 0.5)
    lines += ["", "Best tool per degradation at severity 0.5:", "", "| degradation | tool | gain (dB) |", "| --- | --- | --- |"]
    lines += [f"| {d} | {t} | {g:+.2f} |" for d, (t, g) in sorted(best.items())]
    return "\n".join(lines) + "\n"


def best_gains(rows: list[dict], severity: float) -> dict[str, tuple[str, float]]:
    """``{degradation: (tool, gain)}`` of the best mean PSNR gain at ``severity``."""
    best: dict[str, tuple[str, float]] = {}
    for r in rows:
        if abs(r["severity"] - severity) > 1e-6:
            continue
        gain = r["psnr_after"] - r["psnr_before"]
        if r["degradation"] not in best or gain > best[r["degradation"]][1]:
            best[r["degradation"]] = (r["tool"], round(gain, 2))
    return best


def bench_denoise(clean_dir: str | os.PathLike[str], out: str | os.PathLike[str], *, sigma: float = 25.0,
                  tools: list[str] | None = None, seed: int = 0, command: str = "") -> dict:
    """Colour denoising at a fixed Gaussian ``sigma`` (of 255) on a folder of clean images (the
    classical protocol of CBSD68 / McMaster tables): mean PSNR per tool."""
    from mosaicir.degrade.sources import folder_sources

    sources = folder_sources(clean_dir)
    names = tools or [t for t in TOOL_REGISTRY.names() if "noise" in get_tool(t).targets]
    results: dict[str, list[float]] = defaultdict(list)
    for index, source in enumerate(sources):
        clean = prepare_clean(load_image(source.path).image, None)
        rng = np.random.default_rng([seed, index])
        noisy = np.clip(clean + rng.standard_normal(clean.shape).astype(np.float32) * np.float32(sigma / 255), 0, 1)
        results["input"].append(psnr(clean, noisy))
        for name in names:
            results[name].append(psnr(clean, get_tool(name).apply(noisy)))
    document = {"data": str(clean_dir), "sigma": sigma, "images": len(sources), "command": command,
                "psnr": {k: round(float(np.mean(v)), 3) for k, v in results.items()}}
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_text(Path(out) / "denoise.json", json.dumps(document, indent=1) + "\n")
    return document
