"""Small draw helpers for samplers. Each takes the family's numpy Generator and returns plain Python data."""

from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def integer(rng: np.random.Generator, lo: int, hi: int, *, nonzero: bool = False) -> int:
    """A uniform integer in [lo, hi] (both ends included), optionally never 0."""
    while True:
        value = int(rng.integers(lo, hi + 1))
        if not (nonzero and value == 0):
            return value


def int_vector(rng: np.random.Generator, n: int, lo: int, hi: int, *, nonzero: bool = False) -> list[int]:
    return [integer(rng, lo, hi, nonzero=nonzero) for _ in range(n)]


def int_matrix(
    rng: np.random.Generator, rows: int, cols: int, lo: int, hi: int, *, nonzero: bool = False
) -> list[list[int]]:
    return [int_vector(rng, cols, lo, hi, nonzero=nonzero) for _ in range(rows)]


def choice(rng: np.random.Generator, options: Sequence[T]) -> T:
    return options[int(rng.integers(len(options)))]


def shuffled(rng: np.random.Generator, items: Sequence[T]) -> list[T]:
    order = rng.permutation(len(items))
    return [items[int(i)] for i in order]


def decimal(rng: np.random.Generator, lo: float, hi: float, step: float = 0.1, *, nonzero: bool = False) -> float | int:
    """A short decimal on the grid lo, lo+step, ..., hi, rounded so that it prints as written."""
    n = int(round((hi - lo) / step))
    digits = max(0, -int(np.floor(np.log10(step) + 1e-9)))
    while True:
        value = round(lo + step * int(rng.integers(0, n + 1)), digits)
        if not (nonzero and value == 0):
            return int(value) if float(value).is_integer() else value
