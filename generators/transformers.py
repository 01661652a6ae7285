"""Attention families: one head of scaled dot-product attention, forward (with or without a causal mask)
and backward.

Conventions (issue 18's JSON contract): `Q` is n_q x d, `K` n_k x d, `V` n_k x d_v, matrices as lists of
rows; scores S = Q K^T / sqrt(d) (before any mask), weights A = the softmax of each row of S (a causal mask
lets query i see keys j <= i only, counted from 1 in the text, and masked weights are exactly 0), output
O = A V. Backward: `dO` = dL/dO, and dV = A^T dO, dA = dO V^T, dS through the row softmax
(dS_ij = A_ij (dA_ij - sum_k A_ik dA_ik)), dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d).

Precision: scores, weights and outputs are of order 0.01 to 10: 4 decimal places. dL/dA = dO V^T is exact
(short decimals times integers). The other gradients range from about 0.001 to 5: 3 significant digits. The
problems ask to carry unrounded values from one step to the next (as mlp-skip-bce-backprop does), so no
answer needs an allowance.

Fair exams: the sizes (n_q, n_k, d, d_v) and the mask are the structure; a draw's working time follows
from them alone, and sample() draws the structure first, then numbers until they make a problem, so that
every structure turns up about as often as it is chosen. Each family lists the mistakes its draws must tell
from the right answer (`mistakes`, a whole matrix counting as one answer: see `mistake_unit`); `degenerate`
refuses a draw on which one of them scores (`scoring_mistake`), and draws whose rows need no softmax (all
visible scores of a row equal), whose softmax is nearly one-hot, or which hold the same work twice or an
entry with no role (two equal keys, two queries with the same weights, a zero column, a constant column of V).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.draws import choice, decimal, int_matrix
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_bool, as_decimal_matrix, require_keys
from qbank.precision import decimals, exact, sig

FORWARD_FIELDS = ("Q", "K", "V", "causal")
BACKWARD_FIELDS = ("Q", "K", "V", "dO")
MIN_WEIGHT = 0.02  # a visible weight below this makes a row nearly one-hot: its softmax teaches little
MAX_SIZE = 4  # queries, keys and widths a problem by hand can hold
PLACES = 2  # a pinned entry has at most this many decimals
PRODUCT_MINUTES = 1 / 6  # one product written out and added (10 s)
CALL_MINUTES = 0.5  # one exponential on a calculator, written down
DIVIDE_MINUTES = 0.25  # one division, written down
SCALE_MINUTES = 0.1  # one score divided by sqrt(d)
CANCEL_RATIO = 0.05  # a gradient entry below this share of its terms' sizes keeps too few digits
SAMPLE_TRIES = 200  # numbers drawn for one structure before sample() gives up (degenerate() then refuses)

WEIGHTS = decimals(4)
GRADIENT = sig(3)
POSITIONS = {"query": "query {}", "key": "key {}", "column": "column {}"}


# --- the computation, with numpy (solve) ------------------------------------------------------------


def _array(rows: Any) -> np.ndarray:
    return np.array(rows, dtype=float)


def _plain(matrix: np.ndarray) -> list[list[float]]:
    return [[float(v) + 0.0 for v in row] for row in matrix]  # + 0.0: no -0.0


def _mask(n_q: int, n_k: int, causal: bool) -> np.ndarray:
    """Which keys each query sees: all of them, or keys j <= i under a causal mask."""
    visible = np.ones((n_q, n_k), dtype=bool)
    return np.tril(visible) if causal else visible


def _softmax_rows(scores: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """The softmax of each row over its visible entries, shifted by the row's largest visible score;
    masked entries exactly 0."""
    shifted = np.where(visible, scores, -np.inf)
    top = shifted.max(axis=1, keepdims=True)
    e = np.where(visible, np.exp(shifted - top), 0.0)
    return e / e.sum(axis=1, keepdims=True)


def _scale(params: Mapping[str, Any]) -> float:
    return 1 / math.sqrt(len(params["Q"][0]))


def _forward(params: Mapping[str, Any], scale: float | None = None, visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """S, A and O (numpy arrays). `scale` and `visible` replace 1/sqrt(d) and the mask (for mistakes)."""
    q, k, v = _array(params["Q"]), _array(params["K"]), _array(params["V"])
    causal = bool(params.get("causal", False))
    if visible is None:
        visible = _mask(len(q), len(k), causal)
    raw = q @ k.T
    scores = raw * (_scale(params) if scale is None else scale)
    weights = _softmax_rows(scores, visible)
    return {"raw": raw, "S": scores, "A": weights, "O": weights @ v, "visible": visible}


def _backward(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A, dV, dA, the row sums sum_k A_ik dA_ik, dS, dQ and dK (numpy arrays)."""
    a = _forward(params)["A"]
    q, k, v, d_o = (_array(params[name]) for name in ("Q", "K", "V", "dO"))
    d_a = d_o @ v.T
    rows = (a * d_a).sum(axis=1, keepdims=True)  # sum_k A_ik dA_ik, one per query
    d_s = a * (d_a - rows)
    scale = _scale(params)
    return {"A": a, "dV": a.T @ d_o, "dA": d_a, "rows": rows[:, 0], "dS": d_s, "dQ": d_s @ k * scale,
            "dK": d_s.T @ q * scale}


