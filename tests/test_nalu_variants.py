"""nalu, issue 8: no trivial variants, wording that fits every draw, pinned numbers printed as solved, and
the card (structure, parts, minutes, asks/reveals) for fair exam versions."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest

from qbank import InputError, draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment, render_fragments

FAMILY = "nalu"
BASE = {"W_hat": [[5, -5]], "M_hat": [[5, 5]], "x": [6, 2], "gate": 0.25, "eps": 0}
# row 2 is saturated near [1, 1, -1]: a mixed sum x1 + x2 - x3 and a mixed ratio x1 x2 / x3
MIXED = {
    "W_hat": [[0, 4, 1], [4.5, 4.5, -4]],
    "M_hat": [[1, -4, 0], [4.5, 4.5, 5]],
    "x": [2, 3, 4],
    "gate": [0.2, 0.75],
    "eps": 1e-7,
}
SIGNS = {"1": 1, "-1": -1, "0": 0}


def ideal_paths(labels, x):
    """The exact sum and product of a fully saturated row (Fractions: the inputs are short decimals)."""
    signs = [SIGNS[label] for label in labels]
    values = [Fraction(str(v)) for v in x]
    add = sum(s * v for s, v in zip(signs, values))
    mul = math.prod(abs(v) ** s for s, v in zip(signs, values))
    return add, mul


# ---------------------------------------------------------------- a saturated row must not cancel


@pytest.mark.parametrize(
    "params, what",
    [
        ({**BASE, "x": [3, 3]}, "additive path"),  # x1 - x2 = 0 and |x1| / |x2| = 1
        ({**BASE, "x": [3, -3]}, "multiplicative path"),  # |x1| / |x2| = 1
        ({**BASE, "W_hat": [[5, 5]], "x": [2.5, -2.5]}, "additive path"),  # x1 + x2 = 0
        ({**BASE, "W_hat": [[5, 5, -5]], "M_hat": [[5, 5, 5]], "x": [2, 3, 6]}, "multiplicative path"),  # 2*3/6
        ({**BASE, "W_hat": [[5, 5, -5]], "M_hat": [[5, 5, 5]], "x": [2, 3, 5]}, "additive path"),  # 2+3-5
        # a second row gated to 0 everywhere computes 0 and 1 whatever x is
        ({**BASE, "W_hat": [[5, -5], [5, 5]], "M_hat": [[5, 5], [-5, -5]], "gate": [0.5, 0.5]}, "row 2"),
    ],
)
def test_a_cancelling_saturated_row_is_refused(params, what):
    with pytest.raises(InputError, match="cancel") as info:
        draw(FAMILY, 0, params)
    assert what in str(info.value)


def test_no_sampled_saturated_row_cancels():
    for seed in range(300):
        variant = draw(FAMILY, seed)
        params, ans = thaw(variant.params), thaw(variant.answers)
        for labels in ans["saturation"]:
            if "none" not in labels:
                add, mul = ideal_paths(labels, params["x"])
                assert add != 0 and mul != 1, (seed, labels, params["x"])


# ---------------------------------------------------------------- the words fit the row


def test_a_row_of_mixed_signs_is_called_a_mixed_sum_and_ratio():
    solution = render_fragment(draw(FAMILY, 0, MIXED), "solution")
    row2 = solution[solution.index("Row $2$ of $W$") :]
    assert "mixed sum" in row2 and "mixed ratio" in row2
    assert "subtraction" not in row2 and "division" not in row2


def test_a_plain_difference_is_still_called_subtraction_and_division():
    solution = render_fragment(draw(FAMILY, 0, BASE), "solution")
    assert "subtraction" in solution and "division" in solution and "mixed" not in solution


@pytest.mark.parametrize(
    "signs, add, mul",
    [
        ([1, 1], "addition", "multiplication"),
        ([1, 1, 1], "addition", "multiplication"),
        ([1, -1, 0], "subtraction", "division"),
        ([1, 1, -1], "mixed sum", "mixed ratio"),
        ([1, -1, -1], "mixed sum", "mixed ratio"),
        ([-1, -1], "negated sum", "reciprocal of a product"),
        ([0, 1, 0], "copy", "magnitude"),
        ([-1, 0], "negation", "reciprocal of"),
    ],
)
def test_operation_words(signs, add, mul):
    from generators.nalu import operation_words

    words = operation_words(signs)
    assert add in words["add_word"] and mul in words["mul_word"]


def test_weights_exactly_at_their_targets_leave_no_gap_to_explain():
    # tanh(10) sigmoid(10) = 0.99995 rounds to 1: the rounded row is exactly [1, -1]
    params = {**BASE, "W_hat": [[10, -10]], "M_hat": [[10, 10]]}
    ans = thaw(draw(FAMILY, 0, params).answers)
    assert ans["W"] == [[1, -1]]
    solution = render_fragment(draw(FAMILY, 0, params), "solution")
    assert "near, not equal to" not in solution and "agree" in solution


def test_a_large_eps_is_named_as_a_source_of_the_gap():
    solution = render_fragment(draw(FAMILY, 0, {**BASE, "eps": 0.1}), "solution")
    assert r"from $\varepsilon$" in solution


# ---------------------------------------------------------------- pinned numbers are printed as solved


@pytest.mark.parametrize("eps", [1.2345e-7, 0.0123456, 1 / 3 * 1e-3])
def test_a_pinned_eps_with_more_digits_than_printed_is_refused(eps):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, {**BASE, "eps": eps})
    message = str(info.value)
    assert message.startswith("params.eps:") and "3 significant digits" in message


@pytest.mark.parametrize(
    "eps, shown",
    [
        (0, "0"),
        (1e-7, "10^{-7}"),
        (2.5e-3, "0.0025"),
        (2.5e-5, r"2.5 \times 10^{-5}"),
        (0.01, "0.01"),
        (1.25e-8, r"1.25 \times 10^{-8}"),
    ],
)
def test_a_pinned_eps_prints_exactly(eps, shown):
    problem = render_fragment(draw(FAMILY, 0, {**BASE, "eps": eps}), "problem")
    assert rf"\varepsilon = {shown}," in problem
    from generators.nalu import eps_tex

    text = eps_tex(eps).replace(r" \times 10^{", "e").replace("10^{", "1e").rstrip("}")
    assert float(text) == eps


def test_every_pinned_number_prints_with_all_its_digits():
    params = {
        "W_hat": [[4.25, -3.75, 0.14]],
        "M_hat": [[4.75, 5.5, -6.25]],
        "x": [2.25, 3.5, -1.75],
        "gate": 0.1234,
        "eps": 1e-7,
    }
    problem = render_fragment(draw(FAMILY, 0, params), "problem")
    for value in ("4.25", "-3.75", "0.14", "4.75", "5.5", "-6.25", "2.25", "3.5", "-1.75", "0.1234"):
        assert re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", problem), value


@pytest.mark.parametrize(
    "change, field",
    [
        ({"x": [6, 2.125]}, "params.x[1]"),
        ({"gate": 0.12345}, "params.gate[0]"),
        ({"W_hat": [[5, -4.999]]}, "params.W_hat[0][1]"),
        ({"M_hat": [[5.125, 5]]}, "params.M_hat[0][0]"),
    ],
)
def test_pinned_numbers_with_more_decimals_than_printed_are_refused(change, field):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, {**BASE, **change})
    assert str(info.value).startswith(field + ":") and "decimals" in str(info.value)


def test_the_solution_says_that_it_rounds():
    solution = render_fragment(draw(FAMILY, 0, MIXED), "solution")
    assert "unrounded" in solution


# ---------------------------------------------------------------- the card


def test_structure_names_the_shape_the_row_kinds_and_the_signs():
    fam = get_family(FAMILY)
    features = fam.structure_of(fam.validate(dict(MIXED)))
    assert features["W_hat"] == [2, 3]
    assert features["row_kinds"] == "mixed+unsaturated"
    assert features["unsaturated_entries"] == 1
    assert features["negative_x"] is False
    assert fam.structure_of(fam.validate({**BASE, "x": [-6, 2]}))["row_kinds"] == "difference"


def test_every_structure_is_reachable_in_a_modest_number_of_draws():
    """Every structure has a chance of at least 1 in 400 per sample, so an exam slot matches it quickly."""
    fam = get_family(FAMILY)
    import numpy as np

    rng = np.random.default_rng(5)
    counts: dict[str, int] = {}
    for _ in range(1000):
        key = repr(fam.structure_of(fam.validate(fam.sample(rng))))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) >= 20 and min(counts.values()) >= 1000 / 400, sorted(counts.items(), key=lambda kv: kv[1])[:3]


def test_minutes_are_realistic():
    fam = get_family(FAMILY)
    small = fam.validate(dict(BASE))
    big = fam.validate(dict(MIXED))
    assert 4 <= fam.minutes(small) < fam.minutes(big) <= 15


def test_same_seed_same_output():
    for seed in (0, 9, 18):
        first, second = draw(FAMILY, seed), draw(FAMILY, seed)
        assert thaw(first.params) == thaw(second.params)
        assert render_fragments(first) == render_fragments(second)
