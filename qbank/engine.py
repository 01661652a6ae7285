"""Drawing a verified variant: sample -> pin -> validate -> reject degenerate -> solve -> check."""

from __future__ import annotations

import hashlib
import os
import math
import sys
from typing import TYPE_CHECKING, Any, Mapping

from .coursecode import region_of
from .errors import FamilyError, GenerationError, InputError, QbankError, VerificationError
from .family import Family, Part
from .memo import active_memo
from .model import Variant
from .params import ParamError
from .registry import get_family

if TYPE_CHECKING:
    import numpy as np

MAX_SEED = 2**63 - 1
STRUCTURE_TRIES = 50  # a draw held to a structure may take this many times the family's max_tries


def rng_for(family_id: str, seed: int) -> np.random.Generator:
    """The one source of randomness for a draw: a Generator keyed by (seed, family id). No global state."""
    import numpy as np  # late: `qbank --help` needs no numpy

    key = int.from_bytes(hashlib.sha256(family_id.encode()).digest()[:8], "big")
    return np.random.default_rng([seed, key])


def draw(
    family: str | Family,
    seed: int,
    pinned: Mapping[str, Any] | None = None,
    constraints: Mapping[str, Any] | None = None,
    structure: Mapping[str, Any] | None = None,
) -> Variant:
    """One verified variant of `family` for `seed`. `pinned` replaces drawn params (partly or wholly);
    `constraints` (a bank item's ranges: name -> [lo, hi] or {"one_of": [...]}) reject other draws;
    `structure` (some of the family's `structure_of` features) rejects draws of another shape, so that
    every version of an exam slot gets a problem of the same size and effort. Inside a build that
    keeps its work (qbank.memo), a draw verified before by the same code is taken from the memo."""
    fam = get_family(family) if isinstance(family, str) else family
    memo = active_memo()
    if memo is not None:
        return memo.draw(fam, seed, pinned=pinned, constraints=constraints, structure=structure)
    return fresh_draw(fam, seed, pinned, constraints, structure)


