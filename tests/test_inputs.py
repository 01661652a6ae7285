"""Hostile and careless input files: every one ends in one clear line naming the file (or is accepted
as documented), and none takes long. The library is called directly, so the table runs in seconds."""

from __future__ import annotations

import builtins
import os
import re
import time
from pathlib import Path

import pytest

from qbank.bank import Bank, load_bank, load_items
from qbank.blueprint import load_blueprint
from qbank.errors import InputError, QbankError
from qbank.params import load_params
from qbank.textfile import read_text

BANK_FILE = """\
- id: why-a
  title: Why A
  topic: cnn
  tags: [conceptual]
  difficulty: 1
  points: 4
  kind: short-answer
  question: Why?
  solution: Because.
- id: why-b
  title: Why B
  topic: cnn
  tags: [conceptual]
  points: 2
  kind: short-answer
  question: Why not?
  solution: Because not.
"""

BLUEPRINT = """\
course: Deep Learning
title: Quiz
sections:
  - title: One
    slots:
      - item: why-a
"""

ITEM = """\
- id: odd
  title: Odd
  topic: cnn
  points: 2
  kind: short-answer
  question: Why?
  solution: Because.
"""

MC = """\
- id: odd-mc
  title: Odd choice
  topic: cnn
  points: 2
  kind: multiple-choice
  question: Which?
  solution: The first.
  choices:
"""

TABLE = """\
- id: odd-table
  title: Odd table
  topic: cnn
  points: 2
  kind: fill-table
  question: Fill in.
  solution: See the table.
  table:
    columns: [layer, bias]
    rows:
"""


def slot(text: str) -> str:
    """A blueprint whose only slot is `text` (YAML lines at the slot's indentation)."""
    return BLUEPRINT.replace("      - item: why-a\n", text)


