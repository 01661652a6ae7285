"""Recurrent-network families: backpropagation through time on small, unrolled graphs.

Convention: the hidden state starts at h_0 = 0, steps are numbered t = 1..T, and inputs are listed
in time order, u = [u_1, ..., u_T].
"""

from __future__ import annotations

import ast
import operator
from fractions import Fraction
from typing import Any, Mapping

import sympy

from qbank.draws import choice, int_vector, integer
from qbank.family import Answer, Family, register
from qbank.params import ParamError, as_int_list, as_number, require_keys

W = sympy.Symbol("w")
SAMPLED_WEIGHTS = (-2, -1.5, -0.5, 0.5, 1.5, 2)  # dyadic, so every forward and backward value is an exact float


def _plain(value: sympy.Rational | Fraction) -> int | float:
    """An exact rational as JSON data: an int when whole, else the correctly rounded float."""
    num, den = int(value.numerator), int(value.denominator)
    return num if den == 1 else num / den


def _value(expr: Any, values: Mapping[Any, Any]) -> int | float:
    """A sympy expression evaluated exactly at `values`, as JSON data."""
    return _plain(sympy.Rational(expr.subs(values)))


def _unroll(weight: Any, inputs: list[Any], h_start: Any = 0) -> tuple[list[Any], list[Any]]:
    """The sum nodes a_t = u_t + h_{t-1} and product nodes h_t = w a_t of the scalar RNN, expanded."""
    sums, states, h = [], [], h_start
    for u in inputs:
        a = sympy.expand(u + h)
        h = sympy.expand(weight * a)
        sums.append(a)
        states.append(h)
    return sums, states


def _output(weight: Any, inputs: list[Any], h_start: Any) -> Any:
    """y when the recurrence resumes from h_start and reads the remaining inputs."""
    states = _unroll(weight, inputs, h_start)[1]
    return states[-1] if states else h_start


