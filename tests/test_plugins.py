"""An instructor's own families (QBANK_PATH): clashes, broken modules, non-JSON samplers and missing
folders are each one clear `qbank: error:` line naming the file (and line) or field.

Each case writes a content folder into tmp_path and runs the CLI in a subprocess, as a user would;
the subprocesses of the table run side by side (they are independent), so the table takes seconds."""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_qbank, write_content_root

from qbank import Answer, Family, FamilyError, draw

TEMPLATE = (
    "\\BLOCK{block problem}What is $\\VAR{params.x}$?\\BLOCK{endblock}\n"
    "\\BLOCK{block solution}\\VAR{answers.answer}\\BLOCK{endblock}\n"
)
SAMPLE = "int(rng.integers(0, 10))"


def plugin(root: Path, family_id: str = "test-plugin", solve: str = "params['x']") -> Path:
    """A content folder with one family; returns its generator module."""
    write_content_root(root, family_id, solve_body=solve, check_body="assert answers['answer'] == params['x']",
                       template=TEMPLATE)
    return root / "generators" / f"{family_id.replace('-', '_')}.py"


def edit(module: Path, old: str, new: str) -> None:
    text = module.read_text()
    assert old in text, (old, text)
    module.write_text(text.replace(old, new))


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


BUILT_IN = ROOT / "generators" / "conv.py"


# Each case: (name, setup(tmp) -> (argv, QBANK_PATH), expected(tmp) -> the exact last stderr line).
# setup returns paths relative to nothing: everything lives below `tmp`.


def same_class_name(tmp):
    module = plugin(tmp / "p", "conv1d-forward")
    edit(module, "class Custom", "class Conv1dForward")
    return ["list"], str(tmp / "p")


def other_class_name(tmp):
    plugin(tmp / "p", "conv1d-forward")
    return ["list"], str(tmp / "p")


def replaced_built_in(class_name):
    def expected(tmp):
        module = tmp / "p" / "generators" / "conv1d_forward.py"
        return (f"qbank: error: family id 'conv1d-forward' is defined twice: "
                f"{BUILT_IN} line {line_of(BUILT_IN, 'class Conv1dForward')} (class Conv1dForward) and "
                f"{module} line 3 (class {class_name}); rename one of them (a family of your own cannot replace another)")
    return expected


def two_plugins(tmp):
    plugin(tmp / "a", "test-twice")
    plugin(tmp / "b", "test-twice")
    return ["list"], f"{tmp / 'a'}{os.pathsep}{tmp / 'b'}"


def two_plugins_expected(tmp):
    a, b = (tmp / name / "generators" / "test_twice.py" for name in "ab")
    return (f"qbank: error: family id 'test-twice' is defined twice: {a} line 3 (class Custom) and {b} line 3 "
            "(class Custom); rename one of them (a family of your own cannot replace another)")


def two_classes_one_file(tmp):
    module = plugin(tmp / "p")
    text = module.read_text()
    module.write_text(text + "\n" + text.split("\n", 1)[1].replace("class Custom", "class Again"))
    return ["list"], str(tmp / "p")


def two_classes_expected(tmp):
    module = tmp / "p" / "generators" / "test_plugin.py"
    return (f"qbank: error: family id 'test-plugin' is defined twice: {module} line 3 (class Custom) and {module} "
            f"line {line_of(module, 'class Again')} (class Again); rename one of them (a family of your own cannot replace another)")


def syntax_error(tmp):
    module = plugin(tmp / "p")
    module.write_text(module.read_text() + "\ndef broken(:\n    pass\n")
    return ["list"], str(tmp / "p")


def syntax_expected(tmp):
    module = tmp / "p" / "generators" / "test_plugin.py"
    return (f"qbank: error: {module}: line {line_of(module, 'def broken')}: syntax error in generator module: "
            "invalid syntax in `def broken(:`")


def import_error(tmp):
    module = plugin(tmp / "p")
    module.write_text("import numpy\nimport no_such_module_here\n" + module.read_text())
    return ["list"], str(tmp / "p")


def import_expected(tmp):
    module = tmp / "p" / "generators" / "test_plugin.py"
    return (f"qbank: error: {module}: line 2: could not load generator module: ModuleNotFoundError: "
            "No module named 'no_such_module_here'")


def error_in_a_helper(tmp):
    module = plugin(tmp / "p")
    module.write_text(module.read_text() + "\ndef table():\n    return {'a': 1}['b']\n\nTABLE = table()\n")
    return ["list"], str(tmp / "p")


