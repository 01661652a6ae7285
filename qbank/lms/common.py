"""The questions of an LMS export: every slot's verified variants, as HTML for the LMS's MathJax, with
what the LMS grades (qbank.lms.fields), and names and idents that trace back to slot, variant and seed.

It reads the exam's manifest (qbank.plan.plan_exam: version v is variant v of every slot) and the
fragments a PDF prints (qbank.exam.question_fragments), converted by the web writer's converter with
maths as TeX in \\( \\) and \\[ \\] (`math="mathjax"`); figures are compiled once to SVG and
referenced as `qbank-figure:NAME.svg`, which each writer replaces by its own reference.

A question is cut at its parts: the problem's `<ol class="qbank-parts">` gives one text per part, so
that a writer can show the parts the LMS grades in one question and the parts answered in words in
another, each with its own letter (`<li value="3">`) and points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Mapping, Sequence

from ..errors import QbankError
from ..fairness import LETTERS
from ..progress import QUIET, Reporter
from ..render import points_text
from .fields import Field, graded_parts

FIGURE_URL = "qbank-figure:"  # the src prefix of a figure in a question's HTML, until a writer places it
FIGURE_REF = re.compile(re.escape(FIGURE_URL) + r"(fig-[0-9a-f]{16}\.svg)")


@dataclass(frozen=True)
class QuizPart:
    """One lettered part of a question: its text (HTML; "" when the problem has no list of parts),
    its points, and the fields the LMS grades (empty: answered in words, graded by hand)."""

    label: str
    points: float
    html: str
    fields: tuple[Field, ...] = ()

    @property
    def written(self) -> bool:
        return not self.fields


@dataclass(frozen=True)
class QuizQuestion:
    """One variant of one slot, ready for a writer.

    `kind` is "graded" (a family's variant or a table of values: fields), "choice" (a bank item's
    multiple choice: `choices` in the version's order, `correct` its position) or "written" (a short
    answer or a table of words: an essay graded with the model solution)."""

    slot: str  # the slot's label, "s1.2"; "s2.2#2" for the second pick of a pool
    version: int
    item: str
    family: str | None
    seed: int | None
    title: str
    points: float
    kind: str
    intro: str  # the problem's HTML before its parts (all of it, when it has none)
    parts: tuple[QuizPart, ...]
    outro: str  # the problem's HTML after its parts
    solution: str
    choices: tuple[str, ...] = ()
    correct: int = -1
    letter: str = ""

    @property
    def name(self) -> str:
        """`s1.2 v03 conv1d-forward seed 123`: slot, variant, item and seed, as both LMSs list it."""
        seed = f" seed {self.seed}" if self.seed is not None else ""
        return f"{self.slot} v{self.version:02d} {self.item}{seed}"

    @property
    def ident(self) -> str:
        """`s1_2_v03`: the same, as an identifier (letters, digits and `_`)."""
        return f"{slug(self.slot)}_v{self.version:02d}"

    @property
    def fields(self) -> list[Field]:
        return [f for part in self.parts for f in part.fields]

    @property
    def graded_points(self) -> float:
        return sum(p.points for p in self.parts if not p.written) if self.kind == "graded" else 0.0

    @property
    def written_parts(self) -> list[int]:
        return [i for i, p in enumerate(self.parts) if p.written] if self.kind == "graded" else []


@dataclass(frozen=True)
class QuizSlot:
    label: str
    questions: tuple[QuizQuestion, ...]  # every variant's, version by version


@dataclass(frozen=True)
class Quiz:
    title: str
    name: str  # the blueprint's name: `demo`
    slots: tuple[QuizSlot, ...]
    figures: Mapping[str, str]  # SVG text by file name (`fig-<hash>.svg`)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "q"


def _slot_order(label: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", label))


# --- HTML ----------------------------------------------------------------------------------------

_LIST_TAG = re.compile(r"<(/?)(ol|ul|li)\b[^>]*>")


def split_list(html: str, css_class: str, count: int) -> tuple[str, list[str], str] | None:
    """The HTML before the first `<ol class="CSS_CLASS">`, the inner HTML of each of its items, and the
    HTML after it; None when there is no such list or it has not `count` items."""
    start = html.find(f'<ol class="{css_class}"')
    if start < 0:
        return None
    depth, items, item_start, end = 0, [], 0, -1
    for match in _LIST_TAG.finditer(html, start):
        closing, tag = match.group(1) == "/", match.group(2)
        if tag in ("ol", "ul"):
            depth += -1 if closing else 1
            if depth == 0:
                end = match.end()
                break
        elif depth == 1:
            if closing:
                items.append(html[item_start : match.start()].strip())
            else:
                item_start = match.end()
    if end < 0 or len(items) != count:
        return None
    return html[:start].strip(), items, html[end:].strip()


def inline_html(fragment: str) -> str:
    """An HTML fragment without a lone wrapping paragraph (a choice's text, a table cell)."""
    match = re.fullmatch(r"\s*<p>(.*)</p>\s*", fragment, re.S)
    return match.group(1).strip() if match and "<p>" not in match.group(1) else fragment.strip()


def for_mathjax(html: str) -> str:
    """pandoc's HTML made ready for an LMS's MathJax: `\\allowbreak` (a line-break hint qbank's lists
    carry, unknown to MathJax 2) dropped from the maths; and nothing in it that the LMS or its MathJax
    would turn into a link, a style or a file (see `inert`)."""
    return inert(html.replace("\\allowbreak", ""))


# MathJax's commands that link, style (a CSS background is a remote image), tag or load an extension:
# bank text may not use them (qbank.texcheck); whatever else reaches a writer (a family's template)
# shows them as text
_MATHJAX_LIVE = re.compile(r"\\(href|url|style|class|cssId|require|data|unicode)(?![A-Za-z])")
# the placeholders the LMSs replace by a file's address: only qbank's own figure references may hold them
_PLACEHOLDERS = re.compile(r"@@PLUGINFILE@@|\$IMS-CC-FILEBASE\$|%24IMS-CC-FILEBASE%24", re.IGNORECASE)
_STRAY_FIGURE_URL = re.compile(re.escape(FIGURE_URL) + r"(?!fig-[0-9a-f]{16}\.svg\")")


def inert(html: str) -> str:
    """HTML for an LMS with nothing live that qbank did not put there: MathJax's `\\href`, `\\style`,
    `\\class`, `\\cssId`, `\\require`... written as text (`\\backslash`), the placeholders Moodle and
    Canvas replace by a file's address (`@@PLUGINFILE@@`, `$IMS-CC-FILEBASE$`) escaped as entities so
    that no text can point at a file (`@@PLUGINFILE@@/../../etc/passwd`), and `qbank-figure:` left only
    in the `src` of qbank's own figures (`fig-<hash>.svg`), which each writer places. (Links and images
    are made safe by the converter: qbank.html.convert.safe_links.)"""
    html = _MATHJAX_LIVE.sub(lambda m: "\\backslash\\mathrm{" + m.group(1) + "}", html)
    html = _PLACEHOLDERS.sub(lambda m: "".join(f"&#{ord(c)};" for c in m.group(0)), html)
    return _STRAY_FIGURE_URL.sub("qbank&#45;figure:", html)


def points_note(points: float) -> str:
    return f"<em>({points_text(points)} point{'' if points == 1 else 's'})</em>"


def parts_html(q: QuizQuestion, shown: Sequence[int], after_part=None, points: bool = True) -> str:
    """The problem with only the parts `shown` (index from 0), each keeping its letter and showing its
    points (unless not `points`), and `after_part(i)` (HTML: the fields of part i) after each; a part
    with no text of its own (the problem has no list of parts) is followed by its fields at the end."""
    body = [q.intro] if q.intro else []
    listed = [i for i in shown if q.parts[i].html]
    if listed:
        items = []
        for i in listed:
            part = q.parts[i]
            extra = after_part(i) if after_part else ""
            note = f"<p>{points_note(part.points)}</p>\n" if points else ""
            items.append(f'<li value="{i + 1}">{note}{part.html}\n{extra}</li>')
        body.append('<ol type="a">\n' + "\n".join(items) + "\n</ol>")
    if q.outro:
        body.append(q.outro)
    unlisted = [i for i in shown if not q.parts[i].html]
    if unlisted and after_part:
        body += [after_part(i) for i in unlisted]
    return "\n".join(b for b in body if b)


def figures_in(html: str) -> list[str]:
    """The figure files a text shows, each once, in order."""
    return list(dict.fromkeys(FIGURE_REF.findall(html)))


# --- from the manifest -----------------------------------------------------------------------------


@dataclass
class _Pending:
    entry: Mapping[str, Any]
    slot: str
    version: int
    problem: str = ""
    solution: str = ""


def quiz_from_manifest(manifest: Mapping[str, Any], *, name: str, jobs: int = 2, reporter: Reporter = QUIET) -> Quiz:
    """Every question of the manifest, slot by slot in the blueprint's order, as the LMS writers read
    them; every TikZ figure compiled once, every fragment converted in as few pandoc runs as possible."""
    from ..exam import question_fragments
    from ..html.convert import latex_to_html_many, precision_statements
    from ..html.figures import compile_figures, extract_figures

    pending: list[_Pending] = []
    for record in manifest["versions"]:
        picks: dict[str, int] = {}
        for entry in sorted(record["questions"], key=lambda e: _slot_order(e["slot"])):
            k = picks[entry["slot"]] = picks.get(entry["slot"], 0) + 1
            p = _Pending(entry, entry["slot"], record["version"])
            p.problem, p.solution = question_fragments(entry, reverify=False)  # plan_exam verified them
            p.slot = entry["slot"] if k == 1 and not _is_pool_pick(manifest, entry["slot"]) else f"{entry['slot']}#{k}"
            pending.append(p)
    texts, figures = [], []
    for p in pending:
        for tex in (p.problem, p.solution):
            text, found = extract_figures(tex)
            texts.append(precision_statements(text, lms=True))  # an exact fraction is asked as a decimal
            figures += found
    reporter.info(f"converting {len(pending)} question(s) to HTML")
    svgs = compile_figures(figures, jobs=jobs, reporter=reporter)
    htmls = latex_to_html_many(texts, figure_src=lambda fig: f"{FIGURE_URL}{fig}.svg", jobs=jobs, reporter=reporter, math="mathjax")
    questions = [
        _question(p, for_mathjax(htmls[2 * i]), for_mathjax(htmls[2 * i + 1])) for i, p in enumerate(pending)
    ]
    slots: dict[str, list[QuizQuestion]] = {}
    for q in questions:
        slots.setdefault(q.slot, []).append(q)
    ordered = sorted(slots, key=lambda label: (_slot_order(label.split("#")[0]), label))
    quiz_slots = tuple(QuizSlot(label, tuple(sorted(slots[label], key=lambda q: q.version))) for label in ordered)
    return Quiz(manifest["header"]["title"], name, quiz_slots, {f"{n}.svg": svg for n, svg in svgs.items()})


def _is_pool_pick(manifest: Mapping[str, Any], slot: str) -> bool:
    """Whether some version holds more than one question of `slot` (a pool with choose > 1)."""
    return any(sum(e["slot"] == slot for e in r["questions"]) > 1 for r in manifest["versions"])


def _question(p: _Pending, problem: str, solution: str) -> QuizQuestion:
    entry, item = p.entry, p.entry["item"]
    base = dict(
        slot=p.slot, version=p.version, item=item["id"], family=item.get("family") and entry["family"],
        seed=entry.get("seed") if item.get("family") else None, title=item.get("title", item["id"]),
        points=float(entry["points"]), solution=solution,
    )
    if item.get("family"):
        return _family_question(entry, problem, base)
    if item["kind"] == "multiple-choice":
        split = split_list(problem, "qbank-choices", len(entry["choice_order"]))
        if split is None:
            raise QbankError(f"item {item['id']}: its choices did not come out of the HTML converter as a list")
        intro, choices, outro = split
        return QuizQuestion(
            **base, kind="choice", intro=intro, parts=(), outro=outro,
            choices=tuple(inline_html(c) for c in choices), correct=LETTERS.index(entry["correct"]), letter=entry["correct"],
        )
    labels = [p["part"] for p in entry.get("parts", [])]
    points = [float(p["points"]) for p in entry.get("parts", [])]
    if item["kind"] == "fill-table":
        fields = _table_fields(item)
        if fields is not None:
            return QuizQuestion(**base, kind="graded", intro=problem, outro="",
                                parts=(QuizPart("", float(entry["points"]), "", tuple(_share(fields, float(entry["points"])))),))
    split = split_list(problem, "qbank-parts", len(labels)) if labels else None
    intro, texts, outro = split if split else (problem, [""] * len(labels), "")
    parts = tuple(QuizPart(label, pts, text) for label, pts, text in zip(labels, points, texts))
    return QuizQuestion(**base, kind="written", intro=intro, parts=parts, outro=outro)


def _family_question(entry: Mapping[str, Any], problem: str, base: dict[str, Any]) -> QuizQuestion:
    from ..registry import get_family

    fam = get_family(entry["family"])
    specs = entry.get("parts") or [{"part": "", "points": entry["points"], "answers": list(fam.answers)}]
    graded = graded_parts(fam.answers, entry["answers"], [s["answers"] for s in specs],
                          lambda name: partial(fam.position_word, entry["params"], name))
    split = split_list(problem, "qbank-parts", len(specs)) if entry.get("parts") else None
    intro, texts, outro = split if split else (problem, [""] * len(specs), "")
    parts = tuple(
        QuizPart(s["part"], float(s["points"]), text, tuple(_share(fields or [], float(s["points"]))))
        for s, text, fields in zip(specs, texts, graded)
    )
    return QuizQuestion(**base, kind="graded", intro=intro, parts=parts, outro=outro)


def _share(fields: Sequence[Field], points: float) -> list[Field]:
    """The part's points split evenly over its fields."""
    return [replace(f, points=points / len(fields)) for f in fields] if fields else []


def _table_fields(item: Mapping[str, Any]) -> list[Field] | None:
    """The blank cells of a fill-in table as number fields, when every one of them is a number (else
    None: the table is answered in words)."""
    fields = []
    for r, row in enumerate(item["rows"]):
        for c, cell in enumerate(row):
            if not isinstance(cell, Mapping):
                continue
            try:
                value = float(str(cell["answer"]).strip())
            except ValueError:
                return None
            head = row[0] if isinstance(row[0], str) else f"row {r + 1}"
            label = f"{_plain(head)}, {_plain(item['columns'][c]) if c < len(item['columns']) else f'column {c + 1}'}"
            fields.append(Field(f"table.{r}.{c}", "table", label, "a cell of the table", "number", value, tol=0.0, part=0))
    return fields or None


def _plain(tex: str) -> str:
    return " ".join(re.sub(r"[{}$\\]", "", str(tex)).split())


# --- what the manifest records ----------------------------------------------------------------------


def field_record(f: Field, part: str = "") -> dict[str, Any]:
    """A graded field as the manifest records it: the tolerance is the absolute one of this variant."""
    out: dict[str, Any] = {"key": f.key, "part": part, "kind": f.kind, "value": f.value, "points": f.points}
    if f.kind == "number":
        out["tolerance"] = f.tol
    else:
        out["options"] = [o.text for o in f.options]
        out["correct"] = f.correct
    return out


def question_record(q: QuizQuestion, where: str, kind: str, fields: Sequence[Field] = (), parts: Sequence[int] = (),
                    ident: str = "") -> dict[str, Any]:
    """One exported question: its name and ident, where it is (a category or a group), its LMS type,
    and what it grades (or which parts it asks to answer in words)."""
    slot, _, pick = q.slot.partition("#")  # the blueprint's slot, as the versions name it; a pool's nth pick
    out: dict[str, Any] = {"slot": slot, "version": q.version, "item": q.item, "seed": q.seed, "name": q.name,
                           "ident": ident or q.ident, "in": where, "type": kind}
    if pick:
        out["pick"] = int(pick)
    if fields:
        out["fields"] = [field_record(f, q.parts[f.part].label if f.part is not None else "") for f in fields]
    if parts:
        out["written_parts"] = [q.parts[i].label for i in parts]
    if q.kind == "choice":
        out["correct"] = q.letter
    return out
