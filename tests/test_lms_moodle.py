"""`qbank export moodle`: the XML as Moodle's importer reads it. Every cloze field is parsed by a
grammar of our own (from ../shared/formats/LMS.md, not from the writer), must have a 100 % answer, and
must accept the verified answer from the manifest and reject a wrong one; every @@PLUGINFILE@@ has its
<file> in the same element; fractions are Moodle's; nothing asked is left ungraded."""

from __future__ import annotations

import base64
import html
import re
from collections import defaultdict
from pathlib import Path

import pytest

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml reads the exports (pip install -e '.[test]')")

from conftest import run_qbank  # noqa: E402
from lms_exports import (SECRET, VARIANTS, card_tolerance, export, leaf_paths, list_shown, manifest_of,  # noqa: E402
                         one_number_course, perturbed, verified, write_everything)

# Moodle's list of fractions (LMS.md), and their negatives
FRACTIONS = {"100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40", "33.33333", "30", "25", "20",
             "16.66667", "14.28571", "12.5", "11.11111", "10", "5", "0"}
FRACTIONS |= {f"-{f}" for f in FRACTIONS if f != "0"}


# --- Moodle's cloze grammar, as LMS.md states it and question/type/multianswer/questiontype.php reads it -----

TYPES = {"NUMERICAL": "NUMERICAL", "NM": "NUMERICAL", "SHORTANSWER": "SHORTANSWER", "SA": "SHORTANSWER",
         "MW": "SHORTANSWER", "SHORTANSWER_C": "SHORTANSWER_C", "MULTICHOICE": "MULTICHOICE", "MC": "MULTICHOICE",
         **{f"MULTICHOICE{s}": "MULTICHOICE" for s in ("_V", "_H", "_S", "_VS", "_HS")},
         "MULTIRESPONSE": "MULTIRESPONSE", "MR": "MULTIRESPONSE", **{f"MULTIRESPONSE{s}": "MULTIRESPONSE" for s in ("_H", "_S", "_HS")}}
NUMBER = r"-?(?:(?:[0-9]+[.,]?[0-9]*|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?)"
FIELD_START = re.compile(r"\{([0-9]*):(" + "|".join(sorted(TYPES, key=len, reverse=True)) + r"):")
# An alternative: `=` or `%n%`, the answer up to a `~`, `#` or `}` that no `\`, `&` or `&amp;` precedes,
# then `#feedback` up to a `~` or `}` that no `\` precedes (Moodle's ANSWER_ALTERNATIVE_REGEX).
ANSWER_END = r"(?<!\\)(?<!&)(?<!&amp;)"
ALTERNATIVE = re.compile(r"~?(=|%(-?[0-9]+(?:[.,][0-9]*)?)%)?(.+?" + ANSWER_END + r"(?=[~#}]|$))(#(.*?(?<!\\)(?=[~}]|$)))?", re.S)
FIELD_BODY = re.compile(r"(?:" + ALTERNATIVE.pattern[2:] + r")(?:~(?:" + ALTERNATIVE.pattern[2:] + r"))*\}", re.S)


def moodle_decoded(answer: str) -> str:
    r"""A text alternative as Moodle stores it: html-decoded once, then `\}` and `\#` unescaped (a `\~`
    keeps its backslash)."""
    return html.unescape(answer).replace("\\}", "}").replace("\\#", "#")


def shown_text(stored_html: str) -> str:
    """What a browser shows of an option Moodle stored as HTML: its text, tags dropped (a `<` before a
    letter opens one, closed by `>` or the end), entities read."""
    return html.unescape(re.sub(r"<[A-Za-z/!?][^>]*(?:>|$)", "", stored_html))


