"""normalization (issue 18): batch and layer normalization in training mode. Worked examples computed by hand,
properties over many seeds, one test per mistake and per degenerate rule, tampered answers, bad params, the
card (parts, minutes equal for both modes on a square X, labels, precisions) and the solution printing its
answers at their precision."""

from __future__ import annotations

import copy
import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_parts_state_their_precision

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.fairness import Tags, conflict, item_tags
from qbank.grading import scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

NORM = "normalization"
SEEDS = st.integers(0, 2**32)
PROPERTY = settings(max_examples=60, deadline=None)


def solved(params):
    variant = draw(NORM, 0, params)  # draw() runs the independent check
    return thaw(variant.params), thaw(variant.answers)


def close(got, want, tol=5e-7):
    assert np.allclose(np.array(got, dtype=float), np.array(want, dtype=float), atol=tol, rtol=0), (got, want)


# --- worked examples, by hand --------------------------------------------------------------------------

# Batch mode, eps = 0. Feature 1: [1, 3, 5], mean 3, deviations [-2, 0, 2], variance 8/3, x-hat = +-sqrt(3/2).
# Feature 2: [2, 3, -2], mean 1, deviations [1, 2, -3], variance 14/3.
BATCH = {"mode": "batch", "X": [[1, 2], [3, 3], [5, -2]], "gamma": [2, 0.5], "beta": [0.5, -1], "eps": 0,
         "dY": [[1, 0.5], [0, -1], [-0.5, 0.4]]}


def test_batch_worked_example():
    _, ans = solved(BATCH)
    assert ans["mean"] == [3, 1]
    assert ans["var"] == pytest.approx([8 / 3, 14 / 3])
    a, s2 = math.sqrt(1.5), math.sqrt(14 / 3)
    xhat = [[-a, 1 / s2], [0, 2 / s2], [a, -3 / s2]]
    close(ans["xhat"], xhat)
    close(ans["xhat"], [[-1.224745, 0.462910], [0, 0.925820], [1.224745, -1.388730]], 1e-6)
    close(ans["Y"], [[2 * r[0] + 0.5, 0.5 * r[1] - 1] for r in xhat])
    assert ans["dbeta"] == [0.5, -0.1]  # column sums of dY, exactly
    # dL/dgamma_1 = 1 (-a) + 0 + (-0.5) a = -1.5 a; dL/dgamma_2 = (0.5 * 1 - 1 * 2 + 0.4 * (-3)) / s2 = -2.7 / s2
    close(ans["dgamma"], [-1.5 * a, -2.7 / s2])
    # Feature 1: g = 2 dY = [2, 0, -1], mean 1/3; mean(g x-hat) = (2 (-a) - a) / 3 = -a; the bracket
    # g - 1/3 - x-hat (-a) = g - 1/3 + a x-hat = [2 - 1/3 - 1.5, -1/3, -1 - 1/3 + 1.5] = [1/6, -1/3, 1/6].
    s1 = math.sqrt(8 / 3)
    # Feature 2: g = [0.25, -0.5, 0.2], mean -1/60; g . dev = 0.25 - 1 - 0.6 = -1.35, so
    # x-hat_k mean(g x-hat) = dev_k (-1.35 / 3) / (14 / 3) = -0.45 dev_k / (14 / 3).
    c = -0.45 / (14 / 3)
    col2 = [(g + 1 / 60 - d * c) / s2 for g, d in zip([0.25, -0.5, 0.2], [1, 2, -3])]
    close(ans["dX"], [[1 / 6 / s1, col2[0]], [-1 / 3 / s1, col2[1]], [1 / 6 / s1, col2[2]]])
    close(ans["dX"], [[0.102062, 0.168080], [-0.204124, -0.134464], [0.102062, -0.033616]], 2e-6)


# Layer mode, eps = 0.1. Example 1: [1, 2, 6], mean 3, deviations [-2, -1, 3], variance 14/3;
# example 2: [4, 0, 2], mean 2, deviations [2, -2, 0], variance 8/3.
LAYER = {"mode": "layer", "X": [[1, 2, 6], [4, 0, 2]], "gamma": [1, 2, 0.5], "beta": [0, 0.5, -0.5], "eps": 0.1,
         "dY": [[0.5, -0.5, 1], [-1, 0.2, 0.3]]}


