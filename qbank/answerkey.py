"""Answer keys from a manifest: key.json (per version, question and part) and key.csv (a row per answer)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Mapping, Sequence

CSV_COLUMNS = [
    "version", "code", "student_id", "question", "part", "item", "points", "answer", "value",
    "precision", "tolerance", "relative_tolerance", "lms_tolerance",
]


def _grading(entry: Mapping[str, Any], names: Any) -> dict[str, Any]:
    """What key.json says of how the answers `names` are graded: per answer holding numbers, its
    precision, the absolute tolerance of each number (the shape of the value), the relative one, and
    where an LMS grades otherwise (an exact fraction asked as a decimal) what it uses."""
    grading = entry.get("grading", {})
    out: dict[str, Any] = {"precision": {}, "tolerances": {}, "relative_tolerances": {}}
    for name in names:
        record = grading.get(name)
        if record is None:
            continue
        out["precision"][name] = record["precision"]
        out["tolerances"][name] = record["tol"]
        out["relative_tolerances"][name] = record["rel"]
        if "lms" in record:
            out.setdefault("lms", {})[name] = record["lms"]
    return out


def _grading_cells(entry: Mapping[str, Any], name: str) -> list[Any]:
    """The precision, tolerance, relative tolerance and LMS tolerance columns of key.csv for an answer."""
    record = entry.get("grading", {}).get(name)
    if record is None:
        return ["", "", "", ""]
    lms = json.dumps(record["lms"]["tol"]) if "lms" in record else ""
    return [record["precision"]["text"], json.dumps(record["tol"]), record["rel"], lms]


def _parts(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The question's parts with their points and, for a parameterized question, their answers."""
    parts = []
    for part in entry.get("parts", []):
        record = {"part": part["part"], "points": part["points"]}
        if "answers" in part:
            record["answers"] = {name: entry["answers"][name] for name in part["answers"]}
            record.update(_grading(entry, part["answers"]))
        else:
            record["answer"] = "written: graded by hand (see the solutions)"
        parts.append(record)
    return parts


def answer_keys(manifest: Mapping[str, Any], pages: Mapping[int, Sequence[list[int]]] | None = None) -> tuple[str, str]:
    """key.json and key.csv: per version and question, the item, family, params, answers, and how each
    number is graded (its precision, absolute and relative tolerance: qbank.grading), and per part its
    points and answers; with `pages` (version -> per question its pages, qbank.pages), in key.json the
    pages the question sits on."""
    versions = []
    rows = [CSV_COLUMNS]
    for record in manifest["versions"]:
        student_id = (record["student"] or {}).get("id", "")
        questions = []
        for entry in record["questions"]:
            item = entry["item"]
            q: dict[str, Any] = {"number": entry["number"], "item": item["id"], "points": entry["points"]}
            parts = _parts(entry)
            part_of = {name: p for p in parts for name in p.get("answers", {})}

            def row(part: Mapping[str, Any] | None, answer: str, value: Any, grading: list[Any] | None = None) -> list[Any]:
                label, points = (part["part"], part["points"]) if part else ("", entry["points"])
                return [record["version"], record["code"], student_id, entry["number"], label, item["id"], points, answer,
                        value, *(grading or ["", "", "", ""])]

            if item.get("family"):
                q.update({k: entry[k] for k in ("family", "seed", "params", "answers")})
                q.update(_grading(entry, entry["answers"]))
                for name, value in entry["answers"].items():
                    if value is not None or name in part_of:
                        rows.append(row(part_of.get(name), name, json.dumps(value), _grading_cells(entry, name)))
                rows += [row(p, "written", "graded by hand (see the solutions)") for p in parts if not p.get("answers")]
            elif item["kind"] == "multiple-choice":
                q.update(kind=item["kind"], correct=entry["correct"], choice_order=entry["choice_order"])
                rows.append(row(None, "choice", entry["correct"]))
            elif item["kind"] == "fill-table":
                cells = [
                    {"row": r + 1, "column": item["columns"][c], "answer": cell["answer"]}
                    for r, line in enumerate(item["rows"])
                    for c, cell in enumerate(line)
                    if isinstance(cell, dict)
                ]
                q.update(kind=item["kind"], cells=cells)
                rows += [row(None, f"row {cell['row']} / {cell['column']}", cell["answer"]) for cell in cells]
            else:
                q.update(kind=item["kind"])
                if parts:
                    rows += [row(p, "written", "graded by hand (see the solutions)") for p in parts]
                else:
                    rows.append(row(None, "written", "graded by hand (see the solutions)"))
            if parts:
                q["parts"] = parts
            if pages is not None:
                q["pages"] = pages[record["version"]][entry["number"] - 1]
            questions.append(q)
        versions.append(
            {
                "version": record["version"],
                "code": record["code"],
                "student": record["student"],
                "questions": questions,
            }
        )
    key = {"exam": manifest["header"]["title"], "blueprint_sha256": manifest["blueprint"]["sha256"], "versions": versions}
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return json.dumps(key, indent=2, allow_nan=False) + "\n", buffer.getvalue()
