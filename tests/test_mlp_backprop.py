"""mlp-backprop (issue 18): a one-hidden-layer MLP with a ReLU, tanh or sigmoid activation and a squared-error or
softmax cross-entropy loss. Worked examples computed by hand, properties over many seeds, one test per mistake
and per degenerate rule, tampered answers, bad and mismatched params, the card (minutes, conflicts with
mlp-skip-bce-backprop and the softmax family) and the solution printing its answers at their precision."""

from __future__ import annotations

import copy
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_parts_state_their_precision

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.fairness import Tags, conflict
from qbank.grading import scoring_mistake
from qbank.labels import form_hint
from qbank.model import thaw
from qbank.render import render_fragments

MLP = "mlp-backprop"
SEEDS = st.integers(0, 2**32)
PROPERTY = settings(max_examples=60, deadline=None)


def solved(params):
    variant = draw(MLP, 0, params)  # draw() runs the independent check
    return thaw(variant.params), thaw(variant.answers)


# --- worked examples, by hand --------------------------------------------------------------------------

# z1 = [0.5 - 1 + 0, 0.3 + 0.4 + 0.1] = [-0.5, 0.8]: unit 1 is off, h = [0, 0.8];
# y_hat = [0.5 * 0.8 + 0.1, 1.5 * 0.8 - 0.2] = [0.5, 1]; errors [-0.5, 0.8]; L = (0.25 + 0.64) / 2 = 0.445.
# dL/dh = W2^T delta2 = [-0.5 - 0.4, -0.25 + 1.2] = [-0.9, 0.95]; delta1 = [0, 0.95] (ReLU' = [0, 1]);
# dL/dx = W1^T delta1 = 0.95 [0.3, 0.2] = [0.285, 0.19].
RELU_MSE = {"x": [1, 2], "W1": [[0.5, -0.5], [0.3, 0.2]], "b1": [0, 0.1], "W2": [[1, 0.5], [-0.5, 1.5]],
            "b2": [0.1, -0.2], "activation": "relu", "loss": "mse", "target": [1, 0.2]}


def test_relu_mse_worked_example():
    _, ans = solved(RELU_MSE)
    assert ans["z1"] == pytest.approx([-0.5, 0.8]) and ans["h"] == pytest.approx([0, 0.8])
    assert ans["y_hat"] == pytest.approx([0.5, 1]) and ans["loss"] == pytest.approx(0.445)
    assert ans["db2"] == pytest.approx([-0.5, 0.8])
    assert np.allclose(ans["dW2"], [[0, -0.4], [0, 0.64]])
    assert ans["db1"] == pytest.approx([0, 0.95]) and ans["dW1"][0] == [0, 0]
    assert np.allclose(ans["dW1"], [[0, 0], [0.95, 1.9]])
    assert ans["dx"] == pytest.approx([0.285, 0.19])


# z1 = [0.5 - 0.5, 1 + 0.5] = [0, 1.5]: h = [1/2, s] with s = sigma(1.5) = 0.817574;
# y_hat = [0.5 - s, 0.25 + 0.5 s, -0.5 + s]; the correct class is the second (target 1).
SIGMOID_CE = {"x": [1, -1], "W1": [[0.5, 0.5], [1, -0.5]], "b1": [0, 0], "W2": [[1, -1], [0.5, 0.5], [-1, 1]],
              "b2": [0, 0, 0], "activation": "sigmoid", "loss": "ce", "target": 1}


def test_sigmoid_ce_worked_example():
    _, ans = solved(SIGMOID_CE)
    s = 1 / (1 + math.exp(-1.5))
    assert round(s, 6) == 0.817574
    y = [0.5 - s, 0.25 + 0.5 * s, -0.5 + s]
    total = sum(math.exp(v) for v in y)
    p = [math.exp(v) / total for v in y]
    assert ans["h"] == pytest.approx([0.5, s]) and ans["y_hat"] == pytest.approx(y)
    assert ans["loss"] == pytest.approx(-math.log(p[1]))
    assert round(ans["loss"], 4) == 0.7360
    d2 = [p[0], p[1] - 1, p[2]]  # p - e_2
    assert ans["db2"] == pytest.approx(d2) and sum(ans["db2"]) == pytest.approx(0, abs=1e-12)
    assert np.allclose(ans["dW2"], [[d * 0.5, d * s] for d in d2])
    dh = [d2[0] + 0.5 * d2[1] - d2[2], -d2[0] + 0.5 * d2[1] + d2[2]]  # W2^T delta2
    delta1 = [dh[0] * 0.25, dh[1] * s * (1 - s)]  # sigma'(0) = 1/4
    assert ans["db1"] == pytest.approx(delta1)
    assert np.allclose(ans["dW1"], [[d, -d] for d in delta1])  # x = [1, -1]
    assert ans["dx"] == pytest.approx([0.5 * delta1[0] + delta1[1], 0.5 * delta1[0] - 0.5 * delta1[1]])


