"""Paper that grades well, checked on real exams of the shipped blueprints in both layouts: the keys
record the pages of every question, every continuation page says which question it continues,
nothing comes within 0.4 in of the paper's edge, and page-per-question leaves room to answer."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_qbank
from qbank.documents import PAPER
from qbank.errors import LatexError
from qbank.pages import ANSWER_SPACE_CM_PER_MINUTE, PT_PER_CM, place_exam, place_questions

pytestmark = pytest.mark.pdf

SECRET = "paper-secret-4d0c1b55e2f39a7d86c0f1e2a3b4c5d6"
# name: (shipped blueprint, layout, versions); the compact ones are the same blueprints, relaid
BUILDS = {
    "midterm": ("midterm", "page-per-question", 3),
    "quiz": ("quiz-backprop", "page-per-question", 2),
    "demo": ("demo", "page-per-question", 2),
    "final": ("final", "page-per-question", 1),
    "quiz-transformers": ("quiz-transformers", "page-per-question", 1),
    "quiz-generative": ("quiz-generative", "page-per-question", 1),
    "quiz-optimization": ("quiz-optimization", "page-per-question", 1),
    "midterm-compact": ("midterm", "compact", 2),
    "quiz-compact": ("quiz-backprop", "compact", 1),
    "demo-compact": ("demo", "compact", 1),
}
BAND_PT = PAPER.blank_band_in * 72
RASTER_DPI = 30


@dataclass
class Build:
    out: Path
    stderr: str
    layout: str
    manifest: dict
    key: dict
    rows: list[dict[str, str]]

    def pdfs(self) -> list[Path]:
        return sorted(self.out.glob("*/*/*.pdf"))

    def exam(self, record: dict) -> Path:
        return self.out / "students" / record["folder"] / "exam.pdf"


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Build]:
    base = tmp_path_factory.mktemp("paper")
    made = {}
    for name, (blueprint, layout, versions) in BUILDS.items():
        source = ROOT / "bank" / "exams" / f"{blueprint}.yaml"
        if layout == "compact":
            text = source.read_text()
            assert "layout: page-per-question" in text
            source = base / f"{name}.yaml"
            source.write_text(text.replace("layout: page-per-question", "layout: compact"))
        out = base / name
        proc = run_qbank("exam", str(source), "--versions", str(versions), "--out", str(out), "--secret", SECRET)
        assert proc.returncode == 0, proc.stderr
        instructor = out / "instructor"
        made[name] = Build(
            out, proc.stderr, layout,
            json.loads((instructor / "manifest.json").read_text()),
            json.loads((instructor / "key.json").read_text()),
            list(csv.DictReader((instructor / "pages.csv").read_text().splitlines())),
        )
    return made


def page_texts(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")[:-1]


def starts(number: int, text: str) -> bool:
    """Whether a line of `text` begins question `number` (its label, then its points or its words)."""
    return re.search(rf"(?m)^{number}\.(\s|$)", text) is not None


def continued(text: str) -> int | None:
    """The question a page's running head says the page continues."""
    match = re.search(r"Question (\d+) \(continued\)", text.split("\n", 1)[0])
    return int(match.group(1)) if match else None


# --- the page map: key.json and pages.csv -------------------------------------------------------------


def test_key_and_pages_csv_give_the_pages_each_question_sits_on(builds):
    for name, build in builds.items():
        rows = iter(build.rows)
        for record, keyed in zip(build.manifest["versions"], build.key["versions"]):
            texts = page_texts(build.exam(record))
            page = 1 + int(build.manifest["cover"])
            for entry, question in zip(record["questions"], keyed["questions"]):
                pages = question["pages"]
                row = next(rows)
                assert row == {"version": str(record["version"]), "code": record["code"], "student_id": "",
                               "question": str(entry["number"]), "item": entry["item"]["id"],
                               "first_page": str(pages[0]), "last_page": str(pages[-1])}
                assert pages == list(range(pages[0], pages[-1] + 1))
                if build.layout == "page-per-question":  # the reserved pages, one question after another
                    assert pages == list(range(page, page + entry["pages"])), (name, entry["number"])
                else:  # in order, each on the page where the one before ended, or on the next
                    assert pages[0] in ({page} if entry["number"] == 1 else {page - 1, page}), (name, entry["number"])
                page = pages[-1] + 1
                where = f"{name} v{record['version']} question {entry['number']}"
                assert starts(entry["number"], texts[pages[0] - 1]), f"{where} does not begin on page {pages[0]}"
                others = [p for p in range(1, len(texts) + 1) if p not in pages]
                assert not [p for p in others if starts(entry["number"], texts[p - 1])], f"{where} begins elsewhere"
            assert page - 1 <= len(texts)
        assert next(rows, None) is None


