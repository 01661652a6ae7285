"""Optimization families: a few steps of an optimizer traced by hand on a quadratic loss.

optimizer-trace (issue 19's JSON contract): the loss L(w) = 1/2 w^T A w - b^T w with A (2 x 2) symmetric
positive definite, so its gradient is A w - b. `optimizer` is one of sgd, momentum, nesterov, rmsprop, adam and
adamw, and its update rules are torch.optim's: the momentum buffer b = mu b + g then w -= lr b (dampening 0);
Nesterov w -= lr (g + mu b) with b already updated this step; RMSProp v = beta2 v + (1 - beta2) g^2 and
w -= lr g / (sqrt(v) + eps) (torch calls beta2 `alpha`); Adam with bias correction and eps outside the root;
weight decay added to the gradient (g + wd w), except AdamW's decoupled w -= lr wd w. Every state starts at 0.
Params that do not apply to the optimizer are null (sgd has no momentum, betas or eps), and so are the
answers `m` (the momentum buffer, or Adam's raw first moment) and `v` (RMSProp's or Adam's raw second moment)
of an optimizer that has no such state. `grads` is the gradient of the loss at each step's starting point,
without weight decay.

Precision: the gradients and the parameters to 4 decimal places; the states to 4 significant digits (Adam's
second moment after one step is (1 - beta2) g^2, as small as 1e-4). The problem asks to carry unrounded values.

Fair exams: the structure is the optimizer, the number of steps and whether the weight decay is 0; each
step then takes the same work (one matrix-vector product, the state, the update).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from qbank.checks import close, close_all
from qbank.draws import choice, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_choice, as_decimal, as_decimal_list, as_decimal_matrix, as_int, require_keys
from qbank.precision import decimals, sig

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
HYPER = ("lr", "momentum", "beta1", "beta2", "eps", "weight_decay")
FIELDS = ("optimizer", *HYPER, "A", "b", "w0", "steps")
# the hyperparameters each optimizer takes (the others are null)
USES = {
    "sgd": ("lr", "weight_decay"),
    "momentum": ("lr", "momentum", "weight_decay"),
    "nesterov": ("lr", "momentum", "weight_decay"),
    "rmsprop": ("lr", "beta2", "eps", "weight_decay"),
    "adam": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "adamw": ("lr", "beta1", "beta2", "eps", "weight_decay"),
}
HAS_M = ("momentum", "nesterov", "adam", "adamw")
HAS_V = ("rmsprop", "adam", "adamw")
ADAPTIVE = ("rmsprop", "adam", "adamw")
# what the sampler draws from, per optimizer
LRS = {"sgd": (0.05, 0.1, 0.2), "momentum": (0.05, 0.1), "nesterov": (0.05, 0.1), "rmsprop": (0.01, 0.05, 0.1),
       "adam": (0.05, 0.1, 0.2), "adamw": (0.05, 0.1, 0.2)}
MOMENTA = (0.5, 0.9)
BETA1S = (0.8, 0.9)
BETA2S = {"rmsprop": (0.9, 0.99), "adam": (0.99, 0.999), "adamw": (0.99, 0.999)}
# large enough that eps inside the root, or left out, shows at 4 decimal places (libraries default to 1e-8)
EPSILONS = (0.01, 0.1)
DECAYS = (0, 0.1)  # sgd, momentum, nesterov, rmsprop
# Adam is drawn without weight decay: its normalized step all but hides an L2 term in the gradient (a slip that
# leaves it out would score on the first step); AdamW, with its decoupled decay, is the optimizer that decays
ADAMW_DECAYS = (0.1, 0.2)
MAX_W = 20  # a parameter beyond this has run away: no problem for a calculator
SMALL_STEP = 1e-3  # a coordinate that moves less than this in a step barely moves at 4 decimal places

GRAD = decimals(4)
PARAM = decimals(4)
STATE = sig(4)
READ_MINUTES = 1.5


def _plain(value: float) -> float:
    return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0


# --- the optimizer, as solve() computes it: NumPy vectors ---------------------------------------------------


def _trace(params: Mapping[str, Any], *, bias_correction: bool = True, eps_inside: bool = False,
           nesterov: bool | None = None, dampened: bool = False, decay: bool = True,
           decoupled: bool | None = None) -> dict[str, Any]:
    """The trace of `steps` steps with the vector formulas; the keyword options are the mistakes a student makes
    (Adam without bias correction, eps inside the root, Nesterov as plain momentum, a buffer averaged with
    1 - mu, weight decay left out, decay coupled or decoupled the wrong way). Returns the answers and, per step,
    the values on the way."""
    opt = params["optimizer"]
    A = np.array(params["A"], dtype=float)
    b = np.array(params["b"], dtype=float)
    w = np.array(params["w0"], dtype=float)
    lr = float(params["lr"])
    wd = float(params["weight_decay"]) if decay else 0.0
    if nesterov is None:
        nesterov = opt == "nesterov"
    if decoupled is None:
        decoupled = opt == "adamw"
    m = np.zeros(2)
    v = np.zeros(2)
    out: dict[str, Any] = {"grads": [], "w": [], "m": [] if opt in HAS_M else None, "v": [] if opt in HAS_V else None,
                           "steps": []}
    for t in range(1, params["steps"] + 1):
        g = A @ w - b
        geff = g if decoupled else g + wd * w
        step: dict[str, Any] = {"t": t, "w_prev": w.copy(), "g": g, "geff": geff}
        if opt == "sgd":
            update = geff
        elif opt in ("momentum", "nesterov"):
            mu = float(params["momentum"])
            m = mu * m + ((1 - mu) if dampened else 1.0) * geff
            update = geff + mu * m if nesterov else m
        elif opt == "rmsprop":
            beta2 = float(params["beta2"])
            v = beta2 * v + (1 - beta2) * geff**2
            eps = float(params["eps"])
            denom = np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps
            step["denom"] = denom
            update = geff / denom
        else:
            beta1, beta2, eps = float(params["beta1"]), float(params["beta2"]), float(params["eps"])
            m = beta1 * m + (1 - beta1) * geff
            v = beta2 * v + (1 - beta2) * geff**2
            mhat = m / (1 - beta1**t) if bias_correction else m
            vhat = v / (1 - beta2**t) if bias_correction else v
            denom = np.sqrt(vhat + eps) if eps_inside else np.sqrt(vhat) + eps
            step.update({"mhat": mhat, "vhat": vhat, "denom": denom, "bc1": 1 - beta1**t, "bc2": 1 - beta2**t})
            update = mhat / denom
        step["update"] = update
        new = w - lr * update
        if decoupled and wd:
            step["decay"] = lr * wd * w
            new = new - lr * wd * w
        w = new
        step.update({"m": m.copy(), "v": v.copy(), "w": w.copy()})
        out["steps"].append(step)
        out["grads"].append([_plain(x) for x in g])
        out["w"].append([_plain(x) for x in w])
        if out["m"] is not None:
            out["m"].append([_plain(x) for x in m])
        if out["v"] is not None:
            out["v"].append([_plain(x) for x in v])
    return out


def _answers(trace: Mapping[str, Any]) -> dict[str, Any]:
    return {name: trace[name] for name in ("grads", "w", "m", "v")}


# --- mistakes -------------------------------------------------------------------------------------------------


def _slip(params: Mapping[str, Any], targets: tuple[str, ...], **options: Any) -> dict[str, Any]:
    """The answers `targets` that a student's slip changes directly, along the trace the slip gives (a wrong
    step moves every later step too). A number the slip leaves exactly as it is (a coordinate it does not
    touch on that step) is None: right by its nature. Answers the slip changes only through later gradients
    (Adam's moments after a wrong denominator) are left out: a tiny change there is no sign of the slip."""
    right = _answers(_trace(params))
    wrong = _answers(_trace(params, **options))
    out: dict[str, Any] = {}
    for name in targets:
        if wrong[name] is None or right[name] is None:
            continue
        out[name] = [[None if x == y else x for x, y in zip(row, rrow)] for row, rrow in zip(wrong[name], right[name])]
    return out


def _decay_in_grads(params: Mapping[str, Any]) -> dict[str, Any]:
    """The gradients given with the weight decay added (g + wd w), where the problem asks for them without."""
    wd = params["weight_decay"]
    if not wd:
        return {}
    trace = _trace(params)
    return {"grads": [[None if w == 0 else _plain(g + wd * w) for g, w in zip(s["g"], s["w_prev"])]
                      for s in trace["steps"]]}


def _when(optimizers: tuple[str, ...], targets: tuple[str, ...] = ("w",), **options: Any):
    def mistake(params: Mapping[str, Any]) -> dict[str, Any]:
        return _slip(params, targets, **options) if params["optimizer"] in optimizers else {}

    return mistake


def _decay_left_out(params: Mapping[str, Any]) -> dict[str, Any]:
    """Without the decay: the parameters, and the states of an optimizer that adds the decay to the gradient."""
    if not params["weight_decay"]:
        return {}
    return _slip(params, ("w",) if params["optimizer"] == "adamw" else ("m", "v", "w"), decay=False)


def _decay_other_way(params: Mapping[str, Any]) -> dict[str, Any]:
    """AdamW's decay added to the gradient (as Adam's), or Adam's decay decoupled (as AdamW's)."""
    opt = params["optimizer"]
    if opt == "adamw":
        return _slip(params, ("m", "v", "w"), decoupled=False)
    if opt == "adam" and params["weight_decay"]:
        return _slip(params, ("m", "v", "w"), decoupled=True)
    return {}


@register
class OptimizerTrace(Family):
    id = "optimizer-trace"
    title = "A few steps of SGD, momentum, Nesterov, RMSProp, Adam or AdamW on a quadratic loss"
    topic = "optimization"
    difficulty = 2
    answers = {
        "grads": Answer("matrix", "the gradient A w - b of the loss at each step's starting point, without weight "
                        "decay (steps x 2)", precision=GRAD, symbol=r"\nabla L", label="grad L",
                        index=("step {}", "coordinate {}")),
        "m": Answer("matrix", "the first state after each step: the momentum buffer, or Adam's uncorrected first "
                    "moment (steps x 2; null for sgd and rmsprop)", precision=STATE, symbol="m", label="m",
                    index=("after step {}", "coordinate {}")),
        "v": Answer("matrix", "the second state after each step: RMSProp's or Adam's uncorrected second moment "
                    "(steps x 2; null for sgd, momentum and nesterov)", precision=STATE, symbol="v", label="v",
                    index=("after step {}", "coordinate {}")),
        "w": Answer("matrix", "the parameters after each step (steps x 2)", precision=PARAM, symbol="w", label="w",
                    index=("after step {}", "coordinate {}")),
    }
    mistakes = {
        "Adam's bias correction left out": _when(("adam", "adamw"), bias_correction=False),
        "eps added inside the square root": _when(ADAPTIVE, eps_inside=True),
        "Nesterov's look-ahead left out (the plain momentum update)": _when(("nesterov",), nesterov=False),
        "the momentum buffer averaged, b = mu b + (1 - mu) g (dampening 1 - mu)": _when(
            ("momentum", "nesterov"), ("m", "w"), dampened=True),
        "the weight decay left out": _decay_left_out,
        "AdamW's decay added to the gradient, or Adam's decoupled": _decay_other_way,
        "the gradient given with the weight decay added": _decay_in_grads,
    }
    structure = ("optimizer", "steps")
    asks = ("optimizer-update-trace",)

    def asks_of(self, params):
        opt = params["optimizer"]
        extra = {"sgd": (), "momentum": ("momentum-update",), "nesterov": ("nesterov-update",),
                 "rmsprop": ("rmsprop-update",), "adam": ("adam-update",), "adamw": ("adamw-update",)}[opt]
        return (*self.asks, *extra)

    def reveals_of(self, params):
        # the problem writes Adam's update out, bias correction and all
        return ("adam-bias-correction",) if params["optimizer"] in ("adam", "adamw") else ()

    def structure_of(self, params):
        return {"optimizer": params["optimizer"], "steps": params["steps"], "decay": params["weight_decay"] != 0}

    # --- the card: parts and working time ---------------------------------------------------------------------

    @staticmethod
    def _step_minutes(params: Mapping[str, Any]) -> tuple[float, float, float]:
        """Minutes per step: the gradient, the state, the update (with the weight decay)."""
        opt = params["optimizer"]
        decay = 0.5 if params["weight_decay"] else 0.0
        state = {"sgd": 0.0, "momentum": 0.5, "nesterov": 0.5, "rmsprop": 0.75, "adam": 1.25, "adamw": 1.25}[opt]
        update = {"sgd": 0.5, "momentum": 0.5, "nesterov": 1.0, "rmsprop": 1.0, "adam": 1.75, "adamw": 1.75}[opt]
        return 1.0, state, update + decay

    def parts(self, params):
        n = params["steps"]
        grad, state, update = self._step_minutes(params)
        weight = lambda minutes: max(1, math.floor(n * minutes + 0.5))  # noqa: E731
        names = tuple(name for name, has in (("m", HAS_M), ("v", HAS_V)) if params["optimizer"] in has)
        out = [Part(("grads",), weight(grad))]
        if names:
            out.append(Part(names, weight(state)))
        out.append(Part(("w",), weight(update)))
        return tuple(out)

    def minutes(self, params):
        return round(READ_MINUTES + params["steps"] * sum(self._step_minutes(params)), 2)

    # --- sample, validate, degenerate -------------------------------------------------------------------------

    def sample(self, rng):
        opt = choice(rng, OPTIMIZERS)
        while True:
            a, d = integer(rng, 1, 4), integer(rng, 1, 4)
            c = choice(rng, (-1, -0.5, 0.5, 1))
            if a * d - c * c > 0:
                break
        out: dict[str, Any] = {name: None for name in HYPER}
        out.update({
            "optimizer": opt,
            "lr": choice(rng, LRS[opt]),
            "weight_decay": choice(rng, {"adamw": ADAMW_DECAYS, "adam": (0,)}.get(opt, DECAYS)),
            "A": [[a, c], [c, d]],
            "b": [integer(rng, -2, 2) for _ in range(2)],
            "w0": [integer(rng, -2, 2) for _ in range(2)],
            "steps": integer(rng, 2, 3),
        })
        if opt in ("momentum", "nesterov"):
            out["momentum"] = choice(rng, MOMENTA)
        if opt in ("adam", "adamw"):
            out["beta1"] = choice(rng, BETA1S)
        if opt in ADAPTIVE:
            out["beta2"] = choice(rng, BETA2S[opt])
            out["eps"] = choice(rng, EPSILONS)
        return {name: out[name] for name in FIELDS}

    def validate(self, params):
        require_keys(params, FIELDS)
        opt = as_choice(params["optimizer"], "optimizer", OPTIMIZERS)
        uses = USES[opt]
        # A hyperparameter this optimizer does not take must be null, and one it takes must be given; either
        # way, the params may have been drawn for another optimizer (a pinned `optimizer`), so `degenerate`
        # refuses them, naming the field (and the engine draws again, unless every param was pinned).
        out: dict[str, Any] = {"optimizer": opt}
        ranges = {"lr": (0, 1), "momentum": (0, 0.99), "beta1": (0, 0.999), "beta2": (0, 0.9999),
                  "eps": (0, 1), "weight_decay": (0, 1)}
        for name in HYPER:
            value = params[name]
            if value is None or name not in uses:
                out[name] = value
                continue
            lo, hi = ranges[name]
            out[name] = as_decimal(value, name, lo, hi, 8 if name == "eps" else 4)
            if name in ("lr", "beta2") and out[name] == 0:
                raise ParamError(name, f"a number above 0 and at most {hi}", value)
        A = as_decimal_matrix(params["A"], "A", (2, 2), (2, 2), -10, 10, 2)
        if A[0][1] != A[1][0]:
            raise ParamError("A", "a symmetric matrix (A[0][1] = A[1][0])", params["A"])
        if not (A[0][0] > 0 and A[0][0] * A[1][1] - A[0][1] * A[1][0] > 0):
            raise ParamError("A", "a positive definite matrix (A[0][0] > 0 and det A > 0)", params["A"])
        out["A"] = A
        out["b"] = as_decimal_list(params["b"], "b", (2, 2), -10, 10, 2)
        out["w0"] = as_decimal_list(params["w0"], "w0", (2, 2), -10, 10, 2)
        out["steps"] = as_int(params["steps"], "steps", 2, 3)
        return {name: out[name] for name in FIELDS}

    def degenerate(self, params):
        opt = params["optimizer"]
        missing = [name for name in USES[opt] if params[name] is None]
        if missing:
            return f"{opt} needs {', '.join(missing)}, null here (params drawn for another optimizer)"
        foreign = [name for name in HYPER if name not in USES[opt] and params[name] is not None]
        if foreign:
            return f"{', '.join(foreign)} must be null for {opt}, which takes {', '.join(USES[opt])}"
        if opt == "adamw" and not params["weight_decay"]:
            return "AdamW with weight_decay = 0 is Adam: give a weight decay"
        trace = _trace(params)
        g0 = trace["grads"][0]
        if any(x == 0 for x in g0):
            return f"the gradient at w0 is {g0}: a zero entry leaves that coordinate's first step to the decay alone"
        if any(abs(x) > MAX_W for row in trace["w"] for x in row):
            return f"the parameters run past {MAX_W}: the learning rate is too large for A"
        for t, s in enumerate(trace["steps"], start=1):
            moved = np.abs(s["w"] - s["w_prev"])
            if np.any(moved < SMALL_STEP):
                return f"a coordinate moves less than {SMALL_STEP} in step {t}: nothing to see at 4 decimal places"
        return scoring_mistake(self, params, self.solve(params))

    # --- solve and check --------------------------------------------------------------------------------------

    def solve(self, params):
        return _answers(_trace(params))

    def check(self, params, answers):
        """A scalar loop, coordinate by coordinate, in torch.optim's own formulation (the buffer set to the first
        gradient on the first step; Adam's step size lr / (1 - beta1^t) and denominator sqrt(v) / sqrt(1 - beta2^t)
        + eps; AdamW scaling w by 1 - lr wd before the step), with the gradient summed term by term with math.fsum;
        and the first gradient exactly, from the decimals as fractions."""
        from fractions import Fraction

        opt = params["optimizer"]
        A = [[float(x) for x in row] for row in params["A"]]
        b = [float(x) for x in params["b"]]
        w = [float(x) for x in params["w0"]]
        lr = float(params["lr"])
        wd = float(params["weight_decay"] or 0)
        mu = float(params["momentum"] or 0)
        beta1, beta2 = float(params["beta1"] or 0), float(params["beta2"] or 0)
        eps = float(params["eps"] or 0)
        n = params["steps"]
        buf: list[float | None] = [None, None]
        exp_avg, exp_avg_sq = [0.0, 0.0], [0.0, 0.0]
        want: dict[str, list] = {"grads": [], "w": [], "m": [], "v": []}
        for t in range(1, n + 1):
            grads = [math.fsum([A[i][0] * w[0], A[i][1] * w[1], -b[i]]) for i in range(2)]
            new_w = []
            for i in range(2):
                g, p = grads[i], w[i]
                if opt != "adamw" and wd:
                    g = g + wd * p
                if opt == "sgd":
                    p = p - lr * g
                elif opt in ("momentum", "nesterov"):
                    buf[i] = g if buf[i] is None else mu * buf[i] + g
                    d = g + mu * buf[i] if opt == "nesterov" else buf[i]
                    p = p - lr * d
                elif opt == "rmsprop":
                    exp_avg_sq[i] = exp_avg_sq[i] * beta2 + (1 - beta2) * g * g
                    p = p - lr * g / (math.sqrt(exp_avg_sq[i]) + eps)
                else:
                    if opt == "adamw":
                        p = p * (1 - lr * wd)
                    exp_avg[i] = exp_avg[i] + (1 - beta1) * (g - exp_avg[i])  # torch's lerp
                    exp_avg_sq[i] = exp_avg_sq[i] * beta2 + (1 - beta2) * g * g
                    step_size = lr / (1 - beta1**t)
                    denom = math.sqrt(exp_avg_sq[i]) / math.sqrt(1 - beta2**t) + eps
                    p = p - step_size * exp_avg[i] / denom
                new_w.append(p)
            w = new_w
            want["grads"].append(grads)
            want["w"].append(list(w))
            want["m"].append(list(exp_avg) if opt in ("adam", "adamw") else [0.0 if x is None else x for x in buf])
            want["v"].append(list(exp_avg_sq))
        close_all(answers["grads"], want["grads"], "grads", 1e-9)
        close_all(answers["w"], want["w"], "w", 1e-9)
        for name, has in (("m", HAS_M), ("v", HAS_V)):
            if opt in has:
                close_all(answers[name], want[name], name, 1e-9)
            elif answers[name] is not None:
                raise AssertionError(f"{name}: {opt} has no such state, so the answer must be null, got {answers[name]!r}")
        exact = [sum((Fraction(str(params["A"][i][j])) * Fraction(str(params["w0"][j])) for j in range(2)),
                     -Fraction(str(params["b"][i]))) for i in range(2)]
        for i in range(2):
            close(answers["grads"][0][i], float(exact[i]), f"grads[0][{i}]", 1e-12)

    # --- display ----------------------------------------------------------------------------------------------

    def context(self, params, answers):
        opt = params["optimizer"]
        trace = _trace(params)
        steps = []
        for s in trace["steps"]:
            steps.append({key: ([_plain(x) for x in value] if isinstance(value, np.ndarray) else value)
                          for key, value in s.items()})
        return {
            "opt": opt,
            "n": params["steps"],
            "wd": params["weight_decay"],
            "coupled": bool(params["weight_decay"]) and opt != "adamw",
            "dvar": "d" if params["weight_decay"] and opt != "adamw" else "g",
            "has_m": opt in HAS_M,
            "has_v": opt in HAS_V,
            "trace": steps,
            "work": 5,  # decimal places of the values on the way (trailing zeros trimmed)
            "small": 6,  # and of the second moments
            "names": {"sgd": "SGD", "momentum": "SGD with momentum", "nesterov": "SGD with Nesterov momentum",
                      "rmsprop": "RMSProp", "adam": "Adam", "adamw": "AdamW"}[opt],
        }
