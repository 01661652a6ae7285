"""Recurrent-network families: backpropagation through time on small, unrolled graphs, one LSTM
cell step backward, and how gradients vanish or explode through a linear RNN.

Convention: the hidden state starts at h_0 = 0, steps are numbered t = 1..T, and inputs are listed
in time order, u = [u_1, ..., u_T].
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.arith import evaluate
from qbank.draws import choice, decimal, int_vector
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.precision import decimals, exact, is_short_decimal, sig
from qbank.params import (
    ParamError,
    as_decimal,
    as_decimal_list,
    as_decimal_matrix,
    as_int,
    as_int_list,
    as_number,
    require_keys,
)

SAMPLED_WEIGHTS = (-2, -1.5, -0.5, 0.5, 1.5, 2)  # dyadic, so every forward and backward value is an exact float


def _plain(value: Fraction) -> int | float:
    """An exact rational as JSON data: an int when whole, else the correctly rounded float."""
    num, den = int(value.numerator), int(value.denominator)
    return num if den == 1 else num / den


# ---------------------------------------------------------------- mistakes a draw must separate from the answer




def _usable(fam: Family, params: Mapping[str, Any]) -> bool:
    """Whether the engine takes a drawn sample as it is: not degenerate and free of rounding traps. A sampler
    that draws its structure first and then its numbers until they are usable keeps the structure's planned
    frequency, however often one structure is refused."""
    from qbank.grading import rounding_trap

    return fam.degenerate(params) is None and rounding_trap(fam, params, fam.solve(params)) is None




# ---------------------------------------------------------------- exact polynomials (the scalar RNN's solve)

Monomial = tuple[tuple[str, int], ...]  # (variable, power) pairs sorted by name, powers >= 1; () is 1


class Poly:
    """A polynomial with exact rational coefficients, {monomial: Fraction}, always expanded.

    Enough algebra for the scalar RNN without sympy (which made solving and rendering it ten times
    slower than any other family): +, *, d/dx, substitution, and sympy's own term order and spelling
    when printed, so the strings parse back to the same expressions in sympy and in qbank.arith.
    """

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[Monomial, Fraction]):
        self.terms = {m: c for m, c in terms.items() if c}

    @classmethod
    def var(cls, name: str) -> Poly:
        return cls({((name, 1),): Fraction(1)})

    @classmethod
    def of(cls, value: Poly | int | Fraction) -> Poly:
        return value if isinstance(value, Poly) else cls({(): Fraction(value)})

    def __add__(self, other: Poly | int | Fraction) -> Poly:
        terms = dict(self.terms)
        for m, c in Poly.of(other).terms.items():
            terms[m] = terms.get(m, 0) + c
        return Poly(terms)

    def __mul__(self, other: Poly | int | Fraction) -> Poly:
        terms: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in Poly.of(other).terms.items():
                powers = dict(m1)
                for name, p in m2:
                    powers[name] = powers.get(name, 0) + p
                m = tuple(sorted(powers.items()))
                terms[m] = terms.get(m, 0) + c1 * c2
        return Poly(terms)

    __radd__, __rmul__ = __add__, __mul__

    def diff(self, name: str) -> Poly:
        terms: dict[Monomial, Fraction] = {}
        for m, c in self.terms.items():
            powers = dict(m)
            p = powers.pop(name, 0)
            if p:
                if p > 1:
                    powers[name] = p - 1
                rest = tuple(sorted(powers.items()))
                terms[rest] = terms.get(rest, 0) + c * p
        return Poly(terms)

    def subs(self, values: Mapping[str, int | Fraction]) -> Poly:
        terms: dict[Monomial, Fraction] = {}
        for m, c in self.terms.items():
            rest = []
            for name, p in m:
                if name in values:
                    c *= Fraction(values[name]) ** p
                else:
                    rest.append((name, p))
            terms[tuple(rest)] = terms.get(tuple(rest), 0) + c
        return Poly(terms)

    def value(self, values: Mapping[str, int | Fraction]) -> Fraction:
        """The number the polynomial takes when every variable in it is given."""
        left = self.subs(values).terms
        assert set(left) <= {()}, f"no value for {sorted({n for m in left for n, _ in m})}"
        return left.get((), Fraction(0))

    def coeff(self, name: str, power: int) -> Fraction:
        """The coefficient of name**power in a polynomial of that one variable."""
        return self.terms.get(((name, power),) if power else (), Fraction(0))

    def _ordered(self) -> list[tuple[Monomial, Fraction]]:
        """Terms in sympy's order, lex over the sorted variable names (u1 < ... < uT < w), largest first;
        for the scalar RNN that is the highest power of w first."""
        names = sorted({n for m in self.terms for n, _ in m})
        terms = sorted(self.terms.items(), key=lambda mc: [dict(mc[0]).get(n, 0) for n in names], reverse=True)
        # sympy's one exception (Expr.as_ordered_terms): a positive number and one negative multiple of a
        # single power print number first, '3 - 4*w' rather than '-4*w + 3'.
        if len(terms) == 2 and terms[1][0] == () and terms[1][1] > 0 and terms[0][1] < 0 and len(terms[0][0]) == 1:
            terms.reverse()
        return terms

    def _spell(self, coefficient: Any, factor: Any, times: str, zero: str) -> str:
        """Signed terms joined as sympy joins them: '-a + b - c'."""
        text = ""
        for m, c in self._ordered():
            factors = [factor(name, p) for name, p in m]
            if abs(c) != 1 or not factors:
                factors.insert(0, coefficient(abs(c)))
            sign = ("-" if c < 0 else "") if not text else (" - " if c < 0 else " + ")
            text += sign + times.join(factors)
        return text or zero

    def __str__(self) -> str:
        """Python/sympy syntax: 'u1*w**2 + u2*w + u3', '-3*w**5 + 2*w**3 - w**2 + 3*w'."""
        return self._spell(str, lambda name, p: name if p == 1 else f"{name}**{p}", "*", "0")

    def latex(self) -> str:
        """sympy.latex's spelling: 'u_{1} w^{2} + u_{2} w + u_{3}', '- 3 w^{5} + 2 w^{3} - w^{2} + 3 w'."""

        def coefficient(c: Fraction) -> str:
            return str(c) if c.denominator == 1 else f"\\frac{{{c.numerator}}}{{{c.denominator}}}"

        def factor(name: str, p: int) -> str:
            stem = name.rstrip("0123456789")
            symbol = f"{stem}_{{{name[len(stem):]}}}" if stem != name else name
            return symbol if p == 1 else f"{symbol}^{{{p}}}"

        text = self._spell(coefficient, factor, " ", "0")
        if text.startswith("-") and set(self.terms) != {()}:  # a leading '- 3 w', but a lone '-3'
            text = "- " + text[1:]
        return text


W = Poly.var("w")


def _value(expr: Poly, values: Mapping[str, Fraction]) -> int | float:
    """A polynomial evaluated exactly at `values`, as JSON data."""
    return _plain(expr.value(values))


def _unroll(weight: Any, inputs: list[Any], h_start: Any = 0) -> tuple[list[Any], list[Any]]:
    """The sum nodes a_t = u_t + h_{t-1} and product nodes h_t = w a_t of the scalar RNN, expanded."""
    sums, states, h = [], [], h_start
    for u in inputs:
        a = u + h
        h = weight * a
        sums.append(a)
        states.append(h)
    return sums, states


def _output(weight: Any, inputs: list[Any], h_start: Any) -> Any:
    """y when the recurrence resumes from h_start and reads the remaining inputs."""
    states = _unroll(weight, inputs, h_start)[1]
    return states[-1] if states else h_start


def _polynomials(u: list[int]) -> dict[str, Any]:
    """Every polynomial the scalar RNN asks for: the nodes in w and u_1..u_T, y and dy/dw in w with the
    inputs substituted, and the node partials in w."""
    steps = len(u)
    u_vars = [Poly.var(f"u{t}") for t in range(1, steps + 1)]
    sums, states = _unroll(W, u_vars)
    y = states[-1].subs({f"u{t}": u_t for t, u_t in enumerate(u, 1)})
    # dy/d(node): cut the graph at the node, put a free variable there, run the rest, differentiate.
    cut = Poly.var("cut")
    return {
        "a": sums,
        "h": states,
        "y": y,
        "dydw": y.diff("w"),
        "d_sums": [_output(W, u[t + 1 :], W * cut).diff("cut") for t in range(steps)],
        "d_states": [_output(W, u[t + 1 :], cut).diff("cut") for t in range(steps)],
    }


def _scalar_forward(params: Mapping[str, Any]) -> tuple[Fraction, list[Fraction], list[Fraction]]:
    """w and the exact sum nodes a_t and product nodes h_t of the scalar RNN."""
    w = Fraction(str(params["w"]))
    sums, states = _unroll(w, [Fraction(u_t) for u_t in params["u"]], Fraction(0))
    return w, sums, states


def _recurrent_edges_forgotten(params: Mapping[str, Any]) -> dict[str, Any]:
    """h_{T-1} treated as a constant: dy/dw = dh_T/dw along the last edge only, a_T."""
    _, sums, _ = _scalar_forward(params)
    return {"dydw": _plain(sums[-1])}


def _local_slopes_only(params: Mapping[str, Any]) -> dict[str, Any]:
    """Each edge's local slope a_t summed, without the factor dy/dh_t that carries it to y."""
    _, sums, _ = _scalar_forward(params)
    return {"dydw": _plain(sum(sums))}


