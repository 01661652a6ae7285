"""gd-quadratic (issue 19): worked examples by hand, properties over many seeds, the card, the listed mistakes,
tampered answers, bad pins, refused draws (near ties of the step count among them) and the solution printing
every answer as asked."""

from __future__ import annotations

import copy
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from conftest import assert_tampering_caught, command_arguments
from hypothesis import given, settings, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import number_leaves, part_statement, scoring_mistake
from qbank.model import thaw
from qbank.precision import exact_fraction
from qbank.render import render_fragments

FAMILY = "gd-quadratic"
FAM = get_family(FAMILY)


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)  # a draw runs the independent check too


# ---------------------------------------------------------------- worked examples, by hand


def test_a_converging_example_by_hand():
    # A = [[9, 4], [4, 3]]: tr 12, det 27 - 16 = 11, lambda = 6 -+ sqrt(36 - 11) = 6 -+ 5 = 1, 11.
    # lr_max = 2/11. At lr = 0.1: |1 - 0.1| = 0.9, |1 - 1.1| = 0.1, rate 0.9 < 1.
    # 0.9^T <= 0.01: T >= ln 0.01 / ln 0.9 = 43.71, so T = 44 (0.9^43 = 0.01078, 0.9^44 = 0.00970).
    # best lr 2 / (1 + 11) = 1/6, best rate (11 - 1) / (11 + 1) = 5/6.
    a = answers_of({"A": [[9, 4], [4, 3]], "lr": 0.1, "factor": 0.01})
    assert a["eigenvalues"] == [1, 11] and a["lr_max"] == pytest.approx(2 / 11, abs=1e-15)
    assert a["converges"] is True and a["rate"] == pytest.approx(0.9, abs=1e-15) and a["steps"] == 44
    assert a["best_lr"] == pytest.approx(1 / 6, abs=1e-15) and a["best_rate"] == pytest.approx(5 / 6, abs=1e-15)


def test_a_diverging_example_by_hand():
    # A = [[3, 1], [1, 3]]: lambda = 3 -+ 1 = 2, 4; lr_max = 1/2. At lr = 0.6: |1 - 1.2| = 0.2, |1 - 2.4| = 1.4:
    # rate 1.4 > 1, no number of steps. best lr 2/6 = 1/3, best rate 2/6 = 1/3.
    a = answers_of({"A": [[3, 1], [1, 3]], "lr": 0.6, "factor": 0.01})
    assert a == {"eigenvalues": [2, 4], "lr_max": 0.5, "converges": False, "rate": pytest.approx(1.4, abs=1e-15),
                 "steps": None, "best_lr": pytest.approx(1 / 3, abs=1e-15), "best_rate": pytest.approx(1 / 3, abs=1e-15)}


def test_half_integer_eigenvalues_by_hand():
    # A = [[4.5, 2], [2, 1.5]]: tr 6, det 6.75 - 4 = 2.75, lambda = 3 -+ sqrt(9 - 2.75) = 3 -+ 2.5 = 0.5, 5.5.
    # lr 0.3: |1 - 0.15| = 0.85, |1 - 1.65| = 0.65, rate 0.85; ln 0.1 / ln 0.85 = 14.17, T = 15.
    a = answers_of({"A": [[4.5, 2], [2, 1.5]], "lr": 0.3, "factor": 0.1})
    assert a["eigenvalues"] == [0.5, 5.5] and a["lr_max"] == pytest.approx(4 / 11, abs=1e-15)
    assert a["rate"] == pytest.approx(0.85, abs=1e-15) and a["steps"] == 15
    assert a["best_lr"] == pytest.approx(1 / 3, abs=1e-15) and a["best_rate"] == pytest.approx(5 / 6, abs=1e-15)


def test_gradient_descent_itself_needs_that_many_steps():
    """A direct simulation: from a start along the slow eigenvector, gradient descent's distance to the minimum
    first falls to 1 % after 44 steps."""
    A = np.array([[9.0, 4.0], [4.0, 3.0]])
    w = np.linalg.eigh(A)[1][:, 0]  # the eigenvector of lambda = 1, unit length
    for t in range(1, 60):
        w = w - 0.1 * A @ w
        if np.linalg.norm(w) <= 0.01:
            break
    assert t == 44


