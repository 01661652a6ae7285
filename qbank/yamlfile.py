"""YAML files with line numbers, so that a bad field is reported as `file: line N: field: what was expected`.

A file is read with qbank.textfile (UTF-8, size limit), parsed and composed once into a node graph
(by libyaml in C when it is there), and then, in one pass over that graph that visits every node
once (an alias is the same node again), checked and built into data: the expanded size (alias bombs)
and depth are bounded, a key may appear once per mapping, integers have at most 30 digits, numbers
are finite, and only plain tags are allowed. YAML 1.1's dates, times and base-60 numbers stay text
(`date: 2025-05-12` is "2025-05-12", `1:30` is "1:30"); merge keys (`<<: *defaults`) work. Lines and
the text of scalars as written are looked up in the graph when a message needs them.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from .errors import InputError
from .textfile import YAML_MAX_BYTES, read_text

MAX_DEPTH = 50  # lists and mappings inside one another
MAX_VALUES = 100_000  # values after alias expansion (when more than the file writes out)
MAX_DIGITS = 30  # digits of an integer

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, SEQ, MAP, MERGE = (
    _TAG + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")
)
_AS_TEXT = {_TAG + "timestamp", _TAG + "value"}  # kept as the text written


class _Resolver(Resolver):
    """YAML 1.1's resolver without dates and times (text, as written) and without `=` (text too)."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _AS_TEXT]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}

try:  # libyaml: scanner, parser and composer in C (its parser stops at 1000 levels of nesting)
    from yaml._yaml import CParser

    class _Composer(CParser, _Resolver):
        def __init__(self, text: str):
            CParser.__init__(self, text)
            _Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Composer(Reader, Scanner, Parser, Composer, _Resolver):  # type: ignore[no-redef]
        def __init__(self, text: str):
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _Resolver.__init__(self)
            self.depth = 0

        def compose_node(self, parent, index):  # the pure-Python composer recurses: stop it early
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise _Problem(self.peek_event().start_mark.line + 1, _too_deep())
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1


_SCALARS = SafeConstructor()  # its int, float and bool constructors (they keep no state)


class _Problem(Exception):
    """A limit or check failed at a line (turned into an InputError naming the file, and the field
    of `node` when it is known)."""

    def __init__(self, line: int, message: str, node: Node | None = None):
        super().__init__(message)
        self.line = line
        self.node = node


def too_many_digits(digits: int) -> str:
    """An integer too long to be meant (its digits are not repeated: a message quotes no number that long)."""
    return f"an integer of {digits:,} digits, more than {MAX_DIGITS} (numbers must be of a sane size)"


def _too_deep() -> str:
    return f"lists and mappings nested more than {MAX_DEPTH} levels deep"


@dataclass(frozen=True, eq=False)
class Located:
    """Parsed YAML data, with the line (1-based) of every mapping key and sequence item and the text
    of every scalar as written (so that `course: 6.10` or `text: No` can be taken as text)."""

    path: Path
    data: Any
    root: Node | None = None  # the node graph the data was built from
    text: str = ""  # the whole file, as decoded
    _index: dict[int, dict] = field(default_factory=dict, repr=False)  # mapping nodes' keys, as looked up

    def line(self, *keys: Any) -> int:
        """The line of the deepest known node along `keys` (of the key, for a mapping's value)."""
        line = _line(self.root) if self.root is not None else 1
        for _node, at in _along(self.root, keys, self._index):
            line = at
        return line

    def error(self, keys: tuple, message: str) -> InputError:
        field = field_name(keys)
        field = f"{field}: " if field else ""
        return InputError(f"{self.path}: line {self.line(*keys)}: {field}{message}")

    def scalar_text(self, *keys: Any) -> str | None:
        """The scalar at `keys` exactly as written (`6.10`, `No`, `2025-05-12`), or None when there
        is no scalar there."""
        node = self.root
        found = 0
        for node, _line_at in _along(self.root, keys, self._index):
            found += 1
        if found != len(keys) or not isinstance(node, ScalarNode):
            return None
        return node.value

    @property
    def lines(self) -> dict[tuple, int]:
        """Every path's line (built on demand; the expansion is bounded by MAX_VALUES)."""
        out: dict[tuple, int] = {}
        if self.root is not None:
            _all_lines(self.root, (), _line(self.root), out)
        return out


def _line(node: Node) -> int:
    return node.start_mark.line + 1


MAX_FIELD_KEYS = 12  # a field deeper than this is named by its line alone
MAX_FIELD_CHARS = 120


