"""The issue-8 card of the rnn families (scalar-rnn-backprop, lstm-cell-backward, rnn-gradient-flow): parts
that match the templates and cover the answers, structures that fix the shape and effort of every version of
an exam slot, working times, and asks/reveals tags."""

from __future__ import annotations

import re
import time

import pytest

from qbank import draw, get_family
from qbank.family import Part
from qbank.render import render_fragments

FAMILIES = ("scalar-rnn-backprop", "lstm-cell-backward", "rnn-gradient-flow")
TAG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# the extreme shapes each family accepts, pinned
EXTREMES = {
    "scalar-rnn-backprop": [{"w": -1.5, "u": [-3, 1, 2, -1, 3]}, {"w": 2, "u": [1, -1]}],
    "lstm-cell-backward": [
        {
            "Wx": [[0.5, 0.9], [-0.3, -0.4], [-0.7, -0.8], [0.5, 0.2],
                   [-0.7, -0.8], [-0.1, 0.6], [-0.1, -0.9], [0.9, 0.6]],
            "Wh": [[0.2, -0.2], [-0.5, -0.7], [0.5, -0.6], [-0.8, 0.5],
                   [-0.7, 0.9], [-0.6, -0.5], [-0.8, -0.8], [-0.1, 0.8]],
            "b": [0.9, -0.4, 0.6, 0.5, -0.8, 0.1, 0.6, -0.5],
            "x": [0.1, -0.4],
            "h_prev": [0.8, 0.5],
            "c_prev": [1, -1.1],
            "dh": [-0.3, -0.4],
            "dc_next": [0.3, 0.6],
        }
    ],
    "rnn-gradient-flow": [
        {"Wh": [[1.7, -0.4], [0.2, 1.1]], "Wf": [[2, 1]], "T": 28, "residual": 0.4, "explodes": True},
        {"Wh": [[1, -0.6], [0.3, 0.1]], "Wf": [[-2, -2]], "T": 15, "residual": 0.2, "explodes": False},
        {"Wh": [[1, -0.6], [0.3, 0.1]], "Wf": [[1, -1]], "T": 15, "residual": 0.2, "explodes": False},  # beta = 0
    ],
}


def variants(family):
    return [draw(family, seed) for seed in range(8)] + [draw(family, 0, p) for p in EXTREMES[family]]


@pytest.mark.parametrize("family", FAMILIES)
def test_parts_match_the_template_and_cover_the_answers(family):
    fam = get_family(family)
    for variant in variants(family):
        parts = fam.parts(variant.params)
        assert parts and all(isinstance(p, Part) and isinstance(p.weight, int) and p.weight >= 1 for p in parts)
        problem, _ = render_fragments(variant, part_points=[1] * len(parts))  # FamilyError on a mismatch
        assert problem.count(r"\part[1]") == len(parts)
        asked = [name for part in parts for name in part.answers]
        assert len(asked) == len(set(asked))
        assert set(asked) == {name for name, value in variant.answers.items() if value is not None}


def test_structures_name_what_changes_the_work():
    rnn, lstm, flow = (get_family(f) for f in FAMILIES)
    assert rnn.structure_of({"w": 2, "u": [1, 2, 3]}) != rnn.structure_of({"w": 2, "u": [1, 2, 3, 4]})
    assert rnn.minutes({"w": 2, "u": [1, 2, 3]}) < rnn.minutes({"w": 2, "u": [1, 2, 3, 4]})
    small, wide = EXTREMES["lstm-cell-backward"][0], {"h_prev": [0.2], "x": [0.4]}
    assert lstm.structure_of(small) == {"h_prev": [2], "x": [2]}
    assert lstm.structure_of(wide) == {"h_prev": [1], "x": [1]}
    assert lstm.minutes(wide) < lstm.minutes(small)
    ten, twenty = (draw(flow, 0, {**EXTREMES["rnn-gradient-flow"][1], "T": t}).params for t in (10, 20))
    assert flow.structure_of(ten) != flow.structure_of(twenty)
    assert flow.structure_of(ten)["regime"] == "vanishing" and flow.structure_of(ten)["Wh"] == [2, 2]


@pytest.mark.parametrize("family", FAMILIES)
def test_minutes_are_realistic(family):
    fam = get_family(family)
    for variant in variants(family):
        assert 5 <= fam.minutes(variant.params) <= 35


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_tex(family):
    first = render_fragments(draw(family, 123), part_points=None)
    assert render_fragments(draw(family, 123), part_points=None) == first


def test_bank_items_with_pins_and_ranges_draw_fast_within_a_structure():
    # the shipped bank items: rnn-gradient-flow pins `explodes`, scalar-rnn-backprop restricts w by ranges
    start = time.perf_counter()
    flow = get_family("rnn-gradient-flow")
    for explodes, regime in ((False, "vanishing"), (True, "exploding"), (None, "neither")):
        ref = draw(flow, 1, {"explodes": explodes})
        structure = flow.structure_of(ref.params)
        assert structure["regime"] == regime
        for seed in range(5):
            variant = draw(flow, 50 + seed, {"explodes": explodes}, structure=structure)
            assert variant.answers["regime"] == regime and variant.params["T"] == ref.params["T"]
    rnn = get_family("scalar-rnn-backprop")
    ranges = {"w": {"one_of": [-2, -1.5, 1.5, 2]}}
    ref = draw(rnn, 3, constraints=ranges)
    for seed in range(5):
        variant = draw(rnn, 80 + seed, constraints=ranges, structure=rnn.structure_of(ref.params))
        assert len(variant.params["u"]) == len(ref.params["u"]) and abs(variant.params["w"]) > 1
    assert time.perf_counter() - start < 5