def test_tanh_uses_one_minus_h_squared():
    params = {**RELU_MSE, "activation": "tanh", "b1": [0.1, 0.1]}  # z1 = [-0.4, 0.8]
    _, ans = solved(params)
    h = [math.tanh(-0.4), math.tanh(0.8)]
    y = [0.5 * h[1] + h[0] + 0.1, -0.5 * h[0] + 1.5 * h[1] - 0.2]
    d2 = [y[0] - 1, y[1] - 0.2]
    dh = [d2[0] - 0.5 * d2[1], 0.5 * d2[0] + 1.5 * d2[1]]
    assert ans["db1"] == pytest.approx([dh[0] * (1 - h[0] ** 2), dh[1] * (1 - h[1] ** 2)])


# --- properties over seeds -----------------------------------------------------------------------------


@PROPERTY
@given(SEEDS)
def test_properties_over_seeds(seed):
    variant = draw(MLP, seed)
    p, ans = thaw(variant.params), thaw(variant.answers)
    d, hid, k = len(p["x"]), len(p["W1"]), len(p["W2"])
    assert d in (2, 3) and hid in (2, 3) and k in ((1, 2) if p["loss"] == "mse" else (2, 3))
    assert np.allclose(ans["y_hat"], np.array(p["W2"]) @ np.array(ans["h"]) + np.array(p["b2"]))
    if p["loss"] == "ce":
        assert isinstance(p["target"], int) and 0 <= p["target"] < k
        assert sum(ans["db2"]) == pytest.approx(0, abs=1e-12) and ans["db2"][p["target"]] < 0
        logits = np.array(ans["y_hat"])
        assert ans["loss"] == pytest.approx(np.log(np.exp(logits).sum()) - logits[p["target"]])
    else:
        err = np.array(ans["y_hat"]) - np.array(p["target"])
        assert ans["db2"] == pytest.approx(list(err)) and ans["loss"] == pytest.approx(0.5 * float(err @ err))
    assert np.allclose(ans["dW2"], np.outer(ans["db2"], ans["h"]))
    assert np.allclose(ans["dW1"], np.outer(ans["db1"], p["x"]))
    assert np.allclose(ans["dx"], np.array(p["W1"]).T @ np.array(ans["db1"]))
    if p["activation"] == "relu":
        z1 = np.array(ans["z1"])
        assert np.all(np.abs(z1) >= 0.05) and np.any(z1 < 0) and np.any(z1 > 0)  # an inactive unit, an active one
        assert all(v == 0 for v, z in zip(ans["db1"], z1) if z < 0)
    else:
        assert np.all(np.abs(ans["z1"]) <= 3)
    json.dumps(ans)
    _, solution = render_fragments(variant)
    assert r"\VAR" not in solution and ("stably" in solution) == (p["loss"] == "ce")


# --- the card ------------------------------------------------------------------------------------------


def test_minutes_follow_the_structure_and_tanh_takes_as_long_as_the_sigmoid():
    fam = get_family(MLP)
    seen = {}
    for seed in range(300):
        p = thaw(draw(MLP, seed).params)
        key = json.dumps(fam.structure_of(p), sort_keys=True)
        seen.setdefault(key, set()).add((fam.minutes(p), tuple(part.weight for part in fam.parts(p))))
    assert all(len(v) == 1 for v in seen.values())
    base = {**RELU_MSE, "b1": [0.6, 0.1]}  # both units active: the same work but for the activation's calls
    minutes = {a: fam.minutes({**base, "activation": a}) for a in ("relu", "tanh", "sigmoid")}
    assert minutes["tanh"] == minutes["sigmoid"] > minutes["relu"]
    assert fam.minutes({**base, "loss": "ce", "target": 0}) > fam.minutes(base)  # exponentials and a log
    assert all(5 <= m <= 25 for v in seen.values() for m, _ in v)


