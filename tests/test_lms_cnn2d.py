"""The LMS exports of conv2d-forward, pool2d and cnn-bookkeeping: conv2d-forward's output, a 3-D tensor whose
shape part (a) asks, is one text field in Moodle (SHORTANSWER) and Canvas (short_answer_question) that accepts
the channels apart by "|" (rows by ";", entries by commas, or nested brackets) and shows no size; every other
number of the three families is a numeric field that grades the verified value from the manifest."""

from __future__ import annotations

import re

import pytest

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml reads the exports (pip install -e '.[test]')")

from lms_exports import both_exports, card_tolerance, perturbed, verified  # noqa: E402
from test_lms_canvas import QTI, items, metadata, score  # noqa: E402
from test_lms_moodle import box_width, numeric_grade, parse_fields, questions  # noqa: E402

BLUEPRINT = """\
course: Test course
title: "2-D convolutions"
duration: 60 minutes
instructions: Test.
options:
  layout: compact
sections:
  - title: CNN
    slots:
      - family: conv2d-forward
        points: 8
        structure: {input: [1, 3, 3], filters: [2, 1, 2, 2], stride: 1, padding: 0}
      - family: pool2d
        points: 6
        structure: {kind: avg}
      - family: cnn-bookkeeping
        points: 10
"""


def typed(tensor, entry=", ", row="; ", channel=" | ") -> str:
    """A 3-D answer as a student types it in the documented form."""
    return channel.join(row.join(entry.join(str(v) for v in r) for r in m) for m in tensor)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    return both_exports(tmp_path_factory.mktemp("lms-cnn2d"), BLUEPRINT)


def test_moodle_takes_the_output_tensor_in_one_box_and_grades_every_number(exports):
    root, manifest = exports["moodle"], exports["moodle_manifest"]
    names = {q.find("name/text").text: q for q in questions(root)}
    seen = {"list": 0, "number": 0}
    for record in manifest["lms"]["questions"]:
        if record["type"] != "cloze":
            continue
        text = names[record["name"]].find("questiontext/text").text
        fields = parse_fields(text)
        assert len(fields) == len(record["fields"]), record["name"]
        for field, rec in zip(fields, record["fields"]):
            truth = verified(manifest, record, rec["key"])
            if rec["kind"] == "list":
                assert rec["key"] == "output" and field["type"] == "SHORTANSWER"
                assert len(truth) == 2 and isinstance(truth[0][0], list)  # two channels of rows
                accepted = {a["answer"] for a in field["alternatives"] if a["fraction"] == 100}
                for form in (typed(truth), typed(truth, ",", ";", "|"), typed(truth, " ", "; ", " | "), f"[{typed(truth)}]",
                             str(truth), str(truth).replace(" ", "")):
                    assert form in accepted, (record["name"], form)
                assert typed(truth[:1]) not in accepted and f"{typed(truth)}, 0" not in accepted
                assert typed([*truth, truth[0]]) not in accepted
                assert box_width(field) == 60, "the box shows the size"
                assert "the channels in order, separated by |" in text and "8 entries" not in text
                seen["list"] += 1
            else:
                assert field["type"] == "NUMERICAL", rec
                tol = card_tolerance(manifest, record, rec["key"], truth)
                assert numeric_grade(field, truth) == 100 and numeric_grade(field, perturbed(truth, tol)) == 0, rec["key"]
                seen["number"] += 1
    assert seen["list"] == 3  # one per variant
    # per variant: 3 shape entries and the count; a 2 x 2 (or larger) output and the input's gradient of pooling;
    # every per-layer number of the bookkeeping
    assert seen["number"] >= 3 * (4 + 4 + 9 + 3 * 4 + 1)


def test_canvas_grades_the_output_tensor_as_text_and_every_other_number(exports):
    root, manifest = exports["canvas"], exports["canvas_manifest"]
    records = {r["ident"]: r for r in manifest["lms"]["questions"]}
    kinds = {"short_answer_question": 0, "numerical_question": 0}
    for item in items(root):
        record = records[item.get("ident")]
        kind = metadata(item)["question_type"]
        (field,) = record["fields"]
        truth = verified(manifest, record, field["key"])
        if kind == "short_answer_question":
            assert field["key"] == "output" and field["kind"] == "list"
            for form in (typed(truth), typed(truth, ",", ";", "|"), str(truth)):
                assert score(item, form) == 100, form
            assert score(item, typed(truth[:1])) == 0 and score(item, typed(truth).rsplit(",", 1)[0]) == 0
            shown = item.find(f".//{QTI}mattext").text
            assert "separated by |" in shown and "8 entr" not in shown, "the item tells the form, not the size"
        else:
            assert kind == "numerical_question", (kind, field["key"])
            from decimal import Decimal

            scale = Decimal(10) ** record["scale"]
            assert score(item, str(Decimal(repr(float(truth))) * scale)) == 100, field["key"]
        kinds[kind] += 1
    assert kinds["short_answer_question"] == 3 and kinds["numerical_question"] > 0


def test_the_list_texts_of_a_tensor():
    from qbank.family import Answer
    from qbank.lms.fields import answer_fields
    from qbank.precision import exact

    answer = Answer("matrix", "a tensor", precision=exact(whole=True), label="Y", size_asked=True)
    (field,) = answer_fields("output", answer, [[[1, -2], [3, 4]], [[0, 5], [-6, 7]]], {})
    texts = [o.text for o in field.options]
    assert texts[0] == field.value == "1, -2; 3, 4 | 0, 5; -6, 7"
    assert "1,-2;3,4|0,5;-6,7" in texts and "1 -2; 3 4 | 0 5; -6 7" in texts and "[1, -2; 3, 4 | 0, 5; -6, 7]" in texts
    assert "[[[1, -2], [3, 4]], [[0, 5], [-6, 7]]]" in texts and "[[[1,-2],[3,4]],[[0,5],[-6,7]]]" in texts
    assert field.kind == "list" and "|" in field.hint and not re.search(r"\d", field.hint)
    # vectors and matrices as before
    (vector,) = answer_fields("output", answer, [3, -1, 4], {})
    (matrix,) = answer_fields("output", answer, [[1, 2], [3, 4]], {})
    assert vector.value == "3, -1, 4" and matrix.value == "1, 2; 3, 4" and "|" not in matrix.hint
    # a list of matrices of different sizes is no tensor: a field per number
    ragged = answer_fields("output", answer, [[[1, 2], [3, 4]], [[5, 6, 7]]], {})
    assert [f.kind for f in ragged] == ["number"] * 7