def test_layer_worked_example_with_eps():
    _, ans = solved(LAYER)
    assert ans["mean"] == [3, 2] and ans["var"] == pytest.approx([14 / 3, 8 / 3])
    s1, s2 = math.sqrt(14 / 3 + 0.1), math.sqrt(8 / 3 + 0.1)  # 2.183269, 1.663330
    dev = [[-2, -1, 3], [2, -2, 0]]
    xhat = [[d / s1 for d in dev[0]], [d / s2 for d in dev[1]]]
    close(ans["xhat"], xhat)
    close(ans["xhat"], [[-0.916057, -0.458029, 1.374086], [1.202407, -1.202407, 0]], 1e-6)
    # the gain and shift are per feature, the same in both rows
    close(ans["Y"], [[1 * r[0] + 0, 2 * r[1] + 0.5, 0.5 * r[2] - 0.5] for r in xhat])
    assert ans["dbeta"] == [-0.5, -0.3, 1.3]  # down the columns, although the statistics run along the rows
    close(ans["dgamma"], [0.5 * xhat[0][0] - xhat[1][0], -0.5 * xhat[0][1] + 0.2 * xhat[1][1], xhat[0][2]])
    # Example 1: g = gamma dY = [0.5, -1, 0.5], mean 0, g . dev = -1 + 1 + 1.5 = 1.5:
    # dX = (g - dev * (1.5 / 3) / s1^2) / s1.
    row1 = [(g - d * 0.5 / s1**2) / s1 for g, d in zip([0.5, -1, 0.5], dev[0])]
    # Example 2: g = [-1, 0.4, 0.15], mean -0.15, g . dev = -2 - 0.8 = -2.8:
    # dX = (g + 0.15 - dev * (-2.8 / 3) / s2^2) / s2.
    row2 = [(g + 0.15 + d * (2.8 / 3) / s2**2) / s2 for g, d in zip([-1, 0.4, 0.15], dev[1])]
    close(ans["dX"], [row1, row2])
    close(ans["dX"], [[0.325104, -0.409984, 0.084879], [-0.105392, -0.074969, 0.180361]], 2e-6)


def test_layer_mode_is_batch_mode_of_the_transpose():
    """Normalizing the rows of X is normalizing the columns of X^T (with gamma = 1, beta = 0, the rest follows)."""
    fam = get_family(NORM)
    for seed in range(40):
        p = thaw(draw(NORM, seed).params)
        n, d = len(p["X"]), len(p["X"][0])
        mine = {**p, "gamma": [1] * d, "beta": [0] * d}
        other = {"mode": "layer" if p["mode"] == "batch" else "batch", "X": [list(c) for c in zip(*p["X"])],
                 "gamma": [1] * n, "beta": [0] * n, "eps": p["eps"], "dY": [list(c) for c in zip(*p["dY"])]}
        a, b = fam.solve(mine), fam.solve(other)
        assert a["mean"] == b["mean"] and a["var"] == b["var"]
        for name in ("xhat", "Y", "dX"):
            close(a[name], np.array(b[name]).T, 1e-12)


# --- properties over seeds -----------------------------------------------------------------------------


@PROPERTY
@given(SEEDS)
def test_properties_over_seeds(seed):
    variant = draw(NORM, seed)
    p, ans = thaw(variant.params), thaw(variant.answers)
    x = np.array(p["X"], dtype=float)
    n, d = x.shape
    axis = 0 if p["mode"] == "batch" else 1
    assert (n, d) in {"batch": [(3, 2), (4, 2), (3, 3)], "layer": [(2, 3), (2, 4), (3, 3)]}[p["mode"]]
    assert p["eps"] in (0, 0.1, 0.2) and all(g in (0.5, 1, 1.5, 2) for g in p["gamma"])
    assert all(float(m).is_integer() for m in ans["mean"])  # the sampler draws whole means
    assert np.allclose(ans["mean"], x.mean(axis=axis)) and np.allclose(ans["var"], x.var(axis=axis))
    xhat, dx = np.array(ans["xhat"]), np.array(ans["dX"])
    assert np.allclose(xhat.sum(axis=axis), 0)  # every group of x-hat adds up to 0
    scale = np.array(ans["var"]) / (np.array(ans["var"]) + p["eps"])
    assert np.allclose((xhat**2).mean(axis=axis), scale)  # and has mean square var / (var + eps)
    assert np.allclose(ans["Y"], xhat * np.array(p["gamma"]) + np.array(p["beta"]))
    assert np.allclose(dx.sum(axis=axis), 0, atol=1e-12)  # shifting a group changes nothing
    if p["eps"] == 0:
        assert np.allclose((dx * xhat).sum(axis=axis), 0, atol=1e-12)  # nor does scaling it
    assert np.allclose(ans["dbeta"], np.array(p["dY"]).sum(axis=0))
    assert np.all(np.abs(dx) >= 0.01) and np.all(np.abs(ans["dgamma"]) >= 0.005)
    json.dumps(ans)
    _, solution = render_fragments(variant)
    assert r"\VAR" not in solution and "three routes" in solution