def test_with_shuffle_a_question_moves_but_every_version_has_the_same_pages(builds):
    """What README promises for page-per-question: the same page count and the same page counts per
    question; with shuffle: true a question's own pages differ between versions (pages.csv says where)."""
    build = builds["midterm"]
    assert "shuffle: true" in build.manifest["blueprint"]["text"]
    counts = {len(page_texts(build.exam(record))) for record in build.manifest["versions"]}
    assert len(counts) == 1
    reserved = {tuple(sorted(q["pages"] for q in record["questions"])) for record in build.manifest["versions"]}
    assert len(reserved) == 1
    firsts: dict[str, set[int]] = {}
    for row in build.rows:
        firsts.setdefault(row["item"], set()).add(int(row["first_page"]))
    assert any(len(pages) > 1 for pages in firsts.values()), "shuffled, yet every question kept its pages"
    demo = builds["demo"]  # no shuffle: every question on the same pages in every version
    assert "shuffle" not in demo.manifest["blueprint"]["text"]
    pages = Counter((row["item"], row["first_page"], row["last_page"]) for row in demo.rows)
    assert set(pages.values()) == {len(demo.manifest["versions"])}


# --- "Question n (continued)" ---------------------------------------------------------------------------


def test_every_continuation_page_of_an_exam_names_its_question(builds):
    seen = 0
    for name, build in builds.items():
        for record, keyed in zip(build.manifest["versions"], build.key["versions"]):
            texts = page_texts(build.exam(record))
            expected = {p: q["number"] for q in keyed["questions"] for p in q["pages"][1:]}
            for page, text in enumerate(texts, start=1):
                assert continued(text) == expected.get(page), f"{name} v{record['version']} page {page}"
            seen += len(expected)
    assert seen > 20  # the 2- and 3-page questions, and the compact exams' page breaks


def test_every_continuation_page_of_the_solutions_names_its_question(builds):
    """The solutions flow like a compact exam: a page continues the question last begun, unless it
    begins with the next question (its label, or its section's heading)."""
    seen = 0
    for name, build in builds.items():
        for record in build.manifest["versions"]:
            headings = {q["heading"] for q in record["questions"] if q["heading"]}
            texts = page_texts(build.out / "instructor" / record["folder"] / "solutions.pdf")
            open_question = 0
            for page, text in enumerate(texts, start=1):
                body = text.split("\n", 1)[1] if "\n" in text else ""
                first_line = body.lstrip().split("\n", 1)[0]
                begins = starts(open_question + 1, first_line) or first_line.strip() in headings
                where = f"{name} v{record['version']} solutions page {page}"
                assert continued(text) == (None if begins or open_question == 0 else open_question), where
                seen += continued(text) is not None
                while starts(open_question + 1, body):
                    open_question += 1
            assert open_question == len(record["questions"])
    assert seen > 20


# --- inside the margins a scanner keeps ------------------------------------------------------------------


