"""The ``mosaicir`` command line.

Exit status, for every command:

* ``0``: everything asked for was done (in a batch, files already done count as done, and files
  that are not supported images are listed but are not failures);
* ``1``: a batch ran, and some of its files failed (each is listed on standard error at the end);
* ``2``: bad usage or input, found before any work: an unknown option or value, a missing input,
  a bad ``--config`` or ``--mask``, an output folder that is a file or not writable, a result that
  would replace an input or another result (see :mod:`mosaicir.io.batch`);
* ``130``: interrupted (Ctrl-C or SIGTERM); finished results are kept and a rerun skips them.

Every error the project raises on purpose (:class:`MosaicirError`) is one line on standard
error, ``error: <message>``; a traceback means a bug.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, Optional

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mosaicir import __version__
from mosaicir.core.errors import InvalidInputError, MosaicirError
from mosaicir.io.batch import DEFAULT_SUFFIX, OUTPUT_EXTENSIONS

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Restore photographs whose degradations vary across the image.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmark sets and benchmark runs.")
app.add_typer(bench_app, name="bench")
tools_app = typer.Typer(no_args_is_help=True, help="The registered restoration tools.")
app.add_typer(tools_app, name="tools")

SAMPLE_IMAGE = "sample.png"
#: Images of at least this many pixels get a second progress bar that follows their stages
#: (perception, regions, passes): a 24 MP photograph takes most of a minute (docs/BIG.md).
LARGE_IMAGE_PIXELS = 4_000_000
#: Exit status of a batch in which some files failed, and of an interrupted one.
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _echo_error(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def _one_line(path: Path, exc: BaseException) -> str:
    """``path: message`` on one line, the path written once (most messages already start with it)."""
    message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return message if str(path) in message else f"{path}: {message}"


def _report_failures(failures: list[tuple[Path, str]], total: int) -> None:
    """After a batch: list the files that failed and exit with status 1 (nothing if none did)."""
    if failures:
        typer.echo(f"{len(failures)} of {total} images failed:", err=True)
        for path, message in failures:
            typer.echo(f"  {message if str(path) in message else f'{path}: {message}'}", err=True)
        raise typer.Exit(EXIT_FAILED)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _top_level(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Restore photographs whose degradations vary across the image."""


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


