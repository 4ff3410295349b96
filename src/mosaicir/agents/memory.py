"""Memory of plans that worked: a SQLite store of (degradation signature -> plan, outcome).

The store lives in the user's data folder (``$MOSAICIR_HOME``, else ``$XDG_DATA_HOME/mosaicir``,
else ``~/.local/share/mosaicir``) as ``memory.sqlite`` and persists across runs. A lookup returns
the accepted chain of the most similar remembered signature (same set of degradations, severities
within ``tolerance`` in L1), preferring higher gains; planners try it first.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from mosaicir.agents.messages import Candidate

SCHEMA = """CREATE TABLE IF NOT EXISTS plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    degradations TEXT NOT NULL,
    signature TEXT NOT NULL,
    chain TEXT NOT NULL,
    gain REAL NOT NULL,
    created REAL NOT NULL
)"""


def default_memory_path() -> Path:
    home = os.environ.get("MOSAICIR_HOME")
    if home:
        return Path(home) / "memory.sqlite"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mosaicir" / "memory.sqlite"


class Memory:
    """Plans that worked, by degradation signature."""

    def __init__(self, path: str | os.PathLike[str] | None = None, tolerance: float = 0.4) -> None:
        self.path = Path(path) if path is not None else default_memory_path()
        self.tolerance = tolerance
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    @staticmethod
    def key(signature: dict[str, float]) -> str:
        return ",".join(sorted(signature))

    def lookup(self, signature: dict[str, float]) -> list[Candidate]:
        """The remembered chain for the closest signature with a positive gain ([] if none)."""
        if not signature:
            return []
        with self._lock, self._connect() as db:
            rows = db.execute("SELECT signature, chain, gain FROM plans WHERE degradations = ? AND gain > 0",
                              (self.key(signature),)).fetchall()
        best, best_rank = [], None
        for stored, chain, gain in rows:
            other = json.loads(stored)
            distance = sum(abs(other[k] - signature[k]) for k in signature)
            if distance > self.tolerance:
                continue
            rank = (distance - 0.1 * gain)
            if best_rank is None or rank < best_rank:
                best, best_rank = [Candidate.model_validate(c) for c in json.loads(chain)], rank
        return best

    def record(self, signature: dict[str, float], chain: list[Candidate], gain: float) -> None:
        if not signature or not chain:
            return
        with self._lock, self._connect() as db:
            db.execute("INSERT INTO plans (degradations, signature, chain, gain, created) VALUES (?, ?, ?, ?, ?)",
                       (self.key(signature), json.dumps(signature, sort_keys=True),
                        json.dumps([c.model_dump(mode="json") for c in chain]), float(gain), time.time()))

    def __len__(self) -> int:
        with self._lock, self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM plans").fetchone()[0])
