"""Shared helpers: run the CLI as a user would, and read a PDF's text with pdftotext."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import sys
from pathlib import Path


from hypothesis import settings

# Property tests draw the same examples on every run: a red CI run can be reproduced, and a rate
# or distribution assertion cannot flake.
settings.register_profile("qbank", derandomize=True, deadline=None)
settings.load_profile("qbank")

ROOT = Path(__file__).resolve().parent.parent
# One PDF and format cache for the test session, apart from the user's own (~/.cache/qbank), with a
# cache key of its own (qbank.cache: $XDG_CONFIG_HOME/qbank/cache.key).
if not os.environ.get("QBANK_CACHE"):
    os.environ["QBANK_CACHE"] = tempfile.mkdtemp(prefix="qbank-test-cache-")
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="qbank-test-config-")
QBANK = [sys.executable, "-m", "qbank.cli"]


def run_qbank(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*QBANK, *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def pdf_text(path: Path) -> str:
    """The text of a PDF, with typographic minus signs made ASCII so numbers compare plainly."""
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout.replace("\u2212", "-")


def command_arguments(tex: str, command: str) -> list[str]:
    """The first argument of every `\\command{...}` in LaTeX text, braces matched: the answer boxes
    of a solution (`qbankanswer`), the paper's words of each precision statement (`qbankprecision`)."""
    out = []
    for match in re.finditer(re.escape(f"\\{command}") + r"\{", tex):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[i], 0)
            i += 1
        out.append(tex[match.end() : i - 1])
    return out


def squash(text: str) -> str:
    """Text without any whitespace, for matching numbers that the layout may space out."""
    return "".join(text.split())


def write_content_root(root: Path, family_id: str, solve_body: str, check_body: str, template: str) -> Path:
    """An instructor's own content folder (for QBANK_PATH) with one integer family `x` -> `answer`."""
    (root / "generators").mkdir(parents=True)
    (root / "templates" / "test").mkdir(parents=True)
    (root / "generators" / f"{family_id.replace('-', '_')}.py").write_text(
        "from qbank import Answer, Family, register\n"
        "@register\n"
        "class Custom(Family):\n"
        f"    id = {family_id!r}\n"
        "    title = 'An instructor family for tests'\n"
        "    topic = 'test'\n"
        "    answers = {'answer': Answer('integer', 'the answer')}\n"
        "    def sample(self, rng):\n"
        "        return {'x': int(rng.integers(0, 10))}\n"
        "    def solve(self, params):\n"
        f"        return {{'answer': {solve_body}}}\n"
        "    def check(self, params, answers):\n"
        f"        {check_body}\n"
    )
    (root / "templates" / "test" / f"{family_id}.tex.j2").write_text(template)
    return root


def assert_tampering_caught(fam, params, tamper) -> None:
    """Each (change, message): solve, apply the change to the answers, and the check must reject them."""
    from qbank import VerificationError, verify

    for change, message in tamper:
        answers = fam.solve(params)
        change(answers)
        try:
            verify(fam, 0, params, answers)
        except VerificationError as exc:
            assert re.search(message, str(exc)), f"rejected, but not for {message!r}: {exc}"
        else:
            raise AssertionError(f"tampered answers passed the check (expected {message!r})")


def assert_parts_state_their_precision(family_id: str, seeds: int, parts: int, said_once: str) -> None:
    """Over `seeds` draws: each of the `parts` parts ends with its precision statement (`said_once`, a word
    of it, appears nowhere else in the part) and every boxed number of the solution is printed at its
    card's precision (an exact 0, an inactive unit, as 0), never with more decimals than asked."""
    from qbank import draw, get_family
    from qbank.grading import number_leaves, part_statement
    from qbank.model import thaw
    from qbank.render import render_fragments

    fam = get_family(family_id)
    for seed in range(seeds):
        variant = draw(family_id, seed)
        params, answers = thaw(variant.params), thaw(variant.answers)
        asked = fam.parts(params)
        problem, solution = render_fragments(variant, part_points=[1] * len(asked))
        texts = re.split(r"\\part\[1\]", problem)[1:]
        assert len(texts) == len(asked) == parts
        for text, part in zip(texts, asked):
            statement = part_statement(fam, answers, part.answers)
            assert statement and statement in text
            assert said_once not in text.replace(statement, "")
        boxes = "\n".join(command_arguments(solution, "qbankanswer"))
        for name in fam.answers:
            precision = fam.answers[name].grading
            for _, value in number_leaves(answers[name]):
                if value != 0:
                    assert precision.latex(value) in boxes, (seed, name, value)
                if precision.mode == "decimals":
                    assert f"{value:.{precision.digits + 1}f}" not in boxes, (seed, name, value)


def assert_mistake_is_wrong_on(fam, params, mistake: str) -> None:
    """The listed `mistake` of `fam`, made on `params`, gives for every answer it changes a value the answer's
    precision refuses (entries it gives as None are right by their nature and are not compared; at least one
    entry per answer is)."""
    right = fam.solve(params)
    wrong = fam.mistakes[mistake](params)
    assert wrong
    for name, value in wrong.items():
        given = value if isinstance(value, list) else [value]
        true = right[name] if isinstance(right[name], list) else [right[name]]
        pairs = [(w, r) for w, r in zip(given, true) if w is not None]
        assert pairs and not any(fam.answers[name].grading.accepts(r, w) for w, r in pairs), (mistake, name)