def fresh_draw(
    fam: Family,
    seed: int,
    pinned: Mapping[str, Any] | None = None,
    constraints: Mapping[str, Any] | None = None,
    structure: Mapping[str, Any] | None = None,
) -> Variant:
    """`draw`, computed: sampled, solved and verified now, as one run of course code (qbank.coursecode:
    one time limit for the whole draw, rejected draws included; prints to stderr; no exits)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed: expected a non-negative integer, got {seed!r}")
    pinned = dict(pinned or {})
    rng = rng_for(fam.id, seed)
    structure = dict(structure or {})
    with region_of(fam, f"the draw of seed {seed}"):
        params, answers = _usable_params(fam, seed, rng, pinned, constraints or {}, structure)
        verify(fam, seed, params, answers)
    return Variant(family=fam.id, seed=seed, params=params, answers=answers, pinned=tuple(sorted(pinned)))


_PLAIN = (str, int, float, bool, type(None))
MAX_DEPTH = 50  # params and answers are lists of lists at most; deeper is a bug (or a cycle)


def _call(fam: Family, what: str, method, argument):
    """A family's own code raising an ordinary exception: one line naming the family, the method and
    the line of the family's file where it happened (QBANK_DEBUG=1 still shows the traceback). Any
    other way out (sys.exit, a BaseException, running out of time) is a FamilyError too
    (qbank.coursecode)."""
    try:
        with region_of(fam, what):
            return method(argument)
    except QbankError:
        raise
    except Exception as exc:
        if os.environ.get("QBANK_DEBUG"):
            raise
        import inspect
        import traceback

        source = inspect.getsourcefile(type(fam)) or ""
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == source]
        where = f" ({source}: line {frames[-1].lineno})" if frames else ""
        raise FamilyError(f"family {fam.id}: {what} raised {type(exc).__name__}: {exc}{where}") from None


def plain_data(fam: Family, data: Any, method: str, name: str) -> None:
    """A family's params and answers must be plain JSON data (dicts with text keys, lists, text, plain
    Python numbers and booleans, None): JSON, YAML and the templates see them alike, and a rebuild
    from the manifest gets back exactly what was drawn. A plugin returning numpy numbers or arrays,
    tuples, sets, non-text keys or NaN gets a FamilyError naming the field and what to return."""
    if not isinstance(data, dict):
        raise FamilyError(f"family {fam.id}: {method} returned a {_type_name(data)}; return a dict of {name}")
    problem = _not_plain(data, name)
    if problem:
        raise FamilyError(f"family {fam.id}: {method} returned {problem}")


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def _not_plain(value: Any, where: str) -> str | None:
    """What is not plain JSON data in `value` (the first field found, and what to return instead)."""
    stack = [(value, where, 0)]
    while stack:
        value, where, depth = stack.pop()
        kind = type(value)
        if depth > MAX_DEPTH:
            return f"{where} nested more than {MAX_DEPTH} levels deep (or holding itself); return flatter data"
        if kind in _PLAIN:
            if kind is float and not math.isfinite(value):
                return f"{where} as {value}, which JSON cannot hold; return a finite number"
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                if type(key) is not str:
                    return f"{where} with the key {key!r} ({_type_name(key)}); use text keys: str(...)"
                stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in reversed(list(enumerate(value))))
        elif advice := _numpy_advice(value):
            return f"{where} as {_type_name(value)}; {advice.format(name=where.rsplit('.', 1)[-1])}"
        elif isinstance(value, tuple):
            return f"{where} as a tuple; return a list"
        elif isinstance(value, (set, frozenset)):
            return f"{where} as a {kind.__name__}; return a sorted list"
        elif isinstance(value, str):
            return f"{where} as {_type_name(value)}; return plain text: str(...)"
        else:
            return (f"{where} as {_type_name(value)}, which is not plain JSON data; return plain Python numbers "
                    "(int(...), float(...)), text, booleans, lists and dicts")
    return None


def _numpy_advice(value: Any) -> str | None:
    """What to return instead of a numpy array or scalar (None for anything else, and when numpy was
    never imported: then nothing can be one)."""
    np = sys.modules.get("numpy")
    if np is None:
        return None
    if isinstance(value, np.ndarray):
        return "return a list: {name}.tolist()"
    if isinstance(value, (np.integer, np.floating)):
        return "return plain Python numbers (int(...), float(...)) and lists"
    if isinstance(value, np.bool_):
        return "return plain Python booleans: bool(...)"
    return None


def _usable_params(
    fam: Family,
    seed: int,
    rng: np.random.Generator,
    pinned: Mapping[str, Any],
    constraints: Mapping[str, Any],
    structure: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw until a sample is valid, of the required structure, not degenerate, within the ranges and
    free of rounding traps (an asked number that rounds to 0 at its precision or lies on a rounding
    boundary: qbank.grading.rounding_trap); return it with its answers. Degenerate draws have the
    family's budget of `max_tries`; draws of another structure are cheap to reject and have a budget
    of their own, STRUCTURE_TRIES times as large. Params pinned in full are taken with a rounding trap
    (there is no other draw to take), never with a degenerate reason."""
    from .grading import rounding_trap

    reason = "no draw was tried"
    rejected = misses = 0
    while rejected < fam.max_tries and misses < fam.max_tries * STRUCTURE_TRIES:
        drawn = _call(fam, "sample()", fam.sample, rng)
        plain_data(fam, drawn, "sample()", "params")
        unknown = sorted(set(pinned) - set(drawn))
        if unknown:
            raise InputError(
                f"params: unknown field {', '.join(unknown)} for {fam.id} "
                f"(it takes {', '.join(sorted(drawn))})"
            )
        params = _validated(fam, {**drawn, **pinned}, pinned, seed)
        if structure and not matches_structure(fam, params, structure):
            misses += 1
            continue
        reason = _call(fam, "degenerate()", fam.degenerate, params)
        if reason is None and constraints and not within(params, constraints):
            reason = "the drawn params fall outside the item's ranges"
        fully_pinned = set(pinned) >= set(drawn)
        if reason is None:
            plain_data(fam, params, "validate()", "params")  # sample() and the pins were plain; what validate made of them
            answers = _call(fam, "solve()", fam.solve, params)
            plain_data(fam, answers, "solve()", "answers")
            reason = None if fully_pinned else rounding_trap(fam, params, answers)
            if reason is None:
                return params, answers
        elif fully_pinned:
            raise InputError(f"params: the given values make a degenerate {fam.id} problem: {reason}")
        rejected += 1
    hint = " with the pinned params" if pinned else ""
    if structure and rejected == 0:
        reason = f"no draw had the structure {describe_structure(structure)}"
    raise GenerationError(
        f"{fam.id} (seed {seed}): no usable variant{hint} after {rejected + misses} draws; last reason: {reason}"
    )


