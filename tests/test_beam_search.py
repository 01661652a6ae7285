"""beam-search: the seed's worked example, properties over many seeds, the card, pinning and bad params."""

from __future__ import annotations

import collections
import copy
import functools
import json
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank.engine import draw
from qbank.errors import InputError
from qbank.registry import get_family
from qbank.render import render_fragment, render_fragments

FAMILY = "beam-search"
# Every (M, T, k) the sampler draws: k from 2 to 3 and below M, M**T leaves that fit the figure.
DRAWN_SHAPES = {(3, 2, 2), (3, 3, 2), (4, 2, 2), (4, 2, 3)}

# The tree of the worked problem: two tokens, three steps, beam width 2. The seed gives the root, the two
# children and "neural neural"; the other three rows are filled in to agree with its answers.
WORKED = {
    "vocab": ["neural", "network"],
    "depth": 3,
    "beam_width": 2,
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


@functools.lru_cache(maxsize=None)
def drawn(seed: int):
    """The variant of a seed, drawn once for the whole module (several tests look at the same seeds)."""
    return draw(FAMILY, seed)


def shape(params) -> tuple[int, int, int]:
    return len(params["vocab"]), params["depth"], params["beam_width"]


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
    # Issue 8: this needed beam_misses_optimum pinned to false; the four tree params alone must do.
    params = {**WORKED, "beam_width": 4}
    answers = draw(FAMILY, 0, params).to_dict()["answers"]
    assert answers["beam_result"] == hyp("neural neural neural", -1.46)
    assert answers["beam_finds_optimum"] is True


# ---------------------------------------------------------------- issue 8: variant quality


def test_beam_misses_optimum_is_not_a_param():
    """Issue 8: the outcome was a param a user had to pin (and contradict at their peril)."""
    assert "beam_misses_optimum" not in draw(FAMILY, 5).params
    with pytest.raises(InputError, match="unknown field beam_misses_optimum"):
        draw(FAMILY, 0, {**WORKED, "beam_misses_optimum": True})


def outcomes_by_shape(seeds) -> dict[tuple, collections.Counter]:
    counts: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for seed in seeds:
        variant = draw(FAMILY, seed)
        counts[shape(variant.params)][variant.answers["beam_finds_optimum"]] += 1
    return counts


@pytest.mark.parametrize("start", [0, 10**6, 987_654_321])  # fixed: a rate test must not flake
def test_whether_beam_search_finds_the_optimum_is_drawn_about_half_the_time_for_each_shape(start):
    """Issue 8: the sampler always built a trap, so the answer to "does beam search find it?" was always no.
    (Over 3,000 seeds the rates per shape are 0.46 to 0.51.)"""
    counts = outcomes_by_shape(range(start, start + 640))
    assert set(counts) == DRAWN_SHAPES
    for where, count in counts.items():
        n = sum(count.values())
        assert n >= 120, f"shape {where} drawn only {n} times in 640"
        assert 0.35 <= count[True] / n <= 0.65, f"shape {where}: beam finds the optimum {count[True]} of {n} times"


def test_beam_width_and_vocabulary_size_vary_with_k_below_m():
    """Issue 8: k was always 2 and M mostly 2 (so the first step kept everything)."""
    shapes = collections.Counter(shape(drawn(seed).params) for seed in range(400))
    assert set(shapes) == DRAWN_SHAPES
    assert min(shapes.values()) >= 60, shapes  # about uniform, so a structure is never rare
    for m, depth, k in shapes:
        assert 2 <= k <= 3 and 2 <= m <= 4 and k < m
        assert m**depth <= 27


def test_the_runtime_solution_follows_the_algorithm_the_problem_states():
    """Issue 8: the problem extends every hypothesis by all M tokens (k M candidates) but the run-time
    solution sorted each hypothesis's scores and then k^2 candidates (the course's other variant)."""
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert "extended by each of the $M$ tokens" in problem
    runtime = solution[solution.rindex("\\part") :]
    assert "k^2" not in runtime and "k \\cdot k" not in runtime
    assert "$k M$ candidates" in runtime and "O(k M \\log (k M))" in runtime
    assert "\\qbankanswer{$O(T\\,k\\,M \\log M)$.}" in runtime


def test_greedy_and_beam_search_agree_about_half_the_time_whatever_the_outcome():
    """Look-alike of the issue-8 defect: with the old sampler greedy decoding ended where beam search did 80 % of
    the time (90 % when beam search missed the optimum), and never found the optimum."""
    same: dict[tuple, list[bool]] = collections.defaultdict(list)
    greedy_optimal = 0
    for seed in range(640):
        variant = drawn(seed)
        answers = variant.answers
        agree = answers["greedy"] == answers["beam_result"]
        same[shape(variant.params), answers["beam_finds_optimum"]].append(agree)
        greedy_optimal += answers["greedy"] == answers["best"]
    for where, agree in same.items():
        assert 0.3 <= sum(agree) / len(agree) <= 0.7, (where, sum(agree), len(agree))
    assert 0.15 <= greedy_optimal / 640 <= 0.35


def test_a_confident_edge_does_not_give_the_outcome_away():
    """The trap is a confident next-token distribution (0.78 or more for one token) under a pruned prefix; trees
    where beam search finds the optimum have one too (under a kept prefix), and how many confident rows a tree
    shows depends on its shape only, so counting them tells nothing."""
    counts: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for seed in range(600):
        variant = drawn(seed)
        confident = sum(max(row) >= math.log(0.78) - 0.005 for row in variant.params["logp"].values())
        assert confident >= 1, seed
        counts[shape(variant.params), variant.answers["beam_finds_optimum"]][confident] += 1
    for where in DRAWN_SHAPES:
        (usual, _), *_ = counts[where, True].most_common()
        for finds in (True, False):
            count = counts[where, finds]
            assert count[usual] >= 0.9 * sum(count.values()), (where, finds, count)


def test_the_most_confident_edge_is_no_sure_way_to_the_optimum():
    """Look-alike of the issue-8 defect: the optimum always ran through the tree's most confident edge. Where the
    beam drops more than one prefix, a decoy (a second confident row under another dropped prefix) breaks that.
    With one dropped prefix (M = 3, k = 2 and M = 4, k = 3 at T = 2) it cannot be helped: a trap needs the only
    dropped prefix, and a confident row under a kept one would be the optimum."""
    through: dict[tuple, list[bool]] = collections.defaultdict(list)
    for seed in range(500):
        variant = drawn(seed)
        params, best = variant.params, variant.answers["best"]["sequence"].split()
        vocab, logp = params["vocab"], params["logp"]
        terms = [logp[" ".join(best[:i])][vocab.index(best[i])] for i in range(len(best))]
        through[shape(params)].append(max(terms) == max(x for row in logp.values() for x in row))
    for where in ((3, 3, 2), (4, 2, 2)):
        rate = sum(through[where]) / len(through[where])
        assert 0.4 <= rate <= 0.8, (where, rate)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6))
