"""Gated and vanilla recurrent cells by hand: one step of a GRU or UGRNN forward and backward, and
backpropagation through time in a small tanh RNN whose loss sits on the last step.

gated-rnn-cell follows the course's equations (TTIC 31230, problems 5 and 7 of the trainability set), with
the biases added rather than subtracted:

- UGRNN: G = sigma(Wx_G x + Wh_G h_prev + b_G), R = tanh(Wx_R x + Wh_R h_prev + b_R),
  h = G * h_prev + (1 - G) * R;
- GRU: G1 = sigma(...) the reset gate, G2 = sigma(...) the update gate, h' = G1 * h_prev,
  R = tanh(Wx_R x + Wh_R h' + b_R), h = (1 - G2) * h_prev + G2 * R.

Deep-learning libraries write the GRU differently (the update gate on the old state, the reset gate after
the recurrent product): both are listed mistakes, and the problem warns of them. Params of the other cell's
gates are null; a pinned one that does not apply to the cell is an error naming it.

rnn-bptt: h_t = tanh(W h_{t-1} + U x_t + b) for t = 1..T (T = 2 or 3, H = 2 units), y_hat = w_out . h_T and
L = (y_hat - y)^2 / 2 on the last step only.

Forward values are of order 1 and asked to 4 decimal places; gradients, whose size varies from about 1e-3
to 2, to 3 significant digits. `check` runs a separate scalar forward pass and takes central differences of
the loss in every parameter and input.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from qbank.draws import choice, decimal
from qbank.family import Answer, Family, Part, register
from qbank.grading import rounding_trap, scoring_mistake
from qbank.params import ParamError, as_choice, as_decimal, as_decimal_list, as_decimal_matrix, require_keys
from qbank.precision import decimals, sig

FORWARD, GRADIENT = decimals(4), sig(3)
MAX_PREACT = 2.5  # drawn gates stay away from saturation, where every local slope is nearly 0
MIN_DELTA = 2e-3  # ... and no pre-activation gradient is so small that its gate hardly matters
# A gradient that is a sum must keep at least this share of its largest term: a sum that cancels further
# loses its leading digits, and its significant digits would ask for far more of every term.
MIN_SUM_SHARE = 0.02
OP, CALL, SETUP = 0.2, 0.25, 0.3  # minutes per multiply-add written out, per sigmoid or tanh, per part


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _usable(fam: Family, params: Mapping[str, Any]) -> bool:
    """Whether the engine takes a sample as it is (not degenerate, no rounding trap): a sampler that draws its
    structure first and then numbers until they are usable keeps the structure's planned frequency."""
    return fam.degenerate(params) is None and rounding_trap(fam, params, fam.solve(params)) is None


def _cancels(terms: np.ndarray) -> int | None:
    """The first entry (over axis 0 summed) whose sum is below MIN_SUM_SHARE of its largest term, else None."""
    total, largest = np.abs(terms.sum(axis=0)), np.abs(terms).max(axis=0)
    for k in range(total.size):
        if total.flat[k] < MIN_SUM_SHARE * largest.flat[k]:
            return k
    return None


def _close(name: str, got: Any, want: list[float], tol: float) -> None:
    assert isinstance(got, list) and len(got) == len(want), f"{name}: expected {len(want)} entries, got {got!r}"
    for k, (g, w) in enumerate(zip(got, want)):
        assert isinstance(g, (int, float)) and not isinstance(g, bool), f"{name}[{k}] is not a number: {g!r}"
        assert abs(g - w) <= tol * max(1.0, abs(w)), f"{name}[{k}] = {g!r}, the independent computation gives {w!r}"


def _flat(name: str, got: Any, rows: int, cols: int) -> list[float]:
    assert isinstance(got, list) and len(got) == rows, f"{name}: expected {rows} rows, got {got!r}"
    assert all(isinstance(r, list) and len(r) == cols for r in got), f"{name}: expected {cols} columns, got {got!r}"
    return [v for row in got for v in row]


def _central_difference(loss: Callable[[dict[str, Any]], float], base: Mapping[str, Any], name: str,
                        index: tuple[int, ...], eps: float = 1e-6) -> float:
    """(loss(base with entry `index` of `name` + eps) - loss(... - eps)) / 2 eps, on copies of the lists."""

    def nudged(by: float) -> float:
        values = {k: [list(r) if isinstance(r, list) else r for r in v] for k, v in base.items()}
        if len(index) == 1:
            values[name][index[0]] += by
        else:
            values[name][index[0]][index[1]] += by
        return loss(values)

    return (nudged(eps) - nudged(-eps)) / (2 * eps)


def _plain(array: np.ndarray) -> list:
    return (np.asarray(array, dtype=float) + 0.0).tolist()  # + 0.0: no -0.0


# ==================================================================================================
# gated-rnn-cell
# ==================================================================================================

CELLS = ("gru", "ugrnn")
GATES_OF = {"gru": ("G1", "G2", "R"), "ugrnn": ("G", "R")}
ALL_GATES = ("G1", "G2", "G", "R")
GATE_WORDS = {"G1": "reset gate G1", "G2": "update gate G2", "G": "single gate G (it has G1 and G2)"}
WEIGHTS = tuple(f"{kind}_{gate}" for gate in ALL_GATES for kind in ("Wx", "Wh", "b"))
CELL_FIELDS = ("cell", "x", "h_prev", *WEIGHTS, "dh")
PER_UNIT = "one number per hidden unit"  # the hint of a vector of the state's size (H is given, not asked)
# (hidden size H, input size D): mostly scalars, which are worked by hand
CELL_SHAPES = ((1, 1), (1, 1), (1, 1), (1, 2), (2, 1), (2, 2))


def _gate_params(params: Mapping[str, Any], gate: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array(params[f"Wx_{gate}"], dtype=float), np.array(params[f"Wh_{gate}"], dtype=float),
            np.array(params[f"b_{gate}"], dtype=float))


