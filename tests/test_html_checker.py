"""The in-page checker (qbank/html/assets/qbank.js) and the answer inputs it reads (qbank/html/widgets.py).

The checker's pure functions run under node on tables of number formats, tolerances, expressions and
text; every family's verified answers (and their 4-decimal and 4-significant-digit roundings) go
through the same comparison the page makes. The widgets are parsed as HTML and checked against the
testing contract. One browser test (headless Chromium) drives a page of inputs end to end.
"""

from __future__ import annotations

import base64
import functools
import html.parser
import json
import re
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from qbank.engine import draw
from qbank.family import Answer
from qbank.html import widgets
from qbank.model import thaw
from qbank.registry import all_families, get_family

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "qbank" / "html" / "assets"
CHECKER = ASSETS / "qbank.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: the checker's unit tests run qbank.js under node")

DRIVER = r"""
const q = require(process.argv[1]);
let input = "";
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const out = JSON.parse(input).map(([fn, args]) => {
    try { return { ok: true, value: q[fn](...args) }; } catch (e) { return { ok: false, error: String(e) }; }
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def js(calls: list[tuple[str, list]]) -> list[Any]:
    """Call the checker's exported functions under node: one process for the whole list."""
    done = subprocess.run(
        [NODE, "-e", DRIVER, str(CHECKER)], input=json.dumps(calls), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for (fn, args), res in zip(calls, out):
        assert res["ok"], f"{fn}{args} raised {res.get('error')}"
    return [r["value"] for r in out]


def states(cases: list[tuple]) -> list[str]:
    """compareLeaf(kind, expected, typed, tol) for each case: its state, 'empty' for no answer."""
    got = js([("compareLeaf", list(c)) for c in cases])
    return ["empty" if g["empty"] else g["state"] for g in got]


# ---------------------------------------------------------------- numbers

NUMBER_FORMATS = [
    ("-0.5", -0.5), ("\u22120.5", -0.5), (".5", 0.5), ("-.5", -0.5), ("5.", 5.0), ("+3", 3.0),
    ("1e-3", 0.001), ("1E3", 1000.0), ("2.5e+2", 250.0), ("1/2", 0.5), ("-3/4", -0.75), ("3/-4", -0.75),
    ("  7 ", 7.0), ("- 0.5", -0.5), ("1 / 2", 0.5), ("\u00a00.25\u2009", 0.25), ("0,5", 0.5), ("-0,25", -0.25),
    ("0,500", 0.5), ("1,5/2", 0.75), ("0", 0.0), ("-0", 0.0), ("00012", 12.0),
]
NUMBER_REJECTS = [
    ("", "empty"), ("   ", "empty"), ("abc", "format"), ("NaN", "format"), ("Infinity", "format"),
    ("-Infinity", "format"), ("0x10", "format"), ("1 000", "format"), ("1..2", "format"), ("1.2.3", "format"),
    ("--1", "format"), ("1e", "format"), ("e3", "format"), ("1/", "format"), ("/2", "format"), ("1/2/3", "format"),
    ("1,500", "comma"), ("12,345", "comma"), ("1,000.5", "comma"), ("1,2,3", "comma"), ("1/0", "infinite"),
    ("0/0", "infinite"), ("1e999", "infinite"), ("-1e400", "infinite"), ("1e-999", None),
]


@needs_node
def test_number_formats_people_type():
    got = js([("parseNumber", [text]) for text, _ in NUMBER_FORMATS])
    for (text, want), res in zip(NUMBER_FORMATS, got):
        assert res["ok"], f"{text!r} should read as {want}, got {res}"
        assert res["value"] == pytest.approx(want, abs=1e-15), text


@needs_node
def test_number_formats_refused_with_a_reason():
    got = js([("parseNumber", [text]) for text, _ in NUMBER_REJECTS])
    for (text, reason), res in zip(NUMBER_REJECTS, got):
        if reason is None:  # underflows to zero: a number, just a tiny one
            assert res == {"ok": True, "value": 0}, text
        else:
            assert res == {"ok": False, "reason": reason}, text


@needs_node
def test_number_leaves_accept_constant_expressions_but_not_variables():
    got = js([("readNumber", [t]) for t in ("sqrt(2)/10", "2^-1", "1/(2*2)", "pi/4", "x/2", "2^10000", "sqrt(-1)")])
    assert got[0]["value"] == pytest.approx(math.sqrt(2) / 10)
    assert got[1]["value"] == 0.5 and got[2]["value"] == 0.25
    assert got[3]["value"] == pytest.approx(math.pi / 4)
    assert got[4] == {"ok": False, "reason": "format"}
    assert got[5] == {"ok": False, "reason": "infinite"} and got[6] == {"ok": False, "reason": "infinite"}


@needs_node
def test_effective_tolerance_rule():
    # the leaf's own tolerance, as the keys and the LMS exports record it: no floor
    got = js([("effectiveTolerance", [v, t]) for v, t in ((0.1, 0), (10.0, 0), (-10.0, 1e-9), (2.0, 0.005), (1000.0, 0.1), (0.0, 0))])
    assert got == pytest.approx([0, 0, 1e-9, 0.005, 0.1, 0])
    # an old relative tolerance (Answer.rel) widens it with the value's magnitude: a gradient norm of 3e15
    rel = js([("effectiveTolerance", [v, 0, r]) for v, r in ((3e15, 1e-3), (1e-6, 1e-3), (-2.0, 1e-2))])
    assert rel == pytest.approx([3e12, 1e-9, 0.02])
    got = js([("compareLeaf", ["number", 3.2e15, t, 0, 1, 1e-3]) for t in ("3.201e15", "3.21e15")])
    assert [g["state"] for g in got] == ["correct", "incorrect"]


def test_relative_tolerance_reaches_the_key():
    import json as _json

    from qbank.family import Answer
    from qbank.html.widgets import answer_key

    # no built-in family grades by the old Answer(tol, rel) since issue 16 (rnn-gradient-flow did): a card of its own
    answers = {"norm": Answer("number", "a norm", 1e-6, rel=1e-3), "n": Answer("integer", "a count")}
    key = _json.loads(answer_key(answers, {"norm": 89.608, "n": 3}))["answers"]
    assert key["norm"].get("rel") == 1e-3 and "rel" not in key["n"]


TOLERANCE_CASES = [
    # 4 decimal places (tolerance 5e-5), at the boundary: a value exactly half-way rounds either way
    ("number", 0.12345, "0.1235", 5e-5, "correct"),
    ("number", 0.12345, "0.1234", 5e-5, "correct"),
    ("number", 0.123449, "0.1234", 5e-5, "correct"),
    ("number", 0.12345, "0.1233", 5e-5, "incorrect"),
    ("number", 0.12345, "0.1236", 5e-5, "incorrect"),
    ("number", -0.03225806451612903, "-0.0323", 5e-5, "correct"),
    ("number", -0.03225806451612903, "0.0323", 5e-5, "incorrect"),
    ("number", 0.03225806451612903, "1/31", 5e-5, "correct"),
    # 4 significant digits of 1000.5: tolerance 0.5
    ("number", 1000.5, "1001", 0.5, "correct"),
    ("number", 1000.5, "1000", 0.5, "correct"),
    ("number", 1000.5, "999.9", 0.5, "incorrect"),
    ("number", 1000.5, "1002", 0.5, "incorrect"),
    ("number", 12345.678, "1.235e4", 5, "correct"),
    ("number", 12345.678, "12330", 5, "incorrect"),
    ("number", 6.1750114954843265e-3, "0.006175", 5e-7, "correct"),
    ("number", 6.1750114954843265e-3, "0.0062", 5e-7, "incorrect"),
    # no floor: a tiny value asked to 4 significant digits is not passed by 0
    ("number", 3.4e-6, "0", 5e-10, "incorrect"),
    ("number", 3.4e-6, "3.4e-6", 5e-10, "correct"),
    # exact values: a short decimal or a fraction, exactly
    ("number", 2.5, "2.5", 0, "correct"),
    ("number", 2.5, "5/2", 0, "correct"),
    ("number", 2.5, "2.6", 0, "incorrect"),
    ("number", 1 / 12, "1/12", 0, "correct"),
    ("number", 1 / 12, "2/24", 0, "correct"),
    ("number", 1 / 12, "2/12", 0, "incorrect"),
    ("number", 1 / 12, "0.0833", 0, "incorrect"),
    ("number", 32, "32.01", 1e-9, "incorrect"),
    ("number", 0.5, "\u22121/2", 0, "incorrect"),
    ("number", -0.5, "\u22121/2", 0, "correct"),
    ("number", 0.5, "0,5", 0, "correct"),
    ("number", 1500, "1,500", 0, "incorrect"),
    ("number", 0.5, "", 0, "empty"),
    ("number", 0.5, "NaN", 0, "incorrect"),
    ("number", 0.5, "1/0", 0, "incorrect"),
    ("number", 1e308, "1e999", 0, "incorrect"),
    ("number", 0.0, "1e-5", 0, "incorrect"),
    ("number", 0.0, "0", 0, "correct"),
    # integers are exact; 4.0 and 8/2 are 4
    ("integer", 4, "4", 0, "correct"),
    ("integer", 4, "4.0", 0, "correct"),
    ("integer", 4, "8/2", 0, "correct"),
    ("integer", 4, "+4", 0, "correct"),
    ("integer", -14, "\u221214", 0, "correct"),
    ("integer", 4, "4.001", 0, "incorrect"),
    ("integer", 4, "3.9999", 0, "incorrect"),
    ("integer", 4, "5", 0, "incorrect"),
    ("integer", 1000, "1,000", 0, "incorrect"),
    ("integer", 7, "", 0, "empty"),
]


@needs_node
def test_tolerance_and_integer_edge_cases():
    got = states([c[:4] for c in TOLERANCE_CASES])
    wrong = [(c, g) for c, g in zip(TOLERANCE_CASES, got) if g != c[4]]
    assert not wrong, wrong


@needs_node
def test_a_correct_rounding_to_fewer_places_is_close():
    four = {"mode": "decimals", "digits": 4, "text": "4 decimal places"}
    sig = {"mode": "sig", "digits": 3, "text": "3 significant digits"}
    exact = {"mode": "exact", "text": "exact"}
    got = js([
        ("compareLeaf", ["number", 0.123456, "0.123", 5e-5, 1, 0, four]),  # right at 3 places: close
        ("compareLeaf", ["number", 0.123456, "0.124", 5e-5, 1, 0, four]),  # wrong at 3 places
        ("compareLeaf", ["number", 3.4125e-6, "3.4e-6", 5e-9, 1, 0, sig]),  # right at 2 significant digits
        ("compareLeaf", ["number", 1 / 12, "0.0833", 0, 1, 0, exact]),  # a decimal for a fraction
        ("compareLeaf", ["number", 0.3, "0", 5e-5, 1, 0, four]),  # 0 is never close
    ])
    assert [g["state"] for g in got] == ["incorrect"] * 5
    assert got[0]["message"] == "close: give 4 decimal places"
    assert got[1]["message"] == "not correct"
    assert got[2]["message"] == "close: give 3 significant digits"
    assert got[3]["message"].startswith("close: give the exact value")
    assert got[4]["message"] == "not correct"
    got = js([("typedUnit", [t]) for t in ("0.125", "3", "3.4e-6", "1/2", "1,25", "-2.50", "1250", "0", "100.")])
    assert got[3] is None  # a fraction shows no place
    assert got[:3] + got[4:] == pytest.approx([1e-3, 1, 1e-7, 1e-2, 1e-2, 10, 1, 1], rel=1e-12)


@needs_node
def test_messages_say_what_went_wrong():
    got = js([("compareLeaf", ["number", 1, t, 0]) for t in ("", "abc", "1,500", "1/0", "2")])
    assert [g["message"] for g in got] == [
        "no answer",
        "could not read this as a number",
        "a comma is ambiguous here: write a decimal point (1.5) or no separator (1500)",
        "not a finite number",
        "not correct",
    ]


# ---------------------------------------------------------------- expressions

EXPRESSION_CASES = [
    ("sqrt(2)/10", "sqrt(2)/10", True),
    ("1/(5*sqrt(2))", "sqrt(2)/10", True),
    ("2^0.5/10", "sqrt(2)/10", True),
    ("0.1*sqrt(2)", "sqrt(2)/10", True),
    ("0.14142135623731", "sqrt(2)/10", True),
    ("0.1414", "sqrt(2)/10", False),  # an exact form is asked: a rounded decimal is not it
    ("sqrt(2)/100", "sqrt(2)/10", False),
    ("w*(3*w-2)", "3*w^2 - 2*w", True),
    ("w(3w-2)", "3*w**2 - 2*w", True),
    ("3w^2-2w", "3*w**2 - 2*w", True),
    ("3 w^2 - 2 w", "3*w**2 - 2*w", True),
    ("3w\u00b2 \u2212 2w", "3*w**2 - 2*w", True),
    ("3\u00d7w^2 - 2\u00b7w", "3*w**2 - 2*w", True),
    ("-2w + 3w^2", "3*w**2 - 2*w", True),
    ("y = 3*W^2 - 2*W", "3*w**2 - 2*w", True),
    ("3*w^2 + 2*w", "3*w**2 - 2*w", False),
    ("3*w^3 - 2*w", "3*w**2 - 2*w", False),
    ("3*x^2 - 2*x", "3*w**2 - 2*w", False),
    ("u_1*w + u_2", "u1*w + u2", True),
    ("u2 + w*u1", "u1*w + u2", True),
    ("u1*w + u3", "u1*w + u2", False),
    ("1/(abs(x1)*abs(x2))", "1/(Abs(x1)*Abs(x2))", True),
    ("1/(x1*x2)", "1/(Abs(x1)*Abs(x2))", False),  # the mixed-sign points tell |x| from x
    ("-1.5*(x - 1)", "-1.5*x + 1.5", True),
    ("-3/2 x + 3/2", "-1.5*x + 1.5", True),
    ("exp(log(x))", "x", False),  # undefined for x < 0, where the key is defined
    ("x", "exp(log(x))", True),  # points where the key is undefined are skipped
    ("sqrt(x^2)", "Abs(x)", True),
    ("ln(x^2)/2", "log(x)", True),
    ("e^x", "exp(x)", True),
    ("2*pi", "2*3.141592653589793", True),
    ("-2^2", "-4", True),
    ("2^3^2", "512", True),
    ("(-2)^2", "4", True),
    ("-13/29", "-13/29", True),
    ("-0.4483", "-13/29", False),
    ("13/29", "-13/29", False),
]


@needs_node
def test_expression_equivalence():
    got = js([("compareExpressions", [s, k]) for s, k, _ in EXPRESSION_CASES])
    wrong = [(c, g) for c, g in zip(EXPRESSION_CASES, got) if g != {"ok": True, "equal": c[2]}]
    assert not wrong, wrong


@needs_node
def test_expressions_that_do_not_parse_are_reported_not_thrown():
    bad = ["", "3*", "(w", "w)", "sqrt 2", "2 3", "w $ 2", "foo(", "1,5", "((((" * 60 + "w" + "))))" * 60, "x" * 2000]
    got = js([("compareExpressions", [b, "w"]) for b in bad])
    assert all(g["ok"] is False for g in got), list(zip(bad, got))
    assert js([("compareExpressions", ["w", "3*"])]) == [{"ok": False, "reason": "key"}]
    assert states([("expression", "w^2", "w^^2", 0)]) == ["incorrect"]
    assert js([("compareLeaf", ["expression", "w^2", "w^^2", 0])])[0]["message"] == "could not read this expression"


@needs_node
def test_expressions_at_given_points():
    # a key known only to agree at the given values: checked there first
    got = js([("compareExpressions", ["w*w", "w^2", [{"w": 0.5}, {"w": 3}]]), ("evaluate", [{"t": "var", "v": "w"}, {"w": 2}])])
    assert got == [{"ok": True, "equal": True}, 2]


# ---------------------------------------------------------------- text, booleans, choices, tables

TEXT_CASES = [
    ("text", "neural network deep", "Neural  Network deep ", "correct"),
    ("text", "neural network deep", "neural network", "incorrect"),
    ("text", "data deep", "deep data", "incorrect"),  # a token sequence, never a product
    ("text", "O(T k M log M)", "o( T k M log M )", "correct"),
    ("text", "O(T k M log M)", "O(T k M)", "incorrect"),
    ("text", "right", "Right", "correct"),
    ("text", "right", "left", "incorrect"),
    ("text", "none", "None", "correct"),
    ("text", "-1", "\u22121.0", "correct"),
    ("text", "w", "1*w", "correct"),
    ("text", "w", "w^2", "incorrect"),
    ("text", "vanishing", "", "empty"),
    ("expression", "-0.5*x + 1", "1 - x/2", "correct"),
    ("expression", "none", "NONE", "correct"),
    ("expression", "-1", "-1", "correct"),
    ("boolean", True, "true", "correct"),
    ("boolean", True, "false", "incorrect"),
    ("boolean", False, "no", "correct"),
    ("boolean", False, "", "empty"),
    ("boolean", False, "maybe", "incorrect"),
    ("choice", 2, "2", "correct"),
    ("choice", 2, "0", "incorrect"),
    ("choice", 0, "", "empty"),
]


@needs_node
def test_text_boolean_and_choice_comparisons():
    got = states([c[:3] + (0,) for c in TEXT_CASES])
    wrong = [(c, g) for c, g in zip(TEXT_CASES, got) if g != c[3]]
    assert not wrong, wrong


TABLE_CASES = [
    ("units (vector entries)", "units (vector entries)", True),
    ("units (vector entries)", "Units", True),
    ("units (vector entries)", "vector entries", False),
    ("pixels or patches of a grid", "patches of a grid", True),
    ("pixels or patches of a grid", "Pixels.", True),
    ("locality, translation equivariance", "translation equivariance, locality", True),
    ("locality, translation equivariance", "translation equivariance and locality", True),
    ("locality, translation equivariance", "locality", False),
    ("none", "``none''", True),
    ("none", "all-to-all", False),
    ("none", "", False),
]


@needs_node
def test_fill_table_cells_match_loosely():
    got = js([("matchesLoosely", [typed, model]) for model, typed, _ in TABLE_CASES])
    assert got == [c[2] for c in TABLE_CASES]
    assert states([("fill-table", "none", "shared", 0), ("fill-table", "none", "", 0)]) == ["compare", "empty"]


# ---------------------------------------------------------------- every family through the checker

def _typed(value: Any) -> str:
    """What a student types for a verified leaf: the number in full, the text, true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


def _variants(seeds=range(3)):
    for fam in all_families():
        for seed in seeds:
            yield fam, draw(fam, seed)


@functools.lru_cache(maxsize=None)
def _family_leaves():
    """(family, seed, answer, index, leaf kind, value, tol, precision) of every asked leaf of every family."""
    out = []
    for fam, v in _variants():
        values = thaw(v.answers)
        key = json.loads(widgets.answer_key(dict(fam.answers), values))
        for name, spec in key["answers"].items():
            for leaf in spec["leaves"]:
                index, kind, value = leaf[:3]
                out.append((fam.id, v.seed, name, index, kind, value, leaf[3] if len(leaf) > 3 else 0, spec["precision"]))
    return out


@needs_node
def test_every_family_verified_answers_check_correct():
    leaves = _family_leaves()
    assert {leaf[4] for leaf in leaves} == {"integer", "number", "boolean", "text", "expression"}
    cases = [(kind, value, _typed(value), tol) for _, _, _, _, kind, value, tol, _ in leaves]
    got = states(cases)
    wrong = [(leaf, g) for leaf, g in zip(leaves, got) if g != "correct"]
    assert not wrong, wrong[:5]


@needs_node
def test_every_family_wrong_answers_fail():
    """(The stated precision's roundings are tested for every family in tests/test_precision.py.)"""
    leaves = [leaf for leaf in _family_leaves() if leaf[4] == "number"]
    off = [("number", v, repr(v + 1.5 * t + 1e-6 * max(1, abs(v))), t) for *_, v, t, _p in leaves]
    assert set(states(off)) == {"incorrect"}
    ints = [leaf for leaf in _family_leaves() if leaf[4] == "integer"]
    assert set(states([("integer", v, str(v + 1), 0) for *_, v, _t, _p in ints])) == {"incorrect"}

@needs_node
def test_key_round_trips_through_base64_with_non_ascii_text():
    key = widgets.answer_key({"t": Answer("text", "a word"), "x": Answer("number", "x", 1e-3)}, {"t": "caf\u00e9 \u2212", "x": 0.5})
    encoded = base64.b64encode(key.encode()).decode()
    got = js([("decodeKey", [encoded]), ("decodeKey", [key]), ("decodeKey", [""]), ("decodeKey", ["e30="])])
    assert got[0] == json.loads(key) == got[1]
    assert got[0]["answers"]["t"]["value"] == "caf\u00e9 \u2212"
    assert got[2] is None and got[3] is None  # empty, or JSON without answers


def test_checker_script_is_plain_and_offline():
    text = CHECKER.read_text(encoding="utf-8")
    for banned in ("eval(", "new Function", "Function(", "fetch(", "XMLHttpRequest", "import ", "export ", "console.", "http://", "https://"):
        assert banned not in text, banned
    assert 'typeof module !== "undefined"' in text and "DOMContentLoaded" in text
    css = (ASSETS / "qbank.css").read_text(encoding="utf-8")
    for needed in ("prefers-color-scheme: dark", "@media print", "max-width: 100%", "focus-visible", "65ch", 'math[display="block"]'):
        assert needed in css, needed
    assert "url(" not in css and "@import" not in css


# ---------------------------------------------------------------- widgets: HTML and the contract

VOID = {"input", "br", "img", "hr", "meta", "link", "col", "area", "base", "embed", "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    """Every element with its attributes, and a check that tags nest and close."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed {self.stack}")

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v if v is not None else "" for k, v in attrs}))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def all(self, tag=None, **attrs):
        return [a for t, a in self.elements if (tag is None or t == tag) and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def with_attr(self, name):
        return [(t, a) for t, a in self.elements if name in a]


def _family_page(seeds=range(2)) -> tuple[str, list]:
    parts, asked = [], []
    for fam, v in _variants(seeds):
        vid = f"{fam.id}-{v.seed}"
        values = thaw(v.answers)
        for name, answer in fam.answers.items():
            parts.append(widgets.answer_inputs(vid, name, answer, values.get(name)))
            if values.get(name) is not None:
                asked.append((vid, fam, name, answer, values[name]))
    return "\n".join(parts), asked


def _accessible(page: Page, attrs: dict[str, str], labels: set[str], ids: set[str]) -> bool:
    if attrs.get("aria-label", "").strip():
        return True
    if attrs.get("aria-labelledby"):
        return all(i in ids for i in attrs["aria-labelledby"].split())
    return attrs.get("id") in labels


def test_family_inputs_follow_the_contract():
    text, asked = _family_page()
    page = Page(text)
    assert not page.errors, page.errors[:3]
    ids = [a["id"] for _, a in page.elements if "id" in a]
    assert len(ids) == len(set(ids)), "ids repeat on a page"
    id_set, labels = set(ids), {a["for"] for a in page.all("label") if "for" in a}
    assert labels <= id_set
    for _, a in page.with_attr("aria-describedby"):
        assert set(a["aria-describedby"].split()) <= id_set
    controls = [(t, a) for t, a in page.elements if t in ("input", "textarea", "select")]
    assert controls and all("data-qbank-answer" in a for _, a in controls)
    unlabelled = [a for _, a in controls if not _accessible(page, a, labels, id_set)]
    assert not unlabelled, unlabelled[:3]
    results = page.all("span", data_qbank_state="unchecked")
    assert all(r.get("aria-live") == "polite" and "data-qbank-result" in r for r in results)
    # one result per asked answer, and exactly the key's leaves as inputs
    for vid, fam, name, answer, value in asked:
        prefix = f"{vid}-{name}-"
        mine = [a for _, a in controls if a["id"].startswith(prefix) and a["data-qbank-answer"] == name]
        assert len([r for r in results if r["id"] == f"{vid}-{name}-result"]) == 1
        key = json.loads(widgets.answer_key({name: answer}, {name: value}))["answers"][name]
        if key.get("list"):  # one field for every entry, which shows no size
            assert [(a.get("data-qbank-index"), a["data-qbank-kind"]) for a in mine] == [(None, "list")], (vid, name)
            continue
        assert sorted({a.get("data-qbank-index", "") for a in mine}) == sorted(leaf[0] for leaf in key["leaves"]), (vid, name)
        for index, kind, *_ in key["leaves"]:
            cells = [a for a in mine if a.get("data-qbank-index", "") == index]
            assert {a["data-qbank-kind"] for a in cells} == {kind}
            assert len(cells) == (2 if kind == "boolean" else 1)


def test_not_asked_answers_have_no_inputs_and_no_key():
    fam = get_family("init-variance")
    v = next(v for seed in range(40) if None in thaw((v := draw(fam, seed)).answers).values())
    values = thaw(v.answers)
    missing = [n for n, x in values.items() if x is None]
    for name in missing:
        assert widgets.answer_inputs("iv-1", name, fam.answers[name], None) == ""
    key = json.loads(widgets.answer_key(dict(fam.answers), values))
    assert set(key["answers"]) == {n for n, x in values.items() if x is not None}


def test_inputs_and_key_are_deterministic_and_sorted():
    text1, _ = _family_page(seeds=[4])
    text2, _ = _family_page(seeds=[4])
    assert text1 == text2
    fam = get_family("beam-search")
    values = thaw(draw(fam, 4).answers)
    k1, k2 = widgets.answer_key(dict(fam.answers), values), widgets.answer_key(dict(reversed(list(fam.answers.items()))), values)
    assert k1 == k2 and k1 == json.dumps(json.loads(k1), sort_keys=True, separators=(",", ":"))


def _key(fam_id, seed):
    fam = get_family(fam_id)
    values = thaw(draw(fam, seed).answers)
    return fam, values, json.loads(widgets.answer_key(dict(fam.answers), values))["answers"]


def test_shapes_and_leaf_kinds():
    # the output's length is part (a)'s answer: one field for all its entries, no cell count, no size
    fam, values, key = _key("conv1d-forward", 1)
    text = widgets.answer_inputs("c-1", "output", fam.answers["output"], values["output"])
    page = Page(text)
    fields = page.all("input", data_qbank_answer="output")
    assert len(fields) == 1 and fields[0]["data-qbank-kind"] == "list" and "data-qbank-index" not in fields[0]
    assert not page.all("div", **{"class": "qbank-vector"}) and str(len(values["output"])) not in re.sub(r"<[^>]*>", "", text)
    assert key["output"]["list"] == "vector"
    assert key["length"]["leaves"] == [["", "integer", values["length"]]]
    assert {k for _, k, *_ in key["output"]["leaves"]} == {"integer"}  # integer values, tolerance 0

    fam, values, key = _key("transpose-conv2d", 1)
    page = Page(widgets.answer_inputs("t-1", "output", fam.answers["output"], values["output"]))
    assert not page.all("table", **{"class": "qbank-matrix"}) and page.all("textarea", data_qbank_kind="list")
    assert key["output"]["list"] == "matrix"
    page = Page(widgets.answer_inputs("n-1", "W", get_family("nalu").answers["W"], [[0.5, -0.25], [1.0, 0.0]]))
    assert page.all("input", data_qbank_index="1,0")[0]["aria-label"] == "W, row 2, column 1"

    fam, values, key = _key("beam-search", 1)
    page = Page(widgets.answer_inputs("b-1", "beams", fam.answers["beams"], values["beams"]))
    assert page.all("input", data_qbank_index="0,1,logp")[0]["aria-label"] == "beams, after step 1, rank 2, logp"
    assert page.all("table", **{"class": "qbank-records"})
    leaf = dict((i, k) for i, k, *_ in key["beams"]["leaves"])
    assert leaf["0,0,sequence"] == "text" and leaf["0,0,logp"] == "number"
    assert key["beam_finds_optimum"]["leaves"][0][1] == "boolean" and key["runtime"]["leaves"][0][1] == "text"
    page = Page(widgets.answer_inputs("b-1", "beam_finds_optimum", fam.answers["beam_finds_optimum"], True))
    assert [r["value"] for r in page.all("input", type="radio")] == ["true", "false"]
    greedy = Page(widgets.answer_inputs("b-1", "greedy", fam.answers["greedy"], values["greedy"]))
    assert [a["data-qbank-index"] for a in greedy.all("input")] == ["sequence", "logp"]

    fam, values, key = _key("relu-net-derivatives", 1)
    kinds = {i: k for i, k, *_ in key["dw2"]["leaves"]}
    slope = values["dw2"]["slopes"][0]  # asked exactly: a whole slope is an integer leaf (issue 16)
    assert kinds["pieces,1"] == "expression" and kinds["slopes,0"] == ("integer" if isinstance(slope, int) else "number")
    text = widgets.answer_inputs("r-1", "dw2", fam.answers["dw2"], values["dw2"])
    assert widgets.EXPRESSION_HINT in text and "<legend>pieces</legend>" in text

    fam, values, key = _key("ridge-map", 1)
    det_kind = "integer" if isinstance(values["det"], int) else "number"  # asked exactly (issue 16)
    assert key["XtX"]["leaves"][0][1] == "integer" and key["det"]["leaves"][0][1] == det_kind
    assert {k for _, k, *_ in key["inverse_exact"]["leaves"]} == {"expression"}
    # the card's form replaces the general expression hint: a fraction, not any expression (issue 16)
    assert fam.answers["det_exact"].form in widgets.answer_inputs("r-1", "det_exact", fam.answers["det_exact"], values["det_exact"])


def test_a_tensor_whose_shape_is_asked_takes_one_field():
    """conv2d-forward asks the output's shape in (a): its channels of rows are typed in one textarea (a matrix
    per channel, channels apart by a blank line or |), whose hint and key show no size."""
    fam, values, key = _key("conv2d-forward", 1)
    text = widgets.answer_inputs("c2-1", "output", fam.answers["output"], values["output"])
    page = Page(text)
    assert not page.errors
    (field,) = page.all("textarea", data_qbank_answer="output")
    assert field["data-qbank-kind"] == "list" and "data-qbank-index" not in field and field["rows"] == "6"
    assert not page.all("table", **{"class": "qbank-matrix"}) and not page.all("fieldset")
    hint = re.sub(r"<[^>]*>", "", text)
    assert "blank line or |" in hint and not re.search(r"\d", hint)
    assert key["output"]["list"] == "tensor" and len(key["output"]["leaves"]) == len(np_flat(values["output"]))
    assert [leaf[0] for leaf in key["output"]["leaves"]][:2] == ["0,0,0", "0,0,1"]  # channel, row, column
    # a list of matrices of different sizes is no tensor: a group of grids, as before
    ragged = [[[1, 2], [3, 4]], [[5, 6, 7]]]
    assert "qbank-list" not in widgets.answer_inputs("r-1", "output", fam.answers["output"], ragged)
    assert "list" not in json.loads(widgets.answer_key({"output": fam.answers["output"]}, {"output": ragged}))["answers"]["output"]


def np_flat(value: Any) -> list:
    return [x for item in value for x in (np_flat(item) if isinstance(item, list) else [item])]


@needs_node
def test_list_fields_split_vectors_matrices_and_tensors():
    got = js([
        ("splitList", ["[3, \u22121, 4]", "vector"]),
        ("splitList", ["3 -1 4", "vector"]),
        ("splitList", ["1, 2\n3, 4", "matrix"]),
        ("splitList", ["1,2; 3,4", "matrix"]),
        ("splitList", ["1, 2\n3, 4\n\n5, 6\n7, 8", "tensor"]),
        ("splitList", ["1, 2; 3, 4 | 5, 6; 7, 8", "tensor"]),
        ("splitList", ["1 2\n3 4\n  \n5 6\n7 8\n", "tensor"]),
        ("splitList", ["", "tensor"]),
    ])
    assert got[0] == got[1] == [["3", "-1", "4"]]  # 1-D and 2-D as before
    assert got[2] == got[3] == [["1", "2"], ["3", "4"]]
    channels = [[["1", "2"], ["3", "4"]], [["5", "6"], ["7", "8"]]]
    assert got[4] == got[5] == got[6] == channels and got[7] == []
    spec = {"list": "tensor", "value": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}
    leaves = [[f"{c},{r},{k}", "integer", 0] for c in range(2) for r in range(2) for k in range(2)]
    entries = js([
        ("listEntries", ["1, 2\n3, 4\n\n5, 6\n7, 8", spec, leaves]),
        ("listEntries", ["1, 2, 3, 4 | 5, 6, 7, 8", spec, leaves]),  # the rows of a channel not apart
        ("listEntries", ["1, 2\n3, 4\n5, 6\n7, 8", spec, leaves]),  # no blank line: one channel of 4 rows
        ("listEntries", ["1, 2; 3, 4 | 5, 6; 7, 8 | 9, 9; 9, 9", spec, leaves]),
        ("listEntries", ["1, 2, 3; 4 | 5, 6; 7, 8", spec, leaves]),
        ("listEntries", ["1, 2; 3, 4", {"list": "matrix", "value": [[1, 2], [3, 4]]}, leaves[:4]]),
        ("listEntries", ["1, 2, 3, 4", {"list": "matrix", "value": [[1, 2], [3, 4]]}, leaves[:4]]),
        ("listEntries", ["1 2 3", {"list": "vector", "value": [1, 2, 3]}, leaves[:3]]),
    ])
    assert entries[0] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert entries[1] is None and entries[2] is None and entries[3] is None and entries[4] is None
    assert entries[5] == ["1", "2", "3", "4"] and entries[6] is None and entries[7] == ["1", "2", "3"]


def test_escaping_of_names_texts_and_values():
    text = widgets.answer_inputs('v"<1>', "a&b", Answer("text", 'say "<hi>" & go'), "x<y")
    page = Page(text)
    assert not page.errors
    assert page.all("input")[0]["data-qbank-answer"] == "a&b"
    assert "<hi>" not in text and "x<y" not in text  # the value is never in the inputs
    assert page.all("input")[0]["id"].startswith("v__1_-a_b-")


def test_choice_inputs():
    text = widgets.choice_inputs("mc-1", ["<p>Weight sharing</p>", "Pooling <math><mi>x</mi></math>", "<p>One</p>\n<p>Two</p>"])
    page = Page(text)
    assert not page.errors
    radios = page.all("input", type="radio")
    assert [r["value"] for r in radios] == ["0", "1", "2"] and {r["name"] for r in radios} == {"mc-1-choice"}
    assert all(r["data-qbank-answer"] == "choice" for r in radios)
    labels = {a["for"] for a in page.all("label")}
    assert {"mc-1-choice-0", "mc-1-choice-1"} <= labels and "mc-1-choice-2" not in labels
    assert radios[2]["aria-labelledby"] == "mc-1-choice-2-letter mc-1-choice-2-text"
    assert ">A.</span> Weight sharing</label>" in text and ">C.</span>" in text
    assert page.all("span", data_qbank_result="choice")[0]["data-qbank-state"] == "unchecked"
    assert json.loads(widgets.choice_key(2)) == {"answers": {"choice": {"kind": "choice", "value": 2}}}


def test_written_input():
    page = Page(widgets.written_input("sa-1", "written"))
    (area,) = page.all("textarea")
    assert area["data-qbank-answer"] == "written" and area["id"] in {a["for"] for a in page.all("label")}
    assert page.all("span", data_qbank_result="written")[0]["data-qbank-state"] == "unchecked"
    assert json.loads(widgets.written_key()) == {"answers": {"written": {"kind": "written"}}}


def test_table_inputs_from_the_bank_item():
    from qbank.bank import item_to_dict, load_bank

    item = next(i for i in load_bank().items.values() if i.kind == "fill-table")
    data = item_to_dict(item)
    rows = [[c if isinstance(c, dict) else f"<p>{c}</p>" for c in row] for row in data["rows"]]
    text = widgets.table_inputs("ib-1", [f"<p>{c}</p>" for c in data["columns"]], rows)
    page = Page(text)
    assert not page.errors
    areas = page.all("textarea", data_qbank_answer="table")
    blanks = [(r, c) for r, row in enumerate(rows) for c, cell in enumerate(row) if isinstance(cell, dict)]
    assert [a["data-qbank-index"] for a in areas] == [f"{r},{c}" for r, c in blanks]
    assert areas[0]["aria-label"] == f"{data['rows'][0][0]}, {data['columns'][1]}"
    assert len({a["id"] for a in areas}) == len(areas)
    key = json.loads(widgets.table_key(rows))["answers"]["table"]
    assert key["kind"] == "fill-table" and key["value"]["0,1"] == data["rows"][0][1]["answer"]
    assert len(key["value"]) == len(blanks)


# ---------------------------------------------------------------- one real browser

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def _browser_page(folder: Path) -> dict[str, Any]:
    """A page of several variants (inputs, keys, solutions; no pandoc) and what to type in each."""
    sections, expected = [], {}
    for fam_id, seed in (("conv1d-forward", 1), ("beam-search", 1), ("ridge-map", 1), ("scalar-rnn-backprop", 1), ("nalu", 1),
                         ("conv2d-forward", 2)):
        fam = get_family(fam_id)
        values = thaw(draw(fam, seed).answers)
        vid = f"{fam_id}-{seed}"
        inputs = "".join(widgets.answer_inputs(vid, n, a, values.get(n)) for n, a in fam.answers.items())
        key = widgets.answer_key(dict(fam.answers), values)
        sections.append((vid, inputs, key))
        expected[vid] = json.loads(key)["answers"]
    sections.append(("mc-1", widgets.choice_inputs("mc-1", ["<p>one</p>", "<p>two</p>", "<p>three</p>"]), widgets.choice_key(1)))
    expected["mc-1"] = json.loads(widgets.choice_key(1))["answers"]
    sections.append(("sa-1", widgets.written_input("sa-1", "written"), widgets.written_key()))
    rows = [["<p>Dense</p>", {"answer": "none"}, {"answer": "all-to-all"}]]
    sections.append(("tb-1", widgets.table_inputs("tb-1", ["Block", "Shared", "Interactions"], rows), widgets.table_key(rows)))
    sections.append(("broken-1", widgets.answer_inputs("broken-1", "x", Answer("number", "x"), 1.0), "not base64 at all!"))
    body = "".join(
        f'<section class="qbank-variant" id="{vid}" data-qbank-variant="{vid}"><form class="qbank-answers" autocomplete="off">'
        f'{inputs}<div class="qbank-buttons"><button type="button" data-qbank-check>Check</button>'
        f'<button type="button" data-qbank-solution aria-expanded="false">Show solution</button></div></form>'
        f'<div class="qbank-solution" data-qbank-solution-body hidden><p>The solution.</p></div>'
        f'<script type="application/json" data-qbank-key>{key if vid == "broken-1" else base64.b64encode(key.encode()).decode()}</script></section>'
        for vid, inputs, key in sections
    )
    (folder / "assets").mkdir()
    for name in ("qbank.js", "qbank.css"):
        shutil.copy(ASSETS / name, folder / "assets" / name)
    (folder / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        '<title>checker</title><link rel="stylesheet" href="assets/qbank.css"><script src="assets/qbank.js" defer></script>'
        f'</head><body data-qbank-page="checker-test"><main>{body}</main></body></html>',
        encoding="utf-8",
    )
    return expected


FILL = """
const [vid, answers] = arguments;
const section = document.querySelector(`[data-qbank-variant="${vid}"]`);
for (const [name, spec] of Object.entries(answers)) {
  if (spec.list) {  // one field for all entries: a row per line, a blank line between a tensor's channels
    const field = section.querySelector(`[data-qbank-answer="${name}"]`);
    const rows = (m) => m.map((r) => r.join(", ")).join("\\n");
    field.value = spec.list === "tensor" ? spec.value.map(rows).join("\\n\\n") : rows(spec.list === "matrix" ? spec.value : [spec.value]);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    continue;
  }
  const leaves = spec.kind === "choice" ? [["", "choice", String(spec.value)]]
    : spec.kind === "fill-table" ? Object.entries(spec.value).map(([i, v]) => [i, "fill-table", v])
    : spec.leaves.map(([i, k, v]) => [i, k, k === "boolean" ? String(v) : typeof v === "number" ? String(v) : v]);
  for (const [index, kind, typed] of leaves) {
    for (const el of section.querySelectorAll("[data-qbank-answer]")) {
      if (el.getAttribute("data-qbank-answer") !== name || (el.getAttribute("data-qbank-index") || "") !== index) continue;
      if (el.type === "radio") { if (el.value === typed) el.click(); }
      else { el.value = typed; el.dispatchEvent(new Event("input", { bubbles: true })); }
    }
  }
}
"""
STATES = """
const section = document.querySelector(`[data-qbank-variant="${arguments[0]}"]`);
return Object.fromEntries([...section.querySelectorAll("[data-qbank-result]")].map(
  (r) => [r.getAttribute("data-qbank-result"), [r.getAttribute("data-qbank-state"), r.textContent]]));
"""
BLOCK_STORAGE = """
Object.defineProperty(window, "localStorage", { configurable: true, get() { throw new DOMException("denied", "SecurityError"); } });
"""


@pytest.mark.browser
def test_checker_in_headless_chromium(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("headless Chromium is not installed (Debian packages chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    expected = _browser_page(tmp_path)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    url = (tmp_path / "index.html").as_uri()
    try:
        driver.get(url)
        auto = [vid for vid in expected if vid != "sa-1"]
        for vid in auto:
            driver.execute_script(FILL, vid, expected[vid])
            driver.find_element(By.CSS_SELECTOR, f'[data-qbank-variant="{vid}"] [data-qbank-check]').click()
            got = driver.execute_script(STATES, vid)
            assert {n: s for n, (s, _) in got.items()} == {n: "correct" for n in expected[vid]}, (vid, got)
            assert all(t.startswith("\u2713") for _, t in got.values())

        # a wrong number, typed with the keyboard, Enter checks; an empty cell says so
        box = driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv1d-forward-1"] [data-qbank-answer="length"]')
        box.clear()
        box.send_keys("\u2212999", Keys.ENTER)
        got = driver.execute_script(STATES, "conv1d-forward-1")
        assert got["length"][0] == "incorrect" and got["length"][1].startswith("\u2717") and got["output"][0] == "correct"
        assert box.get_attribute("aria-invalid") == "true"
        # the output in one field: a wrong entry is counted, a wrong number of entries said without the size
        field = driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv1d-forward-1"] [data-qbank-answer="output"]')
        right = [str(v) for v in expected["conv1d-forward-1"]["output"]["value"]]
        field.clear()
        field.send_keys("[" + ", ".join([str(int(right[0]) + 7), *right[1:]]) + "]")
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv1d-forward-1"] [data-qbank-check]').click()
        assert driver.execute_script(STATES, "conv1d-forward-1")["output"] == ["incorrect", "\u2717 1 entry not correct"]
        field.clear()
        field.send_keys(" ".join(right + ["0"]))
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv1d-forward-1"] [data-qbank-check]').click()
        assert driver.execute_script(STATES, "conv1d-forward-1")["output"] == ["incorrect", "\u2717 Not the right number of entries"]
        field.clear()
        field.send_keys(" ".join(right))
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv1d-forward-1"] [data-qbank-check]').click()
        assert driver.execute_script(STATES, "conv1d-forward-1")["output"][0] == "correct"
        box.clear()
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv1d-forward-1"] [data-qbank-check]').click()
        assert driver.execute_script(STATES, "conv1d-forward-1")["length"] == ["incorrect", "\u2717 No answer"]

        # a tensor in one field: its channels apart by "|" pass as well as by a blank line; a channel too few is
        # said without the size
        field = driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv2d-forward-2"] [data-qbank-answer="output"]')
        channels = [[[str(v) for v in row] for row in channel] for channel in expected["conv2d-forward-2"]["output"]["value"]]
        check = driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="conv2d-forward-2"] [data-qbank-check]')
        field.clear()
        field.send_keys(" | ".join("; ".join(", ".join(row) for row in channel) for channel in channels))
        check.click()
        assert driver.execute_script(STATES, "conv2d-forward-2")["output"][0] == "correct"
        field.clear()
        field.send_keys("; ".join(", ".join(row) for row in channels[0]))
        check.click()
        assert driver.execute_script(STATES, "conv2d-forward-2")["output"] == [
            "incorrect", "\u2717 Not the right number of channels, rows or entries"]

        # the solution: toggled, with aria-expanded; a written answer is then to compare
        button = driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="sa-1"] [data-qbank-solution]')
        body = driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="sa-1"] [data-qbank-solution-body]')
        assert not body.is_displayed() and driver.execute_script(STATES, "sa-1")["written"][0] == "unchecked"
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="sa-1"] textarea').send_keys("Because weights are shared.")
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="sa-1"] [data-qbank-check]').click()
        assert driver.execute_script(STATES, "sa-1")["written"][0] == "unchecked"
        button.click()
        assert body.is_displayed() and button.get_attribute("aria-expanded") == "true"
        assert driver.execute_script(STATES, "sa-1")["written"][0] == "compare"
        button.click()
        assert not body.is_displayed() and button.get_attribute("aria-expanded") == "false"

        # progress: remembered under qbank:<page>:<variant>, restored on reload
        record = json.loads(driver.execute_script("return localStorage.getItem('qbank:checker-test:beam-search-1')"))
        assert record["correct"] is True and record["answers"]["beams"]["0,0,logp"]
        driver.refresh()
        got = driver.execute_script(STATES, "beam-search-1")
        assert {s for s, _ in got.values()} == {"correct"}
        assert driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="sa-1"] textarea').get_attribute("value") == "Because weights are shared."
        assert driver.execute_script(STATES, "conv1d-forward-1")["length"][0] == "incorrect"
        assert driver.execute_script("return document.querySelector('[data-qbank-variant=\"beam-search-1\"]').hasAttribute('data-qbank-solved')")

        # a page whose key is broken: no Check, no error
        assert driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="broken-1"] [data-qbank-check]').get_attribute("disabled")
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="broken-1"] input').send_keys("1", Keys.ENTER)
        assert driver.execute_script(STATES, "broken-1") == {"x": ["unchecked", ""]}

        # storage refused (private mode, file:// in some browsers): checking works, nothing breaks
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": BLOCK_STORAGE})
        driver.refresh()
        assert {s for s, _ in driver.execute_script(STATES, "beam-search-1").values()} == {"unchecked"}
        driver.execute_script(FILL, "ridge-map-1", expected["ridge-map-1"])
        driver.find_element(By.CSS_SELECTOR, '[data-qbank-variant="ridge-map-1"] [data-qbank-check]').click()
        assert {s for s, _ in driver.execute_script(STATES, "ridge-map-1").values()} == {"correct"}

        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
