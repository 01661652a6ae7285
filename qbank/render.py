"""Rendering: one Jinja2 environment with LaTeX-safe delimiters, and the filters templates use.

Templates write ``\\VAR{x}`` for values and ``\\BLOCK{...}`` for statements, so LaTeX's own braces and
percent signs never clash. Undefined names fail loudly (StrictUndefined). Free text goes through the
``latex`` escape filter; numbers, vectors, matrices and sympy expressions through their own filters.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .errors import FamilyError
from .family import Family
from .precision import Precision
from .model import Variant, thaw
from .paths import template_dirs
from .registry import get_family

if TYPE_CHECKING:
    import jinja2

# jinja2, sympy and pylatex load on first use: the CLI's `--help`, `list` and a cached rebuild need none.

MARKER = "% qbank-variant:"
FIELD_MARKER = "% qbank-field:"  # conceptual templates name the bank field that follows


def latex_escape(text: Any) -> str:
    """Free text made safe for LaTeX (pylatex's escaping: & % $ # _ { } ~ ^ \\)."""
    from pylatex.utils import escape_latex

    return str(escape_latex(str(text)))


def num(value: Any, digits: int | Precision = 4, trim: bool = True) -> str:
    """A number as LaTeX math: integers plainly, decimals to `digits` places (trailing zeros trimmed
    unless trim=False, for columns of equal precision), fractions as \\frac. With a Precision for
    `digits` (a template's `prec.NAME`), the number as that answer is asked: `\\VAR{answers.loss|num(prec.loss)}`."""
    if isinstance(value, bool):
        raise TypeError("num: got a boolean")
    if isinstance(digits, Precision):
        return digits.latex(value)
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        sign = "-" if value < 0 else ""
        return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
    sympy = sys.modules.get("sympy")  # not loaded: then no value can be a sympy expression
    if sympy is not None and isinstance(value, sympy.Basic):
        return sympy.latex(value)
    if isinstance(value, int) and trim:
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"num: {value} is not finite")
    text = f"{value:.{digits}f}"
    if trim:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("-") and not text.strip("-0."):  # rounded to zero: no "-0"
        text = text[1:]
    return text


def signed(value: Any, digits: int = 4, trim: bool = True) -> str:
    """A term to append to an expression: '+ 3' or '- 3'."""
    text = num(value, digits, trim)
    return f"- {text[1:]}" if text.startswith("-") else f"+ {text}"


def fixed(value: Any, digits: int = 2) -> str:
    """A number with exactly `digits` decimals (-0.50, -1.90): for columns that should line up."""
    return num(value, digits, trim=False)


def paren(value: Any, digits: int = 4) -> str:
    """A number to use as a factor: negative ones in parentheses, as in 3 \\cdot (-2)."""
    text = num(value, digits)
    return f"({text})" if text.startswith("-") else text


def seq(values: Iterable[Any], digits: int = 4) -> str:
    """A list shown as [1, 4, 0, -2, 3] in math mode; long lists may break after a comma."""
    return "[" + ",\\ \\allowbreak ".join(num(v, digits) for v in values) + "]"


