"""How answers read to a student on the site and in an LMS (qbank.labels): named as the problem names
them, positions in words, and hints that give the form and precision asked, never the answer."""

from __future__ import annotations

import re

import pytest

from qbank.engine import draw, part_specs
from qbank.family import Answer
from qbank.fairness import part_labels
from qbank.grading import number_leaves
from qbank.html import widgets
from qbank.labels import form_hint, leaf_label, position_label
from qbank.lms.fields import graded_parts
from qbank.model import thaw
from qbank.precision import decimals, exact, sig
from qbank.registry import all_families

# what a hint may say with digits: a precision, a size, an example of the form
ALLOWED = re.compile(
    r"\d+ (?:decimal places?|significant digits?)|\d+ numbers?|\d+ by \d+"
)


def test_positions_read_as_words():
    matrix = Answer("matrix", "x", precision=decimals(4), label="dJ/dW1")
    assert leaf_label("c", "dW1", matrix, ["1", "0"], [[1.0, 2.0], [3.0, 4.0]]) == "(c) dJ/dW1, row 2, column 1"
    beams = Answer("table", "x", precision=exact(), index=("after step {}", "rank {}"))
    value = [[{"sequence": "a b", "logp": -1.5}], [{"sequence": "a", "logp": -2.25}]]
    assert leaf_label("a", "beams", beams, ["1", "0", "logp"], value) == "(a) beams, after step 2, rank 1, logp"
    records = Answer("table", "x")
    assert position_label(records, ["0", "1"], [[{"a": 1}, {"a": 2}]]) == "entry 1, row 2"
    assert leaf_label("", "y_hat", Answer("number", "x", label="y-hat"), [], 0.5) == "y-hat"


def test_hints_give_form_and_precision():
    assert form_hint(Answer("matrix", "x", precision=decimals(4)), [[1.0, 2.0]]) == "a 1 by 2 matrix, 4 decimal places each"
    assert form_hint(Answer("number", "x", precision=sig(3)), 0.004) == "a number, 3 significant digits"
    # an exact answer's hint says the same whatever the value drawn (whole, a short decimal, a fraction)
    hints = {form_hint(Answer("number", "x", precision=exact(fractions=True)), v) for v in (1 / 12, 2.5, 3)}
    assert hints == {"a number, exact (a fraction where the decimal does not end)"}
    assert form_hint(Answer("number", "x", precision=exact(fractions=True)), 1 / 12, lms=True) == (
        "a number, exact, or 4 decimal places where the decimal does not end")
    assert {form_hint(Answer("number", "x", precision=exact()), v) for v in (2.5, 3)} == {"a number, exact"}
    assert form_hint(Answer("vector", "x", precision=exact(whole=True)), [1, 2]) == "2 numbers"
    assert form_hint(Answer("integer", "x"), 3) == "a whole number"
    assert form_hint(Answer("boolean", "x"), True) == "yes or no"
    assert form_hint(Answer("text", "x", choices=("left", "right")), "left") == "left or right"


def _formulas(text: str) -> list[str]:
    """The formula-like pieces of a card's text: runs holding an operator or a function name."""
    pieces = re.findall(r"[A-Za-z0-9_.^*/+()\-]*(?:[=*/^]|(?:sqrt|exp|log|tanh|sigma)\()[A-Za-z0-9_.^*/+()\-]*", text)
    return [p for p in pieces if len(p) >= 3]


def _value_texts(value) -> set[str]:
    out = set()
    for _, v in number_leaves(value):
        for text in (repr(v), f"{v:g}", f"{v:.4f}".rstrip("0").rstrip(".")):
            if text not in ("0", "1", "-1", "2", "3", "4"):
                out.add(text)
    if isinstance(value, str):
        out.add(value)
    return out


def test_no_hint_gives_an_answer_away():
    """For every family: neither the site's hint nor the LMS's holds an answer's value or a formula of
    its card's text."""
    for fam in all_families():
        for seed in range(12):
            variant = draw(fam, seed)
            answers = thaw(variant.answers)
            for name, answer in fam.answers.items():
                value = answers.get(name)
                if value is None:
                    continue
                for hint in (form_hint(answer, value), form_hint(answer, value, lms=True)):
                    bare = ALLOWED.sub("", hint)
                    where = f"{fam.id} seed {seed} {name}: hint {hint!r}"
                    assert "=" not in bare, where
                    for text in _value_texts(value):
                        if text in answer.choices or isinstance(value, bool):
                            continue
                        assert not re.search(rf"(?<![\w.]){re.escape(text)}(?![\w.])", bare), f"{where} holds the value {text}"
                    for formula in _formulas(answer.text):
                        assert formula not in hint, f"{where} holds the card's formula {formula!r}"


def test_every_asked_answer_of_a_built_in_family_has_a_label_and_a_precision():
    for fam in all_families():
        for name, answer in fam.answers.items():
            assert answer.label, f"{fam.id}: answer {name!r} has no label (the site would show {name!r})"
            assert not answer.legacy, f"{fam.id}: answer {name!r} is graded by the old tol/rel"


def test_site_inputs_and_lms_fields_carry_the_part_letter():
    for fam in all_families():
        variant = draw(fam, 1)
        answers = thaw(variant.answers)
        specs = part_specs(fam, variant.params)
        if not specs:
            continue
        letters = part_labels(len(specs))
        for letter, spec in zip(letters, specs):
            for name in spec.answers:
                if answers.get(name) is None:
                    continue
                page = widgets.answer_inputs("v-1", name, fam.answers[name], answers[name], letter)
                labels = re.findall(r'aria-label="([^"]*)"', page) + re.findall(r'<span class="qbank-sr">([^<]*)</span>', page)
                named = [lab for lab in labels if lab.startswith(f"({letter}) ")]
                assert named or "qbank-name" in page, (fam.id, name)
        fields = graded_parts(fam.answers, answers, [list(s.answers) for s in specs])
        for part in fields:
            for field in part or []:
                assert field.label and not re.match(r"\([a-z]\) ", field.label)  # the writers add "(b) "


@pytest.mark.parametrize("internal", ["y_hat", "active_side", "db2", "dh_prev"])
def test_no_input_is_named_by_an_internal_name(internal):
    for fam in all_families():
        if internal in fam.answers:
            assert fam.answers[internal].label != internal, fam.id
