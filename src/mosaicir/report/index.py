"""The index page of a batch: one row per image, linking its report (self-contained HTML, no
images: each report holds its own)."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mosaicir import __version__
from mosaicir.io.atomic import atomic_write_text
from mosaicir.report.html import GENERATOR, json_sidecar

#: File name of a batch's index page, in the output folder.
INDEX_NAME = "index.html"
#: Used instead when the output folder holds an ``index.html`` that mosaicir did not write.
FALLBACK_INDEX_NAME = "mosaicir-index.html"


@dataclass
class IndexEntry:
    """One image of a batch.

    Attributes:
        source: the input file.
        status: ``restored``, ``skipped`` (done by an earlier run) or ``failed``.
        output: the result file (None if failed).
        report: the report's HTML file, if there is one.
        error: why it failed.
    """

    source: Path
    status: str
    output: Path | None = None
    report: Path | None = None
    error: str | None = None


def read_facts(report: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The JSON sidecar of a report (None if it is missing or unreadable)."""
    if report is None:
        return None
    try:
        facts = json.loads(json_sidecar(report).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) and facts.get("kind") == "mosaicir-report" else None


def index_path(out_dir: str | os.PathLike[str]) -> Path:
    """Where the index of a batch writing into ``out_dir`` goes: ``index.html``, unless a file of
    that name exists that mosaicir did not write (then ``mosaicir-index.html``)."""
    target = Path(out_dir) / INDEX_NAME
    try:
        head = target.read_text(encoding="utf-8", errors="replace")[:600]
    except FileNotFoundError:
        return target
    except OSError:
        return Path(out_dir) / FALLBACK_INDEX_NAME
    return target if f'<meta name="generator" content="{GENERATOR}">' in head else Path(out_dir) / FALLBACK_INDEX_NAME


def _link(target: Path | None, base: Path, text: str) -> str:
    if target is None:
        return ""
    href = Path(os.path.relpath(Path(target).absolute(), base.absolute())).as_posix()
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def write_batch_index(path: str | os.PathLike[str], entries: Sequence[IndexEntry], *, title: str = "mosaicir batch") -> Path:
    """Write (atomically) the index page of a batch: one row per entry, with a link to its report
    and to its result, and what the report's JSON sidecar says (size, degradations perceived,
    regions, tools kept, seconds). Links are relative, so the folder can be moved."""
    path = Path(path)
    base = path.parent
    rows = []
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
        readable = entry.report is not None and entry.status != "failed" and Path(entry.report).is_file()
        facts = read_facts(entry.report) if readable else None
        if facts is not None:
            size = f"{facts['input']['width']}×{facts['input']['height']}"
            present = ", ".join(facts["perception"]["present"]) or "none"
            tools = ", ".join(dict.fromkeys(d["tool"] for d in facts["decisions"] if d["decision"] == "accept")) or "none"
            regions = str(len(facts["regions"]))
            seconds = "-" if facts.get("seconds") is None else f"{facts['seconds']:.2f}"
        else:
            size = present = tools = regions = seconds = ""
        report = _link(entry.report, base, "report") if facts is not None else ""
        output = _link(entry.output, base, Path(entry.output).name) if entry.output is not None and entry.status != "failed" else ""
        status = html.escape(entry.status) + (f': {html.escape(entry.error)}' if entry.error else "")
        rows.append(f'<tr class="item {html.escape(entry.status)}"><td>{html.escape(str(entry.source))}</td><td>{status}</td>'
                    f"<td>{report}</td><td>{output}</td><td>{size}</td><td>{html.escape(present)}</td><td>{regions}</td>"
                    f"<td>{html.escape(tools)}</td><td>{seconds}</td></tr>")
    summary = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no images"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{GENERATOR}"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;font-size:90%;text-align:left}}
tr.failed td{{color:#b00}}</style></head>
<body><h1>{html.escape(title)}</h1><p>{len(entries)} images: {html.escape(summary)}. mosaicir {html.escape(__version__)}.</p>
<table id="items"><tr><th>input</th><th>status</th><th>report</th><th>result</th><th>size</th><th>perceived</th>
<th>regions</th><th>tools kept</th><th>seconds</th></tr>
{chr(10).join(rows)}</table></body></html>
"""
    atomic_write_text(path, page)
    return path
