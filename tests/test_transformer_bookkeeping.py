"""transformer-bookkeeping: GPT-2 small's published parameter count, a small model counted by hand, every
mistake changing what it touches, the degenerate rules, and properties over many seeds."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.grading import scoring_mistake
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "transformer-bookkeeping"
SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=60, deadline=None)

GPT2_SMALL = {"d_model": 768, "heads": 12, "d_ff": 3072, "layers": 12, "vocab": 50257, "context": 1024,
              "bias": True, "tied_embeddings": True}


def answers_for(params):
    return thaw(draw(FAMILY, 0, params).answers)


def test_gpt2_small_has_its_published_124_million_parameters():
    """GPT-2 small (biases everywhere, tied embeddings) has 124,439,808 parameters, the count its released
    checkpoint holds; the MACs and cache per token worked out by hand below."""
    ans = answers_for(GPT2_SMALL)
    assert ans["total_params"] == 124_439_808
    assert ans["head_dim"] == 64 and ans["head_params"] == 0
    assert ans["attn_params"] == 4 * 768 * 768 + 4 * 768 == 2_362_368
    assert ans["mlp_params"] == 2 * 768 * 3072 + 3072 + 768 == 4_722_432
    assert ans["layer_params"] == 2_362_368 + 4_722_432 + 4 * 768 == 7_087_872
    assert ans["embedding_params"] == 50257 * 768 + 1024 * 768 == 39_383_808
    # per block 4 d^2 + 2 d d_ff + 2 n d = 2359296 + 4718592 + 1572864 = 8650752; twelve blocks and V d logits
    assert ans["macs_per_token"] == 12 * 8_650_752 + 38_597_376 == 142_406_400
    assert ans["kv_cache_values"] == 2 * 12 * 768 == 18_432


def test_a_small_untied_model_without_biases_counted_by_hand():
    ans = answers_for({"d_model": 64, "heads": 2, "d_ff": 256, "layers": 2, "vocab": 1000, "context": 128,
                       "bias": False, "tied_embeddings": False})
    assert ans["attn_params"] == 16_384  # 4 * 64^2
    assert ans["mlp_params"] == 32_768  # 2 * 64 * 256
    assert ans["norm_params"] == 256  # two norms of gain and bias, 64 each
    assert ans["layer_params"] == 49_408
    assert ans["embedding_params"] == 72_192  # 1000 * 64 + 128 * 64
    assert ans["head_params"] == 64_000  # its own 1000 x 64 matrix, no bias
    assert ans["total_params"] == 2 * 49_408 + 72_192 + 64_000 + 128 == 235_136
    assert ans["macs_per_token"] == 2 * (16_384 + 32_768 + 16_384) + 64_000 == 195_072
    assert ans["kv_cache_values"] == 256


# ---------------------------------------------------------------- mistakes and degenerate rules


@pytest.mark.parametrize("mistake", list(get_family(FAMILY).mistakes))
def test_each_mistake_changes_what_it_touches_and_never_scores(mistake):
    """Every mistake is a whole term too many or too few, so it can never give a right count; each applies to
    the structures where a student can make it (biases only where there are biases...)."""
    fam = get_family(FAMILY)
    applied = 0
    for seed in range(80):
        v = draw(FAMILY, seed)
        params, answers = thaw(v.params), thaw(v.answers)
        wrong = fam.mistakes[mistake](params)
        applied += bool(wrong)
        for name, value in wrong.items():
            assert value != answers[name], (mistake, seed, name)
    assert applied >= 20, (mistake, applied)


def test_no_draw_lets_a_mistake_score():
    fam = get_family(FAMILY)
    for seed in range(500):
        v = draw(FAMILY, seed)
        assert scoring_mistake(fam, thaw(v.params), thaw(v.answers)) is None


def test_one_head_or_one_block_is_refused():
    with pytest.raises(InputError, match="a single head"):
        draw(FAMILY, 0, {**GPT2_SMALL, "heads": 1})
    with pytest.raises(InputError, match="a single block"):
        draw(FAMILY, 0, {**GPT2_SMALL, "layers": 1})


def test_bad_params_are_named():
    with pytest.raises(InputError, match=re.escape("heads: expected a divisor of d_model = 768")):
        draw(FAMILY, 0, {**GPT2_SMALL, "heads": 10})
    with pytest.raises(InputError, match=r"bias: expected true or false"):
        draw(FAMILY, 0, {**GPT2_SMALL, "bias": 1})


def test_the_check_catches_a_miscount():
    v = draw(FAMILY, 2)
    answers = thaw(v.answers)
    answers["total_params"] -= 2 * v.params["d_model"]  # the final layer norm forgotten
    with pytest.raises(VerificationError, match="total_params"):
        verify(get_family(FAMILY), 2, thaw(v.params), answers)


# ---------------------------------------------------------------- properties


@given(SEEDS)
@PROPERTY
def test_properties_over_seeds(seed):
    fam = get_family(FAMILY)
    v = draw(FAMILY, seed)
    p, a = thaw(v.params), thaw(v.answers)
    d = p["d_model"]
    assert a["head_dim"] * p["heads"] == d and p["heads"] >= 2
    assert a["layer_params"] == a["attn_params"] + a["mlp_params"] + a["norm_params"]
    assert a["total_params"] == p["layers"] * a["layer_params"] + a["embedding_params"] + a["head_params"] + 2 * d
    assert (a["head_params"] == 0) == p["tied_embeddings"]
    # splitting into heads changes no count
    other_heads = next(h for h in (2, 4, 8, 16, 32) if d % h == 0 and h != p["heads"])
    assert fam.solve({**p, "heads": other_heads}) | {"head_dim": a["head_dim"]} == a
    # biases add 4d to the attention and d_ff + d to the MLP
    flipped = fam.solve({**p, "bias": not p["bias"]})
    sign = 1 if p["bias"] else -1
    assert sign * (a["attn_params"] - flipped["attn_params"]) == 4 * d
    assert sign * (a["mlp_params"] - flipped["mlp_params"]) == p["d_ff"] + d
    # tying saves the V d parameters of the output projection but not its V d MACs
    other = fam.solve({**p, "tied_embeddings": not p["tied_embeddings"]})
    assert abs(other["total_params"] - a["total_params"]) == p["vocab"] * d
    assert other["macs_per_token"] == a["macs_per_token"]
    # each token of context costs every block 2 d MACs more, and the cache grows with depth only
    longer = fam.solve({**p, "context": 2 * p["context"]})
    assert longer["macs_per_token"] - a["macs_per_token"] == 2 * p["layers"] * p["context"] * d
    assert longer["kv_cache_values"] == a["kv_cache_values"]


def test_every_answer_is_a_whole_number_asked_exactly():
    fam = get_family(FAMILY)
    assert {spec.grading.mode for spec in fam.answers.values()} == {"exact"}
    assert all(spec.grading.whole for spec in fam.answers.values())
    problem, _ = render_fragments(draw(FAMILY, 1))
    assert "qbankprecision" not in problem  # whole numbers need no sentence


def test_minutes_depend_on_the_structure_only():
    fam = get_family(FAMILY)
    seen: dict[tuple, set] = {}
    for seed in range(120):
        params = draw(FAMILY, seed).params
        seen.setdefault((params["bias"], params["tied_embeddings"]), set()).add(fam.minutes(params))
    assert len(seen) == 4 and all(len(m) == 1 for m in seen.values())
    assert 8 <= min(min(m) for m in seen.values()) and max(max(m) for m in seen.values()) <= 15


def test_tied_weights_ask_what_tying_saves():
    fam = get_family(FAMILY)
    assert "weight-tying-cost" in fam.asks_of(GPT2_SMALL)
    assert "weight-tying-cost" not in fam.asks_of({**GPT2_SMALL, "tied_embeddings": False})


def test_the_solution_names_each_term():
    _, solution = render_fragments(draw(FAMILY, 0, GPT2_SMALL))
    assert r"4 \cdot 589824 + 4 \cdot 768 = 2362368" in solution
    assert "tying the weights saves parameters, not this product" in solution
    assert r"2 \cdot 12 \cdot 768" in solution


def test_sizes_are_drawn_from_common_choices():
    fam = get_family(FAMILY)
    for seed in range(100):
        p = fam.sample(np.random.default_rng(seed))
        assert p["d_model"] % p["heads"] == 0 and p["d_model"] // p["heads"] in (32, 64, 128)
        assert p["d_ff"] in (3 * p["d_model"], 4 * p["d_model"])
