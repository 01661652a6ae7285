"""Issue 16 for init-variance, resnet-init-variance, relu-net-derivatives and mlp-skip-bce-backprop: every
number asked at an explicit precision, stated in each part and printed so in the solution; labels and hints a
student can read; and draws on which no listed mistake scores. Each defect a reviewer measured (2026-12-07)
has a test here that it no longer occurs over many seeds."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from conftest import command_arguments

from qbank import InputError, draw, get_family
from qbank.grading import number_leaves, part_statement, rounding_trap
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

UNIT, RESNET = "init-variance", "resnet-init-variance"
RELU, MLP = "relu-net-derivatives", "mlp-skip-bce-backprop"
FAMILIES = (UNIT, RESNET, RELU, MLP)
SEEDS = range(400)


def variants(family, seeds=SEEDS):
    return [draw(family, seed) for seed in seeds]


@pytest.fixture(scope="module")
def drawn():
    """400 verified draws of each family (drawn once for the module)."""
    return {family: variants(family) for family in FAMILIES}


def asked(fam, params, answers):
    return [name for part in fam.parts(params) for name in part.answers if answers.get(name) is not None]



def longer_texts(value: float, precision) -> list[str]:
    """The value printed with more digits than its precision states (what a solution must not print)."""
    if precision.mode == "decimals":
        return [f"{value:.{k}f}" for k in range(precision.digits + 1, 9)]
    if precision.mode == "sig":
        from qbank.precision import sig

        return [sig(k).latex(value) for k in range(precision.digits + 1, 9)]
    return []


def shows(text: str, number: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(number)}(?![\d])", text) is not None


# ---------------------------------------------------------------- the cards


@pytest.mark.parametrize("family", FAMILIES)
def test_every_numeric_answer_has_a_precision_a_label_and_no_tolerance(family):
    fam = get_family(family)
    for name, answer in fam.answers.items():
        assert not answer.tol and not answer.rel, f"{family}.{name} still has tol/rel"
        assert answer.label and answer.label != name, f"{family}.{name}: label {answer.label!r}"
        if answer.kind in ("number", "vector", "matrix", "table"):
            assert answer.precision is not None, f"{family}.{name} has no precision"


def test_the_chosen_precisions():
    unit, resnet, relu, mlp = (get_family(f).answers for f in FAMILIES)
    assert unit["sigma"].grading.describe() == "4 decimal places"
    exact_ones = ("variance_bound", "max_output_variance", "second_moment", "he_input_variance")
    assert {unit[n].grading.mode for n in exact_ones} == {"exact"}
    assert resnet["factor"].grading.mode == "exact"  # it was graded within 1e-6 where the cover asked 4 decimals
    sized = ("var_ell", "var_L", "grad_var_ell", "sigma_w_exact", "sigma_w_approx")
    assert {resnet[n].grading.describe() for n in sized} == {"4 significant digits"}
    assert resnet["approx_rel_error"].grading.describe() == "2 significant digits"
    assert {a.grading.mode for a in relu.values()} == {"exact"}
    assert {mlp[n].grading.describe() for n in ("forward", "y_hat", "loss")} == {"4 decimal places"}
    assert {mlp[n].grading.describe() for n in ("dW2", "db2", "dW1", "db1", "dx")} == {"3 significant digits"}


def test_inputs_are_labelled_as_the_problem_writes_them():
    relu, mlp = get_family(RELU), get_family(MLP)
    assert relu.answers["active_side"].label == "side of x* where unit i is active"
    assert mlp.answers["db2"].label == "dJ/db2" and mlp.answers["y_hat"].label == "y-hat"
    value = {"pieces": ["0", "2*x - 3"], "slopes": [0, 2], "jump": 0}
    label = leaf_label("c", "dw2", relu.answers["dw2"], ["slopes", "1"], value)
    assert label == "(c) dy/dw2_i, slopes, piece 2 from the left"
    label = leaf_label("c", "dW1", mlp.answers["dW1"], ["1", "0"], [[1.0, 2.0], [3.0, 4.0]])
    assert label == "(c) dJ/dW1, row 2, column 1"


@pytest.mark.parametrize("family", FAMILIES)
def test_hints_never_state_a_value_or_a_formula(family, drawn):
    """The old hints were the cards' texts: "1/2 (sigmoid), 0 (tanh)", the closed form of sigma_W,
    "x = -b1_i / w1_i". Now they give the form and the precision only."""
    fam = get_family(family)
    leaks = ("1/2 (sigmoid)", "sqrt((target", "sqrt(ln", "-b1_i / w1_i", "1/sqrt", "y_hat - y", "1 + D^2")
    for variant in drawn[family][:60]:
        answers = thaw(variant.answers)
        for name in asked(fam, variant.params, answers):
            value = answers[name]
            for hint in (form_hint(fam.answers[name], value), form_hint(fam.answers[name], value, lms=True)):
                assert not any(leak in hint for leak in leaks), (family, name, hint)
                assert "=" not in hint, (family, name, hint)
                for _, number in number_leaves(value):
                    if number not in (0, 1, 2, 3, 4, -1):
                        assert not shows(hint, f"{number:g}"), (family, name, hint)
                if isinstance(value, str) and value not in fam.answers[name].choices:
                    assert value not in hint, (family, name, hint)


# ---------------------------------------------------------------- stated in the problem, printed in the solution


@pytest.mark.parametrize("family", FAMILIES)
def test_each_part_states_its_precision_and_the_solution_prints_it(family, drawn):
    fam = get_family(family)
    for variant in drawn[family][:80]:
        params, answers = thaw(variant.params), thaw(variant.answers)
        parts = fam.parts(params)
        problem, solution = render_fragments(variant, part_points=[1] * len(parts))
        texts = re.split(r"\\part\[1\]", problem)[1:]
        assert len(texts) == len(parts)
        for text, part in zip(texts, parts):
            statement = part_statement(fam, answers, part.answers)
            if statement:
                assert statement in text, (family, variant.seed, statement)
            assert text.count("\\qbankprecision") == (1 if statement else 0), (family, variant.seed)
            typed = text.replace(statement, "")  # no precision typed by the template
            assert "decimal places" not in typed and "significant" not in typed
        boxes = "\n".join(command_arguments(solution, "qbankanswer"))
        stated = {fam.answers[name].grading.latex(v) for name in asked(fam, params, answers)
                  for _, v in number_leaves(answers[name])}  # a value may be another answer's, at its precision
        for name in asked(fam, params, answers):
            precision = fam.answers[name].grading
            for _, value in number_leaves(answers[name]):
                if value == 0:
                    continue  # an exact zero is printed as 0
                where = (family, variant.seed, name, value)
                assert shows(boxes, precision.latex(value)), where
                for longer in longer_texts(value, precision):
                    if longer not in stated:
                        assert not shows(boxes, longer), (*where, longer)


def test_resnet_solution_prints_no_more_digits_than_asked():
    # the reviewer's examples: 1.020736 and 0.08333 printed where 4 decimals were asked
    variant = draw(RESNET, 0, {"L": 20, "D": 3, "J": 64, "sigma_w": 0.004, "target": 2, "ell": 7})
    _, solution = render_fragments(variant)
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert "1.009216" in boxes  # the factor, exact
    assert "0.007825" in boxes and "0.0078246" not in boxes and "0.00782457" not in boxes
    assert "-0.0087" in boxes and "-0.00865" not in boxes


# ---------------------------------------------------------------- the reviewer's defects, over 400 seeds


def test_init_variance_draws_only_perfect_squares(drawn):
    for variant in drawn[UNIT]:
        d = variant.params["d"]
        assert math.isqrt(d) ** 2 == d, variant.seed
        assert variant.answers["sigma_exact"] == f"1/{math.isqrt(d)}"


def test_init_variance_pinned_non_square_d_is_well_defined():
    # a pinned d that is no square keeps an exact form: sigma = 1/sqrt(50) = sqrt(2)/10
    answers = thaw(draw(UNIT, 0, {"d": 50, "activation": "relu"}).answers)
    assert answers["sigma_exact"] == "sqrt(2)/10" and answers["he_sigma_exact"] == "1/5"


def test_resnet_part_b_never_repeats_part_a(drawn):
    assert all(2 * v.params["ell"] != v.params["L"] for v in drawn[RESNET])
    for variant in drawn[RESNET]:
        assert abs(variant.answers["var_ell"] - variant.answers["grad_var_ell"]) > 1e-3 * variant.answers["var_ell"]
    with pytest.raises(InputError, match=r"ell = L/2"):
        draw(RESNET, 0, {"L": 20, "D": 3, "J": 64, "sigma_w": 0.004, "target": 2, "ell": 10})


def test_resnet_relative_error_is_asked_sensibly_in_every_version(drawn):
    """Part (d)'s value came out 0 at the cover's 4 decimals in one version and not in another: now it is
    asked to 2 significant digits, never rounds to 0, and no version holds a rounding trap."""
    fam = get_family(RESNET)
    precision = fam.answers["approx_rel_error"].grading
    for variant in drawn[RESNET]:
        params, answers = thaw(variant.params), thaw(variant.answers)
        rel = answers["approx_rel_error"]
        assert precision.rounded(rel) != 0 and rounding_trap(fam, params, answers) is None
        assert len(precision.text(rel).lstrip("-0.").split("e")[0].replace(".", "")) == 2


def test_resnet_factor_is_exact_in_every_version(drawn):
    for variant in drawn[RESNET]:
        factor = variant.answers["factor"]
        assert round(factor, 6) == factor  # a short decimal: stated and graded exactly
    with pytest.raises(InputError, match="more than 6 decimals"):
        draw(RESNET, 0, {"L": 20, "D": 3, "J": 64, "sigma_w": 0.00401, "target": 2, "ell": 7})


def test_mlp_never_draws_a_zero_in_x(drawn):
    """27 % of the draws had a zero in x; the quiz mixed x = [0, 0, 1] with [-1.5, 1, 2]."""
    assert all(0 not in v.params["x"] for v in drawn[MLP])
    quiz = [draw(MLP, seed, {"activation": "sigmoid"}, structure={"x": [3]}) for seed in range(100)]
    assert all(0 not in v.params["x"] for v in quiz)
    with pytest.raises(InputError, match="zero entry"):
        draw(MLP, 0, {"x": [0, 2], "W1": [[1, -1], [0.5, 0.5]], "b1": [0.2, 0], "W2": [0.5, -0.5], "b2": 0.5,
                      "y": 1, "activation": "relu"})


def test_mlp_dW1_is_never_mostly_zero(drawn):
    """One draw left 1 nonzero entry of 9 in dJ/dW1."""
    for variant in drawn[MLP]:
        dw1 = variant.answers["dW1"]
        nonzero = sum(v != 0 for row in dw1 for v in row)
        assert 2 * nonzero >= len(dw1) ** 2, (variant.seed, dw1)
        if variant.params["activation"] == "relu":  # and ReLU' is tested: some unit is off
            assert 0 < sum(z > 0 for z in variant.answers["forward"]["z1"]) < len(dw1)


@pytest.mark.parametrize("family", FAMILIES)
def test_no_listed_mistake_scores(family, drawn):
    """Over 400 draws, no mistake on the family's list gives an accepted answer (or leaves one unchanged)."""
    fam = get_family(family)
    assert fam.mistakes
    module = __import__("sys").modules[type(fam).__module__]
    for variant in drawn[family]:
        params, answers = thaw(variant.params), thaw(variant.answers)
        assert module.scoring_mistake(fam, params, answers) is None, (family, variant.seed)


