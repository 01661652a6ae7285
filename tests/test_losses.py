"""softmax-cross-entropy (issue 18): worked examples computed by hand, properties over many seeds and over
hypothesis' logits, the card (precisions, labels, minutes by structure), each refusal and each listed mistake."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import command_arguments
from hypothesis import given, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import part_statement, scoring_mistake
from qbank.labels import form_hint, leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "softmax-cross-entropy"
FAM = get_family(FAMILY)


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(400)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)


# ---------------------------------------------------------------- worked examples, by hand


def test_the_textbook_example_by_hand():
    # z = (2, 1, 0.1), true class 1 (label 0). Shifted by the largest logit, 2: z - 2 = (0, -1, -1.9);
    # e^0 = 1, e^-1 = 0.367879, e^-1.9 = 0.149569; sum 1.517448;
    # p = (0.659001, 0.242433, 0.098566); L = -ln 0.659001 = 0.417030 (= ln 1.517448 - 0);
    # dL/dz = p - e_1 = (-0.340999, 0.242433, 0.098566).
    answers = answers_of({"logits": [2, 1, 0.1], "label": 0})
    assert answers["probs"] == pytest.approx([0.659001, 0.242433, 0.098566], abs=1e-6)
    assert answers["loss"] == pytest.approx(0.417030, abs=1e-6)
    assert answers["grad"] == pytest.approx([-0.340999, 0.242433, 0.098566], abs=1e-6)


def test_a_wrong_prediction_by_hand():
    # z = (-1, 0.5, 2.5, 0.5), true class 2 (label 1). z - 2.5 = (-3.5, -2, 0, -2); exponentials
    # 0.030197, 0.135335, 1, 0.135335; sum 1.300868; p = (0.023213, 0.104035, 0.768718, 0.104035);
    # L = ln 1.300868 - (-2) = 0.263032 + 2 = 2.263032; grad = (0.023213, -0.895965, 0.768718, 0.104035).
    answers = answers_of({"logits": [-1, 0.5, 2.5, 0.5], "label": 1})
    assert answers["probs"] == pytest.approx([0.023213, 0.104035, 0.768718, 0.104035], abs=1e-6)
    assert answers["loss"] == pytest.approx(2.263032, abs=1e-6)
    assert answers["grad"] == pytest.approx([0.023213, -0.895965, 0.768718, 0.104035], abs=1e-6)


def test_the_solution_shows_the_shift_and_prints_answers_as_asked():
    variant = draw(FAMILY, 0, {"logits": [2, 1, 0.1], "label": 0})
    problem, solution = render_fragments(variant, part_points=[1, 1, 1])
    assert "c = 1" in problem and r"\ln p_c" in problem
    assert "m = 2" in solution and "[0,\\ \\allowbreak -1,\\ \\allowbreak -1.9]" in solution  # z - m
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert "0.6590" in boxes and "0.4170" in boxes and "-0.3410" in boxes
    assert "0.65900" not in boxes and "0.41703" not in boxes


# ---------------------------------------------------------------- properties


@given(st.lists(st.integers(-30, 30), min_size=2, max_size=6).map(lambda v: [x / 10 for x in v]),
       st.integers(0, 5))
def test_properties_of_any_pinned_logits(logits, label):
    label %= len(logits)
    params = FAM.validate({"logits": logits, "label": label})
    answers = FAM.solve(params)
    FAM.check(params, answers)  # log-sum-exp and finite differences agree with solve
    p, grad = answers["probs"], answers["grad"]
    assert math.fsum(p) == pytest.approx(1, abs=1e-12) and all(0 < v < 1 for v in p)
    assert math.fsum(grad) == pytest.approx(0, abs=1e-12)
    assert grad[label] < 0 and all(g > 0 for i, g in enumerate(grad) if i != label)
    assert answers["loss"] == pytest.approx(-math.log(p[label]))
    shifted = FAM.solve({"logits": [v + 1.5 for v in logits], "label": label})  # a constant cancels
    assert shifted["probs"] == pytest.approx(p) and shifted["loss"] == pytest.approx(answers["loss"])


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        params, answers = thaw(variant.params), thaw(variant.answers)
        k = len(params["logits"])
        assert 3 <= k <= 5 and 0 <= params["label"] < k
        assert all(round(z, 1) == z and -2 <= z <= 3 for z in params["logits"])  # one-decimal logits
        assert len(set(params["logits"])) > 1
        assert min(answers["probs"]) > 0.0005  # never rounds to 0 at 4 decimals


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 6
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_gives_a_wrong_answer_on_the_worked_example(mistake):
    params = {"logits": [2, 1, 0.1], "label": 0}
    right = FAM.solve(params)
    wrong = FAM.mistakes[mistake](params)
    assert wrong
    for name, value in wrong.items():
        given = value if isinstance(value, list) else [value]
        true = right[name] if isinstance(right[name], list) else [right[name]]
        numbers = [(w, r) for w, r in zip(given, true) if w is not None]  # None: left right by its nature
        assert numbers and not any(FAM.answers[name].grading.accepts(r, w) for w, r in numbers), (mistake, name)


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_the_mistake_check_bites_where_the_mistake_would_score(mistake):
    """Logits 12 apart (beyond what the span rule lets through): the loss and the small probabilities round
    to 0 at 4 decimals, so every listed mistake would pass; scoring_mistake names each one."""
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params = {"logits": [6, -6, -6], "label": 0}
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match="span 12"):  # and the family refuses such logits before
        draw(FAMILY, 0, params)


# ---------------------------------------------------------------- refusals and pins


def test_equal_logits_are_refused():
    with pytest.raises(InputError, match="all logits are equal"):
        draw(FAMILY, 0, {"logits": [1, 1, 1], "label": 2})


def test_logits_too_far_apart_are_refused():
    with pytest.raises(InputError, match="span 10"):
        draw(FAMILY, 0, {"logits": [5, -5, 0], "label": 2})


def test_a_label_counted_from_1_is_told_it_is_0_based():
    with pytest.raises(InputError, match=re.escape("params.label: expected a 0-based class index from 0 to 2 (class 3 of the text is label 2)")):
        draw(FAMILY, 0, {"logits": [1, 2, 3], "label": 3})
    with pytest.raises(InputError, match=r"params\.logits\[1\]"):
        draw(FAMILY, 0, {"logits": [1, "2", 3], "label": 0})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {name: a.grading.describe() for name, a in FAM.answers.items()} == {
        "probs": "4 decimal places", "loss": "4 decimal places", "grad": "4 decimal places"}
    assert leaf_label("c", "grad", FAM.answers["grad"], ["1"], [0.1, -0.2, 0.1]) == "(c) dL/dz, class 2"
    assert form_hint(FAM.answers["probs"], [0.1, 0.2, 0.7]) == "3 numbers, 4 decimal places each"
    assert FAM.asks == ("softmax-probabilities", "cross-entropy-loss", "softmax-cross-entropy-gradient")


def test_minutes_and_weights_follow_the_number_of_classes(drawn):
    by_k: dict[int, set] = {}
    for variant in drawn:
        params = thaw(variant.params)
        by_k.setdefault(len(params["logits"]), set()).add(
            (FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert {k: len(v) for k, v in by_k.items()} == {3: 1, 4: 1, 5: 1}
    assert [next(iter(by_k[k]))[0] for k in (3, 4, 5)] == [5.8, 6.65, 7.5]


def test_each_part_states_its_precision_once(drawn):
    for variant in drawn[:40]:
        params, answers = thaw(variant.params), thaw(variant.answers)
        parts = FAM.parts(params)
        problem, _ = render_fragments(variant, part_points=[1] * len(parts))
        texts = re.split(r"\\part\[1\]", problem)[1:]
        for text, part in zip(texts, parts):
            statement = part_statement(FAM, answers, part.answers)
            assert text.count(statement) == 1 and "decimal places" not in text.replace(statement, "")


def test_samples_are_drawn_at_once():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(500))
    assert refused <= 5
