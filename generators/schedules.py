"""Optimization families about the size of a step: clipping the gradient by its global norm (grad-clip) and
the learning rate of a schedule with linear warmup (lr-schedule).

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

lr-schedule (issue 19's JSON contract): `schedule` is "cosine" or "step"; `lr_max`, `warmup`, `total` and
`at` (3 or 4 increasing step indices in 0..total) apply to both, `lr_min` to the cosine schedule only,
`gamma` and `step_size` to the step schedule only (the params of the other schedule are null; a pinned one
that does not apply is an error naming it). Step t of the schedule has

- for t <= warmup (warmup >= 1): lr_max t / warmup, a straight line from 0 at step 0 to lr_max;
- after it, cosine: lr_min + (lr_max - lr_min) (1 + cos(pi (t - warmup) / (total - warmup))) / 2;
- or step: lr_max gamma^floor((t - warmup) / step_size), with no floor at lr_min.

Precision: every rate to 4 significant digits (rates range over orders of magnitude). The sampler asks for
one step inside the warmup and the others in the decay, at tenths of the decay for the cosine schedule.
Fair exams: the structure is the schedule, the number of steps asked and how many of them fall in the
warmup (a warmup step is one division, a decay step a cosine or a power). `mistakes` are graded per whole
answer: a slip that leaves one step's rate right by coincidence (a floor that happens to agree) still shows
in another step's, and a draw whose every step hides it is refused.
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
from qbank.params import ParamError, as_choice, as_decimal, as_decimal_list, as_int, require_keys
from qbank.precision import decimals, sig

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


# ---------------------------------------------------------------------------------------------------- lr-schedule

SCHEDULE_FIELDS = ("schedule", "lr_max", "lr_min", "warmup", "total", "gamma", "step_size", "at")
SCHEDULES = ("cosine", "step")
OWN = {"cosine": ("lr_min",), "step": ("gamma", "step_size")}  # the params only one schedule has
RATE = sig(4)
LR_MAXES = (0.05, 0.1, 0.2, 0.3, 0.5)
WARMUPS = (4, 5, 8, 10, 20, 50, 100)
DECAYS = (20, 30, 40, 60, 90, 100, 200, 300, 400, 500, 1000)  # total - warmup
GAMMAS = (0.1, 0.2, 0.5)
WARMUP_STEP_MINUTES = 0.5  # one product and one division
COSINE_STEP_MINUTES = 1.5  # the progress fraction, a cosine in radians, three operations
STEP_STEP_MINUTES = 1.0  # a floor and a power


def _short(value: float) -> float | int:
    """A product of short decimals as the short decimal it is (0.1 / 10 is 0.01, not 0.010000000000000002)."""
    value = round(value, 10)
    return int(value) if float(value).is_integer() else value


def _rate(p: Mapping[str, Any], t: int, *, cosine_progress=None, cosine_shape=None, exponent=None,
          warmup_rate=None, lr_min=None) -> float:
    """The learning rate at step t, with a student's slip in one piece of the formula as an option."""
    w, total, lr_max = p["warmup"], p["total"], p["lr_max"]
    if t <= w:
        return float(warmup_rate(t) if warmup_rate else lr_max * t / w)
    if p["schedule"] == "cosine":
        progress = cosine_progress(t) if cosine_progress else (t - w) / (total - w)
        shape = cosine_shape(progress) if cosine_shape else (1 + math.cos(math.pi * progress)) / 2
        floor = p["lr_min"] if lr_min is None else lr_min
        return float(floor + (lr_max - floor) * shape)
    k = exponent(t) if exponent else (t - w) // p["step_size"]
    return float(lr_max * p["gamma"] ** k)


def _with(applies, slip_of):
    """A mistake: the rates with a slip (slip_of(params): keyword arguments of `_rate`) at the steps it applies
    to and right at the others; None when it applies to none of the asked steps."""

    def wrong(p: Mapping[str, Any]) -> dict[str, Any]:
        if not any(applies(p, t) for t in p["at"]):
            return {"lr": None}
        return {"lr": [_plain(_rate(p, t, **slip_of(p))) for t in p["at"]]}

    return wrong


def _in_warmup(p: Mapping[str, Any], t: int) -> bool:
    return 0 < t < p["warmup"]


def _decaying(schedule: str, needs_floor: bool = False):
    def applies(p: Mapping[str, Any], t: int) -> bool:
        return p["schedule"] == schedule and t > p["warmup"] and (not needs_floor or p["lr_min"] not in (None, 0))

    return applies


