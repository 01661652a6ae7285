"""init-variance and resnet-init-variance, issue 8: the defects (each reproduced here first), the card
(structure, parts, minutes, asks/reveals) and structure-constrained draws."""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np
import pytest

from qbank import InputError, draw, get_family
from qbank.model import thaw
from qbank.render import render_fragments

UNIT = "init-variance"
RESNET = "resnet-init-variance"
GOOD = {"L": 20, "D": 3, "J": 64, "sigma_w": 0.004, "target": 2, "ell": 7}


def fragments(variant):
    fam = get_family(variant.family)
    return render_fragments(variant, part_points=[1] * len(fam.parts(variant.params)))


# ---------------------------------------------------------------- resnet-init-variance defects


def sampled(family, seeds):
    """Sampled params, without the (Monte Carlo) verification a draw runs."""
    fam = get_family(family)
    return [fam.validate(fam.sample(np.random.default_rng(seed))) for seed in seeds]


def test_resnet_ell_is_never_next_to_the_top():
    for params in sampled(RESNET, range(2000)):
        gap = max(2, round(params["L"] / 5))
        assert gap <= params["ell"] <= params["L"] - gap, params


def test_resnet_pinned_ell_next_to_the_top_is_refused():
    with pytest.raises(InputError, match=r"^params\.ell: .*L - 2"):
        draw(RESNET, 0, {**GOOD, "ell": 19})
    assert draw(RESNET, 0, {**GOOD, "ell": 18}).params["ell"] == 18


def test_resnet_filters_are_at_least_3_by_3():
    assert {params["D"] for params in sampled(RESNET, range(2000))} == {3, 5}
    with pytest.raises(InputError, match=r"^params\.D: "):
        draw(RESNET, 0, {**GOOD, "D": 1})


def test_resnet_problem_defines_the_gradient_notation():
    problem, _ = fragments(draw(RESNET, 0, GOOD))
    definition = re.search(r"write \$L_\\ell\.\\mathrm\{grad\}\$ for (.{0,200})", problem, re.S)
    assert definition and r"\partial" in definition.group(1), problem


@pytest.mark.parametrize("target", [1.23456, 2.00001, 3.14159265])
def test_resnet_pinned_target_with_more_digits_than_printed_is_refused(target):
    with pytest.raises(InputError, match=r"^params\.target: .*at most 4 decimals"):
        draw(RESNET, 0, {**GOOD, "target": target})


@pytest.mark.parametrize("target, shown", [(1.2345, "1.2345"), (2.5, "2.5"), (1.5001, "1.5001"), (1000, "1000")])
def test_resnet_pinned_target_is_printed_as_solved(target, shown):
    variant = draw(RESNET, 0, {**GOOD, "target": target})
    problem, solution = fragments(variant)
    # every place that states the target shows the pinned number in full
    stated = re.findall(r"\\sigma_L\^2 = ([0-9.]+)\$", problem) + re.findall(r"\)\^\{L\} = ([0-9.]+)\$", solution)
    assert len(stated) == 3 and set(stated) == {shown}, stated
    # the answers use exactly the printed number
    ans = thaw(variant.answers)
    assert (1 + 576 * ans["sigma_w_exact"] ** 2) ** 20 == pytest.approx(float(shown), rel=1e-12)


def _exact_resnet(L, fan_in, target):
    mpmath.mp.dps = 60
    t = mpmath.mpf(str(target))
    exact = mpmath.sqrt((t ** (mpmath.mpf(1) / L) - 1) / fan_in)
    approx = mpmath.sqrt(mpmath.log(t) / (L * fan_in))
    return float(exact), float(approx), float((approx - exact) / exact)


