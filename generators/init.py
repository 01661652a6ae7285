"""Initialisation families: the variance of a unit at initialisation, and of a linear residual stack.

Both checks are Monte Carlo simulations with their own generator, seeded from a hash of the params (so a
check is deterministic), and tolerances of six standard errors estimated from the same samples.

resnet-init-variance takes no `mode`: every variant gives a weight scale `sigma_w` (for the forward and
backward variances) and a `target` for sigma_L^2 (for the initialisation that hits it), and asks both.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.arith import evaluate
from qbank.draws import choice, integer
from qbank.family import Answer, Family, register
from qbank.params import ParamError, as_choice, as_int, as_number, require_keys

SE_LIMIT = 6.0  # Monte Carlo agreement within this many standard errors: never fails by chance in practice
INIT_SAMPLES = 20_000  # samples of y: six standard errors of Var(y) are about 6%, and the check takes ~3 ms
RESNET_FACTORS = 24_000  # per-layer norm ratios drawn (trials x depth): ~2 ms

ACTIVATIONS = ("sigmoid", "tanh", "relu")
ACTIVATION_NAMES = {"sigmoid": "the logistic sigmoid", "tanh": "the hyperbolic tangent", "relu": "the rectifier (ReLU)"}
ACTIVATION_TEX = {"sigmoid": r"f(z) = \frac{1}{1 + e^{-z}}", "tanh": r"f(z) = \tanh z", "relu": r"f(z) = \max(0, z)"}
# perfect squares give sigma = 1/k; twice a square gives the He scale sqrt(2/d) = 1/k
INIT_DIMS = (16, 25, 36, 49, 64, 81, 100, 144, 196, 256, 400, 625, 900, 1024, 32, 50, 128, 200, 512, 800)


def _check_rng(family_id: str, params: Mapping[str, Any]) -> np.random.Generator:
    """The Monte Carlo generator of a check: fixed by the family and its params, nothing else."""
    digest = hashlib.sha256(json.dumps([family_id, dict(params)], sort_keys=True).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _mc_agrees(name: str, samples: np.ndarray, claimed: float) -> None:
    """The sample mean of `samples` agrees with `claimed` within SE_LIMIT standard errors."""
    mean = float(samples.mean())
    se = float(samples.std(ddof=1)) / math.sqrt(samples.size)
    assert abs(mean - claimed) <= SE_LIMIT * se + 1e-12, (
        f"{name} = {claimed}, but a Monte Carlo estimate gives {mean:.6g} (standard error {se:.2g})"
    )


def _plain(x: float) -> int | float:
    """Whole numbers as ints, so that 1 and 0 print and serialise as such."""
    return int(x) if float(x).is_integer() else x


def _equals_or_approx(value: float, digits: int) -> str:
    """'=' when `value` printed to `digits` decimals is exact (1/8 = 0.125), else '\\approx' (1/12)."""
    return "=" if abs(round(value, digits) - value) < 1e-12 else "\\approx"


def _number(answers: Mapping[str, Any], name: str) -> float:
    value = answers[name]
    assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{name} is not a number: {value!r}"
    assert math.isfinite(value), f"{name} is not finite: {value!r}"
    return float(value)


# ---------------------------------------------------------------- exact square roots of fractions


def sqrt_ratio(p: int, q: int) -> tuple[int, int, int]:
    """sqrt(p/q) as a*sqrt(r)/c in lowest terms with r square-free: returns (a, r, c)."""
    frac = Fraction(p, q)
    radicand = frac.numerator * frac.denominator  # sqrt(p/q) = sqrt(p q) / q
    outside, k = 1, 2
    while k * k <= radicand:
        while radicand % (k * k) == 0:
            radicand //= k * k
            outside *= k
        k += 1
    den = frac.denominator
    common = math.gcd(outside, den)
    return outside // common, radicand, den // common


def sqrt_ratio_text(p: int, q: int) -> str:
    """sqrt(p/q) simplified, as a string sympy parses: '1/8', 'sqrt(2)/10', '3*sqrt(2)/4'."""
    a, r, c = sqrt_ratio(p, q)
    top = str(a) if r == 1 else ("sqrt(%d)" % r if a == 1 else "%d*sqrt(%d)" % (a, r))
    return top if c == 1 else f"{top}/{c}"


def sqrt_ratio_tex(p: int, q: int) -> str:
    a, r, c = sqrt_ratio(p, q)
    top = str(a) if r == 1 else ("\\sqrt{%d}" % r if a == 1 else "%d\\sqrt{%d}" % (a, r))
    return top if c == 1 else f"\\frac{{{top}}}{{{c}}}"


def simpler_root_tex(p: int, q: int) -> list[str]:
    """[sqrt(p/q) simplified, in TeX] when simplifying takes a square out; [] when it would only move the
    root into the numerator (1/sqrt(7) = sqrt(7)/7 is no simpler)."""
    frac = Fraction(p, q)
    _, radicand, _ = sqrt_ratio(p, q)
    unchanged = (frac.numerator, frac.denominator) == (p, q) and radicand == p * q != 1
    return [] if unchanged else [sqrt_ratio_tex(p, q)]


def _evaluate_root_expression(text: Any, name: str) -> float:
    """Evaluate a string such as 'sqrt(2)/10' numerically, without sympy: numbers, + - * / and sqrt()."""
    return float(evaluate(text, functions=("sqrt",), what=f"an expression for {name}"))


# ---------------------------------------------------------------- init-variance

SQUASHING_ONLY = ("variance_smaller", "variance_bound", "max_output_variance")
RELU_ONLY = ("second_moment", "output_variance", "he_sigma", "he_sigma_exact")


def _activation(name: str):
    if name == "sigmoid":
        return lambda z: 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))  # 1/(1+e^-z), overflow-free
    if name == "tanh":
        return np.tanh
    return lambda z: np.maximum(np.asarray(z, dtype=float), 0.0)


def _gaussian_integral(f) -> float:
    """E[f(Z)] for a standard normal Z by the trapezoid rule on [-12, 12]: a second engine for closed forms."""
    z = np.linspace(-12.0, 12.0, 4_801)
    values = f(z) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return float(np.sum((values[1:] + values[:-1]) * 0.5) * (z[1] - z[0]))


@register
class InitVariance(Family):
    id = "init-variance"
    title = "Initialising a unit for unit variance"
    topic = "init"
    difficulty = 2
    answers = {
        "sigma": Answer("number", "weight standard deviation sigma that gives Var(y) = 1, i.e. 1/sqrt(d)", 1e-4),
        "sigma_exact": Answer("expression", "that sigma in exact form, e.g. 1/8 or sqrt(2)/10"),
        "output_mean": Answer(
            "number", "E[u] at that sigma: 1/2 (sigmoid), 0 (tanh), 1/sqrt(2 pi) for y treated as N(0, 1) (relu)", 1e-3
        ),
        "variance_smaller": Answer(
            "boolean", "sigmoid and tanh: is Var(u) smaller than Var(y)? (null for relu)"
        ),
        "variance_bound": Answer(
            "number", "sigmoid and tanh: the bound (max slope)^2 Var(y) on Var(u): 1/16 or 1 (null for relu)", 1e-6
        ),
        "max_output_variance": Answer(
            "number", "sigmoid and tanh: the largest variance the output can have, 1/4 or 1 (null for relu)", 1e-6
        ),
        "second_moment": Answer("number", "relu: E[u^2] = Var(y)/2 at that sigma (null otherwise)", 1e-6),
        "output_variance": Answer(
            "number", "relu: Var(u) = 1/2 - 1/(2 pi) for y treated as N(0, 1) (null otherwise)", 1e-3
        ),
        "he_sigma": Answer("number", "relu: sigma that gives E[u^2] = 1 (He), sqrt(2/d) (null otherwise)", 1e-4),
        "he_sigma_exact": Answer("expression", "relu: that sigma in exact form (null otherwise)"),
    }

    def sample(self, rng):
        return {"d": choice(rng, INIT_DIMS), "activation": choice(rng, ACTIVATIONS)}

    def validate(self, params):
        require_keys(params, ("d", "activation"))
        return {
            "d": as_int(params["d"], "d", 4, 1_000_000),
            "activation": as_choice(params["activation"], "activation", ACTIVATIONS),
        }

    def solve(self, params):
        d, act = params["d"], params["activation"]
        answers: dict[str, Any] = {name: None for name in self.answers}
        answers["sigma"] = 1 / math.sqrt(d)  # d independent terms W_i x_i of variance sigma^2: Var(y) = d sigma^2
        answers["sigma_exact"] = sqrt_ratio_text(1, d)
        if act in ("sigmoid", "tanh"):
            slope = 0.25 if act == "sigmoid" else 1.0  # f'(0), the largest slope of either
            low, high = (0.0, 1.0) if act == "sigmoid" else (-1.0, 1.0)
            answers["output_mean"] = _plain((low + high) / 2)  # y is symmetric, f point-symmetric about (0, f(0))
            answers["variance_smaller"] = True
            answers["variance_bound"] = _plain(slope**2)
            answers["max_output_variance"] = _plain(((high - low) / 2) ** 2)  # half the mass at each end
        else:
            answers["output_mean"] = 1 / math.sqrt(2 * math.pi)
            answers["second_moment"] = 0.5
            answers["output_variance"] = 0.5 - 1 / (2 * math.pi)
            answers["he_sigma"] = math.sqrt(2 / d)
            answers["he_sigma_exact"] = sqrt_ratio_text(2, d)
        return answers

    def check(self, params, answers):
        """Simulate y = sum_i W_i x_i exactly for Gaussian W and x: given W, y is N(0, |W|^2), and
        |W|^2 / sigma^2 is chi-square with d degrees of freedom. Gaussian-model facts by quadrature,
        slope and range facts numerically on a grid."""
        d, act = params["d"], params["activation"]
        f = _activation(act)
        rng = _check_rng(self.id, params)
        n = INIT_SAMPLES
        scale = np.sqrt(rng.chisquare(d, n)) * rng.standard_normal(n)  # y / sigma

        sigma = _number(answers, "sigma")
        assert sigma > 0, f"sigma must be positive, got {sigma}"
        exact = _evaluate_root_expression(answers["sigma_exact"], "sigma_exact")
        assert abs(exact - sigma) <= 1e-9, f"sigma_exact = {answers['sigma_exact']} is {exact}, not sigma = {sigma}"
        y = sigma * scale
        _mc_agrees("Var(y) at sigma (should be 1)", y * y, 1.0)
        u = f(y)
        mean = _number(answers, "output_mean")

        not_asked = RELU_ONLY if act != "relu" else SQUASHING_ONLY
        for name in not_asked:
            assert answers[name] is None, f"{name} is not asked for {act}, expected null, got {answers[name]!r}"

        if act in ("sigmoid", "tanh"):
            _mc_agrees("output_mean", u, mean)
            var_u, var_y = float(u.var()), float(y.var())
            smaller = answers["variance_smaller"]
            assert isinstance(smaller, bool), f"variance_smaller is not a boolean: {smaller!r}"
            assert smaller == (var_u < var_y), (
                f"variance_smaller = {smaller}, but the simulation gives Var(u) = {var_u:.4f}, Var(y) = {var_y:.4f}"
            )
            grid, h = np.linspace(-10.0, 10.0, 4_001), 1e-5
            max_slope = float(np.max(np.abs(f(grid + h) - f(grid - h)) / (2 * h)))
            bound = _number(answers, "variance_bound")
            assert abs(bound - max_slope**2) <= 1e-6, (
                f"variance_bound = {bound}, but the largest slope on a grid is {max_slope:.6f} (squared "
                f"{max_slope**2:.6f})"
            )
            assert var_u <= bound * var_y, f"simulated Var(u) = {var_u:.4f} exceeds the bound {bound} Var(y)"
            # The largest variance: approached by y = +-a with probability 1/2 each as a grows, and never
            # exceeded by any distribution of y (random ones on five points tried here).
            top = _number(answers, "max_output_variance")
            two_point = float(((f(40.0) - f(-40.0)) / 2) ** 2)
            assert abs(top - two_point) <= 1e-9, (
                f"max_output_variance = {top}, but y = +-40 with probability 1/2 already gives {two_point:.9f}"
            )
            points = f(rng.uniform(-30.0, 30.0, (500, 5)))
            weights = rng.dirichlet(np.ones(5), 500)
            means = (weights * points).sum(axis=1)
            variances = (weights * points**2).sum(axis=1) - means**2
            assert float(variances.max()) <= top + 1e-12, (
                f"max_output_variance = {top}, but a five-point distribution gives {float(variances.max()):.6f}"
            )
        else:
            integral_mean = _gaussian_integral(f)
            assert abs(mean - integral_mean) <= 1e-6, (
                f"output_mean = {mean}, but integrating relu against N(0, 1) gives {integral_mean:.8f}"
            )
            second = _number(answers, "second_moment")
            _mc_agrees("second_moment", u * u, second)
            variance = _number(answers, "output_variance")
            integral_var = _gaussian_integral(lambda z: f(z) ** 2) - integral_mean**2
            assert abs(variance - integral_var) <= 1e-6, (
                f"output_variance = {variance}, but integrating against N(0, 1) gives {integral_var:.8f}"
            )
            he = _number(answers, "he_sigma")
            he_exact = _evaluate_root_expression(answers["he_sigma_exact"], "he_sigma_exact")
            assert abs(he_exact - he) <= 1e-9, (
                f"he_sigma_exact = {answers['he_sigma_exact']} is {he_exact}, not he_sigma = {he}"
            )
            _mc_agrees("E[u^2] at he_sigma (should be 1)", f(he * scale) ** 2, 1.0)

    def context(self, params, answers):
        d = params["d"]
        digits = 4 if d <= 100 else (5 if d <= 10_000 else 6)
        return {
            "f_name": ACTIVATION_NAMES[params["activation"]],
            "f_def": ACTIVATION_TEX[params["activation"]],
            # 1/sqrt(64) = 1/8 and 1/sqrt(50) = sqrt(2)/10 are worth showing; 1/sqrt(7) = sqrt(7)/7 is not
            "sigma_forms": simpler_root_tex(1, d),
            "he_forms": simpler_root_tex(2, d),
            # about four significant digits: sigma = 1/sqrt(d) is at least 0.001
            "digits": digits,
            "sigma_rel": _equals_or_approx(answers["sigma"], digits),
            "he_rel": _equals_or_approx(answers["he_sigma"], digits) if answers["he_sigma"] is not None else "",
        }


# ---------------------------------------------------------------- resnet-init-variance

RESNET_DEPTHS = (10, 12, 16, 20, 24, 25, 30, 32, 40, 50, 60, 64, 80, 100)
RESNET_CHANNELS = (8, 16, 32, 64, 128, 256)
RESNET_TARGETS = (1.5, 2, 2, 2, 3, 4, 5, 10)
MAX_VARIANCE = 1000.0  # beyond this the numbers stop being readable; the lesson is the same


def _product_agrees(name: str, factors: np.ndarray, claimed: float) -> None:
    """E[product of a row of `factors`] agrees with `claimed`; the columns (layers) are independent.

    Each row is one simulated pass, and the mean of the row products is the direct estimate. When the
    products are too heavy-tailed for that (log-variance above 1.5: a sample mean of a few hundred rows
    would fall far short of the true mean), the layers' independence is used instead: the mean per-layer
    factor raised to the number of layers, with a delta-method standard error."""
    layers = factors.shape[1]
    log_variance = layers * float(np.log(np.maximum(factors, 1e-300)).var())
    if log_variance <= 1.5:
        _mc_agrees(name, factors.prod(axis=1), claimed)
        return
    mean = float(factors.mean())
    se = layers * mean ** (layers - 1) * float(factors.std(ddof=1)) / math.sqrt(factors.size)
    assert abs(mean**layers - claimed) <= SE_LIMIT * se + 1e-12, (
        f"{name} = {claimed}, but the simulated per-layer factor {mean:.6f} gives {mean**layers:.6g} "
        f"over {layers} layers (standard error {se:.2g})"
    )


def _one_significant_digit(x: float) -> float:
    exponent = math.floor(math.log10(x))
    digits = max(0, -exponent)
    return round(round(x / 10.0**exponent) * 10.0**exponent, digits)


def _decimals(x: float) -> int:
    text = repr(float(x))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return max(0, len(mantissa.partition(".")[2].rstrip("0")) - int(exponent))
    return len(text.partition(".")[2].rstrip("0"))


def _bisect(increasing, goal: float, high: float) -> float:
    """The s in [0, high] with increasing(s) = goal, by bisection (increasing(0) < goal < increasing(high))."""
    low = 0.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if increasing(mid) < goal:
            low = mid
        else:
            high = mid
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high)


@register
class ResnetInitVariance(Family):
    id = "resnet-init-variance"
    title = "Variance through a linear residual stack at initialisation"
    topic = "init"
    difficulty = 3
    answers = {
        "factor": Answer("number", "per-layer variance factor 1 + D^2 J sigma_W^2", 1e-6),
        "var_ell": Answer("number", "sigma_ell^2 = (1 + D^2 J sigma_W^2)^ell at the given layer ell", 1e-3),
        "var_L": Answer("number", "sigma_L^2 at the top layer L", 1e-3),
        "grad_var_ell": Answer(
            "number", "variance of L_ell.grad, (1 + D^2 J sigma_W^2)^(L - ell), for unit variance at the top", 1e-3
        ),
        "sigma_w_exact": Answer("number", "sigma_W giving sigma_L^2 = target: sqrt((target^(1/L) - 1)/(D^2 J))", 1e-6),
        "sigma_w_approx": Answer("number", "that sigma_W from (1 + e)^L ~ exp(e L): sqrt(ln(target)/(L D^2 J))", 1e-6),
        "approx_rel_error": Answer("number", "relative error (approx - exact)/exact of the approximate sigma_W", 1e-4),
    }

    def sample(self, rng):
        depth, size, channels = choice(rng, RESNET_DEPTHS), choice(rng, (1, 3, 3, 5)), choice(rng, RESNET_CHANNELS)
        growth = float(rng.uniform(0.3, 2.5))  # D^2 J sigma_W^2 L: sigma_L^2 is about e^growth
        sigma_w = _one_significant_digit(math.sqrt(growth / (depth * size * size * channels)))
        return {
            "L": depth,
            "D": size,
            "J": channels,
            "sigma_w": sigma_w,
            "target": choice(rng, RESNET_TARGETS),
            "ell": integer(rng, 1, depth - 1),
        }

    def validate(self, params):
        require_keys(params, ("L", "D", "J", "sigma_w", "target", "ell"))
        depth = as_int(params["L"], "L", 2, 200)
        sigma_w = as_number(params["sigma_w"], "sigma_w", 0, 1)
        if sigma_w == 0:
            raise ParamError("sigma_w", "a positive number of at most 1", sigma_w)
        target = as_number(params["target"], "target", 1, 1000)
        if target == 1:
            raise ParamError("target", "a number above 1 and at most 1000 (sigma_L^2 = 1 needs sigma_W = 0)", target)
        return {
            "L": depth,
            "D": as_choice(params["D"], "D", (1, 3, 5, 7)),
            "J": as_int(params["J"], "J", 1, 1024),
            "sigma_w": sigma_w,
            "target": target,
            "ell": as_int(params["ell"], "ell", 1, depth - 1),
        }

    def degenerate(self, params):
        fan_in = params["D"] ** 2 * params["J"]
        growth = params["L"] * math.log1p(fan_in * params["sigma_w"] ** 2)
        if growth > math.log(MAX_VARIANCE):
            return f"sigma_L^2 = (1 + D^2 J sigma_W^2)^L is above {MAX_VARIANCE:g}: choose a smaller sigma_w"
        if growth < 0.05:
            return "sigma_L^2 is within 5% of 1: too little growth to show"
        return None

    def solve(self, params):
        depth, ell, target = params["L"], params["ell"], params["target"]
        fan_in = params["D"] ** 2 * params["J"]
        # each layer adds a sum of D^2 J independent products w * (an entry of L_ell)
        factor = float(1 + fan_in * Fraction(str(params["sigma_w"])) ** 2)
        exact = math.sqrt((target ** (1 / depth) - 1) / fan_in)
        approx = math.sqrt(math.log(target) / (depth * fan_in))
        return {
            "factor": factor,
            "var_ell": factor**ell,
            "var_L": factor**depth,
            "grad_var_ell": factor ** (depth - ell),
            "sigma_w_exact": exact,
            "sigma_w_approx": approx,
            "approx_rel_error": (approx - exact) / exact,
        }

    def check(self, params, answers):
        """Simulate a linear residual stack h <- (I + W) h of width n = D^2 J (each unit has fan-in n, as
        under a D x D filter over J channels) with Gaussian weights of standard deviation sigma_W. By
        rotational symmetry, one layer multiplies |h|^2 by (1 + sigma_W g)^2 + sigma_W^2 chi^2_(n-1), g
        standard normal, independently across layers, and so does one backward layer for |grad|^2. The
        target sigma_W is found by bisection on the forward map and on its exponential approximation."""
        depth, ell, target = params["L"], params["ell"], params["target"]
        fan_in = params["D"] ** 2 * params["J"]
        sigma_w = params["sigma_w"]
        rng = _check_rng(self.id, params)
        trials = max(200, RESNET_FACTORS // depth)
        g = rng.standard_normal((trials, depth))
        chi = rng.chisquare(fan_in - 1, (trials, depth)) if fan_in > 1 else np.zeros((trials, depth))

        def ratios(s: float) -> np.ndarray:
            return (1 + s * g) ** 2 + s * s * chi

        layers = ratios(sigma_w)
        _mc_agrees("factor", layers.ravel(), _number(answers, "factor"))
        _product_agrees(f"var_ell (forward through layers 1..{ell})", layers[:, :ell], _number(answers, "var_ell"))
        _product_agrees(f"var_L (forward through layers 1..{depth})", layers, _number(answers, "var_L"))
        _product_agrees(
            f"grad_var_ell (backward through layers {depth}..{ell + 1})",
            layers[:, ell:],
            _number(answers, "grad_var_ell"),
        )

        exact, approx = _number(answers, "sigma_w_exact"), _number(answers, "sigma_w_approx")
        # in logarithms, so that a wide bracket cannot overflow; s^2 = target is always far enough
        high = math.sqrt(target)
        found = _bisect(lambda s: depth * math.log1p(fan_in * s * s), math.log(target), high)
        assert abs(exact - found) <= 1e-9 * max(1.0, found), (
            f"sigma_w_exact = {exact}, but bisection on (1 + D^2 J s^2)^L = {target} gives {found:.10g}"
        )
        _product_agrees("sigma_L^2 at sigma_w_exact (the target)", ratios(exact), target)
        found_approx = _bisect(lambda s: depth * fan_in * s * s, math.log(target), high)
        assert abs(approx - found_approx) <= 1e-9 * max(1.0, found_approx), (
            f"sigma_w_approx = {approx}, but bisection on exp(L D^2 J s^2) = {target} gives {found_approx:.10g}"
        )
        rel = _number(answers, "approx_rel_error")
        assert abs(rel - (found_approx - found) / found) <= 1e-7, (
            f"approx_rel_error = {rel}, but the bisection roots give {(found_approx - found) / found:.8f}"
        )

    def context(self, params, answers):
        depth, target = params["L"], params["target"]
        fan_in = params["D"] ** 2 * params["J"]
        factor, exact = answers["factor"], answers["sigma_w_exact"]
        step = answers["factor"]
        stride = max(1, math.ceil(depth / 50))  # smooth curves: about 50 plotted points each are plenty
        layers = sorted(set(range(0, depth + 1, stride)) | {depth})
        top = max(answers["var_L"], target)
        return {
            "fan_in": fan_in,
            "sigma_digits": _decimals(params["sigma_w"]),
            "eps": factor - 1,
            "eps_digits": 2 * _decimals(params["sigma_w"]),
            "eps_exact": fan_in * exact * exact,
            "root": target ** (1 / depth),
            "root_minus_one": target ** (1 / depth) - 1,
            "rel_percent": 100 * answers["approx_rel_error"],
            # at least four significant digits, and below the 1e-6 tolerance
            "sw_digits": 7 if exact < 0.01 else 6,
            "log_target": math.log(target),
            "forward_curve": [(k, step**k) for k in layers],
            "backward_curve": [(k, step ** (depth - k)) for k in layers],
            "tuned_curve": [(k, target ** (k / depth)) for k in layers],
            "y_max": top * 1.08,
        }