class RestoreOptions(BaseModel):
    """The options of ``mosaicir restore``; ``--config FILE`` (TOML) gives them under the same
    names (``out-dir`` or ``out_dir``, ``json``, ``input`` a list), the command line wins."""

    model_config = ConfigDict(extra="forbid")

    input: list[Path] = Field(default_factory=list, description="image files or folders")
    out_dir: Optional[Path] = None
    recursive: bool = False
    suffix: str = DEFAULT_SUFFIX
    ext: Literal["auto", "png", "jpg", "tif", "webp"] = "auto"
    quality: int = Field(95, ge=1, le=100)
    overwrite: bool = False
    strategy: str = "spatial"
    planner: str = "prior"
    perception: str = "auto"
    memory: bool = False
    workers: int = Field(2, ge=1, le=64)
    llm_url: Optional[str] = None
    llm_model: Optional[str] = None
    only: Optional[str] = None
    ignore: Optional[str] = None
    step_judge: bool = False
    strength: float = Field(1.0, ge=0.0, le=1.0)
    mask: Optional[Path] = None
    as_json: bool = False
    sample: bool = False
    report: bool = False
    trajectory: bool = False
    max_pixels: Optional[int] = Field(None, ge=1)  # None: what this machine's memory allows (mosaicir.io.memory)
    strip_metadata: bool = False

    @field_validator("input", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, Path)) else value

    @field_validator("only", "ignore", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value


#: TOML keys that differ from the field names.
_CONFIG_ALIASES = {"json": "as_json", "inputs": "input"}


def _default(name: str) -> Any:
    """The default of a ``restore`` option (one place: :class:`RestoreOptions`)."""
    return RestoreOptions.model_fields[name].get_default(call_default_factory=True)


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    name = next((str(p) for p in error["loc"] if isinstance(p, str)), "")
    flag = {"as_json": "json"}.get(name, name).replace("_", "-")
    return flag, error["msg"]


def _read_config(path: Path) -> dict[str, Any]:
    """The ``restore`` options of a TOML file: its ``[restore]`` table if it has one, else its top
    level; keys as the long options (``out-dir`` or ``out_dir``). Checked here, so that an error
    names the file."""
    import tomllib

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read the config file ({getattr(exc, 'strerror', None) or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid TOML ({exc})") from None
    table = document.get("restore", document) if isinstance(document.get("restore"), dict) else document
    values: dict[str, Any] = {}
    known = set(RestoreOptions.model_fields) - {"as_json"} | {"json"}
    for key, value in table.items():
        name = _CONFIG_ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
        if name not in RestoreOptions.model_fields:
            close = difflib.get_close_matches(key.replace("_", "-"), sorted(k.replace("_", "-") for k in known), n=1)
            hint = f"; did you mean {close[0]!r}" if close else ""
            raise InvalidInputError(f"{path}: unknown option {key!r}{hint}")
        values[name] = value
    try:
        RestoreOptions(**values)
    except ValidationError as exc:
        flag, message = _validation_message(exc)
        raise InvalidInputError(f"{path}: {flag}: {message}") from None
    return values


def _merge_options(ctx: typer.Context, given: dict[str, Any], config_file: Optional[Path]) -> RestoreOptions:
    """Options from the command line over those of ``--config`` over the defaults."""
    values = _read_config(config_file) if config_file is not None else {}
    for name, value in given.items():
        source = ctx.get_parameter_source(name)
        typed = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
        if name in ("inputs", "input_paths"):
            continue
        if typed or name not in values:
            values[name] = value
    named = list(given.get("inputs") or []) + list(given.get("input_paths") or [])
    if named or "input" not in values:
        values["input"] = named
    try:
        return RestoreOptions(**values)
    except ValidationError as exc:
        flag, message = _validation_message(exc)
        raise InvalidInputError(f"--{flag}: {message}") from None


@app.command()
def restore(
    ctx: typer.Context,
    inputs: Optional[list[Path]] = typer.Argument(None, help="Image files or folders.", show_default=False),
    input_paths: Optional[list[Path]] = typer.Option(None, "-i", "--input", help="An image file or folder (repeatable; same as the arguments).", show_default=False),
    out_dir: Optional[Path] = typer.Option(None, "-o", "--out-dir", help="Folder for the results (required, here or in --config); created if needed."),
    recursive: bool = typer.Option(_default("recursive"), "-r", "--recursive", help="Also restore the images in sub-folders, mirroring them under the output folder."),
    suffix: str = typer.Option(_default("suffix"), "--suffix", help="Added to each result's name: photo.jpg -> photo_restored.jpg. A result never replaces an input."),
    ext: str = typer.Option(_default("ext"), "--ext", help=f"Format of the results: {', '.join(OUTPUT_EXTENSIONS)} (auto: the source's own)."),
    quality: int = typer.Option(_default("quality"), "--quality", min=1, max=100, help="JPEG and WebP quality of the results."),
    overwrite: bool = typer.Option(_default("overwrite"), "--overwrite/--skip-existing", help="Redo images whose result exists (default: skip them, so a rerun finishes an interrupted batch)."),
    strategy: str = typer.Option(_default("strategy"), "--strategy", help="spatial (default), global or none."),
    planner: str = typer.Option(_default("planner"), "--planner", help="prior, greedy, search or llm."),
    perception: str = typer.Option(_default("perception"), "--perception", help="auto, learned or classical."),
    memory: bool = typer.Option(_default("memory"), "--memory/--no-memory", help="Use and grow the memory of plans that worked (off by default, so that the same command gives the same bytes)."),
    workers: int = typer.Option(_default("workers"), "--workers", min=1, max=64, help="Region experts running at once."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible endpoint for --planner llm (or MOSAICIR_LLM_URL)."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model name for --planner llm (or MOSAICIR_LLM_MODEL)."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma list: act on these degradations only (every other one is ignored)."),
    ignore: Optional[str] = typer.Option(None, "--ignore", help="Comma list of degradations perceived but not acted on (default: motion_blur,rain,low_light,low_resolution; 'none' acts on all)."),
    step_judge: bool = typer.Option(_default("step_judge"), "--step-judge/--no-step-judge", help="Decide deblurring and super-resolution steps by the learned step judge's expected change of PSNR instead of the no-reference score (docs/JUDGE.md)."),
    strength: float = typer.Option(_default("strength"), "--strength", min=0.0, max=1.0, help="How far towards the restoration, 0 (the input) to 1: input + strength * (restored - input)."),
    mask: Optional[Path] = typer.Option(None, "--mask", help="Restore only where this image is white (grey values blend; resized to each image of the same aspect ratio)."),
    config_file: Optional[Path] = typer.Option(None, "--config", help="TOML file of these options (same names, e.g. out-dir = \"restored\"); the command line wins."),
    as_json: bool = typer.Option(_default("as_json"), "--json", help="Print a JSON summary of the batch on standard output (instead of one line per image)."),
    sample: bool = typer.Option(_default("sample"), "--sample", help="Restore the bundled sample image."),
    report: bool = typer.Option(_default("report"), "--report", help="Write a self-contained HTML report per image (<result>.report.html, facts in <result>.report.json) and OUT_DIR/index.html linking them."),
    trajectory: bool = typer.Option(_default("trajectory"), "--trajectory", help="Write the decisions as JSONL per image (<result>.trajectory.jsonl)."),
    max_pixels: Optional[int] = typer.Option(None, "--max-pixels", min=1, help="Refuse larger images (default: the size this machine's memory can restore, up to 100 bytes per pixel in 75% of it; docs/BIG.md).", show_default=False),
    strip_metadata: bool = typer.Option(_default("strip_metadata"), "--strip-metadata", help="Do not copy ICC/EXIF to the results."),
) -> None:
    """Restore images and folders of images into OUT_DIR.

    Each result is OUT_DIR/<name><suffix><ext> (sub-folders mirrored with --recursive; alpha, bit depth, ICC and EXIF of the source kept), with <result>.run.json, the run's configuration. A result never replaces an input, and two inputs never share a result.

    Files are written atomically, the result last: a killed batch leaves no partial file, and the same command again does only what is missing. The plan memory is off unless --memory, so the same command gives the same bytes.

    Exit status: 0 done, 1 some files failed, 2 bad usage or input (found before any work), 130 interrupted.
    """
    given = {name: value for name, value in locals().items() if name not in ("ctx", "config_file")}
    options = _merge_options(ctx, given, config_file)
    _run_batch(options)


class _Console:
    """Where a batch speaks: a rich progress bar with ETA on standard error when both standard
    output and standard error are terminals (the lines then scroll above it), plain lines
    otherwise (one per image on standard output, unless ``--json``; errors on standard error)."""

    def __init__(self, total: int, as_json: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
        )

        self.as_json = as_json
        self.enabled = sys.stdout.isatty() and sys.stderr.isatty()
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True), disable=not self.enabled,
            redirect_stdout=False, redirect_stderr=False)
        self.task = self.progress.add_task("restoring", total=total)
        self.stage: Any = None  # the bar of one large image's stages

    def image_progress(self, pixels: int) -> Callable[[str, float], None] | None:
        """A second bar that follows the stages of one image of at least ``LARGE_IMAGE_PIXELS``
        (``Coordinator.run``'s ``progress``), or None (small image, or no bar)."""
        if not self.enabled or pixels < LARGE_IMAGE_PIXELS:
            return None
        if self.stage is None:
            self.stage = self.progress.add_task("", total=1.0)
        self.progress.reset(self.stage, total=1.0, description="  starting", visible=True)

        def follow(stage: str, done: float) -> None:
            self.progress.update(self.stage, completed=done, description=f"  {stage}")

        return follow

    def image_done(self) -> None:
        if self.stage is not None:
            self.progress.update(self.stage, visible=False)

    @contextlib.contextmanager
    def running(self) -> Iterator["_Console"]:
        with self.progress:
            yield self
            self.progress.update(self.task, description="done")

    def start(self, name: str) -> None:
        self.progress.update(self.task, description=name)

    def advance(self) -> None:
        self.progress.advance(self.task)

    def line(self, text: str) -> None:
        if self.enabled:
            self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        elif not self.as_json:
            typer.echo(text)

    def error(self, text: str) -> None:
        if self.enabled:
            self.progress.console.print(f"error: {text}", markup=False, highlight=False, soft_wrap=True, style="red")
        else:
            _echo_error(text)


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}" + ("" if len(items) == 1 else "s")


def _listed(paths: list[Path], most: int = 5) -> str:
    shown = ", ".join(str(p) for p in paths[:most])
    return shown + (f" and {len(paths) - most} more" if len(paths) > most else "")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while a batch runs, so that it stops as Ctrl-C does:
    temporary files are removed on the way out and finished results stay."""
    def interrupt(signum, frame):  # noqa: ARG001 (signal handler signature)
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_batch(options: RestoreOptions) -> None:
    """``mosaicir restore`` once its options are merged: everything is checked before any image is
    restored (configuration, mask, the plan of inputs and results, the output folder)."""
    from mosaicir.agents import Coordinator
    from mosaicir.api import load_mask, make_config, restore_loaded
    from mosaicir.io import load_image
    from mosaicir.io.atomic import atomic_write_text, remove_stale_temporaries
    from mosaicir.io.batch import check_output_folder, finished, plan_batch
    from mosaicir.io.memory import limit_note as memory_limit_note, restore_max_pixels

    inputs = list(options.input)
    if options.sample:
        inputs.insert(0, Path(str(files("mosaicir") / "data" / SAMPLE_IMAGE)))
    if not inputs:
        raise InvalidInputError("no input images (give files or folders, -i/--input, or --sample)")
    if options.out_dir is None:
        raise InvalidInputError("missing -o/--out-dir (the folder for the results)")
    config = make_config(strategy=options.strategy, planner=options.planner, perception=options.perception,
                         memory=options.memory, workers=options.workers, llm_url=options.llm_url,
                         llm_model=options.llm_model, only=options.only, ignore=options.ignore,
                         step_judge=options.step_judge)
    coordinator = Coordinator(config)
    mask = load_mask(options.mask) if options.mask is not None else None
    plan = plan_batch(inputs, options.out_dir, recursive=options.recursive, suffix=options.suffix, ext=options.ext)
    if plan.unsupported:
        typer.echo(f"note: {_count(plan.unsupported, 'file')} of an unsupported type left out: "
                   f"{_listed(plan.unsupported)}", err=True)
    if plan.unsearched:
        typer.echo(f"note: {_count(plan.unsearched, 'sub-folder')} not searched (add --recursive): {_listed(plan.unsearched)}", err=True)
    if not plan.items:
        raise InvalidInputError("no input images" + (" (only unsupported files)" if plan.unsupported else ""))
    check_output_folder(options.out_dir)
    sidecars = [kind for kind in ("trajectory", "report") if getattr(options, kind)]
    max_pixels, limit_note = options.max_pixels, None
    if max_pixels is None:  # the pixel limit set by the memory a restore needs
        max_pixels = restore_max_pixels()
        limit_note = memory_limit_note(max_pixels)

    rows: list[dict[str, Any]] = []
    failures: list[tuple[Path, str]] = []
    console = _Console(len(plan.items), options.as_json)
    interrupted = False
    try:
        with _sigterm_interrupts(), console.running():
            for item in plan.items:
                console.start(item.source.name)
                row: dict[str, Any] = {"input": str(item.source), "output": str(item.output)}
                if not options.overwrite and finished(item, sidecars):
                    rows.append(row | {"status": "skipped"})
                    console.line(f"{item.source} -> {item.output} (exists, skipped)")
                    console.advance()
                    continue
                start = time.perf_counter()
                try:
                    loaded = load_image(item.source, max_pixels=max_pixels, limit_note=limit_note)
                    follow = console.image_progress(loaded.image.shape[0] * loaded.image.shape[1])
                    try:
                        result = restore_loaded(loaded, coordinator, strength=options.strength, mask=mask, progress=follow)
                    finally:
                        console.image_done()
                    record = result.record() | {"output": str(item.output), "max_pixels": max_pixels}
                    targets = [item.sidecar(kind) for kind in sidecars] + [item.sidecar("run"), item.output]
                    for target in targets:
                        remove_stale_temporaries(target)
                    # the result is written last: its existence marks the item finished
                    if options.trajectory:
                        result.trajectory.save(item.sidecar("trajectory"))
                    if options.report:
                        result.report(item.sidecar("report"), title=f"mosaicir: {item.source.name}", record=record)
                    atomic_write_text(item.sidecar("run"), json.dumps(record, indent=1) + "\n")
                    result.save(item.output, quality=options.quality, strip_metadata=options.strip_metadata)
                except (MosaicirError, MemoryError) as exc:
                    message = _one_line(item.source, exc if isinstance(exc, MosaicirError) else MemoryError("out of memory"))
                    failures.append((item.source, message))
                    rows.append(row | {"status": "failed", "error": message})
                    console.error(message)
                else:
                    seconds = time.perf_counter() - start
                    tools = result.accepted_tools
                    rows.append(row | {"status": "restored", "seconds": round(seconds, 3), "tools": tools,
                                       "regions": len(result.regions), "tool_calls": result.tool_calls})
                    console.line(f"{item.source} -> {item.output} ({', '.join(tools) or 'nothing needed'}; {seconds:.2f} s)")
                console.advance()
    except KeyboardInterrupt:
        interrupted = True

    counts = {status: sum(row["status"] == status for row in rows) for status in ("restored", "skipped", "failed")}
    status = EXIT_INTERRUPTED if interrupted else EXIT_FAILED if failures else 0
    index = _write_report_index(options.out_dir, plan.items, rows) if options.report and rows else None
    if options.as_json:
        summary = {"mosaicir": __version__, "out_dir": str(options.out_dir), **counts,
                   **({"report_index": str(index)} if index is not None else {}),
                   "not_done": len(plan.items) - len(rows), "unsupported": [str(p) for p in plan.unsupported],
                   "unsearched": [str(p) for p in plan.unsearched], "interrupted": interrupted, "exit_status": status,
                   "items": rows}
        typer.echo(json.dumps(summary, indent=1))
    elif not interrupted:
        done = f"{counts['restored']} restored, {counts['skipped']} skipped (already done), {counts['failed']} failed"
        typer.echo(f"{done} -> {options.out_dir}" + (f" (reports: {index})" if index is not None else ""))
    if interrupted:
        _echo_error(f"interrupted after {len(rows)} of {len(plan.items)} images; "
                    "run the same command again to finish (results already written are skipped)")
        raise typer.Exit(EXIT_INTERRUPTED)
    _report_failures(failures, len(plan.items))


def _write_report_index(out_dir: Path, items: list, rows: list[dict[str, Any]]) -> Path:
    """The batch's index page (``index.html`` in the output folder): a link to each image's report."""
    from mosaicir.report import IndexEntry, index_path, write_batch_index

    entries = [IndexEntry(source=item.source, status=row["status"], output=item.output, report=item.sidecar("report"),
                          error=row.get("error")) for item, row in zip(items, rows)]
    return write_batch_index(index_path(out_dir), entries, title=f"mosaicir: {out_dir}")


@app.command()
def report(
    trajectory_path: Path = typer.Argument(..., help="A trajectory written by restore --trajectory (<result>.trajectory.jsonl)."),
    input_path: Optional[Path] = typer.Option(None, "-i", "--input", help="The input image of that run (default: the one named in <result>.run.json beside the trajectory)."),
    output_path: Optional[Path] = typer.Option(None, "--output", help="Show this image as the output (default: replay the trajectory on the input, which reproduces the recorded output exactly)."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="The HTML file (default: <result>.report.html beside the trajectory); the JSON sidecar goes beside it."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report."),
) -> None:
    """Write the report of a recorded run: a self-contained HTML page and its JSON sidecar.

    The input image is --input, or the file named in the run file beside the trajectory; it must be the trajectory's input (same hash). The output is --output, or the trajectory replayed on the input (exact; re-runs the kept tool calls, so --output is faster on large photographs). The map shown is the input perceived again, before restoration.
    """
    from mosaicir.report import json_sidecar, report_from_trajectory

    path = report_from_trajectory(trajectory_path, input_path=input_path, output_path=output_path, out=out,
                                  overwrite=overwrite)
    typer.echo(f"wrote {path} and {json_sidecar(path)}")


@app.command()
def replay(
    trajectory_path: Path = typer.Argument(..., help="A trajectory written by restore --trajectory."),
    input_path: Path = typer.Argument(..., help="The input image of that run."),
    out: Path = typer.Option(..., "-o", "--out", help="Where to write the reproduced output."),
) -> None:
    """Re-run a recorded plan and check that it reproduces the recorded output."""
    from mosaicir.io import load_image, save_image
    from mosaicir.trajectory import Trajectory, replay as replay_trajectory

    recorded = Trajectory.load(trajectory_path)
    loaded = load_image(input_path)
    image = replay_trajectory(recorded, loaded.image)
    save_image(out, image, alpha=loaded.alpha, meta=loaded.meta)
    typer.echo(f"{out}: reproduces {recorded.header.output}")


@app.command()
def degrade(
    input_path: Path = typer.Argument(..., help="Clean image."),
    degradation: str = typer.Option(..., "--degradation", "-d", help="Degradation name."),
    severity: float = typer.Option(0.5, "--severity", "-s", min=0.0, max=1.0, help="Severity in [0, 1]."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(..., "-o", "--out", help="Output image."),
) -> None:
    """Apply one degradation to a whole image (prints the parameters used as JSON)."""
    import numpy as np

    from mosaicir.degrade import get_degradation
    from mosaicir.io import load_image, save_image

    model = get_degradation(degradation)
    loaded = load_image(input_path)
    degraded, params = model(loaded.image, severity, np.random.default_rng(seed))
    save_image(out, degraded, alpha=loaded.alpha, meta=loaded.meta)
    typer.echo(json.dumps({"degradation": degradation, "params": params.model_dump(mode="json")}))


@app.command()
def analyze(
    inputs: list[Path] = typer.Argument(..., help="Image files or folders."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (one object per image)."),
    overlay: Optional[Path] = typer.Option(None, "--overlay", help="Write a picture of the maps (one image: this file; several: a folder)."),
    method: str = typer.Option("auto", "--method", help="auto, learned or classical."),
    max_pixels: int = typer.Option(100_000_000, "--max-pixels", help="Refuse larger images."),
) -> None:
    """Say which degradations are where in an image, and how strong."""
    from mosaicir.io import iter_image_files, load_image, save_image
    from mosaicir.perception import METHODS, perceive
    from mosaicir.report.overlay import maps_overlay

    if method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    paths = list(iter_image_files(inputs))
    if not paths:
        raise InvalidInputError("no input images")
    failures: list[tuple[Path, str]] = []
    for path in paths:
        try:
            loaded = load_image(path, max_pixels=max_pixels)
            maps = perceive(loaded.image, method=method, jpeg_quantization=loaded.meta.jpeg_quantization)
            summary = maps.summary()
            if as_json:
                typer.echo(json.dumps({"input": str(path)} | summary.model_dump(mode="json")))
            else:
                typer.echo(_summary_text(path, summary))
            if overlay is not None:
                target = overlay if len(paths) == 1 and overlay.suffix else overlay / f"{path.stem}.overlay.png"
                save_image(target, maps_overlay(loaded.image, maps))
        except MosaicirError as exc:
            failures.append((path, str(exc)))
            _echo_error(str(exc))
    _report_failures(failures, len(paths))


def _summary_text(path: Path, summary) -> str:
    lines = [f"{path}: {summary.size[1]}x{summary.size[0]}, perceived in {summary.seconds:.2f} s ({summary.method})"]
    if not summary.present:
        lines.append("  no degradation found")
    for name in summary.present:
        report = summary.degradations[name]
        where = (f"{100 * report.area:5.1f}% of the image" if report.basis == "cells"
                 else "whole image (weak evidence spread over it)")
        lines.append(f"  {name:<15} {where}, severity mean {report.mean_severity:.2f}, max {report.max_severity:.2f}")
    shown = {"noise": ("noise_sigma", "noise sigma {:.1f}/255"), "jpeg": ("jpeg_quality", "JPEG quality ~{:.0f}"),
             "motion_blur": ("motion_length", "motion {:.0f} px"), "defocus_blur": ("defocus_radius", "defocus radius {:.1f} px"),
             "haze": ("airlight", "airlight {:.2f}")}
    details = [fmt.format(summary.estimates[key]) for name, (key, fmt) in shown.items()
               if name in summary.present and key in summary.estimates]
    if "motion_blur" in summary.present and "motion_angle" in summary.estimates:
        details = [d + f" at {summary.estimates['motion_angle']:.0f} deg" if d.startswith("motion") else d for d in details]
    if details:
        lines.append("  estimates: " + ", ".join(details))
    return "\n".join(lines)


@app.command("app")
def app_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default: only this computer can reach the app)."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to serve on."),
    max_upload_mb: float = typer.Option(50, "--max-upload-mb", min=0.001, help="Refuse uploads larger than this many megabytes."),
    max_pixels: int = typer.Option(24_000_000, "--max-pixels", min=1, help="Refuse images with more pixels than this."),
    open_browser: bool = typer.Option(False, "--open/--no-open", help="Open the app in the default browser."),
) -> None:
    """Serve the web app (needs the 'app' extra: pip install 'mosaicir[app]'): upload a photograph, restore it, see the map as perceived before restoration, the regions and their plans, a before/after slider, and download the result and its report. Reaches no other host; Ctrl-C stops it."""
    from mosaicir.app import serve

    serve(host=host, port=port, max_upload_mb=max_upload_mb, max_pixels=max_pixels, open_browser=open_browser)


@bench_app.command("generate")
def bench_generate(
    suite: str = typer.Option(..., "--suite", help="mosaic, mio-a, mio-b, mio-c, single or clean."),
    out: Path = typer.Option(..., "--out", help="Destination folder."),
    clean_dir: Optional[list[Path]] = typer.Option(None, "--clean-dir", help="Folder of clean images, repeatable (default: bundled images)."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Use the first N clean images by name."),
    seed: int = typer.Option(0, "--seed"),
    max_side: int = typer.Option(512, "--max-side", min=0, help="Resize clean images to this longer side (0: keep)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Parallel processes (results do not depend on it)."),
) -> None:
    """Generate a benchmark folder: manifest.json, degraded/, clean/, labels/."""
    from mosaicir.degrade.generator import generate

    start = time.perf_counter()
    report = generate(suite, out, clean_dir=clean_dir or None, n=n, seed=seed, max_side=max_side or None, workers=workers)
    typer.echo(f"{suite}: {len(report.items)} items in {out} ({time.perf_counter() - start:.1f} s)")
    if report.skipped:
        typer.echo(f"{len(report.skipped)} source images skipped:", err=True)
        for path, message in report.skipped:
            typer.echo(f"  {path}: {message}", err=True)


@bench_app.command("preview")
def bench_preview(
    folder: Path = typer.Argument(..., help="A generated benchmark folder."),
    out: Path = typer.Option(..., "-o", "--out", help="Contact sheet (PNG)."),
    n: int = typer.Option(12, "--n", min=1, help="Items to show."),
) -> None:
    """Degraded, clean and label overlay side by side for the first N items."""
    from mosaicir.bench.preview import preview

    path = preview(folder, out, n=n)
    typer.echo(f"wrote {path}")


@tools_app.command("list")
def tools_list(as_json: bool = typer.Option(False, "--json", help="Print JSON (with parameter ranges).")) -> None:
    """List the registered tools: targets, learned or classical, cost, parameters."""
    from rich.console import Console
    from rich.table import Table

    from mosaicir.tools import TOOL_REGISTRY, get_tool

    described = [get_tool(name).describe() for name in TOOL_REGISTRY.names()]
    if as_json:
        typer.echo(json.dumps(described, indent=1, default=str))
        return
    table = Table("tool", "targets", "kind", "s/MP", "parameters")
    for d in described:
        kind = ("learned" if d["learned"] else "classical") + ("" if d["default"] else ", not default")
        params = ", ".join(f"{k} [{v.get('ge', v.get('gt', ''))}, {v.get('le', v.get('lt', ''))}]" for k, v in d["params"].items())
        table.add_row(d["name"], ", ".join(d["targets"]), kind, f"{d['seconds_per_megapixel']:.1f}", params)
    Console(width=160).print(table)


@bench_app.command("tools")
def bench_tools_command(
    data: Path = typer.Argument(..., help="A folder generated with --suite single."),
    out: Path = typer.Option(..., "--out", help="Results folder (tools.json, tools.md)."),
    tools: Optional[str] = typer.Option(None, "--tools", help="Comma-separated tool names (default: all)."),
    doc: Optional[Path] = typer.Option(None, "--doc", help="Also write the Markdown table to this file."),
) -> None:
    """Run every tool on the items of its own degradation; PSNR/SSIM before and after, speed."""
    from mosaicir.bench.tools import bench_tools, best_gains
    from mosaicir.io.atomic import atomic_write_text

    command = "mosaicir bench tools " + " ".join(sys.argv[3:]) if len(sys.argv) > 3 else ""
    document = bench_tools(data, out, tools=tools.split(",") if tools else None, command=command)
    if doc is not None:
        atomic_write_text(doc, "# Tools\n\n" + (out / "tools.md").read_text())
    for degradation, (tool, gain) in sorted(best_gains(document["rows"], 0.5).items()):
        typer.echo(f"{degradation:15s} best at severity 0.5: {tool} {gain:+.2f} dB")


@bench_app.command("denoise")
def bench_denoise_command(
    clean_dir: Path = typer.Argument(..., help="Folder of clean colour images."),
    out: Path = typer.Option(..., "--out", help="Results folder (denoise.json)."),
    sigma: float = typer.Option(25.0, "--sigma", help="Gaussian noise sigma, of 255."),
    tools: Optional[str] = typer.Option(None, "--tools", help="Comma-separated denoisers (default: all)."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Colour denoising at a fixed sigma on a folder of clean images: mean PSNR per tool."""
    from mosaicir.bench.tools import bench_denoise

    command = "mosaicir bench denoise " + " ".join(sys.argv[3:])
    document = bench_denoise(clean_dir, out, sigma=sigma, tools=tools.split(",") if tools else None, seed=seed, command=command)
    for name, value in document["psnr"].items():
        typer.echo(f"{name:15s} {value:.2f} dB")


@bench_app.command("perception")
def bench_perception_command(
    data: Path = typer.Argument(..., help="A generated benchmark folder."),
    out: Path = typer.Option(..., "--out", help="Results folder (perception.json, perception.md)."),
    method: str = typer.Option("auto", "--method", help="auto, learned or classical."),
) -> None:
    """Score perception maps against the labels of a generated folder."""
    from mosaicir.bench.perception import bench_perception
    from mosaicir.perception import METHODS

    if method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    command = "mosaicir bench perception " + " ".join(sys.argv[3:]) if len(sys.argv) > 3 else ""
    result = bench_perception(data, out, method=method, command=command)
    macro = f"{result['macro_f1']:.3f}" if result["macro_f1"] is not None else "-"
    typer.echo(f"{result['items']} images: macro F1 {macro}, severity MAE {result['severity_mae']}, "
               f"false alarms {result['false_alarm_rate']:.3f}, summary recall {result['summary_recall']:.2f}, "
               f"{result['seconds_per_megapixel']:.3f} s/MP -> {out / 'perception.json'}")


STEP_JUDGE_HELP = ("Decide deblurring and super-resolution steps by the learned step judge's expected change of PSNR "
                   "instead of the no-reference score (docs/JUDGE.md; default: off).")


def _config_options(ignore: str | None, step_judge: bool | None) -> dict:
    """``RestoreConfig`` fields from the benchmark commands' --ignore and --step-judge (None: default)."""
    options: dict = {}
    if ignore is not None:
        options["ignore"] = [n.strip() for n in ignore.split(",") if n.strip() and n.strip() != "none"]
    if step_judge is not None:
        options["step_judge"] = step_judge
    return options


@bench_app.command("run")
def bench_run_command(
    data: Path = typer.Argument(..., help="A generated benchmark folder."),
    out: Path = typer.Option(..., "--out", help="Results folder."),
    strategies: str = typer.Option("none,global,spatial,oracle", "--strategies", help="Comma list of none, global, spatial, oracle."),
    planner: str = typer.Option("prior", "--planner", help="Planner of the global and spatial strategies."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Only the first N items."),
    only: Optional[str] = typer.Option(None, "--only", help="Only items whose id matches this shell pattern (e.g. '*rain+low_light')."),
    memory: bool = typer.Option(False, "--memory", help="Use the memory of plans (off by default: runs stay reproducible)."),
    ignore: Optional[str] = typer.Option(None, "--ignore", help="Comma list of degradations perceived but not acted on (default: motion_blur,rain,low_light,low_resolution; 'none' acts on all)."),
    step_judge: Optional[bool] = typer.Option(None, "--step-judge/--no-step-judge", help=STEP_JUDGE_HELP, show_default=False),
) -> None:
    """Run strategies side by side: RES/<strategy>/<id>.png, RES/results.json, RES/report.html."""
    from mosaicir.agents import RestoreConfig
    from mosaicir.bench.run import bench_run, markdown_table

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    command = "mosaicir bench run " + " ".join(sys.argv[3:])
    from pydantic import ValidationError

    try:
        options = _config_options(ignore, step_judge)
        config = RestoreConfig(planner=planner, memory=memory, **options)
    except ValidationError as exc:
        raise InvalidInputError(f"--{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    document = bench_run(data, out, strategies=names, config=config, n=n, only=only, command=command,
                         log=lambda line: typer.echo(line, err=True))
    typer.echo(markdown_table(document))


@bench_app.command("paired")
def bench_paired_command(
    paths: Optional[list[Path]] = typer.Argument(None, help="INPUTS TARGETS (degraded photographs, their references of the same file names); with --sets: set folders (holding input/ and target/) or folders of them."),
    out: Path = typer.Option(..., "--out", help="Results folder."),
    sets: bool = typer.Option(False, "--sets", help="The paths are paired sets, or folders of sets: one row per set in RES/summary.md."),
    strategies: Optional[str] = typer.Option(None, "--strategies", help="Comma list of none, global, spatial (default none,global,spatial; with --sets global,spatial)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Comma list of simple tools measured beside: nlmeans, gamma (default with --sets nlmeans,gamma, else none; 'none' for none)."),
    nlmeans_h: Optional[float] = typer.Option(None, "--nlmeans-h", min=0.0, help="Strength h (of 255) of the nlmeans baseline (default 4)."),
    clean: Optional[Path] = typer.Option(None, "--clean", help="Folder of clean photographs (recursive): how many the spatial strategy changes, and how far."),
    planner: str = typer.Option("prior", "--planner", help="Planner of the global and spatial strategies."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Only the first N pairs of each set (and N clean photographs)."),
    only: Optional[str] = typer.Option(None, "--only", help="Only inputs whose file stem matches this shell pattern (e.g. '*rain-075')."),
    ignore: Optional[str] = typer.Option(None, "--ignore", help="Comma list of degradations perceived but not acted on (default: motion_blur,rain,low_light,low_resolution; 'none' acts on all)."),
    step_judge: Optional[bool] = typer.Option(None, "--step-judge/--no-step-judge", help=STEP_JUDGE_HELP, show_default=False),
) -> None:
    """Strategies on paired sets made by others (e.g. public rain, haze or noise sets), beside simple
    baselines: RES/<strategy>/<id>.png and RES/results.json for one set (INPUTS TARGETS); with --sets,
    the same per set under RES/<set>/ and one table, RES/summary.md and RES/summary.json."""
    from mosaicir.agents import RestoreConfig
    from mosaicir.bench.baselines import GAMMA_TARGET_MEAN, NLMEANS_H, get_baseline
    from mosaicir.bench.paired import (
        SET_BASELINES, SET_STRATEGIES, bench_paired, bench_paired_sets, check_strategies, find_sets,
        paired_markdown_table,
    )

    paths = paths or []
    many = sets or (not paths and clean is not None)
    if not many and len(paths) != 2:
        raise InvalidInputError("give INPUTS TARGETS (two folders), or --sets with set folders or folders of sets")
    if clean is not None and not many:
        raise InvalidInputError("--clean goes with --sets")
    default_strategies = ",".join(SET_STRATEGIES) if many else "none,global,spatial"
    names = [s.strip() for s in (strategies or default_strategies).split(",") if s.strip()]
    check_strategies(names)
    chosen = baseline if baseline is not None else (",".join(SET_BASELINES) if many else "none")
    chosen_names = [b.strip() for b in chosen.split(",") if b.strip() and b.strip() != "none"]
    if nlmeans_h is not None and nlmeans_h <= 0:
        raise InvalidInputError("--nlmeans-h must be positive")
    known = {"nlmeans": {"h": NLMEANS_H if nlmeans_h is None else nlmeans_h}, "gamma": {"target": GAMMA_TARGET_MEAN}}
    options = {b: known.get(b, {}) for b in chosen_names}
    baselines = {b: get_baseline(b, **options[b]) for b in chosen_names}
    command = "mosaicir bench paired " + " ".join(sys.argv[3:])
    from pydantic import ValidationError

    try:
        config = RestoreConfig(planner=planner, memory=False, **_config_options(ignore, step_judge))
    except ValidationError as exc:
        raise InvalidInputError(f"--{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None

    def log(line: str) -> None:
        typer.echo(line, err=True)

    if not many:
        document = bench_paired(paths[0], paths[1], out, strategies=names, baselines=baselines, baseline_options=options,
                                config=config, n=n, only=only, command=command, log=log)
        typer.echo(paired_markdown_table(document))
        _report_failures([(Path(f["id"]), f["error"]) for f in document["failed"]], document["items"] + len(document["failed"]))
        return
    summary = bench_paired_sets(find_sets(paths), out, strategies=names, baselines=baselines, baseline_options=options,
                                clean=clean, config=config, n=n, only=only, command=command, log=log)
    typer.echo((out / "summary.md").read_text())
    failures = [(Path(row["set"]) / f["id"], f["error"]) for row in summary["sets"] for f in row["failed"]]
    failures += [(Path(f["set"]), f["error"]) for f in summary["failed_sets"]]
    if summary["clean"]:
        failures += [(Path(summary["clean"]["folder"]) / f["id"], f["error"]) for f in summary["clean"]["failed"]]
    total = sum(row["images"] + len(row["failed"]) for row in summary["sets"]) + len(summary["failed_sets"])
    total += summary["clean"]["images"] + len(summary["clean"]["failed"]) if summary["clean"] else 0
    _report_failures(failures, total)


def main() -> None:
    """Console entry point: usage errors and :class:`MosaicirError` become one line on standard
    error (exit status 2), Ctrl-C exit status 130 (see the module docstring)."""
    click_exception = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    try:
        status = app(standalone_mode=False)
    except MosaicirError as exc:
        _echo_error(str(exc))
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        _echo_error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except click_exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
            sys.exit(EXIT_USAGE)
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None and getattr(exc, "exit_code", 1) == 2 else ""
        _echo_error(" ".join(exc.format_message().split()) + hint)
        sys.exit(exc.exit_code)
    except (typer.Abort, EOFError):
        _echo_error("aborted")
        sys.exit(EXIT_FAILED)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
