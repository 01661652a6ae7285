"""scalar-rnn-backprop: worked examples with known answers, properties over seeds, bad params."""

from __future__ import annotations

import json
import re

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.model import thaw
from qbank.render import render_fragment

FAMILY = "scalar-rnn-backprop"


def answers_for(w, u):
    return thaw(draw(FAMILY, 0, {"w": w, "u": u}).answers)


def test_worked_example_integer_weight():
    # T = 3: y = u3 w + u2 w^2 + u1 w^3 and dy/dw = u3 + 2 u2 w + 3 u1 w^2, here with u = [1, 2, 3], w = 2.
    ans = answers_for(2, [1, 2, 3])
    assert ans["forward"]["a"] == [1, 4, 11]
    assert ans["forward"]["h"] == [2, 8, 22]
    assert ans["y_value"] == 3 * 2 + 2 * 4 + 1 * 8 == 22
    assert ans["y_coeffs"] == [3, 2, 1]
    assert sympy.sympify(ans["y_poly"]) == sympy.sympify("w**3 + 2*w**2 + 3*w")
    assert sympy.sympify(ans["dydw_poly"]) == sympy.sympify("3*w**2 + 4*w + 3")
    assert ans["dydw"] == 3 + 2 * 2 * 2 + 3 * 4 * 1 == 23
    # dy/dp = dy/da_1 = w^3; dy/dh_t = w^(T - t)
    assert ans["node_partials"]["a"] == [8, 4, 2]
    assert ans["node_partials"]["h"] == [4, 2, 1]
    assert ans["node_partials"]["a_expr"] == ["w**3", "w**2", "w"]
    assert ans["node_partials"]["h_expr"] == ["w**2", "w", "1"]
    # edges into h_1, h_2, h_3: p w^2, r w, t
    assert ans["edge_contributions"] == [1 * 4, 4 * 2, 11 * 1] == [4, 8, 11]
    assert sum(ans["edge_contributions"]) == ans["dydw"]


def test_worked_example_symbolic_forms():
    ans = answers_for(2, [1, 2, 3])
    u1, u2, u3, w = sympy.symbols("u1 u2 u3 w")
    expected_a = [u1, u2 + w * u1, u3 + w * u2 + w**2 * u1]
    expected_h = [w * u1, w * u2 + w**2 * u1, w * u3 + w**2 * u2 + w**3 * u1]
    assert [sympy.sympify(e) - x for e, x in zip(ans["forward"]["a_expr"], expected_a)] == [0, 0, 0]
    assert [sympy.sympify(e) - x for e, x in zip(ans["forward"]["h_expr"], expected_h)] == [0, 0, 0]


def test_worked_example_half_weight():
    # w = 0.5, u = [2, -3, 3]: a = [2, -2, 2], h = [1, -1, 1]; y = 3w - 3w^2 + 2w^3, dy/dw = 3 - 6w + 6w^2.
    ans = answers_for(0.5, [2, -3, 3])
    assert ans["forward"]["a"] == [2, -2, 2]
    assert ans["forward"]["h"] == [1, -1, 1]
    assert ans["y_value"] == 1.5 - 0.75 + 0.25 == 1
    assert ans["y_coeffs"] == [3, -3, 2]
    assert ans["dydw"] == 3 - 3 + 1.5 == 1.5
    assert ans["node_partials"]["a"] == [0.125, 0.25, 0.5]
    assert ans["node_partials"]["h"] == [0.25, 0.5, 1]
    # c_t = a_t dy/dh_t = [2 * 0.25, -2 * 0.5, 2 * 1]
    assert ans["edge_contributions"] == [0.5, -1, 2]


def test_a_zero_sum_node_is_refused():
    # w = 0.5, u = [2, -1, 3] (the old worked example): a_2 = -1 + h_1 = -1 + 1 = 0, so h_2 = c_2 = 0 for any slip
    with pytest.raises(InputError, match="sum node a_2 is 0"):
        answers_for(0.5, [2, -1, 3])


