"""gated-rnn-cell: hand-worked GRU and UGRNN steps, the library's GRU, pins of the other cell's gates, one test
per mistake and per degenerate rule, and properties over many seeds."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.grading import rounding_trap, scoring_mistake
from qbank.labels import form_hint
from qbank.model import thaw
from qbank.render import render_fragments

FAMILY = "gated-rnn-cell"
SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=40, deadline=None)
NULL_GRU = {"Wx_G1": None, "Wh_G1": None, "b_G1": None, "Wx_G2": None, "Wh_G2": None, "b_G2": None}
NULL_UGRNN = {"Wx_G": None, "Wh_G": None, "b_G": None}
GATES = {"gru": ("G1", "G2", "R"), "ugrnn": ("G", "R")}


def sigma(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def answers_for(params):
    return thaw(draw(FAMILY, 0, params).answers)


# ---------------------------------------------------------------- worked by hand

UGRNN = {"cell": "ugrnn", "x": [0.4], "h_prev": [0.2], **NULL_GRU,
         "Wx_G": [[0.5]], "Wh_G": [[1]], "b_G": [0.1], "Wx_R": [[1]], "Wh_R": [[0.5]], "b_R": [0.1], "dh": [1]}


def test_ugrnn_step_worked_by_hand():
    ans = answers_for(UGRNN)
    # a_G = 0.5 * 0.4 + 1 * 0.2 + 0.1 = 0.5, a_R = 1 * 0.4 + 0.5 * 0.2 + 0.1 = 0.6
    g, r = sigma(0.5), math.tanh(0.6)
    h = g * 0.2 + (1 - g) * r
    assert ans["G"] == pytest.approx([g]) and ans["R"] == pytest.approx([r]) and ans["h"] == pytest.approx([h])
    # dL/dG = dh (h_prev - R); dL/dR = dh (1 - G); through the slopes G (1 - G) and 1 - R^2
    da_g = (0.2 - r) * g * (1 - g)
    da_r = (1 - g) * (1 - r**2)
    assert ans["db_G"] == pytest.approx([da_g]) and ans["db_R"] == pytest.approx([da_r])
    assert ans["dWx_G"] == [[pytest.approx(da_g * 0.4)]] and ans["dWh_G"] == [[pytest.approx(da_g * 0.2)]]
    assert ans["dWx_R"] == [[pytest.approx(da_r * 0.4)]] and ans["dWh_R"] == [[pytest.approx(da_r * 0.2)]]
    # dh_prev: the direct path G, and back through W_h of the gate (1) and of the candidate (0.5)
    assert ans["dh_prev"] == pytest.approx([g + 1 * da_g + 0.5 * da_r])
    assert ans["dx"] == pytest.approx([0.5 * da_g + 1 * da_r])
    # the same at the precision asked, as a calculator gives them (sigma(0.5) = 0.622459, tanh(0.6) = 0.537050)
    shown = {k: round(ans[k][0], 4) for k in ("G", "R", "h")}
    assert shown == {"G": 0.6225, "R": 0.537, "h": 0.3272}
    assert [f"{ans[k][0]:.3g}" for k in ("db_G", "db_R", "dh_prev", "dx")] == ["-0.0792", "0.269", "0.678", "0.229"]
    for name in ("G1", "G2", *(f"{kind}_{g}" for g in ("G1", "G2") for kind in ("dWx", "dWh", "db"))):
        assert ans[name] is None, name


GRU = {"cell": "gru", "x": [0.5], "h_prev": [0.4], "Wx_G1": [[0.2]], "Wh_G1": [[0.5]], "b_G1": [0.1],
       "Wx_G2": [[-0.4]], "Wh_G2": [[1]], "b_G2": [0.3], **NULL_UGRNN, "Wx_R": [[1]], "Wh_R": [[-0.5]], "b_R": [0],
       "dh": [1]}


def test_gru_step_worked_by_hand():
    ans = answers_for(GRU)
    # a_G1 = 0.2 * 0.5 + 0.5 * 0.4 + 0.1 = 0.4; a_G2 = -0.4 * 0.5 + 1 * 0.4 + 0.3 = 0.5
    g1, g2 = sigma(0.4), sigma(0.5)
    reset = g1 * 0.4  # h' = G1 h_prev
    r = math.tanh(1 * 0.5 - 0.5 * reset + 0)
    h = (1 - g2) * 0.4 + g2 * r
    assert (ans["G1"], ans["G2"]) == (pytest.approx([g1]), pytest.approx([g2]))
    assert ans["R"] == pytest.approx([r]) and ans["h"] == pytest.approx([h])
    da_r = g2 * (1 - r**2)  # dL/dR = dh G2
    da_2 = (r - 0.4) * g2 * (1 - g2)  # dL/dG2 = dh (R - h_prev)
    d_reset = -0.5 * da_r  # dL/dh' = Wh_R^T da_R
    da_1 = d_reset * 0.4 * g1 * (1 - g1)  # dL/dG1 = dL/dh' h_prev
    assert ans["db_R"] == pytest.approx([da_r]) and ans["db_G2"] == pytest.approx([da_2])
    assert ans["db_G1"] == pytest.approx([da_1])
    assert ans["dWh_R"] == [[pytest.approx(da_r * reset)]]  # the reset state, not h_prev
    assert ans["dWx_R"] == [[pytest.approx(da_r * 0.5)]] and ans["dWh_G1"] == [[pytest.approx(da_1 * 0.4)]]
    # dh_prev: direct (1 - G2), through the reset state (dL/dh' G1), through each gate's W_h
    assert ans["dh_prev"] == pytest.approx([(1 - g2) + d_reset * g1 + 0.5 * da_1 + 1 * da_2])
    assert ans["dx"] == pytest.approx([1 * da_r + 0.2 * da_1 - 0.4 * da_2])
    shown = {k: round(ans[k][0], 4) for k in ("G1", "G2", "R", "h")}
    assert shown == {"G1": 0.5987, "G2": 0.6225, "R": 0.3629, "h": 0.3769}
    assert [f"{ans[k][0]:.3g}" for k in ("db_G1", "db_G2", "db_R", "dh_prev", "dx")] == [
        "-0.026", "-0.00871", "0.54", "0.194", "0.539"]
    assert ans["G"] is None and ans["dWx_G"] is None


def test_two_units_follow_the_matrix_formulas():
    """H = D = 2: the GRU's gradients as matrix products written out here with numpy (transposes where they
    belong), on drawn variants."""
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for seed in range(10):
        v = draw(FAMILY, seed, {"cell": "gru"}, structure={"h_prev": [2], "x": [2]})
        ans = thaw(v.answers)
        A = {k: np.array(val, dtype=float) for k, val in thaw(v.params).items() if val is not None and k != "cell"}
        g1 = s(A["Wx_G1"] @ A["x"] + A["Wh_G1"] @ A["h_prev"] + A["b_G1"])
        g2 = s(A["Wx_G2"] @ A["x"] + A["Wh_G2"] @ A["h_prev"] + A["b_G2"])
        reset = g1 * A["h_prev"]
        r = np.tanh(A["Wx_R"] @ A["x"] + A["Wh_R"] @ reset + A["b_R"])
        assert np.allclose(ans["h"], (1 - g2) * A["h_prev"] + g2 * r)
        da_r = A["dh"] * g2 * (1 - r**2)
        da_2 = A["dh"] * (r - A["h_prev"]) * g2 * (1 - g2)
        d_reset = A["Wh_R"].T @ da_r
        da_1 = d_reset * A["h_prev"] * g1 * (1 - g1)
        assert np.allclose(ans["dWh_R"], np.outer(da_r, reset)) and np.allclose(ans["dWx_G2"], np.outer(da_2, A["x"]))
        dh_prev = A["dh"] * (1 - g2) + d_reset * g1 + A["Wh_G1"].T @ da_1 + A["Wh_G2"].T @ da_2
        assert np.allclose(ans["dh_prev"], dh_prev)
        assert np.allclose(ans["dx"], A["Wx_R"].T @ da_r + A["Wx_G1"].T @ da_1 + A["Wx_G2"].T @ da_2)


def test_the_library_gru_is_the_same_cell_with_the_update_gate_negated():
    """PyTorch's h = (1 - z) n + z h_prev with z = sigma(-a_G2): the course's GRU (for H = 1 the reset gate's
    place does not matter). With z = G2 itself, the library's form gives another h: the listed mistake."""
    ans = answers_for(GRU)
    a2 = -0.4 * 0.5 + 1 * 0.4 + 0.3
    z = sigma(-a2)
    n = ans["R"][0]
    assert (1 - z) * n + z * 0.4 == pytest.approx(ans["h"][0])
    fam = get_family(FAMILY)
    mistake = fam.mistakes["the library's GRU: h = G2 h_prev + (1 - G2) R (for the UGRNN: the gate's roles swapped)"]
    assert mistake(GRU)["h"][0] == pytest.approx((1 - sigma(a2)) * n + sigma(a2) * 0.4)


