"""The question bank: YAML items in bank/items/<topic>.yaml, validated on load against a typed schema.

Two sorts of item:
- a parameterized item names a `family` (optionally pinning `params` and constraining drawn scalar
  params with `ranges`); every exam version draws fresh numbers for it;
- a conceptual item is written out with its solution: `short-answer` (or `parts`), `multiple-choice`
  (choices shuffled per version) or `fill-table` (blank cells in the exam, filled in the solutions).

Every problem is reported as `file: line N: field: what was expected`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import InputError, QbankError
from .paths import content_roots
from .registry import get_family
from .yamlfile import Located, load_located

KINDS = ("short-answer", "multiple-choice", "fill-table")
COMMON = ("id", "title", "topic", "tags", "difficulty", "points", "asks", "reveals", "minutes")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LENGTH = re.compile(r"^\d+(\.\d+)?(cm|mm|in|pt|em|ex)$")


@dataclass(frozen=True)
class WrittenPart:
    """One part of a conceptual short-answer item: its points (its weight when a slot re-splits them)."""

    points: float
    question: str
    solution: str


@dataclass(frozen=True)
class Choice:
    text: str
    correct: bool


@dataclass(frozen=True)
class Item:
    """One bank item. `family` is set for parameterized items, `kind` for conceptual ones."""

    id: str
    title: str
    topic: str
    tags: tuple[str, ...]
    difficulty: int
    points: float
    source: str  # "file: line N", for messages
    family: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    ranges: Mapping[str, Any] = field(default_factory=dict)
    kind: str | None = None
    question: str = ""
    solution: str = ""
    parts: tuple[WrittenPart, ...] = ()
    choices: tuple[Choice, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    answer_space: str = "5cm"
    asks: tuple[str, ...] = ()  # what the item asks for (tags); see qbank.fairness
    reveals: tuple[str, ...] = ()  # what its text or choices give away
    minutes: float | None = None  # a strong student's working time; None: the default for its kind
    vary: tuple[str, ...] = ()  # structural features that may differ between versions (parameterized)
    structure: Mapping[str, Any] = field(default_factory=dict)  # structural features pinned (parameterized)

    @property
    def parameterized(self) -> bool:
        return self.family is not None

    @property
    def part_points(self) -> tuple[float, ...]:
        return tuple(p.points for p in self.parts)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Reader:
    """Field access on one item with errors that name the file, line and field."""

    def __init__(self, doc: Located, index: int):
        self.doc, self.at = doc, (index,)
        self.data = doc.data[index]

    def fail(self, keys: tuple, message: str) -> InputError:
        """`file: line N: item 'ID': field: message`, the line being that of the field (or the item)."""
        item_id = self.data.get("id") if isinstance(self.data, dict) else None
        who = f"item {item_id!r}: " if isinstance(item_id, str) else f"item {self.at[0] + 1}: "
        field = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in keys).replace(".[", "[")
        field = f"{field}: " if field else ""
        return InputError(f"{self.doc.path}: line {self.doc.line(*self.at, *keys)}: {who}{field}{message}")

    def text(self, key: str, required: bool = True, data: Mapping | None = None, at: tuple = ()) -> str:
        data = self.data if data is None else data
        if key not in data:
            if required:
                raise self.fail(at, f"missing field `{key}` (expected text)")
            return ""
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail((*at, key), f"expected non-empty text, got {value!r}")
        return value.strip()

    def points(self, data: Mapping, at: tuple) -> float:
        if "points" not in data:
            raise self.fail(at, "missing field `points` (expected a positive number)")
        value = data["points"]
        if not _number(value) or value <= 0:
            raise self.fail((*at, "points"), f"expected a positive number, got {value!r}")
        return value


def load_items(path: Path) -> list[Item]:
    doc = load_located(path)
    if doc.data is None:
        return []
    if not isinstance(doc.data, list):
        raise doc.error((), "expected a list of items (each a mapping starting with `- id: ...`)")
    return [_item(_Reader(doc, i), path) for i in range(len(doc.data))]


def _item(r: _Reader, path: Path) -> Item:
    if not isinstance(r.data, dict):
        raise r.fail((), "expected a mapping with id, title, topic, tags, difficulty, points")
    d = r.data
    item_id = d.get("id")
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise r.fail(("id",), f"expected an id of lower-case words joined by '-', got {item_id!r}")
    title = r.text("title")
    tags = d.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise r.fail(("tags",), f"expected a list of tags (text), got {tags!r}")
    difficulty = d.get("difficulty", 2)
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or not 1 <= difficulty <= 5:
        raise r.fail(("difficulty",), f"expected an integer from 1 to 5, got {difficulty!r}")
    source = f"{path}: line {r.doc.line(*r.at)}"
    common = {"id": item_id, "title": title, "tags": tuple(tags), "difficulty": difficulty, "source": source}
    common.update(fairness_fields(d, r.fail))

    if "family" in d:
        _no_unknown(r, {*COMMON, "family", "params", "ranges", "vary", "structure"})
        return family_item(d, common, r.fail)
    if "kind" not in d:
        raise r.fail((), "expected either `family` (a parameterized item) or `kind` (" + ", ".join(KINDS) + ")")
    kind = d["kind"]
    if kind not in KINDS:
        raise r.fail(("kind",), f"expected one of {', '.join(KINDS)}, got {kind!r}")
    topic = r.text("topic")
    if topic != path.stem:
        raise r.fail(("topic",), f"expected the file's topic {path.stem!r} (items live in bank/items/<topic>.yaml), got {topic!r}")
    allowed = {*COMMON, "kind", "question", "solution", "parts", "choices", "table", "answer_space"}
    _no_unknown(r, allowed)
    answer_space = d.get("answer_space", "5cm")
    if not isinstance(answer_space, str) or not _LENGTH.match(answer_space):
        raise r.fail(("answer_space",), f"expected a TeX length such as 5cm, got {answer_space!r}")
    fields: dict[str, Any] = {**common, "topic": topic, "kind": kind, "answer_space": answer_space}

    if "parts" in d:
        if kind != "short-answer":
            raise r.fail(("parts",), "only short-answer items have parts")
        parts = d["parts"]
        if not isinstance(parts, list) or not parts:
            raise r.fail(("parts",), "expected a non-empty list of parts, each {points, question, solution}")
        built = []
        for j, part in enumerate(parts):
            at = ("parts", j)
            if not isinstance(part, dict):
                raise r.fail(at, "expected a mapping with points, question and solution")
            extra = sorted(set(part) - {"points", "question", "solution"})
            if extra:
                raise r.fail((*at, extra[0]), "unknown field (expected points, question, solution)")
            built.append(WrittenPart(r.points(part, at), r.text("question", data=part, at=at), r.text("solution", data=part, at=at)))
        if "points" in d:
            raise r.fail(("points",), "an item with parts takes its points from the parts; remove this field")
        fields.update(parts=tuple(built), points=sum(p.points for p in built), question=r.text("question", required=False))
        if "solution" in d:
            raise r.fail(("solution",), "an item with parts has one solution per part; remove this field")
        return Item(**fields)

    fields.update(points=r.points(d, ()), question=r.text("question"), solution=r.text("solution"))
    if kind == "multiple-choice":
        choices = d.get("choices")
        if not isinstance(choices, list) or not 2 <= len(choices) <= 6:
            raise r.fail(("choices",), "expected a list of 2 to 6 choices, each {text, correct}")
        built_choices = []
        for j, choice in enumerate(choices):
            at = ("choices", j)
            if not isinstance(choice, dict) or set(choice) - {"text", "correct"}:
                raise r.fail(at, "expected a mapping {text: ..., correct: true|false}")
            correct = choice.get("correct", False)
            if not isinstance(correct, bool):
                raise r.fail((*at, "correct"), f"expected true or false, got {correct!r}")
            built_choices.append(Choice(r.text("text", data=choice, at=at), correct))
        if sum(c.correct for c in built_choices) != 1:
            raise r.fail(("choices",), f"expected exactly one correct choice, found {sum(c.correct for c in built_choices)}")
        fields["choices"] = tuple(built_choices)
    elif "choices" in d:
        raise r.fail(("choices",), "only multiple-choice items have choices")
    if kind == "fill-table":
        fields.update(_table(r))
    elif "table" in d:
        raise r.fail(("table",), "only fill-table items have a table")
    return Item(**fields)


def _table(r: _Reader) -> dict[str, Any]:
    table = r.data.get("table")
    if not isinstance(table, dict) or set(table) != {"columns", "rows"}:
        raise r.fail(("table",), "expected a mapping with `columns` (header texts) and `rows` (lists of cells)")
    columns = table["columns"]
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        raise r.fail(("table", "columns"), "expected a list of column headers (text)")
    rows = table["rows"]
    if not isinstance(rows, list) or not rows:
        raise r.fail(("table", "rows"), "expected a non-empty list of rows")
    built = []
    blanks = 0
    for j, row in enumerate(rows):
        at = ("table", "rows", j)
        if not isinstance(row, list) or len(row) != len(columns):
            raise r.fail(at, f"expected a row of {len(columns)} cells (one per column)")
        cells = []
        for c, cell in enumerate(row):
            if isinstance(cell, (str, int, float)) and not isinstance(cell, bool):
                cells.append(str(cell))
            elif isinstance(cell, dict) and set(cell) == {"answer"} and isinstance(cell["answer"], str):
                cells.append({"answer": cell["answer"]})
                blanks += 1
            else:
                raise r.fail((*at, c), "expected a text cell, or {answer: text} for a cell the student fills in")
        built.append(tuple(cells))
    if blanks == 0:
        raise r.fail(("table",), "a fill-table needs at least one {answer: ...} cell")
    return {"columns": tuple(columns), "rows": tuple(built)}


_TAG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def tag_list(value: Any, key: str, fail: Callable[[tuple, str], InputError]) -> tuple[str, ...]:
    """A list of kebab-case tags (`asks`, `reveals`) or structural feature names (`vary`)."""
    value = [value] if isinstance(value, str) else value
    pattern = _TAG if key != "vary" else re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.match(v) for v in value):
        what = "lower-case words joined by '-'" if key != "vary" else "parameter names"
        raise fail((key,), f"expected a list of {what}, got {value!r}")
    if len(set(value)) != len(value):
        raise fail((key,), f"lists {sorted(v for v in value if value.count(v) > 1)[0]!r} twice")
    return tuple(value)


def fairness_fields(d: Mapping[str, Any], fail: Callable[[tuple, str], InputError]) -> dict[str, Any]:
    """`asks`, `reveals` and `minutes`, shared by every kind of item."""
    out: dict[str, Any] = {key: tag_list(d[key], key, fail) for key in ("asks", "reveals") if key in d}
    if "minutes" in d:
        minutes = d["minutes"]
        if not _number(minutes) or not 0 < minutes <= 600:
            raise fail(("minutes",), f"expected a working time in minutes, more than 0 and at most 600, got {minutes!r}")
        out["minutes"] = minutes
    return out


def family_item(data: Mapping[str, Any], common: dict[str, Any], fail: Callable[[tuple, str], InputError]) -> Item:
    """A parameterized item (from the bank, or a blueprint's family slot): the family exists, pinned
    params and ranges name its parameters, and together they admit at least one verified variant."""
    try:
        fam = get_family(str(data["family"]))
    except QbankError as exc:
        raise fail(("family",), str(exc)) from None
    topic = data.get("topic", fam.topic)
    if not isinstance(topic, str) or not topic:
        raise fail(("topic",), f"expected a topic name, got {topic!r}")
    params = data.get("params", {}) or {}
    if not isinstance(params, dict):
        raise fail(("params",), "expected a mapping of parameter names to pinned values")
    ranges = data.get("ranges", {}) or {}
    if not isinstance(ranges, dict):
        raise fail(("ranges",), "expected a mapping of parameter names to [lo, hi] or {one_of: [...]}")
    from .engine import draw, rng_for  # late: the engine imports the registry

    drawn = fam.sample(rng_for(fam.id, 0))
    for name in [*params, *ranges]:
        if name not in drawn:
            key = "params" if name in params else "ranges"
            raise fail((key, name), f"{fam.id} has no parameter {name!r} (it takes {', '.join(sorted(drawn))})")
    for name, spec in ranges.items():
        _check_range(fail, name, spec, drawn[name])
        if name in params:
            raise fail(("ranges", name), "this parameter is pinned in `params`; a range makes no sense for it")
    points = data.get("points")
    if not _number(points) or points <= 0:
        raise fail(("points",), f"expected a positive number, got {points!r}")
    vary = tag_list(data["vary"], "vary", fail) if "vary" in data else ()
    structure = data.get("structure", {}) or {}
    if not isinstance(structure, dict):
        raise fail(("structure",), "expected a mapping of structural features to values, as `qbank exam` prints them")
    features = fam.structure_of(drawn)
    for name in structure:
        if name not in features:
            raise fail(("structure", name), f"{name!r} is not a structural feature of {fam.id} (its structure: {', '.join(features) or 'none'})")
        if name in vary:
            raise fail(("structure", name), "this feature is pinned here and listed in `vary`; choose one")
    item = Item(
        **common, topic=topic, points=points, family=fam.id, params=params, ranges=ranges, vary=vary, structure=structure
    )
    try:  # the pins, ranges and structure must admit at least one verified variant
        variant = draw(fam, 0, params, constraints=ranges, structure=structure)
    except QbankError as exc:
        what = "params, ranges and structure" if structure else "params and ranges"
        raise fail(("family",), f"no verified variant with these {what}: {exc}") from None
    check_vary(fam, variant.params, vary, lambda message: fail(("vary",), message))
    return item


def check_vary(fam: Any, params: Mapping[str, Any], vary: tuple[str, ...], fail: Callable[[str], InputError]) -> None:
    """`vary` names structural features of the family, and the family estimates its working time (so
    that the versions that differ in those features can still be held to the same effort)."""
    if not vary:
        return
    features = fam.structure_of(params)
    unknown = [name for name in vary if name not in features]
    if unknown:
        known = ", ".join(features) or "none"
        raise fail(f"{unknown[0]!r} is not a structural feature of {fam.id} (its structure: {known})")
    if fam.minutes(params) is None:
        raise fail(f"{fam.id} does not estimate its working time (Family.minutes), so its versions cannot vary and stay equally hard")


def _check_range(fail: Callable[[tuple, str], InputError], name: str, spec: Any, example: Any) -> None:
    at = ("ranges", name)
    if not _number(example):
        raise fail(at, f"ranges apply to numeric parameters; {name!r} is not a number")
    if isinstance(spec, dict) and set(spec) == {"one_of"}:
        if not isinstance(spec["one_of"], list) or not spec["one_of"] or not all(_number(v) for v in spec["one_of"]):
            raise fail((*at, "one_of"), "expected a non-empty list of numbers")
        return
    if not isinstance(spec, list) or len(spec) != 2 or not all(_number(v) for v in spec) or spec[0] > spec[1]:
        raise fail(at, f"expected [lo, hi] with lo <= hi, or {{one_of: [...]}}, got {spec!r}")


def _no_unknown(r: _Reader, allowed: set[str]) -> None:
    extra = sorted(set(r.data) - allowed)
    if extra:
        raise r.fail((extra[0],), f"unknown field (expected {', '.join(sorted(allowed))})")


@dataclass(frozen=True)
class Bank:
    items: Mapping[str, Item]

    def select(self, topics=(), tags=(), ids=()) -> list[Item]:
        """Items matching any of `ids`, or else every topic in `topics` (if any) and all `tags`."""
        if ids:
            return [self.items[i] for i in ids]
        return [
            item
            for item in self.items.values()
            if (not topics or item.topic in topics) and all(t in item.tags for t in tags)
        ]


def bank_files() -> list[Path]:
    return sorted(p for root in content_roots() for p in (root / "bank" / "items").glob("*.yaml"))


def load_bank(files: list[Path] | None = None) -> Bank:
    items: dict[str, Item] = {}
    for path in bank_files() if files is None else files:
        for item in load_items(path):
            if item.id in items:
                raise InputError(f"{item.source}: id: duplicate id {item.id!r} (first defined at {items[item.id].source})")
            items[item.id] = item
    return Bank(items)


def item_to_dict(item: Item) -> dict[str, Any]:
    """An item as JSON data (recorded in manifests, so an exam can be rebuilt after the bank changes)."""
    from .model import thaw

    data = dataclasses.asdict(item)
    return thaw({k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()})


def item_from_dict(data: Mapping[str, Any]) -> Item:
    fields = dict(data)
    fields["tags"] = tuple(fields.get("tags", ()))
    fields["parts"] = tuple(WrittenPart(**p) for p in fields.get("parts", ()))
    fields["choices"] = tuple(Choice(**c) for c in fields.get("choices", ()))
    fields["columns"] = tuple(fields.get("columns", ()))
    fields["rows"] = tuple(tuple(r) for r in fields.get("rows", ()))
    for key in ("asks", "reveals", "vary"):
        fields[key] = tuple(fields.get(key, ()))
    fields["structure"] = dict(fields.get("structure", {}))
    return Item(**fields)
