"""gan-losses (issue 19): a worked example computed by hand, properties over many seeds and over hypothesis'
logits, one test per listed mistake, tampered answers, bad pins named by field, the card (parts, minutes by
structure, labels, precisions) and the solution printing its answers at their precision."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from conftest import assert_parts_state_their_precision, command_arguments, assert_mistake_is_wrong_on
from hypothesis import given, settings, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "gan-losses"
FAM = get_family(FAMILY)

# By hand (sigmoid(1) = 0.7310585786, sigmoid(2) = 0.8807970780, sigmoid(0.5) = 0.6224593312;
# softplus values ln(1 + e^x): x = -1: 0.3132616875, -2: 0.1269280110, 0.5: 0.9740769842, -0.5: 0.4740769842,
# 1: 1.3132616875):
#   D_real = sigmoid(1), sigmoid(2) = 0.7310585786, 0.8807970780
#   D_fake = sigmoid(-1), sigmoid(0.5) = 0.2689414214, 0.6224593312
#   mean ln D_real = -(0.3132616875 + 0.1269280110) / 2 = -0.2200948493
#   mean ln(1 - D_fake) = mean ln sigmoid(1), ln sigmoid(-0.5) = -(0.3132616875 + 0.9740769842) / 2 = -0.6436693359
#   loss_d = 0.2200948493 + 0.6436693359 = 0.8637641852; loss_g_saturating = -0.6436693359
#   loss_g_nonsaturating = (1.3132616875 + 0.4740769842) / 2 = 0.8936693359
#   grad_saturating = -D_fake / 2 = -0.1344707107, -0.3112296656
#   grad_nonsaturating = -(1 - D_fake) / 2 = -0.3655292893, -0.1887703344
#   d_star = 0.3 / (0.3 + 0.6) = 1/3
WORKED = {"d_real": [1, 2], "d_fake": [-1, 0.5], "p_data": 0.3, "p_g": 0.6}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(400)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)  # draw() runs the independent check


def test_the_worked_example_by_hand():
    a = answers_of(WORKED)
    assert a["D_real"] == pytest.approx([0.7310585786, 0.8807970780], abs=1e-10)
    assert a["D_fake"] == pytest.approx([0.2689414214, 0.6224593312], abs=1e-10)
    assert a["loss_d"] == pytest.approx(0.8637641852, abs=1e-10)
    assert a["loss_g_saturating"] == pytest.approx(-0.6436693359, abs=1e-10)
    assert a["loss_g_nonsaturating"] == pytest.approx(0.8936693359, abs=1e-10)
    assert a["grad_saturating"] == pytest.approx([-0.1344707107, -0.3112296656], abs=1e-10)
    assert a["grad_nonsaturating"] == pytest.approx([-0.3655292893, -0.1887703344], abs=1e-10)
    assert a["d_star"] == pytest.approx(1 / 3, abs=1e-12)


def test_the_solution_prints_answers_as_asked():
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragments(variant, part_points=[1] * 5)
    assert r"\ln" in problem and "natural" in problem and "mean over the samples" in problem
    assert "1/2" in problem  # the mean's factor, said in the gradient part
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    for text in ("0.7311", "0.8808", "0.2689", "0.6225", "0.8638", "-0.6437", "0.8937", "-0.1345", "-0.3112",
                 "-0.3655", "-0.1888", "0.3333"):
        assert text in boxes, text
    assert "0.86376" not in boxes and "0.33333" not in boxes


def test_each_part_states_its_precision():
    assert_parts_state_their_precision(FAMILY, 30, 5, "decimal places")


# ---------------------------------------------------------------- properties


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=2, max_size=3), st.lists(st.integers(-40, 40), min_size=2, max_size=3),
       st.integers(1, 200), st.integers(1, 200))
def test_properties_of_any_pinned_logits(real, fake, p_data, p_g):
    params = FAM.validate({"d_real": [v / 10 for v in real], "d_fake": [v / 10 for v in fake],
                           "p_data": p_data / 100, "p_g": p_g / 100})
    a = FAM.solve(params)
    FAM.check(params, a)
    n = len(fake)
    assert all(0 < d < 1 for d in a["D_real"] + a["D_fake"])
    assert a["loss_d"] > 0 and a["loss_g_saturating"] < 0 and a["loss_g_nonsaturating"] > 0
    # the two generator gradients of a sample add up to -1/n, and both are negative
    for s, ns in zip(a["grad_saturating"], a["grad_nonsaturating"]):
        assert s + ns == pytest.approx(-1 / n) and s < 0 and ns < 0
    # where the discriminator rejects a fake sample (negative logit), the saturating gradient is the smaller
    for logit, s, ns in zip(params["d_fake"], a["grad_saturating"], a["grad_nonsaturating"]):
        if logit < 0:
            assert abs(s) < abs(ns)
    assert 0 < a["d_star"] < 1


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        p, a = thaw(variant.params), thaw(variant.answers)
        assert set(p) == {"d_real", "d_fake", "p_data", "p_g"}
        assert 2 <= len(p["d_real"]) <= 3 and 2 <= len(p["d_fake"]) <= 3
        assert all(round(v, 1) == v and -1 <= v <= 3 and v != 0 for v in p["d_real"])
        assert all(round(v, 1) == v and -3 <= v <= 1 and v != 0 for v in p["d_fake"])
        assert len(set(p["d_fake"])) == len(p["d_fake"]) and p["p_data"] != p["p_g"]
        assert min(abs(g) for g in a["grad_saturating"] + a["grad_nonsaturating"]) > 0.005


def test_samples_are_drawn_at_once():
    rng_draws = [FAM.validate(FAM.sample(np.random.default_rng(s))) for s in range(400)]
    refused = sum(FAM.degenerate(p) is not None for p in rng_draws)
    assert refused <= 40


# ---------------------------------------------------------------- mistakes


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 8
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_is_wrong_on_the_worked_example(mistake):
    assert_mistake_is_wrong_on(FAM, WORKED, mistake)


# Per mistake, params on which it would score, and the refusal a draw of them meets (the rule that refuses
# them first: out of range, or the family's own degenerate rule, or the mistake check itself).
BITES = {
    "log10 for ln in the losses": ({"d_real": [12, 11], "d_fake": [-12, -11], "p_data": 0.3, "p_g": 0.6},
                                   r"params\.d_real\[0\]"),
    "sums over the samples for means (the gradients without 1/n)": (
        {"d_real": [12, 11], "d_fake": [-12, -11], "p_data": 0.3, "p_g": 0.6}, r"params\.d_real\[0\]"),
    "the saturating and non-saturating gradients swapped": (
        {"d_real": [1, 2], "d_fake": [0, 1.5], "p_data": 0.3, "p_g": 0.6}, "a fake logit is 0"),
    "log D(G(z)) for log(1 - D(G(z))) in the discriminator's loss": (
        {"d_real": [1, 2], "d_fake": [-1.5, 1.5], "p_data": 0.3, "p_g": 0.6}, "the mistake 'log D"),
    "the gradients' sign flipped": ({"d_real": [1, 2], "d_fake": [-12, -11], "p_data": 0.3, "p_g": 0.6},
                                    r"params\.d_fake\[0\]"),
    "p_g / (p_data + p_g) for the optimal discriminator": (
        {"d_real": [1, 2], "d_fake": [-1, 0.5], "p_data": 0.4, "p_g": 0.4}, "p_data = p_g"),
    "the saturating loss with its sign flipped (-mean log(1 - D(G(z))))": (
        {"d_real": [1, 2], "d_fake": [-12, -11], "p_data": 0.3, "p_g": 0.6}, r"params\.d_fake\[0\]"),
}


@pytest.mark.parametrize("mistake", sorted(BITES))
def test_a_draw_the_mistake_would_score_on_is_refused(mistake):
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params, refusal = BITES[mistake]
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match=refusal):
        draw(FAMILY, 0, params)


def test_the_gradient_in_d_never_scores():
    """-1/(n (1 - D)) against -D/n would need D (1 - D) = 1, and -1/(n D) against -(1 - D)/n the same: no D in
    (0, 1) does that, so no draw needs refusing for this mistake (checked over the whole grid of logits)."""
    assert "the gradients with respect to D(G(z)) instead of the logit" not in BITES
    only = type("OneMistake", (type(FAM),), {"mistakes": {
        "d": FAM.mistakes["the gradients with respect to D(G(z)) instead of the logit"]}})()
    for a in range(-40, 41):
        params = {"d_real": [1, 2], "d_fake": [a / 10, 0.7], "p_data": 0.3, "p_g": 0.6}
        assert scoring_mistake(only, params, FAM.solve(params)) is None
    assert set(BITES) | {"the gradients with respect to D(G(z)) instead of the logit"} == set(FAM.mistakes)


# ---------------------------------------------------------------- tampering, refusals and pins


@pytest.mark.parametrize("name", sorted(FAM.answers))
def test_tampered_answers_are_rejected_by_check(name):
    params = FAM.validate(WORKED)
    answers = copy.deepcopy(FAM.solve(params))
    if isinstance(answers[name], list):
        answers[name][-1] += 1e-4
    else:
        answers[name] += 1e-4
    with pytest.raises(AssertionError, match=re.escape(name)):
        FAM.check(params, answers)


def test_degenerate_draws_are_refused():
    with pytest.raises(InputError, match="p_data = p_g"):
        draw(FAMILY, 0, {**WORKED, "p_data": 0.6})
    with pytest.raises(InputError, match="same logit"):
        draw(FAMILY, 0, {**WORKED, "d_fake": [-1, -1]})
    with pytest.raises(InputError, match="a fake logit is 0"):
        draw(FAMILY, 0, {**WORKED, "d_fake": [0, -1]})


@pytest.mark.parametrize("pin, field", [
    ({"d_real": [1, 2, 3, 1]}, r"params\.d_real: expected a list of 2 to 3 numbers"),
    ({"d_fake": [1, 5]}, r"params\.d_fake\[1\]: expected a number from -4 to 4"),
    ({"d_fake": [1, "2"]}, r"params\.d_fake\[1\]"),
    ({"p_g": 0}, r"params\.p_g: expected a number from 0\.01 to 10"),
    ({"p_data": 0.123}, r"params\.p_data: .*at most 2 decimals"),
])
def test_bad_pins_are_named_by_field(pin, field):
    with pytest.raises(InputError, match=field):
        draw(FAMILY, 0, {**WORKED, **pin})
    with pytest.raises(InputError, match="missing p_g"):
        FAM.validate({k: v for k, v in WORKED.items() if k != "p_g"})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {a.grading.describe() for a in FAM.answers.values()} == {"4 decimal places"}
    assert [p.answers for p in FAM.parts(WORKED)] == [
        ("D_real", "D_fake"), ("loss_d",), ("loss_g_saturating", "loss_g_nonsaturating"),
        ("grad_saturating", "grad_nonsaturating"), ("d_star",)]
    assert leaf_label("d", "grad_saturating", FAM.answers["grad_saturating"], ["1"], [-0.1, -0.2]) == (
        "(d) dL_G sat/da, fake sample 2")
    assert form_hint(FAM.answers["D_real"], [0.1, 0.2, 0.7]) == "3 numbers, 4 decimal places each"
    assert FAM.structure_of(WORKED) == {"d_real": [2], "d_fake": [2]}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_shape: dict[tuple, set] = {}
    for variant in drawn:
        p = thaw(variant.params)
        by_shape.setdefault((len(p["d_real"]), len(p["d_fake"])), set()).add(
            (FAM.minutes(p), tuple(part.weight for part in FAM.parts(p))))
    assert {k: len(v) for k, v in by_shape.items()} == {(2, 2): 1, (2, 3): 1, (3, 2): 1, (3, 3): 1}
    # read 1.5; (a) (r + f) / 2; (b) (r + f) / 2 + 0.5; (c) f; (d) 2 + f / 2; (e) 1.5
    assert next(iter(by_shape[(2, 2)]))[0] == 1.5 + 2 + 2.5 + 2 + 3 + 1.5
    assert next(iter(by_shape[(3, 3)]))[0] == 1.5 + 3 + 3.5 + 3 + 3.5 + 1.5
