"""A contact sheet of a generated folder: degraded, clean and a colour-coded label overlay per
item, so that a person can see what the generator makes."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mosaicir.core.names import DEGRADATION_COLOURS, PHYSICAL_ORDER
from mosaicir.degrade.generator import load_labels, load_manifest
from mosaicir.io.images import load_image, save_image
from mosaicir.report.overlay import label_overlay


def _thumb(image: np.ndarray, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    width = max(1, int(round(w * height / h)))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def preview(folder: str | os.PathLike[str], out: str | os.PathLike[str], *, n: int = 12, thumb_height: int = 160) -> Path:
    """Write a contact sheet of the first ``n`` items of a generated folder to ``out`` (PNG)."""
    folder = Path(folder)
    manifest = load_manifest(folder)
    items = manifest["items"][:n]
    font = ImageFont.load_default()
    rows: list[np.ndarray] = []
    captions: list[str] = []
    for item in items:
        degraded = load_image(folder / "degraded" / f"{item['id']}.png").image
        clean = load_image(folder / "clean" / f"{item['id']}.png").image
        labels = load_labels(folder, item["id"])
        overlay = label_overlay(clean, labels)
        gap = np.ones((thumb_height, 6, 3), np.float32)
        rows.append(np.concatenate([_thumb(degraded, thumb_height), gap, _thumb(clean, thumb_height), gap,
                                    _thumb(overlay, thumb_height)], axis=1))
        regions = []
        for region in item["regions"]:
            names = "+".join(d["name"] + f"@{d['severity']:.2f}" for d in region["degradations"]) or "clean"
            regions.append(names)
        glob = " | global: " + ", ".join(f"{d['name']}@{d['severity']:.2f}" for d in item["global_degradations"]) if item["global_degradations"] else ""
        layout = item["layout"]["kind"] if item.get("layout") else "whole image"
        captions.append(f"{item['id']}  [{layout}]  " + " / ".join(regions) + glob)
    width = max((r.shape[1] for r in rows), default=400)
    legend_height, caption_height = 22, 16
    total = legend_height + sum(r.shape[0] + caption_height + 8 for r in rows)
    sheet = Image.new("RGB", (max(width, 760), max(total, legend_height + 10)), "white")
    draw = ImageDraw.Draw(sheet)
    x = 4
    for name in PHYSICAL_ORDER:
        colour = tuple(int(c * 255) for c in DEGRADATION_COLOURS[name])
        draw.rectangle([x, 5, x + 12, 17], fill=colour, outline="black")
        draw.text((x + 16, 5), name, fill="black", font=font)
        x += 18 + int(draw.textlength(name, font=font)) + 10
    y = legend_height
    for row, caption in zip(rows, captions):
        draw.text((4, y + 2), caption, fill="black", font=font)
        y += caption_height
        sheet.paste(Image.fromarray((row * 255).round().astype(np.uint8)), (0, y))
        y += row.shape[0] + 8
    array = np.asarray(sheet).astype(np.float32) / 255.0
    return save_image(out, array)
