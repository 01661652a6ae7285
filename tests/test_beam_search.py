"""beam-search: the seed's worked example, properties over many seeds, pinning and bad params."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank.engine import draw
from qbank.errors import InputError
from qbank.registry import get_family
from qbank.render import render_fragment

FAMILY = "beam-search"

# The tree of the worked problem: two tokens, three steps, beam width 2. The seed gives the root, the two
# children and "neural neural"; the other three rows are filled in to agree with its answers.
WORKED = {
    "vocab": ["neural", "network"],
    "depth": 3,
    "beam_width": 2,
    "beam_misses_optimum": True,
    "logp": {
        "": [-0.65, -0.73],
        "neural": [-0.8, -0.6],
        "network": [-0.6, -0.8],
        "neural neural": [-0.01, -4.61],
        "neural network": [-0.8, -0.6],
        "network neural": [-0.8, -0.6],
        "network network": [-0.6, -0.8],
    },
}


def hyp(sequence: str, logp: float) -> dict:
    return {"sequence": sequence, "logp": logp}


def test_worked_example_from_the_seed():
    answers = draw(FAMILY, 0, WORKED).to_dict()["answers"]
    assert answers["beams"] == [
        [hyp("neural", -0.65), hyp("network", -0.73)],
        [hyp("neural network", -1.25), hyp("network neural", -1.33)],
        [hyp("neural network network", -1.85), hyp("network neural network", -1.93)],
    ]
    assert answers["best"] == hyp("neural neural neural", -1.46)
    assert answers["beam_result"] == hyp("neural network network", -1.85)
    assert answers["greedy"] == hyp("neural network network", -1.85)
    assert answers["beam_finds_optimum"] is False
    assert answers["runtime"] == "O(T k M log M)"


def test_worked_example_solution_names_the_pruning_step():
    solution = render_fragment(draw(FAMILY, 0, WORKED), "solution")
    assert "pruned at step $2$" in solution
    assert "\\VAR" not in solution and "\\BLOCK" not in solution


def test_a_wider_beam_finds_the_optimum_of_the_worked_example():
    params = {**WORKED, "beam_width": 4, "beam_misses_optimum": False}
    answers = draw(FAMILY, 0, params).to_dict()["answers"]
    assert answers["beam_result"] == hyp("neural neural neural", -1.46)
    assert answers["beam_finds_optimum"] is True


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6))
def test_drawn_variants_verify_and_show_beam_search_missing(seed):
    variant = draw(FAMILY, seed)  # draw() runs the independent check
    data = json.loads(variant.to_json())
    params, answers = data["params"], data["answers"]
    m, depth, width = len(params["vocab"]), params["depth"], params["beam_width"]
    assert (m, depth, width) in {(2, 3, 2), (3, 2, 2), (2, 4, 2)}
    assert len(params["logp"]) == sum(m**t for t in range(depth))
    assert answers["beam_finds_optimum"] is False
    assert answers["beam_result"]["logp"] < answers["best"]["logp"]
    assert answers["greedy"]["logp"] <= answers["best"]["logp"]
    for t, beam in enumerate(answers["beams"], start=1):
        assert len(beam) == min(width, m**t)
        assert all(len(h["sequence"].split()) == t for h in beam)
        totals = [h["logp"] for h in beam]
        assert totals == sorted(totals, reverse=True)
    for row in params["logp"].values():
        assert all(x < 0 and round(x, 2) == x for x in row)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6))
def test_pinning_false_gives_trees_where_beam_search_finds_the_optimum(seed):
    answers = draw(FAMILY, seed, {"beam_misses_optimum": False}).to_dict()["answers"]
    assert answers["beam_finds_optimum"] is True
    assert answers["beam_result"] == answers["best"]


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_fragments_render_without_leftover_template_syntax(seed):
    variant = draw(FAMILY, seed)
    for part in ("problem", "solution"):
        text = render_fragment(variant, part)
        assert "\\VAR" not in text and "\\BLOCK" not in text
        assert "\\begin{tikzpicture}" in text and "forest" not in text
        assert all(token in text for token in variant.params["vocab"])


def tree_of(variant) -> dict:
    return get_family(FAMILY).context(variant.params, variant.answers)["tree"]


def spelled_prefixes(tree: dict) -> dict[str, dict]:
    """Each node by the prefix its path from the root spells, following the edges (so a node reached twice or
    never shows up as a wrong count)."""
    nodes = {n["name"]: n for n in tree["nodes"]}
    children: dict[str, list[str]] = {}
    for e in tree["edges"]:
        children.setdefault(e["parent"], []).append(e["child"])
    (root,) = [n for n in tree["nodes"] if n["root"]]
    found, stack = {}, [("", root["name"])]
    while stack:
        prefix, name = stack.pop()
        assert prefix not in found, f"prefix {prefix!r} drawn twice"
        found[prefix] = nodes[name]
        stack += [(f"{prefix} {nodes[c]['token']}".strip(), c) for c in children.get(name, [])]
    return found


@pytest.mark.parametrize("seed", [0, 3, 4])
def test_tree_layout_one_node_per_prefix_parents_centred_leaves_evenly_spaced(seed):
    variant = draw(FAMILY, seed)
    params, answers = variant.params, variant.answers
    vocab, depth = params["vocab"], params["depth"]
    tree = tree_of(variant)
    by_prefix = spelled_prefixes(tree)
    assert len(by_prefix) == len(tree["nodes"]) == sum(len(vocab) ** t for t in range(depth + 1))
    assert len({n["name"] for n in tree["nodes"]}) == len(tree["nodes"])
    assert set(params["logp"]) <= set(by_prefix)

    # x by depth, one fixed step; leaves top-down in a column, equally spaced, in the order of the vocab.
    step = by_prefix[vocab[0]]["x"] - by_prefix[""]["x"]
    assert step > 0
    for prefix, node in by_prefix.items():
        assert node["x"] == pytest.approx(len(prefix.split()) * step, abs=0.01)
        assert node["leaf"] == (len(prefix.split()) == depth)
    leaves = [n for n in tree["nodes"] if n["leaf"]]
    gaps = [a["y"] - b["y"] for a, b in zip(leaves, leaves[1:])]
    assert gaps[0] > 0 and all(g == pytest.approx(gaps[0], abs=0.01) for g in gaps)

    # Every parent halfway between its first and last child (the mean of all, the tree being uniform).
    for prefix, node in by_prefix.items():
        if not node["leaf"]:
            kids = [by_prefix[f"{prefix} {w}".strip()]["y"] for w in vocab]
            assert node["y"] == pytest.approx((kids[0] + kids[-1]) / 2, abs=0.01)
            assert node["y"] == pytest.approx(sum(kids) / len(kids), abs=0.01)

    # Edge labels are the params' log-probabilities; kept edges are the beams' hypotheses, drawn last.
    names = {n["name"]: prefix for prefix, n in by_prefix.items()}
    for e in tree["edges"]:
        parent, child = names[e["parent"]], names[e["child"]]
        assert e["logp"] == params["logp"][parent][vocab.index(child.split()[-1])]
    kept = {names[e["child"]] for e in tree["edges"] if e["kept"]}
    assert kept == {h["sequence"] for beam in answers["beams"] for h in beam}
    flags = [e["kept"] for e in tree["edges"]]
    assert flags == sorted(flags)

    # The optimal path is boxed, its leaf is the best; every leaf carries its total.
    best = answers["best"]["sequence"].split()
    assert {p for p, n in by_prefix.items() if n["optimal"]} == {" ".join(best[:i]) for i in range(1, depth + 1)}
    assert [p for p, n in by_prefix.items() if n["best"]] == [answers["best"]["sequence"]]
    assert by_prefix[answers["best"]["sequence"]]["total"] == answers["best"]["logp"]


def test_leaves_sit_closer_in_a_tree_of_more_than_nine():
    def pitch(seed: int) -> tuple[float, int]:
        leaves = [n for n in tree_of(draw(FAMILY, seed))["nodes"] if n["leaf"]]
        return leaves[0]["y"] - leaves[1]["y"], len(leaves)

    (wide, nine), (tight, sixteen) = pitch(3), pitch(4)
    assert (nine, sixteen) == (9, 16)
    assert tight < wide


def _with(change) -> dict:
    params = copy.deepcopy(WORKED)
    change(params)
    return params


@pytest.mark.parametrize(
    "params, field",
    [
        (_with(lambda p: p.update(vocab=["neural net", "network"])), "params.vocab[0]"),
        (_with(lambda p: p.update(vocab=["neural", "neural"])), "params.vocab"),
        (_with(lambda p: p["logp"].pop("neural network")), 'params.logp["neural network"]'),
        (_with(lambda p: p["logp"].update(network=[-0.6])), 'params.logp["network"]'),
        (_with(lambda p: p["logp"].update(network=[-0.6, -0.6])), 'params.logp["network"]'),
        (_with(lambda p: p["logp"].update(network=[-0.605, -0.8])), 'params.logp["network"][0]'),
        (_with(lambda p: p["logp"].update(network=[0.0, -0.8])), 'params.logp["network"][0]'),
        (_with(lambda p: p["logp"].update({"neural neural neural": [-0.6, -0.8]})), "params.logp"),
        (_with(lambda p: p.update(beam_width=9)), "params.beam_width"),
        (_with(lambda p: p.update(depth=6)), "params.depth"),
        (_with(lambda p: p.update(beam_misses_optimum="yes")), "params.beam_misses_optimum"),
    ],
)
def test_bad_params_name_the_field(params, field):
    with pytest.raises(InputError) as caught:
        draw(FAMILY, 0, params)
    assert str(caught.value).startswith(field + ":"), str(caught.value)


def test_a_tie_for_the_beam_is_rejected():
    # "network neural" now totals -0.73 - 0.52 = -1.25, the same as "neural network".
    params = _with(lambda p: p["logp"].update(network=[-0.52, -0.9]))
    with pytest.raises(InputError, match="tie"):
        draw(FAMILY, 0, params)


def test_a_pinned_outcome_that_the_tree_contradicts_is_rejected():
    with pytest.raises(InputError, match="beam_misses_optimum"):
        draw(FAMILY, 0, {**WORKED, "beam_misses_optimum": False})


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a: a["beams"][1].reverse(),
        lambda a: a["beams"][1][1].update(sequence="neural neural", logp=-1.45),
        lambda a: a["beams"][2][0].update(logp=-1.80),
        lambda a: a["best"].update(sequence="neural network network", logp=-1.85),
        lambda a: a["greedy"].update(sequence="neural neural neural", logp=-1.46),
        lambda a: a.update(beam_finds_optimum=True),
        lambda a: a.update(runtime="O(T k^2)"),
    ],
)
def test_check_catches_wrong_answers(tamper):
    fam = get_family(FAMILY)
    params = fam.validate(copy.deepcopy(WORKED))
    answers = fam.solve(params)
    fam.check(params, answers)
    tamper(answers)
    with pytest.raises(AssertionError):
        fam.check(params, answers)