# ---------------------------------------------------------------- properties


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)
    p, a = thaw(variant.params), thaw(variant.answers)
    A = np.array(p["A"], dtype=float)
    low, high = a["eigenvalues"]
    assert 0 < low < high and A[0, 1] == A[1, 0] != 0
    for value in (low, high, a["lr_max"], a["rate"], a["best_lr"], a["best_rate"]):  # all rational
        assert exact_fraction(value) is not None and exact_fraction(value).denominator <= 10_000
    assert a["converges"] == (p["lr"] < a["lr_max"]) == (a["rate"] < 1)
    assert a["best_rate"] <= a["rate"] + 1e-12 and 0 < a["best_lr"] < a["lr_max"]
    if a["converges"]:
        rate, factor = Fraction(a["rate"]).limit_denominator(10**6), Fraction(str(p["factor"]))
        assert rate ** a["steps"] <= factor and (a["steps"] == 1 or rate ** (a["steps"] - 1) > factor)
    else:
        assert a["steps"] is None
    assert p["factor"] in (0.1, 0.05, 0.01, 0.001)


def test_draws_mix_converging_and_diverging_and_no_mistake_scores():
    converges = []
    for seed in range(300):
        variant = draw(FAMILY, seed)
        params, answers = thaw(variant.params), thaw(variant.answers)
        converges.append(answers["converges"])
        assert scoring_mistake(FAM, params, answers) is None
    assert 0.6 < sum(converges) / len(converges) < 0.9


# ---------------------------------------------------------------- the mistakes

A_SCALAR = {"A": [[2, 0], [0, 2]], "lr": 0.3, "factor": 0.01}  # lambda_min = lambda_max: four slips coincide


@pytest.mark.parametrize("mistake", [
    "the diagonal of A taken for its eigenvalues",
    "the limit from lambda_min, 2 / lambda_min",
    "the best rate 1 - lambda_min / lambda_max",
    "the best learning rate 1 / lambda_max",
    "the best learning rate 1 / lambda_min",
])
def test_a_mistake_scores_only_on_a_refused_draw(mistake):
    """These slips give the right answer only when the eigenvalues are equal (A a multiple of I, which is diagonal):
    a family that knows only that slip names it there, and the family refuses such an A."""
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params = FAM.validate(copy.deepcopy(A_SCALAR))
    # solve() at lambda_min = lambda_max gives the limits as for distinct eigenvalues
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match="degenerate.*A is diagonal"):
        draw(FAMILY, 0, A_SCALAR)


@pytest.mark.parametrize("mistake", [
    "the limit 1 / lambda_max (the factor 2 left out)",
    "one step too few (the last t with rate^t above the factor)",
])
def test_a_mistake_that_never_scores(mistake):
    """Half the limit, and one step fewer, differ from the answer on every draw (exact answers)."""
    for seed in range(200):
        params = thaw(draw(FAMILY, seed).params)
        right = FAM.solve(params)
        for name, value in FAM.mistakes[mistake](params).items():
            assert value != right[name]


def test_every_mistake_is_tested():
    assert len(FAM.mistakes) == 7


def test_a_near_tie_of_the_step_count_is_refused():
    # A = [[3, 1], [1, 3]] (lambda 2, 4) at lr 0.25: rate max(0.5, 0) = 0.5, and 0.5^3 = 0.125 exactly
    with pytest.raises(InputError, match=r"ln\(factor\) / ln\(rate\) = 3\.0000 is \(nearly\) a whole number"):
        draw(FAMILY, 0, {"A": [[3, 1], [1, 3]], "lr": 0.25, "factor": 0.125})
    # 0.85^14.17 = 0.1: ln 0.1 / ln 0.85 is 0.17 from a whole number, which is fine
    assert answers_of({"A": [[4.5, 2], [2, 1.5]], "lr": 0.3, "factor": 0.1})["steps"] == 15


# ---------------------------------------------------------------- refusals and pins


@pytest.mark.parametrize("change, message", [
    ({"A": [[3, 1], [2, 3]]}, "params.A: expected a symmetric matrix"),
    ({"A": [[1, 2], [2, 1]]}, "params.A: expected a positive definite matrix"),
    ({"A": [[2, 1], [1, 1]]}, "params.A: expected a matrix with rational eigenvalues"),
    ({"A": [[2, 1]]}, "params.A:"),
    ({"lr": 0}, "params.lr:"),
    ({"lr": "0.1"}, "params.lr:"),
    ({"factor": 1}, "params.factor:"),
    ({"factor": 0.0000001}, "params.factor:"),
])
def test_bad_pins_name_the_field(change, message):
    with pytest.raises(InputError, match=re.escape(message)):
        draw(FAMILY, 0, {"A": [[9, 4], [4, 3]], "lr": 0.1, "factor": 0.01, **change})


