"""pool2d: max and average pooling forward and backward, worked by hand; properties over many seeds; one test per
listed mistake and per refusal; the card and the pins."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import command_arguments
from qbank import InputError, draw, get_family
from qbank.engine import rng_for
from qbank.grading import part_statement
from qbank.model import thaw
from qbank.precision import exact
from qbank.render import render_fragments

FAMILY = "pool2d"
SEEDS = st.integers(min_value=0, max_value=2**32)
PROPERTY = settings(max_examples=80, deadline=None)

# Max pooling, 2 x 2 windows, stride 1 on 3 x 3: windows overlap.
#   (1,1) [1 5; 4 3] -> 5 at (1,2);  (1,2) [5 2; 3 0] -> 5 at (1,2);  (2,1) [4 3; 6 -1] -> 6 at (3,1);
#   (2,2) [3 0; -1 7] -> 7 at (3,3).  Y = [5 5; 6 7].
#   G = [1 -2; 3 2]: X_12 is the maximum of two windows and collects 1 + (-2) = -1; X_31 gets 3, X_33 gets 2.
MAX_OVERLAP = {"input": [[1, 5, 2], [4, 3, 0], [6, -1, 7]], "kind": "max", "size": 2, "stride": 1,
               "upstream": [[1, -2], [3, 2]]}
# Average pooling, 2 x 2 windows, stride 2 on 4 x 4 (no overlap): Y = [(1+2+5+6)/4, (3+4+7+8)/4; (0+1+2+3)/4,
# (0+1+2+2)/4] = [3.5 5.5; 1.5 1.25]; each entry of window (i, j) gets G_ij / 4.
AVG_TILED = {"input": [[1, 2, 3, 4], [5, 6, 7, 8], [0, 1, 0, 1], [2, 3, 2, 2]], "kind": "avg", "size": 2, "stride": 2,
             "upstream": [[4, -2], [1, 2]]}
# Average pooling, 3 x 3 windows, stride 1 on 3 x 4: two windows, sums 12 and 13: Y = [4/3 13/9]; G = [1 2]:
# column 1 is in window 1 only (1/9), columns 2 and 3 in both (3/9 = 1/3), column 4 in window 2 only (2/9).
AVG_NINTHS = {"input": [[1, 2, 0, 1], [3, 1, 1, 0], [0, 2, 2, 4]], "kind": "avg", "size": 3, "stride": 1,
              "upstream": [[1, 2]]}


def drawn(seeds=range(300)):
    return [draw(FAMILY, seed) for seed in seeds]


def test_max_pooling_with_overlapping_windows_by_hand():
    v = draw(FAMILY, 0, MAX_OVERLAP)
    assert thaw(v.answers) == {"output": [[5, 5], [6, 7]], "grad_input": [[0, -1, 0], [0, 0, 0], [3, 0, 2]]}


def test_average_pooling_by_hand():
    v = draw(FAMILY, 0, AVG_TILED)
    assert thaw(v.answers) == {
        "output": [[3.5, 5.5], [1.5, 1.25]],
        "grad_input": [[1, 1, -0.5, -0.5], [1, 1, -0.5, -0.5], [0.25, 0.25, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5]],
    }


def test_average_pooling_of_nine_gives_exact_fractions():
    v = draw(FAMILY, 0, AVG_NINTHS)
    a = thaw(v.answers)
    assert [Fraction(x).limit_denominator(100) for x in a["output"][0]] == [Fraction(4, 3), Fraction(13, 9)]
    assert [Fraction(x).limit_denominator(100) for x in a["grad_input"][0]] == [Fraction(1, 9), Fraction(1, 3), Fraction(1, 3), Fraction(2, 9)]
    assert a["grad_input"][0] == a["grad_input"][1] == a["grad_input"][2]
    problem, solution = render_fragments(v)
    assert "Give exact values: a fraction where the decimal does not end." in problem
    boxes = "\n".join(command_arguments(solution, "qbankanswer"))
    assert r"\frac{13}{9}" in boxes and r"\frac{2}{9}" in boxes


def test_the_solution_names_each_window_and_where_its_gradient_goes():
    _, solution = render_fragments(draw(FAMILY, 0, MAX_OVERLAP))
    assert r"maximum } X_{1,2} = 5" in solution and "receives the sum of their gradients" in solution
    assert r"1 + (-2)" in solution  # X_12 collects from two windows
    _, solution = render_fragments(draw(FAMILY, 0, AVG_TILED))
    assert r"\frac{14}{4} = 3.5" in solution and "do not overlap" not in solution


@given(SEEDS)
@PROPERTY
def test_properties_over_seeds(seed):
    v = draw(FAMILY, seed)
    p, a = thaw(v.params), thaw(v.answers)
    x, g = np.array(p["input"], dtype=float), np.array(p["upstream"], dtype=float)
    k, s = p["size"], p["stride"]
    rows, cols = (x.shape[0] - k) // s + 1, (x.shape[1] - k) // s + 1
    assert np.array(a["output"]).shape == g.shape == (rows, cols)
    grad = np.array(a["grad_input"], dtype=float)
    assert grad.shape == x.shape
    if p["kind"] == "max":
        # the gradient is where the maxima are: its total is the upstream total, its support the argmaxes
        assert grad.sum() == pytest.approx(g.sum())
        assert np.count_nonzero(grad) <= g.size
        for i in range(rows):
            for j in range(cols):
                window = x[i * s: i * s + k, j * s: j * s + k]
                assert a["output"][i][j] == window.max() and (window == window.max()).sum() == 1
    else:
        # linear: <dL/dX, X> = <G, Y> (pooling is its own adjoint's transpose), and the total is preserved
        assert float((grad * x).sum()) == pytest.approx(float((g * np.array(a["output"])).sum()))
        assert grad.sum() == pytest.approx(g.sum())
    assert all(v != 0 for row in p["upstream"] for v in row)


def test_kinds_and_shapes_are_all_drawn():
    seen = {(v.params["kind"], len(v.params["input"]), v.params["size"], v.params["stride"]) for v in drawn()}
    assert {kind for kind, *_ in seen} == {"max", "avg"}
    assert len(seen) == 2 * len(get_family(FAMILY).SHAPES)


def test_sampled_draws_are_rarely_refused():
    fam = get_family(FAMILY)
    refused = sum(fam.degenerate(fam.validate(fam.sample(rng_for(FAMILY, seed)))) is not None for seed in range(1000))
    assert refused < 150, refused  # about 9 %: overlapping maxima in no shared entry, or equal outputs


# ---------------------------------------------------------------- the card


def test_precisions_labels_and_statements():
    fam = get_family(FAMILY)
    assert {n: a.precision for n, a in fam.answers.items()} == {"output": exact(fractions=True), "grad_input": exact(fractions=True)}
    assert [fam.answers[n].label for n in ("output", "grad_input")] == ["Y", "dL/dX"]
    v = draw(FAMILY, 0, MAX_OVERLAP)
    problem, _ = render_fragments(v)
    # the same words for max pooling (whole numbers) as for average pooling (fractions): the card decides, not
    # the draw; one sentence per part
    statement = part_statement(fam, thaw(v.answers), ("output",))
    assert "a fraction where the decimal does not end" in statement and problem.count(statement) == 2
    assert statement == part_statement(fam, thaw(draw(FAMILY, 0, AVG_TILED).answers), ("grad_input",))


def test_structure_minutes_and_parts():
    fam = get_family(FAMILY)
    seen = {}
    for v in drawn():
        key = repr(fam.structure_of(v.params))
        got = (fam.minutes(v.params), [p.weight for p in fam.parts(v.params)])
        assert seen.setdefault(key, got) == got
        assert 1.5 <= got[0] <= 9
    assert fam.structure_of(draw(FAMILY, 0, MAX_OVERLAP).params) == {"input": [3, 3], "kind": "max", "size": 2, "stride": 1}
    # averaging takes longer than finding maxima on the same windows
    assert fam.minutes({**AVG_TILED, "kind": "avg"}) > fam.minutes({**AVG_TILED, "kind": "max"})


# ---------------------------------------------------------------- mistakes


def test_no_listed_mistake_reproduces_an_answer_over_many_draws():
    fam = get_family(FAMILY)
    for v in drawn(range(600)):
        params, answers = thaw(v.params), thaw(v.answers)
        for mistake, wrong_of in fam.mistakes.items():
            for name, wrong in wrong_of(params).items():
                assert not np.allclose(np.array(wrong, dtype=float), np.array(answers[name], dtype=float), atol=1e-12), \
                    (v.seed, mistake, name)


def test_every_overlapping_max_draw_has_an_entry_two_windows_send_to():
    for v in drawn(range(400)):
        p = v.params
        if p["kind"] == "max" and p["stride"] < p["size"]:
            context = get_family(FAMILY).context(thaw(p), thaw(v.answers))
            assert any(" + " in cell for row in context["received"] for cell in row), v.seed


@pytest.mark.parametrize("mistake, answer, wrong", [
    ("max pooling: passing the upstream gradient to every entry of the window", "grad_input",
     [[1, -1, -2], [4, 4, 0], [3, 5, 2]]),
    ("max pooling: splitting the upstream gradient evenly over the window", "grad_input",
     [[0.25, -0.25, -0.5], [1, 1, 0], [0.75, 1.25, 0.5]]),
    ("overwriting instead of adding where windows overlap", "grad_input", [[0, -2, 0], [0, 0, 0], [3, 0, 2]]),
])
def test_max_pooling_mistakes_by_hand(mistake, answer, wrong):
    fam = get_family(FAMILY)
    assert fam.mistakes[mistake](MAX_OVERLAP) == {answer: wrong}
    for avg_only in ("average pooling: passing the whole upstream gradient to every entry (no division)",
                     "average pooling: dividing by k instead of k * k", "average pooling: summing the window instead of averaging"):
        assert fam.mistakes[avg_only](MAX_OVERLAP) == {}


def test_average_pooling_mistakes_by_hand():
    fam = get_family(FAMILY)
    m = fam.mistakes
    assert m["average pooling: summing the window instead of averaging"](AVG_TILED) == {"output": [[14, 22], [6, 5]]}
    assert m["average pooling: dividing by k instead of k * k"](AVG_TILED)["output"] == [[7, 11], [3, 2.5]]
    assert m["average pooling: passing the whole upstream gradient to every entry (no division)"](AVG_TILED)["grad_input"][0] == [4, 4, -2, -2]
    assert m["overwriting instead of adding where windows overlap"](AVG_TILED) == {}  # no overlap: nothing to overwrite
    assert m["max pooling: passing the upstream gradient to every entry of the window"](AVG_TILED) == {}


@pytest.mark.parametrize("params, reason", [
    # the four maxima sit in the four corners, one per window: overwriting instead of adding gives the right
    # gradient
    ({**MAX_OVERLAP, "input": [[9, 1, 8], [2, 0, 3], [7, 4, 6]]}, "overwriting instead of adding"),
    # a tie in window (1,1)
    ({**MAX_OVERLAP, "input": [[5, 5, 2], [4, 3, 0], [6, -1, 7]]}, "has its maximum 5 twice"),
    ({**MAX_OVERLAP, "upstream": [[1, 0], [3, 2]]}, "upstream gradient of output entry (1, 2) is 0"),
    ({**AVG_TILED, "input": [[1] * 4] * 4}, "every output entry is 1"),
])
def test_degenerate_pins_are_refused_with_the_reason(params, reason):
    with pytest.raises(InputError, match=re.escape(reason)):
        draw(FAMILY, 0, params)


@pytest.mark.parametrize("change, field", [
    ({"kind": "min"}, "params.kind"),
    ({"size": 4}, "params.size"),  # larger than the input
    ({"stride": 3}, "params.stride"),  # larger than the window
    ({"upstream": [[1, 2, 3], [1, 2, 3]]}, "params.upstream"),  # one per output entry: 2 x 2
    ({"input": [[1, 2, 3], [4, 5]]}, "params.input"),
])
def test_bad_pins_name_their_field(change, field):
    with pytest.raises(InputError, match=re.escape(field)):
        draw(FAMILY, 0, {**MAX_OVERLAP, **change})
