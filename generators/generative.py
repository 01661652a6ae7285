"""Generative models (issue 19): the GAN's losses and generator gradients (gan-losses); the VAE's sample, KL
term, reconstruction term and ELBO (vae-elbo).

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

vae-elbo: an encoder gives q(z | x) = N(mu, diag(exp(logvar))) over J = 2 or 3 latents; the sample is
reparameterized, z = mu + sigma * eps with sigma = exp(logvar / 2) and eps the given standard normal draw;
the decoder's Bernoulli means at z are `x_probs`, one per binary pixel of `x`. Natural log. kl is
KL(q || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - logvar_j), recon = sum_i x_i ln p_i + (1 - x_i)
ln(1 - p_i), elbo = recon - kl; dKL/dmu = mu (asked exactly: the given short decimals) and dKL/dlogvar =
(exp(logvar) - 1) / 2. Every other answer to 4 decimal places. The structure is J and the number of
pixels; no mu, logvar or eps is 0 (a latent with nothing to compute), the pixels hold both values, and no
decoder mean is 0.5.

diffusion-forward: DDPM's forward process with the variance schedule `betas` (T = 3 to 5 steps, numbered from
1), q(x_s | x_(s-1)) = N(sqrt(1 - beta_s) x_(s-1), beta_s I); alphas = 1 - beta (exact: short decimals),
alpha_bars their cumulative products, x_t = sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise at the
1-based step t (2 <= t <= T, so that alpha-bar_(t-1) exists), snr = alpha-bar_t / (1 - alpha-bar_t), and the
posterior q(x_(t-1) | x_t, x0) = N(c0 x0 + ct x_t, posterior_var I) with c0 = sqrt(alpha-bar_(t-1)) beta_t /
(1 - alpha-bar_t), ct = sqrt(alpha_t) (1 - alpha-bar_(t-1)) / (1 - alpha-bar_t) and posterior_var =
(1 - alpha-bar_(t-1)) / (1 - alpha-bar_t) beta_t. Every answer but alphas to 4 decimal places. The sampler
draws a non-decreasing schedule from multiples of 0.02 up to 0.3; the structure is T and the size of x0.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from qbank.checks import central_difference, close, close_all
from qbank.draws import choice, decimal, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import as_decimal, as_decimal_list, as_int, as_int_list, require_keys
from qbank.precision import decimals, exact

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


# --------------------------------------------------------------------------------------------- vae-elbo

VAE_FIELDS = ("mu", "logvar", "eps", "x", "x_probs")
VAE_PRECISION = decimals(4)
DECODER_MEANS = tuple(round(0.05 * k, 2) for k in range(1, 20) if k != 10)  # 0.05 .. 0.95, never 0.5


def _vae(params: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as solve() computes them: NumPy vectors."""
    mu, logvar = np.array(params["mu"], dtype=float), np.array(params["logvar"], dtype=float)
    eps = np.array(params["eps"], dtype=float)
    x, p = np.array(params["x"], dtype=float), np.array(params["x_probs"], dtype=float)
    sigma = np.exp(logvar / 2)
    kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar)
    recon = np.sum(x * np.log(p) + (1.0 - x) * np.log(1.0 - p))
    return {
        "sigma": [float(v) for v in sigma],
        "z": [float(v) for v in mu + sigma * eps],
        "kl": float(kl),
        "recon": float(recon),
        "elbo": float(recon - kl),
        "dkl_dmu": [v + 0 for v in params["mu"]],  # d/dmu of mu^2 / 2: mu itself, exactly as given
        "dkl_dlogvar": [float(v) for v in 0.5 * (np.exp(logvar) - 1.0)],
    }


def _vae_kl(params: Mapping[str, Any], logvar_weight: float = 1.0, half: float = 0.5) -> float:
    mu, logvar = np.array(params["mu"], dtype=float), np.array(params["logvar"], dtype=float)
    return float(half * np.sum(mu**2 + np.exp(logvar) - 1.0 - logvar_weight * logvar))