def _exact_products(left: Any, right_t: Any) -> list[list[float]]:
    """left @ right^T in exact decimal arithmetic (dO V^T: short decimals stay short)."""
    return [[float(sum((Fraction(str(a)) * Fraction(str(b)) for a, b in zip(row, col)), Fraction(0))) + 0.0
             for col in right_t] for row in left]


# --- reading params ---------------------------------------------------------------------------------


def _sizes(params: Mapping[str, Any]) -> tuple[int, int, int, int]:
    return len(params["Q"]), len(params["K"]), len(params["Q"][0]), len(params["V"][0])


def _read_qkv(params: Mapping[str, Any]) -> dict[str, Any]:
    """Q, K and V as matrices of short decimals, their sizes agreeing (d >= 2: with d = 1 the scale 1/sqrt(d)
    is 1, and leaving it out could not be told from keeping it)."""
    q = as_decimal_matrix(params["Q"], "Q", (1, MAX_SIZE), (2, MAX_SIZE), -9, 9, PLACES, " (the queries, one per row)")
    d = len(q[0])
    k = as_decimal_matrix(params["K"], "K", (1, MAX_SIZE), (d, d), -9, 9, PLACES,
                          f" (the keys, one per row, {d} entries like the queries)")
    v = as_decimal_matrix(params["V"], "V", (len(k), len(k)), (1, MAX_SIZE), -9, 9, PLACES,
                          f" (the values, one per key: {len(k)} rows)")
    return {"Q": q, "K": k, "V": v}


# --- what a draw must not be ------------------------------------------------------------------------


def _softmax_problem(fwd: Mapping[str, np.ndarray]) -> str | None:
    """A row with nothing to compute (its visible scores all equal) or nearly one-hot."""
    scores, weights, visible = fwd["S"], fwd["A"], fwd["visible"]
    for i in range(len(scores)):
        seen = scores[i][visible[i]]
        if len(seen) > 1 and np.ptp(seen) < 1e-9:
            return f"every key query {i + 1} sees scores the same: its weights are uniform, with nothing to compute"
        small = weights[i][visible[i]].min()
        if small < MIN_WEIGHT:
            return f"query {i + 1} gives a key the weight {small:.4f}: the row is nearly one-hot"
    return None


def _qk_problem(params: Mapping[str, Any], fwd: Mapping[str, np.ndarray], zero_columns: tuple[str, ...]) -> str | None:
    """Queries and keys with parts that play no role: a zero column of the matrices `zero_columns` (that
    entry of every query or key drops out of every score, and its gradient column is 0), two equal keys,
    or two queries with the same weights (the same work twice)."""
    for name in zero_columns:
        for c, column in enumerate(zip(*params[name])):
            if not any(column):
                return f"column {c + 1} of {name} is zero: entry {c + 1} of the {'queries' if name == 'Q' else 'keys'} drops out"
    keys = [tuple(row) for row in params["K"]]
    if len(set(keys)) < len(keys):
        return "two keys are the same"
    rows = [tuple(np.round(row, 9)) for row in fwd["A"]]
    if len(set(rows)) < len(rows):
        return "two queries get the same weights (their scores differ by a constant): the same softmax twice"
    return None


