"""grad-clip (issue 19): worked examples computed by hand, properties over many seeds and over hypothesis'
gradients, the card (precisions, labels, minutes by structure), each refusal and each listed mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_parts_state_their_precision, assert_tampering_caught, command_arguments
from hypothesis import given, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "grad-clip"
FAM = get_family(FAMILY)
WORKED = {"grads": [[3, 4], [1.2, -1.6]], "max_norm": 2.5}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(400)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)


# ---------------------------------------------------------------- worked examples, by hand


def test_two_tensors_by_hand():
    # ||g1|| = sqrt(9 + 16) = 5, ||g2|| = sqrt(1.44 + 2.56) = 2; ||g|| = sqrt(25 + 4) = sqrt(29) = 5.385165;
    # s = 2.5 / 5.385165 = 0.464238; s g1 = (1.392715, 1.856953), s g2 = (0.557086, -0.742781).
    answers = answers_of(WORKED)
    assert answers["norms"] == pytest.approx([5, 2], abs=1e-12)
    assert answers["total_norm"] == pytest.approx(5.385165, abs=1e-6)
    assert answers["scale"] == pytest.approx(0.464238, abs=1e-6)
    assert answers["clipped"][0] == pytest.approx([1.392715, 1.856953], abs=1e-6)
    assert answers["clipped"][1] == pytest.approx([0.557086, -0.742781], abs=1e-6)


def test_three_tensors_by_hand():
    # ||(1, 2, 2)|| = 3, ||(0.5, -1.2)|| = sqrt(1.69) = 1.3, ||(-2.4, 0.7)|| = sqrt(6.25) = 2.5;
    # ||g|| = sqrt(9 + 1.69 + 6.25) = sqrt(16.94) = 4.115823; s = 1 / 4.115823 = 0.242965;
    # clipped: (0.242965, 0.485930, 0.485930), (0.121482, -0.291558), (-0.583115, 0.170075).
    answers = answers_of({"grads": [[1, 2, 2], [0.5, -1.2], [-2.4, 0.7]], "max_norm": 1})
    assert answers["norms"] == pytest.approx([3, 1.3, 2.5], abs=1e-12)
    assert answers["total_norm"] == pytest.approx(4.115823, abs=1e-6)
    assert answers["scale"] == pytest.approx(0.242965, abs=1e-6)
    flat = [v for g in answers["clipped"] for v in g]
    assert flat == pytest.approx([0.242965, 0.485930, 0.485930, 0.121482, -0.291558, -0.583115, 0.170075], abs=1e-6)


def test_the_solution_shows_the_squares_and_prints_answers_as_asked():
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragments(variant, part_points=[1, 1, 1, 1])
    assert "c = 2.5" in problem and "global" in problem and "no small constant" in problem
    assert r"\sqrt{25 + 4}" in solution and r"\sqrt{29}" in solution
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert "5.3852" in boxes and "0.4642" in boxes and "1.3927" in boxes and "-0.7428" in boxes
    assert "0.46424" not in boxes


def test_each_part_states_its_precision_and_boxes_answers_at_it():
    assert_parts_state_their_precision(FAMILY, 30, 4, "decimal places")


# ---------------------------------------------------------------- properties


@given(st.lists(st.lists(st.integers(-30, 30).filter(bool), min_size=1, max_size=4), min_size=2, max_size=3),
       st.integers(1, 50))
def test_properties_of_any_pinned_gradients(grads, max_norm):
    params = FAM.validate({"grads": [[v / 10 for v in g] for g in grads], "max_norm": max_norm / 10})
    answers = FAM.solve(params)
    FAM.check(params, answers)  # hypot over the flattened entries agrees with solve
    total = answers["total_norm"]
    assert total == pytest.approx(math.sqrt(sum(n * n for n in answers["norms"])))
    assert total >= max(answers["norms"]) and 0 < answers["scale"] <= 1
    clipped_norm = math.sqrt(sum(v * v for g in answers["clipped"] for v in g))
    assert clipped_norm == pytest.approx(min(total, params["max_norm"]))
    if params["max_norm"] >= total:
        assert answers["clipped"] == params["grads"]  # nothing clipped


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        params, answers = thaw(variant.params), thaw(variant.answers)
        assert 2 <= len(params["grads"]) <= 3 and all(2 <= len(g) <= 3 for g in params["grads"])
        assert all(round(v, 1) == v and v != 0 and -3 <= v <= 3 for g in params["grads"] for v in g)
        assert answers["total_norm"] > params["max_norm"] and answers["scale"] < 1  # every draw clips


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 6
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_gives_a_wrong_answer_on_the_worked_example(mistake):
    right = FAM.solve(WORKED)
    wrong = FAM.mistakes[mistake](WORKED)
    assert wrong
    for name, value in wrong.items():
        pairs = zip(flat(value), flat(right[name]))
        assert not any(FAM.answers[name].grading.accepts(r, w) for w, r in pairs), (mistake, name)


def flat(value):
    """The numbers of an answer, nested lists flattened."""
    return [v for item in value for v in flat(item)] if isinstance(value, list) else [value]


# params on which some listed mistake gives an accepted number: a scale within 1e-5 of 1 with a tiny tensor
# (per-tensor clipping, the sum of norms, the inverted scale, rescaling to max_norm), a tensor of norm 1
# (no square root), a tensor of one entry (L1 = L2)
SCORING = [
    {"grads": [[6, 8], [0.01, 0.01]], "max_norm": 10},
    {"grads": [[0.6, 0.8], [1.5, 2]], "max_norm": 1},
    {"grads": [[2], [1.5, 2]], "max_norm": 1},
]


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_the_mistake_check_bites_where_the_mistake_would_score(mistake):
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    reasons = [scoring_mistake(only, params, FAM.solve(params)) for params in SCORING]
    assert any(r and f"the mistake '{mistake}'" in r for r in reasons), reasons
    for params, reason in zip(SCORING, reasons):
        if reason:
            with pytest.raises(InputError, match="the mistake"):
                draw(FAMILY, 0, params)


def test_tampered_answers_are_rejected_naming_the_answer():
    tamper = [
        (lambda a: a["norms"].__setitem__(0, a["norms"][0] + 1e-6), r"norms\[0\]"),
        (lambda a: a.__setitem__("total_norm", a["total_norm"] * 1.001), "total_norm"),
        (lambda a: a.__setitem__("scale", 1.0), "scale"),
        (lambda a: a["clipped"][1].__setitem__(1, -a["clipped"][1][1]), r"clipped\[1\]\[1\]"),
    ]
    assert_tampering_caught(FAM, FAM.validate(dict(WORKED)), tamper)


# ---------------------------------------------------------------- refusals and pins


def test_nothing_clipped_is_refused():
    with pytest.raises(InputError, match="nothing is clipped"):
        draw(FAMILY, 0, {"grads": [[3, 4], [1.2, -1.6]], "max_norm": 6})


def test_a_zero_entry_is_refused():
    with pytest.raises(InputError, match=r"grads\[1\]\[0\] is 0"):
        draw(FAMILY, 0, {"grads": [[3, 4], [0, -1.6]], "max_norm": 1})


def test_bad_pins_name_the_field():
    with pytest.raises(InputError, match=r"params\.grads: expected a list of 2 or 3 gradient vectors"):
        draw(FAMILY, 0, {"grads": [[3, 4]], "max_norm": 1})
    with pytest.raises(InputError, match=r"params\.grads\[1\]\[0\]"):
        draw(FAMILY, 0, {"grads": [[3, 4], ["1", 2]], "max_norm": 1})
    with pytest.raises(InputError, match=r"params\.max_norm"):
        draw(FAMILY, 0, {"grads": [[3, 4], [1, 2]], "max_norm": -1})
    with pytest.raises(InputError, match=r"params\.grads\[0\]"):
        draw(FAMILY, 0, {"grads": [[1, 2, 3, 4, 5], [1, 2]], "max_norm": 1})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {name: a.grading.describe() for name, a in FAM.answers.items()} == {
        "norms": "4 decimal places", "total_norm": "4 decimal places", "scale": "4 decimal places",
        "clipped": "4 decimal places"}
    assert leaf_label("d", "clipped", FAM.answers["clipped"], ["1", "0"], [[0.1, 0.2], [0.3, 0.4]]) == (
        "(d) clipped g_i, tensor 2, entry 1")
    assert form_hint(FAM.answers["norms"], [0.1, 0.2]) == "2 numbers, 4 decimal places each"
    assert set(FAM.sample(np.random.default_rng(0))) == {"grads", "max_norm"}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_shape: dict[tuple, set] = {}
    for variant in drawn:
        params = thaw(variant.params)
        shape = tuple(FAM.structure_of(params)["grads"])
        by_shape.setdefault(shape, set()).add((FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert all(len(v) == 1 for v in by_shape.values()) and len(by_shape) == 12
    assert next(iter(by_shape[(2, 2)]))[0] == pytest.approx(1.0 + (0.8 + 0.8) + 0.6 + 0.5 + 0.8)


def test_samples_are_drawn_at_once():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(500))
    assert refused <= 25
