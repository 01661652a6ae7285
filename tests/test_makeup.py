"""Seeds over an exam's life (issue 17): a roster student's numbers follow the id, never the row; a
make-up exam (`--makeup-for EXAM_DIR`) repeats no version code and no numbers of the exam it makes up
for; `--versions N` builds keep their seeds; an LMS quiz never draws the paper exam's variants."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_qbank

from qbank.blueprint import load_blueprint
from qbank.errors import QbankError
from qbank.keys import question_seed, version_code
from qbank.plan import earlier_exams, plan_exam

SECRET = bytes.fromhex("3e7a9c1f5b2d8e4a6c0f9b3d7e1a5c2f8b4d6e0a2c9f7b1d3e5a8c4f6b0d2e9a")
KEY = SECRET.hex()  # the same secret on the command line

# two parameterized questions (one with a figure-free family, one a pool of two items) and a multiple
# choice of four: small and quick to compile
TINY = """\
title: Tiny
options:
  layout: compact
  cover: false
sections:
  - slots:
      - family: conv1d-forward
        points: 4
      - item: why-convolutions-for-images-mc
      - from: {ids: [scalar-rnn-backprop-small-weight, scalar-rnn-backprop-large-weight]}
"""


def tiny(tmp_path: Path, text: str = TINY) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return path


def students(*ids: str) -> list[dict[str, str]]:
    return [{"id": sid, "name": ""} for sid in ids]


def numbers(record) -> dict[str, str]:
    """slot -> the params of the version's parameterized question there, as canonical JSON."""
    return {q["slot"]: json.dumps(q["params"], sort_keys=True) for q in record["questions"] if q["item"].get("family")}


def family_params(manifest) -> set[tuple[str, str]]:
    return {(q["family"], json.dumps(q["params"], sort_keys=True))
            for r in manifest["versions"] for q in r["questions"] if q["item"].get("family")}


# --- rosters: seeds from the student id ----------------------------------------------------------------


def test_a_students_numbers_follow_the_id_never_the_row(tmp_path):
    """A one-student roster for a make-up used to get exactly the first student's exam."""
    bp = load_blueprint(tiny(tmp_path))
    first = plan_exam(bp, 4, SECRET, students("s1", "s2", "s3", "s4"))
    late = plan_exam(bp, 2, SECRET, students("s9", "s3"))
    by_id = {r["folder"]: r for r in first["versions"]}
    s9, s3 = late["versions"]
    assert numbers(s3) == numbers(by_id["s3"]) and s3["code"] == by_id["s3"]["code"]  # the same student, the same numbers
    for record in first["versions"]:
        assert s9["code"] != record["code"]
        assert all(numbers(s9)[slot] != numbers(record).get(slot) for slot in numbers(s9)), record["folder"]
    assert first["seeds_by"] == "student"


def test_versions_builds_keep_their_seeds_exactly(tmp_path):
    """Versions 1..N stay as they were, and as N grows; the values are those qbank drew before issue 17."""
    assert [question_seed(SECRET, "0" * 64, v, "s1.1#0") for v in (1, 2, 3)] == [
        1334717411898018451, 3101320253107304153, 3648888345300413116]
    assert [version_code(SECRET, "0" * 64, v) for v in (1, 2, 3)] == ["O2U6-PHEV", "YA32-KIX7", "TR42-MQZ7"]
    assert question_seed(SECRET, "0" * 64, 0, "letters:x") == 5524564816750461906
    bp = load_blueprint(tiny(tmp_path))
    three, five = plan_exam(bp, 3, SECRET), plan_exam(bp, 5, SECRET)
    assert five["versions"][:3] == three["versions"]
    assert "seeds_by" not in three and "seed_domain" not in three and "makeup_for" not in three


def test_letters_balance_and_numbers_are_unique_within_a_roster_build(tmp_path):
    bp = load_blueprint(tiny(tmp_path))
    manifest = plan_exam(bp, 12, SECRET, students(*(f"x{i:02d}" for i in range(12))))
    letters = Counter(q["correct"] for r in manifest["versions"] for q in r["questions"] if "correct" in q)
    assert letters == {"A": 3, "B": 3, "C": 3, "D": 3}
    per_slot = Counter((slot, params) for r in manifest["versions"] for slot, params in numbers(r).items())
    assert max(per_slot.values()) == 1
    assert len({r["code"] for r in manifest["versions"]}) == 12


# --- make-ups ---------------------------------------------------------------------------------------------


