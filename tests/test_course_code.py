"""Course code cannot hang or take over qbank (qbank.coursecode): a family that never returns ends with
an error naming the family, the method, its line and the limit (QBANK_DRAW_TIMEOUT); sys.exit and
other BaseExceptions are errors naming the family and file; prints go to stderr; a huge file in a
template folder is an error naming it, not a read of it whole.

The CLI cases each write a content folder (QBANK_PATH) and run the real `qbank` in a subprocess; they
run side by side, so the table takes a few seconds."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import QBANK, ROOT

from qbank import Answer, Family, FamilyError, draw
from qbank.errors import InputError

SAMPLE = "        return {'x': int(rng.integers(0, 10))}\n"
TEMPLATE = (
    "\\BLOCK{block problem}What is $\\VAR{params.x}$?\\BLOCK{endblock}\n"
    "\\BLOCK{block solution}\\VAR{answers.answer}\\BLOCK{endblock}\n"
)
BLUEPRINT = "title: Course code\noptions: {cover: false}\nsections:\n  - slots:\n      - %s\n        points: 2\n"
LIMIT = "1"  # QBANK_DRAW_TIMEOUT of the hanging cases, in seconds
ADVICE = "course code must return or raise an ordinary exception, never end qbank"
LOOP = "an endless loop? (QBANK_DRAW_TIMEOUT sets the seconds course code may take; 0: no limit)"


def content(root: Path, *, top: str = "", sample: str = "", solve: str = "", check: str = "", methods: str = "") -> Path:
    """A content folder with the family `test-odd`; each argument is code put at the start of the module
    or of that method (`methods`: more methods of the class). Returns the module's path."""
    (root / "generators").mkdir(parents=True)
    (root / "templates" / "test").mkdir(parents=True)
    (root / "templates" / "test" / "test-odd.tex.j2").write_text(TEMPLATE)
    module = root / "generators" / "odd.py"
    module.write_text(
        "import sys, time\n"
        "from qbank import Answer, Family, register\n"
        f"{top}"
        "class Stop(BaseException):\n"
        "    pass\n"
        "@register\n"
        "class Odd(Family):\n"
        "    id = 'test-odd'\n"
        "    title = 'Odd'\n"
        "    topic = 'test'\n"
        "    answers = {'answer': Answer('integer', 'the answer')}\n"
        "    def sample(self, rng):\n"
        f"{sample}{SAMPLE}"
        "    def solve(self, params):\n"
        f"{solve}"
        "        return {'answer': params['x']}\n"
        "    def check(self, params, answers):\n"
        f"{check}"
        "        assert answers['answer'] == params['x']\n"
        f"{methods}"
    )
    (root / "exam.yaml").write_text(BLUEPRINT % "family: test-odd")
    return module


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == text)


def exam(tmp: Path) -> list[str]:
    return ["exam", str(tmp / "p" / "exam.yaml"), "--out", str(tmp / "out"), "--secret", "course-code-secret-5f1e8a2b9c7d3e6f0a4b"]


# Each case: setup(tmp) -> (argv, extra environment), and expected(tmp) -> (exit code, the last stderr line:
# exactly, or its end where qbank names the blueprint's slot before the family's error).


def exits_in_sample(tmp):
    content(tmp / "p", sample="        sys.exit(0)\n")
    return exam(tmp), {}


def exits_expected(tmp):
    module = tmp / "p" / "generators" / "odd.py"
    return 2, f"qbank: error: family test-odd: sample() called sys.exit(0) ({module}: line {line_of(module, 'sys.exit(0)')}); {ADVICE}"


def exits_in_a_bank_items_sample(tmp):
    """The bank calls sample() itself when it loads a course item (qbank.bank): guarded there too."""
    content(tmp / "p", sample="        raise SystemExit\n")
    (tmp / "p" / "bank" / "items").mkdir(parents=True)
    (tmp / "p" / "bank" / "items" / "odd.yaml").write_text(
        "- id: odd-item\n  title: Odd item\n  topic: test\n  family: test-odd\n  points: 2\n")
    (tmp / "p" / "exam.yaml").write_text(BLUEPRINT % "item: odd-item")
    return exam(tmp), {}


def bank_exit_expected(tmp):
    module = tmp / "p" / "generators" / "odd.py"
    return 2, f"qbank: error: family test-odd: sample() called sys.exit() ({module}: line {line_of(module, 'raise SystemExit')}); {ADVICE}"


def base_exception_in_solve(tmp):
    content(tmp / "p", solve="        raise Stop('not an Exception')\n")
    return ["draw", "test-odd", "--format", "json"], {}


