"""Normalization layers in training mode: batch normalization and layer normalization, forward and backward.

Conventions: X is N x D, its rows are examples and its columns features. Batch mode normalizes each feature
over the N examples of the mini-batch (one mean and one variance per column, D of each); layer mode normalizes
each example over its D features (one per row, N of each). In both modes the gain gamma and the shift beta
have one entry per feature, and a loss L reaches the layer through its output Y with dL/dY = dY. The variance
is the biased one (divided by the count), as libraries compute it in training mode, and
sigma = sqrt(var + eps). Positions are 1-based in the text: example i, feature j.

Fair exams: the structure is the mode and the shape of X. A group (the values normalized together: a column in
batch mode, a row in layer mode) has at least 3 values, so that x-hat is not just +-1 (see `degenerate`). The
working time counts each entry of X once per step and each group once per statistic: with the same shape, it is
the same for both modes whenever they have as many groups, i.e. for a square X. The sampler's only shape that
both modes admit is 3 x 3, so `vary: [mode]` gives batch and layer normalization of equal work (a slot of
another shape keeps its mode: no draw of the other mode has that shape).

Precision: the sampler draws every group with a whole mean, so the statistics are exact (a variance is a
fraction such as 8/3); x-hat, Y, dL/dgamma and dL/dX go through a square root and are asked to 4 decimal
places; dL/dbeta sums given one-decimal numbers and is exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.draws import choice, decimal, integer
from qbank.checks import central_difference, close_all
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import as_choice, as_decimal_list, as_decimal_matrix, as_number, require_keys
from qbank.precision import decimals, exact

FIELDS = ("mode", "X", "gamma", "beta", "eps", "dY")
MODES = ("batch", "layer")
# (N, D) per mode: a group (column in batch mode, row in layer mode) holds 3 or 4 values
SHAPES = {"batch": ((3, 2), (4, 2), (3, 3)), "layer": ((2, 3), (2, 4), (3, 3))}
EPSILONS = (0, 0.1, 0.2)  # large enough that leaving eps out, or adding it outside the root, shows at 4 decimals
MIN_GROUP = 3
MAX_SIZE = 6  # rows or columns of a pinned X: more is no longer a problem for a calculator
DECIMALS = 2  # a pinned number has at most this many decimals
FLAT_DX = 0.005  # a dL/dgamma, or a group of dL/dX, this close to 0 asks for nothing
SMALL_DX = 0.01  # an entry of dL/dX below this keeps too few digits at 4 decimals to tell the eps slips apart


def group_axis(mode: str) -> int:
    """The axis of X that a group runs along: down a column (batch: axis 0) or along a row (layer: axis 1)."""
    return 0 if mode == "batch" else 1


def groups_of(matrix: list[list[Any]], mode: str) -> list[list[Any]]:
    """The groups of an N x D matrix: its columns in batch mode, its rows in layer mode."""
    return [list(col) for col in zip(*matrix)] if mode == "batch" else [list(row) for row in matrix]


def from_groups(groups: list[list[Any]], mode: str) -> list[list[Any]]:
    """The N x D matrix back from its groups (the inverse of groups_of)."""
    return [list(row) for row in zip(*groups)] if mode == "batch" else [list(g) for g in groups]


def _fraction_plain(value: Fraction) -> int | float:
    """An exact rational as JSON data: an int when whole, else the nearest float."""
    return value.numerator if value.denominator == 1 else value.numerator / value.denominator


def _plain(value: float) -> float:
    return float(value) + 0.0  # + 0.0 turns -0.0 into 0.0


# --- the layer, with numpy (solve) ---------------------------------------------------------------------


def _statistics(params: Mapping[str, Any], mode: str | None = None, unbiased: bool = False) -> dict[str, Any]:
    """Per group, exactly: the mean, the deviations and the variance (biased, or with n - 1)."""
    mode = mode or params["mode"]
    out = {"mean": [], "dev": [], "var": []}
    for group in groups_of(params["X"], mode):
        values = [Fraction(str(v)) for v in group]
        n = len(values)
        mean = sum(values) / n
        dev = [v - mean for v in values]
        out["mean"].append(mean)
        out["dev"].append(dev)
        out["var"].append(sum(d * d for d in dev) / (n - 1 if unbiased else n))
    return out


def _layer(params: Mapping[str, Any], mode: str | None = None, unbiased: bool = False, eps_outside: bool = False,
           no_eps: bool = False) -> dict[str, Any] | None:
    """The forward and backward pass, with the mistakes a student makes as options (another mode's axis,
    the n - 1 variance, eps outside the root or left out); None when that gives a zero sigma."""
    mode = mode or params["mode"]
    axis = group_axis(mode)
    stats = _statistics(params, mode, unbiased)
    eps = 0.0 if no_eps else float(params["eps"])
    var = np.array([float(v) for v in stats["var"]])
    sigma = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    if np.any(sigma == 0):
        return None
    dev = np.array(from_groups([[float(d) for d in g] for g in stats["dev"]], mode))
    shape = (1, -1) if axis == 0 else (-1, 1)  # one statistic per column, or per row
    xhat = dev / sigma.reshape(shape)
    gamma, beta = np.array(params["gamma"], dtype=float), np.array(params["beta"], dtype=float)
    dy = np.array(params["dY"], dtype=float)
    dxhat = dy * gamma
    m1 = dxhat.mean(axis=axis, keepdims=True)
    m2 = (dxhat * xhat).mean(axis=axis, keepdims=True)
    return {
        "mode": mode,
        "stats": stats,
        "sigma": sigma,
        "xhat": xhat,
        "Y": gamma * xhat + beta,
        "dxhat": dxhat,
        "m1": m1,
        "m2": m2,
        "dX": (dxhat - m1 - xhat * m2) / sigma.reshape(shape),
        "dgamma": (dy * xhat).sum(axis=0),
    }


def _matrix(values: np.ndarray) -> list[list[float]]:
    return [[_plain(v) for v in row] for row in values]


def _answers_of(layer: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "mean": [_fraction_plain(m) for m in layer["stats"]["mean"]],
        "var": [_fraction_plain(v) for v in layer["stats"]["var"]],
        "xhat": _matrix(layer["xhat"]),
        "Y": _matrix(layer["Y"]),
        "dgamma": [_plain(v) for v in layer["dgamma"]],
        "dbeta": [_fraction_plain(sum(Fraction(str(r[j])) for r in params["dY"])) for j in range(len(params["gamma"]))],
        "dX": _matrix(layer["dX"]),
    }


# --- mistakes a draw must tell from the right answer ---------------------------------------------------


def _unchanged_where_centred(params: Mapping[str, Any], values: list[list[float]]) -> list[list[float | None]]:
    """A mistaken x-hat or Y with None where x equals its group's mean (x-hat = 0 whatever sigma is)."""
    stats = _statistics(params)
    centred = from_groups([[d == 0 for d in g] for g in stats["dev"]], params["mode"])
    return [[None if c else v for v, c in zip(row, crow)] for row, crow in zip(values, centred)]