def test_a_makeup_that_cannot_find_new_numbers_says_so(tmp_path):
    """Two numbers in all (w = -0.5 or 2 with pinned inputs): an exam of two versions leaves the make-up
    none, which is one clear error after a bounded number of draws."""
    bp = load_blueprint(tiny(tmp_path, "title: Small\nsections:\n  - slots:\n      - family: scalar-rnn-backprop\n"
                                       "        points: 6\n        params: {u: [1, 2]}\n        ranges: {w: {one_of: [-0.5, 2]}}\n"))
    exam = plan_exam(bp, 2, SECRET)
    assert len(family_params(exam)) == 2
    with pytest.raises(QbankError) as caught:
        plan_exam(bp, 1, SECRET, earlier=earlier_exams([("build/small", exam)]))
    assert str(caught.value).endswith(
        "item 'scalar-rnn-backprop': no new variant after 100 draws in version 1 (every draw repeated an earlier "
        "version or a version of the exam made up for); its params and ranges, with the slot's fixed structure "
        "(u 2 entries), leave too few distinct problems for this many versions")


def test_two_makeups_of_one_exam_differ_when_the_second_names_the_first(tmp_path):
    bp = load_blueprint(tiny(tmp_path))
    exam = plan_exam(bp, 6, SECRET)
    first = plan_exam(bp, 2, SECRET, earlier=earlier_exams([("exam", exam)]))
    again = plan_exam(bp, 2, SECRET, earlier=earlier_exams([("exam", exam)]))
    second = plan_exam(bp, 2, SECRET, earlier=earlier_exams([("exam", exam), ("makeup-1", first)]))
    assert again["versions"] == first["versions"]  # the same exams made up for, the same make-up
    assert not family_params(second) & (family_params(exam) | family_params(first))
    assert not {r["code"] for r in second["versions"]} & {r["code"] for r in exam["versions"] + first["versions"]}
    assert [e["folder"] for e in second["makeup_for"]] == ["exam", "makeup-1"]


def test_a_makeup_of_another_blueprint_or_key_says_so(tmp_path):
    """Another blueprint is allowed (a make-up may swap a question): numbers are compared family by
    family, whatever the slot. Another key is allowed too, but the slot structures then differ."""
    from qbank.exam import makeup_notes

    exam = plan_exam(load_blueprint(tiny(tmp_path)), 8, SECRET)
    swapped = tmp_path / "swapped.yaml"
    swapped.write_text(TINY.replace("      - item: why-convolutions-for-images-mc\n", "      - family: beam-search\n        points: 6\n"))
    other_key = bytes(reversed(SECRET))
    makeup = plan_exam(load_blueprint(swapped), 4, other_key, earlier=earlier_exams([("build/exam", exam)]))
    assert not family_params(makeup) & family_params(exam)
    assert makeup_notes(makeup, other_key) == [
        "note: build/exam was built from another blueprint (" + str(tmp_path / "tiny.yaml") + "); the make-up's numbers "
        "are still checked against every version of it, family by family",
        "note: build/exam was built with another secret key, so the make-up's slot structures (sizes, strides, ...) may "
        "differ from the exam's; build with the exam's key file for the same shapes",
        "make-up: new version codes and numbers, none of the 8 version(s) of the exam(s) made up for"]


@pytest.mark.pdf
def test_a_makeup_through_the_cli_shares_no_code_and_no_numbers(tmp_path):
    blueprint = tiny(tmp_path)
    (tmp_path / "class.csv").write_text("id,name\ns1,Ada Lovelace\ns2,Alan Turing\ns3,Grace Hopper\n")
    (tmp_path / "late.csv").write_text("id,name\ns9,Kurt Godel\n")
    exam, makeup, alone = tmp_path / "exam", tmp_path / "makeup", tmp_path / "alone"
    proc = run_qbank("exam", str(blueprint), "--roster", str(tmp_path / "class.csv"), "--out", str(exam), "--secret", KEY)
    assert proc.returncode == 0, proc.stderr
    before = sorted((p.relative_to(exam), p.read_bytes()) for p in exam.rglob("*") if p.is_file())
    # the leak of issue 17: a one-student roster got the first student's exam, code and numbers
    given = json.loads((exam / "instructor" / "manifest.json").read_text())

    def shares_nothing_with_the_exam(out: Path) -> None:
        manifest = json.loads((out / "instructor" / "manifest.json").read_text())
        (record,) = manifest["versions"]
        assert record["folder"] == "s9" and (out / "students" / "s9" / "exam.pdf").is_file()
        for sat in given["versions"]:
            assert record["code"] != sat["code"]
            assert all(numbers(record)[slot] != numbers(sat).get(slot) for slot in numbers(record))

    proc = run_qbank("exam", str(blueprint), "--roster", str(tmp_path / "late.csv"), "--out", str(alone), "--secret", KEY)
    assert proc.returncode == 0, proc.stderr
    shares_nothing_with_the_exam(alone)  # by its id, s9 is no one else (by chance, the same numbers might be)
    proc = run_qbank("exam", str(blueprint), "--roster", str(tmp_path / "late.csv"), "--makeup-for", str(exam),
                     "--out", str(makeup), "--secret", KEY)
    assert proc.returncode == 0, proc.stderr
    assert f"drawing a make-up of {exam}: 1 version(s)" in proc.stderr
    assert "make-up: new version codes and numbers, none of the 3 version(s) of the exam(s) made up for" in proc.stderr
    shares_nothing_with_the_exam(makeup)  # guaranteed
    manifest = json.loads((makeup / "instructor" / "manifest.json").read_text())
    assert not family_params(manifest) & family_params(given)
    assert manifest["makeup_for"] == [{"folder": str(exam), "secret_fingerprint": given["secret_fingerprint"], "versions": 3,
                                       "blueprint": {"path": given["blueprint"]["path"], "sha256": given["blueprint"]["sha256"]}}]
    key = json.loads((makeup / "instructor" / "key.json").read_text())
    assert [v["code"] for v in key["versions"]] == [manifest["versions"][0]["code"]]
    assert sorted((p.relative_to(exam), p.read_bytes()) for p in exam.rglob("*") if p.is_file()) == before  # untouched


