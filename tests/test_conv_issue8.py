"""Issue 8 (variant quality) for the convolution families: each listed defect, reproduced and fixed.

Fast tests draw a few hundred variants; the `pdf` ones build the largest accepted shapes for real."""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction

import pytest

from conftest import run_qbank
from qbank import InputError, draw, get_family
from qbank.model import thaw
from qbank.render import render_fragment

SEEDS = range(300)


def windows(params):
    k = len(params["filter"])
    x = params["signal"]
    return [x[i : i + k] for i in range(len(x) - k + 1)]


# --- transpose-conv2d ----------------------------------------------------------------------------------


def test_transpose_conv_copies_always_overlap():
    """Filter size > stride along every axis the input spans: neighbouring copies share entries."""
    for seed in SEEDS:
        p = draw("transpose-conv2d", seed).params
        for n, k in ((len(p["input"]), len(p["filter"])), (len(p["input"][0]), len(p["filter"][0]))):
            assert n == 1 or k > p["stride"], (seed, p)
    with pytest.raises(InputError, match=r"params\.stride: .*smaller than the filter"):
        draw("transpose-conv2d", 0, {"input": [[1, 2], [3, 4]], "filter": [[1, 2], [3, 4]], "stride": 2, "padding": 0})


def test_transpose_conv_no_zero_filter_rows_or_columns():
    for seed in SEEDS:
        f = draw("transpose-conv2d", seed).params["filter"]
        assert all(any(row) for row in f), (seed, f)
        assert all(any(col) for col in zip(*f)), (seed, f)
    square = {"input": [[1, 2], [3, 4]], "stride": 1, "padding": 0}
    with pytest.raises(InputError, match="degenerate.*row of zeros"):
        draw("transpose-conv2d", 0, {**square, "filter": [[1, 2, 1], [0, 0, 0], [2, -1, 1]]})
    with pytest.raises(InputError, match="degenerate.*column of zeros"):
        draw("transpose-conv2d", 0, {**square, "filter": [[1, 0, 1], [2, 0, 1], [2, 0, 1]]})
    with pytest.raises(InputError, match="degenerate.*input has a row or column of zeros"):
        draw("transpose-conv2d", 0, {**square, "input": [[1, 0], [3, 0]], "filter": [[1, 2], [2, -1]]})


def test_transpose_conv_validator_refuses_canvases_that_do_not_fit():
    """A 1x4 input with a 1x4 filter at stride 3 made a 13-column canvas that failed in LaTeX
    ("Extra alignment tab"); it is now refused up front, naming the limit."""
    with pytest.raises(InputError, match=r"params\.input: .*1 to 3 rows of 1 to 3 integers"):
        draw("transpose-conv2d", 0, {"input": [[1, 2, 3, 4]], "filter": [[1, 2, 3, 4]], "stride": 3, "padding": 0})
    with pytest.raises(InputError, match=r"params\.input: .*canvas.*at most 7 rows and columns.*1x10"):
        draw("transpose-conv2d", 0, {"input": [[1, 2, 3]], "filter": [[1, 2, 3, 4]], "stride": 3, "padding": 0})


def test_transpose_conv_seed_pattern_still_accepted():
    """The course's 1-D example (1x3 input and filter, stride 2) is the widest canvas accepted: 7."""
    v = draw("transpose-conv2d", 0, {"input": [[2, 3, 5]], "filter": [[7, 11, 13]], "stride": 2, "padding": 0})
    assert list(v.answers["shape"]) == [1, 7]


LARGEST = [
    # 9 copies of a 7x7 canvas, entries of two digits: the longest and widest working accepted
    {"input": [[-99, 98, -97], [96, -95, 94], [-93, 92, -91]],
     "filter": [[-99, 98, -97], [96, -95, 94], [-93, 92, -91]], "stride": 2, "padding": 0},
    # three canvases of 4 columns to a line: 9 copies of a 4x4 canvas
    {"input": [[-99, 98, -97], [96, -95, 94], [-93, 92, -91]], "filter": [[-99, 98], [-97, 96]],
     "stride": 1, "padding": 0},
    # one row of 7 (the course's 1-D example is of this shape)
    {"input": [[-99, 98, -97]], "filter": [[-99, 98, -97]], "stride": 2, "padding": 0},
]


