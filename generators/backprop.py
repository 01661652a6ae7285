"""Backpropagation families: derivatives of a one-hidden-layer ReLU network as functions of its input, and
the backward pass through a small MLP with a skip connection, a sigmoid output and binary cross-entropy.

Conventions: hidden units and the unit asked about, `i`, are numbered from 1 (as in the course notes);
params hold weight vectors as flat lists (W2 of the MLP is its single row).

Fair exams (issue 8): relu-net-derivatives holds fixed the number of hidden units and of x values, the side
of the kink where the unit is active and whether dy/dw1_i jumps (the cases its solution distinguishes);
mlp-skip-bce-backprop holds fixed the width, the activation and, for ReLU, how many hidden units are active
(an inactive unit zeroes a row of dJ/dW1 and its share of dJ/dx).

Precision (issue 16): relu-net-derivatives asks exact values (its numbers are short decimals and fractions);
mlp-skip-bce-backprop asks the forward values to 4 decimal places and the gradients, whose size varies from
about 1e-4 to 3, to 3 significant digits. Each family lists the common mistakes its draws must tell from the
right answer (`mistakes`); `degenerate` refuses a draw on which one of them scores (`scoring_mistake`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.arith import evaluate
from qbank.draws import choice, decimal, integer
from qbank.checks import central_difference, close, close_all
from qbank.family import Answer, Family, Part, register
from qbank.grading import number_leaves, scoring_mistake
from qbank.params import ParamError, as_choice, as_decimal, as_decimal_list, as_decimal_matrix, as_int, require_keys
from qbank.precision import decimals, exact, exact_fraction, is_short_decimal, sig

DECIMALS = 2  # a pinned number may have at most this many decimals: every value stays short and exact


# --- reading params -------------------------------------------------------------------------------


# --- exact numbers --------------------------------------------------------------------------------


def _exact(value: int | float) -> Fraction:
    """A short decimal as the rational it is written as (0.1 is 1/10, not the nearest double)."""
    return Fraction(str(value))


def _plain(value: Fraction) -> int | float:
    """An exact rational as JSON data: an int when whole, else the correctly rounded float."""
    return value.numerator if value.denominator == 1 else value.numerator / value.denominator


def _is_short(value: Fraction, digits: int = 4) -> bool:
    return (value * 10**digits).denominator == 1


def _text(value: Fraction) -> str:
    """A rational as sympy-parseable text: a decimal when it terminates within 4 places, else p/q."""
    if not _is_short(value):
        return f"({value.numerator}/{value.denominator})"
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _tex(value: Fraction) -> str:
    """A rational as LaTeX: a short decimal, or an exact fraction when the decimal would not end."""
    if _is_short(value):
        return _text(value)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _paren_tex(value: Fraction) -> str:
    """A rational as LaTeX to follow a minus sign: negative ones in parentheses."""
    return f"({_tex(value)})" if value < 0 else _tex(value)


def _linear_text(slope: Fraction, intercept: Fraction) -> str:
    """slope*x + intercept as sympy-parseable text ('0', '-x', '1.5*x - 2', '3')."""
    terms = []
    if slope:
        terms.append("x" if slope == 1 else "-x" if slope == -1 else f"{_text(slope)}*x")
    if intercept or not terms:
        if terms:
            terms.append(f"- {_text(-intercept)}" if intercept < 0 else f"+ {_text(intercept)}")
        else:
            terms.append(_text(intercept))
    return " ".join(terms)


def _linear_tex(slope: Fraction, intercept: Fraction) -> str:
    """slope x + intercept as LaTeX, slope term first ('-x + 3', '1.5x - 2', '0')."""
    out = ""
    if slope:
        out = "x" if slope == 1 else "-x" if slope == -1 else f"{_tex(slope)}x"
    if intercept or not out:
        if not out:
            out = _tex(intercept)
        else:
            out += f" - {_tex(-intercept)}" if intercept < 0 else f" + {_tex(intercept)}"
    return out


# --- mistakes that a draw must tell from the right answer -----------------------------------------




# --- a small, safe evaluator for the answers' linear expressions ----------------------------------

def _evaluate(text: str, x: Fraction) -> Fraction:
    """Evaluate an expression in x with + - * / and decimal constants exactly (no sympy, no eval)."""
    return evaluate(text, {"x": x}, exact=True, what="an expression in x")


# ==================================================================================================
# relu-net-derivatives
# ==================================================================================================

DERIVATIVES = ("b2", "w2", "b1", "w1")  # d y / d b2, d w2_i, d b1_i, d w1_i, in the order asked
UNIT_WEIGHTS = (-3, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 3)  # w1_i: kinks -b1/w1 stay short decimals


def _relu_fields(params: Mapping[str, Any]) -> dict[str, Fraction]:
    """The unit asked about as exact numbers: w1, b1, w2 and its kink."""
    i = params["i"] - 1
    w1, b1, w2 = (_exact(params[name][i]) for name in ("W1", "b1", "W2"))
    return {"w1": w1, "b1": b1, "w2": w2, "kink": -b1 / w1}


def _relu_derivative_lines(unit: Mapping[str, Fraction]) -> dict[str, tuple[tuple[Fraction, Fraction], ...]]:
    """Each derivative on the (inactive, active) side of the kink as (slope, intercept) in x."""
    zero = (Fraction(0), Fraction(0))
    return {
        "b2": ((Fraction(0), Fraction(1)), (Fraction(0), Fraction(1))),
        "w2": (zero, (unit["w1"], unit["b1"])),  # h_i = w1 x + b1 where the unit is on
        "b1": (zero, (Fraction(0), unit["w2"])),  # w2 * relu'(a_i)
        "w1": (zero, (unit["w2"], Fraction(0))),  # w2 * relu'(a_i) * x
    }


def _relu_wrong(params: Mapping[str, Any], changes: Mapping[tuple, Fraction | str]) -> dict[str, Any]:
    """The answers a mistake gives, from {(answer, key, index): wrong value}: None wherever the mistake
    leaves a number alone. Keys: ("kink",), ("active_side",), ("dw1", "slopes", 0), ("db1", "jump"),
    ("values", "w1", k)."""
    n = len(params["x_values"])
    wrong: dict[str, Any] = {}
    for path, value in changes.items():
        value = value if isinstance(value, str) else _plain(Fraction(value))
        name = path[0]
        if len(path) == 1:
            wrong[name] = value
        elif name == "values":
            wrong.setdefault(name, {d: [None] * n for d in DERIVATIVES})[path[1]][path[2]] = value
        else:
            table = wrong.setdefault(name, {"slopes": [None, None], "jump": None})
            if path[1] == "jump":
                table["jump"] = value
            else:
                table[path[1]][path[2]] = value
    return wrong


def _relu_sides(params: Mapping[str, Any]) -> tuple[dict[str, Fraction], int, list[tuple[int, Fraction, bool]]]:
    """The unit, the index (0 left, 1 right) of its active side, and (k, x, active there) per x value."""
    unit = _relu_fields(params)
    xs = [_exact(x) for x in params["x_values"]]
    return unit, int(unit["w1"] > 0), [(k, x, unit["w1"] * x + unit["b1"] > 0) for k, x in enumerate(xs)]


def _relu_side_flipped(params: Mapping[str, Any]) -> dict[str, Any]:
    """The unit taken as active on the other side of x*: slopes, jumps and values on the wrong sides."""
    unit, on, points = _relu_sides(params)
    w1, b1, w2, kink = unit["w1"], unit["b1"], unit["w2"], unit["kink"]
    sign = 1 if on else -1  # right minus left: + active limit when active on the right
    changes: dict[tuple, Any] = {("active_side",): "left" if on else "right"}
    for side in (0, 1):
        changes[("dw2", "slopes", side)] = w1 if side != on else 0
        changes[("dw1", "slopes", side)] = w2 if side != on else 0
    changes[("db1", "jump")] = sign * w2 * -1
    changes[("dw1", "jump")] = sign * w2 * kink * -1
    for k, x, active in points:
        changes[("values", "b1", k)] = 0 if active else w2
        changes[("values", "w2", k)] = 0 if active else w1 * x + b1
        changes[("values", "w1", k)] = 0 if active else w2 * x
    return _relu_wrong(params, changes)


def _relu_w2_left_out(params: Mapping[str, Any]) -> dict[str, Any]:
    """The chain rule stopped at a_i: dy/db1_i = 1[a_i > 0] and dy/dw1_i = x 1[a_i > 0], without w2_i."""
    unit, on, points = _relu_sides(params)
    sign = 1 if on else -1
    changes: dict[tuple, Any] = {("db1", "jump"): sign, ("dw1", "slopes", on): 1, ("dw1", "jump"): sign * unit["kink"]}
    for k, x, active in points:
        if active:
            changes[("values", "b1", k)] = 1
            changes[("values", "w1", k)] = x
    return _relu_wrong(params, changes)


def _relu_x_left_out(params: Mapping[str, Any]) -> dict[str, Any]:
    """da_i/dw1_i taken as 1 instead of x: dy/dw1_i comes out as dy/db1_i."""
    unit, on, points = _relu_sides(params)
    changes: dict[tuple, Any] = {("dw1", "slopes", on): 0, ("dw1", "jump"): (1 if on else -1) * unit["w2"]}
    for k, x, active in points:
        if active:
            changes[("values", "w1", k)] = unit["w2"]
    return _relu_wrong(params, changes)


def _relu_not_clamped(params: Mapping[str, Any]) -> dict[str, Any]:
    """dy/dw2_i taken as the unit's input a_i instead of its output max(0, a_i)."""
    unit, on, points = _relu_sides(params)
    changes: dict[tuple, Any] = {("dw2", "slopes", 1 - on): unit["w1"]}
    for k, x, active in points:
        if not active:
            changes[("values", "w2", k)] = unit["w1"] * x + unit["b1"]
    return _relu_wrong(params, changes)


