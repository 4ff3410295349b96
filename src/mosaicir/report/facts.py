"""The facts of one restoration, as JSON-ready values: what the HTML report shows and what its JSON
sidecar holds (one source for both, so they cannot disagree).

Everything comes from the trajectory (regions, plans, tool calls with their parameters and
seconds, quality scores, decisions, final check), the input and output images (how much each
region changed, where the zoomed crops are taken) and the degradation maps of the input as
perceived *before* restoration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mosaicir import __version__
from mosaicir.core.names import DEGRADATION_COLOURS, DEGRADATIONS
from mosaicir.trajectory.records import Trajectory, image_hash

#: Version of the JSON sidecar's layout.
FACTS_FORMAT = 1
#: At most this many zoomed crops, of the regions that changed most.
MAX_CROPS = 3
#: A region whose mean change is below this (of 1, i.e. 0.5 of 255) is not worth a crop.
MIN_CROP_CHANGE = 0.5 / 255
#: The change map used to rank regions and place crops is computed at most this long side.
CHANGE_MAP_SIDE = 1024


def hex_colour(rgb: Sequence[float]) -> str:
    """``(r, g, b)`` in [0, 1] -> ``#rrggbb``."""
    return "#" + "".join(f"{int(round(255 * float(c))):02x}" for c in rgb)


