"""Strategies on paired sets made by others (``mosaicir bench paired``): degraded photographs in one
folder, their references in another, matched by file stem (``rain/12.png`` with ``clean/12.jpg``).

Public rain, haze, noise and low-light sets come this way (a degraded input and its ground truth per
photograph). Each strategy restores every input as ``mosaicir restore`` does (a JPEG input's own
quantisation tables included), and each baseline (:mod:`mosaicir.bench.baselines`, the simple tools a
user could pick instead) is run on the same input; every output is saved as ``RES/<name>/<id>.png``
and scored against the reference: PSNR, SSIM, seconds, tool calls, the mean gain over the input,
how many images it lowered (PSNR below the input's by more than :data:`LOWERED_BY`), and the
best and worst image. ``RES/results.json``::

    {"strategies": {name: {"psnr", "ssim", "seconds", "tool_calls", "gain", "lowered", "best", "worst",
                           "per_image": [{"id", "input_psnr", "psnr", "ssim", "seconds", "tool_calls"}]}},
     "baselines": {name: the same}, "baseline_options",
     "input": {"psnr", "ssim"}, "pairs": [{"id", "input", "target"}], "inputs", "targets", "only",
     "items", "failed", "unpaired", "lowered_by", "config", "command"}

(``best`` and ``worst`` are ``{"id", "change"}``, the change of PSNR over the input in dB.)

Several sets at once (:func:`bench_paired_sets`): each set is a folder holding ``input/`` and
``target/``, named by the folder; its results go to ``RES/<set>/results.json`` and one row per set
to ``RES/summary.json`` and ``RES/summary.md``. With a folder of clean photographs
(:func:`bench_clean`), the summary also says what the default strategy does to images that need
nothing: how many it changed at all, and how far from its input (there is no other reference).

A pair that cannot be read, or whose images differ in size, is skipped and listed in ``failed``;
inputs without a reference are listed in ``unpaired``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from mosaicir.agents import Coordinator, RestoreConfig
from mosaicir.bench.baselines import Baseline
from mosaicir.bench.run import means, strategies_table
from mosaicir.core.errors import InvalidInputError, MosaicirError
from mosaicir.io import SUPPORTED_EXTENSIONS, iter_image_files, load_image, save_image
from mosaicir.io.atomic import atomic_write_text
from mosaicir.quality.metrics import get_metric

#: The benchmark's metrics (``mosaicir.quality.metrics``), both against the reference.
psnr, ssim = get_metric("psnr"), get_metric("ssim")

PAIRED_STRATEGIES: tuple[str, ...] = ("none", "global", "spatial")
#: Strategies run on each set by default when several sets are measured (``none`` is the input).
SET_STRATEGIES: tuple[str, ...] = ("global", "spatial")
#: Baselines measured beside them by default on several sets: the bar to beat.
SET_BASELINES: tuple[str, ...] = ("nlmeans", "gamma")
#: A restored image counts as lowered when its PSNR is below the input's by more than this (dB):
#: the issue's definition; smaller changes are rounding, not damage anyone could see.
LOWERED_BY = 0.1
#: The strategy run on clean photographs (the default of ``mosaicir restore``).
CLEAN_STRATEGY = "spatial"
#: A clean photograph restored to below this PSNR against itself (dB) counts as altered, the issue's
#: threshold: at 40 dB the root-mean-square change is 2.55 of 255, more than rounding or a light touch.
CLEAN_FLOOR_DB = 40.0
#: The folder under RES that holds the clean photographs' outputs and results.
CLEAN_FOLDER = "clean-photographs"


def image_files(folder: Path) -> dict[str, Path]:
    """``{stem: path}`` of the image files directly in ``folder`` (the formats ``mosaicir restore`` reads)."""
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder")
    return {p.stem: p for p in iter_image_files([folder])}


def _method_summary(per_image: list[dict], keys: tuple[str, ...]) -> dict:
    """Means of ``keys``, the mean gain over the input, the lowered count, the best and worst image."""
    changes = [(r["psnr"] - r["input_psnr"], r["id"]) for r in per_image]
    best = max(changes, default=None)
    worst = min(changes, default=None)
    return means(per_image, keys) | {
        "gain": round(float(np.mean([c for c, _ in changes])), 4) if changes else None,
        "lowered": sum(1 for change, _ in changes if change < -LOWERED_BY),
        "best": {"id": best[1], "change": round(best[0], 4)} if best else None,
        "worst": {"id": worst[1], "change": round(worst[0], 4)} if worst else None,
        "per_image": per_image,
    }


def bench_paired(inputs: str | os.PathLike[str], targets: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 strategies: list[str], baselines: Mapping[str, Baseline] | None = None,
                 baseline_options: Mapping[str, dict] | None = None, config: RestoreConfig | None = None,
                 n: int | None = None, only: str | None = None, command: str = "", log=print) -> dict:
    """Run each strategy and baseline on every input that has a reference (and whose stem matches
    the shell pattern ``only``, e.g. ``*rain-075``); returns the ``results.json`` document.

    ``baselines`` maps names to ``float32 H x W x 3`` -> ``float32 H x W x 3`` functions (RGB in
    [0, 1]); ``baseline_options`` is recorded beside them (e.g. ``{"nlmeans": {"h": 4}}``).
    """
    inputs, targets, out_dir = Path(inputs), Path(targets), Path(out)
    check_strategies(strategies)
    baselines = dict(baselines or {})
    degraded_files, reference_files = image_files(inputs), image_files(targets)
    if only:
        degraded_files = {stem: path for stem, path in degraded_files.items() if fnmatch.fnmatchcase(stem, only)}
    stems = [s for s in degraded_files if s in reference_files][: n or None]
    if not stems:
        raise InvalidInputError(f"no image of {inputs}{f' matching {only!r}' if only else ''} has a reference "
                                f"of the same name in {targets}")
    unpaired = [s for s in degraded_files if s not in reference_files]
    if unpaired:
        log(f"{len(unpaired)} inputs without a reference of the same name, not scored: {', '.join(unpaired[:10])}"
            + (" ..." if len(unpaired) > 10 else ""))
    base = config or RestoreConfig(memory=False)
    coordinators = {s: Coordinator(base.model_copy(update={"strategy": s})) for s in strategies}
    rows: dict[str, list[dict]] = {s: [] for s in [*strategies, *baselines]}
    scored_inputs, pairs, failed = [], [], []
    for index, stem in enumerate(stems):
        try:
            loaded = load_image(degraded_files[stem])
            degraded = loaded.image
            reference = load_image(reference_files[stem]).image
            if degraded.shape != reference.shape:
                raise InvalidInputError(f"sizes differ: {degraded.shape[1]}x{degraded.shape[0]} against "
                                        f"{reference.shape[1]}x{reference.shape[0]}")
            input_psnr = psnr(reference, degraded)
            outputs = {}
            for name in rows:
                start = time.perf_counter()
                if name in coordinators:
                    result = coordinators[name].run(degraded, jpeg_quantization=loaded.meta.jpeg_quantization)
                    output, calls = result.image, result.tool_calls
                else:
                    output, calls = baselines[name](degraded), 1
                outputs[name] = (output, calls, time.perf_counter() - start)
        except MosaicirError as exc:
            failed.append({"id": stem, "error": str(exc)})
            log(f"[{index + 1}/{len(stems)}] {stem}: skipped ({exc})")
            continue
        scored_inputs.append({"psnr": input_psnr, "ssim": ssim(reference, degraded)})
        pairs.append({"id": stem, "input": str(degraded_files[stem]), "target": str(reference_files[stem])})
        for name, (output, calls, seconds) in outputs.items():
            save_image(out_dir / name / f"{stem}.png", output)
            rows[name].append({
                "id": stem, "input_psnr": round(input_psnr, 4), "psnr": round(psnr(reference, output), 4),
                "ssim": round(ssim(reference, output), 4), "seconds": round(seconds, 3), "tool_calls": calls,
            })
        log(f"[{index + 1}/{len(stems)}] {stem}: input {input_psnr:.2f} dB; "
            + ", ".join(f"{s} {rows[s][-1]['psnr']:.2f}" for s in rows))
    keys = ("psnr", "ssim", "seconds", "tool_calls")
    document = {
        "inputs": str(inputs), "targets": str(targets), "only": only, "items": len(scored_inputs), "failed": failed,
        "unpaired": unpaired,
        "input": means(scored_inputs, ("psnr", "ssim")) if scored_inputs else {},
        "strategies": {s: _method_summary(rows[s], keys) for s in strategies},
        "baselines": {b: _method_summary(rows[b], keys) for b in baselines},
        "baseline_options": {b: dict((baseline_options or {}).get(b, {})) for b in baselines},
        "pairs": pairs, "lowered_by": LOWERED_BY,
        "config": base.model_dump(mode="json"), "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "results.json", json.dumps(document, indent=1) + "\n")
    return document


def check_strategies(strategies: Iterable[str]) -> None:
    """Raise :class:`InvalidInputError` on a name that is not one of :data:`PAIRED_STRATEGIES`."""
    unknown = [s for s in strategies if s not in PAIRED_STRATEGIES]
    if unknown:
        raise InvalidInputError(f"unknown strategies {unknown}; choose from {', '.join(PAIRED_STRATEGIES)}")


def paired_markdown_table(document: dict) -> str:
    """The strategies (and baselines) of one paired run as a Markdown table."""
    if not document["items"]:
        return "No pair could be scored.\n"
    selection = f" (stems matching `{document['only']}`)" if document.get("only") else ""
    rows = document["strategies"] | {f"{b} (baseline)": row for b, row in document.get("baselines", {}).items()}
    return strategies_table(f"`{document['inputs']}`{selection} against `{document['targets']}`, {document['items']} images.",
                            document["input"], rows, f"images lowered > {LOWERED_BY} dB", "",
                            lambda row: str(row["lowered"]))


def is_set(folder: Path) -> bool:
    """Whether ``folder`` is a paired set: it holds ``input/`` and ``target/``."""
    return (folder / "input").is_dir() and (folder / "target").is_dir()


def set_name(folder: Path) -> str:
    """The name of a set: its folder's name (``.`` is named after the folder it stands for)."""
    return folder.name or folder.resolve().name