def _relu_jump_reversed(params: Mapping[str, Any]) -> dict[str, Any]:
    """Each jump as the left-hand minus the right-hand limit."""
    unit, on, _ = _relu_sides(params)
    sign = 1 if on else -1
    jumps = {("db1", "jump"): -sign * unit["w2"], ("dw1", "jump"): -sign * unit["w2"] * unit["kink"]}
    return _relu_wrong(params, jumps)


@register
class ReluNetDerivatives(Family):
    id = "relu-net-derivatives"
    title = "Derivatives of a one-hidden-layer ReLU network as functions of its input"
    topic = "backprop"
    difficulty = 2
    # Every number is exact: the params are short decimals, so the kink is a short decimal or a fraction, and
    # slopes, jumps and values are short decimals (validate and degenerate see to pinned ones).
    answers = {
        "kink": Answer("number", "the input x = -b1_i / w1_i where unit i switches on or off",
                       precision=exact(fractions=True), symbol="x^*", label="x*"),
        "active_side": Answer(
            "text", "'right' if unit i is on for x above the kink, 'left' if for x below it", choices=("left", "right"),
            label="side of x* where unit i is active",
        ),
        **{
            f"d{name}": Answer(
                "table",
                f"dy/d{label} as a function of x: 'pieces', its expressions in x [left of the kink, right of it]; "
                "'slopes', their slopes [left, right]; 'jump', its right-hand minus left-hand limit at the kink",
                precision=exact(fractions=True), symbol=symbol, label=f"dy/d{label}", index=("piece {} from the left",),
            )
            for name, label, symbol in (
                ("b2", "b2", r"\partial y/\partial b^{(2)}"),
                ("w2", "w2_i", r"\partial y/\partial w^{(2)}_i"),
                ("b1", "b1_i", r"\partial y/\partial b^{(1)}_i"),
                ("w1", "w1_i", r"\partial y/\partial w^{(1)}_i"),
            )
        },
        "values": Answer("table", "for each derivative (b2, w2, b1, w1) its values at the given x_values",
                         precision=exact(fractions=True), label="derivative values", index=("at x value {}",),
                         form="values of the four derivatives at each given x"),
    }
    # The mistakes a draw must tell from the right answer (see scoring_mistake), each giving the answers it
    # leads to (None where it changes nothing by its nature). They refuse a kink at 0 (its sign), w2_i = 1
    # (w2 left out), a kink at 1 (dy/dw1's jump without x equals its jump with x), and x values 0 and 1
    # where a mistake gives the right value.
    mistakes = {
        "x* = b1_i / w1_i (the sign of -b1/w1 lost)": lambda p: {
            "kink": _plain(_relu_fields(p)["b1"] / _relu_fields(p)["w1"])},
        "the active side flipped": _relu_side_flipped,
        "the chain rule stopped at a_i (w2_i left out)": _relu_w2_left_out,
        "da_i/dw1_i taken as 1 (x left out of dy/dw1_i)": _relu_x_left_out,
        "dy/dw2_i taken as a_i (the ReLU left out)": _relu_not_clamped,
        "jumps as left minus right": _relu_jump_reversed,
    }
    # The sizes (hidden units, x values to evaluate at) and the two case distinctions of the solution:
    # which side of the kink is active (every piece, slope and jump changes sides) and whether dy/dw1_i
    # jumps at the kink (it is continuous only for a kink at x = 0).
    structure = ("W1", "x_values")
    asks = (
        "relu-unit-active-region",
        "output-bias-derivative",
        "relu-network-parameter-derivatives",
        "relu-derivative-kinks-and-jumps",
    )
    reveals = ()

    def structure_of(self, params):
        unit = _relu_fields(params)
        return {
            **super().structure_of(params),
            "active_side": "right" if unit["w1"] > 0 else "left",
            "dw1_jumps": unit["kink"] != 0,
        }

    def parts(self, params):
        return (
            Part(("kink", "active_side"), 1),
            Part(("db2",), 1),
            Part(("dw2",), 2),
            Part(("db1",), 2),
            Part(("dw1",), 2),
            Part((), 3),  # the sketch
            Part(("values",), len(params["x_values"])),
        )

    def minutes(self, params):
        # (a) 1 min; (b) 0.5; (c), (d) 1.5 each (a formula on each side, two slopes, the behaviour at the
        # kink); (e) 2; (f) four labelled sketches, 1 min each; (g) four derivatives per x value, 15 s each
        return 10.5 + len(params["x_values"])

    def sample(self, rng):
        k = integer(rng, 2, 4)
        i = integer(rng, 1, k)
        w1 = [decimal(rng, -3, 3, 0.5, nonzero=True) for _ in range(k)]
        b1 = [decimal(rng, -3, 3, 0.5) for _ in range(k)]
        w2 = [decimal(rng, -3, 3, 0.5, nonzero=True) for _ in range(k)]
        # unit i: a half-integer kink other than 0 and 1, a bias -w1 * kink with at most one decimal and
        # w2_i other than 1 (see `mistakes`: each would let a mistake pass)
        w1[i - 1] = choice(rng, UNIT_WEIGHTS)
        while w2[i - 1] == 1:
            w2[i - 1] = decimal(rng, -3, 3, 0.5, nonzero=True)
        while True:
            kink = Fraction(integer(rng, -4, 4, nonzero=True), 2)
            bias = -_exact(w1[i - 1]) * kink
            if kink != 1 and _is_short(bias, 1):
                break
        b1[i - 1] = _plain(bias)
        # 2 or 3 inputs at distinct offsets 0.5 .. 2.5 from the kink, at least one on each side, none at 0
        # or 1 (where dy/dw1_i = w2_i x cannot tell the sides, or x from no x)
        offsets = [d for d in range(1, 6) if kink - Fraction(d, 2) not in (0, 1)], [
            d for d in range(1, 6) if kink + Fraction(d, 2) not in (0, 1)]
        n_left, n_right = choice(rng, ((1, 1), (2, 1), (1, 2)))
        left = [-Fraction(int(d), 2) for d in rng.choice(offsets[0], n_left, replace=False)]
        right = [Fraction(int(d), 2) for d in rng.choice(offsets[1], n_right, replace=False)]
        x_values = sorted(_plain(kink + d) for d in left + right)
        return {
            "W1": w1,
            "b1": b1,
            "W2": w2,
            "b2": decimal(rng, -2, 2, 0.5),
            "i": i,
            "x_values": x_values,
        }

    def validate(self, params):
        require_keys(params, ("W1", "b1", "W2", "b2", "i", "x_values"))
        w1 = as_decimal_list(params["W1"], "W1", (1, 6), -10, 10, DECIMALS)
        k = len(w1)
        b1 = as_decimal_list(params["b1"], "b1", (k, k), -10, 10, DECIMALS)
        w2 = as_decimal_list(params["W2"], "W2", (k, k), -10, 10, DECIMALS)
        b2 = as_decimal(params["b2"], "b2", -10, 10, DECIMALS)
        i = as_int(params["i"], "i", 1, k)
        if w1[i - 1] == 0:
            raise ParamError(f"W1[{i - 1}]", f"a nonzero input weight for the unit asked about (i = {i})", 0)
        x_values = as_decimal_list(params["x_values"], "x_values", (1, 4), -10, 10, DECIMALS)
        if len(set(x_values)) != len(x_values):
            raise ParamError("x_values", "distinct x values", x_values)
        return {"W1": w1, "b1": b1, "W2": w2, "b2": b2, "i": i, "x_values": sorted(x_values)}

    def degenerate(self, params):
        unit = _relu_fields(params)
        if unit["w2"] == 0:
            return f"W2[{params['i'] - 1}] = 0: unit i does not reach the output, so its derivatives vanish"
        for x in params["x_values"]:
            if abs(_exact(x) - unit["kink"]) < Fraction(1, 10):
                return f"x = {x} is too close to the kink {float(unit['kink']):g} of unit i"
        answers = self.solve(params)
        for path, value in number_leaves(answers):
            if not is_short_decimal(value) and exact_fraction(value) is None:
                return (f"{'.'.join(path)} = {value!r} is no short decimal or fraction with a denominator up to "
                        "10000, so it cannot be asked exactly: give the weights of unit i fewer digits")
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        unit = _relu_fields(params)
        kink = unit["kink"]
        on_right = unit["w1"] > 0
        lines = _relu_derivative_lines(unit)
        answers: dict[str, Any] = {"kink": _plain(kink), "active_side": "right" if on_right else "left"}
        values = {}
        for name in DERIVATIVES:
            inactive, active = lines[name]
            left, right = (inactive, active) if on_right else (active, inactive)
            answers[f"d{name}"] = {
                "pieces": [_linear_text(*left), _linear_text(*right)],
                "slopes": [_plain(left[0]), _plain(right[0])],
                "jump": _plain((right[0] - left[0]) * kink + right[1] - left[1]),
            }
            values[name] = []
            for x in map(_exact, params["x_values"]):
                slope, intercept = active if unit["w1"] * x + unit["b1"] > 0 else inactive
                values[name].append(_plain(slope * x + intercept))
        answers["values"] = values
        return answers

    def check(self, params, answers):
        """Central differences of the network output in each parameter, in exact integer arithmetic;
        the network is evaluated as written, unit by unit, with no piecewise formulas."""
        # Every parameter is a multiple of 1/scale and the step is step/scale, so with x = p/q the output
        # times scale**2 q is an integer: the differences are exact and the step only has to stay
        # inside one linear piece.
        scale, step = 10**12, 100

        def scaled(value: int | float) -> int:
            exact = _exact(value) * scale
            assert exact.denominator == 1, f"{value} has more than 12 decimals"
            return exact.numerator

        layer = {name: [scaled(v) for v in params[key]] for name, key in (("w1", "W1"), ("b1", "b1"), ("w2", "W2"))}
        b2 = scaled(params["b2"])
        i = params["i"] - 1

        def output(p: int, q: int, nudge: str, by: int) -> int:
            """scale**2 q times y at x = p/q, with parameter `nudge` of unit i moved by `by`/scale."""
            w1, b1, w2 = (list(layer[name]) for name in ("w1", "b1", "w2"))
            if nudge != "b2":
                {"w1": w1, "b1": b1, "w2": w2}[nudge][i] += by
            total = (b2 + (by if nudge == "b2" else 0)) * scale * q
            for wj, bj, vj in zip(w1, b1, w2):
                pre = wj * p + bj * q  # scale q times the unit's input
                if pre > 0:
                    total += vj * pre
            return total

        def slope(name: str, x: Fraction) -> Fraction:
            p, q = x.numerator, x.denominator
            return Fraction(output(p, q, name, step) - output(p, q, name, -step), 2 * step * scale * q)

        def close(got: Any, want: Fraction, what: str) -> None:
            assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{what}: not a number: {got!r}"
            assert abs(_exact(got) - want) <= Fraction(1, 10**9), (
                f"{what} = {got}, finite differences give {float(want)}"
            )

        # The kink: dy/dw2_i (the unit's activation) is 0 on one side of it and positive on the other.
        kink = Fraction(answers["kink"])
        delta = Fraction(1, 10**6)
        left_on, right_on = slope("w2", kink - delta) > 0, slope("w2", kink + delta) > 0
        assert left_on != right_on, f"unit {i + 1} does not switch at x = {answers['kink']}"
        assert answers["active_side"] == ("right" if right_on else "left"), (
            f"active_side {answers['active_side']!r}, "
            f"but unit {i + 1} is on to the {'right' if right_on else 'left'} of the kink"
        )

        for name in DERIVATIVES:
            table = answers[f"d{name}"]
            assert isinstance(table, dict) and set(table) == {"pieces", "slopes", "jump"}, (
                f"d{name}: expected a table with pieces, slopes and jump, got {table!r}"
            )
            for key in ("pieces", "slopes"):
                assert isinstance(table[key], list) and len(table[key]) == 2, (
                    f"d{name}.{key}: expected [left, right], got {table[key]!r}"
                )
            # Each side is a line: two points each side give its slope; the limits at the kink by extrapolation.
            near, far = Fraction(1, 10**4), Fraction(2, 10**4)
            for side, sign in ((0, -1), (1, 1)):
                ones = [slope(name, kink + sign * d) for d in (1, 2)]
                close(table["slopes"][side], sign * (ones[1] - ones[0]), f"d{name}.slopes[{side}]")
                piece = table["pieces"][side]
                at = [_evaluate(piece, kink + sign * d) for d in (1, 2, 3)]
                assert at[2] - at[1] == at[1] - at[0], f"d{name}.pieces[{side}] = {piece!r} is not linear in x"
                for d, got, want in zip((1, 2), at, ones):
                    assert got == want, (
                        f"d{name}.pieces[{side}] = {piece!r} gives {float(got)} at "
                        f"x = {float(kink + sign * d)}, finite differences {float(want)}"
                    )
            limits = [2 * slope(name, kink + s * near) - slope(name, kink + s * far) for s in (-1, 1)]
            close(table["jump"], limits[1] - limits[0], f"d{name}.jump")
            got_values = answers["values"][name]
            assert len(got_values) == len(params["x_values"]), f"values.{name}: one value per x value"
            for x, got in zip(params["x_values"], got_values):
                close(got, slope(name, _exact(x)), f"values.{name} at x = {x}")

    def context(self, params, answers):
        unit = _relu_fields(params)
        kink, on_right = unit["kink"], unit["w1"] > 0
        lines = _relu_derivative_lines(unit)
        xs = [_exact(x) for x in params["x_values"]]
        # symmetric about the kink, so that both pieces get the same room, and wide enough for every x value
        reach = max(3, max(abs(x - kink) for x in xs) + 1)
        lo, hi = math.floor(kink - reach), math.ceil(kink + reach)
        titles = {
            "b2": r"\partial y/\partial b^{(2)}",
            "w2": rf"\partial y/\partial w^{{(2)}}_{{{params['i']}}}",
            "b1": rf"\partial y/\partial b^{{(1)}}_{{{params['i']}}}",
            "w1": rf"\partial y/\partial w^{{(1)}}_{{{params['i']}}}",
        }
        panels, formulas = [], {}
        for name in DERIVATIVES:
            inactive, active = lines[name]
            left, right = (inactive, active) if on_right else (active, inactive)
            at = lambda line, x: line[0] * x + line[1]  # noqa: E731
            ends = [at(left, lo), at(left, kink), at(right, kink), at(right, hi)]
            bottom, top = min(0, *ends), max(0, *ends)
            span = top - bottom or 1
            segments = []
            for line, a, b, outward in ((left, lo, kink, "east"), (right, kink, hi, "west")):
                # the slope label hangs from a point 60% of the way from the outer end towards the kink, on the
                # side of the segment that faces away from the kink: clear of the curve and of the axis box
                mid = (2 * a + 3 * b) / 5 if outward == "east" else (3 * a + 2 * b) / 5
                below = (line[0] > 0) == (outward == "west")  # under a rising right piece, a falling left one
                anchor = "south" if line[0] == 0 else f"{'north' if below else 'south'} {outward}"
                segments.append(
                    {"x0": float(a), "y0": float(at(line, a)), "x1": float(b), "y1": float(at(line, b)),
                     "mx": float(mid), "my": float(at(line, mid)), "slope": _tex(line[0]), "anchor": anchor}
                )
            limit_inactive, limit_active = at(inactive, kink), at(active, kink)
            panels.append(
                {
                    "title": titles[name],
                    "segments": segments,
                    "ymin": float(bottom - span * Fraction(15, 100)),
                    "ymax": float(top + span * Fraction(35, 100)),
                    "kinked": name != "b2",
                    "jump": limit_active != limit_inactive,
                    # at the kink itself relu'(0) is taken as 0 (the library convention): the inactive value
                    "closed": float(limit_inactive),
                    "open": float(limit_active),
                }
            )
            formulas[name] = {
                "inactive": _linear_tex(*inactive),
                "active": _linear_tex(*active),
                "left": _linear_tex(*left),
                "right": _linear_tex(*right),
                "jump": _tex(at(right, kink) - at(left, kink)),
                "limit_active": _tex(limit_active),
                # as the subtracted term of "right - left": negative numbers in parentheses
                "left_at_kink": _paren_tex(at(left, kink)),
                "limit_active_paren": _paren_tex(limit_active),
            }
        rows = []
        for k, x in enumerate(xs):
            pre = unit["w1"] * x + unit["b1"]
            values = {n: answers["values"][n][k] for n in DERIVATIVES}
            rows.append({"x": _tex(x), "pre": _tex(pre), "on": pre > 0, **values})
        return {
            "k": len(params["W1"]),
            "unit": {name: _tex(v) for name, v in unit.items()},
            "kink_value": float(kink),
            "on_right": on_right,
            "formulas": formulas,
            "panels": panels,
            "xmin": lo,
            "xmax": hi,
            "rows": rows,
        }


