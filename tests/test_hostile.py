"""Hostile and careless input to the exam commands: every case ends in one clear `qbank: error:` line
(or the documented acceptance), and the output folder of an earlier build is left exactly as it was.

The cases run the CLI in this process (fast); the few that need pdflatex compile one small page."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, pdf_text
from qbank.cli import main

SECRET = "6f1d0c3a9b8e7f2a4c5d6e7f8091a2b3c4d5e6f708192a3b"  # 192 bits, for tests only
MC_ITEM = """\
- id: hostile-mc
  title: A plain question
  topic: hostile
  points: 2
  kind: multiple-choice
  question: Which one is right?
  choices:
    - {text: This one, correct: true}
    - {text: That one, correct: false}
  solution: The first.
"""
BLUEPRINT = "title: Hostile\nsections:\n  - slots:\n      - item: {item}\n"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier_build(tmp_path_factory) -> Path:
    """A real, small exam build: every failing case below must leave a copy of it untouched."""
    root = tmp_path_factory.mktemp("earlier")
    content = root / "content"
    (content / "bank" / "items").mkdir(parents=True)
    (content / "bank" / "items" / "hostile.yaml").write_text(MC_ITEM)
    (root / "exam.yaml").write_text(BLUEPRINT.format(item="hostile-mc"))
    os.environ["QBANK_PATH"] = str(content)
    try:
        assert main(["exam", str(root / "exam.yaml"), "--versions", "2", "--out", str(root / "out"), "--secret", SECRET]) == 0
    finally:
        del os.environ["QBANK_PATH"]
    return root


class Case:
    def __init__(self, name, argv, expected, files=None, items="", code=2, env=None):
        self.name, self.argv, self.expected, self.files = name, argv, expected, files or {}
        self.items, self.code, self.env = items, code, env or {}

    def __repr__(self):
        return self.name


def roster(text: str | bytes) -> dict:
    return {"r.csv": text}


def exam_with(**kw):
    return ["exam", "exam.yaml", "--out", "out", "--secret", SECRET, *kw.get("extra", [])]


R = ["exam", "exam.yaml", "--roster", "r.csv", "--out", "out", "--secret", SECRET]
LONG = "x" * 65
CASES = [
    # rosters: reserved, colliding, long and odd ids; names the fonts cannot set; encodings
    Case("roster id key.json", R, r"r.csv: line 2: id: 'key.json' is a name qbank or the file system reserves", roster("id,name\nkey.json,A\n")),
    Case("roster id manifest.json", R, r"line 2: id: 'manifest.json' is a name", roster("id\nmanifest.json\n")),
    Case("roster id key.csv", R, r"line 3: id: 'key.csv' is a name", roster("id\ns1\nkey.csv\n")),
    Case("roster id students", R, r"line 2: id: 'students' is a name", roster("id\nstudents\n")),
    Case("roster id Instructor", R, r"line 2: id: 'Instructor' is a name", roster("id\nInstructor\n")),
    Case("roster id CON", R, r"line 2: id: 'CON' is a name", roster("id\nCON\n")),
    Case("roster id nul.txt", R, r"line 2: id: 'nul.txt' is a name", roster("id\nnul.txt\n")),
    Case("roster ids differ by case", R, r"line 3: id: differs from 'A1' \(line 2\) only by case", roster("id\nA1\na1\n")),
    Case("roster duplicate id", R, r"line 3: id: duplicate student id 's1'", roster("id\ns1\ns1\n")),
    Case("roster id too long", R, r"line 2: id: 65 characters, more than 64", roster(f"id\n{LONG}\n")),
    Case("roster id with a slash", R, r"line 2: id: expected letters, digits", roster("id\na/b\n")),
    Case("roster id dot-dot", R, r"line 2: id: expected letters, digits", roster("id\n..\n")),
    Case("roster id with a leading dot", R, r"line 2: id: expected letters, digits", roster("id\n.hidden\n")),
    Case("roster id empty", R, r"line 2: id: expected letters, digits", roster("id,name\n,Ann\n")),
    Case("roster id with a space", R, r"line 2: id: expected letters, digits", roster("id\na b\n")),
    Case("roster without id column", R, r"r.csv: line 1: expected a header row with an `id` column", roster("name\nAnn\n")),
    Case("roster empty", R, r"r.csv: .*(empty|no students|header row)", roster("")),
    Case("roster header only", R, r"r.csv: the roster has no students", roster("id,name\n")),
    Case("roster name in Chinese", R, r"r.csv: line 2: name: the character '王' \(U\+738B.*cannot be typeset", roster("id,name\ns1,王小明\n")),
    Case("roster name in Arabic", R, r"line 2: name: the character 'ع' \(U\+0639.*cannot be typeset", roster("id,name\ns1,علي\n")),
    Case("roster name with an emoji", R, r"line 2: name: the character .*U\+1F600.*cannot be typeset", roster("id,name\ns1,Ann 😀\n")),
    Case("roster name too long", R, r"line 2: name: 61 characters, more than the 60 that fit", roster("id,name\ns1," + "Ann " * 15 + "B\n")),
    Case("roster name one endless word", R, r"line 2: name: the word .* more than 30", roster("id,name\ns1," + "A" * 40 + "\n")),
    Case("roster in Latin-1", R, r"r.csv: .*not UTF-8", roster("id,name\ns1,Jos\xe9\n".encode("latin-1"))),
    Case("roster in UTF-16", R, r"r.csv: .*UTF-16", roster("id,name\ns1,Ann\n".encode("utf-16"))),
    Case("roster binary", R, r"r.csv: .*binary", roster(b"\x00\x01\x02id\n")),
    Case("roster missing", ["exam", "exam.yaml", "--roster", "nope.csv", "--out", "out", "--secret", SECRET], r"nope.csv: .*(no such|not found|does not exist)"),
    Case("roster is a folder", ["exam", "exam.yaml", "--roster", "dir", "--out", "out", "--secret", SECRET], r"dir: .*folder", {"dir/x": "y"}),
    Case("roster and versions", [*R, "--versions", "2"], r"give either --versions or --roster, not both", roster("id\ns1\n"), code=1),
    # the output folder
    Case("out is a file", ["exam", "exam.yaml", "--out", "afile", "--secret", SECRET], r"--out afile: is a file, not a folder", {"afile": "mine"}),
    Case("out is the root", ["exam", "exam.yaml", "--out", "/", "--secret", SECRET], r"--out /: refusing to write into the file-system root"),
    Case("out is a folder qbank did not make", ["exam", "exam.yaml", "--out", "mine", "--secret", SECRET], r"--out mine: the folder exists and was not made by qbank", {"mine/thesis.tex": "my work"}),
    Case("out below a file", ["exam", "exam.yaml", "--out", "afile/sub", "--secret", SECRET], r"--out afile/sub: ", {"afile": "mine"}),
    # counts and seeds
    Case("versions huge", ["exam", "exam.yaml", "--versions", "100000", "--out", "out", "--secret", SECRET], r"--versions: expected at most 2000 versions, got 100000"),
    Case("versions zero", ["exam", "exam.yaml", "--versions", "0", "--out", "out", "--secret", SECRET], r"--versions: expected a positive integer"),
    Case("versions not a number", ["exam", "exam.yaml", "--versions", "ten", "--out", "out", "--secret", SECRET], r"--versions: expected a positive integer, got 'ten'"),
    Case("versions 5001 digits", ["exam", "exam.yaml", "--versions", "9" * 5001, "--out", "out", "--secret", SECRET], r"--versions: expected a positive integer"),
    Case("seed above 2^63-1", ["draw", "conv1d-forward", "--seed", str(2**63), "--out", "out"], r"--seed: expected an integer from 0 to 9223372036854775807 \(2\^63 - 1\)"),
    Case("seed negative", ["draw", "conv1d-forward", "--seed", "-1", "--out", "out"], r"--seed: expected"),
    Case("seed 5001 digits", ["draw", "conv1d-forward", "--seed", "1" * 5001, "--out", "out"], r"--seed: expected an integer from 0 to"),
    Case("jobs zero", ["exam", "exam.yaml", "--jobs", "0", "--out", "out", "--secret", SECRET], r"--jobs: expected a positive integer"),
    # bank LaTeX that would read files, loop, or confuse TeX: refused by field before any compile
    *[
        Case(f"bank text: {what}", exam_with(), rf"hostile.yaml: line 6: item 'bad': question: {message}",
             items=f"- id: bad\n  title: Bad\n  topic: hostile\n  points: 2\n  kind: short-answer\n  question: {text}\n  solution: Fine.\n")
        for what, text, message in [
            ("input of a system file", r"'See \input{/etc/hostname}'", r"\\input is not allowed in bank text"),
            ("input of the secret", r"'See \input{../../.qbank-secret}'", r"\\input is not allowed"),
            ("include", r"'\include{x}'", r"\\include is not allowed"),
            ("openin", r"'\openin1=x'", r"\\openin is not allowed"),
            ("write18", r"'\immediate\write18{ls}'", r"\\immediate is not allowed"),
            ("catcode", r"'\catcode`\$=12 x'", r"\\catcode is not allowed"),
            ("usepackage", r"'\usepackage{hyperref}'", r"\\usepackage is not allowed"),
            ("csname trick", r"'\csname input\endcsname{x}'", r"\\csname is not allowed"),
            ("end document", r"'x \end{document}'", r"(\\end\{document\} is not allowed|do not pair up)"),
            ("unbalanced open brace", "'Unbalanced {here'", r"1 '\{' never closed"),
            ("unbalanced close brace", "'Unbalanced here}'", r"a '\}' closes a brace that was never opened"),
            ("unbalanced dollar", "'Cost is $5'", r"unbalanced \$"),
            ("unbalanced display", r"'\[ x'", r"1 \\\[ but 0 \\\]"),
            ("begin without end", r"'\begin{itemize} x'", r"\\begin\{\.\.\.\} and \\end\{\.\.\.\} do not pair up"),
            ("Chinese text", "'Explain 卷积'", r"the character '卷' \(U\+5377.*cannot be typeset"),
            ("Greek letter", "'Take α = 1'", r"the character 'α' \(U\+03B1.*\$\\alpha\$"),
            ("emoji", "'Nice 🎉'", r"the character .*U\+1F389.*cannot be typeset"),
        ]
    ],
    Case("bank choice with an emoji", exam_with(), r"item 'bad': choices\[1\].text: the character .*U\+1F600",
         items="- id: bad\n  title: Bad\n  topic: hostile\n  points: 2\n  kind: multiple-choice\n  question: Q?\n  choices:\n"
               "    - {text: A, correct: true}\n    - {text: 'B 😀', correct: false}\n  solution: A.\n"),
    Case("bank part with a stray brace", exam_with(), r"item 'bad': parts\[1\].solution: 1 '\{' never closed",
         items="- id: bad\n  title: Bad\n  topic: hostile\n  kind: short-answer\n  parts:\n    - {points: 1, question: a, solution: b}\n"
               "    - {points: 1, question: c, solution: '{d'}\n"),
    # blueprint header texts: printed as text, so only characters and lengths matter
    Case("blueprint title in Chinese", ["exam", "hdr.yaml", "--out", "out", "--secret", SECRET], r"hdr.yaml: title: the character '期' .*cannot be typeset",
         {"hdr.yaml": "title: 期中考试\nsections:\n  - slots:\n      - item: hostile-mc\n"}),
    Case("blueprint course too long", ["exam", "hdr.yaml", "--out", "out", "--secret", SECRET], r"hdr.yaml: line 2: course: expected at most 80 characters",
         {"hdr.yaml": "title: T\ncourse: " + "Deep learning " * 8 + "\nsections:\n  - slots:\n      - item: hostile-mc\n"}),
    # manifests for rebuild
    *[
        Case(f"manifest: {what}", ["rebuild", "m.json", "--out", "out"], rf"m.json: {message}", {"m.json": text})
        for what, text, message in [
            ("not JSON", "{nope", r"line 1: invalid JSON"),
            ("a list", "[]", r"not a qbank exam manifest"),
            ("old format", '{"format": 99}', r"not a qbank exam manifest"),
            ("NaN", '{"format": 2, "x": NaN}', r"invalid manifest: NaN is not a number JSON allows"),
            ("no header", '{"format": 2}', r"manifest: missing field `header`"),
            ("header not a mapping", '{"format": 2, "header": 3}', r"manifest.header: expected dict"),
        ]
    ],
]


def manifest_cases(earlier: Path) -> list[Case]:
    """Damaged copies of the earlier build's real manifest."""
    good = json.loads((earlier / "out" / "instructor" / "manifest.json").read_text())

    def damaged(change) -> str:
        data = json.loads(json.dumps(good))
        change(data)
        return json.dumps(data)

    def drop(path):
        def change(data):
            *head, last = path
            for key in head:
                data = data[key]
            del data[last]
        return change

    def put(path, value):
        def change(data):
            *head, last = path
            for key in head:
                data = data[key]
            data[last] = value
        return change

    table = [
        ("no versions", drop(["versions"]), r"manifest: missing field `versions`"),
        ("versions not a list", put(["versions"], {}), r"manifest.versions: expected list"),
        ("no folder", drop(["versions", 0, "folder"]), r"versions\[0\]: missing field `folder`"),
        ("folder escapes", put(["versions", 0, "folder"], "../../etc"), r"versions\[0\].folder: '../../etc' is not a version or student folder name"),
        ("folder twice", put(["versions", 1, "folder"], "V01"), r"versions\[1\].folder: 'V01' is not a version"),
        ("no questions", drop(["versions", 0, "questions"]), r"versions\[0\]: missing field `questions`"),
        ("question without item", drop(["versions", 0, "questions", 0, "item"]), r"questions\[0\]: missing field `item`"),
        ("points as text", put(["versions", 0, "questions", 0, "points"], "2"), r"questions\[0\].points: expected"),
        ("no choice order", drop(["versions", 0, "questions", 0, "choice_order"]), r"questions\[0\]: missing field `choice_order`"),
        ("unknown kind", put(["versions", 0, "questions", 0, "item", "kind"], "essay"), r"neither a family nor a known kind"),
        ("student name in Chinese", put(["versions", 0, "student"], {"id": "v01", "name": "王"}), r"student.name: the character '王'"),
        ("no blueprint digest", drop(["blueprint", "sha256"]), r"blueprint: missing field `sha256`"),
        ("cover not a flag", put(["cover"], "yes"), r"manifest.cover: expected bool"),
    ]
    return [Case(f"manifest: {what}", ["rebuild", "m.json", "--out", "out"], rf"m.json: .*{message}", {"m.json": damaged(change)}) for what, change, message in table]