def matches_structure(fam: Family, params: Mapping[str, Any], structure: Mapping[str, Any]) -> bool:
    with region_of(fam, "structure_of()"):
        features = fam.structure_of(params)
    return all(features.get(name) == value for name, value in structure.items())


def describe_structure(structure: Mapping[str, Any]) -> str:
    """`input 2x2, filter 3x3, stride 2, padding 1`: a structure as the exam command reports it."""
    shown = []
    for name, value in structure.items():
        if isinstance(value, list):
            value = f"{value[0]} entries" if len(value) == 1 else "x".join(map(str, value))
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        shown.append(f"{name} {value}")
    return ", ".join(shown) or "(none)"


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
        with region_of(fam, "validate()"):
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
    """Run the family's independent check; any failure becomes a VerificationError naming family and seed.
    The check is course code like a draw (qbank.coursecode), with a time limit of its own when it runs
    apart from one (a rebuild verifying a manifest)."""
    missing = sorted(set(fam.answers) - set(answers))
    extra = sorted(set(answers) - set(fam.answers))
    if missing or extra:
        raise FamilyError(f"{fam.id}: solve() answers do not match the card (missing {missing}, extra {extra})")
    part_specs(fam, params)
    from .grading import whole_values_problem

    problem = whole_values_problem(fam, answers)
    if problem:
        raise FamilyError(problem)
    if sys.flags.optimize:  # python -O or PYTHONOPTIMIZE removes every assert statement a check is made of
        raise QbankError("qbank cannot verify answers under python -O (or PYTHONOPTIMIZE set): families check "
                         "their answers with assert statements, which -O removes; run qbank without it")
    try:
        with region_of(fam, "check()"):
            fam.check(params, answers)
    except QbankError:
        raise
    except Exception as exc:  # AssertionError from a check, or anything the second engine raised
        detail = str(exc) or type(exc).__name__
        raise VerificationError(f"{fam.id} (seed {seed}): answer failed verification: {detail}") from exc


def part_specs(fam: Family, params: Mapping[str, Any]) -> tuple[Part, ...]:
    """The family's parts for these params, checked against the card: known answers, none asked twice,
    positive weights."""
    with region_of(fam, "parts()"):
        parts = tuple(fam.parts(params))
    seen: set[str] = set()
    for index, part in enumerate(parts):
        if not isinstance(part, Part):
            raise FamilyError(f"{fam.id}: parts() must return Part objects, got {part!r}")
        w = part.weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w > 0 or w != w or w == float("inf"):
            raise FamilyError(f"{fam.id}: part {index + 1} needs a positive weight, got {w!r}")
        for name in part.answers:
            if name not in fam.answers:
                raise FamilyError(f"{fam.id}: part {index + 1} names {name!r}, which is not an answer on the card")
            if name in seen:
                raise FamilyError(f"{fam.id}: answer {name!r} belongs to two parts")
            seen.add(name)
    return parts
