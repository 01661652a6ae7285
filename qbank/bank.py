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
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import InputError, QbankError
from .paths import content_roots
from .registry import get_family
from .yamlfile import Located, load_located, no_gc

KINDS = ("short-answer", "multiple-choice", "fill-table")
COMMON = ("id", "title", "topic", "tags", "difficulty", "points", "asks", "reveals", "minutes", "replaces")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(cm|mm|in|pt|em|ex)$")
_CM = {"cm": 1.0, "mm": 0.1, "in": 2.54, "pt": 2.54 / 72.27, "em": 0.35, "ex": 0.16}  # em, ex: at 10pt
MAX_ANSWER_SPACE_CM = 25  # a page
MAX_POINTS = 1000
MAX_ID = 80  # characters of an id or a tag
MAX_TITLE = 120  # characters of a title (an item's, a blueprint's, a section's)
MAX_TEXT = 10_000  # characters of a question or a solution
MAX_CHOICE = 1_000  # characters of a choice
MAX_CELL = 500  # characters of a table cell or column header
MAX_ROWS, MAX_COLUMNS = 40, 10
MAX_PARTS = 26  # lettered a to z


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
    replaces: str | None = None  # the id of a built-in (or earlier QBANK_PATH) item this one takes the place of
    # the line of each choice in its bank file, for `qbank bank`'s warnings (not recorded in manifests)
    choice_lines: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def parameterized(self) -> bool:
        return self.family is not None

    @property
    def part_points(self) -> tuple[float, ...]:
        return tuple(p.points for p in self.parts)


def _number(value: Any) -> bool:
    """A finite int or float (not true/false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def shown(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut short (a message is one line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def points_problem(value: Any) -> str | None:
    """Why `value` is not a number of points, or None: finite, more than 0, at most MAX_POINTS."""
    if not _number(value) or not 0 < value <= MAX_POINTS:
        return f"expected a positive number of points, at most {MAX_POINTS}, got {shown(value)}"
    return None


def as_written(doc: Located, keys: tuple, value: Any) -> str | None:
    """Text where text is expected: a string, or a number, date or yes/no exactly as the file writes it
    (`6.10`, `No`); None for a list, a mapping or nothing."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return doc.scalar_text(*keys)
    return None


class _Reader:
    """Field access on one item with errors that name the file, line and field."""

    def __init__(self, doc: Located, index: int):
        self.doc, self.at = doc, (index,)
        self.data = doc.data[index]

    def fail(self, keys: tuple, message: str) -> InputError:
        """`file: line N: item 'ID': field: message`, the line being that of the field (or the item)."""
        item_id = self.data.get("id") if isinstance(self.data, dict) else None
        who = f"item {shown(item_id, 90)}: " if isinstance(item_id, str) else f"item {self.at[0] + 1}: "
        field = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in keys).replace(".[", "[")
        field = f"{field}: " if field else ""
        return InputError(f"{self.doc.path}: line {self.doc.line(*self.at, *keys)}: {who}{field}{message}")

    def text(
        self, key: str, required: bool = True, data: Mapping | None = None, at: tuple = (), limit: int = MAX_TEXT
    ) -> str:
        data = self.data if data is None else data
        if key not in data:
            if required:
                raise self.fail(at, f"missing field `{key}` (expected text)")
            return ""
        value = as_written(self.doc, (*self.at, *at, key), data[key])
        if value is None or not value.strip():
            raise self.fail((*at, key), f"expected non-empty text, got {shown(data[key])}")
        if len(value.strip()) > limit:
            raise self.fail((*at, key), f"expected at most {limit:,} characters, got {len(value.strip()):,}; shorten it")
        return value.strip()

    def points(self, data: Mapping, at: tuple) -> float:
        if "points" not in data:
            raise self.fail(at, "missing field `points` (expected a positive number)")
        problem = points_problem(data["points"])
        if problem:
            raise self.fail((*at, "points"), problem)
        return data["points"]


