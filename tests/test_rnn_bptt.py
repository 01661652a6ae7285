"""rnn-bptt: two steps worked by hand, one test per mistake and per degenerate rule, and properties over
many seeds."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.grading import rounding_trap, scoring_mistake
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "rnn-bptt"
SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=40, deadline=None)

WORKED = {"x": [[0.5], [-1]], "h0": [0.2, -0.4], "W": [[0.5, -1], [0.3, 0.8]], "U": [[1], [-0.5]], "b": [0.1, 0],
          "w_out": [1, -0.5], "y": 0.8}


def test_two_steps_worked_by_hand():
    ans = thaw(draw(FAMILY, 0, WORKED).answers)
    # step 1: a = W h0 + U x1 + b = [0.1 + 0.4 + 0.5 + 0.1, 0.06 - 0.32 - 0.25 + 0] = [1.1, -0.51]
    h1 = [math.tanh(1.1), math.tanh(-0.51)]
    # step 2: a = W h1 + U x2 + b
    a2 = [0.5 * h1[0] - 1 * h1[1] + 1 * -1 + 0.1, 0.3 * h1[0] + 0.8 * h1[1] - 0.5 * -1 + 0]
    h2 = [math.tanh(a) for a in a2]
    y_hat = 1 * h2[0] - 0.5 * h2[1]
    err = y_hat - 0.8
    assert ans["h"][0] == pytest.approx(h1) and ans["h"][1] == pytest.approx(h2)
    assert ans["y_hat"] == pytest.approx(y_hat) and ans["loss"] == pytest.approx(err**2 / 2)
    assert ans["dw_out"] == pytest.approx([err * h2[0], err * h2[1]])
    # back through step 2, then W^T to h1, then through step 1
    da2 = [err * 1 * (1 - h2[0] ** 2), err * -0.5 * (1 - h2[1] ** 2)]
    d_h1 = [0.5 * da2[0] + 0.3 * da2[1], -1 * da2[0] + 0.8 * da2[1]]  # W^T da2
    da1 = [d_h1[0] * (1 - h1[0] ** 2), d_h1[1] * (1 - h1[1] ** 2)]
    h0 = [0.2, -0.4]
    dW = [[da2[i] * h1[j] + da1[i] * h0[j] for j in range(2)] for i in range(2)]
    assert np.allclose(ans["dW"], dW)
    assert np.allclose(ans["dU"], [[da2[i] * -1 + da1[i] * 0.5] for i in range(2)])
    assert ans["db"] == pytest.approx([da2[0] + da1[0], da2[1] + da1[1]])
    assert ans["dh0"] == pytest.approx([0.5 * da1[0] + 0.3 * da1[1], -1 * da1[0] + 0.8 * da1[1]])
    # at the precision asked (tanh(1.1) = 0.800499, tanh(-0.51) = -0.469945 on a calculator)
    assert [round(v, 4) for v in ans["h"][0]] == [0.8005, -0.4699]
    assert (round(ans["y_hat"], 4), round(ans["loss"], 4)) == (-0.2042, 0.5043)
    assert [f"{v:.3g}" for v in ans["db"]] == ["-1.14", "1.5"]


def test_the_solution_shows_each_step_and_the_sum_over_steps():
    _, solution = render_fragments(draw(FAMILY, 0, WORKED))
    assert r"\delta a_{2} h_{1}^\top" in solution and r"\delta a_{1} h_{0}^\top" in solution
    assert r"\cdot (-1)" in solution  # the scalar input of step 2 as a factor
    assert r"\qbankanswer{$\partial L / \partial W" in solution


# ---------------------------------------------------------------- every mistake, every degenerate rule

# Params on which each listed mistake scores (found by drawing: the sampler's own loop redraws them).
SCORING = {
    "dW, dU and db from the last step only (no sum over time)": {
        "x": [[-0.4], [-0.5]], "h0": [-0.1, 0.2], "W": [[0.3, -0.8], [0.9, -0.7]], "U": [[-1], [0.1]], "b": [0.4, 0.2],
        "w_out": [1.1, -0.2], "y": 0.2},
    "dW with h_t for h_{t-1}": {
        "x": [[-0.6], [-0.8]], "h0": [-0.2, -0.5], "W": [[0.5, -0.5], [-0.2, 0.7]], "U": [[-0.6], [0.2]], "b": [0, 0.1],
        "w_out": [-1.3, -0.8], "y": 0.2},
    "W for W^T on the way back a step": {**WORKED, "W": [[0.5, 0.3], [0.3, 0.8]]},  # a symmetric W hides it
    "tanh's slope left out": {
        "x": [[0.5], [0.5]], "h0": [0.5, 0.4], "W": [[-1, 0.2], [-0.7, -0.5]], "U": [[0.1], [0.8]], "b": [0.1, -0.4],
        "w_out": [-0.4, -1.3], "y": -0.2},
    "dL/dw_out = h_T (the error left out)": {  # y_hat - y is 1 to within the precision
        "x": [[-0.7], [-0.9], [0.9]], "h0": [0.3, -0.2], "W": [[0.9, 0.8], [-1, 0.2]], "U": [[0.6], [-0.4]], "b": [-0.4, 0.5],
        "w_out": [-0.6, 1.2], "y": -0.1},
    "dL/dh_0 = W^T dL/dh_1 (the slope of step 1 left out)": {  # h_1 near 0: the slope there is about 1
        "x": [[0.1], [-0.3]], "h0": [0.5, -0.1], "W": [[0.3, -0.3], [-0.1, 1]], "U": [[-0.7], [0.3]], "b": [-0.1, 0.2],
        "w_out": [0.8, -0.5], "y": 0.7},
}
NEVER = ("the error's sign flipped (y - y_hat)", "the 1/2 of the loss dropped")  # y_hat - y is never 0


@pytest.mark.parametrize("mistake", list(SCORING))
def test_each_mistake_is_refused_where_it_would_score(mistake):
    assert set(SCORING) | set(NEVER) == set(get_family(FAMILY).mistakes)
    with pytest.raises(InputError, match=re.escape(f"the mistake '{mistake}'")):
        draw(FAMILY, 0, SCORING[mistake])


@pytest.mark.parametrize("mistake", NEVER)
def test_a_mistake_that_scales_by_the_error_changes_every_value_it_gives(mistake):
    """The sign flip negates every gradient and the lost 1/2 doubles them: with |y_hat - y| >= 0.2 none can
    come out right."""
    fam = get_family(FAMILY)
    for seed in range(60):
        v = draw(FAMILY, seed)
        wrong, right = fam.mistakes[mistake](thaw(v.params)), thaw(v.answers)
        factor = -1 if "sign" in mistake else 2
        for name in ("dw_out", "db", "dh0"):
            assert np.allclose(wrong[name], factor * np.array(right[name])), (seed, name)
        assert abs(v.answers["y_hat"] - v.params["y"]) >= 0.2


@pytest.mark.parametrize("change, reason", [
    ({"w_out": [1, 0]}, "w_out = [1, 0] has a zero entry"),
    ({"x": [[0.5], [0]]}, "x has a zero entry"),
    ({"h0": [0, -0.4]}, "h0 = [0, -0.4] has a zero entry"),
    ({"h0": [0.3, 0.3]}, "h0 = [0.3, 0.3] has equal entries"),
    ({"x": [[0.5, 0.5], [-1, 0.2]], "U": [[1, 0.3], [-0.5, 0.4]]}, "has an input with equal entries"),
    ({"y": -0.3}, "is within 0.2 of y = -0.3"),
    ({"U": [[0.39], [-0.5]]}, "the terms of dL/dU (entry 2) nearly cancel"),
    ({"W": [[-1.96, -1], [0.3, 0.8]]}, "the terms of dL/dh_0 (entry 2) nearly cancel"),
])
def test_each_degenerate_rule_is_refused_naming_it(change, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        draw(FAMILY, 0, {**WORKED, **change})


def test_bad_params_are_named():
    with pytest.raises(InputError, match=r"x: expected a list of 2 or 3 rows"):
        draw(FAMILY, 0, {**WORKED, "x": [[0.5]]})
    with pytest.raises(InputError, match=r"U"):
        draw(FAMILY, 0, {**WORKED, "U": [[1, 2], [0.5, 0.1]]})  # two columns for one input


def test_no_listed_mistake_scores_over_many_seeds():
    fam = get_family(FAMILY)
    for seed in range(300):
        v = draw(FAMILY, seed)
        params, answers = thaw(v.params), thaw(v.answers)
        assert scoring_mistake(fam, params, answers) is None and rounding_trap(fam, params, answers) is None, seed
        assert params["W"][0][1] != params["W"][1][0]  # the sampler draws no symmetric W


def test_the_check_catches_a_wrong_gradient():
    v = draw(FAMILY, 5)
    answers = thaw(v.answers)
    answers["dW"][0][1] *= 1.01
    with pytest.raises(VerificationError, match=r"dW"):
        verify(get_family(FAMILY), 5, thaw(v.params), answers)


# ---------------------------------------------------------------- properties and the card


@given(SEEDS)
@PROPERTY
def test_properties_over_seeds(seed):
    v = draw(FAMILY, seed)
    p, a = thaw(v.params), thaw(v.answers)
    steps = len(p["x"])
    assert steps in (2, 3) and len(a["h"]) == steps and all(len(h) == 2 for h in a["h"])
    err = a["y_hat"] - p["y"]
    assert a["loss"] == pytest.approx(err**2 / 2)
    assert np.allclose(a["dw_out"], err * np.array(a["h"][-1]))
    # every parameter gradient is proportional to the error: another target scales them all alike
    fam = get_family(FAMILY)
    other = fam.solve(fam.validate({**p, "y": round(p["y"] + 1, 1)}))
    ratio = (a["y_hat"] - p["y"] - 1) / err
    for name in ("dW", "dU", "db", "dh0", "dw_out"):
        assert np.allclose(other[name], ratio * np.array(a[name]))
    # the last step alone gives db only when the earlier steps add nothing: here they always do
    da_last = err * np.array(p["w_out"]) * (1 - np.array(a["h"][-1]) ** 2)
    assert not np.allclose(a["db"], da_last)


def test_the_chosen_precisions_and_labels():
    fam = get_family(FAMILY)
    assert {fam.answers[n].grading.describe() for n in ("h", "y_hat", "loss")} == {"4 decimal places"}
    assert {fam.answers[n].grading.describe() for n in ("dw_out", "dW", "dU", "db", "dh0")} == {"3 significant digits"}
    assert fam.answers["h"].index == ("step {}", "unit {}") and fam.answers["dh0"].label == "dL/dh_0"


def test_minutes_and_weights_depend_on_the_structure_only():
    fam = get_family(FAMILY)
    by_structure: dict[str, set] = {}
    for seed in range(150):
        params = draw(FAMILY, seed).params
        key = json.dumps(fam.structure_of(params), sort_keys=True)
        by_structure.setdefault(key, set()).add((fam.minutes(params), tuple(p.weight for p in fam.parts(params))))
    assert set(by_structure) == {json.dumps({"x": shape}) for shape in ([2, 1], [3, 1], [2, 2])}
    assert all(len(times) == 1 for times in by_structure.values()), by_structure
    minutes = {k: next(iter(v))[0] for k, v in by_structure.items()}
    assert minutes['{"x": [2, 1]}'] < minutes['{"x": [2, 2]}'] < minutes['{"x": [3, 1]}'] <= 26


def test_the_sampler_rarely_leaves_a_draw_to_refuse():
    fam = get_family(FAMILY)
    refused = sum(fam.degenerate(fam.validate(fam.sample(np.random.default_rng(seed)))) is not None for seed in range(150))
    assert refused <= 3