@register
class ScalarRnnBackprop(Family):
    id = "scalar-rnn-backprop"
    title = "Backpropagation through a scalar linear RNN"
    topic = "rnn"
    difficulty = 2
    answers = {
        "forward": Answer(
            "table",
            "sum nodes a_t and product nodes h_t: values at the given w (a, h) and as polynomials in w, u_1..u_T "
            "(a_expr, h_expr)",
            1e-9,
        ),
        "y_poly": Answer("expression", "the output y = h_T as a polynomial in w, inputs substituted"),
        "y_coeffs": Answer("vector", "coefficients of w^1, ..., w^T in y", 0),
        "y_value": Answer("number", "y at the given w", 1e-9),
        "dydw_poly": Answer("expression", "dy/dw as a polynomial in w"),
        "dydw": Answer("number", "dy/dw at the given w", 1e-9),
        "node_partials": Answer(
            "table",
            "dy/da_t and dy/dh_t at the given w (a, h) and as powers of w (a_expr, h_expr)",
            1e-9,
        ),
        "edge_contributions": Answer(
            "vector", "contribution a_t dy/dh_t of the edge from w into each product node h_t", 1e-9
        ),
    }

    def sample(self, rng):
        steps = choice(rng, (2, 3, 3, 4))
        return {
            "w": choice(rng, SAMPLED_WEIGHTS),
            # u_1 is the coefficient of w^T in y: nonzero keeps y of full degree
            "u": [integer(rng, -3, 3, nonzero=True)] + int_vector(rng, steps - 1, -3, 3),
        }

    def validate(self, params):
        require_keys(params, ("w", "u"))
        expected_w = "a nonzero number from -5 to 5 with at most 2 decimals"
        w = as_number(params["w"], "w", -5, 5)
        if w == 0 or round(w, 2) != w:
            raise ParamError("w", expected_w, w)
        u = as_int_list(params["u"], "u", (2, 5), -9, 9)
        if u[0] == 0:
            raise ParamError("u[0]", "a nonzero first input u_1 (the coefficient of w^T in y)", u[0])
        return {"w": w, "u": u}

    def solve(self, params):
        u, steps = params["u"], len(params["u"])
        w = sympy.Rational(str(params["w"]))
        at_w = {W: w}

        u_syms = sympy.symbols(f"u1:{steps + 1}")
        sums_sym, states_sym = _unroll(W, list(u_syms))
        given = dict(zip(u_syms, u))
        sums = [s.subs(given) for s in sums_sym]
        states = [h.subs(given) for h in states_sym]
        y = sympy.expand(states[-1])
        dydw = sympy.diff(y, W)

        # dy/d(node): cut the graph at the node, put a free symbol there, run the rest, differentiate.
        cut = sympy.Symbol("cut")
        d_states = [sympy.diff(_output(W, u[t + 1 :], cut), cut) for t in range(steps)]
        d_sums = [sympy.diff(_output(W, u[t + 1 :], W * cut), cut) for t in range(steps)]

        # Untie the shared weight: step t gets its own w_t; the edge into h_t contributes dy/dw_t at w_t = w.
        untied = sympy.symbols(f"w1:{steps + 1}")
        h = 0
        for w_t, u_t in zip(untied, u):
            h = w_t * (u_t + h)
        shared = {w_t: w for w_t in untied}
        edges = [_value(sympy.diff(h, w_t), shared) for w_t in untied]

        return {
            "forward": {
                "a": [_value(s, at_w) for s in sums],
                "h": [_value(s, at_w) for s in states],
                "a_expr": [str(s) for s in sums_sym],
                "h_expr": [str(s) for s in states_sym],
            },
            "y_poly": str(y),
            "y_coeffs": [int(y.coeff(W, k)) for k in range(1, steps + 1)],
            "y_value": _value(y, at_w),
            "dydw_poly": str(dydw),
            "dydw": _value(dydw, at_w),
            "node_partials": {
                "a": [_value(d, at_w) for d in d_sums],
                "h": [_value(d, at_w) for d in d_states],
                "a_expr": [str(sympy.expand(d)) for d in d_sums],
                "h_expr": [str(sympy.expand(d)) for d in d_states],
            },
            "edge_contributions": edges,
        }

    def check(self, params, answers):
        """Exact forward pass and hand-written reverse mode with Fractions; polynomials checked pointwise."""
        u, steps = params["u"], len(params["u"])
        w = Fraction(str(params["w"]))

        def forward(weight: Fraction) -> tuple[list[Fraction], list[Fraction]]:
            sums, states, h = [], [], Fraction(0)
            for u_t in u:
                sums.append(u_t + h)
                h = weight * sums[-1]
                states.append(h)
            return sums, states

        def backward(weight: Fraction, sums: list[Fraction]):
            d_sums, d_states, edges = [Fraction(0)] * steps, [Fraction(0)] * steps, [Fraction(0)] * steps
            grad = Fraction(1)  # dy/dh_T, since y = h_T
            for t in reversed(range(steps)):
                d_states[t] = grad
                d_sums[t] = weight * grad  # product node h_t = w a_t
                edges[t] = sums[t] * grad  # the same node's other input is w: dh_t/dw = a_t
                grad = d_sums[t]  # sum node a_t = u_t + h_{t-1} passes the gradient through
            return d_sums, d_states, edges

        sums, states = forward(w)
        d_sums, d_states, edges = backward(w, sums)
        dydw = sum(edges)
        fwd, part = answers["forward"], answers["node_partials"]
        _expect_values("forward.a", fwd["a"], sums)
        _expect_values("forward.h", fwd["h"], states)
        _expect_values("node_partials.a", part["a"], d_sums)
        _expect_values("node_partials.h", part["h"], d_states)
        _expect_values("edge_contributions", answers["edge_contributions"], edges)
        _expect_values("y_value", [answers["y_value"]], [states[-1]])
        _expect_values("dydw", [answers["dydw"]], [dydw])

        coeffs = answers["y_coeffs"]
        assert len(coeffs) == steps, f"y_coeffs has {len(coeffs)} entries, expected {steps}"
        horner = Fraction(0)
        for c in reversed(coeffs):
            horner = horner * w + c
        assert horner * w == states[-1], f"y_coeffs at w = {w} give {horner * w}, the forward pass {states[-1]}"

        # A polynomial of degree <= T is fixed by T + 1 points: compare the strings with both passes there.
        env_u = {f"u{t + 1}": Fraction(u_t) for t, u_t in enumerate(u)}
        for point in [w] + [Fraction(k, 3) for k in range(-steps, 1)]:
            sums_p, states_p = forward(point)
            d_sums_p, d_states_p, edges_p = backward(point, sums_p)
            env = {"w": point, **env_u}
            for name, got, want in [
                ("y_poly", answers["y_poly"], states_p[-1]),
                ("dydw_poly", answers["dydw_poly"], sum(edges_p)),
                *[(f"forward.a_expr[{t}]", e, sums_p[t]) for t, e in enumerate(fwd["a_expr"])],
                *[(f"forward.h_expr[{t}]", e, states_p[t]) for t, e in enumerate(fwd["h_expr"])],
                *[(f"node_partials.a_expr[{t}]", e, d_sums_p[t]) for t, e in enumerate(part["a_expr"])],
                *[(f"node_partials.h_expr[{t}]", e, d_states_p[t]) for t, e in enumerate(part["h_expr"])],
            ]:
                value = _evaluate(got, env)
                assert value == want, f"{name} = {got!r} is {value} at w = {point}, backprop gives {want}"

        # The graph-free view: a central difference of the forward pass (exact arithmetic, so only the
        # O(step^2) truncation error remains).
        step = Fraction(1, 10**6)
        slope = (forward(w + step)[1][-1] - forward(w - step)[1][-1]) / (2 * step)
        assert abs(slope - dydw) <= Fraction(1, 10**6) * max(1, abs(dydw)), (
            f"central difference {float(slope)} disagrees with dydw {float(dydw)}"
        )

    def context(self, params, answers):
        steps = len(params["u"])
        decimals = len(str(params["w"]).partition(".")[2])
        coeffs = answers["y_coeffs"]  # of w^1 .. w^T
        return {
            "T": steps,
            # nonzero terms, highest power first, to show the polynomials evaluated at w
            "y_terms": [{"coef": c, "power": k} for k, c in reversed(list(enumerate(coeffs, 1))) if c],
            "dydw_terms": [{"coef": k * c, "power": k - 1} for k, c in reversed(list(enumerate(coeffs, 1))) if c],
            # enough decimals to print every value exactly: w^T has at most T times as many as w
            "digits": max(4, decimals * steps),
            "gap": {2: 1.3, 3: 1.15, 4: 1.0, 5: 0.8}[steps],  # cm between graph nodes: T = 5 fits the text width
        }


def _expect_values(name: str, got: Any, exact: list[Fraction]) -> None:
    assert isinstance(got, list) and len(got) == len(exact), f"{name}: expected {len(exact)} values, got {got!r}"
    for i, (g, e) in enumerate(zip(got, exact)):
        assert isinstance(g, (int, float)) and not isinstance(g, bool), f"{name}[{i}] is not a number: {g!r}"
        assert g == _plain(e), f"{name}[{i}] = {g}, backprop with fractions gives {e}"


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Pow: operator.pow}


def _evaluate(text: str, env: Mapping[str, Fraction]) -> Fraction:
    """Evaluate a polynomial string ('2*w**3 - w**2 + u1*w') exactly, without sympy: + - * ** only."""

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow):
                assert right.denominator == 1 and right >= 0, f"non-polynomial power in {text!r}"
                return left ** int(right)
            return _OPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return Fraction(node.value)
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        raise AssertionError(f"{text!r} is not a polynomial in {sorted(env)}")

    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise AssertionError(f"{text!r} does not parse as a polynomial") from None
    return walk(tree)
