"""Perception benchmark: predicted degradation maps against the generator's labels.

Per degradation, at pixel level, "present" means label severity > 0.1 (and, for ``f1_visible``,
in the labels kept where the degradation visibly changed the pixels: ``labels/<id>.visible.npz``,
None for folders generated before they were stored); a prediction is present
where its severity exceeds the threshold calibrated on training data (``perception_mapnet.json``,
never on the benchmark folder). Writes ``RES/perception.json``::

    {"per_degradation": {name: {"precision", "recall", "f1", "f1_visible", "severity_mae", "support", "false_alarm_rate",
                                "frame_wide_images", "frame_wide_right", "frame_wide_acted", "frame_wide_acted_right"}},
     "macro_f1", "macro_f1_visible", "severity_mae", "false_alarm_rate", "seconds_per_megapixel",
     "summary_recall", "items", "method", "data"}

``false_alarm_rate``: share of the pixels without any degradation in the labels that the
prediction flags with one or more (per degradation: with that one). ``summary_recall``: share of images whose whole-image summary
names every degradation applied to them. ``frame_wide_images``: images whose summary finds the
degradation over at least ``FRAME_WIDE_AREA`` of the frame; ``frame_wide_right``: how many of them really have it. ``frame_wide_acted``: images on
which the default restoration acts on the degradation over the whole frame
(``frame_wide_degradations``: haze, rain, and low light on an under-exposed frame);
``frame_wide_acted_right``: how many of them really have it. ``severity_mae``: mean absolute severity error where the
degradation is present; the top-level figures are means over the degradations present in the
folder.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from mosaicir.agents.coordinator import FRAME_WIDE_AREA, RestoreConfig
from mosaicir.agents.routing import frame_wide_degradations
from mosaicir.core.names import DEGRADATIONS
from mosaicir.degrade.generator import load_labels, load_manifest
from mosaicir.io import load_image
from mosaicir.io.atomic import atomic_write_text
from mosaicir.perception import perceive

PRESENT = 0.1


def bench_perception(data: str | os.PathLike[str], out: str | os.PathLike[str], *, method: str = "auto",
                     command: str = "") -> dict:
    """Run the benchmark on a generated folder; returns the document written to ``out/perception.json``."""
    folder, out_dir = Path(data), Path(out)
    manifest = load_manifest(folder)
    counts = {n: {"tp": 0, "fp": 0, "fn": 0, "visible_tp": 0, "visible_fp": 0, "visible_fn": 0, "abs_error": 0.0, "false_alarms": 0, "frame_wide": 0, "frame_wide_right": 0,
                  "frame_wide_acted": 0, "frame_wide_acted_right": 0}
              for n in DEGRADATIONS}
    clean_pixels = clean_flagged = 0
    seconds = megapixels = 0.0
    named_all = 0
    per_image = []
    has_visible = True  # every item has visible labels (folders generated before them have none)
    default_config = RestoreConfig(try_everywhere=[])  # what perception decides; tried-everywhere passes are not counted
    for entry in manifest["items"]:
        image = load_image(folder / "degraded" / f"{entry['id']}.png").image
        labels = load_labels(folder, entry["id"])
        visible = load_labels(folder, entry["id"], visible=True)
        has_visible = has_visible and visible is not None
        maps = perceive(image, method=method)
        seconds += maps.seconds
        megapixels += image.shape[0] * image.shape[1] / 1e6
        shape = image.shape[:2]
        any_label = np.zeros(shape, bool)
        any_flag = np.zeros(shape, bool)
        flags = {}
        for name in DEGRADATIONS:
            label = labels.get(name, np.zeros(shape, np.float32))
            truth = label > PRESENT
            severity = maps.upsample(name)
            flagged = maps.upsample(name, which="confidence") > maps.thresholds[name]
            c = counts[name]
            c["tp"] += int(np.count_nonzero(truth & flagged))
            c["fp"] += int(np.count_nonzero(~truth & flagged))
            c["fn"] += int(np.count_nonzero(truth & ~flagged))
            if visible is not None:
                seen = visible.get(name, np.zeros(shape, np.float32)) > PRESENT
                c["visible_tp"] += int(np.count_nonzero(seen & flagged))
                c["visible_fp"] += int(np.count_nonzero(~seen & flagged))
                c["visible_fn"] += int(np.count_nonzero(seen & ~flagged))
            c["abs_error"] += float(np.abs(severity[truth] - label[truth]).sum())
            any_label |= truth
            any_flag |= flagged
            flags[name] = flagged
        clean_pixels += int(np.count_nonzero(~any_label))
        clean_flagged += int(np.count_nonzero(~any_label & any_flag))
        for name, flagged in flags.items():
            counts[name]["false_alarms"] += int(np.count_nonzero(~any_label & flagged))
        applied = {d["name"] for r in entry["regions"] for d in r["degradations"]} | {d["name"] for d in entry["global_degradations"]}
        summary = maps.summary()
        missed = sorted(applied - set(summary.present))
        named_all += not missed
        frame_wide = [n for n in summary.present if summary.degradations[n].covers(FRAME_WIDE_AREA)]
        for name in frame_wide:
            counts[name]["frame_wide"] += 1
            counts[name]["frame_wide_right"] += name in applied
        for name in frame_wide_degradations(summary, default_config):
            counts[name]["frame_wide_acted"] += 1
            counts[name]["frame_wide_acted_right"] += name in applied
        per_image.append({"id": entry["id"], "applied": sorted(applied), "named": summary.present, "missed": missed,
                          "frame_wide": frame_wide, "seconds": round(maps.seconds, 4)})
    per_degradation = {}
    for name, c in counts.items():
        support = c["tp"] + c["fn"]
        precision = c["tp"] / max(c["tp"] + c["fp"], 1)
        recall = c["tp"] / max(support, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        f1_visible = None
        if has_visible and c["visible_tp"] + c["visible_fn"] > 0:
            f1_visible = round(2 * c["visible_tp"] / (2 * c["visible_tp"] + c["visible_fp"] + c["visible_fn"]), 4)
        per_degradation[name] = {
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "f1_visible": f1_visible,
            "severity_mae": round(c["abs_error"] / support, 4) if support else None, "support": support,
            "false_positive_pixels": c["fp"], "false_alarm_rate": round(c["false_alarms"] / max(clean_pixels, 1), 4),
            "frame_wide_images": c["frame_wide"], "frame_wide_right": c["frame_wide_right"],
            "frame_wide_acted": c["frame_wide_acted"], "frame_wide_acted_right": c["frame_wide_acted_right"],
        }
    present = [n for n in DEGRADATIONS if per_degradation[n]["support"] > 0]
    visible_f1s = [per_degradation[n]["f1_visible"] for n in present if per_degradation[n]["f1_visible"] is not None]
    result = {
        "data": str(folder), "suite": manifest.get("suite"), "method": method, "items": len(per_image),
        "per_degradation": per_degradation,
        "macro_f1": round(float(np.mean([per_degradation[n]["f1"] for n in present])), 4) if present else None,
        "macro_f1_visible": round(float(np.mean(visible_f1s)), 4) if visible_f1s else None,
        "severity_mae": round(float(np.mean([per_degradation[n]["severity_mae"] for n in present])), 4) if present else None,
        "false_alarm_rate": round(clean_flagged / max(clean_pixels, 1), 4),
        "seconds_per_megapixel": round(seconds / max(megapixels, 1e-9), 4),
        "summary_recall": round(named_all / max(len(per_image), 1), 4),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "command": command, "per_image": per_image,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "perception.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(out_dir / "perception.md", markdown_table(result))
    return result


def markdown_table(result: dict) -> str:
    """Markdown table of one perception run."""
    lines = [f"`{result['command']}`" if result.get("command") else "", "",
             f"Suite `{result['suite']}`, {result['items']} images, method `{result['method']}`.", "",
             "| degradation | precision | recall | F1 | F1 (visible) | severity MAE | pixels present | false alarms "
             "| whole frame (right) | acted on whole frame (right) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, row in result["per_degradation"].items():
        alarms = f"{100 * row['false_alarm_rate']:.1f}%" if "false_alarm_rate" in row else "-"
        frame = f"{row['frame_wide_images']} ({row['frame_wide_right']})" if "frame_wide_images" in row else "-"
        acted = f"{row['frame_wide_acted']} ({row['frame_wide_acted_right']})" if "frame_wide_acted" in row else "-"
        seen = f"{row['f1_visible']:.3f}" if row.get("f1_visible") is not None else "-"
        if row["support"]:
            lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {seen} | "
                         f"{row['severity_mae']:.3f} | {row['support']:,} | {alarms} | {frame} | {acted} |")
        else:
            lines.append(f"| {name} | - | - | - | - | - | 0 ({row['false_positive_pixels']:,} flagged) | {alarms} | {frame} | {acted} |")
    macro = f"{result['macro_f1']:.3f}" if result["macro_f1"] is not None else "-"
    if result.get("macro_f1_visible") is not None:
        macro += f" ({result['macro_f1_visible']:.3f} against the visible labels)"
    mae = f"{result['severity_mae']:.3f}" if result["severity_mae"] is not None else "-"
    lines += ["", f"Macro F1 {macro}, severity MAE {mae}, false-alarm rate {result['false_alarm_rate']:.3f}, "
              f"summary names every applied degradation in {100 * result['summary_recall']:.0f}% of images, "
              f"{result['seconds_per_megapixel']:.3f} s per megapixel.", ""]
    return "\n".join(lines)