def bomb(levels: int = 9) -> str:
    """Billion laughs: 9 levels of 9 aliases each expand to 9**9 (387 million) values."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


DIGITS = "9" * 5001
NEST_60 = "[" * 60 + "]" * 60
NEST_DEEP = "[" * 100_000 + "]" * 100_000
LOST = "none of this is a real input " * 40
FILE = r"FILE"  # the path of the input, in the expected messages

# (what, file name, content, expected message as a regex; None: accepted)
CASES = [
    # --- decoding: every file is UTF-8 or a clear error naming it ---
    ("blueprint", "bp.yaml", BLUEPRINT.encode("utf-16"), rf"{FILE}: the file is UTF-16; save it as UTF-8"),
    ("blueprint", "bp.yaml", BLUEPRINT.encode("utf-16-le"), rf"{FILE}: the file is UTF-16 \(without a byte-order mark\); save it as UTF-8"),
    ("blueprint", "bp.yaml", BLUEPRINT.encode("utf-32"), rf"{FILE}: the file is UTF-32; save it as UTF-8"),
    (
        "blueprint",
        "bp.yaml",
        BLUEPRINT.replace("Deep Learning", "Universität").encode("latin-1"),
        rf"{FILE}: not UTF-8 \(first bad byte 0xE4 at line 1, column 18; it looks like Latin-1/Windows-1252\): save it as UTF-8",
    ),
    (
        "bank",
        "cnn.yaml",
        ITEM.replace("Why?", "Why \u201cshared\u201d weights?").encode("cp1252"),
        rf"{FILE}: not UTF-8 \(first bad byte 0x93 at line 6, column 17; it looks like Latin-1/Windows-1252\): save it as UTF-8",
    ),
    ("blueprint", "bp.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", rf"{FILE}: a binary file, not text \(a NUL byte on line 3\); the blueprint must be UTF-8 text"),
    ("blueprint", "bp.yaml", b"\xef\xbb\xbf" + BLUEPRINT.encode(), None),  # a UTF-8 BOM (Notepad, Excel) is fine
    ("blueprint", "bp.yaml", BLUEPRINT.replace("\n", "\r\n").encode(), None),  # Windows line ends are fine
    ("blueprint", "bp.yaml", "title: Quiz\x07\nsections: []\n", rf"{FILE}: line 1, column 12: the character U\+0007 is not allowed in YAML \(control characters are not allowed\); remove it"),
    # --- the shape of the file ---
    ("blueprint", "bp.yaml", "", rf"{FILE}: line 1: the blueprint is empty; expected a mapping with course, title, \.\.\., options and sections"),
    ("blueprint", "bp.yaml", "# only a comment\n", rf"{FILE}: line 1: the blueprint is empty; .*"),
    ("blueprint", "bp.yaml", "hello\n", rf"{FILE}: line 1: expected a mapping with course, title, \.\.\., options and sections, got text"),  # never quoted: see test_links_and_content
    ("blueprint", "bp.yaml", "- a\n- b\n", rf"{FILE}: line 1: expected a mapping with course, title, \.\.\., options and sections, got a list"),
    ("blueprint", "bp.yaml", BLUEPRINT + "---\ntitle: Two\n", rf"{FILE}: line 7: invalid YAML: expected a single document in the stream, but found another document"),
    ("blueprint", "bp.yaml", "title: [Quiz\nsections: []\n", rf"{FILE}: line 2: invalid YAML: did not find expected ',' or '\]'"),
    ("blueprint", "bp.yaml", BLUEPRINT + "extra: 1\n", rf"{FILE}: line 7: extra: unknown field \(expected one of course, title, date, duration, instructions, options, sections\)"),
    ("blueprint", "bp.yaml", "course: X\nsections: []\n", rf"{FILE}: line 1: missing field `title`"),
    ("blueprint", "bp.yaml", "title: Quiz\nsections: []\n", rf"{FILE}: line 2: sections: expected a non-empty list of sections, each \{{title, slots\}}"),
    # --- YAML's traps: aliases, nesting, duplicate keys, numbers, tags ---
    ("blueprint", "bp.yaml", bomb() + BLUEPRINT, rf"{FILE}: line 6: a5: expands to more than 100000 values \(an alias bomb\?\); write the values out"),
    ("bank", "cnn.yaml", bomb() + "items: *a8\n", rf"{FILE}: line 6: a5: expands to more than 100000 values \(an alias bomb\?\); write the values out"),
    ("blueprint", "bp.yaml", "title: Quiz\nsections: &s [*s]\n", rf"{FILE}: line 2: sections: an alias refers to the list or mapping it is in \(a recursive structure\)"),
    ("blueprint", "bp.yaml", f"title: Quiz\nsections: {NEST_60}\n", rf"{FILE}: line 2: sections(\[0\]){{11}}\.\.\.: lists and mappings nested more than 50 levels deep"),
    ("blueprint", "bp.yaml", f"title: Quiz\nsections: {NEST_DEEP}\n", rf"{FILE}: line 2: sections: invalid YAML: lists and mappings nested more than 50 levels deep"),
    ("blueprint", "bp.yaml", BLUEPRINT.replace("title: Quiz\n", "title: Quiz\ntitle: Quiz 2\n"), rf"{FILE}: line 3: duplicate key 'title' \(first at line 2\); each key may appear only once in a mapping"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: 3\n        points: 4\n"), rf"{FILE}: line 8: sections\[0\]\.slots\[0\]: duplicate key 'points' \(first at line 7\); each key may appear only once in a mapping"),
    ("bank", "cnn.yaml", ITEM + "  points: 3\n", rf"{FILE}: line 8: item 'odd': duplicate key 'points' \(first at line 4\); each key may appear only once in a mapping"),
    ("blueprint", "bp.yaml", slot(f"      - item: why-a\n        points: {DIGITS}\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: an integer of 5,001 digits, more than 30 \(numbers must be of a sane size\)"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: .nan\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: \.nan is not a finite number \(infinite and NaN values are not allowed\)"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: .inf\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: \.inf is not a finite number \(infinite and NaN values are not allowed\)"),
    ("bank", "cnn.yaml", ITEM.replace("points: 2", "points: 1.0e+400"), rf"{FILE}: line 4: item 'odd': points: 1\.0e\+400 is not a finite number \(infinite and NaN values are not allowed\)"),
    ("blueprint", "bp.yaml", "title: !!binary aGVsbG8=\nsections: []\n", rf"{FILE}: line 1: title: the tag !!binary is not supported \(write plain text, numbers, lists and mappings\)"),
    ("blueprint", "bp.yaml", "title: !!python/object:os.system ls\nsections: []\n", rf"{FILE}: line 1: title: the tag !!python/object is not supported .*"),
    ("blueprint", "bp.yaml", "title: !!set {a, b}\nsections: []\n", rf"{FILE}: line 1: title: the tag !!set is not supported .*"),
    ("blueprint", "bp.yaml", "title: !!float abc\nsections: []\n", rf"{FILE}: line 1: title: a value tagged !!float is not a number"),
    ("blueprint", "bp.yaml", "? [a, b]\n: 1\n", rf"{FILE}: line 1: a key must be text or a number, not a list or mapping"),
    ("blueprint", "bp.yaml", BLUEPRINT.replace("title: Quiz", "title: Quiz\n<<: 3"), rf"{FILE}: line 3: a merge key `<<` takes a mapping or a list of mappings \(such as <<: \*defaults\)"),
    # --- the header: text, as written, of a sane length ---
    ("blueprint", "bp.yaml", BLUEPRINT + "date: 2025-05-12\n", None),  # a YAML date is text
    ("blueprint", "bp.yaml", BLUEPRINT.replace("Deep Learning", "6.10") + "duration: 1:30\ndate: no\n", None),  # as written
    ("blueprint", "bp.yaml", BLUEPRINT.replace("title: Quiz", "title: " + "Q" * 121), rf"{FILE}: line 2: title: expected at most 120 characters, got 121; shorten it"),
    ("blueprint", "bp.yaml", BLUEPRINT.replace("Deep Learning", "D" * 81), rf"{FILE}: line 1: course: expected at most 80 characters, got 81; shorten it"),
    ("blueprint", "bp.yaml", BLUEPRINT + f"instructions: {LOST * 2}\n", rf"{FILE}: line 7: instructions: expected at most 2,000 characters, got 2,319; shorten it"),
    ("blueprint", "bp.yaml", BLUEPRINT.replace("title: Quiz", "title: [a, b]"), rf"{FILE}: line 2: title: expected text, got a list"),
    ("blueprint", "bp.yaml", BLUEPRINT + "date: {day: 12}\n", rf"{FILE}: line 7: date: expected text, got a mapping"),
    ("blueprint", "bp.yaml", BLUEPRINT.replace("title: One", "title: " + "S" * 121), rf"{FILE}: line 4: sections\[0\]\.title: expected at most 120 characters, got 121; shorten it"),
    ("blueprint", "bp.yaml", BLUEPRINT + "options: {layout: [compact]}\n", rf"{FILE}: line 7: options\.layout: expected text, got \['compact'\]"),
    ("blueprint", "bp.yaml", BLUEPRINT + "options: [compact]\n", rf"{FILE}: line 7: options: expected a mapping \(shuffle, layout, cover, answer_box\), got a list"),
    # --- slots ---
    ("blueprint", "bp.yaml", slot("      - item: [why-a, why-b]\n"), rf"{FILE}: line 6: sections\[0\]\.slots\[0\]\.item: expected the id of one bank item \(text\), got a list; a pool is `from: \{{ids: \[\.\.\.\]\}}`"),
    ("blueprint", "bp.yaml", slot("      - item: {x: 1}\n"), rf"{FILE}: line 6: sections\[0\]\.slots\[0\]\.item: expected the id of one bank item \(text\), got a mapping; .*"),
    ("blueprint", "bp.yaml", slot("      - item: why-c\n"), rf"{FILE}: line 6: sections\[0\]\.slots\[0\]\.item: unknown bank item 'why-c'; did you mean 'why-[ab]'\?"),
    ("blueprint", "bp.yaml", slot("      - family: 3\n        points: 2\n"), rf"{FILE}: line 6: sections\[0\]\.slots\[0\]\.family: expected a family id \(text, as `qbank list` prints it\), got the number 3"),
    ("blueprint", "bp.yaml", slot("      - from: {ids: [why-a, why-a]}\n"), rf"{FILE}: line 6: sections\[0\]\.slots\[0\]\.from\.ids: lists 'why-a' twice; name each once"),
    ("blueprint", "bp.yaml", slot("      - from: {topic: cnn}\n        choose: 100000000000000000000\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.choose: expected a positive integer, at most 100, got 100000000000000000000"),
    ("blueprint", "bp.yaml", slot("      - from: {topic: cnn}\n        choose: 3\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.choose: the pool holds 2 item\(s\), fewer than choose: 3"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: -3\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: expected a positive number of points, at most 1000, got -3"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: 1e400\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: expected a positive number of points, at most 1000, got '1e400'"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: 1000000\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: expected a positive number of points, at most 1000, got 1000000"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        points: true\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.points: expected a positive number of points, at most 1000, got True"),
    ("blueprint", "bp.yaml", slot("      - item: why-a\n        pages: 0\n"), rf"{FILE}: line 7: sections\[0\]\.slots\[0\]\.pages: expected an integer from 1 to 10, got 0"),
    ("blueprint", "bp.yaml", slot("      - why-a\n"), rf"{FILE}: line 6: sections\[0\]\.slots\[0\]: expected a mapping: \{{item: ID\}}, \{{family: ID\}} or \{{from: \{{\.\.\.\}}, choose: n\}}, got the text 'why-a'"),
    (
        "blueprint",
        "bp.yaml",
        slot("      - &one {item: why-a, points: 3}\n      - <<: *one\n        item: why-b\n"),
        None,  # merge keys work
    ),
    (
        "blueprint",
        "bp.yaml",
        slot("      - family: conv1d-recover-filter\n        points: 3\n        structure: {filter: abc}\n"),
        rf"{FILE}: line 8: sections\[0\]\.slots\[0\]\.structure\.filter: expected a value like \[3\] \(as `qbank exam` prints it\), got 'abc'",
    ),
    # --- bank items ---
    ("bank", "cnn.yaml", "", None),  # an empty topic file holds no items
    ("bank", "cnn.yaml", "id: odd\n", rf"{FILE}: line 1: expected a list of items \(each a mapping starting with `- id: \.\.\.`\), got a mapping"),
    ("bank", "cnn.yaml", "just text\n", rf"{FILE}: line 1: expected a list of items \(each a mapping starting with `- id: \.\.\.`\), got text"),
    ("bank", "cnn.yaml", "- hello\n", rf"{FILE}: line 1: item 1: expected a mapping with id, title, topic, tags, difficulty, points, got text"),
    ("bank", "cnn.yaml", ITEM.replace("id: odd", "id: [odd]"), rf"{FILE}: line 1: item 1: id: expected an id of lower-case words joined by '-' \(at most 80 characters\), got \['odd'\]"),
    ("bank", "cnn.yaml", ITEM.replace("id: odd", "id: " + "o" * 81), rf"{FILE}: line 1: item 'o{{81}}': id: expected an id of lower-case words joined by '-' \(at most 80 characters\), got 'o{{56}}\.\.\."),
    ("bank", "cnn.yaml", ITEM + "  tags: [1, 2]\n", rf"{FILE}: line 8: item 'odd': tags: expected a list of tags \(text, at most 80 characters each\), got \[1, 2\]"),
    ("bank", "cnn.yaml", ITEM + "  difficulty: 1e400\n", rf"{FILE}: line 8: item 'odd': difficulty: expected an integer from 1 to 5, got '1e400'"),
    ("bank", "cnn.yaml", ITEM.replace("points: 2", "points: 0"), rf"{FILE}: line 4: item 'odd': points: expected a positive number of points, at most 1000, got 0"),
    ("bank", "cnn.yaml", ITEM.replace("points: 2", "points: 5000"), rf"{FILE}: line 4: item 'odd': points: expected a positive number of points, at most 1000, got 5000"),
    ("bank", "cnn.yaml", ITEM + "  minutes: 601\n", rf"{FILE}: line 8: item 'odd': minutes: expected a working time in minutes, more than 0 and at most 600, got 601"),
    ("bank", "cnn.yaml", ITEM.replace("kind: short-answer", "kind: {a: 1}"), rf"{FILE}: line 5: item 'odd': kind: expected one of short-answer, multiple-choice, fill-table, got \{{'a': 1\}}"),
    ("bank", "cnn.yaml", "- id: odd\n  title: Odd\n  points: 2\n  family: [conv1d-forward]\n", rf"{FILE}: line 4: item 'odd': family: expected a family id \(text, as `qbank list` prints it\), got \['conv1d-forward'\]"),
    ("bank", "cnn.yaml", ITEM.replace("title: Odd", "title: " + "T" * 121), rf"{FILE}: line 2: item 'odd': title: expected at most 120 characters, got 121; shorten it"),
    ("bank", "cnn.yaml", ITEM.replace("question: Why?", "question: " + "W" * 10_001), rf"{FILE}: line 6: item 'odd': question: expected at most 10,000 characters, got 10,001; shorten it"),
    ("bank", "cnn.yaml", ITEM.replace("question: Why?", "question: [why]"), rf"{FILE}: line 6: item 'odd': question: expected non-empty text, got \['why'\]"),
    ("bank", "cnn.yaml", ITEM + "  answer_space: 999cm\n", rf"{FILE}: line 8: item 'odd': answer_space: expected a TeX length such as 5cm, at most 25cm, got '999cm'"),
    ("bank", "cnn.yaml", ITEM + "  1: one\n", rf"{FILE}: line 1: item 'odd': unknown field 1 \(expected .*\)"),
    ("bank", "cnn.yaml", MC + "    - {text: [a], correct: true}\n    - {text: b}\n", rf"{FILE}: line 9: item 'odd-mc': choices\[0\]\.text: expected non-empty text, got \['a'\]"),
    ("bank", "cnn.yaml", MC + "    - {text: 0.50, correct: true}\n    - {text: No}\n", None),  # numbers and yes/no as written
    ("bank", "cnn.yaml", MC + "    - {text: a, correct: yes please}\n    - {text: b}\n", rf"{FILE}: line 9: item 'odd-mc': choices\[0\]\.correct: expected true or false, got 'yes please'"),
    ("bank", "cnn.yaml", TABLE + "      - [dense, [[none]]]\n", rf"{FILE}: line 11: item 'odd-table': table\.rows\[0\]\[1\]: expected a text cell, or \{{answer: text\}} for a cell the student fills in \(at most 500 characters\)"),
    ("bank", "cnn.yaml", TABLE + f"      - [dense, {NEST_60}]\n", rf"{FILE}: line 11: item 'odd-table': table\.rows\[0\]\[1\](\[0\]){{7}}\.\.\.: lists and mappings nested more than 50 levels deep"),
    ("bank", "cnn.yaml", TABLE + "      - [dense, {answer: 0.10}]\n", None),
    (
        "bank",
        "cnn.yaml",
        ITEM.replace("  points: 2\n", "").replace("  question: Why?\n  solution: Because.\n", "  parts:\n    - {points: 999, question: a, solution: b}\n    - {points: 999, question: c, solution: d}\n"),
        rf"{FILE}: line 5: item 'odd': parts: the parts' points add up to 1998, more than 1000",
    ),
    (
        "bank",
        "cnn.yaml",
        ITEM.replace("  points: 2\n", "").replace("  question: Why?\n  solution: Because.\n", "  parts:\n" + "    - {points: 1, question: a, solution: b}\n" * 27),
        rf"{FILE}: line 5: item 'odd': parts: expected a list of 1 to 26 parts \(a to z\), each \{{points, question, solution\}}",
    ),
    # --- --params files ---
    ("params", "p.yaml", "stride: 2\n".encode("utf-16"), rf"{FILE}: the file is UTF-16; save it as UTF-8"),
    ("params", "p.json", '{"name": "café"}'.encode("latin-1"), rf"{FILE}: not UTF-8 \(first bad byte 0xE9 at line 1, column 14; it looks like Latin-1/Windows-1252\): save it as UTF-8"),
    ("params", "p.json", b"\xef\xbb\xbf" + b'{"stride": 2}', None),
    ("params", "p.json", '{"w": NaN}', rf"{FILE}: w: NaN is not a number qbank accepts \(JSON has no NaN or Infinity; give a finite number\)"),
    ("params", "p.json", '{"w": 1e400}', rf"{FILE}: w: 1e400 is not a finite number \(it is too large for a float\)"),
    ("params", "p.json", '{"w": 1, "w": 2}', rf"{FILE}: duplicate key 'w'; each key may appear only once in an object"),
    ("params", "p.json", '{"w": 1,\n "u": [1, 2}', rf"{FILE}: line 2: invalid JSON: Expecting ',' delimiter"),
    ("params", "p.yaml", bomb() + "w: *a8\n", rf"{FILE}: line 6: a5: expands to more than 100000 values \(an alias bomb\?\); write the values out"),
    ("params", "p.yaml", "w: .inf\n", rf"{FILE}: line 1: w: \.inf is not a finite number \(infinite and NaN values are not allowed\)"),
    ("params", "p.yaml", f"w: {DIGITS}\n", rf"{FILE}: line 1: w: an integer of 5,001 digits, more than 30 \(numbers must be of a sane size\)"),
    ("params", "p.yaml", "- 1\n- 2\n", rf"{FILE}: expected a mapping of parameter names to values, got a list"),
    ("params", "p.yaml", "", rf"{FILE}: expected a mapping of parameter names to values, got nothing \(the file is empty\)"),
    ("params", "p.yaml", "w: 1\nw: 2\n", rf"{FILE}: line 2: duplicate key 'w' \(first at line 1\); each key may appear only once in a mapping"),
    # --- inline --params ---
    ("inline", "", '{"w": NaN}', r"--params: w: NaN is not a number qbank accepts \(JSON has no NaN or Infinity; give a finite number\)"),
    ("inline", "", '{"w": -Infinity}', r"--params: w: -Infinity is not a number qbank accepts .*"),
    ("inline", "", '{"w": 1e400}', r"--params: w: 1e400 is not a finite number \(it is too large for a float\)"),
    ("inline", "", '{"w": ' + DIGITS + "}", r"--params: w: an integer of 5,001 digits, more than 30 \(numbers must be of a sane size\)"),
    ("inline", "", '{"w": ' + NEST_60 + "}", r"--params: w: lists and objects nested more than 50 levels deep"),
    ("inline", "", '{"w": ' + NEST_DEEP + "}", r"--params: w: lists and objects nested more than 50 levels deep"),
    ("inline", "", '{"w": 1, "w": 2}', r"--params: duplicate key 'w'; each key may appear only once in an object"),
    ("inline", "", '{"w": 1', r"--params: invalid inline JSON at column 8: Expecting ',' delimiter"),
]


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Bank:
    path = tmp_path_factory.mktemp("bank") / "cnn.yaml"
    path.write_text(BANK_FILE)
    return load_bank([path])


def _load(what: str, path: Path, bank: Bank):
    if what == "blueprint":
        return load_blueprint(path, bank)
    if what == "bank":
        return load_items(path)
    return load_params(str(path))


def _case_id(case) -> str:
    what, _name, content, expected = case
    words = re.sub(r"[^a-z0-9]+", "-", (expected or "accepted " + repr(content[:30])).lower().replace("file", "", 1)).strip("-")
    return f"{what}-{words[:60]}"


@pytest.mark.parametrize("what, name, content, expected", CASES, ids=[_case_id(c) for c in CASES])
def test_hostile_input(tmp_path, bank, what, name, content, expected):
    started = time.perf_counter()
    if what == "inline":
        with pytest.raises(InputError) as caught:
            load_params(content)
        message = str(caught.value)
    else:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if expected is None:
            _load(what, path, bank)
            return
        with pytest.raises(InputError) as caught:
            _load(what, path, bank)
        message = str(caught.value).replace(str(path), "FILE")
    assert re.fullmatch(expected, message), message
    assert "\n" not in message
    assert time.perf_counter() - started < 1.0


def test_there_are_enough_cases():
    assert len(CASES) >= 40


def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path, bank):
    path = tmp_path / "bp.yaml"
    path.write_text(bomb() + BLUEPRINT)
    started = time.perf_counter()
    with pytest.raises(InputError, match="an alias bomb"):
        load_blueprint(path, bank)
    assert time.perf_counter() - started < 0.2


def test_accepted_values_are_kept_as_written(tmp_path, bank):
    path = tmp_path / "bp.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (BLUEPRINT.replace("Deep Learning", "6.10") + "date: 2025-05-12\nduration: 1:30\n").encode())
    blueprint = load_blueprint(path, bank)
    assert blueprint.header["course"] == "6.10"
    assert blueprint.header["date"] == "2025-05-12"
    assert blueprint.header["duration"] == "1:30"
    assert blueprint.title == "Quiz"
    assert not blueprint.text.startswith("\ufeff")  # the digest is of the text without the mark

    (tmp_path / "cnn.yaml").write_text(MC + "    - {text: 0.50, correct: true}\n    - {text: No}\n")
    (item,) = load_items(tmp_path / "cnn.yaml")
    assert [c.text for c in item.choices] == ["0.50", "No"]
    (tmp_path / "cnn.yaml").write_text(TABLE + "      - [1.50, {answer: 0.10}]\n")
    (item,) = load_items(tmp_path / "cnn.yaml")
    assert item.rows == (("1.50", {"answer": "0.10"}),)

    (tmp_path / "p.yaml").write_text("w: 0.5\nwhen: 2025-05-12\n")
    assert load_params(str(tmp_path / "p.yaml")) == {"w": 0.5, "when": "2025-05-12"}


def test_merge_keys_merge_and_explicit_keys_win(tmp_path, bank):
    path = tmp_path / "bp.yaml"
    path.write_text(slot("      - &one {item: why-a, points: 3}\n      - <<: *one\n        item: why-b\n"))
    slots = load_blueprint(path, bank).sections[0].slots
    assert [(s.pool[0].id, s.points) for s in slots] == [("why-a", 3), ("why-b", 3)]


def test_a_half_megabyte_blueprint_loads_in_well_under_a_second(tmp_path, bank):
    slots = "".join(f"      - item: why-{'ab'[i % 2]}\n        points: {i % 9 + 1}\n" for i in range(14_000))
    path = tmp_path / "bp.yaml"
    path.write_text(slot(slots))
    assert 500_000 < path.stat().st_size < 1_000_000
    timings = []
    for _attempt in range(3):  # the best of up to three: other work on the machine only adds time
        started = time.perf_counter()
        blueprint = load_blueprint(path, bank)
        timings.append(time.perf_counter() - started)
        if timings[-1] < 1.0:
            break
    assert min(timings) < 1.0, timings  # about 0.6 s here; the old double pure-Python parse took 9 s
    assert blueprint.question_count == 14_000


def test_a_five_megabyte_blueprint_is_refused_by_its_size(tmp_path, bank):
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT + "# padding\n" * 500_000)
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        load_blueprint(path, bank)
    assert str(caught.value) == f"{path}: the blueprint is larger than 1 MB (the limit for a blueprint)"
    assert time.perf_counter() - started < 0.5


# --- files that are not there, or not readable ---


def test_a_missing_file(tmp_path, bank):
    with pytest.raises(InputError, match=rf"^{re.escape(str(tmp_path / 'no.yaml'))}: no such file$"):
        load_blueprint(tmp_path / "no.yaml", bank)


def test_a_folder(tmp_path, bank):
    with pytest.raises(InputError, match=r": is a folder, not a file \(expected the blueprint\)$"):
        load_blueprint(tmp_path, bank)
    with pytest.raises(InputError, match=r": is a folder, not a file \(expected the --params file\)$"):
        load_params(str(tmp_path))


def test_a_dangling_symlink(tmp_path, bank):
    link = tmp_path / "bp.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    with pytest.raises(InputError, match=rf"bp\.yaml: a broken symbolic link \(it points to {re.escape(str(tmp_path))}/gone\.yaml, which does not exist\)$"):
        load_blueprint(link, bank)
    with pytest.raises(InputError, match=r"a broken symbolic link"):
        load_params(str(link))


def test_an_unreadable_file(tmp_path, bank, monkeypatch):
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT)
    path.chmod(0)
    expected = rf"^{re.escape(str(path))}: permission denied: the blueprint cannot be read \(check its permissions\)$"
    try:
        if os.geteuid() != 0:  # root reads any file: below, the same refusal is simulated
            with pytest.raises(InputError, match=expected):
                load_blueprint(path, bank)
        with monkeypatch.context() as m:
            m.setattr(os, "access", lambda *a, **k: False)
            with pytest.raises(InputError, match=expected):
                load_blueprint(path, bank)
        real_open = builtins.open

        def refuse(file, *args, **kwargs):
            if str(file) == str(path):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        with monkeypatch.context() as m:
            m.setattr(builtins, "open", refuse)
            with pytest.raises(InputError, match=expected):
                load_blueprint(path, bank)
    finally:
        path.chmod(0o644)


def test_read_text_limits_what_it_reads(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"id,name\n" + b"x" * 2000)
    with pytest.raises(InputError, match=r"roster\.csv: the roster is larger than 1 kB \(the limit for a roster\)$"):
        read_text(path, "roster", max_bytes=1000)
    assert read_text(path, "roster").startswith("id,name\n")
    path.write_bytes(b"\xef\xbb\xbfid,name\n")
    assert read_text(path, "roster") == "id,name\n"  # Excel's CSV
    with pytest.raises(InputError, match=r"^/dev/zero: the roster is larger than 1 kB"):
        read_text("/dev/zero", "roster", max_bytes=1000)


def test_the_shipped_bank_and_blueprints_still_load():
    bank = load_bank()
    assert len(bank.items) > 40
    for name in ("demo", "midterm", "quiz-backprop"):
        assert load_blueprint(Path(__file__).parent.parent / "bank" / "exams" / f"{name}.yaml", bank).sections


def test_only_qbank_errors_escape_a_mutated_blueprint(tmp_path, bank):
    """A small, fixed fuzz: each field of a valid blueprint replaced by odd values."""
    odd = ["null", "[]", "{}", "''", "[[1]]", "{a: {b: 1}}", "-1", "1.0e+308", "99999999999999999999", "true", "[a, a]"]
    lines = slot("      - from: {topic: cnn, tags: [conceptual]}\n        choose: 1\n        points: 3\n        pages: 1\n").splitlines()
    for n, line in enumerate(lines):
        if ":" not in line:
            continue
        key = line.split(":", 1)[0]
        for value in odd:
            mutated = [*lines[:n], f"{key}: {value}", *lines[n + 1 :]]
            path = tmp_path / "bp.yaml"
            path.write_text("\n".join(mutated) + "\n")
            try:
                load_blueprint(path, bank)
            except QbankError as exc:
                assert "\n" not in str(exc) and len(str(exc)) < 400


# --- every bad type in a slot, an item or --params gets one line naming its field ------------------------
#
# Wrong types (lists for numbers, mappings for text, booleans for integers), nothing, nested junk and huge
# values, in each field that takes a value: the message is one line, names the file (for a file) and
# the field, and nothing but a QbankError ever escapes.

HOSTILE_VALUES = [
    "null", "[]", "{}", "[1]", "[[1]]", "[[]]", "{a: 1}", "{a: {b: [1, {c: 2}]}}", "true", "false", "''", "'x'",
    "'3'", "1.5", "-1", "0", "-0.0", ".nan", ".inf", "-.inf", "1e400", "99999999999999999999", "9" * 40,
    "[1, a]", "[null, null]", "[true, false]", "[.inf, 1]", "{one_of: []}", "{one_of: [a]}", "{one_of: 3}",
    "2025-05-12", "1:30", "0x1F", "!!binary aGk=", "[" + ", ".join(["1"] * 3000) + "]", NEST_60,
    "{stride: [1]}", "{signal: {a: 1}}", "[stride, stride]",
]
FAMILY_SLOT = "      - family: conv1d-forward\n        points: 3\n"
POOL_SLOT = "      - from: {topic: cnn}\n"
SLOT_FIELDS = {  # field -> (the slot it goes in, the YAML of the field given a value)
    "points": (POOL_SLOT, "        points: {v}\n"),
    "pages": (FAMILY_SLOT, "        pages: {v}\n"),
    "choose": (POOL_SLOT, "        choose: {v}\n"),
    "ranges": (FAMILY_SLOT, "        ranges: {v}\n"),
    "ranges.stride": (FAMILY_SLOT, "        ranges: {{stride: {v}}}\n"),
    "structure": (FAMILY_SLOT, "        structure: {v}\n"),
    "structure.signal": (FAMILY_SLOT, "        structure: {{signal: {v}}}\n"),
    "structure.stride": (FAMILY_SLOT, "        structure: {{stride: {v}}}\n"),
    "vary": (FAMILY_SLOT, "        vary: {v}\n"),
    "vary[0]": (FAMILY_SLOT, "        vary: [{v}]\n"),
    "params": (FAMILY_SLOT, "        params: {v}\n"),
    "params.stride": (FAMILY_SLOT, "        params: {{stride: {v}}}\n"),
    "params.signal": (FAMILY_SLOT, "        params: {{signal: {v}}}\n"),
}
FAMILY_ITEM = "- id: odd\n  title: Odd\n  topic: cnn\n  points: 3\n  family: conv1d-forward\n"
ITEM_FIELDS = {
    "points": (ITEM, "  points: {v}\n"),
    "difficulty": (ITEM, "  difficulty: {v}\n"),
    "minutes": (ITEM, "  minutes: {v}\n"),
    "tags": (ITEM, "  tags: {v}\n"),
    "title": (ITEM, "  title: {v}\n"),
    "question": (ITEM, "  question: {v}\n"),
    "answer_space": (ITEM, "  answer_space: {v}\n"),
    "ranges": (FAMILY_ITEM, "  ranges: {v}\n"),
    "ranges.stride": (FAMILY_ITEM, "  ranges: {{stride: {v}}}\n"),
    "structure": (FAMILY_ITEM, "  structure: {v}\n"),
    "structure.signal": (FAMILY_ITEM, "  structure: {{signal: {v}}}\n"),
    "vary": (FAMILY_ITEM, "  vary: {v}\n"),
    "params": (FAMILY_ITEM, "  params: {v}\n"),
    "params.stride": (FAMILY_ITEM, "  params: {{stride: {v}}}\n"),
    "params.signal": (FAMILY_ITEM, "  params: {{signal: {v}}}\n"),
}
PARAMS_FIELDS = [  # (family, parameter): a number, a list, a matrix, a mapping, a word
    ("conv1d-forward", "stride"), ("conv1d-forward", "signal"), ("beam-search", "logp"),
    ("scalar-rnn-backprop", "w"), ("init-variance", "activation"), ("ridge-map", "X"),
]
JSON_VALUES = ["null", "[]", "{}", "[1]", "[[1]]", '{"a": 1}', "true", '"x"', "1.5", "-1", "NaN", "Infinity", "1e400",
               "9" * 40, "[1, NaN]", '{"a": 1, "a": 2}', "[" * 60 + "]" * 60, '[{"a": [1, {"b": null}]}]']


FIELD_CASES = (
    [("slot", field, v) for field in SLOT_FIELDS for v in HOSTILE_VALUES]
    + [("item", field, v) for field in ITEM_FIELDS for v in HOSTILE_VALUES]
    + [("params file", f"{fam}.{key}", v) for fam, key in PARAMS_FIELDS for v in HOSTILE_VALUES]
    + [("inline params", f"{fam}.{key}", v) for fam, key in PARAMS_FIELDS for v in JSON_VALUES]
)


def test_there_are_many_field_cases():
    assert len(FIELD_CASES) >= 1000


@pytest.mark.parametrize("where, field, value", FIELD_CASES, ids=[f"{w}-{f}-{i}" for i, (w, f, _v) in enumerate(FIELD_CASES)])
def test_every_bad_value_names_its_field(tmp_path, bank, where, field, value):
    from qbank.engine import draw

    root = field.split(".")[0].split("[")[0]
    if where == "slot":
        slot_yaml, line = SLOT_FIELDS[field]
        path = tmp_path / "bp.yaml"
        path.write_text(slot(slot_yaml.replace(f"        {root}: 3\n", "") + line.format(v=value)))
        load, names = (lambda: load_blueprint(path, bank)), [f"sections[0].slots[0].{root}"]
    elif where == "item":
        base, line = ITEM_FIELDS[field]
        path = tmp_path / "cnn.yaml"
        path.write_text("".join(l for l in base.splitlines(keepends=True) if not l.startswith(f"  {root}:")) + line.format(v=value))
        load, names = (lambda: load_items(path)), [f"item 'odd': {root}"]
    else:
        family, key = field.split(".")
        if where == "params file":
            path = tmp_path / "p.yaml"
            path.write_text(f"{key}: {value}\n")
            spec = str(path)
        else:
            path, spec = None, '{"%s": %s}' % (key, value)
        load, names = (lambda: draw(family, 0, load_params(spec))), [f"params.{key}", f"{key}: ", f"{key}[", f"params: {key}"]
    try:
        load()
    except QbankError as exc:
        message = str(exc)
        assert "\n" not in message and len(message) < 600, message
        if path is not None and where != "params file":
            assert message.startswith(f"{path}: line "), message
        assert any(name in message for name in names), message
