"""Issue 16 for conv1d-forward, conv1d-recover-filter, transpose-conv2d, beam-search, nalu and ridge-map: every
asked number has one precision, stated by the engine at the end of its part and printed at it in the solution's
answers; the labels read as the problems write them; the reviewer's defects (2026-12-07) cannot come back; and
no listed student mistake reproduces an asked answer on any draw (checked here with its own comparison)."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from conftest import command_arguments

from qbank import InputError, draw, get_family
from qbank.bank import load_bank
from qbank.engine import part_specs
from qbank.grading import number_leaves, part_statement
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.precision import Precision, decimals, exact, sig
from qbank.render import render_fragments

CONV = ("conv1d-forward", "conv1d-recover-filter", "transpose-conv2d")
FAMILIES = (*CONV, "beam-search", "nalu", "ridge-map")
SEEDS = range(400)
# what each asked number is asked to, by family and answer (text and expression answers have none)
WHOLE = exact(whole=True)
PRECISIONS = {
    "conv1d-forward": {"length": WHOLE, "output": WHOLE},
    "conv1d-recover-filter": {"filter": WHOLE},
    "transpose-conv2d": {"shape": WHOLE, "output": WHOLE},
    "beam-search": {"beams": decimals(2), "greedy": decimals(2), "best": decimals(2), "beam_result": decimals(2)},
    "nalu": {"W": decimals(4), "a": exact(), "m": sig(3), "y": "sig(3) + 0.5"},
    # A and det are whole exactly when lambda is: the card cannot say so, nor may the problem tell a version
    "ridge-map": {"XtX": WHOLE, "Xty": WHOLE, "A": exact(), "det": exact(), "inverse": sig(4), "w_hat": sig(4)},
}


def drawn(family, seeds=SEEDS):
    return [draw(family, seed) for seed in seeds]


def scores(precision: Precision, true: float, given: float) -> bool:
    """Would the key accept `given` for `true`: within (0.5 + allowance) units of the stated last place (exact:
    equal), written out from the rule here rather than through Precision.accepts."""
    if precision.mode == "exact":
        return abs(given - true) <= 1e-12 * max(1.0, abs(true))
    if precision.mode == "decimals":
        unit = 10.0 ** -precision.digits
    else:
        unit = 10.0 ** (math.floor(math.log10(abs(true))) - precision.digits + 1) if true else 0.0
    return abs(given - true) <= (0.5 + precision.allowance) * unit * (1 + 1e-9)


def reproduces(precision: Precision, wrong, right) -> bool:
    """A whole answer given right by a mistake: same shape, equal texts, every number scoring."""
    if isinstance(right, dict):
        return isinstance(wrong, dict) and set(wrong) == set(right) and all(
            reproduces(precision, wrong[k], right[k]) for k in right)
    if isinstance(right, (list, tuple)):
        return isinstance(wrong, (list, tuple)) and len(wrong) == len(right) and all(
            reproduces(precision, w, r) for w, r in zip(wrong, right))
    if isinstance(right, str) or isinstance(wrong, str):
        return wrong == right
    return scores(precision, float(right), float(wrong))



# ---------------------------------------------------------------- the cards


@pytest.mark.parametrize("family", FAMILIES)
def test_every_number_has_its_precision_and_a_label(family):
    fam = get_family(family)
    for name, answer in fam.answers.items():
        assert not answer.tol and not answer.rel and not answer.legacy, (family, name)
        assert answer.label, (family, name)
        if name not in PRECISIONS[family]:  # words, booleans and formulas: no number to round
            assert answer.kind in ("text", "expression", "boolean", "table") and answer.precision is None, name
            continue
        want = PRECISIONS[family][name]
        if want == "sig(3) + 0.5":  # nalu's y: 3 significant digits and half a unit more, with its reason
            assert (answer.precision.mode, answer.precision.digits, answer.precision.allowance) == ("sig", 3, 0.5)
            assert "rounded to 3 significant digits" in answer.precision.why
        else:
            assert answer.precision == want, (family, name, answer.precision)




@pytest.mark.parametrize("family", FAMILIES)
def test_each_part_ends_with_its_precision_statement(family):
    """The engine's sentence for the part's answers closes each part of the problem; the template types none."""
    fam = get_family(family)
    for variant in drawn(family, range(40)):
        problem, _ = render_fragments(variant)
        answers = thaw(variant.answers)
        parts = part_specs(fam, variant.params)
        chunks = re.split(r"\\part(?![A-Za-z])", problem)[1:]
        assert len(chunks) == len(parts)
        rest = problem
        for chunk, part in zip(chunks, parts):
            statement = part_statement(fam, answers, part.answers)
            if statement:
                assert statement in chunk, (family, variant.seed, part.answers)
                rest = rest.replace(statement, "")
            assert chunk.count("\\qbankprecision") == (1 if statement else 0)
        for typed in ("decimal place", "four decimals", "significant digit"):
            assert typed not in rest.lower(), (family, variant.seed, typed)


def test_the_statements_read_as_the_precisions_are_chosen():
    problem, _ = render_fragments(draw("nalu", 3))
    assert "\\qbankprecision{Round to 4 decimal places.}" in problem
    assert "\\qbankprecision{Give exact values" in problem  # a = W x
    assert problem.count("\\qbankprecision{Round to 3 significant digits.}") == 2  # m and y
    for lam in (0.5, 1):  # the same words whether lambda, and so A and its determinant, are whole or not
        variant = draw("ridge-map", 0, {"X": [[1, 2], [3, 4], [0, 1]], "y": [1, 0, 2], "lam": lam})
        problem, _ = render_fragments(variant)
        assert "Give $X^\\top X + \\lambda I$ and $\\det(X^\\top X + \\lambda I)$ exactly." in problem
        assert "Give $(X^\\top X + \\lambda I)^{-1}$ to 4 significant digits." in problem
        # w-hat, named: the part also asks it as an exact expression, which the sentence must not seem to round
        assert "\\qbankprecision{Give $\\hat w$ to 4 significant digits.}" in problem
    for family in CONV:  # whole numbers asked exactly: nothing to say
        assert "qbankprecision" not in render_fragments(draw(family, 3))[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_solution_states_each_answer_at_its_precision(family):
    """Every number of every asked answer appears in the solution's answer boxes as its precision prints it;
    nalu's m and y, worked with six significant digits, are boxed with three."""
    fam = get_family(family)
    for variant in drawn(family, range(30)):
        _, solution = render_fragments(variant)
        boxes = "\n".join(command_arguments(solution, "qbankanswer"))
        answers = thaw(variant.answers)
        for part in part_specs(fam, variant.params):
            for name in part.answers:
                precision = fam.answers[name].grading
                for path, v in number_leaves(answers[name]):
                    printed = precision.latex(v)
                    assert printed in boxes, (family, variant.seed, name, path, printed)
                    if family == "nalu" and name in ("m", "y"):
                        assert sig(6).latex(v) not in boxes and sig(6).latex(v) in solution


