"""Convolution families: 1-D forward pass, recovering a 1-D filter, 2-D transpose convolution.

Convention throughout (as in deep-learning libraries): cross-correlation, the filter is not flipped.
Every answer is an integer (or a list of them), asked exactly as a whole number. Each family lists in `mistakes` the
slips its draws must tell apart from the right answer; `degenerate` refuses a draw on which one of
them reproduces an asked answer in full (see `scoring_mistake`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from qbank.draws import choice, int_matrix, int_vector, integer
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_int, as_int_list, as_int_matrix, require_keys
from qbank.precision import exact

WHOLE = exact(whole=True)  # every answer here is an integer, or a list of them


def padded(signal: list[int], padding: int) -> list[int]:
    return [0] * padding + list(signal) + [0] * padding


# ---------------------------------------------------------------- mistakes a draw must separate from the answer






def correlate1d(signal: list[int], filt: list[int], stride: int, padding: int) -> list[int]:
    """The output of a 1-D convolutional layer (cross-correlation), as the problem defines it."""
    x = padded(signal, padding)
    return [sum(h * v for h, v in zip(filt, x[i : i + len(filt)])) for i in range(0, len(x) - len(filt) + 1, stride)]


def _flipped_1d(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"output": correlate1d(params["signal"], params["filter"][::-1], params["stride"], params["padding"])}


def _no_padding(params: Mapping[str, Any]) -> dict[str, Any]:
    if not params["padding"]:
        return {}
    n, k, s = len(params["signal"]), len(params["filter"]), params["stride"]
    return {"length": (n - k) // s + 1, "output": correlate1d(params["signal"], params["filter"], s, 0)}


def _one_sided_padding(params: Mapping[str, Any]) -> dict[str, Any]:
    p = params["padding"]
    if not p:
        return {}
    x = [0] * p + list(params["signal"])
    n, k, s = len(params["signal"]), len(params["filter"]), params["stride"]
    return {"length": (n + p - k) // s + 1, "output": correlate1d(x, params["filter"], s, 0)}


def _length_rounded_up(params: Mapping[str, Any]) -> dict[str, Any]:
    n, k, s, p = len(params["signal"]), len(params["filter"]), params["stride"], params["padding"]
    return {"length": -(-(n + 2 * p - k) // s) + 1} if s > 1 else {}


def _stride_ignored(params: Mapping[str, Any]) -> dict[str, Any]:
    n, k, s, p = len(params["signal"]), len(params["filter"]), params["stride"], params["padding"]
    if s == 1:
        return {}
    return {"length": n + 2 * p - k + 1, "output": correlate1d(params["signal"], params["filter"], 1, p)}


def _plus_one_forgotten(params: Mapping[str, Any]) -> dict[str, Any]:
    n, k, s, p = len(params["signal"]), len(params["filter"]), params["stride"], params["padding"]
    return {"length": (n + 2 * p - k) // s}


@register
class Conv1dForward(Family):
    id = "conv1d-forward"
    title = "1-D convolution: output length and values"
    topic = "cnn"
    difficulty = 1
    answers = {
        "length": Answer("integer", "number of output entries", precision=WHOLE, label="output length"),
        # the form names no count: the number of entries is part (a)'s answer
        "output": Answer("vector", "the output signal", precision=WHOLE, symbol="y", label="output",
                         form="the output entries, first to last", size_asked=True),  # its length is part (a)'s
    }
    # Slips a student makes here, as the answers they give (see `scoring_mistake`): no draw lets one of
    # them give a right answer. With stride 2, rounding (n + 2p - k)/s up instead of down gives the
    # right length whenever s divides n + 2p - k: so every strided draw has entries the filter skips.
    mistake_unit = "answer"  # a vector or matrix counts as one answer (see qbank.grading.scoring_mistake)
    mistakes = {
        "flipping the filter (true convolution instead of cross-correlation)": _flipped_1d,
        "forgetting the padding": _no_padding,
        "padding one side only": _one_sided_padding,
        "rounding (n + 2p - k)/s up instead of down": _length_rounded_up,
        "ignoring the stride": _stride_ignored,
        "forgetting the + 1 in the length": _plus_one_forgotten,
    }
    # The output length (n + 2p - k) // s + 1 and the k products per entry follow from these four.
    structure = ("signal", "filter", "stride", "padding")
    asks = ("conv-output-length", "conv1d-output")
    reveals = ("conv-cross-correlation",)
    # Each output entry is one line of k products: 5 taps of (-99)(-99) and 12 entries fit a line.
    MAX_SIGNAL = 12
    MAX_TAPS = 5

    def sample(self, rng):
        n = integer(rng, 5, 8)
        k = integer(rng, 2, 3)
        stride = choice(rng, [1, 1, 2])
        # With stride 2, one zero on each side always lets a mistake give the right length: rounding up
        # does when s divides n + 2p - k, padding one side only when it does not. Two zeros on each side
        # (a 3-tap filter) keep a strided, padded variant.
        paddings = [0, 0, 1] if stride == 1 else [0, 2] if k == 3 else [0]
        return {
            "signal": int_vector(rng, n, -3, 4),
            "filter": int_vector(rng, k, -2, 2, nonzero=True),
            "stride": stride,
            "padding": choice(rng, paddings),
        }

    def validate(self, params):
        require_keys(params, ("signal", "filter", "stride", "padding"))
        signal = as_int_list(params["signal"], "signal", (2, self.MAX_SIGNAL), -99, 99)
        filt = as_int_list(params["filter"], "filter", (1, min(self.MAX_TAPS, len(signal))), -99, 99)
        padding = as_int(params["padding"], "padding", 0, len(filt) - 1)
        stride = as_int(params["stride"], "stride", 1, len(signal))
        return {"signal": signal, "filter": filt, "stride": stride, "padding": padding}

    def degenerate(self, params):
        if not any(params["filter"]):
            return "the filter is all zeros"
        if len(set(params["filter"])) == 1:
            return "the filter has equal taps (a scaled moving sum: nothing to weight)"
        if (len(params["signal"]) + 2 * params["padding"] - len(params["filter"])) // params["stride"] + 1 < 2:
            return "the output would have fewer than 2 entries"
        answers = self.solve(params)
        output = answers["output"]
        if len(set(output)) == 1:
            return f"every output entry is {output[0]}"
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        output = correlate1d(params["signal"], params["filter"], params["stride"], params["padding"])
        return {"length": len(output), "output": output}

    def check(self, params, answers):
        x = np.pad(np.array(params["signal"]), params["padding"])
        expected = np.correlate(x, np.array(params["filter"]), mode="valid")[:: params["stride"]]
        n, k, p, s = len(params["signal"]), len(params["filter"]), params["padding"], params["stride"]
        assert answers["length"] == (n + 2 * p - k) // s + 1, "length disagrees with the size formula"
        assert answers["output"] == expected.tolist(), f"output {answers['output']} != numpy {expected.tolist()}"

    @staticmethod
    def _length(params: Mapping[str, Any]) -> int:
        n, k, p, s = len(params["signal"]), len(params["filter"]), params["padding"], params["stride"]
        return (n + 2 * p - k) // s + 1

    def parts(self, params):
        products = self._length(params) * len(params["filter"])
        return (Part(("length",), 1), Part(("output",), max(2, round(products / 6))))

    def minutes(self, params):
        # 30 s for the length formula, 10 s per product written out and added (k per output entry),
        # 30 s to write the padded signal, 30 s to state the answer.
        products = self._length(params) * len(params["filter"])
        return round(1.0 + products / 6 + (0.5 if params["padding"] else 0.0), 1)

    def context(self, params, answers):
        x = padded(params["signal"], params["padding"])
        k, s = len(params["filter"]), params["stride"]
        windows = [x[i * s : i * s + k] for i in range(answers["length"])]
        n, p = len(params["signal"]), params["padding"]
        span = n + 2 * p - k
        # entries at the end of the padded signal that no window covers (what the floor drops)
        return {"padded": x, "windows": windows, "span": span, "unused": span % s}


def hankel_system(signal: list[int], k: int) -> tuple[list[list[int]], int]:
    """Rows of the linear system for a length-k filter: row i holds signal[i : i + k]."""
    rows = len(signal) - k + 1
    return [list(signal[i : i + k]) for i in range(rows)], rows


def _pivot_row(m: list[list[Fraction]], col: int, first: int) -> int | None:
    """The row to pivot on in column `col`, among rows `first`.. with a non-zero entry there: one with a
    +-1 (no fractions: dividing by it is free), else one whose whole row the pivot divides (the row
    stays integer), else the smallest pivot in size; the highest such row on ties."""
    candidates = [r for r in range(first, len(m)) if m[r][col] != 0]
    if not candidates:
        return None

    def cost(r: int) -> tuple[int, int, int]:
        lead = m[r][col]
        divides = all((v / lead).denominator == 1 for v in m[r])
        return (abs(lead) != 1, not divides, abs(lead))

    return min(candidates, key=lambda r: (cost(r), r))


def gauss_jordan_steps(matrix: list[list[Fraction]]) -> list[dict[str, Any]]:
    """Gauss-Jordan elimination on an augmented matrix, one stage per pivot column, for display.

    Each stage records the pivot (its column, row and value before scaling), the row operations (as
    text for LaTeX), the matrix after them, and whether fractions appear (display rows need spacing)."""
    m = [row[:] for row in matrix]
    n_rows, n_cols = len(m), len(m[0]) - 1
    stages = []
    pivot_row = 0
    for col in range(n_cols):
        pivot = _pivot_row(m, col, pivot_row)
        if pivot is None:
            continue
        ops = []
        fractions_before = any(v.denominator != 1 for row in m for v in row)  # the factors of this stage
        if pivot != pivot_row:
            m[pivot], m[pivot_row] = m[pivot_row], m[pivot]
            ops.append(f"R_{{{pivot_row + 1}}} \\leftrightarrow R_{{{pivot + 1}}}")
        lead = m[pivot_row][col]
        if lead == -1:
            m[pivot_row] = [-v for v in m[pivot_row]]
            ops.append(f"R_{{{pivot_row + 1}}} \\gets -R_{{{pivot_row + 1}}}")
        elif lead != 1:
            m[pivot_row] = [v / lead for v in m[pivot_row]]
            if lead.denominator == 1:
                ops.append(f"R_{{{pivot_row + 1}}} \\gets R_{{{pivot_row + 1}}} / {_frac_tex(lead, paren=True)}")
            else:  # dividing by a fraction reads ambiguously (R/a/b): multiply by its reciprocal
                ops.append(f"R_{{{pivot_row + 1}}} \\gets {_frac_tex(1 / lead)}\\,R_{{{pivot_row + 1}}}")
        for r in range(n_rows):
            factor = m[r][col]
            if r != pivot_row and factor != 0:
                m[r] = [a - factor * b for a, b in zip(m[r], m[pivot_row])]
                sign = "-" if factor > 0 else "+"
                coeff = "" if abs(factor) == 1 else _frac_tex(abs(factor))
                ops.append(f"R_{{{r + 1}}} \\gets R_{{{r + 1}}} {sign} {coeff}R_{{{pivot_row + 1}}}")
        has_fraction = any(v.denominator != 1 for row in m for v in row)
        stages.append(
            {
                "column": col,
                "row": pivot_row,
                "pivot": lead,
                "ops": ops,
                "matrix": [row[:] for row in m],
                "fractions": has_fraction,  # in the matrix after the stage
                "spaced": has_fraction or fractions_before,  # fractions in its operations or its matrix
            }
        )
        pivot_row += 1
    return stages


def _frac_tex(value: Fraction, paren: bool = False) -> str:
    if value.denominator == 1:
        text = str(value.numerator)
    else:
        sign = "-" if value < 0 else ""
        text = f"{sign}\\tfrac{{{abs(value.numerator)}}}{{{value.denominator}}}"
    return f"({text})" if paren and value < 0 else text


def equation_cells(row: list[int], rhs: int) -> list[str]:
    """One equation of the system as the cells of an aligned row: term, sign, term, ..., '=', rhs
    (signs and '=' padded with {} so that they space as binary operators).
    Zero coefficients leave their cells empty, a coefficient of 1 is not written, and the first
    term carries its own sign."""
    cells: list[str] = []
    first = True
    for j, c in enumerate(row, start=1):
        if c == 0:
            cells += ["", ""] if j > 1 else [""]
            continue
        size = "" if abs(c) == 1 else str(abs(c))
        if first:
            if j > 1:
                cells.append("")
            cells.append(f"{'-' if c < 0 else ''}{size}h_{{{j}}}")
        else:
            cells += ["{}-{}" if c < 0 else "{}+{}", f"{size}h_{{{j}}}"]
        first = False
    return cells + ["{}={}", str(rhs)]


def augmented_system(signal: list[int], k: int, output: list[int]) -> list[list[Fraction]]:
    """The system for a length-k filter as an augmented matrix [windows | y], exact."""
    rows, _ = hankel_system(signal, k)
    return [[Fraction(v) for v in row] + [Fraction(b)] for row, b in zip(rows, output)]


@register
class Conv1dRecoverFilter(Family):
    id = "conv1d-recover-filter"
    title = "1-D convolution: recover the filter from input and output"
    topic = "cnn"
    difficulty = 2
    answers = {"filter": Answer("vector", "the filter taps h_1..h_k", precision=WHOLE, symbol="h", label="h")}
    # Solving the system for a flipped filter (convolution's convention) gives the taps reversed: a
    # palindromic filter would hide it.
    mistake_unit = "answer"  # a vector or matrix counts as one answer (see qbank.grading.scoring_mistake)
    mistakes = {"flipping the filter (true convolution instead of cross-correlation)":
                lambda params: {"filter": list(params["filter"])[::-1]}}
    # k unknowns and n - k + 1 equations; `structure_of` adds whether the elimination meets fractions.
    structure = ("signal", "filter")
    asks = ("conv-filter-recovery", "conv-as-linear-system")
    reveals = ("conv-cross-correlation",)
    MAX_TAPS = 4  # a 4-unknown elimination is the most that stays readable (and doable) by hand
    MAX_SIGNAL = 2 * MAX_TAPS + 1

    def sample(self, rng):
        k = choice(rng, [2, 3, 3, 3])
        n = 2 * k - 1 + choice(rng, [0, 0, 0, 1])
        return {"signal": int_vector(rng, n, -3, 4), "filter": int_vector(rng, k, -3, 3, nonzero=True)}

    def validate(self, params):
        require_keys(params, ("signal", "filter"))
        signal = as_int_list(params["signal"], "signal", (2, self.MAX_SIGNAL), -99, 99)
        # at least as many equations (n - k + 1) as unknowns (k), and at most two more
        n = len(signal)
        if isinstance(params["filter"], (list, tuple)) and len(params["filter"]) > self.MAX_TAPS:
            raise ParamError(
                "filter", f"a list of at most {self.MAX_TAPS} integers (a longer filter makes an elimination "
                "too long to do by hand)", params["filter"])
        filt = as_int_list(params["filter"], "filter", (max(1, n // 2), min(self.MAX_TAPS, (n + 1) // 2)), -99, 99)
        return {"signal": signal, "filter": filt}

    def degenerate(self, params):
        if not any(params["filter"]):
            return "the filter is all zeros"
        k = len(params["filter"])
        rows, _ = hankel_system(params["signal"], k)
        # the exact rank: one Gauss-Jordan stage per pivot found (any right-hand side will do)
        if len(gauss_jordan_steps(augmented_system(params["signal"], k, [0] * len(rows)))) < k:
            return "the signal does not determine the filter uniquely (the linear system is singular)"
        for i, row in enumerate(rows, start=1):
            nonzero = [j for j, c in enumerate(row, start=1) if c != 0]
            if len(nonzero) == 1:
                return f"equation {i} holds h_{nonzero[0]} alone, which can be read off without solving a system"
        return scoring_mistake(self, params, {"filter": list(params["filter"])})

    def structure_of(self, params):
        features = super().structure_of(params)
        stages = gauss_jordan_steps(augmented_system(params["signal"], len(params["filter"]), self._output(params)))
        features["fractions"] = any(stage["fractions"] for stage in stages)
        return features

    def solve(self, params):
        k = len(params["filter"])
        rows, _ = hankel_system(params["signal"], k)
        output = self._output(params)
        import sympy  # late: `qbank list` loads every family and needs no sympy

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

    def parts(self, params):
        return (Part((), 1), Part(("filter",), len(params["filter"])))

    def minutes(self, params):
        # 15 s to write each equation. A strong student eliminates k of them and checks any extra one
        # against the result (15 s each); elimination updates, for pivot column c, the k - c entries
        # right of it in each of the k rows: about 10 s an entry in integers, 20 s once fractions
        # appear. 30 s to check the filter against y.
        k = len(params["filter"])
        equations = len(params["signal"]) - k + 1
        updates = k * k * (k + 1) // 2
        per_update = 20 if self.structure_of(params)["fractions"] else 10
        return round(equations / 4 + updates * per_update / 60 + (equations - k) / 4 + 0.5, 1)

    def context(self, params, answers):
        k = len(params["filter"])
        rows, _ = hankel_system(params["signal"], k)
        output = self._output(params)
        augmented = augmented_system(params["signal"], k, output)
        stages = gauss_jordan_steps(augmented)
        return {
            "output": output,
            "rows": rows,
            "equations": [equation_cells(row, b) for row, b in zip(rows, output)],
            "augmented": augmented,
            "stages": stages,
            "k": k,
        }


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


def transpose_conv(x: list[list[int]], f: list[list[int]], stride: int, padding: int) -> list[list[int]]:
    return crop(sum_terms(transpose_conv_terms(x, f, stride)), padding)


def _axis_sizes(params: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(input size, filter size) along the rows, then along the columns."""
    x, f = params["input"], params["filter"]
    return [(len(x), len(f)), (len(x[0]), len(f[0]))]