def parse_fields(text: str) -> list[dict]:
    """Every cloze field of a question text: weight, type and alternatives (fraction, answer as Moodle
    stores it, raw text, feedback); a field that does not parse fails the test."""
    fields, pos = [], 0
    while True:
        start = FIELD_START.search(text, pos)
        if not start:
            return fields
        body = FIELD_BODY.match(text, start.end())
        assert body, f"a field that Moodle's grammar does not read: {text[start.start():start.start() + 80]}"
        remaining = text[start.end() : body.end() - 1]
        alternatives = []
        while remaining:
            alt = ALTERNATIVE.match(remaining)
            assert alt and alt.group(1), f"an alternative starts with neither = nor %n%: {remaining[:60]!r}"
            fraction = 100.0 if alt.group(1) == "=" else float(alt.group(2).replace(",", "."))
            raw = alt.group(3)
            alternatives.append({"fraction": fraction, "raw": raw, "answer": moodle_decoded(raw), "feedback": alt.group(5) or ""})
            remaining = remaining[alt.end():]
        kind = TYPES[start.group(2)]
        if kind == "NUMERICAL":
            for alt in alternatives:
                assert re.fullmatch(f"({NUMBER})(:{NUMBER})?", alt["raw"]), f"not a number:tolerance: {alt['raw']!r}"
                alt["answer"] = alt["raw"]
        if kind == "MULTICHOICE":
            assert len(alternatives) >= 2, f"a MULTICHOICE field needs two or more choices: {text[start.start():start.start() + 60]!r}"
        fields.append({"weight": int(start.group(1) or 1), "type": kind, "raw_type": start.group(2), "alternatives": alternatives})
        pos = body.end()


def numeric_grade(field: dict, response: float) -> float:
    """The fraction Moodle gives a number: the first alternative whose value and tolerance hold it."""
    for alt in field["alternatives"]:
        value, _, tol = alt["answer"].partition(":")
        if abs(response - float(value.replace(",", "."))) <= float((tol or "0").replace(",", ".")) * (1 + 1e-12):
            return alt["fraction"]
    return 0.0


def stored_number(text: str) -> str:
    """A NUMERICAL alternative's number as Moodle stores it and sizes its box by: PHP's `"3" + 0`, an
    integer as itself, any other number as a float at PHP's precision of 14 significant digits
    (`0.33333333333333`, `1.0E-7`), as the database of a real Moodle 4.5.6 shows them."""
    value = text.partition(":")[0].replace(",", ".")
    if re.fullmatch(r"-?[0-9]+", value) and abs(int(value)) < 2**63:
        return str(int(value))
    mantissa, _, exponent = f"{float(value):.14G}".partition("E")
    if not exponent:
        return mantissa
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}E{exponent[0]}{int(exponent[1:])}"


def box_width(field: dict) -> int:
    """The width Moodle gives a cloze box before its random 0 to 15 %: its longest answer as stored."""
    if field["type"] == "NUMERICAL":
        return max(len(stored_number(a["answer"])) for a in field["alternatives"])
    return min(60, max(len(a["answer"].strip()) for a in field["alternatives"]))


# --- the exports -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moodle")
    files = export("moodle", folder / "out", write_everything(folder))
    root = lxml_etree.fromstring(files["quiz.xml"].read_bytes())
    return {"files": files, "root": root, "manifest": manifest_of(files)}


def questions(root):
    return [q for q in root.iter("question") if q.get("type") != "category"]


def by_name(root):
    return {q.find("name/text").text: q for q in questions(root)}


