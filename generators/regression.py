"""Regression families: ridge regression as the MAP estimate under a Gaussian prior.

Model: prior w ~ N(0, I) on the two weights, observations Y = X w + sqrt(lam) N with N standard normal.
Every number is exact: X and y are integers and lam has at most two decimals, so X^T X + lam I, its
determinant, its inverse and the estimate are rationals (fractions.Fraction), shown exactly and as decimals.
Integers and short decimals (X^T X, X^T y, A, det) are asked exactly; the inverse and the estimate both as
exact fractions (text answers) and as decimals to 4 significant digits (their size varies from about
0.003 to 3).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.draws import choice, int_matrix, int_vector, integer
from qbank.errors import GenerationError
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_int_list, as_int_matrix, as_number, require_keys
from qbank.precision import exact, sig

FIELDS = ("X", "y", "lam")
WHOLE_LAMBDAS = (1, 2, 3)  # drawn two times in three
FRACTIONAL_LAMBDAS = (0.5, 1.5)  # a determinant with a fraction: one more step in (c)
MAX_DENOMINATOR = 500  # sampled problems whose inverse or estimate needs a larger denominator are redrawn
SAMPLE_TRIES = 1000


def fraction_text(value: Fraction) -> str:
    """An exact rational as a plain string: '13/29', '-4/29', '2'."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def parse_fraction(text: Any, field: str) -> Fraction:
    assert isinstance(text, str), f"{field} = {text!r} is not a fraction string"
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise AssertionError(f"{field} = {text!r} does not read as a fraction") from None


def _plain(value: Fraction) -> int | float:
    return value.numerator if value.denominator == 1 else value.numerator / value.denominator


def ridge_pieces(X: list[list[int]], y: list[int], lam: int | float) -> dict[str, Any]:
    """The normal-equation route, exactly: X^T X, X^T y, A = X^T X + lam I, det A, adj A, A^-1, w."""
    lam_q = Fraction(str(lam))
    cols = range(2)
    xtx = [[Fraction(sum(row[i] * row[j] for row in X)) for j in cols] for i in cols]
    xty = [Fraction(sum(row[i] * t for row, t in zip(X, y))) for i in cols]
    a = [[xtx[i][j] + (lam_q if i == j else 0) for j in cols] for i in cols]
    det = a[0][0] * a[1][1] - a[0][1] * a[1][0]
    adj = [[a[1][1], -a[0][1]], [-a[1][0], a[0][0]]]
    inverse = [[v / det for v in row] for row in adj]
    adj_xty = [sum(adj[i][j] * xty[j] for j in cols) for i in cols]
    w = [v / det for v in adj_xty]
    return {"lam": lam_q, "xtx": xtx, "xty": xty, "A": a, "det": det, "adj": adj, "inverse": inverse,
            "adj_xty": adj_xty, "w": w}


# ---------------------------------------------------------------- mistakes a draw must separate from the answer


def _with_inverse(adj: list[list[Fraction]], det: Fraction, xty: list[Fraction]) -> dict[str, Any]:
    """The inverse and the estimate a student gets from an adjugate and a determinant (mistaken or not)."""
    if det == 0:
        return {}
    inverse = [[v / det for v in row] for row in adj]
    w = [sum(inverse[i][j] * xty[j] for j in range(2)) for i in range(2)]
    return {"inverse": [[float(v) for v in row] for row in inverse], "w_hat": [float(v) for v in w]}


def _diagonal_kept(params: Mapping[str, Any]) -> dict[str, Any]:
    p = ridge_pieces(params["X"], params["y"], params["lam"])
    (a, b), (c, d) = p["A"]
    return _with_inverse([[a, -b], [-c, d]], p["det"], p["xty"])


def _off_diagonal_kept(params: Mapping[str, Any]) -> dict[str, Any]:
    p = ridge_pieces(params["X"], params["y"], params["lam"])
    (a, b), (c, d) = p["A"]
    return _with_inverse([[d, b], [c, a]], p["det"], p["xty"])


def _determinant_plus(params: Mapping[str, Any]) -> dict[str, Any]:
    p = ridge_pieces(params["X"], params["y"], params["lam"])
    (a, b), (c, d) = p["A"]
    return {"det": _plain(a * d + b * c), **_with_inverse(p["adj"], a * d + b * c, p["xty"])}


def _determinant_forgotten(params: Mapping[str, Any]) -> dict[str, Any]:
    p = ridge_pieces(params["X"], params["y"], params["lam"])
    return _with_inverse(p["adj"], Fraction(1), p["xty"])


