"""cnn-bookkeeping: per-layer shapes, parameters, MACs and receptive fields, worked by hand (and a textbook
network); properties over many seeds; one test per listed mistake; the card and the pins of a layer list."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, draw, get_family
from qbank.engine import rng_for
from qbank.labels import leaf_label
from qbank.model import thaw
from qbank.precision import exact
from qbank.render import render_fragments

FAMILY = "cnn-bookkeeping"
SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=80, deadline=None)


def conv(k, s, p, out, bias=True, d=None):
    layer = {"type": "conv", "kernel": k, "stride": s, "padding": p, "out_channels": out, "bias": bias}
    return {**layer, "dilation": d} if d is not None else layer


def pool(kind, k, s):
    return {"type": kind, "kernel": k, "stride": s}


# 3 x 32 x 32 through four layers, by hand:
#  1 conv 3x3 s1 p1 -> 16: H = (32 + 2 - 2 - 1)//1 + 1 = 32; params 16*3*9 + 16 = 448; MACs 32*32*16*3*9 = 442368;
#    r = 1 + 2*1 = 3, j = 1
#  2 maxpool 2 s2: H = (32 - 1 - 1)//2 + 1 = 16; 0; 0; r = 3 + 1*1 = 4, j = 2
#  3 conv 3x3 s2 p0 d2 -> 32, no bias: H = (16 - 2*2 - 1)//2 + 1 = 6; params 32*16*9 = 4608;
#    MACs 6*6*32*16*9 = 165888; r = 4 + 2*2*2 = 12, j = 4
#  4 avgpool 3 s2: H = (6 - 2 - 1)//2 + 1 = 2; r = 12 + 2*4 = 20
# total 448 + 4608 = 5056
NETWORK = {"input_shape": [3, 32, 32], "layers": [conv(3, 1, 1, 16), pool("maxpool", 2, 2), conv(3, 2, 0, 32, False, 2),
                                                    pool("avgpool", 3, 2)]}
# LeNet-5's feature extractor on 1 x 32 x 32 (5x5 convolutions, 2x2 pooling): 6 x 28 x 28, 6 x 14 x 14,
# 16 x 10 x 10, 16 x 5 x 5; 156 and 2416 parameters (the textbook's counts: 6*(25 + 1), 16*(6*25 + 1)); receptive
# fields 5, 6, 14, 16.
LENET = {"input_shape": [1, 32, 32], "layers": [conv(5, 1, 0, 6), pool("avgpool", 2, 2), conv(5, 1, 0, 16),
                                                  pool("avgpool", 2, 2)]}


def test_a_network_by_hand():
    v = draw(FAMILY, 0, NETWORK)
    assert thaw(v.answers) == {
        "shapes": [[16, 32, 32], [16, 16, 16], [32, 6, 6], [32, 2, 2]],
        "params": [448, 0, 4608, 0],
        "total_params": 5056,
        "macs": [442368, 0, 165888, 0],
        "receptive_field": [3, 4, 12, 20],
    }
    # the pooling layers are completed with nulls, and a convolution without a dilation gets 1
    layers = thaw(v.params)["layers"]
    assert layers[1] == {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 0, "dilation": None, "out_channels": None, "bias": None}
    assert layers[0]["dilation"] == 1


def test_lenet_counts_are_the_textbooks():
    fam = get_family(FAMILY)
    params = fam.validate(LENET)
    answers = fam.solve(params)
    assert answers["shapes"] == [[6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5]]
    assert answers["params"] == [156, 0, 2416, 0] and answers["total_params"] == 2572
    assert answers["macs"] == [28 * 28 * 6 * 25, 0, 10 * 10 * 16 * 6 * 25, 0] == [117600, 0, 240000, 0]
    assert answers["receptive_field"] == [5, 6, 14, 16]
    fam.check(params, answers)


def test_the_solution_shows_each_layers_formula():
    _, solution = render_fragments(draw(FAMILY, 0, NETWORK))
    assert r"\left\lfloor \frac{16 + 2\cdot0 - 2\cdot(3 - 1) - 1}{2} \right\rfloor + 1" in solution
    assert "16 \\cdot 3 \\cdot 3^2 + 16 = 448" in solution and "32 \\cdot 16 \\cdot 3^2 = 4608" in solution
    assert "(6 \\cdot 6) \\cdot 32 \\cdot 16 \\cdot 3^2 = 165888" in solution
    assert "r_{3} &= 4 + 2 \\cdot (3 - 1) \\cdot 2 = 12" in solution


@given(SEEDS)
@PROPERTY
def test_properties_over_seeds(seed):
    v = draw(FAMILY, seed)
    p, a = thaw(v.params), thaw(v.answers)
    layers = p["layers"]
    assert 3 <= len(layers) <= 4 and layers[0]["type"] == "conv"
    assert len(a["shapes"]) == len(a["params"]) == len(a["macs"]) == len(a["receptive_field"]) == len(layers)
    assert a["total_params"] == sum(a["params"])
    c = p["input_shape"][0]
    for layer, shape, count, macs in zip(layers, a["shapes"], a["params"], a["macs"]):
        assert min(shape[1:]) >= 2
        if layer["type"] == "conv":
            assert shape[0] == layer["out_channels"] and count > 0 and macs % (layer["out_channels"] * c) == 0
            c = layer["out_channels"]
        else:
            assert shape[0] == c and count == macs == 0 and layer["out_channels"] is None
    # receptive fields grow, and no faster than the input is wide plus what padding can add
    assert a["receptive_field"] == sorted(a["receptive_field"]) and a["receptive_field"][0] > 1 or layers[0]["kernel"] == 1
    # the MACs of a convolution scale with its output area: doubling the input side (no floors involved
    # in the first layer's positions) multiplies the first layer's MACs by about 4
    bigger = {**p, "input_shape": [p["input_shape"][0], 2 * p["input_shape"][1], 2 * p["input_shape"][2]]}
    first = get_family(FAMILY).solve(get_family(FAMILY).validate(bigger))["macs"][0]
    assert 3 * a["macs"][0] < first <= 5 * a["macs"][0]


def test_sampled_networks_are_rarely_refused():
    fam = get_family(FAMILY)
    refused = sum(fam.degenerate(fam.validate(fam.sample(rng_for(FAMILY, seed)))) is not None for seed in range(1000))
    assert refused < 40, refused  # about 1.4 %: a stride followed only by 1 x 1 convolutions (no jump to see)


def test_every_drawn_network_can_show_each_slip():
    """The sampler keeps networks where a stride does not divide its span, a stride comes before the last layer,
    and a convolution changes its map's size."""
    for seed in range(200):
        p = thaw(draw(FAMILY, seed).params)
        assert get_family(FAMILY)._telling(p)