def _vae_sigma_as_exp_logvar(params: Mapping[str, Any]) -> dict[str, Any]:
    """sigma = exp(logvar) (the log-variance read as log sigma): sigma and z wrong."""
    sigma = np.exp(np.array(params["logvar"], dtype=float))
    z = np.array(params["mu"], dtype=float) + sigma * np.array(params["eps"], dtype=float)
    return {"sigma": [float(v) for v in sigma], "z": [float(v) for v in z]}


def _vae_variance_in_z(params: Mapping[str, Any]) -> dict[str, Any]:
    """z = mu + sigma^2 eps (the variance for the standard deviation)."""
    var = np.exp(np.array(params["logvar"], dtype=float))
    return {"z": [float(v) for v in np.array(params["mu"], dtype=float) + var * np.array(params["eps"], dtype=float)]}


def _vae_elbo_plus(params: Mapping[str, Any]) -> dict[str, Any]:
    right = _vae(params)
    return {"elbo": right["recon"] + right["kl"]}


def _vae_swapped_bernoulli(params: Mapping[str, Any]) -> dict[str, Any]:
    """x ln(1 - p) + (1 - x) ln p: the decoder's mean read as the probability of a 0."""
    x, p = np.array(params["x"], dtype=float), np.array(params["x_probs"], dtype=float)
    recon = float(np.sum(x * np.log(1.0 - p) + (1.0 - x) * np.log(p)))
    return {"recon": recon, "elbo": recon - _vae(params)["kl"]}


def _vae_only_ones(params: Mapping[str, Any]) -> dict[str, Any]:
    """Only the x ln p terms (the pixels that are 0 contribute nothing)."""
    x, p = np.array(params["x"], dtype=float), np.array(params["x_probs"], dtype=float)
    recon = float(np.sum(x * np.log(p)))
    return {"recon": recon, "elbo": recon - _vae(params)["kl"]}


def _vae_sigma_in_gradient(params: Mapping[str, Any]) -> dict[str, Any]:
    """dKL/dlogvar as (sigma - 1) / 2 (sigma for the variance exp(logvar))."""
    return {"dkl_dlogvar": [float(v) for v in 0.5 * (np.exp(np.array(params["logvar"], dtype=float) / 2) - 1.0)]}