# ---------------------------------------------------------------- listed mistakes never reproduce an answer


def mistakes_reproducing(family, variant) -> list[str]:
    fam = get_family(family)
    params, answers = thaw(variant.params), thaw(variant.answers)
    found = []
    for name, mistake in fam.mistakes.items():
        for answer, wrong in mistake(params).items():
            if wrong is None:
                continue
            precision = fam.answers[answer].grading
            if family == "nalu" and answer != "W":  # each output row is its own computation
                hits = [i for i, (w, r) in enumerate(zip(wrong, answers[answer])) if scores(precision, r, w)]
                found += [f"{name}: {answer}[{i}]" for i in hits]
            elif reproduces(precision, wrong, answers[answer]):
                found.append(f"{name}: {answer}")
    return found


@pytest.mark.parametrize("family", FAMILIES)
def test_no_listed_mistake_reproduces_an_asked_answer(family):
    fam = get_family(family)
    assert fam.mistakes, family
    for variant in drawn(family):
        assert not mistakes_reproducing(family, variant), (family, variant.seed)


@pytest.mark.parametrize(
    "family, params, mistake",
    [
        # s = 2 divides n + 2p - k = 4: rounding up gives the right length (3)
        ("conv1d-forward", {"signal": [1, 2, 3, 4, 5], "filter": [1, 0, -1], "stride": 2, "padding": 1}, "rounding"),
        # a palindromic filter: flipped and unflipped are the same
        ("conv1d-forward", {"signal": [1, 3, -2, 0, 4], "filter": [1, -2, 1], "stride": 1, "padding": 0}, "flipping"),
        # one zero on each side and stride 2, n - k odd: padding one side gives the same windows
        ("conv1d-forward", {"signal": [1, 3, -2, 0, 4, 2], "filter": [2, -1, 1], "stride": 2, "padding": 1}, "one side"),
        ("conv1d-recover-filter", {"signal": [1, 4, 0, -2, 3], "filter": [2, -1, 2]}, "flipping"),
        # stride 1 and a filter of 2p + 1 taps: the forward size formula gives the size too
        ("transpose-conv2d", {"input": [[1, 2], [3, -1]], "filter": [[1, -1, 2], [2, 1, 1], [1, 1, -1]],
                              "stride": 1, "padding": 1}, "forward convolution's size"),
        # a symmetric filter: transposed, it is the same
        ("transpose-conv2d", {"input": [[1, 2], [3, -1]], "filter": [[1, 2], [2, -1]], "stride": 1, "padding": 0},
         "transposing"),
        # equal diagonal entries of X^T X: the inverse without the swap is the same
        ("ridge-map", {"X": [[1, 0], [0, 1], [1, 1]], "y": [1, 2, 3], "lam": 1}, "swapping the diagonal"),
        # g = 0.5: the gate on either path gives the same y
        ("nalu", {"W_hat": [[5, -5]], "M_hat": [[5, 5]], "x": [6, 2], "gate": 0.5, "eps": 0}, "gate on the wrong path"),
    ],
)
def test_a_pinned_draw_a_mistake_reproduces_is_refused_naming_it(family, params, mistake):
    with pytest.raises(InputError, match=f"degenerate.*{re.escape(mistake)}"):
        draw(family, 0, params)