def test_structure_counts_the_active_relu_units():
    fam = get_family(MLP)
    assert fam.structure_of(RELU_MSE) == {"x": [2], "W1": [2, 2], "W2": [2, 2], "activation": "relu", "loss": "mse",
                                          "active_units": 1}
    assert fam.structure_of({**SIGMOID_CE})["active_units"] == 2


def test_it_conflicts_with_the_skip_connection_family_and_with_softmax_cross_entropy():
    fam, skip = get_family(MLP), get_family("mlp-skip-bce-backprop")
    mine = Tags(frozenset(fam.asks_of(RELU_MSE)), frozenset(fam.reveals_of(RELU_MSE)))
    theirs = Tags(frozenset(skip.asks), frozenset(skip.reveals))
    assert conflict(mine, theirs) == "both ask mlp-backprop-weight-gradients"
    assert "softmax-cross-entropy-gradient" in fam.asks_of(SIGMOID_CE)
    assert "softmax-cross-entropy-gradient" not in fam.asks_of(RELU_MSE)
    assert conflict(Tags(frozenset(fam.asks_of(SIGMOID_CE))), Tags(frozenset({"softmax-cross-entropy-gradient"})))


def test_precisions_and_labels():
    fam = get_family(MLP)
    assert {n: fam.answers[n].grading.describe() for n in ("z1", "h", "y_hat", "loss")} == dict.fromkeys(
        ("z1", "h", "y_hat", "loss"), "4 decimal places")
    assert {fam.answers[n].grading.describe() for n in ("dW2", "db2", "dW1", "db1", "dx")} == {"3 significant digits"}
    assert [fam.answers[n].label for n in fam.answers] == ["z1", "h", "y-hat", "L", "dL/dW2", "dL/db2", "dL/dW1",
                                                          "dL/db1", "dL/dx"]
    _, ans = solved(SIGMOID_CE)
    for name in fam.answers:
        hint = form_hint(fam.answers[name], ans[name])
        assert "=" not in hint and not re.search(r"\d\.\d", hint), hint


def test_each_part_states_its_precision_and_the_solution_prints_it():
    assert_parts_state_their_precision(MLP, 40, 4, "significant")


# --- checks, params, degenerate draws -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("z1", lambda a: a["z1"].__setitem__(1, 0.81), r"z1\[1\]"),
        ("loss without the 1/2", lambda a: a.__setitem__("loss", 0.89), "loss"),
        ("y_hat", lambda a: a["y_hat"].__setitem__(0, 0.6), r"y_hat\[0\]"),
        ("dW2 transposed", lambda a: a.__setitem__("dW2", [list(c) for c in zip(*a["dW2"])]), r"dW2\[0\]"),
        ("ReLU' left out", lambda a: a.__setitem__("db1", [-0.9, 0.95]), r"db1\[0\]"),
        ("dW1", lambda a: a["dW1"][1].__setitem__(1, 1.8), r"dW1\[1\]\[1\]"),
        ("dx with W1 for W1^T", lambda a: a.__setitem__("dx", [-0.475, 0.19]), r"dx\[0\]"),
    ],
)
def test_check_rejects_tampered_answers(name, change, message):
    fam = get_family(MLP)
    answers = fam.solve(fam.validate(copy.deepcopy(RELU_MSE)))
    change(answers)
    with pytest.raises(VerificationError, match=message):
        verify(fam, 0, RELU_MSE, answers)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"x": [1, 2, 3, 4, 5]}, "params.x"),
        ({"x": [1, "2"]}, "params.x[1]"),
        ({"W1": [[0.5, -0.5], [0.3]]}, "params.W1[1]"),
        ({"W1": [[0.5, -0.5, 1], [0.3, 0.2, 1]]}, "params.W1"),
        ({"b1": [0]}, "params.b1"),
        ({"W2": [[1, 0.5, 0], [-0.5, 1.5, 0]]}, "params.W2"),
        ({"b2": [0.1]}, "params.b2"),
        ({"activation": "gelu"}, "params.activation"),
        ({"loss": "bce"}, "params.loss"),
        ({"target": "1"}, "params.target"),
        ({"target": -1}, "params.target"),
        ({"target": [1, 0.2001]}, "params.target[1]"),
    ],
)
def test_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(MLP, 0, {**RELU_MSE, **change})
    assert str(info.value).startswith(field + ":")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"loss": "ce"}, r"target = \[1, 0.2\]: the cross-entropy takes the index of the correct class, from 0 to 1"),
        ({"target": 1}, r"target = 1: the squared error takes a list of 2 numbers"),
        ({"loss": "ce", "target": 2}, "target = 2: there are only 2 classes"),
        ({"loss": "ce", "target": 0, "W2": [[1, 0.5]], "b2": [0.1]}, "the cross-entropy needs 2 outputs or more"),
    ],
)
def test_a_target_that_does_not_fit_the_loss_is_an_error_naming_it(change, message):
    with pytest.raises(InputError, match="degenerate.*" + message):
        draw(MLP, 0, {**RELU_MSE, **change})


