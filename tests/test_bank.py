"""Bank items and blueprints: validation of good and bad files, with file, line and field in every error."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import ROOT
from qbank.bank import Bank, load_bank, load_items
from qbank.blueprint import load_blueprint
from qbank.errors import InputError

GOOD = """\
- id: why-conv
  title: Why convolutions for images
  topic: cnn
  tags: [conceptual, convolution]
  difficulty: 1
  points: 4
  kind: short-answer
  question: Give two reasons.
  solution: Locality and weight sharing.
- id: which-layer
  title: Which layer shares weights over space
  topic: cnn
  tags: [conceptual]
  difficulty: 1
  points: 2
  kind: multiple-choice
  question: Which layer shares its weights across positions?
  choices:
    - {text: Convolutional, correct: true}
    - {text: Fully connected, correct: false}
    - {text: Softmax, correct: false}
    - {text: Dropout, correct: false}
  solution: The convolution slides one filter over every position.
- id: bias-table
  title: Inductive biases
  topic: cnn
  tags: [conceptual]
  difficulty: 2
  points: 6
  kind: fill-table
  question: Fill in the table.
  table:
    columns: [Block, Interactions]
    rows:
      - [Dense, {answer: all-to-all}]
      - [Convolutional, {answer: local}]
  solution: Dense layers connect everything.
- id: strided-conv
  title: A strided convolution
  tags: [convolution]
  difficulty: 1
  points: 6
  family: conv1d-forward
  ranges: {stride: [2, 2]}
  params: {padding: 0}
- id: parts-item
  title: Two parts
  topic: cnn
  tags: [conceptual]
  difficulty: 2
  kind: short-answer
  parts:
    - {points: 2, question: "First part", solution: One.}
    - {points: 3, question: "Second part", solution: Two.}
"""


def write(tmp_path, text, name="cnn.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_items_load(tmp_path):
    items = {item.id: item for item in load_items(write(tmp_path, GOOD))}
    assert set(items) == {"why-conv", "which-layer", "bias-table", "strided-conv", "parts-item"}
    assert items["strided-conv"].topic == "cnn" and items["strided-conv"].family == "conv1d-forward"
    assert items["parts-item"].points == 5 and items["parts-item"].part_points == (2, 3)
    assert [c.correct for c in items["which-layer"].choices] == [True, False, False, False]
    assert items["bias-table"].rows[0][1] == {"answer": "all-to-all"}


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("family: conv1d-forward", "family: conv1d-forwad", r"line 43: item 'strided-conv': family: unknown family 'conv1d-forwad'; did you mean 'conv1d-forward'"),
        ("ranges: {stride: [2, 2]}", "ranges: {stride: [3, 1]}", r"line 44: item 'strided-conv': ranges.stride: expected \[lo, hi\] with lo <= hi"),
        ("ranges: {stride: [2, 2]}", "ranges: {signal: [1, 2]}", r"line 44: item 'strided-conv': ranges.signal: ranges apply to numeric parameters"),
        ("ranges: {stride: [2, 2]}", "ranges: {strides: [1, 2]}", r"item 'strided-conv': ranges.strides: conv1d-forward has no parameter 'strides'"),
        ("ranges: {stride: [2, 2]}", "ranges: {stride: [9, 9]}", r"item 'strided-conv': family: no verified variant with these params and ranges"),
        ("  solution: Locality and weight sharing.\n", "", r"line 1: item 'why-conv': missing field `solution`"),
        ("id: which-layer", "id: why-conv", r"line 10: id: duplicate id 'why-conv' \(first defined at .*cnn.yaml: line 1\)"),
        ("{text: Fully connected, correct: false}", "{text: Fully connected, correct: true}", r"line 18: item 'which-layer': choices: expected exactly one correct choice, found 2"),
        ("      - [Convolutional, {answer: local}]", "      - [Convolutional]", r"line 36: item 'bias-table': table.rows\[1\]: expected a row of 2 cells"),
        ("  topic: cnn\n  tags: [conceptual, convolution]", "  topic: rnn\n  tags: [conceptual, convolution]", r"line 3: item 'why-conv': topic: expected the file's topic 'cnn'"),
        ("  difficulty: 1\n  points: 4", "  difficulty: 7\n  points: 4", r"line 5: item 'why-conv': difficulty: expected an integer from 1 to 5, got 7"),
        ("kind: fill-table", "kind: essay", r"item 'bias-table': kind: expected one of short-answer, multiple-choice, fill-table, got 'essay'"),
    ],
)
def test_bad_items_name_file_line_field(tmp_path, old, new, expected):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError, match=expected) as info:
        load_bank([path])
    assert str(info.value).startswith(str(path))


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "- id: x\n  title: [unclosed\n")
    with pytest.raises(InputError, match=r"cnn.yaml: line \d+: invalid YAML"):
        load_items(path)


def test_the_shipped_bank_is_valid_and_large_enough():
    bank = load_bank()
    conceptual = [i for i in bank.items.values() if not i.parameterized]
    assert len(conceptual) >= 12
    kinds = {i.kind for i in conceptual}
    assert kinds == {"short-answer", "multiple-choice", "fill-table"}
    table = [i for i in conceptual if i.kind == "fill-table"]
    assert any("Convolutional" in str(i.rows) for i in table), "the inductive-bias table is a fill-table"


BLUEPRINT = """\
course: Test course
title: Test exam
options: {shuffle: true, layout: page-per-question}
sections:
  - title: Part A
    slots:
      - item: why-conv
      - from: {topic: cnn, tags: [conceptual]}
        choose: 2
        points: 3
      - family: conv1d-forward
        points: 5