# ---------------------------------------------------------------- the card


def test_card_labels_structure_and_minutes():
    fam = get_family(FAMILY)
    assert all(answer.precision == exact(whole=True) for answer in fam.answers.values())
    v = draw(FAMILY, 0, NETWORK)
    answers = thaw(v.answers)
    words = lambda answer: lambda level, i: fam.position_word(v.params, answer, level, i)  # noqa: E731
    assert leaf_label("a", "shapes", fam.answers["shapes"], ("1", "2"), answers["shapes"], words("shapes")) == "(a) shape, layer 2, width"
    assert leaf_label("c", "macs", fam.answers["macs"], ("2",), answers["macs"], words("macs")) == "(c) MACs, layer 3"
    assert leaf_label("d", "receptive_field", fam.answers["receptive_field"], ("0",), answers["receptive_field"],
                      words("receptive_field")) == "(d) receptive field, layer 1"
    assert fam.structure_of(v.params) == {"layers": [4], "types": "conv maxpool conv avgpool", "dilated": True}
    assert [p.weight for p in fam.parts(v.params)] == [4, 3, 2, 4]
    seen = {}
    for seed in range(300):
        params = draw(FAMILY, seed).params
        got = (fam.minutes(params), [p.weight for p in fam.parts(params)])
        assert seen.setdefault(repr(fam.structure_of(params)), got) == got
        assert 5 <= got[0] <= 12
    assert len(seen) == 10  # the five patterns, with a dilated layer or without


def test_a_structure_pin_holds_the_layer_types():
    fam = get_family(FAMILY)
    structure = {"types": "conv maxpool conv", "dilated": False}
    for seed in range(20):
        v = draw(FAMILY, seed, structure=structure)
        assert [layer["type"] for layer in v.params["layers"]] == ["conv", "maxpool", "conv"]
        assert fam.minutes(v.params) == fam.minutes(draw(FAMILY, 0, structure=structure).params)


# ---------------------------------------------------------------- mistakes


def test_no_listed_mistake_reproduces_an_answer_over_many_draws():
    fam = get_family(FAMILY)
    for seed in range(600):
        v = draw(FAMILY, seed)
        params, answers = thaw(v.params), thaw(v.answers)
        for mistake, wrong_of in fam.mistakes.items():
            for name, wrong in wrong_of(params).items():
                assert wrong != answers[name], (seed, mistake, name)