def test_rounding_up_gives_the_right_length_when_the_stride_divides_the_span():
    """The slip is real: on the draw that used to be this family's hand example it gives the right length."""
    fam = get_family("conv1d-forward")
    rounded_up = {"signal": [3, -2, 1, -3, -2], "filter": [-1, 1, -2], "stride": 2, "padding": 0}
    assert fam.mistakes["rounding (n + 2p - k)/s up instead of down"](rounded_up)["length"] == fam.solve(rounded_up)["length"]


# ---------------------------------------------------------------- the conv families


def test_strided_conv_draws_leave_entries_the_filter_skips():
    """With s > 1, s never divides n + 2p - k (else rounding up would give the length), and stride 2 comes with
    no padding or two zeros on each side (one lets padding one side only give the right length)."""
    paddings = set()
    for variant in drawn("conv1d-forward"):
        p = variant.params
        n, k, s, pad = len(p["signal"]), len(p["filter"]), p["stride"], p["padding"]
        if s > 1:
            assert (n + 2 * pad - k) % s != 0, p
            assert pad in (0, 2), p
            paddings.add(pad)
    assert paddings == {0, 2}


def test_no_palindromic_filters_and_no_transpose_shape_the_forward_formula_gives():
    for variant in drawn("conv1d-recover-filter"):
        assert list(variant.params["filter"]) != list(variant.params["filter"])[::-1], variant.seed
    shapes = set()
    for variant in drawn("transpose-conv2d"):
        p = variant.params
        f = np.array(p["filter"])
        assert not np.array_equal(f, f.T) and not np.array_equal(f, f[::-1, ::-1]), variant.seed
        n, k, s, pad = len(p["input"]), len(p["filter"]), p["stride"], p["padding"]
        shapes.add((n, k, s, pad))
        assert list(variant.answers["shape"])[0] != (n - k + 2 * pad) // s + 1, variant.seed
    assert (2, 3, 1, 1) not in shapes and len(shapes) == 5


def test_the_hint_for_an_output_never_gives_its_size():
    """conv1d-forward asks the length in (a) and transpose-conv2d the shape: the output's hint names no count."""
    for family in ("conv1d-forward", "transpose-conv2d"):
        fam = get_family(family)
        for variant in drawn(family, range(30)):
            hint = form_hint(fam.answers["output"], thaw(variant.answers)["output"])
            assert not re.search(r"\d", hint), hint


# ---------------------------------------------------------------- beam-search


def test_beam_inputs_are_labelled_by_step_and_rank():
    fam = get_family("beam-search")
    beams = thaw(draw("beam-search", 1).answers)["beams"]
    assert leaf_label("a", "beams", fam.answers["beams"], ("0", "1", "logp"), beams) == "(a) beams, after step 1, rank 2, logp"
    assert leaf_label("a", "beams", fam.answers["beams"], ("1", "0", "sequence"), beams) == "(a) beams, after step 2, rank 1, sequence"
    assert "entry" not in leaf_label("a", "beams", fam.answers["beams"], ("1", "1", "logp"), beams)


def test_beam_totals_are_the_sums_of_the_given_log_probabilities_to_the_digit():
    """Asked to 2 decimal places, which is what they are: the sum of two-decimal numbers, nothing rounded."""
    for variant in drawn("beam-search", range(200)):
        params, answers = thaw(variant.params), thaw(variant.answers)
        vocab, logp = params["vocab"], params["logp"]
        hyps = [h for beam in answers["beams"] for h in beam] + [answers[k] for k in ("greedy", "best", "beam_result")]
        for hyp in hyps:
            words = hyp["sequence"].split()
            total = sum(Fraction(str(logp[" ".join(words[:i])][vocab.index(words[i])])) for i in range(len(words)))
            assert Fraction(repr(hyp["logp"])) == total, (variant.seed, hyp)  # exact: the float is the decimal


