"""Where the questions sit on paper, read back from the compiled exams.

Every exam marks, invisibly, where each question begins and where its last line ends: the named PDF
destinations `qbank.q<n>` and `qbank.q<n>.end` (templates/documents/document.tex.j2). They travel
inside the PDF, so a PDF taken from the cache answers as well as a fresh one, and `pdfinfo -dests`
reads them in a few milliseconds. From them:

- the page map: the pages of every question of every version (`key.json`, `pages.csv`); with
  page-per-question they are the reserved pages (and the marks must agree), with compact layout
  they are wherever the text fell;
- the answer space (page-per-question only): the free height left on a question's pages below its
  last line, held against the working time of a strong student (ANSWER_SPACE_CM_PER_MINUTE).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .documents import PAPER
from .errors import LatexError
from .memo import NO_MEMO, Memo

# The answer-space rule: a question of page-per-question layout leaves at least this much free height
# (the full text width, below its last line, over its reserved pages) per minute of a strong student's
# working time: three handwritten lines of about 8 mm a minute. The midterm's 2-page questions leave
# 3 to 6 cm a minute; a 7-minute question under two thirds of a page of text, 1.9.
ANSWER_SPACE_CM_PER_MINUTE = 2.5
PDFINFO_TIMEOUT_S = 60
PT_PER_CM = 72 / 2.54
_DEST = re.compile(r"^\s*(\d+)\s+\[\s*XYZ\s+-?[\d.]+\s+(-?[\d.]+)[^\]]*\]\s+\"qbank\.q(\d+)(\.end)?\"\s*$", re.M)
_PAGE_SIZE = re.compile(r"^Page(?:\s+1)? size:\s+([\d.]+) x ([\d.]+) pts", re.M)


@dataclass(frozen=True)
class Placement:
    """Where one question sits in one exam PDF (pages count from 1, the cover included)."""

    first: int  # the page of its first line (or its section heading)
    last: int  # its last page: the last reserved page (page-per-question), the page of its last line (compact)
    free_cm: float | None = None  # page-per-question: the free height below its last line on its pages
    page_cm: float | None = None  # page-per-question: the height of a blank page's text area

    @property
    def pages(self) -> list[int]:
        return list(range(self.first, self.last + 1))


def _pdfinfo(*args: str) -> str:
    if shutil.which("pdfinfo") is None:
        raise LatexError("pdfinfo not found (it reads where the questions sit); install it with: apt-get install -y poppler-utils")
    proc = subprocess.run(["pdfinfo", *args], capture_output=True, text=True, errors="replace", timeout=PDFINFO_TIMEOUT_S)
    if proc.returncode != 0:
        raise LatexError(f"pdfinfo could not read {args[-1]}: {' '.join(proc.stderr.split()[:30]) or 'no message'}")
    return proc.stdout


def read_marks(pdf: Path, memo: Memo = NO_MEMO) -> dict[str, Any]:
    """The height of `pdf`'s pages (pt) and its marks: `q<n>` and `q<n>.end` -> [page, y in pt from
    the bottom of the page]. Kept in the memo under the PDF's SHA-256, so that a build whose PDFs
    all come from the cache runs no pdfinfo."""
    request = {"pdf_sha256": hashlib.sha256(Path(pdf).read_bytes()).hexdigest()} if memo.enabled else None
    kept = memo.get("pdf-marks", request, (), _marks_shape) if request else None
    if kept is not None:
        return kept
    size = _PAGE_SIZE.search(_pdfinfo("-f", "1", "-l", "1", str(pdf)))
    if not size:
        raise LatexError(f"pdfinfo gave no page size for {pdf}")
    marks = {f"q{n}{end}": [int(page), float(y)] for page, y, n, end in _DEST.findall(_pdfinfo("-dests", str(pdf)))}
    kept = {"height": float(size.group(2)), "marks": marks}
    if request:
        memo.put("pdf-marks", request, kept)
    return kept


def _marks_shape(kept: Any) -> bool:
    return (type(kept) is dict and type(kept.get("height")) is float and type(kept.get("marks")) is dict
            and all(type(v) is list and len(v) == 2 and type(v[0]) is int and type(v[1]) is float for v in kept["marks"].values()))


def place_questions(
    pdf: Path, reserved: Sequence[int], layout: str, cover: bool, name: str | None = None, memo: Memo = NO_MEMO
) -> list[Placement]:
    """The placement of each question of one exam PDF; `reserved` holds each question's reserved
    pages (page-per-question). An exam without its marks, or with marks off their reserved pages,
    is an error: the key would send graders to the wrong pages."""
    name = name or str(pdf)
    read = read_marks(pdf, memo)
    marks = read["marks"]
    margin = PAPER.margin_cm * PT_PER_CM
    top, bottom = read["height"] - margin, margin
    placed = []
    next_page = 1 + int(cover)
    for number, pages in enumerate(reserved, start=1):
        if f"q{number}" not in marks or f"q{number}.end" not in marks:
            raise LatexError(f"{name}: the marks of question {number} are missing; qbank cannot tell its pages (was the PDF made by this qbank?)")
        first = marks[f"q{number}"][0]
        end_page, end_y = marks[f"q{number}.end"]
        if end_y >= top - 0.5:  # the mark went over to the next page on its own: the text ended above
            end_page, end_y = end_page - 1, bottom
        if layout == "page-per-question":
            if first != next_page:
                raise LatexError(f"{name}: question {number} begins on page {first}, not on its reserved page {next_page}")
            last = first + pages - 1
            free = 0.0 if end_page > last else (end_y - bottom) + (last - end_page) * (top - bottom)
            placed.append(Placement(first, last, round(max(free, 0.0) / PT_PER_CM, 1), round((top - bottom) / PT_PER_CM, 1)))
            next_page = last + 1
        else:
            placed.append(Placement(first, max(first, end_page)))
    return placed


def place_exam(manifest: Mapping[str, Any], folder: Path, jobs: int = 1, memo: Memo = NO_MEMO) -> dict[int, list[Placement]]:
    """Version -> the placement of its questions, from `students/<folder>/exam.pdf` below `folder`."""
    records = manifest["versions"]

    def place(record: Mapping[str, Any]) -> list[Placement]:
        name = f"students/{record['folder']}/exam.pdf"
        reserved = [q["pages"] for q in record["questions"]]
        return place_questions(Path(folder) / name, reserved, manifest["layout"], manifest["cover"], name, memo)

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(records)))) as pool:
        return {record["version"]: placed for record, placed in zip(records, pool.map(place, records))}


def answer_space_warnings(manifest: Mapping[str, Any], placed: Mapping[int, list[Placement]]) -> list[str]:
    """One line per slot and item whose pages leave, in some version, less free height below the
    question than its working time asks (ANSWER_SPACE_CM_PER_MINUTE), with the pages that would."""
    if manifest["layout"] != "page-per-question":
        return []
    short: dict[tuple[str, str], dict[str, Any]] = {}
    for record in manifest["versions"]:
        for entry, where in zip(record["questions"], placed[record["version"]]):
            minutes = entry.get("minutes")
            if minutes is None or where.free_cm is None:
                continue
            need = ANSWER_SPACE_CM_PER_MINUTE * minutes
            if where.free_cm + 0.05 >= need:
                continue
            key = (entry["slot"], entry["item"]["id"])
            worst = short.setdefault(key, {"free": where.free_cm, "need": need, "minutes": minutes, "pages": entry["pages"],
                                           "page_cm": where.page_cm, "versions": 0})
            worst["versions"] += 1
            if where.free_cm - need < worst["free"] - worst["need"]:
                worst.update(free=where.free_cm, need=need, minutes=minutes)
    lines = []
    count = len(manifest["versions"])
    source = manifest["blueprint"]["path"]
    for (slot, item), worst in short.items():
        more = math.ceil((worst["need"] - worst["free"]) / worst["page_cm"])
        pages = f"{worst['pages']} page" + ("s" if worst["pages"] > 1 else "")
        lines.append(
            f"warning: {source}: slot {slot} ({item}) leaves too little room to answer: {worst['free']:.1f} cm free "
            f"below the question on its {pages}, for {worst['minutes']:.1f} min of work (the rule: "
            f"{ANSWER_SPACE_CM_PER_MINUTE:g} cm a minute, {worst['need']:.1f} cm), in {worst['versions']} of {count} "
            f"version(s); reserve `pages: {worst['pages'] + more}` on the slot"
        )
    return lines


PAGES_COLUMNS = ["version", "code", "student_id", "question", "item", "first_page", "last_page"]


def pages_csv(manifest: Mapping[str, Any], placed: Mapping[int, list[Placement]]) -> str:
    """pages.csv: a row per version and question with the pages it sits on."""
    rows = [PAGES_COLUMNS]
    for record in manifest["versions"]:
        student_id = (record["student"] or {}).get("id", "")
        for entry, where in zip(record["questions"], placed[record["version"]]):
            rows.append([record["version"], record["code"], student_id, entry["number"], entry["item"]["id"], where.first, where.last])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()