def _lambda_left_out(params: Mapping[str, Any]) -> dict[str, Any]:
    p = ridge_pieces(params["X"], params["y"], params["lam"])
    xtx = p["xtx"]
    det = xtx[0][0] * xtx[1][1] - xtx[0][1] * xtx[1][0]
    return {"w_hat": _with_inverse([[xtx[1][1], -xtx[0][1]], [-xtx[1][0], xtx[0][0]]], det, p["xty"]).get("w_hat")}


def _lambda_everywhere(params: Mapping[str, Any]) -> dict[str, Any]:
    p = ridge_pieces(params["X"], params["y"], params["lam"])
    lam = p["lam"]
    a = [[v + lam for v in row] for row in p["xtx"]]
    det = a[0][0] * a[1][1] - a[0][1] * a[1][0]
    out = {"A": [[_plain(v) for v in row] for row in a], "det": _plain(det)}
    return {**out, **_with_inverse([[a[1][1], -a[0][1]], [-a[1][0], a[0][0]]], det, p["xty"])}






@register
class RidgeMap(Family):
    id = "ridge-map"
    title = "Ridge regression as a MAP estimate"
    topic = "regression"
    difficulty = 2
    answers = {
        "XtX": Answer("matrix", "X^T X", precision=exact(whole=True), symbol=r"X^\top X", label="X^T X"),
        "Xty": Answer("vector", "X^T y", precision=exact(whole=True), symbol=r"X^\top y", label="X^T y"),
        "A": Answer("matrix", "X^T X + lam I", precision=exact(), symbol=r"X^\top X + \lambda I",
                    label="X^T X + lambda I"),
        "det": Answer("number", "det(X^T X + lam I)", precision=exact(), symbol=r"\det(X^\top X + \lambda I)",
                      label="det(X^T X + lambda I)"),
        "det_exact": Answer("expression", "the determinant as an exact fraction string",
                            label="det(X^T X + lambda I), as a fraction", form="a fraction p/q, or a whole number"),
        "inverse": Answer("matrix", "(X^T X + lam I)^-1, decimals", precision=sig(4),
                          symbol=r"(X^\top X + \lambda I)^{-1}", label="(X^T X + lambda I)^-1, decimals"),
        "inverse_exact": Answer("expression", "(X^T X + lam I)^-1 as rows of exact fraction strings",
                                label="(X^T X + lambda I)^-1, fractions", form="a 2 by 2 matrix of fractions p/q"),
        "w_hat": Answer("vector", "the ridge (MAP) estimate, decimals", precision=sig(4), symbol=r"\hat w",
                        label="w-hat, decimals"),
        "w_hat_exact": Answer("expression", "the ridge (MAP) estimate as exact fraction strings, e.g. '13/29'",
                              label="w-hat, fractions", form="2 fractions p/q"),
    }
    # Slips a student makes here, as the answers they give (see `scoring_mistake`): `degenerate` refuses a
    # draw on which one gives a right answer. Keeping the diagonal in place when inverting gives the right
    # inverse whenever the two diagonal entries of X^T X are equal (columns of X of equal length): such X
    # are refused.
    mistake_unit = "answer"  # a matrix or vector counts as one answer (see qbank.grading.scoring_mistake)
    mistakes = {
        "inverting without swapping the diagonal": _diagonal_kept,
        "inverting without negating the off-diagonal": _off_diagonal_kept,
        "the determinant as ad + bc": _determinant_plus,
        "inverting without dividing by the determinant": _determinant_forgotten,
        "leaving lambda out (ordinary least squares)": _lambda_left_out,
        "adding lambda to every entry of X^T X": _lambda_everywhere,
    }

    # The size of X sets the work of (b); a fractional lambda adds the step from a decimal determinant to
    # a fraction in (c). Nothing else changes the steps.
    structure = ("X",)
    asks = ("ridge-map-derivation", "ridge-estimate-computation")
    reveals = ("ridge-gaussian-prior-model", "ridge-map-equivalence", "ridge-closed-form")

    def structure_of(self, params):
        return {**super().structure_of(params), "integer_lambda": float(params["lam"]).is_integer()}

    def parts(self, params):
        # (a) the derivation, in words; (b) the Gram matrix and X^T y; (c) A, its determinant and inverse;
        # (d) the estimate. The weights sum to the bank's 10 points.
        return (
            Part((), 3),
            Part(("XtX", "Xty"), 2),
            Part(("A", "det", "det_exact", "inverse", "inverse_exact"), 3),
            Part(("w_hat", "w_hat_exact"), 2),
        )

    def minutes(self, params):
        """1 min to read; (a) 3.5 min for about eight written lines of derivation; (b) five dot products of n
        small integers at 10 s per multiply-add written out; (c) 15 s to form A, 30 s for the determinant
        (30 s more to turn a decimal one into a fraction), 1.5 min for the adjugate and four reduced
        fractions; (d) 1 min for the four products, 1 min to reduce and convert to decimals."""
        n = len(params["X"])
        fractional = not float(params["lam"]).is_integer()
        total = 1 + 3.5 + 5 * n * 10 / 60 + (0.25 + 0.5 + 0.5 * fractional + 1.5) + 2
        return math.floor(total * 2 + 0.5) / 2  # to the nearest half minute

    def sample(self, rng):
        # the structure first (rows, a whole or a fractional lambda), then numbers until they are readable:
        # redrawing the structure with the numbers would make large fractional variants rare
        rows = choice(rng, (3, 4, 4, 5))
        lam = choice(rng, FRACTIONAL_LAMBDAS if integer(rng, 0, 2) == 0 else WHOLE_LAMBDAS)
        for _ in range(SAMPLE_TRIES):
            params = {"X": int_matrix(rng, rows, 2, -2, 3), "y": int_vector(rng, rows, -4, 5), "lam": lam}
            if self.degenerate(params) is None and self._readable(params):
                return params
        raise GenerationError(f"{self.id}: no readable draw in {SAMPLE_TRIES} tries")

    @staticmethod
    def _readable(params: Mapping[str, Any]) -> bool:
        """Small denominators, so the fractions can be written by hand; no shortcut that makes one
        variant of a structure less work than another (a zero entry of X^T y halves the products of
        (d)); no useless observation (a zero row of X); no estimate with a zero entry (it looks like a
        slip). Only the sampler insists on this: an instructor's pinned numbers are solved as given."""
        if not all(any(row) for row in params["X"]):
            return False
        pieces = ridge_pieces(params["X"], params["y"], params["lam"])
        exact = pieces["w"] + [v for row in pieces["inverse"] for v in row]
        return (all(v.denominator <= MAX_DENOMINATOR for v in exact) and all(pieces["xty"])
                and all(pieces["w"]))

    def validate(self, params):
        require_keys(params, FIELDS)
        X = as_int_matrix(params["X"], "X", (2, 5), (2, 2), -9, 9)
        y = as_int_list(params["y"], "y", (len(X), len(X)), -20, 20)
        expected = "a positive number up to 10 with at most 2 decimals"
        lam = as_number(params["lam"], "lam", 0, 10)
        if lam <= 0 or round(lam, 2) != lam:
            raise ParamError("lam", expected, lam)
        return {"X": X, "y": y, "lam": lam}

    def degenerate(self, params):
        X, y = params["X"], params["y"]
        for j in range(2):
            if not any(row[j] for row in X):
                return f"column {j + 1} of X is all zeros, so w_{j + 1} plays no part"
        if not any(y):
            return "y is all zeros, so the estimate is 0"
        pieces = ridge_pieces(X, y, params["lam"])
        if not any(pieces["xty"]):
            return "X^T y = 0, so the estimate is 0"
        if pieces["xtx"][0][1] == 0:
            return ("the columns of X are orthogonal, so X^T X and X^T X + lam I are diagonal and the inverse "
                    "is read off (1 over each diagonal entry)")
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        p = ridge_pieces(params["X"], params["y"], params["lam"])
        return {
            "XtX": [[_plain(v) for v in row] for row in p["xtx"]],
            "Xty": [_plain(v) for v in p["xty"]],
            "A": [[_plain(v) for v in row] for row in p["A"]],
            "det": _plain(p["det"]),
            "det_exact": fraction_text(p["det"]),
            "inverse": [[float(v) for v in row] for row in p["inverse"]],
            "inverse_exact": [[fraction_text(v) for v in row] for row in p["inverse"]],
            "w_hat": [float(v) for v in p["w"]],
            "w_hat_exact": [fraction_text(v) for v in p["w"]],
        }

    def check(self, params, answers):
        """Least squares on the augmented system [X; sqrt(lam) I] w ~ [y; 0] (no normal equations, no
        inverse), the gradient of the penalised loss at the answer, and exact products for the fractions."""
        X = np.array(params["X"], dtype=float)
        y = np.array(params["y"], dtype=float)
        lam = float(params["lam"])
        lam_q = Fraction(str(params["lam"]))

        assert np.array_equal(np.array(answers["XtX"], dtype=float), X.T @ X), f"XtX {answers['XtX']} != {X.T @ X}"
        assert np.array_equal(np.array(answers["Xty"], dtype=float), X.T @ y), f"Xty {answers['Xty']} != {X.T @ y}"
        A = X.T @ X + lam * np.eye(2)
        assert np.allclose(answers["A"], A, atol=1e-12), f"A {answers['A']} != X^T X + lam I = {A.tolist()}"
        assert abs(answers["det"] - np.linalg.det(A)) <= 1e-9 * max(1.0, abs(answers["det"])), (
            f"det {answers['det']} != numpy {np.linalg.det(A)}"
        )
        det_q = parse_fraction(answers["det_exact"], "det_exact")
        assert abs(float(det_q) - answers["det"]) <= 1e-12 * max(1.0, abs(answers["det"])), "det_exact != det"

        # The exact matrices: A with fractions, then A times the claimed inverse must be I exactly.
        A_q = [[Fraction(sum(r[i] * r[j] for r in params["X"])) + (lam_q if i == j else 0) for j in range(2)]
               for i in range(2)]
        inv_q = [[parse_fraction(v, f"inverse_exact[{i}][{j}]") for j, v in enumerate(row)]
                 for i, row in enumerate(answers["inverse_exact"])]
        assert len(inv_q) == 2 and all(len(r) == 2 for r in inv_q), "inverse_exact is not 2 x 2"
        product = [[sum(A_q[i][k] * inv_q[k][j] for k in range(2)) for j in range(2)] for i in range(2)]
        assert product == [[1, 0], [0, 1]], f"A times inverse_exact is {product}, not I"
        assert np.allclose(answers["inverse"], [[float(v) for v in r] for r in inv_q], atol=1e-12, rtol=0), (
            "inverse decimals disagree with inverse_exact"
        )

        # The estimate: a different solver on a different system.
        stacked = np.vstack([X, np.sqrt(lam) * np.eye(2)])
        target = np.concatenate([y, np.zeros(2)])
        w_lstsq = np.linalg.lstsq(stacked, target, rcond=None)[0]
        w = np.array(answers["w_hat"], dtype=float)
        assert w.shape == (2,) and np.allclose(w, w_lstsq, atol=1e-9, rtol=0), (
            f"w_hat {answers['w_hat']} != least squares on [X; sqrt(lam) I]: {w_lstsq.tolist()}"
        )
        gradient = 2 * X.T @ (X @ w - y) + 2 * lam * w
        assert np.max(np.abs(gradient)) <= 1e-8, f"the penalised loss has gradient {gradient.tolist()} at w_hat"
        w_q = [parse_fraction(v, f"w_hat_exact[{i}]") for i, v in enumerate(answers["w_hat_exact"])]
        assert len(w_q) == 2, "w_hat_exact needs 2 entries"
        xty_q = [sum(Fraction(r[i] * t) for r, t in zip(params["X"], params["y"])) for i in range(2)]
        residual = [sum(A_q[i][k] * w_q[k] for k in range(2)) - xty_q[i] for i in range(2)]
        assert residual == [0, 0], f"w_hat_exact does not solve (X^T X + lam I) w = X^T y exactly: {residual}"
        assert np.allclose(w, [float(v) for v in w_q], atol=1e-12, rtol=0), "w_hat disagrees with w_hat_exact"

    def context(self, params, answers):
        p = ridge_pieces(params["X"], params["y"], params["lam"])
        n = len(params["X"])
        cols = [[row[j] for row in params["X"]] for j in range(2)]
        # the dot products behind X^T X and X^T y, written out term by term
        dots = {
            "xtx": [[self._dot_text(cols[i], cols[j]) for j in range(2)] for i in range(2)],
            "xty": [self._dot_text(cols[i], params["y"]) for i in range(2)],
        }
        return {
            "n": n,
            "dots": dots,
            "det_q": p["det"],
            "inv_factor": 1 / p["det"],
            "adj": [[_plain(v) for v in row] for row in p["adj"]],
            "adj_xty": [_plain(v) for v in p["adj_xty"]],
            "inverse_q": p["inverse"],
            "w_q": p["w"],
        }

    @staticmethod
    def _dot_text(u: list[int], v: list[int]) -> str:
        """'1 \\cdot 2 + (-1) \\cdot 3 + ...': the products of a dot product as LaTeX."""
        terms = [f"{a}" if a >= 0 else f"({a})" for a in u]
        others = [f"{b}" if b >= 0 else f"({b})" for b in v]
        return " + ".join(f"{a} \\cdot {b}" for a, b in zip(terms, others))