def matrix(rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
    body = " \\\\ ".join(" & ".join(num(v, digits) for v in row) for row in rows)
    return f"\\begin{{bmatrix}} {body} \\end{{bmatrix}}"


def augmented(rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
    """An augmented matrix [A | b]: a bar before the last column."""
    cols = len(rows[0]) - 1
    body = " \\\\ ".join(" & ".join(num(v, digits) for v in row) for row in rows)
    return f"\\left[\\begin{{array}}{{{'r' * cols}|r}} {body} \\end{{array}}\\right]"


def colvec(values: Iterable[Any], digits: int = 4) -> str:
    return matrix([[v] for v in values], digits)


def rowvec(values: Iterable[Any], digits: int = 4) -> str:
    return matrix([list(values)], digits)


def sym(expr: Any) -> str:
    """A sympy expression (or a string sympy can parse) as LaTeX."""
    import sympy

    if isinstance(expr, str):
        expr = sympy.sympify(expr)
    return sympy.latex(expr)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


FILTERS = {
    "latex": latex_escape,
    "num": num,
    "signed": signed,
    "fixed": fixed,
    "paren": paren,
    "seq": seq,
    "matrix": matrix,
    "colvec": colvec,
    "rowvec": rowvec,
    "sym": sym,
    "ordinal": ordinal,
    "augmented": augmented,
}


@functools.lru_cache(maxsize=None)
def _env(dirs: tuple[str, ...]) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(dirs)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(FILTERS)
    return env


def get_env() -> jinja2.Environment:
    """The one Jinja environment (per set of template folders)."""
    return _env(tuple(str(d) for d in template_dirs()))


def fragment_context(fam: Family, variant: Variant) -> dict[str, Any]:
    """What a family template sees: params, answers, `prec` (each answer's Precision, for the
    number filters: `\\VAR{answers.loss|num(prec.loss)}`) and the family's own `context`."""
    params, answers = thaw(variant.params), thaw(variant.answers)
    return {
        "family": fam,
        "seed": variant.seed,
        "params": params,
        "answers": answers,
        "prec": {name: spec.grading for name, spec in fam.answers.items()},
        **fam.context(params, answers),
    }


def render_fragment(variant: Variant, part: str) -> str:
    """The `problem` or `solution` block of the variant's family template."""
    fam = get_family(variant.family)
    return render_block(
        fam.template, part, fragment_context(fam, variant), f"{variant.family} seed {variant.seed}", owner=fam.id
    )


def render_fragments(variant: Variant, part_points: Sequence[float] | None = None) -> tuple[str, str]:
    """Both blocks, problem and solution, from one computation of the family's display context. With
    `part_points`, each part of the problem shows its points."""
    from .engine import part_specs  # late: the engine imports the registry

    fam = get_family(variant.family)
    context, label = fragment_context(fam, variant), f"{variant.family} seed {variant.seed}"
    problem, solution = (render_block(fam.template, part, context, label, owner=fam.id) for part in ("problem", "solution"))
    parts = part_specs(fam, variant.params)
    if parts:
        problem = mark_parts(problem, len(parts), part_points, f"{fam.id}: template {fam.template}")
    return state_precision(problem, fam, context["answers"], parts), solution


_END_MARK = "\n% qbank-end"


def state_precision(problem: str, fam: Family, answers: Mapping[str, Any], parts: Sequence[Any]) -> str:
    """End each part of a problem fragment (the whole problem, for a family without parts) with the
    sentence that says how precisely its numbers are asked (qbank.grading.part_statement): written
    by the engine from the card, never by the template."""
    from .grading import part_statement

    def insert(text: str, at: int, statement: str) -> str:
        return f"{text[:at].rstrip()}\n{statement}\n{text[at:]}" if statement else text

    end = problem.rfind(_END_MARK)
    if not parts:
        return insert(problem, end, part_statement(fam, answers, list(fam.answers)))
    starts = [m.start() for m in _PART.finditer(problem)]
    close = problem.rfind("\\end{parts}")
    bounds = [*starts[1:], close if close > starts[-1] else end]
    for part, at in reversed(list(zip(parts, bounds))):
        problem = insert(problem, at, part_statement(fam, answers, part.answers))
    return problem


# `\part` as a command, not \parts or \partial; points are the engine's to write, never the template's
_PART = re.compile(r"\\part(?![A-Za-z@])")


def mark_parts(problem: str, count: int, points: Sequence[float] | None, owner: str) -> str:
    """Check that a problem fragment shows `count` parts, and write each part's points into its
    `\\part` command (`\\part[2]`) when `points` are given."""
    found = _PART.findall(problem)
    if re.search(r"\\part\s*\[", problem):
        raise FamilyError(f"{owner}: the problem writes points into a \\part; leave them to the engine")
    if len(found) != count:
        raise FamilyError(f"{owner}: the problem shows {len(found)} \\part command(s), the card declares {count} part(s)")
    if points is None:
        return problem
    if len(points) != count:
        raise FamilyError(f"{owner}: {len(points)} part points given for {count} parts")
    marks = iter(points)
    return _PART.sub(lambda m: f"\\part[{points_text(next(marks))}]", problem)


def points_text(value: float) -> str:
    """Points as printed: 2, 1.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def render_block(template_name: str, part: str, context: Mapping[str, Any], label: str, owner: str = "") -> str:
    """One block of a fragment template, between marker lines that let a LaTeX error be traced back to
    `label` (a family and seed, or a bank item)."""
    import jinja2

    owner = owner or label
    env = get_env()
    try:
        template = env.get_template(template_name)
    except jinja2.TemplateNotFound:
        raise FamilyError(f"{owner}: template {template_name!r} not found in {[str(d) for d in template_dirs()]}") from None
    if part not in template.blocks:
        raise FamilyError(f"{owner}: template {template_name} has no \\BLOCK{{block {part}}}")
    try:
        body = "".join(template.blocks[part](template.new_context(dict(context))))
    except jinja2.UndefinedError as exc:
        raise FamilyError(f"{owner}: template {template_name} ({part}): {exc.message}") from None
    # the \message lets a document that runs out of time say which question TeX was typesetting
    return f"{MARKER} {label} ({part})\n\\message{{[qbank: {label} ({part})]}}%\n{body.strip()}\n% qbank-end\n"


def render_document(template_name: str, context: Mapping[str, Any]) -> str:
    import jinja2

    try:
        return get_env().get_template(template_name).render(**context)
    except jinja2.UndefinedError as exc:
        raise FamilyError(f"document template {template_name}: {exc.message}") from None