def _forward_mistake(params: Mapping[str, Any], keep_stats: bool, **options: Any) -> dict[str, Any]:
    """The answers of a forward-pass mistake: every answer it changes (the backward pass follows the
    wrong x-hat and sigma), None where it changes nothing by its nature."""
    layer = _layer(params, **options)
    if layer is None:  # a zero sigma: the student meets a division by zero and sees the slip
        return {}
    wrong = _answers_of(layer, params)
    out = {
        "xhat": _unchanged_where_centred(params, wrong["xhat"]),
        "Y": _unchanged_where_centred(params, wrong["Y"]),
        "dgamma": wrong["dgamma"],
        "dX": wrong["dX"],
    }
    if not keep_stats:
        out["var"] = wrong["var"]
    return out


def _affine_left_out(params: Mapping[str, Any]) -> dict[str, Any]:
    """Y taken as x-hat: right by its nature where beta_j = 0 and gamma_j = 1 or x-hat = 0."""
    xhat = _layer(params)["xhat"]
    gamma, beta = params["gamma"], params["beta"]
    return {"Y": [[None if beta[j] == 0 and (gamma[j] == 1 or v == 0) else _plain(v) for j, v in enumerate(row)]
                  for row in xhat]}


def _wrong_axis(params: Mapping[str, Any]) -> dict[str, Any]:
    """Statistics over the other axis (per example in batch mode, per feature in layer mode): only a square X
    gives answers of the right sizes."""
    n, d = len(params["X"]), len(params["X"][0])
    if n != d:
        return {}
    other = "layer" if params["mode"] == "batch" else "batch"
    stats = _statistics(params, other)
    wrong: dict[str, Any] = {"mean": [float(m) for m in stats["mean"]], "var": [float(v) for v in stats["var"]]}
    layer = _layer(params, mode=other)
    if layer is not None:
        answers = _answers_of(layer, params)
        wrong.update({name: answers[name] for name in ("xhat", "Y", "dgamma", "dX")})
    return wrong


