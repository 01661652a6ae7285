"""relu-net-derivatives and mlp-skip-bce-backprop: worked examples, properties over seeds, tampered
answers, bad params."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.model import thaw
from qbank.render import render_fragment

RELU = "relu-net-derivatives"
MLP = "mlp-skip-bce-backprop"
SEEDS = st.integers(0, 2**32)
PROPERTY = settings(max_examples=50, deadline=None)


def by_derivative(ans, key):
    """One field of the four per-derivative answers, as {b2: ..., w2: ..., b1: ..., w1: ...}."""
    return {name: ans[f"d{name}"][key] for name in ("b2", "w2", "b1", "w1")}


def solved(family, params):
    variant = draw(family, 0, params)  # draw() runs the independent check
    return thaw(variant.params), thaw(variant.answers)


# --- relu-net-derivatives -------------------------------------------------------------------------

# Worked by hand: unit 2 has w1 = 2, b1 = -3 (kink at x = 1.5, active to the right), w2 = -1.5.
RELU_EXAMPLE = {"W1": [1, 2, -1], "b1": [0.5, -3, 1], "W2": [2, -1.5, 1], "b2": 0.5, "i": 2, "x_values": [-1, 3]}


def test_relu_worked_example():
    _, ans = solved(RELU, RELU_EXAMPLE)
    assert ans["kink"] == 1.5 and ans["active_side"] == "right"
    # dy/db2 = 1; dy/dw2_i = max(0, 2x - 3); dy/db1_i = -1.5 [x > 1.5]; dy/dw1_i = -1.5 x [x > 1.5]
    assert by_derivative(ans, "pieces") == {
        "b2": ["1", "1"], "w2": ["0", "2*x - 3"], "b1": ["0", "-1.5"], "w1": ["0", "-1.5*x"]
    }
    assert by_derivative(ans, "slopes") == {"b2": [0, 0], "w2": [0, 2], "b1": [0, 0], "w1": [0, -1.5]}
    # dy/dw1_i jumps from 0 to -1.5 * 1.5 at the kink
    assert by_derivative(ans, "jump") == {"b2": 0, "w2": 0, "b1": -1.5, "w1": -2.25}
    assert ans["values"] == {"b2": [1, 1], "w2": [0, 3], "b1": [0, -1.5], "w1": [0, -4.5]}


def test_relu_negative_input_weight_flips_the_active_side():
    params = {**RELU_EXAMPLE, "W1": [1, -2, -1], "b1": [0.5, 3, 1]}  # a_2 = -2x + 3: on for x < 1.5
    _, ans = solved(RELU, params)
    assert ans["kink"] == 1.5 and ans["active_side"] == "left"
    assert by_derivative(ans, "pieces")["w2"] == ["-2*x + 3", "0"]
    assert by_derivative(ans, "slopes")["w1"] == [-1.5, 0]
    assert by_derivative(ans, "jump") == {"b2": 0, "w2": 0, "b1": 1.5, "w1": 2.25}  # right minus left: 0 - (-2.25)
    assert ans["values"] == {"b2": [1, 1], "w2": [5, 0], "b1": [-1.5, 0], "w1": [1.5, 0]}


def test_relu_kink_at_origin_is_refused():
    # x* = 0: the sign of -b1/w1 cannot be checked, so a lost sign would score
    with pytest.raises(InputError, match=r"degenerate.*x\* = b1_i / w1_i"):
        draw(RELU, 0, {"W1": [1.5, 1], "b1": [0, 1], "W2": [2, 1], "b2": 0, "i": 1, "x_values": [-1, 2]})


def test_relu_kink_as_exact_fraction():
    variant = draw(RELU, 0, {"W1": [3, 1], "b1": [-1, 0], "W2": [2, 1], "b2": 0, "i": 1, "x_values": [-1, 2]})
    assert variant.answers["kink"] == pytest.approx(1 / 3)
    assert variant.answers["dw1"]["jump"] == pytest.approx(2 / 3)  # w2 x* = 2/3
    solution = render_fragment(variant, "solution")
    assert r"\frac{1}{3}" in solution and r"\frac{2}{3}" in solution


@PROPERTY
@given(SEEDS)
def test_relu_properties_over_seeds(seed):
    variant = draw(RELU, seed)
    params, ans = thaw(variant.params), thaw(variant.answers)
    k, i = len(params["W1"]), params["i"]
    assert 2 <= k <= 4 and 1 <= i <= k and len(params["b1"]) == len(params["W2"]) == k
    w1, b1, w2 = params["W1"][i - 1], params["b1"][i - 1], params["W2"][i - 1]
    assert w1 != 0 and w2 != 0
    assert ans["kink"] == pytest.approx(-b1 / w1) and float(ans["kink"] * 2).is_integer()
    assert ans["kink"] not in (0, 1) and w2 != 1 and not set(params["x_values"]) & {0, 1}
    assert round(b1, 1) == b1  # one decimal at most
    xs = params["x_values"]
    assert 2 <= len(xs) <= 3 and min(xs) < ans["kink"] < max(xs)
    assert all(abs(x - ans["kink"]) >= 0.5 for x in xs)
    assert by_derivative(ans, "jump")["b1"] == pytest.approx(w2 if w1 > 0 else -w2)
    assert ans["values"]["b2"] == [1] * len(xs)
    json.dumps(ans)
    solution = render_fragment(variant, "solution")
    assert solution.count(r"\begin{axis}") == 4 and r"\VAR" not in solution


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("kink",), 1, "does not switch"),
        (("active_side",), "left", "active_side"),
        (("dw2", "pieces", 1), "2*x - 2", "dw2.pieces"),
        (("dw1", "pieces", 1), "__import__('os')", "not an expression"),
        (("dw2", "pieces", 1), "(x - 2.5)*(x - 3.5) + 2*x - 3", "not linear"),  # right at x = 2.5 and 3.5, not 4.5
        (("dw1", "slopes", 1), 1.5, "dw1.slopes"),
        (("db1", "jump"), 1.5, "db1.jump"),
        (("dw1", "slopes"), [0], "dw1.slopes"),
        (("values", "w1", 1), -4, "values.w1"),
    ],
)
def test_relu_check_rejects_tampered_answers(path, value, message):
    fam = get_family(RELU)
    answers = fam.solve(fam.validate(copy.deepcopy(RELU_EXAMPLE)))
    target = answers
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(VerificationError, match=message):
        verify(fam, 0, RELU_EXAMPLE, answers)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"W1": []}, "params.W1"),
        ({"W1": [1, "a", 2]}, "params.W1[1]"),
        ({"b1": [0.5, -2]}, "params.b1"),
        ({"W2": [2, -1.5, 0.125]}, "params.W2[2]"),
        ({"b2": True}, "params.b2"),
        ({"i": 4}, "params.i"),
        ({"i": 0}, "params.i"),
        ({"W1": [1, 0, -1]}, "params.W1[1]"),
        ({"x_values": [1, 1]}, "params.x_values"),
        ({"x_values": []}, "params.x_values"),
    ],
)
def test_relu_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(RELU, 0, {**RELU_EXAMPLE, **change})
    assert str(info.value).startswith(field + ":")


def test_relu_degenerate_pins_are_refused():
    with pytest.raises(InputError, match="degenerate.*kink"):
        draw(RELU, 0, {**RELU_EXAMPLE, "x_values": [1.5, 3]})
    with pytest.raises(InputError, match="degenerate.*W2"):
        draw(RELU, 0, {**RELU_EXAMPLE, "W2": [2, 0, 1]})


# --- mlp-skip-bce-backprop ------------------------------------------------------------------------

# Worked by hand: z1 = W1 x = [1 - 2, 0.5 + 1] = [-1, 1.5], h = [0, 1.5], s = h + x = [1, 3.5],
# z2 = 0.5*1 - 0.5*3.5 + 0.5 = -0.75, y_hat = 1/(1 + e^0.75), J = -log y_hat = log(1 + e^0.75);
# delta2 = y_hat - 1, dJ/ds = delta2 [0.5, -0.5], delta1 = [0, -0.5 delta2] (unit 1 off),
# dJ/dx = dJ/ds + W1^T delta1 = delta2 ([0.5, -0.5] + [-0.25, -0.25]) = delta2 [0.25, -0.75].
MLP_EXAMPLE = {
    "x": [1, 2], "W1": [[1, -1], [0.5, 0.5]], "b1": [0, 0], "W2": [0.5, -0.5], "b2": 0.5, "y": 1, "activation": "relu"
}


def test_mlp_worked_example_relu():
    _, ans = solved(MLP, MLP_EXAMPLE)
    assert ans["forward"] == {"z1": [-1, 1.5], "h": [0, 1.5], "s": [1, 3.5], "z2": -0.75}
    y_hat = 1 / (1 + math.exp(0.75))
    d2 = y_hat - 1
    assert ans["y_hat"] == pytest.approx(y_hat) and ans["loss"] == pytest.approx(math.log(1 + math.exp(0.75)))
    assert ans["db2"] == pytest.approx(d2)
    assert ans["dW2"] == pytest.approx([d2, 3.5 * d2])
    assert ans["db1"] == pytest.approx([0, -0.5 * d2])
    assert ans["dW1"][0] == [0, 0] and ans["dW1"][1] == pytest.approx([-0.5 * d2, -d2])
    assert ans["dx"] == pytest.approx([0.25 * d2, -0.75 * d2])
    assert (round(ans["y_hat"], 4), round(ans["loss"], 4), round(ans["db2"], 4)) == (0.3208, 1.1369, -0.6792)


def test_mlp_worked_example_sigmoid_and_label_zero():
    # z1 = [1 - 1, 0.5 + 0.5 - 0.5] = [0, 0.5]: h = [0.5, s(0.5)], sigma' = h (1 - h); s = h + x;
    # z2 = s_1 - s_2 = 1.5 - (s(0.5) - 0.5); y = 0: J = -log(1 - y_hat) and delta2 = y_hat.
    params = {
        "x": [1, -0.5], "W1": [[1, 2], [0.5, -1]], "b1": [0, -0.5], "W2": [1, -1], "b2": 0, "y": 0,
        "activation": "sigmoid",
    }
    _, ans = solved(MLP, params)
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    h = [0.5, sig(0.5)]
    s = [1.5, h[1] - 0.5]
    z2 = s[0] - s[1]
    y_hat = sig(z2)
    delta1 = [y_hat * 1 * h[0] * (1 - h[0]), y_hat * -1 * h[1] * (1 - h[1])]
    assert ans["forward"]["h"] == pytest.approx(h) and ans["forward"]["z2"] == pytest.approx(z2)
    assert ans["loss"] == pytest.approx(-math.log(1 - y_hat))
    assert ans["db2"] == pytest.approx(y_hat)  # y_hat - y
    assert ans["dW2"] == pytest.approx([y_hat * s[0], y_hat * s[1]])
    assert ans["db1"] == pytest.approx(delta1)
    for row, d in zip(ans["dW1"], delta1):
        assert row == pytest.approx([d * 1, d * -0.5])
    # skip y_hat W2 + W1^T delta1
    assert ans["dx"] == pytest.approx([y_hat + delta1[0] + 0.5 * delta1[1], -y_hat + 2 * delta1[0] - delta1[1]])


def test_mlp_accepts_w2_as_one_row_matrix():
    params, _ = solved(MLP, {**MLP_EXAMPLE, "W2": [[0.5, -0.5]]})
    assert params["W2"] == [0.5, -0.5]


@PROPERTY
@given(SEEDS)
def test_mlp_properties_over_seeds(seed):
    variant = draw(MLP, seed)
    params, ans = thaw(variant.params), thaw(variant.answers)
    n = len(params["x"])
    assert n in (2, 3) and params["y"] in (0, 1) and params["activation"] in ("relu", "sigmoid")
    assert 0.01 < ans["y_hat"] < 0.99
    assert ans["db2"] == pytest.approx(ans["y_hat"] - params["y"])
    assert ans["dW2"] == pytest.approx([ans["db2"] * s for s in ans["forward"]["s"]])
    for row, d in zip(ans["dW1"], ans["db1"]):
        assert row == pytest.approx([d * x for x in params["x"]])
    if params["activation"] == "relu":
        assert all(abs(z) >= 0.05 for z in ans["forward"]["z1"])
        assert all(d == 0 for d, z in zip(ans["db1"], ans["forward"]["z1"]) if z < 0)
    json.dumps(ans)
    solution = render_fragment(variant, "solution")
    assert r"\VAR" not in solution and "skip" in solution


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("y_hat", lambda a: a.__setitem__("y_hat", a["y_hat"] + 1e-3), "y_hat"),
        ("loss", lambda a: a.__setitem__("loss", a["loss"] + 1e-3), "loss"),
        ("dx without the skip path",  # dJ/ds = delta2 W2 taken away
         lambda a: a.__setitem__("dx", [v - a["db2"] * w for v, w in zip(a["dx"], [0.5, -0.5])]), "dx"),
        ("dW1 transposed", lambda a: a.__setitem__("dW1", [list(col) for col in zip(*a["dW1"])]), "dW1"),
        ("db1", lambda a: a["db1"].__setitem__(1, -0.5), r"db1\[1\]"),
        ("dW2", lambda a: a.__setitem__("dW2", [-1]), "dW2"),
        ("forward", lambda a: a["forward"].__setitem__("h", [-1, 1.5]), "forward.h"),
    ],
)
def test_mlp_check_rejects_tampered_answers(name, change, message):
    fam = get_family(MLP)
    answers = fam.solve(fam.validate(copy.deepcopy(MLP_EXAMPLE)))
    change(answers)
    with pytest.raises(VerificationError, match=message):
        verify(fam, 0, MLP_EXAMPLE, answers)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"x": [1, 1, 1, 1]}, "params.x"),
        ({"x": [1, "1"]}, "params.x[1]"),
        ({"W1": [[1, 0]]}, "params.W1"),
        ({"W1": [[1, 0], [0]]}, "params.W1[1]"),
        ({"W1": [[1, 0], [0, 0.001]]}, "params.W1[1][1]"),
        ({"b1": [0]}, "params.b1"),
        ({"W2": [0.5, -1, 2]}, "params.W2"),
        ({"b2": "0"}, "params.b2"),
        ({"y": 0.5}, "params.y"),
        ({"y": True}, "params.y"),
        ({"activation": "tanh"}, "params.activation"),
    ],
)
def test_mlp_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(MLP, 0, {**MLP_EXAMPLE, **change})
    assert str(info.value).startswith(field + ":")


def test_mlp_degenerate_pins_are_refused():
    with pytest.raises(InputError, match="ReLU input"):
        draw(MLP, 0, {**MLP_EXAMPLE, "b1": [1, 0]})  # z1[0] = 0
    with pytest.raises(InputError, match="every ReLU is off"):
        draw(MLP, 0, {**MLP_EXAMPLE, "b1": [0, -2]})
    with pytest.raises(InputError, match="too close to 0 or 1"):
        draw(MLP, 0, {**MLP_EXAMPLE, "b2": 6})