# ==================================================================================================
# mlp-skip-bce-backprop
# ==================================================================================================

MLP_FIELDS = ("x", "W1", "b1", "W2", "b2", "y", "activation")
MAX_LOGIT = 4  # |z2| <= 4 keeps y_hat within [0.018, 0.982]: a loss of moderate size
RELU_GAP = 0.05  # a ReLU input this close to 0 sits at the kink for all practical purposes
CANCEL_FLOOR = 0.05  # an entry of s = h + x this close to 0 has under 3 significant digits at 4 decimals
CANCEL_RATIO = 0.1  # an entry of dJ/dx below a tenth of its two paths' sizes loses a digit to cancellation


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _mlp_forward(params: Mapping[str, Any]) -> dict[str, Any]:
    """The forward pass with matrices: z1 = W1 x + b1, h = act(z1), s = h + x, z2 = W2 s + b2, y_hat, J."""
    x = np.array(params["x"], dtype=float)
    w1 = np.array(params["W1"], dtype=float)
    z1 = w1 @ x + np.array(params["b1"], dtype=float)
    h = np.maximum(z1, 0) if params["activation"] == "relu" else _sigmoid(z1)
    s = h + x
    z2 = float(np.array(params["W2"], dtype=float) @ s + params["b2"])
    y_hat = float(_sigmoid(z2))
    y = params["y"]
    loss = -y * math.log(y_hat) - (1 - y) * math.log(1 - y_hat)
    return {"x": x, "W1": w1, "z1": z1, "h": h, "s": s, "z2": z2, "y_hat": y_hat, "loss": loss}