def _constant_columns(v: Any, what: str) -> str | None:
    for j in range(len(v[0])):
        column = [row[j] for row in v]
        if len(column) > 1 and len(set(column)) == 1:
            return f"column {j + 1} of {what} is constant ({column[0]:g}): its output is that value whatever the weights"
    return None


def _cancels(value: float, terms: list[float]) -> bool:
    size = math.fsum(abs(t) for t in terms)
    return size > 0 and abs(value) < CANCEL_RATIO * size


# --- mistakes ---------------------------------------------------------------------------------------


def _forward_mistake(params: Mapping[str, Any], weights: np.ndarray, scores: np.ndarray | None = None) -> dict[str, Any]:
    """The weights and output (and scores, when given) a forward mistake leads to."""
    out = {"weights": _plain(weights), "output": _plain(weights @ _array(params["V"]))}
    if scores is not None:
        out["scores"] = _plain(scores)
    return out


def _wrong_scale(params: Mapping[str, Any], scale: float) -> dict[str, Any]:
    wrong = _forward(params, scale=scale)
    return _forward_mistake(params, wrong["A"], scores=wrong["S"])


def _column_softmax(params: Mapping[str, Any]) -> dict[str, Any]:
    """The softmax taken down each column (over the queries that see the key) instead of along each row."""
    fwd = _forward(params)
    return _forward_mistake(params, _softmax_rows(fwd["S"].T, fwd["visible"].T).T)


def _mask_reversed(params: Mapping[str, Any]) -> dict[str, Any]:
    if not params.get("causal"):
        return {}
    n = len(params["Q"])
    return _forward_mistake(params, _forward(params, visible=np.triu(np.ones((n, n), dtype=bool)))["A"])


def _masked_scores_zero(params: Mapping[str, Any]) -> dict[str, Any]:
    """The masked scores set to 0 instead of -infinity: a masked key keeps a weight e^0 / sum."""
    if not params.get("causal"):
        return {}
    fwd = _forward(params)
    everything = np.ones(fwd["S"].shape, dtype=bool)
    return _forward_mistake(params, _softmax_rows(np.where(fwd["visible"], fwd["S"], 0.0), everything))


def _mask_after_softmax(params: Mapping[str, Any]) -> dict[str, Any]:
    """The softmax over every key, then the masked weights set to 0 (the rows no longer sum to 1)."""
    if not params.get("causal"):
        return {}
    fwd = _forward(params)
    everything = np.ones(fwd["S"].shape, dtype=bool)
    return _forward_mistake(params, _softmax_rows(fwd["S"], everything) * fwd["visible"])


