"""lr-schedule (issue 19): worked examples computed by hand, properties over many seeds and over hypothesis'
schedules, the card (precision, labels, minutes by structure), each refusal and each listed mistake."""

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

FAMILY = "lr-schedule"
FAM = get_family(FAMILY)
NULLS = {"lr_min": None, "gamma": None, "step_size": None}
COSINE = {**NULLS, "schedule": "cosine", "lr_max": 0.2, "lr_min": 0.02, "warmup": 10, "total": 110, "at": [5, 10, 60, 85]}
STEP = {**NULLS, "schedule": "step", "lr_max": 0.05, "warmup": 100, "total": 120, "gamma": 0.5, "step_size": 10,
        "at": [2, 106, 110, 120]}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(400)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)


# ---------------------------------------------------------------- worked examples, by hand


def test_cosine_without_a_floor_by_hand():
    # W = 4, T = 404: the cosine runs over 400 steps. t = 1: 0.1 * 1/4 = 0.025. t = 124, 244, 364: progress
    # 0.3, 0.6, 0.9; (1 + cos(0.3 pi)) / 2 = (1 + 0.587785) / 2 = 0.793893, (1 - 0.309017) / 2 = 0.345492,
    # (1 - 0.951057) / 2 = 0.024472; times 0.1.
    params = {**NULLS, "schedule": "cosine", "lr_max": 0.1, "lr_min": 0, "warmup": 4, "total": 404,
              "at": [1, 124, 244, 364]}
    assert answers_of(params)["lr"] == pytest.approx([0.025, 0.0793893, 0.0345492, 0.00244717], abs=1e-7)


def test_cosine_with_a_floor_by_hand():
    # t = 5: 0.2 * 5/10 = 0.1; t = 10: the peak 0.2; t = 60: progress 1/2, 0.02 + 0.18 * 0.5 = 0.11;
    # t = 85: progress 3/4, (1 - 0.707107) / 2 = 0.146447, 0.02 + 0.18 * 0.146447 = 0.046360.
    assert answers_of(COSINE)["lr"] == pytest.approx([0.1, 0.2, 0.11, 0.046360], abs=1e-6)


def test_step_decay_by_hand():
    # t = 2: 0.05 * 2/100 = 0.001; t = 106: floor(6/10) = 0, 0.05; t = 110: floor(10/10) = 1, 0.025;
    # t = 120: floor(20/10) = 2, 0.0125.
    assert answers_of(STEP)["lr"] == pytest.approx([0.001, 0.05, 0.025, 0.0125], abs=1e-12)


def test_the_problem_states_only_its_schedule_and_the_solution_prints_as_asked():
    problem, solution = render_fragments(draw(FAMILY, 0, COSINE), part_points=[1])
    assert "radians" in problem and r"\gamma" not in problem and r"\eta_{\min} = 0.02" in problem
    assert r"\cos(\pi \cdot 75 / 100)" in solution
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert r"\eta_{85} = 0.04636" in boxes and r"\eta_{5} = 0.1000" in boxes
    problem, solution = render_fragments(draw(FAMILY, 0, STEP), part_points=[1])
    assert "no lower limit" in problem and r"S = 10" in problem and "radians" not in problem
    assert r"0.5^{2}" in solution and r"\eta_{120} = 0.01250" in "\n".join(command_arguments(solution, "qbankanswer"))


def test_each_part_states_its_precision_and_boxes_answers_at_it():
    assert_parts_state_their_precision(FAMILY, 30, 1, "significant")


# ---------------------------------------------------------------- properties


@given(st.sampled_from(["cosine", "step"]), st.integers(1, 50), st.integers(2, 500), st.integers(1, 9),
       st.lists(st.floats(0, 1), min_size=3, max_size=4, unique=True))
