"""Exams from a blueprint: N versions, each an exam PDF and a solutions PDF.

The blueprint format here is deliberately small (title, course, seed, a list of questions with a
family, points and optional pinned params); pools, sections and secret keys build on it later.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .documents import Header, Item, problem_and_solution
from .engine import draw
from .errors import InputError, QbankError
from .latex import build_pdfs
from .registry import get_family
from .yamlfile import load_located

HEADER_FIELDS = {"title": str, "course": str, "instructions": str, "seed": int}
QUESTION_FIELDS = ("family", "points", "params")


@dataclass(frozen=True)
class Question:
    family: str
    points: int | float
    params: dict[str, Any]


@dataclass(frozen=True)
class Blueprint:
    path: Path
    title: str
    course: str
    instructions: str
    seed: int
    questions: tuple[Question, ...]


def load_blueprint(path: Path) -> Blueprint:
    doc = load_located(path)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "expected a mapping with title, course, seed and questions")
    unknown = sorted(set(data) - set(HEADER_FIELDS) - {"questions"})
    if unknown:
        raise doc.error((unknown[0],), f"unknown field (expected one of {', '.join([*HEADER_FIELDS, 'questions'])})")
    header: dict[str, Any] = {"course": "", "instructions": "", "seed": 0}
    for name, kind in HEADER_FIELDS.items():
        if name in data:
            value = data[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise doc.error((name,), f"expected {'an integer' if kind is int else 'text'}, got {value!r}")
            header[name] = value
    if "title" not in header:
        raise doc.error((), "missing field `title`")
    if header["seed"] < 0:
        raise doc.error(("seed",), "expected a non-negative integer")
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions:
        raise doc.error(("questions",), "expected a non-empty list of questions (each: family, points, params)")
    parsed = []
    for i, q in enumerate(questions):
        at = ("questions", i)
        if not isinstance(q, dict):
            raise doc.error(at, "expected a mapping with `family` and `points`")
        extra = sorted(set(q) - set(QUESTION_FIELDS))
        if extra:
            raise doc.error((*at, extra[0]), f"unknown field (expected {', '.join(QUESTION_FIELDS)})")
        if "family" not in q:
            raise doc.error(at, "missing field `family`")
        try:
            get_family(str(q["family"]))
        except QbankError as exc:
            raise doc.error((*at, "family"), str(exc)) from None
        points = q.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
            raise doc.error((*at, "points"), f"expected a positive number, got {points!r}")
        params = q.get("params", {}) or {}
        if not isinstance(params, dict):
            raise doc.error((*at, "params"), "expected a mapping of parameter names to values")
        parsed.append(Question(str(q["family"]), points, params))
    return Blueprint(Path(path), header["title"], header["course"], header["instructions"], header["seed"], tuple(parsed))


def version_seed(blueprint: Blueprint, version: int, index: int) -> int:
    """The seed of question `index` in `version`: a hash of the blueprint seed, version, slot and family."""
    family = blueprint.questions[index].family
    key = f"{blueprint.seed}:{version}:{index}:{family}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def build_exam(
    blueprint_path: Path,
    versions: int,
    out: Path,
    progress: Callable[[str], None] = lambda message: None,
    jobs: int | None = None,
) -> list[Path]:
    """Draw every version, then compile all PDFs; nothing is written into `out` unless all compiled."""
    blueprint = load_blueprint(blueprint_path)
    if versions < 1:
        raise InputError(f"--versions: expected a positive integer, got {versions}")
    manifest: dict[str, Any] = {
        "blueprint": str(blueprint.path),
        "blueprint_sha256": hashlib.sha256(blueprint.path.read_bytes()).hexdigest(),
        "qbank": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": [],
    }
    docs = []
    for v in range(1, versions + 1):
        items = []
        for i, question in enumerate(blueprint.questions):
            seed = version_seed(blueprint, v, i)
            try:
                variant = draw(question.family, seed, question.params)
            except InputError as exc:
                raise InputError(f"{blueprint.path}: question {i + 1} ({question.family}): {exc}") from None
            items.append(Item(variant, question.points))
        header = Header(
            title=blueprint.title,
            course=blueprint.course,
            header_right=f"Version {v}",
            instructions=blueprint.instructions,
            name_field=True,
            page_per_question=True,
        )
        docs += problem_and_solution(items, header, names=(f"v{v:02d}/exam", f"v{v:02d}/solutions"))
        manifest["versions"].append(
            {"version": v, "questions": [dict(item.variant.to_dict(), points=item.points) for item in items]}
        )
    progress(f"drew {versions} version(s) of {len(blueprint.questions)} questions; compiling {len(docs)} PDFs")
    return build_pdfs(
        docs,
        Path(out),
        extra_files={"manifest.json": json.dumps(manifest, indent=2) + "\n"},
        jobs=jobs or os.cpu_count() or 1,
        progress=progress,
    )