def _cell_preactivations(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Each gate's pre-activation (the candidate's with the reset state for the GRU), rounded to 8 decimals:
    with params of at most 2 decimals (and G1 h_prev exact for the GRU's R only after rounding), the rounding
    removes just the float error of the gates, whose pre-activations are short decimals."""
    x, h = np.array(params["x"], dtype=float), np.array(params["h_prev"], dtype=float)
    out = {}
    for gate in GATES_OF[params["cell"]]:
        wx, wh, b = _gate_params(params, gate)
        if gate == "R" and params["cell"] == "gru":
            continue  # needs G1 first
        out[gate] = np.round(wx @ x + wh @ h + b, 8)
    return out


def _cell_solve(params: Mapping[str, Any], slip: frozenset = frozenset()) -> dict[str, Any]:
    """One step forward and backward for the upstream gradient dh. `slip` names mistakes to make on the way:
    update-swapped, reset-after-product, sigmoid-slope-for-candidate, tanh-slope-for-gates, gate-sign,
    dWh-R-with-h (GRU), no-direct-path, no-gate-paths, transposed-Wh, dx-candidate-only."""
    cell = params["cell"]
    gru = cell == "gru"
    x, h = np.array(params["x"], dtype=float), np.array(params["h_prev"], dtype=float)
    dh = np.array(params["dh"], dtype=float)
    pre = _cell_preactivations(params)
    wx_r, wh_r, b_r = _gate_params(params, "R")

    def gate_slope(g):
        return 1 - g**2 if "tanh-slope-for-gates" in slip else g * (1 - g)

    def back(w: np.ndarray, d: np.ndarray) -> np.ndarray:
        return (w if "transposed-Wh" in slip else w.T) @ d

    if gru:
        g1, g2 = _sigmoid(pre["G1"]), _sigmoid(pre["G2"])
        reset = g1 * h
        rec = g1 * (wh_r @ h) if "reset-after-product" in slip else wh_r @ reset
        r = np.tanh(wx_r @ x + rec + b_r)
        keep, take = (g2, 1 - g2) if "update-swapped" in slip else (1 - g2, g2)  # h = keep h_prev + take R
        h_new = keep * h + take * r
        d_r = dh * take
        d_g2 = dh * (r - h) * (-1 if "update-swapped" in slip else 1) * (-1 if "gate-sign" in slip else 1)
        da_r = d_r * (r * (1 - r) if "sigmoid-slope-for-candidate" in slip else 1 - r**2)
        da2 = d_g2 * gate_slope(g2)
        d_reset = back(wh_r, da_r)
        da1 = d_reset * h * gate_slope(g1)
        _, wh1, _ = _gate_params(params, "G1")
        _, wh2, _ = _gate_params(params, "G2")
        wx1, wx2 = _gate_params(params, "G1")[0], _gate_params(params, "G2")[0]
        direct = 0 if "no-direct-path" in slip else dh * keep
        through_r = d_reset * g1
        gates = 0 if "no-gate-paths" in slip else back(wh1, da1) + back(wh2, da2)
        dh_prev = direct + through_r + gates
        dx = wx_r.T @ da_r + (0 if "dx-candidate-only" in slip else wx1.T @ da1 + wx2.T @ da2)
        deltas = {"G1": da1, "G2": da2, "R": da_r}
        inputs_h = {"G1": h, "G2": h, "R": h if "dWh-R-with-h" in slip else reset}
        forward = {"G1": g1, "G2": g2, "G": None, "R": r}
    else:
        g = _sigmoid(pre["G"])
        r = np.tanh(pre["R"])
        keep, take = (1 - g, g) if "update-swapped" in slip else (g, 1 - g)
        h_new = keep * h + take * r
        d_g = dh * (h - r) * (-1 if "update-swapped" in slip else 1) * (-1 if "gate-sign" in slip else 1)
        d_r = dh * take
        da_g = d_g * gate_slope(g)
        da_r = d_r * (r * (1 - r) if "sigmoid-slope-for-candidate" in slip else 1 - r**2)
        wx_g, wh_g, _ = _gate_params(params, "G")
        direct = 0 if "no-direct-path" in slip else dh * keep
        gates = 0 if "no-gate-paths" in slip else back(wh_g, da_g)
        dh_prev = direct + back(wh_r, da_r) + gates
        dx = wx_r.T @ da_r + (0 if "dx-candidate-only" in slip else wx_g.T @ da_g)
        deltas = {"G": da_g, "R": da_r}
        inputs_h = {"G": h, "R": h}
        forward = {"G1": None, "G2": None, "G": g, "R": r}
    answers: dict[str, Any] = {name: None if value is None else _plain(value) for name, value in forward.items()}
    answers["h"] = _plain(h_new)
    answers["dh_prev"] = _plain(dh_prev)
    answers["dx"] = _plain(dx)
    for gate in ALL_GATES:
        delta = deltas.get(gate)
        answers[f"dWx_{gate}"] = None if delta is None else _plain(np.outer(delta, x))
        answers[f"dWh_{gate}"] = None if delta is None else _plain(np.outer(delta, inputs_h[gate]))
        answers[f"db_{gate}"] = None if delta is None else _plain(delta)
    return answers


def _weights_of(cell: str, *gates: str) -> list[str]:
    return [f"{kind}_{gate}" for gate in gates if gate in GATES_OF[cell] for kind in ("dWx", "dWh", "db")]


def _slip(slip: str, changed: Callable[[Mapping[str, Any]], list[str]] | None = None,
          when: Callable[[Mapping[str, Any]], bool] = lambda p: True):
    """A mistake as the answers it changes by nature (every answer when `changed` is None)."""

    def wrong(params: Mapping[str, Any]) -> dict[str, Any]:
        if not when(params):
            return {}
        got = _cell_solve(params, frozenset({slip}))
        names = changed(params) if changed else [n for n in got if got[n] is not None]
        return {name: got[name] for name in names if got[name] is not None}

    return wrong


def _backward_only(params: Mapping[str, Any]) -> list[str]:
    return ["dh_prev", "dx", *_weights_of(params["cell"], *ALL_GATES)]


def _after_the_candidate(params: Mapping[str, Any]) -> list[str]:
    """What a wrong slope of the candidate changes: its own gradients and, for the GRU, the reset gate's."""
    return ["dh_prev", "dx", *_weights_of(params["cell"], "R", "G1")]


def _after_the_gates(params: Mapping[str, Any]) -> list[str]:
    return ["dh_prev", "dx", *_weights_of(params["cell"], "G1", "G2", "G")]


def _after_the_update_gate(params: Mapping[str, Any]) -> list[str]:
    return ["dh_prev", "dx", *_weights_of(params["cell"], "G2", "G")]


def _forward_and_backward(params: Mapping[str, Any]) -> list[str]:
    return ["R", "h", *_backward_only(params)]


def _h_and_backward(params: Mapping[str, Any]) -> list[str]:
    return ["h", *_backward_only(params)]


def _cell_minutes(cell: str, hidden: int, inputs: int) -> list[float]:
    """Working time by hand, with a calculator, of parts (a) to (d): OP minutes per multiply-add written out,
    CALL per sigmoid or tanh, SETUP per part to set it up."""
    blocks = len(GATES_OF[cell])
    gru = cell == "gru"
    row = hidden + inputs + 1  # one entry of a pre-activation: H + D products and the bias
    forward = OP * (blocks * hidden * row + (hidden if gru else 0) + 2 * hidden) + CALL * blocks * hidden
    # dL/dR and dL/dgate, each slope, and for the GRU the way back through the reset state (Wh_R^T, times h_prev)
    deltas = OP * (2 * hidden + 2 * blocks * hidden + (hidden * hidden + hidden if gru else 0))
    weights = OP * blocks * hidden * (hidden + inputs)  # outer products
    sent_back = OP * (hidden * (1 + blocks * hidden) + inputs * blocks * hidden)  # dh_prev and dx
    return [forward + SETUP, deltas + SETUP + 1.0, weights + SETUP, sent_back + SETUP + 0.5]


@register
class GatedRnnCell(Family):
    """One step of a GRU or a UGRNN, forward and backward, in the course's notation.

    Mistakes its draws separate from the right answer (`degenerate` refuses a draw where one of them gives a
    value the key accepts): the library's GRU (update gate on the old state; for the UGRNN the gate's roles
    swapped the same way); the reset gate after the recurrent product (GRU, H = 2: for a scalar state the
    two agree by nature); the sigmoid's slope for the candidate, tanh's for a gate; the gate's gradient with
    its sign flipped (h_prev - R for R - h_prev); dW_h of the candidate with h_prev for the reset state (GRU);
    dh_prev without the direct path or without the paths through the gates, or with W_h for W_h^T (H = 2);
    dx through the candidate only."""

    id = "gated-rnn-cell"
    title = "One step of a GRU or UGRNN cell, forward and backward"
    topic = "rnn"
    difficulty = 3
    answers = {
        "G1": Answer("vector", "GRU: the reset gate G1 (null for a UGRNN)", precision=FORWARD, symbol="G_1",
                     label="G1", index=("unit {}",), form=PER_UNIT),
        "G2": Answer("vector", "GRU: the update gate G2 (null for a UGRNN)", precision=FORWARD, symbol="G_2",
                     label="G2", index=("unit {}",), form=PER_UNIT),
        "G": Answer("vector", "UGRNN: the gate G (null for a GRU)", precision=FORWARD, symbol="G", label="G",
                    index=("unit {}",), form=PER_UNIT),
        "R": Answer("vector", "the candidate R", precision=FORWARD, symbol="R", label="R", index=("unit {}",),
                    form=PER_UNIT),
        "h": Answer("vector", "the new state h_t", precision=FORWARD, symbol="h_t", label="h_t", index=("unit {}",),
                    form=PER_UNIT),
        "dh_prev": Answer("vector", "dL/dh_{t-1}", precision=GRADIENT, symbol=r"\partial L/\partial h_{t-1}",
                          label="dL/dh_{t-1}", index=("unit {}",), form=PER_UNIT),
        "dx": Answer("vector", "dL/dx_t", precision=GRADIENT, symbol=r"\partial L/\partial x_t", label="dL/dx_t",
                     form="one number per entry of x_t"),
        **{
            f"{kind}_{gate}": Answer(
                "matrix" if kind != "db" else "vector",
                f"dL/d{kind[1:]}_{gate}" + (" (null for a UGRNN)" if gate in ("G1", "G2") else
                                            " (null for a GRU)" if gate == "G" else ""),
                precision=GRADIENT,
                symbol=rf"\partial L/\partial {symbol}",
                label=f"dL/d{kind[1:]}_{gate}",
                **({"index": ("unit {}",), "form": PER_UNIT} if kind == "db" else {}),
            )
            for gate, sub in (("G1", "G_1"), ("G2", "G_2"), ("G", "G"), ("R", "R"))
            for kind, symbol in (("dWx", f"W^{{x,{sub}}}"), ("dWh", f"W^{{h,{sub}}}"), ("db", f"b^{{{sub}}}"))
        },
    }
    mistake_unit = "number"  # any number a mistake gets right scores (see qbank.grading.scoring_mistake)
    mistakes = {
        "the library's GRU: h = G2 h_prev + (1 - G2) R (for the UGRNN: the gate's roles swapped)": _slip(
            "update-swapped", _h_and_backward),
        "the reset gate after the recurrent product, G1 (Wh_R h_prev)": _slip(
            "reset-after-product", _forward_and_backward, lambda p: p["cell"] == "gru" and len(p["h_prev"]) > 1),
        "the sigmoid's slope R (1 - R) for the candidate": _slip("sigmoid-slope-for-candidate", _after_the_candidate),
        "tanh's slope 1 - G^2 for a gate": _slip("tanh-slope-for-gates", _after_the_gates),
        "dW_h of the candidate with h_prev for the reset state G1 h_prev": _slip(
            "dWh-R-with-h", lambda p: ["dWh_R"], lambda p: p["cell"] == "gru"),
        "dh_prev without the direct path": _slip("no-direct-path", lambda p: ["dh_prev"]),
        "dh_prev without the paths through the gates": _slip("no-gate-paths", lambda p: ["dh_prev"]),
        "dh_prev with W_h for W_h^T": _slip("transposed-Wh", lambda p: ["dh_prev"], lambda p: len(p["h_prev"]) > 1),
        "dx through the candidate only": _slip("dx-candidate-only", lambda p: ["dx"]),
        "the gate's gradient with its sign flipped": _slip("gate-sign", _after_the_update_gate),
    }
    structure = ("cell", "h_prev", "x")  # the cell, the hidden size H and the input size D set the work
    asks = ("gated-rnn-forward-step", "gated-rnn-backward-step")
    # the problem states the cell's equations and the derivatives of sigma and tanh; for the GRU, its equations
    # in the UGRNN's notation (what sets it apart from a two-gate UGRNN) and how libraries write it instead
    reveals = ("gated-rnn-equations", "sigmoid-derivative", "tanh-derivative",
               "gru-in-ugrnn-notation", "gru-vs-two-gate-cell", "gru-library-convention")

    def structure_of(self, params):
        return {"cell": params["cell"], "h_prev": [len(params["h_prev"])], "x": [len(params["x"])]}

    def reveals_of(self, params):
        return self.reveals if params["cell"] == "gru" else tuple(r for r in self.reveals if not r.startswith("gru-"))

    def parts(self, params):
        cell, gates = params["cell"], GATES_OF[params["cell"]]
        minutes = _cell_minutes(cell, len(params["h_prev"]), len(params["x"]))
        names = (
            (*gates[:-1], "R", "h"),
            tuple(f"db_{g}" for g in gates),
            tuple(f"{kind}_{g}" for g in gates for kind in ("dWx", "dWh")),
            ("dh_prev", "dx"),
        )
        return tuple(Part(n, max(1, round(m))) for n, m in zip(names, minutes))

    def minutes(self, params):
        # the parts' times and 1.5 min to read the cell's equations
        return round(sum(_cell_minutes(params["cell"], len(params["h_prev"]), len(params["x"]))) + 1.5, 1)

    def sample(self, rng):
        cell = choice(rng, CELLS)
        hidden, inputs = choice(rng, CELL_SHAPES)

        def tenths(lo: float, hi: float, n: int, nonzero: bool = True) -> list[int | float]:
            return [decimal(rng, lo, hi, 0.1, nonzero=nonzero) for _ in range(n)]

        for _ in range(200):  # numbers until the gates are away from saturation and every gradient shows
            params: dict[str, Any] = {"cell": cell, "x": tenths(-1, 1, inputs), "h_prev": tenths(-0.9, 0.9, hidden)}
            for gate in ALL_GATES:
                used = gate in GATES_OF[cell]
                params[f"Wx_{gate}"] = [tenths(-1, 1, inputs) for _ in range(hidden)] if used else None
                params[f"Wh_{gate}"] = [tenths(-1, 1, hidden) for _ in range(hidden)] if used else None
                params[f"b_{gate}"] = tenths(-0.5, 0.5, hidden, nonzero=False) if used else None
            params["dh"] = tenths(-1, 1, hidden)
            if _saturated(params) or min(abs(v) for g in GATES_OF[cell] for v in self.solve(params)[f"db_{g}"]) < MIN_DELTA:
                continue
            if _usable(self, params):
                break
        return params

    def validate(self, params):
        require_keys(params, CELL_FIELDS)
        cell = as_choice(params["cell"], "cell", CELLS)
        if not isinstance(params["h_prev"], (list, tuple)) or len(params["h_prev"]) not in (1, 2):
            raise ParamError("h_prev", "a list of 1 or 2 numbers (its length is the hidden size H)", params["h_prev"])
        if not isinstance(params["x"], (list, tuple)) or len(params["x"]) not in (1, 2):
            raise ParamError("x", "a list of 1 or 2 numbers (its length is the input size D)", params["x"])
        hidden, inputs = len(params["h_prev"]), len(params["x"])
        out: dict[str, Any] = {
            "cell": cell,
            "x": as_decimal_list(params["x"], "x", (inputs, inputs), -5, 5),
            # h_{t-1} is a convex combination of earlier states and tanh values: strictly between -1 and 1
            "h_prev": as_decimal_list(params["h_prev"], "h_prev", (hidden, hidden), -0.99, 0.99),
        }
        rows = f" (H = {hidden} rows, the length of h_prev"
        # The gates of the other cell are null. One that is not, while this cell's own are all given, was pinned
        # for the wrong cell: an error naming it. One of this cell's own that is null means the params were
        # drawn for the other cell (a pinned `cell`): `degenerate` then asks for another draw.
        own = [f"{kind}_{g}" for g in GATES_OF[cell] for kind in ("Wx", "Wh", "b")]
        complete = all(params[name] is not None for name in own)
        for gate in ALL_GATES:
            for kind in ("Wx", "Wh", "b"):
                name = f"{kind}_{gate}"
                value = params[name]
                if value is None:
                    out[name] = None
                    continue
                if gate not in GATES_OF[cell]:
                    if complete:
                        raise ParamError(name, f"null: a {cell.upper()} cell has no {GATE_WORDS[gate]}"
                                         f" (pin \"cell\": \"{'ugrnn' if cell == 'gru' else 'gru'}\" to use it)", value)
                    out[name] = value  # drawn for the other cell: `degenerate` refuses the draw
                    continue
                if kind == "Wx":
                    out[name] = as_decimal_matrix(value, name, (hidden, hidden), (inputs, inputs), -5, 5,
                                                  why=rows + "; D columns, the length of x)")
                elif kind == "Wh":
                    out[name] = as_decimal_matrix(value, name, (hidden, hidden), (hidden, hidden), -5, 5, why=rows + ")")
                else:
                    out[name] = as_decimal_list(value, name, (hidden, hidden), -5, 5, why=f" (one per hidden unit: H = {hidden})")
        out["dh"] = as_decimal_list(params["dh"], "dh", (hidden, hidden), -5, 5, why=f" (one per hidden unit: H = {hidden})")
        return out

    def degenerate(self, params):
        cell = params["cell"]
        missing = [f"{kind}_{g}" for g in GATES_OF[cell] for kind in ("Wx", "Wh", "b") if params[f"{kind}_{g}"] is None]
        if missing:
            return f"a {cell.upper()} cell needs {', '.join(missing)}, null here (params of the other cell)"
        foreign = [f"{kind}_{g}" for g in ALL_GATES if g not in GATES_OF[cell] for kind in ("Wx", "Wh", "b")
                   if params[f"{kind}_{g}"] is not None]
        if foreign:
            return f"{', '.join(foreign)} must be null for a {cell.upper()} cell"
        if not any(params["dh"]):
            return "the upstream gradient dh is zero, so every gradient in the cell is zero"
        if not all(params["x"]):
            return f"x = {params['x']} has a zero entry: a column of every dW_x is zero"
        if not all(params["h_prev"]):
            return f"h_prev = {params['h_prev']} has a zero entry: a column of every dW_h is zero"
        for name, of in (("x", "dW_x"), ("h_prev", "dW_h")):
            if len(params[name]) > 1 and len(set(params[name])) == 1:
                return f"{name} = {params[name]} has equal entries: the columns of every {of} are equal"
        answers = self.solve(params)
        cancelled = _cell_cancellation(params)
        if cancelled:
            return cancelled
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        return _cell_solve(params)

    def check(self, params, answers):
        """A separate scalar forward pass (loops and math, the GRU's reset state written out) and central
        differences of L = dh . h_t in every weight, bias, input and previous state."""
        cell, hidden, inputs = params["cell"], len(params["h_prev"]), len(params["x"])
        gates = GATES_OF[cell]

        def run(values: Mapping[str, Any]) -> dict[str, list[float]]:
            x, h = values["x"], values["h_prev"]

            def affine(gate: str, state: list[float]) -> list[float]:
                wx, wh, b = values[f"Wx_{gate}"], values[f"Wh_{gate}"], values[f"b_{gate}"]
                return [sum(wx[j][k] * x[k] for k in range(inputs)) + sum(wh[j][k] * state[k] for k in range(hidden))
                        + b[j] for j in range(hidden)]

            def logistic(z: float) -> float:
                return 1.0 / (1.0 + math.exp(-z))

            out: dict[str, list[float]] = {}
            if cell == "gru":
                out["G1"] = [logistic(z) for z in affine("G1", h)]
                out["G2"] = [logistic(z) for z in affine("G2", h)]
                reset = [out["G1"][j] * h[j] for j in range(hidden)]
                out["R"] = [math.tanh(z) for z in affine("R", reset)]
                out["h"] = [(1 - out["G2"][j]) * h[j] + out["G2"][j] * out["R"][j] for j in range(hidden)]
            else:
                out["G"] = [logistic(z) for z in affine("G", h)]
                out["R"] = [math.tanh(z) for z in affine("R", h)]
                out["h"] = [out["G"][j] * h[j] + (1 - out["G"][j]) * out["R"][j] for j in range(hidden)]
            out["loss"] = [sum(values["dh"][j] * out["h"][j] for j in range(hidden))]
            return out

        base = {name: params[name] for name in ("x", "h_prev", "dh")}
        for gate in gates:
            for kind in ("Wx", "Wh", "b"):
                base[f"{kind}_{gate}"] = params[f"{kind}_{gate}"]
        ref = run(base)
        for name in (*gates, "h"):
            _close(name, answers[name], ref[name], 1e-9)
        for gate in ALL_GATES:
            if gate not in gates:
                for name in (gate, f"dWx_{gate}", f"dWh_{gate}", f"db_{gate}"):
                    assert answers[name] is None, f"{name} does not apply to a {cell.upper()} cell, got {answers[name]!r}"

        def slope(name: str, index: tuple[int, ...]) -> float:
            return _central_difference(lambda values: run(values)["loss"][0], base, name, index)

        tol = 1e-6
        _close("dh_prev", answers["dh_prev"], [slope("h_prev", (j,)) for j in range(hidden)], tol)
        _close("dx", answers["dx"], [slope("x", (k,)) for k in range(inputs)], tol)
        for gate in gates:
            _close(f"db_{gate}", answers[f"db_{gate}"], [slope(f"b_{gate}", (j,)) for j in range(hidden)], tol)
            for kind, cols in (("Wx", inputs), ("Wh", hidden)):
                got = _flat(f"d{kind}_{gate}", answers[f"d{kind}_{gate}"], hidden, cols)
                want = [slope(f"{kind}_{gate}", (j, k)) for j in range(hidden) for k in range(cols)]
                _close(f"d{kind}_{gate}", got, want, tol)

    def context(self, params, answers):
        cell, hidden = params["cell"], len(params["h_prev"])
        gru = cell == "gru"
        gates = GATES_OF[cell]
        x, h = params["x"], params["h_prev"]
        pre = _cell_preactivations(params)
        reset = [answers["G1"][j] * h[j] for j in range(hidden)] if gru else h
        rows = []
        for gate in gates:
            for j in range(hidden):
                state = reset if gate == "R" else h
                # [weight, value, whether the value is given] per product: the reset state is computed
                terms = [[w, v, True] for w, v in zip(params[f"Wx_{gate}"][j], x)]
                terms += [[w, v, state is h] for w, v in zip(params[f"Wh_{gate}"][j], state)]
                value = (pre[gate][j] if gate in pre else
                         sum(a * b for a, b, _ in terms) + params[f"b_{gate}"][j])
                rows.append({"gate": gate, "unit": j, "terms": terms, "b": params[f"b_{gate}"][j],
                             "a": float(value), "exact": gate in pre})
        dh = params["dh"]
        sub = {"G1": "G_1", "G2": "G_2", "G": "G", "R": "R"}
        if gru:
            g1, g2, r = answers["G1"], answers["G2"], answers["R"]
            d_out = {"G2": [dh[j] * (r[j] - h[j]) for j in range(hidden)], "R": [dh[j] * g2[j] for j in range(hidden)]}
            wh_r = params["Wh_R"]
            d_reset = [sum(wh_r[i][j] * answers["db_R"][i] for i in range(hidden)) for j in range(hidden)]
            d_out["G1"] = [d_reset[j] * h[j] for j in range(hidden)]
            dh_terms = [
                {"tex": r"\delta h_t \odot (1 - G_2)", "values": [dh[j] * (1 - g2[j]) for j in range(hidden)]},
                {"tex": r"\delta h' \odot G_1", "values": [d_reset[j] * g1[j] for j in range(hidden)]},
            ]
        else:
            g, r = answers["G"], answers["R"]
            d_out = {"G": [dh[j] * (h[j] - r[j]) for j in range(hidden)], "R": [dh[j] * (1 - g[j]) for j in range(hidden)]}
            d_reset = None
            dh_terms = [{"tex": r"\delta h_t \odot G", "values": [dh[j] * g[j] for j in range(hidden)]}]
        for gate in gates:
            if gate == "R" and gru:
                continue  # the candidate reaches h_{t-1} through the reset state: the term above
            dh_terms.append({
                "tex": rf"(W^{{h,{sub[gate]}}})^\top \delta a^{{{sub[gate]}}}",
                "values": [sum(params[f"Wh_{gate}"][i][j] * answers[f"db_{gate}"][i] for i in range(hidden))
                           for j in range(hidden)],
            })
        inputs = len(x)
        dx_terms = [{"tex": rf"(W^{{x,{sub[gate]}}})^\top \delta a^{{{sub[gate]}}}",
                     "values": [sum(params[f"Wx_{gate}"][i][k] * answers[f"db_{gate}"][i] for i in range(hidden))
                                for k in range(inputs)]} for gate in gates]
        slopes = {gate: ([1 - v**2 for v in answers["R"]] if gate == "R" else
                         [v * (1 - v) for v in answers[gate]]) for gate in gates}
        return {
            "H": hidden,
            "D": inputs,
            "gru": gru,
            "gates": gates,
            "sub": sub,
            "rows": rows,
            "reset": reset,
            "d_out": d_out,
            "d_reset": d_reset,
            "slopes": slopes,
            "dh_terms": dh_terms,
            "dx_terms": dx_terms,
            "work": sig(4),  # gradients on the way: a digit more than the answers
        }


def _saturated(params: Mapping[str, Any]) -> bool:
    """Whether a pre-activation lies beyond MAX_PREACT (the GRU's candidate with its reset state)."""
    pre = list(_cell_preactivations(params).values())
    if params["cell"] == "gru":
        g1 = _sigmoid(pre[0])
        wx, wh, b = _gate_params(params, "R")
        pre.append(wx @ np.array(params["x"], dtype=float) + wh @ (g1 * np.array(params["h_prev"], dtype=float)) + b)
    return max(float(np.max(np.abs(p))) for p in pre) > MAX_PREACT


def _cell_cancellation(params: Mapping[str, Any]) -> str | None:
    """Why a gradient that is a sum (dh_prev over its paths, dx over the gates) cancels below MIN_SUM_SHARE of
    its largest term, else None."""
    cell, gates = params["cell"], GATES_OF[params["cell"]]
    got = _cell_solve(params)
    h = np.array(params["h_prev"], dtype=float)
    dh = np.array(params["dh"], dtype=float)
    deltas = {g: np.array(got[f"db_{g}"]) for g in gates}
    paths = []
    if cell == "gru":
        g1, g2 = np.array(got["G1"]), np.array(got["G2"])
        paths.append(dh * (1 - g2))
        wh_r = np.array(params["Wh_R"], dtype=float)
        paths += [(wh_r[i] * deltas["R"][i]) * g1 for i in range(len(h))]
    else:
        paths.append(dh * np.array(got["G"]))
        paths += [np.array(params["Wh_R"], dtype=float)[i] * deltas["R"][i] for i in range(len(h))]
    for g in gates:
        if g != "R":
            paths += [np.array(params[f"Wh_{g}"], dtype=float)[i] * deltas[g][i] for i in range(len(h))]
    dx_terms = [np.array(params[f"Wx_{g}"], dtype=float)[i] * deltas[g][i] for g in gates for i in range(len(h))]
    for name, terms in (("dL/dh_{t-1}", paths), ("dL/dx_t", dx_terms)):
        k = _cancels(np.array(terms))
        if k is not None:
            return (f"the terms of {name} (entry {k + 1}) nearly cancel: its significant digits would need far more "
                    "digits of every term")
    return None


# ==================================================================================================
# rnn-bptt
# ==================================================================================================

BPTT_FIELDS = ("x", "h0", "W", "U", "b", "w_out", "y")
BPTT_SHAPES = ((2, 1), (2, 1), (3, 1), (2, 2))  # (T, D): three steps of two inputs would take half an hour
MIN_ERROR = 0.2  # |y_hat - y| at least this: a prediction nearly right leaves every gradient tiny


def _bptt(params: Mapping[str, Any], slip: frozenset = frozenset()) -> dict[str, Any]:
    """Forward through T steps and back, with numpy. `slip` names mistakes: last-step-only, dW-with-h-t,
    W-not-transposed, no-tanh-slope, sign-flipped, no-half, dw-out-without-error, dh0-without-slope."""
    x = np.array(params["x"], dtype=float)
    w, u = np.array(params["W"], dtype=float), np.array(params["U"], dtype=float)
    b, w_out = np.array(params["b"], dtype=float), np.array(params["w_out"], dtype=float)
    states = [np.array(params["h0"], dtype=float)]
    for t in range(len(x)):
        states.append(np.tanh(w @ states[-1] + u @ x[t] + b))
    y_hat = float(w_out @ states[-1])
    error = y_hat - params["y"]
    loss = error**2 if "no-half" in slip else error**2 / 2
    if "sign-flipped" in slip:
        error = -error
    if "no-half" in slip:
        error = 2 * error
    delta = error * w_out  # dL/dh_T
    d_w, d_u, d_b = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
    steps = range(len(x), 0, -1)
    dh0 = None
    for t in steps:
        h_t, h_prev = states[t], states[t - 1]
        da = delta if "no-tanh-slope" in slip else delta * (1 - h_t**2)
        if "last-step-only" not in slip or t == len(x):
            d_w += np.outer(da, h_t if "dW-with-h-t" in slip else h_prev)
            d_u += np.outer(da, x[t - 1])
            d_b += da
        if t == 1 and "dh0-without-slope" in slip:
            dh0 = (w if "W-not-transposed" in slip else w.T) @ delta
        delta = (w if "W-not-transposed" in slip else w.T) @ da
    return {
        "h": _plain(np.array(states[1:])),
        "y_hat": y_hat,
        "loss": loss,
        "dW": _plain(d_w),
        "dU": _plain(d_u),
        "db": _plain(d_b),
        "dh0": _plain(delta if dh0 is None else dh0),
        "dw_out": _plain((1 if "dw-out-without-error" in slip else error) * states[-1]),
    }


def _bptt_slip(slip: str, names: tuple[str, ...]):
    def wrong(params: Mapping[str, Any]) -> dict[str, Any]:
        got = _bptt(params, frozenset({slip}))
        return {name: got[name] for name in names}

    return wrong


def _bptt_minutes(steps: int, inputs: int, hidden: int = 2) -> list[float]:
    """Working time by hand of parts (a) to (d), at OP minutes per multiply-add written out, CALL per tanh."""
    forward = steps * (OP * hidden * (hidden + inputs + 1) + CALL * hidden) + OP * (hidden + 2)
    output = OP * 2 * hidden  # dL/dh_T and dL/dw_out
    # each step back: the tanh slope (2 per unit), dW, dU, db terms, W^T back a step; then the sums over steps
    per_step = OP * (2 * hidden + hidden * hidden + hidden * inputs + hidden + hidden * hidden)
    sums = OP * (steps - 1) * (hidden * hidden + hidden * inputs + hidden)
    return [forward + SETUP, output + SETUP + 0.5, steps * per_step + sums + SETUP + 1.0, SETUP + 0.5]


@register
class RnnBptt(Family):
    """Backpropagation through time in a two-unit tanh RNN with a loss on the last step.

    Mistakes its draws separate from the right answer: dW, dU and db from the last step only (no sum over
    time); dW with h_t for h_{t-1}; W for W^T on the way back a step; tanh's slope left out; the error's sign
    flipped (y - y_hat); the 1/2 of the loss dropped (and every gradient doubled); dL/dw_out without the
    error; dL/dh_0 without the slope of step 1. A sum over steps whose terms nearly cancel is refused too."""

    id = "rnn-bptt"
    title = "Backpropagation through time in a small tanh RNN"
    topic = "rnn"
    difficulty = 3
    answers = {
        "h": Answer("matrix", "the states h_1..h_T, one row per step", precision=FORWARD, symbol="h_t",
                    label="h", index=("step {}", "unit {}")),
        "y_hat": Answer("number", "the prediction w_out . h_T", precision=FORWARD, symbol=r"\hat y", label="y-hat"),
        "loss": Answer("number", "the loss (y_hat - y)^2 / 2", precision=FORWARD, symbol="L", label="L"),
        "dw_out": Answer("vector", "dL/dw_out", precision=GRADIENT, symbol=r"\partial L/\partial w_{\mathrm{out}}",
                         label="dL/dw_out"),
        "dW": Answer("matrix", "dL/dW, summed over the steps", precision=GRADIENT, symbol=r"\partial L/\partial W",
                     label="dL/dW"),
        "dU": Answer("matrix", "dL/dU, summed over the steps", precision=GRADIENT, symbol=r"\partial L/\partial U",
                     label="dL/dU"),
        "db": Answer("vector", "dL/db, summed over the steps", precision=GRADIENT, symbol=r"\partial L/\partial b",
                     label="dL/db"),
        "dh0": Answer("vector", "dL/dh_0", precision=GRADIENT, symbol=r"\partial L/\partial h_0", label="dL/dh_0"),
    }
    mistake_unit = "number"
    mistakes = {
        "dW, dU and db from the last step only (no sum over time)": _bptt_slip("last-step-only", ("dW", "dU", "db")),
        "dW with h_t for h_{t-1}": _bptt_slip("dW-with-h-t", ("dW",)),
        "W for W^T on the way back a step": _bptt_slip("W-not-transposed", ("dW", "dU", "db", "dh0")),
        "tanh's slope left out": _bptt_slip("no-tanh-slope", ("dW", "dU", "db", "dh0")),
        "the error's sign flipped (y - y_hat)": _bptt_slip("sign-flipped", ("dw_out", "dW", "dU", "db", "dh0")),
        "the 1/2 of the loss dropped": _bptt_slip("no-half", ("loss", "dw_out", "dW", "dU", "db", "dh0")),
        "dL/dw_out = h_T (the error left out)": _bptt_slip("dw-out-without-error", ("dw_out",)),
        "dL/dh_0 = W^T dL/dh_1 (the slope of step 1 left out)": _bptt_slip("dh0-without-slope", ("dh0",)),
    }
    structure = ("x",)  # T steps of D inputs; H = 2 always
    asks = ("rnn-forward-unroll", "bptt-vector-rnn-gradients", "shared-weight-gradient-sum")
    reveals = ("tanh-derivative",)

    def structure_of(self, params):
        return {"x": [len(params["x"]), len(params["x"][0])]}

    def parts(self, params):
        names = (("h", "y_hat", "loss"), ("dw_out",), ("dW", "dU", "db"), ("dh0",))
        minutes = _bptt_minutes(len(params["x"]), len(params["x"][0]))
        return tuple(Part(n, max(1, round(m))) for n, m in zip(names, minutes))

    def minutes(self, params):
        return round(sum(_bptt_minutes(len(params["x"]), len(params["x"][0]))) + 1.0, 1)

    def sample(self, rng):
        steps, inputs = choice(rng, BPTT_SHAPES)

        def tenths(lo: float, hi: float, n: int, nonzero: bool = True) -> list[int | float]:
            return [decimal(rng, lo, hi, 0.1, nonzero=nonzero) for _ in range(n)]

        for _ in range(200):
            params = {
                "x": [tenths(-1, 1, inputs) for _ in range(steps)],
                "h0": tenths(-0.5, 0.5, 2),
                "W": [tenths(-1, 1, 2) for _ in range(2)],
                "U": [tenths(-1, 1, inputs) for _ in range(2)],
                "b": tenths(-0.5, 0.5, 2, nonzero=False),
                "w_out": tenths(-1.5, 1.5, 2),
                "y": 0,
            }
            # W = W^T would hide a missing transpose on the way back
            if _bptt_saturated(params) or params["W"][0][1] == params["W"][1][0]:
                continue
            # the target far enough from the prediction that the error, and every gradient, shows
            y_hat = _bptt(params)["y_hat"]
            params["y"] = choice(rng, [y for y in (k / 10 for k in range(-15, 16)) if abs(y - y_hat) >= MIN_ERROR + 0.1])
            params["y"] = int(params["y"]) if float(params["y"]).is_integer() else round(params["y"], 1)
            if _usable(self, params):
                break
        return params

    def validate(self, params):
        require_keys(params, BPTT_FIELDS)
        x = params["x"]
        if not isinstance(x, (list, tuple)) or len(x) not in (2, 3):
            raise ParamError("x", "a list of 2 or 3 rows, one input vector per step (T = 2 or 3)", x)
        x = as_decimal_matrix(x, "x", (2, 3), (1, 2), -5, 5, why=" (T steps of D = 1 or 2 inputs)")
        inputs = len(x[0])
        return {
            "x": x,
            "h0": as_decimal_list(params["h0"], "h0", (2, 2), -0.99, 0.99, why=" (H = 2 hidden units)"),
            "W": as_decimal_matrix(params["W"], "W", (2, 2), (2, 2), -5, 5, why=" (H x H, H = 2)"),
            "U": as_decimal_matrix(params["U"], "U", (2, 2), (inputs, inputs), -5, 5,
                                   why=f" (H = 2 rows of D = {inputs} entries, the length of each x_t)"),
            "b": as_decimal_list(params["b"], "b", (2, 2), -5, 5, why=" (H = 2)"),
            "w_out": as_decimal_list(params["w_out"], "w_out", (2, 2), -5, 5, why=" (H = 2)"),
            "y": as_decimal(params["y"], "y", -10, 10),
        }

    def degenerate(self, params):
        if not all(params["w_out"]):
            return f"w_out = {params['w_out']} has a zero entry: a unit of h_T does not reach the loss"
        if not all(v for row in params["x"] for v in row):
            return "x has a zero entry: a term of dL/dU vanishes"
        if not all(params["h0"]):
            return f"h0 = {params['h0']} has a zero entry: a term of dL/dW vanishes"
        if params["h0"][0] == params["h0"][1]:
            return f"h0 = {params['h0']} has equal entries: the columns of step 1's term of dL/dW are equal"
        if any(len(row) > 1 and len(set(row)) == 1 for row in params["x"]):
            return f"x = {params['x']} has an input with equal entries: the columns of its term of dL/dU are equal"
        answers = self.solve(params)
        if abs(answers["y_hat"] - params["y"]) < MIN_ERROR:
            return f"y_hat = {answers['y_hat']:.4f} is within {MIN_ERROR} of y = {params['y']}: every gradient is tiny"
        cancelled = _bptt_cancellation(params)
        if cancelled:
            return cancelled
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        return _bptt(params)

    def check(self, params, answers):
        """A separate scalar forward pass (loops and math.tanh) and central differences of the loss in every
        entry of W, U, b, w_out and h0."""
        steps, inputs = len(params["x"]), len(params["x"][0])

        def run(values: Mapping[str, Any]) -> tuple[list[list[float]], float, float]:
            h = list(values["h0"])
            states = []
            for t in range(steps):
                h = [math.tanh(sum(values["W"][j][k] * h[k] for k in range(2))
                               + sum(values["U"][j][k] * params["x"][t][k] for k in range(inputs)) + values["b"][j])
                     for j in range(2)]
                states.append(h)
            y_hat = sum(values["w_out"][j] * h[j] for j in range(2))
            return states, y_hat, 0.5 * (y_hat - params["y"]) ** 2

        base = {name: params[name] for name in ("h0", "W", "U", "b", "w_out")}
        states, y_hat, loss = run(base)
        got = _flat("h", answers["h"], steps, 2)
        _close("h", got, [v for row in states for v in row], 1e-9)
        _close("y_hat", [answers["y_hat"]], [y_hat], 1e-9)
        _close("loss", [answers["loss"]], [loss], 1e-9)
        def slope(name: str, index: tuple[int, ...]) -> float:
            return _central_difference(lambda values: run(values)[2], base, name, index)

        tol = 1e-6
        for name, answer, cols in (("W", "dW", 2), ("U", "dU", inputs)):
            _close(answer, _flat(answer, answers[answer], 2, cols),
                   [slope(name, (j, k)) for j in range(2) for k in range(cols)], tol)
        for name, answer in (("b", "db"), ("w_out", "dw_out"), ("h0", "dh0")):
            _close(answer, answers[answer], [slope(name, (j,)) for j in range(2)], tol)

    def context(self, params, answers):
        steps = len(params["x"])
        w = np.array(params["W"], dtype=float)
        states = [params["h0"], *answers["h"]]
        error = answers["y_hat"] - params["y"]
        delta = error * np.array(params["w_out"], dtype=float)
        back = []
        for t in range(steps, 0, -1):
            h_t = np.array(states[t])
            da = delta * (1 - h_t**2)
            back.append({"t": t, "delta": delta.tolist(), "slope": (1 - h_t**2).tolist(), "da": da.tolist(),
                         "h_prev": list(states[t - 1]), "x": params["x"][t - 1],
                         "dW": np.outer(da, states[t - 1]).tolist(), "dU": np.outer(da, params["x"][t - 1]).tolist()})
            delta = w.T @ da
        pre = [[sum(params["W"][j][k] * states[t][k] for k in range(2))
                + sum(params["U"][j][k] * params["x"][t][k] for k in range(len(params["x"][0]))) + params["b"][j]
                for j in range(2)] for t in range(steps)]
        return {
            "T": steps,
            "D": len(params["x"][0]),
            "error": error,
            "back": back,
            "pre": pre,
            "WT": [list(col) for col in zip(*params["W"])],
            "work": sig(4),
        }


def _bptt_saturated(params: Mapping[str, Any]) -> bool:
    w, u, b = (np.array(params[k], dtype=float) for k in ("W", "U", "b"))
    h = np.array(params["h0"], dtype=float)
    for x_t in params["x"]:
        a = w @ h + u @ np.array(x_t, dtype=float) + b
        if np.max(np.abs(a)) > MAX_PREACT:
            return True
        h = np.tanh(a)
    return False


def _bptt_cancellation(params: Mapping[str, Any]) -> str | None:
    """Why an entry of dW, dU or db (sums over the steps) or of dh_0 (a sum over the units) nearly cancels,
    else None."""
    x = np.array(params["x"], dtype=float)
    w = np.array(params["W"], dtype=float)
    got = _bptt(params)
    states = [np.array(params["h0"], dtype=float), *np.array(got["h"])]
    delta = (got["y_hat"] - params["y"]) * np.array(params["w_out"], dtype=float)
    terms: dict[str, list[np.ndarray]] = {"dL/dW": [], "dL/dU": [], "dL/db": []}
    da = delta
    for t in range(len(x), 0, -1):
        da = delta * (1 - states[t] ** 2)
        terms["dL/dW"].append(np.outer(da, states[t - 1]))
        terms["dL/dU"].append(np.outer(da, x[t - 1]))
        terms["dL/db"].append(da)
        delta = w.T @ da
    terms["dL/dh_0"] = [w[i] * da[i] for i in range(2)]
    for name, parts in terms.items():
        k = _cancels(np.array(parts))
        if k is not None:
            return f"the terms of {name} (entry {k + 1}) nearly cancel: its significant digits would need far more digits of every term"
    return None