def run_case(case: Case, earlier: Path, tmp_path: Path, monkeypatch, capsys) -> str:
    shutil.copytree(earlier / "out", tmp_path / "out")
    before = snapshot(tmp_path / "out")
    content = tmp_path / "content"
    (content / "bank" / "items").mkdir(parents=True)
    (content / "bank" / "items" / "hostile.yaml").write_text(case.items or MC_ITEM)
    (tmp_path / "exam.yaml").write_text(BLUEPRINT.format(item="bad" if case.items else "hostile-mc"))
    for name, data in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QBANK_PATH", str(content))
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    try:
        code = main(case.argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert snapshot(tmp_path / "out") == before, f"{case}: the earlier build changed"
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_hostile_input_is_one_clear_error_and_touches_nothing(case, earlier_build, tmp_path, monkeypatch, capsys):
    code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    assert code == case.code, (case, err)
    assert last.startswith(("qbank: error:", "usage:")) or "error:" in last, last
    import re

    assert re.search(case.expected, last), f"{case}: {last}"


def test_damaged_manifests_are_one_clear_error(earlier_build, tmp_path_factory, monkeypatch, capsys):
    import re

    for case in manifest_cases(earlier_build):
        tmp_path = tmp_path_factory.mktemp("manifest")
        code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
        last = err.strip().splitlines()[-1]
        assert code == 2 and re.search(case.expected, last), f"{case}: {last}"


# --- the cases that compile ----------------------------------------------------------------------------


def test_a_roster_with_an_excel_bom_is_accepted(earlier_build, tmp_path, monkeypatch, capsys):
    argv = ["exam", "exam.yaml", "--roster", "r.csv", "--out", "bom", "--secret", SECRET]
    case = Case("bom", argv, "", roster("\ufeffid,name\ns1,Zoë Ångström\n".encode("utf-8")))
    code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    assert code == 0, err
    assert "Zoë Ångström" in pdf_text(tmp_path / "bom" / "students" / "s1" / "exam.pdf")


@pytest.mark.pdf
def test_tex_reads_nothing_outside_its_folder(tmp_path):
    """Even LaTeX the field check never sees (an instructor's own family template) cannot read a file
    outside its build folder: /etc/hostname, or the secret two folders up."""
    from conftest import run_qbank, write_content_root

    (tmp_path / ".qbank-secret").write_text(SECRET)
    for target in ("/etc/hostname", "../../.qbank-secret"):
        content = write_content_root(
            tmp_path / f"plugin{len(target)}", "test-reads-files", solve_body="params['x']",
            check_body="assert answers['answer'] == params['x']",
            template="\\BLOCK{block problem}Read \\input{%s}\\BLOCK{endblock}\n\\BLOCK{block solution}x\\BLOCK{endblock}\n" % target,
        )
        out = tmp_path / f"out{len(target)}"
        proc = run_qbank("draw", "test-reads-files", "--out", str(out), env={"QBANK_PATH": str(content)}, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        line = proc.stderr.strip().splitlines()[-1]
        assert "LaTeX error in test-reads-files seed 0 (problem)" in line and target in line
        assert "reads only its own build folder" in line
        assert not out.exists()


@pytest.mark.pdf
def test_a_loop_in_tex_stops_in_seconds_naming_the_question(earlier_build, tmp_path, monkeypatch, capsys):
    items = "- id: bad\n  title: Bad\n  topic: hostile\n  points: 2\n  kind: short-answer\n  question: '\\def\\x{\\x}\\x'\n  solution: Fine.\n"
    case = Case("loop", exam_with(), "", items=items, env={"QBANK_TEX_TIMEOUT": "2"})
    code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    assert code == 1
    assert re.search(r"did not finish students/v01/exam.tex within [234] s while typesetting item bad \(problem\)", err)
    assert (tmp_path / "out.failed" / ".qbank-failed").is_file()


def test_a_failed_folder_qbank_did_not_make_is_kept(earlier_build, tmp_path, monkeypatch, capsys):
    items = "- id: bad\n  title: Bad\n  topic: hostile\n  points: 2\n  kind: short-answer\n  question: '\\undefinedcommand'\n  solution: Fine.\n"
    case = Case("failed", exam_with(), "", items=items, files={"out.failed/notes.txt": "my notes"})
    code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    assert code == 1 and "Undefined control sequence" in err and "out.failed-2" in err
    assert (tmp_path / "out.failed" / "notes.txt").read_text() == "my notes"


def test_a_second_build_into_the_same_folder_stops_at_once(earlier_build, tmp_path, monkeypatch, capsys):
    lock = open(tmp_path / ".out.lock", "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        case = Case("lock", exam_with(), "")
        code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    finally:
        lock.close()
    assert code == 2 and "another qbank build is writing this folder right now" in err


def test_a_smaller_build_replaces_the_folder_as_a_whole(earlier_build, tmp_path, monkeypatch, capsys):
    case = Case("smaller", ["exam", "exam.yaml", "--versions", "1", "--out", "fresh", "--secret", SECRET], "")
    shutil.copytree(earlier_build / "out", tmp_path / "fresh")
    code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "fresh" / "students").iterdir()) == ["v01"]
    assert sorted(p.name for p in (tmp_path / "fresh" / "instructor").iterdir()) == ["key.csv", "key.json", "manifest.json", "pages.csv", "v01"]
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".old-" in p.name or ".work-" in p.name]


