"""How large a photograph this machine can restore: the pixel limit set by the memory a restore
really needs.

A default restore's peak memory (resident set) grows about linearly with the pixel count:
``RESTORE_BASE_BYTES`` (the interpreter, the ONNX sessions, the models) plus
``RESTORE_BYTES_PER_PIXEL`` per pixel, measured with ``/usr/bin/time -v`` on 6 to 48 MP photographs
and rounded up to cover photographs that need more work than the test photographs (docs/BIG.md,
``scripts/big_photographs.py``). The limit is the largest pixel count whose need fits in
``MEMORY_SHARE`` of the machine's memory (its physical memory, or the cgroup's limit when lower):
the machine's total, not what happens to be free, so the same command decides the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Peak memory of a restore before any image (bytes): 0.56 GB measured.
RESTORE_BASE_BYTES = 600 * 2**20
#: Peak memory per pixel of a default restore (bytes): 43 measured on the test photographs of
#: 12 to 48 MP (noise on half the frame, haze at the top) and 95 on the hardest one measured
#: (noise, haze and JPEG 35 over the whole frame: the JPEG, noise and haze passes on all of it, the
#: non-local means fallback at once on 24 MP): the input and the result (float32, 12 each), a
#: working copy of the frame and the temporaries of one full-resolution step.
RESTORE_BYTES_PER_PIXEL = 100
#: Share of the machine's memory a restore may plan on.
MEMORY_SHARE = 0.75
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def machine_memory() -> int:
    """Bytes of memory this process may use: physical memory, or the cgroup's limit when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in _CGROUP_LIMITS:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total)


def restore_memory(pixels: int) -> int:
    """Bytes a default restore of a photograph of ``pixels`` pixels needs at its peak (estimate)."""
    return RESTORE_BASE_BYTES + RESTORE_BYTES_PER_PIXEL * int(pixels)


def restore_max_pixels(memory: int | None = None) -> int:
    """The largest photograph (pixels) a restore plans on with ``memory`` bytes (default: this
    machine's, :func:`machine_memory`); at least one megapixel."""
    memory = machine_memory() if memory is None else memory
    return max(1_000_000, int((MEMORY_SHARE * memory - RESTORE_BASE_BYTES) // RESTORE_BYTES_PER_PIXEL))


def limit_note(max_pixels: int | None = None) -> str:
    """What a refusal by the memory-set limit says (how much a restore of that size needs)."""
    limit = restore_max_pixels() if max_pixels is None else max_pixels
    return (f"a restore needs up to {RESTORE_BYTES_PER_PIXEL} bytes per pixel, so {limit / 1e6:.0f} MP fit in "
            f"{MEMORY_SHARE:.0%} of this machine's {machine_memory() / 2**30:.1f} GB; raise it with --max-pixels "
            "if the memory is there")
