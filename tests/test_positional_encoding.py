"""positional-encoding (issue 19): worked examples from tabulated sines and cosines, properties over many
seeds and over hypothesis' positions, the card, each refusal and each listed mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_parts_state_their_precision, assert_tampering_caught, command_arguments
from hypothesis import given, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import scoring_mistake
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "positional-encoding"
FAM = get_family(FAMILY)
EXAMPLE = {"d_model": 4, "base": 100, "p": 1, "q": 3}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(300)]


# ---------------------------------------------------------------- worked examples


def test_small_base_by_hand():
    # d = 4, base 100: w_0 = 1, w_1 = 100^(-2/4) = 0.1. Tabulated values (radians): sin 1 = 0.841471,
    # cos 1 = 0.540302, sin 0.1 = 0.099833, cos 0.1 = 0.995004, sin 3 = 0.141120, cos 3 = -0.989992,
    # sin 0.3 = 0.295520, cos 0.3 = 0.955336, cos 2 = -0.416147, sin 2 = 0.909297, cos 0.2 = 0.980067.
    # dot = cos(2 w_0) + cos(2 w_1) = -0.416147 + 0.980067 = 0.563920; M = rotation by q - p = 2.
    answers = thaw(draw(FAMILY, 0, EXAMPLE).answers)
    assert answers["pe_p"] == pytest.approx([0.841471, 0.540302, 0.099833, 0.995004], abs=1e-6)
    assert answers["pe_q"] == pytest.approx([0.141120, -0.989992, 0.295520, 0.955336], abs=1e-6)
    assert answers["dot"] == pytest.approx(0.563920, abs=1e-6)
    assert answers["rotation"][0] == pytest.approx([-0.416147, 0.909297], abs=1e-6)
    assert answers["rotation"][1] == pytest.approx([-0.909297, -0.416147], abs=1e-6)


def test_the_transformer_base_by_hand():
    # d = 6, base 10000: w = 1, 10000^(-2/6) = 10^(-4/3) = 0.046416, 10000^(-4/6) = 10^(-8/3) = 0.0021544.
    # Computed outside qbank with plain Python:
    #   python3 -c "import math; w=[1,10000**(-2/6),10000**(-4/6)];
    #     print([[round(f(pos*x),6) for x in w for f in (math.sin,math.cos)] for pos in (2,7)],
    #           round(sum(math.cos(5*x) for x in w),6), round(math.cos(5),6), round(math.sin(5),6))"
    # dot = cos 5 + cos(5 w_1) + cos(5 w_2) = 0.283662 + 0.973190 + 0.999942 = 2.256794.
    answers = thaw(draw(FAMILY, 0, {"d_model": 6, "base": 10000, "p": 2, "q": 7}).answers)
    assert answers["pe_p"] == pytest.approx([0.909297, -0.416147, 0.092699, 0.995694, 0.004309, 0.999991], abs=1e-6)
    assert answers["pe_q"] == pytest.approx([0.656987, 0.753902, 0.319225, 0.947679, 0.015080, 0.999886], abs=1e-6)
    assert answers["dot"] == pytest.approx(2.256794, abs=1e-6)
    assert answers["rotation"][0] == pytest.approx([0.283662, -0.958924], abs=1e-6)
    assert answers["rotation"][1] == pytest.approx([0.958924, 0.283662], abs=1e-6)


def test_the_solution_shows_the_steps_and_prints_answers_as_asked():
    variant = draw(FAMILY, 0, EXAMPLE)
    problem, solution = render_fragments(variant, part_points=[1, 1, 1])
    flat = " ".join(problem.split())
    assert "radians" in flat and "numbered from 0" in flat and r"\frac{1}{100^{2i/d}}" in flat
    assert "100^{-2/4} = 0.1" in solution and r"\cos 2" in solution
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    for text in ("0.8415", "-0.9900", "0.5639", "0.9093", "-0.4161"):
        assert text in boxes, text
    assert "0.84147" not in boxes


# ---------------------------------------------------------------- properties


@given(st.sampled_from([4, 6]), st.sampled_from([100, 10000, 50]), st.integers(0, 200), st.integers(1, 60))
def test_properties_of_any_positions(d_model, base, p, offset):
    params = FAM.validate({"d_model": d_model, "base": base, "p": p, "q": p + offset})
    answers = FAM.solve(params)
    FAM.check(params, answers)
    for pe in (answers["pe_p"], answers["pe_q"]):
        assert math.fsum(v * v for v in pe) == pytest.approx(d_model / 2)  # each pair on the unit circle
    assert abs(answers["dot"]) <= d_model / 2 + 1e-12
    shifted = FAM.solve({**params, "p": p + 5, "q": p + offset + 5})  # the dot product and M depend on q - p
    assert shifted["dot"] == pytest.approx(answers["dot"])
    assert np.allclose(shifted["rotation"], answers["rotation"], atol=1e-12)
    m = np.array(answers["rotation"])
    assert m @ np.array(answers["pe_p"][:2]) == pytest.approx(answers["pe_q"][:2])


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        params = thaw(variant.params)
        assert params["d_model"] in (4, 6) and params["base"] in (100, 10000)
        assert 1 <= params["p"] < params["q"] <= params["p"] + 20


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 6
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_gives_a_wrong_answer_on_the_worked_example(mistake):
    """On the worked example each mistake changes what it touches: a whole encoding (graded as a whole,
    mistake_unit), every entry of M it gives, the dot product."""
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    assert FAM.mistakes[mistake](EXAMPLE)
    assert scoring_mistake(only, EXAMPLE, FAM.solve(EXAMPLE)) is None


def test_positions_where_a_mistake_scores_are_refused():
    # p = 710 = 226 pi + 0.00006 (355/113 is pi to 7 digits): a rotation by q is one by q - p to 4 decimals
    only = type("OneMistake", (type(FAM),), {"mistakes": {
        "the rotation by the angle q, not q - p": FAM.mistakes["the rotation by the angle q, not q - p"]}})()
    params = {"d_model": 4, "base": 100, "p": 710, "q": 711}
    assert "gives rotation[0][1]" in scoring_mistake(only, params, FAM.solve(params))
    with pytest.raises(InputError, match="degenerate"):
        draw(FAMILY, 0, params)
    # and position 0 encodes as [0, 1, 0, 1] whatever the slip
    with pytest.raises(InputError, match="degrees, not radians' gives the right pe_p"):
        draw(FAMILY, 0, {"d_model": 4, "base": 100, "p": 0, "q": 3})


def test_tampered_answers_are_rejected():
    params = FAM.validate(EXAMPLE)

    def change(name, index, value):
        def apply(answers):
            if isinstance(index, tuple):
                answers[name][index[0]][index[1]] = value
            elif index is None:
                answers[name] = value
            else:
                answers[name][index] = value
        return apply

    assert_tampering_caught(FAM, params, [
        (change("pe_p", 2, math.sin(0.01)), r"pe_p\[2\]"),
        (change("pe_q", 1, math.cos(3 * math.pi / 180)), r"pe_q\[1\]"),
        (change("dot", None, 0.5639), "dot"),
        (change("rotation", (0, 1), -math.sin(2)), "rotation"),
    ])


def test_bad_pins_name_their_field():
    for pin, message in [
        ({"d_model": 5}, r"params\.d_model: expected one of 4, 6"),
        ({"base": 1}, r"params\.base: expected an integer from 10 to 10000"),
        ({"q": 1}, r"params\.q: expected a position other than p = 1"),
        ({"p": -1}, r"params\.p: expected an integer from 0 to 1000"),
    ]:
        with pytest.raises(InputError, match=message):
            draw(FAMILY, 0, {**EXAMPLE, **pin})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {n: a.grading.describe() for n, a in FAM.answers.items()} == dict.fromkeys(
        ("pe_p", "pe_q", "dot", "rotation"), "4 decimal places")
    assert [p.answers for p in FAM.parts(EXAMPLE)] == [("pe_p", "pe_q"), ("dot",), ("rotation",)]
    assert FAM.structure_of(EXAMPLE) == {"d_model": 4, "base": 100}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_structure: dict[tuple, set] = {}
    for variant in drawn:
        params = thaw(variant.params)
        by_structure.setdefault((params["d_model"], params["base"]), set()).add(
            (FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert all(len(v) == 1 for v in by_structure.values()) and len(by_structure) == 4
    assert FAM.minutes(EXAMPLE) == 1.5 + (0.5 + 2 * 2 * 2 * 0.5) + 1.25 + 3.0  # read; powers, sines and cosines; products; M


def test_each_part_states_its_precision():
    assert_parts_state_their_precision(FAMILY, 30, 3, "decimal places")


def test_samples_are_drawn_at_once():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(500))
    assert refused <= 25
