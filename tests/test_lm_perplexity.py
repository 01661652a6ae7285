"""lm-perplexity (issue 19): worked examples computed by hand, properties over many seeds and over
hypothesis' tables, the card (precisions, parts, minutes by structure), each refusal and each listed mistake."""

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

FAMILY = "lm-perplexity"
FAM = get_family(FAMILY)

# the worked example: rows are the previous token, columns the next one
EXAMPLE = {
    "vocab": ["the", "cat", "sat"],
    "table": {
        "<s>": {"the": 0.5, "cat": 0.2, "sat": 0.2, "</s>": 0.1},
        "the": {"the": 0.05, "cat": 0.6, "sat": 0.25, "</s>": 0.1},
        "cat": {"the": 0.1, "cat": 0.1, "sat": 0.6, "</s>": 0.2},
        "sat": {"the": 0.3, "cat": 0.1, "sat": 0.1, "</s>": 0.5},
    },
    "sentence": ["the", "cat", "sat"],
}


@pytest.fixture(scope="module")
def drawn():
    return [draw(FAMILY, seed) for seed in range(300)]


def answers_of(params):
    return thaw(draw(FAMILY, 0, params).answers)


# ---------------------------------------------------------------- worked examples, by hand


def test_the_cat_sat_by_hand():
    # <s> the cat sat </s>: P(the|<s>) = 0.5, P(cat|the) = 0.6, P(sat|cat) = 0.6, P(</s>|sat) = 0.5.
    # ln P = 2 ln 0.5 + 2 ln 0.6 = -1.386294 - 1.021651 = -2.407946; 4 tokens: NLL 0.601986 nats;
    # PPL = (0.5 * 0.6 * 0.6 * 0.5)^(-1/4) = 0.09^(-1/4) = 1/sqrt(0.3) = 1.825742;
    # bits = 0.601986 / 0.693147 = 0.868483 (= log2(10/3) / 2 = 1.736966 / 2).
    answers = answers_of(EXAMPLE)
    assert answers["token_probs"] == [0.5, 0.6, 0.6, 0.5]
    assert answers["log_likelihood"] == pytest.approx(-2.407946, abs=1e-6)
    assert answers["nll_per_token"] == pytest.approx(0.601986, abs=1e-6)
    assert answers["perplexity"] == pytest.approx(1.825742, abs=1e-6)
    assert answers["bits_per_token"] == pytest.approx(0.868483, abs=1e-6)


def test_a_repeated_word_by_hand():
    # <s> cat cat the sat </s>: 0.2, 0.1, 0.1, 0.25, 0.5; product 0.00025 over 5 tokens;
    # ln 0.00025 = -8.294050; NLL 1.658810; PPL = 4000^(1/5) = 10^(3.602060 / 5) = 5.253056; bits = log2(4000) / 5 = 11.965784 / 5
    # = 2.393157.
    answers = answers_of({**EXAMPLE, "sentence": ["cat", "cat", "the", "sat"]})
    assert answers["token_probs"] == [0.2, 0.1, 0.1, 0.25, 0.5]
    assert answers["log_likelihood"] == pytest.approx(-8.294050, abs=1e-6)
    assert answers["nll_per_token"] == pytest.approx(1.658810, abs=1e-6)
    assert answers["perplexity"] == pytest.approx(5.253056, abs=1e-6)
    assert answers["bits_per_token"] == pytest.approx(2.393157, abs=1e-6)


def test_the_solution_shows_the_steps_and_prints_answers_as_asked():
    variant = draw(FAMILY, 0, EXAMPLE)
    problem, solution = render_fragments(variant, part_points=[1, 1, 1, 1])
    assert r"\texttt{<s>}" in problem and r"\texttt{</s>}" in problem and "not counted" in problem
    assert "its $4$ predicted tokens" in problem
    assert "-0.69315" in solution and "-0.51083" in solution  # the logarithms on the way
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    for text in ("-2.4079", "0.6020", "1.826", "0.8685", "[0.5,\\ \\allowbreak 0.6"):
        assert text in boxes, text
    assert "1.8257" not in boxes


