"""Initialisation families: the variance of a unit at initialisation, and of a linear residual stack.

Both checks are Monte Carlo simulations with their own generator, seeded from a hash of the params (so a
check is deterministic), and tolerances of six standard errors estimated from the same samples.

resnet-init-variance takes no `mode`: every variant gives a weight scale `sigma_w` (for the forward and
backward variances) and a `target` for sigma_L^2 (for the initialisation that hits it), and asks both.

Fair exams (issue 8): init-variance's activation is structural (sigmoid, tanh and relu ask different parts);
resnet-init-variance computes the same steps for every size (each size enters one product or power on a
calculator), so only its filter size D is held fixed within an exam slot, and its depth, channels and target
keep the versions' answers apart.

Precision (issue 16): every number is asked as a careful instructor would ask it by hand: exact where it is
exact (1/16, 1/4, 2, the per-layer factor 1 + D^2 J sigma_W^2 of short decimals), 4 decimal places for the
values of order 1 of init-variance, 4 significant digits for the variances and weight scales of the residual
stack (from about 1e-4 to 1000), 2 for its relative error. Each family lists the common mistakes its draws
must tell from the right answer (`mistakes`); `degenerate` refuses a draw on which one of them scores.
"""

from __future__ import annotations

import hashlib
import json
import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.arith import evaluate
from qbank.draws import choice
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_choice, as_decimal, as_int, require_keys
from qbank.precision import decimals, exact, sig

SE_LIMIT = 6.0  # Monte Carlo agreement within this many standard errors: never fails by chance in practice
INIT_SAMPLES = 20_000  # samples of y: six standard errors of Var(y) are about 6%, and the check takes ~3 ms
RESNET_FACTORS = 24_000  # per-layer norm ratios drawn (trials x depth): ~2 ms

