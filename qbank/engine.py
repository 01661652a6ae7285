"""Drawing a verified variant: sample -> pin -> validate -> reject degenerate -> solve -> check."""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import numpy as np

from .errors import FamilyError, GenerationError, InputError, QbankError, VerificationError
from .family import Family
from .model import Variant
from .params import ParamError
from .registry import get_family

MAX_SEED = 2**63 - 1


def rng_for(family_id: str, seed: int) -> np.random.Generator:
    """The one source of randomness for a draw: a Generator keyed by (seed, family id). No global state."""
    key = int.from_bytes(hashlib.sha256(family_id.encode()).digest()[:8], "big")
    return np.random.default_rng([seed, key])


def draw(
    family: str | Family,
    seed: int,
    pinned: Mapping[str, Any] | None = None,
    constraints: Mapping[str, Any] | None = None,
) -> Variant:
    """One verified variant of `family` for `seed`. `pinned` replaces drawn params (partly or wholly);
    `constraints` (a bank item's ranges: name -> [lo, hi] or {"one_of": [...]}) reject other draws."""
    fam = get_family(family) if isinstance(family, str) else family
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed: expected a non-negative integer, got {seed!r}")
    pinned = dict(pinned or {})
    rng = rng_for(fam.id, seed)
    reason = "no draw was tried"
    for _ in range(fam.max_tries):
        drawn = fam.sample(rng)
        unknown = sorted(set(pinned) - set(drawn))
        if unknown:
            raise InputError(
                f"params: unknown field {', '.join(unknown)} for {fam.id} "
                f"(it takes {', '.join(sorted(drawn))})"
            )
        params = _validated(fam, {**drawn, **pinned}, pinned, seed)
        reason = fam.degenerate(params)
        if reason is None and constraints and not within(params, constraints):
            reason = "the drawn params fall outside the item's ranges"
        if reason is None:
            break
        if set(pinned) >= set(drawn):
            raise InputError(f"params: the given values make a degenerate {fam.id} problem: {reason}")
    else:
        hint = " with the pinned params" if pinned else ""
        raise GenerationError(
            f"{fam.id} (seed {seed}): no usable variant{hint} after {fam.max_tries} draws; last reason: {reason}"
        )
    answers = fam.solve(params)
    verify(fam, seed, params, answers)
    return Variant(family=fam.id, seed=seed, params=params, answers=answers, pinned=tuple(sorted(pinned)))


def within(params: Mapping[str, Any], constraints: Mapping[str, Any]) -> bool:
    """Do params fall inside the ranges ([lo, hi] inclusive, or {"one_of": [...]})?"""
    for name, spec in constraints.items():
        value = params[name]
        if isinstance(spec, Mapping):
            if value not in spec["one_of"]:
                return False
        elif not spec[0] <= value <= spec[1]:
            return False
    return True


def _validated(fam: Family, params: dict[str, Any], pinned: Mapping[str, Any], seed: int) -> dict[str, Any]:
    try:
        return fam.validate(params)
    except ParamError as exc:
        field = exc.field.split("[")[0].split(".")[0]
        if field in pinned or not pinned:
            if not pinned:  # a sampler that draws invalid params is a bug in the family
                raise FamilyError(f"{fam.id} (seed {seed}): the sampler drew invalid params: {exc}") from None
            raise
        raise InputError(
            f"{exc} (`{field}` was drawn at random and does not fit the pinned "
            f"{', '.join(sorted(pinned))}: pin `{field}` too)"
        ) from None


def verify(fam: Family, seed: int, params: Mapping[str, Any], answers: Mapping[str, Any]) -> None:
    """Run the family's independent check; any failure becomes a VerificationError naming family and seed."""
    missing = sorted(set(fam.answers) - set(answers))
    extra = sorted(set(answers) - set(fam.answers))
    if missing or extra:
        raise FamilyError(f"{fam.id}: solve() answers do not match the card (missing {missing}, extra {extra})")
    try:
        fam.check(params, answers)
    except QbankError:
        raise
    except Exception as exc:  # AssertionError from a check, or anything the second engine raised
        detail = str(exc) or type(exc).__name__
        raise VerificationError(f"{fam.id} (seed {seed}): answer failed verification: {detail}") from exc
