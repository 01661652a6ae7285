"""The course's own families. This one is the worked example of the README ("write your own family in
ten minutes"): one sigmoid neuron, its output, its cross-entropy loss and the gradient of that loss with
respect to the neuron's weights and bias.

A family is a class with a short card (id, title, topic, answers) and three methods:
  sample(rng)              draws the random choices and returns plain JSON data (the params);
  solve(params)            computes every asked value from the params;
  check(params, answers)   verifies the answers by a second, independent method (assert).
qbank draws, solves and checks each variant; a variant that fails its check is never printed.
Its template is templates/<topic>/<id>.tex.j2 (here templates/neuron/sigmoid-neuron.tex.j2).
"""

from __future__ import annotations

import math

from qbank import Answer, Family, Part, register
from qbank.draws import decimal, integer
from qbank.grading import scoring_mistake
from qbank.params import as_choice, as_decimal, as_decimal_list, require_keys
from qbank.precision import decimals, exact


def forward(params):
    """z = w . x + b, a = sigmoid(z) and the loss L = -y ln a - (1 - y) ln(1 - a)."""
    z = round(sum(w * x for w, x in zip(params["w"], params["x"])) + params["b"], 6)  # a short decimal, exactly
    a = 1 / (1 + math.exp(-z))
    y = params["y"]
    return z, a, -y * math.log(a) - (1 - y) * math.log(1 - a)


@register
class SigmoidNeuron(Family):
    id = "sigmoid-neuron"
    title = "One sigmoid neuron: output, cross-entropy loss and gradient"
    topic = "neuron"
    difficulty = 1
    answers = {
        # the text says what the answer is (for the keys); the precision is how precisely it is asked:
        # each part states it, the solution prints it, and the key, the site and the LMS grade within
        # half a unit of its last place. symbol (LaTeX) and label (plain text) name it for the student.
        "z": Answer("number", "the pre-activation z = w . x + b", precision=exact(), symbol="z", label="z"),
        "a": Answer("number", "the output a = sigmoid(z)", precision=decimals(4), symbol="a", label="a"),
        "loss": Answer("number", "the cross-entropy loss", precision=decimals(4), symbol="L", label="L"),
        "grad_w": Answer("vector", "dL/dw, one entry per weight", precision=decimals(4),
                         symbol=r"\partial L / \partial w", label="dL/dw"),
        "grad_b": Answer("number", "dL/db", precision=decimals(4), symbol=r"\partial L / \partial b", label="dL/db"),
    }
    # Slips students make, as the answers they lead to; `degenerate` refuses a draw on which one of them
    # would be graded correct (None: an entry the slip leaves right whatever the numbers, here where x_i = 1).
    mistakes = {
        "log10 for ln in the loss": lambda p: {"loss": forward(p)[2] / math.log(10)},
        "dL/dz = y - a (the sign flipped)": lambda p: {
            "grad_w": [(p["y"] - forward(p)[1]) * x for x in p["x"]], "grad_b": p["y"] - forward(p)[1]},
        "the input left out of dL/dw": lambda p: {
            "grad_w": [None if x == 1 else forward(p)[1] - p["y"] for x in p["x"]]},
    }
    structure = ("x",)  # every version of an exam slot has the same number of inputs
    asks = ("sigmoid-neuron-output", "bce-sigmoid-logit-gradient")

    def parts(self, params):
        # (a) z and a, (b) the loss, (c) the gradient; the weights split the points 2 : 1 : 2
        return (Part(("z", "a"), 2), Part(("loss",), 1), Part(("grad_w", "grad_b"), 2))

    def minutes(self, params):
        return 3 + len(params["x"]) / 2  # reading and the three steps, then half a minute per input

    def sample(self, rng):
        n = integer(rng, 2, 3)
        return {
            "x": [integer(rng, -3, 3, nonzero=True) for _ in range(n)],
            "w": [decimal(rng, -1, 1, 0.1, nonzero=True) for _ in range(n)],
            "b": decimal(rng, -1, 1, 0.1),
            "y": integer(rng, 0, 1),
        }

    def validate(self, params):
        require_keys(params, ("x", "w", "b", "y"))
        x = as_decimal_list(params["x"], "x", (1, 5), -10, 10, 1)
        w = as_decimal_list(params["w"], "w", (len(x), len(x)), -10, 10, 1)  # one weight per input
        return {"x": x, "w": w, "b": as_decimal(params["b"], "b", -10, 10, 1), "y": as_choice(params["y"], "y", (0, 1))}

    def degenerate(self, params):
        z = forward(params)[0]
        if z == 0:
            return "z = 0: the output is exactly 1/2"
        if abs(z) > 4:
            return f"z = {z:g}: the output is too close to 0 or 1"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        z, a, loss = forward(params)
        delta = a - params["y"]  # dL/dz: the sigmoid's slope cancels against the loss's
        return {"z": z, "a": a, "loss": loss, "grad_w": [delta * x for x in params["x"]], "grad_b": delta}

    def check(self, params, answers):
        """The loss as softplus(z) - y z (another formula for the same value), the gradient by central
        finite differences of it."""
        def loss(w, b):
            z = sum(wi * xi for wi, xi in zip(w, params["x"])) + b
            return max(z, 0) + math.log1p(math.exp(-abs(z))) - params["y"] * z

        w, b = list(params["w"]), params["b"]
        assert abs(answers["loss"] - loss(w, b)) < 1e-9, f"loss {answers['loss']} != softplus form {loss(w, b)}"
        assert abs(answers["a"] - 1 / (1 + math.exp(-answers["z"]))) < 1e-12, "a != sigmoid(z)"
        h = 1e-6
        for i in range(len(w)):
            up, down = w[:i] + [w[i] + h] + w[i + 1:], w[:i] + [w[i] - h] + w[i + 1:]
            numeric = (loss(up, b) - loss(down, b)) / (2 * h)
            assert abs(numeric - answers["grad_w"][i]) < 1e-6, f"grad_w[{i}] {answers['grad_w'][i]} != {numeric}"
        numeric = (loss(w, b + h) - loss(w, b - h)) / (2 * h)
        assert abs(numeric - answers["grad_b"]) < 1e-6, f"grad_b {answers['grad_b']} != {numeric}"

    def context(self, params, answers):
        # display data for the template: the error a - y, as the solution shows it
        return {"delta": answers["a"] - params["y"]}