def base_exception_expected(tmp):
    module = tmp / "p" / "generators" / "odd.py"
    line = line_of(module, "raise Stop('not an Exception')")
    return 2, f"qbank: error: family test-odd: solve() raised Stop: not an Exception ({module}: line {line}); {ADVICE}"


def interrupted_in_sample(tmp):
    content(tmp / "p", sample="        raise KeyboardInterrupt\n")
    return ["draw", "test-odd", "--format", "json"], {}


def hangs_in_sample(tmp):
    content(tmp / "p", sample="        while True: pass  # samples forever\n")
    return ["draw", "test-odd", "--format", "json"], {"QBANK_DRAW_TIMEOUT": LIMIT}


def hang_expected(method, line_text):
    def expected(tmp):
        module = tmp / "p" / "generators" / "odd.py"
        where = f"{module}: line {line_of(module, line_text)}"
        return 2, f"qbank: error: family test-odd: {method} did not finish within {LIMIT} s ({where}): {LOOP}"
    return expected


def hangs_catching_everything(tmp):
    """A family that swallows the interruption (twice) still ends: it comes again until it leaves."""
    content(tmp / "p", sample=(
        "        for _ in range(2):\n"
        "            try:\n"
        "                time.sleep(60)\n"
        "            except BaseException:\n"
        "                pass\n"
        "        while True:\n"
        "            try:\n"
        "                time.sleep(61)\n"
        "            except Exception:\n"
        "                pass\n"))
    return ["draw", "test-odd", "--format", "json"], {"QBANK_DRAW_TIMEOUT": LIMIT}


def hangs_in_check_of_an_exam(tmp):
    content(tmp / "p", check="        while answers: pass  # checks forever\n")
    return exam(tmp), {"QBANK_DRAW_TIMEOUT": LIMIT}


def hangs_in_context(tmp):
    """Course code called from elsewhere than a draw (here the templates' context) has its limit too."""
    content(tmp / "p", methods="    def context(self, params, answers):\n        while params: pass  # renders forever\n")
    return ["draw", "test-odd", "--format", "tex", "--out", str(tmp / "out")], {"QBANK_DRAW_TIMEOUT": LIMIT}


def hangs_at_import(tmp):
    content(tmp / "p", top="while True: pass  # loads forever\n")
    return ["list"], {"QBANK_DRAW_TIMEOUT": LIMIT}


def import_hang_expected(tmp):
    module = tmp / "p" / "generators" / "odd.py"
    return 2, (f"qbank: error: {module}: loading the generator module did not finish within {LIMIT} s "
               f"(line {line_of(module, 'while True: pass  # loads forever')}): {LOOP}")


def bad_timeout(tmp):
    return ["draw", "conv1d-forward", "--format", "json"], {"QBANK_DRAW_TIMEOUT": "soon"}


def huge_template(tmp):
    """A sparse 8 GB file: no disk used, and read whole it would need 8 GB of memory (the run is limited
    to 4 GB of address space, so that a qbank reading it whole fails at once instead of swapping)."""
    content(tmp / "p")
    with open(tmp / "p" / "templates" / "test" / "data.bin", "wb") as handle:
        handle.truncate(8 << 30)
    return exam(tmp), {}


def huge_expected(tmp):
    path = tmp / "p" / "templates" / "test" / "data.bin"
    return 2, (f"qbank: error: {path}: 8 GB, more than qbank reads from a content folder (64 MB a file: every build "
               "hashes templates/ and generators/ for its cache); move it out of the folder")


