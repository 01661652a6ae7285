"""Every family in one real build: an exam with a question of each registered family, compiled once (one
exam PDF and its solutions; a second, small exam holds the families that conflict with one in the first),
whose solutions print every boxed number at its card's precision."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import pdf_text, run_qbank, squash
from qbank.engine import draw
from qbank.fairness import Tags, conflict
from qbank.grading import number_leaves
from qbank.registry import all_families, get_family

pytestmark = pytest.mark.pdf
SECRET = "families-pdf-secret-7f3a9c2e5b1d4068a2c4e6f8b0d1e3f5"


def groups():
    """Every family, in as few exams as hold no two that conflict (asking the same thing, or one giving
    away what another asks: an exam refuses those in one version)."""
    out: list[list] = []
    for fam in all_families():
        drawn = [draw(fam, seed).params for seed in range(40)]  # tags that depend on the draw (mlp's loss)
        tags = Tags(frozenset(fam.asks).union(*(fam.asks_of(p) for p in drawn)),
                    frozenset(fam.reveals).union(*(fam.reveals_of(p) for p in drawn)))
        for group in out:
            if not any(conflict(tags, other) for _, other in group):
                group.append((fam, tags))
                break
        else:
            out.append([(fam, tags)])
    return [[fam for fam, _ in group] for group in out]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    base = tmp_path_factory.mktemp("families")
    built = {"questions": [], "exam": "", "solutions": "", "outs": [], "pdfs": []}
    for n, families in enumerate(groups(), start=1):
        slots = "\n".join(f"      - family: {fam.id}\n        points: 5" for fam in families)
        blueprint = base / f"every-family-{n}.yaml"
        blueprint.write_text(
            f"title: Every family\noptions:\n  layout: compact\nsections:\n  - title: All\n    slots:\n{slots}\n")
        out = base / f"out-{n}"
        done = run_qbank("exam", str(blueprint), "--versions", "2", "--out", str(out), "--secret", SECRET)
        assert done.returncode == 0, done.stderr
        key = json.loads((out / "instructor" / "key.json").read_text())
        built["outs"].append(out)
        built["questions"] += key["versions"][0]["questions"]
        built["exam"] += pdf_text(out / "students" / "v01" / "exam.pdf")
        built["solutions"] += pdf_text(out / "instructor" / "v01" / "solutions.pdf")
        built["pdfs"] += [out / "students" / v / "exam.pdf" for v in ("v01", "v02")]
        built["pdfs"] += [out / "instructor" / v / "solutions.pdf" for v in ("v01", "v02")]
    return built


def printed(text: str) -> str:
    """A number as the asked precision prints it, as pdftotext reads it back: 3.400e-06 as 3.400×10-6."""
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}×10{int(exponent)}"
    return text


def test_every_family_is_in_the_build(build):
    asked = {q["family"] for q in build["questions"]}
    assert asked == {fam.id for fam in all_families()}
    assert "Every family" in build["exam"] and "Solution" in build["solutions"]


def test_the_solutions_print_the_answers_at_their_precision(build):
    solutions = squash(build["solutions"]).replace("\u2212", "-")
    missing = []
    for q in build["questions"]:
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


def test_a_rebuild_of_every_family_is_byte_identical(build, tmp_path):
    """The manifest alone gives back every file, byte for byte (PDFs compiled again, not cached)."""
    first = build["outs"][0]
    second = tmp_path / "again"
    done = run_qbank("rebuild", str(first / "instructor" / "manifest.json"), "--out", str(second), "--no-cache")
    assert done.returncode == 0, done.stderr
    produced = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert produced == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    differ = [str(rel) for rel in produced if (first / rel).read_bytes() != (second / rel).read_bytes()]
    assert not differ, f"differ after a rebuild: {differ}"


_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>')


def test_nothing_runs_past_the_right_margin(build, tmp_path):
    """Every word of every page (two versions of every family, exam and solutions) ends inside the text
    width, which the running header spans; the part points, (3), stand in the margin by design. A
    display too wide for the page (an overfull box) is read back from the PDF itself."""
    past = []
    for pdf in build["pdfs"]:
        boxes = tmp_path / "boxes.html"
        subprocess.run(["pdftotext", "-bbox", str(pdf), str(boxes)], check=True)
        for n, page in enumerate(boxes.read_text().split("<page ")[1:], start=1):
            words = [(float(a), float(b), float(c), w) for a, b, c, w in _WORD.findall(page)]
            top = min(w[1] for w in words)
            edge = max(w[2] for w in words if w[1] < top + 3)  # the header's right end
            past += [f"{pdf.parent.name}/{pdf.name} page {n}: {w[3]!r} ends {w[2] - edge:.1f} pt past the margin"
                     for w in words if w[2] > edge + 1.5 and not re.fullmatch(r"\([\d.]+\)", w[3])]
    assert not past, past[:10]