def test_five_steps_and_two_decimal_weight():
    ans = answers_for(-0.3, [1, 2, 3, -1, 2])
    assert ans["y_coeffs"] == [2, -1, 3, 2, 1]
    assert len(ans["edge_contributions"]) == 5
    assert sum(ans["edge_contributions"]) == pytest.approx(ans["dydw"], abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)  # draw() already runs the independent check
    params, ans = thaw(variant.params), thaw(variant.answers)
    u, w, steps = params["u"], params["w"], len(params["u"])
    assert 2 <= steps <= 4 and u[0] != 0 and w in (-2, -1.5, -0.5, 0.5, 1.5, 2)
    assert ans["y_coeffs"] == u[::-1]
    assert sum(ans["edge_contributions"]) == pytest.approx(ans["dydw"], abs=1e-9)
    assert ans["node_partials"]["a"] == [w ** (steps - t) for t in range(steps)]
    assert ans["node_partials"]["h"] == [w ** (steps - t - 1) for t in range(steps)]
    assert ans["forward"]["h"][-1] == ans["y_value"]
    json.dumps(ans)  # plain JSON throughout


def sympy_reference(w, u):
    """The answers the slow, obvious way, with sympy's expand, diff and subs (what solve() once did)."""
    W, cut = sympy.Symbol("w"), sympy.Symbol("cut")
    u_syms = sympy.symbols(f"u1:{len(u) + 1}")
    given = dict(zip(u_syms, u))
    at_w = {W: sympy.Rational(str(w)), **given}

    def run(inputs, h):
        sums, states = [], []
        for u_t in inputs:
            sums.append(sympy.expand(u_t + h))
            h = sympy.expand(W * sums[-1])
            states.append(h)
        return sums, states, h

    sums, states, _ = run(u_syms, 0)
    y = sympy.expand(states[-1].subs(given))
    d_sums = [sympy.diff(run(u[t + 1 :], W * cut)[2], cut) for t in range(len(u))]
    d_states = [sympy.diff(run(u[t + 1 :], cut)[2], cut) for t in range(len(u))]
    untied = sympy.symbols(f"w1:{len(u) + 1}")
    h = 0
    for w_t, u_t in zip(untied, u):
        h = w_t * (u_t + h)

    def value(expr, at=at_w):
        return float(expr.subs(at))

    return {
        "forward": {"a": sums, "h": states},
        "forward_values": {"a": [value(a) for a in sums], "h": [value(s) for s in states]},
        "y_poly": y,
        "y_coeffs": [int(y.coeff(W, k)) for k in range(1, len(u) + 1)],
        "y_value": value(y),
        "dydw_poly": sympy.diff(y, W),
        "dydw": value(sympy.diff(y, W)),
        "node_partials": {"a": d_sums, "h": d_states},
        "partial_values": {"a": [value(d) for d in d_sums], "h": [value(d) for d in d_states]},
        "edge_contributions": [value(sympy.diff(h, w_t), {v: at_w[W] for v in untied}) for w_t in untied],
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7, 11, 42, 1234])
def test_answers_equal_a_sympy_reference(seed):
    variant = draw(FAMILY, seed)
    params, ans = thaw(variant.params), thaw(variant.answers)
    ref = sympy_reference(params["w"], params["u"])
    for table, values in (("forward", "forward_values"), ("node_partials", "partial_values")):
        for node in ("a", "h"):
            assert ans[table][node] == ref[values][node]
            exprs = ans[table][f"{node}_expr"]
            assert [sympy.sympify(e) - x for e, x in zip(exprs, ref[table][node])] == [0] * len(params["u"])
    for key in ("y_coeffs", "y_value", "dydw", "edge_contributions"):
        assert ans[key] == ref[key], key
    assert sympy.sympify(ans["y_poly"]) - ref["y_poly"] == 0
    assert sympy.sympify(ans["dydw_poly"]) - ref["dydw_poly"] == 0