def test_every_group_has_three_values_or_more_and_more_than_two_levels():
    for seed in range(200):
        p = thaw(draw(NORM, seed).params)
        groups = [list(c) for c in zip(*p["X"])] if p["mode"] == "batch" else p["X"]
        for g in groups:
            assert len(g) >= 3
            dev = [v - sum(g) / len(g) for v in g]
            assert len({abs(v) for v in dev}) > 1  # x-hat is not just +1 and -1
            if len(g) == 3:
                assert sorted(abs(v) for v in dev) != [1, 1, 2]  # no structural zero in dL/dX


# --- the card ------------------------------------------------------------------------------------------


def test_minutes_are_equal_for_both_modes_on_the_same_square_shape():
    fam = get_family(NORM)
    shapes = {}
    for seed in range(300):
        p = thaw(draw(NORM, seed).params)
        key = (p["mode"], len(p["X"]), len(p["X"][0]))
        shapes.setdefault(key, set()).add((fam.minutes(p), tuple(part.weight for part in fam.parts(p))))
    assert all(len(v) == 1 for v in shapes.values()), shapes  # the structure alone sets minutes and weights
    assert shapes[("batch", 3, 3)] == shapes[("layer", 3, 3)]
    # a transposed shape is the same work too: groups and entries trade places
    assert shapes[("batch", 4, 2)] == shapes[("layer", 2, 4)] and shapes[("batch", 3, 2)] == shapes[("layer", 2, 3)]
    assert 13 <= min(m for v in shapes.values() for m, _ in v) and max(m for v in shapes.values() for m, _ in v) <= 20


def test_vary_mode_on_a_square_input_holds_the_minutes():
    fam = get_family(NORM)
    ref = draw(NORM, 1, structure={"X": [3, 3], "mode": "batch"})
    other = draw(NORM, 2, structure={"X": [3, 3], "mode": "layer"})
    assert fam.minutes(ref.params) == fam.minutes(other.params) == 18.7
    assert fam.structure_of(ref.params) == {"mode": "batch", "X": [3, 3]}


def test_precisions_labels_and_positions():
    fam = get_family(NORM)
    described = {name: a.grading.describe() for name, a in fam.answers.items()}
    assert described == {"mean": "exact", "var": "exact", "xhat": "4 decimal places", "Y": "4 decimal places",
                         "dgamma": "4 decimal places", "dbeta": "exact", "dX": "4 decimal places"}
    assert fam.answers["var"].grading.fractions and not fam.answers["dbeta"].grading.fractions
    batch, layer = thaw(draw(NORM, 0, BATCH).params), thaw(draw(NORM, 0, LAYER).params)
    words = lambda p, name: (lambda level, i: fam.position_word(p, name, level, i))  # noqa: E731
    assert leaf_label("a", "mean", fam.answers["mean"], ["1"], [3, 1], words(batch, "mean")) == "(a) mu, feature 2"
    assert leaf_label("a", "var", fam.answers["var"], ["0"], [1, 2], words(layer, "var")) == "(a) sigma^2, example 1"
    label = leaf_label("d", "dX", fam.answers["dX"], ["1", "0"], [[1.0, 2.0], [3.0, 4.0]], words(batch, "dX"))
    assert label == "(d) dL/dX, example 2, feature 1"
    assert form_hint(fam.answers["var"], [8 / 3, 14 / 3]) == "2 numbers, exact (a fraction where the decimal does not end) each"


def test_each_part_states_its_precision_and_the_solution_prints_it():
    assert_parts_state_their_precision(NORM, 40, 4, "decimal places")


