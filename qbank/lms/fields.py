"""What an LMS can grade of a verified answer: numbers within a tolerance, and choices.

Each answer of a variant is walked leaf by leaf, in the order the web page shows its inputs
(qbank.html.widgets.leaves_of), and every leaf becomes a `Field` or nothing:

- a number (not a boolean) is a NUMBER field: the verified value with the absolute tolerance every
  medium grades it with (qbank.grading: half a unit of the last place its precision asks; an exact
  fraction, which Moodle and Canvas cannot read, is asked as a decimal to `lms_decimals` places);
- a boolean is a CHOICE of yes and no; text with the card's `choices` is a CHOICE of them;
- any other text, or an expression, is a CHOICE between the verified value and distractors: the other
  values of the same field in this variant (the other sequences a beam search keeps...) and, for a
  formula, the verified formula with one of its numbers changed or its sign flipped, never one equal to
  it as a function; with no distractor at all (a run time written as O(...) in words) the leaf is
  `UNGRADABLE`, and the part asking it is answered in words, graded by hand (an essay).

No value is ever dropped: a leaf is graded by the LMS or its part is written.
"""

from __future__ import annotations

import cmath
import functools
import math
import re
from dataclasses import dataclass, replace
from html import escape
from typing import Any, Callable, Mapping, Sequence

from ..family import Answer
from ..grading import precision_for
from ..html.widgets import leaves_of
from ..labels import Words, answer_label, form_hint, is_formula, leaf_label

MAX_OPTIONS = 5  # a choice shows the verified value and at most four distractors
_EVAL_POINTS = ((0.731, -1.37, 2.113), (1.913, 0.457, -0.829), (-0.613, 2.71, 1.291))


@dataclass(frozen=True)
class Option:
    """One option of a choice: `text` is what it is (plain), `tex` its LaTeX when it is maths."""

    text: str
    tex: str = ""

    @property
    def html(self) -> str:
        """As an LMS shows it: maths in \\( \\) for its MathJax, else the text."""
        return f"\\({self.tex}\\)" if self.tex else escape(self.text, quote=False)


@dataclass(frozen=True)
class Field:
    """One value an LMS grades: a number within `tol`, or the `correct` one of `options`."""

    key: str  # the answer's name and index, stable over the variants of a slot: "output.3", "W.1.0"
    answer: str  # the answer's name on the card
    label: str  # in words: "output, entry 4", "W, row 2, column 1"
    hint: str  # the form and precision asked (qbank.labels.form_hint): "3 numbers, 4 decimal places each"
    kind: str  # "number", "choice", or "list" (every entry of an answer whose size is asked, as text)
    value: Any  # the verified value (a number, or the verified text)
    tol: float = 0.0  # number: absolute tolerance for this variant
    options: tuple[Option, ...] = ()
    correct: int = -1
    points: float = 0.0  # its share of the question's points (set when the question is built)
    part: int | None = None  # the part asking it (index from 0), None when the problem has no parts
    title: str = ""  # the answer as the problem names it ("dJ/dW2"), heading its fields

    @property
    def maths(self) -> bool:
        """Whether an option is maths (then an LMS must show radio buttons: maths never renders in a
        drop-down list)."""
        return any(o.tex for o in self.options)


class _Ungradable:
    def __repr__(self) -> str:
        return "UNGRADABLE"


UNGRADABLE = _Ungradable()


