"""dropout (issue 19): worked examples computed by hand, properties over many seeds and over hypothesis'
layers, the card (precisions, labels, minutes by structure), each refusal and each listed mistake."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_parts_state_their_precision, assert_tampering_caught, command_arguments
from hypothesis import given, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "dropout"
FAM = get_family(FAMILY)
WORKED = {"h": [2.4, 1.2, -0.7, 1.8], "p_drop": 0.25, "mask": [1, 0, 1, 1], "upstream": [1.1, -0.5, 0.3, -1]}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(300)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)


# ---------------------------------------------------------------- worked examples, by hand


def test_a_quarter_dropped_by_hand():
    # s = 1 / 0.75 = 4/3; y = (2.4 * 4/3, 0, -0.7 * 4/3, 1.8 * 4/3) = (3.2, 0, -14/15, 2.4);
    # dL/dh = (1.1 * 4/3, 0, 0.3 * 4/3, -4/3) = (22/15, 0, 0.4, -4/3); E[y] = h; y_test = h.
    answers = answers_of(WORKED)
    assert answers["scale"] == pytest.approx(4 / 3, abs=1e-15)
    assert answers["output"] == pytest.approx([3.2, 0, -14 / 15, 2.4], abs=1e-15)
    assert answers["grad"] == pytest.approx([22 / 15, 0, 0.4, -4 / 3], abs=1e-15)
    assert answers["expected"] == answers["test_output"] == WORKED["h"]


def test_most_units_dropped_by_hand():
    # p = 0.6: s = 1 / 0.4 = 2.5; y = (0, -5, 1, 0, 1.25); dL/dh = (0, 2.5, -2.5, 0, 1).
    answers = answers_of({"h": [1, -2, 0.4, 3, 0.5], "p_drop": 0.6, "mask": [0, 1, 1, 0, 1],
                          "upstream": [0.2, 1, -1, 2, 0.4]})
    assert answers["scale"] == 2.5
    assert answers["output"] == pytest.approx([0, -5, 1, 0, 1.25], abs=1e-15)
    assert answers["grad"] == pytest.approx([0, 2.5, -2.5, 0, 1], abs=1e-15)


def test_the_solution_prints_fractions_exactly():
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragments(variant, part_points=[1, 1, 1, 1])
    assert "p = 0.25" in problem and "inverted dropout" in problem and "no unit is dropped" in problem
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert r"s = \frac{4}{3}" in boxes and r"-\frac{14}{15}" in boxes and r"\frac{22}{15}" in boxes
    assert "0.9333" not in boxes and "units 2" not in solution and "unit $2$" in solution


def test_each_part_states_its_precision_and_boxes_answers_at_it():
    assert_parts_state_their_precision(FAMILY, 30, 4, "exact")


# ---------------------------------------------------------------- properties


@given(st.lists(st.tuples(st.integers(-30, 30).filter(bool), st.integers(-20, 20).filter(bool), st.booleans()),
                min_size=2, max_size=8),
       st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.5, 0.9]))
def test_properties_of_any_pinned_layer(units, p_drop):
    params = FAM.validate({"h": [u[0] / 10 for u in units], "p_drop": p_drop, "mask": [int(u[2]) for u in units],
                           "upstream": [u[1] / 10 for u in units]})
    answers = FAM.solve(params)
    FAM.check(params, answers)  # floats, finite differences and the enumeration of every mask agree
    for y, g, m, h, up in zip(answers["output"], answers["grad"], params["mask"], params["h"], params["upstream"]):
        assert (y == 0 and g == 0) if not m else (y == pytest.approx(h / (1 - p_drop)) and g == pytest.approx(up / (1 - p_drop)))
    assert answers["scale"] == pytest.approx(1 / (1 - p_drop)) and answers["expected"] == params["h"]


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        params, answers = thaw(variant.params), thaw(variant.answers)
        n = len(params["h"])
        assert 4 <= n <= 6 and len(params["mask"]) == len(params["upstream"]) == n
        assert 1 <= params["mask"].count(0) <= n // 2 and params["p_drop"] != 0.5
        assert all(v != 0 and round(v, 1) == v for v in params["h"] + params["upstream"])
        assert answers["test_output"] == params["h"]


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 9
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_gives_a_wrong_answer_on_the_worked_example(mistake):
    right = FAM.solve(WORKED)
    wrong = FAM.mistakes[mistake](WORKED)
    assert wrong
    for name, value in wrong.items():
        values = value if isinstance(value, list) else [value]
        truths = right[name] if isinstance(right[name], list) else [right[name]]
        pairs = [(w, r) for w, r in zip(values, truths) if w is not None]  # None: left right by its nature
        assert pairs and not any(FAM.answers[name].grading.accepts(r, w) for w, r in pairs), (mistake, name)


def test_the_mistake_check_bites_where_the_mistake_would_score():
    """p_drop = 0.5: 1 / p = 1 / (1 - p) = 2, so reading p as the keep probability gives every right number."""
    mistake = "p_drop read as the keep probability (scale 1 / p)"
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params = {**WORKED, "p_drop": 0.5}
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match="keep probability"):
        draw(FAMILY, 0, params)


def test_tampered_answers_are_rejected_naming_the_answer():
    tamper = [
        (lambda a: a.__setitem__("scale", 1.3333), "scale"),
        (lambda a: a["output"].__setitem__(1, 1.6), r"output\[1\]"),
        (lambda a: a["grad"].__setitem__(0, 1.1), r"grad\[0\]"),
        (lambda a: a["expected"].__setitem__(3, 1.8 * 0.75), r"expected\[3\]"),
        (lambda a: a["test_output"].__setitem__(0, 3.2), r"test_output\[0\]"),
    ]
    assert_tampering_caught(FAM, FAM.validate(dict(WORKED)), tamper)


# ---------------------------------------------------------------- refusals and pins


def test_masks_that_keep_or_drop_everything_are_refused():
    for mask in ([1, 1, 1, 1], [0, 0, 0, 0]):
        with pytest.raises(InputError, match="keeps every unit or drops every unit"):
            draw(FAMILY, 0, {**WORKED, "mask": mask})


def test_zero_activations_and_gradients_are_refused():
    with pytest.raises(InputError, match=r"h\[2\] is 0"):
        draw(FAMILY, 0, {**WORKED, "h": [2.4, 1.2, 0, 1.8]})
    with pytest.raises(InputError, match=r"upstream\[1\] is 0"):
        draw(FAMILY, 0, {**WORKED, "upstream": [1.1, 0, 0.3, -1]})


def test_bad_pins_name_the_field():
    with pytest.raises(InputError, match=r"params\.mask: expected a list of 4 entries, 1 \(kept\) or 0 \(dropped\)"):
        draw(FAMILY, 0, {**WORKED, "mask": [1, 0, 1]})
    with pytest.raises(InputError, match=r"params\.mask"):
        draw(FAMILY, 0, {**WORKED, "mask": [1, 0, 2, 1]})
    with pytest.raises(InputError, match=r"params\.mask"):
        draw(FAMILY, 0, {**WORKED, "mask": [True, False, True, True]})
    with pytest.raises(InputError, match=r"params\.upstream: expected a list of 4 numbers \(dL/doutput"):
        draw(FAMILY, 0, {**WORKED, "upstream": [1, 2]})
    with pytest.raises(InputError, match=r"params\.p_drop: expected a number from 0.01 to 0.99"):
        draw(FAMILY, 0, {**WORKED, "p_drop": 1})
    with pytest.raises(InputError, match=r"params\.h\[1\]"):
        draw(FAMILY, 0, {**WORKED, "h": [2.4, "1.2", -0.7, 1.8]})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {name: a.grading.describe() for name, a in FAM.answers.items()} == dict.fromkeys(FAM.answers, "exact")
    assert leaf_label("b", "output", FAM.answers["output"], ["2"], [0.1, 0, 0.3, 1]) == "(b) y, unit 3"
    assert form_hint(FAM.answers["scale"], 1.25).startswith("a number")
    assert set(FAM.sample(np.random.default_rng(0))) == {"h", "p_drop", "mask", "upstream"}
    assert [p.answers for p in FAM.parts(WORKED)] == [("scale",), ("output",), ("grad",), ("expected", "test_output")]


def test_minutes_and_weights_follow_the_structure(drawn):
    by_shape: dict[str, set] = {}
    for variant in drawn:
        params = thaw(variant.params)
        key = repr(sorted(FAM.structure_of(params).items()))
        by_shape.setdefault(key, set()).add((FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert all(len(v) == 1 for v in by_shape.values()) and len(by_shape) == 2 + 2 + 3  # n = 4, 5, 6
    assert FAM.structure_of(WORKED) == {"h": [4], "dropped": 1}
    assert FAM.minutes(WORKED) == pytest.approx(1.0 + 0.5 + (0.75 + 0.1) + (0.75 + 0.1 + 1.0) + 1.4)


def test_samples_are_drawn_at_once():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(500))
    assert refused <= 5