@pytest.mark.pdf
@pytest.mark.parametrize("params", LARGEST, ids=["3x3-3x3-s2", "3x3-2x2-s1", "1x3-1x3-s2"])
def test_transpose_conv_largest_accepted_shapes_compile_and_fit(tmp_path, params):
    assert_compiles_without_overflow(tmp_path, "transpose-conv2d", params)


def assert_compiles_without_overflow(tmp_path, family, params):
    """Build the PDFs with `qbank draw`, then compile the solution's source once more to read its log
    (the solution document holds the problem too): no line overfull by more than 1pt, that is, no
    matrix running into the margin."""
    out = tmp_path / "pdf"
    proc = run_qbank("draw", family, "--params", json.dumps(params), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "solution.pdf").is_file() and (out / "problem.pdf").is_file()
    tex = tmp_path / "tex"
    proc = run_qbank("draw", family, "--params", json.dumps(params), "--out", str(tex), "--format", "tex")
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "solution.tex"],
        cwd=tex, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tex / "solution.log").read_text(errors="replace")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 1.0 for w in widths), f"overfull by {widths} pt"


# --- conv1d-recover-filter -----------------------------------------------------------------------------


def test_recover_filter_rejects_systems_that_can_be_read_off():
    """A window with one non-zero entry gives one tap by a single division: no system to solve."""
    for seed in SEEDS:
        p = draw("conv1d-recover-filter", seed).params
        assert all(sum(v != 0 for v in w) >= 2 for w in windows(p)), (seed, p)
    with pytest.raises(InputError, match="degenerate.*read off"):
        draw("conv1d-recover-filter", 0, {"signal": [0, 0, 2, 1, 3], "filter": [1, 2, 3]})


def unit_pivot_available_but_not_taken(stages_input):
    """Replays the elimination and returns the first stage whose pivot is not +-1 although some
    candidate row had a +-1 in the pivot column."""
    fam = get_family("conv1d-recover-filter")
    v = draw(fam, 0, stages_input)
    ctx = fam.context(thaw(v.params), thaw(v.answers))
    before = ctx["augmented"]
    for index, stage in enumerate(ctx["stages"]):
        col, row = stage["column"], stage["row"]
        candidates = [r[col] for r in before[row:] if r[col] != 0]
        if any(abs(c) == 1 for c in candidates) and abs(stage["pivot"]) != 1:
            return index
        before = stage["matrix"]
    return None


def test_recover_filter_prefers_a_unit_pivot():
    """signal [-3, -1, -1, -1, 0]: the first column holds -3, -1, -1; the elimination used to divide by
    -3 (fractions everywhere); it now swaps a -1 up instead."""
    params = {"signal": [-3, -1, -1, -1, 1], "filter": [-2, -2, 3]}
    assert unit_pivot_available_but_not_taken(params) is None
    fam = get_family("conv1d-recover-filter")
    v = draw(fam, 0, params)
    first = fam.context(thaw(v.params), thaw(v.answers))["stages"][0]
    assert first["pivot"] == -1 and r"\leftrightarrow" in first["ops"][0]
    for seed in range(100):
        assert unit_pivot_available_but_not_taken(draw(fam, seed).to_dict()["params"]) is None, seed


def test_recover_filter_caps_the_filter_length_at_4():
    with pytest.raises(InputError, match=r"params\.filter: expected a list of at most 4 integers"):
        draw("conv1d-recover-filter", 0, {"signal": [1, 2, -1, 3, 1, 2, -2, 1, 3], "filter": [1, 2, 1, -1, 2]})
    v = draw("conv1d-recover-filter", 0, {"signal": [1, 2, -1, 3, 1, 2, -2], "filter": [1, 2, 1, -1]})
    assert list(v.answers["filter"]) == [1, 2, 1, -1]


