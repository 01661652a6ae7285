"""Answer inputs and answer keys for the in-page checker (assets/qbank.js).

One function builds the inputs of an answer, one its key; both walk the verified value the same way,
so every input has exactly one key leaf and the other way round.

Shapes, from the value (the variant's verified answer), not from the family:

- a number, integer or string: one text input; a boolean: a yes/no pair of radio buttons
  (values ``true`` / ``false``);
- a flat list of scalars: a row of cells; a list of equal-length lists of scalars: a grid; a list of
  dicts with the same keys and scalar values: a table with one column per key (the beams of a step);
- any other list or dict: a labelled group of its children, recursively; a None anywhere: not
  asked, no input (a None answer has no inputs, no result element and no key);
- an answer whose size another part asks (``Answer.size_asked``): one field for all its entries, a
  vector as ``3, -1, 4``, a matrix a row per line, a 3-D tensor (a list of equal-sized matrices) a
  matrix per channel with the channels separated by a blank line or ``|``; its key says which
  (``"list": "vector" | "matrix" | "tensor"``).

Testing contract (stable attributes): every input has ``data-qbank-answer="NAME"``; an input inside a
structure also has ``data-qbank-index``, the comma-joined list indices (from 0) and dict keys from the
answer's root (``"3"``, ``"1,0"``, ``"0,1,logp"``); a scalar answer's input has none. Every input has
an accessible name (``<label for>`` or ``aria-label``: "y, entry 3", "W, row 2, column 1",
"beams, entry 1, row 2, logp"; positions in words count from 1) and ``data-qbank-kind``, its leaf
kind (below). Each asked answer has one
``<span data-qbank-result="NAME" data-qbank-state="unchecked" aria-live="polite">``. Ids are
``VARIANT-NAME-N`` (N counts the answer's inputs), unique on a page whose variant ids are.

The key (``answer_key``) is JSON, written with sorted keys and no spaces (same answers, same bytes):
``{"answers": {NAME: {"kind", "tol", "value", "leaves": [[index, leaf kind, value], ...]}}}`` with
one leaf per input, in page order. Leaf kinds:

- ``integer``: the answer's kind is integer, or the leaf is an int and the answer's tolerance is 0
  (counts, shapes, integer coefficients): checked exactly (``4``, ``4.0`` and ``8/2`` pass);
- ``number``: checked within max(tol, rel * |value|, 5e-5, 5e-4 * |value|) (``rel`` in the key only
  when the answer has a relative tolerance), so that an answer rounded to 4 decimal
  places or to 4 significant digits passes, whatever the answer's own tolerance;
- ``boolean``; ``expression``: the answer's kind is expression, or the string reads as a formula
  (``u1*w + u2``, ``-0.5*x + 1``, ``-1``, a lone ``x``): equal as text, or equal as functions (the
  checker evaluates both at several points);
- ``text``: compared case-insensitively with whitespace collapsed (``"data deep"`` is a token
  sequence, never a product).

The page embeds the key base64-encoded in ``<script type="application/json" data-qbank-key>``, so
the answers are not in the visible DOM.

Conceptual items:

- multiple choice (``choice_inputs``): radio buttons lettered A, B, ... with ``value`` and
  ``data-qbank-choice`` the position (from 0); key ``{"kind": "choice", "value": POSITION}``;
- a written answer (``written_input``): a textarea, never checked automatically; its result stays
  ``unchecked`` until the solution is shown, then ``compare``; key ``{"kind": "written"}``;
- a fill-in table (``table_inputs``): a textarea in each blank cell, ``data-qbank-answer="table"``
  and ``data-qbank-index="ROW,COLUMN"`` (from 0, the header row not counted); key
  ``{"kind": "fill-table", "value": {"ROW,COLUMN": model answer}}``. The answers are prose, so the
  check is loose: a cell matches when, lower-cased, with LaTeX quotes and markup and final
  punctuation dropped and whitespace collapsed, it equals the model answer, the model answer
  without its parenthetical remarks, one of its alternatives joined by " or ", or, for a list
  ("locality, translation equivariance"), the same items in any order. A matching cell is
  ``correct``, an empty one ``incorrect``, any other ``compare`` (written in other words, not
  necessarily wrong): the table is ``correct`` when every cell matches, ``incorrect`` when one is
  empty, else ``compare``, with a message to compare with the model table in the solution.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Mapping, Sequence

from ..family import Answer
from ..labels import EXPRESSION_FORM, Words, answer_label, form_hint, is_formula, leaf_label, position_words, precision_words

__all__ = [
    "answer_inputs",
    "answer_key",
    "choice_inputs",
    "choice_key",
    "written_input",
    "written_key",
    "table_inputs",
    "table_key",
    "leaves_of",
]

EXPRESSION_HINT = EXPRESSION_FORM
_BLOCK_TAG = re.compile(r"<(p|div|ul|ol|table|pre|figure|blockquote|h[1-6]|dl|section)\b", re.I)
_ONE_PARAGRAPH = re.compile(r"^\s*<p>(.*)</p>\s*$", re.S)
_TAG = re.compile(r"<[^>]*>")


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(text)) or "_"


# ---------------------------------------------------------------- the walk over a value

def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str))


def _shape(value: Any) -> str:
    """How a list shows: 'vector', 'matrix', 'records' or 'group'."""
    if value and all(_is_scalar(v) for v in value):
        return "vector"
    if value and all(isinstance(r, (list, tuple)) and r and all(_is_scalar(v) for v in r) for r in value):
        if len({len(r) for r in value}) == 1:
            return "matrix"
    if value and all(isinstance(r, Mapping) and r and all(_is_scalar(v) for v in r.values()) for r in value):
        if len({tuple(r) for r in value}) == 1:
            return "records"
    return "group"


def _leaf_kind(answer: Answer, value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if answer.kind == "integer" or answer.grading.mode == "exact" else "number"
    if isinstance(value, float):
        return "integer" if answer.kind == "integer" else "number"
    if isinstance(value, str):
        return "expression" if answer.kind == "expression" or is_formula(value) else "text"
    raise TypeError(f"answer value {value!r} is not JSON data (number, string, boolean, list, dict)")


def _children(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    return [(str(i), v) for i, v in enumerate(value)]


def leaves_of(answer: Answer, value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, str, Any]]:
    """Every leaf of an answer as (index, leaf kind, value), in the order the inputs show them."""
    if value is None:
        return []
    if _is_scalar(value):
        return [(",".join(prefix), _leaf_kind(answer, value), value)]
    if isinstance(value, (list, tuple, Mapping)):
        out: list[tuple[str, str, Any]] = []
        for key, child in _children(value):
            out += leaves_of(answer, child, (*prefix, key))
        return out
    raise TypeError(f"answer value {value!r} is not JSON data (number, string, boolean, list, dict)")


def _plain(value: Any) -> Any:
    """The value as JSON data (tuples as lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


# ---------------------------------------------------------------- inputs

class _Builder:
    """The inputs of one answer: numbers its ids and writes each kind of leaf and container, each named
    as a student reads the problem ("(b) dJ/dW2, entry 1": qbank.labels)."""

    def __init__(self, variant_id: str, name: str, answer: Answer, root: Any, part: str, words: Words | None) -> None:
        self.vid, self.name, self.answer, self.root, self.part, self.words = variant_id, name, answer, root, part, words
        self.base = f"{_slug(variant_id)}-{_slug(name)}"
        self.count = 0
        self.hint_id = f"{self.base}-hint"

    def next_id(self) -> str:
        self.count += 1
        return f"{self.base}-{self.count}"

    def label(self, path: tuple[str, ...]) -> str:
        return leaf_label(self.part, self.name, self.answer, path, self.root, self.words)

    def shown(self, path: tuple[str, ...]) -> str:
        """The last step of a path in words ("rank 2", "logp")."""
        return position_words(self.answer, path, self.root, self.words)[-1]

    def attrs(self, path: tuple[str, ...], kind: str) -> str:
        index = f' data-qbank-index="{_esc(",".join(path))}"' if path else ""
        return f'data-qbank-answer="{_esc(self.name)}"{index} data-qbank-kind="{kind}"'

    def text_input(self, path: tuple[str, ...], value: Any, *, label: str | None = None, id_: str | None = None) -> str:
        """One text input; `label` None when a <label for> names it, else its aria-label. The hint
        describes a root input; inside a structure the fieldset carries it."""
        kind = _leaf_kind(self.answer, value)
        id_ = id_ or self.next_id()
        aria = f' aria-label="{_esc(label)}"' if label is not None else ""
        described = "" if path else f' aria-describedby="{self.hint_id}"'
        return (
            f'<input type="text" id="{id_}" class="qbank-input qbank-leaf-{kind}" {self.attrs(path, kind)}{aria}'
            f'{described} autocomplete="off" autocapitalize="off" spellcheck="false">'
        )

    def yes_no(self, path: tuple[str, ...], label: str) -> str:
        group = self.next_id()
        radios = []
        for word, val in (("yes", "true"), ("no", "false")):
            rid = f"{group}-{word}"
            radios.append(
                f'<span class="qbank-option"><input type="radio" id="{rid}" name="{group}" value="{val}"'
                f' {self.attrs(path, "boolean")}><label for="{rid}">{word}</label></span>'
            )
        return f'<span class="qbank-yesno" role="radiogroup" aria-label="{_esc(label)}">{"".join(radios)}</span>'

    def leaf(self, path: tuple[str, ...], value: Any) -> str:
        """A leaf with no visible label of its own (a cell): named by aria-label."""
        if isinstance(value, bool):
            return self.yes_no(path, self.label(path))
        return self.text_input(path, value, label=self.label(path))

    def labelled_leaf(self, path: tuple[str, ...], value: Any) -> str:
        """A leaf with a visible label (its last step in words); the path above it is read out before it."""
        shown, full = self.shown(path), self.label(path)
        if isinstance(value, bool):
            return f'<div class="qbank-field"><span class="qbank-field-label">{_esc(shown)}</span> {self.yes_no(path, full)}</div>'
        id_ = self.next_id()
        context = full[: -len(shown)].rstrip(", ") if full.endswith(shown) else ""
        prefix = f'<span class="qbank-sr">{_esc(context)}, </span>' if context else ""
        return (
            f'<div class="qbank-field"><label class="qbank-field-label" for="{id_}">{prefix}{_esc(shown)}</label> '
            f"{self.text_input(path, value, id_=id_)}</div>"
        )

    def position(self, path: tuple[str, ...], default: str) -> str:
        """The last step of `path` in words when the card or the family names it ("t = 12"), else ""
        (the default `default` goes without saying: the cells are numbered)."""
        word = self.shown(path)
        return "" if word == default else word

    def vector(self, path: tuple[str, ...], values: Sequence[Any]) -> str:
        def cell(i: int, v: Any) -> str:
            word = self.position((*path, str(i)), f"entry {i + 1}")
            named = f' data-qbank-pos="{_esc(word)}"' if word else ""
            return f'<span class="qbank-cell"{named}>{self.leaf((*path, str(i)), v)}</span>'

        cells = "".join(cell(i, v) for i, v in enumerate(values))
        return (
            f'<div class="qbank-scroll"><div class="qbank-vector" role="group" aria-label="{_esc(self.label(path))}, '
            f'{len(values)} {"entry" if len(values) == 1 else "entries"}">{cells}</div></div>'
        )

    def matrix(self, path: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> str:
        words = [self.position((*path, str(i)), f"entry {i + 1}") for i in range(len(rows))]  # a row the problem names
        body = "".join(
            "<tr>" + (f'<th scope="row">{_esc(words[i])}</th>' if any(words) else "")
            + "".join(f"<td>{self.leaf((*path, str(i), str(j)), v)}</td>" for j, v in enumerate(row)) + "</tr>"
            for i, row in enumerate(rows)
        )
        size = f"{len(rows)} by {len(rows[0])}"
        return (
            f'<div class="qbank-scroll"><table class="qbank-matrix" role="group" aria-label="{_esc(self.label(path))}, {size}">'
            f"<tbody>{body}</tbody></table></div>"
        )

    def records(self, path: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> str:
        keys = [str(k) for k in rows[0]]
        head = '<tr><th scope="col"><span class="qbank-sr">row</span></th>' + "".join(
            f'<th scope="col">{_esc(self.answer.keys.get(k, k))}</th>' for k in keys
        ) + "</tr>"
        body = "".join(
            f'<tr><th scope="row">{_esc(self.shown((*path, str(i))))}</th>'
            + "".join(f"<td>{self.leaf((*path, str(i), k), row[k])}</td>" for k in keys)
            + "</tr>"
            for i, row in enumerate(rows)
        )
        return (
            f'<div class="qbank-scroll"><table class="qbank-records" aria-label="{_esc(self.label(path))}">'
            f"<thead>{head}</thead><tbody>{body}</tbody></table></div>"
        )

    def structure(self, path: tuple[str, ...], value: Any) -> str:
        """A list or dict below the answer's root (whose legend names it already)."""
        if isinstance(value, (list, tuple)):
            shape = _shape(value)
            if shape == "vector":
                return self.vector(path, value)
            if shape == "matrix":
                return self.matrix(path, value)
            if shape == "records":
                return self.records(path, value)
        parts = []
        for key, child in _children(value):
            sub = (*path, key)
            if child is None:
                continue
            if _is_scalar(child):
                parts.append(self.labelled_leaf(sub, child))
            elif not child:
                continue
            else:
                inner = self.structure(sub, child)
                parts.append(f'<fieldset class="qbank-group"><legend>{_esc(self.shown(sub))}</legend>{inner}</fieldset>')
        return "".join(parts)


def _result(base: str, name: str) -> str:
    return (
        f'<span class="qbank-result" id="{base}-result" data-qbank-result="{_esc(name)}"'
        f' data-qbank-state="unchecked" aria-live="polite"></span>'
    )


def answer_inputs(variant_id: str, name: str, answer: Answer, value: Any, part: str = "", words: Words | None = None) -> str:
    """The inputs of one answer, shaped by its verified value; "" for a None (not asked) value. `part`:
    the letter of the part asking it, for the inputs' names ("(b) dJ/dW2, entry 1"); `words`: the
    family's words for positions that depend on the draw (Family.position_word). The hint says the
    form and precision expected (qbank.labels.form_hint), never the value or its formula."""
    if value is None or not leaves_of(answer, value):
        return ""
    b = _Builder(variant_id, name, answer, value, part, words)
    hint = f'<span class="qbank-hint" id="{b.hint_id}">{_esc(form_hint(answer, value))}</span>'
    name_html = f'<span class="qbank-name">{_esc(answer_label(name, answer))}</span>'
    block = f'data-qbank-answer-block="{_esc(name)}"'
    if isinstance(value, bool):
        control = b.yes_no((), b.label(()))
        return (
            f'<div class="qbank-answer qbank-answer-boolean" {block}><span class="qbank-label">{name_html}</span> '
            f"{control} {_result(b.base, name)}{hint}</div>"
        )
    if _is_scalar(value):
        id_ = b.next_id()
        control = b.text_input((), value, id_=id_)
        return (
            f'<div class="qbank-answer" {block}><label class="qbank-label" for="{id_}">{name_html}</label> '
            f"{control} {_result(b.base, name)}{hint}</div>"
        )
    if answer.size_asked and _list_shape(value):
        return _list_input(b, value, name_html, block)
    body = b.structure((), value)
    return (
        f'<fieldset class="qbank-answer qbank-answer-structured" {block} aria-describedby="{b.hint_id}">'
        f"<legend>{name_html}</legend>{hint}{body}{_result(b.base, name)}</fieldset>"
    )


LIST_HINTS = {
    "vector": "the entries in order, separated by commas",
    "matrix": "one row per line, its entries separated by commas",
    "tensor": "one matrix per channel, a row per line and its entries separated by commas; "
              "channels separated by a blank line or |",
}


def _list_shape(value: Any) -> str | None:
    """How one field takes every entry of an answer whose size is asked: 'vector', 'matrix', 'tensor' (a
    list of equal-sized matrices: channels of rows), or None for any other value."""
    shape = _shape(value)
    if shape in ("vector", "matrix"):
        return shape
    if (isinstance(value, (list, tuple)) and value and all(isinstance(m, (list, tuple)) and _shape(m) == "matrix" for m in value)
            and len({(len(m), len(m[0])) for m in value}) == 1):
        return "tensor"
    return None


def _list_input(b: _Builder, value: Any, name_html: str, block: str) -> str:
    """One field for all the entries of an answer whose size is itself asked (Answer.size_asked): a
    cell per entry would show that size."""
    shape = _list_shape(value)
    id_ = b.next_id()
    hint = "; ".join(filter(None, [LIST_HINTS[shape], precision_words(b.answer, value)]))
    control = (
        f'<textarea id="{id_}" rows="{6 if shape == "tensor" else 3}" class="qbank-input qbank-list" data-qbank-answer="{_esc(b.name)}" data-qbank-kind="list"'
        f' aria-describedby="{b.hint_id}" autocomplete="off" autocapitalize="off" spellcheck="false"></textarea>'
        if shape in ("matrix", "tensor") else
        f'<input type="text" id="{id_}" class="qbank-input qbank-list" data-qbank-answer="{_esc(b.name)}" data-qbank-kind="list"'
        f' aria-describedby="{b.hint_id}" autocomplete="off" autocapitalize="off" spellcheck="false">'
    )
    return (
        f'<div class="qbank-answer qbank-answer-list" {block}><label class="qbank-label" for="{id_}">{name_html}</label> '
        f'{control} {_result(b.base, b.name)}<span class="qbank-hint" id="{b.hint_id}">{_esc(hint)}</span></div>'
    )


def answer_key(answers: Mapping[str, Answer], values: Mapping[str, Any]) -> str:
    """The checker's key for one variant: every asked answer (value not None) with its leaves, each
    number with the tolerance every medium grades it with (qbank.grading), and the answer's precision
    (for the checker's "close: give 4 decimal places")."""
    out = {}
    for name, answer in answers.items():
        value = values.get(name)
        leaves = leaves_of(answer, value)
        if not leaves:
            continue
        grading = answer.grading
        out[name] = {
            "kind": answer.kind,
            "value": _plain(value),
            "precision": grading.record(),
            "leaves": [
                [index, kind, leaf, grading.tolerance(leaf)] if kind == "number" else [index, kind, leaf]
                for index, kind, leaf in leaves
            ],
        }
        if grading.mode == "within" and grading.rel:  # the old relative tolerance: within max(tol, rel |v|)
            out[name]["rel"] = float(grading.rel)
        if answer.size_asked and _list_shape(value):  # one field holds every entry
            out[name]["list"] = _list_shape(value)
    return _dumps({"answers": out})


# ---------------------------------------------------------------- conceptual items

def _inline(fragment: str) -> tuple[str, bool]:
    """An HTML fragment without a lone wrapping paragraph, and whether it is still block content."""
    m = _ONE_PARAGRAPH.match(fragment)
    inner = m.group(1) if m and "<p" not in m.group(1) else fragment.strip()
    return inner, bool(_BLOCK_TAG.search(inner))


def _text_of(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def choice_inputs(variant_id: str, choices: Sequence[str]) -> str:
    """Radio buttons for a multiple-choice item; each choice is HTML, shown after its letter."""
    base = f"{_slug(variant_id)}-choice"
    rows = []
    for i, choice in enumerate(choices):
        letter = _letter(i)
        rid = f"{base}-{i}"
        inner, block = _inline(choice)
        radio = (
            f'<input type="radio" id="{rid}" name="{base}" value="{i}" data-qbank-answer="choice"'
            f' data-qbank-choice="{i}" data-qbank-kind="choice"'
        )
        if block:  # block content cannot sit in a <label>: name the radio by the choice's text instead
            rows.append(
                f'<div class="qbank-choice">{radio} aria-labelledby="{rid}-letter {rid}-text">'
                f'<span class="qbank-letter" id="{rid}-letter">{letter}.</span>'
                f'<div class="qbank-choice-text" id="{rid}-text">{inner}</div></div>'
            )
        else:
            rows.append(
                f'<div class="qbank-choice">{radio}><label for="{rid}"><span class="qbank-letter">{letter}.</span> '
                f"{inner}</label></div>"
            )
    return (
        f'<fieldset class="qbank-answer qbank-choices" data-qbank-answer-block="choice">'
        f'<legend>Choose one answer</legend>{"".join(rows)}{_result(base, "choice")}</fieldset>'
    )


def _letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(ord("A") + r) + letters
    return letters


def choice_key(position: int, name: str = "choice") -> str:
    return _dumps({"answers": {name: {"kind": "choice", "value": int(position)}}})


def written_input(variant_id: str, name: str) -> str:
    """A textarea for a written answer: written, then compared with the model solution."""
    base = f"{_slug(variant_id)}-{_slug(name)}"
    return (
        f'<div class="qbank-answer qbank-written" data-qbank-answer-block="{_esc(name)}">'
        f'<label class="qbank-label" for="{base}-1">Your answer</label>'
        f'<span class="qbank-hint" id="{base}-hint">Write your answer, then show the solution and compare.</span>'
        f'<textarea id="{base}-1" rows="6" data-qbank-answer="{_esc(name)}" data-qbank-kind="written"'
        f' aria-describedby="{base}-hint" spellcheck="true"></textarea>'
        f"{_result(base, name)}</div>"
    )


def written_key(name: str = "written") -> str:
    return _dumps({"answers": {name: {"kind": "written"}}})


def table_inputs(variant_id: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], name: str = "table") -> str:
    """A fill-in table: `columns` and the given cells are HTML; a cell {answer: ...} is an input."""
    base = f"{_slug(variant_id)}-{_slug(name)}"
    col_text = [_text_of(c) for c in columns]
    head = "".join(f'<th scope="col">{_inline(c)[0]}</th>' for c in columns)
    body = []
    n = 0
    for r, row in enumerate(rows):
        first = row[0] if row else None
        row_name = _text_of(first) if isinstance(first, str) and _text_of(first) else f"row {r + 1}"
        cells = []
        for c, cell in enumerate(row):
            if isinstance(cell, Mapping):
                n += 1
                column = col_text[c] if c < len(col_text) and col_text[c] else f"column {c + 1}"
                cells.append(
                    f'<td><textarea id="{base}-{n}" rows="2" data-qbank-answer="{_esc(name)}"'
                    f' data-qbank-index="{r},{c}" data-qbank-kind="fill-table"'
                    f' aria-label="{_esc(row_name)}, {_esc(column)}" spellcheck="true"></textarea></td>'
                )
            elif c == 0:
                cells.append(f'<th scope="row">{_inline(str(cell))[0]}</th>')
            else:
                cells.append(f"<td>{_inline(str(cell))[0]}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="qbank-answer qbank-fill-table" data-qbank-answer-block="{_esc(name)}">'
        f'<div class="qbank-scroll"><table class="qbank-table-inputs"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{_result(base, name)}</div>"
    )


def table_key(rows: Sequence[Sequence[Any]], name: str = "table") -> str:
    """The key of a fill-in table: each blank cell's model answer by "ROW,COLUMN"."""
    cells = {
        f"{r},{c}": str(cell.get("answer", ""))
        for r, row in enumerate(rows)
        for c, cell in enumerate(row)
        if isinstance(cell, Mapping)
    }
    return _dumps({"answers": {name: {"kind": "fill-table", "value": cells}}})