@pytest.mark.parametrize("target, L", [(1.0001, 200), (1.0001, 20), (1.001, 100), (1.01, 3), (2, 20), (1000, 3)])
def test_resnet_relative_error_is_accurate_near_target_one(target, L):
    # solve alone: targets this close to 1 are refused as problems (the two sigma_W agree to 4 digits)
    fam = get_family(RESNET)
    params = fam.validate({**GOOD, "L": L, "ell": 1, "target": target, "sigma_w": 0.004 if L >= 20 else 0.02})
    ans = fam.solve(params)
    exact, approx, rel = _exact_resnet(L, 576, target)
    assert ans["sigma_w_exact"] == pytest.approx(exact, rel=1e-13)
    assert ans["sigma_w_approx"] == pytest.approx(approx, rel=1e-13)
    assert ans["approx_rel_error"] == pytest.approx(rel, rel=1e-11)


def test_resnet_small_relative_error_shows_significant_digits():
    # target 1.5 over 100 layers: the relative error is about -ln(1.5)/400 = -0.001
    variant = draw(RESNET, 0, {**GOOD, "L": 100, "ell": 40, "target": 1.5, "sigma_w": 0.001})
    _, solution = fragments(variant)
    ans = thaw(variant.answers)
    # nothing that matters rounds to 0 or 1
    assert r"\approx 0." not in re.sub(r"\\approx -?0\.0*[1-9]", "", solution)
    rel = get_family(RESNET).answers["approx_rel_error"].grading
    assert rel.latex(ans["approx_rel_error"]) in solution  # the relative error at 2 significant digits
    assert rel.text(ans["approx_rel_error"]) in ("-0.0010", "-1.0e-03")
    # the displayed subtraction of the two roots matches the displayed relative error
    shown = re.search(r"\\frac\{([0-9.]+) - ([0-9.]+)\}\{([0-9.]+)\}", solution)
    approx, exact, _ = (float(g) for g in shown.groups())
    assert (approx - exact) / exact == pytest.approx(ans["approx_rel_error"], rel=0.01)


# ---------------------------------------------------------------- init-variance defects


def test_relu_part_d_states_whether_unit_variance_still_holds():
    variant = draw(UNIT, 0, {"d": 50, "activation": "relu"})
    ans = thaw(variant.answers)
    assert ans["he_input_variance"] == 2
    assert ans["he_output_variance"] == pytest.approx(1 - 1 / math.pi)
    problem, solution = fragments(variant)
    part_d = problem.split(r"\part")[-1]
    assert "unit variance" in part_d and r"\operatorname{Var}(y)" in part_d
    assert r"\operatorname{Var}(y) = d\,\sigma^2 = 2" in solution


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_squashing_part_c_gives_what_a_student_needs(activation):
    # tanh has largest slope 1: the slope bound alone gives Var(u) <= Var(y), which cannot tell
    # "smaller" from "equal"; the part must ask for where the slope is attained and give the tool.
    problem, _ = fragments(draw(UNIT, 0, {"d": 64, "activation": activation}))
    part_c = problem.split(r"\part")[3]
    assert "independent copy" in part_c and "strict" in part_c and "where" in part_c


def test_activation_is_structural():
    fam = get_family(UNIT)
    for seed in range(20):
        ref = draw(UNIT, seed)
        structure = fam.structure_of(ref.params)
        assert structure["activation"] == ref.params["activation"]
        for k in range(5):
            assert draw(UNIT, 1000 + 7 * seed + k, structure=structure).params["activation"] == ref.params["activation"]


# ---------------------------------------------------------------- the card


def test_minutes_are_realistic():
    unit, resnet = get_family(UNIT), get_family(RESNET)
    for act in ("sigmoid", "tanh", "relu"):
        assert 5 <= unit.minutes({"d": 64, "activation": act}) <= 10
    assert 7 <= resnet.minutes(GOOD) <= 12


def test_rendering_is_deterministic():
    for family, params in ((UNIT, {"d": 50, "activation": "relu"}), (RESNET, GOOD)):
        assert fragments(draw(family, 3, params)) == fragments(draw(family, 3, params))
