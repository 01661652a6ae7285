"""Generative models (issue 19): the GAN's losses and generator gradients.

gan-losses: a discriminator outputs a logit a; D = sigmoid(a) is its probability that the sample is real.
`d_real` holds its logits on 2 or 3 real samples, `d_fake` on 2 or 3 generated ones; natural logarithm,
means over the samples given. loss_d = -mean log D(x) - mean log(1 - D(G(z))); the saturating generator
loss is mean log(1 - D(G(z))) (the minimax one, which the generator minimizes), the non-saturating one
-mean log D(G(z)). The per-sample gradients are the derivatives of these mean losses with respect to each
fake sample's logit a_i: -D_i / n and -(1 - D_i) / n (they include the 1/n of the mean). `p_data` and
`p_g` are the two densities at one point x; d_star = p_data / (p_data + p_g) is the optimal discriminator.

Precision: every answer to 4 decimal places (the sigmoids lie between 0.04 and 0.96, the losses below 5,
the gradients between 0.01 and 0.5 in size). The problem asks to carry unrounded values, so no answer
needs an allowance.

Fair exams: the structure is the number of real and of fake samples; every draw of one structure takes the
same steps. Each listed mistake is refused where it would score (`scoring_mistake`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from qbank.checks import central_difference, close, close_all
from qbank.draws import decimal, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import as_decimal, as_decimal_list, require_keys
from qbank.precision import decimals

# --------------------------------------------------------------------------------------------- gan-losses

GAN_FIELDS = ("d_real", "d_fake", "p_data", "p_g")
GAN_PRECISION = decimals(4)
WORK = decimals(5)  # values on the way: a digit more than the answers
CALL_MINUTES = 0.5  # one exp or log on a calculator, written down
SIMPLE_MINUTES = 0.25  # one division or subtraction, written down
READ_MINUTES = 1.5
MAX_LOGIT = 4  # |a| <= 4: D stays within 0.018..0.982, every number keeps digits at 4 decimals


def _sigmoid(values: list[float]) -> np.ndarray:
    """D = sigmoid(a) as solve() computes it: NumPy, by the tanh form (1 + tanh(a/2)) / 2."""
    a = np.array(values, dtype=float)
    return (1.0 + np.tanh(a / 2.0)) / 2.0


def _gan(params: Mapping[str, Any], log=np.log) -> dict[str, Any]:
    dr, df = _sigmoid(params["d_real"]), _sigmoid(params["d_fake"])
    n = len(df)
    p, q = params["p_data"], params["p_g"]
    return {
        "D_real": [float(v) for v in dr],
        "D_fake": [float(v) for v in df],
        "loss_d": float(-np.mean(log(dr)) - np.mean(log(1.0 - df))),
        "loss_g_saturating": float(np.mean(log(1.0 - df))),
        "loss_g_nonsaturating": float(-np.mean(log(df))),
        "grad_saturating": [float(-v / n) for v in df],
        "grad_nonsaturating": [float(-(1.0 - v) / n) for v in df],
        "d_star": p / (p + q),
    }


def _log10(values: Any) -> Any:
    return np.log10(values)


def _gan_log10(params: Mapping[str, Any]) -> dict[str, Any]:
    wrong = _gan(params, log=_log10)
    return {name: wrong[name] for name in ("loss_d", "loss_g_saturating", "loss_g_nonsaturating")}


def _gan_sums(params: Mapping[str, Any]) -> dict[str, Any]:
    """Sums over the samples for means: the losses n times larger, the gradients without 1/n."""
    dr, df = _sigmoid(params["d_real"]), _sigmoid(params["d_fake"])
    return {
        "loss_d": float(-np.sum(np.log(dr)) - np.sum(np.log(1.0 - df))),
        "loss_g_saturating": float(np.sum(np.log(1.0 - df))),
        "loss_g_nonsaturating": float(-np.sum(np.log(df))),
        "grad_saturating": [float(-v) for v in df],
        "grad_nonsaturating": [float(-(1.0 - v)) for v in df],
    }


def _gan_swapped_gradients(params: Mapping[str, Any]) -> dict[str, Any]:
    right = _gan(params)
    return {"grad_saturating": right["grad_nonsaturating"], "grad_nonsaturating": right["grad_saturating"]}


def _gan_gradient_in_d(params: Mapping[str, Any]) -> dict[str, Any]:
    """The derivatives with respect to D(G(z_i)) rather than the logit: -1/(n (1 - D)) and -1/(n D)."""
    df = _sigmoid(params["d_fake"])
    n = len(df)
    return {"grad_saturating": [float(-1.0 / (n * (1.0 - v))) for v in df],
            "grad_nonsaturating": [float(-1.0 / (n * v)) for v in df]}


def _gan_d_of_fake_in_loss_d(params: Mapping[str, Any]) -> dict[str, Any]:
    """-mean log D(G(z)) for -mean log(1 - D(G(z))) in the discriminator's loss."""
    dr, df = _sigmoid(params["d_real"]), _sigmoid(params["d_fake"])
    return {"loss_d": float(-np.mean(np.log(dr)) - np.mean(np.log(df)))}


