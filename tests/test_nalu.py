"""nalu: hand-worked examples, properties over seeds, tampered answers, bad params."""

from __future__ import annotations

import json
import math

import pytest

from conftest import assert_tampering_caught
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment

FAMILY = "nalu"
DIFFERENCE = {"W_hat": [[5, -5]], "M_hat": [[5, 5]], "x": [6, 2], "gate": 0.25, "eps": 0}
MIXED = {
    "W_hat": [[0, 4, 1], [4.5, 4.5, -4]],
    "M_hat": [[1, -4, 0], [4.5, 4.5, 5]],
    "x": [2, 3, 4],
    "gate": [0.2, 0.75],
    "eps": 1e-7,
}


def answers_for(params):
    return thaw(draw(FAMILY, 0, params).answers)


def test_worked_example_difference_and_quotient():
    # tanh(5) sigmoid(5) = 0.99991 * 0.99331 = 0.9932: W ~ [1, -1], so a ~ x1 - x2 = 4 and m ~ x1 / x2 = 3.
    ans = answers_for(DIFFERENCE)
    assert ans["W"] == [[0.9932, -0.9932]]
    assert ans["saturation"] == [["1", "-1"]]
    assert ans["a"] == pytest.approx([0.9932 * 4], abs=1e-12)  # 3.9728
    assert ans["m"] == pytest.approx([3**0.9932], rel=1e-12)  # 2.9777
    assert ans["y"] == pytest.approx([0.25 * 3.9728 + 0.75 * 3**0.9932], rel=1e-12)  # 3.2265
    assert ans["arithmetic"] == [{"add": "x1 - x2", "mul": "Abs(x1)/Abs(x2)"}]


def test_worked_example_gated_off_and_unsaturated_entries():
    ans = answers_for(MIXED)
    # row 1: tanh(0) = 0; sigmoid(-4) = 0.018 shuts the second entry; tanh(1) sigmoid(0) = 0.3808 is in between
    # row 2: tanh(4.5) sigmoid(4.5) = 0.9888 twice, tanh(-4) sigmoid(5) = -0.9926
    assert ans["W"] == [[0, 0.018, 0.3808], [0.9888, 0.9888, -0.9926]]
    assert ans["saturation"] == [["0", "0", "none"], ["1", "1", "-1"]]
    assert ans["a"] == pytest.approx([0.018 * 3 + 0.3808 * 4, 0.9888 * 5 - 0.9926 * 4], abs=1e-12)  # 1.5772, 0.9736
    m2 = 2**0.9888 * 3**0.9888 / 4**0.9926  # ~ x1 x2 / x3 = 1.5 (eps = 1e-7 moves it by ~1e-7)
    assert ans["m"][1] == pytest.approx(m2, rel=1e-6)
    assert ans["y"][1] == pytest.approx(0.75 * ans["a"][1] + 0.25 * m2, rel=1e-6)
    assert ans["arithmetic"] == [
        {"add": "none", "mul": "none"},
        {"add": "x1 + x2 - x3", "mul": "Abs(x1)*Abs(x2)/Abs(x3)"},
    ]


def test_the_multiplicative_path_ignores_signs():
    ans = answers_for({**DIFFERENCE, "x": [-6, 2], "gate": 0.1})
    assert ans["m"] == pytest.approx([3**0.9932], rel=1e-12)
    assert ans["a"] == pytest.approx([0.9932 * -8], abs=1e-12)


@pytest.mark.parametrize("gate, path", [(1, "a"), (0, "m")])
def test_a_closed_or_open_gate_selects_one_path(gate, path):
    ans = answers_for({**MIXED, "gate": gate})
    assert ans["y"] == pytest.approx(ans[path], abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)  # draw() already runs the independent check
    params, ans = thaw(variant.params), thaw(variant.answers)
    rows, cols = len(params["W_hat"]), len(params["x"])
    assert 1 <= rows <= 2 and 2 <= cols <= 3 and params["eps"] == 1e-7
    assert all(x != 0 for x in params["x"])
    targets = {"1": 1, "-1": -1, "0": 0}
    for i in range(rows):
        assert min(ans["a"][i], ans["m"][i]) - 1e-9 <= ans["y"][i] <= max(ans["a"][i], ans["m"][i]) + 1e-9
        for j in range(cols):
            w, label = ans["W"][i][j], ans["saturation"][i][j]
            assert -1 <= w <= 1 and round(w, 4) == w
            if label in targets:
                assert abs(w - targets[label]) <= 0.05
            else:
                assert label == "none" and min(abs(w - c) for c in (-1, 0, 1)) > 0.05
        if "none" not in ans["saturation"][i]:
            # a saturated row computes its operation up to 5% of the inputs' sizes
            c = [targets[label] for label in ans["saturation"][i]]
            ideal_add = sum(s * x for s, x in zip(c, params["x"]))
            ideal_log_mul = sum(s * math.log(abs(x)) for s, x in zip(c, params["x"]))
            assert abs(ans["a"][i] - ideal_add) <= 0.05 * sum(abs(x) for x in params["x"]) + 1e-9
            slack = 0.05 * sum(abs(math.log(abs(x))) for x in params["x"]) + 1e-6
            assert abs(math.log(ans["m"][i]) - ideal_log_mul) <= slack
    assert any(row["add"] != "none" for row in ans["arithmetic"])
    assert max(ans["m"]) <= 50
    json.dumps(ans)


