"""The web app: ``mosaicir app`` serves a page (gradio) on which a photograph is uploaded and
restored, with the map of its degradations as perceived before restoration, the regions and their
plans, a before/after slider, and the result and its report to download.

It needs the optional extra ``app`` (``pip install 'mosaicir[app]'``); ``import mosaicir`` never
imports this module. The app binds to ``127.0.0.1`` unless told otherwise, reaches no other host
(gradio's analytics, version check and share links are off; its fonts are served locally), refuses
uploads larger than ``max_upload_mb`` and images of more than ``max_pixels`` pixels, and runs one
restoration at a time (the engine uses the machine's cores itself).

The work itself is done by plain functions that need no gradio (:func:`restore_upload`,
:func:`analyze_upload`, :func:`map_picture`, :func:`plans_rows`); :func:`build_app` only lays
them out and :func:`serve` starts the server.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mosaicir.core.errors import InvalidInputError, MosaicirError
from mosaicir.core.names import DEGRADATIONS

if TYPE_CHECKING:
    import gradio

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
#: Largest upload accepted, in megabytes (gradio refuses larger files before they are stored).
DEFAULT_MAX_UPLOAD_MB = 50
#: Largest image accepted, in pixels: 24 MP restores on 2 cores in bounded memory (see docs/).
DEFAULT_MAX_PIXELS = 24_000_000
#: Long side of the pictures shown on the page (the downloads are at full resolution).
PREVIEW_SIDE = 2048
#: A map picture is enlarged (by a whole factor) until its long side reaches this.
MAP_MIN_SIDE = 512
#: Folders of finished runs are removed after this many seconds (and all of them at exit).
KEEP_SECONDS = 3600
STRATEGIES = ("spatial", "global", "none")
#: Environment that keeps gradio and huggingface_hub off the network; set before gradio is imported.
OFFLINE_ENVIRONMENT = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_SHARE": "False",
}

INSTALL_HINT = "the web app needs the 'app' extra: pip install 'mosaicir[app]' (gradio)"


def import_gradio() -> Any:
    """gradio, imported with :data:`OFFLINE_ENVIRONMENT` set.

    Raises:
        InvalidInputError: gradio is not installed (with the command that installs it).
    """
    os.environ.update(OFFLINE_ENVIRONMENT)
    try:
        import gradio
    except ImportError as exc:
        raise InvalidInputError(f"{INSTALL_HINT} ({exc})") from None
    return gradio


def default_degradations() -> list[str]:
    """The degradations acted on by default: all but those whose detectors the engine ignores
    (``RestoreConfig.ignore``'s default)."""
    from mosaicir.agents import RestoreConfig

    ignored = set(RestoreConfig.model_fields["ignore"].get_default(call_default_factory=True))
    return [name for name in DEGRADATIONS if name not in ignored]


def degradation_options(selected: Sequence[str] | None) -> dict[str, Any]:
    """The :func:`mosaicir.restore` options for the degradations ticked on the page: none when
    the default set is ticked, else ``only`` (the others perceived and shown, not acted on).

    Raises:
        InvalidInputError: nothing ticked, or an unknown name.
    """
    chosen = [name for name in DEGRADATIONS if name in set(selected or ())]
    unknown = sorted(set(selected or ()) - set(DEGRADATIONS))
    if unknown:
        raise InvalidInputError(f"unknown degradations {unknown}; known: {', '.join(DEGRADATIONS)}")
    if not chosen:
        raise InvalidInputError("tick at least one degradation to act on (or choose the strategy 'none')")
    return {} if chosen == default_degradations() else {"only": chosen}


class RunFolders:
    """One temporary folder per run, under one root removed at exit; folders older than
    ``keep_seconds`` are removed whenever a new one is made."""

    def __init__(self, root: str | os.PathLike[str] | None = None, keep_seconds: float = KEEP_SECONDS) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="mosaicir-app-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep_seconds = keep_seconds
        if root is None:
            atexit.register(shutil.rmtree, self.root, True)

    def new(self) -> Path:
        now = time.time()
        for old in self.root.iterdir():
            try:
                if old.is_dir() and now - old.stat().st_mtime > self.keep_seconds:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
        return Path(tempfile.mkdtemp(prefix="run-", dir=self.root))


def to_preview(image: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """``float32 H x W x 3`` in [0, 1] -> ``uint8`` RGB with long side at most ``side``."""
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale < 1.0:
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def map_picture(image: np.ndarray, maps: Any, regions: Sequence[Any] = ()) -> np.ndarray:
    """The perceived degradations tinted over a grey copy of ``image``, each region outlined and
    numbered, with a legend strip below naming the colours of the degradations present.

    Args:
        image: ``float32 H x W x 3`` in [0, 1], the image the maps were perceived on.
        maps: its :class:`~mosaicir.perception.DegradationMaps`.
        regions: :class:`~mosaicir.trajectory.records.RegionInfo` (``id``, ``bbox`` = (top, left,
            bottom, right) in pixels of ``image``).

    Returns:
        ``uint8 h x w x 3``: long side at most 1024 (an image smaller than :data:`MAP_MIN_SIDE`
        enlarged by a whole factor towards it), plus the legend strip at the bottom.
    """
    from PIL import Image, ImageDraw, ImageFont

    from mosaicir.report.overlay import perceived_overlay, with_legend

    overlay = perceived_overlay(image, maps)
    factor = -(-MAP_MIN_SIDE // max(overlay.shape[:2]))
    if factor > 1:  # a small image: enlarge its map (one value per 8 x 8 cell) so that it can be seen
        overlay = np.repeat(np.repeat(overlay, factor, axis=0), factor, axis=1)
    scale = overlay.shape[1] / image.shape[1]
    picture = Image.fromarray((np.clip(overlay, 0, 1) * 255 + 0.5).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=14)
    for region in regions:
        top, left, bottom, right = (int(round(v * scale)) for v in region.bbox)
        box = [left, top, max(left, right - 1), max(top, bottom - 1)]
        draw.rectangle(box, outline=(0, 0, 0), width=3)
        draw.rectangle(box, outline=(255, 255, 255), width=1)
        label = f"R{region.id}"
        width = int(draw.textlength(label, font=font)) + 8
        draw.rectangle([left, top, left + width, top + 18], fill=(0, 0, 0))
        draw.text((left + 4, top + 1), label, fill=(255, 255, 255), font=font)
    present = list(maps.summary().present)
    sheet = with_legend(np.asarray(picture).astype(np.float32) / 255.0, present or list(maps.names))
    strip = sheet.shape[0] - picture.height  # with_legend puts the legend on top; the page floats its label there
    sheet = np.concatenate([sheet[strip:], sheet[:strip]], axis=0)
    return (sheet * 255 + 0.5).astype(np.uint8)


PLAN_HEADERS = ["where", "area", "degradations (severity)", "tools kept (parameters)", "quality before → after",
                "seconds", "status"]


def _chain_text(kept: Sequence[dict[str, Any]]) -> str:
    from mosaicir.report.html import format_params

    return " → ".join(f"{step['tool']}({format_params(step.get('params'))})" for step in kept) or "—"


def _quality_text(unit: dict[str, Any]) -> str:
    before, after = unit.get("quality_before"), unit.get("quality_after")
    if before is None:
        return "—"
    return f"{before:.3f} → {after:.3f}" if after is not None else f"{before:.3f}"


def plans_rows(facts: dict[str, Any]) -> list[list[str]]:
    """One row per whole-frame pass and per region of a report's facts (its JSON sidecar): where,
    share of the image, degradations (severity), the chain of tools kept with their parameters,
    quality score before and after, seconds, status."""
    rows = []
    for unit in facts.get("passes", []):
        degradations = sorted({name for plan in unit.get("plans", []) for name in plan.get("degradations", [])})
        status = "restored" if unit.get("kept") else ("nothing kept" if unit.get("calls") else "no tool tried")
        rows.append([f"whole frame, {unit.get('when', '')}", "100%", ", ".join(degradations) or "—",
                     _chain_text(unit.get("kept", [])), _quality_text(unit), f"{unit.get('seconds', 0.0):.2f}", status])
    for unit in facts.get("regions", []):
        signature = ", ".join(f"{name} {value:.2f}" for name, value in sorted(unit.get("signature", {}).items(),
                                                                               key=lambda kv: -kv[1]))
        area = f"{100 * unit['area']:.1f}%" if unit.get("area") is not None else "—"
        rows.append([f"R{unit['id']}", area, signature or "—", _chain_text(unit.get("kept", [])), _quality_text(unit),
                     f"{unit.get('seconds', 0.0):.2f}", unit.get("status", "")])
    return rows


def perceived_text(maps: Any) -> str:
    """One line per degradation perceived (Markdown), as the command line's ``analyze`` says it."""
    summary = maps.summary()
    if not summary.present:
        return "No degradation perceived."
    lines = []
    for name in summary.present:
        report = summary.degradations[name]
        where = f"{100 * report.area:.0f}% of the image" if report.basis == "cells" else "the whole image (weak evidence spread over it)"
        lines.append(f"- **{name}**: {where}, mean severity {report.mean_severity:.2f}")
    return "\n".join(lines)


@dataclass
class Restored:
    """What the page shows after a restoration (see :func:`restore_upload`)."""

    before: np.ndarray  #: uint8 preview of the input
    after: np.ndarray  #: uint8 preview of the result
    map: np.ndarray  #: uint8 map picture with regions and legend
    rows: list[list[str]]  #: :func:`plans_rows`
    summary: str  #: Markdown
    files: list[str] = field(default_factory=list)  #: result, report (HTML), report facts (JSON)


def _source_name(path: Path) -> Path:
    """The uploaded file's name (gradio keeps it as the last part of its cache path)."""
    return Path(path.name or "image.png")


def restore_upload(path: str | os.PathLike[str], *, strategy: str = "spatial", strength: float = 1.0,
                   degradations: Sequence[str] | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                   out_dir: str | os.PathLike[str]) -> Restored:
    """Restore an uploaded file and write the result and its report into ``out_dir``.

    Args:
        path: the uploaded image file.
        strategy: ``spatial``, ``global`` or ``none``.
        strength: in [0, 1], how far towards the restoration.
        degradations: those to act on (see :func:`degradation_options`; None: the default set).
        max_pixels: refuse larger images.
        out_dir: an existing folder for ``<name>_restored.<ext>``, its ``.report.html`` and
            ``.report.json``.

    Raises:
        MosaicirError: unreadable or too large an image, bad options.
    """
    import mosaicir
    from mosaicir.io.batch import output_name
    from mosaicir.report import json_sidecar, read_facts

    if strategy not in STRATEGIES:
        raise InvalidInputError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    options = degradation_options(degradations if degradations is not None else default_degradations())
    result = mosaicir.restore(Path(path), strategy=strategy, strength=strength, max_pixels=max_pixels, **options)
    source = _source_name(Path(path))
    out_dir = Path(out_dir)
    output = result.save(out_dir / output_name(source))
    record = result.record() | {"input": source.name, "output": output.name}
    report = result.report(output.with_name(output.stem + ".report.html"), title=f"mosaicir: {source.name}",
                           record=record)
    facts = read_facts(report) or {}
    height, width = result.image.shape[:2]
    tools = ", ".join(result.accepted_tools) or "none (the input is kept)"
    done = ("nothing restored (strategy `none`)" if strategy == "none" else
            f"restored in {result.seconds:.1f} s with strategy `{strategy}`, strength {strength:g}; "
            f"{len(result.regions)} region(s); tools kept: {tools}")
    summary = (f"**{source.name}**, {width}×{height}: {done}.\n\n"
               f"Perceived before restoration:\n\n{perceived_text(result.maps)}")
    return Restored(before=to_preview(result.input), after=to_preview(result.image),
                    map=map_picture(result.input, result.maps, result.regions), rows=plans_rows(facts),
                    summary=summary, files=[str(output), str(report), str(json_sidecar(report))])


def analyze_upload(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str]:
    """Perceive an uploaded file without restoring it: (uint8 map picture, Markdown summary)."""
    from mosaicir.api import load_input
    from mosaicir.perception import perceive

    loaded = load_input(Path(path), max_pixels=max_pixels)
    maps = perceive(loaded.image, jpeg_quantization=loaded.meta.jpeg_quantization)
    height, width = loaded.image.shape[:2]
    text = (f"**{_source_name(Path(path)).name}**, {width}×{height}, perceived in "
            f"{maps.summary().seconds:.1f} s (nothing restored yet):\n\n{perceived_text(maps)}")
    return map_picture(loaded.image, maps), text


def user_message(exc: BaseException, upload: Path) -> str:
    """An error's message for the page: the upload named by its file name, not by the server's
    temporary path (``--max-pixels`` in a message is the option of ``mosaicir app`` too)."""
    return str(exc).replace(str(upload), upload.name)


INTRO = """# mosaicir
Upload a photograph, choose how to restore it, and press **Restore**. The map shows where each
degradation was perceived *before* restoration, with the regions restored one by one outlined
(R0, R1, ...); the table gives each region's plan. Everything runs on this computer."""

CSS = """
#mosaicir-map img, #mosaicir-slider img { image-rendering: auto; }
footer { display: none !important; }
"""


def build_app(*, max_pixels: int = DEFAULT_MAX_PIXELS, folders: RunFolders | None = None) -> gradio.Blocks:
    """The page (not started: see :func:`serve`)."""
    gr = import_gradio()
    folders = folders or RunFolders()
    defaults = default_degradations()

    def check_upload(path: str | None) -> Path:
        if not path:
            raise gr.Error("Upload a photograph first.")
        return Path(path)

    def on_restore(path, strategy, strength, degradations, progress=gr.Progress()):
        source = check_upload(path)
        progress(0.05, desc="perceiving and restoring")
        try:
            done = restore_upload(source, strategy=strategy, strength=float(strength), degradations=degradations,
                                  max_pixels=max_pixels, out_dir=folders.new())
        except MosaicirError as exc:
            raise gr.Error(user_message(exc, source)) from None
        return (done.before, done.after), done.map, done.rows, done.summary, done.files

    def on_analyze(path, progress=gr.Progress()):
        source = check_upload(path)
        progress(0.1, desc="perceiving")
        try:
            picture, text = analyze_upload(source, max_pixels=max_pixels)
        except MosaicirError as exc:
            raise gr.Error(user_message(exc, source)) from None
        return picture, text

    with gr.Blocks(title="mosaicir", analytics_enabled=False, delete_cache=(KEEP_SECONDS, KEEP_SECONDS)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                upload = gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                  label="Photograph", elem_id="mosaicir-upload", height=320)
                strategy = gr.Radio(list(STRATEGIES), value="spatial", label="Strategy",
                                    info="spatial: region by region; global: one plan for the whole image; none: perceive only",
                                    elem_id="mosaicir-strategy")
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength",
                                     info="0 gives the input back, 1 the full restoration", elem_id="mosaicir-strength")
                degradations = gr.CheckboxGroup(
                    list(DEGRADATIONS), value=defaults, label="Act on",
                    info=("Unticked degradations are still perceived and shown, not restored. The default leaves "
                          "out " + ", ".join(n for n in DEGRADATIONS if n not in defaults)
                          + " (acting on them region by region cost more than it gained)."),
                    elem_id="mosaicir-degradations")
                with gr.Row():
                    analyze_button = gr.Button("Analyze", elem_id="mosaicir-analyze")
                    restore_button = gr.Button("Restore", variant="primary", elem_id="mosaicir-restore")
                summary = gr.Markdown(elem_id="mosaicir-summary")
            with gr.Column(scale=2, min_width=480):
                slider = gr.ImageSlider(label="Before / after", type="numpy", format="png", interactive=False,
                                        elem_id="mosaicir-slider", max_height=640)
                picture = gr.Image(label="Perceived degradations (before restoration) and regions", format="png",
                                   interactive=False, elem_id="mosaicir-map")
        plans = gr.Dataframe(headers=PLAN_HEADERS, label="Plans: whole-frame passes and regions",
                             interactive=False, wrap=True, elem_id="mosaicir-plans",
                             column_widths=["15%", "7%", "22%", "26%", "14%", "7%", "9%"])
        downloads = gr.File(label="Downloads: the result, the report (HTML) and its facts (JSON)",
                            file_count="multiple", interactive=False, elem_id="mosaicir-downloads")
        restore_button.click(on_restore, [upload, strategy, strength, degradations],
                             [slider, picture, plans, summary, downloads], api_name="restore")
        analyze_button.click(on_analyze, [upload], [picture, summary], api_name="analyze")
    demo.queue(default_concurrency_limit=1, max_size=16)
    return demo


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
          max_pixels: int = DEFAULT_MAX_PIXELS, open_browser: bool = False, block: bool = True) -> Any:
    """Start the app on ``http://host:port`` (blocks until interrupted unless ``block`` is False,
    when the gradio Blocks is returned running; ``.close()`` stops it).

    Raises:
        InvalidInputError: gradio missing, bad limits, or the port cannot be bound.
    """
    if max_upload_mb <= 0 or max_pixels <= 0:
        raise InvalidInputError("--max-upload-mb and --max-pixels must be positive")
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"--port must lie in 1..65535, got {port}")
    gr = import_gradio()
    demo = build_app(max_pixels=max_pixels)
    if not is_loopback(host):
        print(f"warning: serving on {host}: anyone who can reach this address can use the app")
    try:
        demo.launch(server_name=host, server_port=port, share=False, inbrowser=open_browser,
                    max_file_size=f"{max_upload_mb:g}mb", show_error=True, ssr_mode=False, mcp_server=False,
                    prevent_thread_lock=True, quiet=True, theme=gr.themes.Default(), css=CSS)
    except OSError as exc:
        raise InvalidInputError(f"cannot serve on {host}:{port}: {exc}") from None
    print(f"mosaicir app: serving on {demo.local_url} (uploads up to {max_upload_mb:g} MB and "
          f"{max_pixels:,} pixels){'' if not block else '; Ctrl-C stops it'}", flush=True)
    if block:
        demo.block_thread()
    return demo
