"""Convolution families: 1-D forward pass, recovering a 1-D filter, 2-D transpose convolution.

Convention throughout (as in deep-learning libraries): cross-correlation, the filter is not flipped.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from qbank.draws import choice, int_vector, integer
from qbank.family import Answer, Family, register
from qbank.params import as_int, as_int_list, require_keys


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