ACTIVATIONS = ("sigmoid", "tanh", "relu")
ACTIVATION_NAMES = {"sigmoid": "the logistic sigmoid", "tanh": "the hyperbolic tangent", "relu": "the rectifier (ReLU)"}
ACTIVATION_TEX = {"sigmoid": r"f(z) = \frac{1}{1 + e^{-z}}", "tanh": r"f(z) = \tanh z", "relu": r"f(z) = \max(0, z)"}
# Perfect squares only: sigma = 1/sqrt(d) = 1/k has a short exact form for every version (and the He scale
# sqrt(2/d) = sqrt(2)/k). 56 of them, enough for 40 versions of an exam slot (activation fixed) with distinct
# d; k = 32 is left out, as 1/32 = 0.03125 lies on a rounding boundary at 4 decimal places.
INIT_DIMS = tuple(k * k for k in range(4, 61) if k != 32)


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
RELU_ONLY = (
    "second_moment", "output_variance", "he_sigma", "he_sigma_exact", "he_input_variance", "he_output_variance"
)
# What each activation asks (asks_of; the card's `asks` is their union). "sigmoid-output-variance" is part
# (c): Var(u) against Var(y), with the bound from the slope.
ASKS_BY_ACTIVATION = {
    "sigmoid": ("init-unit-variance-sigma", "sigmoid-output-mean", "sigmoid-output-variance",
                "sigmoid-max-output-variance"),
    "tanh": ("init-unit-variance-sigma", "tanh-output-mean", "tanh-output-variance", "tanh-max-output-variance"),
    "relu": ("init-unit-variance-sigma", "relu-output-mean", "relu-output-second-moment", "relu-he-init"),
}
REVEALS_BY_ACTIVATION = {"sigmoid": (), "tanh": (), "relu": ("he-init-criterion",)}


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
    # Exact where the value is (1/2, 1/16, 1/4, 2), 4 decimal places for the rest (all of order 1). The
    # texts say what each answer is, for the keys; labels and forms are what a student reads beside an input.
    answers = {
        "sigma": Answer("number", "weight standard deviation sigma that gives Var(y) = 1, i.e. 1/sqrt(d)",
                        precision=decimals(4), symbol=r"\sigma", label="sigma (decimal)"),
        "sigma_exact": Answer("expression", "that sigma in exact form, e.g. 1/8 or sqrt(2)/10",
                              symbol=r"\sigma", label="sigma (exact)",
                              form="an exact number, with sqrt() where needed, such as sqrt(5)/2 or 3/4"),
        "output_mean": Answer(
            "number", "E[u] at that sigma: 1/2 (sigmoid), 0 (tanh), 1/sqrt(2 pi) for y treated as N(0, 1) (relu)",
            precision=decimals(4), symbol="E[u]", label="E[u]",
        ),
        "variance_smaller": Answer(
            "boolean", "sigmoid and tanh: is Var(u) smaller than Var(y)? (null for relu)",
            label="is Var(u) smaller than Var(y)?",
        ),
        "variance_bound": Answer(
            "number", "sigmoid and tanh: the bound (max slope)^2 Var(y) on Var(u): 1/16 or 1 (null for relu)",
            precision=exact(), symbol=r"c^2 \operatorname{Var}(y)", label="bound on Var(u)",
        ),
        "max_output_variance": Answer(
            "number", "sigmoid and tanh: the largest variance the output can have, 1/4 or 1 (null for relu)",
            precision=exact(), symbol=r"\sup \operatorname{Var}(u)", label="least upper bound of Var(u)",
        ),
        "second_moment": Answer("number", "relu: E[u^2] = Var(y)/2 at that sigma (null otherwise)",
                                precision=exact(), symbol="E[u^2]", label="E[u^2]"),
        "output_variance": Answer(
            "number", "relu: Var(u) = 1/2 - 1/(2 pi) for y treated as N(0, 1) (null otherwise)",
            precision=decimals(4), symbol=r"\operatorname{Var}(u)", label="Var(u)",
        ),
        "he_sigma": Answer("number", "relu: sigma that gives E[u^2] = 1 (He), sqrt(2/d) (null otherwise)",
                           precision=decimals(4), symbol=r"\sigma", label="He sigma (decimal)"),
        "he_sigma_exact": Answer("expression", "relu: that sigma in exact form (null otherwise)",
                                 symbol=r"\sigma", label="He sigma (exact)",
                                 form="an exact number, with sqrt() where needed, such as sqrt(5)/2 or 3/4"),
        "he_input_variance": Answer("number", "relu: Var(y) at the He sigma, d sigma^2 = 2 (null otherwise)",
                                    precision=exact(whole=True), symbol=r"\operatorname{Var}(y)", label="Var(y) at the He sigma"),
        "he_output_variance": Answer(
            "number", "relu: Var(u) at the He sigma for y treated as N(0, 2): 1 - 1/pi (null otherwise)",
            precision=decimals(4), symbol=r"\operatorname{Var}(u)", label="Var(u) at the He sigma",
        ),
    }
    # The mistakes a draw must tell from the right answer (see scoring_mistake): each gives the wrong
    # answers it leads to. The constant answers (1/2, 1/16, 1/4, 2...) tell every mistake below from the
    # right one whatever d is; sigma's two are checked per draw. tanh has c = c^2 = 1, so the slope
    # given for its square cannot be seen in its bound: that mistake is listed for the sigmoid only
    # (part (c) of tanh is carried by the strictness argument).
    mistakes = {
        "sigma = 1/d (the variance taken for the standard deviation)": lambda p: {
            "sigma": 1 / p["d"], **({"he_sigma": 2 / p["d"]} if p["activation"] == "relu" else {})},
        "He sigma = 2/sqrt(d) (the standard deviation doubled, not the variance)": lambda p: (
            {"he_sigma": 2 / math.sqrt(p["d"])} if p["activation"] == "relu" else {}),
        "He sigma = 1/sqrt(2d) (the variance halved, not doubled)": lambda p: (
            {"he_sigma": 1 / math.sqrt(2 * p["d"])} if p["activation"] == "relu" else {}),
        "E[u] = f(E[y]) = f(0)": lambda p: {"output_mean": 0.0} if p["activation"] == "relu" else {},
        "the slope bound c for c^2 (sigmoid)": lambda p: (
            {"variance_bound": 0.25} if p["activation"] == "sigmoid" else {}),
        "the range squared for the largest variance": lambda p: (
            {"max_output_variance": 1.0 if p["activation"] == "sigmoid" else 4.0}
            if p["activation"] != "relu" else {}),
        "Var(u) = E[u^2], E[u]^2 forgotten": lambda p: (
            {"output_variance": 0.5, "he_output_variance": 1.0} if p["activation"] == "relu" else {}),
        "Var(y) = 1 kept at the He sigma": lambda p: (
            {"he_input_variance": 1.0} if p["activation"] == "relu" else {}),
    }
    # The activation decides which parts are asked and how they are argued. d changes only the numbers
    # (and which of 1/sqrt(d) and sqrt(2/d) is rational: the same steps either way).
    structure = ("activation",)
    asks = tuple(dict.fromkeys(tag for tags in ASKS_BY_ACTIVATION.values() for tag in tags))
    # part (d) for relu names the He criterion, E[u^2] = 1, while asking for its sigma
    reveals = tuple(dict.fromkeys(tag for tags in REVEALS_BY_ACTIVATION.values() for tag in tags))

    def asks_of(self, params):
        return ASKS_BY_ACTIVATION[params["activation"]]

    def reveals_of(self, params):
        return REVEALS_BY_ACTIVATION[params["activation"]]

    def sample(self, rng):
        activation = choice(rng, ACTIVATIONS)  # the structural choice first, uniformly
        return {"d": choice(rng, INIT_DIMS), "activation": activation}

    def parts(self, params):
        if params["activation"] == "relu":
            return (
                Part(("sigma", "sigma_exact"), 2),
                Part(("output_mean",), 2),
                Part(("second_moment", "output_variance"), 2),
                Part(("he_sigma", "he_sigma_exact", "he_input_variance", "he_output_variance"), 3),
            )
        return (
            Part(("sigma", "sigma_exact"), 2),
            Part(("output_mean",), 1),
            Part(("variance_smaller", "variance_bound"), 3),
            Part(("max_output_variance",), 2),
        )

    def minutes(self, params):
        # (a) a four-line derivation and a square root: 1.5 min. sigmoid/tanh: (b) a symmetry argument,
        # 1 min; (c) the slope, its maximum and the variance bound with its strictness, 3 min; (d) the
        # bound on a bounded variable and when it is approached, 1.5 min. relu: (b) one integral, 2 min;
        # (c) the symmetry argument and E[u]^2, 2 min; (d) the He scale exactly and as a decimal, then
        # Var(y) and Var(u) at it, 2.5 min.
        return 1.5 + (6.5 if params["activation"] == "relu" else 5.5)

    def validate(self, params):
        # A pinned d need not be a perfect square: sigma = 1/sqrt(d) still has an exact form (sqrt(7)/7) and
        # every part stays well defined; only the drawn ones are squares, so that versions are alike.
        require_keys(params, ("d", "activation"))
        return {
            "d": as_int(params["d"], "d", 4, 1_000_000),
            "activation": as_choice(params["activation"], "activation", ACTIVATIONS),
        }

    def degenerate(self, params):
        return scoring_mistake(self, params, self.solve(params))

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
            answers["he_input_variance"] = 2  # d * (2/d): no longer 1, on purpose
            answers["he_output_variance"] = 1 - 1 / math.pi  # 2 (1/2 - 1/(2 pi)): relu is homogeneous
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
            he_var_y = _number(answers, "he_input_variance")
            _mc_agrees("he_input_variance", (he * scale) ** 2, he_var_y)
            # Var(u) for Gaussian y of standard deviation sqrt(d) * he, by quadrature
            spread = math.sqrt(d) * he
            he_mean = _gaussian_integral(lambda z: f(spread * z))
            he_var_u = _gaussian_integral(lambda z: f(spread * z) ** 2) - he_mean**2
            claimed = _number(answers, "he_output_variance")
            assert abs(claimed - he_var_u) <= 1e-5, (  # the trapezoid rule across the kink: ~1e-6
                f"he_output_variance = {claimed}, but integrating relu(y)^2 for y ~ N(0, {spread**2:.6g}) gives "
                f"{he_var_u:.8f}"
            )

    def context(self, params, answers):
        d = params["d"]
        places = self.answers["sigma"].grading.digits  # sigma and the He sigma are asked to these decimals
        return {
            "f_name": ACTIVATION_NAMES[params["activation"]],
            "f_def": ACTIVATION_TEX[params["activation"]],
            # 1/sqrt(64) = 1/8 and 1/sqrt(50) = sqrt(2)/10 are worth showing; 1/sqrt(7) = sqrt(7)/7 is not
            "sigma_forms": simpler_root_tex(1, d),
            "he_forms": simpler_root_tex(2, d),
            "sigma_rel": _equals_or_approx(answers["sigma"], places),
            "he_rel": _equals_or_approx(answers["he_sigma"], places) if answers["he_sigma"] is not None else "",
        }