def test_structure_categories_names_and_idents(moodle):
    root, manifest = moodle["root"], moodle["manifest"]
    assert root.tag == "quiz"
    category = None
    seen_idents = set()
    for q in root.iter("question"):
        if q.get("type") == "category":
            category = q.find("category/text").text
            assert re.fullmatch(r"\$course\$/everything/s\d+\.\d+(#\d)?( written)?", category), category
            continue
        assert category is not None, "a question before any category"
        name = q.find("name/text").text
        slot, version = re.match(r"(s\d+\.\d+(?:#\d)?) v(\d\d) ", name).groups()
        assert category.split("/")[-1].split(" ")[0] == slot
        ident = q.find("idnumber").text
        assert ident.startswith(f"{slot.replace('.', '_').replace('#', '_')}_v{version}") and ident not in seen_idents
        seen_idents.add(ident)
        assert q.find("questiontext").get("format") == "html" and q.find("questiontext/text").text
        assert q.find("generalfeedback/text").text, f"{name}: the worked solution is the general feedback"
    # every variant's seed is in its name, as the manifest recorded it
    for record in manifest["versions"]:
        for entry in record["questions"]:
            if entry["item"].get("family"):
                assert any(n.endswith(f" seed {entry['seed']}") and f" v{record['version']:02d} " in n for n in by_name(root))
    def category(q):  # a pool choosing 2 has a category per pick: SLOT#1, SLOT#2
        return q["slot"] + (f"#{q['pick']}" if "pick" in q else "")

    labels = [q["slot"] for q in manifest["versions"][0]["questions"]]
    assert {q["slot"] for q in manifest["lms"]["questions"]} <= set(labels), "an lms record's slot is a blueprint slot"
    assert any("pick" in q for q in manifest["lms"]["questions"]), "the blueprint has a pool choosing 2"
    for name in {category(q) for q in manifest["lms"]["questions"]}:  # every slot's category holds its N variants
        assert sum(category(q) == name and q["in"].endswith(name) for q in manifest["lms"]["questions"]) == VARIANTS


def test_every_cloze_field_parses_and_grades_the_verified_answer(moodle):
    root, manifest = moodle["root"], moodle["manifest"]
    names = by_name(root)
    checked = defaultdict(int)
    widths = defaultdict(int)
    for record in manifest["lms"]["questions"]:
        q = names[record["name"] + (" (written)" if record["in"].endswith("written") else "")]
        assert q.get("type") == record["type"]
        if record["type"] == "numerical":
            (field,) = record["fields"]
            answer = q.find("answer")
            assert answer.get("fraction") == "100"
            value, tol = float(answer.find("text").text), float(answer.find("tolerance").text)
            truth = verified(manifest, record, field["key"])
            wrong = perturbed(truth, card_tolerance(manifest, record, field["key"], truth))
            assert abs(truth - value) <= tol and abs(wrong - value) > tol
            checked["numerical"] += 1
        if record["type"] != "cloze":
            continue
        fields = parse_fields(q.find("questiontext/text").text)
        assert len(fields) == len(record["fields"]), record["name"]
        for field, rec in zip(fields, record["fields"]):
            where = f"{record['name']}: {rec['key']}"
            assert any(a["fraction"] == 100 for a in field["alternatives"]), f"{where}: no 100 % answer"
            truth = verified(manifest, record, rec["key"])
            if field["type"] == "NUMERICAL":
                assert rec["kind"] == "number"
                tol = card_tolerance(manifest, record, rec["key"], truth)
                assert field["alternatives"][0]["fraction"] == 100, f"{where}: Moodle tries the right answer first"
                assert numeric_grade(field, truth) == 100, f"{where}: the verified {truth} is not accepted"
                assert numeric_grade(field, perturbed(truth, tol)) == 0, f"{where}: a wrong answer is accepted"
                if tol > 0:  # and the whole tolerance of the card is given, not less
                    assert numeric_grade(field, truth + 0.99 * tol) == 100, f"{where}: the tolerance is narrower than the card's"
                padding_never_accepts(field, truth, tol, where)
                widths[box_width(field)] += 1
                checked["number"] += 1
            elif field["type"] == "SHORTANSWER":  # every entry of an answer whose size another part asks
                assert rec["kind"] == "list"
                shown = list_shown(truth)
                accepted = {a["answer"] for a in field["alternatives"] if a["fraction"] == 100}
                assert shown in accepted and shown.replace(", ", ",").replace("; ", ";").replace(" | ", "|") in accepted, where
                assert shown.rsplit(",", 1)[0] not in accepted and f"{shown}, 0" not in accepted
                padding = [a for a in field["alternatives"] if a["fraction"] == 0]
                assert padding and "*" not in padding[0]["answer"] and box_width(field) == 60, f"{where}: the box shows the size"
                assert not any(re.sub(r"[\s\[\]]", "", p["answer"]) == re.sub(r"[\s\[\]]", "", shown) for p in padding)
                checked["list"] += 1
            else:
                assert field["type"] == "MULTICHOICE" and rec["kind"] == "choice"
                correct = [i for i, a in enumerate(field["alternatives"]) if a["fraction"] == 100]
                assert correct == [rec["correct"]], where
                assert rec["options"][rec["correct"]] == truth, f"{where}: the correct option is not the verified value"
                assert all(a["fraction"] == 0 for i, a in enumerate(field["alternatives"]) if i != rec["correct"])
                # what the student reads: the option as Moodle stored it (decoded once), shown as HTML
                if field["raw_type"] == "MULTICHOICE":  # a drop-down list shows plain text: the options themselves
                    assert [shown_text(a["answer"]) for a in field["alternatives"]] == rec["options"], where
                else:
                    assert field["raw_type"] == "MULTICHOICE_V" and all(
                        shown_text(a["answer"]).startswith("\\(") or shown_text(a["answer"]) == option
                        for a, option in zip(field["alternatives"], rec["options"])), where
                checked["choice"] += 1
    assert checked["number"] > 300 and checked["choice"] > 50 and checked["list"] >= 2 * 3
    # every numeric box is as wide as every other, whatever its answer: 3, -0.5 or 0.33333333333333
    assert len(widths) == 1, f"box widths {dict(widths)}: a box tells the length of its answer"


