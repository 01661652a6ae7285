"""Answer keys from a manifest: key.json (per version, question and part) and key.csv (a row per answer)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Mapping

CSV_COLUMNS = ["version", "code", "student_id", "question", "part", "item", "points", "answer", "value", "tolerance"]


def _parts(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The question's parts with their points and, for a parameterized question, their answers."""
    parts = []
    for part in entry.get("parts", []):
        record = {"part": part["part"], "points": part["points"]}
        if "answers" in part:
            record["answers"] = {name: entry["answers"][name] for name in part["answers"]}
            record["tolerances"] = {name: entry["tolerances"].get(name, 0) for name in part["answers"]}
        else:
            record["answer"] = "written: graded by hand (see the solutions)"
        parts.append(record)
    return parts


def answer_keys(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """key.json and key.csv: per version and question, the item, family, params, answers, tolerances,
    and per part its points and answers."""
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

            def row(part: Mapping[str, Any] | None, answer: str, value: Any, tol: Any = "") -> list[Any]:
                label, points = (part["part"], part["points"]) if part else ("", entry["points"])
                return [record["version"], record["code"], student_id, entry["number"], label, item["id"], points, answer, value, tol]

            if item.get("family"):
                q.update({k: entry[k] for k in ("family", "seed", "params", "answers", "tolerances")})
                for name, value in entry["answers"].items():
                    if value is not None or name in part_of:
                        rows.append(row(part_of.get(name), name, json.dumps(value), entry["tolerances"].get(name, 0)))
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
