"""Atomic writes: write beside the target under a temporary name, flush, then rename.

A reader never sees a half-written file, and a failure leaves the previous file (if any) intact.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``path``.

    The temporary file keeps the target's suffix so that writers choosing a format by
    extension behave as for the real name.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    tmp = Path(tmp_name)
    try:  # from here on, an interruption (Ctrl-C, SIGTERM turned into one) removes the temporary file
        os.close(fd)
        os.chmod(tmp, _default_mode(target))
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _default_mode(target: Path) -> int:
    """Keep the mode of a file being replaced; otherwise what a plain ``open`` would give."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


#: Characters :func:`tempfile.mkstemp` draws its 8 random characters from.
_TEMPORARY_RANDOM = r"[a-z0-9_]{8}"


def stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """The temporary files :func:`atomic_path` left beside ``path`` when its process was killed
    before it could clean up (``.<stem>.<8 random characters>.tmp<suffix>``), sorted by name.

    A process stopped with SIGKILL or by a power cut runs no ``finally`` block; the target itself
    is never partial (the rename is atomic), but the hidden temporary stays until the next write of
    the same target removes it (see :func:`remove_stale_temporaries`).
    """
    target = Path(path)
    pattern = re.compile(rf"^\.{re.escape(target.stem)}\.{_TEMPORARY_RANDOM}\.tmp{re.escape(target.suffix)}$")
    try:
        return sorted(p for p in target.parent.iterdir() if pattern.match(p.name) and p.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries of ``path`` left by a killed writer (see :func:`stale_temporaries`);
    returns those removed. Call it only when this process is about to write ``path`` itself."""
    removed = []
    for stale in stale_temporaries(path):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed.append(stale)
    return removed
