"""Loss families: the softmax of a classifier's logits, the cross-entropy loss and its gradient.

Conventions (issue 18's JSON contract): `logits` holds K = 3..5 numbers, `label` the 0-based index of the
true class; the text numbers classes from 1. Natural logarithm; `grad` = probs - one_hot(label).

Precision: probabilities, loss and gradient to 4 decimal places (all lie between about 0.002 and 7). The
problem asks to carry unrounded values from one step to the next, so no answer needs an allowance.

Fair exams: the number of classes K is the structure; every draw of one K takes the same steps (K
exponentials, one sum, K divisions, one logarithm, K subtractions). Each mistake on `mistakes` is one a
student makes here; `degenerate` refuses a draw on which one of them scores (`scoring_mistake`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from qbank.draws import decimal, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_decimal_list, as_int, require_keys
from qbank.precision import decimals

FIELDS = ("logits", "label")
PROBABILITY = decimals(4)
WORK = decimals(5)  # the shifted exponentials and their sum on the way: a digit more than the answers
CALL_MINUTES = 0.5  # one exp or log on a calculator, written down
DIVIDE_MINUTES = 0.25  # one division by the sum, written down
READ_MINUTES = 1.0


def _softmax(logits: list[float]) -> np.ndarray:
    """The probabilities as solve() computes them: NumPy, shifted by the largest logit."""
    z = np.array(logits, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()


def _loss(params: Mapping[str, Any]) -> float:
    return float(-math.log(_softmax(params["logits"])[params["label"]]))


def _one_hot(params: Mapping[str, Any]) -> np.ndarray:
    out = np.zeros(len(params["logits"]))
    out[params["label"]] = 1.0
    return out


def _only_label_entry(params: Mapping[str, Any]) -> dict[str, Any]:
    """The gradient as p_c - 1 at the true class and 0 for the others (they take part in the sum too)."""
    return {"grad": [None if i == params["label"] else 0.0 for i in range(len(params["logits"]))]}


def _stopped_at_probabilities(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dp given for dL/dz: -1/p_c at the true class, 0 elsewhere (the softmax left out of the chain)."""
    p = _softmax(params["logits"])
    y = params["label"]
    return {"grad": [float(-1 / p[y]) if i == y else 0.0 for i in range(len(p))]}


