"""Course workspaces: `qbank init`, discovery from any folder below qbank.yaml, the course's bank,
families and templates next to the built-in ones, `replaces:`, clashes, and the workspace's defaults
(secret file, output folder, jobs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import ROOT, pdf_text, run_qbank, squash

SCAFFOLD = {
    ".gitignore", "README.md", "qbank.yaml", "bank/items/neuron.yaml", "bank/exams/example.yaml",
    "generators/neuron.py", "templates/neuron/sigmoid-neuron.tex.j2",
}
SECRET = "course-secret-5fb83c1e9a7d2b4f6e0a8c3d5b7f9e1a"


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def error(proc) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.fixture()
def course(tmp_path) -> Path:
    ok(run_qbank("init", str(tmp_path / "course"), "--course", 'Deep Learning: "spring" 2027'))
    return tmp_path / "course"


def add_item(course: Path, text: str, topic: str = "neuron") -> Path:
    path = course / "bank" / "items" / f"{topic}.yaml"
    path.write_text((path.read_text() if path.exists() else "") + "\n" + text)
    return path


def test_init_writes_a_workspace(course):
    assert files_of(course) == SCAFFOLD
    config = (course / "qbank.yaml").read_text()
    assert 'course: "Deep Learning: \\"spring\\" 2027"' in config  # quoted, so YAML reads it back
    assert ".qbank-secret" in (course / ".gitignore").read_text() and "build/" in (course / ".gitignore").read_text()
    assert "Deep Learning" in (course / "README.md").read_text()


def test_init_refuses_a_non_empty_folder_and_force_keeps_what_is_there(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "qbank.yaml").write_text("course: Mine\n")
    (folder / "notes.md").write_text("my notes")
    line = error(run_qbank("init", str(folder)))
    assert line.startswith(f"qbank: error: {folder}: not empty (notes.md, qbank.yaml)") and "--force" in line
    assert files_of(folder) == {"qbank.yaml", "notes.md"}
    proc = run_qbank("init", str(folder), "--force")
    ok(proc)
    assert f"kept {folder / 'qbank.yaml'} (it exists already)" in proc.stderr
    assert (folder / "qbank.yaml").read_text() == "course: Mine\n" and (folder / "notes.md").read_text() == "my notes"
    assert files_of(folder) == SCAFFOLD | {"notes.md"}


def test_init_into_a_file_or_a_missing_parent_is_an_error(tmp_path):
    (tmp_path / "file").write_text("x")
    assert error(run_qbank("init", str(tmp_path / "file"))) == f"qbank: error: {tmp_path / 'file'}: is a file; qbank init writes a new folder"
    assert "does not exist" in error(run_qbank("init", str(tmp_path / "no" / "such")))
    assert not (tmp_path / "no").exists()


def test_commands_find_the_workspace_from_a_folder_below(course):
    below = course / "bank" / "exams"
    families = ok(run_qbank("list", cwd=below))
    assert "sigmoid-neuron" in families and "conv1d-forward" in families
    assert "sigmoid-neuron" not in ok(run_qbank("list", cwd=course.parent))
    ok(run_qbank("check", "sigmoid-neuron", "--seeds", "50", cwd=below))


def test_bank_lists_the_course_and_on_request_the_built_in_items(course):
    proc = run_qbank("bank", cwd=course)
    lines = ok(proc).splitlines()
    assert len(lines) == 4 and all(line.startswith("course ") for line in lines)
    assert "built-in items not shown: --include-builtin lists them" in proc.stderr
    assert "lstm-vs-rnn-gradients gives away" not in proc.stderr  # the built-in bank's own pairs: not the course's business
    everything = ok(run_qbank("bank", "--include-builtin", cwd=course)).splitlines()
    assert {line.split()[0] for line in everything} == {"course", "built-in"}
    assert sum(line.startswith("built-in") for line in everything) == len(ok(run_qbank("bank")).splitlines())
    assert ok(run_qbank("bank", "--only-course", cwd=course)).splitlines() == lines
    assert "not inside a course workspace" in error(run_qbank("bank", "--only-course", cwd=course.parent))


BUILT_IN_MC = """\
- id: ridge-map-prior
  title: My own ridge question
  topic: regression
  tags: [conceptual]
  difficulty: 1
  points: 2
  kind: multiple-choice
  question: Which penalty does ridge regression add?
  choices:
    - text: The squared L2 norm of the weights.
      correct: true
    - text: The L1 norm of the weights.
      correct: false
  solution: The squared L2 norm, $\\lambda \\|w\\|_2^2$.
