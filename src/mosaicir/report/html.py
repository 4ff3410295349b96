"""A self-contained HTML report (images embedded as PNG data URIs) of one restoration."""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mosaicir.io.atomic import atomic_write_text


def image_data_uri(image: np.ndarray, max_side: int = 640) -> str:
    """``float32 H x W x 3`` in [0, 1] -> ``data:image/png;base64,...`` (downscaled to ``max_side``)."""
    height, width = image.shape[:2]
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        image = cv2.resize(image, (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def describe_step(step: dict) -> str:
    """One line saying what a trajectory step did."""
    kind = step.get("kind")
    if kind == "perception":
        found = ", ".join(f"{k} {v:.2f}" for k, v in step.get("severity", {}).items()) or "nothing"
        return f"perceived ({step.get('method')}): {found}"
    if kind == "regions":
        glob = ", ".join(step.get("global_degradations", {})) or "none"
        parts = [f"#{r['id']} {100 * r['area']:.0f}% {'+'.join(r['signature'])}" for r in step.get("regions", [])]
        return f"global: {glob}; regions: {'; '.join(parts) or 'none'}; untouched {100 * step.get('untouched_area', 0):.0f}%"
    if kind == "plan":
        return f"{step.get('planner')} planner for {', '.join(step.get('degradations', []))} {step.get('note') or ''}".strip()
    if kind == "tool_call":
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in step.get("params", {}).items())
        error = f" FAILED: {step['error']}" if step.get("error") else ""
        return f"call {step.get('call')}: {step.get('tool')} for {step.get('degradation')} ({params}){error}"
    if kind == "quality":
        return f"call {step.get('call')}: score {step.get('score_before'):.3f} -> {step.get('score_after'):.3f}"
    if kind == "decision":
        return f"{step.get('decision')} {step.get('tool')}: {step.get('reason', '')}"
    if kind == "fusion":
        return f"{step.get('method')} blend of regions {step.get('regions')}"
    if kind == "final_check":
        return f"kept {step.get('kept')}, put back {step.get('reverted')}"
    return str({k: v for k, v in step.items() if k not in ("kind", "seconds")})


def write_restore_report(
    path: str | os.PathLike[str], *, title: str, before: np.ndarray, after: np.ndarray,
    steps: Sequence[dict], config: dict, overlay: np.ndarray | None = None,
) -> Path:
    """Write the report: input, perceived degradations and output side by side, the table of
    decisions (one row per trajectory step), and the run configuration."""
    rows = "\n".join(
        f"<tr><td>{html.escape(str(step.get('kind', '')))}</td>"
        f"<td>{'' if step.get('region') is None else step.get('region')}</td>"
        f"<td>{html.escape(describe_step(step))}</td><td>{step.get('seconds', 0):.3f}</td></tr>"
        for step in steps
    )
    config_text = html.escape("\n".join(f"{k}: {v}" for k, v in config.items()))
    overlay_html = (f'<figure><img src="{image_data_uri(overlay)}" alt="perceived degradations">'
                    f"<figcaption>perceived degradations</figcaption></figure>") if overlay is not None else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} figure{{display:inline-block;margin:0 1em 1em 0;vertical-align:top}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;font-size:90%}}</style></head>
<body><h1>{html.escape(title)}</h1>
<figure><img src="{image_data_uri(before)}" alt="input"><figcaption>input</figcaption></figure>
{overlay_html}
<figure><img src="{image_data_uri(after)}" alt="output"><figcaption>output</figcaption></figure>
<h2>Decisions</h2>
<table><tr><th>step</th><th>region</th><th>what</th><th>seconds</th></tr>
{rows}</table>
<h2>Run configuration</h2><pre>{config_text}</pre>
</body></html>
"""
    atomic_write_text(path, page)
    return Path(path)
