"""The HTML writer: verified variants (and conceptual bank items) as interactive web pages.

It reads what the LaTeX writer reads, never a second template per family: a variant's problem and
solution fragments, rendered by the family's own LaTeX template, go through pandoc
(qbank.html.convert) with their TikZ figures compiled to SVG (qbank.html.figures); the answers and
tolerances come from the verified variant, the inputs from its values (qbank.html.widgets).

A page is a list of `WebQuestion`s, each one `<section data-qbank-variant="ID">` with its problem,
inputs grouped by part, Check and Show-solution buttons and the solution; everything a page needs
is in the output folder (assets/, figures/), so it works from file:// and from any static host.
"""

from __future__ import annotations

import base64
import functools
from functools import partial
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2

from ..engine import part_specs
from ..family import Family
from ..fairness import part_labels
from ..model import Variant, thaw
from ..paths import template_dirs
from ..registry import get_family
from ..render import render_block, render_fragments
from . import widgets
from .convert import latex_to_html_many
from .figures import compile_figures, extract_figures

ASSETS = Path(__file__).resolve().parent / "assets"
ASSET_FILES = ("qbank.css", "qbank.js", "site.js")


@dataclass(frozen=True)
class WebQuestion:
    """One variant as a page shows it (HTML pieces) plus what site.json records about it."""

    id: str
    title: str
    problem: str
    solution: str
    inputs: str
    key: str
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Pending:
    """A variant on its way to HTML: its LaTeX fragments (figures taken out) and how to finish it."""

    id: str
    title: str
    tex: list[str]  # LaTeX fragments to convert, in order
    finish: Any  # callable(list of HTML fragments) -> WebQuestion
    figures: list = field(default_factory=list)