CASES = {
    "sys.exit(0) in sample(), exam": (exits_in_sample, exits_expected),
    "SystemExit in sample(), a course bank item": (exits_in_a_bank_items_sample, bank_exit_expected),
    "a BaseException in solve()": (base_exception_in_solve, base_exception_expected),
    "Ctrl-C in sample() stays Ctrl-C": (interrupted_in_sample, lambda tmp: (130, "qbank: interrupted")),
    "sample() never returns": (hangs_in_sample, hang_expected("sample()", "while True: pass  # samples forever")),
    "sample() never returns and catches the interruption": (
        hangs_catching_everything, hang_expected("sample()", "time.sleep(61)")),
    "check() never returns, exam": (hangs_in_check_of_an_exam, hang_expected("check()", "while answers: pass  # checks forever")),
    "context() never returns, LaTeX of a draw": (hangs_in_context, hang_expected("context()", "while params: pass  # renders forever")),
    "the module never finishes loading": (hangs_at_import, import_hang_expected),
    "QBANK_DRAW_TIMEOUT not a number": (bad_timeout, lambda tmp: (
        2, "qbank: error: QBANK_DRAW_TIMEOUT: expected a number of seconds (0 for no limit), got 'soon'")),
    "an 8 GB file in templates/": (huge_template, huge_expected),
}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run_cli(*args: str, env: dict, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess, float]:
    """The real `qbank` (as conftest.run_qbank runs it) with a short time limit and at most 4 GB of memory:
    a qbank that hangs or reads 8 GB fails here fast."""
    start = time.monotonic()
    try:
        proc = subprocess.run([*QBANK, *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **env},
                              timeout=60, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired as exc:
        proc = subprocess.CompletedProcess(exc.cmd, -1, exc.stdout or "", f"(no end within {exc.timeout} s)")
    return proc, time.monotonic() - start


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every case, run at once: name -> (tmp folder, finished process, seconds)."""
    jobs = {}
    for index, (name, (setup, _)) in enumerate([*CASES.items(), ("prints", (prints_everywhere, None))]):
        tmp = tmp_path_factory.mktemp(f"course{index}")
        argv, env = setup(tmp)
        jobs[name] = (tmp, argv, {"QBANK_PATH": str(tmp / "p"), **env})
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(run_cli, *argv, env=env) for name, (_, argv, env) in jobs.items()}
        return {name: (jobs[name][0], *future.result()) for name, future in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_course_code_that_misbehaves_is_one_clear_error(cli_runs, name):
    tmp, proc, seconds = cli_runs[name]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    code, line = CASES[name][1](tmp)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == code, proc.stderr
    assert last == line or last.startswith("qbank: error: ") and last.endswith(": " + line.removeprefix("qbank: error: ")), last
    assert not (tmp / "out").exists()  # nothing built, nothing half-built
    assert seconds < 30  # a second of limit, a second or two more for the interruptions it swallowed


def prints_everywhere(tmp):
    content(tmp / "p", top="print('loading odd')\n", sample="        print('sampling', rng)\n",
            solve="        print('solving')\n", check="        print('checking')\n")
    return ["draw", "test-odd", "--seed", "4", "--format", "json"], {}


def test_prints_of_course_code_go_to_stderr_not_into_the_output(cli_runs):
    _, proc, _ = cli_runs["prints"]
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["family"] == "test-odd"  # stdout is the JSON and nothing else
    for text in ("loading odd", "sampling", "solving", "checking"):
        assert text in proc.stderr


# --- in-process: a family outside the registry, the timer left as it was ------------------------------


class _Misbehaving(Family):
    id = "test-misbehaving"
    title = "Does what it is told to"
    topic = "test"
    answers = {"answer": Answer("integer", "the answer")}
    how = "return"

    def sample(self, rng):
        if self.how == "exit":
            raise SystemExit(3)
        if self.how == "hang":
            while True:
                pass
        return {"x": 1}

    def solve(self, params):
        return {"answer": params["x"]}

    def check(self, params, answers):
        pass


def misbehaving(how: str) -> Family:
    fam = _Misbehaving()
    fam.how = how
    return fam


def test_a_family_outside_the_registry_is_guarded_by_the_engine(monkeypatch):
    with pytest.raises(FamilyError, match=r"^family test-misbehaving: sample\(\) called sys.exit\(3\) \(.*test_course_code.py: "
                                          r"line \d+\); course code must return"):
        draw(misbehaving("exit"), 0)
    monkeypatch.setenv("QBANK_DRAW_TIMEOUT", "0.3")
    start = time.monotonic()
    with pytest.raises(FamilyError, match=r"^family test-misbehaving: sample\(\) did not finish within 0.3 s"):
        draw(misbehaving("hang"), 0)
    assert time.monotonic() - start < 5


def test_the_timer_and_its_handler_are_left_as_they_were(monkeypatch):
    def mine(signum, frame):
        raise AssertionError("someone else's timer fired inside the draw")

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        signal.setitimer(signal.ITIMER_REAL, 100)
        draw(misbehaving("return"), 0)
        monkeypatch.setenv("QBANK_DRAW_TIMEOUT", "0.2")
        with pytest.raises(FamilyError):
            draw(misbehaving("hang"), 0)
        assert signal.getsignal(signal.SIGALRM) is mine
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 90 < left < 100  # still running, less the time the draws took
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_no_limit_with_zero_and_a_clear_error_for_nonsense(monkeypatch):
    from qbank.coursecode import draw_timeout

    monkeypatch.setenv("QBANK_DRAW_TIMEOUT", "0")
    assert draw_timeout() == 0
    assert draw(misbehaving("return"), 0).answers == {"answer": 1}
    for text in ("-1", "nan", "1e9", "soon"):
        monkeypatch.setenv("QBANK_DRAW_TIMEOUT", text)
        with pytest.raises(InputError, match=r"^QBANK_DRAW_TIMEOUT: expected a number of seconds"):
            draw_timeout()
