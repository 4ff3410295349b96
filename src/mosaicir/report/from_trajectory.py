"""The report of a restoration made again from its trajectory (``mosaicir report TRAJ``).

What is needed beside the trajectory, and where it comes from:

* **the input image**: ``input_path`` if given; otherwise the path recorded in the run file
  written beside the trajectory by ``mosaicir restore`` (``x.trajectory.jsonl`` ->
  ``x.run.json``, its ``input``), tried as written and then relative to the trajectory's
  folder. The trajectory itself records only the input's hash; the image must have that hash.
* **the output image**: ``output_path`` if given (any file of the input's size; the page says
  whether its pixels are those the trajectory recorded). Otherwise the trajectory is *replayed*
  on the input (:func:`mosaicir.trajectory.replay`), which reproduces the recorded output
  exactly (checked against its hash) from the record alone; replay re-runs the kept tool calls,
  so on a large photograph ``--output`` is faster. When the run file says the result was blended
  by ``--strength`` or a ``--mask`` (which the trajectory does not replay), the recorded result
  file is used if it is there, else the replayed restoration is shown and the page says so.
* **the maps**: the input is perceived again with the run's perception method, as
  :attr:`mosaicir.api.Result.maps` does: the map *as perceived before restoration*.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mosaicir.core.errors import InvalidInputError, MosaicirError
from mosaicir.io import DEFAULT_MAX_PIXELS, load_image
from mosaicir.report.html import write_restore_report
from mosaicir.trajectory.records import Trajectory, image_hash

TRAJECTORY_SUFFIX = ".trajectory.jsonl"


def _base(trajectory_path: Path) -> str | None:
    name = trajectory_path.name
    return name[: -len(TRAJECTORY_SUFFIX)] if name.endswith(TRAJECTORY_SUFFIX) and len(name) > len(TRAJECTORY_SUFFIX) else None


def default_report_path(trajectory_path: str | os.PathLike[str]) -> Path:
    """``x.trajectory.jsonl`` -> ``x.report.html`` beside it (another name: the name plus ``.report.html``)."""
    path = Path(trajectory_path)
    base = _base(path)
    return path.with_name((base if base is not None else path.name) + ".report.html")


def run_record(trajectory_path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The run file ``mosaicir restore`` wrote beside the trajectory (``x.run.json``), or None."""
    path = Path(trajectory_path)
    base = _base(path)
    if base is None:
        return None
    try:
        record = json.loads(path.with_name(base + ".run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _recorded_file(value: Any, trajectory_path: Path) -> Path | None:
    """A path recorded in the run file, as written or relative to the trajectory's folder."""
    if not isinstance(value, str) or not value or value.startswith("sha256:"):
        return None
    for candidate in (Path(value), trajectory_path.parent / value, trajectory_path.parent / Path(value).name):
        if candidate.is_file():
            return candidate
    return None


def report_from_trajectory(
    trajectory_path: str | os.PathLike[str], *, input_path: str | os.PathLike[str] | None = None,
    output_path: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None,
    overwrite: bool = False, max_pixels: int | None = None,
) -> Path:
    """Write the report of the run recorded in ``trajectory_path`` (see the module docstring for
    where the input and output images come from).

    Args:
        out: the HTML file (default: ``x.report.html`` beside ``x.trajectory.jsonl``); its JSON
            sidecar goes beside it.
        overwrite: replace an existing report (otherwise refused).

    Returns:
        The HTML file's path.

    Raises:
        InvalidInputError: not a trajectory, the input unknown or not this trajectory's, an output
            of another size, a replay that does not reproduce the record, or an existing report.
    """
    trajectory_path = Path(trajectory_path)
    trajectory = Trajectory.load(trajectory_path)
    header = trajectory.header
    record = run_record(trajectory_path)
    target = Path(out) if out is not None else default_report_path(trajectory_path)
    if target.exists() and not overwrite:
        raise InvalidInputError(f"{target} exists (add --overwrite to replace it, or -o another file)")
    if max_pixels is None:
        recorded_max = (record or {}).get("max_pixels")
        max_pixels = recorded_max if isinstance(recorded_max, int) and recorded_max > 0 else DEFAULT_MAX_PIXELS

    if input_path is None:
        recorded = (record or {}).get("input")
        input_path = _recorded_file(recorded, trajectory_path)
        if input_path is None:
            where = f"the recorded input {recorded} is not found" if isinstance(recorded, str) and not recorded.startswith("sha256:") \
                else f"the trajectory records only the input's hash {header.input}"
            raise InvalidInputError(f"{trajectory_path}: {where}; give --input IMAGE")
    loaded = load_image(input_path, max_pixels=max_pixels)
    if image_hash(loaded.image) != header.input:
        raise InvalidInputError(f"{input_path} is not this trajectory's input ({image_hash(loaded.image)}, "
                                f"the trajectory recorded {header.input})")

    notes: list[str] = []
    blended = record is not None and (record.get("strength", 1.0) != 1.0 or bool(record.get("mask")))
    if output_path is None and blended:
        output_path = _recorded_file(record.get("output"), trajectory_path)
        if output_path is None:
            notes.append("the run blended its result by --strength or --mask, which a replay does not redo, and the "
                         "recorded result file is not found: the output shown is the restoration before the blend")
    if output_path is not None:
        after = load_image(output_path, max_pixels=max_pixels).image
        if after.shape != loaded.image.shape:
            raise InvalidInputError(f"{output_path} is {after.shape[1]}x{after.shape[0]}, the input "
                                    f"{loaded.image.shape[1]}x{loaded.image.shape[0]}")
        source = "file"
    else:
        from mosaicir.trajectory.replay import replay

        try:
            after = replay(trajectory, loaded.image)
        except MosaicirError as exc:
            raise InvalidInputError(f"cannot replay {trajectory_path} ({exc}); give --output IMAGE") from None
        source = "replay"

    from mosaicir.perception import perceive

    maps = perceive(loaded.image, method=str(header.config.get("perception", "auto")),
                    jpeg_quantization=loaded.meta.jpeg_quantization)
    config = record if record is not None else dict(header.config)
    recorded_output = (record or {}).get("output")
    shown_output = str(output_path) if output_path is not None else recorded_output if isinstance(recorded_output, str) else None
    return write_restore_report(
        target, trajectory=trajectory, before=loaded.image, after=after, maps=maps,
        title=f"mosaicir: {Path(input_path).name}", config=config, input_path=str(input_path),
        output_path=shown_output, output_source=source, notes=notes)