def padding_never_accepts(field: dict, truth: float, tol: float, where: str) -> None:
    """Each 0 % alternative of a NUMERICAL field (the one that keeps the box one width) lies far from the
    verified value: no answer within ten tolerances of it (and no typical slip) falls inside it."""
    padding = [a for a in field["alternatives"] if a["fraction"] == 0]
    assert padding, f"{where}: no padding answer: the box is as wide as the answer"
    for alt in padding:
        value, _, margin = alt["answer"].partition(":")
        centre, margin = float(value), float(margin or 0)
        reach = margin + 1e-14 * max(abs(centre), margin)  # Moodle widens every tolerance by this much
        for guess in (truth, truth - 10 * tol, truth + 10 * tol, -truth, 10 * truth, truth / 10, 0.0):
            assert abs(guess - centre) > reach, f"{where}: the padding answer {alt['answer']} accepts {guess}"
        assert len(stored_number(alt["answer"])) >= len(stored_number(field["alternatives"][0]["answer"]))


def test_cloze_weights_follow_the_part_points(moodle):
    root, manifest = moodle["root"], moodle["manifest"]
    names = by_name(root)
    for record in manifest["lms"]["questions"]:
        if record["type"] != "cloze":
            continue
        fields = parse_fields(names[record["name"]].find("questiontext/text").text)
        total_weight = sum(f["weight"] for f in fields)
        total_points = sum(r["points"] for r in record["fields"])
        per_part = defaultdict(lambda: [0, 0.0])
        for field, rec in zip(fields, record["fields"]):
            per_part[rec["part"]][0] += field["weight"]
            per_part[rec["part"]][1] += rec["points"]
        for weight, points in per_part.values():
            assert weight / total_weight == pytest.approx(points / total_points)
        assert float(names[record["name"]].find("defaultgrade").text) == total_weight


