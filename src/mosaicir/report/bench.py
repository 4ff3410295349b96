"""Self-contained HTML report of a benchmark run: the table, plots (inline SVG) and a few images
side by side."""

from __future__ import annotations

import html
import os
from pathlib import Path

from mosaicir.io import load_image
from mosaicir.io.atomic import atomic_write_text
from mosaicir.report.html import image_data_uri

COLOURS = {"none": "#999999", "global": "#e08a1e", "spatial": "#1f77b4", "oracle": "#2ca02c"}


def _bar_chart(values: dict[str, float], label: str, width: int = 460, bar: int = 26) -> str:
    top = max([abs(v) for v in values.values()] + [1e-6])
    height = bar * len(values) + 30
    items = []
    for i, (name, value) in enumerate(values.items()):
        length = int(abs(value) / top * (width - 190))
        y = 10 + i * bar
        items.append(f'<text x="0" y="{y + 16}" font-size="13">{html.escape(name)}</text>'
                     f'<rect x="90" y="{y + 3}" width="{length}" height="{bar - 8}" fill="{COLOURS.get(name, "#555")}"/>'
                     f'<text x="{96 + length}" y="{y + 16}" font-size="12">{value:+.2f}</text>')
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(label)}">'
            + "".join(items) + f'<text x="90" y="{height - 4}" font-size="11" fill="#555">{html.escape(label)}</text></svg>')


def _scatter(document: dict, x_key: str, y_key: str, size: int = 320) -> str:
    """Per-image PSNR of ``y_key`` against ``x_key`` (points above the diagonal: y wins)."""
    xs = [r["psnr"] for r in document["strategies"][x_key]["per_image"]]
    ys = [r["psnr"] for r in document["strategies"][y_key]["per_image"]]
    if not xs:
        return ""
    low, high = min(xs + ys) - 0.5, max(xs + ys) + 0.5
    scale = lambda v: 30 + (v - low) / (high - low) * (size - 40)
    points = "".join(f'<circle cx="{scale(x):.1f}" cy="{size - scale(y):.1f}" r="3" fill="{COLOURS.get(y_key, "#333")}"/>'
                     for x, y in zip(xs, ys))
    return (f'<svg width="{size}" height="{size}"><line x1="30" y1="{size - 30}" x2="{size - 10}" y2="10" stroke="#bbb"/>'
            f'{points}<text x="40" y="{size - 8}" font-size="12">{x_key} PSNR (dB) &#8594;</text>'
            f'<text x="4" y="20" font-size="12">{y_key}</text></svg>')


def write_bench_report(path: str | os.PathLike[str], document: dict, data: Path, results: Path, examples: int = 4) -> Path:
    strategies = list(document["strategies"])
    base = document["input"]
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{r['psnr']:.2f}</td><td>{r['psnr'] - base['psnr']:+.2f}</td><td>{r['ssim']:.3f}</td>"
        f"<td>{r['region_psnr']:.2f}</td><td>{r['seconds']:.2f}</td><td>{r['tool_calls']:.1f}</td></tr>"
        for s, r in document["strategies"].items())
    gains = {s: r["psnr"] - base["psnr"] for s, r in document["strategies"].items()}
    plots = _bar_chart(gains, "mean PSNR gain over the input (dB)")
    if "global" in strategies and "spatial" in strategies:
        plots += _scatter(document, "global", "spatial")
    figures = []
    ids = [r["id"] for r in document["strategies"][strategies[0]]["per_image"]][:examples] if strategies else []
    for item_id in ids:
        cells = [("input", load_image(data / "degraded" / f"{item_id}.png").image)]
        cells += [(s, load_image(results / s / f"{item_id}.png").image) for s in strategies if (results / s / f"{item_id}.png").is_file()]
        cells.append(("clean", load_image(data / "clean" / f"{item_id}.png").image))
        scores = {s: next(r for r in document["strategies"][s]["per_image"] if r["id"] == item_id)["psnr"] for s in strategies}
        figures.append(f"<h3>{html.escape(item_id)}</h3>" + "".join(
            f'<figure><img src="{image_data_uri(img, 256)}" alt="{name}"><figcaption>{name}'
            f'{f" {scores[name]:.2f} dB" if name in scores else ""}</figcaption></figure>' for name, img in cells))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mosaicir benchmark: {html.escape(str(document['suite']))}</title>
<style>body{{font-family:sans-serif;margin:2em}} figure{{display:inline-block;margin:0 .6em .6em 0;font-size:85%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px}} svg{{margin-right:2em}}</style></head>
<body><h1>Strategies side by side: {html.escape(str(document['suite']))} ({document['items']} images)</h1>
<p>Data: {html.escape(document['data'])}. Command: <code>{html.escape(document.get('command') or '')}</code></p>
<table><tr><th>strategy</th><th>PSNR</th><th>gain</th><th>SSIM</th><th>region PSNR</th><th>s / image</th><th>tool calls</th></tr>
<tr><td>input</td><td>{base.get('psnr', 0):.2f}</td><td></td><td>{base.get('ssim', 0):.3f}</td><td>{base.get('region_psnr', 0):.2f}</td><td></td><td></td></tr>
{rows}</table>
<h2>Plots</h2>{plots}
<h2>Examples</h2>{''.join(figures)}
</body></html>
"""
    atomic_write_text(path, page)
    return Path(path)