def helper_expected(tmp):
    module = tmp / "p" / "generators" / "test_plugin.py"
    line = line_of(module, "    return {'a': 1}['b']")
    return f"qbank: error: {module}: line {line}: could not load generator module: KeyError: 'b'"


def exits_at_import(tmp):
    module = plugin(tmp / "p")
    module.write_text("import sys\nsys.exit(4)\n" + module.read_text())
    return ["list"], str(tmp / "p")


def exits_expected(tmp):
    module = tmp / "p" / "generators" / "test_plugin.py"
    return f"qbank: error: {module}: line 2: could not load generator module: SystemExit: 4"


def bad_card(tmp):
    module = plugin(tmp / "p")
    edit(module, "    title = 'An instructor family for tests'\n", "")
    return ["list"], str(tmp / "p")


def bad_card_expected(tmp):
    module = tmp / "p" / "generators" / "test_plugin.py"
    return f"qbank: error: {module}: line 3: family class Custom: the card needs a non-empty `title`"


def numpy_sampler(tmp):
    edit(plugin(tmp / "p"), SAMPLE, "rng.integers(0, 10)")
    return ["draw", "test-plugin", "--format", "json"], str(tmp / "p")


def missing_folder(tmp):
    return ["list"], str(tmp / "nowhere")


CASES = {
    "duplicate id, same class name as the built-in": (same_class_name, replaced_built_in("Conv1dForward")),
    "duplicate id, another class name": (other_class_name, replaced_built_in("Custom")),
    "two plugins with one id": (two_plugins, two_plugins_expected),
    "two classes of one file with one id": (two_classes_one_file, two_classes_expected),
    "syntax error": (syntax_error, syntax_expected),
    "import error": (import_error, import_expected),
    "error in a helper at import": (error_in_a_helper, helper_expected),
    "sys.exit at import": (exits_at_import, exits_expected),
    "card without a title": (bad_card, bad_card_expected),
    "numpy int sampler": (numpy_sampler, lambda tmp: "qbank: error: family test-plugin: sample() returned params.x as "
                          "numpy.int64; return plain Python numbers (int(...), float(...)) and lists"),
    "missing QBANK_PATH folder": (missing_folder, lambda tmp: f"qbank: error: QBANK_PATH: no such folder {tmp / 'nowhere'}"),
}


