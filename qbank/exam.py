"""Exams: blueprint -> versions -> manifest -> documents -> PDFs, with answer keys.

Building goes through one record, the manifest: `plan_exam` draws every version into it (items chosen
from pools, order shuffled, variants drawn from secret-keyed seeds, choices permuted), and
`exam_documents` renders only from it. So `qbank rebuild manifest.json` gives the same .tex, hence
byte-identical PDFs, even after the bank or the samplers change.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .answerkey import answer_keys
from .bank import item_from_dict
from .blueprint import load_blueprint
from .documents import Header, Question, problem_and_solution
from .engine import describe_structure, verify
from .errors import InputError
from .fairness import LETTERS, duration_minutes
from .keys import DEFAULT_SECRET_FILE, load_or_create_secret
from .latex import Document, build_pdfs
from .model import Variant
from .plan import MANIFEST_FORMAT, plan_exam
from .progress import QUIET, Reporter
from .registry import get_family
from .render import mark_parts, render_block, render_fragments

READABLE_FORMATS = (1, MANIFEST_FORMAT)  # format 1 manifests (no part points) still rebuild
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --- rendering: documents from the manifest alone ----------------------------------------------------


def question_fragments(entry: Mapping[str, Any], reverify: bool = True) -> tuple[str, str]:
    """Problem and solution LaTeX of one recorded question. With `reverify`, a parameterized question's
    recorded answers are verified again, so a rebuild never prints an answer the current checker
    rejects; answers drawn moments ago in this process were verified by draw() already."""
    item = item_from_dict(entry["item"])
    part_points = [p["points"] for p in entry["parts"]] if "parts" in entry else None
    if item.parameterized:
        fam = get_family(entry["family"])
        if reverify:
            verify(fam, entry["seed"], entry["params"], entry["answers"])
        return render_fragments(Variant(fam.id, entry["seed"], entry["params"], entry["answers"]), part_points)
    context: dict[str, Any] = {"item": entry["item"]}
    if item.kind == "multiple-choice":
        choices = [
            {"letter": LETTERS[pos], "text": item.choices[i].text, "correct": item.choices[i].correct}
            for pos, i in enumerate(entry["choice_order"])
        ]
        context.update(choices=choices, correct=next(c for c in choices if c["correct"]))
    template = f"conceptual/{item.kind}.tex.j2"
    label = f"item {item.id}"
    problem = render_block(template, "problem", context, label)
    if item.parts:
        problem = mark_parts(problem, len(item.parts), part_points, f"item {item.id}")
    return problem, render_block(template, "solution", context, label)


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
    for line in fairness_report(manifest):
        build.reporter.info(line)
    return _publish(manifest, Path(out), build, reverify=False)  # plan_exam's draws were just verified


def fairness_report(manifest: Mapping[str, Any]) -> list[str]:
    """What `qbank exam` says about fairness: the structure each slot fixed for all its versions, and
    the working time of a strong student against the exam's duration."""
    lines = []
    for record in manifest["structures"]:
        shown = describe_structure(record["structure"])
        varies = f"; varies {', '.join(record['vary'])} at {record['minutes']:g} min" if record["vary"] else ""
        lines.append(f"slot {record['slot']} {record['item']}: every version has {shown}{varies}")
    per_slot: dict[str, list[float]] = {}
    for record in manifest["versions"]:
        for q in record["questions"]:
            if q.get("minutes") is not None:
                per_slot.setdefault(q["slot"], []).append(q["minutes"])
    for slot, minutes in per_slot.items():
        if max(minutes) > 1.2 * min(minutes) and max(minutes) - min(minutes) >= 1:
            lines.append(
                f"note: slot {slot} gives some versions {min(minutes):g} and others {max(minutes):g} min of work "
                "(its pool mixes items of unequal length)"
            )
    times = [r["minutes"] for r in manifest["versions"] if r["minutes"] is not None]
    if times:
        low, high = min(times), max(times)
        span = f"{low:g} min" if low == high else f"{low:g} to {high:g} min"
        duration = duration_minutes(manifest["header"].get("duration", ""))
        if duration:
            share = f"{100 * low / duration:.0f} %" if low == high else f"{100 * low / duration:.0f} to {100 * high / duration:.0f} %"
            advice = "; a strong student should need about 80 %" if high > 0.9 * duration else ""
            lines.append(f"working time of a strong student: {span}, {share} of the {duration:g} minutes{advice}")
        else:
            lines.append(f"working time of a strong student: {span}")
    return lines


def rebuild_exam(manifest_path: Path, out: Path, build: BuildOptions = BuildOptions()) -> list[Path]:
    path = Path(manifest_path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise InputError(f"{path}: not a qbank exam manifest (format {' or '.join(map(str, READABLE_FORMATS))})")
    return _publish(manifest, Path(out), build, reverify=True)