def field_name(keys: tuple | list) -> str:
    """`sections[0].slots[1].points`: a path of keys and list positions as messages name it (cut
    short past MAX_FIELD_CHARS: a message is one line)."""
    text = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in keys).replace(".[", "[")
    text = " ".join(text.split())
    return text if len(text) <= MAX_FIELD_CHARS else text[: MAX_FIELD_CHARS - 3] + "..."


def _keys_to(root: Node, target: Node) -> tuple | None:
    """The keys from `root` to `target` (the first way there, breadth first, each node visited once:
    an alias bomb costs its distinct nodes only); None when it is not in the graph."""
    if target is root:
        return ()
    seen = {id(root)}
    level: list[tuple[Node, tuple]] = [(root, ())]
    while level:
        following = []
        for node, keys in level:
            if isinstance(node, MappingNode):
                children = [(v, (*keys, _safe_key(k))) for k, v in node.value]
            elif isinstance(node, SequenceNode):
                children = [(v, (*keys, i)) for i, v in enumerate(node.value)]
            else:
                continue
            for child, child_keys in children:
                if child is target:
                    return child_keys
                if id(child) not in seen:
                    seen.add(id(child))
                    following.append((child, child_keys))
        level = following
    return None


def _item_field(root: Node, keys: tuple) -> str:
    """`item 'ID': field: ` for a value inside the items of a bank file (its id as written)."""
    if not isinstance(keys[0], int) or not isinstance(root, SequenceNode):
        return f"{field_name(keys)}: "
    item = root.value[keys[0]]
    found = None
    if isinstance(item, MappingNode):
        found = next((v for k, v in item.value if isinstance(k, ScalarNode) and k.value == "id"), None)
    name = found.value if isinstance(found, ScalarNode) and len(found.value) <= 90 else None
    who = f"item {name!r}" if name else f"item {keys[0] + 1}"
    rest = field_name(keys[1:])
    return f"{who}: {rest}: " if rest else f"{who}: "


_LINE_KEY = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w-]{0,60})\s*:")


def _key_on_line(text: str, index: int) -> str:
    """`sections: ` when line `index` (from 0) starts with that key: the field a parser error is in,
    when the parser gives no more than its line (nesting too deep for it to go on)."""
    lines = text.split("\n", index + 1)
    found = _LINE_KEY.match(lines[index]) if index < len(lines) else None
    return f"{found.group(1)}: " if found else ""


_QUOTED = re.compile(r"'[^'\s]{2,}'|\"[^\"\s]{2,}\"")  # a name, not punctuation such as ',' or ']'


def _without_quotes(problem: str) -> str:
    """A parser's problem without any text of the file it may quote (an alias or a tag's name):
    the message names the line; it never repeats what the file holds."""
    return _QUOTED.sub("a name", problem)


