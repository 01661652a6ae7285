"""Exam blueprints (bank/exams/*.yaml): a header, options, and sections of slots.

A slot is a fixed bank item (`item: ID`), a family drawn directly (`family: ID`, with optional
`params` and `ranges`), or a pool (`from: {topic, tags, ids}` with `choose: n`). Every slot may set
`points` (overriding the item's) and `pages` (pages reserved per question, page-per-question layout).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .bank import (
    MAX_ID,
    MAX_TITLE,
    Bank,
    Item,
    as_written,
    check_vary,
    family_item,
    kind_of,
    load_bank,
    points_problem,
    shown,
    tag_list,
)
from .documents import LAYOUTS
from .registry import get_family
from .yamlfile import Located, load_located, no_gc

HEADER = ("course", "title", "date", "duration", "instructions")
HEADER_LIMITS = {"course": 80, "title": MAX_TITLE, "date": 40, "duration": 40, "instructions": 2_000}  # characters
MAX_CHOOSE = 100  # questions drawn from one pool
# instructions that state how precisely to give numbers: the parts state it (qbank.grading), never the cover's text
PRECISION_WORDS = re.compile(
    r"\b(?:round\w*|decimal\s+places?|significant\s+(?:digits?|figures?)|(?:one|two|three|four|five|six|\d+)\s+places)\b",
    re.IGNORECASE,
)
OPTIONS = {"shuffle": bool, "layout": str, "cover": bool, "answer_box": bool}
SLOT_FIELDS = ("item", "family", "params", "ranges", "from", "choose", "points", "pages", "vary", "structure")


@dataclass(frozen=True)
class Slot:
    label: str  # stable id of the slot, e.g. "s1.2": section 1, slot 2
    pool: tuple[Item, ...]
    choose: int
    points: float | None
    pages: int
    source: str
    vary: tuple[str, ...] = ()  # structural features the slot lets differ between versions


@dataclass(frozen=True)
class Section:
    title: str
    shuffle: bool
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Blueprint:
    path: Path
    text: str
    digest: str
    header: dict[str, str]
    layout: str
    cover: bool
    answer_box: bool
    sections: tuple[Section, ...]

    @property
    def title(self) -> str:
        return self.header["title"]

    @property
    def question_count(self) -> int:
        return sum(slot.choose for section in self.sections for slot in section.slots)


@no_gc()
def load_blueprint(path: Path, bank: Bank | None = None) -> Blueprint:
    from .workspace import check_course_file

    check_course_file(path, "blueprint")
    doc = load_located(Path(path), "blueprint")
    data = doc.data
    if data is None:
        raise doc.error((), "the blueprint is empty; expected a mapping with course, title, ..., options and sections")
    if not isinstance(data, dict):
        raise doc.error((), f"expected a mapping with course, title, ..., options and sections, got {kind_of(data, quote=False)}")
    known = (*HEADER, "options", "sections")
    for key in data:
        if key not in known:
            raise doc.error((key,), f"unknown field (expected one of {', '.join(known)})")
    header = {}
    for key in HEADER:
        value = data.get(key)
        text = "" if value is None else as_written(doc, (key,), value)
        if text is None:
            raise doc.error((key,), f"expected text, got {kind_of(value)}")
        text = text.strip()
        if len(text) > HEADER_LIMITS[key]:
            raise doc.error((key,), f"expected at most {HEADER_LIMITS[key]:,} characters, got {len(text):,}; shorten it")
        header[key] = text
    if not header["title"]:
        raise doc.error((), "missing field `title`")
    stated = PRECISION_WORDS.search(header["instructions"])
    if stated:
        raise doc.error(("instructions",), f"states a precision ({stated.group(0)!r}); each part of a question states its "
                        "own, from the card, and the cover says so: remove it, so that the two cannot disagree")
    options = _options(doc, data.get("options", {}) or {})
    sections_data = data.get("sections")
    if not isinstance(sections_data, list) or not sections_data:
        raise doc.error(("sections",), "expected a non-empty list of sections, each {title, slots}")
    lazy = _LazyBank(bank)
    sections = tuple(_section(doc, i, s, lazy, options["shuffle"]) for i, s in enumerate(sections_data))
    text = doc.text
    return Blueprint(
        path=Path(path),
        text=text,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        header=header,
        layout=options["layout"],
        cover=options["cover"],
        answer_box=options["answer_box"],
        sections=sections,
    )


def _options(doc: Located, options: Any) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise doc.error(("options",), f"expected a mapping (shuffle, layout, cover, answer_box), got {kind_of(options)}")
    out = {"shuffle": False, "layout": "page-per-question", "cover": True, "answer_box": False}
    for key, value in options.items():
        if key not in OPTIONS:
            raise doc.error(("options", key), f"unknown option (expected {', '.join(OPTIONS)})")
        if not isinstance(value, OPTIONS[key]):
            raise doc.error(("options", key), f"expected {'true or false' if OPTIONS[key] is bool else 'text'}, got {shown(value)}")
        if key == "layout" and value not in LAYOUTS:
            raise doc.error(("options", key), f"expected one of {', '.join(LAYOUTS)}, got {shown(value)}")
        out[key] = value
    return out


def _not_replaced(doc: Located, at: tuple, bank: Any, item_id: str) -> None:
    """An id the bank lacks because a course item `replaces:` it under a new id: say which to name."""
    by = bank.replaced.get(item_id)
    if by is not None:
        raise doc.error(at, f"bank item {item_id!r} is replaced by {by.id!r} ({by.source}); name {by.id!r} here")


class _LazyBank:
    """The bank is read only when a slot names an item or a pool: a blueprint of family slots alone
    does not depend on it."""

    def __init__(self, bank: Bank | None):
        self._bank = bank

    @property
    def items(self):
        if self._bank is None:
            self._bank = load_bank()
        return self._bank.items

    @property
    def replaced(self):
        self.items  # noqa: B018 - loads the bank
        return self._bank.replaced

    def select(self, **kw):
        self.items  # noqa: B018 - loads the bank
        return self._bank.select(**kw)


def _section(doc: Located, index: int, data: Any, bank: Bank, shuffle: bool) -> Section:
    at = ("sections", index)
    if not isinstance(data, dict):
        raise doc.error(at, f"expected a mapping with `title` and `slots`, got {kind_of(data)}")
    for key in data:
        if key not in ("title", "slots", "shuffle"):
            raise doc.error((*at, key), "unknown field (expected title, slots, shuffle)")
    value = data.get("title")
    title = "" if value is None else as_written(doc, (*at, "title"), value)
    if title is None:
        raise doc.error((*at, "title"), f"expected text, got {kind_of(value)}")
    if len(title.strip()) > MAX_TITLE:
        raise doc.error((*at, "title"), f"expected at most {MAX_TITLE} characters, got {len(title.strip()):,}; shorten it")
    shuffle = data.get("shuffle", shuffle)
    if not isinstance(shuffle, bool):
        raise doc.error((*at, "shuffle"), f"expected true or false, got {shown(shuffle)}")
    slots = data.get("slots")
    if not isinstance(slots, list) or not slots:
        raise doc.error((*at, "slots"), "expected a non-empty list of slots (item, family or from)")
    built = tuple(_slot(doc, (*at, "slots", j), f"s{index + 1}.{j + 1}", s, bank) for j, s in enumerate(slots))
    return Section(title.strip(), shuffle, built)


def _slot(doc: Located, at: tuple, label: str, data: Any, bank: Bank) -> Slot:
    if not isinstance(data, dict):
        raise doc.error(at, f"expected a mapping: {{item: ID}}, {{family: ID}} or {{from: {{...}}, choose: n}}, got {kind_of(data)}")
    for key in data:
        if key not in SLOT_FIELDS:
            raise doc.error((*at, key), f"unknown field (expected {', '.join(SLOT_FIELDS)})")
    kinds = [k for k in ("item", "family", "from") if k in data]
    if len(kinds) != 1:
        raise doc.error(at, "expected exactly one of `item`, `family` or `from`")
    points = data.get("points")
    if points is not None and points_problem(points):
        raise doc.error((*at, "points"), points_problem(points))
    pages = data.get("pages", 1)
    if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= 10:
        raise doc.error((*at, "pages"), f"expected an integer from 1 to 10, got {shown(pages)}")
    choose = data.get("choose", 1)
    if isinstance(choose, bool) or not isinstance(choose, int) or not 1 <= choose <= MAX_CHOOSE:
        raise doc.error((*at, "choose"), f"expected a positive integer, at most {MAX_CHOOSE}, got {shown(choose)}")
    if kinds != ["from"] and "choose" in data:
        raise doc.error((*at, "choose"), "`choose` goes with a `from` pool")
    for key in ("params", "ranges", "structure"):
        if kinds != ["family"] and key in data:
            raise doc.error((*at, key), f"`{key}` goes with `family` (a bank item sets its own)")
    source = f"{doc.path}: line {doc.line(*at)}"

    if kinds == ["item"]:
        item_id = data["item"]
        if not isinstance(item_id, str) or not item_id.strip():
            raise doc.error((*at, "item"), f"expected the id of one bank item (text), got {kind_of(item_id)}; a pool is `from: {{ids: [...]}}`")
        if item_id not in bank.items:
            _not_replaced(doc, (*at, "item"), bank, item_id)
            import difflib

            close = difflib.get_close_matches(str(item_id), bank.items, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise doc.error((*at, "item"), f"unknown bank item {shown(item_id)}{hint}")
        pool = (bank.items[item_id],)
    elif kinds == ["family"]:
        pool = (_family_slot_item(doc, at, data, source),)
    else:
        pool = tuple(_pool(doc, (*at, "from"), data["from"], bank))
        if len(pool) < choose:
            raise doc.error((*at, "choose"), f"the pool holds {len(pool)} item(s), fewer than choose: {choose}")
    if points is None and any(item.points is None for item in pool):
        raise doc.error((*at, "points"), "missing: this slot's item has no points of its own")
    vary = tag_list(data["vary"], "vary", lambda keys, m: doc.error((*at, *keys), m)) if "vary" in data else ()
    _check_slot_vary(doc, (*at, "vary"), pool, vary)
    return Slot(label, pool, choose, points, pages, source, vary)


def _check_slot_vary(doc: Located, at: tuple, pool: tuple[Item, ...], vary: tuple[str, ...]) -> None:
    if not vary:
        return
    families = [item for item in pool if item.parameterized]
    if not families:
        raise doc.error(at, "`vary` names structural features of a family; this slot has no parameterized item")
    from .engine import draw  # late: the engine imports the registry

    for item in families:
        fam = get_family(item.family)
        params = draw(fam, 0, item.params, constraints=item.ranges).params
        check_vary(fam, params, vary, lambda message: doc.error(at, f"item {item.id!r}: {message}"))


def _family_slot_item(doc: Located, at: tuple, data: dict, source: str) -> Item:
    """A family drawn straight from a blueprint slot: checked like a bank item of that family."""
    if data.get("points") is None:
        raise doc.error((*at, "points"), "missing: a family slot needs points")
    fam_id = data["family"]
    if not isinstance(fam_id, str) or not fam_id.strip():
        raise doc.error((*at, "family"), f"expected a family id (text, as `qbank list` prints it), got {kind_of(fam_id)}")
    common = {"id": fam_id, "title": fam_id, "tags": (), "difficulty": 2, "source": source}
    item = family_item(data, common, lambda keys, message: doc.error((*at, *keys), message))
    fam = get_family(item.family)
    return replace(item, title=fam.title, difficulty=fam.difficulty)


def _pool(doc: Located, at: tuple, spec: Any, bank: Bank) -> list[Item]:
    if not isinstance(spec, dict) or not spec:
        raise doc.error(at, f"expected a mapping with any of topic, tags, ids, got {kind_of(spec)}")
    for key in spec:
        if key not in ("topic", "tags", "ids"):
            raise doc.error((*at, key), "unknown field (expected topic, tags, ids)")
    lists = {}
    for key in ("topic", "tags", "ids"):
        value = spec.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= MAX_ID for v in value):
            raise doc.error((*at, key), f"expected a name or a list of names, got {shown(value)}")
        twice = sorted(v for v, n in Counter(value).items() if n > 1)
        if twice:
            raise doc.error((*at, key), f"lists {twice[0]!r} twice; name each once")
        lists[key] = value
    for item_id in lists["ids"]:
        if item_id not in bank.items:
            _not_replaced(doc, (*at, "ids"), bank, item_id)
            raise doc.error((*at, "ids"), f"unknown bank item {item_id!r}")
    topics = {item.topic for item in bank.items.values()}
    for topic in lists["topic"]:
        if topic not in topics:
            raise doc.error((*at, "topic"), f"no bank item has topic {topic!r} (topics: {', '.join(sorted(topics))})")
    pool = bank.select(topics=lists["topic"], tags=lists["tags"], ids=lists["ids"])
    if not pool:
        raise doc.error(at, "no bank item matches this pool")
    return pool