@pytest.mark.parametrize("seed", range(12))
def test_polynomials_print_as_sympy_prints_them(seed):
    # the template once ran every polynomial through sympy.latex; the family now spells them itself
    variant = draw(FAMILY, seed)
    params, ans = thaw(variant.params), thaw(variant.answers)
    tex = get_family(FAMILY).context(params, ans)["tex"]
    fwd, part = ans["forward"], ans["node_partials"]
    pairs = [(tex["y"], ans["y_poly"]), (tex["dydw"], ans["dydw_poly"])]
    pairs += [*zip(tex["a"], fwd["a_expr"]), *zip(tex["h"], fwd["h_expr"])]
    pairs += [*zip(tex["d_sums"], part["a_expr"]), *zip(tex["d_states"], part["h_expr"])]
    for got, text in pairs:
        assert str(sympy.sympify(text)) == text  # answers read back unchanged by sympy
        assert got == sympy.latex(sympy.sympify(text))


def test_check_rejects_a_wrong_answer():
    fam = get_family(FAMILY)
    params = {"w": 1.5, "u": [1, -2, 3]}
    ans = fam.solve(params)
    ans["edge_contributions"][1] += 0.5
    with pytest.raises(VerificationError, match="edge_contributions"):
        verify(fam, 0, params, ans)
    ans = fam.solve(params)
    # dy/dw = 3*w**2 - 4*w + 3; adding (2w - 3) w leaves the value at w = 1.5 unchanged, not the polynomial
    ans["dydw_poly"] = "5*w**2 - 7*w + 3"
    with pytest.raises(VerificationError, match="dydw_poly"):
        verify(fam, 0, params, ans)
    ans = fam.solve(params)
    ans["y_poly"] = "__import__('os').getcwd()"
    with pytest.raises(VerificationError, match="not a polynomial"):
        verify(fam, 0, params, ans)


def test_templates_render_without_pdf():
    variant = draw(FAMILY, 0, {"w": -1.5, "u": [-3, 0, 2, -1, 3]})
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert r"\begin{tikzpicture}" in problem and "(m5)" in problem
    assert "-56.4375" in solution and r"\VAR" not in solution


@pytest.mark.parametrize(
    "params, field",
    [
        ({"w": 0, "u": [1, 2]}, "params.w"),
        ({"w": 0.125, "u": [1, 2]}, "params.w"),
        ({"w": 6, "u": [1, 2]}, "params.w"),
        ({"w": 2, "u": [1, 2, 3, 1, 2, 3, 1]}, "params.u"),
        ({"w": 2, "u": [1]}, "params.u"),
        ({"w": 2, "u": [0, 2, 3]}, "params.u[0]"),
        ({"w": 2, "u": [1, 2.5]}, "params.u[1]"),
    ],
)
def test_bad_params_name_the_field(params, field):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, params)
    assert str(info.value).startswith(field + ":")


# ---------------------------------------------------------------- issue 8: part (e) asks the rule; fair structure


def part_texts(problem):
    """The text of each \\part of a problem fragment, in order."""
    body = problem.split(r"\begin{parts}", 1)[1].split(r"\end{parts}", 1)[0]
    return [p.strip() for p in re.split(r"\\part(?![A-Za-z@])(?:\[[^\]]*\])?", body)[1:]]


@pytest.mark.parametrize("seed", range(6))
def test_part_e_works_one_edge_and_asks_the_rule(seed):
    variant = draw(FAMILY, seed)
    steps = len(variant.params["u"])
    part_e = part_texts(render_fragment(variant, "problem"))[4]
    # the general rule for every edge, and how the contributions combine, are the student's to state
    assert r"a_t \frac{\partial y}{\partial h_t}" not in part_e and "h_t$ alone" not in part_e
    assert "add up" not in part_e and "sum" not in part_e
    # one edge worked as the example: the edge into h_1
    assert "h_1" in part_e and r"a_1" in part_e
    assert "rule" in part_e and f"{steps}" in part_e
    assert "shared-weight-gradient-sum" in get_family(FAMILY).asks


def test_the_example_edge_gives_away_no_number_asked_in_part_d():
    variant = draw(FAMILY, 0, {"w": 1.5, "u": [1, -2, 3]})
    part_e = part_texts(render_fragment(variant, "problem"))[4]
    assert "2.25" not in part_e  # dy/dh_1 = w^2