def _power_factor_dropped(params: Mapping[str, Any]) -> dict[str, Any]:
    """d(w^k)/dw written w^(k-1), without the factor k: dy/dw = y / w."""
    w, _, states = _scalar_forward(params)
    return {"dydw": _plain(states[-1] / w)}


def _inputs_reversed(params: Mapping[str, Any]) -> dict[str, Any]:
    """u_t multiplied by w^t instead of w^(T+1-t) (the inputs read in the wrong order): y and dy/dw of
    sum_t u_t w^t."""
    w, u = Fraction(str(params["w"])), params["u"]
    return {
        "y_value": _plain(sum(u_t * w**t for t, u_t in enumerate(u, 1))),
        "dydw": _plain(sum(t * u_t * w ** (t - 1) for t, u_t in enumerate(u, 1))),
    }


def _partials_off_by_one(params: Mapping[str, Any]) -> dict[str, Any]:
    """One power of w off in the backward pass: dy/dh_t = w^(T+1-t) and dy/da_t = w^(T-t)."""
    w, steps = Fraction(str(params["w"])), len(params["u"])
    return {
        "node_partials": {
            "a": [_plain(w ** (steps - 1 - t)) for t in range(steps)],
            "h": [_plain(w ** (steps - t)) for t in range(steps)],
        }
    }


def _edge_through_sum_node(params: Mapping[str, Any]) -> dict[str, Any]:
    """The edge into h_t scaled by dy/da_t instead of dy/dh_t: c_t = a_t w^(T+1-t)."""
    w, sums, _ = _scalar_forward(params)
    steps = len(sums)
    return {"edge_contributions": [_plain(a * w ** (steps - t)) for t, a in enumerate(sums)]}


