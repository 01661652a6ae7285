"""The course's own families. This one is the worked example of the README ("write your own family in
ten minutes"): softmax probabilities, the cross-entropy loss and its gradient for a few integer logits.

A family is a class with a short card (id, title, topic, answers) and three methods:
  sample(rng)              draws the random choices and returns plain JSON data (the params);
  solve(params)            computes every asked value from the params;
  check(params, answers)   verifies the answers by a second, independent method (assert).
qbank draws, solves and checks each variant; a variant that fails its check is never printed.
Its template is templates/<topic>/<id>.tex.j2 (here templates/softmax/softmax-cross-entropy.tex.j2).
"""

from __future__ import annotations

import math

import numpy as np

from qbank import Answer, Family, Part, register
from qbank.draws import integer, int_vector
from qbank.params import as_int, as_int_list, require_keys
from qbank.precision import decimals


@register
class SoftmaxCrossEntropy(Family):
    id = "softmax-cross-entropy"
    title = "Softmax, cross-entropy and its gradient"
    topic = "softmax"
    difficulty = 2
    answers = {
        # the text says what the answer is (for the keys); the precision is how precisely it is asked:
        # each part states it, the solution prints it, and the key, the site and the LMS grade within
        # half a unit of its last place. symbol (LaTeX) and label (plain text) name it for the student.
        "probs": Answer("vector", "the probabilities, one per class", precision=decimals(4), symbol="p", label="p"),
        "loss": Answer("number", "the loss", precision=decimals(4), symbol="L", label="L"),
        "grad": Answer("vector", "the gradient, one entry per logit", precision=decimals(4),
                       symbol=r"\partial L / \partial z", label="dL/dz"),
    }
    structure = ("logits",)  # every version of an exam slot has the same number of classes
    asks = ("softmax-cross-entropy-gradient",)

    def parts(self, params):
        # (a) the probabilities, (b) the loss, (c) the gradient; the weights split the points 2 : 1 : 2
        return (Part(("probs",), 2), Part(("loss",), 1), Part(("grad",), 2))

    def minutes(self, params):
        return 2 + len(params["logits"])  # reading, then about a minute per class by calculator

    def sample(self, rng):
        classes = integer(rng, 3, 4)
        return {"logits": int_vector(rng, classes, -2, 3), "label": integer(rng, 0, classes - 1)}

    def validate(self, params):
        require_keys(params, ("logits", "label"))
        logits = as_int_list(params["logits"], "logits", (2, 6), -9, 9)
        label = as_int(params["label"], "label", 0, len(logits) - 1)
        return {"logits": logits, "label": label}

    def degenerate(self, params):
        if len(set(params["logits"])) == 1:
            return "all logits are equal, so every probability is 1/K and nothing needs computing"
        return None

    def solve(self, params):
        z = np.array(params["logits"], dtype=float)
        e = np.exp(z - z.max())  # shifted by the largest logit: the same softmax, no overflow
        p = e / e.sum()
        y = params["label"]
        onehot = np.zeros_like(p)
        onehot[y] = 1.0
        return {"probs": p.tolist(), "loss": float(-math.log(p[y])), "grad": (p - onehot).tolist()}

    def check(self, params, answers):
        """The loss from the log-sum-exp formula, the gradient by central finite differences of it."""
        z, y = params["logits"], params["label"]

        def loss(logits):
            top = max(logits)
            return top + math.log(math.fsum(math.exp(v - top) for v in logits)) - logits[y]

        assert abs(answers["loss"] - loss(z)) < 1e-9, f"loss {answers['loss']} != log-sum-exp {loss(z)}"
        assert abs(math.fsum(answers["probs"]) - 1) < 1e-12, "the probabilities do not sum to 1"
        assert abs(-math.log(answers["probs"][y]) - answers["loss"]) < 1e-9, "loss != -log p_y"
        h = 1e-5
        for i in range(len(z)):
            up = [v + (h if j == i else 0) for j, v in enumerate(z)]
            down = [v - (h if j == i else 0) for j, v in enumerate(z)]
            numeric = (loss(up) - loss(down)) / (2 * h)
            assert abs(numeric - answers["grad"][i]) < 1e-6, f"grad[{i}] {answers['grad'][i]} != {numeric}"

    def context(self, params, answers):
        # display data for the template: the shifted exponentials and their sum, as the solution shows them
        z = params["logits"]
        top = max(z)
        exps = [math.exp(v - top) for v in z]
        return {"top": top, "exps": exps, "total": math.fsum(exps)}

