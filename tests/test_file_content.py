"""Error messages quote no content of a file qbank could not use, and advice never points outside the
course.

A bank file, blueprint or --params file that is not what it should be (a link to /etc/passwd, a key
file, the wrong file) is reported by what it is and where, never by what it holds: its text would
end up in a terminal, a CI log, a bug report. A bank file, blueprint or qbank.yaml that is a link
leading out of its course folder is refused before it is read, and the course's key file lies
inside the workspace (`secret_file: /etc/passwd` is an error at load), so that no advice about a
bad key is ever about a file outside the course."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_qbank

from qbank.bank import load_items
from qbank.blueprint import load_blueprint
from qbank.errors import InputError
from qbank.params import load_params

MARK = "S3CRET-MARK"
KEY = "6f1d0c3a9b8e7f2a4c5d6e7f8091a2b3c4d5e6f708192a3b"  # a key file's line (hex, 192 bits)
SECRET = "file-content-test-secret-5fb83c1e9a7d2b4f6e0a8c3d"

# What a file that is no qbank file may hold: (name, text, what must not appear in any message)
FOREIGN = [
    ("passwd", f"root:x:0:0:root:/root:/bin/bash\n{MARK}:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n", MARK),
    ("one line", f"{MARK}-token-7f3a9c\n", MARK),
    ("a key file", KEY + "\n", KEY[:12]),
    ("a long number", "1234567890" * 4 + "\n", "1234567890123"),
    ("a list of lines", f"- {MARK} one\n- {MARK} two\n", MARK),
    ("a tag of its own", f"!{MARK} x\n", MARK),
    ("an alias", f"a: *{MARK}\n", MARK),
    ("a mapping of values", f"token: {MARK}\npassword: {MARK}\n", MARK),
    ("not UTF-8", f"{MARK} caf\xe9\n".encode("latin-1"), MARK),
    ("UTF-16", f"{MARK}\n".encode("utf-16"), MARK),
    ("binary", f"\x7fELF{MARK}\x00\x00".encode(), MARK),
]


def _load(what: str, path: Path):
    if what == "bank file":
        return load_items(path)
    if what == "blueprint":
        return load_blueprint(path)
    from qbank.engine import draw

    return draw("conv1d-forward", 0, load_params(str(path)))  # a mapping is a --params file: the family refuses it


@pytest.mark.parametrize("what", ["bank file", "blueprint", "--params file"])
@pytest.mark.parametrize("name, text, mark", FOREIGN, ids=[f[0] for f in FOREIGN])
def test_a_foreign_file_is_named_never_quoted(tmp_path, what, name, text, mark):
    path = tmp_path / ("cnn.yaml" if what == "bank file" else "given.yaml")
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError) as caught:
        _load(what, path)
    message = str(caught.value)
    assert message.startswith((f"{path}: ", "params: ")) and "\n" not in message
    assert mark not in message, message


# --- through the CLI: links out of the course, the course's key file ---------------------------------


@pytest.fixture()
def course(tmp_path) -> Path:
    proc = run_qbank("init", str(tmp_path / "course"), "--course", "Content")
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "outside.txt").write_text(FOREIGN[0][1])
    return tmp_path / "course"


def last_error(proc) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("qbank: error: ")
    return lines[-1]


def test_a_bank_file_linked_out_of_the_course_is_refused_unread(course):
    outside = course.parent / "outside.txt"
    link = course / "bank" / "items" / "evil.yaml"
    link.symlink_to(outside)
    line = last_error(run_qbank("bank", cwd=course))
    assert line == (f"qbank: error: {link}: the bank file is a symbolic link leading out of {course} (to {outside}); "
                    "qbank reads a course's files only from inside its folder: copy the file in, or list its folder in QBANK_PATH")
    assert MARK not in line


def test_a_blueprint_linked_out_of_the_course_is_refused_unread(course):
    outside = course.parent / "outside.txt"
    link = course / "bank" / "exams" / "evil.yaml"
    link.symlink_to(outside)
    for argv in (["exam", "evil", "--versions", "1", "--secret", SECRET], ["exam", str(link), "--versions", "1", "--secret", SECRET],
                 ["export", "moodle", "evil", "--secret", SECRET]):
        line = last_error(run_qbank(*argv, cwd=course))
        assert f"{link}: the blueprint is a symbolic link leading out of {course}" in line and MARK not in line


def test_a_linked_folder_out_of_the_course_is_refused_too(course):
    shared = course.parent / "shared"
    (shared / "items").mkdir(parents=True)
    (shared / "items" / "more.yaml").write_text(FOREIGN[0][1])
    (course / "bank" / "items").rename(course / "bank" / "old-items")
    (course / "bank" / "items").symlink_to(shared / "items")
    line = last_error(run_qbank("bank", cwd=course))
    assert "more.yaml: the bank file is a symbolic link leading out of" in line and MARK not in line


def test_links_inside_the_course_are_fine(course):
    (course / "shared").mkdir()
    items = course / "bank" / "items" / "neuron.yaml"
    items.rename(course / "shared" / "neuron.yaml")
    items.symlink_to(course / "shared" / "neuron.yaml")
    proc = run_qbank("bank", cwd=course)
    assert proc.returncode == 0, proc.stderr
    assert "sigmoid-neuron-decision-boundary" in proc.stdout


def test_a_file_named_on_the_command_line_is_not_quoted(course):
    outside = course.parent / "outside.txt"
    for argv in (["exam", str(outside), "--versions", "1", "--secret", SECRET],
                 ["draw", "conv1d-forward", "--params", str(outside), "--format", "json"]):
        line = last_error(run_qbank(*argv, cwd=course))
        assert line.startswith(f"qbank: error: {outside}: ") and MARK not in line, line


@pytest.mark.parametrize("value", ["/etc/passwd", "../outside.key", "~/course.key", "keys/../../outside.key", "."])
def test_the_key_file_lies_inside_the_workspace(course, value):
    config = course / "qbank.yaml"
    config.write_text(config.read_text().replace("secret_file: .qbank-secret", f"secret_file: {value}"))
    outside = course.parent / "outside.key"
    outside.write_text(KEY + "\n")
    before = outside.read_bytes()
    line = last_error(run_qbank("exam", "example", "--versions", "1", cwd=course))
    assert line.startswith(f"qbank: error: {config}: line 5: defaults.secret_file: expected a file inside the workspace folder {course}")
    assert line.endswith("for a key kept elsewhere, use --secret-file or $QBANK_SECRET")
    assert outside.read_bytes() == before and not (course / "build").exists()


def test_a_key_file_linked_out_of_the_workspace_is_refused(course):
    outside = course.parent / "outside.key"
    outside.write_text(KEY + "\n")
    (course / ".qbank-secret").symlink_to(outside)
    line = last_error(run_qbank("exam", "example", "--versions", "1", cwd=course))
    assert line.startswith(f"qbank: error: {course / 'qbank.yaml'}: line 5: defaults.secret_file: {course / '.qbank-secret'} "
                           f"is a symbolic link leading out of the workspace folder (to {outside})")
    assert KEY not in line


def test_no_advice_writes_into_or_deletes_a_file_outside_the_course(course):
    """A --secret-file that is no key (here a copy of /etc/passwd elsewhere): the advice names another
    key file to make, never `> FILE` or deleting it."""
    outside = course.parent / "outside.txt"
    before = outside.read_bytes()
    line = last_error(run_qbank("exam", "example", "--versions", "1", "--secret-file", str(outside), cwd=course))
    assert f"> {outside}" not in line and "delete it" not in line and MARK not in line, line
    assert outside.read_bytes() == before


def test_qbank_yaml_linked_out_of_the_workspace_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(f"course: {MARK}\n")
    course = tmp_path / "course"
    course.mkdir()
    (course / "qbank.yaml").symlink_to(outside)
    line = last_error(run_qbank("exam", "demo", "--versions", "1", "--secret", SECRET, cwd=course, env={"QBANK_WORKSPACE": ""}))
    assert f"{course / 'qbank.yaml'}: the workspace file is a symbolic link leading out of {course}" in line
    assert MARK not in line
    assert os.path.islink(course / "qbank.yaml")