MLP_PARTS = (("forward", "y_hat", "loss"), ("db2", "dW2"), ("db1", "dW1", "dx"), ())
OP_MINUTES = 0.25  # one multiply-add written out (15 s)
CALL_MINUTES = 0.5  # one exp or log on a calculator, written out (30 s)


def _active_units(params: Mapping[str, Any]) -> int:
    """Hidden units that pass a gradient: all of them for the sigmoid, those with z1 > 0 for the ReLU."""
    if params["activation"] != "relu":
        return len(params["x"])
    return int(np.sum(_mlp_forward(params)["z1"] > 0))


def _mlp_part_minutes(params: Mapping[str, Any]) -> tuple[float, ...]:
    """Working time by hand of each part, from the operations it writes out: n hidden units, a of them
    active (an inactive ReLU unit has a zero row in dJ/dW1 and adds nothing to W1^T delta1)."""
    n, a, sigmoid = len(params["x"]), _active_units(params), params["activation"] == "sigmoid"
    # (a) the composed expression (0.5 min); z1 = W1 x + b1, s = h + x, z2 = W2 s + b2; exps: the hidden
    # sigmoids, y_hat, and the log of the loss
    forward = 0.5 + (n * n + 2 * n) * OP_MINUTES + ((n if sigmoid else 0) + 2) * CALL_MINUTES
    # (b) the derivation of y_hat - y (1 min); delta2 and dJ/dW2 = delta2 s
    output = 1.0 + (1 + n) * OP_MINUTES
    # (c) dJ/ds = delta2 W2^T; h(1 - h) and the product for the sigmoid, a mask for the ReLU; dJ/dW1 = delta1 x^T;
    # dJ/dx = W1^T delta1 plus the skip path
    hidden = (n + (2 * n if sigmoid else a) + n * a + n * a + n) * OP_MINUTES
    # (d) a list and two sentences
    return forward, output, hidden, 1.5