def _filter_rotated(params: Mapping[str, Any]) -> dict[str, Any]:
    rotated = [row[::-1] for row in params["filter"][::-1]]
    return {"output": transpose_conv(params["input"], rotated, params["stride"], params["padding"])}


def _filter_transposed(params: Mapping[str, Any]) -> dict[str, Any]:
    flipped = [list(col) for col in zip(*params["filter"])]
    return {"output": transpose_conv(params["input"], flipped, params["stride"], params["padding"])}


def _forward_size_formula(params: Mapping[str, Any]) -> dict[str, Any]:
    s, p = params["stride"], params["padding"]
    return {"shape": [(n - k + 2 * p) // s + 1 for n, k in _axis_sizes(params)]}


def _padding_added(params: Mapping[str, Any]) -> dict[str, Any]:
    s, p = params["stride"], params["padding"]
    return {"shape": [(n - 1) * s + k + 2 * p for n, k in _axis_sizes(params)]} if p else {}


def _padding_cropped_once(params: Mapping[str, Any]) -> dict[str, Any]:
    s, p = params["stride"], params["padding"]
    return {"shape": [(n - 1) * s + k - p for n, k in _axis_sizes(params)]} if p else {}


def _n_times_stride(params: Mapping[str, Any]) -> dict[str, Any]:
    s, p = params["stride"], params["padding"]
    return {"shape": [n * s + k - 2 * p for n, k in _axis_sizes(params)]}


def _no_crop(params: Mapping[str, Any]) -> dict[str, Any]:
    if not params["padding"]:
        return {}
    full = transpose_conv(params["input"], params["filter"], params["stride"], 0)
    return {"shape": [len(full), len(full[0])], "output": full}


def overlap_counts(n: int, k: int, stride: int, padding: int) -> list[int]:
    """Along one axis: how many filter copies cover each output position (after cropping)."""
    size = (n - 1) * stride + k
    counts = [sum(i * stride <= pos < i * stride + k for i in range(n)) for pos in range(size)]
    return counts[padding : size - padding]


@register
class TransposeConv2d(Family):
    id = "transpose-conv2d"
    title = "2-D transpose convolution"
    topic = "cnn"
    difficulty = 2
    answers = {
        "shape": Answer("vector", "rows and columns of the output", precision=WHOLE, label="output shape",
                        form="2 whole numbers: rows, then columns"),
        "output": Answer("matrix", "the output of the transpose convolution", precision=WHOLE, label="output",
                         form="the output matrix, row by row", size_asked=True),  # its shape is part (a)'s answer
    }
    # Slips a student makes here, as the answers they give (see `scoring_mistake`): no draw lets one of
    # them give a right answer. With stride 1 and a filter of 2p + 1 taps, the forward convolution's
    # size formula gives the transpose's size too: that shape is not drawn (and refused when pinned).
    mistake_unit = "answer"  # a vector or matrix counts as one answer (see qbank.grading.scoring_mistake)
    mistakes = {
        "flipping the filter (rotating it by 180 degrees, as a convolution would)": _filter_rotated,
        "transposing the filter": _filter_transposed,
        "the forward convolution's size formula (n - k + 2p)/s + 1": _forward_size_formula,
        "adding the padding instead of cropping it": _padding_added,
        "cropping the padding from one side only": _padding_cropped_once,
        "n s instead of (n - 1) s in the size": _n_times_stride,
        "not cropping the padding": _no_crop,
    }
    # The number of copies, their size, how far apart and how much is cropped: all of the working.
    structure = ("input", "filter", "stride", "padding")
    asks = ("transpose-conv-output-shape", "transpose-conv-output")
    reveals = ("transpose-conv-mechanism",)
    # (input size, filter size, stride, padding), square: filter size > stride so that neighbouring
    # copies overlap, and the working (input-many copies of the canvas) fits on a page. Not (2, 3, 1, 1):
    # a 2x2 output whose size the forward convolution's formula gives as well.
    SHAPES = [(2, 2, 1, 0), (2, 3, 1, 0), (2, 3, 2, 0), (2, 3, 2, 1), (3, 2, 1, 0)]
    MAX_INPUT = 3  # at most 9 copies in the working
    MAX_FILTER = 4
    MAX_STRIDE = 3
    # The canvas, (n - 1) * stride + k along each axis: two canvases of 7 columns of two-digit
    # entries fill a line of the solution (and stay below amsmath's default of 10 matrix columns).
    MAX_CANVAS = 7

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
        x = as_int_matrix(params["input"], "input", (1, self.MAX_INPUT), (1, self.MAX_INPUT), -99, 99)
        f = as_int_matrix(params["filter"], "filter", (1, self.MAX_FILTER), (1, self.MAX_FILTER), -99, 99)
        # along an axis the input spans (2 or more entries), copies 1 apart overlap only if k >= 2
        spanned = [k for n, k in ((len(x), len(f)), (len(x[0]), len(f[0]))) if n >= 2]
        hi = min([k - 1 for k in spanned] + [self.MAX_STRIDE])
        if hi < 1:
            raise ParamError(
                "filter", "a filter of 2 or more entries along every axis where the input has 2 or more "
                "(else the copies of the filter never overlap)", params["filter"])
        stride = as_int(params["stride"], "stride", 1, self.MAX_STRIDE)
        if stride > hi:
            raise ParamError(
                "stride", f"{'an integer from 1 to ' + str(hi) if hi > 1 else '1'} (smaller than the filter "
                "size, so that neighbouring copies of the filter overlap)", stride)
        padding = as_int(params["padding"], "padding", 0, min(len(f), len(f[0])) - 1)
        canvas = ((len(x) - 1) * stride + len(f), (len(x[0]) - 1) * stride + len(f[0]))
        if max(canvas) > self.MAX_CANVAS:
            raise ParamError(
                "input", f"an input whose canvas, (input size - 1) * stride + filter size, has at most "
                f"{self.MAX_CANVAS} rows and columns (so that the working fits on a page); this one is "
                f"{canvas[0]}x{canvas[1]}", params["input"])
        return {"input": x, "filter": f, "stride": stride, "padding": padding}

    def degenerate(self, params):
        x, f = params["input"], params["filter"]
        if not any(any(row) for row in f):
            return "the filter is all zeros"
        if not any(any(row) for row in x):
            return "the input is all zeros"
        if len(x) * len(x[0]) < 2:
            return "the input has a single entry (the output is one scaled copy of the filter)"
        if not all(any(row) for row in f):
            return "the filter has a row of zeros (it acts as a smaller filter)"
        if not all(any(col) for col in zip(*f)):
            return "the filter has a column of zeros (it acts as a smaller filter)"
        if not all(any(row) for row in x) or not all(any(col) for col in zip(*x)):
            return "the input has a row or column of zeros (it acts as a smaller input)"
        rows, cols = self._shape(params)
        if rows < 1 or cols < 1 or rows * cols < 4:
            return "the padding leaves fewer than 4 output entries"
        if sum(v != 0 for row in f for v in row) < 2:
            return "the filter has fewer than two non-zero taps"
        if max(self._coverage(params)) < 2:
            return "no output entry adds two copies of the filter (the padding crops every overlap)"
        answers = self.solve(params)
        if not any(any(row) for row in answers["output"]):
            return "the output is all zeros"
        return scoring_mistake(self, params, answers)

    @staticmethod
    def _shape(params: Mapping[str, Any]) -> tuple[int, int]:
        x, f, s, p = params["input"], params["filter"], params["stride"], params["padding"]
        return (len(x) - 1) * s + len(f) - 2 * p, (len(x[0]) - 1) * s + len(f[0]) - 2 * p

    @staticmethod
    def _coverage(params: Mapping[str, Any]) -> list[int]:
        """For each output entry, the number of filter copies that add into it (row-major)."""
        x, f, s, p = params["input"], params["filter"], params["stride"], params["padding"]
        down = overlap_counts(len(x), len(f), s, p)
        across = overlap_counts(len(x[0]), len(f[0]), s, p)
        return [a * b for a in down for b in across]

    def solve(self, params):
        output = transpose_conv(params["input"], params["filter"], params["stride"], params["padding"])
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

    def parts(self, params):
        products = sum(self._coverage(params))
        return (Part(("shape",), 1), Part(("output",), max(2, round(products / 8))))

    def minutes(self, params):
        # 1 min for the shape formula on both axes; every copy of a filter tap that lands in the
        # output is a product of small integers written into the sum, about 8 s each (the copies
        # cropped away need not be computed); 30 s to write the answer.
        return round(1.5 + sum(self._coverage(params)) * 8 / 60, 1)

    def context(self, params, answers):
        terms = transpose_conv_terms(params["input"], params["filter"], params["stride"])
        full = sum_terms(terms)
        width = len(full[0])
        per_line = 3 if width <= 4 else 2  # a line holds three canvases of 4 two-digit columns
        lines = [terms[i : i + per_line] for i in range(0, len(terms), per_line)]
        return {"full": full, "lines": lines, "full_shape": [len(full), width]}
