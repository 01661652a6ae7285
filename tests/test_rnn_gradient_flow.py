"""rnn-gradient-flow: worked examples of dL/dh_t = 2 (yhat - y) W_f W_h^(T - t), properties over seeds,
tampered answers, bad and degenerate params."""

from __future__ import annotations

import json
import re
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.model import thaw
from qbank.render import render_fragment

FAMILY = "rnn-gradient-flow"

# Eigenvalues 0.7 and 0.4 (trace 1.1, determinant 0.28); W_h = 0.7 E_1 + 0.4 E_2 with E_1 = [[2, -2], [1, -1]].
VANISHING = {"Wh": [[1, -0.6], [0.3, 0.1]], "Wf": [[-2, -2]], "T": 15, "residual": 0.2, "explodes": False}
# W_h = P diag(1.5, 0.5) P^-1 with P = [[2, 1], [1, 1]], P^-1 = [[1, -1], [-1, 2]].
EXPLODING = {"Wh": [[2.5, -2], [1, -0.5]], "Wf": [[1, 1]], "T": 10, "residual": 0.4, "explodes": True}


def answers_for(params):
    return thaw(draw(FAMILY, 0, params).answers)


def test_worked_example_vanishing():
    ans = answers_for(VANISHING)
    assert ans["steps"] == [15, 14, 10, 1]
    assert ans["eigenvalues"] == [0.7, 0.4] and ans["spectral_radius"] == 0.7
    # dL/dh_T = 2 (yhat - y) W_f, then one factor W_h per step back
    assert ans["gradients"][0] == pytest.approx([-0.8, -0.8])
    assert ans["gradients"][1] == pytest.approx([-1.04, 0.4])
    alpha, beta = np.array([-2.4, 2.4]), np.array([1.6, -3.2])  # 0.4 W_f E_1 and 0.4 W_f E_2
    for t, row in zip(ans["steps"], ans["gradients"]):
        assert row == pytest.approx((0.7 ** (15 - t) * alpha + 0.4 ** (15 - t) * beta).tolist(), rel=1e-9)
    assert ans["norms"][0] == pytest.approx(0.8 * math.sqrt(2))
    assert [round(n, 4) for n in ans["norms"]] == [1.1314, 1.1143, 0.5358, 0.0230]
    assert ans["log10_norms"][-1] == pytest.approx(math.log10(ans["norms"][-1]))
    assert ans["growth_factor"] == pytest.approx((ans["norms"][-1] / ans["norms"][0]) ** (1 / 14))
    assert ans["regime"] == "vanishing" and ans["growth_factor"] < 1


def test_worked_example_exploding():
    ans = answers_for(EXPLODING)
    assert ans["steps"] == [10, 9, 5, 1]
    assert ans["eigenvalues"] == [1.5, 0.5] and ans["spectral_radius"] == 1.5
    closed = 2 * 0.4 * np.array([[1, 1]]) @ np.linalg.matrix_power(np.array(EXPLODING["Wh"]), 9)
    assert ans["gradients"][-1] == pytest.approx(closed[0].tolist())
    # W_f P = [3, 2], so W_f W_h^k = [3 (1.5^k) - 2 (0.5^k), -3 (1.5^k) + 4 (0.5^k)], times 2 (yhat - y) = 0.8
    assert ans["gradients"][-1] == pytest.approx([0.8 * (3 * 1.5**9 - 2 * 0.5**9), 0.8 * (-3 * 1.5**9 + 4 * 0.5**9)])
    assert ans["regime"] == "exploding" and ans["growth_factor"] > 1


