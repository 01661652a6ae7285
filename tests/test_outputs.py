"""Every writer refuses an output folder that holds another kind of qbank output, or any file qbank did
not write, before it changes anything: `qbank site --out EXAMDIR` and `qbank export moodle --out
EXAMDIR/quiz.xml` leave the exam (keys, PDFs, the instructor's notes) exactly as it was, and a user's
folder that happens to hold a `solutions.pdf` is never taken for qbank's. Each case runs the real
`qbank` command against a real exam build."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_qbank

pytestmark = pytest.mark.pdf

SECRET = "6f1d0c3a9b8e7f2a4c5d6e7f8091a2b3c4d5e6f708192a3b"  # 192 bits, for tests only
BLUEPRINT = "title: Outputs\nsections:\n  - slots:\n      - item: why-convolutions-for-images-mc\n"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A real exam build and a real practice-site build, copied afresh for each case."""
    root = tmp_path_factory.mktemp("outputs")
    (root / "exam.yaml").write_text(BLUEPRINT)
    proc = run_qbank("exam", "exam.yaml", "--versions", "2", "--out", "exam", "--secret", SECRET, cwd=root)
    assert proc.returncode == 0, proc.stderr
    proc = run_qbank("site", "--topic", "decoding", "--variants", "1", "--seed", "3", "--out", "site", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture()
def work(built, tmp_path) -> Path:
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    return tmp_path


def refused(work: Path, *args: str, guarded: str, message: str) -> None:
    """`qbank ARGS` in `work` ends in one error line matching `message`, and `guarded` is untouched."""
    before = snapshot(work / guarded)
    proc = run_qbank(*args, cwd=work)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr and lines[-1].startswith("qbank: error: "), proc.stderr
    assert message in lines[-1], lines[-1]
    assert snapshot(work / guarded) == before, f"qbank {' '.join(args)} changed {guarded}/"
    assert not [p.name for p in work.iterdir() if ".staging-" in p.name or ".work-" in p.name or ".old-" in p.name]


EXAM_HELD = "holds an exam (qbank exam or rebuild), not "


@pytest.mark.parametrize("args, message", [
    (("site", "--topic", "decoding", "--variants", "1", "--out", "exam"), EXAM_HELD + "a practice site"),
    (("export", "moodle", "exam.yaml", "--variants", "1", "--out", "exam/quiz.xml", "--secret", SECRET), EXAM_HELD + "a Moodle quiz"),
    (("export", "canvas", "exam.yaml", "--variants", "1", "--out", "exam", "--secret", SECRET), EXAM_HELD + "a Canvas quiz"),
    (("draw", "conv1d-forward", "--out", "exam"), EXAM_HELD + "a drawn problem's PDFs"),
    (("draw", "conv1d-forward", "--format", "tex", "--out", "exam"), EXAM_HELD + "a drawn problem's LaTeX"),
    (("draw", "conv1d-forward", "--format", "html", "--out", "exam"), EXAM_HELD + "a drawn problem's web page"),
    (("practice", "-n", "1", "--seed", "1", "--out", "exam"), EXAM_HELD + "a practice set"),
    (("draw", "conv1d-forward", "--out", "exam/extra"), "is inside"),
], ids=["site", "export-moodle-file", "export-canvas", "draw", "draw-tex", "draw-html", "practice", "draw-inside"])
def test_no_other_writer_replaces_an_exam(work, args, message):
    refused(work, *args, guarded="exam", message=message)


@pytest.mark.parametrize("args", [
    ("exam", "exam.yaml", "--out", "site", "--secret", SECRET),
    ("rebuild", "exam/instructor/manifest.json", "--out", "site"),
    ("export", "moodle", "exam.yaml", "--variants", "1", "--out", "site/quiz.xml", "--secret", SECRET),
], ids=["exam", "rebuild", "export"])
def test_no_other_writer_replaces_a_site(work, args):
    refused(work, *args, guarded="site", message="holds a practice site (qbank site), not ")


def test_a_file_qbank_did_not_write_stops_even_the_same_kind_of_build(work):
    (work / "exam" / "instructor" / "grading-notes.txt").write_text("question 2: accept either sign")
    (work / "exam" / "scans").mkdir()
    for args in (("exam", "exam.yaml", "--out", "exam", "--secret", SECRET),
                 ("rebuild", "exam/instructor/manifest.json", "--out", "exam")):
        refused(work, *args, guarded="exam", message="holds instructor/grading-notes.txt, scans/, which qbank did not write")
    assert (work / "exam" / "instructor" / "grading-notes.txt").read_text() == "question 2: accept either sign"


def test_a_user_folder_holding_a_solutions_pdf_is_not_taken_for_qbanks(work):
    (work / "mine").mkdir()
    (work / "mine" / "solutions.pdf").write_bytes(b"%PDF-1.5 my own solutions")
    for args in (("practice", "-n", "1", "--seed", "1", "--out", "mine"), ("draw", "conv1d-forward", "--out", "mine")):
        refused(work, *args, guarded="mine", message="--out mine: the folder exists and was not made by qbank")
    (work / "draws").mkdir()
    (work / "draws" / "problem.pdf").write_bytes(b"%PDF-1.5 mine")
    (work / "draws" / "solution.pdf").write_bytes(b"%PDF-1.5 mine too")
    refused(work, "draw", "conv1d-forward", "--out", "draws", guarded="draws", message="was not made by qbank")


def test_the_same_kind_replaces_its_own_output_as_a_whole(work):
    """What qbank wrote is listed in the marker; the same kind of build replaces it (a smaller one leaves
    nothing of the larger behind), and a marker written before the list (issue 9 to 16) is still read."""
    marker = json.loads((work / "exam" / ".qbank-output").read_text())
    assert marker["kind"] == "exam" and "instructor/key.json" in marker["files"] and "students/v02/exam.pdf" in marker["files"]
    (work / "exam" / ".qbank-output").write_text(json.dumps({"made_by": "qbank", "kind": "exam"}) + "\n")
    proc = run_qbank("exam", "exam.yaml", "--versions", "1", "--out", "exam", "--secret", SECRET, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (work / "exam" / "students").iterdir()) == ["v01"]
    site_marker = json.loads((work / "site" / ".qbank-output").read_text())
    (work / "site" / ".qbank-output").write_text(json.dumps({"made_by": "qbank", "kind": "site"}) + "\n")
    (work / "site" / "notes.md").write_text("mine")
    refused(work, "site", "--topic", "decoding", "--variants", "1", "--out", "site", guarded="site", message="holds notes.md")
    (work / "site" / "notes.md").unlink()
    proc = run_qbank("site", "--topic", "decoding", "--variants", "1", "--seed", "3", "--out", "site", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((work / "site" / ".qbank-output").read_text()) == site_marker


def test_an_exam_from_before_markers_is_still_replaced(work):
    """An exam folder written before qbank wrote markers (manifest.json, keys and vNN/ at the top) is
    adopted only when its manifest is a qbank exam's and every file is one such a build wrote."""
    old = work / "old"
    manifest = json.loads((work / "exam" / "instructor" / "manifest.json").read_text())
    manifest.pop("secret_fingerprint", None)  # before manifests recorded the key
    for version in manifest["versions"]:
        (old / version["folder"]).mkdir(parents=True)
        shutil.copy(work / "exam" / "students" / version["folder"] / "exam.pdf", old / version["folder"] / "exam.pdf")
        shutil.copy(work / "exam" / "instructor" / version["folder"] / "solutions.pdf", old / version["folder"] / "solutions.pdf")
    (old / "manifest.json").write_text(json.dumps(manifest))
    (old / "key.json").write_text("{}")
    (old / "key.csv").write_text("version\n")
    (old / "v01" / "notes.txt").write_text("mine")
    refused(work, "exam", "exam.yaml", "--out", "old", "--secret", SECRET, guarded="old", message="was not made by qbank")
    (old / "v01" / "notes.txt").unlink()
    proc = run_qbank("exam", "exam.yaml", "--out", "old", "--secret", SECRET, cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert (old / "students" / "v01" / "exam.pdf").is_file() and not (old / "v02").exists()
