"""Neural arithmetic logic unit (NALU): weights nudged towards -1, 0 and 1, and the two arithmetic paths.

Conventions: W = tanh(W_hat) * sigmoid(M_hat) entrywise, and W is rounded to four decimals before it is used,
so the later parts use exactly the numbers the student writes down. The additive path is a = W x, the
multiplicative path m = exp(W log(|x| + eps)), and the output y = g * a + (1 - g) * m with one given gate
value g_i in [0, 1] per output. An entry of W is "near" c in {-1, 0, 1} when |W_ij - c| <= NEAR.

The precision chain: W to 4 decimals (the product of the unrounded factors, rounded); a = W x with that W
and inputs of at most two decimals is an exact short decimal, asked exactly; m (through log and exp, from
about 0.01 to 50) and y to 3 significant digits. A draw is refused when a student's legitimate rounding on
the way would change an asked digit (see `rounding_reason`): W's unrounded entries near a rounding boundary,
m from logarithms written to 4 decimals, y from m as the student gave it in (c).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.arith import evaluate
from qbank.draws import choice, decimal, integer, shuffled
from qbank.errors import GenerationError
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_decimal, as_decimal_matrix, as_number, require_keys
from qbank.precision import TRAP_MARGIN, decimals, exact, sig

FIELDS = ("W_hat", "M_hat", "x", "gate", "eps")
NEAR = 0.05  # an entry within this distance of -1, 0 or 1 counts as saturated there
MARGIN = 0.005  # entries whose distance to the nearest target is within MARGIN of NEAR are too close to call
DIGITS = 4  # W is rounded to this many decimals before it is used
EPS = 1e-7  # the sampled epsilon inside the logarithm
# Not 0.5: with g = 1 - g, putting the gate on the wrong path would give the right y.
GATES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.6, 0.7, 0.75, 0.8, 0.9)
W_PRECISION = decimals(DIGITS)
PATH_PRECISION = sig(3)  # m and y: exp and log spread them from about 0.01 to 50
# y is worked from m as the student gave it in (c), or from m unrounded: the two differ by up to (1 - g) half a
# unit of m's last digit, which moves y's last digit when both are of one size (`rounding_reason` refuses the
# draws where more is needed).
Y_PRECISION = sig(3, allowance=0.5, why="y may be worked from m rounded to 3 significant digits, as asked in (c), "
                  "which moves it by up to half a unit of its third significant digit")
LOG_DIGITS = 4  # a student may write the logarithms of (c) to this many decimals
LONG = sig(6)  # intermediate m and y in the solution
W_MARGIN = 2 * TRAP_MARGIN  # unrounded W this close to a rounding boundary (in units of 1e-4) is refused
MAX_SAMPLED_M = 50  # sampled problems keep the multiplicative path small enough to work by hand
SAMPLE_TRIES = 200
LABELS = ("-1", "0", "1")
NONE = "none"
EPS_DIGITS = 3  # significant digits of a pinned epsilon: the problem prints it with this many
# What a row computes, by its saturated signs (see row_kind); the sampler draws these first, so that
# every structure of an exam slot turns up often. Rows "copy" and "negation" come only from pinned params.
ROW_KINDS = {2: ("sum", "difference", "negated-sum"), 3: ("sum", "difference", "mixed", "negated-sum")}
UNSATURATED = "unsaturated"
GAP_EPS = 1e-4  # an epsilon from this size up visibly moves m away from the ideal product


# ---------------------------------------------------------------- validation helpers


# ---------------------------------------------------------------- the NALU, vectorised (solve)


def nalu_weights(w_hat: list[list[float]], m_hat: list[list[float]]) -> np.ndarray:
    """W = tanh(W_hat) * sigmoid(M_hat), unrounded."""
    return np.tanh(np.array(w_hat, dtype=float)) / (1.0 + np.exp(-np.array(m_hat, dtype=float)))


def saturation(value: float) -> str:
    """'-1', '0' or '1' when value is within NEAR of that target, else 'none'."""
    target = min((-1, 0, 1), key=lambda c: abs(value - c))
    return str(target) if abs(value - target) <= NEAR else NONE


def additive_text(signs: list[int]) -> str:
    """The sum that a saturated row computes on the additive path: 'x1 - x3', or '0'."""
    terms = []
    for j, s in enumerate(signs, 1):
        if s:
            sign = ("-" if s < 0 else "") if not terms else (" - " if s < 0 else " + ")
            terms.append(f"{sign}x{j}")
    return "".join(terms) or "0"


def multiplicative_text(signs: list[int]) -> str:
    """The product that a saturated row computes on the multiplicative path: 'Abs(x1)/Abs(x2)', or '1'."""
    top = [f"Abs(x{j})" for j, s in enumerate(signs, 1) if s > 0]
    bottom = [f"Abs(x{j})" for j, s in enumerate(signs, 1) if s < 0]
    numerator = "*".join(top) or "1"
    if not bottom:
        return numerator
    return f"{numerator}/{bottom[0]}" if len(bottom) == 1 else f"{numerator}/({'*'.join(bottom)})"


@register
class Nalu(Family):
    id = "nalu"
    title = "Neural arithmetic logic unit: saturated weights and the two paths"
    topic = "inductive-bias"
    difficulty = 2
    answers = {
        "W": Answer("matrix", "W = tanh(W_hat) * sigmoid(M_hat) entrywise, rounded to 4 decimals",
                    precision=W_PRECISION, symbol="W", label="W"),
        "saturation": Answer(
            "table", "per entry of W: '1', '-1' or '0' when within 0.05 of it, else 'none'", choices=("1", "-1", "0", "none"),
            label="saturation of W",
        ),
        "a": Answer("vector", "the additive path a = W x (with the rounded W): exact, W has 4 decimals and x 2",
                    precision=exact(), symbol="a", label="a"),
        "m": Answer("vector", "the multiplicative path m = exp(W log(|x| + eps))", precision=PATH_PRECISION,
                    symbol="m", label="m"),
        "y": Answer("vector", "the NALU output y = g a + (1 - g) m", precision=Y_PRECISION, symbol="y", label="y"),
        "arithmetic": Answer(
            "table",
            "per output row: the operation of the additive path ('add') and of the multiplicative path ('mul') "
            "when every entry of the row is saturated, as expressions in x1..xn (sympy syntax); 'none' otherwise",
            label="operations", form="per row and path: a formula in the inputs, or none",
        ),
    }
    # Slips a student makes here, as the answers they give (see `scoring_mistake`): `degenerate` refuses a
    # draw on which one gives the right W, or the right value of any output row of a, m or y. (Keeping the
    # sign of a negative input in m is no listed slip: it changes nothing in a row without one.)
    mistake_unit = {"W": "answer"}  # W as a whole; a, m and y row by row (each row is its own computation)
    mistakes = {
        "tanh and sigmoid swapped (W = sigmoid(W_hat) tanh(M_hat))": lambda p: {"W": _swapped_weights(p)},
        "the gate on the wrong path (y = (1 - g) a + g m)": lambda p: {"y": _gate_swapped(p)},
        "W transposed in the additive path": lambda p: {"a": _transposed_path(p)},
        "exp and log cancelled across W (m = W |x|)": lambda p: {"m": _cancelled_path(p)},
        "base-10 logarithm (m = exp(W log10 |x|))": lambda p: {"m": _base_ten_path(p)},
    }

    # The shape of W, what each row computes (sorted: the order of the rows costs nothing), how many
    # entries are unsaturated, and whether an input is negative (one more remark in (c)).
    structure = ("W_hat",)
    asks = ("nalu-weight-computation", "nalu-forward-paths", "nalu-saturated-arithmetic")
    reveals = ("nalu-weight-parametrisation", "nalu-saturation-targets", "nalu-log-space-multiplication",
               "nalu-gated-paths")

    def structure_of(self, params):
        features = super().structure_of(params)
        weights = np.round(nalu_weights(params["W_hat"], params["M_hat"]), DIGITS).tolist()
        labels = [[saturation(v) for v in row] for row in weights]
        # one string ('mixed+unsaturated'), so that an exam's report of a slot's structure reads plainly
        features["row_kinds"] = "+".join(
            sorted(UNSATURATED if NONE in row else row_kind([int(v) for v in row]) for row in labels)
        )
        features["unsaturated_entries"] = sum(row.count(NONE) for row in labels)
        features["negative_x"] = any(v < 0 for v in params["x"])
        return features

    def parts(self, params):
        # (a) two functions, a product and a label per entry; (b) and (c) the two paths; (d) the gate;
        # (e) the operations in words, checked against (b) and (c). The weights sum to the bank's 10 points.
        return (Part(("W", "saturation"), 3), Part(("a",), 2), Part(("m",), 2), Part(("y",), 1),
                Part(("arithmetic",), 2))

    def minutes(self, params):
        """With a scientific calculator: 1 min to read; per entry of W 30 s (tanh, sigmoid, product,
        round, label); 10 s per multiply-add written out, 15 s per log or exp, 15 s per result written;
        (d) 30 s per output; (e) 30 s for the rule, 1 min per saturated row (operation, ideal value,
        comparison) and 1.5 min per row with an unsaturated entry (the explanation)."""
        features = self.structure_of(params)
        rows, cols = features["W_hat"]
        entries = rows * cols
        unsaturated_rows = features["row_kinds"].split("+").count(UNSATURATED)
        total = (
            1
            + entries * 30 / 60  # (a)
            + entries * 10 / 60 + rows * 15 / 60  # (b)
            + cols * 15 / 60 + entries * 10 / 60 + rows * 30 / 60  # (c): logs, sums, exps and results
            + rows * 0.5  # (d)
            + 0.5 + (rows - unsaturated_rows) * 1 + unsaturated_rows * 1.5  # (e)
        )
        return math.floor(total * 2 + 0.5) / 2  # to the nearest half minute

    # ------------------------------------------------------------ sampling

    def sample(self, rng):
        # The structural choices first (shape, what each row computes, a negative input or not), then the
        # numbers until they make a usable problem: redrawing the structure with the numbers would make the
        # structures that are rejected more often (three-input products above MAX_SAMPLED_M) rarer.
        rows, cols = choice(rng, (1, 2, 2)), choice(rng, (2, 3))
        kinds = [choice(rng, ROW_KINDS[cols])]  # the first row, always saturated, combines two inputs or more
        if rows == 2:
            others = [k for k in ROW_KINDS[cols] if k != kinds[0]]
            # half the time one entry is left unsaturated, to contrast with the clean operations
            kinds.append(UNSATURATED if integer(rng, 0, 1) else choice(rng, others))
        negative = bool(integer(rng, 0, 1))
        for _ in range(SAMPLE_TRIES):
            params = self._draw(rng, kinds, cols, negative)
            if self.degenerate(params) is None and max(abs(v) for v in self.solve(params)["m"]) <= MAX_SAMPLED_M:
                return params
        raise GenerationError(f"{self.id}: no usable draw in {SAMPLE_TRIES} tries")

    def _draw(self, rng, kinds: list[str], cols: int, negative: bool) -> dict[str, Any]:
        """The numbers of one problem of the given structure."""
        patterns = [self._pattern(rng, kind, cols) for kind in kinds]
        entries = [[self._entry(rng, c) for c in pattern] for pattern in patterns]
        x = [decimal(rng, 0.5, 6, 0.5) for _ in range(cols)]
        while any(v == 1 for v in x):  # log 1 = 0 would hide that input from the multiplicative path
            x = [decimal(rng, 0.5, 6, 0.5) for _ in range(cols)]
        if negative:
            j = integer(rng, 0, cols - 1)
            x[j] = -x[j]
        return {
            "W_hat": [[w for w, _ in row] for row in entries],
            "M_hat": [[m for _, m in row] for row in entries],
            "x": x,
            "gate": [choice(rng, GATES) for _ in range(len(kinds))],
            "eps": EPS,
        }

    @staticmethod
    def _pattern(rng, kind: str, cols: int) -> list[str]:
        """The saturation targets of one row of the given kind, in a random order of the columns."""
        if kind == UNSATURATED:
            pattern = [choice(rng, LABELS) for _ in range(cols)]
            pattern[integer(rng, 0, cols - 1)] = NONE
            return pattern
        many = choice(rng, (2, cols))  # how many inputs a sum or negated sum combines
        signs = {
            "sum": ["1"] * many,
            "negated-sum": ["-1"] * many,
            "difference": ["1", "-1"],
            "mixed": choice(rng, (["1", "1", "-1"], ["1", "-1", "-1"])),
        }[kind]
        return shuffled(rng, signs + ["0"] * (cols - len(signs)))

    @staticmethod
    def _entry(rng, target: str) -> tuple[float, float]:
        """(W_hat_ij, M_hat_ij) that put W_ij near `target`, or well away from every target for 'none'."""
        big = lambda: decimal(rng, 3.5, 5.5, 0.5)  # noqa: E731  tanh and sigmoid both within 0.03 of 1
        if target in ("1", "-1"):
            return (big() if target == "1" else -big()), big()
        if target == "0":
            if integer(rng, 0, 2):  # the sigmoid gate shuts the entry, whatever W_hat is
                return decimal(rng, -5, 5, 0.5), -big()
            return 0, decimal(rng, -2, 5, 0.5)  # tanh(0) = 0, whatever M_hat is
        return decimal(rng, 0.5, 1.5, 0.1) * (1 if integer(rng, 0, 1) else -1), decimal(rng, -0.5, 1.5, 0.5)

    # ------------------------------------------------------------ validation

    def validate(self, params):
        require_keys(params, FIELDS)
        w_hat = as_decimal_matrix(params["W_hat"], "W_hat", (1, 3), (2, 4), -10, 10, 2)
        rows, cols = len(w_hat), len(w_hat[0])
        m_hat = as_decimal_matrix(params["M_hat"], "M_hat", (1, 3), (2, 4), -10, 10, 2)
        if len(m_hat) != rows or len(m_hat[0]) != cols:
            raise ParamError("M_hat", f"a {rows} x {cols} matrix, the shape of W_hat", params["M_hat"])
        x = params["x"]
        if not isinstance(x, (list, tuple)) or len(x) != cols:
            raise ParamError("x", f"a list of {cols} nonzero numbers (one per column of W_hat)", x)
        x = [as_decimal(v, f"x[{j}]", -100, 100, 2, nonzero=True) for j, v in enumerate(x)]
        gate = params["gate"]
        if isinstance(gate, (int, float)) and not isinstance(gate, bool):
            gate = [gate] * rows  # one gate value for every output
        if not isinstance(gate, (list, tuple)) or len(gate) != rows:
            raise ParamError("gate", f"a number from 0 to 1, or a list of {rows} (one per row of W_hat)", gate)
        gate = [as_decimal(g, f"gate[{i}]", 0, 1, 4) for i, g in enumerate(gate)]
        eps = as_number(params["eps"], "eps", 0, 0.1)
        if float(f"{eps:.{EPS_DIGITS}g}") != eps:  # round first, then solve: eps prints with 3 digits
            expected = f"a number from 0 to 0.1 with at most {EPS_DIGITS} significant digits (such as 1e-07 or 0.0025)"
            raise ParamError("eps", expected, eps)
        return {"W_hat": w_hat, "M_hat": m_hat, "x": x, "gate": gate, "eps": eps}

    def degenerate(self, params):
        weights = nalu_weights(params["W_hat"], params["M_hat"])
        for (i, j), value in np.ndenumerate(weights):
            distance = min(abs(value - c) for c in (-1, 0, 1))
            if abs(distance - NEAR) < MARGIN:
                return f"W[{i + 1}][{j + 1}] = {value:.4f} is too close to the {NEAR} threshold to classify"
        labels = [[saturation(v) for v in row] for row in weights.tolist()]
        if all(label == "0" for row in labels for label in row):
            return "every entry of W is near 0, so both paths are trivial"
        if not any(NONE not in row and any(label != "0" for label in row) for row in labels):
            return "no row of W is saturated with a nonzero entry, so there is no arithmetic to read off"
        for i, row in enumerate(labels):
            if NONE not in row:
                signs = [int(label) for label in row]
                reason = cancellation(signs, params["x"])
                if reason:
                    return f"row {i + 1} of W is saturated near {signs} and its inputs cancel: {reason}"
        return rounding_reason(params) or scoring_mistake(self, params, self.solve(params))

    # ------------------------------------------------------------ solving

    def solve(self, params):
        weights = np.round(nalu_weights(params["W_hat"], params["M_hat"]), DIGITS)
        x = np.array(params["x"], dtype=float)
        gate = np.array(params["gate"], dtype=float)
        a = exact_additive(weights.tolist(), params["x"])
        m = np.exp(weights @ np.log(np.abs(x) + params["eps"]))
        y = gate * a + (1 - gate) * m
        labels = [[saturation(v) for v in row] for row in weights.tolist()]
        arithmetic = []
        for row in labels:
            if NONE in row:
                arithmetic.append({"add": NONE, "mul": NONE})
            else:
                signs = [int(label) for label in row]
                arithmetic.append({"add": additive_text(signs), "mul": multiplicative_text(signs)})
        return {
            "W": [[float(v) for v in row] for row in weights.tolist()],
            "saturation": labels,
            "a": [float(v) for v in a],
            "m": [float(v) for v in m],
            "y": [float(v) for v in y],
            "arithmetic": arithmetic,
        }

    # ------------------------------------------------------------ checking

    def check(self, params, answers):
        """Plain-python loops with other formulas: tanh(z) = (e^2z - 1)/(e^2z + 1), sigmoid(z) =
        (1 + tanh(z/2))/2, the multiplicative path as the product of powers (|x_j| + eps)^W_ij, and the
        arithmetic expressions evaluated by a small parser at several points."""
        w_hat, m_hat, x, gate, eps = (params[k] for k in FIELDS)
        rows, cols = len(w_hat), len(w_hat[0])
        got_w = answers["W"]
        assert len(got_w) == rows and all(len(r) == cols for r in got_w), f"W has the wrong shape: {got_w}"
        for i in range(rows):
            for j in range(cols):
                e2 = math.exp(2 * w_hat[i][j])
                tanh = (e2 - 1) / (e2 + 1)
                sig = (1 + math.tanh(m_hat[i][j] / 2)) / 2
                exact = tanh * sig
                value = got_w[i][j]
                assert abs(value - exact) <= 0.5 * 10**-DIGITS + 1e-12, (
                    f"W[{i}][{j}] = {value}, tanh * sigmoid = {exact:.6f}"
                )
                assert round(value, DIGITS) == value, f"W[{i}][{j}] = {value} is not rounded to {DIGITS} decimals"
                target = min((-1, 0, 1), key=lambda c: abs(exact - c))
                want = str(target) if abs(exact - target) <= NEAR else NONE
                assert answers["saturation"][i][j] == want, (
                    f"saturation[{i}][{j}] = {answers['saturation'][i][j]!r}, W = {exact:.4f} gives {want!r}"
                )
        for i in range(rows):
            a_i = 0.0
            m_i = 1.0
            for j in range(cols):
                a_i += got_w[i][j] * x[j]
                m_i *= (abs(x[j]) + eps) ** got_w[i][j]
            y_i = gate[i] * a_i + (1 - gate[i]) * m_i
            for name, want in (("a", a_i), ("m", m_i), ("y", y_i)):
                value = answers[name][i]
                assert abs(value - want) <= 1e-9 * max(1.0, abs(want)), f"{name}[{i}] = {value}, loops give {want}"

            signs = [{"1": 1, "-1": -1, "0": 0}.get(answers["saturation"][i][j]) for j in range(cols)]
            got = answers["arithmetic"][i]
            assert set(got) == {"add", "mul"}, f"arithmetic[{i}] needs 'add' and 'mul', got {got!r}"
            if None in signs:
                assert got == {"add": NONE, "mul": NONE}, f"arithmetic[{i}] = {got!r}, but row {i} is not saturated"
                continue
            names = [f"x{j + 1}" for j in range(cols)]
            for point in (x, [j + 2 for j in range(cols)], [(-1) ** j * (j + 0.5) for j in range(cols)]):
                env = dict(zip(names, (float(v) for v in point)))
                add = sum(s * v for s, v in zip(signs, point))
                mul = math.prod(abs(v) ** s for s, v in zip(signs, point))
                for key, want in (("add", add), ("mul", mul)):
                    value = _evaluate(got[key], env)
                    assert abs(value - want) <= 1e-9 * max(1.0, abs(want)), (
                        f"arithmetic[{i}].{key} = {got[key]!r} is {value} at {point}, the saturated row gives {want}"
                    )

    # ------------------------------------------------------------ display

    def context(self, params, answers):
        rows, cols = len(params["W_hat"]), len(params["x"])
        raw = nalu_weights(params["W_hat"], params["M_hat"])
        logs = [math.log(abs(v) + params["eps"]) for v in params["x"]]
        exponents = [sum(answers["W"][i][j] * logs[j] for j in range(cols)) for i in range(rows)]
        entries = []
        for i in range(rows):
            for j in range(cols):
                entries.append({
                    "i": i + 1,
                    "j": j + 1,
                    "w_hat": params["W_hat"][i][j],
                    "m_hat": params["M_hat"][i][j],
                    "tanh": math.tanh(params["W_hat"][i][j]),
                    "sigmoid": 1 / (1 + math.exp(-params["M_hat"][i][j])),
                    "w": answers["W"][i][j],
                    "label": answers["saturation"][i][j],
                })
        ideal = []
        for i in range(rows):
            labels = answers["saturation"][i]
            if NONE in labels:
                ideal.append(None)
                continue
            signs = [int(label) for label in labels]
            ideal.append({
                "signs": signs,
                # the gap between the computed and the ideal values: from the weights, from eps, or none
                "exact": answers["W"][i] == signs,
                "add": sum(s * v for s, v in zip(signs, params["x"])),
                "mul": math.prod(abs(v) ** s for s, v in zip(signs, params["x"])),
                **operation_words(signs),
                **operation_tex(signs),
            })
        unsaturated = [e for e in entries if e["label"] == NONE]
        groups = [{"label": label, "entries": [e for e in entries if e["label"] == label]}
                  for label in ("1", "-1", "0", NONE)]
        return {
            "rows": rows,
            "cols": cols,
            "entries": entries,
            "unrounded": raw.tolist(),
            "logs": logs,
            "exponents": exponents,
            "ideal": ideal,
            "unsaturated": unsaturated,
            "groups": [g for g in groups if g["entries"]],
            "negative_x": ", ".join(f"x_{{{j + 1}}}" for j, v in enumerate(params["x"]) if v < 0),
            # m and y with six significant digits: the working shows more digits than the answers ask
            "m_long": [LONG.latex(v) for v in answers["m"]],
            "y_long": [LONG.latex(v) for v in answers["y"]],
            "eps_tex": eps_tex(params["eps"]),
            "eps_gap": params["eps"] >= GAP_EPS,
            "near": NEAR,
        }


def exact_additive(weights: list[list[float]], x: list[float]) -> np.ndarray:
    """a = W x, exactly: W has 4 decimals and x at most 2, so each a_i is a decimal of at most 6 places
    (the float that prints as it)."""
    q = [Fraction(repr(float(v))) for v in x]
    return np.array([float(round(sum(Fraction(repr(w)) * v for w, v in zip(row, q)), 6)) for row in weights])


# ---------------------------------------------------------------- how precisely, and what a slip gives


def rounding_reason(params: Mapping[str, Any]) -> str | None:
    """Why a student who rounds on the way as the problem allows could miss an asked digit, or None:
    - an unrounded entry of W within 2 % of a unit of a rounding boundary at 4 decimals (the product of
      factors carried to 6 digits could round the other way);
    - m from logarithms written to 4 decimals (the exponent too) rounds to other 3 significant digits;
    - y from m as the student gave it in (c), or from that of the 4-decimal logarithms, rounds otherwise."""
    raw = nalu_weights(params["W_hat"], params["M_hat"])
    for (i, j), value in np.ndenumerate(raw):
        fraction = abs(value) * 10**DIGITS % 1
        if abs(fraction - 0.5) < W_MARGIN:
            return f"W[{i + 1}][{j + 1}] = {value:.7f} lies on a rounding boundary at {DIGITS} decimals"
    weights = np.round(raw, DIGITS)
    gate = np.array(params["gate"], dtype=float)
    logs = np.log(np.abs(np.array(params["x"], dtype=float)) + params["eps"])
    a = exact_additive(weights.tolist(), params["x"])
    m = np.exp(weights @ logs)
    short_logs = np.round(logs, LOG_DIGITS)
    routes_m = {"logarithms to 4 decimals": np.exp(weights @ short_logs),
                "logarithms and exponent to 4 decimals": np.exp(np.round(weights @ short_logs, LOG_DIGITS))}
    for route, values in routes_m.items():
        for i, (true, other) in enumerate(zip(m, values)):
            if not _gives(PATH_PRECISION, float(PATH_PRECISION.text(other)), true):
                return f"m[{i + 1}] from the {route} rounds to {PATH_PRECISION.text(other)}, not {PATH_PRECISION.text(true)}"
    y = gate * a + (1 - gate) * m
    given = [float(PATH_PRECISION.text(v)) for v in m]
    routes_y = {"m as given in (c)": given, **routes_m}
    for route, values in routes_y.items():
        for i, (true, g, a_i, m_i) in enumerate(zip(y, gate, a, values)):
            other = g * a_i + (1 - g) * m_i
            if not _gives(Y_PRECISION, float(Y_PRECISION.text(other)), true):
                return f"y[{i + 1}] from {route} rounds to {Y_PRECISION.text(other)}, too far from {true:.6g}"
    return None


def _gives(precision, wrong: float, right: float) -> bool:
    return precision.accepts(right, wrong)


def _rounded_weights(params: Mapping[str, Any]) -> np.ndarray:
    return np.round(nalu_weights(params["W_hat"], params["M_hat"]), DIGITS)


def _swapped_weights(params: Mapping[str, Any]) -> list[list[float]]:
    swapped = np.tanh(np.array(params["M_hat"], dtype=float)) / (1.0 + np.exp(-np.array(params["W_hat"], dtype=float)))
    return np.round(swapped, DIGITS).tolist()


def _gate_swapped(params: Mapping[str, Any]) -> list[float]:
    answers = _paths(params)
    gate = np.array(params["gate"], dtype=float)
    return ((1 - gate) * answers["a"] + gate * answers["m"]).tolist()


def _transposed_path(params: Mapping[str, Any]) -> list[float] | None:
    weights = _rounded_weights(params)
    if weights.shape[0] != weights.shape[1]:
        return None
    return exact_additive(weights.T.tolist(), params["x"]).tolist()


def _cancelled_path(params: Mapping[str, Any]) -> list[float]:
    return (_rounded_weights(params) @ np.abs(np.array(params["x"], dtype=float))).tolist()


def _base_ten_path(params: Mapping[str, Any]) -> list[float]:
    return np.exp(_rounded_weights(params) @ np.log10(np.abs(np.array(params["x"], dtype=float)))).tolist()


def _paths(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    weights = _rounded_weights(params)
    x = np.array(params["x"], dtype=float)
    return {"a": exact_additive(weights.tolist(), params["x"]), "m": np.exp(weights @ np.log(np.abs(x) + params["eps"]))}




def row_kind(signs: list[int]) -> str:
    """What a saturated row computes: 'sum', 'difference', 'mixed' (both signs, three inputs or more),
    'negated-sum', 'copy', 'negation', or 'zero' (no input at all)."""
    plus, minus = signs.count(1), signs.count(-1)
    if plus + minus == 0:
        return "zero"
    if plus + minus == 1:
        return "copy" if plus else "negation"
    if not minus:
        return "sum"
    if not plus:
        return "negated-sum"
    return "difference" if plus == minus == 1 else "mixed"


OPERATION_WORDS = {
    "sum": ("addition", "multiplication"),
    "difference": ("subtraction", "division"),
    "mixed": ("a mixed sum, adding some inputs and subtracting others",
              "a mixed ratio, multiplying by some inputs and dividing by others"),
    "negated-sum": ("a negated sum", "the reciprocal of a product"),
    "copy": ("a copy of one input", "the magnitude of that input"),
    "negation": ("the negation of one input", "the reciprocal of that input's magnitude"),
}


def operation_words(signs: list[int]) -> dict[str, str]:
    """What a saturated row does, in words, on the additive and on the multiplicative path."""
    add, mul = OPERATION_WORDS[row_kind(signs)]
    return {"add_word": add, "mul_word": mul}


def cancellation(signs: list[int], x: list[float]) -> str | None:
    """Why a saturated row is trivial for these inputs (its sum is 0 or its product 1), or None. Exact, in
    integers: the inputs have at most two decimals, so 100 x is an integer."""
    scaled = [round(abs(v) * 100) * (1 if v > 0 else -1) for v in x]
    top = math.prod(abs(v) for s, v in zip(signs, scaled) if s > 0) * 100 ** signs.count(-1)
    bottom = math.prod(abs(v) for s, v in zip(signs, scaled) if s < 0) * 100 ** signs.count(1)
    if not any(signs):
        return "the row leaves out every input, so its paths give 0 and 1 whatever x is"
    if sum(s * v for s, v in zip(signs, scaled)) == 0:
        return f"its additive path {additive_text(signs)} is 0 for this x"
    if top == bottom:
        return f"its multiplicative path {multiplicative_text(signs)} is 1 for this x"
    return None


def operation_tex(signs: list[int]) -> dict[str, str]:
    """The operations of a saturated row as LaTeX (what sympy would print for the answers, without sympy)."""
    add = re.sub(r"x(\d+)", r"x_{\1}", additive_text(signs))
    top = [f"|x_{{{j}}}|" for j, s in enumerate(signs, 1) if s > 0]
    bottom = [f"|x_{{{j}}}|" for j, s in enumerate(signs, 1) if s < 0]
    numerator, denominator = "\\,".join(top) or "1", "\\,".join(bottom)
    mul = f"\\frac{{{numerator}}}{{{denominator}}}" if bottom else numerator
    return {"add_tex": add, "mul_tex": mul}


def eps_tex(eps: float) -> str:
    """epsilon as LaTeX: 0, 0.01, 10^{-7}, 5 \\times 10^{-3}."""
    if eps == 0:
        return "0"
    text = f"{eps:.{EPS_DIGITS}g}"  # exact: validate() refuses an eps with more digits
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else f"{mantissa} \\times {power}"


# ---------------------------------------------------------------- a tiny evaluator for the arithmetic answers

def _evaluate(text: Any, env: Mapping[str, float]) -> float:
    """Evaluate an operation string ('x1 + x2', 'Abs(x1)/Abs(x2)') numerically, without sympy."""
    return float(evaluate(text, env, functions=("Abs",), what="an expression"))
