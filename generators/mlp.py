"""Backpropagation through a plain MLP: one hidden layer with a ReLU, tanh or sigmoid activation, a linear
output layer, and a mean squared error or softmax cross-entropy loss. No skip connection (that is
mlp-skip-bce-backprop, in backprop.py).

    z1 = W1 x + b1,   h = act(z1),   y_hat = W2 h + b2,
    mse: L = 1/2 sum_k (y_hat_k - target_k)^2          (target: K numbers)
    ce:  L = -log p_c,  p = softmax(y_hat)              (target: the 0-based index c of the correct class)

Sizes: x has D entries, the hidden layer H units, the output K entries. The text numbers classes from 1.

Fair exams: the structure is the three sizes, the activation, the loss and, for the ReLU, how many hidden
units are active (an inactive unit zeroes a row of dL/dW1 and drops out of dL/dx). The working time counts the
multiply-adds written out and the calculator calls (exp, log, tanh): tanh and the sigmoid take the same time,
the ReLU less; the cross-entropy takes longer than the squared error (its exponentials and log).

Conflicts: this family and mlp-skip-bce-backprop both ask for a forward pass and the weight gradients of a
one-hidden-layer MLP (tags mlp-forward-pass, mlp-backprop-weight-gradients), so no exam version holds both; with
the cross-entropy it also asks the softmax cross-entropy gradient on the logits, as softmax-cross-entropy does.

Precision: forward values to 4 decimal places (they are of order 1); gradients, whose size varies from about
1e-3 to 3, to 3 significant digits.

Pinning: `target` is a list for mse and a class index for ce. A pinned loss with a drawn target of the other
kind (or a drawn output size the loss cannot take) is drawn again; pinned in full, the mismatch is an error
naming `target` (see `degenerate`).
"""

from __future__ import annotations

import copy
import math
from fractions import Fraction
from typing import Any, Callable, Mapping

import numpy as np

from qbank.draws import choice, decimal, integer
from qbank.checks import central_difference, close, close_all
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_choice, as_decimal_list, as_decimal_matrix, as_int, require_keys
from qbank.precision import decimals, sig

FIELDS = ("x", "W1", "b1", "W2", "b2", "activation", "loss", "target")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
LOSSES = ("mse", "ce")
OUTPUTS = {"mse": (1, 2), "ce": (2, 3)}  # K drawn per loss
MAX_SIZE = 4  # entries of x, hidden units or outputs of a pinned network
DECIMALS = 2
RELU_GAP = 0.05  # a ReLU input this close to 0 sits at the kink; a tanh unit's output this close is nearly 0
SATURATED = {"tanh": 2.0, "sigmoid": 3.0}  # |z1| beyond this flattens the unit (slope below 0.07 or 0.05)
MIN_PROB = 0.02  # a class probability below this makes a loss term of over 4 nats
ON_TARGET = 0.05  # an mse output this close to its target passes almost no gradient
CANCEL_RATIO = 0.1  # an entry of dL/dh or dL/dx below a tenth of its terms' sizes loses digits to cancellation
OP_MINUTES = 0.25  # one multiply-add written out (15 s)
CALL_MINUTES = 0.5  # one exp, log or tanh on a calculator, written out (30 s)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _vec(values) -> list[float]:
    return [float(v) + 0.0 for v in values]  # + 0.0 turns -0.0 into 0.0


def _mat(values) -> list[list[float]]:
    return [_vec(row) for row in values]


# --- the network, with numpy (solve) ----------------------------------------------------------------------


def _z1(params: Mapping[str, Any]) -> np.ndarray:
    """W1 x + b1, exactly (the params are short decimals: a 0 comes out as 0, not as 1e-16)."""
    x = [Fraction(str(v)) for v in params["x"]]
    return np.array([float(sum((Fraction(str(w)) * xi for w, xi in zip(row, x)), Fraction(str(b))))
                     for row, b in zip(params["W1"], params["b1"])])


