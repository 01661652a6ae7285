"""Convolution families: the seed's worked examples, hand-checked cases and properties over seeds."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment, render_fragments

SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=60, deadline=None)


def test_conv1d_forward_hand_example():
    v = draw("conv1d-forward", 0, {"signal": [1, 2, 4, 3, 5, 0], "filter": [1, 0, -1], "stride": 2, "padding": 2})
    # padded [0, 0, 1, 2, 4, 3, 5, 0, 0, 0]; floor((6 + 4 - 3) / 2) + 1 = 4 windows, starting at 0, 2, 4, 6
    assert v.answers["length"] == 4
    assert list(v.answers["output"]) == [-1, -3, -1, 5]


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


# --- the card: parts, structure, minutes ---------------------------------------------------------------

CONV_FAMILIES = ["conv1d-forward", "conv1d-recover-filter", "transpose-conv2d"]


@pytest.mark.parametrize("family", CONV_FAMILIES)
def test_parts_match_the_template_and_cover_every_answer(family):
    fam = get_family(family)
    for seed in range(8):
        v = draw(fam, seed)
        parts = fam.parts(v.params)
        problem, _ = render_fragments(v, part_points=[1] * len(parts))  # FamilyError on a mismatch
        assert problem.count(r"\part[1]") == len(parts)
        asked = [name for part in parts for name in part.answers]
        assert sorted(asked) == sorted(n for n, value in v.answers.items() if value is not None)
        assert all(isinstance(part.weight, int) and part.weight >= 1 for part in parts)


@pytest.mark.parametrize("family", CONV_FAMILIES)
def test_structure_pins_shape_and_effort_but_not_the_numbers(family):
    """For 20 reference variants, 5 versions drawn to the same structure: same structure, same
    minutes and part weights, other numbers, and all of it fast."""
    fam = get_family(family)
    start = time.perf_counter()
    for ref_seed in range(20):
        ref = draw(fam, ref_seed)
        structure = fam.structure_of(ref.params)
        json.dumps(structure)  # JSON-plain
        numbers = {json.dumps(ref.to_dict()["params"], sort_keys=True)}
        for version in range(1, 6):
            v = draw(fam, 1000 * ref_seed + version, structure=structure)
            assert fam.structure_of(v.params) == structure
            assert fam.minutes(v.params) == fam.minutes(ref.params)
            assert [p.weight for p in fam.parts(v.params)] == [p.weight for p in fam.parts(ref.params)]
            numbers.add(json.dumps(v.to_dict()["params"], sort_keys=True))
        assert len(numbers) >= 5, (ref_seed, structure)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("family", CONV_FAMILIES)
def test_minutes_are_realistic(family):
    fam = get_family(family)
    values = {fam.minutes(draw(fam, seed).params) for seed in range(60)}
    assert 1.5 <= min(values) and max(values) <= 10, sorted(values)


def test_structure_separates_filter_size_and_padding():
    """Issue 8: a 2x2 filter without padding and a 3x3 filter with padding are different structures,
    so that no two versions of a slot get them."""
    fam = get_family("transpose-conv2d")
    small = draw(fam, 0, {"input": [[1, 2], [3, 4]], "filter": [[1, -1], [2, 1]], "stride": 1, "padding": 0})
    big = draw(fam, 0, {"input": [[1, 2], [3, 4]], "filter": [[1, -1, 2], [2, 1, 1], [1, 1, -1]], "stride": 2, "padding": 1})
    assert fam.structure_of(small.params) != fam.structure_of(big.params)
    assert fam.structure_of(small.params) == {"input": [2, 2], "filter": [2, 2], "stride": 1, "padding": 0}


def test_recover_filter_structure_says_whether_fractions_appear():
    fam = get_family("conv1d-recover-filter")
    whole = draw(fam, 0, {"signal": [-3, -1, -1, -1, 1], "filter": [-2, -2, 3]})  # +-1 pivots and a 2
    fractions = draw(fam, 0, {"signal": [1, 2, 4, 3, 2], "filter": [-3, 2, 1]})  # a pivot of -5
    assert fam.structure_of(whole.params) == {"signal": [5], "filter": [3], "fractions": False}
    assert fam.structure_of(fractions.params) == {"signal": [5], "filter": [3], "fractions": True}
    assert fam.minutes(fractions.params) > fam.minutes(whole.params)


@pytest.mark.parametrize("family", CONV_FAMILIES)
def test_same_params_and_seed_render_byte_identical(family):
    a, b = draw(family, 5), draw(family, 5)
    assert render_fragments(a) == render_fragments(b)


def test_cards_name_what_they_ask_and_reveal():
    for family in CONV_FAMILIES:
        fam = get_family(family)
        assert fam.asks and fam.reveals and not set(fam.asks) & set(fam.reveals)
    asked = [tag for family in CONV_FAMILIES for tag in get_family(family).asks]
    assert len(asked) == len(set(asked))  # the three can share an exam
