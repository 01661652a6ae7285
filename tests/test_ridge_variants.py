"""ridge-map, issue 8: no trivial or read-off variants, wording that fits every draw, pinned numbers printed
as solved, and the card (structure, parts, minutes, asks/reveals) for fair exam versions."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest

from qbank import InputError, draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment, render_fragments

FAMILY = "ridge-map"
HALF = {"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": 0.5}
WHOLE = {"X": [[2, 1], [1, 3], [0, 1]], "y": [1, 2, 3], "lam": 1}


# ---------------------------------------------------------------- trivial and read-off variants


def test_a_diagonal_gram_matrix_is_refused():
    # the columns (1, 1, 2) and (1, -1, 0) are orthogonal: X^T X = diag(6, 2), and the inverse is read off
    with pytest.raises(InputError, match="diagonal"):
        draw(FAMILY, 0, {"X": [[1, 1], [1, -1], [2, 0]], "y": [1, 2, 3], "lam": 1})


def test_no_sampled_variant_can_be_read_off():
    for seed in range(300):
        variant = draw(FAMILY, seed)
        params, ans = thaw(variant.params), thaw(variant.answers)
        assert ans["XtX"][0][1] != 0, seed  # A is not diagonal
        assert all(ans["Xty"]), seed  # X^T y has no zero entry (that halves the work of (d))
        assert all(Fraction(v) != 0 for v in ans["w_hat_exact"]), seed
        assert all(any(row) for row in params["X"]), seed  # every observation plays a part
        assert not all(Fraction(v).denominator == 1 for row in ans["inverse_exact"] for v in row), seed


def test_pinned_read_off_cases_other_than_a_diagonal_are_still_solved():
    # an instructor may pin a zero entry of X^T y or a zero row of X on purpose
    ans = thaw(draw(FAMILY, 0, {"X": [[1, 2], [0, 0], [1, -1]], "y": [1, 5, 1], "lam": 1}).answers)
    assert ans["Xty"] == [2, 1]
    ans = thaw(draw(FAMILY, 0, {"X": [[1, 2], [2, 1], [1, 0]], "y": [1, -1, 1], "lam": 1}).answers)
    assert ans["Xty"] == [0, 1]


# ---------------------------------------------------------------- wording and printed numbers


def test_the_shrinkage_remark_is_about_the_length_of_the_estimate():
    solution = render_fragment(draw(FAMILY, 0, WHOLE), "solution")
    assert "pulls harder" not in solution and "length" in solution
    # and it holds: the length of w_hat decreases as lambda grows
    lengths = [np.linalg.norm(get_family(FAMILY).solve({**WHOLE, "lam": lam})["w_hat"]) for lam in (0.5, 1, 2, 3)]
    assert lengths == sorted(lengths, reverse=True)


@pytest.mark.parametrize("lam, shown", [(0.37, "0.37"), (2.5, "2.5"), (10, "10"), (0.01, "0.01")])
def test_a_pinned_lambda_prints_exactly_as_it_is_solved(lam, shown):
    variant = draw(FAMILY, 0, {**HALF, "lam": lam})
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert rf"\lambda = {shown}." in problem
    assert rf"\lambda = {shown}$" in solution
    # the determinant line shows every digit: (a + lam)(d + lam) - b^2 has at most four decimals
    det = Fraction(variant.answers["det_exact"])
    assert re.search(r"= " + re.escape(f"{float(det):.4f}".rstrip("0").rstrip(".")), solution)


def test_a_pinned_lambda_with_more_decimals_than_printed_is_refused():
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, {**HALF, "lam": 0.125})
    assert str(info.value).startswith("params.lam:") and "2 decimals" in str(info.value)


def test_every_pinned_number_is_printed():
    params = {"X": [[9, -8], [7, 9], [-9, 5], [8, 7], [-6, 9]], "y": [20, -19, 17, -20, 18], "lam": 0.37}
    problem = render_fragment(draw(FAMILY, 0, params), "problem")
    for value in (9, -8, 7, -9, 5, 8, -6, 20, -19, 17, -20, 18):
        assert re.search(rf"(?<![\d.]){value}(?![\d.])", problem), value


# ---------------------------------------------------------------- the card


def test_structure_is_the_size_of_x_and_whether_lambda_is_whole():
    fam = get_family(FAMILY)
    assert fam.structure_of(fam.validate(dict(HALF))) == {"X": [3, 2], "integer_lambda": False}
    assert fam.structure_of(fam.validate(dict(WHOLE))) == {"X": [3, 2], "integer_lambda": True}


def test_every_structure_is_drawn_often():
    fam = get_family(FAMILY)
    rng = np.random.default_rng(3)
    counts: dict[str, int] = {}
    for _ in range(600):
        key = repr(fam.structure_of(fam.validate(fam.sample(rng))))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6 and min(counts.values()) >= 600 / 100, counts


def test_minutes_grow_with_the_rows_and_stay_realistic():
    fam = get_family(FAMILY)
    values = [
        fam.minutes(fam.validate({"X": [[1, 2]] * n, "y": [1] * n, "lam": lam})) for n in (3, 4, 5) for lam in (1, 0.5)
    ]
    assert values == sorted(values) and 8 <= values[0] and values[-1] <= 16


def test_same_seed_same_output():
    for seed in (0, 8, 24):
        first, second = draw(FAMILY, seed), draw(FAMILY, seed)
        assert thaw(first.params) == thaw(second.params)
        assert render_fragments(first) == render_fragments(second)
