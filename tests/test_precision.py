"""One precision per asked number, stated and graded the same everywhere (qbank.precision, qbank.grading).

- the rule itself on worked values (tolerance, rounding, printing, rounding traps);
- for every family and 200 seeds: the key's tolerance of each number equals the one the practice
  site's checker and the Moodle/Canvas fields use, and the problem states that precision in the part
  that asks the number;
- for every numeric field of every family: the true value rounded at the stated precision passes on
  the site and in the key; rounded one place coarser, where that lies outside the tolerance, both
  reject it and the site says "close"; an exact answer one unit off in its last digit is rejected;
- the old Answer(kind, text, tol) still grades within tol, with one deprecation line.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import command_arguments

from qbank.engine import draw, part_specs
from qbank.grading import grading_record, number_leaves, rounding_trap, tolerance_of
from qbank.html import widgets
from qbank.lms.fields import graded_parts
from qbank.model import thaw
from qbank.precision import Precision, decimals, exact, is_fraction_value, lms_precision, sig, within
from qbank.registry import all_families
from qbank.render import render_fragments

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "qbank" / "html" / "assets" / "qbank.js"
NODE = shutil.which("node")
SEEDS = range(200)


# --- the rule, on worked values ------------------------------------------------------------------------


def test_tolerance_is_half_a_unit_of_the_stated_place_plus_the_allowance():
    assert decimals(4).tolerance(0.3) == pytest.approx(5e-5)
    assert decimals(2, allowance=1, why="the problem prints W to 2 places").tolerance(-7.0) == pytest.approx(0.015)
    assert sig(4).tolerance(89.608) == pytest.approx(0.005)  # the last place of 89.61
    assert sig(4).tolerance(3.4e-6) == pytest.approx(5e-10)  # no floor: a tiny value keeps its digits
    assert sig(3).tolerance(-0.000123456) == pytest.approx(5e-7)
    assert exact().tolerance(2.5) == 0 and exact().tolerance(1 / 12) == 0
    assert within(1e-3).tolerance(5.0) == 1e-3 and within(0, 1e-3).tolerance(-2000.0) == pytest.approx(2.0)


def test_accepts_the_rounded_value_and_rejects_one_unit_off():
    assert sig(4).accepts(89.608, 89.61) and not sig(4).accepts(89.608, 89.62)
    assert decimals(4).accepts(0.12345, 0.1235) and decimals(4).accepts(0.12345, 0.1234)  # a value on the boundary
    assert not decimals(4).accepts(0.12345, 0.1233)
    assert exact().accepts(2.5, 2.5) and not exact().accepts(2.5, 2.6)
    assert exact().accepts(1 / 12, 1 / 12) and not exact().accepts(1 / 12, 0.0833)


@pytest.mark.parametrize("precision, value, text, latex", [
    (decimals(4), 1 / 12, "0.0833", "0.0833"),
    (decimals(4), 1.020736, "1.0207", "1.0207"),
    (decimals(4), -0.00001, "0.0000", "0.0000"),
    (decimals(2), 2.0, "2.00", "2.00"),
    (sig(4), 89.608, "89.61", "89.61"),
    (sig(4), 3.4e-6, "3.400e-06", "3.400 \\times 10^{-6}"),
    (sig(3), 123456789.0, "1.23e+08", "1.23 \\times 10^{8}"),
    (sig(4), 9.99996, "10.00", "10.00"),
    (sig(2), 0.0034, "0.0034", "0.0034"),
    (sig(2), -0.001, "-0.0010", "-0.0010"),
    (exact(), 1 / 12, "1/12", "\\frac{1}{12}"),
    (exact(), -2 / 3, "-2/3", "-\\frac{2}{3}"),
    (exact(), 2.5, "2.5", "2.5"),
    (exact(), 3, "3", "3"),
])
def test_printing_at_the_stated_precision(precision: Precision, value: float, text: str, latex: str):
    assert precision.text(value) == text
    assert precision.latex(value) == latex


def test_rounding_traps():
    assert decimals(4).trap(0.00004)  # rounds to 0.0000
    assert decimals(4).trap(0.12345)  # on a boundary: 0.1234 or 0.1235
    assert decimals(4).trap(0.123451)  # within 1 % of a unit of it
    assert decimals(4).trap(0.1234) is None and decimals(4).trap(0.0) is None  # an exact 0 is no trap
    assert sig(3).trap(0.001235) and sig(3).trap(1.2351) is None and sig(3).trap(1.2375) is None
    assert exact().trap(0.5) is None and within(1e-3).trap(0.12345) is None


def test_the_statement_of_an_exact_answer_does_not_depend_on_the_value():
    from qbank.family import Answer, Family
    from qbank.grading import part_statement

    class Card(Family):
        id, title, topic = "card", "Card", "test"
        answers = {"x": Answer("number", "x", precision=exact(fractions=True)), "n": Answer("integer", "n"),
                   "d": Answer("number", "d", precision=exact())}

    said = {part_statement(Card(), {"x": v, "n": 3, "d": None}, ["x", "n"]) for v in (3, 2.5, 1 / 12)}
    assert len(said) == 1 and "Give exact values: a fraction where the decimal does not end." in said.pop()
    assert part_statement(Card(), {"x": None, "n": 3, "d": 2.5}, ["x", "n", "d"]) == (
        "\\qbankprecision{Give exact values.}{Give exact values.}")
    assert part_statement(Card(), {"x": None, "n": 3}, ["x", "n"]) == ""  # whole numbers go without saying


def test_a_value_the_card_does_not_allow_is_a_family_error():
    from qbank.errors import FamilyError
    from qbank.family import Answer, Family
    from qbank.engine import verify

    class Card(Family):
        id, title, topic = "card", "Card", "test"
        answers = {"n": Answer("vector", "n", precision=exact(whole=True))}

        def check(self, params, answers):
            pass

    with pytest.raises(FamilyError, match=r"n\[1\] = 2.5 is not a whole number"):
        verify(Card(), 0, {}, {"n": [1, 2.5]})

    class Short(Card):
        answers = {"n": Answer("vector", "n", precision=exact())}

    with pytest.raises(FamilyError, match=r"n\[0\] = 0.08333333333333333 is not a short decimal \(exact\(fractions=True\)"):
        verify(Short(), 0, {}, {"n": [1 / 12]})


def test_exact_fractions_are_decimals_in_an_lms():
    assert is_fraction_value(1 / 12) and not is_fraction_value(0.25) and not is_fraction_value(3)
    assert not is_fraction_value(0.1234567891)
    assert lms_precision(exact(), 1 / 12) == decimals(4)
    assert lms_precision(exact(), 2.5) == exact()
    assert lms_precision(decimals(3), 1 / 12) == decimals(3)


def test_bad_precisions_are_refused():
    with pytest.raises(ValueError, match="allowance needs `why`"):
        decimals(4, allowance=1)
    with pytest.raises(ValueError, match="digits must be"):
        sig(0)
    with pytest.raises(ValueError, match="precision mode"):
        Precision("fuzzy")


# --- every family: the key, the site and the LMS grade alike, and the problem says so ---------------


def _variants(seeds=SEEDS):
    for fam in all_families():
        for seed in seeds:
            yield fam, draw(fam, seed)


def _parts_of(problem: str) -> list[str]:
    """The text of each part of a problem fragment (the whole problem when it has no parts)."""
    starts = [m.start() for m in re.finditer(r"\\part(?![A-Za-z@])", problem)]
    if not starts:
        return [problem]
    return [problem[a:b] for a, b in zip(starts, [*starts[1:], len(problem)])]


def _statement(text: str) -> str:
    """The paper's words of every precision statement in a fragment."""
    return " ".join(command_arguments(text, "qbankprecision"))


