"""Exams: unique versions, balanced choices, secret-keyed seeds, keys, rebuilds, rosters, practice sets."""

from __future__ import annotations

import csv
import json
import subprocess
from collections import Counter

import pytest

from conftest import ROOT, pdf_text, run_qbank, squash
from qbank.bank import Bank, load_items
from qbank.blueprint import load_blueprint
from qbank.exam import answer_keys, plan_exam
from qbank.keys import question_seed, version_code

from test_bank import GOOD, write
from test_pdf import FAMILIES, answer_snippets

BLUEPRINT = """\
title: Test exam
sections:
  - title: Convolutions
    slots:
      - family: conv1d-forward
        points: 4
      - family: transpose-conv2d
        points: 6
      - item: which-layer
  - title: Decoding
    shuffle: true
    slots:
      - family: beam-search
        points: 8
      - from: {topic: cnn, tags: [conceptual]}
        choose: 2
        points: 2
"""


@pytest.fixture
def blueprint(tmp_path):
    bank = Bank({i.id: i for i in load_items(write(tmp_path, GOOD))})
    return load_blueprint(write(tmp_path, BLUEPRINT, "exam.yaml"), bank)


def test_no_two_versions_share_a_parameterized_question(blueprint):
    manifest = plan_exam(blueprint, 40, b"secret-one-two-three")
    by_item: dict[str, list[str]] = {}
    for record in manifest["versions"]:
        for q in record["questions"]:
            if q["item"].get("family"):
                by_item.setdefault(q["item"]["id"], []).append(json.dumps(q["params"], sort_keys=True))
    assert set(by_item) == {"conv1d-forward", "transpose-conv2d", "beam-search"}
    for item, params in by_item.items():
        assert len(params) == 40 and len(set(params)) == 40, f"{item} repeats across versions"


def test_correct_choice_positions_are_balanced_over_versions(blueprint):
    manifest = plan_exam(blueprint, 12, b"secret-one-two-three")
    letters = Counter(
        q["correct"] for r in manifest["versions"] for q in r["questions"] if q["item"]["id"] == "which-layer"
    )
    assert letters == {"A": 3, "B": 3, "C": 3, "D": 3}
    for record in manifest["versions"]:
        for q in record["questions"]:
            if q["item"]["id"] == "which-layer":
                correct_index = q["choice_order"]["ABCD".index(q["correct"])]
                assert q["item"]["choices"][correct_index]["correct"]


def test_pools_never_repeat_an_item_within_a_version(blueprint):
    for record in plan_exam(blueprint, 10, b"secret-one-two-three")["versions"]:
        ids = [q["item"]["id"] for q in record["questions"]]
        assert len(ids) == len(set(ids)) == blueprint.question_count
        assert [q["number"] for q in record["questions"]] == list(range(1, len(ids) + 1))


def test_the_secret_changes_every_version(blueprint):
    a = plan_exam(blueprint, 5, b"secret-number-one")
    b = plan_exam(blueprint, 5, b"secret-number-two")
    again = plan_exam(blueprint, 5, b"secret-number-one")
    assert a["versions"] == again["versions"]  # same secret, same exam
    for va, vb in zip(a["versions"], b["versions"]):
        assert va["code"] != vb["code"]
        seeds_a = [q.get("seed") for q in va["questions"] if "seed" in q]
        seeds_b = [q.get("seed") for q in vb["questions"] if "seed" in q]
        assert all(x != y for x, y in zip(seeds_a, seeds_b))
        params_a = [q["params"] for q in va["questions"] if "params" in q]
        params_b = [q["params"] for q in vb["questions"] if "params" in q]
        assert params_a != params_b


def test_version_code_reveals_nothing_without_the_secret():
    digest = "0" * 64
    code = version_code(b"s3cret-key-material", digest, 1)
    assert len(code) == 9 and code[4] == "-"
    assert code != version_code(b"other-key-material!", digest, 1)
    assert question_seed(b"s3cret-key-material", digest, 1, "s1.1") != question_seed(b"other-key-material!", digest, 1, "s1.1")


