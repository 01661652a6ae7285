"""Every family in one real build: an exam with a question of each registered family, compiled once (one
exam PDF and its solutions), whose solutions print every boxed number at its card's precision."""

from __future__ import annotations

import json
import re

import pytest

from conftest import pdf_text, run_qbank, squash
from qbank.grading import number_leaves
from qbank.registry import all_families, get_family

pytestmark = pytest.mark.pdf
SECRET = "families-pdf-secret-7f3a9c2e5b1d4068a2c4e6f8b0d1e3f5"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    base = tmp_path_factory.mktemp("families")
    slots = "\n".join(f"      - family: {fam.id}\n        points: 5" for fam in all_families())
    blueprint = base / "every-family.yaml"
    blueprint.write_text(f"title: Every family\noptions:\n  layout: compact\nsections:\n  - title: All\n    slots:\n{slots}\n")
    out = base / "out"
    done = run_qbank("exam", str(blueprint), "--versions", "1", "--out", str(out), "--secret", SECRET)
    assert done.returncode == 0, done.stderr
    key = json.loads((out / "instructor" / "key.json").read_text())
    return {
        "key": key,
        "exam": pdf_text(out / "students" / "v01" / "exam.pdf"),
        "solutions": pdf_text(out / "instructor" / "v01" / "solutions.pdf"),
    }


def printed(text: str) -> str:
    """A number as the asked precision prints it, as pdftotext reads it back: 3.400e-06 as 3.400×10-6."""
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}×10{int(exponent)}"
    return text


def test_every_family_is_in_the_build(build):
    asked = {q["family"] for q in build["key"]["versions"][0]["questions"]}
    assert asked == {fam.id for fam in all_families()}
    assert "Every family" in build["exam"] and "Solution" in build["solutions"]


def test_the_solutions_print_the_answers_at_their_precision(build):
    solutions = squash(build["solutions"]).replace("\u2212", "-")
    missing = []
    for q in build["key"]["versions"][0]["questions"]:
        fam = get_family(q["family"])
        for name, value in q["answers"].items():
            if value is None:
                continue
            grading = fam.answers[name].grading
            shown = [grading.text(v) for _, v in number_leaves(value)][:4]
            for text in shown:
                if "/" in text:  # a fraction is set as \frac: its digits stand on two lines
                    continue
                if squash(printed(text)) not in solutions:
                    missing.append(f"{fam.id}: {name} = {text}")
    assert not missing, missing[:10]