def test_a_pinned_loss_or_target_alone_draws_on_every_seed():
    for seed in range(30):
        for loss in ("mse", "ce"):
            p = thaw(draw(MLP, seed, {"loss": loss}).params)
            assert p["loss"] == loss and isinstance(p["target"], int) == (loss == "ce")
        assert thaw(draw(MLP, seed, {"target": 0}).params)["loss"] == "ce"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"b1": [0.5, 0.1]}, "a ReLU input is \\(nearly\\) 0"),
        ({"b1": [0, -1]}, "every ReLU is off"),
        ({"activation": "tanh", "b1": [0.5, 0.1]}, "a tanh unit outputs \\(nearly\\) 0"),
        ({"activation": "tanh", "W1": [[1, 0.6], [0.3, 0.2]]}, "a tanh unit is saturated"),  # z1 = 2.2
        ({"activation": "sigmoid", "W1": [[1.5, 1], [0.3, 0.2]]}, "a sigmoid unit is saturated"),  # z1 = 3.5
        ({"loss": "ce", "target": 0, "W2": [[1, 7], [-0.5, 1.5]]}, "a class probability is below 0.02"),  # logits 5.7, 1
        ({"target": [0.5, 0.2]}, "an output is within 0.05 of its target"),
        ({"W2": [[0, 0.5], [0, 1.5]]}, "column 1 of W2 is all zeros"),
        ({"W1": [[0, 0], [0.3, 0.2]], "b1": [0.5, 0.1]}, "row 1 of W1 is all zeros"),
        ({"x": [0, 2]}, "has a zero entry"),
        ({"W1": [[0.5, -0.5], [0.3, 0.2], [-0.4, -0.1]], "b1": [0, 0.1, -0.1], "W2": [[1, 0.5, 1], [-0.5, 1.5, 1]]},
         "dL/dW1 would be mostly zeros"),
        ({"W2": [[1, 0.3], [-0.5, -0.3]]}, "the terms of dL/dh = W2\\^T dL/dy_hat nearly cancel"),
        ({"b1": [0.6, 0.1], "W1": [[0.5, 0.2], [-0.9, 0.6]]}, "the terms of dL/dx = W1\\^T delta1 nearly cancel"),
        ({"W1": [[0.5, -0.5], [0, 0.2]]}, "an input reaches no active hidden unit"),
    ],
)
def test_degenerate_pins_are_refused(change, message):
    with pytest.raises(InputError, match="degenerate.*" + message):
        draw(MLP, 0, {**RELU_MSE, **change})


# --- mistakes ------------------------------------------------------------------------------------------