@register
class ScalarRnnBackprop(Family):
    """Mistakes its draws separate from the right answer (`mistakes`; `degenerate` refuses a draw where one
    of them gives a value the key accepts): forgetting the recurrent edges (dy/dw = a_T, the mistake part (e)
    is about), summing the edges' local slopes a_t without dy/dh_t, dropping the factor k of d(w^k)/dw,
    reading the inputs in reverse order (u_t with w^t), one power of w off in the node partials, and scaling
    an edge by dy/da_t instead of dy/dh_t. A zero sum node (a_t = 0, so h_t = c_t = 0 whatever the slip)
    and dy/dw = 0 are refused as well."""

    id = "scalar-rnn-backprop"
    title = "Backpropagation through a scalar linear RNN"
    topic = "rnn"
    difficulty = 2
    # Every value is exact: w is a short decimal, the inputs are integers, and validate() keeps w^T to
    # at most 6 decimals, so each answer is a short decimal a student writes out in full.
    answers = {
        "forward": Answer(
            "table",
            "sum nodes a_t and product nodes h_t: values at the given w (a, h) and as polynomials in w, u_1..u_T "
            "(a_expr, h_expr)",
            precision=exact(),
            symbol="a_t, h_t",
            label="a_t and h_t",
            index=("t = {}",),
            keys={"a": "a_t", "h": "h_t", "a_expr": "a_t as a polynomial", "h_expr": "h_t as a polynomial"},
            form="for each step t, the values of a_t and h_t and their polynomials in w and the inputs u1, u2, ...",
        ),
        "y_poly": Answer(
            "expression", "the output y = h_T as a polynomial in w, inputs substituted",
            symbol="y", label="y as a polynomial in w", form="a polynomial in w alone",
        ),
        "y_coeffs": Answer(
            "vector", "coefficients of w^1, ..., w^T in y", precision=exact(whole=True),
            symbol="y", label="coefficients of y", index=("of w^{}",), form="whole numbers, lowest power first",
        ),
        "y_value": Answer("number", "y at the given w", precision=exact(), symbol="y", label="y at the given w"),
        "dydw_poly": Answer(
            "expression", "dy/dw as a polynomial in w",
            symbol=r"\frac{dy}{dw}", label="dy/dw as a polynomial in w", form="a polynomial in w",
        ),
        "dydw": Answer(
            "number", "dy/dw at the given w", precision=exact(), symbol=r"\frac{dy}{dw}", label="dy/dw at the given w"
        ),
        "node_partials": Answer(
            "table",
            "dy/da_t and dy/dh_t at the given w (a, h) and as powers of w (a_expr, h_expr)",
            precision=exact(),
            symbol=r"\partial y/\partial a_t, \partial y/\partial h_t",
            label="dy/da_t and dy/dh_t",
            index=("t = {}",),
            keys={"a": "dy/da_t", "h": "dy/dh_t", "a_expr": "dy/da_t as a power of w", "h_expr": "dy/dh_t as a power of w"},
            form="for each step t, the values of both partials and each as a power of w",
        ),
        "edge_contributions": Answer(
            "vector", "contribution a_t dy/dh_t of the edge from w into each product node h_t",
            precision=exact(), symbol="c_t", label="c_t", index=("t = {}",),
        ),
    }
    mistakes = {
        "recurrent edges forgotten (dy/dw = a_T, the last edge only)": _recurrent_edges_forgotten,
        "local slopes a_t summed without dy/dh_t": _local_slopes_only,
        "factor k of d(w^k)/dw dropped (dy/dw = y/w)": _power_factor_dropped,
        "inputs in reverse order (u_t w^t)": _inputs_reversed,
        "one power of w off in the node partials": _partials_off_by_one,
        "edge scaled by dy/da_t instead of dy/dh_t": _edge_through_sum_node,
    }

    # T (the length of u) sets the number of nodes, polynomial terms and edges in every part
    structure = ("u",)
    asks = ("rnn-unrolled-polynomial", "bptt-node-gradients", "shared-weight-gradient-sum")
    # the unrolled graph is drawn, and part (e) works the edge into h_1 as its example
    reveals = ("rnn-unrolled-graph", "shared-weight-edge-derivative")

    def parts(self, params):
        return (
            Part(("forward",), 3),
            Part(("y_poly", "y_coeffs", "y_value"), 1),
            Part(("dydw_poly", "dydw"), 2),
            Part(("node_partials",), 2),
            Part(("edge_contributions",), 2),
        )

    def minutes(self, params):
        # About 12 s per polynomial or number written out (most are short), 1 min per sentence of explanation:
        # (a) 2T polynomials and 2T values; (b) y and its T terms at w; (c) T derivative terms and their value;
        # (d) 2T partials, each a power of w and a number; (e) T products, their sum and the rule (1.5 min).
        steps = len(params["u"])
        written = 4 * steps + (1 + steps) + (1 + steps) + 4 * steps + (steps + 1)
        return round(written * 0.2 + 1.5 + 1, 1)  # + 1 min to read the problem

    def sample(self, rng):
        steps = choice(rng, (2, 3, 3, 4))
        # T first, then the numbers until degenerate() takes them: a T that is refused more often (more
        # values, more chances for a mistake to score) is still drawn as often as planned
        for _ in range(100):
            params = {
                "w": choice(rng, SAMPLED_WEIGHTS),
                # u_1 is the coefficient of w^T in y: nonzero keeps y of full degree; the later inputs are
                # nonzero too, so that no term of y, dy/dw or the edge contributions drops out (equal work per T)
                "u": int_vector(rng, steps, -3, 3, nonzero=True),
            }
            if self.degenerate(params) is None:
                break
        return params

    def validate(self, params):
        require_keys(params, ("w", "u"))
        expected_w = "a nonzero number from -5 to 5 with at most 2 decimals"
        w = as_number(params["w"], "w", -5, 5)
        if w == 0 or round(w, 2) != w:
            raise ParamError("w", expected_w, w)
        u = as_int_list(params["u"], "u", (2, 5), -9, 9)
        if u[0] == 0:
            raise ParamError("u[0]", "a nonzero first input u_1 (the coefficient of w^T in y)", u[0])
        if not is_short_decimal(float(Fraction(str(w)) ** len(u))):
            # every answer is asked exactly, and w^T has the most decimals of any value
            raise ParamError(
                "w", f"a weight whose power w^{len(u)} has at most 6 decimals (T = {len(u)} inputs; "
                "every value is asked exactly), such as 0.5, 1.5 or -2", w,
            )
        return {"w": w, "u": u}

    def degenerate(self, params):
        _, sums, _ = _scalar_forward(params)
        if any(a == 0 for a in sums):
            t = next(t for t, a in enumerate(sums, 1) if a == 0)
            return f"the sum node a_{t} is 0, so h_{t} and the edge contribution c_{t} are 0 whatever slip is made"
        answers = self.solve(params)
        if answers["dydw"] == 0:
            return "dy/dw is 0 at the given w, so a student who forgets edges (or the whole graph) still gets it"
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        u = params["u"]
        w = Fraction(str(params["w"]))
        at_w = {"w": w, **{f"u{t}": u_t for t, u_t in enumerate(u, 1)}}
        polys = _polynomials(u)
        y, dydw = polys["y"], polys["dydw"]

        # Untie the shared weight: step t gets its own w_t; the edge into h_t contributes dy/dw_t at w_t = w.
        untied = [f"w{t}" for t in range(1, len(u) + 1)]
        h: Any = 0
        for w_t, u_t in zip(untied, u):
            h = Poly.var(w_t) * (u_t + h)
        shared = {w_t: w for w_t in untied}
        edges = [_value(h.diff(w_t), shared) for w_t in untied]

        return {
            "forward": {
                "a": [_value(s, at_w) for s in polys["a"]],
                "h": [_value(s, at_w) for s in polys["h"]],
                "a_expr": [str(s) for s in polys["a"]],
                "h_expr": [str(s) for s in polys["h"]],
            },
            "y_poly": str(y),
            "y_coeffs": [int(y.coeff("w", k)) for k in range(1, len(u) + 1)],
            "y_value": _value(y, at_w),
            "dydw_poly": str(dydw),
            "dydw": _value(dydw, at_w),
            "node_partials": {
                "a": [_value(d, at_w) for d in polys["d_sums"]],
                "h": [_value(d, at_w) for d in polys["d_states"]],
                "a_expr": [str(d) for d in polys["d_sums"]],
                "h_expr": [str(d) for d in polys["d_states"]],
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
        polys = _polynomials(params["u"])
        return {
            "T": steps,
            # the polynomials as LaTeX, spelled as sympy.latex spells them
            "tex": {
                "a": [p.latex() for p in polys["a"]],
                "h": [p.latex() for p in polys["h"]],
                "y": polys["y"].latex(),
                "dydw": polys["dydw"].latex(),
                "d_sums": [p.latex() for p in polys["d_sums"]],
                "d_states": [p.latex() for p in polys["d_states"]],
            },
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


def _evaluate(text: str, env: Mapping[str, Fraction]) -> Fraction:
    """Evaluate a polynomial string ('2*w**3 - w**2 + u1*w') exactly, without sympy."""
    return evaluate(text, env, exact=True, powers=True, what="a polynomial")


# ---------------------------------------------------------------- real-valued params (shared by the families below)


def _exact(value: int | float) -> Fraction:
    """A short decimal from params as the exact rational it is written as."""
    return Fraction(str(value))


def _close(name: str, got: Any, want: list[float], tol: float, rel: float = 0.0) -> None:
    """Compare a list of numbers (an answer) with the values of an independent computation."""
    assert isinstance(got, list) and len(got) == len(want), f"{name}: expected {len(want)} values, got {got!r}"
    for k, (g, w) in enumerate(zip(got, want)):
        assert isinstance(g, (int, float)) and not isinstance(g, bool), f"{name}[{k}] is not a number: {g!r}"
        assert abs(g - w) <= tol + rel * abs(w), f"{name}[{k}] = {g!r}, the independent computation gives {w!r}"


# ---------------------------------------------------------------- one LSTM cell step, backward

GATES = ("f", "i", "g", "o")  # the order of the four blocks of a, W_x, W_h and b
LSTM_FIELDS = ("Wx", "Wh", "b", "x", "h_prev", "c_prev", "dh", "dc_next")
# (hidden size H, input size D): mostly scalars, which are worked by hand
LSTM_SHAPES = ((1, 1),) * 5 + ((1, 2), (2, 1), (2, 2))
LSTM_MAX_PREACT = 2.5  # drawn gates stay away from saturation, where every local slope is nearly 0
LSTM_MIN_DELTA = 2e-3  # ... and no pre-activation gradient is so small that its gate hardly matters
# A gradient that is a sum (dc_t, dh_{t-1}) must keep at least this share of its largest term: a sum that
# cancels further loses its leading digits, and its significant digits would ask for far more of every term.
LSTM_MIN_SUM_SHARE = 0.02
# Forward values are of order 1 (gates in (0, 1), states in (-3, 3)): 4 decimal places. Gradients range from
# about 1e-4 to 3: 3 significant digits, as a calculator gives them from unrounded intermediate values.
LSTM_FORWARD, LSTM_GRADIENT = decimals(4), sig(3)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _lstm_preactivation(params: Mapping[str, Any]) -> list[float]:
    """a = W_h h_{t-1} + W_x x_t + b as the floats nearest its exact value: with params of at most 2 decimals
    every entry has at most 4, so rounding to 8 decimals removes just the float error."""
    rows = zip(params["Wh"], params["Wx"], params["b"])
    return [
        round(sum(w * v for w, v in zip(wh, params["h_prev"])) + sum(w * v for w, v in zip(wx, params["x"])) + b, 8)
        for wh, wx, b in rows
    ]


def _lstm_loss(
    params: Mapping[str, Any], nudge: tuple[str, int, float] | None = None
) -> tuple[float, dict[str, list[float]]]:
    """The forward pass written out entry by entry (no numpy), and L = dh . h_t + dc_next . c_t.

    `nudge = (name, k, eps)` adds eps to entry k of a param ("Wx" and "Wh" flattened row by row) or of an
    intermediate value ("a", "f", "i", "g", "o", "c") on its way through, for finite differences."""

    def at(name: str, values: list[float]) -> list[float]:
        if nudge is not None and nudge[0] == name:
            values = list(values)
            values[nudge[1]] += nudge[2]
        return values

    hidden, inputs = len(params["h_prev"]), len(params["x"])
    wx = at("Wx", [float(v) for row in params["Wx"] for v in row])
    wh = at("Wh", [float(v) for row in params["Wh"] for v in row])
    b, x = at("b", [float(v) for v in params["b"]]), at("x", [float(v) for v in params["x"]])
    h_prev = at("h_prev", [float(v) for v in params["h_prev"]])
    c_prev = at("c_prev", [float(v) for v in params["c_prev"]])
    a = at("a", [
        b[r]
        + sum(wh[r * hidden + k] * h_prev[k] for k in range(hidden))
        + sum(wx[r * inputs + k] * x[k] for k in range(inputs))
        for r in range(4 * hidden)
    ])

    def logistic(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    block = {q: a[n * hidden : (n + 1) * hidden] for n, q in enumerate(GATES)}
    f = at("f", [logistic(z) for z in block["f"]])
    i = at("i", [logistic(z) for z in block["i"]])
    g = at("g", [math.tanh(z) for z in block["g"]])
    o = at("o", [logistic(z) for z in block["o"]])
    c = at("c", [f[j] * c_prev[j] + i[j] * g[j] for j in range(hidden)])
    h = [o[j] * math.tanh(c[j]) for j in range(hidden)]
    loss = sum(float(params["dh"][j]) * h[j] + float(params["dc_next"][j]) * c[j] for j in range(hidden))
    return loss, {"a": a, "f": f, "i": i, "g": g, "o": o, "c": c, "h": h}


def _lstm_part_minutes(hidden: int, inputs: int) -> list[float]:
    """Working time by hand, with a calculator, of parts (a) to (f): about 12 s per multiply-add written
    out, 15 s per sigmoid or tanh, 0.3 min per part to set it up; part (b) has 1 min of reasoning (the two
    paths into c_t). H = D = 1 gives 4.6, 1.6, 1.1, 1.9, 1.9 and 1.3 minutes; H = D = 2 about 12, 2.2, 1.9,
    3.5, 6.7 and 3.9."""
    rows = 4 * hidden
    return [
        0.2 * rows * (hidden + inputs + 1) + 0.25 * rows + 0.2 * 2 * hidden + 0.45 * hidden + 0.3,  # a, gates, c, h
        0.2 * 3 * hidden + 1,  # dc: dc_next + dh o (1 - tanh^2)
        0.2 * 4 * hidden + 0.3,  # df, di, dg, do
        0.2 * 2 * rows + 0.3,  # da: one product with the local slope
        0.2 * rows * (hidden + inputs) + 0.3,  # dWh, dWx: outer products
        0.2 * (rows * hidden + hidden) + 0.3,  # dh_prev = W_h^T da, dc_prev = dc f
    ]


def _lstm_solve(params: Mapping[str, Any]) -> dict[str, Any]:
    """One LSTM step forward and backward with numpy, for the upstream gradients dh and dc_next."""
    hidden = len(params["h_prev"])
    x, h_prev, c_prev = (np.array(params[k], dtype=float) for k in ("x", "h_prev", "c_prev"))
    dh, dc_next = np.array(params["dh"], dtype=float), np.array(params["dc_next"], dtype=float)
    wh = np.array(params["Wh"], dtype=float)
    a = np.array(_lstm_preactivation(params))
    a_f, a_i, a_g, a_o = a.reshape(4, hidden)
    f, i, g, o = _sigmoid(a_f), _sigmoid(a_i), np.tanh(a_g), _sigmoid(a_o)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c

    dc = dc_next + dh * o * (1 - tanh_c**2)  # c_t reaches L directly (dc_next) and through h_t
    df, di, dg, do = dc * c_prev, dc * g, dc * i, dh * tanh_c
    da = np.concatenate([df * f * (1 - f), di * i * (1 - i), dg * (1 - g**2), do * o * (1 - o)])
    return {
        "a": a.tolist(),
        "f": f.tolist(),
        "i": i.tolist(),
        "g": g.tolist(),
        "o": o.tolist(),
        "c": c.tolist(),
        "h": h.tolist(),
        "dc": dc.tolist(),
        "df": df.tolist(),
        "di": di.tolist(),
        "dg": dg.tolist(),
        "do": do.tolist(),
        "da": da.tolist(),
        "db": da.tolist(),
        "dWh": np.outer(da, h_prev).tolist(),
        "dWx": np.outer(da, x).tolist(),
        "dh_prev": (wh.T @ da).tolist(),
        "dc_prev": (dc * f).tolist(),
    }


def _lstm_mistaken(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The values the LSTM mistakes start from (solve's, as arrays), and tanh(c_t)."""
    values = {k: np.array(v, dtype=float) for k, v in _lstm_solve(params).items()}
    values["tanh_c"] = np.tanh(values["c"])
    return values


def _lstm_h_without_tanh(params):
    """h_t = o c_t: the tanh of the cell state forgotten."""
    v = _lstm_mistaken(params)
    return {"h": (v["o"] * v["c"]).tolist()}


def _lstm_dc_without_h_path(params):
    """dc_t = dc_next: the path from c_t through h_t = o tanh(c_t) forgotten."""
    return {"dc": [float(d) for d in params["dc_next"]]}


def _lstm_dc_without_cell_path(params):
    """dc_t = dh o (1 - tanh^2(c_t)): the gradient coming back through the next cell state forgotten."""
    v = _lstm_mistaken(params)
    return {"dc": (np.array(params["dh"], dtype=float) * v["o"] * (1 - v["tanh_c"] ** 2)).tolist()}


def _lstm_do_with_tanh_squared(params):
    """do = dh tanh^2(c_t) (a misprint of the course handout) instead of dh tanh(c_t)."""
    v = _lstm_mistaken(params)
    return {"do": (np.array(params["dh"], dtype=float) * v["tanh_c"] ** 2).tolist()}


def _lstm_input_and_candidate_swapped(params):
    """di = dc_t i and dg = dc_t g: each gate multiplied by itself instead of the other factor of i g."""
    v = _lstm_mistaken(params)
    return {"di": (v["dc"] * v["i"]).tolist(), "dg": (v["dc"] * v["g"]).tolist()}


def _lstm_tanh_slope_for_sigmoids(params):
    """The slope 1 - s^2 of tanh used for the sigmoid gates f, i and o (the candidate's block unchanged)."""
    v = _lstm_mistaken(params)
    hidden = len(params["h_prev"])
    blocks = [v["df"] * (1 - v["f"] ** 2), v["di"] * (1 - v["i"] ** 2), None, v["do"] * (1 - v["o"] ** 2)]
    wrong = [None if b is None else float(b[j]) for b in blocks for j in range(hidden)]
    return {"da": wrong, "db": wrong}


def _lstm_sigmoid_slope_for_candidate(params):
    """The slope g (1 - g) of a sigmoid used for the candidate g = tanh(a_g)."""
    v = _lstm_mistaken(params)
    hidden = len(params["h_prev"])
    wrong = [None] * (4 * hidden)
    wrong[2 * hidden : 3 * hidden] = (v["dg"] * v["g"] * (1 - v["g"])).tolist()
    return {"da": wrong, "db": wrong}


def _lstm_dc_prev_without_forget_gate(params):
    """dc_{t-1} = dc_t: the forget gate's factor on the cell path forgotten."""
    return {"dc_prev": _lstm_mistaken(params)["dc"].tolist()}


def _lstm_dh_prev_skipping_slopes(params):
    """dh_{t-1} = W_h^T [df; di; dg; do]: the gates' gradients sent back without their activation slopes."""
    v = _lstm_mistaken(params)
    gates = np.concatenate([v["df"], v["di"], v["dg"], v["do"]])
    return {"dh_prev": (np.array(params["Wh"], dtype=float).T @ gates).tolist()}


def _lstm_dwh_with_new_state(params):
    """dW_h = da h_t^T: the new hidden state where the previous one multiplies W_h."""
    v = _lstm_mistaken(params)
    return {"dWh": np.outer(v["da"], v["h"]).tolist()}


def _lstm_cancellation(params: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
    """Why a gradient that is a sum (dc_t = dc_next + dh o (1 - tanh^2 c_t), dh_{t-1} = W_h^T da) cancels
    below LSTM_MIN_SUM_SHARE of its largest term, else None."""
    o, tanh_c = np.array(answers["o"]), np.tanh(np.array(answers["c"]))
    sums = {
        "dc_t": np.array([np.array(params["dc_next"], dtype=float), np.array(params["dh"]) * o * (1 - tanh_c**2)]),
        "dh_{t-1}": np.array(params["Wh"], dtype=float) * np.array(answers["da"])[:, None],
    }
    for name, terms in sums.items():
        total, largest = np.abs(terms.sum(axis=0)), np.abs(terms).max(axis=0)
        for unit in range(len(total)):
            if total[unit] < LSTM_MIN_SUM_SHARE * largest[unit]:
                return (
                    f"the terms of {name} (unit {unit + 1}) cancel to {total[unit]:.2g}, under "
                    f"{LSTM_MIN_SUM_SHARE:.0%} of the largest ({largest[unit]:.2g}): its significant digits are lost"
                )
    return None


LSTM_GRADIENTS = ("dc", "df", "di", "dg", "do", "da", "dWh", "dWx", "dh_prev", "dc_prev")


def _working(value: Any) -> Any:
    """A gradient as the LSTM solution's working shows it, one digit beyond its answer: 4 decimal places, and
    below 0.1 4 significant digits in plain decimals (0.002346), so that the shown products agree with the
    shown factors to about 1e-4 (lists and matrices entry by entry)."""
    if isinstance(value, list):
        return [_working(v) for v in value]
    if value == 0:
        return "0"
    places = 4 if abs(value) >= 0.1 else 3 - math.floor(math.log10(abs(value)))
    text = f"{value:.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


@register
class LstmCellBackward(Family):
    """Mistakes its draws separate from the right answer (`mistakes`; `degenerate` refuses a draw where one
    of them gives a value the key accepts): h_t without the tanh of c_t; dc_t without the path through h_t,
    or without the next cell state's gradient; do with tanh^2 (the handout's misprint); di and dg swapped;
    the tanh slope for a sigmoid gate or the sigmoid slope for the candidate; dc_{t-1} without the forget
    gate; dh_{t-1} skipping the activation slopes; dW_h with h_t for h_{t-1}. A sum (dc_t, dh_{t-1}) whose
    terms cancel below LSTM_MIN_SUM_SHARE of the largest is refused too.

    Every answer is asked: the forward values, each intermediate gradient of the chain (dc_t, the gate and
    pre-activation gradients), the parameter gradients and what the cell sends back; db equals da, and
    seeing that the bias passes the gradient on unchanged is what part (d) asks."""

    id = "lstm-cell-backward"
    title = "Backpropagation through one LSTM cell step"
    topic = "rnn"
    difficulty = 3
    answers = {
        "a": Answer(
            "vector", "pre-activations a = W_h h_{t-1} + W_x x_t + b, blocks f, i, g, o",
            precision=exact(), symbol="a", label="a", form="numbers in the order of the blocks f, i, g, o",
        ),
        "f": Answer("vector", "forget gate f = sigma(a_f)", precision=LSTM_FORWARD, symbol="f", label="f", index=("unit {}",)),
        "i": Answer("vector", "input gate i = sigma(a_i)", precision=LSTM_FORWARD, symbol="i", label="i", index=("unit {}",)),
        "g": Answer("vector", "candidate g = tanh(a_g)", precision=LSTM_FORWARD, symbol="g", label="g", index=("unit {}",)),
        "o": Answer("vector", "output gate o = sigma(a_o)", precision=LSTM_FORWARD, symbol="o", label="o", index=("unit {}",)),
        "c": Answer(
            "vector", "new cell state c_t = f*c_{t-1} + i*g",
            precision=LSTM_FORWARD, symbol="c_t", label="c_t", index=("unit {}",),
        ),
        "h": Answer(
            "vector", "new hidden state h_t = o*tanh(c_t)",
            precision=LSTM_FORWARD, symbol="h_t", label="h_t", index=("unit {}",),
        ),
        "dc": Answer(
            "vector", "total gradient at the cell state, dc_t = dc_next + dh*o*(1 - tanh^2(c_t))",
            precision=LSTM_GRADIENT, symbol=r"\delta c_t", label="dL/dc_t", index=("unit {}",),
        ),
        "df": Answer(
            "vector", "gradient at the forget gate, dc_t*c_{t-1}",
            precision=LSTM_GRADIENT, symbol=r"\delta f", label="dL/df", index=("unit {}",),
        ),
        "di": Answer(
            "vector", "gradient at the input gate, dc_t*g",
            precision=LSTM_GRADIENT, symbol=r"\delta i", label="dL/di", index=("unit {}",),
        ),
        "dg": Answer(
            "vector", "gradient at the candidate, dc_t*i",
            precision=LSTM_GRADIENT, symbol=r"\delta g", label="dL/dg", index=("unit {}",),
        ),
        "do": Answer(
            "vector", "gradient at the output gate, dh*tanh(c_t)",
            precision=LSTM_GRADIENT, symbol=r"\delta o", label="dL/do", index=("unit {}",),
        ),
        "da": Answer(
            "vector", "gradient at the pre-activations, blocks f, i, g, o",
            precision=LSTM_GRADIENT, symbol=r"\delta a", label="dL/da", form="numbers in the order of the blocks f, i, g, o",
        ),
        "db": Answer(
            "vector", "gradient of the bias (equal to da)",
            precision=LSTM_GRADIENT, symbol=r"\delta b", label="dL/db", form="numbers in the order of the blocks f, i, g, o",
        ),
        "dWh": Answer("matrix", "gradient of W_h, da h_{t-1}^T", precision=LSTM_GRADIENT, symbol=r"\delta W_h", label="dL/dW_h"),
        "dWx": Answer("matrix", "gradient of W_x, da x_t^T", precision=LSTM_GRADIENT, symbol=r"\delta W_x", label="dL/dW_x"),
        "dh_prev": Answer(
            "vector", "gradient passed to the previous hidden state, W_h^T da",
            precision=LSTM_GRADIENT, symbol=r"\delta h_{t-1}", label="dL/dh_{t-1}", index=("unit {}",),
        ),
        "dc_prev": Answer(
            "vector", "gradient passed to the previous cell state, dc_t*f",
            precision=LSTM_GRADIENT, symbol=r"\delta c_{t-1}", label="dL/dc_{t-1}", index=("unit {}",),
        ),
    }
    mistakes = {
        "h_t without the tanh (h_t = o c_t)": _lstm_h_without_tanh,
        "dc_t without the path through h_t": _lstm_dc_without_h_path,
        "dc_t without the next cell state's gradient": _lstm_dc_without_cell_path,
        "do with tanh^2(c_t)": _lstm_do_with_tanh_squared,
        "di and dg swapped": _lstm_input_and_candidate_swapped,
        "tanh slope for a sigmoid gate": _lstm_tanh_slope_for_sigmoids,
        "sigmoid slope for the candidate": _lstm_sigmoid_slope_for_candidate,
        "dc_{t-1} without the forget gate": _lstm_dc_prev_without_forget_gate,
        "dh_{t-1} without the activation slopes": _lstm_dh_prev_skipping_slopes,
        "dW_h with h_t for h_{t-1}": _lstm_dwh_with_new_state,
    }
    structure = ("h_prev", "x")  # the hidden size H and the input size D set every part's amount of work
    asks = ("lstm-forward-step", "lstm-backward-step", "lstm-cell-state-gradient-paths", "lstm-cell-state-jacobian")
    # the problem states the cell's equations and figure and the derivatives of sigma and tanh
    reveals = ("lstm-equations", "sigmoid-derivative", "tanh-derivative")

    def parts(self, params):
        weights = [max(1, round(m)) for m in _lstm_part_minutes(len(params["h_prev"]), len(params["x"]))]
        names = (
            ("a", "f", "i", "g", "o", "c", "h"),
            ("dc",),
            ("df", "di", "dg", "do"),
            ("da", "db"),
            ("dWh", "dWx"),
            ("dh_prev", "dc_prev"),
        )
        return tuple(Part(n, w) for n, w in zip(names, weights))

    def minutes(self, params):
        # the parts' times (see _lstm_part_minutes) and 1.5 min to read the cell's equations
        return round(sum(_lstm_part_minutes(len(params["h_prev"]), len(params["x"]))) + 1.5, 1)

    def sample(self, rng):
        hidden, inputs = choice(rng, LSTM_SHAPES)

        def tenths(lo: float, hi: float, n: int, nonzero: bool = True) -> list[int | float]:
            return [decimal(rng, lo, hi, 0.1, nonzero=nonzero) for _ in range(n)]

        # Redraw until every gate is away from saturation and every pre-activation gradient is visible.
        for _ in range(200):
            params = {
                "Wx": [tenths(-1, 1, inputs) for _ in range(4 * hidden)],
                "Wh": [tenths(-1, 1, hidden) for _ in range(4 * hidden)],
                "b": tenths(-1, 1, 4 * hidden, nonzero=False),
                "x": tenths(-1, 1, inputs),
                "h_prev": tenths(-0.9, 0.9, hidden),
                "c_prev": tenths(-2, 2, hidden),
                "dh": tenths(-1, 1, hidden),
                "dc_next": tenths(-1, 1, hidden),
            }
            if max(abs(z) for z in _lstm_preactivation(params)) > LSTM_MAX_PREACT:
                continue
            # the engine's whole test here too, so that the shape drawn first is kept: H = 2 has more values
            # for a mistake to score on or to fall on a rounding boundary, and would be drawn less often
            if min(abs(d) for d in self.solve(params)["da"]) >= LSTM_MIN_DELTA and _usable(self, params):
                break
        return params

    def validate(self, params):
        require_keys(params, LSTM_FIELDS)
        if not isinstance(params["h_prev"], (list, tuple)) or len(params["h_prev"]) not in (1, 2):
            raise ParamError("h_prev", "a list of 1 or 2 numbers (its length is the hidden size H)", params["h_prev"])
        if not isinstance(params["x"], (list, tuple)) or len(params["x"]) not in (1, 2):
            raise ParamError("x", "a list of 1 or 2 numbers (its length is the input size D)", params["x"])
        hidden, inputs = len(params["h_prev"]), len(params["x"])
        rows = f" (4H rows with H = {hidden}, the length of h_prev"
        per_unit = f" (one per hidden unit: H = {hidden}, the length of h_prev)"
        return {
            "Wx": as_decimal_matrix(
                params["Wx"], "Wx", (4 * hidden,) * 2, (inputs,) * 2, -5, 5, why=rows + "; D columns, the length of x)"
            ),
            "Wh": as_decimal_matrix(params["Wh"], "Wh", (4 * hidden,) * 2, (hidden,) * 2, -5, 5, why=rows + ")"),
            "b": as_decimal_list(params["b"], "b", (4 * hidden, 4 * hidden), -5, 5, why=rows + ")"),
            "x": as_decimal_list(params["x"], "x", (inputs, inputs), -5, 5),
            # h_{t-1} = o * tanh(c_{t-1}) lies strictly between -1 and 1
            "h_prev": as_decimal_list(params["h_prev"], "h_prev", (hidden, hidden), -0.99, 0.99),
            "c_prev": as_decimal_list(params["c_prev"], "c_prev", (hidden, hidden), -5, 5, why=per_unit),
            "dh": as_decimal_list(params["dh"], "dh", (hidden, hidden), -5, 5, why=per_unit),
            "dc_next": as_decimal_list(params["dc_next"], "dc_next", (hidden, hidden), -5, 5, why=per_unit),
        }

    def degenerate(self, params):
        if not any(params["dh"]) and not any(params["dc_next"]):
            return "both upstream gradients dh and dc_next are zero, so every gradient in the cell is zero"
        if not any(params["x"]):
            return "x is zero, so the gradient of W_x is zero"
        if not any(params["h_prev"]):
            return "h_prev is zero, so the gradient of W_h is zero"
        answers = self.solve(params)
        cancelled = _lstm_cancellation(params, answers)
        if cancelled:
            return cancelled
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        return _lstm_solve(params)

    def check(self, params, answers):
        """A separate scalar forward pass, and central differences of L = dh . h_t + dc_next . c_t, whose
        gradient at h_t is dh and at c_t (from later steps) dc_next, with respect to every parameter, input
        and intermediate value."""
        hidden, inputs = len(params["h_prev"]), len(params["x"])
        _, forward = _lstm_loss(params)
        for name in ("a", "f", "i", "g", "o", "c", "h"):
            _close(name, answers[name], forward[name], 1e-9)

        def flat(name: str, rows: int, cols: int) -> list[float]:
            got = answers[name]
            assert isinstance(got, list) and len(got) == rows, f"{name}: expected {rows} rows, got {got!r}"
            assert all(isinstance(r, list) and len(r) == cols for r in got), f"{name}: expected {cols} columns"
            return [v for row in got for v in row]

        eps = 1e-5
        sizes = {"Wx": 4 * hidden * inputs, "Wh": 4 * hidden * hidden, "b": 4 * hidden, "a": 4 * hidden}
        targets = [
            ("Wx", "dWx", flat("dWx", 4 * hidden, inputs)),
            ("Wh", "dWh", flat("dWh", 4 * hidden, hidden)),
            ("b", "db", answers["db"]),
            ("h_prev", "dh_prev", answers["dh_prev"]),
            ("c_prev", "dc_prev", answers["dc_prev"]),
            ("a", "da", answers["da"]),
            *[(q, "d" + q, answers["d" + q]) for q in GATES],
            ("c", "dc", answers["dc"]),
        ]
        for point, name, got in targets:
            size = sizes.get(point, hidden)
            numeric = [
                (_lstm_loss(params, (point, k, eps))[0] - _lstm_loss(params, (point, k, -eps))[0]) / (2 * eps)
                for k in range(size)
            ]
            _close(f"{name} (central difference in {point})", got, numeric, 1e-7, 1e-7)

    def context(self, params, answers):
        hidden = len(params["h_prev"])
        rows = []
        for r in range(4 * hidden):
            gate, unit = GATES[r // hidden], r % hidden
            rows.append(
                {
                    "gate": gate,
                    "unit": unit,
                    "terms": [[w, v] for w, v in zip(params["Wh"][r], params["h_prev"])]
                    + [[w, v] for w, v in zip(params["Wx"][r], params["x"])],
                    "b": params["b"][r],
                    "a": answers["a"][r],
                    "da": answers["da"][r],
                }
            )
        return {
            "H": hidden,
            "D": len(params["x"]),
            "rows": rows,
            # the gradients as the working shows them (see _working)
            "work": {name: _working(answers[name]) for name in LSTM_GRADIENTS},
            "tanh_c": [math.tanh(c) for c in answers["c"]],
            "WhT": [list(col) for col in zip(*params["Wh"])],
        }


# ---------------------------------------------------------------- gradient flow through a linear RNN

FLOW_FIELDS = ("Wh", "Wf", "T", "residual", "explodes")
# The param `explodes` names the regime: true (rho > 1), false (rho < 1) or null (rho = 1, neither).
REGIME_OF = {False: "vanishing", True: "exploding", None: "neither"}
FLOW_RADII = {"vanishing": (0.5, 0.6, 0.7, 0.8), "exploding": (1.2, 1.3, 1.4, 1.5), "neither": (1,)}
FLOW_LENGTHS = (8, 10, 12, 15, 20)
NEAR_ONE = 0.05  # a spectral radius this close to 1 (but not 1) neither vanishes nor explodes visibly
DOMINANCE = 0.02  # at t = 1 the dominant term alone must give the norm to within 2 %
NEUTRAL_SPREAD = 0.1  # with rho = 1 the average factor stays within 10 % of 1


def _spectral_bases() -> list[tuple[list[list[int]], list[list[int]]]]:
    """Eigenvector bases P with entries -2..2, none zero (a zero would make a coordinate axis an eigenvector
    and put an eigenvalue on the diagonal of W_h), and determinant +-1, so that P^-1 is integer too. Each as
    its spectral parts (E_1, E_2) = (P e_1 e_1^T P^-1, P e_2 e_2^T P^-1): integer matrices, and
    W_h = lambda_1 E_1 + lambda_2 E_2 has short-decimal entries when the eigenvalues do."""
    out = []
    for p, q, r, s in itertools.product((-2, -1, 1, 2), repeat=4):
        det = p * s - q * r
        if abs(det) == 1:
            inverse = ((s * det, -q * det), (-r * det, p * det))  # 1/det = det when det = +-1
            basis = ((p, q), (r, s))
            parts = tuple(
                [[basis[i][k] * inverse[k][j] for j in range(2)] for i in range(2)] for k in range(2)
            )
            out.append(parts)
    return out


SPECTRAL_BASES = _spectral_bases()


def _norm_curve(params: Mapping[str, Any]) -> list[tuple[int, float]]:
    """(t, |dL/dh_t|) for t = T, T - 1, ..., 1, by repeated multiplication: for display and for the sampler."""
    wh = np.array(params["Wh"], dtype=float)
    grad = 2 * params["residual"] * np.array(params["Wf"][0], dtype=float)
    curve = []
    for t in range(params["T"], 0, -1):
        curve.append((t, float(np.linalg.norm(grad))))
        grad = grad @ wh
    return curve


def flow_steps(length: int) -> list[int]:
    """The steps t asked about, latest first: T, T - 1, T - 5 and 1 (those that exist)."""
    return sorted({t for t in (length, length - 1, length - 5, 1) if t >= 1}, reverse=True)


def flow_regime(rho: float) -> str:
    """'neither' for a spectral radius of 1, else 'exploding' above 1 and 'vanishing' below."""
    if abs(rho - 1) < 1e-9:
        return "neither"
    return "exploding" if rho > 1 else "vanishing"


def _eigenvalues(wh: list[list[float]]) -> tuple[float, float] | None:
    """The real eigenvalues of a 2x2 matrix from its characteristic polynomial, largest magnitude first
    (the larger one first on a tie of magnitudes); None when they are complex."""
    trace, det = wh[0][0] + wh[1][1], wh[0][0] * wh[1][1] - wh[0][1] * wh[1][0]
    disc = trace * trace - 4 * det
    if disc < -1e-12:
        return None
    root = math.sqrt(max(disc, 0.0))
    pair = sorted(((trace + root) / 2, (trace - root) / 2), key=lambda v: (-abs(v), -v))
    return pair[0], pair[1]


def _spectral_parts(wh: list[list[float]], lam: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """E_1 = (W_h - l2 I) / (l1 - l2) and E_2 = (W_h - l1 I) / (l2 - l1): W_h^k = l1^k E_1 + l2^k E_2."""
    m, eye = np.array(wh, dtype=float), np.eye(2)
    return (m - lam[1] * eye) / (lam[0] - lam[1]), (m - lam[0] * eye) / (lam[1] - lam[0])


def _flow_terms(params: Mapping[str, Any], lam: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """alpha = 2 (yhat - y) W_f E_1 and beta = 2 (yhat - y) W_f E_2: dL/dh_t = l1^k alpha + l2^k beta."""
    start = 2 * params["residual"] * np.array(params["Wf"][0], dtype=float)
    e1, e2 = _spectral_parts(params["Wh"], lam)
    return start @ e1, start @ e2


def _flow_shape_problem(params: Mapping[str, Any], lam: tuple[float, float]) -> str | None:
    """Why the norms of this draw would not show what the solution says about them, or None.

    The solution explains ||dL/dh_1|| by the dominant term alone (rho^(T-1) ||alpha||), so that term must
    give it to within DOMINANCE; with rho != 1 the norms must move the way rho says from t = T to t = 1;
    with rho = 1 the average factor stays near 1 (a fixed start-up change spread over T - 1 steps)."""
    rho, length = abs(lam[0]), params["T"]
    alpha, _ = _flow_terms(params, lam)
    curve = _norm_curve(params)
    first, last = curve[0][1], curve[-1][1]  # at t = T and at t = 1
    approx = rho ** (length - 1) * float(np.linalg.norm(alpha))
    if abs(last / approx - 1) > DOMINANCE:
        return (
            f"at t = 1 the second eigenvalue still changes the norm by more than {DOMINANCE:.0%}, so the spectral "
            "radius alone does not explain it (a longer T would)"
        )
    regime = flow_regime(rho)
    if regime == "neither":
        if abs((last / first) ** (1 / (length - 1)) - 1) > NEUTRAL_SPREAD:
            return f"with spectral radius 1 the average factor should stay within {NEUTRAL_SPREAD:.0%} of 1"
    elif (last > first) != (regime == "exploding"):
        return "the norms at t = 1 and t = T do not show the trend of the spectral radius"
    return None


def _flow_rows(params: Mapping[str, Any], scale: float, power: Any) -> list[list[float] | None]:
    """scale W_f M^k for each asked step, with (M, k) = power(W_h, T - t) (None: a row the mistake leaves)."""
    wh, wf = np.array(params["Wh"], dtype=float), np.array(params["Wf"][0], dtype=float)
    rows = []
    for t in flow_steps(params["T"]):
        matrix, k = power(wh, params["T"] - t)
        rows.append(None if k is None else (scale * wf @ np.linalg.matrix_power(matrix, k)).tolist())
    return rows


def _flow_transposed(params):
    """W_h^T where the chain rule puts W_h: 2 (yhat - y) W_f (W_h^T)^(T-t) (the row t = T is the same)."""
    return {"gradients": _flow_rows(params, 2 * params["residual"], lambda wh, k: (wh.T, k if k else None))}


def _flow_power_too_high(params):
    """One factor of W_h too many: 2 (yhat - y) W_f W_h^(T-t+1)."""
    return {"gradients": _flow_rows(params, 2 * params["residual"], lambda wh, k: (wh, k + 1))}


def _flow_power_too_low(params):
    """One factor of W_h too few: 2 (yhat - y) W_f W_h^(T-t-1) (from t = T - 1 on)."""
    return {"gradients": _flow_rows(params, 2 * params["residual"], lambda wh, k: (wh, k - 1 if k else None))}


def _flow_without_loss_slope(params):
    """The loss's slope 2 (yhat - y) left out: W_f W_h^(T-t)."""
    return {"gradients": _flow_rows(params, 1.0, lambda wh, k: (wh, k))}


def _flow_without_factor_two(params):
    """The 2 of d(yhat - y)^2 left out: (yhat - y) W_f W_h^(T-t)."""
    return {"gradients": _flow_rows(params, params["residual"], lambda wh, k: (wh, k))}


def _flow_norms(params) -> list[np.ndarray]:
    return [np.array(row) for row in _flow_rows(params, 2 * params["residual"], lambda wh, k: (wh, k))]


def _flow_squared_norm(params):
    """The norm without its square root, g_1^2 + g_2^2."""
    return {"norms": [float(g @ g) for g in _flow_norms(params)]}


def _flow_l1_norm(params):
    """|g_1| + |g_2| for the Euclidean norm."""
    return {"norms": [float(np.abs(g).sum()) for g in _flow_norms(params)]}


def _flow_natural_log(params):
    """ln for log10."""
    return {"log10_norms": [math.log(float(np.linalg.norm(g))) for g in _flow_norms(params)]}


def _flow_growth(params, exponent: Any) -> float:
    curve = _norm_curve(params)
    return (curve[-1][1] / curve[0][1]) ** exponent(params["T"])


def _flow_root_of_t(params):
    """The root 1/T for the T - 1 steps from t = T back to t = 1."""
    return {"growth_factor": _flow_growth(params, lambda length: 1 / length)}


def _flow_no_root(params):
    """The whole ratio |dL/dh_1| / |dL/dh_T| for the factor per step."""
    return {"growth_factor": _flow_growth(params, lambda length: 1)}


def _flow_ratio_inverted(params):
    """The ratio upside down, (|dL/dh_T| / |dL/dh_1|)^(1/(T-1))."""
    return {"growth_factor": _flow_growth(params, lambda length: -1 / (length - 1))}


def _flow_eigenvalue_problem(wh: list[list[Any]]) -> str | None:
    """Why W_h's eigenvalues cannot be asked exactly (not real, or no short decimals), else None."""
    trace = _exact(wh[0][0]) + _exact(wh[1][1])
    det = _exact(wh[0][0]) * _exact(wh[1][1]) - _exact(wh[0][1]) * _exact(wh[1][0])
    disc = trace * trace - 4 * det
    if disc < 0:
        return "W_h has complex eigenvalues; this problem needs two real ones"
    num, den = math.isqrt(disc.numerator), math.isqrt(disc.denominator)
    if num * num != disc.numerator or den * den != disc.denominator:
        return (
            f"the eigenvalues of W_h are irrational (the discriminant {float(disc):g} is no square of a decimal); "
            "this problem asks them exactly"
        )
    root = Fraction(num, den)
    if not all(is_short_decimal(float(v)) for v in ((trace + root) / 2, (trace - root) / 2)):
        return "the eigenvalues of W_h are no short decimals; this problem asks them exactly"
    return None


@register
class RnnGradientFlow(Family):
    """Mistakes its draws separate from the right answer (`mistakes`; `degenerate` refuses a draw where one
    of them gives a value the key accepts): W_h^T for W_h (a transposition), one power of W_h too many or too
    few, the loss's slope 2 (yhat - y) or its factor 2 left out, the norm without its square root or as
    |g_1| + |g_2|, ln for log10, and for the average factor the root 1/T, no root, or the ratio upside down.

    The asked steps T, T - 1, T - 5 and 1 depend on T: `position_word` names them ("t = 12") for the
    inputs of the site and the fields of an LMS."""

    id = "rnn-gradient-flow"
    title = "Vanishing and exploding gradients in a linear RNN"
    topic = "rnn"
    difficulty = 3
    # Eigenvalues are short decimals (degenerate() refuses others): exact. Gradients and norms range from
    # about 1e-6 to 1e3: 4 significant digits. Their log10 to 3 decimal places (a norm to 4 significant
    # digits fixes it to 2e-4). The average factor is worked from the norms of part (c): rounded there to
    # 4 significant digits, their ratio may be off by 1e-3 of itself, and its (T-1)-th root (T >= 8) by
    # 1.5e-4, up to 1.4 units of the factor's 4th digit: an allowance of 1 unit.
    answers = {
        "eigenvalues": Answer(
            "vector", "eigenvalues of W_h, largest magnitude first", precision=exact(),
            symbol=r"\lambda_1, \lambda_2", label="eigenvalues of W_h", index=("lambda_{}",),
            form="2 numbers, the larger magnitude first",
        ),
        "spectral_radius": Answer(
            "number", "rho(W_h), the largest eigenvalue magnitude", precision=exact(),
            symbol=r"\rho(W_h)", label="rho(W_h)",
        ),
        "steps": Answer(
            "sequence", "the steps t asked about, in the order of the other answers: T, T-1, T-5, 1",
            precision=exact(whole=True), symbol="t", label="asked steps t", index=("asked step {}",),
            form="the steps t that part (c) lists, in its order",
        ),
        "gradients": Answer(
            "matrix", "dL/dh_t = 2 (yhat - y) W_f W_h^(T-t) as a row per asked t",
            precision=sig(4), symbol=r"\partial L / \partial h_t", label="dL/dh_t",
            index=("asked step {}", "entry {}"), form="a row of 2 numbers per asked step",
        ),
        "norms": Answer(
            "vector", "Euclidean norm of dL/dh_t per asked t",
            precision=sig(4), symbol=r"\|\partial L / \partial h_t\|", label="|dL/dh_t|",
            index=("asked step {}",), form="a number per asked step",
        ),
        "log10_norms": Answer(
            "vector", "log10 of those norms",
            precision=decimals(3), symbol=r"\log_{10} \|\partial L / \partial h_t\|", label="log10 |dL/dh_t|",
            index=("asked step {}",), form="a number per asked step",
        ),
        "growth_factor": Answer(
            "number", "average factor per step back, (|dL/dh_1| / |dL/dh_T|)^(1/(T-1))",
            precision=sig(4, allowance=1, why=(
                "the factor is worked from the norms of part (c), which the problem asks to 4 significant digits: "
                "their rounding moves the (T-1)-th root of their ratio by up to 1.4 units of its 4th digit"
            )),
            symbol=r"\text{the average factor}", label="average factor per step",
        ),
        "regime": Answer(
            "text", "the verdict, one of the choices: rho below 1, above 1, or 1 (neither)",
            choices=("vanishing", "exploding", "neither"),
            label="vanishing, exploding or neither",
        ),
    }
    mistakes = {
        "W_h^T for W_h": _flow_transposed,
        "one factor of W_h too many": _flow_power_too_high,
        "one factor of W_h too few": _flow_power_too_low,
        "the loss's slope 2 (yhat - y) left out": _flow_without_loss_slope,
        "the factor 2 left out": _flow_without_factor_two,
        "the norm without its square root": _flow_squared_norm,
        "|g_1| + |g_2| for the norm": _flow_l1_norm,
        "ln for log10": _flow_natural_log,
        "root 1/T for 1/(T-1)": _flow_root_of_t,
        "no root": _flow_no_root,
        "ratio upside down": _flow_ratio_inverted,
    }
    # T, the hidden size (W_h is 2x2) and the regime; a zero beta (pinned only) shortens part (c)
    structure = ("T", "Wh")
    asks = (
        "bptt-linear-rnn-gradient",
        "eigenvalues-spectral-radius",
        "vanishing-exploding-gradients-spectral-radius",
    )
    reveals = ("bptt-linear-rnn-gradient", "matrix-power-spectral-decomposition")

    def structure_of(self, params):
        features = super().structure_of(params)
        features["regime"] = REGIME_OF[params["explodes"]]
        lam = _eigenvalues(params["Wh"])
        usable = lam is not None and lam[0] != lam[1]  # degenerate() rejects the others
        features["beta_zero"] = bool(usable and np.abs(_flow_terms(params, lam)[1]).max() < 1e-12)
        return features

    def parts(self, params):
        return (
            Part((), 2),  # (a) the chain rule, derived
            Part(("eigenvalues", "spectral_radius"), 2),
            Part(("steps", "gradients", "norms", "log10_norms"), 4),
            Part(("growth_factor", "regime"), 2),
        )

    def position_word(self, params, answer, level, position):
        """The asked steps by their t: "t = 12", for the answers listed per asked step."""
        if level == 0 and answer in ("steps", "gradients", "norms", "log10_norms"):
            return f"t = {flow_steps(params['T'])[position]}"
        return None

    def minutes(self, params):
        # A strong student with a calculator, T does not matter (powers are one key press each):
        # (a) three lines of chain rule, 1.5 min; (b) trace, determinant and the quadratic, 1.5 min;
        # (c) E_1 and E_2 (8 entries), alpha and beta (4 dot products), 4 gradients (2 powers and 2 entries
        # each), 4 norms and logs: about 6 min, 1 less when beta = 0; (d) one ratio, one root and three
        # sentences, 2.5 min.
        return 11.5 - (1 if self.structure_of(params)["beta_zero"] else 0)

    def sample(self, rng):
        # The structural choices first (regime, T), uniformly; then the numbers, redrawn until W_h has no
        # zero entry (which would put an eigenvalue on show), entries of at most 3, both terms of
        # dL/dh_t present, and norms that show what the solution says about them.
        regime = choice(rng, ("vanishing", "exploding", "neither"))
        explodes = {"vanishing": False, "exploding": True, "neither": None}[regime]
        length = choice(rng, FLOW_LENGTHS)
        for _ in range(300):
            top = choice(rng, FLOW_RADII[regime]) * choice(rng, (1, -1))
            other = decimal(rng, -abs(top) + 0.2, abs(top) - 0.2, 0.1, nonzero=True)
            first, second = choice(rng, SPECTRAL_BASES)
            tenths = (round(top * 10), round(other * 10))  # exact integer arithmetic, in tenths
            wh = [
                [_plain(Fraction(tenths[0] * first[r][c] + tenths[1] * second[r][c], 10)) for c in range(2)]
                for r in range(2)
            ]
            params = {
                "Wh": wh,
                "Wf": [int_vector(rng, 2, -2, 2, nonzero=True)],
                "T": length,
                "residual": decimal(rng, -1, 1, 0.1, nonzero=True),
                "explodes": explodes,
            }
            if any(v == 0 or abs(v) > 3 for row in wh for v in row):
                continue
            if not all(np.any(np.array(params["Wf"][0]) @ np.array(part)) for part in (first, second)):
                continue  # W_f @ E_j = 0: one of the two terms of dL/dh_t is missing
            if regime != "neither":
                norms = [n for _, n in _norm_curve(params)]
                if not all((later > earlier) == explodes for earlier, later in zip(norms, norms[1:])):
                    continue  # a transient bump would need explaining
            # the engine's whole test here, so that a regime that is often refused (with rho = 1 a listed
            # mistake scores more often) is drawn as often as the others
            if _flow_shape_problem(params, (top, other)) is None and _usable(self, params):
                break
        return params

    def validate(self, params):
        require_keys(params, FLOW_FIELDS)
        wf = params["Wf"]
        if isinstance(wf, (list, tuple)) and len(wf) == 2 and not any(isinstance(v, (list, tuple)) for v in wf):
            wf = [wf]  # a plain row [a, b] is accepted for the 1x2 matrix [[a, b]]
        explodes = params["explodes"]
        if explodes is not None and not isinstance(explodes, bool):
            raise ParamError(
                "explodes", "true (spectral radius above 1), false (below 1) or null (exactly 1)", explodes
            )
        return {
            "Wh": as_decimal_matrix(params["Wh"], "Wh", (2, 2), (2, 2), -5, 5),
            "Wf": as_decimal_matrix(wf, "Wf", (1, 1), (2, 2), -5, 5),
            "T": as_int(params["T"], "T", 3, 30),
            "residual": as_decimal(params["residual"], "residual", -10, 10),
            "explodes": explodes,
        }

    def degenerate(self, params):
        lam = _eigenvalues(params["Wh"])
        if lam is None:
            return "W_h has complex eigenvalues; this problem needs two real ones"
        irrational = _flow_eigenvalue_problem(params["Wh"])
        if irrational:
            return irrational
        if abs(abs(lam[0]) - abs(lam[1])) < 1e-9:
            return "the eigenvalues of W_h have the same magnitude; this problem needs one dominant eigenvalue"
        rho = abs(lam[0])
        if 1e-9 <= abs(rho - 1) < NEAR_ONE:
            return f"the spectral radius {rho:.4g} is too close to 1 to vanish or explode visibly (and is not 1)"
        if REGIME_OF[params["explodes"]] != flow_regime(rho):
            shown = {True: "true", False: "false", None: "null"}[params["explodes"]]
            return f"explodes is {shown} but the spectral radius is {rho:.4g}"
        alpha, beta = _flow_terms(params, lam)
        if np.abs(alpha).max() < 1e-9:
            return "W_f has no component along the dominant eigenvector, so the spectral radius does not set the rate"
        shape = _flow_shape_problem(params, lam)
        if shape:
            return shape
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        """The closed form 2 (yhat - y) W_f W_h^(T - t), with matrix powers."""
        wh, wf = np.array(params["Wh"], dtype=float), np.array(params["Wf"], dtype=float)
        length, steps = params["T"], flow_steps(params["T"])
        lam = _eigenvalues(params["Wh"])
        rho = abs(lam[0])
        grads = [(2 * params["residual"] * wf @ np.linalg.matrix_power(wh, length - t))[0] for t in steps]
        norms = [float(np.linalg.norm(g)) for g in grads]
        return {
            "eigenvalues": [round(v, 12) for v in lam],  # drawn ones are short decimals: print them so
            "spectral_radius": round(rho, 12),
            "steps": steps,
            "gradients": [g.tolist() for g in grads],
            "norms": norms,
            "log10_norms": [math.log10(n) for n in norms],
            "growth_factor": (norms[-1] / norms[0]) ** (1 / (length - 1)),
            "regime": flow_regime(rho),
        }

    def check(self, params, answers):
        """Backpropagate step by step in exact rationals, and compare with the eigen-decomposition
        V diag(lambda^k) V^-1 from numpy; check the verdict against the ratio of the norms."""
        length, steps = params["T"], flow_steps(params["T"])
        assert answers["steps"] == steps, f"steps = {answers['steps']}, expected {steps}"
        wh = [[_exact(v) for v in row] for row in params["Wh"]]
        delta = [2 * _exact(params["residual"]) * _exact(v) for v in params["Wf"][0]]  # dL/dh_T
        exact = {}
        for t in range(length, 0, -1):
            exact[t] = [float(d) for d in delta]
            delta = [wh[0][k] * delta[0] + wh[1][k] * delta[1] for k in range(2)]  # W_h^T delta
        rows = answers["gradients"]
        assert isinstance(rows, list) and len(rows) == len(steps), f"gradients: expected {len(steps)} rows"
        for t, row in zip(steps, rows):
            _close(f"gradients (t = {t}, step-by-step backprop)", row, exact[t], 1e-12, 1e-9)

        values, vectors = np.linalg.eig(np.array(params["Wh"], dtype=float))
        assert np.all(np.abs(values.imag) < 1e-12), f"numpy finds complex eigenvalues {values}"
        values, vectors = values.real, vectors.real
        order = sorted(range(2), key=lambda k: (-abs(values[k]), -values[k]))
        _close("eigenvalues", answers["eigenvalues"], [float(values[k]) for k in order], 1e-9, 1e-9)
        rho = float(np.max(np.abs(values)))
        _close("spectral_radius", [answers["spectral_radius"]], [rho], 1e-9, 1e-9)
        inverse = np.linalg.inv(vectors)
        start = 2 * params["residual"] * np.array(params["Wf"][0], dtype=float)
        for t in steps:
            eig = start @ vectors @ np.diag(values ** (length - t)) @ inverse
            _close(f"eigen-decomposition (t = {t})", eig.tolist(), exact[t], 1e-9, 1e-7)

        norms = [math.hypot(*exact[t]) for t in steps]
        _close("norms", answers["norms"], norms, 1e-12, 1e-9)
        _close("log10_norms", answers["log10_norms"], [math.log10(n) for n in norms], 1e-9)
        ratio = norms[-1] / norms[0]  # |dL/dh_1| / |dL/dh_T|
        _close("growth_factor", [answers["growth_factor"]], [ratio ** (1 / (length - 1))], 1e-9, 1e-9)
        if abs(rho - 1) < 1e-9:  # numpy's radius is 1: the dominant term keeps its size
            verdict = "neither"
        else:
            verdict = "exploding" if ratio > 1 else "vanishing"
            assert (rho > 1) == (verdict == "exploding"), f"the spectral radius {rho:.4g} disagrees with the trend"
        assert answers["regime"] == verdict, f"regime = {answers['regime']!r}, but |dL/dh_1| / |dL/dh_T| = {ratio:.4g}"

    def context(self, params, answers):
        lam = answers["eigenvalues"]
        wh, length, residual = params["Wh"], params["T"], params["residual"]
        rho = answers["spectral_radius"]
        e1, e2 = _spectral_parts(wh, (lam[0], lam[1]))
        start = 2 * residual * np.array(params["Wf"][0], dtype=float)
        alpha, beta = start @ e1, start @ e2
        trace, det = wh[0][0] + wh[1][1], wh[0][0] * wh[1][1] - wh[0][1] * wh[1][0]
        curve = [(t, math.log10(n)) for t, n in reversed(_norm_curve(params))]
        ymin, ymax = math.floor(min(y for _, y in curve)), math.ceil(max(y for _, y in curve))
        if ymax == ymin:
            ymax += 1
        ystep = max(1, math.ceil((ymax - ymin) / 6))
        xstep = 1 if length <= 10 else 2 if length <= 20 else 5
        norm_alpha, norm_start = float(np.linalg.norm(alpha)), answers["norms"][0]  # |alpha|, |alpha + beta|
        spread = (norm_alpha / norm_start) ** (1 / (length - 1))
        return {
            "steps": flow_steps(length),
            "trace": trace,
            "det": det,
            "disc": trace * trace - 4 * det,
            "E1": e1.tolist(),
            "E2": e2.tolist(),
            "start": start.tolist(),  # 2 (yhat - y) W_f
            "alpha": alpha.tolist(),
            "beta": beta.tolist(),
            "beta_zero": self.structure_of(params)["beta_zero"],
            "table": [
                {
                    "t": t,
                    "k": length - t,
                    "grad": [self.answers["gradients"].grading.latex(v) for v in g],
                    "norm": self.answers["norms"].grading.latex(n),
                    "log": lg,
                }
                for t, g, n, lg in zip(answers["steps"], answers["gradients"], answers["norms"], answers["log10_norms"])
            ],
            "curve": curve,
            "ymin": ymin,
            "ymax": ymax,
            "xticks": list(range(xstep if xstep > 1 else 1, length + 1, xstep)),
            "yticks": list(range(ymin, ymax + 1, ystep)),
            "sig": {
                "ratio": _significant(answers["norms"][-1] / answers["norms"][0]),
                "rho_power": _significant(rho ** (length - 1)),
                "eig_ratio": _short(abs(lam[1] / lam[0])),
                "norm_alpha": _significant(norm_alpha),
                "norm_start": _significant(norm_start),
                "norm_first": _significant(answers["norms"][-1]),
                "dominant_first": _significant(rho ** (length - 1) * norm_alpha),
                "alpha_share": _significant(norm_alpha / norm_start),
                "spread": _significant(spread),
                "approx_growth": _significant(rho * spread),
            },
        }


def _significant(value: float, digits: int = 4) -> str:
    """A number to `digits` significant digits as LaTeX, trailing zeros kept (1.200, 0.05000), written with a
    power of ten below 0.001 and from 10^digits on (2.072 \\times 10^{-4})."""
    if value == 0:
        return "0"
    mantissa, _, exponent = f"{value:.{digits - 1}e}".partition("e")
    power = int(exponent)
    if -3 <= power < digits:
        return f"{value:.{digits - 1 - power}f}"
    return f"{mantissa} \\times 10^{{{power}}}"


def _short(value: float) -> str:
    """A computed ratio of short decimals as LaTeX: as written when it has at most 4 decimals (0.4), else to
    4 significant digits (0.5714)."""
    if abs(value - round(value, 4)) < 1e-12:
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return _significant(value)