def test_the_three_token_bank_item_pins_three_tokens():
    item = load_bank().items["beam-search-three-token-vocabulary"]
    assert dict(item.structure) == {"vocab": [3]}
    for seed in range(60):
        variant = draw("beam-search", seed, dict(item.params), constraints=dict(item.ranges), structure=dict(item.structure))
        assert len(variant.params["vocab"]) == 3 and variant.params["depth"] == 2, seed


def test_the_course_tree_is_still_accepted():
    """Seed 001 §2's tree (2 tokens, 3 steps, k = 2) separates the listed slips: it is drawn as pinned."""
    from test_beam_search import WORKED

    draw("beam-search", 0, WORKED)


# ---------------------------------------------------------------- nalu: the precision chain


def test_nalu_rounding_on_the_way_never_changes_an_asked_digit():
    """W from factors carried to six digits rounds as the unrounded product does; m from logarithms written to 4
    decimals, and y from m as given in (c), are accepted at their precisions."""
    for variant in drawn("nalu"):
        params, answers = thaw(variant.params), thaw(variant.answers)
        w_hat, m_hat = np.array(params["W_hat"], float), np.array(params["M_hat"], float)
        tanh, sigma = np.tanh(w_hat), 1 / (1 + np.exp(-m_hat))
        carried = np.round(np.round(tanh, 6) * np.round(sigma, 6), 4)
        assert carried.tolist() == answers["W"], variant.seed
        W, x, g = np.array(answers["W"]), np.array(params["x"], float), np.array(params["gate"], float)
        logs = np.round(np.log(np.abs(x) + params["eps"]), 4)
        m4 = np.exp(W @ logs)
        for i, (m, y) in enumerate(zip(answers["m"], answers["y"])):
            assert scores(sig(3), m, float(sig(3).text(m4[i]))), (variant.seed, i)
            from_given = g[i] * answers["a"][i] + (1 - g[i]) * float(sig(3).text(m))
            assert scores(sig(3, 0.5, "y from rounded m"), y, float(sig(3).text(from_given))), (variant.seed, i)
            assert scores(sig(3, 0.5, "y from rounded m"), y, float(sig(3).text(y)))


def test_nalu_a_is_exact_with_the_rounded_w():
    for variant in drawn("nalu", range(100)):
        params, answers = thaw(variant.params), thaw(variant.answers)
        for row, a in zip(answers["W"], answers["a"]):
            assert Fraction(repr(a)) == sum(Fraction(repr(w)) * Fraction(repr(v)) for w, v in zip(row, params["x"]))


def test_nalu_gate_half_is_not_drawn():
    assert all(0.5 not in variant.params["gate"] for variant in drawn("nalu"))


def test_nalu_pinned_w_on_a_rounding_boundary_is_refused():
    # tanh(0.13) sigmoid(-6.25) = 0.00024910...: half a unit of the 4th decimal, to within 1 %
    with pytest.raises(InputError, match="rounding boundary at 4 decimals"):
        draw("nalu", 0, {"W_hat": [[4.25, -3.75, 0.13]], "M_hat": [[4.75, 5.5, -6.25]], "x": [2.25, 3.5, -1.75],
                         "gate": 0.1234, "eps": 1e-7})


def test_nalu_solution_works_with_more_digits_and_boxes_the_asked_ones():
    variant = draw("nalu", 3)
    _, solution = render_fragments(variant)
    assert "shown to six decimals" in solution and "four decimals" in solution
    assert "may differ in the last digit" not in solution  # the old caveat: every printed step now reproduces


# ---------------------------------------------------------------- ridge-map


def test_ridge_decimals_agree_with_the_exact_fractions_at_their_precision():
    fam = get_family("ridge-map")
    for variant in drawn("ridge-map", range(100)):
        answers = thaw(variant.answers)
        for exact_row, row in zip(answers["inverse_exact"], answers["inverse"]):
            for text, v in zip(exact_row, row):
                assert float(Fraction(text)) == v
                assert fam.answers["inverse"].grading.text(v) == sig(4).text(float(Fraction(text)))
        assert [float(Fraction(t)) for t in answers["w_hat_exact"]] == answers["w_hat"]
        assert all(isinstance(v, int) for row in answers["XtX"] for v in row) and all(isinstance(v, int) for v in answers["Xty"])


def test_ridge_equal_column_lengths_are_not_drawn():
    for variant in drawn("ridge-map"):
        xtx = variant.answers["XtX"]
        assert xtx[0][0] != xtx[1][1], variant.seed


def test_ridge_problem_types_no_precision_of_its_own():
    problem, _ = render_fragments(draw("ridge-map", 3))
    assert "four decimal places" not in problem and "to four" not in problem
    assert "both as exact fractions and as decimals" in problem