# One draw per mistake that a draw can let score (found by drawing), each refused naming it.
SCORED = {
    "dL/dy_hat = p (the one-hot left out)": {
        "x": [1, 1.5], "W1": [[0.8, -0.6], [-0.1, 0.2], [-0.2, -0.5]], "b1": [0.2, 0.4, 0],
        "W2": [[-0.7, -0.6, 1.3], [0.3, 0.9, 1], [0.5, 1.1, -0.9]], "b2": [0.4, -0.3, -0.3], "activation": "relu",
        "loss": "ce", "target": 1},
    "dL/dy_hat = -1/p_c at the correct class only (the softmax left out)": {
        "x": [-1, -0.5], "W1": [[-0.4, 0.1], [-0.9, 0.9], [1, -0.3]], "b1": [-0.3, -0.2, -0.1],
        "W2": [[0.5, -1, 0.8], [-1.5, 0.8, -0.4]], "b2": [0, 0.3], "activation": "sigmoid", "loss": "ce", "target": 0},
    # every ReLU unit is active: z1 and h agree
    "dL/dW2 = delta2 z1^T (the pre-activation for h)": {
        "x": [1.5, 1, -2], "W1": [[0.9, 0.7, -0.8], [-0.6, -0.1, -0.5], [-0.7, -0.1, -0.9]], "b1": [-0.2, 0.3, -0.2],
        "W2": [[0.7, -0.3, -0.9]], "b2": [0.2], "activation": "relu", "loss": "mse", "target": [0.1]},
    "ReLU' left out (every unit passes the gradient)": {
        "x": [-1, -1], "W1": [[0.1, -0.7], [-0.1, -1], [0.3, 0]], "b1": [-0.5, 0.3, 0.1],
        "W2": [[-1, 1.1, -1.1], [0.2, -0.1, -1.1]], "b2": [-0.4, 0.1], "activation": "relu", "loss": "mse",
        "target": [0.1, -0.9]},
    # a unit with a small input: tanh' = 1 - h^2 is close to 1
    "tanh' left out": {
        "x": [-1, -0.5], "W1": [[0, 0.7], [0.6, -0.9], [0.9, 0]], "b1": [0.3, 0.5, 0.1], "W2": [[1.3, -0.8, -0.3]],
        "b2": [-0.5], "activation": "tanh", "loss": "mse", "target": [-0.5]},
    "tanh'(z1) = 1 - z1^2 (z1 for tanh z1)": {
        "x": [-0.5, 2, 2], "W1": [[-0.2, -0.7, -0.1], [0.7, 0.9, -0.5], [0.9, 0.2, 0]], "b1": [0.5, -0.2, 0.5],
        "W2": [[0.4, -1.4, -1], [-0.1, -0.8, -1.4]], "b2": [-0.2, -0.4], "activation": "tanh", "loss": "mse",
        "target": [-0.6, -0.5]},
    "sigma'(z1) = h (h for h (1 - h))": {
        "x": [2, 0.5, 2], "W1": [[-0.2, -0.2, 0.2], [-0.3, -0.6, -0.6], [-0.8, -0.1, -0.3]], "b1": [0.2, 0.5, 0.3],
        "W2": [[-0.2, 1.5, -1.2], [0.4, -0.6, 0.7]], "b2": [-0.1, -0.5], "activation": "sigmoid", "loss": "mse",
        "target": [-0.9, 0.5]},
    "sigma'(z1) = z1 (1 - z1) (z1 for h)": {
        "x": [0.5, -1], "W1": [[-0.3, 1], [0.7, -0.9], [0.2, -0.5]], "b1": [-0.1, 0.4, -0.2], "W2": [[-0.6, -1.4, 1.2]],
        "b2": [0.5], "activation": "sigmoid", "loss": "mse", "target": [1]},
    "dL/dh = W2 delta2 (W2 for W2^T)": {
        "x": [-0.5, -0.5], "W1": [[-0.8, 0.4], [-0.3, 0.3]], "b1": [0, 0.1], "W2": [[0.4, -0.6], [-0.6, 0.7]],
        "b2": [0.5, -0.1], "activation": "sigmoid", "loss": "mse", "target": [-0.5, -0.3]},
    "dL/dW1 = x delta1^T (transposed)": {
        "x": [2, -2, -2], "W1": [[0.2, 0.5, -0.9], [-1, -0.9, 0.4], [1, -0.6, 0.9]], "b1": [-0.1, -0.2, -0.2],
        "W2": [[-1.2, 0.5, 0.5]], "b2": [-0.3], "activation": "sigmoid", "loss": "mse", "target": [-0.6]},
    # W1 is symmetric off the diagonal: W1 and W1^T give the same dL/dx
    "dL/dx = W1 delta1 (W1 for W1^T)": {
        "x": [-2, 1], "W1": [[0.4, -0.8], [-0.8, -0.6]], "b1": [0, -0.5], "W2": [[1.3, -1.2]], "b2": [-0.5],
        "activation": "relu", "loss": "mse", "target": [-0.6]},
}
# Mistakes that scale or flip every number they touch by a factor other than 1 (the numbers they leave at 0 by
# their nature are left out): no draw lets them score.
SCALING = {
    "log10 for ln in the loss": ("ce", 1 / math.log(10)),
    "the 1/2 left out of the squared error": ("mse", 2),
    "dL/dy_hat = 2 (y_hat - target) (the 1/2 of the loss forgotten)": ("mse", 2),
    "dL/dy_hat = target - y_hat (the sign flipped)": ("mse", -1),
    "dL/dy_hat = one_hot - p (the sign flipped)": ("ce", -1),
}