def answer_fields(name: str, answer: Answer, value: Any, pool: Mapping[str, Sequence[str]],
                  words: Words | None = None) -> list[Field] | _Ungradable:
    """The fields of one asked answer (none for a None value), or UNGRADABLE when one of its leaves is
    text the LMS cannot grade. `pool`: the variant's text values by leaf name (`text_pool`), from
    which distractors are taken."""
    title = answer_label(name, answer)
    if answer.size_asked and answer.grading.mode == "exact" and _entry_rows(value) is not None:
        rows = _entry_rows(value)
        texts = list_texts(rows, answer)
        hint = LIST_HINT["matrix" if len(rows) > 1 or isinstance(value[0], list) else "vector"]
        return [Field(name, name, title, hint, "list", texts[0], options=tuple(Option(t) for t in texts), correct=0, title=title)]
    if answer.size_asked and answer.grading.mode == "exact" and _entry_channels(value) is not None:
        texts = tensor_texts(_entry_channels(value), answer)
        return [Field(name, name, title, LIST_HINT["tensor"], "list", texts[0], options=tuple(Option(t) for t in texts),
                      correct=0, title=title)]
    out: list[Field] = []
    hint = form_hint(answer, value, lms=True)
    for index, leaf_kind, leaf in leaves_of(answer, value):
        path = index.split(",") if index else []
        key = ".".join([name, *path])
        label = leaf_label("", name, answer, path, value, words)
        if isinstance(leaf, bool):
            options = (Option("yes"), Option("no"))
            out.append(Field(key, name, label, hint, "choice", "yes" if leaf else "no", options=options,
                             correct=0 if leaf else 1, title=title))
        elif isinstance(leaf, (int, float)):
            out.append(Field(key, name, label, hint, "number", leaf, tol=precision_for(answer, leaf, lms=True).tolerance(leaf),
                             title=title))
        else:
            options = text_options(answer, leaf, pool.get(leaf_name(name, index), ()))
            if options is None:
                return UNGRADABLE
            correct = next(i for i, o in enumerate(options) if o.text == leaf)
            out.append(Field(key, name, label, hint, "choice", leaf, options=options, correct=correct, title=title))
    return out


LIST_HINT = {
    "vector": "the entries in order, separated by commas",
    "matrix": "the rows in order, separated by semicolons, the entries of a row by commas",
    "tensor": "the channels in order, separated by |; in each channel the rows in order, separated by semicolons, "
              "the entries of a row by commas",
}


def _entry_rows(value: Any) -> list[list[Any]] | None:
    """A vector or matrix of numbers as rows, else None."""
    def numbers(row: Any) -> bool:
        return isinstance(row, list) and bool(row) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)

    if numbers(value):
        return [value]
    if isinstance(value, list) and value and all(numbers(r) for r in value) and len({len(r) for r in value}) == 1:
        return value
    return None


def _entry_channels(value: Any) -> list[list[list[Any]]] | None:
    """A 3-D tensor of numbers (channels of equal-sized matrices) as it is, else None."""
    if not (isinstance(value, list) and value and all(isinstance(m, list) and m and isinstance(m[0], list) for m in value)):
        return None
    matrices = [_entry_rows(m) for m in value]
    if any(m is None for m in matrices) or len({(len(m), len(m[0])) for m in matrices}) != 1:
        return None
    return value


def tensor_texts(channels: Sequence[Sequence[Sequence[Any]]], answer: Answer) -> list[str]:
    """The ways a student types every entry of a 3-D answer whose size is asked, the first the one shown
    as the answer: a matrix per channel as `list_texts` writes it (rows separated by semicolons), the
    channels separated by "|" ("1, 2; 3, 4 | 5, 6; 7, 8", "1,2;3,4|5,6;7,8", "1 2; 3 4 | 5 6; 7 8"), with
    brackets or without, or nested brackets ("[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]")."""
    cells = [[[answer.grading.text(v) for v in row] for row in channel] for channel in channels]
    out: list[str] = []
    for inner, outer, between in ((", ", "; ", " | "), (",", ";", "|"), (" ", "; ", " | ")):
        body = between.join(outer.join(inner.join(row) for row in channel) for channel in cells)
        for text in (body, f"[{body}]"):
            if text not in out:
                out.append(text)
    for inner in (", ", ","):
        nested = "[" + inner.join("[" + inner.join("[" + inner.join(row) + "]" for row in channel) + "]" for channel in cells) + "]"
        if nested not in out:
            out.append(nested)
    return out


def list_texts(rows: Sequence[Sequence[Any]], answer: Answer) -> list[str]:
    """The ways a student types every entry of an answer whose size is asked (Answer.size_asked), the
    first the one shown as the answer: "3, -1, 4", "3,-1,4", "3 -1 4", with brackets or without; a
    matrix's rows separated by semicolons. An LMS compares text, so each is an accepted answer."""
    cells = [[answer.grading.text(v) for v in row] for row in rows]
    out: list[str] = []
    for inner, outer in ((", ", "; "), (",", ";"), (" ", "; ")):
        body = outer.join(inner.join(row) for row in cells)
        for text in (body, f"[{body}]"):
            if text not in out:
                out.append(text)
    if len(cells) > 1:
        for inner in (", ", ","):
            nested = "[" + inner.join("[" + inner.join(row) + "]" for row in cells) + "]"
            if nested not in out:
                out.append(nested)
    return out