def test_nothing_asked_is_left_ungraded(moodle):
    """Every leaf of every asked answer is a graded field, or its part is in an essay (by hand)."""
    from qbank.html.widgets import leaves_of
    from qbank.registry import get_family

    manifest = moodle["manifest"]
    records = manifest["lms"]["questions"]
    for version in manifest["versions"]:
        for entry in version["questions"]:
            mine = [r for r in records if r["version"] == version["version"] and r["slot"].split("#")[0] == entry["slot"]
                    and r["item"] == entry["item"]["id"]]
            assert mine, f"{entry['slot']} v{version['version']} was not exported"
            if not entry["item"].get("family"):
                continue
            fam = get_family(entry["family"])
            graded = {f["key"] for r in mine for f in r.get("fields", [])}
            # a list field (Answer.size_asked) grades every entry of its answer at once
            graded |= {".".join([f["key"], *path]) for r in mine for f in r.get("fields", []) if f["kind"] == "list"
                       for path in leaf_paths(entry["answers"][f["key"]])}
            written = {p for r in mine for p in r.get("written_parts", [])}
            for part in entry["parts"]:
                keys = {".".join([name, *index.split(",")]) if index else name
                        for name in part["answers"] for index, _, _ in leaves_of(fam.answers[name], entry["answers"][name])}
                assert part["part"] in written or (keys and keys <= graded), f"{entry['slot']} part {part['part']}"


def test_relative_tolerance_is_absolute_per_variant(moodle):
    from qbank.registry import get_family

    # rnn-gradient-flow asks its norms to 4 significant digits (issue 16): half a unit of the 4th digit, per value
    sig4 = get_family("rnn-gradient-flow").answers["norms"].grading
    manifest = moodle["manifest"]
    norms = [f for r in manifest["lms"]["questions"] for f in r.get("fields", []) if f["key"].startswith("norms.")]
    assert norms and len({f["tolerance"] for f in norms}) > 1
    for f in norms:
        assert f["tolerance"] == pytest.approx(sig4.tolerance(f["value"]))


def test_every_pluginfile_has_its_file_in_the_same_element(moodle):
    root = moodle["root"]
    count = 0
    for element in root.iter():
        text = element.find("text")
        if text is None or text.text is None:
            continue
        shown = set(re.findall(r"@@PLUGINFILE@@/([^\"'\s>]+)", text.text))
        files = {f.get("name"): f for f in element.findall("file")}
        assert shown == set(files), f"<{element.tag}>: shows {sorted(shown)}, holds {sorted(files)}"
        for f in files.values():
            assert f.get("encoding") == "base64" and f.get("path") == "/"
            assert base64.b64decode(f.text).lstrip().startswith(b"<svg")
        count += len(shown)
    assert count > 0, "the blueprint has figures: some text must show one"


def test_multichoice_fractions_letters_and_essays(moodle):
    root, manifest = moodle["root"], moodle["manifest"]
    for element in root.iter("answer"):
        assert element.get("fraction") in FRACTIONS
    names = by_name(root)
    for record in manifest["lms"]["questions"]:
        q = names[record["name"] + (" (written)" if record["in"].endswith("written") else "")]
        if record["type"] == "multichoice":
            assert q.find("single").text == "true" and q.find("shuffleanswers").text == "false"
            assert q.find("answernumbering").text == "ABCD"
            fractions = [a.get("fraction") for a in q.findall("answer")]
            assert fractions.count("100") == 1 and "ABCDEFGH"[fractions.index("100")] == record["correct"]
        if record["type"] == "essay":
            assert q.find("graderinfo/text").text, "the model solution is the grader's information"
            assert q.find("responseformat").text == "editor"


def test_text_that_reads_as_a_field_is_not_one():
    from qbank.lms.moodle import not_a_field

    assert parse_fields(not_a_field("Type {1:SHORTANSWER:=x} here: \\(\\frac{1}{2}\\)")) == []
    assert not_a_field("\\(x^{2}\\)") == "\\(x^{2}\\)"


def test_cdata_end_marker_is_split():
    from qbank.lms.moodle import cdata

    text = "a ]]> b ]]]]> c"
    parsed = lxml_etree.fromstring(f"<text>{cdata(text)}</text>".encode())
    assert parsed.text == text