def _mlp_part_weights(params: Mapping[str, Any]) -> tuple[int, ...]:
    """The parts' points in proportion to their minutes, rounded half up, at least 1."""
    return tuple(max(1, math.floor(m + 0.5)) for m in _mlp_part_minutes(params))


def _vec(values) -> list[float]:
    return [float(v) + 0.0 for v in values]  # + 0.0 turns -0.0 (a zero gradient times a negative) into 0.0


def _mlp_backward(params: Mapping[str, Any], local: Any = None, delta2: Any = None) -> dict[str, Any]:
    """The backward pass: delta2 = dJ/dz2, dJ/ds, act'(z1), delta1 = dJ/dz1 (numpy arrays). `local` and
    `delta2` replace act'(z1) and dJ/dz2 (a function of the forward pass), for the mistakes."""
    fwd = _mlp_forward(params)
    d2 = fwd["y_hat"] - params["y"] if delta2 is None else delta2(fwd)  # sigmoid output with cross-entropy
    d_s = d2 * np.array(params["W2"], dtype=float)
    if local is None:
        local = (fwd["z1"] > 0).astype(float) if params["activation"] == "relu" else fwd["h"] * (1 - fwd["h"])
    else:
        local = local(fwd)
    return {"fwd": fwd, "delta2": d2, "d_s": d_s, "local": local, "delta1": d_s * local}