def test_properties_of_any_pinned_schedule(schedule, warmup, decay, knob, fractions):
    total = warmup + decay
    at = sorted({round(f * total) for f in fractions})
    if len(at) < 3:
        return
    params = {**NULLS, "schedule": schedule, "lr_max": 0.1, "warmup": warmup, "total": total, "at": at}
    if schedule == "cosine":
        params["lr_min"] = knob / 1000
    else:
        params["gamma"], params["step_size"] = knob / 10, max(1, decay // knob)
    params = FAM.validate(params)
    lr = FAM.solve(params)["lr"]
    FAM.check(params, FAM.solve(params))  # the step-by-step run agrees with the closed form
    for t, rate in zip(at, lr):
        assert rate == pytest.approx(0.1 * t / warmup) if t <= warmup else rate <= 0.1 + 1e-15
        if t > warmup and schedule == "cosine":
            assert rate >= params["lr_min"] - 1e-15
    late = [rate for t, rate in zip(at, lr) if t >= warmup]
    assert all(b <= a + 1e-15 for a, b in zip(late, late[1:]))  # never rises after the warmup


def test_draws_over_many_seeds(drawn):
    schedules = set()
    for variant in drawn:
        params, answers = thaw(variant.params), thaw(variant.answers)
        schedules.add(params["schedule"])
        assert list(params) == ["schedule", "lr_max", "lr_min", "warmup", "total", "gamma", "step_size", "at"]
        own = {"cosine": "lr_min", "step": "gamma"}
        assert all((params[name] is None) == (schedule != params["schedule"]) for schedule, name in own.items())
        assert 3 <= len(params["at"]) <= 4 and 0 < params["at"][0] < params["warmup"] < params["at"][1]
        assert all(0 < v <= params["lr_max"] for v in answers["lr"]) and min(answers["lr"]) >= 1e-3
        if params["schedule"] == "step":
            assert len(set(answers["lr"][1:])) == len(answers["lr"]) - 1  # decay steps in different intervals
    assert schedules == {"cosine", "step"}


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 8
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_gives_a_wrong_answer_on_a_worked_example(mistake):
    for params in (COSINE, STEP):
        wrong = FAM.mistakes[mistake](FAM.validate(dict(params)))["lr"]
        if wrong is not None:
            right = FAM.solve(FAM.validate(dict(params)))["lr"]
            assert not all(FAM.answers["lr"].grading.accepts(r, w) for w, r in zip(wrong, right)), mistake
            break
    else:
        raise AssertionError(f"{mistake}: applies to neither worked example")


# params on which a mistake reproduces the whole answer: a step smaller than step_size after a short warmup
# (the decay counted from 0 agrees), decay steps on interval boundaries (the floor changes nothing), progress
# near 0 in a long cosine (the cosine's slips all give about 1)
SCORING = {
    "the step decay counted from step 0, floor(t / step_size)":
        {**NULLS, "schedule": "step", "lr_max": 0.1, "warmup": 4, "total": 404, "gamma": 0.5, "step_size": 100,
         "at": [1, 50, 150, 250]},
    "the floor left out of the step decay": {**STEP, "at": [2, 110, 120]},
    "the cosine taken in degrees":
        {**NULLS, "schedule": "cosine", "lr_max": 0.1, "lr_min": 0, "warmup": 4, "total": 1004, "at": [1, 5, 6]},
    "the cosine without (1 + cos) / 2":
        {**NULLS, "schedule": "cosine", "lr_max": 0.1, "lr_min": 0, "warmup": 4, "total": 1004, "at": [1, 5, 6]},
    "the cosine's progress over the whole run, t / total":
        {**NULLS, "schedule": "cosine", "lr_max": 0.1, "lr_min": 0, "warmup": 1, "total": 10001, "at": [2, 3, 4]},
}


@pytest.mark.parametrize("mistake", sorted(SCORING))
def test_the_mistake_check_bites_where_the_mistake_would_score(mistake):
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params = FAM.validate(dict(SCORING[mistake]))
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match="the mistake"):
        draw(FAMILY, 0, SCORING[mistake])