def degradation_colour(name: str) -> str:
    return hex_colour(DEGRADATION_COLOURS.get(name, (0.5, 0.5, 0.5)))


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def change_map(before: np.ndarray, after: np.ndarray, max_side: int = CHANGE_MAP_SIDE) -> tuple[np.ndarray, int]:
    """Mean absolute change per pixel, averaged over blocks of ``factor x factor`` pixels.

    Args:
        before, after: ``float32 H x W x 3`` in [0, 1], same shape.

    Returns:
        (``float32 ceil(H / factor) x ceil(W / factor)`` in [0, 1], ``factor``), the integer factor
        chosen so that the long side is at most ``max_side``. Computed in strips of rows, so a
        large photograph needs no full-size float copy.
    """
    height, width = before.shape[:2]
    factor = max(1, -(-max(height, width) // max_side))
    out_h, out_w = -(-height // factor), -(-width // factor)
    out = np.zeros((out_h, out_w), np.float32)
    strip = factor * max(1, 256 // factor)
    for top in range(0, height, strip):
        bottom = min(height, top + strip)
        diff = np.abs(after[top:bottom] - before[top:bottom]).mean(axis=2, dtype=np.float32)
        rows = -(-(bottom - top) // factor)
        padded = np.zeros((rows * factor, out_w * factor), np.float32)
        counts = np.zeros_like(padded)
        padded[: bottom - top, :width] = diff
        counts[: bottom - top, :width] = 1.0
        sums = padded.reshape(rows, factor, out_w, factor).sum(axis=(1, 3))
        n = counts.reshape(rows, factor, out_w, factor).sum(axis=(1, 3))
        out[top // factor: top // factor + rows] = sums / np.maximum(n, 1.0)
    return out, factor


def box_change(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float | None]:
    """(mean absolute change of 1, PSNR in dB of ``after`` against ``before``; None if identical)
    inside ``box`` (top, left, bottom, right), computed in strips of rows."""
    top, left, bottom, right = box
    total_abs = total_sq = 0.0
    for start in range(top, bottom, 256):
        stop = min(bottom, start + 256)
        diff = after[start:stop, left:right].astype(np.float32) - before[start:stop, left:right]
        total_abs += float(np.abs(diff).sum(dtype=np.float64))
        total_sq += float(np.square(diff).sum(dtype=np.float64))
    count = max(1, (bottom - top) * (right - left) * before.shape[2])
    mse = total_sq / count
    return total_abs / count, None if mse <= 1e-12 else round(10.0 * np.log10(1.0 / mse), 2)


def crop_window(changes: np.ndarray, factor: int, box: tuple[int, int, int, int], side: int) -> tuple[int, int, int, int]:
    """The ``side x side`` window inside ``box`` (top, left, bottom, right; pixels) where the
    change is largest, as (top, left, bottom, right) in pixels."""
    top, left, bottom, right = box
    side_y, side_x = min(side, bottom - top), min(side, right - left)
    cells_y, cells_x = max(1, side_y // factor), max(1, side_x // factor)
    region = changes[top // factor: -(-bottom // factor), left // factor: -(-right // factor)]
    if region.shape[0] > cells_y or region.shape[1] > cells_x:
        integral = np.pad(region.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        sums = (integral[cells_y:, cells_x:] - integral[:-cells_y, cells_x:]
                - integral[cells_y:, :-cells_x] + integral[:-cells_y, :-cells_x])
        y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    else:
        y, x = 0, 0
    y0 = min(max(top, top + (y * factor) - (top % factor)), bottom - side_y)
    x0 = min(max(left, left + (x * factor) - (left % factor)), right - side_x)
    return int(y0), int(x0), int(y0 + side_y), int(x0 + side_x)


def crop_side(shape: tuple[int, int]) -> int:
    """Side in pixels of a zoomed crop: about a sixth of the long side, 48 to 256 pixels."""
    return int(min(256, max(48, max(shape) // 6)))


def _new_unit(**fields: Any) -> dict[str, Any]:
    return {"plans": [], "calls": [], "skips": [], "seconds": 0.0, **fields}


def _unit_quality(unit: dict[str, Any]) -> None:
    """Quality before (the first measured call's score before) and after (the score after the last
    kept call; the score before when nothing was kept), the chain kept, and the status."""
    measured = [c for c in unit["calls"] if c.get("score_before") is not None]
    kept = [c for c in unit["calls"] if c.get("decision") == "accept"]
    unit["quality_before"] = measured[0]["score_before"] if measured else None
    kept_scored = [c for c in kept if c.get("score_after") is not None]
    unit["quality_after"] = kept_scored[-1]["score_after"] if kept_scored else unit["quality_before"]
    unit["kept"] = [{"tool": c["tool"], "params": c["params"]} for c in kept]
    unit["seconds"] = round(unit["seconds"], 4)


def trajectory_facts(trajectory: Trajectory) -> dict[str, Any]:
    """Regions, whole-frame passes and decisions of a trajectory, as JSON-ready values.

    Calls are numbered per region (or per whole-frame pass) from each plan on, as
    :func:`mosaicir.trajectory.accepted_calls` reads them; a quality step and a decision attach to
    the call of the same number.
    """
    steps = trajectory.steps
    split = next((i for i, s in enumerate(steps) if s.kind == "regions"), len(steps))
    regions_step = steps[split] if split < len(steps) else None
    final = next((s for s in steps if s.kind == "final_check"), None)
    fusion = next((s for s in steps if s.kind == "fusion"), None)
    reverted = set(final.reverted) if final is not None else set()

    regions: dict[int, dict[str, Any]] = {}
    for info in (regions_step.regions if regions_step is not None else []):
        regions[info.id] = _new_unit(id=info.id, bbox=list(info.bbox), area=info.area,
                                     signature=dict(info.signature))
    passes: list[dict[str, Any]] = []
    calls: dict[Any, dict[int, dict[str, Any]]] = {}
    decisions: list[dict[str, Any]] = []
    other_seconds = 0.0

    def unit_of(step: Any, index: int) -> tuple[Any, dict[str, Any]]:
        if step.region is not None:
            if step.region not in regions:  # a region the regions step did not list
                regions[step.region] = _new_unit(id=step.region, bbox=None, area=None, signature={})
            return step.region, regions[step.region]
        if not passes or step.kind == "plan" or passes[-1]["_split"] != (index > split):
            passes.append(_new_unit(stage=len(passes), _split=index > split,
                                    when="after the regions" if index > split else "before the regions"))
            calls[("pass", len(passes) - 1)] = {}
        return ("pass", len(passes) - 1), passes[-1]

    for index, step in enumerate(steps):
        if step.kind not in ("plan", "tool_call", "quality", "decision"):
            other_seconds += step.seconds
            continue
        key, unit = unit_of(step, index)
        unit["seconds"] += step.seconds
        if step.kind == "plan":
            unit["plans"].append({"planner": step.planner, "degradations": list(step.degradations),
                                  "chain": [[tool, params] for tool, params in step.chain], "note": step.note})
            calls[key] = {}
        elif step.kind == "tool_call":
            call = {"call": step.call, "tool": step.tool, "degradation": step.degradation, "params": dict(step.params),
                    "seconds": step.seconds, "error": step.error, "score_before": None, "score_after": None,
                    "naturalness": None, "decision": None, "reason": ""}
            calls.setdefault(key, {})[step.call] = call
            unit["calls"].append(call)
        elif step.kind == "quality":
            call = calls.setdefault(key, {}).get(step.call)
            if call is not None:
                call.update(score_before=step.score_before, score_after=step.score_after,
                            naturalness=step.naturalness, seconds=round(call["seconds"] + step.seconds, 4))
        else:  # decision
            call = calls.setdefault(key, {}).get(step.call) if step.call is not None else None
            if call is not None:
                call.update(decision=step.decision, reason=step.reason)
            else:
                unit["skips"].append({"tool": step.tool, "decision": step.decision, "reason": step.reason})
            decisions.append({
                "index": len(decisions), "region": step.region,
                "stage": None if step.region is not None else unit["stage"],
                "where": f"region {step.region}" if step.region is not None else f"whole frame, {unit['when']}",
                "call": step.call, "tool": step.tool, "decision": step.decision, "reason": step.reason,
                "params": call["params"] if call is not None else None,
                "score_before": call["score_before"] if call is not None else None,
                "score_after": call["score_after"] if call is not None else None,
            })

    for unit in regions.values():
        _unit_quality(unit)
        accepted = bool(unit["kept"])
        unit["status"] = ("reverted by the final check" if unit["id"] in reverted
                          else "restored" if accepted else "nothing kept" if unit["calls"] else "no tool tried")
    for unit in passes:
        _unit_quality(unit)
        del unit["_split"]
    perception = next((s for s in steps if s.kind == "perception"), None)
    return {
        "recorded_perception": None if perception is None else {
            "method": perception.method, "present": list(perception.present), "severity": dict(perception.severity),
            "estimates": dict(perception.estimates), "image": perception.image},
        "global_degradations": dict(regions_step.global_degradations) if regions_step is not None else {},
        "untouched_area": regions_step.untouched_area if regions_step is not None else None,
        "regions": [regions[k] for k in sorted(regions)],
        "passes": passes,
        "decisions": decisions,
        "fusion": None if fusion is None else {"method": fusion.method, "regions": list(fusion.regions)},
        "final_check": None if final is None else {"kept": list(final.kept), "reverted": list(final.reverted)},
        "other_seconds": round(other_seconds, 4),
    }


def perception_facts(maps: Any) -> dict[str, Any]:
    """What :class:`~mosaicir.perception.DegradationMaps` of the input say, with the legend's colours."""
    summary = maps.summary()
    return {
        "when": "before restoration",
        "method": summary.method,
        "cell": maps.cell,
        "present": list(summary.present),
        "degradations": {name: report.model_dump(mode="json") | {"colour": degradation_colour(name)}
                         for name, report in summary.degradations.items()},
        "estimates": dict(summary.estimates),
        "legend": [{"name": name, "colour": degradation_colour(name), "present": name in summary.present}
                   for name in (maps.names or DEGRADATIONS)],
    }


def add_changes(facts: dict[str, Any], before: np.ndarray, after: np.ndarray) -> None:
    """Add to ``facts`` (from :func:`trajectory_facts`) how much each region changed (mean absolute
    change in its bounding box, of 1, and PSNR of output against input there) and the zoomed crops
    of the regions that changed most (``facts["crops"]``: region, box, change)."""
    height, width = before.shape[:2]
    changes, factor = change_map(before, after)
    candidates = []
    for region in facts["regions"]:
        if region["bbox"] is None:
            region["change"] = region["psnr_vs_input"] = None
            continue
        top, left, bottom, right = region["bbox"]
        change, psnr = box_change(before, after, (top, left, bottom, right))
        region["change"], region["psnr_vs_input"] = _round(change, 5), psnr
        candidates.append((region["change"], region["id"], (top, left, bottom, right)))
    total = float(changes.mean())
    facts["change"] = _round(total, 5)
    if not any(change >= MIN_CROP_CHANGE for change, _, _ in candidates) and total >= MIN_CROP_CHANGE:
        candidates.append((total, None, (0, 0, height, width)))  # changed by the whole-frame passes only
    side = crop_side((height, width))
    crops = []
    for change, region_id, box in sorted(candidates, key=lambda c: (-c[0], -1 if c[1] is None else c[1])):
        if change < MIN_CROP_CHANGE or len(crops) >= MAX_CROPS:
            break
        window = crop_window(changes, factor, box, side)
        crops.append({"region": region_id, "box": list(window), "change": _round(box_change(before, after, window)[0], 5)})
    facts["crops"] = crops


def restore_facts(
    trajectory: Trajectory, before: np.ndarray, after: np.ndarray, maps: Any, *, title: str,
    config: dict[str, Any] | None = None, input_path: str | None = None, output_path: str | None = None,
    output_source: str = "result", notes: Sequence[str] = (),
) -> dict[str, Any]:
    """All the facts of the report of one restoration (the JSON sidecar's content).

    Args:
        trajectory: the run's record.
        before: ``float32 H x W x 3`` in [0, 1], the input.
        after: ``float32 H x W x 3`` in [0, 1], the output shown.
        maps: the input's :class:`~mosaicir.perception.DegradationMaps`, perceived before restoration.
        config: the run's configuration shown (default: the trajectory's).
        output_source: how the output was obtained (``result``, ``replay`` or ``file``).
    """
    header = trajectory.header
    height, width = before.shape[:2]
    output_hash = image_hash(after)
    facts: dict[str, Any] = {
        "kind": "mosaicir-report", "format": FACTS_FORMAT, "mosaicir": __version__, "title": title,
        "input": {"path": input_path, "hash": header.input, "width": width, "height": height},
        "output": {"path": output_path, "hash": output_hash, "source": output_source,
                   "trajectory_output": header.output, "matches_trajectory": output_hash == header.output},
        "seconds": header.seconds,
        "config": dict(config if config is not None else header.config),
        "notes": list(notes),
        "perception": perception_facts(maps),
    }
    facts.update(trajectory_facts(trajectory))
    add_changes(facts, before, after)
    facts["steps"] = trajectory.as_rows()
    return facts