def test_conflicts_with_the_conceptual_items():
    from qbank.bank import load_bank

    bank = load_bank().items
    batch, layer = thaw(draw(NORM, 0, BATCH).params), thaw(draw(NORM, 0, LAYER).params)
    family = item_tags(bank["normalization-batchnorm"], batch)
    axes = item_tags(bank["layernorm-for-sequence-models-mc"])
    test_mode = item_tags(bank["batchnorm-test-mode-mc"])
    assert conflict(family, axes) == "one gives away normalization-axes, which the other asks"
    assert conflict(item_tags(bank["normalization-layernorm"], layer), axes) is not None
    # the test-mode question asks what the family never states (the running averages): they may share a version
    assert conflict(family, test_mode) is None and "batchnorm-training-statistics" in family.reveals
    assert conflict(Tags(frozenset(get_family(NORM).asks)), family) is not None


# --- checks, params, degenerate draws -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("mean", lambda a: a["mean"].__setitem__(0, 3.5), r"mean\[0\]"),
        ("var n - 1", lambda a: a.__setitem__("var", [v * 1.5 for v in a["var"]]), r"var\[0\]"),
        ("xhat", lambda a: a["xhat"][0].__setitem__(1, 0.5), r"xhat\[0\]\[1\]"),
        ("Y", lambda a: a["Y"][2].__setitem__(0, 2.9), r"Y\[2\]\[0\]"),
        ("dgamma", lambda a: a["dgamma"].__setitem__(1, -1.25), r"dgamma\[1\]"),
        ("dbeta", lambda a: a["dbeta"].__setitem__(0, 0.4), r"dbeta\[0\]"),
        ("dX gamma dY / sigma", lambda a: a.__setitem__("dX", [[2 * 1 / math.sqrt(8 / 3), a["dX"][0][1]]] + a["dX"][1:]),
         r"dX\[0\]\[0\]"),
        ("dX transposed shape", lambda a: a.__setitem__("dX", [list(c) for c in zip(*a["dX"])]), "dX"),
    ],
)
def test_check_rejects_tampered_answers(name, change, message):
    fam = get_family(NORM)
    answers = fam.solve(fam.validate(copy.deepcopy(BATCH)))
    change(answers)
    with pytest.raises(VerificationError, match=message):
        verify(fam, 0, BATCH, answers)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"mode": "instance"}, "params.mode"),
        ({"X": [[1, 2]]}, "params.X"),
        ({"X": [[1, 2], [3], [5, -2]]}, "params.X[1]"),
        ({"X": [[1, 2], [3, "3"], [5, -2]]}, "params.X[1][1]"),
        ({"X": [[1, 2], [3, 3.125], [5, -2]]}, "params.X[1][1]"),
        ({"gamma": [2]}, "params.gamma"),
        ({"beta": [0.5, -1, 0]}, "params.beta"),
        ({"eps": -0.1}, "params.eps"),
        ({"eps": True}, "params.eps"),
        ({"dY": [[1, 0.5], [0, -1]]}, "params.dY"),
    ],
)
def test_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(NORM, 0, {**BATCH, **change})
    assert str(info.value).startswith(field + ":")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"mode": "layer"}, r"X is 3 x 2: layer normalization needs at least 3 features"),  # rows of 2: x-hat = +-1
        ({"X": [[1, 2], [3, 2], [5, 2]]}, "every value of feature 2 is the same"),
        ({"X": [[1, 3], [3, -1], [5, 3], [7, -1]], "dY": [[1, 0.5], [0, -1], [-0.5, 0.4], [0.3, 0.2]]},
         "feature 2 lie at two points"),  # deviations [2, -2, 2, -2]: x-hat is +-1
        ({"X": [[0.01, 2], [0.02, 3], [0.04, -2]]}, "denominator over 10000"),
        ({"gamma": [2, 0]}, "gamma_2 = 0"),
        ({"dY": [[1, 0], [0, 0], [-0.5, 0]]}, "row or a column of zeros"),
        ({"dY": [[1, 0.2], [0, -0.1], [-0.5, 0]]}, r"dL/dgamma_2 = 0\.0000 is \(nearly\) 0"),  # [2, -1, 0] . [1, 2, -3] = 0
        ({"dY": [[1, -1], [0, -1], [-0.5, -0.5]]}, r"dL/dX\[3\]\[2\] = 0\.0028 is too small to be asked"),
        ({"dY": [[1, 0.1], [0, 0.2], [-0.5, -0.3]]}, "dL/dX is \\(nearly\\) 0 for feature 2"),  # dY a multiple of x-hat
    ],
)
def test_degenerate_pins_are_refused(change, message):
    with pytest.raises(InputError, match="degenerate.*" + message):
        draw(NORM, 0, {**BATCH, **change})