def _active(params: Mapping[str, Any]) -> np.ndarray:
    """Which hidden units pass a gradient (all of them for the sigmoid)."""
    fwd = _mlp_forward(params)
    return fwd["z1"] > 0 if params["activation"] == "relu" else np.ones(len(params["x"]), dtype=bool)


def _mlp_gradients(back: Mapping[str, Any], keep: np.ndarray | None = None) -> dict[str, Any]:
    """db2, dW2, db1, dW1 and dx from a backward pass; with `keep` (one flag per hidden unit), None for
    the entries of the other units in db1 and dW1 (a mistake that leaves those alone)."""
    fwd = back["fwd"]
    x, w1 = fwd["x"], fwd["W1"]
    delta1 = back["delta1"]
    n = len(x)
    keep = np.ones(n, dtype=bool) if keep is None else keep
    return {
        "db2": float(back["delta2"]),
        "dW2": _vec(back["delta2"] * fwd["s"]),
        "db1": [float(delta1[r]) + 0.0 if keep[r] else None for r in range(n)],
        "dW1": [[float(delta1[r] * x[c]) + 0.0 if keep[r] else None for c in range(n)] for r in range(n)],
        "dx": _vec(back["d_s"] + w1.T @ delta1),
    }


def _mlp_local_mistake(params: Mapping[str, Any], local) -> dict[str, Any]:
    """A wrong act'(z1): the hidden-layer gradients it changes (None for units where it agrees by nature)."""
    right = _mlp_backward(params)["local"]
    back = _mlp_backward(params, local=local)
    changed = np.abs(back["local"] - right) > 0
    grads = _mlp_gradients(back, keep=changed)
    return {"db1": grads["db1"], "dW1": grads["dW1"], "dx": grads["dx"] if changed.any() else None}


def _mlp_delta2_mistake(params: Mapping[str, Any], delta2) -> dict[str, Any]:
    """A wrong dJ/dz2: every gradient it scales (None for the units that pass no gradient)."""
    return _mlp_gradients(_mlp_backward(params, delta2=delta2), keep=_active(params))


def _mlp_forward_without_skip(params: Mapping[str, Any]) -> dict[str, Any]:
    """The skip connection left out of the forward pass: s = h."""
    real = _mlp_forward(params)
    z2 = float(np.array(params["W2"], dtype=float) @ real["h"] + params["b2"])
    y_hat = float(_sigmoid(z2))
    y = params["y"]
    loss = -y * math.log(y_hat) - (1 - y) * math.log(1 - y_hat)
    return {"forward": {"z1": None, "h": None, "s": _vec(real["h"]), "z2": z2}, "y_hat": y_hat, "loss": loss}


def _mlp_transposed_dw1(params: Mapping[str, Any]) -> dict[str, Any]:
    """dJ/dW1 as x delta1^T: the diagonal is right by nature."""
    back = _mlp_backward(params)
    x, delta1 = back["fwd"]["x"], back["delta1"]
    n = len(x)
    return {"dW1": [[None if r == c else float(x[r] * delta1[c]) for c in range(n)] for r in range(n)]}


def _mlp_dx(params: Mapping[str, Any], skip: bool, hidden: bool, transpose: bool = True) -> dict[str, Any]:
    """dJ/dx with a path left out, or with W1 for W1^T. The latter leaves entry c alone by its nature when
    unit c is the only active one ((W1 delta1)_c - (W1^T delta1)_c sums (W1[c, r] - W1[r, c]) delta1_r)."""
    back = _mlp_backward(params)
    w1 = back["fwd"]["W1"]
    through = (w1.T if transpose else w1) @ back["delta1"]
    dx = _vec((back["d_s"] if skip else 0) + (through if hidden else 0))
    if not transpose:
        active = [r for r, on in enumerate(_active(params)) if on]
        dx = [None if active == [c] else v for c, v in enumerate(dx)]
    return {"dx": dx}