def _stated(precision: Precision) -> str | None:
    """What the statement of a part must hold for an answer (None: nothing needs saying); from the card
    alone, the same in every version."""
    if precision.mode == "exact":
        return None if precision.whole else "exact"
    return precision.describe()


def test_key_site_and_lms_grade_every_number_alike_and_the_problem_states_it():
    checked = 0
    for fam, variant in _variants():
        answers = thaw(variant.answers)
        record = grading_record(fam.answers, answers)  # what the manifest and key.json record
        site = json.loads(widgets.answer_key(dict(fam.answers), answers))["answers"]
        specs = part_specs(fam, variant.params)
        names = [list(p.answers) for p in specs] or [list(fam.answers)]
        fields = graded_parts(fam.answers, answers, names)
        lms = {f.key: f for part in fields if part for f in part}
        problem, _ = render_fragments(variant)
        texts = _parts_of(problem)
        for index, asked in enumerate(names):
            statement = _statement(texts[index] if len(texts) == len(names) else problem)
            for name in asked:
                value = answers.get(name)
                if value is None:
                    continue
                leaves = list(number_leaves(value))
                if not leaves:
                    continue
                precision = fam.answers[name].grading
                must = _stated(precision)
                where = f"{fam.id} seed {variant.seed} {name}"
                if must:
                    assert must in statement, f"{where}: the problem does not state {must!r} (it says {statement!r})"
                site_leaves = {leaf[0]: leaf for leaf in site[name]["leaves"]}
                for path, number in leaves:
                    key_tol = tolerance_of(record[name], path)
                    assert key_tol == precision.tolerance(number), where
                    leaf = site_leaves[",".join(path)]
                    site_tol = leaf[3] if leaf[1] == "number" else 0.0
                    assert site_tol == key_tol, f"{where}[{path}]: site {site_tol} != key {key_tol}"
                    assert site[name].get("rel", 0.0) == record[name]["rel"]
                    field = lms.get(".".join([name, *path]))
                    if field is not None:  # (a part answered in words is graded by hand)
                        lms_tol = tolerance_of(record[name], path, lms=True)
                        assert field.tol == max(lms_tol, record[name]["rel"] * abs(number)), f"{where}[{path}]: LMS {field.tol}"
                    checked += 1
    assert checked > 10_000


