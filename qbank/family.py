"""The family contract: a short card plus sample / solve / check, and the registry they live in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import FamilyError

ANSWER_KINDS = ("integer", "number", "vector", "matrix", "sequence", "text", "expression", "boolean", "table")


@dataclass(frozen=True)
class Answer:
    """How one asked value is graded: its kind, its absolute tolerance, and what it is, in words."""

    kind: str
    text: str
    tol: float = 0.0


class Family:
    """Base class of a problem family. Subclasses set the card attributes and the three methods.

    - ``sample(rng)`` draws every random choice and returns plain JSON data (ints, floats, lists, dicts).
    - ``validate(params)`` checks the types and shapes of params (pinned or drawn) and returns them
      normalised; it raises ``ParamError`` naming the field and what was expected.
    - ``degenerate(params)`` returns a reason when the draw makes a bad problem (singular, tied...),
      else None; the engine then draws again, a bounded number of times.
    - ``solve(params)`` computes every asked value.
    - ``check(params, answers)`` verifies them by a method independent of ``solve``; it raises
      ``AssertionError`` (or VerificationError) on any mismatch.
    - ``context(params, answers)`` may add derived display data for the template (layout, not logic).
    """

    id: ClassVar[str]
    title: ClassVar[str]
    topic: ClassVar[str]
    difficulty: ClassVar[int] = 2
    answers: ClassVar[Mapping[str, Answer]]
    template: ClassVar[str] = ""
    max_tries: ClassVar[int] = 500

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    def degenerate(self, params: Mapping[str, Any]) -> str | None:
        return None

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, params: Mapping[str, Any], answers: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def context(self, params: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
        return {}


_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
REGISTRY: dict[str, Family] = {}


def _validate_card(cls: type) -> None:
    where = f"family class {cls.__module__}.{cls.__qualname__}"
    for attr in ("id", "title", "topic", "answers"):
        if not getattr(cls, attr, None):
            raise FamilyError(f"{where}: the card needs a non-empty `{attr}`")
    if not _ID.match(cls.id):
        raise FamilyError(f"{where}: id {cls.id!r} must be lower-case words joined by '-'")
    if not isinstance(cls.difficulty, int) or not 1 <= cls.difficulty <= 5:
        raise FamilyError(f"{where}: difficulty must be an integer from 1 to 5")
    for name, spec in cls.answers.items():
        if not isinstance(spec, Answer) or spec.kind not in ANSWER_KINDS:
            raise FamilyError(f"{where}: answer {name!r} needs an Answer with kind in {ANSWER_KINDS}")
    for method in ("sample", "solve", "check"):
        if getattr(cls, method) is getattr(Family, method):
            raise FamilyError(f"{where}: `{method}` is not implemented")


def register(cls: type[Family]) -> type[Family]:
    """Class decorator: validate the card and add the family to the registry."""
    _validate_card(cls)
    if not cls.template:
        cls.template = f"{cls.topic}/{cls.id}.tex.j2"
    existing = REGISTRY.get(cls.id)
    if existing is not None and type(existing).__qualname__ != cls.__qualname__:
        raise FamilyError(
            f"family id {cls.id!r} is registered twice: {type(existing).__module__} and {cls.__module__}"
        )
    REGISTRY[cls.id] = cls()
    return cls


def registered(predicate: Callable[[Family], bool] | None = None) -> list[Family]:
    return [f for f in REGISTRY.values() if predicate is None or predicate(f)]