@no_gc()
def load_items(path: Path) -> list[Item]:
    from .workspace import check_course_file

    check_course_file(path, "bank file")
    doc = load_located(path, "bank file", items=True)
    if doc.data is None:
        return []
    if not isinstance(doc.data, list):
        raise doc.error((), f"expected a list of items (each a mapping starting with `- id: ...`), got {kind_of(doc.data, quote=False)}")
    items = [_item(_Reader(doc, i), path) for i in range(len(doc.data))]
    from .texcheck import check_item  # the LaTeX of every conceptual field, named by field and line

    for i, item in enumerate(items):
        check_item(item_to_dict(item), item.source, lambda keys, i=i: doc.line(i, *keys))
    return items


def kind_of(value: Any, quote: bool = True) -> str:
    """What a YAML value is, in words: with `quote`, a number or a text as written (cut short), else
    only what it is. A message about the shape of a whole file, or of an item in it, never quotes:
    a file that is not a bank file or a blueprint (a link to another file, the wrong file) must not
    have its content repeated in a terminal or a CI log."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return f"the number {shown(value)}" if quote else "a number"
    if isinstance(value, str):
        return f"the text {shown(value)}" if quote else "text"
    return {list: "a list", dict: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)


def _item(r: _Reader, path: Path) -> Item:
    if not isinstance(r.data, dict):
        raise r.fail((), f"expected a mapping with id, title, topic, tags, difficulty, points, got {kind_of(r.data, quote=False)}")
    d = r.data
    item_id = d.get("id")
    if not isinstance(item_id, str) or not _ID.match(item_id) or len(item_id) > MAX_ID:
        raise r.fail(("id",), f"expected an id of lower-case words joined by '-' (at most {MAX_ID} characters), got {shown(item_id)}")
    title = r.text("title", limit=MAX_TITLE)
    tags = d.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() and len(t) <= MAX_ID for t in tags):
        raise r.fail(("tags",), f"expected a list of tags (text, at most {MAX_ID} characters each), got {shown(tags)}")
    difficulty = d.get("difficulty", 2)
    if not isinstance(difficulty, int) or isinstance(difficulty, bool) or not 1 <= difficulty <= 5:
        raise r.fail(("difficulty",), f"expected an integer from 1 to 5, got {shown(difficulty)}")
    source = f"{path}: line {r.doc.line(*r.at)}"
    common = {"id": item_id, "title": title, "tags": tuple(tags), "difficulty": difficulty, "source": source}
    if "replaces" in d:
        replaces = d["replaces"]
        if not isinstance(replaces, str) or not _ID.match(replaces):
            raise r.fail(("replaces",), f"expected the id of the built-in item this one takes the place of, got {shown(replaces)}")
        common["replaces"] = replaces
    common.update(fairness_fields(d, r.fail))

    if "family" in d:
        _no_unknown(r, {*COMMON, "family", "params", "ranges", "vary", "structure"})
        return family_item(d, common, r.fail)
    if "kind" not in d:
        raise r.fail((), "expected either `family` (a parameterized item) or `kind` (" + ", ".join(KINDS) + ")")
    kind = d["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise r.fail(("kind",), f"expected one of {', '.join(KINDS)}, got {shown(kind)}")
    topic = r.text("topic", limit=MAX_ID)
    if topic != path.stem:
        raise r.fail(("topic",), f"expected the file's topic {path.stem!r} (items live in bank/items/<topic>.yaml), got {topic!r}")
    allowed = {*COMMON, "kind", "question", "solution", "parts", "choices", "table", "answer_space"}
    _no_unknown(r, allowed)
    answer_space = d.get("answer_space", "5cm")
    length = _LENGTH.match(answer_space) if isinstance(answer_space, str) else None
    if not length or float(length.group(1)) * _CM[length.group(2)] > MAX_ANSWER_SPACE_CM:
        raise r.fail(
            ("answer_space",), f"expected a TeX length such as 5cm, at most {MAX_ANSWER_SPACE_CM}cm, got {shown(answer_space)}"
        )
    fields: dict[str, Any] = {**common, "topic": topic, "kind": kind, "answer_space": answer_space}

    if "parts" in d:
        if kind != "short-answer":
            raise r.fail(("parts",), "only short-answer items have parts")
        parts = d["parts"]
        if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
            raise r.fail(("parts",), f"expected a list of 1 to {MAX_PARTS} parts (a to z), each {{points, question, solution}}")
        built = []
        for j, part in enumerate(parts):
            at = ("parts", j)
            if not isinstance(part, dict):
                raise r.fail(at, "expected a mapping with points, question and solution")
            extra = sorted((k for k in part if k not in ("points", "question", "solution")), key=str)
            if extra:
                raise r.fail((*at, extra[0]), "unknown field (expected points, question, solution)")
            built.append(WrittenPart(r.points(part, at), r.text("question", data=part, at=at), r.text("solution", data=part, at=at)))
        if sum(p.points for p in built) > MAX_POINTS:
            raise r.fail(("parts",), f"the parts' points add up to {sum(p.points for p in built):g}, more than {MAX_POINTS}")
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
                raise r.fail((*at, "correct"), f"expected true or false, got {shown(correct)}")
            built_choices.append(Choice(r.text("text", data=choice, at=at, limit=MAX_CHOICE), correct))
        if sum(c.correct for c in built_choices) != 1:
            raise r.fail(("choices",), f"expected exactly one correct choice, found {sum(c.correct for c in built_choices)}")
        fields["choices"] = tuple(built_choices)
        fields["choice_lines"] = tuple(r.doc.line(*r.at, "choices", j) for j in range(len(choices)))
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
    if not isinstance(columns, list) or not 1 <= len(columns) <= MAX_COLUMNS:
        raise r.fail(("table", "columns"), f"expected a list of 1 to {MAX_COLUMNS} column headers (text)")
    headers = [as_written(r.doc, (*r.at, "table", "columns", c), v) for c, v in enumerate(columns)]
    for c, header in enumerate(headers):
        if header is None or len(header) > MAX_CELL:
            raise r.fail(("table", "columns", c), f"expected a column header (text of at most {MAX_CELL} characters), got {shown(columns[c])}")
    rows = table["rows"]
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        raise r.fail(("table", "rows"), f"expected a list of 1 to {MAX_ROWS} rows")
    built = []
    blanks = 0
    for j, row in enumerate(rows):
        at = ("table", "rows", j)
        if not isinstance(row, list) or len(row) != len(columns):
            raise r.fail(at, f"expected a row of {len(columns)} cells (one per column)")
        cells = []
        for c, cell in enumerate(row):
            text = as_written(r.doc, (*r.at, *at, c), cell)
            answer = as_written(r.doc, (*r.at, *at, c, "answer"), cell["answer"]) if isinstance(cell, dict) and set(cell) == {"answer"} else None
            if text is not None and len(text) <= MAX_CELL:
                cells.append(text)
            elif answer is not None and len(answer) <= MAX_CELL:
                cells.append({"answer": answer})
                blanks += 1
            else:
                raise r.fail(
                    (*at, c), f"expected a text cell, or {{answer: text}} for a cell the student fills in (at most {MAX_CELL} characters)"
                )
        built.append(tuple(cells))
    if blanks == 0:
        raise r.fail(("table",), "a fill-table needs at least one {answer: ...} cell")
    return {"columns": tuple(headers), "rows": tuple(built)}


_TAG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def tag_list(value: Any, key: str, fail: Callable[[tuple, str], InputError]) -> tuple[str, ...]:
    """A list of kebab-case tags (`asks`, `reveals`) or structural feature names (`vary`)."""
    value = [value] if isinstance(value, str) else value
    pattern = _TAG if key != "vary" else re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.match(v) and len(v) <= MAX_ID for v in value):
        what = "lower-case words joined by '-'" if key != "vary" else "parameter names"
        raise fail((key,), f"expected a list of {what}, got {shown(value)}")
    twice = sorted(v for v, n in Counter(value).items() if n > 1)
    if twice:
        raise fail((key,), f"lists {twice[0]!r} twice")
    return tuple(value)


def fairness_fields(d: Mapping[str, Any], fail: Callable[[tuple, str], InputError]) -> dict[str, Any]:
    """`asks`, `reveals` and `minutes`, shared by every kind of item."""
    out: dict[str, Any] = {key: tag_list(d[key], key, fail) for key in ("asks", "reveals") if key in d}
    if "minutes" in d:
        minutes = d["minutes"]
        if not _number(minutes) or not 0 < minutes <= 600:
            raise fail(("minutes",), f"expected a working time in minutes, more than 0 and at most 600, got {shown(minutes)}")
        out["minutes"] = minutes
    return out


def family_item(data: Mapping[str, Any], common: dict[str, Any], fail: Callable[[tuple, str], InputError]) -> Item:
    """A parameterized item (from the bank, or a blueprint's family slot): the family exists, pinned
    params and ranges name its parameters, and together they admit at least one verified variant."""
    family_id = data["family"]
    if not isinstance(family_id, str) or not family_id.strip() or len(family_id) > MAX_ID:
        raise fail(("family",), f"expected a family id (text, as `qbank list` prints it), got {shown(family_id)}")
    try:
        fam = get_family(family_id)
    except QbankError as exc:
        raise fail(("family",), str(exc)) from None
    topic = data.get("topic", fam.topic)
    if not isinstance(topic, str) or not topic or len(topic) > MAX_ID:
        raise fail(("topic",), f"expected a topic name, got {shown(topic)}")
    params = data.get("params", {}) or {}
    if not isinstance(params, dict):
        raise fail(("params",), "expected a mapping of parameter names to pinned values")
    ranges = data.get("ranges", {}) or {}
    if not isinstance(ranges, dict):
        raise fail(("ranges",), "expected a mapping of parameter names to [lo, hi] or {one_of: [...]}")
    from .engine import draw, rng_for  # late: the engine imports the registry
    from .params import ParamError

    drawn = fam.sample(rng_for(fam.id, 0))
    for name in [*params, *ranges]:
        if name not in drawn:
            key = "params" if name in params else "ranges"
            raise fail((key, name), f"{fam.id} has no parameter {shown(name)} (it takes {', '.join(sorted(drawn))})")
    for name, spec in ranges.items():
        _check_range(fail, name, spec, drawn[name])
        if name in params:
            raise fail(("ranges", name), "this parameter is pinned in `params`; a range makes no sense for it")
    points = data.get("points")
    problem = points_problem(points)
    if problem:
        raise fail(("points",), problem)
    vary = tag_list(data["vary"], "vary", fail) if "vary" in data else ()
    structure = data.get("structure", {}) or {}
    if not isinstance(structure, dict):
        raise fail(("structure",), "expected a mapping of structural features to values, as `qbank exam` prints them")
    features = fam.structure_of(drawn)
    for name in structure:
        if len(repr(structure[name])) > 200:
            raise fail(("structure", name), f"expected a structural value as `qbank exam` prints it (such as [3] or 2), got {shown(structure[name])}")
        if name not in features:
            raise fail(("structure", name), f"{shown(name)} is not a structural feature of {fam.id} (its structure: {', '.join(features) or 'none'})")
        if not _same_shape(structure[name], features[name]):
            raise fail(("structure", name), f"expected a value like {features[name]!r} (as `qbank exam` prints it), got {shown(structure[name])}")
        if name in vary:
            raise fail(("structure", name), "this feature is pinned here and listed in `vary`; choose one")
    item = Item(
        **common, topic=topic, points=points, family=fam.id, params=params, ranges=ranges, vary=vary, structure=structure
    )
    try:  # the pins, ranges and structure must admit at least one verified variant
        variant = draw(fam, 0, params, constraints=ranges, structure=structure)
    except ParamError as exc:
        keys = exc.keys
        if keys and keys[0] in params:  # a pinned value of the wrong type, shape or range: named where it is
            raise fail(("params", *keys), exc.detail) from None
        raise fail(("params",), f"the pinned {', '.join(map(str, params))} leave no valid draw: {exc}") from None
    except InputError as exc:
        if params:  # the pins are what the family refuses (a degenerate problem, a drawn value they rule out)
            raise fail(("params",), f"no verified variant with these params: {exc}") from None
        raise fail(("family",), f"no verified variant with these ranges: {exc}") from None
    except QbankError as exc:
        given = [key for key, value in (("params", params), ("ranges", ranges), ("structure", structure)) if value]
        if structure and "no draw had the structure" in str(exc):
            given = ["structure"]
        if len(given) == 1:  # what the family cannot meet is named where it is written
            raise fail((given[0],), f"no verified variant with this {given[0]}: {exc}") from None
        what = "params, ranges and structure" if structure else "params and ranges"
        raise fail(("family",), f"no verified variant with these {what}: {exc}") from None
    check_vary(fam, variant.params, vary, lambda message: fail(("vary",), message))
    return item


def _same_shape(pinned: Any, example: Any) -> bool:
    """A pinned structural feature has the form of a drawn one: the same kind of scalar, or a list
    of dimensions (whole numbers; how many may depend on the draw)."""
    if isinstance(example, list):
        return (
            isinstance(pinned, list)
            and 1 <= len(pinned) <= 4
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in pinned)
        )
    if isinstance(example, bool) or isinstance(pinned, bool):
        return isinstance(example, bool) and isinstance(pinned, bool)
    if isinstance(example, (int, float)):
        return _number(pinned)
    return isinstance(pinned, type(example))


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
            raise fail((*at, "one_of"), "expected a non-empty list of (finite) numbers")
        return
    if not isinstance(spec, list) or len(spec) != 2 or not all(_number(v) for v in spec) or spec[0] > spec[1]:
        raise fail(at, f"expected [lo, hi] with lo <= hi (finite numbers), or {{one_of: [...]}}, got {shown(spec)}")


def _no_unknown(r: _Reader, allowed: set[str]) -> None:
    extra = sorted((k for k in r.data if k not in allowed), key=str)
    if extra and not isinstance(extra[0], str):  # `1: x`: not a field name at all (and not a list index)
        raise r.fail((), f"unknown field {shown(extra[0])} (expected {', '.join(sorted(allowed))})")
    if extra:
        raise r.fail((extra[0],), f"unknown field (expected {', '.join(sorted(allowed))})")


@dataclass(frozen=True)
class Bank:
    items: Mapping[str, Item]
    replaced: Mapping[str, Item] = field(default_factory=dict)  # an id replaced under another id -> its replacement

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
    """Every bank file, root by root (built-in, the workspace's, QBANK_PATH's), each root's sorted."""
    return [p for root in content_roots() for p in sorted((root / "bank" / "items").glob("*.yaml"))]


def load_bank(files: list[Path] | None = None) -> Bank:
    """The items of every bank file, in order. An id defined twice is an error naming both places,
    unless the later item says `replaces: ID`: it then takes the place of the earlier item ID (under
    its own id, the same or a new one)."""
    items: dict[str, Item] = {}
    replaced: dict[str, Item] = {}
    for path in bank_files() if files is None else files:
        loaded = load_items(path)
        for item in loaded:
            if item.replaces is not None:
                target = item.replaces
                if target not in items:
                    if target in replaced:
                        raise InputError(f"{item.source}: replaces: {target!r} is already replaced by the item at {replaced[target].source}")
                    if any(other.id == target for other in loaded):
                        raise InputError(f"{item.source}: replaces: {target!r} is in the same file; an item replaces one of the built-in bank (or of an earlier QBANK_PATH folder)")
                    raise InputError(f"{item.source}: replaces: no item {target!r} to replace (`qbank bank --include-builtin` lists the built-in ids)")
                del items[target]
                if target != item.id:
                    replaced[target] = item
            if item.id in items:
                hint = ""
                if item.replaces is None:
                    hint = f"; to use this one instead, add `replaces: {item.id}` to it"
                raise InputError(f"{item.source}: id: duplicate id {item.id!r} (first defined at {items[item.id].source}){hint}")
            items[item.id] = item
    return Bank(items, replaced)


def item_to_dict(item: Item) -> dict[str, Any]:
    """An item as JSON data (recorded in manifests, so an exam can be rebuilt after the bank changes)."""
    from .model import thaw

    data = dataclasses.asdict(item)
    if data["replaces"] is None:  # recorded only where set: manifests of plain items stay as they were
        del data["replaces"]
    del data["choice_lines"]  # where the bank file had them: for messages only
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


# --- tells of multiple-choice items ----------------------------------------------------------------
#
# A multiple-choice item has a tell when a student can find the correct choice without knowing the
# answer: it is much longer than the others, it alone holds a formula or a hedge, or a choice points
# at the others ("none of the above", meaningless anyway once the choices are shuffled per version).
# `qbank bank` warns about each; `qbank exam` does not (the bank is the author's to fix).

LONGEST_RATIO = 1.3  # a correct choice longer than this times the longest distractor is a tell
# Qualifiers that make a statement hard to refute: test-wise students pick the one choice that hedges.
HEDGES = (
    "usually", "often", "typically", "generally", "sometimes", "mostly", "largely", "frequently",
    "commonly", "normally", "can", "could", "may", "might", "tend", "tends", "likely", "probably",
    "possibly", "perhaps", "in general", "in most cases",
)
_HEDGE = re.compile(r"\b(" + "|".join(h.replace(" ", r"\s+") for h in HEDGES) + r")\b(?!['\u2019]t)", re.I)
_OTHERS = re.compile(
    r"\b(all|none|both|neither|any|each)\s+of\s+the\s+(above|below|others|other\s+(choices|options|answers))\b"
    r"|\b(all|none|both|neither)\s+of\s+these(?=\s*(?:[.,;:!)]|$))|\b(both|neither)\s+[A-F]\s+(and|nor)\s+[A-F]\b",
    re.I,
)
_MATH = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\begin\{(equation|align|gather|multline|math|displaymath)", re.S)
_MATH_SPAN = re.compile(r"(?<!\\)\$\$.*?(?<!\\)\$\$|(?<!\\)\$.*?(?<!\\)\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)
# Commands that only format their argument (or nothing) print no letters of their own.
_MARKUP = frozenset(
    "mathcal mathbf mathrm mathit mathbb mathsf mathtt boldsymbol operatorname text textrm textit textbf "
    "texttt textsf emph mbox frac dfrac tfrac sqrt left right middle big Big bigg Bigg bigl bigr Bigl Bigr "
    "biggl biggr displaystyle textstyle scriptstyle hat tilde bar vec dot ddot widehat widetilde overline "
    "underline limits nolimits label".split()
)
# Operator names print their letters.
_OPERATORS = frozenset(
    "log ln exp max min sup inf lim arg det dim ker sin cos tan sinh cosh tanh gcd Pr deg mod bmod".split()
)
_TOKEN = re.compile(r"\\begin\{[^}]*\}|\\end\{[^}]*\}|\\\\|\\([A-Za-z@]+)\*?|\\(.)|[{}$^_&]|~", re.S)


def read_length(latex: str) -> int:
    """The length of a text as a student reads it: its characters with the LaTeX markup taken out.
    `$`, braces, `^`, `_` and formatting commands (`\\mathcal`, `\\operatorname`, `\\frac`, `\\emph`,
    `\\left`...) count nothing, an operator name (`\\log`, `\\tanh`) its letters, any other command
    one character (it prints a symbol: `\\alpha`, `\\odot`, `\\le`), an escaped character (`\\%`) one,
    a thin space (`\\,`) nothing, and a run of spaces one."""

    def plain(match: re.Match) -> str:
        word, char = match.group(1), match.group(2)
        if word is not None:
            return "" if word in _MARKUP else word if word in _OPERATORS else "#"
        if char is not None:
            return char if char in "{}%$&#_" else " " if char == " " else ""
        text = match.group(0)
        return " " if text in ("~", "\\\\") else ""

    return len(" ".join(_TOKEN.sub(plain, latex).split()))


def has_formula(latex: str) -> bool:
    """Whether a text holds mathematics (`$...$`, `\\(...\\)`, `\\[...\\]`, a display environment)."""
    return bool(_MATH.search(latex.replace("\\\\", " ")))


def hedges(latex: str) -> list[str]:
    """The hedge words (HEDGES) in a text's prose, lower-case, in order; mathematics is not searched."""
    prose = _MATH_SPAN.sub(" ", latex.replace("\\\\", " "))
    return [" ".join(m.group(1).lower().split()) for m in _HEDGE.finditer(prose)]


def choice_tells(item: Item) -> list[str]:
    """Warnings, one line each, about what gives the correct choice of a multiple-choice item away:
    `file: line N: item 'ID': choices[j]: ...`, the line being that of the choice concerned."""
    if item.kind != "multiple-choice" or not item.choices:
        return []
    path, _, item_line = item.source.rpartition(": line ")

    def at(j: int) -> str:
        line = item.choice_lines[j] if j < len(item.choice_lines) else item_line
        return f"{path}: line {line}: item {item.id!r}: choices[{j}]: "

    right = next(j for j, c in enumerate(item.choices) if c.correct)
    others = [c.text for c in item.choices if not c.correct]
    out = []
    length, longest = read_length(item.choices[right].text), max(1, *(read_length(t) for t in others))
    if length > LONGEST_RATIO * longest:
        out.append(
            at(right) + f"the correct choice is {length / longest:.1f} times as long as the longest distractor "
            f"({length} vs {longest} characters as read); students pick the longest choice: shorten it or "
            f"lengthen the distractors (at most {LONGEST_RATIO:g} times)"
        )
    if has_formula(item.choices[right].text) and not any(has_formula(t) for t in others):
        out.append(
            at(right) + "only the correct choice holds a formula; give a distractor one too (a confused formula "
            "makes a good one), or state this choice in words"
        )
    hedged = hedges(item.choices[right].text)
    if hedged and not any(hedges(t) for t in others):
        words = ", ".join(dict.fromkeys(hedged))
        out.append(
            at(right) + f"only the correct choice hedges ({words}); students pick the cautious statement: "
            "word it plainly, or hedge a distractor too"
        )
    for j, choice in enumerate(item.choices):
        found = _OTHERS.search(choice.text)
        if found:
            out.append(
                at(j) + f"{' '.join(found.group(0).split())!r} points at other choices, which are shuffled per "
                "version (and it is a guess that often pays); write a choice that stands on its own"
            )
    return out


def correct_is_longest(item: Item) -> bool:
    """Whether the correct choice of a multiple-choice item is longer, as read, than every distractor."""
    lengths = [read_length(c.text) for c in item.choices]
    right = next(j for j, c in enumerate(item.choices) if c.correct)
    return all(lengths[right] > n for j, n in enumerate(lengths) if j != right)


def longest_correct_note(items: list[Item]) -> str | None:
    """A note when the correct choice is the (strictly) longest in clearly more multiple-choice items
    than chance gives (more than twice the expected count, and at least 3), else None."""
    chosen = [i for i in items if i.kind == "multiple-choice" and len(i.choices) >= 2]
    longest = sum(correct_is_longest(item) for item in chosen)
    expected = sum(1 / len(i.choices) for i in chosen)
    if longest >= 3 and longest > 2 * expected:
        return (
            f"the correct choice is the longest in {longest} of {len(chosen)} multiple-choice items "
            f"(chance would give about {expected:.1f}); students learn such a pattern"
        )
    return None