def test_a_plain_row_is_accepted_for_wf():
    assert answers_for({**VANISHING, "Wf": [-2, -2]}) == answers_for(VANISHING)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)  # draw() runs the step-by-step and eigen-decomposition checks
    params, ans = thaw(variant.params), thaw(variant.answers)
    length = params["T"]
    assert length in (8, 10, 12, 15, 20) and ans["steps"] == [length, length - 1, length - 5, 1]
    for v in [v for row in params["Wh"] for v in row]:
        assert v != 0 and abs(v) <= 3 and round(v, 1) == v
    rho = ans["spectral_radius"]
    assert rho in (0.5, 0.6, 0.7, 0.8, 1, 1.2, 1.3, 1.4, 1.5)
    assert abs(ans["eigenvalues"][1]) <= rho - 0.2 + 1e-9
    regime = {True: "exploding", False: "vanishing", None: "neither"}[params["explodes"]]
    assert ans["regime"] == regime and (rho == 1) == (regime == "neither")
    norms = ans["norms"]  # listed from t = T back to t = 1: one direction only, unless rho = 1
    if regime != "neither":
        assert all((later > earlier) == params["explodes"] for earlier, later in zip(norms, norms[1:]))
    else:
        assert abs(ans["growth_factor"] - 1) <= 0.1
    wh = np.array(params["Wh"])
    for t, row in zip(ans["steps"], ans["gradients"]):
        closed = 2 * params["residual"] * np.array(params["Wf"]) @ np.linalg.matrix_power(wh, length - t)
        assert np.allclose(row, closed[0], rtol=1e-9, atol=0)
    json.dumps(ans)


def test_all_three_regimes_are_drawn():
    regimes = {draw(FAMILY, seed).answers["regime"] for seed in range(20)}
    assert regimes == {"vanishing", "exploding", "neither"}


@pytest.mark.parametrize(
    "name, change",
    [
        ("gradients", lambda a: a["gradients"][3].__setitem__(0, a["gradients"][3][0] * 1.001)),
        ("gradients", lambda a: a.update(gradients=[r[::-1] for r in a["gradients"]])),  # W_h^T instead of W_h
        ("eigenvalues", lambda a: a.update(eigenvalues=a["eigenvalues"][::-1])),
        ("spectral_radius", lambda a: a.update(spectral_radius=0.4)),
        ("norms", lambda a: a["norms"].__setitem__(2, a["norms"][2] + 0.01)),
        ("growth_factor", lambda a: a.update(growth_factor=0.7)),  # rho is not the average factor
        ("regime", lambda a: a.update(regime="exploding")),
        ("steps", lambda a: a.update(steps=[15, 14, 13, 1])),
    ],
)
def test_check_rejects_tampered_answers(name, change):
    fam = get_family(FAMILY)
    ans = fam.solve(VANISHING)
    change(ans)
    with pytest.raises(VerificationError, match=name):
        verify(fam, 0, VANISHING, ans)


def test_templates_render_without_pdf():
    variant = draw(FAMILY, 0, VANISHING)
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert "$t = 15$, $t = 14$, $t = 10$ and $t = 1$" in problem
    assert "0.7571" not in problem and "vanish" not in problem.replace("vanish, explode, or neither", "")
    assert r"\begin{axis}" in solution and "Vanishing" in solution and "0.7571" in solution
    assert r"\VAR" not in problem + solution


@pytest.mark.parametrize(
    "change, field",
    [
        ({"Wh": [[1, -0.6], [0.3, 0.1], [0, 0]]}, "params.Wh"),
        ({"Wh": [[1, -0.6, 0], [0.3, 0.1, 0]]}, "params.Wh"),
        ({"Wh": [[1, -0.625], [0.3, 0.1]]}, "params.Wh[0][1]"),
        ({"Wf": [[1, 2, 3]]}, "params.Wf"),
        ({"Wf": [["1", 2]]}, "params.Wf[0][0]"),
        ({"T": 2}, "params.T"),
        ({"T": 10.5}, "params.T"),
        ({"residual": "0.2"}, "params.residual"),
        ({"explodes": "no"}, "params.explodes"),
        ({"explodes": 0}, "params.explodes"),
    ],
)
def test_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, {**VANISHING, **change})
    assert str(info.value).startswith(field + ":")


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"Wh": [[0, -1], [1, 0]]}, "complex eigenvalues"),  # a rotation
        ({"Wh": [[0.5, 0], [0, -0.5]]}, "same magnitude"),
        ({"Wh": [[1.02, 0.1], [0, 0.5]]}, "too close to 1"),
        ({"Wh": [[1, 0.1], [0, 0.5]]}, "explodes is false but the spectral radius is 1"),
        ({"T": 4}, "second eigenvalue still changes the norm"),  # 0.4/0.7 after 3 steps is not small
        ({"explodes": True}, "explodes is true but the spectral radius is 0.7"),
        ({"Wf": [[1, -2]]}, "no component along the dominant eigenvector"),  # W_f E_1 = 0
    ],
)
def test_degenerate_pins_say_why(change, reason):
    with pytest.raises(InputError, match=reason):
        draw(FAMILY, 0, {**VANISHING, **change})