@pytest.mark.parametrize("mistake, expected", [
    ("forgetting the dilation (the window taken as k, not d(k - 1) + 1)",
     {"shapes": [[16, 32, 32], [16, 16, 16], [32, 7, 7], [32, 3, 3]], "receptive_field": [3, 4, 8, 16]}),
    ("forgetting the padding", {"shapes": [[16, 30, 30], [16, 15, 15], [32, 6, 6], [32, 2, 2]]}),
    ("rounding (H + 2p - d(k - 1) - 1)/s up instead of down",
     {"shapes": [[16, 32, 32], [16, 16, 16], [32, 7, 7], [32, 3, 3]]}),
    ("forgetting the + 1 in the size", {"shapes": [[16, 31, 31], [16, 14, 14], [32, 4, 4], [32, 0, 0]]}),  # each size from the last
    ("a convolution keeping its input's channel count", {"shapes": [[3, 32, 32], [3, 16, 16], [3, 6, 6], [3, 2, 2]]}),
    ("counting the dilated span's holes as weights", {"params": [448, 0, 32 * 16 * 25, 0], "total_params": 448 + 12800}),
    ("forgetting the biases", {"params": [432, 0, 4608, 0], "total_params": 5040}),
    ("counting biases for a layer without them", {"params": [448, 0, 4640, 0], "total_params": 5088}),
    ("forgetting the input channels (k^2 weights and MACs per filter)",
     {"params": [160, 0, 288, 0], "total_params": 448, "macs": [147456, 0, 10368, 0]}),
    ("MACs counted at the input's positions instead of the output's", {"macs": [442368, 0, 16 * 16 * 32 * 16 * 9, 0]}),
    ("counting the bias additions as MACs", {"macs": [442368 + 32 * 32 * 16, 0, 165888, 0]}),
    ("receptive fields without the jump (each layer adding d(k - 1))", {"receptive_field": [3, 4, 8, 10]}),
    ("receptive fields leaving out the pooling layers", {"receptive_field": [3, 3, 11, 11]}),
    ("receptive fields growing by d k instead of d(k - 1)", {"receptive_field": [4, 6, 18, 30]}),
])
def test_each_mistake_by_hand(mistake, expected):
    fam = get_family(FAMILY)
    assert fam.mistakes[mistake](fam.validate(NETWORK)) == expected


def test_slips_the_network_rules_out_give_nothing():
    fam = get_family(FAMILY)
    plain = fam.validate(LENET)  # no dilation, no padding, every layer with biases
    for mistake in ("forgetting the dilation (the window taken as k, not d(k - 1) + 1)", "forgetting the padding",
                    "counting the dilated span's holes as weights", "counting biases for a layer without them"):
        assert fam.mistakes[mistake](plain) == {}, mistake


@pytest.mark.parametrize("layers, reason", [
    # every stride divides its span (32 -> 16 -> 8): rounding up gives the same shapes
    ([conv(3, 1, 1, 8), pool("maxpool", 2, 2), conv(3, 1, 1, 16), pool("maxpool", 2, 2)], "rounding"),
    # the only stride is the last layer's: the jump never shows in a receptive field
    ([conv(3, 1, 0, 8), conv(5, 1, 2, 16), pool("maxpool", 3, 2)], "without the jump"),
])
def test_a_network_that_cannot_tell_a_slip_is_refused_naming_it(layers, reason):
    with pytest.raises(InputError, match=f"degenerate.*{re.escape(reason)}"):
        draw(FAMILY, 0, {"input_shape": [3, 32, 32], "layers": layers})


# ---------------------------------------------------------------- pins and their errors


@pytest.mark.parametrize("layer, field", [
    ({**pool("maxpool", 2, 2), "out_channels": 8}, "params.layers[1].out_channels"),
    ({**pool("avgpool", 2, 2), "dilation": 2}, "params.layers[1].dilation"),
    ({**pool("maxpool", 2, 2), "bias": True}, "params.layers[1].bias"),
    ({**pool("maxpool", 2, 2), "padding": 2}, "params.layers[1].padding"),  # at most half the window
    ({"type": "dense", "kernel": 2, "stride": 2}, "params.layers[1].type"),
    ({"type": "conv", "kernel": 3, "stride": 1, "padding": 1, "bias": True}, "params.layers[1].out_channels"),
    ({"type": "conv", "kernel": 3, "padding": 1, "out_channels": 4, "bias": True}, "params.layers[1].stride"),
    ({**conv(3, 1, 1, 8), "groups": 2}, "params.layers[1].groups"),
    ({**conv(3, 1, 0, 8), "kernel": 40}, "params.layers[1]"),  # larger than its input: no output position
])
def test_a_bad_layer_is_named(layer, field):
    with pytest.raises(InputError, match=re.escape(field)):
        draw(FAMILY, 0, {"input_shape": [3, 32, 32], "layers": [conv(3, 1, 1, 16), layer, conv(3, 2, 0, 8)]})


def test_a_network_that_shrinks_a_map_to_one_entry_is_refused():
    with pytest.raises(InputError, match=re.escape("layer 3 leaves a map of 1 x 1")):
        draw(FAMILY, 0, {"input_shape": [3, 9, 9], "layers": [conv(3, 2, 0, 8), pool("maxpool", 2, 2), conv(2, 1, 0, 4)]})  # 9 -> 4 -> 2 -> 1


def test_a_bad_input_shape_is_named():
    with pytest.raises(InputError, match=re.escape("params.input_shape")):
        draw(FAMILY, 0, {**NETWORK, "input_shape": [3, 32]})