@functools.lru_cache(maxsize=None)
def _web_env(dirs: tuple[str, ...]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(Path(d) / "web") for d in dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def web_template(name: str) -> jinja2.Template:
    return _web_env(tuple(str(d) for d in template_dirs())).get_template(name)


def _encoded_key(key_json: str) -> str:
    return base64.b64encode(key_json.encode()).decode()


def _figures_out(fragments: Sequence[str]) -> tuple[list[str], list]:
    texts, figures = [], []
    for tex in fragments:
        text, found = extract_figures(tex)
        texts.append(text)
        figures += found
    return texts, figures


def pending_variant(variant: Variant, vid: str, record: Mapping[str, Any] | None = None) -> Pending:
    """A family's variant: its fragments from the family's own template, inputs from its answers."""
    fam = get_family(variant.family)
    problem, solution = render_fragments(variant)
    texts, figures = _figures_out([problem, solution])

    def finish(htmls: list[str]) -> WebQuestion:
        return WebQuestion(
            id=vid,
            title=fam.title,
            problem=htmls[0],
            solution=htmls[1],
            inputs=_family_inputs(fam, variant, vid),
            key=_encoded_key(widgets.answer_key(dict(fam.answers), thaw(variant.answers))),
            record=dict(record or {}),
        )

    return Pending(vid, fam.title, texts, finish, figures)


def _family_inputs(fam: Family, variant: Variant, vid: str) -> str:
    """The inputs of every asked answer, grouped under the part that asks it."""
    answers = thaw(variant.answers)
    parts = part_specs(fam, variant.params)
    groups: list[tuple[str, list[str]]] = []
    placed: set[str] = set()
    for label, part in zip(part_labels(len(parts)), parts):
        names = [n for n in part.answers if answers.get(n) is not None]
        placed |= set(names)
        if names:
            groups.append((f"({label})", names))
    rest = [n for n in fam.answers if answers.get(n) is not None and n not in placed]
    if rest:
        groups.append(("", rest))
    out = []
    for label, names in groups:
        body = "".join(
            widgets.answer_inputs(vid, n, fam.answers[n], answers[n], label.strip("()"), partial(fam.position_word, variant.params, n))
            for n in names
        )
        heading = f'<h4 class="qbank-part-label">Part {html.escape(label)}</h4>' if label else ""
        out.append(f'<fieldset class="qbank-part">{heading}{body}</fieldset>')
    return "\n".join(out)


def pending_item(entry: Mapping[str, Any], vid: str, record: Mapping[str, Any] | None = None) -> Pending:
    """A conceptual bank item (as recorded: {"item": item_to_dict(...), "choice_order": [...] for a
    multiple-choice one}): multiple choice checked at once, short answers written then compared with
    the model solution, a fill-in table as a table of inputs."""
    from ..exam import question_fragments  # late: exam imports much of the engine

    item = entry["item"]
    kind = item["kind"]
    problem, solution = question_fragments(entry, reverify=False)
    title = item["title"]
    if kind == "multiple-choice":
        order = list(entry["choice_order"])
        choices = [item["choices"][i]["text"] for i in order]
        correct = next(pos for pos, i in enumerate(order) if item["choices"][i]["correct"])
        question = render_block("conceptual/short-answer.tex.j2", "problem", {"item": {**item, "parts": []}}, f"item {item['id']}")
        texts, figures = _figures_out([question, solution, *choices])

        def finish(htmls: list[str]) -> WebQuestion:
            return WebQuestion(vid, title, htmls[0], htmls[1], widgets.choice_inputs(vid, htmls[2:]),
                               _encoded_key(json.dumps({"answers": {"choice": {"kind": "choice", "value": correct}}}, sort_keys=True)),
                               dict(record or {}))

        return Pending(vid, title, texts, finish, figures)
    if kind == "fill-table":
        cells = [
            [cell if isinstance(cell, Mapping) else cell for cell in row] for row in item["rows"]
        ]
        question = render_block("conceptual/short-answer.tex.j2", "problem", {"item": {**item, "parts": []}}, f"item {item['id']}")
        plain = [c for row in cells for c in row if not isinstance(c, Mapping)]
        texts, figures = _figures_out([question, solution, *item["columns"], *plain])

        def finish(htmls: list[str]) -> WebQuestion:
            columns = htmls[2 : 2 + len(item["columns"])]
            it = iter(htmls[2 + len(item["columns"]) :])
            rows = [[c if isinstance(c, Mapping) else next(it) for c in row] for row in cells]
            return WebQuestion(vid, title, htmls[0], htmls[1], widgets.table_inputs(vid, columns, rows),
                               _encoded_key(widgets.table_key(rows)), dict(record or {}))

        return Pending(vid, title, texts, finish, figures)
    texts, figures = _figures_out([problem, solution])

    def finish(htmls: list[str]) -> WebQuestion:
        return WebQuestion(vid, title, htmls[0], htmls[1], widgets.written_input(vid, "written"),
                           _encoded_key(json.dumps({"answers": {"written": {"kind": "written"}}}, sort_keys=True)),
                           dict(record or {}))

    return Pending(vid, title, texts, finish, figures)


def finish_all(pending: Sequence[Pending], jobs: int = 2, cache_dir: Path | None = None) -> tuple[list[WebQuestion], dict[str, str]]:
    """Convert every pending variant's LaTeX in as few pandoc runs as possible, and compile every
    figure once; return the questions and the SVGs by figure name."""
    svgs = compile_figures([f for p in pending for f in p.figures], cache_dir=cache_dir, jobs=jobs)
    flat = [tex for p in pending for tex in p.tex]
    htmls = latex_to_html_many(flat, figure_src=lambda name: f"{{ROOT}}figures/{name}.svg", jobs=jobs)
    questions, at = [], 0
    for p in pending:
        questions.append(p.finish(htmls[at : at + len(p.tex)]))
        at += len(p.tex)
    return questions, svgs


def render_page(
    title: str,
    questions: Sequence[WebQuestion],
    *,
    root: str,
    page_id: str,
    subtitle: str = "",
    breadcrumbs: Sequence[tuple[str, str]] = (),
) -> str:
    """One HTML page; `root` is the relative path from the page to the site's top folder ("" or
    "../"), used for assets and figures."""
    fixed = [
        WebQuestion(q.id, q.title, q.problem.replace("{ROOT}", root), q.solution.replace("{ROOT}", root), q.inputs, q.key, q.record)
        for q in questions
    ]
    return web_template("page.html.j2").render(
        title=title, subtitle=subtitle, questions=fixed, root=root, page_id=page_id, breadcrumbs=breadcrumbs
    )


def asset_texts() -> dict[str, str]:
    """The files every page needs, by name below assets/."""
    return {name: (ASSETS / name).read_text(encoding="utf-8") for name in ASSET_FILES}