# ---------------------------------------------------------------- resnet-init-variance

RESNET_DEPTHS = (10, 12, 16, 20, 24, 25, 30, 32, 40, 50, 60, 64, 80, 100)
RESNET_SIZES = (3, 5)  # a 1 x 1 "convolution" would make D^2 = 1 and the filter pointless
RESNET_CHANNELS = (8, 16, 32, 64, 128, 256)
RESNET_TARGETS = (1.5, 2, 2, 2, 3, 4, 5, 10)
MAX_VARIANCE = 1000.0  # beyond this the numbers stop being readable; the lesson is the same
TARGET_DECIMALS = 4  # a pinned target prints with up to 4 decimals, so it may have no more
SIGMA_DECIMALS = 6  # sigma_W is printed exactly, and D^2 J sigma_W^2 with twice its decimals


def _layer_gap(depth: int) -> int:
    """How far the asked layer ell stays from the bottom and the top: a fifth of the stack, at least 2, so
    that both exponents ell and L - ell are real powers (ell = L - 1 would make the gradient one factor)."""
    return max(2, round(depth / 5))


def _exp_ratio_excess(a: float) -> float:
    """(e^a - 1 - a) / a for a > 0, without cancellation when a is small (a series there)."""
    if a >= 0.1:
        return (math.expm1(a) - a) / a
    total, term, k = 0.0, 1.0, 1
    while True:  # sum over k >= 1 of a^k / (k + 1)!
        term *= a / (k + 1)
        total += term
        if term <= 1e-18 * total:
            return total
        k += 1