@register
class SoftmaxCrossEntropy(Family):
    id = "softmax-cross-entropy"
    title = "Softmax probabilities, the cross-entropy loss and its gradient with respect to the logits"
    topic = "losses"
    difficulty = 2
    answers = {
        "probs": Answer("vector", "the softmax probabilities p_i = e^{z_i} / sum_j e^{z_j}, one per class",
                        precision=PROBABILITY, symbol="p", label="p", index=("class {}",)),
        "loss": Answer("number", "the cross-entropy loss L = -ln p_c of the true class c", precision=decimals(4),
                       symbol="L", label="L"),
        "grad": Answer("vector", "dL/dz = p - one_hot(c), one entry per logit", precision=decimals(4),
                       symbol=r"\partial L/\partial z", label="dL/dz", index=("class {}",)),
    }
    # Mistakes students make here, as the answers they give (None: an entry the slip leaves right by its
    # nature). The loss's base and the gradient's sign, one-hot part and chain through the softmax.
    mistakes = {
        "log10 for ln in the loss": lambda p: {"loss": _loss(p) / math.log(10)},
        "log2 for ln in the loss": lambda p: {"loss": _loss(p) / math.log(2)},
        "the exponentials not divided by their sum": lambda p: {
            "probs": np.exp(np.array(p["logits"], dtype=float) - max(p["logits"])).tolist()},
        "the gradient's sign flipped (one_hot - p)": lambda p: {
            "grad": (_one_hot(p) - _softmax(p["logits"])).tolist()},
        "the gradient as p_c - 1 at the true class and 0 elsewhere": _only_label_entry,
        "dL/dp for dL/dz (the softmax left out of the chain rule)": _stopped_at_probabilities,
    }
    structure = ("logits",)  # the number of classes K
    asks = ("softmax-probabilities", "cross-entropy-loss", "softmax-cross-entropy-gradient")
    reveals = ()

    def sample(self, rng):
        k = integer(rng, 3, 5)
        logits = [decimal(rng, -2, 3, 0.1) for _ in range(k)]
        return {"logits": logits, "label": integer(rng, 0, k - 1)}

    def validate(self, params):
        require_keys(params, FIELDS)
        logits = as_decimal_list(params["logits"], "logits", (2, 6), -10, 10, 2)
        label = params["label"]
        if isinstance(label, (int, float)) and not isinstance(label, bool) and label == len(logits):
            raise ParamError("label", f"a 0-based class index from 0 to {len(logits) - 1} (class {len(logits)} of the "
                             f"text is label {len(logits) - 1})", label)
        return {"logits": logits, "label": as_int(label, "label", 0, len(logits) - 1)}

    def degenerate(self, params):
        logits = params["logits"]
        if len(set(logits)) == 1:
            return "all logits are equal: every probability is 1/K, with nothing to compute"
        if max(logits) - min(logits) > 8:
            return f"the logits span {max(logits) - min(logits):g}: the smallest probabilities vanish at 4 decimal places"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        p = _softmax(params["logits"])
        y = params["label"]
        return {
            "probs": [float(v) for v in p],
            "loss": float(-math.log(p[y])),
            "grad": [float(v) + 0.0 for v in p - _one_hot(params)],
        }

    def check(self, params, answers):
        """Another route: the loss by log-sum-exp with math.fsum, the probabilities as exp(z_i - lse), the
        gradient by central finite differences of that loss."""
        z, y = [float(v) for v in params["logits"]], params["label"]

        def lse(values: list[float]) -> float:
            top = max(values)
            return top + math.log(math.fsum(math.exp(v - top) for v in values))

        def loss(values: list[float]) -> float:
            return lse(values) - values[y]

        k = len(z)
        for name in ("probs", "grad"):
            got = answers[name]
            assert isinstance(got, list) and len(got) == k, f"{name}: expected {k} entries, got {got!r}"
        total = lse(z)
        for i in range(k):
            want = math.exp(z[i] - total)
            assert abs(answers["probs"][i] - want) <= 1e-12, f"probs[{i}] = {answers['probs'][i]}, log-sum-exp gives {want}"
        assert abs(answers["loss"] - loss(z)) <= 1e-12 * max(1.0, loss(z)), (
            f"loss = {answers['loss']}, log-sum-exp gives {loss(z)}")
        step = 1e-5
        for i in range(k):
            up = [v + (step if j == i else 0.0) for j, v in enumerate(z)]
            down = [v - (step if j == i else 0.0) for j, v in enumerate(z)]
            numeric = (loss(up) - loss(down)) / (2 * step)
            assert abs(answers["grad"][i] - numeric) <= 1e-7, f"grad[{i}] = {answers['grad'][i]}, finite differences give {numeric}"
        assert abs(math.fsum(answers["grad"])) <= 1e-12, "the gradient's entries do not sum to 0"

    def structure_of(self, params):
        return {"logits": [len(params["logits"])]}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, float, float]:
        k = len(params["logits"])
        # (a) the largest logit and the shift, K exponentials, their sum, K divisions; (b) one logarithm;
        # (c) the chain rule through the softmax (1.5 min) and K subtractions
        return (0.25 + k * (CALL_MINUTES + DIVIDE_MINUTES), CALL_MINUTES, 1.5 + 0.1 * k)

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        return (Part(("probs",), weights[0]), Part(("loss",), weights[1]), Part(("grad",), weights[2]))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        z = params["logits"]
        top = max(z)
        shifted = [round(v - top, 2) + 0.0 for v in z]
        exps = [math.exp(v) for v in shifted]
        total = math.fsum(exps)
        y = params["label"]
        return {
            "k": len(z),
            "c": y + 1,
            "top": top,
            "shifted": shifted,
            "exps": exps,
            "total": total,
            "log_total": math.log(total),
            "work": WORK,
        }