# ---------------------------------------------------------------- properties


@st.composite
def tables(draw_):
    vocab = ["a", "b", "c", "d"][: draw_(st.integers(3, 4))]
    table = {}
    for prev in ["<s>", *vocab]:
        units = draw_(st.lists(st.integers(1, 8), min_size=len(vocab), max_size=len(vocab)).filter(lambda u: sum(u) < 20))
        table[prev] = {w: u / 20 for w, u in zip(vocab, units)} | {"</s>": (20 - sum(units)) / 20}
    sentence = draw_(st.lists(st.sampled_from(vocab), min_size=3, max_size=5))
    return {"vocab": vocab, "table": table, "sentence": sentence}


@given(tables())
def test_properties_of_any_pinned_table(params):
    params = FAM.validate(params)
    answers = FAM.solve(params)
    FAM.check(params, answers)
    probs = answers["token_probs"]
    n = len(params["sentence"]) + 1
    assert len(probs) == n
    # the perplexity lies between the inverse of the largest and of the smallest token probability,
    # below 1 / (arithmetic mean) never: the geometric mean is at most the arithmetic one
    assert 1 / max(probs) - 1e-12 <= answers["perplexity"] <= 1 / min(probs) + 1e-12
    assert answers["perplexity"] >= n / math.fsum(probs) - 1e-12
    assert 2 ** answers["bits_per_token"] == pytest.approx(answers["perplexity"])
    assert answers["log_likelihood"] == pytest.approx(-n * answers["nll_per_token"])


def test_draws_over_many_seeds(drawn):
    for variant in drawn:
        params, answers = thaw(variant.params), thaw(variant.answers)
        assert 3 <= len(params["vocab"]) <= 4 and 3 <= len(params["sentence"]) <= 5
        assert set(params["table"]) == {"<s>", *params["vocab"]}
        for row in params["table"].values():
            assert set(row) == {*params["vocab"], "</s>"} and math.fsum(row.values()) == pytest.approx(1)
            assert all(v >= 0.05 and round(v * 20) == pytest.approx(v * 20) for v in row.values())
        assert len(answers["token_probs"]) == len(params["sentence"]) + 1
        assert answers["perplexity"] > 1


def test_no_listed_mistake_scores(drawn):
    assert len(FAM.mistakes) == 10
    for variant in drawn:
        assert scoring_mistake(FAM, thaw(variant.params), thaw(variant.answers)) is None, variant.seed


@pytest.mark.parametrize("mistake", sorted(FAM.mistakes))
def test_each_mistake_gives_a_wrong_answer_on_the_worked_example(mistake):
    params = FAM.validate(EXAMPLE)
    right = FAM.solve(params)
    wrong = FAM.mistakes[mistake](params)
    assert wrong
    for name, value in wrong.items():
        assert value != pytest.approx(right[name], abs=10 ** -FAM.answers[name].grading.digits if name != "token_probs" else 0), (mistake, name)


def test_the_mistake_check_bites_where_a_mistake_would_score():
    """A symmetric table lets the transposed reading score, and a sentence whose </s> has the geometric
    mean's probability lets the left-out end symbol score: both are refused when drawn."""
    symmetric = {"vocab": ["a", "b", "c"], "table": {
        "<s>": {"a": 0.4, "b": 0.3, "c": 0.2, "</s>": 0.1},
        "a": {"a": 0.1, "b": 0.5, "c": 0.2, "</s>": 0.2},
        "b": {"a": 0.5, "b": 0.1, "c": 0.3, "</s>": 0.1},
        "c": {"a": 0.2, "b": 0.3, "c": 0.1, "</s>": 0.4}}, "sentence": ["a", "b", "c"]}
    reason = FAM.degenerate(FAM.validate(symmetric))
    assert reason and "P(prev | next)" in reason
    with pytest.raises(InputError, match=r"read as P\(prev \| next\)"):
        draw(FAMILY, 0, symmetric)
    flat = {**EXAMPLE, "table": {**EXAMPLE["table"], "sat": {"the": 0.3, "cat": 0.05, "sat": 0.05, "</s>": 0.6}},
            "sentence": ["the", "cat", "sat"]}  # every token 0.5 or 0.6, and </s> 0.6 like cat, sat
    params = FAM.validate({**flat, "table": {**flat["table"], "<s>": {"the": 0.6, "cat": 0.2, "sat": 0.1, "</s>": 0.1}}})
    reason = FAM.degenerate(params)  # every probability 0.6: leaving out </s> changes no mean
    assert reason and "</s> left out" in reason


