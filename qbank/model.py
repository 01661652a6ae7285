"""The data that flows from a family to templates and writers: a frozen, JSON-serialisable Variant."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


def _freeze(value: Any) -> Any:
    """A deep, read-only copy of JSON-shaped data (dicts become mappings, lists become tuples)."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again, as json and yaml want them."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def ensure_json(value: Any, where: str) -> None:
    """Raise TypeError naming `where` when value holds anything JSON cannot carry (numpy types, Fractions...)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            raise TypeError(f"{where} as {value}, which JSON cannot hold")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} with a non-text key {k!r}")
            ensure_json(v, f"{where}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            ensure_json(v, f"{where}[{i}]")
        return
    kind = type(value).__name__ if type(value).__module__ == "builtins" else f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
    raise TypeError(f"{where} as {kind}, which is not plain JSON data")


@dataclass(frozen=True)
class Variant:
    """One drawn, solved and verified instance of a family.

    `params` holds every random choice (what the student is shown is rendered from it);
    `answers` holds every asked value (what the grader uses). Both are plain JSON data.
    """

    family: str
    seed: int
    params: Mapping[str, Any]
    answers: Mapping[str, Any]
    pinned: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        ensure_json(thaw(self.params), f"{self.family}.params")
        ensure_json(thaw(self.answers), f"{self.family}.answers")
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "answers", _freeze(self.answers))
        object.__setattr__(self, "pinned", tuple(self.pinned))

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "seed": self.seed,
            "params": thaw(self.params),
            "answers": thaw(self.answers),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)