def _paths_vanish(params: Mapping[str, Any]) -> tuple[list[list[bool]], list[list[bool]]]:
    """Per entry of X, exactly: does the path through its group's mean add nothing (the group's dL/dx-hat adds up
    to 0), and does the path through the variance add nothing (x-hat is 0, or dL/dx-hat . x-hat is 0)?"""
    mode = params["mode"]
    gains = [Fraction(str(g)) for g in params["gamma"]]
    g = [[Fraction(str(v)) * gains[j] for j, v in enumerate(row)] for row in params["dY"]]
    mean_zero, variance_zero = [], []
    for group, dev in zip(groups_of(g, mode), _statistics(params)["dev"]):
        mean_zero.append([sum(group) == 0] * len(group))
        dot = sum(a * d for a, d in zip(group, dev))
        variance_zero.append([dot == 0 or d == 0 for d in dev])
    return from_groups(mean_zero, mode), from_groups(variance_zero, mode)


def _dx_mistake(params: Mapping[str, Any], mean_path: bool, variance_path: bool, gamma: bool = True) -> dict[str, Any]:
    """dL/dX with the path through the mean or the variance left out, or with dY for dL/dx-hat; None where the
    paths left out add nothing (by the numbers' nature, exactly)."""
    layer = _layer(params)
    axis = group_axis(params["mode"])
    shape = (1, -1) if axis == 0 else (-1, 1)
    dxhat = layer["dxhat"] if gamma else np.array(params["dY"], dtype=float)
    m1 = dxhat.mean(axis=axis, keepdims=True) if mean_path else 0.0
    m2 = (dxhat * layer["xhat"]).mean(axis=axis, keepdims=True) if variance_path else 0.0
    dx = _matrix((dxhat - m1 - layer["xhat"] * m2) / layer["sigma"].reshape(shape))
    if gamma:
        mean_zero, variance_zero = _paths_vanish(params)
        same = [[(mean_path or m) and (variance_path or v) for m, v in zip(mrow, vrow)]
                for mrow, vrow in zip(mean_zero, variance_zero)]
        dx = [[None if k else v for v, k in zip(row, krow)] for row, krow in zip(dx, same)]
    return {"dX": dx}


