"""2-D convolutional networks: a multi-channel convolution's forward pass, pooling forward and backward, and
the bookkeeping of a small network (shapes, parameters, multiply-accumulates and receptive fields per layer).

Conventions, as in deep-learning libraries: a convolution is a cross-correlation (kernels are not flipped);
padding adds zeros on each side; a side of n entries becomes floor((n + 2p - d(k - 1) - 1)/s) + 1 (d = 1
without dilation). Tensors are nested lists in the order their names give: an input C_in x H x W, filters
C_out x C_in x k x k. Positions are counted from 1 in the text.

Each family lists in `mistakes` the slips its draws must tell apart from the right answer; `degenerate`
refuses a draw on which one of them reproduces an asked answer in full (`scoring_mistake`, per answer).
A slip that the structure itself rules out (forgetting a padding of 0, ignoring a stride of 1) gives
nothing to compare, as in generators/conv.py.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np

from qbank.draws import choice, int_matrix, integer
from qbank.family import Answer, Family, Part, register, shape_of
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_bool, as_choice, as_decimal_matrix, as_int, as_int_list, require_keys
from qbank.precision import exact

WHOLE = exact(whole=True)  # sizes, counts and the integer outputs of an integer convolution
EXACT = exact(fractions=True)  # pooling: an average of k * k integers is a fraction where it does not end


# ---------------------------------------------------------------- shared helpers


def out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """Output positions along one axis: floor((n + 2p - d(k - 1) - 1)/s) + 1."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _factor(value: Any) -> str:
    """A number as a factor in a product: negative ones in parentheses."""
    text = _plain_text(value)
    return f"({text})" if text.startswith("-") else text


