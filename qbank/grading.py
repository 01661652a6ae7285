"""What every medium grades, from the card's precisions: per number its tolerance, per part its statement.

One source for the paper, the keys, the practice site and the LMS exports:

- `tolerance_tree(answer, value)`: the absolute tolerance of each number of an answer (the shape of
  the value; None for what is not a number), from `Answer.grading` (qbank.precision);
- `grading_record(answers, values)`: what the manifest and keys record per answer: its precision and
  the tolerances used (and what an LMS uses, where it asks an exact fraction as a decimal);
- `rounding_trap(fam, params, answers)`: why a draw asks for a number that rounds to 0 or lies on a
  rounding boundary (the engine then draws again);
- `part_statement(...)`: the sentence a part ends with, saying how precisely its numbers are asked,
  as `\\qbankprecision{PAPER}{LMS}` (the LMS writer takes the second: Moodle and Canvas cannot read
  a fraction, so there an exact fraction is asked as a decimal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from .precision import Precision, is_fraction_value, is_short_decimal, lms_precision

if TYPE_CHECKING:
    from .family import Answer, Family

STATEMENT = "\\qbankprecision"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], float]]:
    """Every number inside an answer's value (lists, dicts), with its path of indices and keys."""
    if is_number(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, child in value.items():
            yield from number_leaves(child, (*path, str(key)))
    elif isinstance(value, (list, tuple)):
        for i, child in enumerate(value):
            yield from number_leaves(child, (*path, str(i)))


def _map_numbers(value: Any, function) -> Any:
    if is_number(value):
        return function(value)
    if isinstance(value, Mapping):
        return {str(k): _map_numbers(v, function) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_numbers(v, function) for v in value]
    return None


def tolerance_tree(answer: Answer, value: Any, lms: bool = False) -> Any:
    """The absolute tolerance of every number of `value` (same shape; None elsewhere). With `lms`, an
    exact fraction gets the tolerance of the decimal an LMS asks for instead."""
    grading = answer.grading
    if lms:
        return _map_numbers(value, lambda v: lms_precision(grading, v).tolerance(v))
    return _map_numbers(value, grading.tolerance)


def has_numbers(value: Any) -> bool:
    return next(number_leaves(value), None) is not None


def grading_record(answers: Mapping[str, Answer], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per asked answer holding numbers: {"precision": {...}, "tol": tolerances (shape of the value),
    "rel": relative tolerance}; an answer with exact fractions also has "lms": the precision and
    tolerances Moodle and Canvas grade with (a decimal)."""
    out: dict[str, dict[str, Any]] = {}
    for name, answer in answers.items():
        value = values.get(name)
        if value is None or not has_numbers(value):
            continue
        grading = answer.grading
        record: dict[str, Any] = {
            "precision": grading.record(),
            "tol": tolerance_tree(answer, value),
            "rel": grading.rel if grading.mode == "within" else 0.0,
        }
        if any(is_fraction_value(v) for _, v in number_leaves(value)) and grading.mode == "exact":
            record["lms"] = {"precision": lms_precision(grading, 1 / 3).record(), "tol": tolerance_tree(answer, value, lms=True)}
        out[name] = record
    return out


def tolerance_of(record: Mapping[str, Any] | None, path: Sequence[str], lms: bool = False) -> float:
    """The tolerance a grading record gives the number at `path` (0 where it records none)."""
    if not record:
        return 0.0
    tree = record["lms"]["tol"] if lms and "lms" in record else record["tol"]
    for key in path:
        tree = tree[key] if isinstance(tree, Mapping) else tree[int(key)]
    return float(tree or 0.0)


def asked_answers(fam: Family, params: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """The answers a variant asks for: those of its parts (every answer of a family without parts),
    less the ones that do not apply (None)."""
    from .engine import part_specs

    parts = part_specs(fam, params)
    names = [n for p in parts for n in p.answers] if parts else list(fam.answers)
    return [n for n in names if answers.get(n) is not None]


def rounding_trap(fam: Family, params: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
    """Why a draw has a rounding trap in an asked number, else None (see Precision.trap)."""
    for name in asked_answers(fam, params, answers):
        grading = fam.answers[name].grading
        for path, value in number_leaves(answers[name]):
            why = grading.trap(value)
            if why:
                where = f"{name}[{']['.join(path)}]" if path else name
                return f"rounding trap in {where}: {why}"
    return None


# ------------------------------------------------------------ mistakes a draw must tell from the answer


def _accepted(grading: Precision, wrong: Any, right: Any) -> bool:
    """Whether a mistaken value passes for the right one in full: the same shape and text, every number
    accepted at the precision."""
    if isinstance(right, Mapping):
        return isinstance(wrong, Mapping) and set(wrong) == set(right) and all(_accepted(grading, wrong[k], right[k]) for k in right)
    if isinstance(right, (list, tuple)):
        return isinstance(wrong, (list, tuple)) and len(wrong) == len(right) and all(
            _accepted(grading, w, r) for w, r in zip(wrong, right))
    if is_number(right) and is_number(wrong):
        return grading.accepts(right, wrong)
    return wrong == right


def _pairs(wrong: Any, right: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(path, wrong, right) for every number or text a mistaken value gives (a None inside it: a place the
    mistake leaves alone by its nature)."""
    if wrong is None:
        return
    if isinstance(wrong, Mapping):
        for key, value in wrong.items():
            yield from _pairs(value, right[key], (*path, str(key)))
    elif isinstance(wrong, (list, tuple)):
        for i, value in enumerate(wrong):
            yield from _pairs(value, right[i], (*path, str(i)))
    else:
        yield path, wrong, right


def scoring_mistake(fam: Family, params: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
    """Why a draw lets one of the family's `mistakes` score on an asked answer, else None (a family's
    `degenerate` refuses such a draw: versions must separate the mistakes a student makes).

    `fam.mistakes` maps a mistake, in words, to a function of the params giving the wrong answers it
    leads to: {answer: value}, a None value where it changes nothing, a None inside a value where it
    leaves that entry alone by its nature. How a mistake scores is the family's `mistake_unit` ("number",
    or a mapping from answer to unit): per "number", when any number it gives is accepted at the
    answer's precision (or when it gives an answer with nothing in it: the answer unchanged); per
    "answer", only when it reproduces the whole answer (an entry a slip leaves alone by coincidence,
    such as a window where a flipped filter agrees, is no sign of it)."""
    unit = fam.mistake_unit
    from .engine import part_specs

    parts = part_specs(fam, params)
    asked = {n for p in parts for n in p.answers} if parts else set(fam.answers)
    for mistake, wrong_of in fam.mistakes.items():
        for name, wrong in wrong_of(params).items():
            right = answers.get(name)
            if wrong is None or right is None or name not in asked:
                continue
            grading = fam.answers[name].grading
            if (unit if isinstance(unit, str) else unit.get(name, "number")) == "answer":
                if _accepted(grading, wrong, right):
                    return f"the mistake '{mistake}' gives the right {name}"
                continue
            pairs = list(_pairs(wrong, right))
            if not pairs:
                return f"the mistake '{mistake}' leaves {name} unchanged"
            for path, given, true in pairs:
                where = f"{name}[{']['.join(path)}]" if path else name
                if is_number(true) and is_number(given):
                    if grading.accepts(true, given):
                        return f"the mistake '{mistake}' gives {where} = {given:.6g}, accepted for {true:.6g} at {grading.describe()}"
                elif given == true:
                    return f"the mistake '{mistake}' gives {where} = {given!r}, the right answer"
    return None


# ------------------------------------------------------------ what a part says

# what a part says of its exact answers (unless they are whole): the same words whatever the values drawn,
# so that no version's sentence tells its students more (that a value is whole, or a fraction)
EXACT_PAPER = ("exactly (a fraction where the decimal does not end)",
               "Give exact values: a fraction where the decimal does not end.")


def _exact_lms(decimals_: int) -> tuple[str, str]:
    return (f"exactly, or to {decimals_} decimal places where the decimal does not end",
            f"Give exact values, or {decimals_} decimal places where the decimal does not end.")


def _phrase(answer: Answer, value: Any, lms: bool) -> tuple[str, str] | None:
    """How precisely this answer is asked: (the end of "Give X ...", the sentence when it is the part's
    only precision), or None when it goes without saying (whole numbers asked exactly). The words
    follow from the card alone, never from the values drawn."""
    grading = answer.grading
    if not has_numbers(value):
        return None
    if grading.mode == "exact":
        if grading.whole:
            return None
        if not grading.fractions:
            return "exactly", "Give exact values."
        return _exact_lms(grading.lms_decimals) if lms else EXACT_PAPER
    if grading.mode == "within":
        return f"to {grading.describe()}", f"Answers {grading.describe()} of the exact value are accepted."
    return f"to {grading.describe()}", f"Round to {grading.describe()}."


def whole_values_problem(fam: Family, answers: Mapping[str, Any]) -> str | None:
    """An exact answer holding a value its card does not allow (not whole under exact(whole=True); a
    fraction, or a decimal too long to write, under exact()): a bug of the family, named."""
    for name, spec in fam.answers.items():
        grading = spec.grading
        if grading.mode != "exact":
            continue
        for path, value in number_leaves(answers.get(name)):
            where = f"{name}[{']['.join(path)}]" if path else name
            if grading.whole and not float(value).is_integer():
                return f"{fam.id}: answer {where} = {value!r} is not a whole number, but its card says exact(whole=True)"
            if not grading.whole and not is_short_decimal(value):
                if grading.fractions and is_fraction_value(value):
                    continue
                allowed = "a short decimal or a fraction" if grading.fractions else "a short decimal (exact(fractions=True) allows fractions)"
                return f"{fam.id}: answer {where} = {value!r} is not {allowed}, but its card says it is asked exactly"
    return None


def _symbol(name: str, answer: Answer) -> str:
    if answer.symbol:
        return f"${answer.symbol}$"
    from .render import latex_escape

    return latex_escape(answer.label or name)


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def statement_text(fam: Family, answers: Mapping[str, Any], names: Sequence[str], lms: bool) -> str:
    """The sentence stating the precision of the numbers `names` ask ("" when none needs saying)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for name in names:
        value = answers.get(name)
        if value is None:
            continue
        phrase = _phrase(fam.answers[name], value, lms)
        if phrase:
            groups.setdefault(phrase, []).append(name)
    if not groups:
        return ""
    # an expression asked beside the numbers ("give sigma exactly and as a decimal") could be taken for one
    formulas = [n for n in names if answers.get(n) is not None and fam.answers[n].kind == "expression"]
    if len(groups) == 1 and not formulas:  # the part's numbers are all asked so: one short sentence
        return next(iter(groups))[1]
    return " ".join(f"Give {_join([_symbol(n, fam.answers[n]) for n in members])} {phrase}." for (phrase, _), members in groups.items())


def part_statement(fam: Family, answers: Mapping[str, Any], names: Sequence[str]) -> str:
    """`\\qbankprecision{PAPER}{LMS}` for the answers `names`, or "" when no number needs a statement."""
    paper = statement_text(fam, answers, names, lms=False)
    if not paper:
        return ""
    return f"{STATEMENT}{{{paper}}}{{{statement_text(fam, answers, names, lms=True)}}}"


def precision_for(answer: Answer, value: float, lms: bool = False) -> Precision:
    """The precision a number is graded with in a medium (an LMS asks an exact fraction as a decimal)."""
    return lms_precision(answer.grading, value) if lms else answer.grading