def word_boxes(pdf: Path) -> list[tuple[int, float, float, str, tuple[float, float, float, float]]]:
    """(page, width, height, word, box) of every word, from pdftotext -bbox (points, origin top left)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words, page, size = [], 0, (0.0, 0.0)
    for line in out.splitlines():
        head = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', line)
        if head:
            page, size = page + 1, (float(head.group(1)), float(head.group(2)))
        word = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>', line)
        if word:
            box = tuple(float(word.group(i)) for i in range(1, 5))
            words.append((page, *size, word.group(5), box))
    return words


def gray_pages(pdf: Path, tmp: Path, dpi: int = RASTER_DPI) -> list[np.ndarray]:
    """Every page as a grey image (0 black, 255 white), from pdftoppm."""
    stem = tmp / pdf.stem
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), str(pdf), str(stem)], check=True)
    images = []
    for path in sorted(tmp.glob(f"{pdf.stem}-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        data = path.read_bytes()
        magic, width, height, _max, pixels = data.split(maxsplit=4)
        assert magic == b"P5"
        images.append(np.frombuffer(pixels[: int(width) * int(height)], np.uint8).reshape(int(height), int(width)))
        path.unlink()
    return images


def test_no_text_within_the_band_a_scanner_loses(builds):
    checked = 0
    for name, build in builds.items():
        for pdf in build.pdfs():
            for page, width, height, word, (x0, y0, x1, y1) in word_boxes(pdf):
                gap = min(x0, y0, width - x1, height - y1)
                where = f"{pdf.relative_to(build.out.parent)} page {page}: {word!r} at ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f})"
                assert gap >= BAND_PT, f"{where} is {gap / 72:.2f} in from the edge"
                checked += 1
    assert checked > 10_000


def test_no_ink_within_the_band_a_scanner_loses(builds, tmp_path):
    """Figures (TikZ trees and graphs, pgfplots) and rules too: every page rasterized, the band white."""
    band = int(PAPER.blank_band_in * RASTER_DPI)  # whole pixels inside the band
    pages = 0
    for name, build in builds.items():
        for pdf in build.pdfs():
            for page, image in enumerate(gray_pages(pdf, tmp_path), start=1):
                strips = {"top": image[:band], "bottom": image[-band:], "left": image[:, :band], "right": image[:, -band:]}
                for side, strip in strips.items():
                    assert strip.min() >= 250, f"{pdf.relative_to(build.out.parent)} page {page}: ink in the {side} band"
                pages += 1
    assert pages > 100


# --- room to answer (page-per-question) ----------------------------------------------------------------


def test_the_shipped_blueprints_leave_room_to_answer(builds):
    for name in ("midterm", "quiz", "demo"):
        assert "too little room" not in builds[name].stderr, builds[name].stderr
        build = builds[name]
        placed = place_exam(build.manifest, build.out)
        for record in build.manifest["versions"]:
            for entry, where in zip(record["questions"], placed[record["version"]]):
                assert where.free_cm >= ANSWER_SPACE_CM_PER_MINUTE * entry["minutes"] - 0.05, (name, entry["item"]["id"])


def test_the_free_space_measured_is_the_white_space_on_paper(builds, tmp_path):
    """The free height the build reads from the marks, against the pages' pixels: the last ink of the
    question's text on its pages (below the head, above the foot), down to the bottom of the text."""
    build = builds["midterm"]
    record = build.manifest["versions"][0]
    images = gray_pages(build.exam(record), tmp_path, dpi=72)  # a pixel a point
    margin = round(PAPER.margin_cm * PT_PER_CM)
    for entry, where in zip(record["questions"], place_exam(build.manifest, build.out)[record["version"]]):
        free_pt = 0
        for page in reversed(where.pages):  # blank pages from the last, then the page of the last line
            text_area = images[page - 1][margin:-margin, margin:-margin]
            inked = np.nonzero(text_area.min(axis=1) < 200)[0]
            free_pt += text_area.shape[0] - (inked[-1] + 1 if len(inked) else 0)
            if len(inked):
                break
        assert abs(free_pt / PT_PER_CM - where.free_cm) < 0.4, (entry["number"], free_pt / PT_PER_CM, where.free_cm)


