"""Optimization families about the size of a step: clipping the gradient by its global norm.

grad-clip (issue 19's JSON contract): `grads` holds one gradient vector per parameter tensor (2 or 3
tensors of 2 or 3 entries each), `max_norm` the clipping threshold. Clipping by the global norm, as
torch.nn.utils.clip_grad_norm_ does it but exactly (no epsilon): the norm of every tensor, the L2 norm of
all entries together (the square root of the sum of the squared tensor norms), the factor
scale = min(1, max_norm / total_norm), and every entry multiplied by that one factor.

Precision: the norms, the scale and the clipped entries go through a square root and are asked to 4
decimal places. The problem asks to carry unrounded values from one step to the next (a clipped entry
from a rounded scale can be a unit of the 4th place off).

Fair exams: the structure is the number of entries of each tensor; every draw of one structure takes the
same steps (a square per entry, a root per tensor and one for the total, one division, a product per
entry). The sampler draws only problems that clip (total_norm > max_norm): with scale 1 the last two
parts ask for nothing. Each mistake on `mistakes` is one a student makes here; `degenerate` refuses a
draw on which one of them scores (`scoring_mistake`).
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
from qbank.precision import decimals

CLIP_FIELDS = ("grads", "max_norm")
CLIP = decimals(4)
MAX_NORMS = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5)  # thresholds the sampler draws from
SQUARE_MINUTES = 0.2  # one entry squared and added, written down
ROOT_MINUTES = 0.4  # one square root on a calculator, written down
PRODUCT_MINUTES = 0.2  # one entry times the scale, written down
READ_MINUTES = 1.0


def _plain(value: float) -> float:
    return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0


def _squares(grads: list[list[float]]) -> list[Fraction]:
    """The sum of squares of each tensor, exactly (the entries are short decimals)."""
    return [sum((Fraction(str(v)) ** 2 for v in g), Fraction(0)) for g in grads]


def _clipped(grads: list[list[float]], scale: float) -> list[list[float]]:
    return [[_plain(scale * v) for v in g] for g in grads]


def _clip_answers(grads: list[list[float]], max_norm: float, norms: list[float], total: float) -> dict[str, Any]:
    """The answers that follow from per-tensor norms and a total norm, as solve() and the mistakes take them."""
    scale = min(1.0, max_norm / total)
    return {"norms": [_plain(n) for n in norms], "total_norm": _plain(total), "scale": _plain(scale),
            "clipped": _clipped(grads, scale)}


def _per_tensor(p: Mapping[str, Any]) -> dict[str, Any]:
    """Each tensor clipped by its own norm: g_i min(1, max_norm / ||g_i||)."""
    grads = p["grads"]
    return {"clipped": [[_plain(v * min(1.0, p["max_norm"] / float(np.linalg.norm(g)))) for v in g] for g in grads]}


def _sum_of_norms(p: Mapping[str, Any]) -> dict[str, Any]:
    """The total norm as the sum of the tensor norms (not the root of the sum of their squares)."""
    norms = [float(np.linalg.norm(g)) for g in p["grads"]]
    wrong = _clip_answers(p["grads"], p["max_norm"], norms, math.fsum(norms))
    return {"total_norm": wrong["total_norm"], "scale": wrong["scale"], "clipped": wrong["clipped"]}


def _no_root(p: Mapping[str, Any]) -> dict[str, Any]:
    """Squared norms for norms: the square roots left out."""
    squares = [float(s) for s in _squares(p["grads"])]
    return _clip_answers(p["grads"], p["max_norm"], squares, math.fsum(squares))


def _l1(p: Mapping[str, Any]) -> dict[str, Any]:
    """The L1 norm (the sum of absolute values) for the L2 norm."""
    norms = [math.fsum(abs(v) for v in g) for g in p["grads"]]
    return _clip_answers(p["grads"], p["max_norm"], norms, math.fsum(norms))


def _inverted(p: Mapping[str, Any]) -> dict[str, Any]:
    """The scale inverted: total_norm / max_norm."""
    total = float(np.linalg.norm(np.concatenate([np.array(g, dtype=float) for g in p["grads"]])))
    scale = total / p["max_norm"]
    return {"scale": _plain(scale), "clipped": _clipped(p["grads"], scale)}


def _to_max_norm(p: Mapping[str, Any]) -> dict[str, Any]:
    """Every tensor rescaled to length max_norm: g_i max_norm / ||g_i||."""
    return {"clipped": [[_plain(v * p["max_norm"] / float(np.linalg.norm(g))) for v in g] for g in p["grads"]]}


@register
class GradClip(Family):
    id = "grad-clip"
    title = "Clipping gradients by their global norm"
    topic = "optimization"
    difficulty = 1
    answers = {
        "norms": Answer("vector", "the L2 norm of each tensor's gradient", precision=CLIP, symbol=r"\lVert g_i \rVert",
                        label="||g_i||", index=("tensor {}",)),
        "total_norm": Answer("number", "the global L2 norm over all entries of all tensors", precision=CLIP,
                             symbol=r"\lVert g \rVert", label="total norm"),
        "scale": Answer("number", "the clipping factor min(1, max_norm / total_norm)", precision=CLIP, symbol="s",
                        label="scale"),
        "clipped": Answer("matrix", "each tensor's gradient after clipping, scale * g_i", precision=CLIP,
                          symbol=r"\tilde g_i", label="clipped g_i", index=("tensor {}", "entry {}")),
    }
    mistakes = {
        "each tensor clipped by its own norm": _per_tensor,
        "the total norm as the sum of the tensor norms": _sum_of_norms,
        "squared norms (no square root)": _no_root,
        "the L1 norm for the L2 norm": _l1,
        "the scale inverted (total_norm / max_norm)": _inverted,
        "every tensor rescaled to length max_norm": _to_max_norm,
    }
    structure = ("grads",)  # the number of tensors and of entries in each
    asks = ("tensor-gradient-norms", "global-gradient-norm", "gradient-clipping")
    reveals = ()

    def sample(self, rng):
        count = integer(rng, 2, 3)
        sizes = [integer(rng, 2, 3) for _ in range(count)]
        grads = [[decimal(rng, -3, 3, 0.1, nonzero=True) for _ in range(n)] for n in sizes]
        total = math.sqrt(float(sum(_squares(grads))))
        below = [m for m in MAX_NORMS if m <= 0.85 * total]
        max_norm = choice(rng, below) if below else MAX_NORMS[0]
        return {"grads": grads, "max_norm": max_norm}

    def validate(self, params):
        require_keys(params, CLIP_FIELDS)
        grads = params["grads"]
        expected = "a list of 2 or 3 gradient vectors (one per parameter tensor)"
        if not isinstance(grads, (list, tuple)) or not 2 <= len(grads) <= 3:
            raise ParamError("grads", expected, grads)
        grads = [as_decimal_list(g, f"grads[{i}]", (1, 4), -10, 10, 2) for i, g in enumerate(grads)]
        max_norm = as_decimal(params["max_norm"], "max_norm", 0.01, 100, 2, nonzero=True)
        return {"grads": grads, "max_norm": max_norm}

    def degenerate(self, params):
        grads = params["grads"]
        for i, g in enumerate(grads):
            for j, v in enumerate(g):
                if v == 0:
                    return f"grads[{i}][{j}] is 0: its clipped value is 0 whatever the scale"
        total_sq = sum(_squares(grads))
        if Fraction(str(params["max_norm"])) ** 2 >= total_sq:
            return (f"max_norm {params['max_norm']} is at least the total norm {math.sqrt(float(total_sq)):.4f}: nothing "
                    "is clipped (scale 1), so the last parts ask for nothing")
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        grads = [np.array(g, dtype=float) for g in params["grads"]]
        norms = [float(np.linalg.norm(g)) for g in grads]
        total = float(np.sqrt(np.sum(np.square(norms))))
        return _clip_answers(params["grads"], params["max_norm"], norms, total)

    def check(self, params, answers):
        """Another route: each norm and the total by math.hypot over the entries (the total over all of them
        flattened, not through the tensor norms), the scale as an exact-fraction comparison, and the clipped
        gradient checked to have global norm max_norm and every entry in the ratio scale to its own."""
        grads = [[float(v) for v in g] for g in params["grads"]]
        close_all(answers["norms"], [math.hypot(*g) for g in grads], "norms", 1e-12)
        flat = [v for g in grads for v in g]
        total = math.hypot(*flat)
        close(answers["total_norm"], total, "total_norm", 1e-12)
        max_norm = float(params["max_norm"])
        want = max_norm / total if max_norm * max_norm < math.fsum(v * v for v in flat) else 1.0
        close(answers["scale"], want, "scale", 1e-12)
        clipped = answers["clipped"]
        close_all(clipped, [[want * v for v in g] for g in grads], "clipped", 1e-12)
        close(math.hypot(*[v for g in clipped for v in g]), min(total, max_norm), "the global norm of clipped", 1e-9)

    def structure_of(self, params):
        return {"grads": [len(g) for g in params["grads"]]}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, float, float, float]:
        grads = params["grads"]
        entries = sum(len(g) for g in grads)
        # (a) a square per entry and a root per tensor; (b) the squared norms added and one root;
        # (c) one division and the min; (d) a product per entry
        return (entries * SQUARE_MINUTES + len(grads) * ROOT_MINUTES, 0.1 * len(grads) + ROOT_MINUTES, 0.5,
                entries * PRODUCT_MINUTES)

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        return (Part(("norms",), weights[0]), Part(("total_norm",), weights[1]), Part(("scale",), weights[2]),
                Part(("clipped",), weights[3]))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        squares = _squares(params["grads"])
        return {
            "count": len(params["grads"]),
            "squares": [float(s) for s in squares],
            "total_squares": float(sum(squares)),
        }