"""


def test_a_clash_with_a_built_in_item_names_both_files(course):
    path = add_item(course, BUILT_IN_MC, "regression")
    line = error(run_qbank("bank", cwd=course))
    assert line == (f"qbank: error: {path}: line 2: id: duplicate id 'ridge-map-prior' (first defined at "
                    f"{ROOT / 'bank' / 'items' / 'regression.yaml'}: line 3); to use this one instead, add "
                    "`replaces: ridge-map-prior` to it")


def test_replaces_puts_the_course_item_in_the_built_in_one_s_place(course):
    add_item(course, BUILT_IN_MC.replace("  title:", "  replaces: ridge-map-prior\n  title:"), "regression")
    listing = ok(run_qbank("bank", "--include-builtin", cwd=course))
    assert [line.split()[0] for line in listing.splitlines() if " ridge-map-prior " in line] == ["course"]
    out = course / "build" / "x"
    ok(run_qbank("exam", "example", "--versions", "1", "--secret", SECRET, "--out", str(out), cwd=course))
    text = squash(pdf_text(out / "students" / "v01" / "exam.pdf"))
    assert squash("Which penalty does ridge regression add?") in text and "maximumaposteriori" not in text


def test_replaces_under_a_new_id_and_its_errors(course):
    renamed = BUILT_IN_MC.replace("- id: ridge-map-prior", "- id: ridge-penalty\n  replaces: ridge-map-prior")
    path = add_item(course, renamed, "regression")
    line = error(run_qbank("exam", "example", "--versions", "1", "--secret", SECRET, cwd=course))
    blueprint = course / "bank" / "exams" / "example.yaml"
    assert line.startswith(f"qbank: error: {blueprint}: line ") and (
        f"bank item 'ridge-map-prior' is replaced by 'ridge-penalty' ({path}: line 2); name 'ridge-penalty' here") in line
    path.write_text(renamed.replace("replaces: ridge-map-prior", "replaces: no-such-item"))
    assert "replaces: no item 'no-such-item' to replace" in error(run_qbank("bank", cwd=course))


def test_a_course_family_with_a_built_in_id_takes_its_place_with_a_warning(course):
    """(tests/test_shadowing.py has the rest: the workspace of an older `qbank init`, `replaces`, QBANK_PATH.)"""
    module = course / "generators" / "neuron.py"
    module.write_text(module.read_text().replace('id = "sigmoid-neuron"', 'id = "conv1d-forward"'))
    proc = run_qbank("list", cwd=course)
    listing = ok(proc)
    assert [line.split()[1] for line in listing.splitlines() if line.startswith("conv1d-forward ")] == ["neuron"]
    (warning,) = proc.stderr.strip().splitlines()
    assert "family id 'conv1d-forward' is both the course's" in warning
    assert str(module) in warning and str(ROOT / "generators" / "conv.py") in warning


def test_exam_defaults_come_from_the_workspace(course):
    below = course / "bank"
    proc = run_qbank("exam", "example", "--versions", "1", cwd=below)
    ok(proc)
    assert (course / ".qbank-secret").is_file() and not (below / ".qbank-secret").exists()
    assert (course / "build" / "example" / "students" / "v01" / "exam.pdf").is_file()
    assert not (below / "build").exists()
    text = squash(pdf_text(course / "build" / "example" / "instructor" / "v01" / "solutions.pdf"))
    assert squash("trained with the cross-entropy loss") in text and squash("one-dimensional convolutional layer") in text


def test_workspace_settings_are_checked_by_field(course):
    config = course / "qbank.yaml"
    config.write_text("course: X\ndefaults:\n  out: .\n")
    assert error(run_qbank("exam", "example", cwd=course)) == (
        f"qbank: error: {config}: line 3: defaults.out: the output folder cannot be the workspace itself "
        "(outputs replace their folder as a whole)")
    config.write_text("course: X\ndefaults:\n  jobs: many\n")
    assert error(run_qbank("site", cwd=course)) == (
        f"qbank: error: {config}: line 3: defaults.jobs: expected a whole number of parallel jobs from 1 to 256")
    config.write_text("course: X\noutput: build\n")
    assert error(run_qbank("exam", "example", cwd=course)) == (
        f"qbank: error: {config}: line 2: output: unknown field (expected course, defaults)")


def test_custom_output_folder_and_secret_file(course):
    (course / "qbank.yaml").write_text("course: X\ndefaults:\n  out: ../outputs\n  secret_file: keys/exam.key\n")
    (course / "keys").mkdir()
    ok(run_qbank("exam", "example", "--versions", "1", cwd=course / "generators"))
    assert (course / "keys" / "exam.key").is_file()
    assert (course.parent / "outputs" / "example" / "instructor" / "key.json").is_file()


def test_qbank_path_still_adds_content_inside_a_workspace(course, tmp_path):
    from conftest import write_content_root

    extra = tmp_path / "extra"
    write_content_root(extra, "extra-family", solve_body="params['x']", check_body="assert answers['answer'] == params['x']",
                       template="\\BLOCK{block problem}$\\VAR{params.x}$\\BLOCK{endblock}\n\\BLOCK{block solution}\\VAR{answers.answer}\\BLOCK{endblock}\n")
    listing = ok(run_qbank("list", cwd=course, env={"QBANK_PATH": str(extra)}))
    assert "extra-family" in listing and "sigmoid-neuron" in listing


def test_qbank_workspace_variable_names_the_workspace(course, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert "sigmoid-neuron" in ok(run_qbank("list", cwd=elsewhere, env={"QBANK_WORKSPACE": str(course)}))
    line = error(run_qbank("list", cwd=elsewhere, env={"QBANK_WORKSPACE": str(elsewhere)}))
    assert line == f"qbank: error: $QBANK_WORKSPACE: {elsewhere} holds no qbank.yaml (run `qbank init {elsewhere}` to make one)"


def test_the_scaffold_is_the_repository_s_example_too():
    """The example family passes qbank's own checks like a built-in one (no stale scaffold)."""
    from qbank.scaffolding import scaffold_files

    assert {rel for rel, _ in scaffold_files()} == SCAFFOLD
    assert os.access(ROOT / "qbank" / "scaffold" / "generators" / "neuron.py", os.R_OK)