def test_drawn_variants_verify_and_are_well_formed(seed):
    variant = draw(FAMILY, seed)  # draw() runs the independent check
    data = json.loads(variant.to_json())
    params, answers = data["params"], data["answers"]
    m, depth, width = shape(params)
    assert (m, depth, width) in DRAWN_SHAPES
    assert len(params["logp"]) == sum(m**t for t in range(depth))
    assert (answers["beam_result"] == answers["best"]) is answers["beam_finds_optimum"]
    assert answers["beam_result"]["logp"] <= answers["best"]["logp"]
    assert answers["greedy"]["logp"] <= answers["best"]["logp"]
    for t, beam in enumerate(answers["beams"], start=1):
        assert len(beam) == min(width, m**t) == width  # every step prunes (k < M)
        assert all(len(h["sequence"].split()) == t for h in beam)
        totals = [h["logp"] for h in beam]
        assert totals == sorted(totals, reverse=True)
    for row in params["logp"].values():
        assert all(x < 0 and round(x, 2) == x for x in row)
        assert abs(sum(math.exp(x) for x in row) - 1) <= 0.02


def test_the_sampler_returns_trees_the_engine_never_rejects():
    """The sampler settles the outcome and avoids ties itself, so the engine's rejection loop does not bias the
    drawn outcome (and a structure-held draw stays cheap)."""
    fam = get_family(FAMILY)
    from qbank.engine import rng_for

    for seed in range(200):
        params = fam.validate(fam.sample(rng_for(FAMILY, seed)))
        assert fam.degenerate(params) is None, seed


# ---------------------------------------------------------------- the card: structure, parts, minutes


def test_same_seed_same_variant_same_latex():
    first, again = draw(FAMILY, 17), draw(FAMILY, 17)
    assert first.to_json() == again.to_json()
    points = [1] * len(get_family(FAMILY).parts(first.params))
    assert render_fragments(first, part_points=points) == render_fragments(again, part_points=points)


def test_structure_is_vocabulary_size_depth_and_beam_width():
    fam = get_family(FAMILY)
    assert fam.structure_of(draw(FAMILY, 0, WORKED).params) == {"vocab": [2], "depth": 3, "beam_width": 2}
    assert fam.asks and fam.reveals
    assert "beam-search-runtime" in fam.asks


