"""Assembling documents (problem sets, exams and their solutions) from rendered questions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from .latex import Document
from .model import Variant
from .render import render_document, render_fragments

DOCUMENT_TEMPLATE = "documents/document.tex.j2"
LAYOUTS = ("page-per-question", "compact")


@dataclass(frozen=True)
class Paper:
    """The page qbank sets (exam.cls: US letter): geometry's margin on every side, and the band along
    each edge that must hold nothing at all, since scanners crop or shade it. The points in the right
    margin end `points_from_edge_in` from the edge, and the foot's line of text sits `footskip_pt`
    below the text, both clear of that band."""

    margin_cm: float = 2.2
    blank_band_in: float = 0.4
    points_from_edge_in: float = 0.45
    footskip_pt: int = 15


PAPER = Paper()


@dataclass(frozen=True)
class Question:
    """A question as it stands in a document: its rendered problem and solution fragments."""

    problem: str
    solution: str
    points: float | None = None  # None: not shown
    pages: int = 1  # pages reserved in the page-per-question layout
    answer_space: str = ""  # compact layout: blank space left after the problem in the exam
    heading: str = ""  # a section heading printed before this question


def variant_question(variant: Variant, points: float | None = None, **kw) -> Question:
    return Question(*render_fragments(variant), points, **kw)


@dataclass(frozen=True)
class Header:
    title: str
    subtitle: str = ""
    course: str = ""
    date: str = ""
    duration: str = ""
    header_right: str = ""  # e.g. the version code
    instructions: str = ""
    student_name: str = ""  # pre-printed on the cover (roster builds)
    student_id: str = ""
    cover: bool = False  # a cover page: name and ID fields, instructions, points table
    name_field: bool = False  # name and ID fields on the first page (when there is no cover)
    layout: str = "compact"
    answer_box: bool = False  # frame the answer space


def _points(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _points_table(questions: Sequence[Question], per_row: int = 12) -> list[list[dict[str, str]]]:
    """The cover's points table, built here rather than by the exam class so that one pass suffices."""
    if not any(q.points for q in questions):
        return []
    cells = [{"label": str(n), "points": _points(q.points) or ""} for n, q in enumerate(questions, start=1)]
    cells.append({"label": "Total", "points": _points(sum(q.points or 0 for q in questions)) or ""})
    return [cells[i : i + per_row] for i in range(0, len(cells), per_row)]


PRECISION_RULE = (
    "Each part says how precisely to give its numbers (exactly, to a number of decimal places, or to a number "
    "of significant digits), and is graded at that precision."
)
CHOICE_RULE = "In a multiple-choice question exactly one answer is correct: circle its letter."


def added_instructions(questions: Sequence[Question]) -> list[str]:
    """The sentences qbank adds to the instructions, from what the exam holds: how precisions are
    stated (when a part states one: qbank.grading), and how to answer multiple choice (when there is
    any). The blueprint's own text may not state a precision, so the two never disagree."""
    from .grading import STATEMENT

    added = []
    if any(STATEMENT in q.problem for q in questions):
        added.append(PRECISION_RULE)
    if any("\\begin{choices}" in q.problem for q in questions):
        added.append(CHOICE_RULE)
    return added


def problem_and_solution(
    questions: Sequence[Question], header: Header, names: tuple[str, str] = ("problem", "solution")
) -> list[Document]:
    """Two documents over the same questions: the problems alone, and the problems with worked solutions.
    The layout (cover, pages per question, answer space) applies to the problems document only."""
    items = [
        {
            "points": _points(q.points),
            "problem": q.problem,
            "solution": q.solution,
            "pages": q.pages,
            "answer_space": q.answer_space,
            "heading": q.heading,
        }
        for q in questions
    ]
    docs = []
    for name, mode in zip(names, ("problems", "solutions")):
        h = header if mode == "problems" else replace(header, cover=False, name_field=False, layout="compact", instructions="")
        subtitle = h.subtitle
        if mode == "solutions":
            subtitle = f"{subtitle} \u2014 Solutions" if subtitle else "Solutions"  # an em dash, not escaped hyphens
        context = {
            "h": h,
            "added_instructions": added_instructions(questions) if mode == "problems" else [],
            "subtitle": subtitle,
            "mode": mode,
            "items": items,
            "points_rows": _points_table(questions) if h.cover else [],
            # known in advance when every question has its pages: "Page 3 of 12" needs no second pass
            "page_count": (int(h.cover) + sum(q.pages for q in questions)) if h.layout == "page-per-question" else None,
            "paper": PAPER,
        }
        docs.append(Document(name, render_document(DOCUMENT_TEMPLATE, context)))
    return docs
