"""Convolution families: 1-D forward pass, recovering a 1-D filter, 2-D transpose convolution.

Convention throughout (as in deep-learning libraries): cross-correlation, the filter is not flipped.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy

from qbank.draws import choice, int_matrix, int_vector, integer
from qbank.family import Answer, Family, register
from qbank.params import as_int, as_int_list, as_int_matrix, require_keys


def padded(signal: list[int], padding: int) -> list[int]:
    return [0] * padding + list(signal) + [0] * padding


@register
class Conv1dForward(Family):
    id = "conv1d-forward"
    title = "1-D convolution: output length and values"
    topic = "cnn"
    difficulty = 1
    answers = {
        "length": Answer("integer", "number of output entries"),
        "output": Answer("vector", "the output signal"),
    }

    def sample(self, rng):
        n = integer(rng, 5, 8)
        k = integer(rng, 2, 3)
        stride = choice(rng, [1, 1, 2])
        return {
            "signal": int_vector(rng, n, -3, 4),
            "filter": int_vector(rng, k, -2, 2, nonzero=True),
            "stride": stride,
            "padding": choice(rng, [0, 0, 1]),
        }

    def validate(self, params):
        require_keys(params, ("signal", "filter", "stride", "padding"))
        signal = as_int_list(params["signal"], "signal", (2, 16), -99, 99)
        filt = as_int_list(params["filter"], "filter", (1, len(signal)), -99, 99)
        padding = as_int(params["padding"], "padding", 0, len(filt) - 1)
        stride = as_int(params["stride"], "stride", 1, len(signal))
        return {"signal": signal, "filter": filt, "stride": stride, "padding": padding}

    def degenerate(self, params):
        if not any(params["filter"]):
            return "the filter is all zeros"
        if (len(params["signal"]) + 2 * params["padding"] - len(params["filter"])) // params["stride"] + 1 < 2:
            return "the output would have fewer than 2 entries"
        return None

    def solve(self, params):
        x = padded(params["signal"], params["padding"])
        h, s = params["filter"], params["stride"]
        starts = range(0, len(x) - len(h) + 1, s)
        output = [sum(h[j] * x[i + j] for j in range(len(h))) for i in starts]
        return {"length": len(output), "output": output}

    def check(self, params, answers):
        x = np.pad(np.array(params["signal"]), params["padding"])
        expected = np.correlate(x, np.array(params["filter"]), mode="valid")[:: params["stride"]]
        n, k, p, s = len(params["signal"]), len(params["filter"]), params["padding"], params["stride"]
        assert answers["length"] == (n + 2 * p - k) // s + 1, "length disagrees with the size formula"
        assert answers["output"] == expected.tolist(), f"output {answers['output']} != numpy {expected.tolist()}"

    def context(self, params, answers):
        x = padded(params["signal"], params["padding"])
        k, s = len(params["filter"]), params["stride"]
        windows = [x[i * s : i * s + k] for i in range(answers["length"])]
        n, p = len(params["signal"]), params["padding"]
        return {"padded": x, "windows": windows, "span": n + 2 * p - k}


def hankel_system(signal: list[int], k: int) -> tuple[list[list[int]], int]:
    """Rows of the linear system for a length-k filter: row i holds signal[i : i + k]."""
    rows = len(signal) - k + 1
    return [signal[i : i + k] for i in range(rows)], rows


def gauss_jordan_steps(matrix: list[list[Fraction]]) -> list[dict[str, Any]]:
    """Gauss-Jordan elimination on an augmented matrix, one stage per pivot column, for display.

    Each stage records the row operations (as text for LaTeX) and the matrix after them."""
    m = [row[:] for row in matrix]
    n_rows, n_cols = len(m), len(m[0]) - 1
    stages = []
    pivot_row = 0
    for col in range(n_cols):
        pivot = next((r for r in range(pivot_row, n_rows) if m[r][col] != 0), None)
        if pivot is None:
            continue
        ops = []
        if pivot != pivot_row:
            m[pivot], m[pivot_row] = m[pivot_row], m[pivot]
            ops.append(f"R_{{{pivot_row + 1}}} \\leftrightarrow R_{{{pivot + 1}}}")
        lead = m[pivot_row][col]
        if lead != 1:
            m[pivot_row] = [v / lead for v in m[pivot_row]]
            ops.append(f"R_{{{pivot_row + 1}}} \\gets R_{{{pivot_row + 1}}} / {_frac_tex(lead, paren=True)}")
        for r in range(n_rows):
            factor = m[r][col]
            if r != pivot_row and factor != 0:
                m[r] = [a - factor * b for a, b in zip(m[r], m[pivot_row])]
                sign = "-" if factor > 0 else "+"
                coeff = "" if abs(factor) == 1 else _frac_tex(abs(factor))
                ops.append(f"R_{{{r + 1}}} \\gets R_{{{r + 1}}} {sign} {coeff}R_{{{pivot_row + 1}}}")
        stages.append({"ops": ops, "matrix": [row[:] for row in m]})
        pivot_row += 1
    return stages


def _frac_tex(value: Fraction, paren: bool = False) -> str:
    if value.denominator == 1:
        text = str(value.numerator)
    else:
        sign = "-" if value < 0 else ""
        text = f"{sign}\\tfrac{{{abs(value.numerator)}}}{{{value.denominator}}}"
    return f"({text})" if paren and value < 0 else text


@register
class Conv1dRecoverFilter(Family):
    id = "conv1d-recover-filter"
    title = "1-D convolution: recover the filter from input and output"
    topic = "cnn"
    difficulty = 2
    answers = {"filter": Answer("vector", "the filter taps h_1..h_k")}

    def sample(self, rng):
        k = choice(rng, [2, 3, 3, 3])
        n = 2 * k - 1 + choice(rng, [0, 0, 0, 1])
        return {"signal": int_vector(rng, n, -3, 4), "filter": int_vector(rng, k, -3, 3, nonzero=True)}

    def validate(self, params):
        require_keys(params, ("signal", "filter"))
        signal = as_int_list(params["signal"], "signal", (2, 12), -99, 99)
        k_max = (len(signal) + 1) // 2
        filt = as_int_list(params["filter"], "filter", (1, k_max), -99, 99)
        return {"signal": signal, "filter": filt}

    def degenerate(self, params):
        if not any(params["filter"]):
            return "the filter is all zeros"
        rows, _ = hankel_system(params["signal"], len(params["filter"]))
        if sympy.Matrix(rows).rank() < len(params["filter"]):
            return "the signal does not determine the filter uniquely (the linear system is singular)"
        return None

    def solve(self, params):
        k = len(params["filter"])
        rows, _ = hankel_system(params["signal"], k)
        output = self._output(params)
        h = sympy.symbols(f"h1:{k + 1}")
        system = [sum(c * hj for c, hj in zip(row, h)) - b for row, b in zip(rows, output)]
        (solution,) = sympy.linsolve(system, h)
        return {"filter": [int(v) if v.is_integer else float(v) for v in solution]}

    @staticmethod
    def _output(params: Mapping[str, Any]) -> list[int]:
        """The valid output the student is shown (stride 1, no padding)."""
        x, f = params["signal"], params["filter"]
        return [sum(f[j] * x[i + j] for j in range(len(f))) for i in range(len(x) - len(f) + 1)]

    def check(self, params, answers):
        k = len(answers["filter"])
        rows, _ = hankel_system(params["signal"], k)
        assert np.linalg.matrix_rank(np.array(rows, dtype=float)) == k, "the system is not uniquely solvable"
        output = np.correlate(np.array(params["signal"]), np.array(params["filter"]), mode="valid")
        recovered = np.correlate(np.array(params["signal"], dtype=float), np.array(answers["filter"], dtype=float), "valid")
        assert np.allclose(recovered, output), f"filter {answers['filter']} does not reproduce the output"
        lstsq = np.linalg.lstsq(np.array(rows, dtype=float), output.astype(float), rcond=None)[0]
        assert np.allclose(lstsq, answers["filter"]), f"least squares gives {lstsq}, not {answers['filter']}"

    def context(self, params, answers):
        k = len(params["filter"])
        rows, _ = hankel_system(params["signal"], k)
        output = self._output(params)
        augmented = [[Fraction(v) for v in row] + [Fraction(b)] for row, b in zip(rows, output)]
        return {"output": output, "rows": rows, "augmented": augmented, "stages": gauss_jordan_steps(augmented), "k": k}


def transpose_conv_terms(x: list[list[int]], f: list[list[int]], stride: int) -> list[dict[str, Any]]:
    """One term per input entry: the filter placed at (i * stride, j * stride) on the full-size canvas
    (`shifted`), and the same scaled by that entry (`canvas`)."""
    n_r, n_c, k_r, k_c = len(x), len(x[0]), len(f), len(f[0])
    size = ((n_r - 1) * stride + k_r, (n_c - 1) * stride + k_c)
    terms = []
    for i in range(n_r):
        for j in range(n_c):
            shifted = [[0] * size[1] for _ in range(size[0])]
            for a in range(k_r):
                for b in range(k_c):
                    shifted[i * stride + a][j * stride + b] = f[a][b]
            canvas = [[x[i][j] * v for v in row] for row in shifted]
            terms.append({"row": i + 1, "col": j + 1, "scale": x[i][j], "shifted": shifted, "canvas": canvas})
    return terms


def sum_terms(terms: list[dict[str, Any]]) -> list[list[int]]:
    """The entrywise sum of the terms' canvases: the transpose convolution before cropping."""
    rows, cols = len(terms[0]["canvas"]), len(terms[0]["canvas"][0])
    return [[sum(t["canvas"][r][c] for t in terms) for c in range(cols)] for r in range(rows)]


