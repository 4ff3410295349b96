"""The ``mosaicir`` command line.

Every error the project raises on purpose (:class:`MosaicirError`) becomes a one-line message on
standard error and exit status 2; a batch goes on past a bad file and reports it at the end
(exit status 1).
"""

from __future__ import annotations

import json
import sys
import time
from importlib.resources import files
from pathlib import Path
from typing import Optional

import typer

from mosaicir import __version__
from mosaicir.core.errors import InvalidInputError, MosaicirError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Restore photographs whose degradations vary across the image.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmark sets and benchmark runs.")
app.add_typer(bench_app, name="bench")
tools_app = typer.Typer(no_args_is_help=True, help="The registered restoration tools.")
app.add_typer(tools_app, name="tools")

SAMPLE_IMAGE = "sample.png"


def _echo_error(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


def _report_failures(failures: list[tuple[Path, str]], total: int) -> None:
    """After a batch: list the files that failed and exit with status 1 (nothing if none did)."""
    if failures:
        typer.echo(f"{len(failures)} of {total} images failed:", err=True)
        for path, message in failures:
            typer.echo(f"  {path}: {message}", err=True)
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def restore(
    inputs: list[Path] = typer.Argument(None, help="Image files or folders."),
    out_dir: Path = typer.Option(..., "-o", "--out-dir", help="Folder for the results."),
    strategy: str = typer.Option("spatial", "--strategy", help="spatial (default), global or none."),
    planner: str = typer.Option("prior", "--planner", help="prior, greedy, search or llm."),
    perception: str = typer.Option("auto", "--perception", help="auto, learned or classical."),
    sample: bool = typer.Option(False, "--sample", help="Restore the bundled sample image."),
    report: bool = typer.Option(False, "--report", help="Write an HTML report per image."),
    trajectory: bool = typer.Option(False, "--trajectory", help="Write the decisions as JSONL per image."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    no_memory: bool = typer.Option(False, "--no-memory", help="Neither use nor grow the memory of plans."),
    workers: int = typer.Option(2, "--workers", min=1, help="Region experts running at once."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible endpoint for --planner llm (or MOSAICIR_LLM_URL)."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model name for --planner llm (or MOSAICIR_LLM_MODEL)."),
    ignore: Optional[str] = typer.Option(None, "--ignore", help="Comma list of degradations perceived but not acted on (default: motion_blur,rain,low_light; 'none' acts on all)."),
    max_pixels: int = typer.Option(100_000_000, "--max-pixels", help="Refuse larger images."),
    strip_metadata: bool = typer.Option(False, "--strip-metadata", help="Do not copy ICC/EXIF to the output."),
) -> None:
    """Restore images; results are written as OUT_DIR/<name>.png (metadata kept) with the run's
    configuration (<name>.run.json), and on request its trajectory and an HTML report."""
    from pydantic import ValidationError

    from mosaicir.agents import Coordinator, RestoreConfig
    from mosaicir.io import iter_image_files, load_image, save_image
    from mosaicir.io.atomic import atomic_write_text
    from mosaicir.report import write_restore_report
    from mosaicir.report.overlay import maps_overlay

    try:
        options = {} if ignore is None else {"ignore": [n.strip() for n in ignore.split(",") if n.strip() and n.strip() != "none"]}
        config = RestoreConfig(strategy=strategy, planner=planner, perception=perception, seed=seed, memory=not no_memory,
                               workers=workers, llm_url=llm_url, llm_model=llm_model, **options)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInputError(f"--{'-'.join(str(p) for p in error['loc'])}: {error['msg']}") from None
    coordinator = Coordinator(config)
    paths = list(iter_image_files(inputs or []))
    if sample:
        paths.insert(0, Path(str(files("mosaicir") / "data" / SAMPLE_IMAGE)))
    if not paths:
        raise InvalidInputError("no input images (give files or folders, or --sample)")
    failures: list[tuple[Path, str]] = []
    for path in paths:
        try:
            loaded = load_image(path, max_pixels=max_pixels)
            result = coordinator.run(loaded.image, jpeg_quantization=loaded.meta.jpeg_quantization)
            out_path = out_dir / f"{path.stem}.png"
            save_image(out_path, result.image, alpha=loaded.alpha, meta=loaded.meta,
                       strip_icc=strip_metadata, strip_exif=strip_metadata)
            run_config = {"mosaicir": __version__, "input": str(path), "output": str(out_path),
                          "seconds": result.trajectory.header.seconds, "tool_calls": result.tool_calls,
                          "max_pixels": max_pixels} | config.model_dump(mode="json")
            atomic_write_text(out_dir / f"{path.stem}.run.json", json.dumps(run_config, indent=1) + "\n")
            if trajectory:
                result.trajectory.save(out_dir / f"{path.stem}.trajectory.jsonl")
            if report:
                write_restore_report(out_dir / f"{path.stem}.report.html", title=f"mosaicir: {path.name}",
                                     before=loaded.image, after=result.image, steps=result.trajectory.as_rows(),
                                     config=run_config, overlay=maps_overlay(loaded.image, result.maps) if result.maps else None)
            accepted = [s.tool for s in result.trajectory.steps if s.kind == "decision" and s.decision == "accept"]
            done = ", ".join(dict.fromkeys(accepted)) or "nothing needed"
            typer.echo(f"{path} -> {out_path} ({done}; {result.trajectory.header.seconds:.2f} s)")
        except MosaicirError as exc:
            failures.append((path, str(exc)))
            _echo_error(f"{path}: {exc}" if str(path) not in str(exc) else str(exc))
    _report_failures(failures, len(paths))


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


@bench_app.command("run")
def bench_run_command(
    data: Path = typer.Argument(..., help="A generated benchmark folder."),
    out: Path = typer.Option(..., "--out", help="Results folder."),
    strategies: str = typer.Option("none,global,spatial,oracle", "--strategies", help="Comma list of none, global, spatial, oracle."),
    planner: str = typer.Option("prior", "--planner", help="Planner of the global and spatial strategies."),
    n: Optional[int] = typer.Option(None, "--n", min=1, help="Only the first N items."),
    memory: bool = typer.Option(False, "--memory", help="Use the memory of plans (off by default: runs stay reproducible)."),
    ignore: Optional[str] = typer.Option(None, "--ignore", help="Comma list of degradations perceived but not acted on (default: motion_blur,rain,low_light; 'none' acts on all)."),
) -> None:
    """Run strategies side by side: RES/<strategy>/<id>.png, RES/results.json, RES/report.html."""
    from mosaicir.agents import RestoreConfig
    from mosaicir.bench.run import bench_run, markdown_table

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    command = "mosaicir bench run " + " ".join(sys.argv[3:])
    from pydantic import ValidationError

    try:
        options = {} if ignore is None else {"ignore": [n.strip() for n in ignore.split(",") if n.strip() and n.strip() != "none"]}
        config = RestoreConfig(planner=planner, memory=memory, **options)
    except ValidationError as exc:
        raise InvalidInputError(f"--{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from None
    document = bench_run(data, out, strategies=names, config=config, n=n, command=command,
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
    config = RestoreConfig(planner=planner, memory=False)

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
    """Console entry point."""
    try:
        app()
    except MosaicirError as exc:
        _echo_error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        _echo_error("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