def test_with_two_units_the_reset_gate_before_or_after_the_product_differs():
    """The libraries' reset gate acts on W_h h_prev; the course's on h_prev: with two units the two differ."""
    fam = get_family(FAMILY)
    mistake = fam.mistakes["the reset gate after the recurrent product, G1 (Wh_R h_prev)"]
    for seed in range(30):
        params = thaw(draw(FAMILY, seed, {"cell": "gru"}, structure={"h_prev": [2]}).params)
        assert all(abs(a - b) > 5e-5 for a, b in zip(mistake(params)["R"], answers_for(params)["R"]))
    assert mistake(GRU) == {}  # one unit: the same by nature


# ---------------------------------------------------------------- params: cells, pins, nulls


def test_sample_returns_every_param_with_the_other_cells_null():
    fam = get_family(FAMILY)
    for seed in range(40):
        params = fam.sample(np.random.default_rng(seed))
        assert set(params) == {"cell", "x", "h_prev", "dh", *(f"{k}_{g}" for g in ("G1", "G2", "G", "R")
                                                                for k in ("Wx", "Wh", "b"))}
        own = GATES[params["cell"]]
        for gate in ("G1", "G2", "G", "R"):
            assert (params[f"Wx_{gate}"] is None) == (gate not in own), (seed, gate)