def _gamma_left_out(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dx-hat taken as dY: in batch mode a feature with gamma_j = 1 is right by its nature."""
    dx = _dx_mistake(params, True, True, gamma=False)["dX"]
    if params["mode"] == "batch":
        dx = [[None if params["gamma"][j] == 1 else v for j, v in enumerate(row)] for row in dx]
    elif all(g == 1 for g in params["gamma"]):
        dx = None
    return {"dX": dx}


def _per_example_sums(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dgamma and dL/dbeta summed over the features of each example instead of over the examples (a square
    X only: otherwise the sizes give it away)."""
    n, d = len(params["X"]), len(params["X"][0])
    if n != d:
        return {}
    layer = _layer(params)
    dy = params["dY"]
    return {
        "dbeta": [float(sum(Fraction(str(v)) for v in row)) for row in dy],
        "dgamma": [_plain(v) for v in (np.array(dy, dtype=float) * layer["xhat"]).sum(axis=1)],
    }


@register
class Normalization(Family):
    id = "normalization"
    title = "Batch and layer normalization in training mode: statistics, output and gradients"
    topic = "normalization"
    difficulty = 3
    answers = {
        "mean": Answer("vector", "the mean of each group (batch: of each feature over the examples; layer: of each "
                       "example over its features)", precision=exact(fractions=True), symbol=r"\mu", label="mu"),
        "var": Answer("vector", "the biased variance of each group, divided by the number of values",
                      precision=exact(fractions=True), symbol=r"\sigma^2", label="sigma^2"),
        "xhat": Answer("matrix", "the normalized input, N x D", precision=decimals(4), symbol=r"\hat X",
                       label="X-hat", index=("example {}", "feature {}")),
        "Y": Answer("matrix", "the output gamma * xhat + beta, N x D", precision=decimals(4), symbol="Y", label="Y",
                    index=("example {}", "feature {}")),
        "dgamma": Answer("vector", "dL/dgamma, one entry per feature", precision=decimals(4),
                         symbol=r"\partial L/\partial \gamma", label="dL/dgamma", index=("feature {}",)),
        "dbeta": Answer("vector", "dL/dbeta, one entry per feature", precision=exact(),
                        symbol=r"\partial L/\partial \beta", label="dL/dbeta", index=("feature {}",)),
        "dX": Answer("matrix", "dL/dX, N x D", precision=decimals(4), symbol=r"\partial L/\partial X",
                     label="dL/dX", index=("example {}", "feature {}")),
    }
    # The mistakes a draw must tell from the right answer (see scoring_mistake), None where a mistake changes
    # nothing by its nature (x-hat where x is its group's mean; a feature whose gain is 1).
    mistakes = {
        "the variance divided by n - 1 (the unbiased estimate)": lambda p: _forward_mistake(p, False, unbiased=True),
        "the statistics over the other axis (batch and layer normalization confused)": _wrong_axis,
        "eps added outside the square root": lambda p: (
            _forward_mistake(p, True, eps_outside=True) if p["eps"] else {}),
        "eps left out": lambda p: _forward_mistake(p, True, no_eps=True) if p["eps"] else {},
        "the gain and shift left out of Y (Y = x-hat)": _affine_left_out,
        "dL/dX with the mean and variance held constant (gamma dY / sigma)": lambda p: _dx_mistake(p, False, False),
        "dL/dX without the path through the variance": lambda p: _dx_mistake(p, True, False),
        "dL/dX without the path through the mean": lambda p: _dx_mistake(p, False, True),
        "gamma left out of dL/dX (dL/dx-hat taken as dY)": _gamma_left_out,
        "dL/dgamma = sum of dY (x-hat left out)": lambda p: {
            "dgamma": [float(sum(Fraction(str(r[j])) for r in p["dY"])) for j in range(len(p["gamma"]))]},
        "dL/dgamma from X instead of x-hat": lambda p: {
            "dgamma": [_plain(v) for v in (np.array(p["dY"], dtype=float) * np.array(p["X"], dtype=float)).sum(axis=0)]},
        "dL/dgamma and dL/dbeta summed over the features of each example": _per_example_sums,
    }
    structure = ("mode", "X")
    asks = ("normalization-statistics", "normalization-forward-pass", "normalization-backward-pass")
    # the problem defines the layer: which axis it normalizes over, and (batch mode) that training mode uses the
    # mini-batch's own statistics
    reveals = ("normalization-axes",)

    def reveals_of(self, params):
        return (*self.reveals, "batchnorm-training-statistics") if params["mode"] == "batch" else self.reveals

    def position_word(self, params, answer, level, position):
        if answer in ("mean", "var") and level == 0:
            return f"{'feature' if params['mode'] == 'batch' else 'example'} {position + 1}"
        return None

    # --- the card: parts and working time -------------------------------------------------------------

    @staticmethod
    def _sizes(params: Mapping[str, Any]) -> tuple[int, int]:
        """Entries of X and groups (columns in batch mode, rows in layer mode)."""
        n, d = len(params["X"]), len(params["X"][0])
        return n * d, d if params["mode"] == "batch" else n

    def _part_minutes(self, params: Mapping[str, Any]) -> tuple[float, ...]:
        """Seconds by hand per part, from what it writes out: E entries, g groups."""
        e, g = self._sizes(params)
        statistics = 15 * e + 20 * g  # a sum and a squared deviation per entry; two divisions per group
        forward = 15 * g + 20 * e  # a square root per group; (x - mu) / sigma and gamma x-hat + beta per entry
        affine = 14 * e  # dY summed, and dY times x-hat summed, per entry
        # the three paths to X written out (3 min); gamma dY, both group means and the combination per entry
        backward = 180 + 34 * e + 10 * g
        return tuple(s / 60 for s in (statistics, forward, affine, backward))

    def parts(self, params):
        return tuple(Part(names, max(1, math.floor(m + 0.5))) for names, m in zip(
            (("mean", "var"), ("xhat", "Y"), ("dgamma", "dbeta"), ("dX",)), self._part_minutes(params)))

    def minutes(self, params):
        return round(1 + sum(self._part_minutes(params)), 1)  # a minute to read

    # --- sample, validate, degenerate -------------------------------------------------------------------

    def sample(self, rng):
        mode = choice(rng, MODES)
        n, d = choice(rng, SHAPES[mode])
        size, count = (n, d) if mode == "batch" else (d, n)  # values per group, groups
        groups = [self._group(rng, size) for _ in range(count)]
        return {
            "mode": mode,
            "X": from_groups(groups, mode),
            "gamma": [decimal(rng, 0.5, 2, 0.5) for _ in range(d)],
            "beta": [decimal(rng, -1, 1, 0.1) for _ in range(d)],
            "eps": choice(rng, EPSILONS),
            "dY": [[decimal(rng, -1, 1, 0.1) for _ in range(d)] for _ in range(n)],
        }

    @staticmethod
    def _group(rng, size: int) -> list[int]:
        """`size` integers with a whole mean, not all equal: mean + deviations that add up to 0. Three values
        with deviations d, d, -2d are not drawn: then dL/dX of the middle one is 0 whatever dY is (with eps = 0;
        with three values, dL/dX of a group is orthogonal to both 1 and x-hat, which leaves one direction)."""
        while True:
            dev = [integer(rng, -3, 3) for _ in range(size - 1)]
            last = -sum(dev)
            if size == 3 and sorted(abs(v) for v in dev + [last]) == [1, 1, 2]:
                continue
            if len({abs(v) for v in dev + [last]}) == 1:  # two points, as far either side: x-hat is +-1
                continue
            if abs(last) <= 3 and any(dev + [last]):
                mean = integer(rng, -2, 3)
                return [mean + v for v in dev + [last]]

    def validate(self, params):
        require_keys(params, FIELDS)
        mode = as_choice(params["mode"], "mode", MODES)
        x = as_decimal_matrix(params["X"], "X", (2, MAX_SIZE), (2, MAX_SIZE), -20, 20, DECIMALS)
        n, d = len(x), len(x[0])
        return {
            "mode": mode,
            "X": x,
            "gamma": as_decimal_list(params["gamma"], "gamma", (d, d), -10, 10, DECIMALS, why=" (one per feature)"),
            "beta": as_decimal_list(params["beta"], "beta", (d, d), -10, 10, DECIMALS, why=" (one per feature)"),
            "eps": as_number(params["eps"], "eps", 0, 1),
            "dY": as_decimal_matrix(params["dY"], "dY", (n, n), (d, d), -10, 10, DECIMALS, why=" (the shape of X)"),
        }

    def degenerate(self, params):
        mode, x = params["mode"], params["X"]
        n, d = len(x), len(x[0])
        # the group size depends on the mode: a pinned mode with a drawn X of the other mode's shape is drawn again
        size = n if mode == "batch" else d
        if size < MIN_GROUP:
            return (f"X is {n} x {d}: {mode} normalization needs at least {MIN_GROUP} "
                    f"{'examples (rows)' if mode == 'batch' else 'features (columns)'} per group, "
                    "or every x-hat is +1 or -1")
        word = "feature" if mode == "batch" else "example"
        stats = _statistics(params)
        for k, var in enumerate(stats["var"]):
            if var == 0:
                return f"every value of {word} {k + 1} is the same: its variance is 0"
        for k, dev in enumerate(stats["dev"]):
            if len({abs(v) for v in dev}) == 1:
                return (f"the values of {word} {k + 1} lie at two points, as far either side of their mean: "
                        "x-hat is just +1 or -1")
        for name in ("mean", "var"):
            for k, value in enumerate(stats[name]):
                if value.denominator > 10_000:
                    return (f"the {name} of {word} {k + 1} is a fraction with a denominator over 10000, which cannot "
                            "be asked exactly: give X fewer decimals")
        for j, g in enumerate(params["gamma"]):
            if g == 0:
                return f"gamma_{j + 1} = 0 cuts feature {j + 1} off from the loss"
        dy = params["dY"]
        if any(not any(row) for row in dy) or any(not any(r[j] for r in dy) for j in range(d)):
            return "dY has a row or a column of zeros"
        answers = self.solve(params)
        for j, value in enumerate(answers["dgamma"]):
            if abs(value) < FLAT_DX:
                return f"dL/dgamma_{j + 1} = {value:.4f} is (nearly) 0: dY and x-hat of feature {j + 1} cancel"
        for k, group in enumerate(groups_of(answers["dX"], mode)):
            if all(abs(v) < FLAT_DX for v in group):
                return f"dL/dX is (nearly) 0 for {word} {k + 1}: its dY is a multiple of x-hat plus a constant"
        for i, row in enumerate(answers["dX"]):
            for j, value in enumerate(row):
                if abs(value) < SMALL_DX:
                    return f"dL/dX[{i + 1}][{j + 1}] = {value:.4f} is too small to be asked to 4 decimal places"
        return scoring_mistake(self, params, answers)

    # --- solve and check --------------------------------------------------------------------------------

    def solve(self, params):
        return _answers_of(_layer(params), params)

    def check(self, params, answers):
        """A second computation with loops and math.fsum: each group's mean, its variance as the mean of the
        squares less the squared mean, x-hat and Y entry by entry; the gradients by central differences of
        L = sum dY * Y in every entry of X and gamma, and dL/dbeta as the sums of dY. Each group of dL/dX
        must also add up to 0 (shifting a group leaves its x-hat unchanged)."""
        mode, eps = params["mode"], float(params["eps"])
        n, d = len(params["X"]), len(params["X"][0])
        dy = params["dY"]

        def forward(x: list[list[float]], gamma: list[float], beta: list[float]) -> dict[str, Any]:
            if mode == "batch":
                cells = [[(i, j) for i in range(n)] for j in range(d)]
            else:
                cells = [[(i, j) for j in range(d)] for i in range(n)]
            means, variances = [], []
            xhat = [[0.0] * d for _ in range(n)]
            for group in cells:
                count = len(group)
                mean = math.fsum(x[i][j] for i, j in group) / count
                var = math.fsum(x[i][j] ** 2 for i, j in group) / count - mean**2
                root = math.sqrt(var + eps)
                for i, j in group:
                    xhat[i][j] = (x[i][j] - mean) / root
                means.append(mean)
                variances.append(var)
            y = [[gamma[j] * xhat[i][j] + beta[j] for j in range(d)] for i in range(n)]
            loss = math.fsum(dy[i][j] * y[i][j] for i in range(n) for j in range(d))
            return {"mean": means, "var": variances, "xhat": xhat, "Y": y, "loss": loss}

        base = {"X": [[float(v) for v in row] for row in params["X"]],
                "gamma": [float(v) for v in params["gamma"]], "beta": [float(v) for v in params["beta"]]}
        ref = forward(base["X"], base["gamma"], base["beta"])

        for name in ("mean", "var", "xhat", "Y"):
            close_all(answers[name], ref[name], name, 1e-9)

        def difference(name: str, index: tuple[int, ...]) -> float:
            return central_difference(lambda v: forward(v["X"], v["gamma"], v["beta"])["loss"], base, name, index)

        tol = 1e-6
        close_all(answers["dgamma"], [difference("gamma", (j,)) for j in range(d)], "dgamma", tol)
        close_all(answers["dbeta"], [math.fsum(dy[i][j] for i in range(n)) for j in range(d)], "dbeta", 1e-12)
        close_all(answers["dX"], [[difference("X", (i, j)) for j in range(d)] for i in range(n)], "dX", tol)
        for k, group in enumerate(groups_of(answers["dX"], mode)):
            assert abs(math.fsum(group)) <= 1e-9 * max(1.0, max(abs(v) for v in group)), (
                f"dX: group {k + 1} adds up to {math.fsum(group)}, not 0")

    # --- display ----------------------------------------------------------------------------------------

    def context(self, params, answers):
        mode = params["mode"]
        layer = _layer(params)
        n, d = len(params["X"]), len(params["X"][0])
        stats = layer["stats"]
        axis = group_axis(mode)
        m1 = layer["m1"].reshape(-1)
        m2 = layer["m2"].reshape(-1)
        groups = []
        for k, values in enumerate(groups_of(params["X"], mode)):
            groups.append({
                "values": values,
                "mean": answers["mean"][k],
                "dev": [_fraction_plain(v) for v in stats["dev"][k]],
                "var": answers["var"][k],
                "sigma": float(layer["sigma"][k]),
                "m1": float(m1[k]) + 0.0,
                "m2": float(m2[k]) + 0.0,
            })
        dy_columns = [[r[j] for r in params["dY"]] for j in range(d)]
        xhat_columns = [[r[j] for r in answers["xhat"]] for j in range(d)]
        return {
            "batch": mode == "batch",
            "n": n,
            "d": d,
            "size": n if axis == 0 else d,  # values per group
            "word": "feature" if mode == "batch" else "example",
            "index": "j" if mode == "batch" else "i",  # the index of a group: a column j, a row i
            "groups": groups,
            "dxhat": _matrix(layer["dxhat"]),
            "dy_columns": dy_columns,
            "xhat_columns": xhat_columns,
            "work": decimals(4),
        }