def _plain_text(value: Any) -> str:
    if isinstance(value, Fraction):
        value = value.numerator if value.denominator == 1 else float(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _plain(value: Fraction) -> int | float:
    """An exact rational as JSON data: an int when whole, else the nearest float."""
    return value.numerator if value.denominator == 1 else value.numerator / value.denominator


def _exact(value: int | float) -> Fraction:
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def as_int_tensor(value: Any, field: str, counts: Sequence[tuple[int, int]], lo: int, hi: int, expected: str) -> list:
    """A nested list of integers from `lo` to `hi` with counts[level] = (fewest, most) entries at each level
    and every list of one level the same length (a tensor); `expected` says what it is, in words."""
    expected = f"{expected}, integers from {lo} to {hi}"

    def walk(node: Any, level: int, where: str) -> list:
        fewest, most = counts[level]
        if not isinstance(node, (list, tuple)) or not fewest <= len(node) <= most:
            raise ParamError(field, expected, value)
        if level == len(counts) - 1:
            return [as_int(v, f"{where}[{i}]", lo, hi) for i, v in enumerate(node)]
        return [walk(child, level + 1, f"{where}[{i}]") for i, child in enumerate(node)]

    out = walk(value, 0, field)
    if len(shape_of(out)) != len(counts):
        raise ParamError(field, expected + " (every list of a level the same length)", value)
    return out


# ================================================================ conv2d-forward


def pad2d(x: Sequence[Sequence[int]], p: int) -> list[list[int]]:
    width = len(x[0]) + 2 * p
    return [[0] * width for _ in range(p)] + [[0] * p + list(row) + [0] * p for row in x] + [[0] * width for _ in range(p)]


def correlate2d(x: Sequence[Sequence[int]], kernel: Sequence[Sequence[int]], stride: int, padding: int) -> list[list[int]]:
    """One input channel against one kernel: the sum of products at every window, as the problem defines it."""
    xp = pad2d(x, padding)
    k = len(kernel)
    rows, cols = out_size(len(x), k, stride, padding), out_size(len(x[0]), k, stride, padding)
    return [
        [sum(kernel[a][b] * xp[i * stride + a][j * stride + b] for a in range(k) for b in range(k)) for j in range(cols)]
        for i in range(rows)
    ]


def conv2d(x: Sequence, filters: Sequence, bias: Sequence[int], stride: int, padding: int) -> list[list[list[int]]]:
    """Output channel o: b_o plus the sum over input channels c of X_c correlated with kernel W_{o,c}."""
    out = []
    for o, stack in enumerate(filters):
        maps = [correlate2d(x[c], stack[c], stride, padding) for c in range(len(x))]
        out.append([[bias[o] + sum(m[i][j] for m in maps) for j in range(len(maps[0][0]))] for i in range(len(maps[0]))])
    return out


def real_taps(n: int, k: int, s: int, p: int) -> list[int]:
    """Along one axis, per window: how many of its k taps land on the input rather than the padding."""
    return [sum(p <= t * s + a < p + n for a in range(k)) for t in range(out_size(n, k, s, p))]


def _conv_sizes(params: Mapping[str, Any]) -> dict[str, int]:
    x, f = params["input"], params["filters"]
    return {"c_in": len(x), "h": len(x[0]), "w": len(x[0][0]), "c_out": len(f), "k": len(f[0][0]),
            "s": params["stride"], "p": params["padding"]}


def _conv_products(params: Mapping[str, Any]) -> int:
    """The products a student writes: kernel taps on input entries (those on the zero padding are skipped)."""
    z = _conv_sizes(params)
    down, across = real_taps(z["h"], z["k"], z["s"], z["p"]), real_taps(z["w"], z["k"], z["s"], z["p"])
    return sum(down) * sum(across) * z["c_in"] * z["c_out"]


def _rotated(filters: Sequence) -> list:
    return [[[list(row)[::-1] for row in list(kernel)[::-1]] for kernel in stack] for stack in filters]


def _conv_flipped(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"output": conv2d(params["input"], _rotated(params["filters"]), params["bias"], params["stride"], params["padding"])}


def _conv_no_padding(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    if not z["p"]:
        return {}
    shape = [z["c_out"], out_size(z["h"], z["k"], z["s"], 0), out_size(z["w"], z["k"], z["s"], 0)]
    if min(shape) < 1:
        return {"shape": shape}
    return {"shape": shape, "output": conv2d(params["input"], params["filters"], params["bias"], z["s"], 0)}


def _conv_one_side(params: Mapping[str, Any]) -> dict[str, Any]:
    """Zeros added above and to the left only."""
    z = _conv_sizes(params)
    p = z["p"]
    if not p:
        return {}
    shifted = [[[0] * (z["w"] + p) for _ in range(p)] + [[0] * p + list(row) for row in channel] for channel in params["input"]]
    shape = [z["c_out"], out_size(z["h"] + p, z["k"], z["s"], 0), out_size(z["w"] + p, z["k"], z["s"], 0)]
    return {"shape": shape, "output": conv2d(shifted, params["filters"], params["bias"], z["s"], 0)}


def _conv_rounded_up(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    if z["s"] == 1:
        return {}
    up = [-(-(n + 2 * z["p"] - z["k"]) // z["s"]) + 1 for n in (z["h"], z["w"])]
    return {"shape": [z["c_out"], *up]}


def _conv_stride_ignored(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    if z["s"] == 1:
        return {}
    shape = [z["c_out"], out_size(z["h"], z["k"], 1, z["p"]), out_size(z["w"], z["k"], 1, z["p"])]
    return {"shape": shape, "output": conv2d(params["input"], params["filters"], params["bias"], 1, z["p"])}


def _conv_no_plus_one(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    return {"shape": [z["c_out"], *((n + 2 * z["p"] - z["k"]) // z["s"] for n in (z["h"], z["w"]))]}


def _conv_input_channels(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    if z["c_in"] == z["c_out"]:
        return {}
    return {"shape": [z["c_in"], out_size(z["h"], z["k"], z["s"], z["p"]), out_size(z["w"], z["k"], z["s"], z["p"])]}


def _conv_no_bias(params: Mapping[str, Any]) -> dict[str, Any]:
    zeros = [0] * len(params["bias"])
    return {"output": conv2d(params["input"], params["filters"], zeros, params["stride"], params["padding"])}


def _conv_bias_per_channel(params: Mapping[str, Any]) -> dict[str, Any]:
    c_in = len(params["input"])
    if c_in == 1:
        return {}
    biases = [c_in * b for b in params["bias"]]
    return {"output": conv2d(params["input"], params["filters"], biases, params["stride"], params["padding"])}


def _count_no_bias(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    return {"param_count": z["c_out"] * z["c_in"] * z["k"] ** 2}


def _count_bias_per_kernel(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    return {"param_count": z["c_out"] * z["c_in"] * (z["k"] ** 2 + 1)} if z["c_in"] > 1 else {}


def _count_no_depth(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    return {"param_count": z["c_out"] * (z["k"] ** 2 + 1)} if z["c_in"] > 1 else {}


def _count_one_filter(params: Mapping[str, Any]) -> dict[str, Any]:
    z = _conv_sizes(params)
    return {"param_count": z["c_in"] * z["k"] ** 2 + 1} if z["c_out"] > 1 else {}


@register
class Conv2dForward(Family):
    id = "conv2d-forward"
    title = "2-D multi-channel convolution: output shape, values and parameter count"
    topic = "cnn"
    difficulty = 2
    answers = {
        "shape": Answer("vector", "channels, rows and columns of the output", precision=WHOLE, label="output shape",
                        symbol=r"C_{\text{out}} \times H_{\text{out}} \times W_{\text{out}}",
                        form="3 whole numbers: channels, rows, columns"),
        # the form names no count: the shape is part (a)'s answer
        "output": Answer("matrix", "the output tensor, one matrix per output channel", precision=WHOLE, symbol="Y",
                         label="output Y", index=("channel {}",), form="the output, channel by channel, row by row",
                         size_asked=True),
        "param_count": Answer("integer", "weights plus biases of the layer", precision=WHOLE, label="parameters",
                              symbol="P"),
    }
    # Slips a student makes here, as the answers they give (see `scoring_mistake`): no draw lets one give a
    # right answer. Flipping needs a kernel that is not symmetric under a half turn; the bias slips need a
    # bias other than 0; "one bias per kernel" and "no input channels" need two input channels or more,
    # "one filter" two filters or more, and "C_in channels" C_in != C_out (else they are no slips at all).
    mistake_unit = "answer"
    mistakes = {
        "flipping the kernels (true convolution instead of cross-correlation)": _conv_flipped,
        "forgetting the padding": _conv_no_padding,
        "padding one side only (top and left)": _conv_one_side,
        "rounding (n + 2p - k)/s up instead of down": _conv_rounded_up,
        "ignoring the stride": _conv_stride_ignored,
        "forgetting the + 1 in the size": _conv_no_plus_one,
        "giving the output as many channels as the input": _conv_input_channels,
        "forgetting the bias": _conv_no_bias,
        "adding the bias once per input channel": _conv_bias_per_channel,
        "counting weights only (no biases)": _count_no_bias,
        "counting one bias per kernel instead of per filter": _count_bias_per_kernel,
        "forgetting the input channels in the count (k^2 weights per filter)": _count_no_depth,
        "counting one filter only": _count_one_filter,
    }
    # The sizes of everything (hence the windows, the products and the count), stride and padding.
    structure = ("input", "filters", "stride", "padding")
    asks = ("conv2d-output-shape", "conv2d-output", "conv2d-parameter-count")
    reveals = ("conv-cross-correlation", "conv-multichannel-definition")
    # (C_in, C_out, H, W, k, stride, padding): 28 to 72 products of small integers. With stride 2, s never
    # divides H + 2p - k along both axes (else rounding up gives the shape); padding comes with stride 1
    # (with stride 2, padding one side only gives the right shape on these sizes).
    SHAPES = [
        (2, 1, 3, 3, 2, 1, 0),
        (1, 2, 3, 3, 2, 1, 0),
        (2, 1, 5, 5, 2, 2, 0),
        (1, 2, 4, 5, 2, 2, 0),
        (2, 1, 2, 2, 3, 1, 1),
        (1, 2, 2, 3, 3, 1, 1),
        (1, 2, 4, 4, 3, 1, 0),
    ]
    MAX_CHANNELS = 3
    MAX_SIDE = 7
    MAX_KERNEL = 4
    MAX_STRIDE = 3
    MAX_PRODUCTS = 160  # about 20 minutes of products: the most a problem by hand should ask
    MAX_OUTPUT = 32  # entries of the output tensor: the solution shows a line per entry and channel

    def sample(self, rng):
        c_in, c_out, h, w, k, stride, padding = choice(rng, self.SHAPES)
        return {
            "input": [int_matrix(rng, h, w, -2, 3) for _ in range(c_in)],
            "filters": [[int_matrix(rng, k, k, -2, 2) for _ in range(c_in)] for _ in range(c_out)],
            "bias": [integer(rng, -3, 3, nonzero=True) for _ in range(c_out)],
            "stride": stride,
            "padding": padding,
        }

    def validate(self, params):
        require_keys(params, ("input", "filters", "bias", "stride", "padding"))
        side = (1, self.MAX_SIDE)
        x = as_int_tensor(params["input"], "input", [(1, self.MAX_CHANNELS), side, side], -99, 99,
                          f"a 3-D list C_in x H x W: 1 to {self.MAX_CHANNELS} channels, each a matrix of 1 to "
                          f"{self.MAX_SIDE} rows of 1 to {self.MAX_SIDE} entries")
        c_in = len(x)
        f = as_int_tensor(params["filters"], "filters", [(1, self.MAX_CHANNELS), (c_in, c_in), (1, self.MAX_KERNEL),
                                                          (1, self.MAX_KERNEL)], -99, 99,
                          f"a 4-D list C_out x C_in x k x k: 1 to {self.MAX_CHANNELS} filters, each with one square "
                          f"kernel of 1 to {self.MAX_KERNEL} rows per input channel ({c_in})")
        k = len(f[0][0])
        if len(f[0][0][0]) != k:
            raise ParamError("filters", f"square kernels (k x k), got {k} x {len(f[0][0][0])}", params["filters"])
        c_out = len(f)
        bias = as_int_list(params["bias"], "bias", (c_out, c_out), -99, 99)
        padding = as_int(params["padding"], "padding", 0, k - 1)
        stride = as_int(params["stride"], "stride", 1, self.MAX_STRIDE)
        h, w = len(x[0]), len(x[0][0])
        if min(h, w) + 2 * padding < k:
            raise ParamError("filters", f"kernels no larger than the padded input ({h + 2 * padding} x {w + 2 * padding})",
                             params["filters"])
        clean = {"input": x, "filters": f, "bias": bias, "stride": stride, "padding": padding}
        rows, cols = out_size(h, k, stride, padding), out_size(w, k, stride, padding)
        if rows * cols < 2:
            raise ParamError("input", "an input with room for 2 or more positions of the kernel", params["input"])
        if c_out * rows * cols > self.MAX_OUTPUT:
            raise ParamError("input", f"an input giving at most {self.MAX_OUTPUT} output entries over all channels "
                             f"(this one gives {c_out} x {rows} x {cols})", params["input"])
        if _conv_products(clean) > self.MAX_PRODUCTS:
            raise ParamError("input", f"sizes that need at most {self.MAX_PRODUCTS} products by hand (these need "
                             f"{_conv_products(clean)})", params["input"])
        return clean

    def degenerate(self, params):
        for c, channel in enumerate(params["input"], start=1):
            if not any(any(row) for row in channel):
                return f"input channel {c} is all zeros"
        for o, stack in enumerate(params["filters"], start=1):
            for c, kernel in enumerate(stack, start=1):
                if not any(any(row) for row in kernel):
                    return f"the kernel of filter {o} for input channel {c} is all zeros (the channel does not reach the output)"
        answers = self.solve(params)
        for o, channel in enumerate(answers["output"], start=1):
            values = {v for row in channel for v in row}
            if len(values) == 1:
                return f"every entry of output channel {o} is {values.pop()}"
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        z = _conv_sizes(params)
        output = conv2d(params["input"], params["filters"], params["bias"], z["s"], z["p"])
        return {
            "shape": [len(output), len(output[0]), len(output[0][0])],
            "output": output,
            "param_count": z["c_out"] * (z["c_in"] * z["k"] ** 2 + 1),
        }

    def check(self, params, answers):
        # Independent of the loops in solve: numpy's padded windows, contracted with the filters by einsum;
        # the count from the weight and bias arrays a library would allocate.
        from numpy.lib.stride_tricks import sliding_window_view

        z = _conv_sizes(params)
        x, f, b = (np.array(params[name], dtype=np.int64) for name in ("input", "filters", "bias"))
        xp = np.pad(x, ((0, 0), (z["p"], z["p"]), (z["p"], z["p"])))
        windows = sliding_window_view(xp, (z["k"], z["k"]), axis=(1, 2))[:, :: z["s"], :: z["s"]]
        y = np.einsum("chwab,ocab->ohw", windows, f) + b[:, None, None]
        assert answers["shape"] == list(y.shape), f"shape {answers['shape']} != numpy's {list(y.shape)}"
        assert answers["output"] == y.tolist(), f"output {answers['output']} != numpy's {y.tolist()}"
        weights, biases = np.empty((z["c_out"], z["c_in"], z["k"], z["k"])), np.empty(z["c_out"])
        assert answers["param_count"] == weights.size + biases.size, "parameter count disagrees with the arrays"

    def parts(self, params):
        return (Part(("shape",), 1), Part(("output",), max(2, round(_conv_products(params) / 8))), Part(("param_count",), 1))

    def position_word(self, params, answer, level, position):
        return ("channels", "rows", "columns")[position] if answer == "shape" and level == 0 else None

    def minutes(self, params):
        # 1 min for the size formula on both axes and 30 s for the count; about 7 s per product of small
        # integers written and added (the taps on the zero padding are skipped), 30 s to write out the padded
        # input, 30 s for the answer.
        return round(2.0 + _conv_products(params) * 7 / 60 + (0.5 if params["padding"] else 0.0), 1)

    def context(self, params, answers):
        z = _conv_sizes(params)
        p, s, k = z["p"], z["s"], z["k"]
        padded = [pad2d(channel, p) for channel in params["input"]]
        rows, cols = len(answers["output"][0]), len(answers["output"][0][0])
        filters = []
        for o, stack in enumerate(params["filters"]):
            maps = []
            for c, kernel in enumerate(stack):
                lines = []
                for i in range(rows):
                    for j in range(cols):
                        terms = [
                            f"{_factor(kernel[a][b])}\\cdot {_factor(padded[c][i * s + a][j * s + b])}"
                            for a in range(k) for b in range(k)
                            if p <= i * s + a < p + z["h"] and p <= j * s + b < p + z["w"]
                        ]
                        value = sum(kernel[a][b] * padded[c][i * s + a][j * s + b] for a in range(k) for b in range(k))
                        half = (len(terms) + 1) // 2 if len(terms) > 6 else len(terms)  # two lines past 6 products
                        lines.append({"i": i + 1, "j": j + 1, "terms": " + ".join(terms[:half]),
                                      "more": " + ".join(terms[half:]), "value": value})
                matrix = [[lines[i * cols + j]["value"] for j in range(cols)] for i in range(rows)]
                maps.append({"c": c + 1, "lines": lines, "matrix": matrix})
            filters.append({"o": o + 1, "maps": maps, "bias": params["bias"][o]})
        return {
            **z,
            "padded": padded,
            "filters_work": filters,
            "span": [z["h"] + 2 * p - k, z["w"] + 2 * p - k],
            "unused": [(z["h"] + 2 * p - k) % s, (z["w"] + 2 * p - k) % s],
        }


# ================================================================ pool2d


def pool_windows(h: int, w: int, k: int, s: int) -> list[tuple[int, int, int, int]]:
    """(i, j, first row, first column) of every window, row by row (from 0)."""
    rows, cols = out_size(h, k, s, 0), out_size(w, k, s, 0)
    return [(i, j, i * s, j * s) for i in range(rows) for j in range(cols)]


def _pool_cells(params: Mapping[str, Any], r0: int, c0: int) -> list[tuple[int, int]]:
    k = params["size"]
    return [(r0 + a, c0 + b) for a in range(k) for b in range(k)]


def _argmax(params: Mapping[str, Any], r0: int, c0: int) -> tuple[int, int]:
    x = params["input"]
    return max(_pool_cells(params, r0, c0), key=lambda rc: _exact(x[rc[0]][rc[1]]))


def _pool_forward(params: Mapping[str, Any], divisor: int | None = None) -> list[list[Fraction]]:
    """The pooled values; an average divided by `divisor` (default k * k) where a slip says so."""
    x, k = params["input"], params["size"]
    h, w = len(x), len(x[0])
    rows, cols = out_size(h, k, params["stride"], 0), out_size(w, k, params["stride"], 0)
    out = [[Fraction(0)] * cols for _ in range(rows)]
    for i, j, r0, c0 in pool_windows(h, w, k, params["stride"]):
        cells = [_exact(x[r][c]) for r, c in _pool_cells(params, r0, c0)]
        out[i][j] = max(cells) if params["kind"] == "max" else sum(cells) / (divisor or k * k)
    return out


def _pool_backward(params: Mapping[str, Any], route: str = "right", overwrite: bool = False) -> list[list[Fraction]]:
    """dL/dX: each window hands its upstream value back; `route` says how ("right": to the maximum, or
    evenly over the k * k entries for an average; "all": the whole value to every entry; "split": a
    k * k-th to every entry; "by-k": a k-th to every entry). With `overwrite`, a later window replaces what
    an earlier one wrote instead of adding to it."""
    x, k, g = params["input"], params["size"], params["upstream"]
    h, w = len(x), len(x[0])
    grad = [[Fraction(0)] * w for _ in range(h)]
    share = {"all": 1, "split": k * k, "by-k": k}
    for i, j, r0, c0 in pool_windows(h, w, k, params["stride"]):
        value = _exact(g[i][j])
        if route == "right" and params["kind"] == "max":
            targets = [(_argmax(params, r0, c0), value)]
        else:
            part = value / (share.get(route) or k * k)
            targets = [(rc, part) for rc in _pool_cells(params, r0, c0)]
        for (r, c), v in targets:
            grad[r][c] = v if overwrite else grad[r][c] + v
    return grad


def _matrix_plain(m: list[list[Fraction]]) -> list[list[int | float]]:
    return [[_plain(v) for v in row] for row in m]


def _pool_overlapping(params: Mapping[str, Any]) -> bool:
    return params["stride"] < params["size"]


def _max_to_every_entry(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"grad_input": _matrix_plain(_pool_backward(params, "all"))} if params["kind"] == "max" else {}


def _max_split_evenly(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"grad_input": _matrix_plain(_pool_backward(params, "split"))} if params["kind"] == "max" else {}


def _avg_undivided(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"grad_input": _matrix_plain(_pool_backward(params, "all"))} if params["kind"] == "avg" else {}


def _avg_by_k(params: Mapping[str, Any]) -> dict[str, Any]:
    if params["kind"] != "avg":
        return {}
    return {"output": _matrix_plain(_pool_forward(params, params["size"])),
            "grad_input": _matrix_plain(_pool_backward(params, "by-k"))}


def _avg_sum(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"output": _matrix_plain(_pool_forward(params, 1))} if params["kind"] == "avg" else {}


def _overwritten(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"grad_input": _matrix_plain(_pool_backward(params, overwrite=True))} if _pool_overlapping(params) else {}


@register
class Pool2d(Family):
    id = "pool2d"
    title = "2-D max or average pooling: forward and backward"
    topic = "cnn"
    difficulty = 2
    answers = {
        "output": Answer("matrix", "the pooled output", precision=EXACT, symbol="Y", label="Y"),
        "grad_input": Answer("matrix", "the gradient of the loss with respect to the input", precision=EXACT,
                             symbol=r"\partial L/\partial X", label="dL/dX"),
    }
    # Slips a student makes here (see `scoring_mistake`), each for the kind of pooling it belongs to: no draw
    # lets one reproduce an answer. Overwriting instead of adding differs from the right gradient only where
    # windows overlap: with max pooling, every overlapping draw has an entry that is the maximum of two
    # windows.
    mistake_unit = "answer"
    mistakes = {
        "max pooling: passing the upstream gradient to every entry of the window": _max_to_every_entry,
        "max pooling: splitting the upstream gradient evenly over the window": _max_split_evenly,
        "average pooling: passing the whole upstream gradient to every entry (no division)": _avg_undivided,
        "average pooling: dividing by k instead of k * k": _avg_by_k,
        "average pooling: summing the window instead of averaging": _avg_sum,
        "overwriting instead of adding where windows overlap": _overwritten,
    }
    structure = ("input", "kind", "size", "stride")
    asks = ("pooling-forward", "pooling-backward")
    reveals = ()
    # (H, W, k, stride): two to nine windows, overlapping (stride < k) or not, and one size where the last
    # row and column are in no window.
    SHAPES = [(4, 4, 2, 2), (3, 3, 2, 1), (4, 4, 2, 1), (5, 5, 3, 2), (4, 4, 3, 1), (5, 5, 2, 2)]
    MAX_SIDE = 8
    MAX_WINDOW = 4

    def sample(self, rng):
        h, w, k, stride = choice(rng, self.SHAPES)
        kind = choice(rng, ["max", "avg"])
        if kind == "max":  # distinct values: every window has one maximum
            values = [int(v) for v in rng.choice(np.arange(-9, 16), size=h * w, replace=False)]
            x = [values[r * w : (r + 1) * w] for r in range(h)]
        else:
            x = int_matrix(rng, h, w, -4, 6)
        rows, cols = out_size(h, k, stride, 0), out_size(w, k, stride, 0)
        return {"input": x, "kind": kind, "size": k, "stride": stride,
                "upstream": int_matrix(rng, rows, cols, -3, 3, nonzero=True)}

    def validate(self, params):
        require_keys(params, ("input", "kind", "size", "stride", "upstream"))
        x = as_decimal_matrix(params["input"], "input", (2, self.MAX_SIDE), (2, self.MAX_SIDE), -99, 99, 2)
        kind = as_choice(params["kind"], "kind", ("max", "avg"))
        h, w = len(x), len(x[0])
        size = as_int(params["size"], "size", 2, min(self.MAX_WINDOW, h, w))
        stride = as_int(params["stride"], "stride", 1, size)
        rows, cols = out_size(h, size, stride, 0), out_size(w, size, stride, 0)
        if rows * cols < 2:
            raise ParamError("input", f"an input with room for 2 or more windows of {size} x {size} at stride {stride}",
                             params["input"])
        upstream = as_decimal_matrix(params["upstream"], "upstream", (rows, rows), (cols, cols), -99, 99, 2,
                                     why=" (one per output entry)")
        return {"input": x, "kind": kind, "size": size, "stride": stride, "upstream": upstream}

    def degenerate(self, params):
        x, g = params["input"], params["upstream"]
        for i, row in enumerate(g):
            for j, v in enumerate(row):
                if v == 0:
                    return f"the upstream gradient of output entry ({i + 1}, {j + 1}) is 0: it hides where it goes"
        if params["kind"] == "max":
            for i, j, r0, c0 in pool_windows(len(x), len(x[0]), params["size"], params["stride"]):
                values = sorted((_exact(x[r][c]) for r, c in _pool_cells(params, r0, c0)), reverse=True)
                if values[0] == values[1]:
                    return f"window ({i + 1}, {j + 1}) has its maximum {_plain(values[0])} twice"
        answers = self.solve(params)
        if len({v for row in answers["output"] for v in row}) == 1:
            return f"every output entry is {answers['output'][0][0]}"
        return scoring_mistake(self, params, answers)

    def solve(self, params):
        return {"output": _matrix_plain(_pool_forward(params)), "grad_input": _matrix_plain(_pool_backward(params))}

    def check(self, params, answers):
        """The output from numpy's sliding windows; the gradient by central differences of L = sum(G * Y), in
        exact arithmetic: each input entry moved by 1/1000 (less than half the gap between a window's maximum and
        the rest, for the inputs of two decimals at most), with the pooling evaluated afresh."""
        from numpy.lib.stride_tricks import sliding_window_view

        x = [[_exact(v) for v in row] for row in params["input"]]
        k, s = params["size"], params["stride"]
        g = [[_exact(v) for v in row] for row in params["upstream"]]
        windows = sliding_window_view(np.array(x, dtype=object), (k, k))[::s, ::s]
        if params["kind"] == "max":
            expected = [[max(w.ravel()) for w in row] for row in windows]
        else:
            expected = [[sum(w.ravel()) / (k * k) for w in row] for row in windows]
        assert [[_exact(v) for v in row] for row in answers["output"]] == [[_exact(_plain(v)) for v in row] for row in expected], \
            f"output {answers['output']} != numpy's windows"

        def loss(m: list[list[Fraction]]) -> Fraction:
            view = sliding_window_view(np.array(m, dtype=object), (k, k))[::s, ::s]
            pool = (lambda w: max(w.ravel())) if params["kind"] == "max" else (lambda w: sum(w.ravel()) / (k * k))
            return sum(g[i][j] * pool(view[i][j]) for i in range(len(g)) for j in range(len(g[0])))

        step = Fraction(1, 1000)
        for r in range(len(x)):
            for c in range(len(x[0])):
                up = [row[:] for row in x]
                down = [row[:] for row in x]
                up[r][c] += step
                down[r][c] -= step
                slope = (loss(up) - loss(down)) / (2 * step)
                assert _exact(answers["grad_input"][r][c]) == _exact(_plain(slope)), \
                    f"dL/dX[{r + 1}][{c + 1}] = {answers['grad_input'][r][c]}, central differences give {slope}"

    def _windows(self, params: Mapping[str, Any]) -> int:
        x = params["input"]
        return out_size(len(x), params["size"], params["stride"], 0) * out_size(len(x[0]), params["size"], params["stride"], 0)

    def parts(self, params):
        forward, backward = self._work(params)
        return (Part(("output",), max(1, round(forward))), Part(("grad_input",), max(1, round(backward))))

    def _work(self, params: Mapping[str, Any]) -> tuple[float, float]:
        """Minutes for (a) and (b): 2 s per entry scanned for a maximum, 3 s per entry added for an average
        (and 10 s for the division); backward, 10 s to place each window's value at its maximum, or 4 s per
        share written into a window's entries, and 10 s per entry where windows add up."""
        windows, k = self._windows(params), params["size"]
        x = params["input"]
        covered = [0] * (len(x) * len(x[0]))
        for _, _, r0, c0 in pool_windows(len(x), len(x[0]), k, params["stride"]):
            for r, c in _pool_cells(params, r0, c0):
                covered[r * len(x[0]) + c] += 1
        shared = sum(n > 1 for n in covered)
        if params["kind"] == "max":
            return windows * k * k * 2 / 60, (windows * 10 + shared * 10) / 60
        return windows * (k * k * 3 + 10) / 60, (windows * k * k * 4 + shared * 10) / 60

    def minutes(self, params):
        forward, backward = self._work(params)
        return round(1.0 + forward + backward, 1)

    def context(self, params, answers):
        x, k, s = params["input"], params["size"], params["stride"]
        h, w = len(x), len(x[0])
        rows, cols = out_size(h, k, s, 0), out_size(w, k, s, 0)
        windows = []
        received: list[list[list[Any]]] = [[[] for _ in range(w)] for _ in range(h)]
        for i, j, r0, c0 in pool_windows(h, w, k, s):
            block = [[x[r0 + a][c0 + b] for b in range(k)] for a in range(k)]
            item = {"i": i + 1, "j": j + 1, "rows": (r0 + 1, r0 + k), "cols": (c0 + 1, c0 + k), "block": block,
                    "value": answers["output"][i][j], "g": params["upstream"][i][j]}
            if params["kind"] == "max":
                r, c = _argmax(params, r0, c0)
                item["at"] = (r + 1, c + 1)
                received[r][c].append(params["upstream"][i][j])
            else:
                item["sum_text"] = _plain_text(sum(_exact(v) for row in block for v in row))
                for r, c in _pool_cells(params, r0, c0):
                    received[r][c].append(params["upstream"][i][j])
            windows.append(item)
        # each input entry's gradient as the sum of what it receives ("0" where nothing arrives)
        sums = [[" + ".join(_factor(v) if n else _plain_text(v) for n, v in enumerate(cell)) if cell else "0" for cell in row]
                for row in received]
        covered = [[0] * w for _ in range(h)]
        for _, _, r0, c0 in pool_windows(h, w, k, s):
            for r, c in _pool_cells(params, r0, c0):
                covered[r][c] += 1
        return {
            "h": h, "w": w, "k": k, "s": s, "rows": rows, "cols": cols, "windows": windows, "received": sums,
            "overlap": _pool_overlapping(params),
            "uncovered": any(n == 0 for row in covered for n in row),
            "area": k * k,
        }


# ================================================================ cnn-bookkeeping

LAYER_TYPES = ("conv", "maxpool", "avgpool")
LAYER_KEYS = ("type", "kernel", "stride", "padding", "dilation", "out_channels", "bias")
CONV_ONLY = ("dilation", "out_channels", "bias")


def _layer_shapes(params: Mapping[str, Any], size=None, channels_kept: bool = False) -> list[list[int]]:
    """[C, H, W] after each layer, with `size(n, k, s, p, d)` the size rule along an axis (default: the right
    one); `channels_kept`: a convolution keeping its input's channel count (a slip)."""
    size = size or out_size
    c, h, w = params["input_shape"]
    shapes = []
    for layer in params["layers"]:
        d = layer["dilation"] if layer["type"] == "conv" else 1
        k, s, p = layer["kernel"], layer["stride"], layer["padding"]
        h, w = size(h, k, s, p, d), size(w, k, s, p, d)
        if layer["type"] == "conv" and not channels_kept:
            c = layer["out_channels"]
        shapes.append([c, h, w])
    return shapes


def _layer_inputs(params: Mapping[str, Any]) -> list[list[int]]:
    """[C, H, W] entering each layer."""
    return [list(params["input_shape"]), *_layer_shapes(params)[:-1]]


def _layer_params(params: Mapping[str, Any], weights=None, bias_counted=None) -> list[int]:
    """Parameters per layer: `weights(c_in, c_out, k, d)` per convolution (default c_out c_in k^2) and its
    biases (`bias_counted(layer)`, default: c_out when the layer has them)."""
    weights = weights or (lambda c_in, c_out, k, d: c_out * c_in * k * k)
    bias_counted = bias_counted or (lambda layer: bool(layer["bias"]))
    out = []
    for layer, (c_in, _, _) in zip(params["layers"], _layer_inputs(params)):
        if layer["type"] != "conv":
            out.append(0)
            continue
        c_out = layer["out_channels"]
        out.append(weights(c_in, c_out, layer["kernel"], layer["dilation"]) + (c_out if bias_counted(layer) else 0))
    return out


def _layer_macs(params: Mapping[str, Any], positions_in: bool = False, no_depth: bool = False, bias_adds: bool = False) -> list[int]:
    out = []
    for layer, before, after in zip(params["layers"], _layer_inputs(params), _layer_shapes(params)):
        if layer["type"] != "conv":
            out.append(0)
            continue
        positions = before[1] * before[2] if positions_in else after[1] * after[2]
        per = layer["out_channels"] * (1 if no_depth else before[0]) * layer["kernel"] ** 2
        out.append(positions * per + (positions * layer["out_channels"] if bias_adds and layer["bias"] else 0))
    return out


def _receptive_fields(params: Mapping[str, Any], grow=None, jumps: bool = True) -> list[int]:
    """r_l = r_(l-1) + grow(k, d) j_(l-1), j_l = j_(l-1) s, from r_0 = j_0 = 1; `grow` defaults to d(k - 1)."""
    grow = grow or (lambda layer, k, d: d * (k - 1))
    r, j, out = 1, 1, []
    for layer in params["layers"]:
        d = layer["dilation"] if layer["type"] == "conv" else 1
        r += grow(layer, layer["kernel"], d) * j
        if jumps:
            j *= layer["stride"]
        out.append(r)
    return out


def _bookkeeping(params: Mapping[str, Any]) -> dict[str, Any]:
    shapes = _layer_shapes(params)
    counts = _layer_params(params)
    return {"shapes": shapes, "params": counts, "total_params": sum(counts), "macs": _layer_macs(params),
            "receptive_field": _receptive_fields(params)}


def _any(params: Mapping[str, Any], test) -> bool:
    return any(test(layer) for layer in params["layers"])


def _is_dilated(layer: Mapping[str, Any]) -> bool:
    return layer["type"] == "conv" and layer["dilation"] > 1


def _bk_no_dilation(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, _is_dilated):
        return {}
    return {"shapes": _layer_shapes(params, lambda n, k, s, p, d: out_size(n, k, s, p, 1)),
            "receptive_field": _receptive_fields(params, lambda layer, k, d: k - 1)}


def _bk_no_padding(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, lambda layer: layer["padding"] > 0):
        return {}
    return {"shapes": _layer_shapes(params, lambda n, k, s, p, d: out_size(n, k, s, 0, d))}


def _bk_rounded_up(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, lambda layer: layer["stride"] > 1):
        return {}
    return {"shapes": _layer_shapes(params, lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1)}


def _bk_no_plus_one(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"shapes": _layer_shapes(params, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s)}


def _bk_channels_kept(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"shapes": _layer_shapes(params, channels_kept=True)}


def _bk_dilated_weights(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, _is_dilated):
        return {}
    counts = _layer_params(params, lambda c_in, c_out, k, d: c_out * c_in * (d * (k - 1) + 1) ** 2)
    return {"params": counts, "total_params": sum(counts)}


def _bk_no_biases(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, lambda layer: layer["type"] == "conv" and layer["bias"]):
        return {}
    counts = _layer_params(params, bias_counted=lambda layer: False)
    return {"params": counts, "total_params": sum(counts)}


def _bk_biases_always(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, lambda layer: layer["type"] == "conv" and not layer["bias"]):
        return {}
    counts = _layer_params(params, bias_counted=lambda layer: True)
    return {"params": counts, "total_params": sum(counts)}


def _bk_no_depth(params: Mapping[str, Any]) -> dict[str, Any]:
    counts = _layer_params(params, lambda c_in, c_out, k, d: c_out * k * k)
    return {"params": counts, "total_params": sum(counts), "macs": _layer_macs(params, no_depth=True)}


def _bk_macs_input_positions(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"macs": _layer_macs(params, positions_in=True)}


def _bk_macs_bias(params: Mapping[str, Any]) -> dict[str, Any]:
    if not _any(params, lambda layer: layer["type"] == "conv" and layer["bias"]):
        return {}
    return {"macs": _layer_macs(params, bias_adds=True)}


def _bk_rf_no_jump(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"receptive_field": _receptive_fields(params, jumps=False)}


def _bk_rf_no_pooling(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"receptive_field": _receptive_fields(params, lambda layer, k, d: d * (k - 1) if layer["type"] == "conv" else 0)}


def _bk_rf_k(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"receptive_field": _receptive_fields(params, lambda layer, k, d: d * k)}


def _span_count(n: int, k: int, s: int, p: int, d: int) -> int:
    """Output positions along one axis, found by sliding the window: starts -p, -p + s, ... while the last tap
    d(k - 1) further on still lies on the padded input."""
    count, start = 0, -p
    while start + d * (k - 1) <= n - 1 + p:
        count += 1
        start += s
    return count


@register
class CnnBookkeeping(Family):
    id = "cnn-bookkeeping"
    title = "Bookkeeping of a small CNN: shapes, parameters, MACs and receptive fields per layer"
    topic = "cnn"
    difficulty = 2
    answers = {
        "shapes": Answer("matrix", "[C, H, W] after each layer", precision=WHOLE, label="shape",
                         index=("layer {}",), form="one row per layer: channels, height, width"),
        "params": Answer("vector", "parameters of each layer (weights plus biases)", precision=WHOLE,
                         label="parameters", index=("layer {}",), form="one whole number per layer"),
        "total_params": Answer("integer", "parameters of the whole network", precision=WHOLE, label="total parameters"),
        "macs": Answer("vector", "multiply-accumulates of each layer for one input", precision=WHOLE, label="MACs",
                       index=("layer {}",), form="one whole number per layer"),
        "receptive_field": Answer("vector", "side of the input region one output unit of each layer sees",
                                  precision=WHOLE, label="receptive field", index=("layer {}",),
                                  form="one whole number per layer"),
    }
    # Slips a student makes here, each giving whole answers (see `scoring_mistake`): no draw lets one reproduce
    # an answer. The size slips need a layer where they change a size (rounding up: a stride that does not
    # divide the span; the input's channels: a convolution that changes them), the receptive-field slips a
    # stride before the last layer and a pooling layer, the MAC slip a convolution that changes the map size.
    mistake_unit = "answer"
    mistakes = {
        "forgetting the dilation (the window taken as k, not d(k - 1) + 1)": _bk_no_dilation,
        "forgetting the padding": _bk_no_padding,
        "rounding (H + 2p - d(k - 1) - 1)/s up instead of down": _bk_rounded_up,
        "forgetting the + 1 in the size": _bk_no_plus_one,
        "a convolution keeping its input's channel count": _bk_channels_kept,
        "counting the dilated span's holes as weights": _bk_dilated_weights,
        "forgetting the biases": _bk_no_biases,
        "counting biases for a layer without them": _bk_biases_always,
        "forgetting the input channels (k^2 weights and MACs per filter)": _bk_no_depth,
        "MACs counted at the input's positions instead of the output's": _bk_macs_input_positions,
        "counting the bias additions as MACs": _bk_macs_bias,
        "receptive fields without the jump (each layer adding d(k - 1))": _bk_rf_no_jump,
        "receptive fields leaving out the pooling layers": _bk_rf_no_pooling,
        "receptive fields growing by d k instead of d(k - 1)": _bk_rf_k,
    }
    structure = ("layers",)
    asks = ("cnn-layer-shapes", "cnn-parameter-count", "cnn-macs", "receptive-field")
    reveals = ()
    # the sequences of layer types drawn, and the input sizes
    PATTERNS = [
        ("conv", "maxpool", "conv"),
        ("conv", "conv", "maxpool"),
        ("conv", "maxpool", "conv", "avgpool"),
        ("conv", "conv", "maxpool", "conv"),
        ("conv", "avgpool", "conv", "maxpool"),
    ]
    SIDES = [28, 32, 48, 64]
    WIDTHS = [4, 6, 8, 12, 16, 24, 32]
    MAX_LAYERS = 6
    MAX_CHANNELS = 1024
    MAX_SIDE = 1024

    def structure_of(self, params):
        return {
            "layers": [len(params["layers"])],
            "types": " ".join(layer["type"] for layer in params["layers"]),
            "dilated": _any(params, _is_dilated),
        }

    def sample(self, rng):
        # Drawn until every map stays 3 x 3 or more and the slips of `mistakes` can show (a few draws): a
        # stride that does not divide its span (rounding up), a stride before the last layer (the jump), a
        # convolution that changes the map's size (MACs at the input's positions).
        for _ in range(1000):
            params = self._draw(rng)
            if self._telling(params):
                return params
        raise AssertionError("no telling network in 1000 draws")  # never met: about one draw in three tells

    @staticmethod
    def _telling(params: Mapping[str, Any]) -> bool:
        layers, shapes, inputs = params["layers"], _layer_shapes(params), _layer_inputs(params)
        if min(min(h, w) for _, h, w in shapes) < 3:
            return False
        floors = any(layer["stride"] > 1 and (before[1] + 2 * layer["padding"] - (layer["dilation"] or 1) * (layer["kernel"] - 1) - 1)
                     % layer["stride"] for layer, before in zip(layers, inputs))
        jumps = any(layer["stride"] > 1 for layer in layers[:-1])
        resized = any(layer["type"] == "conv" and after[1:] != before[1:] for layer, before, after in zip(layers, inputs, shapes))
        return floors and jumps and resized

    def _draw(self, rng):
        pattern = choice(rng, self.PATTERNS)
        side = choice(rng, self.SIDES)
        dilated = choice(rng, [False, False, True])
        convs = [i for i, t in enumerate(pattern) if t == "conv"]
        dilated_at = convs[integer(rng, 1, len(convs) - 1)] if dilated else -1
        layers = []
        for i, kind in enumerate(pattern):
            if kind == "conv":
                if i == dilated_at:
                    k, d = 3, 2
                    s, p = 1, choice(rng, [0, 1, 2])
                else:
                    k, d = choice(rng, [3, 3, 5, 1]), 1
                    s = 1 if k == 1 else choice(rng, [1, 1, 2])
                    p = 0 if k == 1 else integer(rng, 0, k // 2)
                layers.append({"type": "conv", "kernel": k, "stride": s, "padding": p, "dilation": d,
                               "out_channels": choice(rng, self.WIDTHS), "bias": choice(rng, [True, True, False])})
            else:
                k = choice(rng, [2, 2, 3])
                layers.append({"type": kind, "kernel": k, "stride": 2, "padding": 0, "dilation": None,
                               "out_channels": None, "bias": None})
        return {"input_shape": [choice(rng, [1, 3, 3]), side, side], "layers": layers}

    def validate(self, params):
        require_keys(params, ("input_shape", "layers"))
        shape = as_int_list(params["input_shape"], "input_shape", (3, 3), 1, self.MAX_SIDE)
        if shape[0] > self.MAX_CHANNELS:
            raise ParamError("input_shape[0]", f"an integer from 1 to {self.MAX_CHANNELS} (the channels)", shape[0])
        raw = params["layers"]
        if not isinstance(raw, (list, tuple)) or not 1 <= len(raw) <= self.MAX_LAYERS:
            raise ParamError("layers", f"a list of 1 to {self.MAX_LAYERS} layers, each a mapping with type, kernel, "
                             "stride, padding (and dilation, out_channels, bias for a convolution)", raw)
        layers = [self._layer(layer, f"layers[{i}]") for i, layer in enumerate(raw)]
        clean = {"input_shape": shape, "layers": layers}
        c, h, w = shape
        for i, layer in enumerate(layers):
            d = layer["dilation"] or 1
            h, w = out_size(h, layer["kernel"], layer["stride"], layer["padding"], d), out_size(
                w, layer["kernel"], layer["stride"], layer["padding"], d)
            if h < 1 or w < 1:
                raise ParamError(f"layers[{i}]", "a layer whose window fits its padded input (this one leaves no "
                                 "output position)", raw[i])
        return clean

    def _layer(self, layer: Any, field: str) -> dict[str, Any]:
        if not isinstance(layer, Mapping):
            raise ParamError(field, "a mapping with type, kernel, stride, padding (and dilation, out_channels, bias "
                             "for a convolution)", layer)
        unknown = sorted(set(layer) - set(LAYER_KEYS))
        if unknown:
            raise ParamError(f"{field}.{unknown[0]}", f"one of the fields {', '.join(LAYER_KEYS)}", layer[unknown[0]])
        for key in ("type", "kernel", "stride"):
            if key not in layer:
                raise ParamError(f"{field}.{key}", "a value (every layer states its type, kernel and stride)", None)
        kind = as_choice(layer["type"], f"{field}.type", LAYER_TYPES)
        kernel = as_int(layer["kernel"], f"{field}.kernel", 1, 15)
        stride = as_int(layer["stride"], f"{field}.stride", 1, 8)
        out = {"type": kind, "kernel": kernel, "stride": stride}
        if kind == "conv":
            out["padding"] = as_int(layer.get("padding", 0), f"{field}.padding", 0, 16)
            dilation = layer.get("dilation")
            out["dilation"] = 1 if dilation is None else as_int(dilation, f"{field}.dilation", 1, 8)
            for key in ("out_channels", "bias"):
                if layer.get(key) is None:
                    raise ParamError(f"{field}.{key}", "a value for a convolution (out_channels: an integer; bias: "
                                     "true or false)", None)
            out["out_channels"] = as_int(layer["out_channels"], f"{field}.out_channels", 1, self.MAX_CHANNELS)
            out["bias"] = as_bool(layer["bias"], f"{field}.bias")
        else:
            # a library pads a pooling window by at most half of it
            out["padding"] = as_int(layer.get("padding", 0), f"{field}.padding", 0, kernel // 2)
            for key in CONV_ONLY:
                if layer.get(key) is not None:
                    raise ParamError(f"{field}.{key}", f"null or no value: a {kind} layer has no {key.replace('_', ' ')}",
                                     layer[key])
                out[key] = None
        return {key: out[key] for key in LAYER_KEYS}

    def degenerate(self, params):
        for i, (c, h, w) in enumerate(_layer_shapes(params), start=1):
            if h < 2 or w < 2:
                return f"layer {i} leaves a map of {h} x {w}: nothing left to slide over"
        return scoring_mistake(self, params, self.solve(params))

    def solve(self, params):
        return _bookkeeping(params)

    def check(self, params, answers):
        """By enumeration: output positions counted by sliding each window, parameters by building the weight
        and bias arrays, MACs by counting the products at each position, receptive fields by following one
        unit back to the input and measuring the span of the input positions it reaches."""
        c, h, w = params["input_shape"]
        shapes, counts, macs = [], [], []
        for layer in params["layers"]:
            d = layer["dilation"] or 1
            k, s, p = layer["kernel"], layer["stride"], layer["padding"]
            rows, cols = _span_count(h, k, s, p, d), _span_count(w, k, s, p, d)
            if layer["type"] == "conv":
                weights = np.empty((layer["out_channels"], c, k, k))
                biases = np.empty(layer["out_channels"] if layer["bias"] else 0)
                counts.append(weights.size + biases.size)
                macs.append(rows * cols * weights.size)  # one product per weight at every output position
                c = layer["out_channels"]
            else:
                counts.append(0)
                macs.append(0)
            h, w = rows, cols
            shapes.append([c, h, w])
        assert answers["shapes"] == shapes, f"shapes {answers['shapes']} != by sliding {shapes}"
        assert answers["params"] == counts and answers["total_params"] == sum(counts), "parameters disagree"
        assert answers["macs"] == macs, f"MACs {answers['macs']} != counted {macs}"
        fields = []
        for last in range(len(params["layers"])):
            reached = {0}  # one unit of layer `last`, followed back through every layer to the input
            for layer in reversed(params["layers"][: last + 1]):
                d = layer["dilation"] or 1
                reached = {t * layer["stride"] - layer["padding"] + d * m for t in reached for m in range(layer["kernel"])}
            fields.append(max(reached) - min(reached) + 1)
        assert answers["receptive_field"] == fields, f"receptive fields {answers['receptive_field']} != traced {fields}"

    def _convs(self, params: Mapping[str, Any]) -> int:
        return sum(layer["type"] == "conv" for layer in params["layers"])

    def parts(self, params):
        layers, convs = len(params["layers"]), self._convs(params)
        return (Part(("shapes",), layers), Part(("params", "total_params"), convs + 1), Part(("macs",), convs),
                Part(("receptive_field",), layers))

    def minutes(self, params):
        # Per layer: its size formula on one axis (the other is the same) 40 s, its receptive field 30 s; per
        # convolution also its parameters 30 s and its MACs 40 s (calculator products); 30 s more for a dilated
        # layer, 20 s for the total.
        layers, convs = len(params["layers"]), self._convs(params)
        dilated = _any(params, _is_dilated)
        return round((layers * 70 + convs * 70 + (30 if dilated else 0) + 20) / 60, 1)

    def position_word(self, params, answer, level, position):
        if answer == "shapes" and level == 1:
            return ("channels", "height", "width")[position]
        return None

    def context(self, params, answers):
        rows = []
        inputs = _layer_inputs(params)
        j = 1
        for n, (layer, before, after, field) in enumerate(
                zip(params["layers"], inputs, answers["shapes"], answers["receptive_field"]), start=1):
            d = layer["dilation"] or 1
            rows.append({
                "n": n, "layer": layer, "before": before, "after": after, "d": d,
                "span": d * (layer["kernel"] - 1) + 1, "params": answers["params"][n - 1], "macs": answers["macs"][n - 1],
                "rf": field, "rf_before": 1 if n == 1 else answers["receptive_field"][n - 2], "jump": j,
                "numerator": [before[1] + 2 * layer["padding"] - d * (layer["kernel"] - 1) - 1,
                              before[2] + 2 * layer["padding"] - d * (layer["kernel"] - 1) - 1],
            })
            j *= layer["stride"]
        return {"rows": rows, "square": all(r["before"][1] == r["before"][2] for r in rows)}