def test_a_pinned_mode_alone_draws_on_every_seed():
    for seed in range(30):
        for mode in ("batch", "layer"):
            p = thaw(draw(NORM, seed, {"mode": mode}).params)
            assert p["mode"] == mode and len(p["X"] if mode == "batch" else p["X"][0]) >= 3


# --- mistakes ------------------------------------------------------------------------------------------

# One draw per listed mistake on which it scores (found by drawing; the reason each scores is in the comment):
# every such draw is refused, naming the mistake.
SCORED = {
    # the n - 1 variance moves dL/dX[2][2] by 3e-5 only
    "the variance divided by n - 1 (the unbiased estimate)": {
        "mode": "batch", "X": [[6, 2], [0, 1], [3, -3]], "gamma": [1, 1.5], "beta": [1, -0.4], "eps": 0.2,
        "dY": [[0.6, -0.1], [-0.8, -0.5], [0.2, 1]]},
    # row 1 and column 1 share the variance 14/3
    "the statistics over the other axis (batch and layer normalization confused)": {
        "mode": "batch", "X": [[-4, 1, 0], [-3, 2, 2], [1, 0, 1]], "gamma": [2, 0.5, 1], "beta": [-0.8, 1, 0.5],
        "eps": 0.2, "dY": [[-1, -0.6, 0.7], [0.7, 0.7, 1], [-0.3, 0.6, 0.6]]},
    "eps added outside the square root": {
        "mode": "batch", "X": [[-2, 1], [0, -5], [-5, -1], [-1, -3]], "gamma": [0.5, 1], "beta": [-0.5, 0.3],
        "eps": 0.2, "dY": [[-0.5, -0.1], [0.9, 0.2], [0.8, -0.7], [-0.5, -0.8]]},
    "eps left out": {
        "mode": "layer", "X": [[4, 4, 1, 3], [6, 0, 2, 4]], "gamma": [0.5, 1.5, 1.5, 1], "beta": [0.5, 0.8, 0.4, 0.7],
        "eps": 0.1, "dY": [[0, -0.7, -0.2, 0.3], [0.2, 0.1, 0.8, 0.5]]},
    # row 1 has mean 0 and sigma = 2, so x-hat[0][1] = 0.5, which gamma 2 and beta -0.5 leave as it is
    "the gain and shift left out of Y (Y = x-hat)": {
        "mode": "layer", "X": [[-3, 1, 1, 1], [3, 5, 6, 1]], "gamma": [1.5, 2, 1, 0.5], "beta": [0.3, -0.5, 0.2, -0.4],
        "eps": 1, "dY": [[0.3, -0.2, 0.4, 0.3], [0.5, 0.1, 0.2, 0.1]]},
    "dL/dX with the mean and variance held constant (gamma dY / sigma)": {
        "mode": "layer", "X": [[1, -5, -2], [-2, -1, 0]], "gamma": [2, 2, 1.5], "beta": [0.5, 0.2, 0.8], "eps": 0,
        "dY": [[0.8, 0.4, -0.8], [-0.2, 1, -1]]},
    # g . (x - mu) = 0 in both examples: the variance path adds nothing anywhere
    "dL/dX without the path through the variance": {
        "mode": "layer", "X": [[1, 0, 4, -1], [0, 1, 6, 5]], "gamma": [0.5, 1.5, 2, 1.5], "beta": [0.3, -0.7, -0.3, 0.7],
        "eps": 0, "dY": [[0.3, 0.8, -0.1, -0.6], [1, -0.7, -0.4, 0.6]]},
    # gamma dY adds up to 0 in both features: the mean path adds nothing
    "dL/dX without the path through the mean": {
        "mode": "batch", "X": [[4, 1], [-1, 2], [3, -2], [2, -1]], "gamma": [2, 1], "beta": [-0.9, 0.8], "eps": 0,
        "dY": [[-0.3, -0.9], [-0.7, 0.7], [0, 0.5], [1, -0.3]]},
    # gamma = 1: dL/dx-hat is dY
    "gamma left out of dL/dX (dL/dx-hat taken as dY)": {
        "mode": "batch", "X": [[-3, -5], [-4, -1], [2, 0], [1, -2]], "gamma": [1, 1], "beta": [0.9, -0.9], "eps": 0.1,
        "dY": [[0.9, -1], [-1, -1], [0.2, 0.4], [1, 0.3]]},
    "dL/dgamma = sum of dY (x-hat left out)": {
        "mode": "layer", "X": [[2, -3, 2, -1], [-1, 1, 0, -4]], "gamma": [2, 1.5, 2, 0.5], "beta": [1, -1, -0.3, -0.9],
        "eps": 0.1, "dY": [[0.4, -0.4, 0.7, 0.3], [-0.5, -0.6, -0.1, -1]]},
    "dL/dgamma from X instead of x-hat": {
        "mode": "layer", "X": [[-5, 1, -2, -2], [-2, -1, 4, 3]], "gamma": [1.5, 0.5, 0.5, 1.5], "beta": [-0.1, -0.6, 0.3, 0.4],
        "eps": 0.1, "dY": [[-1, 0.5, -0.3, 0.4], [-0.6, -0.9, -0.2, -0.5]]},
    # the first row of dY adds up to 0.3, like the first column
    "dL/dgamma and dL/dbeta summed over the features of each example": {
        "mode": "layer", "X": [[2, 3, 1], [0, 3, -3], [-1, 3, 4]], "gamma": [2, 2, 1], "beta": [-0.4, -0.7, -0.5], "eps": 0,
        "dY": [[0.2, 0.3, -0.2], [-0.6, -0.5, 0], [0.7, 0.3, -0.3]]},
}