def test_makeup_errors_are_one_line_before_any_work(tmp_path):
    blueprint = tiny(tmp_path)
    out = tmp_path / "makeup"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    broken = tmp_path / "broken"
    (broken / "instructor").mkdir(parents=True)
    (broken / "instructor" / "manifest.json").write_text('{"format": 3,\n')
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--makeup-for", str(tmp_path / "nowhere")],
         f"--makeup-for {tmp_path / 'nowhere'}: no such folder; name the output folder of the exam the make-up is for "
         "(the folder `qbank exam --out` wrote, holding instructor/manifest.json)"),
        (["--makeup-for", str(notes)],
         f"--makeup-for {notes}: no instructor/manifest.json in it; name the output folder of the exam the make-up is "
         "for (the folder `qbank exam --out` wrote)"),
        (["--makeup-for", str(broken)],
         f"--makeup-for {broken}: {broken / 'instructor' / 'manifest.json'}: line 2: invalid JSON: Expecting property name enclosed in double quotes"),
    ]
    for args, message in cases:
        proc = run_qbank("exam", str(blueprint), "--versions", "1", *args, "--out", str(out), "--secret", KEY)
        assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [f"qbank: error: {message}"], proc.stderr
    proc = run_qbank("exam", str(blueprint), "--makeup-for", str(empty), "--out", str(empty), "--secret", KEY)
    assert proc.stderr.strip().splitlines() == [
        f"qbank: error: --makeup-for {empty}: is the make-up's own --out, which the make-up would replace; "
        "give the make-up another --out"]
    assert not out.exists() and sorted(p.name for p in notes.iterdir()) == ["todo.txt"]


# --- LMS quizzes: their own seed domain -----------------------------------------------------------------


@pytest.mark.pdf
def test_a_quiz_never_draws_the_paper_exams_variants(tmp_path):
    """The same blueprint and key used to give the quiz every variant of the paper exam (all 25 of 25)."""
    blueprint = tiny(tmp_path, TINY.replace("      - item: why-convolutions-for-images-mc\n", ""))
    exam, quiz, same = tmp_path / "exam", tmp_path / "quiz", tmp_path / "same"
    proc = run_qbank("exam", str(blueprint), "--versions", "5", "--out", str(exam), "--secret", KEY)
    assert proc.returncode == 0, proc.stderr
    proc = run_qbank("export", "moodle", str(blueprint), "--variants", "5", "--out", str(quiz / "q.xml"), "--secret", KEY)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr.replace("warning: --secret", "")
    paper = json.loads((exam / "instructor" / "manifest.json").read_text())
    lms = json.loads((quiz / "manifest.json").read_text())
    seeds = {q["seed"] for r in paper["versions"] for q in r["questions"] if "seed" in q}
    assert not seeds & {q["seed"] for r in lms["versions"] for q in r["questions"] if "seed" in q}
    assert not family_params(paper) & family_params(lms)
    assert lms["seed_domain"] == "quiz" and lms["lms"]["same_variants_as_exam"] is False
    # on purpose, with a warning: the paper exam's variants
    proc = run_qbank("export", "moodle", str(blueprint), "--variants", "5", "--out", str(same / "q.xml"), "--secret", KEY,
                     "--same-variants-as-exam")
    assert proc.returncode == 0, proc.stderr
    assert (f"warning: --same-variants-as-exam: variant v of every slot is version v of the paper exam of {blueprint.name} "
            "built with this key, so anyone who takes the quiz (or sees its feedback) knows those exams' numbers and "
            "worked solutions") in proc.stderr.splitlines()
    copied = json.loads((same / "manifest.json").read_text())
    assert [numbers(r) for r in copied["versions"]] == [numbers(r) for r in paper["versions"]]
    assert copied["lms"]["same_variants_as_exam"] is True and "seed_domain" not in copied