def _forward(params: Mapping[str, Any]) -> dict[str, Any]:
    x = np.array(params["x"], dtype=float)
    w1, w2 = np.array(params["W1"], dtype=float), np.array(params["W2"], dtype=float)
    z1 = _z1(params)
    act = params["activation"]
    h = np.maximum(z1, 0) if act == "relu" else np.tanh(z1) if act == "tanh" else _sigmoid(z1)
    y_hat = w2 @ h + np.array(params["b2"], dtype=float)
    out = {"x": x, "W1": w1, "W2": w2, "z1": z1, "h": h, "y_hat": y_hat}
    if params["loss"] == "mse":
        err = y_hat - np.array(params["target"], dtype=float)
        out.update(err=err, loss=float(0.5 * np.sum(err**2)))
    else:
        shifted = np.exp(y_hat - y_hat.max())  # the softmax, shifted by the largest logit
        p = shifted / shifted.sum()
        out.update(p=p, loss=float(-np.log(p[params["target"]])))
    return out


def _local(fwd: Mapping[str, Any], activation: str) -> np.ndarray:
    """act'(z1), entry by entry."""
    if activation == "relu":
        return (fwd["z1"] > 0).astype(float)
    if activation == "tanh":
        return 1 - fwd["h"] ** 2
    return fwd["h"] * (1 - fwd["h"])


def _delta2(params: Mapping[str, Any], fwd: Mapping[str, Any]) -> np.ndarray:
    """dL/dy_hat: y_hat - target (mse), p - one_hot(target) (ce)."""
    if params["loss"] == "mse":
        return fwd["err"]
    one_hot = np.zeros(len(fwd["y_hat"]))
    one_hot[params["target"]] = 1
    return fwd["p"] - one_hot


def _backward(params: Mapping[str, Any], delta2: Callable | None = None, local: Callable | None = None,
              w2_transposed: bool = True, w1_transposed: bool = True, dw2_input: str = "h") -> dict[str, Any]:
    """The backward pass; the options make the mistakes a student makes: another dL/dy_hat or act'(z1) (functions
    of the forward pass), W2 or W1 not transposed, dL/dW2 from z1 instead of h."""
    fwd = _forward(params)
    d2 = _delta2(params, fwd) if delta2 is None else delta2(fwd)
    w1, w2 = fwd["W1"], fwd["W2"]
    dh = (w2.T if w2_transposed else w2) @ d2
    loc = _local(fwd, params["activation"]) if local is None else local(fwd)
    delta1 = dh * loc
    return {
        "fwd": fwd,
        "delta2": d2,
        "dh": dh,
        "local": loc,
        "delta1": delta1,
        "dW2": np.outer(d2, fwd[dw2_input]),
        "db2": d2,
        "dW1": np.outer(delta1, fwd["x"]),
        "db1": delta1,
        "dx": (w1.T if w1_transposed else w1) @ delta1,
    }


def _active(params: Mapping[str, Any]) -> np.ndarray:
    """Which hidden units pass a gradient: all of them for tanh and the sigmoid, those with z1 > 0 for the ReLU
    (from z1 alone: the structure of a draw whose target does not fit its loss is read before it is refused)."""
    z1 = _z1(params)
    return z1 > 0 if params["activation"] == "relu" else np.ones(len(z1), dtype=bool)


def _active_units(params: Mapping[str, Any]) -> int:
    return int(np.sum(_active(params)))


# --- mistakes a draw must tell from the right answer ----------------------------------------------------


def _gradients(back: Mapping[str, Any], units: np.ndarray, outputs: np.ndarray | None = None,
               names: tuple[str, ...] = ("dW2", "db2", "dW1", "db1", "dx")) -> dict[str, Any]:
    """The gradients of a mistaken backward pass, None for what it leaves alone by its nature: the hidden units
    not in `units` (rows of dL/dW1 and entries of dL/db1), the outputs not in `outputs` (rows of dL/dW2 and
    entries of dL/db2), and a column of dL/dW2 for a hidden unit whose h is 0 (an inactive ReLU)."""
    h = back["fwd"]["h"]
    outputs = np.ones(len(back["db2"]), dtype=bool) if outputs is None else outputs
    out = {
        "dW2": [[float(v) + 0.0 if outputs[k] and h[u] != 0 else None for u, v in enumerate(row)]
                for k, row in enumerate(back["dW2"])],
        "db2": [float(v) + 0.0 if outputs[k] else None for k, v in enumerate(back["db2"])],
        "dW1": [[float(v) + 0.0 if units[u] else None for v in row] for u, row in enumerate(back["dW1"])],
        "db1": [float(v) + 0.0 if units[u] else None for u, v in enumerate(back["db1"])],
        "dx": _vec(back["dx"]) if units.any() else None,
    }
    return {name: out[name] for name in names}