def test_every_mistake_has_a_refused_draw():
    assert set(SCORED) == set(get_family(NORM).mistakes)


@pytest.mark.parametrize("mistake", sorted(SCORED))
def test_a_draw_a_mistake_scores_on_is_refused_naming_it(mistake):
    with pytest.raises(InputError, match=f"degenerate.*the mistake '{re.escape(mistake)}'"):
        draw(NORM, 0, SCORED[mistake])


def _scores(precision, right, wrong) -> bool:
    """The key's rule written out here: within half a unit of the 4th decimal, or exactly equal."""
    if precision.mode == "exact":
        return abs(right - wrong) <= 1e-12 * max(1.0, abs(right))
    return abs(right - wrong) <= 0.5e-4 * (1 + 1e-9)


def test_no_listed_mistake_scores_on_any_drawn_number():
    fam = get_family(NORM)
    for seed in range(300):
        variant = draw(NORM, seed)
        params, answers = thaw(variant.params), thaw(variant.answers)
        for mistake, wrong_of in fam.mistakes.items():
            for name, wrong in wrong_of(params).items():
                if wrong is None:
                    continue
                right = answers[name]
                flat_wrong, flat_right = np.array(wrong, dtype=object).ravel(), np.array(right, dtype=float).ravel()
                for w, r in zip(flat_wrong, flat_right):
                    if w is not None:
                        assert not _scores(fam.answers[name].grading, r, w), (seed, mistake, name, w, r)


def test_the_mistakes_are_real_slips():
    """On the hand example each mistake gives another answer (and the ones that apply by mode or shape apply)."""
    fam = get_family(NORM)
    params = fam.validate(copy.deepcopy(BATCH))
    right = fam.solve(params)
    changed = {m: f(params) for m, f in fam.mistakes.items()}
    assert changed["eps left out"] == {} and changed["eps added outside the square root"] == {}  # eps = 0 here
    assert changed["the statistics over the other axis (batch and layer normalization confused)"] == {}  # 3 x 2
    assert changed["the variance divided by n - 1 (the unbiased estimate)"]["var"] == pytest.approx([4, 7])
    assert changed["dL/dgamma = sum of dY (x-hat left out)"]["dgamma"] == right["dbeta"]
    held = changed["dL/dX with the mean and variance held constant (gamma dY / sigma)"]["dX"]
    assert held[0][0] == pytest.approx(2 / math.sqrt(8 / 3))
    assert scoring_mistake(fam, params, right) is None


# --- the page and the LMS fields -----------------------------------------------------------------------


def test_hints_give_no_value():
    fam = get_family(NORM)
    variant = draw(NORM, 0, LAYER)
    answers = thaw(variant.answers)
    for name in fam.answers:
        hint = form_hint(fam.answers[name], answers[name])
        assert "=" not in hint and not re.search(r"\d\.\d", hint), hint
