"""The engine's contract: registry, seeding, pinning, verification, determinism, clear errors."""

from __future__ import annotations

import json

import pytest

import qbank
from qbank import FamilyError, GenerationError, InputError, VerificationError, draw
from qbank.documents import Header, problem_and_solution, variant_question
from qbank.family import REGISTRY, Answer, Family, register
from qbank.model import Variant
from qbank.params import load_params

EXPECTED_FAMILIES = {
    "conv1d-forward",
    "conv1d-recover-filter",
    "transpose-conv2d",
    "beam-search",
    "scalar-rnn-backprop",
}


def test_registry_holds_the_first_five_families():
    ids = {f.id for f in qbank.all_families()}
    assert EXPECTED_FAMILIES <= ids
    for fam in qbank.all_families():
        assert fam.title and fam.topic and fam.answers


def test_unknown_family_suggests_the_closest_id():
    with pytest.raises(FamilyError, match=r"unknown family 'conv1d-forwrd'; did you mean 'conv1d-forward'"):
        qbank.get_family("conv1d-forwrd")


@pytest.mark.parametrize("family", sorted(EXPECTED_FAMILIES))
def test_same_seed_same_variant_and_tex(family):
    a, b = draw(family, 11), draw(family, 11)
    assert a == b
    docs_a = problem_and_solution([variant_question(a)], Header(title="t"))
    docs_b = problem_and_solution([variant_question(b)], Header(title="t"))
    assert [d.tex for d in docs_a] == [d.tex for d in docs_b]


@pytest.mark.parametrize("family", sorted(EXPECTED_FAMILIES))
def test_seeds_give_different_variants(family):
    params = {json.dumps(draw(family, seed).to_dict()["params"], sort_keys=True) for seed in range(8)}
    assert len(params) >= 6


@pytest.mark.parametrize("family", sorted(EXPECTED_FAMILIES))
def test_variant_is_frozen_and_json(family):
    variant = draw(family, 5)
    data = json.loads(variant.to_json())
    assert set(data) == {"family", "seed", "params", "answers"}
    assert data["family"] == family and data["seed"] == 5
    with pytest.raises(Exception):
        variant.seed = 6  # type: ignore[misc]
    with pytest.raises(TypeError):
        variant.params["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize("family", sorted(EXPECTED_FAMILIES))
def test_pinning_every_param_reproduces_the_variant(family):
    variant = draw(family, 3)
    pinned = variant.to_dict()["params"]
    again = draw(family, 999, pinned)
    assert again.to_dict()["params"] == pinned
    assert again.to_dict()["answers"] == variant.to_dict()["answers"]


def test_partial_pin_keeps_the_other_random_choices():
    free = draw("conv1d-forward", 21).to_dict()["params"]
    pinned = draw("conv1d-forward", 21, {"stride": 1, "padding": 0}).to_dict()["params"]
    assert pinned["stride"] == 1 and pinned["padding"] == 0
    assert pinned["signal"] == free["signal"] and pinned["filter"] == free["filter"]


def test_unknown_pinned_field_is_named():
    with pytest.raises(InputError, match=r"unknown field stide .*conv1d-forward.*stride"):
        draw("conv1d-forward", 0, {"stide": 2})


def test_bad_pinned_value_names_field_and_expectation():
    with pytest.raises(InputError, match=r"params\.signal\[1\]: expected an integer.*got \"x\""):
        draw("conv1d-forward", 0, {"signal": [1, "x", 3, 4, 5]})


def test_drawn_field_that_does_not_fit_the_pinned_ones_is_explained():
    # a 2-entry signal cannot take the drawn filter of length 2-3 with a 5+ entry window
    with pytest.raises(InputError, match=r"pin `filter` too|params\.(filter|padding|stride)"):
        draw("conv1d-forward", 0, {"signal": [1, 2]})


def test_fully_pinned_degenerate_problem_is_refused():
    with pytest.raises(InputError, match="degenerate.*singular"):
        draw("conv1d-recover-filter", 0, {"signal": [1, 1, 1, 1, 1], "filter": [1, 2, 3]})


def test_negative_seed_is_refused():
    with pytest.raises(InputError, match="seed"):
        draw("conv1d-forward", -1)


class _Broken(Family):
    id = "test-broken-check"
    title = "A family whose check always fails"
    topic = "test"
    answers = {"x": Answer("integer", "x")}

    def sample(self, rng):
        return {"a": int(rng.integers(0, 5))}

    def solve(self, params):
        return {"x": params["a"]}

    def check(self, params, answers):
        assert answers["x"] == params["a"] + 1, "x is off by one"


class _AlwaysDegenerate(_Broken):
    id = "test-always-degenerate"
    max_tries = 7

    def degenerate(self, params):
        return "every draw is degenerate"


@pytest.fixture
def temporary_families():
    yield
    for key in ("test-broken-check", "test-always-degenerate"):
        REGISTRY.pop(key, None)


def test_failed_check_never_yields_a_variant(temporary_families):
    register(_Broken)
    with pytest.raises(VerificationError, match=r"test-broken-check \(seed 4\).*x is off by one"):
        draw("test-broken-check", 4)


def test_retry_budget_ends_in_a_clear_error(temporary_families):
    register(_AlwaysDegenerate)
    with pytest.raises(GenerationError, match=r"test-always-degenerate \(seed 0\): no usable variant after 7 draws"):
        draw("test-always-degenerate", 0)


def test_registration_validates_the_card():
    class NoTitle(_Broken):
        id = "test-no-title"
        title = ""

    with pytest.raises(FamilyError, match="non-empty `title`"):
        register(NoTitle)

    class BadId(_Broken):
        id = "Bad_Id"

    with pytest.raises(FamilyError, match="lower-case words"):
        register(BadId)
    assert "test-no-title" not in REGISTRY and "Bad_Id" not in REGISTRY


def test_variant_refuses_non_json_values():
    import numpy as np

    with pytest.raises(TypeError, match=r"f\.params\.a as numpy\.int64, which is not plain JSON data"):
        Variant("f", 0, {"a": np.int64(3)}, {})


def test_load_params_inline_and_files(tmp_path):
    assert load_params('{"stride": 2}') == {"stride": 2}
    (tmp_path / "p.yaml").write_text("stride: 2\nsignal: [1, 2, 3]\n")
    assert load_params(str(tmp_path / "p.yaml")) == {"stride": 2, "signal": [1, 2, 3]}
    (tmp_path / "p.json").write_text('{"padding": 1}')
    assert load_params(str(tmp_path / "p.json")) == {"padding": 1}
    (tmp_path / "bad.yaml").write_text("stride: 2\n  signal: [1\n")
    with pytest.raises(InputError, match=r"bad\.yaml: line \d+: invalid YAML"):
        load_params(str(tmp_path / "bad.yaml"))
    with pytest.raises(InputError, match="invalid inline JSON"):
        load_params("{stride: 2")
    with pytest.raises(InputError, match="neither inline JSON"):
        load_params("nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match="expected a mapping"):
        load_params(str(tmp_path / "list.yaml"))


def test_no_answer_is_called_verified_under_python_O():
    """python -O removes assert statements, of which families' checks are made: qbank refuses to draw then
    rather than hand out answers no check has seen."""
    import subprocess
    import sys

    code = "from qbank import draw\ndraw('softmax-cross-entropy', 1)\n"
    done = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "cannot verify answers under python -O" in done.stderr