# --- stopping: a looping document, SIGTERM and Ctrl-C --------------------------------------------------

LOOP_ITEM = "- id: bad\n  title: Bad\n  topic: hostile\n  points: 2\n  kind: short-answer\n  question: '\\def\\x{\\x}\\x'\n  solution: Fine.\n"


def pdflatex_running_in(folder: Path) -> list[int]:
    """The pids of pdflatex processes whose working folder is below `folder`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if "pdflatex" in (proc / "comm").read_text() and Path(os.readlink(proc / "cwd")).is_relative_to(folder):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.pdf
def test_a_looping_document_stops_the_whole_build_at_once(earlier_build, tmp_path, monkeypatch, capsys):
    """The first document that fails cancels the rest: with one job, the looping exam of version 1 is
    the only document compiled (before: each of the four ran into its own time limit)."""
    case = Case("loop", exam_with(extra=["--versions", "2", "--jobs", "1"]), "", items=LOOP_ITEM, env={"QBANK_TEX_TIMEOUT": "2"})
    started = time.monotonic()
    code, err = run_case(case, earlier_build, tmp_path, monkeypatch, capsys)
    elapsed = time.monotonic() - started
    assert code == 1
    limit = re.search(r"did not finish students/v01/exam.tex within ([0-9]+) s while typesetting item bad \(problem\)", err)
    assert limit, err
    logs = [p.relative_to(tmp_path / "out.failed").as_posix() for p in (tmp_path / "out.failed").rglob("*.log")]
    assert logs in ([], ["students/v01/exam/exam.log"]), f"documents compiled after the first failed: {logs}"
    assert elapsed < 3 * int(limit.group(1)) + 5, f"{elapsed:.1f} s"
    assert not pdflatex_running_in(tmp_path)


@pytest.mark.pdf
def test_a_failed_document_kills_the_compiles_still_running(tmp_path, monkeypatch):
    """Two documents at once: one fails at its first line, the other loops with a minute to go; the
    build stops when the first fails, killing the second's pdflatex."""
    from qbank.errors import LatexError
    from qbank.latex import Document, build_pdfs

    monkeypatch.setenv("QBANK_TEX_TIMEOUT", "60")
    docs = [Document("broken", "\\documentclass{article}\\begin{document}\\undefinedcommand\\end{document}\n"),
            Document("loop", "\\documentclass{article}\\begin{document}\\def\\x{\\x}\\x\\end{document}\n")]
    started = time.monotonic()
    with pytest.raises(LatexError, match=r"broken.tex line 1.*Undefined control sequence") as error:
        build_pdfs(docs, tmp_path / "out", jobs=2, cache=False)
    assert time.monotonic() - started < 30, "the looping document ran on"
    assert not (tmp_path / "out").exists()
    assert not pdflatex_running_in(tmp_path)
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name or ".work-" in p.name]