def find_sets(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The paired sets among ``folders``: a folder that is a set (:func:`is_set`) stands for itself,
    any other for its sub-folders that are sets (sorted by name).

    Raises:
        InvalidInputError: a path that is not a folder, a folder with no set in it, or two sets of
            the same name (their results would share ``RES/<set>``).
    """
    sets: list[Path] = []
    for item in folders:
        folder = Path(item)
        if not folder.is_dir():
            raise InvalidInputError(f"{folder} is not a folder")
        if is_set(folder):
            sets.append(folder)
            continue
        found = sorted((c for c in folder.iterdir() if c.is_dir() and is_set(c)), key=lambda c: c.name)
        if not found:
            raise InvalidInputError(f"{folder} holds neither input/ and target/ nor sub-folders that do")
        sets += found
    names = [set_name(s) for s in sets]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidInputError(f"several sets are named {', '.join(repeated)}; their results would share a folder")
    if CLEAN_FOLDER in names:
        raise InvalidInputError(f"a set may not be named {CLEAN_FOLDER!r} (the clean photographs' folder)")
    return sets


def _set_row(name: str, folder: Path, document: dict) -> dict:
    """One set's line of the summary: its ``results.json`` without the per-image rows."""
    def brief(methods: dict) -> dict:
        return {m: {k: v for k, v in row.items() if k != "per_image"} for m, row in methods.items()}

    return {"set": name, "path": str(folder), "images": document["items"], "failed": document["failed"],
            "unpaired": len(document["unpaired"]), "input": document["input"],
            "strategies": brief(document["strategies"]), "baselines": brief(document["baselines"])}


def clean_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """``{id: path}`` of every image file below ``folder`` (recursively), sorted by relative path; the
    id is the relative path without suffix, ``/`` replaced by ``_`` (``LIVE1/bikes.png``: ``LIVE1_bikes``)."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInputError(f"{root} is not a folder")
    files = list(iter_image_files([root], recursive=True))
    if not files:
        raise InvalidInputError(f"{root}: no images found (looked for {', '.join(sorted(SUPPORTED_EXTENSIONS))})")
    return {"_".join(p.relative_to(root).with_suffix("").parts): p for p in files}


def _eight_bit(image: np.ndarray) -> np.ndarray:
    """``float32 H x W x 3`` in [0, 1] -> ``uint8`` as :func:`mosaicir.io.save_image` writes it."""
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def bench_clean(folder: str | os.PathLike[str], out: str | os.PathLike[str], *, strategy: str = CLEAN_STRATEGY,
                config: RestoreConfig | None = None, n: int | None = None, log=print) -> dict:
    """Restore every clean photograph below ``folder`` with ``strategy`` and measure, with no reference,
    how much it changed them: whether any 8-bit pixel differs from the input (``changed``), and the
    PSNR of the 8-bit output against the 8-bit input (100 dB when unchanged). Outputs go to
    ``OUT/<strategy>/<id>.png``; returns the document written to ``OUT/results.json``::

        {"folder", "strategy", "images", "failed", "changed", "below_floor", "floor_db",
         "lowest": {"id", "psnr"}, "mean_changed_psnr", "seconds",
         "per_image": [{"id", "path", "changed", "psnr", "seconds"}], "config", "machine"}
    """
    check_strategies([strategy])
    out_dir = Path(out)
    files = list(clean_files(folder).items())[: n or None]
    base = config or RestoreConfig(memory=False)
    coordinator = Coordinator(base.model_copy(update={"strategy": strategy}))
    rows, failed = [], []
    for index, (name, path) in enumerate(files):
        try:
            loaded = load_image(path)
            start = time.perf_counter()
            result = coordinator.run(loaded.image, jpeg_quantization=loaded.meta.jpeg_quantization)
            seconds = time.perf_counter() - start
        except MosaicirError as exc:
            failed.append({"id": name, "error": str(exc)})
            log(f"[{index + 1}/{len(files)}] {name}: skipped ({exc})")
            continue
        before, after = _eight_bit(loaded.image), _eight_bit(result.image)
        changed = bool((before != after).any())
        value = psnr(before.astype(np.float32) / 255, after.astype(np.float32) / 255)
        save_image(out_dir / strategy / f"{name}.png", result.image)
        rows.append({"id": name, "path": str(path), "changed": changed, "psnr": round(value, 4), "seconds": round(seconds, 3)})
        log(f"[{index + 1}/{len(files)}] {name}: " + (f"{value:.2f} dB against its input" if changed else "unchanged"))
    changed_rows = [r for r in rows if r["changed"]]
    lowest = min(rows, key=lambda r: r["psnr"], default=None)
    document = {
        "folder": str(folder), "strategy": strategy, "images": len(rows), "failed": failed,
        "changed": len(changed_rows), "below_floor": sum(1 for r in rows if r["psnr"] < CLEAN_FLOOR_DB),
        "floor_db": CLEAN_FLOOR_DB,
        "lowest": {"id": lowest["id"], "psnr": lowest["psnr"]} if lowest else None,
        "mean_changed_psnr": means(changed_rows, ("psnr",))["psnr"],
        "seconds": means(rows, ("seconds",))["seconds"], "per_image": rows,
        "config": base.model_dump(mode="json"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "results.json", json.dumps(document, indent=1) + "\n")
    return document


def bench_paired_sets(sets: list[Path], out: str | os.PathLike[str], *, strategies: list[str],
                      baselines: Mapping[str, Baseline] | None = None, baseline_options: Mapping[str, dict] | None = None,
                      clean: str | os.PathLike[str] | None = None, config: RestoreConfig | None = None,
                      n: int | None = None, only: str | None = None, command: str = "", log=print) -> dict:
    """:func:`bench_paired` on each set (``RES/<set>/``), and :func:`bench_clean` on ``clean`` if given
    (``RES/clean-photographs/``); returns the summary written to ``RES/summary.json`` (and as a table
    to ``RES/summary.md``, rewritten after each set so that a long run can be read as it goes)::

        {"sets": [{"set", "path", "images", "failed", "unpaired", "input",
                   "strategies": {name: {"psnr", "ssim", "gain", "lowered", "best", "worst", "seconds", ...}},
                   "baselines": {name: the same}}],
         "failed_sets": [{"set", "error"}], "clean": bench_clean's document without per_image, or null,
         "strategy_names", "baseline_names", "baseline_options", "lowered_by", "config", "command", "machine"}

    A set that cannot be run at all (no pair in it) is listed in ``failed_sets`` and the others go on.
    """
    check_strategies(strategies)
    out_dir = Path(out)
    baselines = dict(baselines or {})
    base = config or RestoreConfig(memory=False)
    summary = {
        "sets": [], "failed_sets": [], "clean": None, "strategy_names": list(strategies),
        "baseline_names": list(baselines), "baseline_options": {b: dict((baseline_options or {}).get(b, {})) for b in baselines},
        "lowered_by": LOWERED_BY, "only": only, "n": n, "config": base.model_dump(mode="json"), "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    for folder in sets:
        name = set_name(folder)
        log(f"set {name} ({folder})")
        try:
            document = bench_paired(folder / "input", folder / "target", out_dir / name, strategies=strategies,
                                    baselines=baselines, baseline_options=baseline_options, config=base, n=n,
                                    only=only, command=command, log=log)
        except MosaicirError as exc:
            summary["failed_sets"].append({"set": name, "error": str(exc)})
            log(f"set {name}: skipped ({exc})")
            continue
        summary["sets"].append(_set_row(name, folder, document))
        write_summary(out_dir, summary)
    if clean is not None:
        log(f"clean photographs ({clean})")
        document = bench_clean(clean, out_dir / CLEAN_FOLDER, config=base, n=n, log=log)
        summary["clean"] = {k: v for k, v in document.items() if k not in ("per_image", "config", "machine")}
    write_summary(out_dir, summary)
    return summary


def write_summary(out: Path, summary: dict) -> None:
    """``OUT/summary.json`` and ``OUT/summary.md`` (:func:`summary_markdown`), each written atomically."""
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(out / "summary.md", summary_markdown(summary))


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _pair(row: dict) -> str:
    """``PSNR / SSIM`` of a row of means."""
    return f"{_number(row.get('psnr'), '.2f')} / {_number(row.get('ssim'), '.3f')}" if row else "-"


def _extreme(row: dict, key: str) -> str:
    """``id (change)`` of the best or worst image."""
    found = row.get(key)
    return f"{found['id']} ({found['change']:+.2f})" if found else "-"


def summary_markdown(summary: dict) -> str:
    """One Markdown table with one row per set (strategies, then baselines as extra columns), the
    sets that could not be run, and a short table of the clean photographs."""
    strategies, baselines = summary["strategy_names"], summary["baseline_names"]
    lines = []
    if summary["sets"]:
        options = "; ".join(f"{b}: " + ", ".join(f"{k} {v}" for k, v in o.items())
                            for b, o in summary.get("baseline_options", {}).items() if o)
        lines += [
            "Paired sets: PSNR (dB) / SSIM against the reference; gain: mean change of PSNR over the input (dB); "
            f"lowered: images whose PSNR fell by more than {summary['lowered_by']} dB; worst: the image with the "
            "lowest change (dB); s: seconds per image."
            + (f" Baselines ({', '.join(baselines)}{f'; {options}' if options else ''}): the bar to beat." if baselines else ""),
            "",
        ]
        header = ["set", "images", "input"]
        for s in strategies:
            header += [s, f"{s} gain", f"{s} lowered", f"{s} worst", f"{s} s"]
        for b in baselines:
            header += [b, f"{b} gain", f"{b} lowered"]
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for row in summary["sets"]:
            cells = [row["set"], str(row["images"]) + (f" ({len(row['failed'])} failed)" if row["failed"] else ""),
                     _pair(row["input"])]
            for s in strategies:
                m = row["strategies"].get(s, {})
                cells += [_pair(m), _number(m.get("gain"), "+.2f"), str(m.get("lowered", "-")), _extreme(m, "worst"),
                          _number(m.get("seconds"), ".2f")]
            for b in baselines:
                m = row["baselines"].get(b, {})
                cells += [_pair(m), _number(m.get("gain"), "+.2f"), str(m.get("lowered", "-"))]
            lines.append("| " + " | ".join(cells) + " |")
    for failed in summary["failed_sets"]:
        lines += ["", f"Set {failed['set']} not run: {failed['error']}"]
    clean = summary.get("clean")
    if clean:
        lowest = clean["lowest"]
        lines += [
            "" if lines else None,
            f"Clean photographs (`{clean['folder']}`, {clean['strategy']}, no reference: PSNR of the output against "
            f"its own input, 8-bit; 100 dB when unchanged).",
            "",
            f"| photographs | changed | below {clean['floor_db']:g} dB | lowest PSNR (image) | mean PSNR of the changed | s |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| {clean['images']}" + (f" ({len(clean['failed'])} failed)" if clean["failed"] else "")
            + f" | {clean['changed']} | {clean['below_floor']} | "
            + (f"{lowest['psnr']:.2f} ({lowest['id']})" if lowest else "-")
            + f" | {_number(clean['mean_changed_psnr'], '.2f')} | {_number(clean['seconds'], '.2f')} |",
        ]
    if not lines:
        return "No set could be scored.\n"
    return "\n".join(line for line in lines if line is not None) + "\n"
