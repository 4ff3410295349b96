"""The report of one restoration: a self-contained HTML file and its JSON sidecar.

The page needs nothing but itself (no network, no external script or style sheet): the input and
the output are embedded at full resolution as data URIs (PNG; JPEG quality 95 above
:data:`MAX_PNG_PIXELS`, which the page says), with a before/after slider and zoom written in a
few lines of plain JavaScript; beside them the degradation map of the input as perceived *before*
restoration with its legend and the regions outlined, one row per region (plan, parameters of
each call, quality before and after, seconds), zoomed crops where the output differs most from
the input, the table of decisions, every step of the trajectory and the run's configuration.

The JSON sidecar (``x.report.json`` beside ``x.report.html``) holds the same facts
(:func:`mosaicir.report.facts.restore_facts`); it is written first, so an existing HTML file
means both are complete.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from mosaicir.agents.quality import STRONG_EVIDENCE
from mosaicir.core.errors import InvalidInputError
from mosaicir.io.atomic import atomic_write_text
from mosaicir.report.facts import degradation_colour, restore_facts

#: Up to this many pixels the input and the output are embedded as PNG (lossless); above, as JPEG
#: of :data:`JPEG_QUALITY`, still at full resolution.
MAX_PNG_PIXELS = 12_000_000
JPEG_QUALITY = 95
#: Long side of the picture of the perceived maps (they have one value per 8 x 8 pixel cell).
MAP_SIDE = 1024
#: Marks the pages this module writes (a batch index replaces only an index of its own).
GENERATOR = "mosaicir"


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``float32 H x W x C`` in [0, 1] -> ``uint8``, rounded, converted in strips of rows (no
    full-size float temporary)."""
    out = np.empty(image.shape, np.uint8)
    for top in range(0, image.shape[0], 512):
        strip = image[top:top + 512]
        out[top:top + 512] = np.round(np.clip(strip, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def encode_image(image: np.ndarray, fmt: str = "png", quality: int = JPEG_QUALITY) -> bytes:
    """``float32 H x W x 3`` in [0, 1] -> PNG or JPEG bytes (JPEG without chroma subsampling)."""
    buffer = io.BytesIO()
    picture = Image.fromarray(to_uint8(image))
    if fmt == "png":
        picture.save(buffer, format="PNG", compress_level=6)
    else:
        picture.save(buffer, format="JPEG", quality=quality, subsampling=0)
    return buffer.getvalue()


def data_uri(data: bytes, fmt: str) -> str:
    return f"data:image/{'png' if fmt == 'png' else 'jpeg'};base64," + base64.b64encode(data).decode("ascii")


def image_data_uri(image: np.ndarray, max_side: int | None = 640) -> str:
    """``float32 H x W x 3`` in [0, 1] -> ``data:image/png;base64,...``, downscaled so that the
    long side is at most ``max_side`` (None: full resolution)."""
    height, width = image.shape[:2]
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        image = cv2.resize(image, (max(1, int(width * scale)), max(1, int(height * scale))), interpolation=cv2.INTER_AREA)
    return data_uri(encode_image(image, "png"), "png")


def full_resolution_uri(image: np.ndarray) -> tuple[str, dict[str, Any]]:
    """The data URI of an image at full resolution, and how it was embedded (format, quality, note)."""
    height, width = image.shape[:2]
    if height * width <= MAX_PNG_PIXELS:
        return data_uri(encode_image(image, "png"), "png"), {"format": "png", "quality": None, "full_resolution": True,
                                                              "note": ""}
    note = (f"{width}x{height} is over {MAX_PNG_PIXELS / 1e6:g} MP: input and output are embedded as JPEG quality "
            f"{JPEG_QUALITY} (4:4:4) at full resolution, not as lossless PNG")
    return (data_uri(encode_image(image, "jpeg"), "jpeg"),
            {"format": "jpeg", "quality": JPEG_QUALITY, "full_resolution": True, "note": note})


def json_sidecar(path: str | os.PathLike[str]) -> Path:
    """``x.report.html`` -> ``x.report.json`` (another name: the name plus ``.json``)."""
    path = Path(path)
    return path.with_suffix(".json") if path.suffix.lower() in (".html", ".htm") else path.with_name(path.name + ".json")


def describe_step(step: dict) -> str:
    """One line saying what a trajectory step did."""
    kind = step.get("kind")
    if kind == "perception":
        found = ", ".join(f"{k} {v:.2f}" for k, v in step.get("severity", {}).items()) or "nothing"
        return f"perceived ({step.get('method')}): {found}"
    if kind == "routing":
        def passes(plans):
            return "; ".join(f"{p.get('stage')}: {', '.join(p.get('signature', {}))}" for p in plans) or "none"
        tested = "".join(f"{name} found faint, tested by the tools tried on every photograph: evidence {value:.2f} "
                         f"({'left to them' if value >= STRONG_EVIDENCE else 'routed as found'}); "
                         for name, value in step.get("tested", {}).items())
        return (f"routing ({step.get('strategy')}): {tested}whole frame before the regions: {passes(step.get('before', []))}; "
                f"regions leave {', '.join(step.get('exclude', [])) or 'nothing'}; "
                f"whole frame after the regions: {passes(step.get('after', []))}")
    if kind == "regions":
        glob = ", ".join(step.get("global_degradations", {})) or "none"
        parts = [f"#{r['id']} {100 * r['area']:.0f}% {'+'.join(r['signature'])}" for r in step.get("regions", [])]
        return f"global: {glob}; regions: {'; '.join(parts) or 'none'}; untouched {100 * step.get('untouched_area', 0):.0f}%"
    if kind == "plan":
        return f"{step.get('planner')} planner for {', '.join(step.get('degradations', []))} {step.get('note') or ''}".strip()
    if kind == "tool_call":
        error = f" FAILED: {step['error']}" if step.get("error") else ""
        return f"call {step.get('call')}: {step.get('tool')} for {step.get('degradation')} ({format_params(step.get('params', {}))}){error}"
    if kind == "quality":
        return f"call {step.get('call')}: score {step.get('score_before'):.3f} -> {step.get('score_after'):.3f}"
    if kind == "decision":
        return f"{step.get('decision')} {step.get('tool')}: {step.get('reason', '')}"
    if kind == "fusion":
        return f"{step.get('method')} blend of regions {step.get('regions')}"
    if kind == "final_check":
        return f"kept {step.get('kept')}, put back {step.get('reverted')}"
    return str({k: v for k, v in step.items() if k not in ("kind", "seconds")})


def format_params(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def write_restore_report(
    path: str | os.PathLike[str], *, trajectory: Any, before: np.ndarray, after: np.ndarray, maps: Any = None,
    title: str | None = None, config: dict[str, Any] | None = None, input_path: str | None = None,
    output_path: str | None = None, output_source: str = "result", notes: Sequence[str] = (),
) -> Path:
    """Write the report of one restoration (HTML at ``path``, JSON sidecar beside it, both atomically).

    Args:
        trajectory: the run's :class:`~mosaicir.trajectory.Trajectory`.
        before: ``float32 H x W x 3`` in [0, 1], the input.
        after: ``float32 H x W x 3`` in [0, 1], the output (same shape).
        maps: the input's :class:`~mosaicir.perception.DegradationMaps` as perceived *before*
            restoration (None: perceived here with the run's perception method).
        config: the configuration shown (default: the trajectory's).
        input_path, output_path: where the images are, if files (shown and recorded).
        output_source: ``result`` (the restoration itself), ``replay`` (the trajectory re-run) or
            ``file`` (an image file given).
        notes: lines shown at the top of the page and kept in the sidecar.

    Returns:
        The HTML file's path.
    """
    if before.shape != after.shape:
        raise InvalidInputError(f"the output ({after.shape[1]}x{after.shape[0]}) is not the size of the input "
                                f"({before.shape[1]}x{before.shape[0]})")
    header_shape = tuple(trajectory.header.shape)
    if header_shape != tuple(before.shape[:2]):
        raise InvalidInputError(f"the trajectory is of a {header_shape[1]}x{header_shape[0]} image, "
                                f"the input is {before.shape[1]}x{before.shape[0]}")
    if maps is None:
        from mosaicir.perception import perceive

        maps = perceive(before, method=str(trajectory.header.config.get("perception", "auto")))
    name = Path(input_path).name if input_path else "image"
    title = title or f"mosaicir: {name}"
    before_uri, embedded = full_resolution_uri(before)
    after_uri, _ = full_resolution_uri(after)
    facts = restore_facts(trajectory, before, after, maps, title=title, config=config, input_path=input_path,
                          output_path=output_path, output_source=output_source,
                          notes=list(notes) + ([embedded["note"]] if embedded["note"] else []))
    facts["embedded"] = embedded
    from mosaicir.report.overlay import perceived_overlay

    map_uri = image_data_uri(perceived_overlay(before, maps, MAP_SIDE), None)
    crops = []
    for crop in facts["crops"]:
        top, left, bottom, right = crop["box"]
        crops.append((crop, image_data_uri(before[top:bottom, left:right], None),
                      image_data_uri(after[top:bottom, left:right], None)))
    page = render_page(facts, before_uri=before_uri, after_uri=after_uri, map_uri=map_uri, crops=crops,
                       sidecar=json_sidecar(path).name)
    atomic_write_text(json_sidecar(path), json.dumps(facts, indent=1, default=str) + "\n")
    atomic_write_text(path, page)
    return Path(path)


def _outlines(facts: dict[str, Any], width: int, height: int) -> str:
    """One ``<rect class="region-outline">`` (with its label and a tooltip) per region."""
    font = max(10, round(max(width, height) / 40))
    items = []
    for region in facts["regions"]:
        if region["bbox"] is None:
            continue
        top, left, bottom, right = region["bbox"]
        dominant = max(region["signature"], key=region["signature"].get) if region["signature"] else None
        colour = degradation_colour(dominant) if dominant else "#ffffff"
        kept = "; ".join(f"{c['tool']}({format_params(c['params'])})" for c in region["kept"]) or "nothing kept"
        tip = (f"region {region['id']}: {', '.join(region['signature']) or '-'}; {kept}; quality "
               f"{_score(region['quality_before'])} -> {_score(region['quality_after'])}; {region['seconds']:.2f} s; "
               f"{region['status']}")
        items.append(
            f'<g class="region" data-region="{region["id"]}"><title>{_esc(tip)}</title>'
            f'<rect class="region-outline" data-region="{region["id"]}" x="{left}" y="{top}" width="{right - left}" '
            f'height="{bottom - top}" fill="none" stroke="{colour}" stroke-width="3" stroke-dasharray="8 4" '
            f'vector-effect="non-scaling-stroke"/>'
            f'<text x="{left + font * 0.3:.0f}" y="{top + font:.0f}" font-size="{font}" font-family="sans-serif" '
            f'font-weight="bold" fill="{colour}" stroke="#000" stroke-width="{max(1, font // 6)}" '
            f'paint-order="stroke">#{region["id"]}</text></g>')
    return "".join(items)


def _calls_html(unit: dict[str, Any]) -> str:
    rows = []
    for call in unit["calls"]:
        decision = call.get("decision") or "-"
        error = f' <span class="bad">failed: {_esc(call["error"])}</span>' if call.get("error") else ""
        rows.append(f'<li class="call {_esc(decision)}"><b>{_esc(call["tool"])}</b>({_esc(format_params(call["params"]))}) '
                    f'for {_esc(call["degradation"])}: {_score(call["score_before"])} → {_score(call["score_after"])}, '
                    f'<b>{_esc(decision)}</b>, {call["seconds"]:.2f} s{error}</li>')
    for skip in unit["skips"]:
        rows.append(f'<li class="call skip">{_esc(skip["decision"])} {_esc(skip["tool"])}: {_esc(skip["reason"])}</li>')
    return f"<ol>{''.join(rows)}</ol>" if rows else "none"


def _plan_html(unit: dict[str, Any]) -> str:
    plans = [f"{_esc(p['planner'])} for {_esc(', '.join(p['degradations']) or '-')}"
             + (f" ({_esc(p['note'])})" if p["note"] else "") for p in unit["plans"]]
    return "<br>".join(plans) or "-"


def _signature_html(signature: dict[str, float]) -> str:
    return " ".join(f'<span class="chip" style="border-color:{degradation_colour(n)}">{_esc(n)} {v:.2f}</span>'
                    for n, v in signature.items()) or "-"


def render_page(facts: dict[str, Any], *, before_uri: str, after_uri: str, map_uri: str,
                crops: Sequence[tuple[dict[str, Any], str, str]], sidecar: str) -> str:
    """The HTML page of :func:`write_restore_report`."""
    width, height = facts["input"]["width"], facts["input"]["height"]
    perception = facts["perception"]
    kept_tools = list(dict.fromkeys(d["tool"] for d in facts["decisions"] if d["decision"] == "accept"))
    config = facts["config"]

    notes = list(facts["notes"])
    if facts["output"]["source"] == "replay":
        notes.append("output reproduced by replaying the trajectory on the input (mosaicir report)")
    elif facts["output"]["source"] == "file":
        same = "the same as" if facts["output"]["matches_trajectory"] else "not the same as"
        notes.append(f"output read from {facts['output']['path']}; its pixels are {same} the trajectory's output "
                     "(--strength, --mask or a lossy format change them)")
    notes_html = "".join(f'<p class="note">{_esc(n)}</p>' for n in notes)

    legend = "".join(
        f'<li class="{"present" if item["present"] else "absent"}"><span class="swatch" style="background:{item["colour"]}">'
        f'</span>{_esc(item["name"])}'
        + (f' <small>{100 * perception["degradations"][item["name"]]["area"]:.0f}% of cells, severity '
           f'{perception["degradations"][item["name"]]["mean_severity"]:.2f}</small>' if item["present"] else
           " <small>not found</small>")
        + "</li>" for item in perception["legend"])
    estimates = ", ".join(f"{k} {v:g}" for k, v in perception["estimates"].items())
    global_degr = ", ".join(f"{k} {v:.2f}" for k, v in facts["global_degradations"].items()) or "none"
    untouched = facts["untouched_area"]

    region_rows = []
    for region in facts["regions"]:
        box = region["bbox"]
        box_text = f"rows {box[0]}–{box[2]}, columns {box[1]}–{box[3]}" if box else "-"
        change = "-" if region["change"] is None else f"{255 * region['change']:.1f}/255"
        share = "-" if region["area"] is None else f"{100 * region['area']:.1f}%"
        psnr = "" if region["psnr_vs_input"] is None else f", {region['psnr_vs_input']:.1f} dB vs input"
        data_box = f' data-box="{",".join(map(str, box))}"' if box else ""
        show = ' <button class="show" type="button">show</button>' if box else ""
        region_rows.append(
            f'<tr class="region" id="region-{region["id"]}" data-region="{region["id"]}"{data_box}>'
            f'<td><b>#{region["id"]}</b>{show}</td><td>{box_text}<br>{share}</td>'
            f"<td>{_signature_html(region['signature'])}</td><td>{_plan_html(region)}</td><td>{_calls_html(region)}</td>"
            f'<td>{_score(region["quality_before"])} → {_score(region["quality_after"])}</td>'
            f'<td>{region["seconds"]:.2f}</td><td>{_esc(region["status"])}<br><small>change {change}{psnr}</small></td></tr>')
    regions_html = ("<table class=\"regions\"><tr><th>region</th><th>box, share</th><th>perceived</th><th>plan</th>"
                    "<th>calls: parameters, quality before → after, decision, seconds</th><th>quality before → after</th>"
                    "<th>seconds</th><th>outcome</th></tr>" + "".join(region_rows) + "</table>"
                    if region_rows else "<p>No region was restored on its own.</p>")

    pass_rows = [
        f'<tr class="pass"><td>{pss["stage"] + 1}, {_esc(pss["when"])}</td><td>{_plan_html(pss)}</td><td>{_calls_html(pss)}</td>'
        f'<td>{_score(pss["quality_before"])} → {_score(pss["quality_after"])}</td><td>{pss["seconds"]:.2f}</td></tr>'
        for pss in facts["passes"]]
    passes_html = ("<h2>Whole-frame passes</h2><table class=\"passes\"><tr><th>pass</th><th>plan</th><th>calls</th>"
                   "<th>quality before → after</th><th>seconds</th></tr>" + "".join(pass_rows) + "</table>"
                   if pass_rows else "")

    crop_items = []
    for crop, crop_before, crop_after in crops:
        top, left, bottom, right = crop["box"]
        zoom = max(1, min(8, 288 // max(1, max(bottom - top, right - left))))
        size = f'width="{(right - left) * zoom}" height="{(bottom - top) * zoom}"'
        where = f"region #{crop['region']}" if crop["region"] is not None else "whole frame"
        crop_items.append(
            f'<figure class="crop" data-box="{top},{left},{bottom},{right}"><div class="pair">'
            f'<img src="{crop_before}" {size} alt="input crop"><img src="{crop_after}" {size} alt="output crop"></div>'
            f'<figcaption>{where}: rows {top}–{bottom}, columns {left}–{right}, zoom {zoom}×; input left, output '
            f'right; mean change {255 * crop["change"]:.1f}/255 <button class="show" type="button">show</button>'
            f"</figcaption></figure>")
    crops_html = "".join(crop_items) or "<p>The output does not differ visibly from the input.</p>"

    decision_rows = "".join(
        f'<tr class="decision {_esc(d["decision"])}" data-region="{"" if d["region"] is None else d["region"]}">'
        f'<td>{d["index"] + 1}</td><td>{_esc(d["where"])}</td><td>{"" if d["call"] is None else d["call"]}</td>'
        f'<td>{_esc(d["tool"])}</td><td>{_esc(format_params(d["params"]))}</td>'
        f'<td>{_score(d["score_before"])} → {_score(d["score_after"])}</td><td><b>{_esc(d["decision"])}</b></td>'
        f'<td>{_esc(d["reason"])}</td></tr>' for d in facts["decisions"])

    step_rows = "\n".join(
        f"<tr><td>{_esc(step.get('kind', ''))}</td><td>{'' if step.get('region') is None else step.get('region')}</td>"
        f"<td>{_esc(describe_step(step))}</td><td>{step.get('seconds', 0):.3f}</td></tr>" for step in facts["steps"])
    config_text = _esc("\n".join(f"{k}: {v}" for k, v in config.items()))
    final = facts["final_check"]
    final_text = (f"final check: kept regions {final['kept'] or 'none'}, put back {final['reverted'] or 'none'}"
                  if final else "no final check recorded")
    seconds = facts["seconds"]
    summary = (f"{width}×{height} · {len(facts['regions'])} region(s) · tools kept: {', '.join(kept_tools) or 'none'} · "
               f"{'-' if seconds is None else f'{seconds:.2f} s'} · strategy {config.get('strategy', '-')}, "
               f"planner {config.get('planner', '-')}")
    outlines = _outlines(facts, width, height)

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{GENERATOR}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_esc(facts["title"])}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}}
h2{{margin-top:1.6em;border-bottom:1px solid #ddd}}
.note{{background:#fff6d5;border-left:4px solid #e0b000;padding:4px 8px}}
.toolbar{{display:flex;flex-wrap:wrap;gap:.6em;align-items:center;margin:.5em 0}}
.viewer{{position:relative;overflow:hidden;background:#2b2b2b;user-select:none;touch-action:none;cursor:crosshair;width:100%;height:60vh}}
.viewer.zoomed{{cursor:grab}}
.stage{{position:absolute;left:0;top:0;transform-origin:0 0}}
.stage img,.stage svg{{position:absolute;left:0;top:0;width:100%;height:100%;display:block;max-width:none}}
.viewer.pixelated img{{image-rendering:pixelated}}
.divider{{position:absolute;top:0;bottom:0;width:2px;margin-left:-1px;background:#fff;box-shadow:0 0 4px #000;pointer-events:none}}
.divider::after{{content:"⇔";position:absolute;top:50%;left:-11px;width:22px;height:22px;border-radius:11px;background:#fff;color:#000;text-align:center;font-size:14px;line-height:22px}}
.tag{{position:absolute;top:6px;padding:1px 6px;background:rgba(0,0,0,.6);color:#fff;font-size:85%;pointer-events:none}}
.tag.left{{left:6px}} .tag.right{{right:6px}}
.mapbox{{position:relative;width:100%;max-width:900px}}
.mapbox img,.mapbox svg{{position:absolute;left:0;top:0;width:100%;height:100%}}
.legend{{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em}}
.legend .absent{{color:#888}}
.swatch{{display:inline-block;width:12px;height:12px;border:1px solid #000;margin-right:4px;vertical-align:middle}}
.chip{{display:inline-block;border:2px solid;border-radius:8px;padding:0 5px;margin:1px;font-size:90%}}
table{{border-collapse:collapse;margin:.5em 0}} td,th{{border:1px solid #ccc;padding:4px 8px;font-size:90%;vertical-align:top;text-align:left}}
tr.decision.accept td:nth-child(7){{color:#080}} tr.decision.rollback td:nth-child(7){{color:#b00}}
ol{{margin:0;padding-left:1.2em}} .bad{{color:#b00}}
.crop{{display:inline-block;margin:0 1.2em 1em 0;vertical-align:top}} .crop .pair{{display:flex;gap:4px}}
.crop img{{image-rendering:pixelated;border:1px solid #999}} figure{{margin:0}}
</style></head>
<body><h1>{_esc(facts["title"])}</h1>
<p>{_esc(summary)}</p>{notes_html}
<h2>Input and output</h2>
<div class="toolbar">
<label>left side <select id="left-layer"><option value="input">input</option><option value="map">perceived map</option></select></label>
<label><input type="checkbox" id="show-outlines" checked> region outlines</label>
<button type="button" data-zoom="fit">fit</button><button type="button" data-zoom="1">1:1</button>
<button type="button" data-zoom="2">2:1</button><button type="button" data-zoom="4">4:1</button><button type="button" data-zoom="8">8:1</button>
<span>zoom <b id="zoom-level">-</b></span>
<label>split <input type="range" id="split" min="0" max="100" step="0.1" value="50"></label>
<small>drag or click to move the split; wheel or double-click to zoom; drag to pan when zoomed</small>
</div>
<div class="viewer" id="viewer" tabindex="0" data-width="{width}" data-height="{height}">
<div class="stage" id="stage" style="width:{width}px;height:{height}px">
<img id="img-after" src="{after_uri}" width="{width}" height="{height}" alt="output" draggable="false">
<img id="img-before" src="{before_uri}" width="{width}" height="{height}" alt="input" draggable="false" style="clip-path:inset(0 50% 0 0)">
<svg id="viewer-outlines" viewBox="0 0 {width} {height}" preserveAspectRatio="none"><use href="#region-outlines"/></svg>
</div>
<div class="divider" id="divider"></div><span class="tag left" id="left-tag">input</span><span class="tag right">output</span>
</div>
<h2>Perceived degradations (before restoration)</h2>
<figure class="map"><div class="mapbox" style="aspect-ratio:{width}/{height}">
<img id="map-img" src="{map_uri}" alt="perceived degradations">
<svg id="map-svg" viewBox="0 0 {width} {height}" preserveAspectRatio="none"><g id="region-outlines">{outlines}</g></svg></div>
<figcaption>perceived degradations of the input ({_esc(perception["method"])}, {perception["cell"]}×{perception["cell"]} pixel cells), each region's bounding box outlined</figcaption>
<ul class="legend">{legend}</ul></figure>
<p>Present: {_esc(", ".join(perception["present"]) or "none")}{f"; estimates: {_esc(estimates)}" if estimates else ""}.
Left to the whole-frame passes: {_esc(global_degr)}; needing nothing: {"-" if untouched is None else f"{100 * untouched:.0f}%"} of the image.</p>
<h2>Regions</h2>
{regions_html}
<p>{_esc(final_text)}</p>
{passes_html}
<h2>Where it changed most</h2>
{crops_html}
<h2>Decisions</h2>
<table id="decisions"><tr><th>#</th><th>where</th><th>call</th><th>tool</th><th>parameters</th><th>quality before → after</th><th>decision</th><th>reason</th></tr>
{decision_rows}</table>
<details><summary>Every step of the trajectory</summary>
<table><tr><th>step</th><th>region</th><th>what</th><th>seconds</th></tr>
{step_rows}</table></details>
<h2>Run configuration</h2><pre>{config_text}</pre>
<p><small>The same facts as JSON: <a href="{_esc(sidecar)}">{_esc(sidecar)}</a>. Input {_esc(facts["input"]["hash"])},
output {_esc(facts["output"]["hash"])}; mosaicir {_esc(facts["mosaicir"])}.</small></p>
<script>{VIEWER_SCRIPT}</script>
</body></html>
"""


#: The before/after slider and zoom (plain JavaScript, no library).
VIEWER_SCRIPT = """
(function () {
  var viewer = document.getElementById('viewer'), stage = document.getElementById('stage');
  var before = document.getElementById('img-before'), divider = document.getElementById('divider');
  var split = document.getElementById('split'), level = document.getElementById('zoom-level');
  var W = +viewer.dataset.width, H = +viewer.dataset.height, inputSrc = before.src;
  var s = 1, tx = 0, ty = 0, fit = 1, f = 0.5, zoomed = false, drag = null;
  function clamp() {
    var vw = viewer.clientWidth, vh = viewer.clientHeight, w = W * s, h = H * s;
    tx = w <= vw ? (vw - w) / 2 : Math.min(0, Math.max(vw - w, tx));
    ty = h <= vh ? (vh - h) / 2 : Math.min(0, Math.max(vh - h, ty));
  }
  function draw() {
    clamp();
    stage.style.transform = 'translate(' + tx + 'px,' + ty + 'px) scale(' + s + ')';
    before.style.clipPath = 'inset(0 ' + (100 - 100 * f).toFixed(3) + '% 0 0)';
    divider.style.left = (tx + f * W * s) + 'px';
    viewer.classList.toggle('pixelated', s >= 2);
    viewer.classList.toggle('zoomed', zoomed);
    level.textContent = Math.round(s * 100) + '%';
    split.value = (100 * f).toFixed(1);
  }
  function layout() {
    fit = Math.min(viewer.clientWidth / W, Math.max(240, window.innerHeight * 0.8) / H);
    viewer.style.height = Math.max(120, Math.round(H * fit)) + 'px';
    if (!zoomed) { s = fit; }
    draw();
  }
  function zoomAt(ns, cx, cy) {
    ns = Math.max(Math.min(fit, 1), Math.min(64, ns));
    tx = cx - (cx - tx) * ns / s; ty = cy - (cy - ty) * ns / s; s = ns;
    zoomed = s > fit * 1.0001; draw();
  }
  function local(e) { var r = viewer.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
  function setSplit(x) { f = Math.max(0, Math.min(1, (x - tx) / (W * s))); draw(); }
  viewer.addEventListener('pointerdown', function (e) {
    var p = local(e), nearDivider = Math.abs(p[0] - (tx + f * W * s)) < 14;
    drag = (nearDivider || !zoomed) ? {mode: 'split'} : {mode: 'pan', x: e.clientX, y: e.clientY, tx: tx, ty: ty};
    if (drag.mode === 'split') { setSplit(p[0]); }
    viewer.setPointerCapture(e.pointerId); e.preventDefault();
  });
  viewer.addEventListener('pointermove', function (e) {
    if (!drag) { return; }
    if (drag.mode === 'split') { setSplit(local(e)[0]); }
    else { tx = drag.tx + e.clientX - drag.x; ty = drag.ty + e.clientY - drag.y; draw(); }
  });
  function stop() { drag = null; }
  viewer.addEventListener('pointerup', stop); viewer.addEventListener('pointercancel', stop);
  viewer.addEventListener('wheel', function (e) {
    var p = local(e); zoomAt(s * Math.exp(-e.deltaY * 0.002), p[0], p[1]); e.preventDefault();
  }, {passive: false});
  viewer.addEventListener('dblclick', function (e) { var p = local(e); zoomAt(s * 2, p[0], p[1]); });
  viewer.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') { f = Math.max(0, Math.min(1, f + (e.key === 'ArrowLeft' ? -0.02 : 0.02))); draw(); e.preventDefault(); }
    if (e.key === '+' || e.key === '=') { zoomAt(s * 1.5, viewer.clientWidth / 2, viewer.clientHeight / 2); }
    if (e.key === '-') { zoomAt(s / 1.5, viewer.clientWidth / 2, viewer.clientHeight / 2); }
  });
  split.addEventListener('input', function () { f = split.value / 100; draw(); });
  document.querySelectorAll('button[data-zoom]').forEach(function (b) {
    b.addEventListener('click', function () {
      if (b.dataset.zoom === 'fit') { zoomed = false; s = fit; draw(); return; }
      zoomAt(+b.dataset.zoom, viewer.clientWidth / 2, viewer.clientHeight / 2);
    });
  });
  document.getElementById('show-outlines').addEventListener('change', function (e) {
    document.getElementById('viewer-outlines').style.display = e.target.checked ? '' : 'none';
  });
  document.getElementById('left-layer').addEventListener('change', function (e) {
    var map = e.target.value === 'map';
    before.src = map ? document.getElementById('map-img').src : inputSrc;
    document.getElementById('left-tag').textContent = map ? 'perceived map' : 'input';
  });
  function showBox(box) {
    var t = box[0], l = box[1], b = box[2], r = box[3];
    var ns = Math.min(viewer.clientWidth / (r - l), viewer.clientHeight / (b - t)) * 0.9;
    ns = Math.max(Math.min(fit, 1), Math.min(64, ns)); s = ns; zoomed = s > fit * 1.0001;
    tx = viewer.clientWidth / 2 - (l + r) / 2 * s; ty = viewer.clientHeight / 2 - (t + b) / 2 * s;
    f = Math.max(0, Math.min(1, ((l + r) / 2) / W)); draw();
    viewer.scrollIntoView({behavior: 'smooth', block: 'center'});
  }
  document.querySelectorAll('[data-box] button.show').forEach(function (b) {
    b.addEventListener('click', function () { showBox(b.closest('[data-box]').dataset.box.split(',').map(Number)); });
  });
  window.addEventListener('resize', layout);
  layout();
})();
"""
