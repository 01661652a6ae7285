"""Sinusoidal positional encodings (issue 19): the encodings of two positions, their dot product, and the
rotation that takes one position's first (sin, cos) pair to the other's.

Conventions (the JSON contract): `d_model` is 4 or 6; `base` is 10000 as in "Attention is all you need", or
a small base such as 100 for hand computation; `p` and `q` are two different positions (counted from 0).
PE(pos, 2i) = sin(pos w_i) and PE(pos, 2i + 1) = cos(pos w_i) with w_i = 1 / base^(2i / d_model), angles in
radians. `rotation` is the 2 x 2 matrix M with [sin(q w), cos(q w)]^T = M [sin(p w), cos(p w)]^T for the
first pair (i = 0, w = 1): by the angle-addition formulas M = [[cos d, sin d], [-sin d, cos d]], d = q - p.

Precision: every answer to 4 decimal places (all lie in [-1, 1], the dot product in [-d/2, d/2]). The
problem asks to carry unrounded values from one step to the next, so no answer needs an allowance.

Fair exams: the structure is `d_model` and `base` (a base of 10000 makes the higher frequencies tiny, and the
work of a calculator's powers differs); every draw of one structure takes the same steps.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from qbank.checks import close, close_all
from qbank.draws import choice, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_choice, as_int, require_keys
from qbank.precision import decimals

FIELDS = ("d_model", "base", "p", "q")
VALUE = decimals(4)
WORK = decimals(6)  # frequencies and angles on the way
CALL_MINUTES = 0.5  # one sin, cos or power on a calculator, written down
READ_MINUTES = 1.5


def _freqs(params: Mapping[str, Any], exponent: float = 2.0) -> np.ndarray:
    """w_i = base^(-exponent i / d) for i = 0 .. d/2 - 1 (exponent 2: the convention)."""
    d = params["d_model"]
    return np.array([float(params["base"]) ** (-exponent * i / d) for i in range(d // 2)])


def _encode(pos: float, freqs: np.ndarray, *, swapped: bool = False, scale: float = 1.0) -> list[float]:
    """[sin(pos w_0), cos(pos w_0), sin(pos w_1), ...]; `swapped`: cos first; `scale`: degrees to radians."""
    out: list[float] = []
    for w in freqs:
        angle = pos * w * scale
        pair = [math.cos(angle), math.sin(angle)] if swapped else [math.sin(angle), math.cos(angle)]
        out += pair
    return out


def _rotation(delta: float) -> list[list[float]]:
    return [[math.cos(delta), math.sin(delta)], [-math.sin(delta), math.cos(delta)]]


def _both(params: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    freqs = options.pop("freqs", None)
    freqs = _freqs(params) if freqs is None else freqs
    return {"pe_p": _encode(params["p"], freqs, **options), "pe_q": _encode(params["q"], freqs, **options)}


def _first_pair_left(params: Mapping[str, Any], wrong: dict[str, Any]) -> dict[str, Any]:
    """Entries 0 and 1 (i = 0, w = 1 under every reading of the exponent) are right by nature."""
    return wrong


@register
class PositionalEncoding(Family):
    id = "positional-encoding"
    title = "Sinusoidal positional encodings: two positions, their dot product and the rotation between them"
    topic = "transformers"
    difficulty = 2
    answers = {
        "pe_p": Answer("vector", "the positional encoding of position p, d_model entries", precision=VALUE,
                       symbol=r"\mathrm{PE}(p)", label="PE(p)", index=("dimension {}",)),
        "pe_q": Answer("vector", "the positional encoding of position q, d_model entries", precision=VALUE,
                       symbol=r"\mathrm{PE}(q)", label="PE(q)", index=("dimension {}",)),
        "dot": Answer("number", "the dot product PE(p) . PE(q)", precision=VALUE,
                      symbol=r"\mathrm{PE}(p) \cdot \mathrm{PE}(q)", label="PE(p) . PE(q)"),
        "rotation": Answer("matrix", "the 2 x 2 matrix M taking [sin(p), cos(p)] to [sin(q), cos(q)] (first pair)",
                           precision=VALUE, symbol="M", label="M"),
    }
    # Mistakes students make here, as the answers they give: the calculator in degrees, the exponent
    # 2i/d read as i/d (or the division read as a product), sin and cos swapped, the rotation transposed (the
    # same as a rotation by p - q) or by q instead of q - p. (None: an entry a slip leaves right by its nature.)
    mistakes = {
        "the angles in degrees, not radians": lambda p: _both(p, scale=math.pi / 180),
        "the exponent i / d for 2i / d": lambda p: _first_pair_left(p, _both(p, freqs=_freqs(p, 1.0))),
        "pos times base^(2i/d) for pos divided by it": lambda p: _first_pair_left(p, _both(p, freqs=_freqs(p, -2.0))),
        "cos in the even dimensions and sin in the odd ones": lambda p: _both(p, swapped=True),
        "the rotation transposed": lambda p: {"rotation": [[None, -math.sin(p["q"] - p["p"])],
                                                           [math.sin(p["q"] - p["p"]), None]]},
        "the rotation by the angle q, not q - p": lambda p: {"rotation": _rotation(p["q"])},
    }
    # an encoding is right or wrong as a whole: with base 10000 the last pair's angles are tiny, so its
    # cosine is 1.0000 to 4 decimals under every slip (degrees too), an entry right by coincidence
    mistake_unit = {"pe_p": "answer", "pe_q": "answer"}
    structure = ("d_model", "base")
    asks = ("sinusoidal-positional-encoding", "positional-encoding-dot-product", "positional-encoding-rotation")
    reveals = ()

    def sample(self, rng):
        p = integer(rng, 1, 30)
        return {"d_model": choice(rng, (4, 6)), "base": choice(rng, (10000, 100)), "p": p,
                "q": p + integer(rng, 1, 20)}

    def validate(self, params):
        require_keys(params, FIELDS)
        d_model = as_choice(params["d_model"], "d_model", (4, 6))
        base = as_int(params["base"], "base", 10, 10000)
        p = as_int(params["p"], "p", 0, 1000)
        q = as_int(params["q"], "q", 0, 1000)
        if q == p:
            raise ParamError("q", f"a position other than p = {p}", params["q"])
        return {"d_model": d_model, "base": base, "p": p, "q": q}

    def degenerate(self, params):
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        pe_p, pe_q = _both(params).values()
        return {
            "pe_p": pe_p,
            "pe_q": pe_q,
            "dot": float(np.dot(pe_p, pe_q)),
            "rotation": _rotation(params["q"] - params["p"]),
        }

    def check(self, params, answers):
        """Another route: each entry from its definition, one dimension at a time (the frequency as
        exp(-(2i/d) ln base)); the dot product as the sum of cos((q - p) w_i) over the pairs (sin a sin b +
        cos a cos b = cos(a - b)); M checked by applying it to the p pair, and as a rotation (orthogonal,
        determinant 1)."""
        d, base, p, q = params["d_model"], params["base"], params["p"], params["q"]

        def entry(pos: int, k: int) -> float:
            w = math.exp(-(2 * (k // 2) / d) * math.log(base))
            return math.sin(pos * w) if k % 2 == 0 else math.cos(pos * w)

        close_all(answers["pe_p"], [entry(p, k) for k in range(d)], "pe_p", 1e-12)
        close_all(answers["pe_q"], [entry(q, k) for k in range(d)], "pe_q", 1e-12)
        identity = math.fsum(math.cos((q - p) * math.exp(-(2 * i / d) * math.log(base))) for i in range(d // 2))
        close(answers["dot"], identity, "dot", 1e-10)
        m = answers["rotation"]
        if not (isinstance(m, list) and len(m) == 2 and all(isinstance(r, list) and len(r) == 2 for r in m)):
            raise AssertionError(f"rotation: expected a 2 x 2 matrix, got {m!r}")
        source, target = [math.sin(p), math.cos(p)], [math.sin(q), math.cos(q)]
        close_all([m[0][0] * source[0] + m[0][1] * source[1], m[1][0] * source[0] + m[1][1] * source[1]], target,
                  "rotation applied to [sin p, cos p]", 1e-10)
        close(m[0][0] * m[1][1] - m[0][1] * m[1][0], 1.0, "rotation's determinant", 1e-10)
        close(m[0][0] * m[0][1] + m[1][0] * m[1][1], 0.0, "rotation's columns' dot product", 1e-10)
        close(m[0][0], m[1][1], "rotation[1][1] (a rotation's diagonal entries are equal)", 1e-10)

    def structure_of(self, params):
        return {"d_model": params["d_model"], "base": params["base"]}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, float, float]:
        pairs = params["d_model"] // 2
        # (a) d/2 - 1 frequencies (a power each), 2 positions x d/2 angles, each a sin and a cos;
        # (b) d products and a sum; (c) the angle-addition formulas (2 min), one sin and one cos
        return ((pairs - 1) * CALL_MINUTES + 2 * pairs * 2 * CALL_MINUTES, 0.25 * params["d_model"] + 0.25,
                2.0 + 2 * CALL_MINUTES)

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        return (Part(("pe_p", "pe_q"), weights[0]), Part(("dot",), weights[1]), Part(("rotation",), weights[2]))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        freqs = _freqs(params)
        d = params["d_model"]
        rows = []
        for i, w in enumerate(freqs):
            rows.append({"i": i, "exponent": f"{2 * i}/{d}", "w": float(w),
                         "pa": params["p"] * float(w), "qa": params["q"] * float(w),
                         "cos": math.cos((params["q"] - params["p"]) * float(w))})
        products = [a * b for a, b in zip(answers["pe_p"], answers["pe_q"])]
        delta = params["q"] - params["p"]
        cos_sum = " ".join(("" if k == 0 else "- " if c < 0 else "+ ") + WORK.latex(c if k == 0 else abs(c))
                           for k, c in enumerate(r["cos"] for r in rows))
        return {"rows": rows, "cos_sum": cos_sum, "pairs": d // 2, "products": products, "delta": delta,
                "cos_delta": math.cos(delta), "sin_delta": math.sin(delta), "work": WORK}