def test_exact_answers_print_as_the_values_themselves():
    """An exact answer is printed and graded as it is: a short decimal, a whole number, or (where its card
    allows) a fraction, never a float that would need rounding (the engine refuses any other value)."""
    from fractions import Fraction

    for fam, variant in _variants(range(60)):
        for name, value in thaw(variant.answers).items():
            grading = fam.answers[name].grading
            if grading.mode != "exact":
                continue
            for _, v in number_leaves(value):
                text = grading.text(v)
                where = (fam.id, variant.seed, name, v, text)
                assert "/" not in text or grading.fractions, where
                assert float(Fraction(text)) == pytest.approx(v, rel=1e-12, abs=1e-12), where


def test_no_rounding_trap_is_ever_drawn():
    for fam, variant in _variants(range(100)):
        assert rounding_trap(fam, thaw(variant.params), thaw(variant.answers)) is None, (fam.id, variant.seed)


# --- what a student types ----------------------------------------------------------------------------

DRIVER = r"""
const q = require(process.argv[1]);
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((args) => q.compareLeaf(...args));
  process.stdout.write(JSON.stringify(out));
});
"""


def _site(cases: list[list[Any]]) -> list[dict[str, Any]]:
    done = subprocess.run([NODE, "-e", DRIVER, str(CHECKER)], input=json.dumps(cases), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _one_unit_off(text: str) -> str:
    """The same number with its last digit one higher (a fraction: its numerator)."""
    if "/" in text:
        top, bottom = text.split("/")
        return f"{int(top) + 1}/{bottom}"
    mantissa, _, exponent = text.partition("e")
    digits = re.sub(r"\D", "", mantissa)
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    bumped = str(int(digits) + (-1 if mantissa.startswith("-") else 1)).rjust(len(digits), "0")
    sign = "-" if mantissa.startswith("-") and bumped.strip("0") else ""
    body = bumped.lstrip("-")
    shown = f"{body[:len(body) - places] or '0'}.{body[len(body) - places:]}" if places else body
    return f"{sign}{shown}" + (f"e{exponent}" if exponent else "")


@pytest.mark.skipif(NODE is None, reason="node is not installed: the site's checker runs under node")
def test_rounded_answers_pass_coarser_ones_are_close_and_exact_ones_are_exact():
    cases, expect = [], []
    for fam, variant in _variants(range(40)):
        answers = thaw(variant.answers)
        site = json.loads(widgets.answer_key(dict(fam.answers), answers))["answers"]
        for name, spec in site.items():
            precision = fam.answers[name].grading
            for leaf in spec["leaves"]:
                if leaf[1] != "number" or precision.mode == "within":
                    continue
                value, tol = leaf[2], leaf[3]
                where = (fam.id, variant.seed, name, leaf[0])
                typed = precision.text(value)
                assert precision.accepts(value, float(_number(typed))), where  # the key accepts it
                cases.append(["number", value, typed, tol, 1, 0, spec["precision"]])
                expect.append((where, typed, "correct", None))
                coarser = precision.coarser()
                if coarser is not None:
                    typed = coarser.text(value)
                    if not precision.accepts(value, float(_number(typed))) and float(_number(typed)) != 0:
                        cases.append(["number", value, typed, tol, 1, 0, spec["precision"]])
                        expect.append((where, typed, "incorrect", "close"))
                if precision.mode == "exact" and not float(value).is_integer():
                    typed = _one_unit_off(precision.text(value))
                    assert not precision.accepts(value, float(_number(typed))), where
                    cases.append(["number", value, typed, tol, 1, 0, spec["precision"]])
                    expect.append((where, typed, "incorrect", None))
    results = _site(cases)
    wrong = []
    for (where, typed, state, message), got in zip(expect, results):
        if got["state"] != state or (message and not got["message"].startswith(message)):
            wrong.append((where, typed, state, message, got))
    assert not wrong, wrong[:5]
    assert len(cases) > 2_000


def _number(text: str) -> float:
    if "/" in text:
        top, bottom = text.split("/")
        return int(top) / int(bottom)
    return float(text)


def test_one_unit_off():
    assert _one_unit_off("2.5") == "2.6" and _one_unit_off("-0.25") == "-0.24" and _one_unit_off("1/12") == "2/12"
    assert _one_unit_off("3.400e-06") == "3.401e-06" and _one_unit_off("10.00") == "10.01"


# --- old cards -----------------------------------------------------------------------------------------

OLD_CARD = """
from qbank import Answer, Family, register

@register
class OldCard(Family):
    id = "old-card"
    title = "A family written before precisions"
    topic = "old"
    answers = {"x": Answer("number", "the value", 0.01), "n": Answer("integer", "a count")}
    def sample(self, rng):
        return {"a": int(rng.integers(1, 9))}
    def solve(self, params):
        return {"x": params["a"] / 3, "n": params["a"]}
    def check(self, params, answers):
        assert abs(answers["x"] * 3 - params["a"]) < 1e-9
"""


def test_an_old_card_is_graded_within_its_tol_with_one_deprecation_line(tmp_path):
    from conftest import run_qbank

    (tmp_path / "generators").mkdir()
    (tmp_path / "templates" / "old").mkdir(parents=True)
    (tmp_path / "generators" / "old.py").write_text(OLD_CARD)
    (tmp_path / "templates" / "old" / "old-card.tex.j2").write_text(
        "\\BLOCK{block problem}What is $\\VAR{params.a}/3$?\\BLOCK{endblock}\n\\BLOCK{block solution}$\\VAR{answers.x|num}$\\BLOCK{endblock}\n")
    done = run_qbank("draw", "old-card", "--seed", "3", "--format", "json", env={"QBANK_PATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "deprecated" in line]
    assert len(lines) == 1 and "old-card" in lines[0] and "(x)" in lines[0] and "precision=" in lines[0]
    from qbank.family import Answer

    old = Answer("number", "the value", 0.01)
    assert old.grading == within(0.01) and old.tolerance(5.0) == 0.01
    assert Answer("integer", "a count").grading == exact(whole=True)
