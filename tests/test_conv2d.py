"""conv2d-forward: worked examples computed by hand, properties over many seeds, one test per listed mistake
and per refusal, the card (precisions, labels, structure, minutes) and the pins a user can give."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import command_arguments
from qbank import InputError, draw, get_family
from qbank.engine import part_specs
from qbank.grading import scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.precision import exact
from qbank.render import render_fragments

FAMILY = "conv2d-forward"
SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=80, deadline=None)

# Two input channels of 3 x 3, one filter of two 2 x 2 kernels, bias 1, stride 1, no padding. By hand:
# Z_11 = X_1 * W_11: (1,1) [1 2; 0 1] -> 1*1 + 0*2 + (-1)*0 + 2*1 = 3; (1,2) [2 0; 1 3] -> 2 + 0 - 1 + 6 = 7;
#                    (2,1) [0 1; 2 1] -> 0 + 0 - 2 + 2 = 0;        (2,2) [1 3; 1 1] -> 1 + 0 - 1 + 2 = 2
# Z_12 = X_2 * W_12: (1,1) [0 1; 2 0] -> 0 + 1 + 2 - 0 = 3;        (1,2) [1 1; 0 1] -> 0 + 1 + 0 - 1 = 0;
#                    (2,1) [2 0; 1 3] -> 0 + 0 + 1 - 3 = -2;       (2,2) [0 1; 3 0] -> 0 + 1 + 3 - 0 = 4
# Y = Z_11 + Z_12 + 1 = [7 8; -1 7]; parameters 1 * (2 * 2 * 2 + 1) = 9.
TWO_CHANNELS = {
    "input": [[[1, 2, 0], [0, 1, 3], [2, 1, 1]], [[0, 1, 1], [2, 0, 1], [1, 3, 0]]],
    "filters": [[[[1, 0], [-1, 2]], [[0, 1], [1, -1]]]],
    "bias": [1],
    "stride": 1,
    "padding": 0,
}
# One channel of 4 x 5, two filters of 2 x 2, stride 2: (4 - 2)//2 + 1 = 2 rows, (5 - 2)//2 + 1 = 2 columns (the
# last column in no window). Windows [1 0; 0 1], [2 1; 1 0], [2 1; 1 3], [0 1; 1 2].
# Y_1 (all-ones kernel, bias -1): sums 2, 4, 7, 4 -> [1 3; 6 3].
# Y_2 ([1 -1; 0 2], bias 2): 1 - 0 + 0 + 2 = 3 -> 5; 2 - 1 + 0 + 0 = 1 -> 3; 2 - 1 + 0 + 6 = 7 -> 9; 0 - 1 + 0 + 4 = 3 -> 5.
# Parameters 2 * (1 * 4 + 1) = 10.
STRIDED = {
    "input": [[[1, 0, 2, 1, 3], [0, 1, 1, 0, 2], [2, 1, 0, 1, 1], [1, 3, 1, 2, 0]]],
    "filters": [[[[1, 1], [1, 1]]], [[[1, -1], [0, 2]]]],
    "bias": [-1, 2],
    "stride": 2,
    "padding": 0,
}
# Two channels of 2 x 2 with "same" padding 1 and one 3 x 3 kernel each (worked in test_same_padding_by_hand).
SAME = {
    "input": [[[1, 2], [3, 4]], [[1, 0], [0, 1]]],
    "filters": [[[[1, 0, 0], [0, 1, 0], [0, 0, 2]], [[-1, -1, -1], [-1, 2, -1], [-1, -1, -1]]]],
    "bias": [1],
    "stride": 1,
    "padding": 1,
}


def drawn(seeds=range(300)):
    return [draw(FAMILY, seed) for seed in seeds]


def test_two_input_channels_by_hand():
    v = draw(FAMILY, 0, TWO_CHANNELS)
    assert thaw(v.answers) == {"shape": [1, 2, 2], "output": [[[7, 8], [-1, 7]]], "param_count": 9}


def test_stride_two_with_two_filters_by_hand():
    v = draw(FAMILY, 0, STRIDED)
    assert thaw(v.answers) == {"shape": [2, 2, 2], "output": [[[1, 3], [6, 3]], [[5, 3], [9, 5]]], "param_count": 10}


def test_same_padding_by_hand():
    # On the padded 4 x 4 channels, output (i, j) (from 0) lays kernel tap (a, b) on padded entry (i + a, j + b);
    # the input sits at padded rows and columns 1 and 2, so only four taps of each window meet it.
    # Channel 1, X = [1 2; 3 4], W = diag(1, 1, 2):
    #   (0,0): 1 under tap (1,1) -> 1, 4 under tap (2,2) -> 2*4: 9;   (0,1): 2 under (1,1) -> 2: 2;
    #   (1,0): 3 under (1,1) -> 3: 3;                                 (1,1): 1 under (0,0) -> 1, 4 under (1,1) -> 4: 5.
    # Channel 2, X = [1 0; 0 1], W = -1 everywhere but 2 at the centre:
    #   (0,0): 1 under (1,1) -> 2, 1 under (2,2) -> -1: 1;  (0,1): under (1,0) and (2,1): -2;
    #   (1,0): under (0,1) and (1,2): -2;                   (1,1): under (0,0) -> -1, under (1,1) -> 2: 1.
    # Y = [9 2; 3 5] + [1 -2; -2 1] + 1 = [11 1; 2 7]; parameters 1 * (2 * 9 + 1) = 19.
    v = draw(FAMILY, 0, SAME)
    assert thaw(v.answers) == {"shape": [1, 2, 2], "output": [[[11, 1], [2, 7]]], "param_count": 19}


def test_the_solution_leaves_the_padding_out_of_the_products():
    _, solution = render_fragments(draw(FAMILY, 0, SAME))
    assert r"\tilde X_{1}" in solution and "left out below" in solution
    # four products per window and channel: the five taps on the zeros are not written
    line = re.search(r"\(Z_\{1,1\}\)_\{1,1\} &= (.*?) = 9", solution).group(1)
    assert line.count(r"\cdot") == 4


@given(SEEDS)
@PROPERTY
def test_properties_over_seeds(seed):
    v = draw(FAMILY, seed)
    p, a = thaw(v.params), thaw(v.answers)
    c_in, h, w = len(p["input"]), len(p["input"][0]), len(p["input"][0][0])
    c_out, k, s, pad = len(p["filters"]), len(p["filters"][0][0]), p["stride"], p["padding"]
    assert a["shape"] == [c_out, (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1]
    assert np.array(a["output"]).shape == tuple(a["shape"])
    assert a["param_count"] == c_out * c_in * k * k + c_out
    assert c_in != c_out and max(c_in, c_out) == 2  # one of them 2: a channel sum or two output channels
    # linearity: doubling the input doubles the output less the bias
    doubled = thaw(draw(FAMILY, seed, {**p, "input": [[[2 * x for x in row] for row in ch] for ch in p["input"]]}).answers)
    bias = np.array(p["bias"])[:, None, None]
    assert (np.array(doubled["output"]) - bias == 2 * (np.array(a["output"]) - bias)).all()
    # each output channel is its filter's: dropping the other filters leaves it as it is
    first = {**p, "filters": p["filters"][:1], "bias": p["bias"][:1]}
    if c_out > 1:
        try:
            alone = thaw(draw(FAMILY, seed, first).answers)
        except InputError:  # a lone filter may make a degenerate problem (a slip it cannot tell)
            return
        assert alone["output"][0] == a["output"][0]


def test_a_shifted_input_shifts_the_output():
    """Translation equivariance: with stride 1 and no padding, the input shifted by one column gives the output
    shifted by one column (the window sums of the columns both see)."""
    p = TWO_CHANNELS
    wider = {**p, "input": [[[0] + row for row in ch] for ch in p["input"]]}
    y, shifted = draw(FAMILY, 0, p).answers["output"], draw(FAMILY, 0, wider).answers["output"]
    assert [[row[1:] for row in ch] for ch in thaw(shifted)] == thaw(y)


# ---------------------------------------------------------------- the card


def test_precisions_labels_and_hints():
    fam = get_family(FAMILY)
    assert {name: answer.precision for name, answer in fam.answers.items()} == {
        "shape": exact(whole=True), "output": exact(whole=True), "param_count": exact(whole=True)}
    assert fam.answers["output"].size_asked and not fam.answers["shape"].size_asked
    v = draw(FAMILY, 3)
    answers = thaw(v.answers)
    words = lambda level, i: fam.position_word(v.params, "shape", level, i)  # noqa: E731
    assert leaf_label("a", "shape", fam.answers["shape"], ("0",), answers["shape"], words) == "(a) output shape, channels"
    assert leaf_label("a", "shape", fam.answers["shape"], ("2",), answers["shape"], words) == "(a) output shape, columns"
    assert leaf_label("b", "output", fam.answers["output"], ("1", "0", "1"), answers["output"]) == \
        "(b) output Y, channel 2, row 1, column 2"
    for variant in drawn(range(40)):
        hint = form_hint(fam.answers["output"], thaw(variant.answers)["output"])
        assert not re.search(r"\d", hint), hint  # the output's hint never tells its size (part (a))


def test_whole_numbers_need_no_precision_sentence_and_answers_are_boxed():
    fam = get_family(FAMILY)
    for v in drawn(range(30)):
        problem, solution = render_fragments(v)
        assert "qbankprecision" not in problem
        boxes = "\n".join(command_arguments(solution, "qbankanswer"))
        for part in part_specs(fam, v.params):
            for name in part.answers:
                values = np.array(thaw(v.answers)[name]).ravel()
                assert all(str(int(x)) in boxes for x in values), (v.seed, name)
        assert problem.count(r"\part") == 3 and "qbankanswer" not in problem


def test_structure_minutes_and_parts():
    fam = get_family(FAMILY)
    seen = {}
    for v in drawn():
        structure = fam.structure_of(v.params)
        key = repr(structure)
        minutes = fam.minutes(v.params)
        weights = [p.weight for p in fam.parts(v.params)]
        assert seen.setdefault(key, (minutes, weights)) == (minutes, weights), structure  # the structure decides
        assert 4 <= minutes <= 12
    assert len(seen) == len(get_family(FAMILY).SHAPES)
    # more products, more minutes: 72 products of 3 x 3 kernels against 32 of 2 x 2
    small = draw(FAMILY, 0, TWO_CHANNELS)
    big = next(v for v in drawn() if len(v.params["filters"][0][0]) == 3 and v.params["padding"] == 0)
    assert fam.minutes(big.params) > fam.minutes(small.params)


def test_sampled_draws_are_rarely_refused():
    from qbank.engine import rng_for

    fam = get_family(FAMILY)
    refused = sum(fam.degenerate(fam.validate(fam.sample(rng_for(FAMILY, seed)))) is not None for seed in range(1000))
    assert refused < 20, refused  # about 0.5 %: an all-zero kernel, a kernel a half turn leaves as it is


# ---------------------------------------------------------------- mistakes: none scores on any draw, each is real


def test_no_listed_mistake_reproduces_an_answer_over_many_draws():
    fam = get_family(FAMILY)
    for v in drawn(range(600)):
        params, answers = thaw(v.params), thaw(v.answers)
        for mistake, wrong_of in fam.mistakes.items():
            for name, wrong in wrong_of(params).items():
                assert wrong != answers[name], (v.seed, mistake, name)


@pytest.mark.parametrize("params, mistake", [
    # every kernel symmetric under a half turn: flipping changes nothing
    ({**TWO_CHANNELS, "filters": [[[[1, 2], [2, 1]], [[0, 1], [1, 0]]]]}, "flipping the kernels"),
    # a zero bias: forgetting it, or adding it twice, gives the same output
    ({**TWO_CHANNELS, "bias": [0]}, "forgetting the bias"),
    # 4 x 4 input, k = 2, stride 2: s divides 4 - 2, so rounding up gives the same shape
    ({"input": [[[1, 0, 2, 1], [0, 1, 1, 0], [2, 1, 0, 1], [1, 3, 1, 2]]], "filters": [[[[1, -1], [0, 2]]], [[[2, 1], [0, -1]]]],
      "bias": [1, -1], "stride": 2, "padding": 0}, "rounding"),
    # stride 2 with padding 1 on 4 x 4 and k = 3: padding one side only gives 2 x 2 as well
    ({"input": [[[1, 0, 2, 1], [0, 1, 1, 0], [2, 1, 0, 1], [1, 3, 1, 2]]],
      "filters": [[[[1, -1, 0], [0, 2, 1], [1, 0, -1]]], [[[2, 1, 0], [0, -1, 1], [1, 1, 0]]]],
      "bias": [1, -1], "stride": 2, "padding": 1}, "one side"),
])
def test_a_pinned_draw_a_mistake_reproduces_is_refused_naming_it(params, mistake):
    with pytest.raises(InputError, match=f"degenerate.*{re.escape(mistake)}"):
        draw(FAMILY, 0, params)


@pytest.mark.parametrize("mistake, answer, wrong", [
    ("flipping the kernels (true convolution instead of cross-correlation)", "output", None),
    ("forgetting the bias", "output", [[[6, 7], [-2, 6]]]),
    ("adding the bias once per input channel", "output", [[[8, 9], [0, 8]]]),
    ("forgetting the + 1 in the size", "shape", [1, 1, 1]),
    ("giving the output as many channels as the input", "shape", [2, 2, 2]),
    ("counting weights only (no biases)", "param_count", 8),
    ("counting one bias per kernel instead of per filter", "param_count", 10),
    ("forgetting the input channels in the count (k^2 weights per filter)", "param_count", 5),
])
def test_each_mistake_gives_what_a_student_would_write(mistake, answer, wrong):
    fam = get_family(FAMILY)
    given = fam.mistakes[mistake](TWO_CHANNELS)[answer]
    if wrong is None:  # flipped: X * rot180(W), by hand for entry (1,1): W_11 rotated [2 -1; 0 1] on [1 2; 0 1] = 1,
        # W_12 rotated [-1 1; 1 0] on [0 1; 2 0] = 3, + 1 = 5
        assert given[0][0][0] == 5
    else:
        assert given == wrong
    assert given != fam.solve(TWO_CHANNELS)[answer]


def test_stride_and_padding_slips():
    fam = get_family(FAMILY)
    assert fam.mistakes["rounding (n + 2p - k)/s up instead of down"](STRIDED) == {"shape": [2, 2, 3]}
    assert fam.mistakes["ignoring the stride"](STRIDED)["shape"] == [2, 3, 4]
    assert fam.mistakes["forgetting the padding"](STRIDED) == {}  # no padding to forget
    assert fam.mistakes["counting one filter only"](STRIDED) == {"param_count": 5}
    assert fam.mistakes["forgetting the padding"](SAME)["shape"] == [1, 0, 0]
    assert fam.mistakes["padding one side only (top and left)"](SAME)["shape"] == [1, 1, 1]
    assert scoring_mistake(fam, STRIDED, fam.solve(STRIDED)) is None
    # as many filters as input channels: the channel slip cannot show, so it gives nothing to compare
    square = {**TWO_CHANNELS, "filters": TWO_CHANNELS["filters"] * 2, "bias": [1, 2]}
    assert fam.mistakes["giving the output as many channels as the input"](square) == {}


# ---------------------------------------------------------------- pins and their errors


@pytest.mark.parametrize("change, field", [
    ({"filters": [[[[1, 0], [-1, 2]]]]}, "params.filters"),  # one kernel for two input channels
    ({"filters": [[[[1, 0, 1], [-1, 2, 0]], [[0, 1, 1], [1, -1, 0]]]]}, "params.filters"),  # not square
    ({"bias": [1, 2]}, "params.bias"),  # a bias per filter
    ({"padding": 2}, "params.padding"),  # at most k - 1
    ({"stride": 4}, "params.stride"),
    ({"input": [[[1, 2], [3, 4]], [[1, 0], [0, 1]]]}, "params.input"),  # room for one window only
    ({"input": [[[1, 2, 0], [0, 1, 3]], [[0, 1, 1], [2, 0, 1], [1, 3, 0]]]}, "params.input"),  # channels of two sizes
])
def test_bad_pins_name_their_field(change, field):
    with pytest.raises(InputError, match=re.escape(field)):
        draw(FAMILY, 0, {**TWO_CHANNELS, **change})


def test_a_degenerate_pin_is_refused():
    with pytest.raises(InputError, match="all zeros"):
        draw(FAMILY, 0, {**TWO_CHANNELS, "filters": [[[[1, 0], [-1, 2]], [[0, 0], [0, 0]]]]})
    with pytest.raises(InputError, match="input channel 2 is all zeros"):
        draw(FAMILY, 0, {**TWO_CHANNELS, "input": [TWO_CHANNELS["input"][0], [[0] * 3] * 3]})
    with pytest.raises(InputError, match="every entry of output channel 1"):
        draw(FAMILY, 0, {**TWO_CHANNELS, "input": [[[1] * 3] * 3, [[1] * 3] * 3]})
