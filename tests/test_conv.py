"""Convolution families: the seed's worked examples, hand-checked cases and properties over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment

SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=60, deadline=None)


def test_conv1d_forward_hand_example():
    v = draw("conv1d-forward", 0, {"signal": [1, 2, 3, 4, 5], "filter": [1, 0, -1], "stride": 2, "padding": 1})
    # padded [0, 1, 2, 3, 4, 5, 0]; windows start at 0, 2, 4
    assert v.answers["length"] == 3
    assert list(v.answers["output"]) == [-2, -2, 4]


def test_conv1d_forward_no_flip():
    v = draw("conv1d-forward", 0, {"signal": [1, 0, 0, 0], "filter": [1, 2], "stride": 1, "padding": 0})
    assert list(v.answers["output"]) == [1, 0, 0]  # a flipped filter (true convolution) would give 2


@given(SEEDS)
@PROPERTY
def test_conv1d_forward_properties(seed):
    v = draw("conv1d-forward", seed)
    p, a = v.params, v.answers
    n, k, s, pad = len(p["signal"]), len(p["filter"]), p["stride"], p["padding"]
    assert a["length"] == len(a["output"]) == (n + 2 * pad - k) // s + 1 >= 2
    assert any(p["filter"])
    # linearity: doubling the signal doubles the output
    doubled = draw("conv1d-forward", seed, {**p, "signal": [2 * x for x in p["signal"]]})
    assert list(doubled.answers["output"]) == [2 * y for y in a["output"]]


def test_recover_filter_seed_example():
    """Seed 001 §6(b): signal [1, 4, 0, -2, 3], valid output [-2, 2, 11]; the filter is [2, -1, 3]."""
    fam = get_family("conv1d-recover-filter")
    v = draw(fam, 0, {"signal": [1, 4, 0, -2, 3], "filter": [2, -1, 3]})
    assert list(v.answers["filter"]) == [2, -1, 3]
    ctx = fam.context(thaw(v.params), thaw(v.answers))
    assert ctx["output"] == [-2, 2, 11]
    assert ctx["rows"] == [[1, 4, 0], [4, 0, -2], [0, -2, 3]]
    # the elimination ends in the identity with the filter in the last column
    final = ctx["stages"][-1]["matrix"]
    assert [row[-1] for row in final] == [2, -1, 3]
    assert [row[:-1] for row in final] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    solution = render_fragment(v, "solution")
    assert r"h = [2,\ \allowbreak -1,\ \allowbreak 3]" in solution


@given(SEEDS)
@PROPERTY
def test_recover_filter_finds_the_drawn_filter(seed):
    v = draw("conv1d-recover-filter", seed)
    assert list(v.answers["filter"]) == list(v.params["filter"])
    k, n = len(v.params["filter"]), len(v.params["signal"])
    assert n - k + 1 >= k  # at least as many equations as unknowns


def test_transpose_conv2d_seed_example():
    """Seed 001 §6(c): input [[-1, 2], [3, 1]], filter [[1, -1], [0, 1]], stride 1, no padding."""
    v = draw(
        "transpose-conv2d", 0, {"input": [[-1, 2], [3, 1]], "filter": [[1, -1], [0, 1]], "stride": 1, "padding": 0}
    )
    assert [list(r) for r in v.answers["output"]] == [[-1, 3, -2], [3, -3, 1], [0, 3, 1]]
    assert list(v.answers["shape"]) == [3, 3]


def test_transpose_conv_1d_pattern_from_the_seed():
    """[a, b, c] with filter [x, y, z], stride 2 gives [ax, ay, az+bx, by, bz+cx, cy, cz] (as one row)."""
    a, b, c, x, y, z = 2, 3, 5, 7, 11, 13
    v = draw("transpose-conv2d", 0, {"input": [[a, b, c]], "filter": [[x, y, z]], "stride": 2, "padding": 0})
    assert [list(r) for r in v.answers["output"]] == [[a * x, a * y, a * z + b * x, b * y, b * z + c * x, c * y, c * z]]


@given(SEEDS)
@PROPERTY
def test_transpose_conv_is_the_adjoint_of_convolution(seed):
    """<conv(Y), X> == <Y, tconv(X)> for a random Y: transpose convolution is convolution's adjoint."""
    v = draw("transpose-conv2d", seed)
    x, f = np.array(v.params["input"]), np.array(v.params["filter"])
    s, p = v.params["stride"], v.params["padding"]
    out = np.array(v.answers["output"])
    rng = np.random.default_rng(seed)
    y = rng.integers(-5, 6, size=out.shape)
    ypad = np.pad(y, p)
    conv = np.array(
        [
            [np.sum(f * ypad[i * s : i * s + f.shape[0], j * s : j * s + f.shape[1]]) for j in range(x.shape[1])]
            for i in range(x.shape[0])
        ]
    )
    assert int(np.sum(conv * x)) == int(np.sum(y * out))


@pytest.mark.parametrize("family", ["conv1d-forward", "conv1d-recover-filter", "transpose-conv2d"])
def test_problem_fragment_shows_no_answers(family):
    v = draw(family, 2)
    problem = render_fragment(v, "problem")
    assert "qbankanswer" not in problem and "Solution" not in problem