def _delta2_mistake(params: Mapping[str, Any], delta2: Callable, outputs: Callable | None = None) -> dict[str, Any]:
    """A wrong dL/dy_hat: every gradient it reaches (None for the units that pass no gradient and, with
    `outputs`, for the outputs where it agrees with the right one by its nature)."""
    back = _backward(params, delta2=delta2)
    return _gradients(back, _active(params), None if outputs is None else outputs(back["fwd"]))


def _local_mistake(params: Mapping[str, Any], local: Callable) -> dict[str, Any]:
    """A wrong act'(z1): the hidden-layer gradients it changes (None for the units where it agrees by nature)."""
    right = _backward(params)["local"]
    back = _backward(params, local=local)
    changed = np.abs(back["local"] - right) > 0
    return _gradients(back, changed, names=("dW1", "db1", "dx"))


def _one_hot(params: Mapping[str, Any], fwd: Mapping[str, Any]) -> np.ndarray:
    one_hot = np.zeros(len(fwd["y_hat"]))
    one_hot[params["target"]] = 1
    return one_hot


def _by_loss(loss: str, mistake: Callable) -> Callable:
    return lambda p: mistake(p) if p["loss"] == loss else {}


def _by_activation(activation: str, local: Callable) -> Callable:
    return lambda p: _local_mistake(p, local) if p["activation"] == activation else {}


def _square(p: Mapping[str, Any], a: str, b: str) -> bool:
    """Whether two sizes agree (then a matrix left untransposed has the right shape, and the slip can hide)."""
    sizes = {"D": len(p["x"]), "H": len(p["W1"]), "K": len(p["W2"])}
    return sizes[a] == sizes[b]