@register
class LRSchedule(Family):
    id = "lr-schedule"
    title = "The learning rate of a schedule with linear warmup and cosine or step decay"
    topic = "optimization"
    difficulty = 1
    answers = {
        "lr": Answer("vector", "the learning rate at each asked step", precision=RATE, symbol=r"\eta_t", label="lr",
                     index=("step {}",)),
    }
    mistake_unit = "answer"
    mistakes = {
        "no warmup (lr_max from step 0)": _with(_in_warmup, lambda p: {"warmup_rate": lambda t: p["lr_max"]}),
        "the warmup counted from 1 (lr_max (t + 1) / warmup)": _with(
            _in_warmup, lambda p: {"warmup_rate": lambda t: p["lr_max"] * (t + 1) / p["warmup"]}),
        "the cosine's progress over the whole run, t / total": _with(
            _decaying("cosine"), lambda p: {"cosine_progress": lambda t: t / p["total"]}),
        "the cosine without (1 + cos) / 2": _with(
            _decaying("cosine"), lambda p: {"cosine_shape": lambda x: math.cos(math.pi * x)}),
        "lr_min left out of the cosine (lr_max (1 + cos) / 2)": _with(
            _decaying("cosine", needs_floor=True), lambda p: {"lr_min": 0}),
        "the cosine taken in degrees": _with(
            _decaying("cosine"), lambda p: {"cosine_shape": lambda x: (1 + math.cos(math.radians(math.pi * x))) / 2}),
        "the step decay counted from step 0, floor(t / step_size)": _with(
            _decaying("step"), lambda p: {"exponent": lambda t: t // p["step_size"]}),
        "the floor left out of the step decay": _with(
            _decaying("step"), lambda p: {"exponent": lambda t: (t - p["warmup"]) / p["step_size"]}),
    }
    structure = ("schedule", "at")
    asks = ("learning-rate-schedule",)
    reveals = ()

    def sample(self, rng):
        schedule = choice(rng, SCHEDULES)
        warmup, decay = choice(rng, WARMUPS), choice(rng, DECAYS)
        lr_max = choice(rng, LR_MAXES)
        count = integer(rng, 3, 4)
        early = integer(rng, 1, warmup - 1)
        params: dict[str, Any] = {"schedule": schedule, "lr_max": lr_max, "lr_min": None, "warmup": warmup,
                                  "total": warmup + decay, "gamma": None, "step_size": None}
        if schedule == "cosine":
            params["lr_min"] = choice(rng, [0, _short(lr_max / 10), _short(lr_max / 100)])
            tenths = sorted(int(k) for k in rng.choice(np.arange(1, 10), size=count - 1, replace=False))
            late = [warmup + k * decay // 10 for k in tenths]
        else:
            decays = [n for n in (2, 3, 4, 5) if decay % n == 0]
            n = choice(rng, decays)
            params["step_size"] = decay // n
            # the smallest rate asked stays at least 0.001 (no scientific notation)
            params["gamma"] = choice(rng, [g for g in GAMMAS if lr_max * g ** (n - 1) >= 0.001])
            size = params["step_size"]
            # steps in different intervals between decays, so that they have different rates
            ks = sorted(int(k) for k in rng.choice(np.arange(n), size=min(count - 1, n), replace=False))
            late = [warmup + k * size + integer(rng, 1 if k == 0 else 0, size - 1) for k in ks]
            # the last one at least step_size steps after a multiple of step_size counted from 0, so that
            # counting the decays from step 0 (a listed mistake) gives another rate there
            late[-1] = warmup + ks[-1] * size + integer(rng, max(1 if ks[-1] == 0 else 0, size - warmup), size - 1) \
                if warmup < size else late[-1]
        params["at"] = [early, *late]
        return params

    def validate(self, params):
        require_keys(params, SCHEDULE_FIELDS)
        schedule = as_choice(params["schedule"], "schedule", SCHEDULES)
        out: dict[str, Any] = {"schedule": schedule}
        out["lr_max"] = as_decimal(params["lr_max"], "lr_max", 0.0001, 10, 6, nonzero=True)
        out["warmup"] = as_int(params["warmup"], "warmup", 1, 10_000)
        out["total"] = as_int(params["total"], "total", out["warmup"] + 1, 100_000)
        # A param of the other schedule: an error naming it when this schedule's own are all given (it was
        # pinned for the wrong schedule); else the draw was for the other schedule (a pinned `schedule`), and
        # `degenerate` asks for another.
        other = "step" if schedule == "cosine" else "cosine"
        complete = all(params[name] is not None for name in OWN[schedule])
        for name in OWN[other]:
            if params[name] is not None and complete:
                raise ParamError(name, f"null: the {schedule} schedule has no {name} (pin \"schedule\": \"{other}\" "
                                 "to use it)", params[name])
            out[name] = params[name]
        for name in OWN[schedule]:
            out[name] = params[name]
        if schedule == "cosine" and params["lr_min"] is not None:
            out["lr_min"] = as_decimal(params["lr_min"], "lr_min", 0, 10, 6)
            if out["lr_min"] >= out["lr_max"]:
                raise ParamError("lr_min", f"a number below lr_max = {out['lr_max']}", params["lr_min"])
        if schedule == "step":
            if params["gamma"] is not None:
                out["gamma"] = as_decimal(params["gamma"], "gamma", 0.01, 0.99, 2)
            if params["step_size"] is not None:
                out["step_size"] = as_int(params["step_size"], "step_size", 1, out["total"])
        at = params["at"]
        expected = f"a list of 3 or 4 increasing step indices from 0 to total = {out['total']}"
        if not isinstance(at, (list, tuple)) or not 3 <= len(at) <= 4:
            raise ParamError("at", expected, at)
        out["at"] = [as_int(t, f"at[{k}]", 0, out["total"]) for k, t in enumerate(at)]
        if any(b <= a for a, b in zip(out["at"], out["at"][1:])):
            raise ParamError("at", expected, at)
        return {name: out[name] for name in SCHEDULE_FIELDS}

    def degenerate(self, params):
        schedule = params["schedule"]
        missing = [name for name in OWN[schedule] if params[name] is None]
        if missing:
            return f"the {schedule} schedule needs {', '.join(missing)}, null here (params of the other schedule)"
        other = "step" if schedule == "cosine" else "cosine"
        foreign = [name for name in OWN[other] if params[name] is not None]
        if foreign:
            return f"{', '.join(foreign)} must be null for the {schedule} schedule"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        return {"lr": [_plain(_rate(params, t)) for t in params["at"]]}

    def check(self, params, answers):
        """Another route: the schedule run step by step from step 0 to the last asked step. The warmup adds
        lr_max / warmup each step (exact fractions); the step schedule multiplies by gamma whenever a counter
        of decay steps reaches step_size; the cosine schedule follows PyTorch's recursive form of
        CosineAnnealingLR, eta_(k+1) = lr_min + (eta_k - lr_min) (1 + cos(pi (k+1)/K)) / (1 + cos(pi k/K)),
        which never evaluates the closed form."""
        w, total = params["warmup"], params["total"]
        lr_max = Fraction(str(params["lr_max"]))
        wanted = set(params["at"])
        got: dict[int, float] = {}
        eta = Fraction(0)
        for t in range(0, max(wanted) + 1):
            if t > 0 and t <= w:
                eta += lr_max / w
            if t <= w:
                value = float(eta)
            elif params["schedule"] == "step":
                if t == w + 1:
                    rate, counter = float(lr_max), 0
                counter += 1
                if counter == params["step_size"]:
                    rate, counter = rate * params["gamma"], 0
                value = rate
            else:
                if t == w + 1:
                    cos_rate = float(lr_max)
                lr_min, k, big_k = float(params["lr_min"]), t - w - 1, total - w
                cos_rate = lr_min + (cos_rate - lr_min) * (1 + math.cos(math.pi * (k + 1) / big_k)) / (
                    1 + math.cos(math.pi * k / big_k))
                value = cos_rate
            if t in wanted:
                got[t] = value
        close_all(answers["lr"], [got[t] for t in params["at"]], "lr", 1e-9)

    def structure_of(self, params):
        return {"schedule": params["schedule"], "at": [len(params["at"])],
                "warmup_steps": sum(t <= params["warmup"] for t in params["at"])}

    def _minutes(self, params: Mapping[str, Any]) -> float:
        warm = sum(t <= params["warmup"] for t in params["at"])
        late = len(params["at"]) - warm
        per = COSINE_STEP_MINUTES if params["schedule"] == "cosine" else STEP_STEP_MINUTES
        return warm * WARMUP_STEP_MINUTES + late * per

    def parts(self, params):
        return (Part(("lr",), max(1, math.floor(self._minutes(params) + 0.5))),)

    def minutes(self, params):
        return round(READ_MINUTES + self._minutes(params), 2)

    def position_word(self, params, answer, level, position):
        return f"t = {params['at'][position]}" if answer == "lr" and level == 0 else None

    def context(self, params, answers):
        w = params["warmup"]
        rows = []
        for t, lr in zip(params["at"], answers["lr"]):
            row = {"t": t, "lr": lr, "warm": t <= w}
            if t > w and params["schedule"] == "cosine":
                row["shape"] = (1 + math.cos(math.pi * (t - w) / (params["total"] - w))) / 2
            elif t > w:
                row["k"] = (t - w) // params["step_size"]
            rows.append(row)
        return {"rows": rows, "decay": params["total"] - w, "work": sig(6)}

