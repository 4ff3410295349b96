"""ONNX Runtime sessions of the shipped networks (tools, perception, quality): one per weight file
and process, created on first use, sharing one memory arena; the folder of the shipped weights."""

from __future__ import annotations

import functools
import os
import threading
from importlib.resources import files
from pathlib import Path

from mosaicir.core.errors import MosaicirError

_SESSION_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _shared_arena() -> bool:
    """Register one CPU memory arena for every session of the process (True when it could be).

    Each session's own arena keeps the activations of the largest tile it has run for the rest of
    the process (about 230 MB per network: 1.4 GB once six networks have run); one shared arena
    holds that of the largest alone. The outputs are the same bits, and it is as fast."""
    import onnxruntime as ort

    try:
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))
    except Exception:  # an older runtime, or one registered already by the host: each session keeps its own
        return False
    return True


@functools.lru_cache(maxsize=None)
def _cached_session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, os.cpu_count() or 1)
    options.log_severity_level = 3
    if _shared_arena():
        options.add_session_config_entry("session.use_env_allocators", "1")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def onnx_session(path: Path, recipe: str = "train/restorers.py"):
    """The ONNX Runtime session of a weight file (one per file and process, created on first use)."""
    if not Path(path).is_file():
        raise MosaicirError(f"weights {path} are missing; train them with {recipe}")
    with _SESSION_LOCK:
        return _cached_session(str(path))


def models_dir() -> Path:
    """Folder of the shipped ONNX weights."""
    return Path(str(files("mosaicir") / "models"))