def test_tampered_answers_are_rejected():
    params = FAM.validate(EXAMPLE)

    def set_(name, value, index=None):
        def change(answers):
            if index is None:
                answers[name] = value
            else:
                answers[name][index] = value
        return change

    assert_tampering_caught(FAM, params, [
        (set_("token_probs", 0.25, 1), r"token_probs\[1\]"),
        (set_("log_likelihood", -2.4079), "log_likelihood"),
        (set_("nll_per_token", 2.407946 / 3), "nll_per_token"),
        (set_("perplexity", 1.8257), "perplexity"),
        (set_("bits_per_token", 0.601986), "bits_per_token"),
    ])


# ---------------------------------------------------------------- refusals and pins


def test_bad_pins_name_their_field():
    cases = [
        ({"vocab": ["the", "the", "cat"]}, r"params\.vocab: expected 3 or 4 different words"),
        ({"vocab": ["the", "cat"]}, r"params\.vocab: expected a list of 3 or 4 words"),
        ({"sentence": ["the", "dog", "sat"]}, r"params\.sentence\[1\]: expected a word of vocab"),
        ({"sentence": ["the", "cat"]}, r"params\.sentence: expected a list of 3 to 5 words"),
        ({"table": {**EXAMPLE["table"], "cat": {"the": 0.1, "cat": 0.1, "sat": 0.6, "</s>": 0.3}}},
         r"params\.table\.cat: expected probabilities that sum to 1"),
        ({"table": {**EXAMPLE["table"], "the": {"the": 0.05, "cat": "0.6", "sat": 0.25, "</s>": 0.1}}},
         r"params\.table\.the\.cat: expected a number"),
        ({"table": {k: v for k, v in EXAMPLE["table"].items() if k != "<s>"}},
         r"params\.table: expected a mapping with one row for each of <s>, the, cat, sat"),
        ({"table": {**EXAMPLE["table"], "sat": {"the": 0.5, "cat": 0.5}}},
         r"params\.table\.sat: expected a mapping with one probability for each of the, cat, sat, </s>"),
    ]
    for change, message in cases:
        with pytest.raises(InputError, match=message):
            draw(FAMILY, 0, {**EXAMPLE, **change})


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {name: a.grading.describe() for name, a in FAM.answers.items()} == {
        "token_probs": "exact", "log_likelihood": "4 decimal places", "nll_per_token": "4 decimal places",
        "perplexity": "3 decimal places", "bits_per_token": "4 decimal places"}
    assert [p.answers for p in FAM.parts(EXAMPLE)] == [
        ("token_probs",), ("log_likelihood",), ("nll_per_token", "perplexity"), ("bits_per_token",)]
    assert FAM.structure_of(EXAMPLE) == {"vocab": [3], "sentence": [3]}


def test_minutes_and_weights_follow_the_structure(drawn):
    by_structure: dict[tuple, set] = {}
    for variant in drawn:
        params = thaw(variant.params)
        key = (len(params["vocab"]), len(params["sentence"]))
        by_structure.setdefault(key, set()).add((FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert all(len(v) == 1 for v in by_structure.values()) and len(by_structure) == 6
    assert FAM.minutes(EXAMPLE) == 1.5 + 0.75 + 1 + 2.25 + 0.75 + 0.5


def test_each_part_states_its_precision():
    assert_parts_state_their_precision(FAMILY, 30, 4, "decimal places")


def test_samples_are_drawn_at_once():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(500))
    assert refused <= 60
