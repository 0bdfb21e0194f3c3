"""A tiny name -> factory registry shared by cells and models.

A duplicate name is an error; an unknown name says which names exist and the
closest match. Names may be selected with shell-style patterns (``'lstm*'``). Also the
argument checks the estimators share: a choice, a whole number, a number.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def did_you_mean(name: str, options: list[str] | tuple[str, ...]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``options``, or an empty string."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def is_whole(v: Any) -> bool:
    """An int or a NumPy integer, not a bool (True would read as 1)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """A finite real number (NumPy's too), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def check_choice(name: str, value: object, options: tuple | list) -> None:
    """``value`` must be one of ``options``: else one ValueError naming the closest."""
    if value not in options:
        shown = ", ".join(repr(o) for o in options)
        strings = [o for o in options if isinstance(o, str)]
        hint = did_you_mean(value, strings) if isinstance(value, str) else ""
        raise ValueError(f"unknown {name} {value!r}.{hint} Expected one of {shown}")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    summary: str  # one line, shown by `seqae list`


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind  # "cell", "model": used in error messages
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, summary: str | None = None) -> Callable[[T], T]:
        """Decorator: register ``obj`` as ``name``; the summary defaults to its docstring line 1."""

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
            self._entries[name] = Entry(name, obj, summary or (doc[0] if doc else ""))
            return obj

        return deco

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(self._unknown(name)) from None

    def select(self, patterns: str | list[str] | None) -> list[str]:
        """Names matching comma-separated shell patterns; every pattern must match something."""
        if patterns is None:
            return list(self._entries)
        if isinstance(patterns, str):
            patterns = [p.strip() for p in patterns.split(",") if p.strip()]
        chosen: list[str] = []
        for pat in patterns:
            hits = [n for n in self._entries if fnmatch.fnmatchcase(n, pat)]
            if not hits:
                raise ValueError(self._unknown(pat))
            chosen += [h for h in hits if h not in chosen]
        return chosen

    def _unknown(self, name: str) -> str:
        hint = did_you_mean(name, list(self._entries))
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(self._entries)}"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)