def _roots(depth: int, fan_in: int, target: int | float) -> tuple[float, float, float]:
    """sigma_W for (1 + n s^2)^L = target exactly and by (1 + e)^L ~ e^(eL), and the relative error of the
    second, all to full precision also for a target near 1 (log1p of target - 1 taken exactly, expm1, and the
    ratio of the roots as sqrt(a / expm1(a)) = (1 + excess)^(-1/2))."""
    a = math.log1p(float(Fraction(str(target)) - 1)) / depth  # ln(target) / L
    exact = math.sqrt(math.expm1(a) / fan_in)  # target^(1/L) - 1 = expm1(a)
    approx = math.sqrt(a / fan_in)
    rel = math.expm1(-0.5 * math.log1p(_exp_ratio_excess(a)))  # approx / exact - 1
    return exact, approx, rel


def _digits_for(x: float, significant: int) -> int:
    """Decimals that show |x| (nonzero) with at least `significant` significant digits."""
    return max(0, significant - 1 - math.floor(math.log10(abs(x))))


def _resnet_factor(params: Mapping[str, Any]) -> float:
    """1 + D^2 J sigma_W^2, computed exactly (sigma_W is a short decimal)."""
    return float(1 + params["D"] ** 2 * params["J"] * Fraction(str(params["sigma_w"])) ** 2)


