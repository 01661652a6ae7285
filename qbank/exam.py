"""Exams: blueprint -> versions -> manifest -> documents -> PDFs, with answer keys.

Building goes through one record, the manifest: `plan_exam` draws every version into it (items chosen
from pools, order shuffled, variants drawn from secret-keyed seeds, choices permuted), and
`exam_documents` renders only from it. So `qbank rebuild manifest.json` gives the same .tex, hence
byte-identical PDFs, even after the bank or the samplers change.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from . import __version__
from .bank import Item, item_from_dict, item_to_dict
from .blueprint import Blueprint, load_blueprint
from .documents import Header, Question, problem_and_solution
from .engine import draw, verify
from .errors import InputError, QbankError
from .keys import DEFAULT_SECRET_FILE, load_or_create_secret, question_seed, secret_fingerprint, version_code
from .latex import Document, build_pdfs
from .progress import QUIET, Reporter
from .model import Variant
from .registry import get_family
from .render import render_block, render_fragments

MANIFEST_FORMAT = 1
MAX_REDRAWS = 100
LETTERS = "ABCDEFGH"
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --- planning: every random choice of every version, recorded ------------------------------------


def plan_exam(
    bp: Blueprint, versions: int, secret: bytes, students: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    seen: dict[str, set[str]] = {}  # item id -> params already used by an earlier version
    mc_uses: dict[str, int] = {}  # item id -> versions that used it so far (balances answer positions)
    records = []
    for v in range(1, versions + 1):
        student = students[v - 1] if students else None
        questions = _plan_version(bp, v, secret, seen, mc_uses)
        records.append(
            {
                "version": v,
                "code": version_code(secret, bp.digest, v),
                "folder": student["id"] if student else f"v{v:02d}",
                "student": student,
                "questions": questions,
            }
        )
    return {
        "format": MANIFEST_FORMAT,
        "tool": _tool_versions(),
        "blueprint": {"path": str(bp.path), "sha256": bp.digest, "text": bp.text},
        "secret_fingerprint": secret_fingerprint(secret),
        "header": bp.header,
        "layout": bp.layout,
        "cover": bp.cover,
        "answer_box": bp.answer_box,
        "versions": records,
    }


def _plan_version(
    bp: Blueprint, v: int, secret: bytes, seen: dict[str, set[str]], mc_uses: dict[str, int]
) -> list[dict[str, Any]]:
    def rng(*label: object) -> np.random.Generator:
        return np.random.default_rng(question_seed(secret, bp.digest, v, ":".join(map(str, label))))

    used: set[str] = set()
    questions: list[dict[str, Any]] = []
    for s_index, section in enumerate(bp.sections, start=1):
        placed = []
        for slot in section.slots:
            # a pool never repeats an item within a version; a fixed slot is what it says
            pool = list(slot.pool) if len(slot.pool) == 1 else [i for i in slot.pool if i.id not in used]
            if len(pool) < slot.choose:
                raise InputError(
                    f"{slot.source}: version {v}: only {len(pool)} unused item(s) left in this pool for choose: {slot.choose}"
                )
            picks = [pool[int(i)] for i in rng("pool", slot.label).choice(len(pool), slot.choose, replace=False)]
            for k, item in enumerate(picks):
                used.add(item.id)
                entry = {
                    "slot": slot.label,
                    "section": section.title,
                    "item": item_to_dict(item),
                    "points": slot.points if slot.points is not None else item.points,
                    "pages": slot.pages,
                }
                if item.parameterized:
                    entry.update(_draw_unique(bp, v, secret, f"{slot.label}#{k}", item, seen))
                elif item.kind == "multiple-choice":
                    entry.update(_choice_order(item, mc_uses, rng("choices", slot.label, k)))
                placed.append(entry)
        if section.shuffle:
            placed = [placed[int(i)] for i in rng("shuffle", s_index).permutation(len(placed))]
        for i, entry in enumerate(placed):
            entry["heading"] = section.title if i == 0 else ""
        questions += placed
    for number, entry in enumerate(questions, start=1):
        entry["number"] = number
    return questions


def _draw_unique(bp: Blueprint, v: int, secret: bytes, slot: str, item: Item, seen: dict[str, set[str]]) -> dict:
    """A verified variant whose params no earlier version of this exam used for this item."""
    fam = get_family(item.family)
    taken = seen.setdefault(item.id, set())
    for attempt in range(MAX_REDRAWS):
        seed = question_seed(secret, bp.digest, v, slot, attempt)
        variant = draw(fam, seed, item.params, constraints=item.ranges)
        key = json.dumps(variant.to_dict()["params"], sort_keys=True)
        fully_pinned = set(item.params) >= set(variant.params)
        if key not in taken or fully_pinned:
            taken.add(key)
            data = variant.to_dict()
            return {
                "family": fam.id,
                "seed": seed,
                "params": data["params"],
                "answers": data["answers"],
                "tolerances": {name: spec.tol for name, spec in fam.answers.items()},
            }
    raise QbankError(
        f"{item.source}: item {item.id!r}: no new variant after {MAX_REDRAWS} draws in version {v}; "
        "its params and ranges leave too few distinct problems for this many versions"
    )


def _choice_order(item: Item, mc_uses: dict[str, int], rng: np.random.Generator) -> dict[str, Any]:
    """Shuffle the choices; the correct one goes to position (uses so far) mod n, so that over the
    versions of an exam it stands equally often at every letter."""
    n = len(item.choices)
    correct = next(i for i, c in enumerate(item.choices) if c.correct)
    position = mc_uses.get(item.id, 0) % n
    mc_uses[item.id] = mc_uses.get(item.id, 0) + 1
    others = [i for i in range(n) if i != correct]
    others = [others[int(j)] for j in rng.permutation(len(others))]
    order = others[:position] + [correct] + others[position:]
    return {"choice_order": order, "correct": LETTERS[position]}


def _tool_versions() -> dict[str, str]:
    versions = {"qbank": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("numpy", "sympy", "jinja2", "pylatex", "pyyaml"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        out = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True, timeout=30).stdout
        versions["pdflatex"] = out.splitlines()[0] if out else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        versions["pdflatex"] = "not found"
    return versions


# --- rendering: documents from the manifest alone ----------------------------------------------------


def question_fragments(entry: Mapping[str, Any], reverify: bool = True) -> tuple[str, str]:
    """Problem and solution LaTeX of one recorded question. With `reverify`, a parameterized question's
    recorded answers are verified again, so a rebuild never prints an answer the current checker
    rejects; answers drawn moments ago in this process were verified by draw() already."""
    item = item_from_dict(entry["item"])
    if item.parameterized:
        fam = get_family(entry["family"])
        if reverify:
            verify(fam, entry["seed"], entry["params"], entry["answers"])
        return render_fragments(Variant(fam.id, entry["seed"], entry["params"], entry["answers"]))
    context: dict[str, Any] = {"item": entry["item"]}
    if item.kind == "multiple-choice":
        choices = [
            {"letter": LETTERS[pos], "text": item.choices[i].text, "correct": item.choices[i].correct}
            for pos, i in enumerate(entry["choice_order"])
        ]
        context.update(choices=choices, correct=next(c for c in choices if c["correct"]))
    template = f"conceptual/{item.kind}.tex.j2"
    label = f"item {item.id}"
    return render_block(template, "problem", context, label), render_block(template, "solution", context, label)


def exam_documents(manifest: Mapping[str, Any], reverify: bool = True) -> list[Document]:
    header = manifest["header"]
    docs: list[Document] = []
    for record in manifest["versions"]:
        questions = []
        for entry in record["questions"]:
            problem, solution = question_fragments(entry, reverify)
            item = entry["item"]
            questions.append(
                Question(
                    problem,
                    solution,
                    points=entry["points"],
                    pages=entry["pages"],
                    answer_space=item.get("answer_space", "") if not item.get("family") else "",
                    heading=entry["heading"],
                )
            )
        student = record["student"] or {}
        head = Header(
            title=header["title"],
            course=header["course"],
            date=header["date"],
            duration=header["duration"],
            instructions=header["instructions"],
            header_right=record["code"],
            student_name=student.get("name", ""),
            student_id=student.get("id", ""),
            cover=manifest["cover"],
            name_field=not manifest["cover"],
            layout=manifest["layout"],
            answer_box=manifest["answer_box"],
        )
        folder = record["folder"]
        docs += problem_and_solution(questions, head, names=(f"{folder}/exam", f"{folder}/solutions"))
    return docs


# --- keys -------------------------------------------------------------------------------------------


def answer_keys(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """key.json and key.csv: per version and question, the item, family, params, answers, tolerances."""
    versions = []
    rows = [["version", "code", "student_id", "question", "item", "points", "answer", "value", "tolerance"]]
    for record in manifest["versions"]:
        student_id = (record["student"] or {}).get("id", "")
        questions = []
        for entry in record["questions"]:
            item = entry["item"]
            q = {"number": entry["number"], "item": item["id"], "points": entry["points"]}
            base = [record["version"], record["code"], student_id, entry["number"], item["id"], entry["points"]]
            if item.get("family"):
                q.update({k: entry[k] for k in ("family", "seed", "params", "answers", "tolerances")})
                for name, value in entry["answers"].items():
                    rows.append([*base, name, json.dumps(value), entry["tolerances"].get(name, 0)])
            elif item["kind"] == "multiple-choice":
                q.update(kind=item["kind"], correct=entry["correct"], choice_order=entry["choice_order"])
                rows.append([*base, "choice", entry["correct"], ""])
            elif item["kind"] == "fill-table":
                cells = [
                    {"row": r + 1, "column": item["columns"][c], "answer": cell["answer"]}
                    for r, row in enumerate(item["rows"])
                    for c, cell in enumerate(row)
                    if isinstance(cell, dict)
                ]
                q.update(kind=item["kind"], cells=cells)
                rows += [[*base, f"row {cell['row']} / {cell['column']}", cell["answer"], ""] for cell in cells]
            else:
                q.update(kind=item["kind"])
                rows.append([*base, "written", "graded by hand (see solutions.pdf)", ""])
            questions.append(q)
        versions.append(
            {"version": record["version"], "code": record["code"], "student": record["student"], "questions": questions}
        )
    key = {"exam": manifest["header"]["title"], "blueprint_sha256": manifest["blueprint"]["sha256"], "versions": versions}
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return json.dumps(key, indent=2) + "\n", buffer.getvalue()


# --- entry points -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildOptions:
    """How to compile: parallel jobs (None: all cores), the PDF cache, and where progress goes."""

    jobs: int | None = None
    cache: bool = True
    reporter: Reporter = QUIET


def load_roster(path: Path) -> list[dict[str, str]]:
    """A CSV with a header row holding `id` (and optionally `name`): one version per student."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such roster file")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise InputError(f"{path}: line 1: expected a header row with an `id` column (and optionally `name`)")
        students, seen = [], set()
        for row in reader:
            line = reader.line_num
            sid = (row.get("id") or "").strip()
            if not _STUDENT_ID.match(sid):
                raise InputError(f"{path}: line {line}: id: expected letters, digits, '.', '_' or '-', got {sid!r}")
            if sid in seen:
                raise InputError(f"{path}: line {line}: id: duplicate student id {sid!r}")
            seen.add(sid)
            students.append({"id": sid, "name": (row.get("name") or "").strip()})
    if not students:
        raise InputError(f"{path}: the roster has no students")
    return students


