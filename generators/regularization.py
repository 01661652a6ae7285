"""Regularization families: inverted dropout on a layer's activations, forward, backward and in expectation.

dropout (issue 19's JSON contract): `h` holds 4 to 6 activations, `p_drop` the probability that a unit is
dropped, `mask` the draw to use (per unit: 1 kept, 0 dropped) and `upstream` the gradient dL/doutput.
Inverted dropout, as deep-learning libraries implement it: at training time a kept unit is multiplied by
scale = 1 / (1 - p_drop) and a dropped one is 0, so output = mask * h * scale and dL/dh = mask * upstream *
scale; every unit's expected output over the random mask is (1 - p_drop) * h * scale = h; at test time the
layer is the identity.

Precision: every answer is exact. The sampler draws p_drop from values whose scale is a short decimal or a
simple fraction (1.25, 4/3, 5/3, 2.5, 4, 5, 10/9), so that outputs and gradients are fractions asked as such;
p_drop = 0.5 is never drawn, as its scale 2 is also 1 / p_drop, the scale of a student who reads p_drop as the
keep probability (a pinned 0.5 is refused for that reason).

Fair exams: the structure is the number of units and how many the mask drops (the products to write depend
on the kept ones). Each mistake on `mistakes` is one a student makes here (None where it changes nothing by
its nature, a dropped unit's 0 for instance); `degenerate` refuses a draw on which one of them scores.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.checks import close, close_all
from qbank.draws import choice, decimal, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_decimal, as_decimal_list, require_keys
from qbank.precision import exact

FIELDS = ("h", "p_drop", "mask", "upstream")
P_DROPS = (0.1, 0.2, 0.25, 0.4, 0.6, 0.75, 0.8)  # scales 10/9, 1.25, 4/3, 5/3, 2.5, 4, 5
EXACT = exact(fractions=True)
PRODUCT_MINUTES = 0.25  # one kept unit times the scale, written down
READ_MINUTES = 1.0


def _q(value: Any) -> Fraction:
    return Fraction(str(value))


def _plain(value: Fraction) -> int | float:
    """An exact rational as JSON data: an int when whole, else the nearest float."""
    return value.numerator if value.denominator == 1 else value.numerator / value.denominator


def _scaled(params: Mapping[str, Any], values: list, scale: Fraction, dropped_too: bool = False,
            only: str = "all") -> list:
    """Each value times the mask and the scale; `dropped_too`: the mask left out; `only` "kept" or "dropped":
    None at the other units (a slip that changes nothing there by its nature)."""
    out = []
    for v, m in zip(values, params["mask"]):
        if (only == "kept" and not m) or (only == "dropped" and m):
            out.append(None)
            continue
        out.append(_plain(_q(v) * scale * (1 if dropped_too else m)))
    return out


def _scale(params: Mapping[str, Any]) -> Fraction:
    return 1 / (1 - _q(params["p_drop"]))


def _no_scaling(p: Mapping[str, Any]) -> dict[str, Any]:
    """Dropout without the inverted scaling: kept units pass unchanged, and their mean is (1 - p) h."""
    keep = 1 - _q(p["p_drop"])
    return {"scale": 1, "output": _scaled(p, p["h"], Fraction(1), only="kept"),
            "grad": _scaled(p, p["upstream"], Fraction(1), only="kept"),
            "expected": [_plain(keep * _q(v)) for v in p["h"]]}


def _keep_probability(p: Mapping[str, Any]) -> dict[str, Any]:
    """p_drop read as the probability of keeping a unit: scale 1 / p."""
    wrong = 1 / _q(p["p_drop"])
    return {"scale": _plain(wrong), "output": _scaled(p, p["h"], wrong, only="kept"),
            "grad": _scaled(p, p["upstream"], wrong, only="kept")}


def _times_keep(p: Mapping[str, Any]) -> dict[str, Any]:
    """Kept units multiplied by 1 - p instead of divided by it."""
    wrong = 1 - _q(p["p_drop"])
    return {"scale": _plain(wrong), "output": _scaled(p, p["h"], wrong, only="kept"),
            "grad": _scaled(p, p["upstream"], wrong, only="kept")}


def _grad_masked_only(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"grad": _scaled(p, p["upstream"], Fraction(1), only="kept")}


def _grad_through_dropped(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"grad": _scaled(p, p["upstream"], _scale(p), dropped_too=True, only="dropped")}


def _expected_scaled(p: Mapping[str, Any]) -> dict[str, Any]:
    """E[output] as h times the scale (the keep probability left out of the mean)."""
    return {"expected": [_plain(_q(v) * _scale(p)) for v in p["h"]]}


def _expected_masked(p: Mapping[str, Any]) -> dict[str, Any]:
    """E[output] as this draw's output (one mask for the mean over all masks)."""
    return {"expected": _scaled(p, p["h"], _scale(p))}


