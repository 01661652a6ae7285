"""A course family whose id a built-in family later takes keeps working (issue 18).

`tests/fixtures/workspace-before-18/` is a workspace exactly as `qbank init` wrote it before qbank shipped
its own `softmax-cross-entropy` (losses): its example family has that id. In such a workspace the course's
family is used in the built-in one's place, everywhere, with one warning line naming both files;
`replaces = "ID"` on the course's class silences it. Only a course family may do this: a QBANK_PATH family
with a built-in id stays an error (tests/test_plugins.py), and so do a `replaces` naming another id or no
built-in family, and a course family whose template has the built-in template's name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, pdf_text, run_qbank, squash

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "workspace-before-18"
SECRET = "course-secret-3c9e1b7a5d2f4e6a8b0c1d3e5f7a9b2c"
ID = "softmax-cross-entropy"


@pytest.fixture()
def older(tmp_path) -> Path:
    """A copy of the workspace an older `qbank init` made."""
    course = tmp_path / "dl-2026"
    shutil.copytree(FIXTURE, course)
    return course


def module_of(course: Path) -> Path:
    return course / "generators" / "softmax.py"


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def warning_line(course: Path) -> str:
    module, built_in = module_of(course), ROOT / "generators" / "losses.py"
    return (f"qbank: warning: family id '{ID}' is both the course's, {module} line "
            f"{line_of(module, 'class SoftmaxCrossEntropy')} (class SoftmaxCrossEntropy), and a built-in family's, "
            f"{built_in} line {line_of(built_in, 'class SoftmaxCrossEntropy')} (class SoftmaxCrossEntropy): the "
            f"course's is used (add replaces = '{ID}' to its class to say so and silence this line, or rename it to "
            "use both)")


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def last_error(proc) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()[-1]


def test_the_fixture_is_what_init_wrote_then():
    files = {p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("*") if p.is_file()}
    assert files == {".gitignore", "README.md", "qbank.yaml", "bank/items/softmax.yaml", "bank/exams/example.yaml",
                     "generators/softmax.py", "templates/softmax/softmax-cross-entropy.tex.j2"}
    assert f'id = "{ID}"' in module_of(FIXTURE).read_text()
    assert ID in ok(run_qbank("list")) and "losses" in ok(run_qbank("list"))  # the built-in family of that id


def test_the_course_family_is_used_with_one_warning_line(older):
    proc = run_qbank("list", cwd=older)
    listing = ok(proc)
    assert proc.stderr.strip().splitlines() == [warning_line(older)]
    rows = [line.split()[:2] for line in listing.splitlines() if line.startswith(f"{ID} ")]
    assert rows == [[ID, "softmax"]]  # the course's topic; the built-in one's is losses
    assert "attention-forward" in listing  # the other built-in families are all there


def test_every_command_draws_the_course_family(older):
    drawn = json.loads(ok(run_qbank("draw", ID, "--seed", "3", "--format", "json", cwd=older)))
    assert all(isinstance(z, int) for z in drawn["params"]["logits"])  # the course's sampler: integer logits
    tex = older / "tex"
    ok(run_qbank("draw", ID, "--seed", "3", "--format", "tex", "--out", str(tex), cwd=older))
    text = squash((tex / "problem.tex").read_text())
    assert squash("classes outputs the logits") in text  # the course's template, not the built-in one's
    proc = run_qbank("check", ID, "--seeds", "40", cwd=older)
    assert "all 1 families passed 40 seeds each" in ok(proc)
    assert proc.stderr.strip().splitlines() == [warning_line(older)]


def test_the_bank_and_the_example_exam_keep_working(older):
    proc = run_qbank("bank", cwd=older)
    lines = ok(proc).splitlines()
    assert len(lines) == 4 and all(line.startswith("course ") for line in lines)
    assert proc.stderr.strip().splitlines()[0] == warning_line(older)
    everything = ok(run_qbank("bank", "--include-builtin", cwd=older)).splitlines()
    assert any(line.startswith("built-in") and f"family {ID}" in line for line in everything)  # validated with the course's
    out = older / "build" / "example"
    ok(run_qbank("exam", "example", "--versions", "1", "--secret", SECRET, "--out", str(out), cwd=older))
    text = squash(pdf_text(out / "instructor" / "v01" / "solutions.pdf"))
    assert squash("softmax cross-entropy loss") in text and squash("one-dimensional convolutional layer") in text


def test_replaces_says_so_and_silences_the_warning(older):
    module = module_of(older)
    module.write_text(module.read_text().replace(f'    id = "{ID}"\n', f'    id = "{ID}"\n    replaces = "{ID}"\n'))
    proc = run_qbank("list", cwd=older)
    assert [line.split()[1] for line in ok(proc).splitlines() if line.startswith(f"{ID} ")] == ["softmax"]
    assert proc.stderr == ""


def test_replaces_must_name_the_family_s_own_id(older):
    module = module_of(older)
    module.write_text(module.read_text().replace(f'    id = "{ID}"\n', f'    id = "{ID}"\n    replaces = "conv1d-forward"\n'))
    line = last_error(run_qbank("list", cwd=older))
    assert line.startswith(f"qbank: error: {module}: line {line_of(module, 'class SoftmaxCrossEntropy')}: ")
    assert f"replaces = 'conv1d-forward': a course family takes the place of the built-in family of its own id: write replaces = '{ID}'" in line


def test_replaces_without_a_built_in_family_of_that_id_is_an_error(older):
    module = module_of(older)
    text = module.read_text().replace(f'    id = "{ID}"\n', '    id = "softmax-example"\n    replaces = "softmax-example"\n')
    module.write_text(text)
    line = last_error(run_qbank("list", cwd=older))
    assert line.startswith(f"qbank: error: {module}: line {line_of(module, 'class SoftmaxCrossEntropy')}: family softmax-example: ")
    assert "replaces = 'softmax-example', but no built-in family has that id" in line


def test_a_shared_template_name_is_an_error_naming_both(older):
    """Templates are looked up in the built-in folder first: a course family of the built-in one's topic
    would be typeset with the built-in template."""
    module = module_of(older)
    module.write_text(module.read_text().replace('    topic = "softmax"', '    topic = "losses"'))
    line = last_error(run_qbank("list", cwd=older))
    assert line.startswith(f"qbank: error: {module}: line ") and str(ROOT / "generators" / "losses.py") in line
    assert f"its template name losses/{ID}.tex.j2 is the built-in family's" in line
    assert f'template = "course/{ID}.tex.j2"' in line


def test_only_a_course_family_may_take_a_built_in_id(older, tmp_path):
    """The same module on QBANK_PATH (outside any workspace) is a clash, as before; with `replaces` it is told
    that only a course family may replace."""
    extra = tmp_path / "extra"
    (extra / "generators").mkdir(parents=True)
    shutil.copy(module_of(older), extra / "generators" / "softmax.py")
    line = last_error(run_qbank("list", cwd=tmp_path, env={"QBANK_PATH": str(extra)}))
    assert line.startswith(f"qbank: error: family id '{ID}' is defined twice: ") and "rename one of them" in line
    module = extra / "generators" / "softmax.py"
    module.write_text(module.read_text().replace(f'    id = "{ID}"\n', f'    id = "{ID}"\n    replaces = "{ID}"\n'))
    line = last_error(run_qbank("list", cwd=tmp_path, env={"QBANK_PATH": str(extra)}))
    assert "only a course family (a workspace's generators/) may take the place of a built-in one" in line
    assert line.startswith(f"qbank: error: {module}: line ")


def test_a_new_workspace_has_no_clash(tmp_path):
    course = tmp_path / "new"
    ok(run_qbank("init", str(course)))
    proc = run_qbank("list", cwd=course)
    assert "sigmoid-neuron" in ok(proc) and proc.stderr == ""