@contextmanager
def no_gc() -> Iterator[None]:
    """The cycle collector paused: a big file is a graph of many small objects without cycles, and
    the collector would walk it again and again (a third of the time of a large blueprint)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@no_gc()
def load_located(path: Path, what: str = "YAML file", max_bytes: int = YAML_MAX_BYTES, items: bool = False) -> Located:
    """The file's data and where each value is. A problem is one line naming the file, the line and,
    where known, the field; with `items` (a list of items with ids: a bank file) the field of an
    item is named as `item 'ID': field`."""
    path = Path(path)
    text = read_text(path, what, max_bytes)
    root = None
    try:
        composer = _Composer(text)
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
        data = _build(root) if root is not None else None
    except _Problem as exc:
        keys = _keys_to(root, exc.node) if root is not None and exc.node is not None else None
        field = ""
        if keys:  # a field nested too deep is named by where it starts
            shown = tuple(keys[:MAX_FIELD_KEYS])
            field = _item_field(root, shown) if items else f"{field_name(shown)}: "
            if len(keys) > MAX_FIELD_KEYS:
                field = field[:-2] + "...: "
        raise InputError(f"{path}: line {exc.line}: {field}{exc}") from None
    except yaml.reader.ReaderError as exc:
        raise InputError(f"{path}: {_reader_problem(text, exc)}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        problem = str(getattr(exc, "problem", None) or "the text is not valid YAML")
        if problem.startswith("but ") and getattr(exc, "context", None):
            problem = f"{exc.context}, {problem}"
        field = ""
        if problem == "exceeded maximum nesting depth":
            problem = _too_deep()
            field = _key_on_line(text, mark.line) if mark else ""
        raise InputError(f"{path}: {line}{field}invalid YAML: {_without_quotes(problem)}") from None
    except RecursionError:
        raise InputError(f"{path}: {_too_deep()}") from None
    return Located(path, data, root, text)


def _reader_problem(text: str, exc: yaml.reader.ReaderError) -> str:
    """A character YAML does not allow (control characters), at its line and column."""
    before = text.encode("utf-8", "surrogatepass")[: exc.position].decode("utf-8", "replace")
    line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return f"line {line}, column {column}: the character U+{char:04X} is not allowed in YAML ({exc.reason}); remove it"


def _build(root: Node) -> Any:
    """The data of the graph under `root`, each node built once (an alias shares its value)."""
    builder = _Builder()
    builder.build(root, 0)
    return builder.values[root]


class _Builder:
    """Children before parents; recursion stops at MAX_DEPTH levels, so it never runs deep. Nodes
    are keyed by identity (PyYAML's nodes do not define equality)."""

    def __init__(self) -> None:
        self.values: dict[Node, Any] = {}
        self.size: dict[Node, int] = {}  # values after expansion
        self.height: dict[Node, int] = {}  # levels of lists and mappings below and including it
        self.open: set[Node] = set()
        self.written = 0  # nodes in the graph, each once

    def build(self, node: Node, level: int) -> None:
        values, size, height = self.values, self.size, self.height
        if type(node) is ScalarNode:
            values[node] = node.value if node.tag == STR else _scalar(node)
            size[node], height[node] = 1, 0
            self.written += 1
            return
        if node in self.open:
            raise _Problem(_line(node), "an alias refers to the list or mapping it is in (a recursive structure)", node)
        if level >= MAX_DEPTH:
            raise _Problem(_line(node), _too_deep(), node)
        if node.tag not in (SEQ, MAP):
            raise _Problem(_line(node), _unsupported(node.tag), node)
        self.open.add(node)
        self.written += 1
        total, tallest = 1, 0
        for child in _children(node):
            if child in values:  # an alias of a node built before
                if level + 1 + height[child] > MAX_DEPTH:
                    raise _Problem(_line(child), _too_deep() + " (through aliases)", child)
                total += size[child]
                tallest = max(tallest, height[child])
            elif type(child) is ScalarNode:  # most nodes: built here, without a call
                values[child] = child.value if child.tag == STR else _scalar(child)
                size[child] = 1
                height[child] = 0
                self.written += 1
                total += 1
            else:
                self.build(child, level + 1)
                total += size[child]
                tallest = max(tallest, height[child])
        if total > MAX_VALUES and total > self.written:
            raise _Problem(_line(node), f"expands to more than {MAX_VALUES} values (an alias bomb?); write the values out", node)
        self.open.discard(node)
        size[node], height[node] = total, tallest + 1
        if type(node) is SequenceNode:
            values[node] = [values[c] for c in node.value]
        else:
            values[node] = _mapping(node, values)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _unsupported(tag: str) -> str:
    """A tag is named only when it is one of YAML's own (`!!binary`, `!!python/object`): a tag a file
    makes up is its content, not repeated."""
    if tag.startswith(_TAG):
        name = re.match(r"[A-Za-z0-9_/.-]{1,30}", tag[len(_TAG) :])
        shown = f"the tag !!{name.group(0)}" if name else "a tag"
    else:
        shown = "a tag of the file's own (!...)"
    return f"{shown} is not supported (write plain text, numbers, lists and mappings)"


def _scalar(node: ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == STR or tag in _AS_TEXT or tag == MERGE:  # a merge key is handled by its mapping
        return text
    if tag in (INT, FLOAT) and ":" in text:
        return text  # YAML 1.1's base-60 numbers: 1:30 is 90; a time is meant
    if tag == NULL:
        return None
    if tag == INT and text.isdecimal() and text.isascii() and (text[0] != "0" or text == "0") and len(text) <= MAX_DIGITS:
        return int(text)  # the common case; 012 is octal in YAML 1.1, so it takes the long way
    if tag not in (INT, FLOAT, BOOL):
        raise _Problem(_line(node), _unsupported(tag), node)
    shown = text if len(text) <= 40 else text[:37] + "..."
    digits = len(text.lstrip("+-").replace("_", ""))
    if tag == INT and digits > MAX_DIGITS:
        raise _Problem(_line(node), too_many_digits(digits), node)
    try:
        value = {INT: _SCALARS.construct_yaml_int, FLOAT: _SCALARS.construct_yaml_float, BOOL: _SCALARS.construct_yaml_bool}[tag](node)
    except (ValueError, KeyError, TypeError, OverflowError):
        kind = {INT: "an integer", FLOAT: "a number", BOOL: "true or false"}[tag]
        raise _Problem(_line(node), f"a value tagged {tag.replace(_TAG, '!!')} is not {kind}", node) from None
    if tag == FLOAT and not math.isfinite(value):
        what = text if len(text) <= 12 else "the number"
        raise _Problem(_line(node), f"{what} is not a finite number (infinite and NaN values are not allowed)", node)
    return value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_merge(key_node: Node) -> bool:
    return isinstance(key_node, ScalarNode) and key_node.tag == MERGE


def _mapping(node: MappingNode, values: dict[Node, Any]) -> dict:
    """Merged mappings first (in YAML's order of precedence), then the keys written here, each once."""
    out: dict = {}
    pairs = node.value
    merging = any(k.tag == MERGE and type(k) is ScalarNode for k, _v in pairs)
    if merging:
        for key_node, value_node in pairs:
            if _is_merge(key_node):
                for source in reversed(_merged(key_node, value_node, values)):
                    out.update(source)
    written: dict = {} if merging else out  # the keys written here (merged ones may be overridden)
    for key_node, value_node in pairs:
        if merging and _is_merge(key_node):
            continue
        key = values[key_node]
        try:
            twice = key in written
        except TypeError:
            raise _Problem(_line(key_node), "a key must be text or a number, not a list or mapping", node) from None
        if twice:
            first = next(k for k, _v in pairs if not _is_merge(k) and _same_key(values[k], key))
            raise _Problem(
                _line(key_node),
                f"duplicate key {_short(key_node.value)!r} (first at line {_line(first)}); each key may appear only once in a mapping",
                node,
            )
        written[key] = out[key] = values[value_node]
    return out


def _same_key(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - a key of an odd type never matches
        return False


def _merged(key_node: Node, value_node: Node, values: dict[Node, Any]) -> list[dict]:
    """The mappings a `<<` key merges, earlier ones taking precedence."""
    sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
    if not all(isinstance(s, MappingNode) for s in sources):
        raise _Problem(_line(key_node), "a merge key `<<` takes a mapping or a list of mappings (such as <<: *defaults)")
    return [values[s] for s in sources]


def _safe_key(key_node: Node) -> Any:
    """A key for a message: its value, or its text as written when it is no valid scalar."""
    if not isinstance(key_node, ScalarNode):
        return "?"
    try:
        return _key_of(key_node)
    except _Problem:
        return key_node.value


def _key_of(key_node: Node) -> Any:
    return "<<" if _is_merge(key_node) else _scalar(key_node) if isinstance(key_node, ScalarNode) else None


def _pairs(node: MappingNode) -> Iterator[tuple[Node, Node]]:
    """A mapping's pairs by precedence: its own keys, then the merged mappings' (for line look-ups)."""
    yield from ((k, v) for k, v in node.value if not _is_merge(k))
    for key_node, value_node in node.value:
        if _is_merge(key_node):
            for source in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
                if isinstance(source, MappingNode):
                    yield from _pairs(source)


def _along(node: Node | None, keys: tuple, index: dict[int, dict]) -> Iterator[tuple[Node, int]]:
    """Each node along `keys` with its line (a mapping value's line is its key's), while they exist.
    `index` caches each mapping's keys, so that looking up many paths stays fast."""
    for key in keys:
        if isinstance(node, MappingNode):
            keyed = index.get(id(node))
            if keyed is None:
                keyed = index[id(node)] = _keyed(node)
            try:
                found = keyed.get(key)
            except TypeError:  # an unhashable key is never in a mapping
                return
            if found is None:
                return
            node = found[1]
            yield node, found[0]
        elif isinstance(node, SequenceNode) and isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(node.value):
            node = node.value[key]
            yield node, _line(node)
        else:
            return


def _keyed(node: MappingNode) -> dict[Any, tuple[int, Node]]:
    """A mapping's keys (its own before merged ones) with their lines and value nodes."""
    out: dict[Any, tuple[int, Node]] = {}
    for key_node, value_node in _pairs(node):
        if isinstance(key_node, ScalarNode):
            try:
                out.setdefault(_key_of(key_node), (_line(key_node), value_node))
            except TypeError:
                pass
    return out


def _all_lines(node: Node, at: tuple, line: int, out: dict[tuple, int]) -> None:
    out.setdefault(at, line)
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                _all_lines(value_node, (*at, _key_of(key_node)), _line(key_node), out)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _all_lines(item, (*at, i), _line(item), out)