def test_pinning_wh_alone_draws_a_matching_verdict():
    variant = draw(FAMILY, 5, {"Wh": EXPLODING["Wh"]})
    assert variant.params["explodes"] is True and variant.answers["regime"] == "exploding"


# ---------------------------------------------------------------- issue 8: wording, the rho = 1 case, the plot, digits

# lambda_1 = 1.5 and lambda_2 = 1.3 (W_h = 1.5 E_1 + 1.3 E_2 with P = [[2, 1], [1, 1]]): both terms grow, and
# T = 28 makes the first dominate at t = 1.
BOTH_GROW = {"Wh": [[1.7, -0.4], [0.2, 1.1]], "Wf": [[2, 1]], "T": 28, "residual": 0.4, "explodes": True}


def solution_for(params, seed=0):
    return render_fragment(draw(FAMILY, seed, params), "solution")


def test_the_other_term_is_not_said_to_shrink_when_it_grows():
    ans = answers_for(BOTH_GROW)
    assert ans["eigenvalues"] == [1.5, 1.3]
    solution = solution_for(BOTH_GROW)
    assert "shrinks faster" not in solution and "other one shrinks" not in solution


@pytest.mark.parametrize("seed", range(40))
def test_the_average_factor_is_called_close_to_rho_only_when_it_is(seed):
    variant = draw(FAMILY, seed)
    solution = render_fragment(variant, "solution")
    g, rho = variant.answers["growth_factor"], variant.answers["spectral_radius"]
    if "close to" in solution:
        assert abs(g / rho - 1) <= 0.02, (g, rho)


def test_the_neutral_case_rho_one_is_drawn_and_said_so():
    variants = [draw(FAMILY, seed) for seed in range(40)]
    regimes = {v.answers["regime"] for v in variants}
    assert regimes == {"vanishing", "exploding", "neither"}
    neutral = next(v for v in variants if v.answers["regime"] == "neither")
    assert neutral.answers["spectral_radius"] == 1 and neutral.params["explodes"] is None
    solution = render_fragment(neutral, "solution")
    assert "neither vanishes nor explodes" in solution
    assert "it vanishes" not in solution and "it explodes" not in solution


def test_axis_ticks_are_integers():
    for seed in range(12):
        solution = render_fragment(draw(FAMILY, seed), "solution")
        for axis in ("xtick", "ytick"):
            ticks = re.search(axis + r"=\{([^}]*)\}", solution)
            assert ticks, f"seed {seed}: no explicit {axis}"
            assert all(re.fullmatch(r"-?\d+", t.strip()) for t in ticks.group(1).split(",")), ticks.group(1)


def test_significant_digits_keep_trailing_zeros():
    from generators.rnn import _significant

    assert _significant(1.2) == "1.200"
    assert _significant(-0.05) == "-0.05000"
    assert _significant(1234.0) == "1234"
    assert _significant(120000.0) == r"1.200 \times 10^{5}"
    assert _significant(0.00020724) == r"2.072 \times 10^{-4}" and _significant(9999.7) == r"1.000 \times 10^{4}"
    assert _significant(0.5) == "0.5000"
    for seed in range(20):
        variant = draw(FAMILY, seed)
        table = get_family(FAMILY).context(thaw(variant.params), thaw(variant.answers))["table"]
        for text in [s for row in table for s in (*row["grad"], row["norm"])]:
            if text == "0":  # an exact zero (a component of Wf Wh^k that cancels) is shown as 0
                continue
            mantissa = text.partition(r" \times")[0].lstrip("-").replace(".", "").lstrip("0")
            assert len(mantissa) == 4, text


def test_structure_fixes_t_and_the_regime():
    fam = get_family(FAMILY)
    for ref_seed in range(20):
        ref = draw(FAMILY, ref_seed)
        structure = fam.structure_of(ref.params)
        assert structure == {"T": ref.params["T"], "Wh": [2, 2], "regime": ref.answers["regime"], "beta_zero": False}
    beta_zero = {**VANISHING, "Wf": [[1, -1]]}  # W_f E_2 = 0 (E_2 = [[-1, 2], [-1, 2]])
    assert fam.structure_of(beta_zero)["beta_zero"] is True
    assert fam.minutes(beta_zero) < fam.minutes(VANISHING)