def listed_twice(tmp):
    plugin(tmp / "p")
    return ["list"], os.pathsep.join([str(tmp / "p"), str(tmp / "p"), ""])


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every case of the table (and the one accepted case, `listed twice`), run at once: name -> (tmp
    folder, finished process)."""
    jobs = {}
    for index, (name, setup) in enumerate([*((name, case[0]) for name, case in CASES.items()), ("listed twice", listed_twice)]):
        tmp = tmp_path_factory.mktemp(f"plugin{index}")
        argv, qbank_path = setup(tmp)
        jobs[name] = (tmp, argv, qbank_path)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(run_qbank, *argv, env={"QBANK_PATH": qp}) for name, (_, argv, qp) in jobs.items()}
        return {name: (jobs[name][0], future.result()) for name, future in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_a_broken_plugin_is_one_clear_error(cli_runs, name):
    tmp, proc = cli_runs[name]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == CASES[name][1](tmp)


def test_a_folder_listed_twice_is_loaded_once(cli_runs):
    _, proc = cli_runs["listed twice"]
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()].count("test-plugin") == 1


# The same checks in-process, for every kind of value that is not plain JSON data (fast: no CLI).


class _Plain(Family):
    id = "test-plain-data"
    title = "Returns what it is told to"
    topic = "test"
    answers = {"answer": Answer("integer", "the answer")}
    value = None  # what sample() puts into params.x
    answer = None  # what solve() returns as answers.answer (None: params.x)

    def sample(self, rng):
        return {"x": self.value} if not callable(self.value) else self.value()

    def solve(self, params):
        return {"answer": self.answer if self.answer is not None else params["x"]}

    def check(self, params, answers):
        pass


def family_returning(value=None, answer=None) -> Family:
    fam = _Plain()
    fam.value, fam.answer = value, answer
    return fam


ADVICE = "return plain Python numbers (int(...), float(...)) and lists"
NUMPY_BOOL = f"numpy.{type(np.bool_(True)).__name__}"  # numpy.bool (numpy 2) or numpy.bool_


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.int64(3), f"sample() returned params.x as numpy.int64; {ADVICE}"),
        (np.float64(0.5), f"sample() returned params.x as numpy.float64; {ADVICE}"),
        (np.bool_(True), f"sample() returned params.x as {NUMPY_BOOL}; return plain Python booleans: bool(...)"),
        (np.arange(3), "sample() returned params.x as numpy.ndarray; return a list: x.tolist()"),
        ([1, [2, np.int32(3)]], f"sample() returned params.x[1][1] as numpy.int32; {ADVICE}"),
        ((1, 2), "sample() returned params.x as a tuple; return a list"),
        ({1, 2}, "sample() returned params.x as a set; return a sorted list"),
        ({3: "a"}, "sample() returned params.x with the key 3 (int); use text keys: str(...)"),
        ({"ok": {(1, 2): 0}}, "sample() returned params.x.ok with the key (1, 2) (tuple); use text keys: str(...)"),
        (math.nan, "sample() returned params.x as nan, which JSON cannot hold; return a finite number"),
        (-math.inf, "sample() returned params.x as -inf, which JSON cannot hold; return a finite number"),
        (np.str_("a"), "sample() returned params.x as numpy.str_; return plain text: str(...)"),
        (lambda: [1, 2], "sample() returned a list; return a dict of params"),
    ],
)
def test_sampled_params_must_be_plain_json_data(value, expected):
    with pytest.raises(FamilyError) as caught:
        draw(family_returning(value), 0)
    assert str(caught.value) == f"family test-plain-data: {expected}"


def test_non_json_values_from_other_libraries_say_what_to_return():
    from fractions import Fraction

    with pytest.raises(FamilyError) as caught:
        draw(family_returning(Fraction(1, 3)), 0)
    assert str(caught.value) == (
        "family test-plain-data: sample() returned params.x as fractions.Fraction, which is not plain JSON data; "
        "return plain Python numbers (int(...), float(...)), text, booleans, lists and dicts")


@pytest.mark.parametrize(
    "answer, expected",
    [
        (np.int64(3), f"solve() returned answers.answer as numpy.int64; {ADVICE}"),
        ({1, 2}, "solve() returned answers.answer as a set; return a sorted list"),
        ([0.5, math.nan], "solve() returned answers.answer[1] as nan, which JSON cannot hold; return a finite number"),
        ((1, 2), "solve() returned answers.answer as a tuple; return a list"),
    ],
)
def test_solved_answers_must_be_plain_json_data(answer, expected):
    with pytest.raises(FamilyError) as caught:
        draw(family_returning(1, answer), 0)
    assert str(caught.value) == f"family test-plain-data: {expected}"


def test_a_value_holding_itself_is_an_error_not_a_hang():
    loop: list = []
    loop.append(loop)
    with pytest.raises(FamilyError, match=r"^family test-plain-data: sample\(\) returned params\.x(\[0\])+ nested more "
                                          r"than 50 levels deep \(or holding itself\); return flatter data$"):
        draw(family_returning(loop), 0)


def test_plain_values_pass():
    value = {"a": [1, 2.5, True, None, "text", [[-1, 0]]], "b": {"c": 10**30}}
    variant = draw(family_returning(value, answer=7), 0)
    assert variant.to_dict()["params"] == {"x": value} and variant.answers["answer"] == 7


def test_the_error_names_no_private_module(cli_runs):
    # what the loader calls a plugin module internally never reaches the user
    for tmp, proc in cli_runs.values():
        assert not re.search(r"qbank_content_\w+", proc.stderr), proc.stderr


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda tmp: tmp / "nowhere", "QBANK_PATH: no such folder {}"),
        (lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile",
         "QBANK_PATH: {} is a file, not a folder of generators/, templates/ and bank/"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty",
         "QBANK_PATH: {} holds none of generators/, templates/ and bank/ (is it the right folder?)"),
    ],
)
def test_every_qbank_path_entry_must_be_a_content_folder(tmp_path, monkeypatch, make, expected):
    from qbank.errors import InputError
    from qbank.paths import content_roots

    entry = make(tmp_path)
    (tmp_path / "good" / "bank").mkdir(parents=True)
    monkeypatch.setenv("QBANK_PATH", f"{tmp_path / 'good'}{os.pathsep}{entry}")
    with pytest.raises(InputError) as caught:
        content_roots()
    assert str(caught.value) == expected.format(entry)


def test_qbank_path_roots_come_once_in_order(tmp_path, monkeypatch):
    from qbank.paths import ROOT as QBANK_ROOT
    from qbank.paths import content_roots

    for name in ("a", "b"):
        (tmp_path / name / "templates").mkdir(parents=True)
    monkeypatch.setenv("QBANK_PATH", os.pathsep.join(["", str(tmp_path / "b"), str(tmp_path / "a"), str(tmp_path / "b"), str(QBANK_ROOT)]))
    assert content_roots() == [QBANK_ROOT, tmp_path / "b", tmp_path / "a"]