def test_recover_filter_fraction_matrices_get_row_spacing():
    """\\frac entries in an array are set in text style and touch the next row unless the rows are
    spaced: every matrix holding a fraction is rendered with a larger \\arraystretch."""
    fam = get_family("conv1d-recover-filter")
    found = 0
    for seed in range(200):
        v = draw(fam, seed)
        stages = fam.context(thaw(v.params), thaw(v.answers))["stages"]
        if not any(Fraction(x).denominator > 1 for s in stages for row in s["matrix"] for x in row):
            continue
        found += 1
        solution = render_fragment(v, "solution")
        for display in re.findall(r"\\\[(.*?)\\\]", solution, flags=re.S):
            if "\\frac" in display and "\\begin{array}" in display:
                assert "\\arraystretch" in display, display
        if found >= 5:
            break
    assert found >= 5


@pytest.mark.pdf
def test_recover_filter_largest_accepted_system_compiles_and_fits(tmp_path):
    # 4 taps, 5 equations, pivots of 3 and fractions with two-digit parts
    params = {"signal": [3, -7, 5, 2, -3, 9, 4, -5], "filter": [-3, 2, -4, 3]}
    v = draw("conv1d-recover-filter", 0, params)
    assert list(v.answers["filter"]) == [-3, 2, -4, 3]
    assert_compiles_without_overflow(tmp_path, "conv1d-recover-filter", params)


# --- conv1d-forward ------------------------------------------------------------------------------------


def test_conv1d_forward_rejects_trivial_variants():
    for seed in SEEDS:
        v = draw("conv1d-forward", seed)
        assert len(set(v.params["filter"])) > 1, (seed, v.params)
        assert len(set(v.answers["output"])) > 1, (seed, v.answers)
    with pytest.raises(InputError, match="degenerate.*equal taps"):
        draw("conv1d-forward", 0, {"signal": [1, 2, 3, 4, 5], "filter": [2, 2], "stride": 1, "padding": 0})
    with pytest.raises(InputError, match="degenerate.*every output entry is"):
        draw("conv1d-forward", 0, {"signal": [1, 1, 1, 1, 1], "filter": [1, -1], "stride": 1, "padding": 0})


def test_conv1d_forward_caps_the_sizes_so_each_line_fits():
    with pytest.raises(InputError, match=r"params\.filter: expected a list of 1 to 5 integers"):
        draw("conv1d-forward", 0, {"signal": list(range(1, 13)), "filter": [1, 2, 3, 4, 5, 6], "stride": 1, "padding": 0})
    with pytest.raises(InputError, match=r"params\.signal: expected a list of 2 to 12 integers"):
        draw("conv1d-forward", 0, {"signal": list(range(1, 17)), "filter": [1, 2], "stride": 1, "padding": 0})


def test_conv1d_forward_says_when_the_last_entries_are_skipped():
    """Stride 2 over 6 entries with a 3-tap filter: the last entry is never under the filter; the
    solution says so (the floor in the formula), and says nothing of the kind when all are used."""
    skipped = draw("conv1d-forward", 0, {"signal": [3, -2, 1, -3, -2, 3], "filter": [-1, 1, -2], "stride": 2, "padding": 0})
    assert "never reaches" in render_fragment(skipped, "solution")
    every = draw("conv1d-forward", 0, {"signal": [3, -2, 1, -3, -2], "filter": [-1, 1, -2], "stride": 1, "padding": 0})
    assert "never reaches" not in render_fragment(every, "solution")
    # with stride 2 every entry is reached only when 2 divides n + 2p - k: then rounding up gives the
    # right length too, and the draw is refused (issue 16)
    with pytest.raises(InputError, match="degenerate.*rounding .* up instead of down"):
        draw("conv1d-forward", 0, {"signal": [3, -2, 1, -3, -2], "filter": [-1, 1, -2], "stride": 2, "padding": 0})


@pytest.mark.pdf
def test_conv1d_forward_largest_accepted_shape_compiles_and_fits(tmp_path):
    params = {"signal": [-99, 98, -97, 96, -95, 94, -93, 92, -91, 90, -89, 88],
              "filter": [-99, 98, -97, 96, -95], "stride": 1, "padding": 4}
    assert_compiles_without_overflow(tmp_path, "conv1d-forward", params)