def test_limits_of_the_format():
    from qbank.lms.fields import Field, Option
    from qbank.lms.moodle import MoodleLimitError, cloze_field, fraction_text, number_text, weights

    assert fraction_text(100 / 3, "x") == "33.33333" and fraction_text(-50, "x") == "-50"
    with pytest.raises(MoodleLimitError, match="33"):
        fraction_text(33, "q1: choice B")
    assert [number_text(v, "x") for v in (3, -0.5, 1e-7, 2.0, 1e16)] == ["3", "-0.5", "1e-07", "2", "1e+16"]
    tricky = Field("t", "t", "t", "", "choice", "a}b", options=(Option("a}b"), Option("c#d~e")), correct=0)
    (parsed,) = parse_fields(cloze_field(tricky, 2, "x"))
    assert [shown_text(a["answer"]) for a in parsed["alternatives"]] == ["a}b", "c#d~e"] and parsed["weight"] == 2
    assert weights([Field(str(i), "a", "a", "", "number", 1, points=p) for i, p in enumerate((2, 2 / 3, 2 / 3, 2 / 3))]) == [3, 1, 1, 1]


def test_same_secret_same_bytes_other_secret_other_quiz(tmp_path):
    blueprint = Path(__file__).resolve().parent.parent / "bank" / "exams" / "quiz-backprop.yaml"
    a = export("moodle", tmp_path / "a", blueprint, variants=2)
    b = export("moodle", tmp_path / "b", blueprint, variants=2)
    assert set(a) == {"quiz.xml", "manifest.json", "key.json"}
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
        assert a[name].stat().st_mode & 0o077 == 0, f"{name} holds answers: the owner's only"
    assert a["quiz.xml"].parent.stat().st_mode & 0o077 == 0
    c = export("moodle", tmp_path / "c", blueprint, variants=2, secret=SECRET[::-1])
    assert c["quiz.xml"].read_bytes() != a["quiz.xml"].read_bytes()


def test_cli_export_and_its_errors(tmp_path):
    out = tmp_path / "week" / "quiz.xml"
    secret = SECRET.hex()
    proc = run_qbank("export", "moodle", "quiz-backprop", "--variants", "1", "--out", str(out), "--secret", secret)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and (out.parent / "manifest.json").is_file() and (out.parent / "key.json").is_file()
    assert f"wrote {out}" in proc.stderr
    again = run_qbank("export", "moodle", "quiz-backprop", "--variants", "1", "--out", str(out), "--secret", secret)
    assert again.returncode == 0, "a folder qbank made is replaced as a whole"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    for args, message in (
        (["--out", str(foreign / "quiz.xml")], "holds files qbank did not write"),
        (["--out", str(tmp_path / "quiz.zip")], "is a .xml file"),
        (["--variants", "0"], "positive integer"),
        (["--secret", secret, "--secret-file", str(tmp_path / "k")], "not both"),
    ):
        proc = run_qbank("export", "moodle", "quiz-backprop", *args, *(["--secret", secret] if "--secret" not in args else []))
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)
        last = proc.stderr.strip().splitlines()[-1]
        assert "Traceback" not in proc.stderr and re.match(r"qbank( export)?: error: ", last), proc.stderr
    assert (foreign / "notes.txt").read_text() == "mine" and sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_one_number_is_a_numerical_question(tmp_path):
    env, blueprint = one_number_course(tmp_path)
    out = tmp_path / "out" / "one.xml"
    proc = run_qbank("export", "moodle", str(blueprint), "--variants", "4", "--out", str(out), "--secret", SECRET.hex(), env=env)
    assert proc.returncode == 0, proc.stderr
    root = lxml_etree.fromstring(out.read_bytes())
    manifest = manifest_of({"manifest.json": out.parent / "manifest.json"})
    numerical = [q for q in questions(root) if q.get("type") == "numerical"]
    assert len(numerical) == 4
    for q in numerical:
        record = next(r for r in manifest["lms"]["questions"] if r["name"] == q.find("name/text").text)
        truth = verified(manifest, record, "answer")
        answer = q.find("answer")
        assert answer.get("fraction") == "100" and float(answer.find("tolerance").text) == 0.01
        assert abs(float(answer.find("text").text) - truth) <= 0.01 and float(q.find("defaultgrade").text) == 2
    assert sum(q.get("type") == "multichoice" for q in questions(root)) == 4