def _classic_test(p: Mapping[str, Any]) -> dict[str, Any]:
    """The test-time output of classic (not inverted) dropout, (1 - p) h."""
    return {"test_output": [_plain((1 - _q(p["p_drop"])) * _q(v)) for v in p["h"]]}


def _dropout_at_test(p: Mapping[str, Any]) -> dict[str, Any]:
    """The mask and scale applied at test time too."""
    return {"test_output": _scaled(p, p["h"], _scale(p))}


@register
class Dropout(Family):
    id = "dropout"
    title = "Inverted dropout: the training output, its gradient, its expectation and the test-time output"
    topic = "regularization"
    difficulty = 1
    answers = {
        "scale": Answer("number", "the factor 1 / (1 - p_drop) applied to kept units at training time",
                        precision=EXACT, symbol="s", label="scale"),
        "output": Answer("vector", "the training-time output mask * h * scale", precision=EXACT, symbol="y",
                         label="y", index=("unit {}",)),
        "grad": Answer("vector", "dL/dh = mask * upstream * scale", precision=EXACT, symbol=r"\partial L/\partial h",
                       label="dL/dh", index=("unit {}",)),
        "expected": Answer("vector", "the expected training output of each unit over the random mask", precision=EXACT,
                           symbol=r"\mathbb{E}[y]", label="E[y]", index=("unit {}",)),
        "test_output": Answer("vector", "the output at test time", precision=EXACT, symbol=r"y^{\text{test}}",
                              label="test-time y", index=("unit {}",)),
    }
    mistakes = {
        "no scaling at training time (classic dropout)": _no_scaling,
        "p_drop read as the keep probability (scale 1 / p)": _keep_probability,
        "kept units multiplied by 1 - p instead of divided": _times_keep,
        "the gradient masked but not scaled": _grad_masked_only,
        "the gradient passed through the dropped units": _grad_through_dropped,
        "E[output] as h times the scale": _expected_scaled,
        "E[output] as this mask's output": _expected_masked,
        "classic dropout's test output (1 - p) h": _classic_test,
        "the mask and scale applied at test time": _dropout_at_test,
    }
    structure = ("h",)  # the number of units; structure_of adds how many the mask drops
    asks = ("dropout-scaling", "dropout-forward", "dropout-backward", "dropout-expectation")
    reveals = ()

    def sample(self, rng):
        n = integer(rng, 4, 6)
        dropped = integer(rng, 1, n // 2)
        order = rng.permutation(n)
        mask = [0 if int(i) < dropped else 1 for i in order]
        return {
            "h": [decimal(rng, -2, 3, 0.1, nonzero=True) for _ in range(n)],
            "p_drop": choice(rng, P_DROPS),
            "mask": mask,
            "upstream": [decimal(rng, -2, 2, 0.1, nonzero=True) for _ in range(n)],
        }

    def validate(self, params):
        require_keys(params, FIELDS)
        h = as_decimal_list(params["h"], "h", (2, 8), -100, 100, 2)
        n = len(h)
        p_drop = as_decimal(params["p_drop"], "p_drop", 0.01, 0.99, 2)
        mask = params["mask"]
        expected = f"a list of {n} entries, 1 (kept) or 0 (dropped), one per unit of h"
        if not isinstance(mask, (list, tuple)) or len(mask) != n or any(
                isinstance(m, bool) or m not in (0, 1) for m in mask):
            raise ParamError("mask", expected, mask)
        upstream = as_decimal_list(params["upstream"], "upstream", (n, n), -100, 100, 2,
                                   why=f" (dL/doutput, one per unit of h: {n})")
        return {"h": h, "p_drop": p_drop, "mask": [int(m) for m in mask], "upstream": upstream}

    def degenerate(self, params):
        if all(params["mask"]) or not any(params["mask"]):
            return "the mask keeps every unit or drops every unit: nothing to tell kept from dropped"
        for name in ("h", "upstream"):
            if 0 in params[name]:
                return f"{name}[{params[name].index(0)}] is 0: its unit's output and gradient are 0 whatever the mask"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        scale = _scale(params)
        return {
            "scale": _plain(scale),
            "output": _scaled(params, params["h"], scale),
            "grad": _scaled(params, params["upstream"], scale),
            "expected": [_plain(_q(v)) for v in params["h"]],
            "test_output": [_plain(_q(v)) for v in params["h"]],
        }

    def check(self, params, answers):
        """Another route: the layer as NumPy floats; dL/dh by central differences of L = upstream . output (a
        function of h through the fixed mask); E[output] by enumerating every one of the 2^n masks with its
        probability and averaging the outputs; the test-time layer as the identity."""
        p = float(params["p_drop"])
        h = np.array(params["h"], dtype=float)
        up = np.array(params["upstream"], dtype=float)
        mask = np.array(params["mask"], dtype=float)
        close(answers["scale"], 1 / (1 - p), "scale", 1e-12)

        def forward(x: np.ndarray, m: np.ndarray) -> np.ndarray:
            return np.where(m > 0, x / (1 - p), 0.0)

        close_all(answers["output"], forward(h, mask).tolist(), "output", 1e-12)
        grad = []
        for i in range(len(h)):
            step = np.zeros(len(h))
            step[i] = 1e-3  # L is linear in h: the central difference is exact up to rounding
            grad.append(float(up @ forward(h + step, mask) - up @ forward(h - step, mask)) / 2e-3)
        close_all(answers["grad"], grad, "grad", 1e-9)
        n = len(h)
        mean = np.zeros(n)
        for bits in range(2 ** n):
            m = np.array([(bits >> i) & 1 for i in range(n)], dtype=float)
            mean += (1 - p) ** m.sum() * p ** (n - m.sum()) * forward(h, m)
        close_all(answers["expected"], mean.tolist(), "expected", 1e-9)
        close_all(answers["test_output"], h.tolist(), "test_output", 0)

    def structure_of(self, params):
        return {"h": [len(params["h"])], "dropped": params["mask"].count(0)}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, float, float, float]:
        n, kept = len(params["h"]), sum(params["mask"])
        # (a) one division; (b), (c) a product per kept unit and a 0 per dropped one; (d) the mean over the
        # mask (1 min to reason) and n values written twice
        return (0.5, kept * PRODUCT_MINUTES + 0.1 * (n - kept), kept * PRODUCT_MINUTES + 0.1 * (n - kept) + 1.0,
                1.0 + 0.1 * n)

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        return (Part(("scale",), weights[0]), Part(("output",), weights[1]), Part(("grad",), weights[2]),
                Part(("expected", "test_output"), weights[3]))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        return {
            "n": len(params["h"]),
            "keep": _plain(1 - _q(params["p_drop"])),
            "dropped": [i + 1 for i, m in enumerate(params["mask"]) if not m],
        }