def _backward_mistake(params: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    return {name: _plain(value) for name, value in changes.items()}


def _backward_square(params: Mapping[str, Any]) -> bool:
    return len(params["Q"]) == len(params["K"])


def _dweights_transposed(params: Mapping[str, Any]) -> dict[str, Any]:
    """dL/dA as V dO^T (shapes allow it when n_q = n_k)."""
    if not _backward_square(params):
        return {}
    return {"dweights": _exact_products(params["V"], [list(c) for c in zip(*params["dO"])])}


def _unscaled_forward_backward(params: Mapping[str, Any]) -> dict[str, Any]:
    """The whole computation without 1/sqrt(d), forward (scores Q K^T) and backward (dQ = dS K)."""
    q, k, v, d_o = (_array(params[name]) for name in ("Q", "K", "V", "dO"))
    a = _softmax_rows(q @ k.T, np.ones((len(q), len(k)), dtype=bool))
    d_a = d_o @ v.T
    d_s = a * (d_a - (a * d_a).sum(axis=1, keepdims=True))
    return _backward_mistake(params, weights=a, dV=a.T @ d_o, dscores=d_s, dQ=d_s @ k, dK=d_s.T @ q)


# --- the cards ----------------------------------------------------------------------------------------


def _matrix_answer(text: str, precision, symbol: str, label: str, rows: str, columns: str) -> Answer:
    return Answer("matrix", text, precision=precision, symbol=symbol, label=label,
                  index=(POSITIONS[rows], POSITIONS[columns]))


@register
class AttentionForward(Family):
    id = "attention-forward"
    title = "Scaled dot-product attention: scores, weights and output of one head, with or without a causal mask"
    topic = "transformers"
    difficulty = 2
    answers = {
        "scores": _matrix_answer("S = Q K^T / sqrt(d), n_q x n_k, before any mask", decimals(4), "S", "S",
                                 "query", "key"),
        "weights": _matrix_answer("A: the softmax of each row of S (masked entries exactly 0), n_q x n_k", WEIGHTS,
                                  "A", "A", "query", "key"),
        "output": _matrix_answer("O = A V, n_q x d_v", decimals(4), "O", "O", "query", "column"),
    }
    # A mistake counts as scoring only when it gives a whole matrix right (as in the convolution families):
    # a single entry where, say, the softmax down the columns happens to agree (S_11 = S_22 makes one
    # weight equal) is no sign of the mistake, and refusing such draws would refuse most small-integer ones.
    mistake_unit = "answer"
    mistakes = {
        "the 1/sqrt(d) scale left out": lambda p: _wrong_scale(p, 1.0),
        "1/d for 1/sqrt(d)": lambda p: _wrong_scale(p, 1 / len(p["Q"][0])),
        "the softmax down the columns instead of along the rows": _column_softmax,
        "the causal mask the wrong way round (query i sees keys j >= i)": _mask_reversed,
        "masked scores set to 0 instead of minus infinity": _masked_scores_zero,
        "the mask applied after the softmax, the rows not renormalised": _mask_after_softmax,
    }
    # the sizes (through the shapes of Q, K and V) and whether the attention is causal
    structure = ("Q", "K", "V", "causal")
    asks = ("attention-scores", "attention-weights", "attention-output", "causal-attention-mask")
    reveals = ("scaled-dot-product-attention",)

    def asks_of(self, params):
        return self.asks if params["causal"] else self.asks[:-1]

    def reveals_of(self, params):
        # the causal text says the mask puts minus infinity into the masked scores
        return (*self.reveals, "causal-mask-minus-infinity") if params["causal"] else self.reveals

    def sample(self, rng):
        # the structure first; then numbers until the softmax has work to do (so that every structure is
        # drawn about as often as it is chosen here, whatever its share of refused numbers)
        causal = bool(choice(rng, (False, True)))
        n_q, n_k = (choice(rng, (2, 3)),) * 2 if causal else (choice(rng, (1, 2)), choice(rng, (2, 3)))
        d, d_v = choice(rng, (2, 3, 4)), choice(rng, (2, 3))
        for _ in range(SAMPLE_TRIES):
            params = {
                "Q": int_matrix(rng, n_q, d, -2, 2),
                "K": int_matrix(rng, n_k, d, -2, 2),
                "V": int_matrix(rng, n_k, d_v, -3, 3),
                "causal": causal,
            }
            if self._numbers_problem(params) is None:
                break
        return params

    def validate(self, params):
        require_keys(params, FORWARD_FIELDS)
        out = _read_qkv(params)
        out["causal"] = as_bool(params["causal"], "causal")
        if out["causal"] and len(out["Q"]) != len(out["K"]):
            raise ParamError("Q", f"as many queries as keys ({len(out['K'])}) under a causal mask, which pairs query i "
                                  "with key i", params["Q"])
        return out

    @staticmethod
    def _numbers_problem(params: Mapping[str, Any]) -> str | None:
        fwd = _forward(params)
        if not np.any(fwd["visible"].sum(axis=1) > 1):
            return "every query sees a single key: every weight is 1, with no softmax to compute"
        # a single query may have a zero entry (the keys' entry then drops out of its one row of scores);
        # every key lacking an entry, or every one of several queries, leaves a dimension with no role
        zero_columns = ("K",) if len(params["Q"]) == 1 else ("Q", "K")
        return _softmax_problem(fwd) or _qk_problem(params, fwd, zero_columns) or _constant_columns(params["V"], "V")

    def degenerate(self, params):
        return self._numbers_problem(params) or scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        fwd = _forward(params)
        return {"scores": _plain(fwd["S"]), "weights": _plain(fwd["A"]), "output": _plain(fwd["O"])}

    def check(self, params, answers):
        """Loops over the entries with math.fsum, each row's softmax as exp(s - logsumexp), the mask by
        comparing positions; the weights must sum to 1 over the visible keys and be exactly 0 elsewhere."""
        q, k, v = params["Q"], params["K"], params["V"]
        n_q, n_k, d, d_v = _sizes(params)
        root = math.sqrt(d)
        _shape(answers["scores"], n_q, n_k, "scores")
        _shape(answers["weights"], n_q, n_k, "weights")
        _shape(answers["output"], n_q, d_v, "output")
        for i in range(n_q):
            scores = [math.fsum(q[i][t] * k[j][t] for t in range(d)) / root for j in range(n_k)]
            seen = [j for j in range(n_k) if not params["causal"] or j <= i]
            lse = _logsumexp([scores[j] for j in seen])
            weights = [math.exp(scores[j] - lse) if j in seen else 0.0 for j in range(n_k)]
            for j in range(n_k):
                _close(answers["scores"][i][j], scores[j], f"scores[{i}][{j}]")
                if j in seen:
                    _close(answers["weights"][i][j], weights[j], f"weights[{i}][{j}]")
                else:
                    assert answers["weights"][i][j] == 0, f"weights[{i}][{j}] = {answers['weights'][i][j]}: a masked key needs weight 0"
            assert abs(math.fsum(answers["weights"][i]) - 1) < 1e-12, f"the weights of query {i + 1} do not sum to 1"
            for c in range(d_v):
                _close(answers["output"][i][c], math.fsum(weights[j] * v[j][c] for j in seen), f"output[{i}][{c}]")

    def _part_minutes(self, params) -> tuple[float, float, float]:
        n_q, n_k, d, d_v = _sizes(params)
        visible = _mask(n_q, n_k, bool(params["causal"]))
        counts = visible.sum(axis=1)
        softmax = int(counts[counts > 1].sum())  # a row with one visible key has weight 1 without work
        scores = n_q * n_k * (d * PRODUCT_MINUTES + SCALE_MINUTES)
        weights = softmax * (CALL_MINUTES + DIVIDE_MINUTES) + (0.5 if params["causal"] else 0.0)
        output = int(visible.sum()) * d_v * PRODUCT_MINUTES
        return scores, weights, output

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        return tuple(Part((name,), w) for name, w in zip(("scores", "weights", "output"), weights))

    def minutes(self, params):
        return round(1.5 + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        n_q, n_k, d, d_v = _sizes(params)
        fwd = _forward(params)
        visible = fwd["visible"]
        return {
            "n_q": n_q, "n_k": n_k, "d": d, "d_v": d_v,
            "root_d": math.sqrt(d),
            "square_d": math.isqrt(d) ** 2 == d,
            "raw": _plain(fwd["raw"]),
            "visible": visible.tolist(),
            "rows": _softmax_context(fwd),
            "work": decimals(5),
            "KT": [list(col) for col in zip(*params["K"])],
        }


@register
class AttentionBackward(Family):
    id = "attention-backward"
    title = "Backpropagation through scaled dot-product attention: the gradients of the values, weights, scores, queries and keys"
    topic = "transformers"
    difficulty = 3
    answers = {
        "weights": _matrix_answer("A: the softmax of each row of S = Q K^T / sqrt(d), n_q x n_k", WEIGHTS, "A", "A",
                                  "query", "key"),
        "dV": _matrix_answer("dL/dV = A^T dO, n_k x d_v", GRADIENT, r"\partial L/\partial V", "dL/dV", "key", "column"),
        "dweights": _matrix_answer("dL/dA = dO V^T, n_q x n_k", exact(), r"\partial L/\partial A", "dL/dA",
                                   "query", "key"),
        "dscores": _matrix_answer("dL/dS through the row softmax: A_ij (dA_ij - sum_k A_ik dA_ik)", GRADIENT,
                                  r"\partial L/\partial S", "dL/dS", "query", "key"),
        "dQ": _matrix_answer("dL/dQ = dS K / sqrt(d), n_q x d", GRADIENT, r"\partial L/\partial Q", "dL/dQ",
                             "query", "column"),
        "dK": _matrix_answer("dL/dK = dS^T Q / sqrt(d), n_k x d", GRADIENT, r"\partial L/\partial K", "dL/dK",
                             "key", "column"),
    }
    mistake_unit = "answer"  # a matrix counts as one answer, as in attention-forward
    mistakes = {
        "the 1/sqrt(d) scale left out, forward and backward": _unscaled_forward_backward,
        "dL/dV = A dO (A not transposed)": lambda p: _backward_mistake(
            p, dV=_forward(p)["A"] @ _array(p["dO"])) if _backward_square(p) else {},
        "dL/dA = V dO^T (transposed)": _dweights_transposed,
        "the softmax's Jacobian left out (dL/dS = dL/dA)": lambda p: {"dscores": _exact_products(p["dO"], p["V"])},
        "only the diagonal of the softmax's Jacobian (dL/dS = A (1 - A) dL/dA)": lambda p: _backward_mistake(
            p, dscores=_backward(p)["A"] * (1 - _backward(p)["A"]) * _backward(p)["dA"]),
        "the sign of the row sum flipped (dL/dS = A (dL/dA + sum_k A_ik dA_ik))": lambda p: _backward_mistake(
            p, dscores=_backward(p)["A"] * (_backward(p)["dA"] + _backward(p)["rows"][:, None])),
        "the 1/sqrt(d) left out of dL/dQ and dL/dK": lambda p: _backward_mistake(
            p, dQ=_backward(p)["dS"] @ _array(p["K"]), dK=_backward(p)["dS"].T @ _array(p["Q"])),
        "dL/dK = dS Q / sqrt(d) (dS not transposed)": lambda p: _backward_mistake(
            p, dK=_backward(p)["dS"] @ _array(p["Q"]) * _scale(p)) if _backward_square(p) else {},
        "dL/dQ = dS^T K / sqrt(d) (dS transposed)": lambda p: _backward_mistake(
            p, dQ=_backward(p)["dS"].T @ _array(p["K"]) * _scale(p)) if _backward_square(p) else {},
    }
    structure = ("Q", "K", "V")  # the sizes n_q, n_k, d and d_v (dO is n_q x d_v)
    # part (a), the weights, is the forward pass the backward one starts from, not the point of the problem:
    # an exam may hold attention-forward too (a transformers quiz does), so it is not asked as a concept
    asks = ("attention-value-gradient", "softmax-backward", "attention-query-key-gradients")
    reveals = ("scaled-dot-product-attention",)

    def sample(self, rng):
        # the structure first; then numbers until none of them is degenerate (see AttentionForward.sample)
        n_q, n_k = choice(rng, (1, 2, 2)), choice(rng, (2, 2, 3))
        d, d_v = choice(rng, (2, 2, 3)), choice(rng, (1, 2, 2))
        for _ in range(SAMPLE_TRIES):
            params = {
                "Q": int_matrix(rng, n_q, d, -2, 2),
                "K": int_matrix(rng, n_k, d, -2, 2),
                "V": int_matrix(rng, n_k, d_v, -2, 2),
                "dO": [[decimal(rng, -1, 1, 0.1, nonzero=True) for _ in range(d_v)] for _ in range(n_q)],
            }
            if self._numbers_problem(params) is None:
                break
        return params

    def validate(self, params):
        require_keys(params, BACKWARD_FIELDS)
        out = _read_qkv(params)
        n_q, d_v = len(out["Q"]), len(out["V"][0])
        out["dO"] = as_decimal_matrix(params["dO"], "dO", (n_q, n_q), (d_v, d_v), -9, 9, PLACES,
                                      f" (dL/dO: one row per query, {d_v} entries like the rows of V)")
        return out

    @staticmethod
    def _numbers_problem(params: Mapping[str, Any]) -> str | None:
        fwd = _forward(params)
        problem = _softmax_problem(fwd) or _qk_problem(params, fwd, ("Q", "K"))
        if problem:
            return problem
        for i, row in enumerate(params["dO"]):
            if not any(row):
                return f"row {i + 1} of dO is zero: no gradient reaches query {i + 1}"
        back = _backward(params)
        for i, row in enumerate(back["dA"]):
            if len(row) > 1 and np.ptp(row) < 1e-9:
                return f"row {i + 1} of dL/dA is constant: the softmax passes nothing back to the scores of query {i + 1}"
        a, d_a, rows = back["A"], back["dA"], back["rows"]
        q, k, d_o = _array(params["Q"]), _array(params["K"]), _array(params["dO"])
        n_q, n_k, d, d_v = _sizes(params)
        for i in range(n_q):
            for j in range(n_k):
                if _cancels(d_a[i][j] - rows[i], [d_a[i][j], *(a[i] * d_a[i])]):
                    return f"dL/dS[{i + 1}][{j + 1}] nearly cancels: dA_ij is close to the row's weighted mean"
        for name, value, terms in (
            ("dV", back["dV"], lambda r, c: a[:, r] * d_o[:, c]),
            ("dQ", back["dQ"], lambda r, c: back["dS"][r, :] * k[:, c]),
            ("dK", back["dK"], lambda r, c: back["dS"][:, r] * q[:, c]),
        ):
            for r in range(value.shape[0]):
                for c in range(value.shape[1]):
                    if _cancels(value[r][c], list(terms(r, c))):
                        return f"{name}[{r + 1}][{c + 1}] nearly cancels: its terms leave under 3 sure digits"
        return None

    def degenerate(self, params):
        return self._numbers_problem(params) or scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        back = _backward(params)
        return {
            "weights": _plain(back["A"]),
            "dV": _plain(back["dV"]),
            "dweights": _exact_products(params["dO"], params["V"]),
            "dscores": _plain(back["dS"]),
            "dQ": _plain(back["dQ"]),
            "dK": _plain(back["dK"]),
        }

    def check(self, params, answers):
        """Central finite differences of L = sum(dO * O), the forward pass written as loops with a
        log-sum-exp softmax: in every entry of Q, K and V, of the weights A (L as a function of A) and of
        the scores S (L as a function of S)."""
        n_q, n_k, d, d_v = _sizes(params)
        d_o = params["dO"]
        root = math.sqrt(d)

        def softmax(row: list[float]) -> list[float]:
            lse = _logsumexp(row)
            return [math.exp(s - lse) for s in row]

        def from_weights(a: list[list[float]], v: list[list[float]]) -> float:
            return math.fsum(d_o[i][c] * a[i][j] * v[j][c] for i in range(n_q) for j in range(n_k) for c in range(d_v))

        def from_scores(s: list[list[float]], v: list[list[float]]) -> float:
            return from_weights([softmax(row) for row in s], v)

        def scores_of(q: list[list[float]], k: list[list[float]]) -> list[list[float]]:
            return [[math.fsum(q[i][t] * k[j][t] for t in range(d)) / root for j in range(n_k)] for i in range(n_q)]

        def loss(values: Mapping[str, list[list[float]]]) -> float:
            return from_scores(scores_of(values["Q"], values["K"]), values["V"])

        step = 1e-6

        def numeric(function, base: list[list[float]], r: int, c: int) -> float:
            up = [row[:] for row in base]
            down = [row[:] for row in base]
            up[r][c] += step
            down[r][c] -= step
            return (function(up) - function(down)) / (2 * step)

        base = {name: [[float(x) for x in row] for row in params[name]] for name in ("Q", "K", "V")}
        scores = scores_of(base["Q"], base["K"])
        weights = [softmax(row) for row in scores]
        for name, rows, cols in (("weights", n_q, n_k), ("dV", n_k, d_v), ("dweights", n_q, n_k), ("dscores", n_q, n_k),
                                 ("dQ", n_q, d), ("dK", n_k, d)):
            _shape(answers[name], rows, cols, name)
        for i in range(n_q):
            for j in range(n_k):
                _close(answers["weights"][i][j], weights[i][j], f"weights[{i}][{j}]")
                _close(answers["dweights"][i][j], numeric(lambda a: from_weights(a, base["V"]), weights, i, j),
                       f"dweights[{i}][{j}]", 1e-6)
                _close(answers["dscores"][i][j], numeric(lambda s: from_scores(s, base["V"]), scores, i, j),
                       f"dscores[{i}][{j}]", 1e-6)
        for name, matrix in (("dQ", "Q"), ("dK", "K"), ("dV", "V")):
            rows, cols = len(base[matrix]), len(base[matrix][0])
            for r in range(rows):
                for c in range(cols):
                    want = numeric(lambda m: loss({**base, matrix: m}), base[matrix], r, c)
                    _close(answers[name][r][c], want, f"{name}[{r}][{c}]", 1e-6)

    def _part_minutes(self, params) -> tuple[float, float, float, float]:
        n_q, n_k, d, d_v = _sizes(params)
        p = PRODUCT_MINUTES
        weights = n_q * n_k * (d * p + SCALE_MINUTES + CALL_MINUTES + DIVIDE_MINUTES)
        values_and_weights = n_k * d_v * n_q * p + n_q * n_k * d_v * p
        scores = n_q * n_k * p + n_q * n_k * 2 * p  # the row sums, then A_ij (dA_ij - sum) per entry
        queries_keys = (n_q * d * n_k + n_k * d * n_q) * p + (n_q + n_k) * d * SCALE_MINUTES
        return weights, values_and_weights, scores + 1.0, queries_keys  # (c): 1 min for the softmax's Jacobian

    def parts(self, params):
        weights = [max(1, math.floor(m + 0.5)) for m in self._part_minutes(params)]
        names = (("weights",), ("dV", "dweights"), ("dscores",), ("dQ", "dK"))
        return tuple(Part(n, w) for n, w in zip(names, weights))

    def minutes(self, params):
        return round(2.0 + sum(self._part_minutes(params)), 2)

    def context(self, params, answers):
        n_q, n_k, d, d_v = _sizes(params)
        back = _backward(params)
        fwd = _forward(params)
        return {
            "n_q": n_q, "n_k": n_k, "d": d, "d_v": d_v,
            "root_d": math.sqrt(d),
            "square_d": math.isqrt(d) ** 2 == d,
            "raw": _plain(fwd["raw"]),
            "scores": _plain(fwd["S"]),
            "rows": [float(r) for r in back["rows"]],
            "soft": _softmax_context(fwd),
            "AT": [list(col) for col in zip(*answers["weights"])],
            "VT": [list(col) for col in zip(*params["V"])],
            "dST": [list(col) for col in zip(*answers["dscores"])],
            "work": decimals(5),
            "gwork": sig(4),
        }


def _softmax_context(fwd: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per query, the working of its row's softmax: the keys it sees (from 1), its largest visible score,
    the shifted exponentials (None where masked), their sum, and whether it sees a single key."""
    out = []
    for scores, visible in zip(fwd["S"], fwd["visible"]):
        top = max(float(s) for s, v in zip(scores, visible) if v)
        exps = [math.exp(float(s) - top) if v else None for s, v in zip(scores, visible)]
        out.append({"seen": [j + 1 for j, v in enumerate(visible) if v], "top": top, "exps": exps,
                    "total": math.fsum(e for e in exps if e is not None), "single": int(visible.sum()) == 1})
    return out


# --- shared checks --------------------------------------------------------------------------------------


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def _shape(value: Any, rows: int, cols: int, what: str) -> None:
    assert isinstance(value, list) and len(value) == rows and all(isinstance(r, list) and len(r) == cols for r in value), (
        f"{what}: expected a {rows} x {cols} matrix, got {value!r}")


def _close(got: Any, want: float, what: str, tol: float = 1e-9) -> None:
    assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{what}: not a number: {got!r}"
    assert abs(got - want) <= tol * max(1.0, abs(want)), f"{what} = {got}, the check gives {want}"
