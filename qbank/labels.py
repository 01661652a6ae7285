"""How an asked answer reads to a student, in every medium that shows inputs (the practice site, the LMS):

- `answer_label(name, answer)`: its name as the problem writes it, in plain text (`Answer.label`,
  else the card's name);
- `position_label(answer, path, value)`: where a number sits inside it, in words ("entry 2",
  "row 2, column 1", or the card's own `Answer.index` formats: "after step 1, rank 2");
- `leaf_label(...)`: both, after the part's letter: "(b) dJ/dW2, entry 1";
- `form_hint(answer, value, lms)`: what form the answer takes and how precisely it is asked ("3
  numbers, 4 decimal places each"), never its value or the formula that gives it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from .grading import is_number, number_leaves

if TYPE_CHECKING:
    from .family import Answer

# a family's own words for a position that depends on the draw (Family.position_word, bound to a
# variant's params and an answer): (list level, position from 0) -> words, or None for the default
Words = Callable[[int, int], Optional[str]]

EXPRESSION_FORM = "an expression, written with + - * / ^ ( ) and sqrt, exp, log"  # no example: it could be an answer
# A formula: the characters of sympy's output, at least one digit or operator, and no two words side
# by side (a token sequence such as "data deep" or "O(T k M log M)" is text, not a product).
_FORMULA_CHARS = re.compile(r"^[A-Za-z0-9_.+\-*/^() ]+$")
_FORMULA_MARK = re.compile(r"[0-9+\-*/^()]")
_JUXTAPOSED = re.compile(r"[A-Za-z0-9_.)]\s+[A-Za-z0-9_.(]")
_VARIABLE = re.compile(r"^[A-Za-z][0-9]*$")


def is_formula(text: str) -> bool:
    """Whether a string answer reads as an arithmetic formula rather than words: sympy's characters
    with a digit or an operator and no two words side by side, or a lone variable (x, w, u1)."""
    s = text.strip()
    if _VARIABLE.match(s):
        return True
    return bool(s) and bool(_FORMULA_CHARS.match(s)) and bool(_FORMULA_MARK.search(s)) and not _JUXTAPOSED.search(s)


def _text_leaves(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _text_leaves(v)]
    return []


def answer_label(name: str, answer: Answer) -> str:
    return answer.label or name


def _is_matrix(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple)) and bool(value)
        and all(isinstance(r, (list, tuple)) and r and not any(isinstance(v, (list, tuple, Mapping)) for v in r) for r in value)
        and len({len(r) for r in value}) == 1
    )


def position_label(answer: Answer, path: Sequence[str], value: Any, family_words: Words | None = None) -> str:
    """`path` (list indices from 0 and dict keys, from the answer's root) in words: "row 2, column 1"."""
    return ", ".join(position_words(answer, path, value, family_words))


def position_words(answer: Answer, path: Sequence[str], value: Any, family_words: Words | None = None) -> list[str]:
    """`path` in words, a word per step: the family's own words for a position that depends on the draw
    (`family_words`: "t = 12"), else the card's `index` format for each list level, else "entry i" (a
    matrix's two indices as one "row i, column j"); dict keys as the card's `keys` name them."""
    words: list[str] = []
    node = value
    level = 0
    steps = list(path)
    while steps:
        key = steps.pop(0)
        if isinstance(node, Mapping):
            words.append(answer.keys.get(str(key), str(key)))
            node = node.get(key)
            continue
        i = int(key)
        special = family_words(level, i) if family_words else None
        if special:
            words.append(special)
        elif level < len(answer.index):
            words.append(answer.index[level].format(i + 1))
        elif _is_matrix(node) and steps:
            j = int(steps.pop(0))
            words.append(f"row {i + 1}, column {j + 1}")
            node = node[i][j]
            level += 2
            continue
        elif node and all(isinstance(r, Mapping) for r in node):  # a table of records: its rows
            words.append(f"row {i + 1}")
        else:
            words.append(f"entry {i + 1}")
        node = node[i]
        level += 1
    return words


def leaf_label(part: str, name: str, answer: Answer, path: Sequence[str], value: Any, family_words: Words | None = None) -> str:
    """"(b) dJ/dW2, entry 1": the part's letter (when the problem has parts), the answer's label and
    the position of the leaf."""
    where = position_label(answer, path, value, family_words)
    head = f"({part}) {answer_label(name, answer)}" if part else answer_label(name, answer)
    return f"{head}, {where}" if where else head


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def precision_words(answer: Answer, value: Any, lms: bool = False) -> str:
    """How precisely the numbers of `value` are asked, for a hint: "4 decimal places", "exact (a fraction
    where the decimal does not end)", "a whole number"; from the card alone, never from the values drawn
    (a hint must not tell one version that its answer is whole)."""
    numbers = [v for _, v in number_leaves(value)]
    if not numbers:
        return ""
    grading = answer.grading
    if grading.mode == "exact":
        if grading.whole:
            return "a whole number" if len(numbers) == 1 else "whole numbers"
        if not grading.fractions:
            return "exact"
        if lms:
            return f"exact, or {grading.lms_decimals} decimal places where the decimal does not end"
        return "exact (a fraction where the decimal does not end)"
    return grading.describe()


def form_hint(answer: Answer, value: Any, lms: bool = False) -> str:
    """The hint beside an answer's inputs: its form and precision ("a number, 4 decimal places"; "a 2
    by 3 matrix, 3 significant digits each"; "yes or no"; "left or right"), or the card's `form`."""
    precision = precision_words(answer, value, lms)
    if answer.form:
        shape = answer.form
    elif isinstance(value, bool):
        shape = "yes or no"
    elif answer.choices:
        shape = " or ".join(answer.choices)
    elif isinstance(value, str):
        shape = EXPRESSION_FORM if answer.kind == "expression" else "text"
    elif is_number(value):
        shape = "a number"
    elif _is_matrix(value):
        rows = len(value)
        shape = f"{'an' if str(rows).startswith('8') or rows in (11, 18) else 'a'} {rows} by {len(value[0])} matrix"
    elif isinstance(value, (list, tuple)) and all(is_number(v) for v in value):
        shape = _count(len(value), "number")
    else:  # a table of several kinds of values: what its text leaves are, then its numbers
        texts = _text_leaves(value)
        formulas = [t for t in texts if answer.kind == "expression" or is_formula(t)]
        pieces = [EXPRESSION_FORM] if formulas else (["words"] if texts else [])
        if precision and precision not in ("a whole number", "whole numbers"):
            pieces.append(f"numbers {precision}")
        return "; ".join(pieces)
    if precision in ("a whole number", "whole numbers"):
        return shape if shape and shape != "a number" else precision
    if not precision:
        return shape
    many = len(list(number_leaves(value))) > 1
    if precision == "exact" and many and shape:  # not "exact each"
        return f"{shape}, exact values"
    return f"{shape}, {precision}{' each' if many and shape else ''}" if shape else precision