def _publish(manifest: dict[str, Any], out: Path, build: BuildOptions, reverify: bool) -> list[Path]:
    docs = exam_documents(manifest, reverify)
    key_json, key_csv = answer_keys(manifest)
    jobs = build.jobs or os.cpu_count() or 1
    build.reporter.info(f"compiling {len(docs)} PDFs ({len(manifest['versions'])} version(s)) with {jobs} job(s)")
    return build_pdfs(
        docs,
        out,
        extra_files={"manifest.json": json.dumps(manifest, indent=2) + "\n", "key.json": key_json, "key.csv": key_csv},
        jobs=jobs,
        cache=build.cache,
        reporter=build.reporter,
    )


def build_exam(
    blueprint_path: Path,
    out: Path,
    *,
    versions: int | None = None,
    roster: Path | None = None,
    secret: bytes | None = None,
    secret_file: Path = DEFAULT_SECRET_FILE,
    build: BuildOptions = BuildOptions(),
) -> list[Path]:
    bp = load_blueprint(Path(blueprint_path))
    students = load_roster(roster) if roster else None
    count = len(students) if students else (versions or 1)
    if count < 1:
        raise InputError(f"--versions: expected a positive integer, got {count}")
    if secret is None:
        existed = Path(secret_file).is_file()
        secret = load_or_create_secret(Path(secret_file))
        if not existed:
            build.reporter.info(f"created the secret key file {secret_file} (keep it private and out of git)")
    build.reporter.info(f"drawing {count} version(s) of {bp.question_count} questions")
    manifest = plan_exam(bp, count, secret, students)
    return _publish(manifest, Path(out), build, reverify=False)  # plan_exam's draws were just verified


def rebuild_exam(manifest_path: Path, out: Path, build: BuildOptions = BuildOptions()) -> list[Path]:
    path = Path(manifest_path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise InputError(f"{path}: not a qbank exam manifest (format {MANIFEST_FORMAT})")
    return _publish(manifest, Path(out), build, reverify=True)