def test_a_pinned_cell_draws_params_that_fit_it():
    for cell in ("gru", "ugrnn"):
        for seed in range(25):
            v = draw(FAMILY, seed, {"cell": cell})
            assert v.params["cell"] == cell
            other = [g for g in ("G1", "G2", "G") if g not in GATES[cell]]
            assert all(v.params[f"Wx_{g}"] is None and v.answers[g] is None for g in other)


def test_a_pinned_weight_of_the_other_cell_is_an_error_naming_it():
    with pytest.raises(InputError, match=r'Wx_G1: expected null: a UGRNN cell has no reset gate G1 \(pin "cell": "gru"'):
        draw(FAMILY, 0, {**UGRNN, "Wx_G1": [[0.5]]})
    with pytest.raises(InputError, match=r"b_G: expected null: a GRU cell has no single gate G"):
        draw(FAMILY, 0, {**GRU, "b_G": [0.1]})
    for seed in range(5):  # only the cell pinned: whatever the draw, the error names the pinned weight
        with pytest.raises(InputError, match=r"params\.Wh_G2: expected null"):
            draw(FAMILY, seed, {"cell": "ugrnn", "Wh_G2": [[0.5]]})


def test_a_cell_missing_its_own_gate_is_refused():
    with pytest.raises(InputError, match=r"a UGRNN cell needs Wx_G, Wh_G, b_G"):
        draw(FAMILY, 0, {**UGRNN, "Wx_G": None, "Wh_G": None, "b_G": None})


def test_shapes_are_checked_against_h_prev_and_x():
    with pytest.raises(InputError, match=r"Wh_R"):
        draw(FAMILY, 0, {**UGRNN, "Wh_R": [[0.5, 0.1]]})
    with pytest.raises(InputError, match=r"cell: expected one of"):
        draw(FAMILY, 0, {**UGRNN, "cell": "lstm"})