@register
class MlpSkipBceBackprop(Family):
    id = "mlp-skip-bce-backprop"
    title = "Backpropagation through an MLP with a skip connection and binary cross-entropy"
    topic = "backprop"
    difficulty = 3
    # The forward values are of order 1: 4 decimal places. The gradients range from about 1e-4 (a sigmoid
    # unit's slope times a small weight) to 3: 3 significant digits, so that every one is asked to the
    # same relative precision.
    answers = {
        "forward": Answer("table", "forward intermediates z1, h, s = h + x (vectors) and z2",
                          precision=decimals(4), label="forward pass",
                          form="z1, h and s (one number per hidden unit) and z2"),
        "y_hat": Answer("number", "the prediction y_hat = sigma(z2)", precision=decimals(4),
                        symbol=r"\hat y", label="y-hat"),
        "loss": Answer("number", "the binary cross-entropy J", precision=decimals(4), symbol="J", label="J"),
        "dW2": Answer("vector", "dJ/dW2, the same shape as W2 (one row)", precision=sig(3),
                      symbol=r"\partial J/\partial W_2", label="dJ/dW2"),
        "db2": Answer("number", "dJ/db2", precision=sig(3), symbol=r"\partial J/\partial b_2", label="dJ/db2"),
        "dW1": Answer("matrix", "dJ/dW1, the same shape as W1", precision=sig(3),
                      symbol=r"\partial J/\partial W_1", label="dJ/dW1"),
        "db1": Answer("vector", "dJ/db1", precision=sig(3), symbol=r"\partial J/\partial b_1", label="dJ/db1"),
        "dx": Answer("vector", "dJ/dx: the skip path plus the path through W1", precision=sig(3),
                     symbol=r"\partial J/\partial x", label="dJ/dx"),
    }
    # The mistakes a draw must tell from the right answer (see scoring_mistake), each giving the answers it
    # leads to (None where it changes nothing by its nature). They refuse, among others, zeros in x (the
    # skip path's share of dJ/dW2 vanishes there), a symmetric W1 (dJ/dx needs no transpose), and ReLU draws
    # where every unit is active (ReLU' could be left out unseen).
    mistakes = {
        "the skip connection left out of the forward pass (s = h)": _mlp_forward_without_skip,
        "log10 for ln in J": lambda p: {"loss": _mlp_forward(p)["loss"] / math.log(10)},
        "dJ/dz2 = y - y_hat (the sign flipped)": lambda p: _mlp_delta2_mistake(p, lambda f: p["y"] - f["y_hat"]),
        "dJ/dz2 = (y_hat - y) y_hat (1 - y_hat) (the sigmoid's slope applied again)": lambda p: _mlp_delta2_mistake(
            p, lambda f: (f["y_hat"] - p["y"]) * f["y_hat"] * (1 - f["y_hat"])),
        "dJ/dW2 = delta2 h (the skip path left out)": lambda p: {
            "dW2": _vec((_mlp_forward(p)["y_hat"] - p["y"]) * _mlp_forward(p)["h"])},
        "sigma'(z1) where ReLU' applies": lambda p: _mlp_local_mistake(
            p, lambda f: _sigmoid(f["z1"]) * (1 - _sigmoid(f["z1"]))) if p["activation"] == "relu" else {},
        "ReLU' left out (every unit passes the gradient)": lambda p: _mlp_local_mistake(
            p, lambda f: np.ones_like(f["z1"])) if p["activation"] == "relu" else {},
        "sigma(z1) for sigma'(z1) (h instead of h (1 - h))": lambda p: _mlp_local_mistake(
            p, lambda f: f["h"]) if p["activation"] == "sigmoid" else {},
        "sigma' left out": lambda p: _mlp_local_mistake(
            p, lambda f: np.ones_like(f["z1"])) if p["activation"] == "sigmoid" else {},
        "dJ/dW1 = x delta1^T (transposed)": lambda p: _mlp_transposed_dw1(p) if len(p["x"]) > 1 else {},
        "dJ/dx without the skip path": lambda p: _mlp_dx(p, skip=False, hidden=True),
        "dJ/dx without the path through W1": lambda p: _mlp_dx(p, skip=True, hidden=False),
        "dJ/dx with W1 for W1^T": lambda p: (
            _mlp_dx(p, skip=True, hidden=True, transpose=False) if len(p["x"]) > 1 else {}),
    }
    # width (through the length of x) and activation; structure_of adds the number of active ReLU units
    structure = ("x", "activation")
    asks = (
        "mlp-forward-pass",
        "bce-sigmoid-logit-gradient",
        "mlp-backprop-weight-gradients",
        "skip-connection-gradient-sum",
        "backprop-cached-values",
        "backprop-cost",
    )
    # part (b) states dJ/dz2 = y_hat - y (to be shown), part (c) that x reaches J along two routes
    reveals = ("bce-sigmoid-logit-gradient", "skip-connection-gradient-sum")

    def sample(self, rng):
        n = choice(rng, (2, 3, 3))  # the structural choices first; the active units follow from the numbers
        activation = choice(rng, ("relu", "sigmoid"))
        return {
            "x": [decimal(rng, -2, 2, 0.5, nonzero=True) for _ in range(n)],  # a zero would hide the skip path
            "W1": [[decimal(rng, -1, 1, 0.1) for _ in range(n)] for _ in range(n)],
            "b1": [decimal(rng, -0.5, 0.5, 0.1) for _ in range(n)],
            "W2": [decimal(rng, -1.5, 1.5, 0.1, nonzero=True) for _ in range(n)],
            "b2": decimal(rng, -0.5, 0.5, 0.1),
            "y": integer(rng, 0, 1),
            "activation": activation,
        }

    def structure_of(self, params):
        return {**super().structure_of(params), "active_units": _active_units(params)}

    def parts(self, params):
        return tuple(Part(answers, weight) for answers, weight in zip(MLP_PARTS, _mlp_part_weights(params)))

    def minutes(self, params):
        return sum(_mlp_part_minutes(params))

    def validate(self, params):
        require_keys(params, MLP_FIELDS)
        x = as_decimal_list(params["x"], "x", (1, 3), -10, 10, DECIMALS)
        n = len(x)
        w2 = params["W2"]
        if isinstance(w2, (list, tuple)) and len(w2) == 1 and isinstance(w2[0], (list, tuple)):
            w2 = w2[0]  # W2 written as a 1 x n matrix
        return {
            "x": x,
            "W1": as_decimal_matrix(params["W1"], "W1", (n, n), (n, n), -10, 10, DECIMALS),
            "b1": as_decimal_list(params["b1"], "b1", (n, n), -10, 10, DECIMALS),
            "W2": as_decimal_list(w2, "W2", (n, n), -10, 10, DECIMALS),
            "b2": as_decimal(params["b2"], "b2", -10, 10, DECIMALS),
            "y": int(as_choice(params["y"], "y", (0, 1))),
            "activation": as_choice(params["activation"], "activation", ("relu", "sigmoid")),
        }

    def degenerate(self, params):
        fwd = _mlp_forward(params)
        if params["activation"] == "relu":
            if np.any(np.abs(fwd["z1"]) < RELU_GAP):
                return f"a ReLU input is (nearly) 0, where its derivative jumps: z1 = {_vec(fwd['z1'])}"
            if np.all(fwd["z1"] < 0):
                return "every ReLU is off, so dJ/dW1 and dJ/db1 would be all zeros"
        if abs(fwd["z2"]) > MAX_LOGIT:
            return f"z2 = {fwd['z2']:.3f}: y_hat is too close to 0 or 1"
        if any(v == 0 for v in params["x"]):
            return f"x = {params['x']} has a zero entry: its column of dJ/dW1 and its skip path into dJ/dW2 vanish"
        answers = self.solve(params)
        nonzero = sum(v != 0 for row in answers["dW1"] for v in row)
        if 2 * nonzero < len(params["x"]) ** 2:
            return f"dJ/dW1 would be mostly zeros ({nonzero} nonzero entries of {len(params['x']) ** 2})"
        # A result that nearly cancels keeps too few digits of the 4-decimal values a student works with:
        # s = h + x near 0 (then dJ/dW2 = delta2 s), and the two paths of dJ/dx nearly opposite.
        if min(abs(v) for v in answers["forward"]["s"]) < CANCEL_FLOOR:
            return f"s = h + x = {answers['forward']['s']} has an entry within {CANCEL_FLOOR} of 0"
        back = _mlp_backward(params)
        paths = np.abs(back["d_s"]) + np.abs(back["fwd"]["W1"].T @ back["delta1"])
        if np.any(np.abs(answers["dx"]) < CANCEL_RATIO * paths):
            return f"the skip path and the path through W1 nearly cancel in dJ/dx = {answers['dx']}"
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        back = _mlp_backward(params)  # delta1 = dJ/dz1, as dJ/dh = dJ/ds (h enters s = h + x with slope 1)
        fwd = back["fwd"]
        return {
            "forward": {"z1": _vec(fwd["z1"]), "h": _vec(fwd["h"]), "s": _vec(fwd["s"]), "z2": fwd["z2"]},
            "y_hat": fwd["y_hat"],
            "loss": fwd["loss"],
            **_mlp_gradients(back),  # dJ/dx: the skip path plus the path through the hidden layer
        }

    def check(self, params, answers):
        """A separate scalar forward pass (loops, math, the loss as softplus(z2) - y z2) and central
        differences of it in every entry of every parameter and of x."""
        n = len(params["x"])
        relu = params["activation"] == "relu"

        def run(values: Mapping[str, Any]) -> dict[str, Any]:
            x, w1, b1, w2, b2 = values["x"], values["W1"], values["b1"], values["W2"], values["b2"]
            z1 = [sum(w1[r][c] * x[c] for c in range(n)) + b1[r] for r in range(n)]
            h = [max(z, 0.0) if relu else 1 / (1 + math.exp(-z)) for z in z1]
            s = [h[r] + x[r] for r in range(n)]
            z2 = sum(w2[r] * s[r] for r in range(n)) + b2
            softplus = max(z2, 0.0) + math.log1p(math.exp(-abs(z2)))  # -log(1 - sigmoid(z2)), stably
            return {"z1": z1, "h": h, "s": s, "z2": z2, "y_hat": math.exp(z2 - softplus),
                    "loss": softplus - params["y"] * z2}

        base = {k: params[k] for k in ("x", "W1", "b1", "W2", "b2")}
        ref = run(base)

        for name in ("z1", "h", "s"):
            close_all(answers["forward"][name], ref[name], f"forward.{name}", 1e-9)
        close(answers["forward"]["z2"], ref["z2"], "forward.z2", 1e-9)
        close(answers["y_hat"], ref["y_hat"], "y_hat", 1e-9)
        close(answers["loss"], ref["loss"], "loss", 1e-9)

        def difference(name: str, index: tuple[int, ...]) -> float:
            return central_difference(lambda values: run(values)["loss"], base, name, index)

        tol = 1e-6
        close(answers["db2"], difference("b2", ()), "db2", tol)
        close_all(answers["dW2"], [difference("W2", (r,)) for r in range(n)], "dW2", tol)
        close_all(answers["db1"], [difference("b1", (r,)) for r in range(n)], "db1", tol)
        close_all(answers["dx"], [difference("x", (r,)) for r in range(n)], "dx", tol)
        got = answers["dW1"]
        assert isinstance(got, list) and len(got) == n, f"dW1: expected {n} rows, got {got!r}"
        for r in range(n):
            close_all(got[r], [difference("W1", (r, c)) for c in range(n)], f"dW1[{r}]", tol)

    def context(self, params, answers):
        fwd = answers["forward"]
        relu = params["activation"] == "relu"
        delta2 = answers["db2"]
        d_s = [delta2 * w for w in params["W2"]]
        local = [1 if z > 0 else 0 for z in fwd["z1"]] if relu else [h * (1 - h) for h in fwd["h"]]
        w1 = params["W1"]
        n = len(params["x"])
        through = [sum(w1[r][c] * answers["db1"][r] for r in range(n)) for c in range(n)]
        return {
            "n": n,
            "relu": relu,
            "work": sig(4),  # gradients on the way: a digit more than the answers
            "W1T": [[w1[r][c] for r in range(n)] for c in range(n)],
            "d_s": d_s,
            "local": local,
            "through": through,
        }