"""


def test_blueprint_loads_slots_and_pools(tmp_path):
    bank = Bank({i.id: i for i in load_items(write(tmp_path, GOOD))})
    bp = load_blueprint(write(tmp_path, BLUEPRINT, "exam.yaml"), bank)
    slots = bp.sections[0].slots
    assert [s.label for s in slots] == ["s1.1", "s1.2", "s1.3"]
    assert {i.id for i in slots[1].pool} == {"why-conv", "which-layer", "bias-table", "parts-item"}
    assert bp.question_count == 4 and bp.layout == "page-per-question" and bp.sections[0].shuffle


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("item: why-conv", "item: why-conf", r"line 7: sections\[0\].slots\[0\].item: unknown bank item 'why-conf'; did you mean 'why-conv'"),
        ("choose: 2", "choose: 9", r"line 9: sections\[0\].slots\[1\].choose: the pool holds 4 item\(s\), fewer than choose: 9"),
        ("layout: page-per-question", "layout: sideways", r"line 3: options.layout: expected one of page-per-question, compact"),
        ("      - family: conv1d-forward\n        points: 5\n", "      - family: conv1d-forward\n", r"line 11: sections\[0\].slots\[2\].points: missing: a family slot needs points"),
        ("from: {topic: cnn, tags: [conceptual]}", "from: {topic: vision}", r"line 8: sections\[0\].slots\[1\].from.topic: no bank item has topic 'vision'"),
        ("title: Test exam", "titel: Test exam", r"line 2: titel: unknown field"),
    ],
)
def test_bad_blueprints_name_file_line_field(tmp_path, old, new, expected):
    bank = Bank({i.id: i for i in load_items(write(tmp_path, GOOD))})
    path = write(tmp_path, BLUEPRINT.replace(old, new, 1), "exam.yaml")
    with pytest.raises(InputError, match=expected):
        load_blueprint(path, bank)


@pytest.mark.parametrize("name", ["demo", "midterm", "quiz-backprop"])
def test_shipped_blueprints_plan_five_unique_versions(name):
    from qbank.exam import plan_exam

    bp = load_blueprint(ROOT / "bank" / "exams" / f"{name}.yaml")
    manifest = plan_exam(bp, 5, b"a-secret-for-tests")
    assert all(len(v["questions"]) == bp.question_count for v in manifest["versions"])
    drawn = [json.dumps(q.get("params"), sort_keys=True) for v in manifest["versions"] for q in v["questions"] if "params" in q]
    assert len(drawn) == len(set(drawn))