def test_check_rejects_tampered_answers():
    fam = get_family(FAMILY)
    params = get_family(FAMILY).validate(dict(MIXED))
    tamper = [
        (lambda a: a["W"][1].__setitem__(0, 0.9898), "W\\[1\\]\\[0\\]"),
        (lambda a: a["W"][0].__setitem__(2, 0.380812), "not rounded"),
        (lambda a: a["saturation"][0].__setitem__(2, "0"), "saturation\\[0\\]\\[2\\]"),
        (lambda a: a["a"].__setitem__(1, a["a"][1] + 0.01), "a\\[1\\]"),
        (lambda a: a["m"].__setitem__(0, a["m"][0] * 1.001), "m\\[0\\]"),
        (lambda a: a["y"].__setitem__(1, a["y"][1] - 0.01), "y\\[1\\]"),
        (lambda a: a["arithmetic"][1].__setitem__("add", "x1 + x2 + x3"), "arithmetic\\[1\\].add"),
        (lambda a: a["arithmetic"][1].__setitem__("mul", "Abs(x1)*Abs(x3)/Abs(x2)"), "arithmetic\\[1\\].mul"),
        (lambda a: a["arithmetic"][1].__setitem__("mul", "__import__('os').getcwd()"), "not an expression"),
        (lambda a: a["arithmetic"].__setitem__(0, {"add": "x3", "mul": "Abs(x3)"}), "not saturated"),
    ]
    assert_tampering_caught(fam, params, tamper)


def test_templates_render_without_pdf():
    variant = draw(FAMILY, 0, MIXED)
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert r"\varepsilon = 10^{-7}" in problem and "0.9888" not in problem
    assert "0.9888" in solution and "not saturated" in solution and "0.9736" in solution
    assert r"x_{1} + x_{2} - x_{3}" in solution
    assert r"\VAR" not in solution and r"\BLOCK" not in solution


@pytest.mark.parametrize(
    "change, field",
    [
        ({"W_hat": [[5, -5, 1]]}, "params.M_hat"),
        ({"W_hat": [[5, -5, 1, 1, 1]], "M_hat": [[5, 5, 5, 5, 5]]}, "params.W_hat"),
        ({"W_hat": [[5]], "M_hat": [[5]], "x": [6]}, "params.W_hat"),
        ({"W_hat": [[11, -5]]}, "params.W_hat[0][0]"),
        ({"W_hat": [[5, -5.001]]}, "params.W_hat[0][1]"),
        ({"M_hat": [[5, "5"]]}, "params.M_hat[0][1]"),
        ({"M_hat": [[5, 5], [5, 5]]}, "params.M_hat"),
        ({"x": [6, 2, 1]}, "params.x"),
        ({"x": [6, 0]}, "params.x[1]"),
        ({"x": [6, 200]}, "params.x[1]"),
        ({"gate": 1.5}, "params.gate[0]"),
        ({"gate": [0.5, 0.5]}, "params.gate"),
        ({"gate": True}, "params.gate"),
        ({"eps": -1}, "params.eps"),
        ({"eps": "tiny"}, "params.eps"),
    ],
)
def test_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, {**DIFFERENCE, **change})
    assert str(info.value).startswith(field + ":")


def test_degenerate_pinned_params_are_refused():
    with pytest.raises(InputError, match="near 0"):
        draw(FAMILY, 0, {**DIFFERENCE, "W_hat": [[0, 0]]})
    with pytest.raises(InputError, match="too close"):
        # tanh(0.05) sigmoid(5) = 0.0496: on the edge of "near 0"
        draw(FAMILY, 0, {"W_hat": [[0.05, 5]], "M_hat": [[5, 5]], "x": [2, 3], "gate": 0.5, "eps": 0})
    with pytest.raises(InputError, match="no row of W is saturated"):
        draw(FAMILY, 0, {**DIFFERENCE, "W_hat": [[1, -5]]})