def test_every_mistake_is_tested():
    assert set(SCORED) | set(SCALING) | {"sigma' left out"} == set(get_family(MLP).mistakes)


@pytest.mark.parametrize("mistake", sorted(SCORED))
def test_a_draw_a_mistake_scores_on_is_refused_naming_it(mistake):
    with pytest.raises(InputError, match=f"degenerate.*the mistake '{re.escape(mistake)}'"):
        draw(MLP, 0, SCORED[mistake])


@pytest.mark.parametrize("mistake", sorted(SCALING))
def test_a_scaling_mistake_changes_every_number_it_gives_by_its_factor(mistake):
    fam = get_family(MLP)
    loss, factor = SCALING[mistake]
    for seed in range(60):
        params = thaw(draw(MLP, seed, {"loss": loss}).params)
        answers = fam.solve(params)
        wrong = fam.mistakes[mistake](params)
        assert wrong
        for name, value in wrong.items():
            for w, r in zip(np.array(value, dtype=object).ravel(), np.array(answers[name], dtype=float).ravel()):
                if w is not None:
                    assert r != 0 and w == pytest.approx(factor * r), (seed, mistake, name)


def test_leaving_out_the_sigmoid_slope_multiplies_by_at_least_four():
    """sigma'(z) <= 1/4, so leaving it out multiplies delta1 by 4 or more: it can never score."""
    fam = get_family(MLP)
    for seed in range(60):
        params = thaw(draw(MLP, seed, {"activation": "sigmoid"}).params)
        right, wrong = fam.solve(params), fam.mistakes["sigma' left out"](params)
        assert all(abs(w) >= 4 * abs(r) > 0 for w, r in zip(wrong["db1"], right["db1"]))


def _scores(precision, right, wrong) -> bool:
    """The key's rule written out here: half a unit of the last place asked (4 decimals, or 3 significant digits)."""
    if precision.mode == "decimals":
        return abs(right - wrong) <= 0.5e-4 * (1 + 1e-9)
    unit = 10.0 ** (math.floor(math.log10(abs(right))) - 2) if right else 0.0
    return abs(right - wrong) <= 0.5 * unit * (1 + 1e-9)


def test_no_listed_mistake_scores_on_any_drawn_number():
    fam = get_family(MLP)
    for seed in range(300):
        variant = draw(MLP, seed)
        params, answers = thaw(variant.params), thaw(variant.answers)
        for mistake, wrong_of in fam.mistakes.items():
            for name, wrong in wrong_of(params).items():
                if wrong is None:
                    continue
                flat_wrong = np.array(wrong, dtype=object).ravel()
                flat_right = np.array(answers[name], dtype=float).ravel()
                for w, r in zip(flat_wrong, flat_right):
                    if w is not None:
                        assert not _scores(fam.answers[name].grading, r, w), (seed, mistake, name, w, r)


def test_the_mistakes_on_the_hand_example():
    fam = get_family(MLP)
    params = fam.validate(copy.deepcopy(RELU_MSE))
    right = fam.solve(params)
    assert scoring_mistake(fam, params, right) is None
    relu = fam.mistakes["ReLU' left out (every unit passes the gradient)"](params)
    assert relu["db1"] == [pytest.approx(-0.9), None]  # unit 2 is active: its entry is right by nature
    assert relu["dx"] == pytest.approx([0.5 * -0.9 + 0.285, -0.5 * -0.9 + 0.19])
    assert fam.mistakes["dL/dx = W1 delta1 (W1 for W1^T)"](params)["dx"] == [pytest.approx(-0.475), None]
    assert fam.mistakes["dL/dW2 = delta2 z1^T (the pre-activation for h)"](params)["dW2"] == [
        [pytest.approx(0.25), None], [pytest.approx(-0.4), None]]
    assert fam.mistakes["log10 for ln in the loss"](params) == {}  # the squared error has no logarithm
