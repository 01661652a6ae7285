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
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.checks import close, close_all
from qbank.draws import choice, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_choice, as_decimal, as_decimal_list, as_decimal_matrix, as_int, require_keys
from qbank.precision import decimals, exact, sig

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


# --- gd-quadratic ------------------------------------------------------------------------------------------------

# (p, c, r): half the difference of A's diagonal entries, the off-diagonal entry, and the half-gap between the
# eigenvalues r = sqrt(p^2 + c^2), rational by construction
TRIPLES = ((0, 1, 1), (0, 2, 2), (0, 3, 3), (3, 4, 5), (4, 3, 5), (1.5, 2, 2.5), (2, 1.5, 2.5))
FACTORS = (0.1, 0.05, 0.01, 0.001)
MAX_STEPS = 300  # more steps than this is no problem for a calculator
TIE_MARGIN = 0.01  # ln(factor) / ln(rate) this close to a whole number: a student's rounded logarithms may miss by one
RATIONAL = exact(fractions=True)


def _F(value: Any) -> Fraction:
    return Fraction(str(value))


def _rational_sqrt(value: Fraction) -> Fraction | None:
    """The square root of a non-negative fraction when it is a fraction, else None."""
    num, den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    return Fraction(num, den) if num * num == value.numerator and den * den == value.denominator else None


def _number(value: Fraction) -> int | float:
    return value.numerator if value.denominator == 1 else value.numerator / value.denominator


def _gd(params: Mapping[str, Any]) -> dict[str, Any]:
    """Everything exactly, with fractions: the eigenvalues from the characteristic polynomial, the rate and the
    number of steps (the first t with rate^t <= factor, by repeated multiplication)."""
    A = [[_F(x) for x in row] for row in params["A"]]
    centre = (A[0][0] + A[1][1]) / 2
    half_gap = _rational_sqrt(((A[0][0] - A[1][1]) / 2) ** 2 + A[0][1] ** 2)
    low, high = centre - half_gap, centre + half_gap
    lr, factor = _F(params["lr"]), _F(params["factor"])
    factors = [abs(1 - lr * low), abs(1 - lr * high)]
    rate = max(factors)
    steps = None
    if rate < 1:
        steps, power = 1, rate
        while power > factor and steps <= MAX_STEPS:
            steps += 1
            power *= rate
    return {"low": low, "high": high, "centre": centre, "half_gap": half_gap, "lr": lr, "factor": factor,
            "factors": factors, "rate": rate, "steps": steps, "lr_max": 2 / high, "best_lr": 2 / (low + high),
            "best_rate": (high - low) / (high + low), "kappa": high / low}


