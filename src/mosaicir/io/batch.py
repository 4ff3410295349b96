"""Planning a batch of image files: which files are inputs, where each result goes, and what is
refused before any work is done.

The rules (``mosaicir restore`` follows them; the README says the same):

* A file given by name is an input whatever its extension (an unreadable one fails on its own,
  the batch goes on). A folder gives the images directly in it, or with ``recursive`` every image
  below it, in name order; the layout of its sub-folders is mirrored under the output folder.
  Names starting with ``.`` (hidden files, temporaries) are not looked at. Other files are listed
  as unsupported, and sub-folders left out (no ``recursive``) as unsearched, so that nothing is
  skipped silently.
* The result of ``<stem><ext>`` is named ``<stem><suffix><out ext>``, where ``<out ext>`` is the
  source's own extension (``ext="auto"``: ``a.jpg`` and ``a.png`` in one folder give ``a_restored.jpg``
  and ``a_restored.png``) or the one asked for. Sidecar files add to the whole output name
  (``a_restored.jpg.run.json``), so they cannot collide either.
* Refused, before anything is restored (:class:`~mosaicir.core.errors.InvalidInputError`): a
  result that would replace an input file (e.g. ``--suffix ""`` into the input folder), and two
  inputs whose results would have the same name (``a.jpg`` and ``a.png`` with ``ext="png"``, or two
  folders holding the same name).
* When the output folder is an input folder or lies inside one, what a previous run wrote there
  is not taken as input: files inside the output folder are not scanned (unless it is the input
  folder itself), and a scanned file that is the planned result of another input is left out.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mosaicir.core.errors import InvalidInputError
from mosaicir.io.images import SUPPORTED_EXTENSIONS

#: Added to the stem of every result by default, so that a result never has its input's name.
DEFAULT_SUFFIX = "_restored"
#: ``--ext`` choices: ``auto`` keeps each source's own extension (and so its format).
OUTPUT_EXTENSIONS: dict[str, str | None] = {"auto": None, "png": ".png", "jpg": ".jpg", "tif": ".tif", "webp": ".webp"}
#: Files written beside a result, named ``<result name><sidecar>``.
SIDECARS: dict[str, str] = {"run": ".run.json", "trajectory": ".trajectory.jsonl", "report": ".report.html",
                             "report_facts": ".report.json"}
#: Pages a batch writes in its output folder (never taken for inputs).
BATCH_PAGES: tuple[str, ...] = ("index.html", "mosaicir-index.html")


@dataclass(frozen=True)
class BatchItem:
    """One input file and where its result goes.

    Attributes:
        source: the input image file.
        output: the result file (its extension chooses the format).
        explicit: the file was named on the command line (not found in a folder).
    """

    source: Path
    output: Path
    explicit: bool = False

    def sidecar(self, kind: str) -> Path:
        """The ``run``, ``trajectory`` or ``report`` file written beside the result."""
        return self.output.with_name(self.output.name + SIDECARS[kind])


@dataclass
class BatchPlan:
    """What a batch will do.

    Attributes:
        items: inputs and their results, in the order given (folders in name order).
        unsupported: files found in folders that are not images of a supported format.
        unsearched: sub-folders not searched (no ``recursive``; or links to folders, never followed).
    """

    items: list[BatchItem] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)
    unsearched: list[Path] = field(default_factory=list)


def check_suffix(suffix: str) -> str:
    """Return ``suffix`` if it can be part of a file name (no folder separator, not ``.``/``..``)."""
    if "/" in suffix or os.sep in suffix or (os.altsep and os.altsep in suffix) or "\0" in suffix:
        raise InvalidInputError(f"--suffix {suffix!r} must not contain a folder separator")
    if suffix.strip(".") == "" and suffix:
        raise InvalidInputError(f"--suffix {suffix!r} is not usable in a file name")
    return suffix


def output_name(source: Path, suffix: str = DEFAULT_SUFFIX, ext: str = "auto") -> str:
    """File name of the result of ``source``: ``<stem><suffix><extension>``.

    Args:
        source: input file.
        suffix: added to the stem (see :data:`DEFAULT_SUFFIX`).
        ext: a key of :data:`OUTPUT_EXTENSIONS`; ``auto`` keeps the source's extension as written,
            or ``.png`` when the source's is not one that can be written.
    """
    if ext not in OUTPUT_EXTENSIONS:
        raise InvalidInputError(f"--ext {ext!r}: choose one of {', '.join(OUTPUT_EXTENSIONS)}")
    extension = OUTPUT_EXTENSIONS[ext]
    if extension is None:
        extension = source.suffix if source.suffix.lower() in SUPPORTED_EXTENSIONS else ".png"
    return f"{source.stem}{suffix}{extension}"


def plan_batch(
    inputs: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    recursive: bool = False,
    suffix: str = DEFAULT_SUFFIX,
    ext: str = "auto",
) -> BatchPlan:
    """Expand files and folders into the batch's items (see the module docstring for the rules).

    Raises:
        InvalidInputError: an input does not exist, a result would replace an input, or two
            results would have the same name.
    """
    check_suffix(suffix)
    out_dir = Path(out_dir)
    out_resolved = out_dir.resolve()
    plan = BatchPlan()
    found: list[tuple[Path, Path, bool]] = []  # (source, folder of its result, explicit)
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            images, unsupported, unsearched = _scan(path, recursive, exclude=out_resolved)
            found += [(image, out_dir / image.parent.relative_to(path), False) for image in images]
            plan.unsupported += unsupported
            plan.unsearched += unsearched
        elif path.exists():
            found.append((path, out_dir, True))
        else:
            raise InvalidInputError(f"{path}: no such file or folder")

    def result_of(source: Path, folder: Path) -> Path:
        return folder / output_name(source, suffix, ext)

    outputs = {_key(result_of(source, folder)): _key(source) for source, folder, _ in found}  # result -> input
    # a file found in a folder that is the result of another input was written by an earlier run
    found = [(source, folder, explicit) for source, folder, explicit in found
             if explicit or outputs.get(_key(source), _key(source)) == _key(source)]
    sources = {_key(source) for source, _, _ in found}
    plan.unsupported = [path for path in plan.unsupported if not _is_sidecar(path, outputs) and path.name not in BATCH_PAGES]
    seen: dict[Path, Path] = {}  # result -> its input
    planned: set[Path] = set()
    for source, folder, explicit in found:
        source_key = _key(source)
        if source_key in planned:
            continue  # the same file named twice, or named and found in a folder
        output = result_of(source, folder)
        output_key = _key(output)
        if output_key in sources:
            raise InvalidInputError(
                f"{source} would be written to {output}, which is an input; give another -o/--out-dir or a --suffix")
        if output_key in seen:
            raise InvalidInputError(
                f"{seen[output_key]} and {source} would both be written to {output}; "
                "use --ext auto (each keeps its own extension) or restore them into different folders")
        seen[output_key] = source
        planned.add(source_key)
        plan.items.append(BatchItem(source=source, output=output, explicit=explicit))
    return plan


def _is_sidecar(path: Path, outputs: set[Path]) -> bool:
    """Whether ``path`` is a file written beside one of ``outputs`` (see :data:`SIDECARS`)."""
    return any(path.name.endswith(ending) and _key(path.with_name(path.name[: -len(ending)])) in outputs
               for ending in SIDECARS.values())


def _key(path: Path) -> Path:
    """What identifies a file for the collision checks: its absolute path, links resolved."""
    return path.resolve()


def _scan(folder: Path, recursive: bool, exclude: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(images, unsupported files, sub-folders not searched) below ``folder`` in name order;
    ``exclude`` (the output folder) is not entered unless it is ``folder`` itself."""
    images, unsupported, unsearched = [], [], []
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        raise InvalidInputError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    for child in children:
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if child.resolve() == exclude:
                continue
            if recursive and not child.is_symlink():
                found = _scan(child, recursive, exclude)
                images += found[0]
                unsupported += found[1]
                unsearched += found[2]
            else:
                unsearched.append(child)
        elif child.is_file():
            (images if child.suffix.lower() in SUPPORTED_EXTENSIONS else unsupported).append(child)
    return images, unsupported, unsearched


def check_output_folder(out_dir: str | os.PathLike[str]) -> Path:
    """Make sure results can be written to ``out_dir`` before any work: create it (and its
    parents) if needed and write and delete a probe file in it.

    Raises:
        InvalidInputError: it is a file, cannot be created, or is not writable.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"{out_dir}: the output folder is a file")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    try:
        handle, probe = tempfile.mkstemp(prefix=".mosaicir-probe.", dir=out_dir)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise InvalidInputError(f"{out_dir}: the output folder is not writable ({exc.strerror or exc})") from None
    return out_dir


def finished(item: BatchItem, sidecars: Iterable[str] = ()) -> bool:
    """Whether a previous run completed ``item``: its result exists, and so do the ``sidecars``
    asked for (``trajectory``, ``report``). Results are written last and atomically, so an existing
    result is a complete one."""
    with contextlib.suppress(OSError):
        return item.output.is_file() and all(item.sidecar(kind).is_file() for kind in sidecars)
    return False