@pytest.mark.pdf
@pytest.mark.parametrize("signum, line, code", [(signal.SIGTERM, "qbank: terminated (SIGTERM)", 143),
                                                (signal.SIGINT, "qbank: interrupted", 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_compile_leaves_the_previous_output_and_nothing_else(earlier_build, tmp_path, signum, line, code):
    """A real build, stopped while pdflatex runs: its staging and work folders are removed, pdflatex is
    killed, the previous output is as it was, one line says so, and the exit status is not 0."""
    from conftest import QBANK

    shutil.copytree(earlier_build / "out", tmp_path / "out")
    before = snapshot(tmp_path / "out")
    content = tmp_path / "content"
    (content / "bank" / "items").mkdir(parents=True)
    (content / "bank" / "items" / "hostile.yaml").write_text(LOOP_ITEM)
    (tmp_path / "exam.yaml").write_text(BLUEPRINT.format(item="bad"))
    env = {**os.environ, "QBANK_PATH": str(content), "QBANK_TEX_TIMEOUT": "120"}
    proc = subprocess.Popen([*QBANK, "exam", "exam.yaml", "--versions", "2", "--out", "out", "--secret", SECRET],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not pdflatex_running_in(tmp_path) or not list(tmp_path.glob(".out.work-*/**/*.tex")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "pdflatex never started"
            time.sleep(0.1)
        time.sleep(0.5)  # mid-compile
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for pid in pdflatex_running_in(tmp_path):  # what the build left running (before: the looping pdflatex)
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == line and "Traceback" not in err, err
    assert snapshot(tmp_path / "out") == before
    assert not [p.name for p in tmp_path.iterdir() if ".staging-" in p.name or ".work-" in p.name or ".old-" in p.name]
    assert not (tmp_path / "out.failed").exists()
