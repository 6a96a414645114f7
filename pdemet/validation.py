"""Validated input: reading one TOML table with one-line errors, and declared parameters.

Every problem is one ``ScenarioError`` line naming the key path, what was given and what was expected
(``organs.lung.diffusion: got a string 'fast', expected a non-negative number in mm²/day``).
:class:`Param` declares a parameter of a term or a cluster law (unit, default, meaning, source).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from pdemet.errors import fail


def _kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", list: "a list", dict: "a table", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


class Table:
    """Reads keys out of one TOML table; `done()` rejects the keys nobody asked for."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            fail(path, f"got {_kind(data)}, expected a table")
        self.data, self.path, self.seen = data, path, set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = ..., required: bool = False) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is ... or required:
                typo = hint(name, [k for k in self.data if k not in self.seen])  # e.g. [simulaton]
                fail(self.key(name), "missing; this key is required" + typo.replace("did you mean", "is it"))
            return default
        return self.data[name]

    def number(self, name: str, default: Any = ..., *, positive: bool = False, nonneg: bool = False,
               unit: str = "", integer: bool = False, maximum: float | None = None) -> Any:
        value = self.raw(name, default)
        if value is None:
            return None
        return check_number(value, self.key(name), positive=positive, nonneg=nonneg, unit=unit,
                            integer=integer, maximum=maximum)

    def numbers(self, name: str, length: int | None, default: Any = ..., *, positive: bool = False,
                nonneg: bool = False, unit: str = "", scalar_ok: bool = True) -> Any:
        """A number or, when `length` is given, a list of that many numbers (one per clone)."""
        value = self.raw(name, default)
        if isinstance(value, list):
            if length is not None and len(value) != length:
                fail(self.key(name), f"got {len(value)} values, expected {length} (one per clone) or one number")
            return [check_number(v, f"{self.key(name)}[{i}]", positive=positive, nonneg=nonneg, unit=unit)
                    for i, v in enumerate(value)]
        if not scalar_ok:
            fail(self.key(name), f"got {_kind(value)}, expected a list of {length} numbers")
        return check_number(value, self.key(name), positive=positive, nonneg=nonneg, unit=unit)

    def string(self, name: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> Any:
        value = self.raw(name, default)
        if value is None:
            return None
        if not isinstance(value, str):
            fail(self.key(name), f"got {_kind(value)} {value!r}, expected a string")
        if choices and value not in choices:
            fail(self.key(name), f"got {value!r}, expected one of {', '.join(map(repr, choices))}" + hint(value, choices))
        return value

    def boolean(self, name: str, default: Any = ...) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            fail(self.key(name), f"got {_kind(value)} {value!r}, expected true or false")
        return value

    def strings(self, name: str, default: Any = ...) -> list[str]:
        value = self.raw(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(self.key(name), f"got {value!r}, expected a list of strings")
        return list(value)

    def vector(self, name: str, n: int, default: Any = ..., *, positive: bool = False, integer: bool = False,
               unit: str = "") -> list:
        value = self.raw(name, default)
        if not isinstance(value, list) or len(value) != n:
            fail(self.key(name), f"got {value!r}, expected a list of {n} numbers{f' in {unit}' if unit else ''}")
        return [check_number(v, f"{self.key(name)}[{i}]", positive=positive, integer=integer, unit=unit)
                for i, v in enumerate(value)]

    def table(self, name: str, required: bool = False) -> "Table":
        value = self.raw(name, None if not required else ...)
        return Table({} if value is None else value, self.key(name))

    def done(self, allowed_extra: tuple[str, ...] = ()) -> None:
        for name in self.data:
            if name not in self.seen and name not in allowed_extra:
                known = sorted(self.seen | set(allowed_extra))
                fail(self.key(name), f"unknown key; known keys here: {', '.join(known)}" + hint(name, known))


def hint(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_number(value: Any, path: str, *, positive=False, nonneg=False, unit="", integer=False, maximum=None):
    what = ("a positive " if positive else "a non-negative " if nonneg else "a ") + ("integer" if integer else "number")
    what += f" in {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        fail(path, f"got {_kind(value)} {value!r}, expected {what}")
    if not math.isfinite(value):
        fail(path, f"got {value!r}, expected {what} (finite)")
    if (positive and value <= 0) or (nonneg and value < 0) or (maximum is not None and value > maximum):
        fail(path, f"got {value!r}, expected {what}" + (f" at most {maximum}" if maximum is not None else ""))
    return value


@dataclass(frozen=True)
class Param:
    """A parameter: unit, default (None = required), meaning and source.

    ``per_clone`` parameters take one number or one per clone and reach the code as a tuple of K floats.
    """

    unit: str
    default: Any
    doc: str = ""
    per_clone: bool = False
    positive: bool = False
    nonneg: bool = True
    integer: bool = False
    maximum: float | None = None

    def read(self, table, n_clones: int, name: str):
        """The validated value of ``name`` in ``table`` (a :class:`pdemet.validation.Table`)."""
        if self.per_clone:
            value = table.numbers(name, n_clones, self.default, positive=self.positive, nonneg=self.nonneg,
                                  unit=self.unit)
            return tuple(value) if isinstance(value, list) else (value,) * n_clones
        return table.number(name, self.default, positive=self.positive, nonneg=self.nonneg, unit=self.unit,
                            integer=self.integer, maximum=self.maximum)
