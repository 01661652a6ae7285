"""vae-elbo (issue 19): a worked example computed by hand, properties over many seeds and over hypothesis'
params, one test per listed mistake, tampered answers, bad pins named by field, the card (parts, minutes by
structure, labels, precisions) and the solution printing its answers at their precision."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from conftest import assert_parts_state_their_precision, command_arguments, assert_mistake_is_wrong_on
from hypothesis import given, settings, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "vae-elbo"
FAM = get_family(FAMILY)

# By hand, with e^0.1 = 1.1051709181, e^-0.2 = 0.8187307531, e^0.2 = 1.2214027582, e^-0.4 = 0.6703200460,
# ln 0.8 = -0.2231435513, ln 0.7 = -0.3566749439, ln 0.6 = -0.5108256238:
#   sigma = e^(0.2/2), e^(-0.4/2) = 1.1051709181, 0.8187307531
#   z = 0.5 + 1 * 1.1051709181, -1 - 0.5 * 0.8187307531 = 1.6051709181, -1.4093653766
#   kl = ((0.25 + 1.2214027582 - 1 - 0.2) + (1 + 0.6703200460 - 1 + 0.4)) / 2 = 1.3417228042 / 2 = 0.6708614021
#   recon = ln 0.8 + ln(1 - 0.3) + ln 0.6 = -1.0906441190; elbo = -1.0906441190 - 0.6708614021 = -1.7615055211
#   dkl_dmu = mu = 0.5, -1; dkl_dlogvar = (1.2214027582 - 1) / 2, (0.6703200460 - 1) / 2 = 0.1107013791, -0.1648399770
WORKED = {"mu": [0.5, -1], "logvar": [0.2, -0.4], "eps": [1, -0.5], "x": [1, 0, 1], "x_probs": [0.8, 0.3, 0.6]}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(400)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)  # draw() runs the independent check


def test_the_worked_example_by_hand():
    a = answers_of(WORKED)
    assert a["sigma"] == pytest.approx([1.1051709181, 0.8187307531], abs=1e-10)
    assert a["z"] == pytest.approx([1.6051709181, -1.4093653766], abs=1e-10)
    assert a["kl"] == pytest.approx(0.6708614021, abs=1e-10)
    assert a["recon"] == pytest.approx(-1.0906441190, abs=1e-10)
    assert a["elbo"] == pytest.approx(-1.7615055211, abs=1e-10)
    assert a["dkl_dmu"] == [0.5, -1]
    assert a["dkl_dlogvar"] == pytest.approx([0.1107013791, -0.1648399770], abs=1e-10)


def test_the_solution_prints_answers_as_asked():
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragments(variant, part_points=[1] * 4)
    assert "natural logarithm" in problem and r"\log \sigma^2" in problem and r"\mu + \sigma \odot \varepsilon" in problem
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    for text in ("1.1052", "0.8187", "1.6052", "-1.4094", "0.6709", "-1.0906", "-1.7615", "[0.5,", "0.1107", "-0.1648"):
        assert text in boxes, text
    assert "0.67086" not in boxes and "0.50000" not in boxes


def test_each_part_states_its_precision():
    assert_parts_state_their_precision(FAMILY, 30, 4, "decimal places")


# ---------------------------------------------------------------- properties


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(-30, 30), st.integers(-30, 30), st.integers(-30, 30)), min_size=2, max_size=3),
       st.lists(st.tuples(st.integers(0, 1), st.integers(1, 99)), min_size=3, max_size=4))
def test_properties_of_any_pinned_params(latents, pixels):
    params = FAM.validate({"mu": [m / 10 for m, _, _ in latents], "logvar": [v / 10 for _, v, _ in latents],
                           "eps": [e / 10 for _, _, e in latents], "x": [x for x, _ in pixels],
                           "x_probs": [p / 100 for _, p in pixels]})
    a = FAM.solve(params)
    FAM.check(params, a)
    assert a["kl"] >= 0 and a["recon"] < 0 and a["elbo"] == pytest.approx(a["recon"] - a["kl"])
    assert all(s > 0 for s in a["sigma"])
    # the KL term vanishes exactly at the prior, and each gradient entry has the sign of mu_j and of logvar_j
    for m, lv, gm, gv in zip(params["mu"], params["logvar"], a["dkl_dmu"], a["dkl_dlogvar"]):
        assert gm == m and (gv > 0) == (lv > 0) and (gv == 0) == (lv == 0)
    at_prior = FAM.solve({**params, "mu": [0] * len(latents), "logvar": [0] * len(latents)})
    assert at_prior["kl"] == 0 and at_prior["z"] == pytest.approx(params["eps"])


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        p, a = thaw(variant.params), thaw(variant.answers)
        assert set(p) == {"mu", "logvar", "eps", "x", "x_probs"}
        j, n = len(p["mu"]), len(p["x"])
        assert j in (2, 3) and n in (3, 4) and len(p["logvar"]) == len(p["eps"]) == j and len(p["x_probs"]) == n
        assert 0 not in p["mu"] + p["logvar"] + p["eps"] and set(p["x"]) == {0, 1} and 0.5 not in p["x_probs"]
        assert all(round(v, 2) == v for v in p["mu"] + p["logvar"] + p["eps"] + p["x_probs"])
        assert min(abs(v) for v in a["dkl_dlogvar"]) > 0.01


def test_samples_are_drawn_at_once():
    draws = [FAM.validate(FAM.sample(np.random.default_rng(s))) for s in range(400)]
    assert sum(FAM.degenerate(p) is not None for p in draws) <= 20


# ---------------------------------------------------------------- mistakes


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 9
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_is_wrong_on_the_worked_example(mistake):
    assert_mistake_is_wrong_on(FAM, WORKED, mistake)


# Per mistake, params on which it would score, and the refusal a draw of them meets first.
BITES = {
    "sigma = exp(logvar) (the log-variance read as the log of sigma)": ({"logvar": [0, -0.4]}, "logvar_1 = 0"),
    "z = mu + sigma^2 eps (the variance for the standard deviation)": ({"eps": [0, -0.5]}, "eps_1 = 0"),
    "the KL term without its factor 1/2": ({"mu": [0, 0], "logvar": [0, 0]}, "mu_1 = 0"),
    "ln sigma for ln sigma^2 in the KL term": ({"logvar": [0.2, -0.2]}, "the mistake 'ln sigma"),  # sum 0
    "the ELBO as the reconstruction term plus the KL term": ({"mu": [0, 0], "logvar": [0, 0]}, "mu_1 = 0"),
    "x ln(1 - p) + (1 - x) ln p (the Bernoulli mean read as the probability of a 0)": (
        {"x": [1, 0, 1, 0], "x_probs": [0.3, 0.3, 0.6, 0.6]}, "the mistake 'x ln"),
    "only the x ln p terms in the reconstruction term": ({"x": [1, 1, 1]}, "every pixel is the same"),
    "dKL/dlogvar as (sigma - 1)/2 (sigma for sigma^2)": ({"logvar": [0.2, 0]}, "logvar_2 = 0"),
    "dKL/dmu as 2 mu (the factor 1/2 of the KL term dropped)": ({"mu": [0.5, 0]}, "mu_2 = 0"),
}


@pytest.mark.parametrize("mistake", sorted(BITES))
def test_a_draw_the_mistake_would_score_on_is_refused(mistake):
    assert set(BITES) == set(FAM.mistakes)
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    pin, refusal = BITES[mistake]
    params = {**WORKED, **pin}
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match=re.escape(refusal)):
        draw(FAMILY, 0, params)


# ---------------------------------------------------------------- tampering, refusals and pins


@pytest.mark.parametrize("name", sorted(FAM.answers))
def test_tampered_answers_are_rejected_by_check(name):
    params = FAM.validate(WORKED)
    answers = copy.deepcopy(FAM.solve(params))
    if isinstance(answers[name], list):
        answers[name][-1] += 1e-4
    else:
        answers[name] += 1e-4
    with pytest.raises(AssertionError, match=re.escape(name)):
        FAM.check(params, answers)


def test_degenerate_draws_are_refused():
    with pytest.raises(InputError, match="decoder mean is 0.5"):
        draw(FAMILY, 0, {**WORKED, "x_probs": [0.8, 0.5, 0.6]})
    with pytest.raises(InputError, match="every pixel is the same"):
        draw(FAMILY, 0, {**WORKED, "x": [0, 0, 0]})


@pytest.mark.parametrize("pin, field", [
    ({"mu": [1, 2, 3, 4]}, r"params\.mu: expected a list of 2 to 3 numbers"),
    ({"logvar": [0.2]}, r"params\.logvar: expected a list of 2 numbers \(one per latent, like mu\)"),
    ({"eps": [1, "2"]}, r"params\.eps\[1\]"),
    ({"x": [1, 2, 0]}, r"params\.x\[1\]: expected an integer from 0 to 1"),
    ({"x_probs": [0.8, 1, 0.6]}, r"params\.x_probs\[1\]: expected a number from 0\.01 to 0\.99"),
    ({"x_probs": [0.8, 0.6]}, r"params\.x_probs: expected a list of 3 numbers \(one per pixel, like x\)"),
])
def test_bad_pins_are_named_by_field(pin, field):
    with pytest.raises(InputError, match=field):
        draw(FAMILY, 0, {**WORKED, **pin})


# ---------------------------------------------------------------- the card


def test_the_card():
    described = {name: a.grading.describe() for name, a in FAM.answers.items()}
    assert described.pop("dkl_dmu") == "exact" and set(described.values()) == {"4 decimal places"}
    assert [p.answers for p in FAM.parts(WORKED)] == [("sigma", "z"), ("kl",), ("recon", "elbo"),
                                                       ("dkl_dmu", "dkl_dlogvar")]
    assert leaf_label("d", "dkl_dlogvar", FAM.answers["dkl_dlogvar"], ["1"], [0.1, -0.2]) == "(d) dKL/dlogvar, latent 2"
    assert form_hint(FAM.answers["z"], [0.1, 0.2, 0.7]) == "3 numbers, 4 decimal places each"
    assert FAM.structure_of(WORKED) == {"mu": [2], "x": [3]}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_shape: dict[tuple, set] = {}
    for variant in drawn:
        p = thaw(variant.params)
        by_shape.setdefault((len(p["mu"]), len(p["x"])), set()).add(
            (FAM.minutes(p), tuple(part.weight for part in FAM.parts(p))))
    assert {k: len(v) for k, v in by_shape.items()} == {(2, 3): 1, (2, 4): 1, (3, 3): 1, (3, 4): 1}
    # read 1.5; (a) 0.75 J; (b) 0.5 + 0.75 J; (c) n / 2 + 0.5; (d) 1.5 + J / 4
    assert next(iter(by_shape[(2, 3)]))[0] == 1.5 + 1.5 + 2 + 2 + 2
    assert next(iter(by_shape[(3, 4)]))[0] == 1.5 + 2.25 + 2.75 + 2.5 + 2.25