def crop(matrix: list[list[int]], padding: int) -> list[list[int]]:
    if padding == 0:
        return [row[:] for row in matrix]
    return [row[padding:-padding] for row in matrix[padding:-padding]]


@register
class TransposeConv2d(Family):
    id = "transpose-conv2d"
    title = "2-D transpose convolution"
    topic = "cnn"
    difficulty = 2
    answers = {
        "shape": Answer("vector", "rows and columns of the output"),
        "output": Answer("matrix", "the output of the transpose convolution"),
    }
    # (input size, filter size, stride, padding): shapes whose working fits on a page
    SHAPES = [(2, 2, 1, 0), (2, 2, 1, 0), (2, 2, 2, 0), (2, 3, 1, 0), (2, 3, 2, 1), (2, 3, 1, 1)]

    def sample(self, rng):
        n, k, stride, padding = choice(rng, self.SHAPES)
        return {
            "input": int_matrix(rng, n, n, -3, 3, nonzero=True),
            "filter": int_matrix(rng, k, k, -2, 2),
            "stride": stride,
            "padding": padding,
        }

    def validate(self, params):
        require_keys(params, ("input", "filter", "stride", "padding"))
        x = as_int_matrix(params["input"], "input", (1, 4), (1, 4), -99, 99)
        f = as_int_matrix(params["filter"], "filter", (1, 4), (1, 4), -99, 99)
        stride = as_int(params["stride"], "stride", 1, 3)
        padding = as_int(params["padding"], "padding", 0, min(len(f), len(f[0])) - 1)
        return {"input": x, "filter": f, "stride": stride, "padding": padding}

    def degenerate(self, params):
        if not any(any(row) for row in params["filter"]):
            return "the filter is all zeros"
        if not any(any(row) for row in params["input"]):
            return "the input is all zeros"
        rows, cols = self._shape(params)
        if rows < 1 or cols < 1 or rows * cols < 4:
            return "the padding leaves fewer than 4 output entries"
        if sum(v != 0 for row in params["filter"] for v in row) < 2:
            return "the filter has fewer than two non-zero taps"
        return None

    @staticmethod
    def _shape(params: Mapping[str, Any]) -> tuple[int, int]:
        x, f, s, p = params["input"], params["filter"], params["stride"], params["padding"]
        return (len(x) - 1) * s + len(f) - 2 * p, (len(x[0]) - 1) * s + len(f[0]) - 2 * p

    def solve(self, params):
        terms = transpose_conv_terms(params["input"], params["filter"], params["stride"])
        full = sum_terms(terms)
        output = crop(full, params["padding"])
        return {"shape": [len(output), len(output[0])], "output": output}

    def check(self, params, answers):
        # Independent: the transpose convolution is the adjoint of the strided, padded convolution
        # that maps an output-sized array back to the input's size; build that map as a matrix C
        # and apply C^T to the flattened input.
        x, f = np.array(params["input"]), np.array(params["filter"])
        s, p = params["stride"], params["padding"]
        out_r, out_c = self._shape(params)
        assert answers["shape"] == [out_r, out_c], f"shape {answers['shape']} != ({out_r}, {out_c})"
        C = np.zeros((x.size, out_r * out_c), dtype=np.int64)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                for a in range(f.shape[0]):
                    for b in range(f.shape[1]):
                        r, c = i * s + a - p, j * s + b - p
                        if 0 <= r < out_r and 0 <= c < out_c:
                            C[i * x.shape[1] + j, r * out_c + c] += f[a, b]
        expected = (C.T @ x.reshape(-1)).reshape(out_r, out_c)
        assert answers["output"] == expected.tolist(), f"output {answers['output']} != adjoint {expected.tolist()}"

    def context(self, params, answers):
        terms = transpose_conv_terms(params["input"], params["filter"], params["stride"])
        full = sum_terms(terms)
        width = len(full[0])
        per_line = 3 if width <= 3 else 2
        lines = [terms[i : i + per_line] for i in range(0, len(terms), per_line)]
        return {"full": full, "lines": lines, "full_shape": [len(full), width]}