def test_a_question_without_room_to_answer_is_named_and_more_pages_give_it(tmp_path):
    blueprint = tmp_path / "tight.yaml"
    blueprint.write_text(
        "title: Tight\noptions: {layout: page-per-question, cover: false}\nsections:\n"
        "  - slots:\n      - item: why-convolutions-for-images-mc\n      - item: init-variance-sigmoid\n"
    )
    proc = run_qbank("exam", str(blueprint), "--out", str(tmp_path / "out"), "--secret", SECRET)
    assert proc.returncode == 0, proc.stderr  # a warning: the PDFs are right, the room is a judgment
    warnings = [line for line in proc.stderr.splitlines() if "too little room" in line]
    assert len(warnings) == 1, proc.stderr
    assert re.match(
        rf"warning: {re.escape(str(blueprint))}: slot s1\.2 \(init-variance-sigmoid\) leaves too little room to answer: "
        r"\d+\.\d cm free below the question on its 1 page, for 7\.0 min of work \(the rule: 2\.5 cm a minute, 17\.5 cm\), "
        r"in 1 of 1 version\(s\); reserve `pages: 2` on the slot$",
        warnings[0],
    ), warnings[0]
    blueprint.write_text(blueprint.read_text().replace("cover: false", "cover: false, answer_box: true") + "        pages: 2\n")
    proc = run_qbank("exam", str(blueprint), "--out", str(tmp_path / "out"), "--secret", SECRET)
    assert proc.returncode == 0 and "too little room" not in proc.stderr, proc.stderr
    exam = tmp_path / "out" / "students" / "v01" / "exam.pdf"
    assert [continued(text) for text in page_texts(exam)] == [None, None, 2]
    blank = gray_pages(exam, tmp_path, dpi=72)[2]  # the reserved page the question leaves empty: its answer box
    margin = round(PAPER.margin_cm * PT_PER_CM)
    rows = np.nonzero((blank[margin:-margin, margin:-margin] < 128).sum(axis=1) > 300)[0]  # the box's top and bottom
    assert len(rows) >= 2 and rows[-1] - rows[0] > 0.9 * (blank.shape[0] - 2 * margin)


# --- reading the marks ------------------------------------------------------------------------------------


def compile_marks(tmp_path: Path, body: str) -> Path:
    """A PDF with the text area of qbank's exams and the marks `body` places."""
    tex = tmp_path / "marks.tex"
    tex.write_text(
        f"\\documentclass[11pt]{{article}}\\usepackage[margin={PAPER.margin_cm}cm]{{geometry}}\\pagestyle{{empty}}\n"
        f"\\newcommand{{\\qmark}}[1]{{\\pdfdest name{{qbank.#1}} xyz\\relax}}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
    )
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                   capture_output=True, check=True, timeout=120)
    return tmp_path / "marks.pdf"


def test_a_mark_that_went_over_to_the_next_page_alone_counts_for_the_page_before(tmp_path):
    pdf = compile_marks(tmp_path, "\\qmark{q1}One.\\par\\qmark{q1.end}\\qmark{q2}Two.\\newpage\\qmark{q2.end}\\qmark{q3}Three.\\par\\qmark{q3.end}")
    compact = place_questions(pdf, [1, 1, 1], "compact", cover=False)
    assert [(p.first, p.last) for p in compact] == [(1, 1), (1, 1), (2, 2)]  # q2's text ends on page 1
    (reserved,) = place_questions(pdf, [2], "page-per-question", cover=False)
    page_cm = 2.54 * 11 - 2 * PAPER.margin_cm  # US letter
    assert (reserved.first, reserved.last, reserved.page_cm) == (1, 2, pytest.approx(page_cm, abs=0.1))
    assert 2 * page_cm - 1.0 < reserved.free_cm < 2 * page_cm - 0.3  # all but its one line of text
    with pytest.raises(LatexError, match=r"question 2 begins on page 1, not on its reserved page 2"):
        place_questions(pdf, [1, 1], "page-per-question", cover=False)
    with pytest.raises(LatexError, match=r"marks\.pdf: the marks of question 4 are missing"):
        place_questions(pdf, [1, 1, 1, 1], "compact", cover=False)


def test_the_instructions_say_how_precisions_are_stated_and_how_to_answer_multiple_choice(builds):
    """Generated from what the exam holds, never typed in the blueprint (which may not state a precision):
    the precision rule wherever a part states one, the multiple-choice rule where there is any."""
    from qbank.documents import CHOICE_RULE, PRECISION_RULE

    for name, build in builds.items():
        record = build.manifest["versions"][0]
        first = " ".join(page_texts(build.exam(record))[0].split())
        has_choice = any(q["item"].get("kind") == "multiple-choice" for q in record["questions"])
        assert " ".join(PRECISION_RULE.split()) in first, name
        assert (" ".join(CHOICE_RULE.split()) in first) == has_choice, name
        whole = " ".join(" ".join(page_texts(build.exam(record))).split())
        assert re.search(r"Round to \d (decimal places|significant digits)\.|Give exact values", whole), name