def _resnet_roots(params: Mapping[str, Any]) -> tuple[float, float, float]:
    """`_roots` for a variant's params: sigma_W exactly, approximately, and the relative error."""
    return _roots(params["L"], params["D"] ** 2 * params["J"], params["target"])


def _resnet_powers(params: Mapping[str, Any], factor: float, extra: int = 0) -> dict[str, float]:
    """The answers of parts (a) and (b) from a wrong per-layer `factor` (with `extra` = 0), or from the
    right one with each power `extra` layers off (the factor itself then stays right: not listed)."""
    depth, ell = params["L"], params["ell"]
    powers = {"var_ell": factor ** (ell + extra), "var_L": factor ** (depth + extra),
              "grad_var_ell": factor ** (depth - ell + extra)}
    return powers if extra else {"factor": factor, **powers}


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
    # The factor is exact (sigma_W has one significant digit, so 1 + D^2 J sigma_W^2 is a short decimal);
    # the variances (about 1.05 to 1000) and the weight scales (about 1e-4 to 0.05) vary in size and are
    # asked to 4 significant digits; the relative error, which cancels two close roots, to 2.
    answers = {
        "factor": Answer("number", "per-layer variance factor 1 + D^2 J sigma_W^2",
                         precision=exact(), symbol="g", label="g (factor per layer)"),
        "var_ell": Answer("number", "sigma_ell^2 = (1 + D^2 J sigma_W^2)^ell at the given layer ell",
                          precision=sig(4), symbol=r"\sigma_\ell^2", label="sigma_ell^2 at the given layer"),
        "var_L": Answer("number", "sigma_L^2 at the top layer L",
                        precision=sig(4), symbol=r"\sigma_L^2", label="sigma_L^2 at the top"),
        "grad_var_ell": Answer(
            "number", "variance of L_ell.grad, (1 + D^2 J sigma_W^2)^(L - ell), for unit variance at the top",
            precision=sig(4), symbol=r"\sigma_{\ell,\mathrm{grad}}^2", label="gradient variance at the given layer",
        ),
        "sigma_w_exact": Answer("number", "sigma_W giving sigma_L^2 = target: sqrt((target^(1/L) - 1)/(D^2 J))",
                                precision=sig(4), symbol=r"\sigma_W", label="sigma_W (exact)"),
        "sigma_w_approx": Answer("number", "that sigma_W from (1 + e)^L ~ exp(e L): sqrt(ln(target)/(L D^2 J))",
                                 precision=sig(4), symbol=r"\sigma_W^\text{approx}", label="sigma_W (approximate)"),
        "approx_rel_error": Answer("number", "relative error (approx - exact)/exact of the approximate sigma_W",
                                   precision=sig(2), symbol="r", label="relative error r"),
    }
    # The mistakes a draw must tell from the right answer (see scoring_mistake): each gives the wrong
    # answers it leads to. ell = L/2 would let the forward exponent pass for the gradient's; a target too
    # close to 1 would let the approximate sigma_W pass for the exact one.
    mistakes = {
        "the forward exponent ell for the gradient's L - ell": lambda p: {
            "grad_var_ell": _resnet_factor(p) ** p["ell"]},
        "the gradient's exponent L - ell for the forward ell": lambda p: {
            "var_ell": _resnet_factor(p) ** (p["L"] - p["ell"])},
        "one layer too many": lambda p: _resnet_powers(p, _resnet_factor(p), 1),
        "one layer too few": lambda p: _resnet_powers(p, _resnet_factor(p), -1),
        "the skip connection forgotten (factor D^2 J sigma_W^2)": lambda p: _resnet_powers(
            p, _resnet_factor(p) - 1),
        "D for D^2": lambda p: _resnet_powers(p, 1 + p["D"] * p["J"] * p["sigma_w"] ** 2),
        "sigma_W for sigma_W^2": lambda p: _resnet_powers(p, 1 + p["D"] ** 2 * p["J"] * p["sigma_w"]),
        "the approximate sigma_W for the exact one": lambda p: {"sigma_w_exact": _resnet_roots(p)[1]},
        "the exact sigma_W for the approximate one": lambda p: {"sigma_w_approx": _resnet_roots(p)[0]},
        "the square root forgotten": lambda p: {
            "sigma_w_exact": _resnet_roots(p)[0] ** 2, "sigma_w_approx": _resnet_roots(p)[1] ** 2},
        "log10 for ln": lambda p: {
            "sigma_w_approx": math.sqrt(math.log10(p["target"]) / (p["L"] * p["D"] ** 2 * p["J"]))},
        "the relative error's sign": lambda p: {"approx_rel_error": -_resnet_roots(p)[2]},
    }
    # Every size enters the same steps: D^2 J is one product, L and ell are exponents on a calculator. The
    # filter size is held fixed within a slot (a 3 x 3 and a 5 x 5 network look like different problems);
    # depth, channels and target keep varying, or the versions' answers would repeat.
    structure = ("D",)
    asks = ("resnet-forward-variance-growth", "resnet-gradient-variance", "resnet-init-for-target-variance")
    reveals = ("one-plus-eps-power-approximation",)  # part (d) gives (1 + e)^N ~ e^(eN)

    def sample(self, rng):
        size = choice(rng, RESNET_SIZES)  # the structural choice first, uniformly
        depth, channels = choice(rng, RESNET_DEPTHS), choice(rng, RESNET_CHANNELS)
        growth = float(rng.uniform(0.3, 2.5))  # D^2 J sigma_W^2 L: sigma_L^2 is about e^growth
        sigma_w = _one_significant_digit(math.sqrt(growth / (depth * size * size * channels)))
        gap = _layer_gap(depth)
        return {
            "L": depth,
            "D": size,
            "J": channels,
            "sigma_w": sigma_w,
            "target": choice(rng, RESNET_TARGETS),
            # not the middle layer, where the gradient's exponent L - ell equals the forward one
            "ell": choice(rng, [k for k in range(gap, depth - gap + 1) if 2 * k != depth]),
        }

    def validate(self, params):
        require_keys(params, ("L", "D", "J", "sigma_w", "target", "ell"))
        depth = as_int(params["L"], "L", 3, 200)
        sigma_w = as_decimal(params["sigma_w"], "sigma_w", 0, 1, SIGMA_DECIMALS, nonzero=True)
        target = as_decimal(params["target"], "target", 1, 1000, TARGET_DECIMALS)
        if target == 1:
            raise ParamError("target", "a number above 1 and at most 1000 (sigma_L^2 = 1 needs sigma_W = 0)", target)
        ell = as_int(params["ell"], "ell", 1, None)
        if ell > depth - 2:
            raise ParamError("ell", f"an integer from 1 to L - 2 = {depth - 2} (a layer not next to the top)", ell)
        return {
            "L": depth,
            "D": as_choice(params["D"], "D", (3, 5, 7)),
            "J": as_int(params["J"], "J", 1, 1024),
            "sigma_w": sigma_w,
            "target": target,
            "ell": ell,
        }

    def parts(self, params):
        return (
            Part(("factor", "var_ell", "var_L"), 3),
            Part(("grad_var_ell",), 2),
            Part(("sigma_w_exact",), 2),
            Part(("sigma_w_approx", "approx_rel_error"), 3),
        )

    def minutes(self, params):
        # (a) the recursion and its solution, 2 min, and three powers on a calculator, 1 min; (b) the backward
        # recursion, 2 min, and one power, 0.5 min; (c) an L-th root and a square root, 1.5 min; (d) the
        # approximation solved, a logarithm and a square root, then the relative error, 2.5 min
        return 9.5

    def degenerate(self, params):
        fan_in = params["D"] ** 2 * params["J"]
        growth = params["L"] * math.log1p(fan_in * params["sigma_w"] ** 2)
        if growth > math.log(MAX_VARIANCE):
            return f"sigma_L^2 = (1 + D^2 J sigma_W^2)^L is above {MAX_VARIANCE:g}: choose a smaller sigma_w"
        if growth < 0.05:
            return "sigma_L^2 is within 5% of 1: too little growth to show"
        factor = 1 + fan_in * Fraction(str(params["sigma_w"])) ** 2
        if (factor * 10**6).denominator != 1:
            return (f"1 + D^2 J sigma_W^2 = {float(factor)!r} has more than 6 decimals, too many to ask exactly: "
                    "give sigma_w with fewer digits")
        if 2 * params["ell"] == params["L"]:
            return "ell = L/2: the gradient variance of part (b) would equal sigma_ell^2 of part (a)"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        depth, ell, target = params["L"], params["ell"], params["target"]
        fan_in = params["D"] ** 2 * params["J"]
        factor = _resnet_factor(params)  # each layer adds a sum of D^2 J independent products w * (an entry of L_ell)
        exact, approx, rel = _roots(depth, fan_in, target)
        return {
            "factor": factor,
            "var_ell": factor**ell,
            "var_L": factor**depth,
            "grad_var_ell": factor ** (depth - ell),
            "sigma_w_exact": exact,
            "sigma_w_approx": approx,
            "approx_rel_error": rel,
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
        assert abs(exact - found) <= 1e-9 * found, (
            f"sigma_w_exact = {exact}, but bisection on (1 + D^2 J s^2)^L = {target} gives {found:.10g}"
        )
        _product_agrees("sigma_L^2 at sigma_w_exact (the target)", ratios(exact), target)
        found_approx = _bisect(lambda s: depth * fan_in * s * s, math.log(target), high)
        assert abs(approx - found_approx) <= 1e-9 * found_approx, (
            f"sigma_w_approx = {approx}, but bisection on exp(L D^2 J s^2) = {target} gives {found_approx:.10g}"
        )
        rel = _number(answers, "approx_rel_error")
        # relative to the error itself: the roots are bisected to 1e-15, so their difference is good to
        # about 1e-15 / |rel| relative (better than 1e-8 for every accepted target and depth)
        assert abs(rel - (found_approx - found) / found) <= 1e-6 * abs(rel) + 1e-13, (
            f"approx_rel_error = {rel}, but the bisection roots give {(found_approx - found) / found:.8f}"
        )

    def context(self, params, answers):
        depth, target = params["L"], params["target"]
        fan_in = params["D"] ** 2 * params["J"]
        exact, approx = answers["sigma_w_exact"], answers["sigma_w_approx"]
        step = answers["factor"]
        stride = max(1, math.ceil(depth / 50))  # smooth curves: about 50 plotted points each are plenty
        layers = sorted(set(range(0, depth + 1, stride)) | {depth})
        top = max(answers["var_L"], target)
        log_target = math.log1p(float(Fraction(str(target)) - 1))
        root_minus_one = math.expm1(log_target / depth)  # target^(1/L) - 1, also for a target near 1
        root_digits = max(6, _digits_for(root_minus_one, 4))
        # in the subtraction of part (d), enough digits (more than the answers have) that the difference of
        # the shown roots gives the shown relative error
        diff_digits = max(6, _digits_for(exact, 4), _digits_for(approx - exact, 4))
        return {
            "fan_in": fan_in,
            "sigma_digits": _decimals(params["sigma_w"]),
            "eps": float(fan_in * Fraction(str(params["sigma_w"])) ** 2),  # exact: sigma_w has few decimals
            "root": 1 + root_minus_one,
            "root_minus_one": root_minus_one,
            "root_digits": root_digits,
            "diff_digits": diff_digits,
            "log_target": log_target,
            "log_digits": max(6, _digits_for(log_target, 4)),
            "forward_curve": [(k, step**k) for k in layers],
            "backward_curve": [(k, step ** (depth - k)) for k in layers],
            "tuned_curve": [(k, target ** (k / depth)) for k in layers],
            "y_max": top * 1.08,
        }
