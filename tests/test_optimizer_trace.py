"""optimizer-trace (issue 19): worked examples with torch.optim's numbers, properties over many seeds, the
card, one test per listed mistake, tampered answers, bad pins and the solution printing answers as asked."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
from conftest import assert_tampering_caught, command_arguments
from hypothesis import given, settings, strategies as st

from qbank import InputError, draw, get_family
from qbank.grading import scoring_mistake
from qbank.labels import leaf_label
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "optimizer-trace"
FAM = get_family(FAMILY)

# ---------------------------------------------------------------- worked examples: torch.optim's numbers

# The same quadratic for every optimizer: A = [[2, 0.5], [0.5, 1]], b = [1, -1], w0 = [1, 2], three steps.
# The literals below are what torch 2.14.1 (CPU, float64) gives, printed to 10 decimals by this script:
#
#   import json, torch
#   torch.set_default_dtype(torch.float64)
#   A = torch.tensor([[2.0, 0.5], [0.5, 1.0]]); b = torch.tensor([1.0, -1.0])
#   cases = {"sgd": lambda p: torch.optim.SGD([p], lr=0.1),
#            "momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.5),
#            "nesterov": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
#            "rmsprop": lambda p: torch.optim.RMSprop([p], lr=0.05, alpha=0.9, eps=0.1, weight_decay=0.1),
#            "adam": lambda p: torch.optim.Adam([p], lr=0.1, betas=(0.9, 0.999), eps=0.01),
#            "adamw": lambda p: torch.optim.AdamW([p], lr=0.1, betas=(0.8, 0.99), eps=0.1, weight_decay=0.2)}
#   for name, make in cases.items():
#       w = torch.tensor([1.0, 2.0], requires_grad=True); opt = make(w)
#       out = {"grads": [], "w": [], "m": [], "v": []}
#       for t in range(3):
#           opt.zero_grad(); (0.5 * w @ A @ w - b @ w).backward()
#           out["grads"].append(w.grad.tolist()); opt.step(); out["w"].append(w.tolist())
#           st = opt.state[w]
#           m = st.get("momentum_buffer", st.get("exp_avg")); v = st.get("square_avg", st.get("exp_avg_sq"))
#           out["m"].append(None if m is None else m.tolist()); out["v"].append(None if v is None else v.tolist())
#       print(name, json.dumps({k: [[round(x, 10) for x in r] if r else r for r in v] for k, v in out.items()}))
#
# (pip install torch into a venv of its own; qbank itself never imports torch.)

QUADRATIC = {"A": [[2, 0.5], [0.5, 1]], "b": [1, -1], "w0": [1, 2], "steps": 3}
NULLS = {"lr": None, "momentum": None, "beta1": None, "beta2": None, "eps": None, "weight_decay": 0}
TORCH = {
    "sgd": ({"lr": 0.1}, {
        "grads": [[2.0, 3.5], [1.425, 3.05], [0.9875, 2.67375]],
        "w": [[0.8, 1.65], [0.6575, 1.345], [0.55875, 1.077625]], "m": None, "v": None}),
    "momentum": ({"lr": 0.1, "momentum": 0.5}, {
        "grads": [[2.0, 3.5], [1.425, 3.05], [0.7, 2.44875]],
        "w": [[0.8, 1.65], [0.5575, 1.17], [0.36625, 0.685125]],
        "m": [[2.0, 3.5], [2.425, 4.8], [1.9125, 4.84875]], "v": None}),
    "nesterov": ({"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}, {
        "grads": [[2.0, 3.5], [0.8505, 2.5975], [-0.244662, 1.608075]],
        "w": [[0.601, 1.297], [0.257886, 0.479132], [0.072623346, -0.326138958]],
        "m": [[2.1, 3.7], [2.8006, 6.0572], [2.3016666, 7.1074682]], "v": None}),
    "rmsprop": ({"lr": 0.05, "beta2": 0.9, "eps": 0.1, "weight_decay": 0.1}, {
        "grads": [[2.0, 3.5], [1.6523268658, 3.2856253753], [1.4143714087, 3.1347139617]],
        "w": [[0.8625795304, 1.8543356101], [0.7697225302, 1.7498526966], [0.6968215073, 1.6633681019]],
        "m": None,
        "v": [[0.441, 1.369], [0.6991677172, 2.4369250139], [0.8516615372, 3.2886434128]]}),
    "adam": ({"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 0.01}, {
        "grads": [[2.0, 3.5], [1.751137475, 3.3505336565], [1.5035329207, 3.2015071415]],
        "w": [[0.9004975124, 1.9002849003], [0.8015882, 1.8007130415], [0.7037836043, 1.7013844829]],
        "m": [[0.2, 0.35], [0.3551137475, 0.6500533657], [0.4699556648, 0.9051987432]],
        "v": [[0.004, 0.01225], [0.0070624825, 0.0234638258], [0.0093160312, 0.0336900099]]}),
    "adamw": ({"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 0.1, "weight_decay": 0.2}, {
        "grads": [[2.0, 3.5], [1.7009126984, 3.3051587302], [1.4109548203, 3.1153611088]],
        "w": [[0.8847619048, 1.8627777778], [0.7732995805, 1.7287113185], [0.6665399864, 1.597973682]],
        "m": [[0.4, 0.7], [0.6601825397, 1.221031746], [0.8103369958, 1.5998976186]],
        "v": [[0.04, 0.1225], [0.0685310401, 0.2305157423], [0.0877536647, 0.3252653333]]}),
}


def params_of(optimizer: str, **change) -> dict:
    hyper, _ = TORCH[optimizer]
    return {"optimizer": optimizer, **NULLS, **hyper, **QUADRATIC, **change}


@pytest.mark.parametrize("optimizer", sorted(TORCH))
def test_torch_optim_gives_the_same_trace(optimizer):
    variant = draw(FAMILY, 0, params_of(optimizer))  # a draw runs the independent check too
    answers = thaw(variant.answers)
    want = TORCH[optimizer][1]
    for name in ("grads", "w", "m", "v"):
        if want[name] is None:
            assert answers[name] is None, name
        else:
            assert np.allclose(answers[name], want[name], atol=2e-10, rtol=0), (name, answers[name])


def test_sgd_by_hand():
    # g1 = A w0 - b = (2 + 1 - 1, 0.5 + 2 + 1) = (2, 3.5); w1 = w0 - 0.1 g1 = (0.8, 1.65);
    # g2 = (1.6 + 0.825 - 1, 0.4 + 1.65 + 1) = (1.425, 3.05); w2 = (0.6575, 1.345).
    params = params_of("sgd", steps=2)
    answers = thaw(draw(FAMILY, 0, params).answers)
    assert np.allclose(answers["grads"], [[2, 3.5], [1.425, 3.05]], atol=1e-12)
    assert np.allclose(answers["w"], [[0.8, 1.65], [0.6575, 1.345]], atol=1e-12)
    assert answers["m"] is None and answers["v"] is None


def test_adam_first_step_by_hand():
    # Adam's first step: m1 = 0.1 g1, v1 = 0.001 g1^2; the corrections give m-hat = g1 and v-hat = g1^2, so
    # w1 = w0 - 0.1 g1 / (|g1| + 0.01): (1 - 0.2/2.01, 2 - 0.35/3.51).
    answers = thaw(draw(FAMILY, 0, params_of("adam")).answers)
    assert answers["m"][0] == pytest.approx([0.2, 0.35]) and answers["v"][0] == pytest.approx([0.004, 0.01225])
    assert answers["w"][0] == pytest.approx([1 - 0.2 / 2.01, 2 - 0.35 / 3.51])


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)
    p, a = thaw(variant.params), thaw(variant.answers)
    opt, n = p["optimizer"], p["steps"]
    A, b = np.array(p["A"], dtype=float), np.array(p["b"], dtype=float)
    assert A[0, 1] == A[1, 0] and np.all(np.linalg.eigvalsh(A) > 0)
    assert n in (2, 3) and all(len(a[name]) == n for name in ("grads", "w"))
    # every param the optimizer does not take is null, every one it takes is given
    uses = {"sgd": {"lr", "weight_decay"}, "momentum": {"lr", "momentum", "weight_decay"},
            "nesterov": {"lr", "momentum", "weight_decay"}, "rmsprop": {"lr", "beta2", "eps", "weight_decay"},
            "adam": {"lr", "beta1", "beta2", "eps", "weight_decay"}, "adamw": {"lr", "beta1", "beta2", "eps", "weight_decay"}}
    for name in ("lr", "momentum", "beta1", "beta2", "eps", "weight_decay"):
        assert (p[name] is not None) == (name in uses[opt]), (opt, name)
    assert (a["m"] is None) == (opt in ("sgd", "rmsprop")) and (a["v"] is None) == (opt in ("sgd", "momentum", "nesterov"))
    # each gradient is A w - b at the step's starting point
    starts = [p["w0"], *a["w"][:-1]]
    for g, w in zip(a["grads"], starts):
        assert np.allclose(g, A @ np.array(w) - b, atol=1e-12)
    if a["v"] is not None:
        assert all(x > 0 for row in a["v"] for x in row)
    if opt in ("adam", "adamw"):  # the first step moves each coordinate by lr |g| / (|g| + eps), minus the decay
        g = np.array(a["grads"][0])
        decay = p["lr"] * p["weight_decay"] * np.array(p["w0"]) if opt == "adamw" else 0
        step = np.array(p["w0"]) - decay - np.array(a["w"][0])
        assert np.allclose(step, p["lr"] * g / (np.abs(g) + p["eps"]))


def test_draws_cover_every_optimizer_and_scoring_mistakes_never_pass():
    seen = set()
    for seed in range(300):
        variant = draw(FAMILY, seed)
        params, answers = thaw(variant.params), thaw(variant.answers)
        seen.add((params["optimizer"], params["weight_decay"] != 0))
        assert scoring_mistake(FAM, params, answers) is None
    assert {opt for opt, _ in seen} == {"sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"}
    assert ("adamw", False) not in seen and ("adam", True) not in seen  # AdamW always decays, drawn Adam never


def test_samples_are_mostly_usable():
    refused = sum(FAM.degenerate(FAM.validate(FAM.sample(np.random.default_rng(s)))) is not None for s in range(600))
    assert refused < 150


# ---------------------------------------------------------------- the mistakes

# For each listed mistake, params on which it scores (found by drawing; mu = 0 makes the dampened buffer the
# same): a family that knows only that mistake names it, and the family refuses the params as degenerate.
SCORED = {
    "Adam's bias correction left out": {
        "optimizer": "adamw", "lr": 0.05, "momentum": None, "beta1": 0.9, "beta2": 0.99, "eps": 0.1,
        "weight_decay": 0.2, "A": [[3, -1], [-1, 3]], "b": [2, -1], "w0": [-1, 0], "steps": 3},
    "eps added inside the square root": {
        "optimizer": "adamw", "lr": 0.2, "momentum": None, "beta1": 0.8, "beta2": 0.99, "eps": 0.01,
        "weight_decay": 0.1, "A": [[2, -0.5], [-0.5, 2]], "b": [-1, 0], "w0": [-1, 0], "steps": 2},
    "Nesterov's look-ahead left out (the plain momentum update)": {
        "optimizer": "nesterov", "lr": 0.1, "momentum": 0.5, "beta1": None, "beta2": None, "eps": None,
        "weight_decay": 0, "A": [[3, 1], [1, 1]], "b": [0, -2], "w0": [0, 1], "steps": 2},
    "the momentum buffer averaged, b = mu b + (1 - mu) g (dampening 1 - mu)": {
        "optimizer": "momentum", "lr": 0.1, "momentum": 0, "beta1": None, "beta2": None, "eps": None,
        "weight_decay": 0, "A": [[3, 1], [1, 1]], "b": [0, -2], "w0": [0, 1], "steps": 2},
    "the weight decay left out": {
        "optimizer": "rmsprop", "lr": 0.1, "momentum": None, "beta1": None, "beta2": 0.9, "eps": 0.01,
        "weight_decay": 0.1, "A": [[4, 1], [1, 1]], "b": [1, -2], "w0": [-2, -2], "steps": 3},
    "AdamW's decay added to the gradient, or Adam's decoupled": {
        "optimizer": "adamw", "lr": 0.05, "momentum": None, "beta1": 0.8, "beta2": 0.99, "eps": 0.01,
        "weight_decay": 0.2, "A": [[1, 0.5], [0.5, 3]], "b": [1, -1], "w0": [0, -2], "steps": 3},
    "the gradient given with the weight decay added": {
        "optimizer": "nesterov", "lr": 0.1, "momentum": 0.5, "beta1": None, "beta2": None, "eps": None,
        "weight_decay": 0.1, "A": [[3, -0.5], [-0.5, 3]], "b": [2, 1], "w0": [-2, -1], "steps": 3},
}


def test_every_mistake_has_a_scoring_draw():
    assert set(SCORED) == set(FAM.mistakes) and len(FAM.mistakes) == 7


@pytest.mark.parametrize("mistake", sorted(SCORED))
def test_a_draw_a_mistake_scores_on_is_refused(mistake):
    only = type("OneMistake", (type(FAM),), {"mistakes": {mistake: FAM.mistakes[mistake]}})()
    params = FAM.validate(copy.deepcopy(SCORED[mistake]))
    reason = scoring_mistake(only, params, FAM.solve(params))
    assert reason and f"the mistake '{mistake}'" in reason
    with pytest.raises(InputError, match="degenerate"):
        draw(FAMILY, 0, SCORED[mistake])


@pytest.mark.parametrize("optimizer", sorted(TORCH))
def test_each_mistake_that_applies_changes_the_worked_example(optimizer):
    params = FAM.validate(params_of(optimizer))
    right = FAM.solve(params)
    applied = 0
    for mistake, wrong_of in FAM.mistakes.items():
        wrong = wrong_of(params)
        for name, value in wrong.items():
            applied += 1
            numbers = [(w, r) for row, rrow in zip(value, right[name]) for w, r in zip(row, rrow) if w is not None]
            assert numbers and not any(FAM.answers[name].grading.accepts(r, w) for w, r in numbers), (mistake, name)
    assert applied >= {"sgd": 0, "momentum": 2, "nesterov": 5, "rmsprop": 4, "adam": 2, "adamw": 6}[optimizer]


def test_which_mistakes_apply():
    def names(optimizer, **change):
        params = FAM.validate(params_of(optimizer, **change))
        return {m for m, f in FAM.mistakes.items() if f(params)}

    assert names("sgd") == set()
    assert names("sgd", weight_decay=0.1) == {"the weight decay left out", "the gradient given with the weight decay added"}
    assert "Nesterov's look-ahead left out (the plain momentum update)" in names("nesterov")
    assert names("adam") == {"Adam's bias correction left out", "eps added inside the square root"}
    assert "AdamW's decay added to the gradient, or Adam's decoupled" in names("adam", weight_decay=0.1)


# ---------------------------------------------------------------- refusals and pins


@pytest.mark.parametrize("change, field", [
    ({"optimizer": "adagrad"}, "params.optimizer:"),
    ({"A": [[2, 0.5], [0.4, 1]]}, "params.A: expected a symmetric matrix"),
    ({"A": [[1, 2], [2, 1]]}, "params.A: expected a positive definite matrix"),
    ({"A": [[2, 0.5]]}, "params.A:"),
    ({"b": [1, 2, 3]}, "params.b:"),
    ({"w0": [1, "2"]}, r"params.w0\[1\]:"),
    ({"steps": 4}, "params.steps:"),
    ({"lr": 0}, "params.lr: expected a number above 0"),
    ({"beta1": 1.5}, "params.beta1:"),
])
def test_bad_pins_name_the_field(change, field):
    with pytest.raises(InputError, match=field):
        draw(FAMILY, 0, {**params_of("adam"), **change})


def test_refused_draws_say_why():
    with pytest.raises(InputError, match="momentum must be null for adam, which takes lr, beta1, beta2, eps, weight_decay"):
        draw(FAMILY, 0, params_of("adam", momentum=0.9))
    with pytest.raises(InputError, match="adam needs beta1, null here"):
        draw(FAMILY, 0, params_of("adam", beta1=None))
    with pytest.raises(InputError, match="AdamW with weight_decay = 0 is Adam"):
        draw(FAMILY, 0, params_of("adamw", weight_decay=0))
    with pytest.raises(InputError, match="a zero entry"):
        draw(FAMILY, 0, params_of("sgd", w0=[1, -1.5]))  # g1 = (2 - 0.75 - 1, 0.5 - 1.5 + 1) = (0.25, 0)
    with pytest.raises(InputError, match="run past 20"):
        draw(FAMILY, 0, params_of("sgd", lr=1, A=[[8, 0.5], [0.5, 1]]))


def test_a_pinned_optimizer_alone_draws():
    for optimizer in sorted(TORCH):
        for seed in range(5):
            assert thaw(draw(FAMILY, seed, {"optimizer": optimizer}).params)["optimizer"] == optimizer


def test_check_rejects_tampered_answers():
    params = FAM.validate(params_of("adamw"))
    assert_tampering_caught(FAM, params, [
        (lambda a: a["grads"][1].__setitem__(0, a["grads"][1][0] + 1e-3), r"grads\[1\]\[0\]"),
        (lambda a: a["w"][2].__setitem__(1, a["w"][2][1] - 1e-4), r"w\[2\]\[1\]"),
        (lambda a: a["m"][0].__setitem__(0, 2.0), r"m\[0\]\[0\]"),  # the gradient for the raw moment
        (lambda a: a["v"].__setitem__(0, [4.0, 12.25]), r"v\[0\]\[0\]"),  # the corrected moment
        (lambda a: a.__setitem__("w", a["w"][:2]), "w: expected 3 entries"),
    ])
    sgd = FAM.validate(params_of("sgd"))
    assert_tampering_caught(FAM, sgd, [(lambda a: a.__setitem__("m", [[0, 0]] * 3), "m: sgd has no such state")])


# ---------------------------------------------------------------- the card


def test_the_card():
    assert {name: a.grading.describe() for name, a in FAM.answers.items()} == {
        "grads": "4 decimal places", "m": "4 significant digits", "v": "4 significant digits", "w": "4 decimal places"}
    assert leaf_label("c", "w", FAM.answers["w"], ["1", "0"], [[1, 2], [3, 4]]) == "(c) w, after step 2, coordinate 1"
    adam, sgd = FAM.validate(params_of("adam")), FAM.validate(params_of("sgd"))
    assert [part.answers for part in FAM.parts(adam)] == [("grads",), ("m", "v"), ("w",)]
    assert [part.answers for part in FAM.parts(sgd)] == [("grads",), ("w",)]
    assert FAM.structure_of(adam) == {"optimizer": "adam", "steps": 3, "decay": False}
    assert FAM.asks_of(adam) == ("optimizer-update-trace", "adam-update")
    assert FAM.reveals_of(adam) == ("adam-bias-correction",) and FAM.reveals_of(sgd) == ()


def test_minutes_follow_the_structure():
    by_structure: dict = {}
    for seed in range(300):
        params = thaw(draw(FAMILY, seed).params)
        key = tuple(sorted(FAM.structure_of(params).items()))
        by_structure.setdefault(key, set()).add((FAM.minutes(params), tuple(p.weight for p in FAM.parts(params))))
    assert all(len(v) == 1 for v in by_structure.values()), by_structure
    minutes = {k: next(iter(v))[0] for k, v in by_structure.items()}
    assert 3 <= min(minutes.values()) and max(minutes.values()) <= 16


def test_each_part_states_its_precision_and_the_solution_prints_it():
    assert_parts_state_their_precision_any_parts(40)


def assert_parts_state_their_precision_any_parts(seeds):
    """As conftest's helper, for a family whose number of parts depends on the optimizer (2 or 3)."""
    by_parts: dict[int, list[int]] = {}
    for seed in range(seeds):
        by_parts.setdefault(len(FAM.parts(thaw(draw(FAMILY, seed).params))), []).append(seed)
    assert set(by_parts) == {2, 3}
    for count in (2, 3):
        # conftest's helper runs seeds 0..n-1: give it the ones of this part count through a family view
        for seed in by_parts[count][:8]:
            variant = draw(FAMILY, seed)
            params, answers = thaw(variant.params), thaw(variant.answers)
            parts = FAM.parts(params)
            problem, solution = render_fragments(variant, part_points=[1] * len(parts))
            texts = re.split(r"\\part\[1\]", problem)[1:]
            assert len(texts) == count
            from qbank.grading import number_leaves, part_statement

            for text, part in zip(texts, parts):
                statement = part_statement(FAM, answers, part.answers)
                assert statement and statement in text and "decimal places" not in text.replace(statement, "")
            boxes = "\n".join(command_arguments(solution, "qbankanswer"))
            for name in FAM.answers:
                if answers[name] is None:
                    continue
                precision = FAM.answers[name].grading
                for _, value in number_leaves(answers[name]):
                    if value != 0:
                        assert precision.latex(value) in boxes, (seed, name, value)


def test_the_solution_shows_the_torch_example():
    variant = draw(FAMILY, 0, params_of("adam"))
    problem, solution = render_fragments(variant, part_points=[1, 1, 1])
    assert "outside the square root" in problem and "counted from 1" in problem
    assert r"\VAR" not in solution and "Step 3." in solution
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert "0.9005" in boxes and "0.004000" in boxes and "0.009316" in boxes  # w1, v1, v3 at their precisions
    assert not math.isnan(FAM.minutes(FAM.validate(params_of("adam"))))