def test_keys_list_every_answer_with_tolerances(blueprint):
    manifest = plan_exam(blueprint, 2, b"secret-one-two-three")
    key_json, key_csv = answer_keys(manifest)
    key = json.loads(key_json)
    assert [v["version"] for v in key["versions"]] == [1, 2]
    first = key["versions"][0]["questions"]
    conv = next(q for q in first if q["item"] == "conv1d-forward")
    assert set(conv["answers"]) == {"length", "output"}
    # per number, the tolerance every medium grades it with: exact answers, tolerance 0
    assert conv["tolerances"] == {"length": 0.0, "output": [0.0] * len(conv["answers"]["output"])}
    assert conv["precision"]["output"]["mode"] == "exact" and conv["relative_tolerances"] == {"length": 0.0, "output": 0.0}
    rows = list(csv.DictReader(key_csv.splitlines()))
    assert {r["answer"] for r in rows if r["item"] == "which-layer"} == {"choice"}
    assert any(r["answer"] == "output" and r["value"] == json.dumps(conv["answers"]["output"]) for r in rows)


# --- real builds (pdflatex) ----------------------------------------------------------------------------

pdf = pytest.mark.pdf


def pages(path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


@pdf
def test_shipped_blueprint_versions_same_pages_answers_only_in_solutions(tmp_path):
    out = tmp_path / "quiz"
    proc = run_qbank("exam", "bank/exams/quiz-backprop.yaml", "--versions", "3", "--out", str(out), "--secret", "quiz-secret-5fb8a08c40345d54fdac9200f6908e25")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "instructor" / "manifest.json").read_text())
    counts = {pages(out / "students" / f"v{v:02d}" / "exam.pdf") for v in (1, 2, 3)}
    assert len(counts) == 1, f"page counts differ across versions: {counts}"
    expected_pages = 1 + sum(q["pages"] for q in manifest["versions"][0]["questions"])
    assert counts == {expected_pages}
    for record in manifest["versions"]:
        exam = pdf_text(out / "students" / record["folder"] / "exam.pdf")
        solutions = pdf_text(out / "instructor" / record["folder"] / "solutions.pdf")
        assert record["code"] in exam and "Solution" not in exam and "Answer:" not in exam
        for q in record["questions"]:
            if q["item"].get("family") in FAMILIES:
                for snippet in answer_snippets(q):
                    assert squash(snippet) in squash(solutions)
                    if len(squash(snippet)) >= 6:  # a distinctive answer never shows on the exam
                        assert squash(snippet) not in squash(exam)
            if q["item"].get("kind") == "multiple-choice":
                assert f"({q['correct']})" in solutions


@pdf
def test_rebuild_from_manifest_is_byte_identical(tmp_path):
    blueprint = ROOT / "bank" / "exams" / "demo.yaml"
    first, second = tmp_path / "first", tmp_path / "second"
    proc = run_qbank("exam", str(blueprint), "--versions", "2", "--out", str(first), "--secret", "rebuild-secret-58c5865a65d60d76e7e576403e1833d4")
    assert proc.returncode == 0, proc.stderr
    proc = run_qbank("rebuild", str(first / "instructor" / "manifest.json"), "--out", str(second), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    produced = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert produced == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in produced:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), f"{rel} differs after rebuild"


@pdf
def test_roster_names_a_version_per_student_and_overflow_is_an_error(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text("id,name\ns1001,Ada Lovelace\ns1002,Alan Turing\n")
    out = tmp_path / "quiz"
    proc = run_qbank("exam", "bank/exams/demo.yaml", "--roster", str(roster), "--out", str(out), "--secret", "r-secret-f70b45721aa3c282fbc537b643b6b182")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "students").iterdir()) == ["s1001", "s1002"]
    assert sorted(p.name for p in out.iterdir()) == [".qbank-output", "README.txt", "instructor", "students"]
    assert (out / "instructor").stat().st_mode & 0o777 == 0o700
    assert (out / "instructor" / "key.json").stat().st_mode & 0o777 == 0o600
    assert (out / "instructor" / "s1001" / "solutions.pdf").stat().st_mode & 0o077 == 0
    assert "Ada Lovelace" in pdf_text(out / "students" / "s1001" / "exam.pdf")
    key = json.loads((out / "instructor" / "key.json").read_text())
    assert [v["student"]["id"] for v in key["versions"]] == ["s1001", "s1002"]

    bad_roster = tmp_path / "bad.csv"
    bad_roster.write_text("id,name\ns1,A\ns1,B\n")
    proc = run_qbank("exam", "bank/exams/demo.yaml", "--roster", str(bad_roster), "--out", str(out))
    assert proc.returncode == 2 and "bad.csv: line 3: id: duplicate student id 's1'" in proc.stderr



