"""diffusion-forward (issue 19): a worked example computed by hand, properties over many seeds and over
hypothesis' schedules, one test per listed mistake, tampered answers, bad pins named by field, the card (parts,
minutes by structure, labels, precisions) and the solution printing its answers at their precision."""

from __future__ import annotations

import copy
import math
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

FAMILY = "diffusion-forward"
FAM = get_family(FAMILY)

# By hand: alphas = 0.9, 0.8, 0.75; alpha-bars = 0.9, 0.72, 0.54. At t = 2: sqrt(0.72) = 0.8485281374,
# sqrt(0.28) = 0.5291502622; x_2 = (0.8485281374 + 0.5 * 0.5291502622, -0.5 * 0.8485281374 + 0.5291502622)
# = (1.1131032685, 0.1048861935); SNR = 0.72 / 0.28 = 18/7 = 2.5714285714;
# c0 = sqrt(0.9) * 0.2 / 0.28 = 0.9486832981 * 0.2 / 0.28 = 0.6776309272;
# ct = sqrt(0.8) * (1 - 0.9) / 0.28 = 0.8944271910 * 0.1 / 0.28 = 0.3194382825;
# posterior variance = (0.1 / 0.28) * 0.2 = 1/14 = 0.0714285714.
WORKED = {"betas": [0.1, 0.2, 0.25], "x0": [1, -0.5], "noise": [0.5, 1], "t": 2}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(400)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)  # draw() runs the independent check


def test_the_worked_example_by_hand():
    a = answers_of(WORKED)
    assert a["alphas"] == [0.9, 0.8, 0.75]
    assert a["alpha_bars"] == pytest.approx([0.9, 0.72, 0.54], abs=1e-12)
    assert a["x_t"] == pytest.approx([1.1131032685, 0.1048861935], abs=1e-10)
    assert a["snr"] == pytest.approx(18 / 7, abs=1e-12)
    assert a["posterior_coefs"] == pytest.approx([0.6776309272, 0.3194382825], abs=1e-10)
    assert a["posterior_var"] == pytest.approx(1 / 14, abs=1e-12)


def test_the_last_step_by_hand():
    # t = 3: alpha-bar_3 = 0.54, alpha-bar_2 = 0.72; c0 = sqrt(0.72) * 0.25 / 0.46 = 0.4611565964;
    # ct = sqrt(0.75) * 0.28 / 0.46 = 0.8660254038 * 0.28 / 0.46 = 0.2424871131 / 0.46 = 0.5271458980; variance 0.28 / 0.46 * 0.25
    # = 0.1521739130; SNR = 0.54 / 0.46 = 1.1739130435.
    a = answers_of({**WORKED, "t": 3})
    assert a["posterior_coefs"] == pytest.approx([0.4611565964, 0.5271458980], abs=1e-10)
    assert a["posterior_var"] == pytest.approx(0.1521739130, abs=1e-10)
    assert a["snr"] == pytest.approx(1.1739130435, abs=1e-10)


def test_the_solution_prints_answers_as_asked():
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragments(variant, part_points=[1] * 4)
    assert r"\sqrt{1 - \beta_s}" in problem and r"\bar\alpha_s = \alpha_1" in problem and "t = 2" in problem
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    for text in ("[0.9,", "0.75]", "0.7200", "0.5400", "1.1131", "0.1049", "2.5714", "0.6776", "0.3194", "0.0714"):
        assert text in boxes, text
    assert "0.67763" not in boxes and "2.57143" not in boxes


def test_each_part_states_its_precision():
    assert_parts_state_their_precision(FAMILY, 30, 4, "decimal places")


# ---------------------------------------------------------------- properties


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=3, max_size=5), st.integers(2, 5),
       st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=1, max_size=2))
def test_properties_of_any_pinned_schedule(betas, t, values):
    params = FAM.validate({"betas": [b / 1000 for b in betas], "x0": [x / 10 for x, _ in values],
                           "noise": [e / 10 for _, e in values], "t": min(t, len(betas))})
    a = FAM.solve(params)
    FAM.check(params, a)
    bars = a["alpha_bars"]
    assert all(later < earlier for earlier, later in zip(bars, bars[1:])) and 0 < bars[-1] < 1
    t = params["t"]
    # the SNR falls with t, and the posterior variance lies below beta_t (and above 0)
    assert a["snr"] < bars[t - 2] / (1 - bars[t - 2])
    assert 0 < a["posterior_var"] < params["betas"][t - 1]
    # the posterior mean is right when x_(t-1) was in fact drawn: E[x_(t-1) | x_t, x0] averaged over x_t
    # given x0 is sqrt(alpha-bar_(t-1)) x0
    c0, ct = a["posterior_coefs"]
    assert c0 + ct * math.sqrt(bars[t - 1]) == pytest.approx(math.sqrt(bars[t - 2]), abs=1e-12)


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        p, a = thaw(variant.params), thaw(variant.answers)
        assert set(p) == {"betas", "x0", "noise", "t"}
        steps = len(p["betas"])
        assert 3 <= steps <= 5 and 2 <= p["t"] <= steps and len(p["x0"]) == len(p["noise"]) in (1, 2)
        assert list(p["betas"]) == sorted(p["betas"]) and all(b in [round(0.02 * k, 2) for k in range(1, 16)] for b in p["betas"])
        assert 0 not in p["x0"] + p["noise"]
        assert a["alphas"] == [round(1 - b, 2) for b in p["betas"]]


