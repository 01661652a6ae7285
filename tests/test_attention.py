"""attention-forward and attention-backward (issue 18): worked examples computed by hand, properties over
many seeds and over hypothesis' matrices, the cards (precisions, labels, minutes by structure), each refusal
and each listed mistake."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import command_arguments
from hypothesis import given, settings, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import _accepted, number_leaves, part_statement, scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FORWARD, BACKWARD = "attention-forward", "attention-backward"
FWD, BWD = get_family(FORWARD), get_family(BACKWARD)

# one query, three keys, d = 4 (sqrt(d) = 2)
SINGLE = {"Q": [[1, 0, 1, 0]], "K": [[2, 0, 1, 0], [0, 1, 1, 1], [-1, 0, 0, 2]], "V": [[1, 2], [3, -1], [0, 1]],
          "causal": False}
# two positions under a causal mask, d = 2
CAUSAL = {"Q": [[1, 0], [1, 1]], "K": [[1, 1], [2, -1]], "V": [[2, 0], [-1, 3]], "causal": True}
# backward: one query, two keys, d = 2, d_v = 2
BACK = {"Q": [[1, 1]], "K": [[1, 0], [0, -1]], "V": [[1, 2], [-1, 0]], "dO": [[0.5, -1]]}


@pytest.fixture(scope="module")
def drawn():
    return {family: [draw(family, seed) for seed in range(300)] for family in (FORWARD, BACKWARD)}


def answers_of(family, params):
    return thaw(draw(family, 0, params).answers)


def flat(matrix):
    return [v for row in matrix for v in row]


# ---------------------------------------------------------------- worked examples, by hand


def test_one_query_by_hand():
    # q.k_j = 2 + 1 = 3, 0 + 1 = 1, -1 + 0 = -1; divided by sqrt(4) = 2: S = (1.5, 0.5, -0.5).
    # Shifted by 1.5: e^0 = 1, e^-1 = 0.367879, e^-2 = 0.135335; sum 1.503215;
    # A = (0.665241, 0.244728, 0.090031);
    # O = 0.665241 (1, 2) + 0.244728 (3, -1) + 0.090031 (0, 1) = (1.399426, 1.175785).
    answers = answers_of(FORWARD, SINGLE)
    assert answers["scores"] == [[1.5, 0.5, -0.5]]
    assert answers["weights"][0] == pytest.approx([0.665241, 0.244728, 0.090031], abs=1e-6)
    assert answers["output"][0] == pytest.approx([1.399426, 1.175785], abs=2e-6)


def test_causal_attention_by_hand():
    # Q K^T = [[1, 2], [2, 1]], over sqrt(2): S = [[0.707107, 1.414214], [1.414214, 0.707107]].
    # Query 1 sees key 1 only: A_1 = (1, 0). Query 2 sees both: shifted by 1.414214, e^0 = 1 and
    # e^-0.707107 = 0.493069, sum 1.493069: A_2 = (0.6697615, 0.3302385).
    # O_1 = v_1 = (2, 0); O_2 = 0.6697615 (2, 0) + 0.3302385 (-1, 3) = (1.009285, 0.990715).
    answers = answers_of(FORWARD, CAUSAL)
    assert flat(answers["scores"]) == pytest.approx([0.707107, 1.414214, 1.414214, 0.707107], abs=1e-6)
    assert answers["weights"][0] == [1.0, 0.0]  # the masked weight exactly 0
    assert answers["weights"][1] == pytest.approx([0.669762, 0.330238], abs=1e-6)
    assert flat(answers["output"]) == pytest.approx([2, 0, 1.009285, 0.990715], abs=1e-6)


def test_backward_by_hand():
    # S = (1, -1)/sqrt(2) = (0.707107, -0.707107); shifted: 1 and e^-1.414214 = 0.243117, sum 1.243117:
    # A = (0.804430, 0.195570).
    # dV = A^T dO = [[0.402215, -0.804430], [0.097785, -0.195570]]; dA = dO V^T = (0.5 - 2, -0.5 + 0) = (-1.5, -0.5).
    # r = A . dA = -1.206645 - 0.097785 = -1.304430; dS = A (dA - r) = (0.804430 (-0.195570), 0.195570 (0.804430))
    #   = (-0.157322, 0.157322).
    # dQ = dS K / sqrt(2) = (-0.157322, -0.157322) / 1.414214 = (-0.111244, -0.111244);
    # dK = dS^T Q / sqrt(2) = [[-0.111244, -0.111244], [0.111244, 0.111244]].
    answers = answers_of(BACKWARD, BACK)
    assert answers["weights"][0] == pytest.approx([0.804430, 0.195570], abs=2e-6)
    assert flat(answers["dV"]) == pytest.approx([0.402215, -0.804430, 0.097785, -0.195570], abs=2e-6)
    assert answers["dweights"] == [[-1.5, -0.5]]  # exact
    assert answers["dscores"][0] == pytest.approx([-0.157322, 0.157322], abs=2e-6)
    assert answers["dQ"][0] == pytest.approx([-0.111244, -0.111244], abs=2e-6)
    assert flat(answers["dK"]) == pytest.approx([-0.111244, -0.111244, 0.111244, 0.111244], abs=2e-6)


def test_solutions_show_the_working_and_print_answers_as_asked():
    variant = draw(FORWARD, 0, CAUSAL)
    problem, solution = render_fragments(variant, part_points=[1, 1, 1])
    assert r"j \le i" in problem and r"-\infty" in problem
    assert r"-\infty" in solution and "sees key 1 only" in solution and "m_{2} = 1.41421" in solution
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert "0.6698" in boxes and "0.3302" in boxes and "1.0093" in boxes and "0.66976" not in boxes
    variant = draw(BACKWARD, 0, BACK)
    _, solution = render_fragments(variant, part_points=[1, 1, 1, 1])
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert "r_{1} = -1.304" in solution  # the row sum on the way, one digit more
    assert "-0.157" in boxes and "-0.111" in boxes and "-1.5" in boxes and "-0.1573" not in boxes


# ---------------------------------------------------------------- properties

small = st.integers(-3, 3)


@st.composite
def forward_params(draw_):
    causal = draw_(st.booleans())
    n_q = draw_(st.integers(1, 3))
    n_k = n_q if causal else draw_(st.integers(1, 3))
    d, d_v = draw_(st.integers(2, 4)), draw_(st.integers(1, 3))
    matrix = lambda rows, cols: draw_(st.lists(st.lists(small, min_size=cols, max_size=cols), min_size=rows, max_size=rows))  # noqa: E731
    return {"Q": matrix(n_q, d), "K": matrix(n_k, d), "V": matrix(n_k, d_v), "causal": causal}


@st.composite
def backward_params(draw_):
    params = draw_(forward_params())
    del params["causal"]
    tenths = st.integers(-20, 20).map(lambda v: v / 10)
    d_v = len(params["V"][0])
    params["dO"] = draw_(st.lists(st.lists(tenths, min_size=d_v, max_size=d_v), min_size=len(params["Q"]),
                                  max_size=len(params["Q"])))
    return params


@settings(max_examples=150)
@given(forward_params())
def test_forward_properties(params):
    params = FWD.validate(params)
    answers = FWD.solve(params)
    FWD.check(params, answers)  # loops and log-sum-exp agree with numpy
    n_q, n_k = len(params["Q"]), len(params["K"])
    for i in range(n_q):
        seen = [j for j in range(n_k) if not params["causal"] or j <= i]
        weights = answers["weights"][i]
        assert math.fsum(weights) == pytest.approx(1, abs=1e-12)
        assert all(weights[j] == 0 for j in range(n_k) if j not in seen)  # masked: exactly 0
        for c, value in enumerate(answers["output"][i]):  # a weighted average of the values it sees
            column = [params["V"][j][c] for j in seen]
            assert min(column) - 1e-9 <= value <= max(column) + 1e-9
    if not params["causal"] and n_k > 1:  # keys and values permuted together: the same output
        order = list(range(n_k))[::-1]
        swapped = FWD.solve({**params, "K": [params["K"][j] for j in order], "V": [params["V"][j] for j in order]})
        assert flat(swapped["output"]) == pytest.approx(flat(answers["output"]))
        assert flat([[row[j] for j in order] for row in answers["weights"]]) == pytest.approx(flat(swapped["weights"]))


@settings(max_examples=100)
@given(backward_params())
def test_backward_properties(params):
    params = BWD.validate(params)
    answers = BWD.solve(params)
    BWD.check(params, answers)  # finite differences of L = sum(dO * O) agree with the closed forms
    for row in answers["dscores"]:  # a constant added to a row of scores changes nothing
        assert math.fsum(row) == pytest.approx(0, abs=1e-12)
    for c in range(len(params["Q"][0])):  # hence the keys' gradients sum to 0 in every column
        assert math.fsum(row[c] for row in answers["dK"]) == pytest.approx(0, abs=1e-12)
    for c in range(len(params["V"][0])):  # each query's weights sum to 1: dV's columns add up to dO's
        assert math.fsum(row[c] for row in answers["dV"]) == pytest.approx(math.fsum(row[c] for row in params["dO"]))


def test_draws_over_many_seeds(drawn):
    for variant in drawn[FORWARD]:
        params, answers = thaw(variant.params), thaw(variant.answers)
        assert 2 <= len(params["Q"][0]) <= 4 and (not params["causal"] or len(params["Q"]) == len(params["K"]))
        seen = [[w for j, w in enumerate(row) if not params["causal"] or j <= i] for i, row in enumerate(answers["weights"])]
        assert all(min(row) >= 0.02 for row in seen)  # no row nearly one-hot
        assert any(len(row) > 1 for row in seen)
    causal = [v.params["causal"] for v in drawn[FORWARD]]
    assert 0.35 < sum(causal) / len(causal) < 0.65  # both structures drawn about equally often
    for variant in drawn[BACKWARD]:
        params = thaw(variant.params)
        assert all(any(row) for row in params["dO"])
        assert all(round(v, 1) == v for row in params["dO"] for v in row)


@pytest.mark.parametrize("family", (FORWARD, BACKWARD))
def test_no_listed_mistake_scores(family, drawn):
    fam = get_family(family)
    for variant in drawn[family]:
        assert scoring_mistake(fam, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("family, params, mistake", [
    *((FORWARD, SINGLE, m) for m in get_family(FORWARD).mistakes),
    *((FORWARD, CAUSAL, m) for m in get_family(FORWARD).mistakes),
    *((BACKWARD, BACK, m) for m in get_family(BACKWARD).mistakes),
])
def test_each_mistake_gives_wrong_answers(family, params, mistake):
    """Every mistake that applies changes every answer it names (the transposes need as many queries as
    keys, the mask mistakes a mask)."""
    fam = get_family(family)
    right = fam.solve(fam.validate(dict(params)))
    wrong = fam.mistakes[mistake](params)
    applies = (family == FORWARD and (params["causal"] or "mask" not in mistake)) or (
        family == BACKWARD and "transposed" not in mistake and "not transposed" not in mistake)
    assert bool(wrong) == applies, mistake
    for name, value in wrong.items():
        assert not _accepted(fam.answers[name].grading, value, right[name]), (mistake, name)


def test_the_mistake_check_bites():
    # Q = K = I: the scores are symmetric with equal diagonals, so the softmax down the columns gives the
    # weights of the rows; and A is symmetric, so A dO is A^T dO
    with pytest.raises(InputError, match=re.escape("the softmax down the columns instead of along the rows")):
        draw(FORWARD, 0, {"Q": [[1, 0], [0, 1]], "K": [[1, 0], [0, 1]], "V": [[1, 2], [3, 1]], "causal": False})
    with pytest.raises(InputError, match=re.escape("dL/dV = A dO (A not transposed)")):
        draw(BACKWARD, 0, {"Q": [[1, 0], [0, 1]], "K": [[1, 0], [0, 1]], "V": [[1, 2], [-1, 0]],
                           "dO": [[-1, -1], [-1, -0.5]]})


# ---------------------------------------------------------------- refusals and pins


@pytest.mark.parametrize("family, params, reason", [
    (FORWARD, {**SINGLE, "Q": [[0, 0, 0, 0]]}, "every key query 1 sees scores the same"),
    (FORWARD, {**SINGLE, "Q": [[4, 0, 4, 0]]}, "nearly one-hot"),
    (FORWARD, {**SINGLE, "K": [[2, 1, 1, 0], [2, 1, 1, 0], [-1, 0, 0, 2]]}, "two keys are the same"),
    (FORWARD, {**SINGLE, "K": [[2, 0, 1, 0], [0, 0, 1, 1], [-1, 0, 0, 2]]}, "column 2 of K is zero"),
    (FORWARD, {**SINGLE, "V": [[1, 2], [3, 2], [0, 2]]}, "column 2 of V is constant"),
    (FORWARD, {"Q": [[1, 0], [2, 0]], "K": [[1, 1], [0, 1]], "V": [[1, 2], [3, 1]], "causal": False},
     "column 2 of Q is zero"),
    (FORWARD, {"Q": [[1, 1], [2, 2]], "K": [[1, 0], [2, 0]], "V": [[1, 2], [3, 1]], "causal": False},
     "column 2 of K is zero"),
    (FORWARD, {"Q": [[1, 2], [2, 3]], "K": [[1, 0], [0, 1]], "V": [[1, 2], [3, 1]], "causal": False},
     "two queries get the same weights"),  # their scores differ by 1/sqrt(2) in every column
    (FORWARD, {"Q": [[1, 2]], "K": [[1, 0]], "V": [[1, 2]], "causal": True}, "every query sees a single key"),
    (BACKWARD, {**BACK, "dO": [[0, 0]]}, "row 1 of dO is zero"),
    (BACKWARD, {**BACK, "V": [[1, 2], [1, 2]]}, "row 1 of dL/dA is constant"),
    (BACKWARD, {**BACK, "Q": [[1, 0]]}, "column 2 of Q is zero"),
    (BACKWARD, {"Q": [[1, 1], [1, 2]], "K": [[1, 0], [0, -1]], "V": [[1, 2], [-1, 0]], "dO": [[-1, -1], [-1, 0.8]]},
     "dL/dS[2][1] nearly cancels"),
])
def test_each_refusal(family, params, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        draw(family, 0, params)


@pytest.mark.parametrize("family, params, field, expected", [
    (FORWARD, {**CAUSAL, "Q": [[1, 0]]}, "Q", "as many queries as keys"),
    (FORWARD, {**SINGLE, "Q": [[1]], "K": [[1], [2], [3]]}, "Q", "rows of 2 to 4 numbers each"),
    (FORWARD, {**SINGLE, "K": [[2, 0, 1], [0, 1, 1], [-1, 0, 0]]}, "K", "4 entries like the queries"),
    (FORWARD, {**SINGLE, "V": [[1, 2], [3, -1]]}, "V", "one per key: 3 rows"),
    (FORWARD, {**SINGLE, "causal": "yes"}, "causal", "true or false"),
    (BACKWARD, {**BACK, "dO": [[0.5, -1, 2]]}, "dO", "2 entries like the rows of V"),
    (BACKWARD, {**BACK, "dO": [[0.5, -1], [1, 1]]}, "dO", "one row per query"),
])
def test_bad_pins_are_named_by_field(family, params, field, expected):
    with pytest.raises(InputError, match=rf"params\.{field}\b.*{re.escape(expected)}"):
        draw(family, 0, params)


# ---------------------------------------------------------------- the cards


def test_the_cards():
    assert {n: a.grading.describe() for n, a in FWD.answers.items()} == {
        "scores": "4 decimal places", "weights": "4 decimal places", "output": "4 decimal places"}
    assert {n: a.grading.describe() for n, a in BWD.answers.items()} == {
        "weights": "4 decimal places", "dV": "3 significant digits", "dweights": "exact", "dscores": "3 significant digits",
        "dQ": "3 significant digits", "dK": "3 significant digits"}
    assert leaf_label("b", "weights", FWD.answers["weights"], ["1", "0"], [[1, 0], [0.5, 0.5]]) == "(b) A, query 2, key 1"
    assert leaf_label("d", "dK", BWD.answers["dK"], ["2", "1"], [[1, 0]] * 3) == "(d) dL/dK, key 3, column 2"
    assert form_hint(BWD.answers["dweights"], [[-1.5, 2], [0.3, 0]]) == "a 2 by 2 matrix, exact values"
    assert form_hint(FWD.answers["weights"], [[1, 0], [0.5, 0.5]]) == "a 2 by 2 matrix, 4 decimal places each"
    assert FWD.asks_of(CAUSAL)[-1] == "causal-attention-mask" and "causal-attention-mask" not in FWD.asks_of(SINGLE)
    assert "causal-mask-minus-infinity" in FWD.reveals_of(CAUSAL) and "causal-mask-minus-infinity" not in FWD.reveals_of(SINGLE)


@pytest.mark.parametrize("family", (FORWARD, BACKWARD))
def test_minutes_and_weights_depend_on_the_structure_only(family, drawn):
    fam = get_family(family)
    by_structure: dict[str, set] = {}
    for variant in drawn[family]:
        params = thaw(variant.params)
        key = repr(sorted(fam.structure_of(params).items()))
        by_structure.setdefault(key, set()).add((fam.minutes(params), tuple(p.weight for p in fam.parts(params))))
    assert all(len(v) == 1 for v in by_structure.values())
    minutes = [m for v in by_structure.values() for m, _ in v]
    assert 3 <= min(minutes) and max(minutes) <= 30


@pytest.mark.parametrize("family", (FORWARD, BACKWARD))
def test_each_part_states_its_precision_once_and_the_solution_prints_it(family, drawn):
    fam = get_family(family)
    for variant in drawn[family][:30]:
        params, answers = thaw(variant.params), thaw(variant.answers)
        parts = fam.parts(params)
        problem, solution = render_fragments(variant, part_points=[1] * len(parts))
        for text, part in zip(re.split(r"\\part\[1\]", problem)[1:], parts):
            statement = part_statement(fam, answers, part.answers)
            assert text.count(statement) == 1
        boxes = "\n".join(command_arguments(solution, "qbankanswer"))
        for name in answers:
            precision = fam.answers[name].grading
            for _, value in number_leaves(answers[name]):
                if value != 0:
                    assert precision.latex(value) in boxes, (family, variant.seed, name, value)


def test_samples_are_drawn_at_once():
    for fam, limit in ((FWD, 0.02), (BWD, 0.15)):
        refused = sum(fam.degenerate(fam.validate(fam.sample(np.random.default_rng(s)))) is not None for s in range(300))
        assert refused <= limit * 300, (fam.id, refused)
