"""`qbank check`: every family over N seeds: draw, solve, verify independently, render the LaTeX."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from .engine import draw
from .errors import QbankError
from .family import Family
from .render import render_fragments


@dataclass(frozen=True)
class Failure:
    family: str
    seed: int
    message: str

    def __str__(self) -> str:
        return f"{self.family} seed {self.seed}: {self.message}"


def check_family(fam: Family, seeds: Sequence[int]) -> list[Failure]:
    failures = []
    for seed in seeds:
        try:
            variant = draw(fam, seed)
            render_fragments(variant)
        except QbankError as exc:
            failures.append(Failure(fam.id, seed, str(exc)))
        except Exception as exc:  # a crash in a family is a failure of that family and seed, not of the run
            failures.append(Failure(fam.id, seed, f"{type(exc).__name__}: {exc}"))
    return failures


def check_families(
    families: Sequence[Family], seeds: Sequence[int], report: Callable[[str], None] = lambda line: None
) -> list[Failure]:
    failures: list[Failure] = []
    for fam in families:
        start = time.perf_counter()
        found = check_family(fam, seeds)
        failures += found
        status = "ok" if not found else f"{len(found)} FAILED (first: seed {found[0].seed})"
        report(f"{fam.id:<24} {len(seeds)} seeds  {status}  ({time.perf_counter() - start:.1f} s)")
    return failures
