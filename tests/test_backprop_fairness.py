"""relu-net-derivatives and mlp-skip-bce-backprop, issue 8: the defects (each reproduced here first), the
card (structure, parts, minutes, asks/reveals) and structure-constrained draws."""

from __future__ import annotations

import re

import pytest

from qbank import draw, get_family
from qbank.model import thaw
from qbank.render import render_fragments

RELU = "relu-net-derivatives"
MLP = "mlp-skip-bce-backprop"
# unit 2: a_2 = 2x - 3 (kink at 1.5, active to the right) or -2x + 3 (active to the left); w2 = -1.5
RIGHT = {"W1": [1, 2, -1], "b1": [0.5, -3, 1], "W2": [2, -1.5, 1], "b2": 0.5, "i": 2, "x_values": [-1, 3]}
LEFT = {**RIGHT, "W1": [1, -2, -1], "b1": [0.5, 3, 1]}
MLP_RELU = {
    "x": [1, 2], "W1": [[1, -1], [0.5, 0.5]], "b1": [0, 0], "W2": [0.5, -0.5], "b2": 0.5, "y": 1, "activation": "relu"
}


def fragments(variant):
    fam = get_family(variant.family)
    return render_fragments(variant, part_points=[1] * len(fam.parts(variant.params)))


def solution_part(solution, letter):
    """The text of one part of a solution: (a) is the first \\part."""
    pieces = re.split(r"\\part\b", solution.split(r"\begin{parts}", 1)[1])
    return pieces["abcdefg".index(letter) + 1]


# ---------------------------------------------------------------- relu-net-derivatives defects


def test_relu_jump_wording_is_right_when_the_unit_is_active_on_the_left():
    # left of the kink the derivative dy/dw1_2 = -1.5 x reaches -1.5 * 1.5 = -2.25; right of it, it is 0
    _, solution = fragments(draw(RELU, 0, LEFT))
    part_e, part_f = solution_part(solution, "e"), solution_part(solution, "f")
    assert r"Just left of $x^*$ the line is still at" in part_e
    assert r"$0 - (-2.25) = 2.25$" in part_e
    answer_f = part_f.split(r"\qbankanswer")[1]
    assert "onto" not in answer_f  # the old wording: "a jump ... onto a line through the origin"
    assert r"the line $-1.5x$ through the origin up to $x^*$, then a jump of $2.25$ to $0$" in answer_f


def test_relu_jump_wording_is_right_when_the_unit_is_active_on_the_right():
    _, solution = fragments(draw(RELU, 0, RIGHT))
    part_e, part_f = solution_part(solution, "e"), solution_part(solution, "f")
    assert r"Just left of $x^*$ the derivative is $0$" in part_e
    assert r"$-2.25 - 0 = -2.25$" in part_e
    answer_f = part_f.split(r"\qbankanswer")[1]
    assert r"$0$ up to $x^*$, then a jump of $-2.25$ onto the line $-1.5x$ through the origin" in answer_f


@pytest.mark.parametrize("params", [LEFT, RIGHT])
def test_relu_step_of_db1_shows_right_minus_left(params):
    variant = draw(RELU, 0, params)
    part_d = solution_part(fragments(variant)[1], "d")
    left, right = thaw(variant.answers)["db1"]["pieces"]
    jump = thaw(variant.answers)["db1"]["jump"]
    shown_left = f"({left})" if left.startswith("-") else left
    assert f"a jump of ${right} - {shown_left} = {jump:g}$" in part_d


def test_relu_side_and_jump_case_are_structural():
    fam = get_family(RELU)
    assert fam.structure_of(RIGHT) == {"W1": [3], "x_values": [2], "active_side": "right", "dw1_jumps": True}
    assert fam.structure_of(LEFT)["active_side"] == "left"
    origin = {"W1": [1.5, 1], "b1": [0, 1], "W2": [2, 1], "b2": 0, "i": 1, "x_values": [-1, 2]}
    assert fam.structure_of(origin)["dw1_jumps"] is False  # a kink at 0 (refused as a draw: see test_backprop)
    for side in ("left", "right"):
        structure = {**fam.structure_of(RIGHT), "active_side": side}
        for seed in range(5):
            assert draw(RELU, seed, structure=structure).answers["active_side"] == side


# ---------------------------------------------------------------- mlp-skip-bce-backprop defects


def test_mlp_width_and_activation_are_structural():
    fam = get_family(MLP)
    assert fam.structure_of(MLP_RELU) == {"x": [2], "activation": "relu", "active_units": 1}
    for seed in range(10):
        ref = draw(MLP, seed)
        structure = fam.structure_of(ref.params)
        for k in range(3):
            other = draw(MLP, 500 + 3 * seed + k, structure=structure)
            assert len(other.params["x"]) == len(ref.params["x"])
            assert other.params["activation"] == ref.params["activation"]


def test_mlp_minutes_reflect_the_real_difference():
    fam = get_family(MLP)
    small = fam.minutes(MLP_RELU)  # 2 units, ReLU, 1 active
    sigmoid3 = {
        "x": [1, -1, 0.5],
        "W1": [[0.1, 0.2, -0.3], [0.4, -0.1, 0.2], [0.3, 0.1, 0.1]],
        "b1": [0, 0.1, -0.1],
        "W2": [0.5, -0.5, 0.3],
        "b2": 0,
        "y": 1,
        "activation": "sigmoid",
    }
    large = fam.minutes(sigmoid3)
    assert 7 <= small <= 10 and 16 <= large <= 21 and large >= 1.8 * small
    # the parts' points follow the same operation counts
    assert [p.weight for p in fam.parts(MLP_RELU)] == [4, 2, 2, 2]
    assert [p.weight for p in fam.parts(sigmoid3)] == [7, 2, 8, 2]


def test_mlp_solution_says_it_rounds():
    # the shown z2 = sum of W2 times the shown s can differ from the unrounded result in the 4th decimal
    _, solution = fragments(draw(MLP, 0, {**MLP_RELU, "activation": "sigmoid"}))
    assert "unrounded" in solution


# ---------------------------------------------------------------- the card


def test_rendering_is_deterministic():
    for family, params in ((RELU, LEFT), (MLP, MLP_RELU)):
        assert fragments(draw(family, 3, params)) == fragments(draw(family, 3, params))