@pdf
def test_a_question_longer_than_its_pages_is_an_error(tmp_path):
    content = tmp_path / "content"
    (content / "bank" / "items").mkdir(parents=True)
    long_text = " ".join(["A long question that goes on and on, line after line, page after page."] * 90)
    (content / "bank" / "items" / "cnn.yaml").write_text(
        "- id: test-very-long\n  title: Long\n  topic: cnn\n  tags: [test]\n  points: 2\n  kind: short-answer\n"
        f"  question: {long_text}\n  solution: Short.\n"
    )
    blueprint = tmp_path / "long.yaml"
    blueprint.write_text("title: Long\nsections:\n  - slots:\n      - item: test-very-long\n        pages: 1\n")
    env = {"QBANK_PATH": str(content)}
    proc = run_qbank("exam", str(blueprint), "--out", str(tmp_path / "long"), "--secret", "l-secret-e763bcbdb02922503709253803bd5c09", env=env)
    assert proc.returncode == 1
    assert "qbank Error: question 1 needs more than 1 page(s)" in proc.stderr, proc.stderr
    assert not (tmp_path / "long").exists()
    blueprint.write_text(blueprint.read_text().replace("pages: 1", "pages: 3"))
    proc = run_qbank("exam", str(blueprint), "--out", str(tmp_path / "long"), "--secret", "l-secret-e763bcbdb02922503709253803bd5c09", env=env)
    assert proc.returncode == 0, proc.stderr
    assert pages(tmp_path / "long" / "students" / "v01" / "exam.pdf") == 1 + 3


@pdf
def test_practice_set_is_reproducible_with_its_seed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        proc = run_qbank("practice", "--topic", "cnn", "-n", "3", "--seed", "11", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
    assert "seed 11" in proc.stderr
    assert (a / "problems.pdf").read_bytes() == (b / "problems.pdf").read_bytes()
    problems, solutions = pdf_text(a / "problems.pdf"), pdf_text(a / "solutions.pdf")
    assert problems.count("\n1.") + problems.count("1. ") >= 1
    assert "Solution" not in problems and "Solution" in solutions
    proc = run_qbank("practice", "--topic", "vision")
    assert proc.returncode == 2 and "no bank item has topic 'vision'" in proc.stderr


def test_every_version_of_a_slot_needs_the_same_working_time_and_the_manifest_says_so(blueprint):
    """Versions of one question are equally hard in fact: a version whose working time differs from the
    slot's is refused like one of another structure; the manifest reports each slot's spread."""
    from qbank.exam import fairness_report

    manifest = plan_exam(blueprint, 12, b"secret-one-two-three")
    spread = {w["slot"]: (w["min"], w["max"]) for w in manifest["working_time"]}
    family_slots = {q["slot"] for r in manifest["versions"] for q in r["questions"] if q["item"].get("family")}
    assert family_slots and all(spread[slot][0] == spread[slot][1] for slot in family_slots)
    assert [w["slot"] for w in manifest["working_time"]] == sorted(spread, key=lambda s: [int(n) for n in s[1:].replace("#", ".").split(".")])
    line = next(line for line in fairness_report(manifest) if line.startswith("working time per slot"))
    assert "s1.1 " in line and "s2.1 " in line


def test_instructions_may_not_state_a_precision(tmp_path):
    from qbank.errors import InputError

    bank = Bank({i.id: i for i in load_items(write(tmp_path, GOOD))})
    text = "title: T\ninstructions: Show your work. Round decimals to four places.\n" + BLUEPRINT.split("\n", 1)[1]
    with pytest.raises(InputError, match=r"exam.yaml: line 2: instructions: states a precision \('Round'\); each part"):
        load_blueprint(write(tmp_path, text, "exam.yaml"), bank)


@pdf
def test_a_compact_exam_ending_on_a_full_page_keeps_its_last_mark(tmp_path):
    """The end mark of the last question stays on the page of its last line: as a bare PDF destination after a
    page-filling question it went to a page never shipped, and the build failed ("the marks of question 2 are
    missing") for most keys (5 of 6 tried)."""
    blueprint = tmp_path / "compact.yaml"
    blueprint.write_text("title: T\noptions:\n  layout: compact\nsections:\n  - slots:\n"
                         "      - family: normalization\n        points: 10\n      - item: batchnorm-test-mode-mc\n")
    proc = run_qbank("exam", str(blueprint), "--versions", "4", "--out", str(tmp_path / "out"),
                     "--secret", "compact-end-mark-secret-5d0c7e2a9b41f3c8")
    assert proc.returncode == 0, proc.stderr
    pages = (tmp_path / "out" / "instructor" / "pages.csv").read_text()
    assert pages.count("\n") >= 1 + 4 * 2  # a row per question and version