TOKENS = ("<eos>", "a < b", "cat & dog", "x ~ y", "#1 {b}")
TOKEN_FAMILY = f'''\
from qbank import Answer, Family, Part, register


@register
class NextToken(Family):
    id = "lms-next-token"
    title = "The token a greedy decoder emits"
    topic = "test"
    answers = {{"token": Answer("text", "the token emitted", choices={TOKENS!r}), "logit": Answer("integer", "its logit")}}

    def parts(self, params):
        return (Part(("token", "logit"), 1),)

    def sample(self, rng):
        return {{"best": int(rng.integers(0, {len(TOKENS)})), "top": int(rng.integers(-9, 10))}}

    def solve(self, params):
        return {{"token": {TOKENS!r}[params["best"]], "logit": params["top"]}}

    def check(self, params, answers):
        assert answers["token"] in {TOKENS!r}
'''
TOKEN_TEMPLATE = ("\\BLOCK{block problem}\\begin{parts}\\part Which token, numbered $\\VAR{params.best + 1}$, does the decoder "
                  "emit, with logit $\\VAR{params.top}$?\\end{parts}\\BLOCK{endblock}\n"
                  "\\BLOCK{block solution}Token \\VAR{params.best + 1}.\\BLOCK{endblock}\n")


def test_text_choices_show_as_written_and_no_box_tells_its_answer(tmp_path):
    """Moodle's cloze parser html-decodes each option before storing it as HTML (Moodle 4.5.6, checked
    with ../shared/tools/moodle/probe.sh): `&lt;eos&gt;` would become the tag <eos>, an empty option. Every
    option must show exactly as written, and a logit of 7 or -3 gets the box a 0.33333333333333 gets."""
    content = tmp_path / "content"
    (content / "generators").mkdir(parents=True)
    (content / "templates" / "test").mkdir(parents=True)
    (content / "generators" / "lms_next_token.py").write_text(TOKEN_FAMILY)
    (content / "templates" / "test" / "lms-next-token.tex.j2").write_text(TOKEN_TEMPLATE)
    blueprint = tmp_path / "tokens.yaml"
    blueprint.write_text("title: Tokens\nsections:\n  - slots:\n      - family: lms-next-token\n        points: 2\n")
    out = tmp_path / "out" / "tokens.xml"
    proc = run_qbank("export", "moodle", str(blueprint), "--variants", "6", "--out", str(out), "--secret", SECRET.hex(),
                     env={"QBANK_PATH": str(content)})
    assert proc.returncode == 0, proc.stderr
    root = lxml_etree.fromstring(out.read_bytes())
    choices, widths = 0, set()
    for q in questions(root):
        for field in parse_fields(q.find("questiontext/text").text):
            if field["type"] == "MULTICHOICE":
                assert [shown_text(a["answer"]) for a in field["alternatives"]] == list(TOKENS)
                choices += 1
            else:
                assert field["type"] == "NUMERICAL"
                truth = float(field["alternatives"][0]["answer"].partition(":")[0])
                padding_never_accepts(field, truth, 0.0, q.find("name/text").text)
                widths.add(box_width(field))
    assert choices == 6 and len(widths) == 1 and widths.pop() >= len("-9223372036854775808")


def test_maths_choices_keep_their_angle_brackets():
    from qbank.lms.fields import Field, Option
    from qbank.lms.moodle import cloze_field

    formula = Field("f", "f", "f", "", "choice", "a<b", options=(Option("a<b", tex="a<b"), Option("x", tex="x_{i}<y \\& z")), correct=0)
    (parsed,) = parse_fields(cloze_field(formula, 1, "x"))
    assert parsed["raw_type"] == "MULTICHOICE_V"
    assert [shown_text(a["answer"]) for a in parsed["alternatives"]] == ["\\(a<b\\)", "\\(x_{i}<y \\& z\\)"]
