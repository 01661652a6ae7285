"""ridge-map: hand-worked examples, properties over seeds, tampered answers, bad params."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from conftest import assert_tampering_caught
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment

FAMILY = "ridge-map"


def answers_for(X, y, lam):
    return thaw(draw(FAMILY, 0, {"X": X, "y": y, "lam": lam}).answers)


def test_worked_example_integer_lambda():
    # X^T X = [[2, 1], [1, 3]], X^T y = [4, 6]; A = [[3, 1], [1, 4]], det 11; w = (1/11) [4*4 - 6, -4 + 3*6].
    ans = answers_for([[1, 0], [0, 1], [1, 1], [0, 1]], [1, 2, 3, 1], 1)
    assert ans["XtX"] == [[2, 1], [1, 3]]
    assert ans["Xty"] == [4, 6]
    assert ans["A"] == [[3, 1], [1, 4]]
    assert ans["det"] == 11 and ans["det_exact"] == "11"
    assert ans["inverse_exact"] == [["4/11", "-1/11"], ["-1/11", "3/11"]]
    assert ans["inverse"] == [[4 / 11, -1 / 11], [-1 / 11, 3 / 11]]
    assert ans["w_hat_exact"] == ["10/11", "14/11"]
    assert ans["w_hat"] == [10 / 11, 14 / 11]


def test_equal_diagonal_entries_are_refused():
    """With X^T X = [[2, 1], [1, 2]], inverting without swapping the diagonal gives the right inverse
    (and estimate): such a draw cannot tell the slip from the rule (issue 16)."""
    with pytest.raises(InputError, match="without swapping the diagonal"):
        answers_for([[1, 0], [0, 1], [1, 1]], [1, 2, 3], 1)


def test_worked_example_half_lambda():
    # X^T X = [[10, 14], [14, 21]], X^T y = [1, 4]; A = [[10.5, 14], [14, 21.5]], det = 225.75 - 196 = 119/4.
    ans = answers_for([[1, 2], [3, 4], [0, 1]], [1, 0, 2], 0.5)
    assert ans["XtX"] == [[10, 14], [14, 21]]
    assert ans["Xty"] == [1, 4]
    assert ans["A"] == [[10.5, 14], [14, 21.5]]
    assert ans["det"] == 29.75 and ans["det_exact"] == "119/4"
    # (4/119) [[21.5, -14], [-14, 10.5]]
    assert ans["inverse_exact"] == [["86/119", "-8/17"], ["-8/17", "6/17"]]
    # (4/119) [21.5 - 56, -14 + 42] = (4/119) [-34.5, 28]
    assert ans["w_hat_exact"] == ["-138/119", "16/17"]
    assert ans["w_hat"] == pytest.approx([-138 / 119, 16 / 17], abs=1e-15)


def test_matches_the_closed_form_with_numpy():
    X, y, lam = [[2, -1], [0, 3], [1, 1], [-2, 2]], [3, -1, 2, 0], 2
    ans = answers_for(X, y, lam)
    Xa, ya = np.array(X, float), np.array(y, float)
    closed = np.linalg.solve(Xa.T @ Xa + lam * np.eye(2), Xa.T @ ya)
    assert ans["w_hat"] == pytest.approx(closed.tolist(), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)  # draw() already runs the independent check
    params, ans = thaw(variant.params), thaw(variant.answers)
    X, y, lam = params["X"], params["y"], params["lam"]
    assert 3 <= len(X) <= 5 and all(len(row) == 2 for row in X) and len(y) == len(X)
    assert lam in (0.5, 1, 1.5, 2, 3)
    exact = [Fraction(v) for v in ans["w_hat_exact"]] + [Fraction(v) for row in ans["inverse_exact"] for v in row]
    assert all(v.denominator <= 500 for v in exact)
    assert ans["det"] > 0 and ans["A"][0][1] == ans["A"][1][0]
    # the MAP estimate minimises the ridge objective: it beats nearby points
    Xa, ya, w = np.array(X, float), np.array(y, float), np.array(ans["w_hat"])

    def objective(v):
        return float(np.sum((Xa @ v - ya) ** 2) + lam * np.sum(v**2))

    for step in ([0.01, 0], [0, 0.01], [-0.01, 0.01]):
        assert objective(w) < objective(w + np.array(step))
    # a larger penalty shrinks the estimate
    heavier = get_family(FAMILY).solve({**params, "lam": lam + 1})  # solved as given, refused or not
    assert np.linalg.norm(heavier["w_hat"]) < np.linalg.norm(w)
    json.dumps(ans)


def test_check_rejects_tampered_answers():
    fam = get_family(FAMILY)
    params = {"X": [[1, 0], [0, 1], [1, 1]], "y": [1, 2, 3], "lam": 1}
    tamper = [
        (lambda a: a["w_hat"].__setitem__(0, a["w_hat"][0] + 1e-3), "w_hat"),
        (lambda a: a.__setitem__("w_hat_exact", ["7/8", "11/9"]), "w_hat_exact"),
        (lambda a: a.__setitem__("w_hat_exact", ["7/8", "eleven"]), "does not read as a fraction"),
        (lambda a: a["inverse_exact"][0].__setitem__(1, "1/8"), "inverse_exact"),
        (lambda a: a["inverse"][1].__setitem__(1, 0.4), "inverse decimals"),
        (lambda a: a.__setitem__("det", 9), "det 9"),
        (lambda a: a.__setitem__("det_exact", "9"), "det_exact"),
        (lambda a: a["XtX"][0].__setitem__(0, 3), "XtX"),
        (lambda a: a.__setitem__("Xty", [4, 6]), "Xty"),
        (lambda a: a["A"][1].__setitem__(1, 2), "A \\["),
    ]
    assert_tampering_caught(fam, params, tamper)


def test_templates_render_without_pdf():
    variant = draw(FAMILY, 0, {"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": 0.5})
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert r"\lambda = 0.5" in problem and "138" not in problem  # the problem does not give the answer away
    assert r"\dfrac{138}{119}" in solution and "-1.160" in solution and "0.9412" in solution  # 4 significant digits
    assert r"\frac{119}{4}" in solution and "29.75" in solution
    assert r"\VAR" not in solution and r"\BLOCK" not in solution


@pytest.mark.parametrize(
    "params, field",
    [
        ({"X": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "y": [1, 2, 3], "lam": 1}, "params.X"),
        ({"X": [[1, 2]], "y": [1], "lam": 1}, "params.X"),
        ({"X": [[1, 2]] * 6, "y": [1] * 6, "lam": 1}, "params.X"),
        ({"X": [[1, 2.5], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": 1}, "params.X[0][1]"),
        ({"X": [[1, 2], [3, 4], [0, 10]], "y": [1, 0, 2], "lam": 1}, "params.X[2][1]"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0], "lam": 1}, "params.y"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, "2"], "lam": 1}, "params.y[2]"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": 0}, "params.lam"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": -1}, "params.lam"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": 0.125}, "params.lam"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": "1"}, "params.lam"),
        ({"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": 11}, "params.lam"),
    ],
)
def test_bad_params_name_the_field(params, field):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, params)
    assert str(info.value).startswith(field + ":")


def test_degenerate_pinned_params_are_refused():
    with pytest.raises(InputError, match="column 2 of X is all zeros"):
        draw(FAMILY, 0, {"X": [[1, 0], [2, 0], [3, 0]], "y": [1, 2, 3], "lam": 1})
    with pytest.raises(InputError, match="estimate is 0"):
        draw(FAMILY, 0, {"X": [[1, 1], [1, -1], [0, 0]], "y": [0, 0, 5], "lam": 1})


def test_pinned_params_may_have_large_denominators():
    ans = answers_for([[9, -8], [7, 9], [-9, 5], [8, 7], [-6, 9]], [20, -19, 17, -20, 18], 0.37)
    assert max(Fraction(v).denominator for v in ans["w_hat_exact"]) > 500
