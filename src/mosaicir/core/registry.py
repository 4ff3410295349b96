"""A typed registry of named things (degradations, tools, metrics, layouts, suites).

Registration is explicit; an unknown name raises :class:`UnknownNameError` with a
"did you mean" suggestion. Third-party entries plug in through a Python entry-point group.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from mosaicir.core.errors import MosaicirError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> entry mapping with metadata and helpful errors.

    Args:
        kind: what the registry holds, used in messages ("tool", "degradation", ...).
        entry_point_group: optional entry-point group loaded on first lookup.
        loader: turns what an entry point names into an entry, ``loader(name, loaded) -> entry``
            (e.g. a class or factory into a checked instance); raises to refuse it. By default
            the loaded object itself.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None,
                 loader: Callable[[str, object], T] | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.loader = loader
        self._entries: dict[str, T] = {}
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str, entry: T, *, replace: bool = False) -> T:
        if not replace and name in self._entries:
            raise MosaicirError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def decorator(self, name: str) -> Callable[[T], T]:
        """Use as ``@registry.decorator("name")`` above a class."""

        def wrap(entry: T) -> T:
            return self.register(name, entry)

        return wrap

    def get(self, name: str) -> T:
        self._load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self._unknown_message(name)) from None

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(self._entries))
        return f"unknown {self.kind} {name!r}{hint} (known: {known})"

    def names(self) -> list[str]:
        self._load_plugins()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._load_plugins()
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name in self._entries:
                continue
            try:
                loaded = ep.load()
                self.register(ep.name, self.loader(ep.name, loaded) if self.loader is not None else loaded)
            except Exception as exc:  # a broken plug-in must not break the registry
                raise MosaicirError(
                    f"cannot load {self.kind} plug-in {ep.name!r} from {ep.value}: {exc}"
                ) from exc