def _gan_gradient_sign(params: Mapping[str, Any]) -> dict[str, Any]:
    right = _gan(params)
    return {name: [-v for v in right[name]] for name in ("grad_saturating", "grad_nonsaturating")}


@register
class GanLosses(Family):
    id = "gan-losses"
    title = "GAN losses: the discriminator's loss, the saturating and non-saturating generator losses, their gradients"
    topic = "generative"
    difficulty = 2
    answers = {
        "D_real": Answer("vector", "D(x) = sigmoid(a) on each real sample", precision=GAN_PRECISION,
                         symbol="D(x)", label="D(x)", index=("real sample {}",)),
        "D_fake": Answer("vector", "D(G(z)) = sigmoid(a) on each generated sample", precision=GAN_PRECISION,
                         symbol="D(G(z))", label="D(G(z))", index=("fake sample {}",)),
        "loss_d": Answer("number", "the discriminator's loss -mean log D(x) - mean log(1 - D(G(z)))",
                         precision=GAN_PRECISION, symbol="L_D", label="L_D"),
        "loss_g_saturating": Answer("number", "the saturating generator loss mean log(1 - D(G(z)))",
                                    precision=GAN_PRECISION, symbol=r"L_G^{\mathrm{sat}}", label="L_G sat"),
        "loss_g_nonsaturating": Answer("number", "the non-saturating generator loss -mean log D(G(z))",
                                       precision=GAN_PRECISION, symbol=r"L_G^{\mathrm{ns}}", label="L_G ns"),
        "grad_saturating": Answer("vector", "dL_G^sat / da_i for each fake sample's logit a_i (the mean's 1/n included)",
                                  precision=GAN_PRECISION, symbol=r"\partial L_G^{\mathrm{sat}}/\partial a_i",
                                  label="dL_G sat/da", index=("fake sample {}",)),
        "grad_nonsaturating": Answer("vector", "dL_G^ns / da_i for each fake sample's logit a_i (the mean's 1/n included)",
                                     precision=GAN_PRECISION, symbol=r"\partial L_G^{\mathrm{ns}}/\partial a_i",
                                     label="dL_G ns/da", index=("fake sample {}",)),
        "d_star": Answer("number", "the optimal discriminator's output p_data / (p_data + p_g) at the point",
                         precision=GAN_PRECISION, symbol="D^*(x)", label="D*(x)"),
    }
    mistakes = {
        "log10 for ln in the losses": _gan_log10,
        "sums over the samples for means (the gradients without 1/n)": _gan_sums,
        "the saturating and non-saturating gradients swapped": _gan_swapped_gradients,
        "the gradients with respect to D(G(z)) instead of the logit": _gan_gradient_in_d,
        "log D(G(z)) for log(1 - D(G(z))) in the discriminator's loss": _gan_d_of_fake_in_loss_d,
        "the gradients' sign flipped": _gan_gradient_sign,
        "p_g / (p_data + p_g) for the optimal discriminator": lambda p: {"d_star": p["p_g"] / (p["p_data"] + p["p_g"])},
        "the saturating loss with its sign flipped (-mean log(1 - D(G(z))))": lambda p: {
            "loss_g_saturating": -_gan(p)["loss_g_saturating"]},
    }
    structure = ("d_real", "d_fake")  # the numbers of real and of fake samples
    asks = ("gan-discriminator-loss", "gan-generator-losses", "gan-generator-saturation", "gan-optimal-discriminator")
    reveals = ()

    def sample(self, rng):
        n_real, n_fake = integer(rng, 2, 3), integer(rng, 2, 3)
        # a discriminator that is winning: real logits mostly positive, fake ones mostly negative
        return {
            "d_real": [decimal(rng, -1, 3, 0.1, nonzero=True) for _ in range(n_real)],
            "d_fake": [decimal(rng, -3, 1, 0.1, nonzero=True) for _ in range(n_fake)],
            "p_data": decimal(rng, 0.1, 2, 0.1),
            "p_g": decimal(rng, 0.1, 2, 0.1),
        }

    def validate(self, params):
        require_keys(params, GAN_FIELDS)
        why = " (discriminator logits)"
        return {
            "d_real": as_decimal_list(params["d_real"], "d_real", (2, 3), -MAX_LOGIT, MAX_LOGIT, 2, why=why),
            "d_fake": as_decimal_list(params["d_fake"], "d_fake", (2, 3), -MAX_LOGIT, MAX_LOGIT, 2, why=why),
            "p_data": as_decimal(params["p_data"], "p_data", 0.01, 10, 2),
            "p_g": as_decimal(params["p_g"], "p_g", 0.01, 10, 2),
        }

    def degenerate(self, params):
        if params["p_data"] == params["p_g"]:
            return "p_data = p_g: the optimal discriminator is 1/2 with nothing to compute"
        fake = params["d_fake"]
        if len(set(fake)) < len(fake):
            return "two fake samples have the same logit: their gradients repeat each other"
        if 0 in fake:
            return "a fake logit is 0: D(G(z)) = 1/2 and the two generator gradients coincide"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        return _gan(params)

    def check(self, params, answers):
        """Another route: D = 1 / (1 + e^-a) in a scalar loop, the losses through softplus
        (-log sigmoid(a) = log(1 + e^-a), -log(1 - sigmoid(a)) = log(1 + e^a)) with math.fsum, the gradients by
        central differences of those mean losses in each fake logit, and d_star by bisecting for the zero of the
        derivative of p_data log D + p_g log(1 - D) (a concave function of D)."""
        real = [float(v) for v in params["d_real"]]
        fake = [float(v) for v in params["d_fake"]]
        n_real, n_fake = len(real), len(fake)

        def softplus(x: float) -> float:
            return max(x, 0.0) + math.log1p(math.exp(-abs(x)))

        close_all(answers["D_real"], [1.0 / (1.0 + math.exp(-a)) for a in real], "D_real", 1e-12)
        close_all(answers["D_fake"], [1.0 / (1.0 + math.exp(-a)) for a in fake], "D_fake", 1e-12)

        def losses(values: Mapping[str, Any]) -> dict[str, float]:
            f = values["fake"]
            return {
                "loss_d": math.fsum(softplus(-a) for a in real) / n_real + math.fsum(softplus(a) for a in f) / n_fake,
                "loss_g_saturating": -math.fsum(softplus(a) for a in f) / n_fake,
                "loss_g_nonsaturating": math.fsum(softplus(-a) for a in f) / n_fake,
            }

        base = {"fake": fake}
        ref = losses(base)
        for name, want in ref.items():
            close(answers[name], want, name, 1e-12)
        for answer, loss in (("grad_saturating", "loss_g_saturating"), ("grad_nonsaturating", "loss_g_nonsaturating")):
            numeric = [central_difference(lambda v: losses(v)[loss], base, "fake", (i,)) for i in range(n_fake)]
            close_all(answers[answer], numeric, answer, 1e-8)
        p, q = float(params["p_data"]), float(params["p_g"])
        lo, hi = 0.0, 1.0  # f'(D) = p_data / D - p_g / (1 - D) falls from +inf to -inf: bisect for its zero
        for _ in range(100):
            mid = (lo + hi) / 2
            if p / mid - q / (1 - mid) > 0:
                lo = mid
            else:
                hi = mid
        close(answers["d_star"], (lo + hi) / 2, "d_star", 1e-12)

    def structure_of(self, params):
        return {"d_real": [len(params["d_real"])], "d_fake": [len(params["d_fake"])]}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, ...]:
        r, f = len(params["d_real"]), len(params["d_fake"])
        return (
            (r + f) * CALL_MINUTES,  # (a) one exponential per sigmoid
            (r + f) * CALL_MINUTES + 2 * SIMPLE_MINUTES,  # (b) one logarithm per sample, two means
            2 * f * CALL_MINUTES,  # (c) both generator losses (log(1 - D) is known from (b): written again)
            2.0 + 2 * f * SIMPLE_MINUTES,  # (d) both derivatives, then one number per sample each
            1.5,  # (e) the optimal discriminator, derived and evaluated
        )

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        names = (("D_real", "D_fake"), ("loss_d",), ("loss_g_saturating", "loss_g_nonsaturating"),
                 ("grad_saturating", "grad_nonsaturating"), ("d_star",))
        return tuple(Part(n, w) for n, w in zip(names, weights))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        dr, df = answers["D_real"], answers["D_fake"]
        return {
            "n_real": len(dr),
            "n_fake": len(df),
            "log_real": [math.log(v) for v in dr],
            "log_fake": [math.log(v) for v in df],
            "log_one_minus_fake": [math.log(1 - v) for v in df],
            "one_minus_fake": [1 - v for v in df],
            "mean_log_real": float(np.mean(np.log(dr))),
            "mean_log_one_minus_fake": float(np.mean(np.log(1 - np.array(df)))),
            "work": WORK,
        }