def test_answers_of_the_other_cell_are_null_and_never_asked():
    fam = get_family(FAMILY)
    for seed in range(20):
        v = draw(FAMILY, seed)
        asked = {n for p in fam.parts(v.params) for n in p.answers}
        assert asked == {n for n, value in v.answers.items() if value is not None}
        problem, solution = render_fragments(v)
        other = "G_1" if v.params["cell"] == "ugrnn" else "W^{x,G}"
        assert other not in problem and other not in solution


# ---------------------------------------------------------------- every mistake, every degenerate rule

# Params on which each listed mistake scores (found by drawing; the sampler's own loop redraws them). The
# engine refuses them naming the mistake.
SCORING = {
    "the library's GRU: h = G2 h_prev + (1 - G2) R (for the UGRNN: the gate's roles swapped)": {
        "cell": "ugrnn", "x": [0.4, 0.8], "h_prev": [0.1], "Wx_G": [[0.6, 0.7]], "Wh_G": [[-0.6]], "b_G": [-0.5],
        "Wx_R": [[-0.4, -0.5]], "Wh_R": [[0.8]], "b_R": [0.5], "dh": [-1]},
    "the reset gate after the recurrent product, G1 (Wh_R h_prev)": {  # G1 about equal in both units
        "cell": "gru", "x": [-0.3], "h_prev": [0.9, -0.2], "Wx_G1": [[-0.4], [0.9]], "Wh_G1": [[-0.3, -0.9], [-0.1, 0.6]],
        "b_G1": [-0.3, 0], "Wx_G2": [[-0.8], [0.4]], "Wh_G2": [[-0.1, -0.4], [-0.6, 0.1]], "b_G2": [0.2, 0.5],
        "Wx_R": [[-0.1], [-0.7]], "Wh_R": [[0.7, 0.3], [0.4, -0.8]], "b_R": [-0.2, 0.3], "dh": [0.7, -0.1]},
    "the sigmoid's slope R (1 - R) for the candidate": {
        "cell": "gru", "x": [0.2, -0.6], "h_prev": [-0.7, 0.9], "Wx_G1": [[0.2, 0.4], [-1, 0.2]],
        "Wh_G1": [[-0.2, -0.3], [0.5, -1]], "b_G1": [0.2, -0.3], "Wx_G2": [[0.9, 0.5], [0.3, 0.5]],
        "Wh_G2": [[-0.9, 0.9], [-0.1, 0.9]], "b_G2": [-0.5, -0.5], "Wx_R": [[0.9, 0.9], [-0.7, -0.9]],
        "Wh_R": [[-0.2, 0.3], [0.5, -0.7]], "b_R": [-0.5, 0.1], "dh": [0.8, 0.5]},
    "tanh's slope 1 - G^2 for a gate": {
        "cell": "gru", "x": [0.6], "h_prev": [0.2], "Wx_G1": [[0.2]], "Wh_G1": [[0.4]], "b_G1": [-0.5],
        "Wx_G2": [[-0.7]], "Wh_G2": [[-0.2]], "b_G2": [0.5], "Wx_R": [[0.1]], "Wh_R": [[-0.9]], "b_R": [0], "dh": [-0.8]},
    "dW_h of the candidate with h_prev for the reset state G1 h_prev": {**GRU, "Wx_G1": [[5]], "Wh_G1": [[5]], "b_G1": [5]},
    "dh_prev without the direct path": {**GRU, "Wx_G2": [[5]], "Wh_G2": [[5]], "b_G2": [5]},  # G2 = 1: no direct path
    "dh_prev without the paths through the gates": {  # found by drawing: the gate paths cancel to below a digit
        "cell": "gru", "x": [-1, -0.6], "h_prev": [0.6], "Wx_G1": [[-0.6, 0.7]], "Wh_G1": [[-1]], "b_G1": [-0.3],
        "Wx_G2": [[-0.1, 0.8]], "Wh_G2": [[0.4]], "b_G2": [0], "Wx_R": [[0.3, -1]], "Wh_R": [[0.3]], "b_R": [0.5], "dh": [1]},
    "dh_prev with W_h for W_h^T": {  # symmetric W_h: the transpose does not show
        "cell": "ugrnn", "x": [-1], "h_prev": [0.6, -0.1], "Wx_G": [[0.3], [-0.4]], "Wh_G": [[1, -0.9], [-0.9, -0.2]],
        "b_G": [0.1, -0.1], "Wx_R": [[-0.8], [-1]], "Wh_R": [[-1, -0.9], [-0.9, 1]], "b_R": [-0.3, 0.2], "dh": [0.5, -0.6]},
    "dx through the candidate only": {  # found by drawing: the gates' share of dL/dx is below a digit
        "cell": "gru", "x": [-0.7, 0.1], "h_prev": [0.8], "Wx_G1": [[0.3, -0.7]], "Wh_G1": [[0.3]], "b_G1": [0.3],
        "Wx_G2": [[-0.4, -0.3]], "Wh_G2": [[0.7]], "b_G2": [0.4], "Wx_R": [[-0.8, 0.3]], "Wh_R": [[0.3]], "b_R": [-0.5],
        "dh": [0.1]},
    "the gate's gradient with its sign flipped": {
        "cell": "gru", "x": [0.6, -0.7], "h_prev": [-0.1, -0.3], "Wx_G1": [[0.1, -0.7], [-0.2, 0.5]],
        "Wh_G1": [[-0.8, -0.4], [1, -0.6]], "b_G1": [-0.2, 0.5], "Wx_G2": [[-0.3, -0.8], [0.3, -0.3]],
        "Wh_G2": [[-0.1, -0.2], [0.1, 0.2]], "b_G2": [0.4, 0.1], "Wx_R": [[-0.9, -0.6], [-0.3, 0.2]],
        "Wh_R": [[0.1, 1], [0.9, 0.2]], "b_R": [0.4, 0.3], "dh": [-0.3, 0.8]},
}