def test_mistakes_are_caught_where_they_would_score():
    """The check bites: pinned params on which a listed mistake passes are refused, naming it."""
    cases = [
        (RESNET, {"L": 100, "D": 3, "J": 64, "sigma_w": 0.001, "target": 1.001, "ell": 40},
         "approximate sigma_W for the exact one"),  # the roots agree to 4 digits
        (RELU, {"W1": [2, 1], "b1": [-2, 0], "W2": [1, 1], "b2": 0, "i": 1, "x_values": [-1, 3]}, "w2_i left out"),
        (RELU, {"W1": [2, 1], "b1": [-3, 0], "W2": [2, 1], "b2": 0, "i": 1, "x_values": [0, 3]}, "active side"),
        (RELU, {"W1": [2, 1], "b1": [-2, 0], "W2": [2, 1], "b2": 0, "i": 1, "x_values": [-1, 3]}, "x left out"),
        (MLP, {"x": [1, 1], "W1": [[1, 0.5], [0.5, -1]], "b1": [0, 0], "W2": [0.5, -1], "b2": 0, "y": 1,
               "activation": "sigmoid"}, "W1 for W1"),  # W1 symmetric: the transpose cannot be seen
        (MLP, {"x": [1, 2], "W1": [[1, 1], [0.5, 0.5]], "b1": [0, 0], "W2": [0.5, -0.5], "b2": 0.5, "y": 1,
               "activation": "relu"}, "ReLU' left out"),  # both units active
    ]
    for family, params, mistake in cases:
        with pytest.raises(InputError, match=re.escape(mistake)):
            draw(family, 0, params)


@pytest.mark.parametrize("family", FAMILIES)
def test_minutes_depend_on_the_structure_only(family, drawn):
    fam = get_family(family)
    by_structure: dict[str, set[float]] = {}
    for variant in drawn[family]:
        key = repr(sorted(fam.structure_of(variant.params).items()))
        by_structure.setdefault(key, set()).add(fam.minutes(variant.params))
    assert all(len(minutes) == 1 for minutes in by_structure.values()), by_structure


def test_sampled_draws_are_rarely_refused():
    """The samplers avoid what the mistakes refuse where they can, so exam slots held to one structure
    still find draws quickly."""
    for family, limit in ((UNIT, 0.01), (RESNET, 0.02), (RELU, 0.01), (MLP, 0.6)):
        fam = get_family(family)
        refused = sum(
            fam.degenerate(fam.validate(fam.sample(np.random.default_rng(seed)))) is not None for seed in range(300)
        )
        assert refused <= limit * 300, (family, refused)