def _w1_untransposed(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dx = W1 delta1 for W1^T delta1 (H = D only): entry c agrees by its nature when unit c is the only active one."""
    back = _backward(params, w1_transposed=False)
    active = [u for u, on in enumerate(_active(params)) if on]
    return {"dx": [None if active == [c] else float(v) + 0.0 for c, v in enumerate(back["dx"])]}


def _dw1_transposed(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dW1 as x delta1^T (H = D only): the diagonal is right by its nature."""
    back = _backward(params)
    x, delta1 = back["fwd"]["x"], back["delta1"]
    n = len(x)
    return {"dW1": [[None if r == c else float(x[r] * delta1[c]) + 0.0 for c in range(n)] for r in range(n)]}


def _dw2_from_z1(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dW2 = delta2 z1^T: right by its nature in the columns of active ReLU units (h = z1 there)."""
    back = _backward(params, dw2_input="z1")
    same = back["fwd"]["h"] == back["fwd"]["z1"]
    return {"dW2": [[None if same[u] else float(v) + 0.0 for u, v in enumerate(row)] for row in back["dW2"]]}


@register
class MlpBackprop(Family):
    id = "mlp-backprop"
    title = "Backpropagation through a one-hidden-layer MLP (ReLU, tanh or sigmoid; squared error or cross-entropy)"
    topic = "backprop"
    difficulty = 3
    answers = {
        "z1": Answer("vector", "the hidden pre-activation W1 x + b1", precision=decimals(4), symbol="z_1", label="z1",
                     index=("unit {}",)),
        "h": Answer("vector", "the hidden activation act(z1)", precision=decimals(4), symbol="h", label="h",
                    index=("unit {}",)),
        "y_hat": Answer("vector", "the output W2 h + b2 (the logits for the cross-entropy)", precision=decimals(4),
                        symbol=r"\hat y", label="y-hat", index=("output {}",)),
        "loss": Answer("number", "the loss L", precision=decimals(4), symbol="L", label="L"),
        "dW2": Answer("matrix", "dL/dW2, the shape of W2", precision=sig(3), symbol=r"\partial L/\partial W_2",
                      label="dL/dW2"),
        "db2": Answer("vector", "dL/db2", precision=sig(3), symbol=r"\partial L/\partial b_2", label="dL/db2",
                      index=("output {}",)),
        "dW1": Answer("matrix", "dL/dW1, the shape of W1", precision=sig(3), symbol=r"\partial L/\partial W_1",
                      label="dL/dW1"),
        "db1": Answer("vector", "dL/db1", precision=sig(3), symbol=r"\partial L/\partial b_1", label="dL/db1",
                      index=("unit {}",)),
        "dx": Answer("vector", "dL/dx", precision=sig(3), symbol=r"\partial L/\partial x", label="dL/dx",
                     index=("input {}",)),
    }
    # The mistakes a draw must tell from the right answer (see scoring_mistake), each giving the answers it leads
    # to (None where it changes nothing by its nature); a mistake that needs a square matrix (W1 for W1^T) only
    # where the sizes let it pass unseen.
    mistakes = {
        "log10 for ln in the loss": _by_loss("ce", lambda p: {"loss": _forward(p)["loss"] / math.log(10)}),
        "the 1/2 left out of the squared error": _by_loss("mse", lambda p: {"loss": 2 * _forward(p)["loss"]}),
        "dL/dy_hat = 2 (y_hat - target) (the 1/2 of the loss forgotten)": _by_loss("mse", lambda p: _delta2_mistake(
            p, lambda f: 2 * f["err"])),
        "dL/dy_hat = target - y_hat (the sign flipped)": _by_loss("mse", lambda p: _delta2_mistake(
            p, lambda f: -f["err"])),
        "dL/dy_hat = one_hot - p (the sign flipped)": _by_loss("ce", lambda p: _delta2_mistake(
            p, lambda f: _one_hot(p, f) - f["p"])),
        "dL/dy_hat = p (the one-hot left out)": _by_loss("ce", lambda p: _delta2_mistake(
            p, lambda f: f["p"], outputs=lambda f: _one_hot(p, f) == 1)),
        "dL/dy_hat = -1/p_c at the correct class only (the softmax left out)": _by_loss("ce", lambda p: _delta2_mistake(
            p, lambda f: -_one_hot(p, f) / f["p"][p["target"]])),
        "dL/dW2 = delta2 z1^T (the pre-activation for h)": _dw2_from_z1,
        "ReLU' left out (every unit passes the gradient)": _by_activation("relu", lambda f: np.ones_like(f["z1"])),
        "tanh' left out": _by_activation("tanh", lambda f: np.ones_like(f["z1"])),
        "tanh'(z1) = 1 - z1^2 (z1 for tanh z1)": _by_activation("tanh", lambda f: 1 - f["z1"] ** 2),
        "sigma' left out": _by_activation("sigmoid", lambda f: np.ones_like(f["z1"])),
        "sigma'(z1) = h (h for h (1 - h))": _by_activation("sigmoid", lambda f: f["h"]),
        "sigma'(z1) = z1 (1 - z1) (z1 for h)": _by_activation("sigmoid", lambda f: f["z1"] * (1 - f["z1"])),
        "dL/dh = W2 delta2 (W2 for W2^T)": lambda p: (
            _gradients(_backward(p, w2_transposed=False), _active(p), names=("dW1", "db1", "dx"))
            if _square(p, "K", "H") else {}),
        "dL/dW1 = x delta1^T (transposed)": lambda p: _dw1_transposed(p) if _square(p, "H", "D") else {},
        "dL/dx = W1 delta1 (W1 for W1^T)": lambda p: _w1_untransposed(p) if _square(p, "H", "D") else {},
    }
    structure = ("x", "W1", "W2", "activation", "loss")
    asks = ("mlp-forward-pass", "mlp-backprop-weight-gradients", "mlp-input-gradient")
    reveals = ()

    def asks_of(self, params):
        output = "softmax-cross-entropy-gradient" if params["loss"] == "ce" else "squared-error-gradient"
        return (*self.asks, output)

    def structure_of(self, params):
        return {**super().structure_of(params), "active_units": _active_units(params)}

    # --- the card: parts and working time ----------------------------------------------------------------

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, ...]:
        """Working time by hand of each part, from the multiply-adds and calculator calls it writes out: D
        inputs, H hidden units (a of them active), K outputs."""
        d, hid, k = len(params["x"]), len(params["W1"]), len(params["W2"])
        a = _active_units(params)
        relu, ce = params["activation"] == "relu", params["loss"] == "ce"
        # (a) z1, the activations (a call each but for the ReLU), y_hat, and the loss: a square per output, or an
        # exp per class, the normalization and a log
        loss = (k * CALL_MINUTES + k * OP_MINUTES + CALL_MINUTES) if ce else k * OP_MINUTES
        forward = 0.5 + hid * d * OP_MINUTES + (0 if relu else hid * CALL_MINUTES) + k * hid * OP_MINUTES + loss
        # (b) dL/dy_hat from the loss (a minute), one entry per output, and its outer product with h (the zero
        # columns of inactive ReLU units come free)
        output = 1.0 + k * OP_MINUTES + k * a * OP_MINUTES
        # (c) dL/dh = W2^T delta2 for the active units, act'(z1) and the product (a mask for the ReLU), delta1 x^T
        hidden = (a * k + (a if relu else 2 * hid) + a * d) * OP_MINUTES
        # (d) dL/dx = W1^T delta1 over the active units
        inputs = 0.25 + d * a * OP_MINUTES
        return forward, output, hidden, inputs

    def parts(self, params):
        names = (("z1", "h", "y_hat", "loss"), ("dW2", "db2"), ("dW1", "db1"), ("dx",))
        return tuple(Part(n, max(1, math.floor(m + 0.5))) for n, m in zip(names, self._part_minutes(params)))

    def minutes(self, params):
        return round(0.5 + sum(self._part_minutes(params)), 1)  # half a minute to read

    # --- sample, validate, degenerate --------------------------------------------------------------------

    def sample(self, rng):
        # the structural choices first; the active ReLU units follow from the numbers
        d, hid = choice(rng, (2, 3)), choice(rng, (2, 3))
        activation = choice(rng, ACTIVATIONS)
        loss = choice(rng, LOSSES)
        k = choice(rng, OUTPUTS[loss])
        return {
            "x": [decimal(rng, -2, 2, 0.5, nonzero=True) for _ in range(d)],  # a zero input hides a column of dW1
            "W1": [[decimal(rng, -1, 1, 0.1) for _ in range(d)] for _ in range(hid)],
            "b1": [decimal(rng, -0.5, 0.5, 0.1) for _ in range(hid)],
            "W2": [[decimal(rng, -1.5, 1.5, 0.1, nonzero=True) for _ in range(hid)] for _ in range(k)],
            "b2": [decimal(rng, -0.5, 0.5, 0.1) for _ in range(k)],
            "activation": activation,
            "loss": loss,
            "target": [decimal(rng, -1, 1, 0.1) for _ in range(k)] if loss == "mse" else integer(rng, 0, k - 1),
        }

    def validate(self, params):
        require_keys(params, FIELDS)
        x = as_decimal_list(params["x"], "x", (1, MAX_SIZE), -10, 10, DECIMALS)
        d = len(x)
        w1 = as_decimal_matrix(params["W1"], "W1", (1, MAX_SIZE), (d, d), -10, 10, DECIMALS,
                               why=" (one column per entry of x)")
        hid = len(w1)
        w2 = as_decimal_matrix(params["W2"], "W2", (1, MAX_SIZE), (hid, hid), -10, 10, DECIMALS,
                               why=" (one column per hidden unit)")
        k = len(w2)
        target = params["target"]
        # the target's kind follows the loss; a mismatch is left to `degenerate`, so that a pinned loss finds a
        # drawn target of its kind (and a target pinned with the wrong kind is named there)
        if isinstance(target, (list, tuple)):
            target = as_decimal_list(target, "target", (1, MAX_SIZE), -10, 10, DECIMALS)
        else:
            try:
                target = as_int(target, "target", 0, MAX_SIZE - 1)
            except ParamError:
                raise ParamError("target", f"a class index from 0 to {MAX_SIZE - 1} (loss ce) or a list of numbers, "
                                 "one per output (loss mse)", target) from None
        return {
            "x": x,
            "W1": w1,
            "b1": as_decimal_list(params["b1"], "b1", (hid, hid), -10, 10, DECIMALS, why=" (one per hidden unit)"),
            "W2": w2,
            "b2": as_decimal_list(params["b2"], "b2", (k, k), -10, 10, DECIMALS, why=" (one per output)"),
            "activation": as_choice(params["activation"], "activation", ACTIVATIONS),
            "loss": as_choice(params["loss"], "loss", LOSSES),
            "target": target,
        }

    def degenerate(self, params):
        k, target = len(params["W2"]), params["target"]
        if params["loss"] == "ce":
            if k < 2:
                return f"the cross-entropy needs 2 outputs or more (W2 has {k} row), one per class"
            if not isinstance(target, int):
                return f"target = {target}: the cross-entropy takes the index of the correct class, from 0 to {k - 1}"
            if target >= k:
                return f"target = {target}: there are only {k} classes, numbered from 0"
        elif not isinstance(target, list) or len(target) != k:
            return f"target = {target}: the squared error takes a list of {k} numbers, one per output"
        for u in range(len(params["W1"])):
            if not any(params["W1"][u]):
                return f"row {u + 1} of W1 is all zeros: hidden unit {u + 1} does not see the input"
            if not any(row[u] for row in params["W2"]):
                return f"column {u + 1} of W2 is all zeros: hidden unit {u + 1} does not reach the output"
        if any(v == 0 for v in params["x"]):
            return f"x = {params['x']} has a zero entry: its column of dL/dW1 vanishes"
        fwd = _forward(params)
        act = params["activation"]
        if act == "relu":
            if np.any(np.abs(fwd["z1"]) < RELU_GAP):
                return f"a ReLU input is (nearly) 0, where its derivative jumps: z1 = {_vec(fwd['z1'])}"
            if np.all(fwd["z1"] < 0):
                return "every ReLU is off, so dL/dW1, dL/db1 and dL/dx would be all zeros"
        elif np.any(np.abs(fwd["z1"]) > SATURATED[act]):
            return f"z1 = {_vec(fwd['z1'])}: a {act} unit is saturated, its slope nearly 0"
        elif act == "tanh" and np.any(np.abs(fwd["z1"]) < RELU_GAP):
            return f"z1 = {_vec(fwd['z1'])}: a tanh unit outputs (nearly) 0, so its column of dL/dW2 vanishes"
        if params["loss"] == "ce":
            if np.min(fwd["p"]) < MIN_PROB:
                return f"a class probability is below {MIN_PROB}: p = {_vec(fwd['p'])}"
        elif np.any(np.abs(fwd["err"]) < ON_TARGET):
            return f"an output is within {ON_TARGET} of its target: y_hat - target = {_vec(fwd['err'])}"
        answers = self.solve(params)
        nonzero = sum(v != 0 for row in answers["dW1"] for v in row)
        if 2 * nonzero < len(params["W1"]) * len(params["x"]):
            return f"dL/dW1 would be mostly zeros ({nonzero} nonzero entries)"
        # A gradient that nearly cancels keeps too few digits of the values a student works with
        back = _backward(params)
        dh_terms = np.abs(back["fwd"]["W2"].T) @ np.abs(back["delta2"])
        active = _active(params)
        if np.any(active & (np.abs(back["dh"]) < CANCEL_RATIO * dh_terms)):
            return f"the terms of dL/dh = W2^T dL/dy_hat nearly cancel: {_vec(back['dh'])}"
        dx_terms = np.abs(back["fwd"]["W1"].T) @ np.abs(back["delta1"])
        if np.any(dx_terms == 0):
            return f"an input reaches no active hidden unit (its weights are 0 there): dL/dx = {_vec(back['dx'])}"
        if np.any(np.abs(back["dx"]) < CANCEL_RATIO * dx_terms):
            return f"the terms of dL/dx = W1^T delta1 nearly cancel: {_vec(back['dx'])}"
        return scoring_mistake(self, params, answers)

    # --- solve and check ---------------------------------------------------------------------------------

    def solve(self, params):
        back = _backward(params)
        fwd = back["fwd"]
        return {
            "z1": _vec(fwd["z1"]),
            "h": _vec(fwd["h"]),
            "y_hat": _vec(fwd["y_hat"]),
            "loss": fwd["loss"],
            "dW2": _mat(back["dW2"]),
            "db2": _vec(back["db2"]),
            "dW1": _mat(back["dW1"]),
            "db1": _vec(back["db1"]),
            "dx": _vec(back["dx"]),
        }

    def check(self, params, answers):
        """A separate scalar forward pass (loops and math; the cross-entropy as log-sum-exp minus the correct
        logit, with math.fsum) and central differences of its loss in every entry of every parameter and of x."""
        act, ce = params["activation"], params["loss"] == "ce"
        target = params["target"]

        def unit(z: float) -> float:
            if act == "relu":
                return z if z > 0 else 0.0
            if act == "tanh":
                return math.tanh(z)
            return 1 / (1 + math.exp(-z))

        def run(v: Mapping[str, Any]) -> dict[str, Any]:
            x, w1, b1, w2, b2 = v["x"], v["W1"], v["b1"], v["W2"], v["b2"]
            z1 = [math.fsum(w * xi for w, xi in zip(row, x)) + b for row, b in zip(w1, b1)]
            h = [unit(z) for z in z1]
            y = [math.fsum(w * hi for w, hi in zip(row, h)) + b for row, b in zip(w2, b2)]
            if ce:
                top = max(y)
                loss = top + math.log(math.fsum(math.exp(t - top) for t in y)) - y[target]
            else:
                loss = 0.5 * math.fsum((a - b) ** 2 for a, b in zip(y, target))
            return {"z1": z1, "h": h, "y_hat": y, "loss": loss}

        base = {name: copy.deepcopy(params[name]) for name in ("x", "W1", "b1", "W2", "b2")}
        ref = run(base)

        for name in ("z1", "h", "y_hat"):
            close_all(answers[name], ref[name], name, 1e-9)
        close(answers["loss"], ref["loss"], "loss", 1e-9)

        def difference(name: str, index: tuple[int, ...]) -> float:
            return central_difference(lambda values: run(values)["loss"], base, name, index)

        def grid(name: str) -> list:
            value = base[name]
            if isinstance(value[0], list):
                return [[difference(name, (r, c)) for c in range(len(value[0]))] for r in range(len(value))]
            return [difference(name, (r,)) for r in range(len(value))]

        tol = 1e-6
        for answer, param in (("dW2", "W2"), ("db2", "b2"), ("dW1", "W1"), ("db1", "b1"), ("dx", "x")):
            close_all(answers[answer], grid(param), answer, tol)

    # --- display -------------------------------------------------------------------------------------------

    def context(self, params, answers):
        back = _backward(params)
        fwd = back["fwd"]
        ce = params["loss"] == "ce"
        w1 = params["W1"]
        return {
            "d": len(params["x"]),
            "hid": len(w1),
            "k": len(params["W2"]),
            "ce": ce,
            "act": params["activation"],
            "probs": _vec(fwd["p"]) if ce else None,
            "shifted": _vec(np.exp(fwd["y_hat"] - fwd["y_hat"].max())) if ce else None,
            "top": float(fwd["y_hat"].max()),
            "err": _vec(fwd["err"]) if not ce else None,
            "dh": _vec(back["dh"]),
            "local": _vec(back["local"]),
            "W1T": [[w1[r][c] for r in range(len(w1))] for c in range(len(params["x"]))],
            "W2T": [[row[u] for row in params["W2"]] for u in range(len(w1))],
            "work": sig(4),  # gradients on the way: a digit more than the answers
            "fwork": decimals(4),
        }