def _full(params):
    cell = params["cell"]
    return {**(NULL_GRU if cell == "ugrnn" else NULL_UGRNN), **params}


@pytest.mark.parametrize("mistake", list(SCORING))
def test_each_mistake_is_refused_where_it_would_score(mistake):
    fam = get_family(FAMILY)
    assert set(SCORING) == set(fam.mistakes)
    with pytest.raises(InputError, match=re.escape(f"the mistake '{mistake}'")):
        draw(FAMILY, 0, _full(SCORING[mistake]))


def test_no_listed_mistake_scores_over_many_seeds():
    fam = get_family(FAMILY)
    for seed in range(300):
        v = draw(FAMILY, seed)
        params, answers = thaw(v.params), thaw(v.answers)
        assert scoring_mistake(fam, params, answers) is None, seed
        assert rounding_trap(fam, params, answers) is None, seed


@pytest.mark.parametrize("change, reason", [
    ({"dh": [0]}, "the upstream gradient dh is zero"),
    ({"x": [0]}, "x = [0] has a zero entry"),
    ({"h_prev": [0]}, "h_prev = [0] has a zero entry"),
    ({"x": [0.4, 0.4], "Wx_G": [[0.5, 0.1]], "Wx_R": [[1, -0.2]]}, "x = [0.4, 0.4] has equal entries"),
    # dL/dh_prev = G + Wh_G da_G + Wh_R da_R, whose last term nearly cancels the others for Wh_R = -1.75
    ({"Wh_R": [[-1.75]]}, "the terms of dL/dh_{t-1} (entry 1) nearly cancel"),
    # dL/dx = Wx_G da_G + Wx_R da_R, nearly cancelling for Wx_G = 2.61
    ({"Wx_G": [[2.61]]}, "the terms of dL/dx_t (entry 1) nearly cancel"),
])
def test_each_degenerate_rule_is_refused_naming_it(change, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        draw(FAMILY, 0, {**UGRNN, **change})


# ---------------------------------------------------------------- the check, the card, the rendering


def test_the_check_catches_a_wrong_gradient():
    v = draw(FAMILY, 3)
    answers = thaw(v.answers)
    gate = GATES[v.params["cell"]][0]
    answers[f"db_{gate}"][0] += 1e-3
    with pytest.raises(VerificationError, match=f"db_{gate}"):
        verify(get_family(FAMILY), 3, thaw(v.params), answers)


@given(SEEDS)
@PROPERTY
def test_properties_over_seeds(seed):
    v = draw(FAMILY, seed)
    p, a = thaw(v.params), thaw(v.answers)
    gates = GATES[p["cell"]]
    h, x = np.array(p["h_prev"]), np.array(p["x"])
    keep = 1 - np.array(a["G2"]) if p["cell"] == "gru" else np.array(a["G"])
    # the new state is a convex combination of the old one and the candidate
    assert np.allclose(a["h"], keep * h + (1 - keep) * np.array(a["R"]))
    # weight gradients are outer products of the bias gradients with what each matrix multiplies
    for gate in gates:
        state = np.array(a["G1"]) * h if (gate == "R" and p["cell"] == "gru") else h
        assert np.allclose(a[f"dWx_{gate}"], np.outer(a[f"db_{gate}"], x))
        assert np.allclose(a[f"dWh_{gate}"], np.outer(a[f"db_{gate}"], state))
    # every gradient is linear in dh: doubling it doubles them and leaves the forward pass alone
    fam = get_family(FAMILY)
    doubled = fam.solve(fam.validate({**p, "dh": [2 * d for d in p["dh"]]}))
    assert doubled["h"] == a["h"]
    assert np.allclose(doubled["dx"], 2 * np.array(a["dx"])) and np.allclose(doubled["dh_prev"], 2 * np.array(a["dh_prev"]))


def test_the_chosen_precisions_labels_and_hints():
    fam = get_family(FAMILY)
    for name in ("G1", "G2", "G", "R", "h"):
        assert fam.answers[name].grading.describe() == "4 decimal places"
    grads = [n for n in fam.answers if n.startswith("d")]
    assert len(grads) == 14 and {fam.answers[n].grading.describe() for n in grads} == {"3 significant digits"}
    assert fam.answers["dWh_G1"].label == "dL/dWh_G1" and fam.answers["db_R"].label == "dL/db_R"
    v = draw(FAMILY, 36)
    for name, value in thaw(v.answers).items():
        if value is not None:
            hint = form_hint(fam.answers[name], value)
            assert "=" not in hint and "sigma" not in hint and "tanh" not in hint, (name, hint)


def test_minutes_and_weights_depend_on_the_structure_only():
    fam = get_family(FAMILY)
    by_structure: dict[str, set] = {}
    for seed in range(200):
        params = draw(FAMILY, seed).params
        key = json.dumps(fam.structure_of(params), sort_keys=True)
        by_structure.setdefault(key, set()).add((fam.minutes(params), tuple(p.weight for p in fam.parts(params))))
    assert len(by_structure) == 8  # 2 cells x 4 shapes
    assert all(len(times) == 1 for times in by_structure.values()), by_structure
    minutes = {k: next(iter(v))[0] for k, v in by_structure.items()}
    assert 8 <= min(minutes.values()) and max(minutes.values()) <= 30, minutes
    gru = json.dumps({"cell": "gru", "h_prev": [1], "x": [1]}, sort_keys=True)
    ugrnn = json.dumps({"cell": "ugrnn", "h_prev": [1], "x": [1]}, sort_keys=True)
    assert minutes[gru] > minutes[ugrnn]  # three blocks of weights against two


def test_the_sampler_rarely_leaves_a_draw_to_refuse():
    fam = get_family(FAMILY)
    refused = sum(fam.degenerate(fam.validate(fam.sample(np.random.default_rng(seed)))) is not None for seed in range(150))
    assert refused <= 3


def test_the_problem_warns_of_the_library_gru_and_the_solution_shows_the_working():
    gru, _ = render_fragments(draw(FAMILY, 0, GRU))
    assert "PyTorch" in gru and "differently" in gru and "biases are added" in gru
    ugrnn, solution = render_fragments(draw(FAMILY, 0, UGRNN))
    assert "PyTorch" not in ugrnn
    assert r"a^{G} &= 0.5\cdot0.4 + 1\cdot0.2 + 0.1 = 0.5" in solution
    assert r"h_{t-1} - R" in solution and r"\qbankanswer" in solution