def test_parts_beams_with_a_subpart_per_step_then_greedy_optimum_runtime():
    fam = get_family(FAMILY)
    params = draw(FAMILY, 0, WORKED).params
    parts = fam.parts(params)
    assert [p.answers for p in parts] == [
        ("beams",),
        ("greedy",),
        ("best", "beam_result", "beam_finds_optimum"),
        ("runtime",),
    ]
    weights = [p.weight for p in parts]
    assert all(isinstance(w, int) and w > 0 for w in weights)
    # Step 1 ranks M = 2 candidates, steps 2 and 3 rank k M = 4 each; the optimum compares 8 leaves.
    assert weights[0] > weights[1] and weights[1] < weights[2]
    assert fam.minutes(params) == pytest.approx((60 + sum(weights)) / 60)
    problem, _ = render_fragments(draw(FAMILY, 0, WORKED), part_points=[1] * len(parts))
    assert problem.count("\\subpart") == params["depth"]


@pytest.mark.parametrize("seed", range(8))
def test_parts_match_the_template_and_cover_every_answer(seed):
    fam = get_family(FAMILY)
    variant = draw(FAMILY, seed)
    parts = fam.parts(variant.params)
    assert len(parts) == 4
    problem, _ = render_fragments(variant, part_points=[1] * len(parts))  # FamilyError on a mismatch
    assert problem.count("\\part[1]") == len(parts)
    asked = [name for p in parts for name in p.answers]
    assert sorted(asked) == sorted(name for name, value in variant.answers.items() if value is not None)


def test_minutes_by_shape_are_realistic_and_grow_with_the_work():
    fam = get_family(FAMILY)
    minutes = {}
    for seed in range(200):
        variant = drawn(seed)
        minutes.setdefault(shape(variant.params), set()).add(fam.minutes(variant.params))
    assert all(len(values) == 1 for values in minutes.values()), minutes
    m = {where: values.pop() for where, values in minutes.items()}
    assert all(5 <= value <= 12 for value in m.values()), m
    assert m[3, 2, 2] < m[4, 2, 2] < m[4, 2, 3] < m[3, 3, 2]


def test_structure_held_draws_keep_the_shape_and_minutes_and_change_the_numbers():
    fam = get_family(FAMILY)
    started = time.perf_counter()
    outcomes = collections.Counter()
    for ref_seed in range(20):
        ref = draw(FAMILY, ref_seed)
        structure = fam.structure_of(ref.params)
        for version in range(5):
            variant = draw(FAMILY, 1000 + 37 * ref_seed + version, structure=structure)
            assert fam.structure_of(variant.params) == structure
            assert fam.minutes(variant.params) == fam.minutes(ref.params)
            assert [p.weight for p in fam.parts(variant.params)] == [p.weight for p in fam.parts(ref.params)]
            assert variant.params["logp"] != ref.params["logp"]
            outcomes[variant.answers["beam_finds_optimum"]] += 1
    assert time.perf_counter() - started < 10
    assert min(outcomes.values()) >= 30, outcomes  # the outcome is not part of the structure: it still varies


# ---------------------------------------------------------------- rendering and the figure


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_fragments_render_without_leftover_template_syntax(seed):
    variant = draw(FAMILY, seed)
    for part in ("problem", "solution"):
        text = render_fragment(variant, part)
        assert "\\VAR" not in text and "\\BLOCK" not in text
        assert "\\begin{tikzpicture}" in text and "forest" not in text
        assert all(token in text for token in variant.params["vocab"])


def test_the_solution_explains_the_outcome_it_has():
    seen = set()
    for seed in range(40):
        variant = drawn(seed)
        solution = render_fragment(variant, "solution")
        finds = variant.answers["beam_finds_optimum"]
        assert ("does \\textbf{not} return it" in solution) is not finds
        assert ("search \\textbf{does} return it here" in solution) is finds
        seen.add(finds)
    assert seen == {True, False}


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


def seed_of_shape(where: tuple[int, int, int]) -> int:
    return next(seed for seed in range(200) if shape(drawn(seed).params) == where)


@pytest.mark.parametrize("where", sorted(DRAWN_SHAPES))
def test_tree_layout_one_node_per_prefix_parents_centred_leaves_evenly_spaced(where):
    variant = draw(FAMILY, seed_of_shape(where))
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


def test_leaves_sit_closer_in_a_bigger_tree():
    def pitch(where) -> tuple[float, int]:
        leaves = [n for n in tree_of(draw(FAMILY, seed_of_shape(where)))["nodes"] if n["leaf"]]
        return leaves[0]["y"] - leaves[1]["y"], len(leaves)

    (wide, nine), (tight, sixteen), (tightest, many) = pitch((3, 2, 2)), pitch((4, 2, 2)), pitch((3, 3, 2))
    assert (nine, sixteen, many) == (9, 16, 27)
    assert tightest < tight < wide
    assert 27 * tightest <= 150  # mm: the tallest tree leaves room for the problem text on its page


# ---------------------------------------------------------------- bad params and the check


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
