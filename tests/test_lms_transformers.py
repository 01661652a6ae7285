"""The LMS exports of softmax-cross-entropy, attention-forward, attention-backward, mlp-backprop and rnn-bptt:
every number is a numeric field (Moodle cloze NUMERICAL, Canvas numerical_question) that grades the verified value from the manifest and
refuses one just outside its tolerance, fields are named as the problem reads ("(b) A, query 2, key 1"), the
exact dL/dA is graded exactly, and the multiple-choice items about attention are one multichoice each."""

from __future__ import annotations

from decimal import Decimal

import pytest

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml reads the exports (pip install -e '.[test]')")

from lms_exports import both_exports, card_tolerance, perturbed, verified  # noqa: E402
from test_lms_canvas import items, metadata, score  # noqa: E402
from test_lms_moodle import numeric_grade, parse_fields, questions  # noqa: E402

BLUEPRINT = """\
course: Test course
title: "Losses and attention"
duration: 90 minutes
instructions: Test.
options:
  layout: compact
sections:
  - title: Losses and attention
    slots:
      - family: softmax-cross-entropy
        points: 5
      - item: causal-self-attention
      - item: attention-backward-two-queries
      - item: attention-scaling-why
  - title: Two families the broad export leaves out (they ask what two of its families ask)
    slots:
      - item: mlp-backprop-mixed-activation
      - family: rnn-bptt
        points: 14
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return both_exports(tmp_path_factory.mktemp("lms-transformers"), BLUEPRINT)


def test_moodle_grades_every_number_of_the_five_families(exports):
    root, manifest = exports["moodle"], exports["moodle_manifest"]
    names = {q.find("name/text").text: q for q in questions(root)}
    counted: dict[str, int] = {}
    for record in manifest["lms"]["questions"]:
        if record["type"] == "multichoice":
            counted["multichoice"] = counted.get("multichoice", 0) + 1
            continue
        assert record["type"] == "cloze", record
        text = names[record["name"]].find("questiontext/text").text
        fields = parse_fields(text)
        assert len(fields) == len(record["fields"]), record["name"]
        for field, rec in zip(fields, record["fields"]):
            assert field["type"] == "NUMERICAL", rec
            truth = verified(manifest, record, rec["key"])
            tol = card_tolerance(manifest, record, rec["key"], truth)
            assert numeric_grade(field, truth) == 100 and numeric_grade(field, perturbed(truth, tol)) == 0, rec["key"]
            if rec["key"].startswith("dweights."):
                assert tol == 0  # dO V^T is asked exactly
            family = record["item"]
            counted[family] = counted.get(family, 0) + 1
    assert counted["multichoice"] == 3
    assert all(n > 0 for n in counted.values()) and len(counted) == 6, counted


def test_canvas_grades_every_number_as_a_numerical_question(exports):
    root, manifest = exports["canvas"], exports["canvas_manifest"]
    records = {r["ident"]: r for r in manifest["lms"]["questions"]}
    kinds: dict[str, int] = {}
    for item in items(root):
        record = records[item.get("ident")]
        kind = metadata(item)["question_type"]
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind != "numerical_question":
            assert kind == "multiple_choice_question", kind
            continue
        (field,) = record["fields"]
        truth = verified(manifest, record, field["key"])
        scale = Decimal(10) ** record["scale"]
        assert score(item, str(Decimal(repr(float(truth))) * scale)) == 100, field["key"]
    assert kinds["numerical_question"] > 3 * (3 + 9 + 9 + 4) and kinds["multiple_choice_question"] == 3


@pytest.mark.parametrize("family, seed, expected", [
    ("softmax-cross-entropy", 1, ["p, class 1", "L", "dL/dz, class 2"]),
    ("attention-forward", 8, ["S, query 3, key 2", "A, query 2, key 1", "O, query 1, column 1"]),
    ("attention-backward", 4, ["A, query 1, key 2", "dL/dV, key 2, column 1", "dL/dA, query 1, key 2",
                               "dL/dS, query 2, key 1", "dL/dQ, query 1, column 3", "dL/dK, key 2, column 2"]),
])
def test_fields_are_named_as_the_problems_read_them(family, seed, expected):
    """The writers put the part's letter before these ("(b) A, query 2, key 1")."""
    from qbank import draw, get_family
    from qbank.engine import part_specs
    from qbank.lms.fields import graded_parts
    from qbank.model import thaw

    fam = get_family(family)
    variant = draw(fam, seed)
    specs = part_specs(fam, variant.params)
    parts = graded_parts(fam.answers, thaw(variant.answers), [list(s.answers) for s in specs])
    labels = {field.label for part in parts for field in part or []}
    assert set(expected) <= labels, sorted(labels)[:12]
