"""Assembling documents (problem sets, solution sets, exams) from verified variants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .latex import Document
from .model import Variant
from .render import render_document, render_fragment

DOCUMENT_TEMPLATE = "documents/document.tex.j2"


@dataclass(frozen=True)
class Item:
    """A variant as it stands in a document: with its points (None: not shown)."""

    variant: Variant
    points: int | float | None = None


@dataclass(frozen=True)
class Header:
    title: str
    subtitle: str = ""
    course: str = ""
    header_right: str = ""
    instructions: str = ""
    name_field: bool = False
    page_per_question: bool = False


def problem_and_solution(
    items: Sequence[Item], header: Header, names: tuple[str, str] = ("problem", "solution")
) -> list[Document]:
    """Two documents over the same items: the problems alone, and the problems with worked solutions."""
    rendered = [
        {
            "points": item.points,
            "problem": render_fragment(item.variant, "problem"),
            "solution": render_fragment(item.variant, "solution"),
        }
        for item in items
    ]
    docs = []
    for name, mode in zip(names, ("problems", "solutions")):
        context = {
            "title": header.title,
            "subtitle": header.subtitle + (" — Solutions" if mode == "solutions" and header.subtitle else ""),
            "course": header.course,
            "header_right": header.header_right,
            "instructions": header.instructions if mode == "problems" else "",
            "name_field": header.name_field and mode == "problems",
            "page_per_question": header.page_per_question and mode == "problems",
            "mode": mode,
            "items": rendered,
        }
        if mode == "solutions" and not header.subtitle:
            context["subtitle"] = "Solutions"
        docs.append(Document(name, render_document(DOCUMENT_TEMPLATE, context)))
    return docs
