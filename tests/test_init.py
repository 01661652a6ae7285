"""init-variance and resnet-init-variance: the seed's worked examples, properties over seeds, tampered
answers, bad params, and the simulation model behind resnet-init-variance's check."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.model import thaw
from qbank.render import render_fragment

UNIT = "init-variance"
RESNET = "resnet-init-variance"
NOT_RELU = ("variance_smaller", "variance_bound", "max_output_variance")
RELU_ONLY = ("second_moment", "output_variance", "he_sigma", "he_sigma_exact")


def answers_for(family, **params):
    return thaw(draw(family, 0, params).answers)


# ---------------------------------------------------------------- init-variance: worked examples


def test_sigmoid_unit_as_in_the_seed():
    # Var(y) = d sigma^2 = 1 gives sigma = 1/sqrt(d); mean 1/2 by symmetry; slope <= 1/4; variance <= 1/4.
    ans = answers_for(UNIT, d=100, activation="sigmoid")
    assert ans["sigma"] == pytest.approx(0.1) and ans["sigma_exact"] == "1/10"
    assert ans["output_mean"] == 0.5
    assert ans["variance_smaller"] is True
    assert ans["variance_bound"] == 1 / 16
    assert ans["max_output_variance"] == 0.25
    assert all(ans[name] is None for name in RELU_ONLY)


def test_tanh_unit():
    ans = answers_for(UNIT, d=64, activation="tanh")
    assert ans["sigma"] == 0.125 and ans["sigma_exact"] == "1/8"
    assert ans["output_mean"] == 0 and ans["variance_smaller"] is True
    assert ans["variance_bound"] == 1 and ans["max_output_variance"] == 1


def test_relu_unit_and_he_scale():
    ans = answers_for(UNIT, d=50, activation="relu")
    assert ans["sigma"] == pytest.approx(1 / math.sqrt(50)) and ans["sigma_exact"] == "sqrt(2)/10"
    assert ans["output_mean"] == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert ans["second_moment"] == 0.5
    assert ans["output_variance"] == pytest.approx(0.5 - 1 / (2 * math.pi))
    assert ans["he_sigma"] == pytest.approx(0.2) and ans["he_sigma_exact"] == "1/5"
    assert all(ans[name] is None for name in NOT_RELU)


def test_exact_forms_of_awkward_dimensions():
    assert answers_for(UNIT, d=7, activation="relu")["sigma_exact"] == "sqrt(7)/7"
    assert answers_for(UNIT, d=4, activation="relu")["he_sigma_exact"] == "sqrt(2)/2"
    assert answers_for(UNIT, d=144, activation="relu")["he_sigma_exact"] == "sqrt(2)/12"


# ---------------------------------------------------------------- resnet-init-variance: worked examples


def test_resnet_variances_as_in_the_seed():
    # sigma_l^2 = (1 + D^2 J sigma_W^2)^l, and the gradient variance (1 + D^2 J sigma_W^2)^(L - l).
    ans = answers_for(RESNET, L=20, D=3, J=64, sigma_w=0.004, target=2, ell=7)
    factor = 1 + 9 * 64 * 0.004**2
    assert ans["factor"] == pytest.approx(1.009216, abs=1e-12)
    assert ans["var_ell"] == pytest.approx(factor**7)
    assert ans["var_L"] == pytest.approx(factor**20)
    assert ans["grad_var_ell"] == pytest.approx(factor**13)
    assert ans["var_ell"] * ans["grad_var_ell"] == pytest.approx(ans["var_L"])


def test_resnet_target_two_as_in_the_seed():
    # (1 + e)^N ~ exp(eN) gives sigma_W ~ sqrt(ln 2 / (L D^2 J)); the exact root is a little larger.
    ans = answers_for(RESNET, L=20, D=3, J=64, sigma_w=0.004, target=2, ell=7)
    assert ans["sigma_w_approx"] == pytest.approx(math.sqrt(math.log(2) / (20 * 576)))
    assert ans["sigma_w_exact"] == pytest.approx(math.sqrt((2 ** (1 / 20) - 1) / 576))
    assert (1 + 576 * ans["sigma_w_exact"] ** 2) ** 20 == pytest.approx(2)
    assert ans["approx_rel_error"] == pytest.approx(-0.0086, abs=1e-4)  # about -ln 2 / (4 L)


# ---------------------------------------------------------------- properties over seeds


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_unit_properties_over_seeds(seed):
    variant = draw(UNIT, seed)  # draw() has run the Monte Carlo check
    params, ans = thaw(variant.params), thaw(variant.answers)
    assert math.isqrt(params["d"]) ** 2 == params["d"]  # sigma = 1/k: a short exact form
    assert ans["sigma"] ** 2 * params["d"] == pytest.approx(1)
    if params["activation"] == "relu":
        assert ans["he_sigma"] == pytest.approx(math.sqrt(2) * ans["sigma"])
        assert all(ans[name] is None for name in NOT_RELU)
    else:
        assert ans["variance_bound"] <= ans["max_output_variance"]
        assert all(ans[name] is None for name in RELU_ONLY)
    json.dumps(ans)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_resnet_properties_over_seeds(seed):
    variant = draw(RESNET, seed)
    params, ans = thaw(variant.params), thaw(variant.answers)
    assert params["D"] in (1, 3, 5) and 10 <= params["L"] <= 100 and 1 <= params["ell"] < params["L"]
    assert 2 * params["ell"] != params["L"]  # else part (b) would repeat part (a)
    assert 1 < ans["var_ell"] < ans["var_L"] <= 1000
    assert ans["var_ell"] * ans["grad_var_ell"] == pytest.approx(ans["var_L"])
    assert 1 + 0.05 / params["L"] < ans["factor"]
    assert ans["sigma_w_approx"] < ans["sigma_w_exact"]
    assert ans["approx_rel_error"] == pytest.approx(-math.log(params["target"]) / (4 * params["L"]), rel=0.1)
    assert float(f"{params['sigma_w']:.0e}") == params["sigma_w"]  # one significant digit
    json.dumps(ans)


def test_checks_use_their_own_generator():
    np.random.seed(2024)
    state = np.random.get_state()[1].copy()
    for family, params in [(UNIT, {"d": 25, "activation": "tanh"}), (RESNET, GOOD)]:
        a, b = draw(family, 1, dict(params)), draw(family, 2, dict(params))
        assert a.answers == b.answers
    assert (np.random.get_state()[1] == state).all()


# ---------------------------------------------------------------- tampered answers


def _rejects(family, params, match, **changes):
    fam = get_family(family)
    ans = fam.solve(fam.validate(dict(params)))
    ans.update(changes)
    with pytest.raises(VerificationError, match=match):
        verify(fam, 0, params, ans)


@pytest.mark.parametrize(
    "activation, changes, match",
    [
        ("sigmoid", {"sigma": 0.11, "sigma_exact": "11/100"}, "Var"),  # 10% too large: Var(y) = 1.21
        ("sigmoid", {"sigma_exact": "1/9"}, "sigma_exact"),
        ("sigmoid", {"sigma_exact": "__import__('os').getcwd()"}, "sigma_exact"),
        ("sigmoid", {"output_mean": 0.45}, "output_mean"),
        ("sigmoid", {"variance_smaller": False}, "variance_smaller"),
        ("sigmoid", {"variance_smaller": "smaller"}, "variance_smaller"),
        ("sigmoid", {"variance_bound": 0.25}, "variance_bound"),  # the slope, not its square
        ("sigmoid", {"max_output_variance": 0.5}, "max_output_variance"),
        ("sigmoid", {"max_output_variance": 0.2}, "max_output_variance"),
        ("tanh", {"output_mean": 0.05}, "output_mean"),
        ("tanh", {"max_output_variance": 0.25}, "max_output_variance"),
        ("tanh", {"he_sigma": 0.1}, "not asked"),
        ("relu", {"output_mean": 0.5}, "output_mean"),
        ("relu", {"second_moment": 1}, "second_moment"),
        ("relu", {"output_variance": 0.5}, "output_variance"),
        ("relu", {"he_sigma": 0.1}, "he_sigma_exact"),
        ("relu", {"he_sigma": 0.1, "he_sigma_exact": "1/10"}, "E\\[u\\^2\\] at he_sigma"),  # 1/sqrt(d), not He
        ("relu", {"variance_smaller": True}, "not asked"),
    ],
)
def test_unit_check_rejects_tampered_answers(activation, changes, match):
    _rejects(UNIT, {"d": 100, "activation": activation}, match, **changes)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"factor": 1.05}, "factor"),
        ({"var_L": 1.2 * 1.009216**20}, "var_L"),
        ({"var_ell": 1.009216**13}, "var_ell"),  # the gradient's exponent
        ({"grad_var_ell": 1.009216**7}, "grad_var_ell"),  # the forward exponent
        ({"sigma_w_exact": math.sqrt(math.log(2) / (20 * 576))}, "sigma_w_exact"),  # the approximation
        ({"sigma_w_approx": math.sqrt((2 ** (1 / 20) - 1) / 576)}, "sigma_w_approx"),
        ({"approx_rel_error": 0.0086}, "approx_rel_error"),  # the wrong sign
        ({"var_L": "7.3"}, "not a number"),
    ],
)
def test_resnet_check_rejects_tampered_answers(changes, match):
    _rejects(RESNET, {"L": 20, "D": 3, "J": 64, "sigma_w": 0.004, "target": 2, "ell": 7}, match, **changes)


# ---------------------------------------------------------------- the simulation model behind the check


def test_norm_ratio_model_matches_real_matrices():
    """The check draws |(I + W) h|^2 / |h|^2 as (1 + s g)^2 + s^2 chi^2_(n-1). Against real Gaussian matrices of
    fan-in n (five layers, width 8), both have mean (1 + n s^2)^5."""
    rng = np.random.default_rng(12345)
    n, s, depth, trials = 8, 0.2, 5, 4000
    h = rng.standard_normal((trials, n))
    start = (h * h).sum(axis=1)
    for _ in range(depth):
        weights = s * rng.standard_normal((trials, n, n))
        h = h + np.einsum("tij,tj->ti", weights, h)
    real = (h * h).sum(axis=1) / start
    model = ((1 + s * rng.standard_normal((trials, depth))) ** 2 + s * s * rng.chisquare(n - 1, (trials, depth))).prod(
        axis=1
    )
    expected = (1 + n * s * s) ** depth
    for sample in (real, model):
        assert abs(sample.mean() - expected) <= 6 * sample.std() / math.sqrt(trials)


@pytest.mark.parametrize("ell", [1, 99, 198])
def test_heavy_tailed_pins_still_verify(ell):
    # fan-in 9 over 200 layers with sigma_W = 0.06: the row products have log-variance ~3 (above the 1.5
    # limit), so the check composes per-layer factors (D = 1, the old example, is no longer accepted)
    ans = answers_for(RESNET, L=200, D=3, J=1, sigma_w=0.06, target=2, ell=ell)
    assert ans["var_L"] == pytest.approx(1.0324**200)
    rng = np.random.default_rng(0)
    s, g, chi = 0.06, rng.standard_normal((1000, 200)), rng.chisquare(8, (1000, 200))
    assert 200 * np.log((1 + s * g) ** 2 + s * s * chi).var() > 1.5


def test_chi_square_sampling_matches_direct_sums():
    """The init check samples y = sigma |W|/sigma z via a chi-square; direct sums of W_i x_i agree."""
    rng = np.random.default_rng(7)
    d, sigma, n = 16, 0.25, 20_000
    direct = (sigma * rng.standard_normal((n, d)) * rng.standard_normal((n, d))).sum(axis=1)
    via_chi = sigma * np.sqrt(rng.chisquare(d, n)) * rng.standard_normal(n)
    for sample in (direct, via_chi):
        assert abs((sample**2).mean() - 1) <= 6 * (sample**2).std() / math.sqrt(n)
    assert abs(np.mean(np.abs(direct)) - np.mean(np.abs(via_chi))) < 0.03


# ---------------------------------------------------------------- rendering (no PDF)


def test_templates_render_without_pdf():
    for activation, expected in [("sigmoid", r"\frac{1}{8} = 0.125"), ("relu", r"\frac{\sqrt{2}}{8}")]:
        variant = draw(UNIT, 0, {"d": 64, "activation": activation})
        problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
        assert expected in solution and r"\VAR" not in solution + problem
        assert "0.125" not in problem
    variant = draw(RESNET, 0, {"L": 20, "D": 3, "J": 64, "sigma_w": 0.004, "target": 2, "ell": 7})
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    # the factor exactly, sigma_W to 4 significant digits (and with 8 decimals in the subtraction of (d))
    assert r"\begin{axis}" in solution and "1.009216" in solution and "0.007825" in solution
    assert "0.00782457" in solution and "-0.0087" in solution
    assert "1.009216" not in problem and r"\begin{tikzpicture}" in problem


# ---------------------------------------------------------------- bad params


@pytest.mark.parametrize(
    "params, field",
    [
        ({"d": 3, "activation": "relu"}, "params.d"),
        ({"d": 64.5, "activation": "relu"}, "params.d"),
        ({"d": "64", "activation": "relu"}, "params.d"),
        ({"d": 64, "activation": "softplus"}, "params.activation"),
    ],
)
def test_unit_bad_params_name_the_field(params, field):
    with pytest.raises(InputError) as info:
        draw(UNIT, 0, params)
    assert str(info.value).startswith(field + ":")


GOOD = {"L": 20, "D": 3, "J": 64, "sigma_w": 0.004, "target": 2, "ell": 7}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"L": 1, "ell": 1}, "params.L"),
        ({"L": 20.5}, "params.L"),
        ({"D": 2}, "params.D"),
        ({"J": 0}, "params.J"),
        ({"sigma_w": 0}, "params.sigma_w"),
        ({"sigma_w": -0.01}, "params.sigma_w"),
        ({"sigma_w": "0.004"}, "params.sigma_w"),
        ({"target": 1}, "params.target"),
        ({"target": 0.5}, "params.target"),
        ({"ell": 20}, "params.ell"),
        ({"ell": 0}, "params.ell"),
    ],
)
def test_resnet_bad_params_name_the_field(changes, field):
    with pytest.raises(InputError) as info:
        draw(RESNET, 0, {**GOOD, **changes})
    assert str(info.value).startswith(field + ":")


def test_resnet_degenerate_pins_are_explained():
    with pytest.raises(InputError, match="degenerate.*above 1000"):
        draw(RESNET, 0, {**GOOD, "sigma_w": 0.1})
    with pytest.raises(InputError, match="degenerate.*within 5%"):
        draw(RESNET, 0, {**GOOD, "sigma_w": 0.0001})