def test_samples_are_drawn_at_once():
    draws = [FAM.validate(FAM.sample(np.random.default_rng(s))) for s in range(400)]
    assert sum(FAM.degenerate(p) is not None for p in draws) <= 60


# ---------------------------------------------------------------- mistakes


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 8
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_is_wrong_on_the_worked_example(mistake):
    assert_mistake_is_wrong_on(FAM, WORKED, mistake)


# Per mistake, params on which it would score; a draw of them is refused by the mistake check (which names the
# first listed mistake that scores there: several slips coincide on such params).
BITES = {
    "alpha_t for alpha-bar_t (no cumulative product)": {"betas": [0.001, 0.2, 0.25], "x0": [0.1], "noise": [0.01], "t": 2},
    "alpha-bar_(t-1) for alpha-bar_t (the product stopped a step early)": {
        "betas": [0.2, 0.001, 0.25], "x0": [0.1], "noise": [0.01], "t": 2},
    "x_t = alpha-bar x_0 + (1 - alpha-bar) noise (no square roots)": {
        "betas": [0.1, 0.004, 0.4], "x0": [-1.3], "noise": [0.3], "t": 2},
    "the square roots of x_t swapped between x_0 and the noise": {**WORKED, "x0": [1], "noise": [1]},
    "the SNR as sqrt(alpha-bar) / sqrt(1 - alpha-bar) (amplitudes, not powers)": {**WORKED, "betas": [0.2, 0.375, 0.4]},
    "alpha-bar_s as 1 - (beta_1 + ... + beta_s)": {**WORKED, "betas": [0.001, 0.001, 0.001]},
    "the posterior mean's two coefficients swapped": {**WORKED, "betas": [0.01, 0.01, 0.3]},  # beta_1 = beta_2: c0 = ct
    "the posterior variance as beta_t (the forward step's variance)": {**WORKED, "betas": [0.2, 0.001, 0.3]},
}


@pytest.mark.parametrize("mistake", sorted(BITES))
def test_a_draw_the_mistake_would_score_on_is_refused(mistake):
    assert set(BITES) == set(FAM.mistakes)
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params = BITES[mistake]
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match="degenerate diffusion-forward problem: the mistake '"):
        draw(FAMILY, 0, params)


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
    with pytest.raises(InputError, match="an entry of x0 is 0"):
        draw(FAMILY, 0, {**WORKED, "x0": [0, 1]})
    with pytest.raises(InputError, match="an entry of the noise is 0"):
        draw(FAMILY, 0, {**WORKED, "noise": [1, 0]})


@pytest.mark.parametrize("pin, field", [
    ({"betas": [0.1, 0.2]}, r"params\.betas: expected a list of 3 to 5 numbers"),
    ({"betas": [0.1, 0.6, 0.2]}, r"params\.betas\[1\]: expected a number from 0\.001 to 0\.5"),
    ({"t": 1}, r"params\.t: expected an integer from 2 to 3"),
    ({"t": 4}, r"params\.t: expected an integer from 2 to 3"),
    ({"noise": [1]}, r"params\.noise: expected a list of 2 numbers \(one per value of x0\)"),
    ({"x0": [1, 2, 3]}, r"params\.x0: expected a list of 1 to 2 numbers"),
])
def test_bad_pins_are_named_by_field(pin, field):
    with pytest.raises(InputError, match=field):
        draw(FAMILY, 0, {**WORKED, **pin})


# ---------------------------------------------------------------- the card


def test_the_card():
    described = {name: a.grading.describe() for name, a in FAM.answers.items()}
    assert described.pop("alphas") == "exact" and set(described.values()) == {"4 decimal places"}
    assert [p.answers for p in FAM.parts(WORKED)] == [("alphas", "alpha_bars"), ("x_t",), ("snr",),
                                                       ("posterior_coefs", "posterior_var")]
    assert leaf_label("a", "alpha_bars", FAM.answers["alpha_bars"], ["2"], [0.9, 0.8, 0.7]) == "(a) alpha-bar, step 3"
    assert form_hint(FAM.answers["x_t"], [0.1, 0.2]) == "2 numbers, 4 decimal places each"
    assert FAM.structure_of(WORKED) == {"betas": [3], "x0": [2]}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_shape: dict[tuple, set] = {}
    for variant in drawn:
        p = thaw(variant.params)
        by_shape.setdefault((len(p["betas"]), len(p["x0"])), set()).add(
            (FAM.minutes(p), tuple(part.weight for part in FAM.parts(p))))
    assert all(len(v) == 1 for v in by_shape.values()) and len(by_shape) == 6
    # read 1.5; (a) (2T - 1) / 4; (b) 1 + n / 2; (c) 0.75; (d) 3.5
    assert next(iter(by_shape[(3, 1)]))[0] == 1.5 + 1.25 + 1.5 + 0.75 + 3.5
    assert next(iter(by_shape[(5, 2)]))[0] == 1.5 + 2.25 + 2 + 0.75 + 3.5
