"""lstm-cell-backward: a hand-worked step, properties over seeds, tampered answers, bad params."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbank import InputError, VerificationError, draw, get_family, verify
from qbank.model import thaw
from qbank.render import render_fragment

FAMILY = "lstm-cell-backward"

# H = D = 1, chosen so that a_f = a_i = a_o = 0 (those gates are exactly 1/2) and a_g = 0.6.
WORKED = {
    "Wx": [[0.5], [-0.5], [1], [0.5]],
    "Wh": [[-1], [1], [0.5], [-1]],
    "b": [0, 0, 0.1, 0],
    "x": [0.4],
    "h_prev": [0.2],
    "c_prev": [1],
    "dh": [1],
    "dc_next": [0.5],
}


def answers_for(params):
    return thaw(draw(FAMILY, 0, params).answers)


def test_worked_example_with_the_course_formulas():
    ans = answers_for(WORKED)
    assert ans["a"] == pytest.approx([0, 0, 0.6, 0], abs=1e-12)
    g = math.tanh(0.6)
    c = 0.5 * 1 + 0.5 * g
    assert (ans["f"], ans["i"], ans["o"]) == ([0.5], [0.5], [0.5])
    assert ans["g"] == pytest.approx([g]) and ans["c"] == pytest.approx([c])
    assert ans["h"] == pytest.approx([0.5 * math.tanh(c)])
    # The handout's deltas: dc_t = dc_next + dh * o * (1 - tanh^2 c_t), df = dc_t c_{t-1}, di = dc_t g,
    # dg = dc_t i, do = dh tanh(c_t) (not tanh^2 as the handout misprints it).
    dc = 0.5 + 1 * 0.5 * (1 - math.tanh(c) ** 2)
    assert ans["dc"] == pytest.approx([dc])
    assert ans["df"] == pytest.approx([dc * 1])
    assert ans["di"] == pytest.approx([dc * g])
    assert ans["dg"] == pytest.approx([dc * 0.5])
    assert ans["do"] == pytest.approx([math.tanh(c)])
    da = [dc * 0.25, dc * g * 0.25, dc * 0.5 * (1 - g**2), math.tanh(c) * 0.25]
    assert ans["da"] == pytest.approx(da) and ans["db"] == ans["da"]
    assert np.allclose(ans["dWh"], [[0.2 * d] for d in da])
    assert np.allclose(ans["dWx"], [[0.4 * d] for d in da])
    assert ans["dh_prev"] == pytest.approx([-da[0] + da[1] + 0.5 * da[2] - da[3]])
    assert ans["dc_prev"] == pytest.approx([dc * 0.5])
    # the same, as the solution prints them (4 decimals)
    shown = {k: round(ans[k][0], 4) for k in ("g", "c", "h", "dc", "do", "dh_prev", "dc_prev")}
    assert shown == {
        "g": 0.537,
        "c": 0.7685,
        "h": 0.323,
        "dc": 0.7913,
        "do": 0.6461,
        "dh_prev": -0.1123,
        "dc_prev": 0.3956,
    }


def test_two_hidden_units_and_two_inputs():
    params = {
        "Wx": [[0.5, 0.9], [-0.3, -0.4], [-0.7, -0.8], [0.5, 0.2],
               [-0.7, -0.8], [-0.1, 0.6], [-0.1, -0.9], [0.9, 0.6]],
        "Wh": [[0.2, -0.2], [-0.5, -0.7], [0.5, -0.6], [-0.8, 0.5],
               [-0.7, 0.9], [-0.6, -0.5], [-0.8, -0.8], [-0.1, 0.8]],
        "b": [0.9, -0.4, 0.6, 0.5, -0.8, 0.1, 0.6, -0.5],
        "x": [0.1, -0.4],
        "h_prev": [0.8, 0.5],
        "c_prev": [1, -1.1],
        "dh": [-0.3, -0.4],
        "dc_next": [0.3, 0.6],
    }
    ans = answers_for(params)
    # rows 1-2 are f, 3-4 i, 5-6 g, 7-8 o: a_{f,1} = 0.2*0.8 - 0.2*0.5 + 0.5*0.1 + 0.9*(-0.4) + 0.9
    assert ans["a"][0] == pytest.approx(0.65, abs=1e-12)
    assert ans["a"] == pytest.approx([0.65, -1.02, 0.95, 0.08, -0.66, -0.88, -0.09, -0.33], abs=1e-12)
    assert len(ans["dWh"]) == 8 and all(len(r) == 2 for r in ans["dWh"])
    assert np.allclose(ans["dWx"], np.outer(ans["da"], params["x"]))
    assert ans["dh_prev"] == pytest.approx((np.array(params["Wh"]).T @ np.array(ans["da"])).tolist())
    assert [round(v, 4) for v in ans["dc"]] == [0.1647, 0.4885]


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_properties_over_seeds(seed):
    variant = draw(FAMILY, seed)  # draw() runs the finite-difference check
    params, ans = thaw(variant.params), thaw(variant.answers)
    hidden, inputs = len(params["h_prev"]), len(params["x"])
    assert (hidden, inputs) in {(1, 1), (1, 2), (2, 1), (2, 2)}
    assert len(params["Wx"]) == len(params["Wh"]) == len(params["b"]) == 4 * hidden
    assert all(abs(z) <= 2.5 for z in ans["a"])  # no saturated gate is drawn
    assert all(abs(d) >= 2e-3 for d in ans["da"])
    for gate in ("f", "i", "o"):
        assert all(0 < v < 1 for v in ans[gate])
    assert all(-1 < v < 1 for v in ans["g"] + ans["h"])
    assert ans["db"] == ans["da"]
    assert ans["dc_prev"] == pytest.approx([d * f for d, f in zip(ans["dc"], ans["f"])])
    assert np.allclose(ans["dWh"], np.outer(ans["da"], params["h_prev"]))
    for value in [v for key in ("Wx", "Wh") for row in params[key] for v in row] + params["b"]:
        assert round(value, 1) == value and -1 <= value <= 1
    json.dumps(ans)  # plain JSON throughout


def _tampered(change):
    fam = get_family(FAMILY)
    ans = fam.solve(WORKED)
    change(ans)
    return fam, ans


@pytest.mark.parametrize(
    "name, change",
    [
        # the handout's misprint: do = dh * tanh^2(c_t)
        ("do", lambda a: a.update(do=[a["do"][0] ** 2])),
        # input gate and candidate swapped: di = dc * i, dg = dc * g
        ("di", lambda a: a.update(di=a["dg"], dg=a["di"])),
        # dc_t without the path through h_t
        ("dc", lambda a: a.update(dc=[0.5])),
        ("dWx", lambda a: a["dWx"][2].__setitem__(0, a["dWx"][2][0] + 0.01)),
        ("dh_prev", lambda a: a.update(dh_prev=[-a["dh_prev"][0]])),
        ("c", lambda a: a.update(c=[a["c"][0] + 1e-6])),
    ],
)
def test_check_rejects_tampered_answers(name, change):
    fam, ans = _tampered(change)
    with pytest.raises(VerificationError, match=name):
        verify(fam, 0, WORKED, ans)


def test_check_rejects_a_wrong_shape():
    fam, ans = _tampered(lambda a: a.update(dWh=[row[0] for row in a["dWh"]]))
    with pytest.raises(VerificationError, match="dWh"):
        verify(fam, 0, WORKED, ans)


def test_templates_render_without_pdf():
    variant = draw(FAMILY, 0, WORKED)
    problem, solution = render_fragment(variant, "problem"), render_fragment(variant, "solution")
    assert r"\begin{tikzpicture}" in problem and r"\begin{parts}" in problem
    assert "0.7685" not in problem and "0.7685" in solution  # c_t: asked, not given away
    assert r"\qbankanswer" in solution and r"\VAR" not in solution + problem
    assert "0.3956" in solution  # dc_prev


def test_a_plain_shape_change_is_pinned_with_all_its_fields():
    params = {**WORKED, "x": [0.4, -0.2], "Wx": [[0.5, 1], [-0.5, 1], [1, 1], [0.5, 1]]}
    ans = answers_for(params)
    assert len(ans["dWx"][0]) == 2


@pytest.mark.parametrize(
    "change, field",
    [
        ({"h_prev": [0.1, 0.2, 0.3]}, "params.h_prev"),
        ({"h_prev": [1.5]}, "params.h_prev[0]"),
        ({"x": []}, "params.x"),
        ({"Wx": [[0.5], [-0.5], [1]]}, "params.Wx"),
        ({"Wx": [[0.5, 1], [-0.5, 1], [1, 1], [0.5, 1]]}, "params.Wx"),
        ({"Wh": [[1], [1], [1], [0.125]]}, "params.Wh[3][0]"),
        ({"b": [0, 0, 0.1]}, "params.b"),
        ({"c_prev": [1, 2]}, "params.c_prev"),
        ({"dh": ["1"]}, "params.dh[0]"),
        ({"dc_next": [True]}, "params.dc_next[0]"),
        ({"dc_next": [7]}, "params.dc_next[0]"),
    ],
)
def test_bad_params_name_the_field(change, field):
    with pytest.raises(InputError) as info:
        draw(FAMILY, 0, {**WORKED, **change})
    assert str(info.value).startswith(field + ":")


def test_unknown_field_and_degenerate_pins():
    with pytest.raises(InputError, match="unknown field"):
        draw(FAMILY, 0, {**WORKED, "W": 1})
    with pytest.raises(InputError, match="degenerate.*x is zero"):
        draw(FAMILY, 0, {**WORKED, "x": [0]})
    with pytest.raises(InputError, match="degenerate.*upstream"):
        draw(FAMILY, 0, {**WORKED, "dh": [0], "dc_next": [0]})


# ---------------------------------------------------------------- issue 8: displayed arithmetic, fair structure

_MATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", re.S)
_NUMERIC = re.compile(r"^(?:[\d.\s+\-*()@,]|sig|tanh|mm|M\d+)+$")
_RELATION = re.compile(r"(=|\\approx)")


def _mm(a, b):
    return np.atleast_2d(a) @ np.atleast_2d(b)


def displayed_equations(solution):
    """Every chain of relations the solution displays (align* rows and \\[ \\] lines, answer boxes aside), as
    lists [segment, relation, segment, ...] with the LaTeX of each segment turned into Python, and the
    matrices each chain names (M0, M1, ...)."""
    text = re.sub(r"\\qbankanswer\{.*?\}\n", "", solution, flags=re.S)
    blocks = re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", text, re.S)
    blocks += re.findall(r"\\\[(.*?)\\\]", text, re.S)
    chains = []
    for block in blocks:
        matrices = {}

        def stash(match):
            rows = [r.split("&") for r in match.group(1).split(r"\\")]
            name = f"M{len(matrices)}"
            matrices[name] = np.array([[float(v) for v in row] for row in rows])
            return f" {name} "

        block = " ".join(_MATRIX.sub(stash, block).split())
        relations = [("& =", "="), ("&=", "="), (r"& \approx", r"\approx"), (r"&\approx", r"\approx")]
        for old, new in relations + [(r"&\qquad", "")]:
            block = block.replace(old, new)
        equations, current = [], ""
        for line in block.split(r"\\"):
            continued = line.strip().startswith(("=", r"\approx")) or current.rstrip().endswith(("+", "-"))
            if "=" in line.split("&")[0] and current.strip() and not continued:
                equations.append(current)
                current = ""
            current += " " + line
        equations.append(current)
        for equation in [e for eq in equations for e in eq.split("&")]:
            equation = equation.strip().rstrip(",.").strip()
            if not equation:
                continue
            py = equation
            for old, new in [
                (r"\cdot", "*"), (r"\bigl(", "("), (r"\bigr)", ")"), ("^2", "**2"),
                (r"\sigma(", "sig("), (r"\tanh(", "tanh("), (r"\,", " "), (r"\ ", " "),
            ]:
                py = py.replace(old, new)
            py = re.sub(r"(M\d+)\s+(M\d+|\(-?[\d.]+\)|-?[\d.]+)", r"mm(\1, \2)", py)
            chains.append((_RELATION.split(py), matrices, equation))
    return chains


def check_displayed_arithmetic(solution):
    """Each pair of neighbouring numeric segments must agree: within the rounding of 4 decimals when
    joined by '=', within 1e-3 when joined by '\\approx' (values computed from unrounded numbers)."""
    env = {"sig": lambda z: 1 / (1 + math.exp(-z)), "tanh": math.tanh, "mm": _mm}
    checked = 0
    for parts, matrices, equation in displayed_equations(solution):
        values = []
        for segment in parts[::2]:
            segment = segment.strip()
            values.append(
                np.array(eval(segment, {**env, **matrices}), dtype=float).ravel()  # noqa: S307
                if segment and _NUMERIC.match(segment) else None
            )
        for k, relation in enumerate(parts[1::2]):
            left, right = values[k], values[k + 1]
            if left is None or right is None:
                continue
            gap = float(np.max(np.abs(left - right)))
            limit = 5e-5 + 1e-12 if relation == "=" else 1e-3
            assert gap <= limit, f"{equation!r}: the displayed numbers differ by {gap:.2e} across {relation!r}"
            checked += 1
    return checked


def test_the_arithmetic_checker_catches_a_wrong_line():
    assert check_displayed_arithmetic(r"\[ x = 0.5\cdot0.2 = 0.1 \]") == 1
    with pytest.raises(AssertionError):
        check_displayed_arithmetic(r"\[ x = 0.5000\cdot0.2346 = 0.1174 \]")  # 0.1173 with these numbers
    assert check_displayed_arithmetic(r"\[ x \approx 0.5000\cdot0.2346 \approx 0.1174 \]") == 1


@pytest.mark.parametrize("seed", range(30))
def test_displayed_arithmetic_matches_the_displayed_numbers(seed):
    variant = draw(FAMILY, seed)
    solution = render_fragment(variant, "solution")
    hidden = len(variant.params["h_prev"])
    # every line of every part is checked: a, gates, c and h, dc, the four gate gradients, da, dWh, dWx,
    # dh_prev, dc_prev
    assert check_displayed_arithmetic(solution) >= 4 * hidden + 4 * hidden + 2 * hidden + hidden + 4 * hidden


def test_the_solution_says_it_rounds():
    solution = render_fragment(draw(FAMILY, 0, WORKED), "solution")
    assert "shown to 4 decimal places (gradients below $0.1$ to 4 significant digits)" in solution
    assert "unrounded" in solution
    assert "boxed answers are rounded as the problem asks" in solution