def test_the_other_mistakes_never_reproduce_an_answer_they_apply_to():
    # no warmup, the warmup from 1, lr_min left out: they change every rate they apply to
    assert set(FAM.mistakes) - set(SCORING) == {
        "no warmup (lr_max from step 0)", "the warmup counted from 1 (lr_max (t + 1) / warmup)",
        "lr_min left out of the cosine (lr_max (1 + cos) / 2)"}
    assert FAM.mistakes["lr_min left out of the cosine (lr_max (1 + cos) / 2)"]({**COSINE, "lr_min": 0}) == {"lr": None}
    assert FAM.mistakes["no warmup (lr_max from step 0)"]({**COSINE, "at": [10, 60, 85]}) == {"lr": None}


def test_tampered_answers_are_rejected_naming_the_answer():
    for params in (COSINE, STEP):
        tamper = [
            (lambda a: a["lr"].__setitem__(2, a["lr"][2] * (1 + 1e-6)), r"lr\[2\]"),
            (lambda a: a["lr"].__setitem__(0, 0.0), r"lr\[0\]"),
        ]
        assert_tampering_caught(FAM, FAM.validate(dict(params)), tamper)


# ---------------------------------------------------------------- refusals and pins


def test_a_pinned_schedule_draws_its_own_params():
    for schedule, own in (("step", "gamma"), ("cosine", "lr_min")):
        for seed in range(10):
            params = thaw(draw(FAMILY, seed, {"schedule": schedule}).params)
            assert params["schedule"] == schedule and params[own] is not None


def test_bad_pins_name_the_field():
    with pytest.raises(InputError, match=r"params\.schedule: expected one of \"cosine\", \"step\""):
        draw(FAMILY, 0, {**COSINE, "schedule": "linear"})
    with pytest.raises(InputError, match=r"params\.gamma: expected null: the cosine schedule has no gamma"):
        draw(FAMILY, 0, {**COSINE, "gamma": 0.5})
    with pytest.raises(InputError, match=r"params\.lr_min: expected null: the step schedule has no lr_min"):
        draw(FAMILY, 0, {**STEP, "lr_min": 0.001})
    with pytest.raises(InputError, match=r"params\.at: expected a list of 3 or 4 increasing step indices"):
        draw(FAMILY, 0, {**COSINE, "at": [5, 60, 10]})
    with pytest.raises(InputError, match=r"params\.at\[3\]: expected an integer from 0 to 110"):
        draw(FAMILY, 0, {**COSINE, "at": [5, 10, 60, 111]})
    with pytest.raises(InputError, match=r"params\.lr_min: expected a number below lr_max = 0.2"):
        draw(FAMILY, 0, {**COSINE, "lr_min": 0.2})
    with pytest.raises(InputError, match=r"params\.warmup: expected an integer from 1"):
        draw(FAMILY, 0, {**COSINE, "warmup": 0})
    with pytest.raises(InputError, match=r"params\.total: expected an integer from 11"):
        draw(FAMILY, 0, {**COSINE, "total": 10})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert FAM.answers["lr"].grading.describe() == "4 significant digits"
    words = lambda level, position: FAM.position_word(COSINE, "lr", level, position)  # noqa: E731
    assert leaf_label("a", "lr", FAM.answers["lr"], ["1"], [0.1, 0.2, 0.11, 0.05], words) == "(a) lr, t = 10"
    assert FAM.position_word(COSINE, "lr", 0, 2) == "t = 60"
    assert form_hint(FAM.answers["lr"], [0.1, 0.2, 0.11]) == "3 numbers, 4 significant digits each"
    sampled = FAM.sample(np.random.default_rng(0))
    assert set(sampled) == {"schedule", "lr_max", "lr_min", "warmup", "total", "gamma", "step_size", "at"}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_shape: dict[str, set] = {}
    for variant in drawn:
        params = thaw(variant.params)
        key = repr(sorted(FAM.structure_of(params).items()))
        by_shape.setdefault(key, set()).add((FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert all(len(v) == 1 for v in by_shape.values()) and len(by_shape) == 4
    cosine_four = FAM.structure_of(COSINE)
    assert cosine_four == {"schedule": "cosine", "at": [4], "warmup_steps": 2}
    assert FAM.minutes(FAM.validate(dict(COSINE))) == 1.0 + 2 * 0.5 + 2 * 1.5


def test_samples_are_drawn_at_once():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(500))
    assert refused <= 25
