"""`qbank site` and `qbank draw --format html`: verified variants written as static web pages.

The site: `index.html` (pages by topic), a page per family (N pre-drawn variants, one shown at a time,
"Another one" moving to the next) and per conceptual bank item, `assets/` (style and the checker
script), `figures/` (every TikZ figure once, as SVG) and `site.json` listing every variant. Built in a
staging folder and published as a whole, like the PDFs (qbank.publish).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..bank import item_to_dict, load_bank
from ..engine import MAX_SEED, draw
from ..errors import InputError
from ..progress import QUIET, Reporter
from ..publish import check_output_dir, output_folder
from ..registry import all_families, get_family
from ..model import thaw
from .page import asset_texts, finish_all, pending_item, pending_variant, render_page, web_template

MAX_VARIANTS = 200
TOPIC_TITLES = {
    "cnn": "Convolutional networks", "rnn": "Recurrent networks", "decoding": "Decoding", "backprop": "Backpropagation",
    "init": "Initialization", "inductive-bias": "Inductive biases", "regression": "Regression", "architectures": "Architectures",
}


def _write_common(stage, svgs: dict[str, str]) -> None:
    for name, text in asset_texts().items():
        stage.write(f"assets/{name}", text)
    for name, svg in sorted(svgs.items()):
        stage.write(f"figures/{name}.svg", svg)


def draw_html(family: str, seed: int, pinned: dict | None, out: Path, reporter: Reporter = QUIET, jobs: int = 2) -> list[Path]:
    """One variant as OUT/index.html with its assets and figures."""
    check_output_dir(Path(out), "html")  # before any work
    fam = get_family(family)
    variant = draw(fam, seed, pinned)
    vid = f"{fam.id}-{seed}"
    with output_folder(Path(out), "html") as stage:
        (question,), svgs = finish_all([pending_variant(variant, vid)], jobs=jobs)
        stage.write("index.html", render_page(fam.title, [question], root="", page_id=vid, subtitle=f"{fam.id}, seed {seed}"))
        _write_common(stage, svgs)
        return stage.commit()


def build_site(
    out: Path,
    *,
    topics: Sequence[str] = (),
    tags: Sequence[str] = (),
    variants: int = 5,
    seed: int | None = None,
    jobs: int = 2,
    reporter: Reporter = QUIET,
) -> list[Path]:
    if not 1 <= variants <= MAX_VARIANTS:
        raise InputError(f"--variants: expected 1 to {MAX_VARIANTS} variants per family, got {variants}")
    check_output_dir(Path(out), "site")  # before any work
    bank = load_bank()
    families = [f for f in all_families() if not topics or f.topic in topics]
    items = [i for i in bank.select(topics=topics, tags=tags) if not i.parameterized]
    known = sorted({f.topic for f in all_families()} | {i.topic for i in bank.items.values()})
    for topic in topics:
        if topic not in known:
            raise InputError(f"--topic: no family or bank item has topic {topic!r} (topics: {', '.join(known)})")
    if tags:  # families carry no tags: with --tags, only the bank's matching items and their families
        wanted = {i.family for i in bank.select(topics=topics, tags=tags) if i.parameterized}
        families = [f for f in families if f.id in wanted]
    if not families and not items:
        raise InputError(f"nothing matches topics {list(topics) or 'any'} with tags {list(tags)}")
    if seed is None:
        seed = secrets.randbelow(2**31)
    elif not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed: expected an integer from 0 to {MAX_SEED}")
    reporter.info(f"site seed {seed} (run again with --seed {seed} for the same site)")
    rng = np.random.default_rng(seed)
    pages: list[dict[str, Any]] = []
    pending = []
    records = []
    for fam in families:
        page_id = fam.id
        href = f"{fam.topic}/{fam.id}.html"
        group = []
        for k in range(variants):
            s = int(rng.integers(2**31))
            variant = draw(fam, s)
            vid = f"{fam.id}-{k + 1}"
            record = {"id": vid, "family": fam.id, "item": None, "seed": s, "params": thaw(variant.params), "page": href, "anchor": vid}
            group.append(pending_variant(variant, vid, record))
            records.append(record)
        pages.append({"id": page_id, "topic": fam.topic, "title": fam.title, "href": href, "kind": f"{variants} variants", "pending": group})
        pending += group
    for item in items:
        entry: dict[str, Any] = {"item": item_to_dict(item)}
        if item.kind == "multiple-choice":
            entry["choice_order"] = [int(i) for i in rng.permutation(len(item.choices))]
        href = f"{item.topic}/{item.id}.html"
        record = {"id": item.id, "family": None, "item": item.id, "seed": None, "params": None, "page": href, "anchor": item.id}
        one = pending_item(entry, item.id, record)
        records.append(record)
        kind = {"multiple-choice": "multiple choice", "short-answer": "written answer", "fill-table": "table"}[item.kind]
        pages.append({"id": item.id, "topic": item.topic, "title": item.title, "href": href, "kind": kind, "pending": [one]})
        pending.append(one)
    reporter.info(f"converting {len(pending)} variant(s) on {len(pages)} page(s) to HTML")
    with output_folder(Path(out), "site") as stage:
        questions, svgs = finish_all(pending, jobs=jobs)
        by_id = {q.id: q for q in questions}
        for page in pages:
            group = [by_id[p.id] for p in page["pending"]]
            crumbs = [("All topics", "../index.html"), (TOPIC_TITLES.get(page["topic"], page["topic"]), f"../index.html#topic-{page['topic']}")]
            stage.write(page["href"], render_page(page["title"], group, root="../", page_id=page["id"], breadcrumbs=crumbs))
        topics_out = []
        for topic in sorted({p["topic"] for p in pages}):
            listed = [p for p in pages if p["topic"] == topic]
            topics_out.append({"name": topic, "title": TOPIC_TITLES.get(topic, topic), "pages": listed})
        index = web_template("index.html.j2").render(
            title="Practice: deep learning", subtitle=f"{len(records)} verified questions to practise, checked as you go",
            topics=topics_out, count=len(records),
        )
        stage.write("index.html", index)
        stage.write("site.json", json.dumps({"seed": seed, "variants": records}, indent=2, sort_keys=False, allow_nan=False) + "\n")
        _write_common(stage, svgs)
        return stage.commit()
