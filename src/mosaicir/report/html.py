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


def write_restore_report(
    path: str | os.PathLike[str], *, title: str, before: np.ndarray, after: np.ndarray,
    steps: Sequence[dict], config: dict,
) -> Path:
    """Write the report: input and output side by side, the table of steps, and the run config."""
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(step.get(col, '')))}</td>" for col in ("kind", "name", "applied", "measured", "params", "seconds")) + "</tr>"
        for step in steps
    )
    config_text = html.escape("\n".join(f"{k}: {v}" for k, v in config.items()))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} figure{{display:inline-block;margin:0 1em 1em 0}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;font-size:90%}}</style></head>
<body><h1>{html.escape(title)}</h1>
<figure><img src="{image_data_uri(before)}" alt="input"><figcaption>input</figcaption></figure>
<figure><img src="{image_data_uri(after)}" alt="output"><figcaption>output</figcaption></figure>
<h2>Decisions</h2>
<table><tr><th>kind</th><th>name</th><th>applied</th><th>measured</th><th>parameters</th><th>seconds</th></tr>
{rows}</table>
<h2>Run configuration</h2><pre>{config_text}</pre>
</body></html>
"""
    atomic_write_text(path, page)
    return Path(path)