def leaf_name(name: str, index: str) -> str:
    """What a text leaf is, for its distractors: the last dict key on its path ("sequence", "add"),
    else the answer's name."""
    words = [p for p in index.split(",") if p and not p.isdigit()] if index else []
    return f"{name}.{words[-1]}" if words else name


def text_pool(answers: Mapping[str, Answer], values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every text leaf of a variant's answers, by leaf name (the answer's name, or the last dict key of
    a table's field: the `sequence` of every beam of every step is one pool), in order, each once."""
    pool: dict[str, list[str]] = {}
    for name, answer in answers.items():
        for index, _, leaf in leaves_of(answer, values.get(name)):
            if isinstance(leaf, str):
                key = leaf_name(name, index)
                if leaf not in pool.setdefault(key, []):
                    pool[key].append(leaf)
    # the same field name in different answers (greedy.sequence, best.sequence) shares one pool
    merged: dict[str, list[str]] = {}
    for key, texts in pool.items():
        short = key.split(".")[-1] if "." in key else key
        for text in texts:
            if text not in merged.setdefault(short, []):
                merged[short].append(text)
    return {key: merged[key.split(".")[-1] if "." in key else key] for key in pool}


def text_options(answer: Answer, text: str, others: Sequence[str]) -> tuple[Option, ...] | None:
    """The options of a text leaf, the verified `text` among them; None when there is no distractor."""
    if answer.choices:
        if text not in answer.choices:
            return None  # a value the card does not list: not a choice the LMS can offer
        return tuple(Option(c) for c in answer.choices)
    formula = answer.kind == "expression" or is_formula(text)
    candidates = [t for t in others if t != text]
    same_length = [t for t in candidates if len(t.split()) == len(text.split())]
    candidates = same_length + [t for t in candidates if t not in same_length]
    options = [_option(text, formula)]
    seen = {_plain_key(text)}
    distractors: list[Option] = []
    for other in candidates:
        other_formula = formula and is_formula(other)
        if _plain_key(other) in seen or (other_formula and _same_function(text, other)):
            continue
        seen.add(_plain_key(other))
        distractors.append(_option(other, other_formula))
    if formula:
        for mutated in formula_distractors(text):
            if len(distractors) >= MAX_OPTIONS - 1:
                break
            if _plain_key(mutated) not in seen and not any(_same_function(mutated, d.text) for d in distractors if d.tex):
                seen.add(_plain_key(mutated))
                distractors.append(_option(mutated, True))
    if not distractors:
        return None
    options += distractors[: MAX_OPTIONS - 1]
    return tuple(sorted(options, key=lambda o: ((o.tex or o.text).lower(), o.text)))  # an order that tells nothing


def _plain_key(text: str) -> str:
    return " ".join(text.split()).lower()


def _option(text: str, formula: bool) -> Option:
    return Option(text, _latex(text)) if formula else Option(text)


@functools.lru_cache(maxsize=4096)
def _latex(text: str) -> str:
    import sympy

    try:
        return sympy.latex(_sympify(text))
    except (sympy.SympifyError, TypeError, ValueError, SyntaxError):
        return ""


_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTIONS: dict[str, Any] = {
    "Abs": abs, "sqrt": cmath.sqrt, "exp": cmath.exp, "log": cmath.log, "sin": cmath.sin, "cos": cmath.cos,
    "tanh": cmath.tanh, "sigmoid": lambda z: 1 / (1 + cmath.exp(-z)), "pi": math.pi,
}
# what Python may evaluate of a formula: arithmetic on names and numbers, no attribute access
_ARITHMETIC = re.compile(r"^(?!.*__)(?!.*\.[A-Za-z_])[A-Za-z0-9_.+\-*/() ]+$")


@functools.lru_cache(maxsize=4096)
def _sympify(text: str):
    """A formula of a family's answer as sympy reads it: its names as symbols (so that `beta` or `E` stay
    letters, not sympy's functions and constants), its functions sympy's."""
    import sympy

    local = {n: sympy.Symbol(n) for n in _NAMES.findall(text) if n not in _FUNCTIONS and n not in ("Max", "Min")}
    return sympy.sympify(text.replace("^", "**"), locals=local)


def formula_distractors(text: str, limit: int = MAX_OPTIONS - 1) -> list[str]:
    """The formula `text` with one number changed (n -> n + 1, n - 1, -n, 2n; a fraction's numerator
    or denominator by one), or its sign flipped: at most `limit`, none equal to `text` as a function,
    nor to each other."""
    import sympy

    try:
        expr = _sympify(text)
    except (sympy.SympifyError, TypeError, ValueError, SyntaxError):
        return []
    numbers = sorted(expr.atoms(sympy.Rational), key=lambda n: (abs(n), str(n)))
    candidates = [-expr]
    for n in numbers:
        if n.q == 1:
            changes = [n + 1, n - 1, -n, 2 * n]
        else:
            changes = [sympy.Rational(n.p + 1, n.q), sympy.Rational(n.p, n.q + 1), sympy.Rational(n.p - 1, n.q), -n]
        candidates += [expr.xreplace({n: c}) for c in changes if c != n]
    candidates = [c for c in candidates if c != 0 or expr == 0]  # a plain 0 tells too little
    out: list[str] = []
    kept = [text]
    for candidate in candidates:
        if len(out) >= limit:
            break
        shown = str(candidate).replace("**", "^")
        if any(_same_function(shown, k) for k in kept):
            continue
        kept.append(shown)
        out.append(shown)
    return out


@functools.lru_cache(maxsize=8192)
def _values(text: str) -> tuple[complex, ...] | None:
    """The formula's values at a few fixed points (its names set to them), None where it is undefined
    or cannot be read. Plain arithmetic is evaluated by Python, anything else by sympy."""
    names = sorted(set(_NAMES.findall(text)) - set(_FUNCTIONS))
    code = text.replace("^", "**")
    out = []
    for point in _EVAL_POINTS:
        values = {n: point[i % len(point)] + 0.1 * (i // len(point)) for i, n in enumerate(names)}
        try:
            if _ARITHMETIC.match(code):
                z = complex(eval(code, {"__builtins__": {}, **_FUNCTIONS, **values}))  # noqa: S307 - arithmetic only
            else:
                import sympy

                z = complex(_sympify(text).evalf(subs={sympy.Symbol(n): v for n, v in values.items()}))
        except Exception:  # undefined there (a division by zero, a log of 0), or not a formula at all
            return None
        if not (math.isfinite(z.real) and math.isfinite(z.imag)):
            return None
        out.append(z)
    return tuple(out)


def _same_function(text_a: str, text_b: str) -> bool:
    """Equal as functions: the same values at a few points (two that cannot be evaluated: the same text)."""
    va, vb = _values(text_a), _values(text_b)
    if va is None or vb is None:
        return va is None and vb is None and _plain_key(text_a) == _plain_key(text_b)
    return all(abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y)) for x, y in zip(va, vb))


def graded_parts(answers: Mapping[str, Answer], values: Mapping[str, Any], parts: Sequence[Sequence[str]],
                 words_of: Callable[[str], Words] | None = None) -> list[list[Field] | None]:
    """Per part (the answer names each asks; a family without parts counts as one part asking every
    answer), the fields the LMS grades; None for a part that asks nothing (answered in words) or asks
    a value the LMS cannot grade: it is written, graded by hand."""
    pool = text_pool(answers, values)
    out: list[list[Field] | None] = []
    for index, names in enumerate(parts):
        fields: list[Field] = []
        for name in names:
            if values.get(name) is None:
                continue
            found = answer_fields(name, answers[name], values[name], pool, words_of(name) if words_of else None)
            if found is UNGRADABLE:
                fields = []
                break
            fields += [replace(f, part=index) for f in found]
        out.append(fields or None)
    return out