@pytest.mark.parametrize("params, message", [
    ({"A": [[2, 0], [0, 5]], "lr": 0.1, "factor": 0.01}, "A is diagonal"),
    ({"A": [[3, 1], [1, 3]], "lr": 0.5, "factor": 0.01}, r"exactly 2 / lambda_max"),
    ({"A": [[9, 4], [4, 3]], "lr": 0.001, "factor": 0.001}, "needs more than 300 steps"),
    ({"A": [[9, 4], [4, 3]], "lr": 1, "factor": 0.01}, "far above 1"),
])
def test_refused_draws_say_why(params, message):
    with pytest.raises(InputError, match="degenerate.*" + message):
        draw(FAMILY, 0, params)


def test_check_rejects_tampered_answers():
    params = FAM.validate({"A": [[9, 4], [4, 3]], "lr": 0.1, "factor": 0.01})
    assert_tampering_caught(FAM, params, [
        (lambda a: a.__setitem__("eigenvalues", [3, 9]), r"eigenvalues\[0\]"),
        (lambda a: a.__setitem__("lr_max", 1 / 11), "lr_max"),
        (lambda a: a.__setitem__("rate", 0.1), "rate"),
        (lambda a: a.__setitem__("converges", False), "converges = False"),
        (lambda a: a.__setitem__("steps", 43), "43 steps|steps = 43"),
        (lambda a: a.__setitem__("steps", 45), "steps = 45: 44 steps already"),
        (lambda a: a.__setitem__("best_lr", 1 / 11), "best_lr"),
        (lambda a: a.__setitem__("best_rate", 10 / 11), "best_rate"),
    ])
    diverging = FAM.validate({"A": [[3, 1], [1, 3]], "lr": 0.6, "factor": 0.01})
    assert_tampering_caught(FAM, diverging, [(lambda a: a.__setitem__("steps", 3), "must be null")])


# ---------------------------------------------------------------- the card and the page


def test_the_card():
    described = {name: a.grading.describe() for name, a in FAM.answers.items()}
    assert described == {"eigenvalues": "exact", "lr_max": "exact", "converges": "exact", "rate": "exact",
                         "steps": "whole numbers", "best_lr": "exact", "best_rate": "exact"}
    converging = FAM.validate({"A": [[9, 4], [4, 3]], "lr": 0.1, "factor": 0.01})
    diverging = FAM.validate({"A": [[3, 1], [1, 3]], "lr": 0.6, "factor": 0.01})
    assert [p.answers for p in FAM.parts(converging)] == [
        ("eigenvalues",), ("lr_max", "converges"), ("rate", "steps"), ("best_lr", "best_rate")]
    assert [p.answers for p in FAM.parts(diverging)][2] == ("rate",)
    assert FAM.structure_of(converging) == {"A": [2, 2], "converges": True} and FAM.minutes(converging) == 9.5
    assert FAM.minutes(diverging) == 7.5


def test_the_problem_text_does_not_tell_whether_it_converges():
    a = draw(FAMILY, 0, {"A": [[9, 4], [4, 3]], "lr": 0.1, "factor": 0.01})
    b = draw(FAMILY, 0, {"A": [[9, 4], [4, 3]], "lr": 0.2, "factor": 0.01})
    assert thaw(a.answers)["converges"] and not thaw(b.answers)["converges"]
    strip = lambda text: re.sub(r"\\qbankprecision\{[^}]*\}\{[^}]*\}|\\part\[\d+\]", "", text)  # noqa: E731
    pa, _ = render_fragments(a, part_points=[2, 1, 4, 2])
    pb, _ = render_fragments(b, part_points=[2, 1, 2, 2])
    assert strip(pa).replace("0.1", "LR") == strip(pb).replace("0.2", "LR")


def test_each_part_states_its_precision_and_the_solution_prints_every_answer():
    for seed in range(30):
        variant = draw(FAMILY, seed)
        params, answers = thaw(variant.params), thaw(variant.answers)
        parts = FAM.parts(params)
        problem, solution = render_fragments(variant, part_points=[1] * len(parts))
        texts = re.split(r"\\part\[1\]", problem)[1:]
        assert len(texts) == 4
        for text, part in zip(texts, parts):
            statement = part_statement(FAM, answers, part.answers)
            assert statement and statement in text and "exact values" not in text.replace(statement, "")
        boxes = "\n".join(command_arguments(solution, "qbankanswer"))
        for name in FAM.answers:
            if name == "converges" or answers[name] is None:
                continue
            for _, value in number_leaves(answers[name]):
                assert FAM.answers[name].grading.latex(value) in boxes, (seed, name, value)
        assert ("does not converge" in boxes) != answers["converges"]
        assert r"\VAR" not in solution and not math.isnan(FAM.minutes(params))