@register
class VaeElbo(Family):
    id = "vae-elbo"
    title = "The VAE's reparameterized sample, KL term, Bernoulli reconstruction term, ELBO and KL gradients"
    topic = "generative"
    difficulty = 2
    answers = {
        "sigma": Answer("vector", "sigma_j = exp(logvar_j / 2), one per latent", precision=VAE_PRECISION,
                        symbol=r"\sigma", label="sigma", index=("latent {}",)),
        "z": Answer("vector", "the sample z_j = mu_j + sigma_j eps_j, one per latent", precision=VAE_PRECISION,
                    symbol="z", label="z", index=("latent {}",)),
        "kl": Answer("number", "KL(q(z|x) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - logvar_j)",
                     precision=VAE_PRECISION, symbol=r"\mathrm{KL}", label="KL"),
        "recon": Answer("number", "the Bernoulli log-likelihood sum_i x_i ln p_i + (1 - x_i) ln(1 - p_i)",
                        precision=VAE_PRECISION, symbol=r"\ln p(x \mid z)", label="ln p(x|z)"),
        "elbo": Answer("number", "the ELBO: the reconstruction term minus the KL term", precision=VAE_PRECISION,
                       symbol=r"\mathrm{ELBO}", label="ELBO"),
        "dkl_dmu": Answer("vector", "dKL/dmu_j, one per latent", precision=exact(),
                          symbol=r"\partial \mathrm{KL}/\partial \mu", label="dKL/dmu", index=("latent {}",)),
        "dkl_dlogvar": Answer("vector", "dKL/dlogvar_j, one per latent", precision=VAE_PRECISION,
                              symbol=r"\partial \mathrm{KL}/\partial \log\sigma^2", label="dKL/dlogvar",
                              index=("latent {}",)),
    }
    mistakes = {
        "sigma = exp(logvar) (the log-variance read as the log of sigma)": _vae_sigma_as_exp_logvar,
        "z = mu + sigma^2 eps (the variance for the standard deviation)": _vae_variance_in_z,
        "the KL term without its factor 1/2": lambda p: {"kl": _vae_kl(p, half=1.0)},
        "ln sigma for ln sigma^2 in the KL term": lambda p: {"kl": _vae_kl(p, logvar_weight=0.5)},
        "the ELBO as the reconstruction term plus the KL term": _vae_elbo_plus,
        "x ln(1 - p) + (1 - x) ln p (the Bernoulli mean read as the probability of a 0)": _vae_swapped_bernoulli,
        "only the x ln p terms in the reconstruction term": _vae_only_ones,
        "dKL/dlogvar as (sigma - 1)/2 (sigma for sigma^2)": _vae_sigma_in_gradient,
        "dKL/dmu as 2 mu (the factor 1/2 of the KL term dropped)": lambda p: {"dkl_dmu": [2 * v for v in p["mu"]]},
    }
    structure = ("mu", "x")  # the number of latents J and of pixels
    asks = ("vae-reparameterized-sample", "vae-kl-gaussian", "vae-bernoulli-reconstruction", "vae-elbo", "vae-kl-gradient")
    reveals = ()

    def sample(self, rng):
        j, pixels = integer(rng, 2, 3), integer(rng, 3, 4)
        x = [integer(rng, 0, 1) for _ in range(pixels)]
        while len(set(x)) == 1:  # both values of a pixel, so that both cases of the likelihood appear
            x = [integer(rng, 0, 1) for _ in range(pixels)]
        return {
            "mu": [decimal(rng, -1.5, 1.5, 0.1, nonzero=True) for _ in range(j)],
            "logvar": [decimal(rng, -1.5, 1, 0.1, nonzero=True) for _ in range(j)],
            "eps": [decimal(rng, -2, 2, 0.1, nonzero=True) for _ in range(j)],
            "x": x,
            "x_probs": [choice(rng, DECODER_MEANS) for _ in range(pixels)],
        }

    def validate(self, params):
        require_keys(params, VAE_FIELDS)
        mu = as_decimal_list(params["mu"], "mu", (2, 3), -5, 5, 2)
        j = len(mu)
        x = as_int_list(params["x"], "x", (3, 4), 0, 1)
        latent = " (one per latent, like mu)"
        return {
            "mu": mu,
            "logvar": as_decimal_list(params["logvar"], "logvar", (j, j), -4, 4, 2, why=latent),
            "eps": as_decimal_list(params["eps"], "eps", (j, j), -4, 4, 2, why=latent),
            "x": x,
            "x_probs": as_decimal_list(params["x_probs"], "x_probs", (len(x), len(x)), 0.01, 0.99, 2,
                                       why=" (one per pixel, like x)"),
        }

    def degenerate(self, params):
        for name, why in (("mu", "dKL/dmu is 0"), ("logvar", "sigma = 1 and dKL/dlogvar is 0"),
                          ("eps", "z = mu")):
            for k, v in enumerate(params[name]):
                if v == 0:
                    return f"{name}_{k + 1} = 0: {why} for latent {k + 1}, with nothing to compute"
        if len(set(params["x"])) == 1:
            return "every pixel is the same: the reconstruction term uses only one of its two cases"
        if any(p == 0.5 for p in params["x_probs"]):
            return "a decoder mean is 0.5: ln p and ln(1 - p) are the same for that pixel"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        return _vae(params)

    def check(self, params, answers):
        """Another route: sigma, z and the log-likelihood in scalar loops with math (ln of the Bernoulli pmf
        p^x (1 - p)^(1 - x)); the KL term by numerical integration of q ln(q / p) over each latent (a
        trapezoid rule over mu +- 14 sigma, which converges fast for these smooth integrands), compared with
        the closed form; its gradients by central differences of the scalar KL."""
        mu = [float(v) for v in params["mu"]]
        logvar = [float(v) for v in params["logvar"]]
        eps = [float(v) for v in params["eps"]]
        j = len(mu)
        sigma = [math.sqrt(math.exp(v)) for v in logvar]
        close_all(answers["sigma"], sigma, "sigma", 1e-12)
        close_all(answers["z"], [m + s * e for m, s, e in zip(mu, sigma, eps)], "z", 1e-12)

        def kl_scalar(values: Mapping[str, Any]) -> float:
            return math.fsum(0.5 * (m * m + math.exp(lv) - 1.0 - lv) for m, lv in zip(values["mu"], values["logvar"]))

        integrated = 0.0
        for m, s in zip(mu, sigma):
            grid = np.linspace(m - 14 * s, m + 14 * s, 20001)
            log_q = -0.5 * ((grid - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
            log_p = -0.5 * grid**2 - 0.5 * math.log(2 * math.pi)
            integrand = np.exp(log_q) * (log_q - log_p)
            integrated += float(np.sum((integrand[1:] + integrand[:-1]) / 2) * (grid[1] - grid[0]))
        base = {"mu": mu, "logvar": logvar}
        closed = kl_scalar(base)
        close(closed, integrated, "kl (closed form against numerical integration)", 1e-8)
        close(answers["kl"], closed, "kl", 1e-12)
        loglik = 0.0
        for xi, p in zip(params["x"], params["x_probs"]):
            loglik += math.log(p ** xi * (1 - p) ** (1 - xi))
        close(answers["recon"], loglik, "recon", 1e-12)
        close(answers["elbo"], loglik - closed, "elbo", 1e-12)
        close_all(answers["dkl_dmu"], [central_difference(kl_scalar, base, "mu", (k,)) for k in range(j)], "dkl_dmu", 1e-8)
        close_all(answers["dkl_dlogvar"], [central_difference(kl_scalar, base, "logvar", (k,)) for k in range(j)],
                  "dkl_dlogvar", 1e-8)

    def structure_of(self, params):
        return {"mu": [len(params["mu"])], "x": [len(params["x"])]}

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, ...]:
        j, n = len(params["mu"]), len(params["x"])
        return (
            j * (CALL_MINUTES + SIMPLE_MINUTES),  # (a) one exponential and one multiply-add per latent
            0.5 + j * (CALL_MINUTES + SIMPLE_MINUTES),  # (b) sigma^2 = exp(logvar), four terms per latent
            n * CALL_MINUTES + 2 * SIMPLE_MINUTES,  # (c) one logarithm per pixel, the sum and the ELBO
            1.5 + j * SIMPLE_MINUTES,  # (d) the two derivatives, then one number per latent
        )

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        names = (("sigma", "z"), ("kl",), ("recon", "elbo"), ("dkl_dmu", "dkl_dlogvar"))
        return tuple(Part(n, w) for n, w in zip(names, weights))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        logvar = params["logvar"]
        variances = [math.exp(v) for v in logvar]
        terms = [0.5 * (m * m + s2 - 1 - lv) for m, s2, lv in zip(params["mu"], variances, logvar)]
        pixel_terms = [math.log(p) if xi else math.log(1 - p) for xi, p in zip(params["x"], params["x_probs"])]
        return {
            "j": len(params["mu"]),
            "n": len(params["x"]),
            "variances": variances,
            "kl_terms": terms,
            "mu_squared": [round(m * m, 4) for m in params["mu"]],  # exact: mu has at most 2 decimals
            "pixel_terms": pixel_terms,
            "pixel_factors": [p if xi else 1 - p for xi, p in zip(params["x"], params["x_probs"])],
            "work": WORK,
        }


# --------------------------------------------------------------------------------------------- diffusion-forward

DIFFUSION_FIELDS = ("betas", "x0", "noise", "t")
DIFFUSION_PRECISION = decimals(4)
BETA_GRID = tuple(round(0.02 * k, 2) for k in range(1, 16))  # 0.02 .. 0.3 (multiples of 0.05 put many alpha-bars on a rounding boundary)


def _diffusion(params: Mapping[str, Any], t: int | None = None) -> dict[str, Any]:
    """The answers as solve() computes them: NumPy's cumulative product and the DDPM closed forms."""
    betas = np.array(params["betas"], dtype=float)
    t = params["t"] if t is None else t
    alphas = 1.0 - betas
    bars = np.cumprod(alphas)
    bar, prev = bars[t - 1], bars[t - 2]
    x0, noise = np.array(params["x0"], dtype=float), np.array(params["noise"], dtype=float)
    return {
        "alphas": [round(1 - b, 6) + 0.0 for b in params["betas"]],  # exact: 1 minus a short decimal
        "alpha_bars": [float(v) for v in bars],
        "x_t": [float(v) for v in np.sqrt(bar) * x0 + np.sqrt(1.0 - bar) * noise],
        "snr": float(bar / (1.0 - bar)),
        "posterior_coefs": [float(np.sqrt(prev) * betas[t - 1] / (1.0 - bar)),
                            float(np.sqrt(alphas[t - 1]) * (1.0 - prev) / (1.0 - bar))],
        "posterior_var": float((1.0 - prev) / (1.0 - bar) * betas[t - 1]),
    }


def _diffusion_x_t(params: Mapping[str, Any], signal: float, noise_weight: float) -> list[float]:
    return [float(signal * x + noise_weight * e) for x, e in zip(params["x0"], params["noise"])]


def _diffusion_no_product(params: Mapping[str, Any]) -> dict[str, Any]:
    """alpha_t for alpha-bar_t (no cumulative product): x_t and the SNR with the one step's alpha."""
    a = 1.0 - params["betas"][params["t"] - 1]
    return {"x_t": _diffusion_x_t(params, math.sqrt(a), math.sqrt(1 - a)), "snr": a / (1 - a)}


def _diffusion_off_by_one(params: Mapping[str, Any]) -> dict[str, Any]:
    """alpha-bar_(t-1) for alpha-bar_t (the product stopped a step early)."""
    bar = _diffusion(params)["alpha_bars"][params["t"] - 2]
    return {"x_t": _diffusion_x_t(params, math.sqrt(bar), math.sqrt(1 - bar)), "snr": bar / (1 - bar)}


def _diffusion_no_roots(params: Mapping[str, Any]) -> dict[str, Any]:
    """x_t = alpha-bar x0 + (1 - alpha-bar) noise: the variances used as the coefficients."""
    bar = _diffusion(params)["alpha_bars"][params["t"] - 1]
    return {"x_t": _diffusion_x_t(params, bar, 1 - bar)}


def _diffusion_swapped_x_t(params: Mapping[str, Any]) -> dict[str, Any]:
    bar = _diffusion(params)["alpha_bars"][params["t"] - 1]
    return {"x_t": _diffusion_x_t(params, math.sqrt(1 - bar), math.sqrt(bar))}


def _diffusion_snr_amplitude(params: Mapping[str, Any]) -> dict[str, Any]:
    bar = _diffusion(params)["alpha_bars"][params["t"] - 1]
    return {"snr": math.sqrt(bar) / math.sqrt(1 - bar)}


def _diffusion_sum_of_betas(params: Mapping[str, Any]) -> dict[str, Any]:
    """alpha-bar_s as 1 - (beta_1 + ... + beta_s): right by its nature at s = 1."""
    total, out = 0.0, []
    for s, b in enumerate(params["betas"]):
        total += b
        out.append(None if s == 0 else 1.0 - total)
    return {"alpha_bars": out}


def _diffusion_swapped_coefs(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"posterior_coefs": _diffusion(params)["posterior_coefs"][::-1]}


@register
class DiffusionForward(Family):
    id = "diffusion-forward"
    title = "DDPM's forward process: cumulative alphas, a noised sample, its signal-to-noise ratio and the one-step posterior"
    topic = "generative"
    difficulty = 2
    answers = {
        "alphas": Answer("vector", "alpha_s = 1 - beta_s, one per step", precision=exact(),
                         symbol=r"\alpha", label="alpha", index=("step {}",)),
        "alpha_bars": Answer("vector", "alpha-bar_s = alpha_1 ... alpha_s, one per step", precision=DIFFUSION_PRECISION,
                             symbol=r"\bar\alpha", label="alpha-bar", index=("step {}",)),
        "x_t": Answer("vector", "x_t = sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) noise", precision=DIFFUSION_PRECISION,
                      symbol="x_t", label="x_t", index=("entry {}",)),
        "snr": Answer("number", "the signal-to-noise ratio alpha-bar_t / (1 - alpha-bar_t)", precision=DIFFUSION_PRECISION,
                      symbol=r"\mathrm{SNR}(t)", label="SNR(t)"),
        "posterior_coefs": Answer("vector", "[coefficient of x_0, coefficient of x_t] in the mean of q(x_(t-1) | x_t, x_0)",
                                  precision=DIFFUSION_PRECISION, symbol=r"(c_0, c_t)", label="posterior mean"),
        "posterior_var": Answer("number", "the variance of q(x_(t-1) | x_t, x_0)", precision=DIFFUSION_PRECISION,
                                symbol=r"\tilde\beta_t", label="posterior variance"),
    }
    mistakes = {
        "alpha_t for alpha-bar_t (no cumulative product)": _diffusion_no_product,
        "alpha-bar_(t-1) for alpha-bar_t (the product stopped a step early)": _diffusion_off_by_one,
        "x_t = alpha-bar x_0 + (1 - alpha-bar) noise (no square roots)": _diffusion_no_roots,
        "the square roots of x_t swapped between x_0 and the noise": _diffusion_swapped_x_t,
        "the SNR as sqrt(alpha-bar) / sqrt(1 - alpha-bar) (amplitudes, not powers)": _diffusion_snr_amplitude,
        "alpha-bar_s as 1 - (beta_1 + ... + beta_s)": _diffusion_sum_of_betas,
        "the posterior mean's two coefficients swapped": _diffusion_swapped_coefs,
        "the posterior variance as beta_t (the forward step's variance)": lambda p: {
            "posterior_var": float(p["betas"][p["t"] - 1])},
    }
    structure = ("betas", "x0")  # the number of steps T and of values
    asks = ("diffusion-cumulative-alphas", "diffusion-forward-sample", "diffusion-snr", "diffusion-posterior")
    reveals = ()

    def sample(self, rng):
        steps = integer(rng, 3, 5)
        betas = sorted(choice(rng, BETA_GRID) for _ in range(steps))  # a non-decreasing schedule, as in DDPM
        size = integer(rng, 1, 2)
        return {
            "betas": betas,
            "x0": [decimal(rng, -2, 2, 0.1, nonzero=True) for _ in range(size)],
            "noise": [decimal(rng, -2, 2, 0.1, nonzero=True) for _ in range(size)],
            "t": integer(rng, 2, steps),
        }

    def validate(self, params):
        require_keys(params, DIFFUSION_FIELDS)
        betas = as_decimal_list(params["betas"], "betas", (3, 5), 0.001, 0.5, 3)
        x0 = as_decimal_list(params["x0"], "x0", (1, 2), -5, 5, 2)
        return {
            "betas": betas,
            "x0": x0,
            "noise": as_decimal_list(params["noise"], "noise", (len(x0), len(x0)), -5, 5, 2, why=" (one per value of x0)"),
            "t": as_int(params["t"], "t", 2, len(betas)),
        }

    def degenerate(self, params):
        if 0 in params["x0"]:
            return "an entry of x0 is 0: its x_t is only noise"
        if 0 in params["noise"]:
            return "an entry of the noise is 0: its x_t only scales x0"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        return _diffusion(params)

    def check(self, params, answers):
        """Another route: the forward chain simulated step by step on the mean and variance of x_s given x_0
        (mean_s = sqrt(alpha_s) mean_(s-1), var_s = alpha_s var_(s-1) + beta_s, from x_0 with variance 0), so
        that x_t = mean_t + sqrt(var_t) noise and SNR = mean^2 / (var x0^2); the posterior by Bayes' rule as a
        product of two Gaussians in x_(t-1): q(x_(t-1) | x_0) = N(m, v) and q(x_t | x_(t-1)) = N(sqrt(alpha_t)
        x_(t-1), beta_t), whose precisions add."""
        betas = [float(b) for b in params["betas"]]
        t = params["t"]
        close_all(answers["alphas"], [1.0 - b for b in betas], "alphas", 1e-12)
        scale, var, bars = 1.0, 0.0, []  # x_s given x_0 has mean scale * x_0 and variance var
        states = []
        for b in betas:
            scale *= math.sqrt(1.0 - b)
            var = (1.0 - b) * var + b
            states.append((scale, var))
            bars.append(scale * scale)
        close_all(answers["alpha_bars"], bars, "alpha_bars", 1e-12)
        scale_t, var_t = states[t - 1]
        close(1.0 - var_t, bars[t - 1], "alpha_bars (the variance recursion against the product)", 1e-12)
        close_all(answers["x_t"], [scale_t * x + math.sqrt(var_t) * e for x, e in zip(params["x0"], params["noise"])],
                  "x_t", 1e-12)
        close(answers["snr"], scale_t**2 / var_t, "snr", 1e-12)
        scale_prev, var_prev = states[t - 2]
        alpha, beta = 1.0 - betas[t - 1], betas[t - 1]
        post_var = 1.0 / (1.0 / var_prev + alpha / beta)
        close_all(answers["posterior_coefs"], [post_var * scale_prev / var_prev, post_var * math.sqrt(alpha) / beta],
                  "posterior_coefs", 1e-12)
        close(answers["posterior_var"], post_var, "posterior_var", 1e-12)

    def structure_of(self, params):
        return {"betas": [len(params["betas"])], "x0": [len(params["x0"])]}

    def position_word(self, params, answer, level, position):
        if answer == "posterior_coefs" and level == 0:
            return ("coefficient of x_0", "coefficient of x_t")[position]
        return None

    @staticmethod
    def _part_minutes(params: Mapping[str, Any]) -> tuple[float, ...]:
        steps, n = len(params["betas"]), len(params["x0"])
        return (
            steps * SIMPLE_MINUTES + (steps - 1) * SIMPLE_MINUTES,  # (a) T subtractions, T - 1 products
            2 * CALL_MINUTES + n * 2 * SIMPLE_MINUTES,  # (b) two square roots, a multiply-add per value
            SIMPLE_MINUTES + 0.5,  # (c) one division, and what it means
            2.0 + 3 * 2 * SIMPLE_MINUTES,  # (d) the posterior's formulas, three numbers of two operations each
        )

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        names = (("alphas", "alpha_bars"), ("x_t",), ("snr",), ("posterior_coefs", "posterior_var"))
        return tuple(Part(n, w) for n, w in zip(names, weights))

    def minutes(self, params):
        return round(READ_MINUTES + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        t = params["t"]
        bar, prev = answers["alpha_bars"][t - 1], answers["alpha_bars"][t - 2]
        return {
            "steps": len(params["betas"]),
            "n": len(params["x0"]),
            "t": t,
            "bar": bar,
            "prev": prev,
            "root_bar": math.sqrt(bar),
            "root_rest": math.sqrt(1 - bar),
            "root_prev": math.sqrt(prev),
            "root_alpha": math.sqrt(answers["alphas"][t - 1]),
            "alpha_t": answers["alphas"][t - 1],
            "beta_t": params["betas"][t - 1],
            "work": WORK,
        }
