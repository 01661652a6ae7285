"""Comparisons for a family's `check`: an answer against the value an independent method gives, failing
with a message that names the answer and entry. They raise AssertionError themselves (never with an
`assert` statement, which `python -O` removes), which the engine reports as a failed verification."""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping


def close(got: Any, want: float, what: str, tol: float) -> None:
    """`got` is a number within tol * max(1, |want|) of `want`."""
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        raise AssertionError(f"{what}: not a number: {got!r}")
    if not abs(got - want) <= tol * max(1.0, abs(want)):
        raise AssertionError(f"{what} = {got}, the check gives {want}")


def close_all(got: Any, want: list, what: str, tol: float) -> None:
    """`got` is a (nested) list of the shape of `want`, each entry `close` to its own."""
    if not isinstance(got, list) or len(got) != len(want):
        raise AssertionError(f"{what}: expected {len(want)} entries, got {got!r}")
    for k, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, list):
            close_all(g, w, f"{what}[{k}]", tol)
        else:
            close(g, w, f"{what}[{k}]", tol)


def central_difference(loss: Callable[[dict[str, Any]], float], base: Mapping[str, Any], name: str,
                       index: tuple[int, ...] = (), step: float = 1e-5) -> float:
    """d loss / d base[name][index...] by a central difference: `loss` of a copy of `base` with that one
    entry moved by +step and by -step (an empty index moves base[name] itself)."""

    def nudged(by: float) -> float:
        values = copy.deepcopy(dict(base))
        if not index:
            values[name] = values[name] + by
        else:
            holder = values[name]
            for i in index[:-1]:
                holder = holder[i]
            holder[index[-1]] += by
        return loss(values)

    return (nudged(step) - nudged(-step)) / (2 * step)