@register
class GdQuadratic(Family):
    id = "gd-quadratic"
    title = "Gradient descent on a quadratic: the step-size limit, the rate, the steps needed and the best step size"
    topic = "optimization"
    difficulty = 2
    answers = {
        "eigenvalues": Answer("vector", "the eigenvalues of A, ascending", precision=RATIONAL, symbol=r"\lambda",
                              label="eigenvalues", index=("eigenvalue {}",)),
        "lr_max": Answer("number", "the largest learning rate below which gradient descent converges from every "
                         "start, 2 / lambda_max", precision=RATIONAL, symbol=r"\eta_{\max}", label="lr_max"),
        "converges": Answer("boolean", "whether gradient descent converges from every start at the given lr",
                            label="converges"),
        "rate": Answer("number", "the rate max_i |1 - lr lambda_i| at the given lr", precision=RATIONAL,
                       symbol=r"\rho", label="rate"),
        "steps": Answer("integer", "the smallest t with rate^t <= factor (null when it does not converge)",
                        precision=exact(whole=True), symbol="T", label="steps"),
        "best_lr": Answer("number", "the learning rate with the smallest rate, 2 / (lambda_min + lambda_max)",
                          precision=RATIONAL, symbol=r"\eta^\star", label="best lr"),
        "best_rate": Answer("number", "the rate at the best learning rate, (kappa - 1) / (kappa + 1)",
                            precision=RATIONAL, symbol=r"\rho^\star", label="best rate"),
    }
    mistakes = {
        "the diagonal of A taken for its eigenvalues": lambda p: {
            "eigenvalues": sorted(float(x) for x in (p["A"][0][0], p["A"][1][1]))},
        "the limit 1 / lambda_max (the factor 2 left out)": lambda p: {"lr_max": _number(1 / _gd(p)["high"])},
        "the limit from lambda_min, 2 / lambda_min": lambda p: {"lr_max": _number(2 / _gd(p)["low"])},
        "the best rate 1 - lambda_min / lambda_max": lambda p: {"best_rate": _number(1 - 1 / _gd(p)["kappa"])},
        "the best learning rate 1 / lambda_max": lambda p: {"best_lr": _number(1 / _gd(p)["high"])},
        "the best learning rate 1 / lambda_min": lambda p: {"best_lr": _number(1 / _gd(p)["low"])},
        "one step too few (the last t with rate^t above the factor)": lambda p: (
            {"steps": _gd(p)["steps"] - 1} if _gd(p)["steps"] else {}),
    }
    asks = ("gd-step-size-limit", "gd-convergence-rate", "gd-condition-number")
    # A is always 2 x 2; whether the given lr converges is the feature that changes the work (part (c) asks T)
    structure = ("A",)

    def structure_of(self, params):
        return {"A": [2, 2], "converges": bool(_gd(params)["rate"] < 1)}

    def _part_minutes(self, params: Mapping[str, Any]) -> tuple[float, ...]:
        # (a) the characteristic polynomial and its roots; (b) the limit and the comparison; (c) the rate from
        # both eigenvalues, and with convergence the logarithms for T and the check of T and T - 1; (d) the
        # balance of the two factors and kappa
        converges = _gd(params)["rate"] < 1
        return (2.0, 1.0, 1.5 + (2.0 if converges else 0.0), 2.0)

    def parts(self, params):
        names = (("eigenvalues",), ("lr_max", "converges"),
                 ("rate", "steps") if _gd(params)["rate"] < 1 else ("rate",), ("best_lr", "best_rate"))
        return tuple(Part(n, max(1, math.floor(m + 0.5))) for n, m in zip(names, self._part_minutes(params)))

    def minutes(self, params):
        return round(1 + sum(self._part_minutes(params)), 2)

    # --- sample, validate, degenerate ------------------------------------------------------------------------

    def sample(self, rng):
        p, c, r = TRIPLES[int(rng.integers(len(TRIPLES)))]
        centre = r + choice(rng, (0.5, 1, 1.5, 2, 3)) if p != int(p) else r + choice(rng, (1, 2, 3))
        if p == 0:
            centre = integer(rng, r + 1, r + 4)
        sign = choice(rng, (-1, 1))
        swap = choice(rng, (False, True))
        a, d = centre + p, centre - p
        if swap:
            a, d = d, a
        A = [[_tidy(a), _tidy(sign * c)], [_tidy(sign * c), _tidy(d)]]
        high = centre + r
        limit = 2 / high
        converge = rng.random() < 0.75
        lo, hi = (0.25 * limit, 0.97 * limit) if converge else (1.03 * limit, 1.4 * limit)
        lr = round(float(rng.uniform(lo, hi)), 2 if lo >= 0.1 else 3)
        return {"A": A, "lr": _tidy(lr), "factor": choice(rng, FACTORS)}

    def validate(self, params):
        require_keys(params, ("A", "lr", "factor"))
        A = as_decimal_matrix(params["A"], "A", (2, 2), (2, 2), -20, 20, 2)
        if A[0][1] != A[1][0]:
            raise ParamError("A", "a symmetric matrix (A[0][1] = A[1][0])", params["A"])
        if not (A[0][0] > 0 and A[0][0] * A[1][1] - A[0][1] ** 2 > 0):
            raise ParamError("A", "a positive definite matrix (A[0][0] > 0 and det A > 0)", params["A"])
        if _rational_sqrt(((_F(A[0][0]) - _F(A[1][1])) / 2) ** 2 + _F(A[0][1]) ** 2) is None:
            raise ParamError("A", "a matrix with rational eigenvalues (((a - d)/2)^2 + c^2 a square, as for "
                             "[[9, 4], [4, 3]])", params["A"])
        return {"A": A, "lr": as_decimal(params["lr"], "lr", 0.0001, 10, 4, nonzero=True),
                "factor": as_decimal(params["factor"], "factor", 0.000001, 0.5, 6)}

    def degenerate(self, params):
        A = params["A"]
        if A[0][1] == 0:
            return "A is diagonal: its eigenvalues are its diagonal entries"
        g = _gd(params)
        if g["rate"] == 1:
            return f"lr = {params['lr']} is exactly 2 / lambda_max: gradient descent neither converges nor diverges"
        for name in ("lr_max", "best_lr", "best_rate"):
            if g[name].denominator > 1000:
                return f"{name} = {g[name]} has a denominator over 1000: no number for a hand computation"
        if g["rate"] < 1:
            if g["steps"] > MAX_STEPS:
                return f"the rate {float(g['rate']):.4f} needs more than {MAX_STEPS} steps"
            exact_t = math.log(float(g["factor"])) / math.log(float(g["rate"]))
            if abs(exact_t - round(exact_t)) < TIE_MARGIN:
                return (f"ln(factor) / ln(rate) = {exact_t:.4f} is (nearly) a whole number: rate^t is (nearly) the "
                        "factor, so rounded logarithms may miss the number of steps by one")
        elif g["rate"] > 3:
            return f"the rate {float(g['rate']):g} is far above 1: no question whether it diverges"
        return scoring_mistake(self, params, self.solve(params))

    # --- solve and check --------------------------------------------------------------------------------------

    def solve(self, params):
        g = _gd(params)
        return {
            "eigenvalues": [_number(g["low"]), _number(g["high"])],
            "lr_max": _number(g["lr_max"]),
            "converges": bool(g["rate"] < 1),
            "rate": _number(g["rate"]),
            "steps": g["steps"],
            "best_lr": _number(g["best_lr"]),
            "best_rate": _number(g["best_rate"]),
        }

    def check(self, params, answers):
        """Another route, in floats: the eigenvalues by numpy.linalg.eigvalsh; the rate as the spectral norm of
        the iteration matrix I - lr A (the error of gradient descent is multiplied by it each step); convergence by
        running gradient descent from a start along the worst eigenvector; the steps by the norms of the matrix
        powers (I - lr A)^T and (I - lr A)^(T - 1) against the factor; the best learning rate by the rate just
        beside it."""
        A = np.array(params["A"], dtype=float)
        lr, factor = float(params["lr"]), float(params["factor"])
        values, vectors = np.linalg.eigh(A)
        close_all(answers["eigenvalues"], [float(v) for v in values], "eigenvalues", 1e-9)
        close(answers["lr_max"], 2 / max(values), "lr_max", 1e-9)
        M = np.eye(2) - lr * A

        def rate_at(step: float) -> float:
            return float(np.linalg.norm(np.eye(2) - step * A, 2))

        close(answers["rate"], rate_at(lr), "rate", 1e-9)
        worst = vectors[:, int(np.argmax(np.abs(1 - lr * values)))]
        w = worst.copy()
        for _ in range(60):
            w = w - lr * (A @ w)
        shrinks = bool(np.linalg.norm(w) < 1)
        if answers["converges"] is not shrinks:
            raise AssertionError(f"converges = {answers['converges']!r}, 60 steps of gradient descent give "
                                 f"|w| = {np.linalg.norm(w):.3g} from a unit start")
        if shrinks:
            t = answers["steps"]
            if not isinstance(t, int) or t < 1:
                raise AssertionError(f"steps: expected a whole number of steps, got {t!r}")
            if not np.linalg.norm(np.linalg.matrix_power(M, t), 2) <= factor * (1 + 1e-9):
                raise AssertionError(f"steps = {t}: ||(I - lr A)^{t}|| is still above the factor {factor}")
            if t > 1 and not np.linalg.norm(np.linalg.matrix_power(M, t - 1), 2) > factor:
                raise AssertionError(f"steps = {t}: {t - 1} steps already reach the factor {factor}")
        elif answers["steps"] is not None:
            raise AssertionError(f"steps: gradient descent diverges, so the answer must be null, got {answers['steps']!r}")
        best = answers["best_lr"]
        close(best, 2 / (min(values) + max(values)), "best_lr", 1e-9)
        close(answers["best_rate"], rate_at(best), "best_rate", 1e-9)
        for nudge in (-1e-4, 1e-4):
            if not rate_at(best + nudge) > rate_at(best):
                raise AssertionError(f"best_lr = {best}: the rate at {best + nudge} is no larger")

    # --- display ----------------------------------------------------------------------------------------------

    def context(self, params, answers):
        g = _gd(params)
        A = params["A"]
        return {
            "trace": _number(_F(A[0][0]) + _F(A[1][1])),
            "det": _number(_F(A[0][0]) * _F(A[1][1]) - _F(A[0][1]) ** 2),
            "centre": _number(g["centre"]),
            "half_gap": _number(g["half_gap"]),
            "factors": [_number(f) for f in g["factors"]],
            "inside": [_number(1 - g["lr"] * g["low"]), _number(1 - g["lr"] * g["high"])],
            "kappa": _number(g["kappa"]),
            "log_ratio": math.log(float(g["factor"])) / math.log(float(g["rate"])) if g["rate"] < 1 else None,
            "before": _number(g["rate"] ** (g["steps"] - 1)) if g["steps"] and g["steps"] > 1 else None,
            "at": float(g["rate"] ** g["steps"]) if g["steps"] else None,
            "exact": RATIONAL,
            "powers": sig(6),  # rate^(T-1) and rate^T beside the factor: enough digits to tell them apart
        }


def _tidy(value: float) -> int | float:
    """A drawn number as it prints: an int when whole, else a float rounded to its few decimals."""
    value = round(float(value), 6)
    return int(value) if value.is_integer() else value
