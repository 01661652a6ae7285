"""beam-search as real PDFs: every shape the sampler draws compiles, and its problem fits on one page, also
as the first question of a page-per-question exam below the title (the benchmark's light exam)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import pdf_text, run_qbank, squash
from qbank.engine import draw
from test_beam_search import DRAWN_SHAPES, FAMILY, seed_of_shape

pytestmark = pytest.mark.pdf


def pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.mark.parametrize("where", sorted(DRAWN_SHAPES))
def test_every_drawn_shape_compiles_and_its_problem_fits_on_a_page(where, tmp_path):
    seed = seed_of_shape(where)
    variant = draw(FAMILY, seed)
    proc = run_qbank("draw", FAMILY, "--seed", str(seed), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    problem, solution = pdf_text(tmp_path / "problem.pdf"), pdf_text(tmp_path / "solution.pdf")
    assert pages(tmp_path / "problem.pdf") == 1
    assert "\\" not in problem + solution, "raw LaTeX leaked into the PDF"
    assert all(token in problem for token in variant.params["vocab"])
    best = variant.answers["best"]
    assert squash(f"{best['sequence']} ({best['logp']:.2f})") in squash(solution)
    assert "O(T k M log M)".replace(" ", "") in squash(solution)


def test_the_tallest_tree_fits_below_an_exam_title(tmp_path):
    blueprint = tmp_path / "quiz.yaml"
    blueprint.write_text(
        yaml.safe_dump(
            {
                "title": "Quiz",
                "options": {"layout": "page-per-question", "cover": False},
                "sections": [{"slots": [{"family": FAMILY, "points": 10, "ranges": {"depth": [3, 3]}}]}],
            }
        )
    )
    out = tmp_path / "exam"
    proc = run_qbank("exam", str(blueprint), "--versions", "2", "--out", str(out), "--secret", "beam-pdf-test-cc7102d31a48510eaef8ee345f5e04f6")
    assert proc.returncode == 0, proc.stderr
    for version in ("v01", "v02"):
        assert pages(out / "students" / version / "exam.pdf") == 1
