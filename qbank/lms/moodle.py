"""Moodle XML: one category per slot (`$course$/<blueprint>/<slot>`) holding its N verified variants.

- A family's variant is a `numerical` question when it asks one number and nothing in words, else a
  `cloze` question: every field `{w:NUMERICAL:=value:tolerance}` (vectors as a row, matrices as a
  grid) or `{w:MULTICHOICE:=right~left}` (`MULTICHOICE_V`, radio buttons, when the options are maths,
  which a drop-down list cannot show), after the text of the part that asks it. The weights `w` are the
  part's points split evenly over its fields, made whole numbers by one factor per question (Moodle's
  mark of a cloze question is the sum of its weights: the quiz scales it to the slot's mark).
- Parts answered in words are an `essay` question of the same variant (its stem, those parts, the
  model solution as grader information) in the category `<slot> written`.
- A bank item's multiple choice is `multichoice` in the exam's order with its letters (A, B, ...), not
  shuffled; a short answer or a table of words is an `essay`; a table of numbers a `cloze`.
- The worked solution is every question's general feedback. Maths is TeX in `\\( \\)` for Moodle's
  MathJax filter; a figure is `@@PLUGINFILE@@/fig-<hash>.svg` with a base64 `<file>` in the same text
  element (each text element that shows it has its own copy).

What a student sees is what qbank means: a text choice shows as written (`<eos>`, `a < b`, `cat & dog`:
Moodle's cloze parser decodes each option once more, so options are escaped twice, see cloze_option),
and no box tells the length of its answer (every NUMERICAL and SHORTANSWER field has a 0 % answer of a
fixed length, PAD_NUMBER and PAD_TEXT, the longest in its field, and Moodle sizes a box from that).

Limits checked here (an error names the question and field): fractions from Moodle's list only, every
field with a 100 % answer and a number Moodle's cloze parser reads, two or more options per choice;
`]]>` inside a text is split across two CDATA sections.
"""

from __future__ import annotations

import base64
import html
import math
import re
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

from ..errors import QbankError
from ..fairness import LETTERS
from .common import FIGURE_URL, Quiz, QuizQuestion, figures_in, parts_html, question_record
from .fields import Field, Option

# the only fractions Moodle's import accepts (and their negatives)
FRACTIONS = ("100", "90", "83.33333", "80", "75", "70", "66.66667", "60", "50", "40", "33.33333", "30", "25", "20",
             "16.66667", "14.28571", "12.5", "11.11111", "10", "5", "0")
NUMBER = re.compile(r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)")  # Moodle's cloze number syntax
MAX_WEIGHT = 10**6
LARGE_FILE = 20_000_000  # bytes: Moodle's import may run out of memory without saying so


class MoodleLimitError(QbankError):
    """Something Moodle's import would reject or misread."""


def fraction_text(fraction: float, where: str) -> str:
    """A fraction (percent) as Moodle's list spells it; any other value is an error naming `where`."""
    for text in FRACTIONS:
        if abs(abs(fraction) - float(text)) < 5e-6:
            return text if fraction >= 0 or text == "0" else f"-{text}"
    raise MoodleLimitError(f"{where}: fraction {fraction:g} % is not one Moodle accepts ({', '.join(FRACTIONS)})")


def number_text(value: float, where: str) -> str:
    """A number as Moodle reads it in a cloze field and a numerical answer (shortest exact decimal)."""
    if isinstance(value, bool) or not math.isfinite(float(value)):
        raise MoodleLimitError(f"{where}: {value!r} is not a finite number")
    text = str(value) if isinstance(value, int) else repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    if not NUMBER.fullmatch(text):
        raise MoodleLimitError(f"{where}: {text} is not a number Moodle's cloze parser reads")
    return text


def cdata(text: str) -> str:
    """`text` in CDATA; a `]]>` inside is split over two sections (it would end the first)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


_FIELD_LIKE = re.compile(r"\{(?=[0-9]*:[A-Z_]+:)")


def not_a_field(html_text: str) -> str:
    """A cloze question's own text with every `{2:SA:` that Moodle would read as a field written as
    `&#123;2:SA:` (shown the same, maths included: the browser decodes it before MathJax reads it)."""
    return _FIELD_LIKE.sub("&#123;", html_text)


def cloze_escape(text: str) -> str:
    """Text inside a cloze field: `}`, `#` and `~` end or split it unless escaped with a backslash."""
    return re.sub(r"([}#~])", r"\\\1", text)


def cloze_option(option_html: str) -> str:
    """A choice's HTML as a cloze field must hold it so that Moodle shows it as written. Moodle's cloze
    parser html-decodes every option once before it stores it as HTML: `&lt;eos&gt;` would become the tag
    `<eos>`, an empty option. So every `&` is escaped once more (`&amp;lt;eos&amp;gt;` is stored as
    `&lt;eos&gt;` and shows `<eos>`); `}` and `#` get the backslash Moodle removes after decoding, and
    `~`, whose backslash Moodle keeps, is written `&#126;` (decoded to `~`, and a `#` after `&` splits
    nothing)."""
    text = re.sub(r"([}#])", r"\\\1", option_html.replace("&", "&amp;"))
    return text.replace("~", "&#126;")


def option_html(option: Option) -> str:
    """An option as HTML: maths in \\( \\) for Moodle's MathJax (its `<`, `>` and `&` escaped, as in any
    HTML), else the text."""
    return f"\\({html.escape(option.tex, quote=False)}\\)" if option.tex else html.escape(option.text, quote=False)


# A 0 %-credit answer in every NUMERICAL field, so that no box shows the length of its answer: Moodle
# makes a cloze box as wide as the longest answer of its field (as Moodle stores it: PHP's float at 14
# significant digits, `0.33333333333333`), plus a random 0 to 15 %. No stored number is longer than 21
# characters (a sign, 14 digits, a point, a 3-digit exponent), and this one is exactly that long, so
# every box is 21 to 24 wide. It lies 1e299 away from any answer a problem asks (never within a
# tolerance: export_quiz refuses a value near it) and Moodle tries it only after the right answer.
PAD_NUMBER = "-8.7654321098765e+299"
PAD_LENGTH = 21  # its length as Moodle stores it: -8.7654321098765E+299
# The same for an answer whose entries are typed in one SHORTANSWER box (its width would tell the size
# another part asks): Moodle never makes a box wider than 60 characters, and this answer is 60 long
# (with no `*`, Moodle's wildcard, so that it matches only itself).
PAD_TEXT = "(this answer only keeps the box one width; it is not right.)"


def moodle_stored_number(text: str) -> str:
    """A cloze NUMERICAL answer as Moodle stores it (`"3" + 0` in PHP: an integer stays one, any other
    number becomes a float written at PHP's precision of 14 significant digits)."""
    if re.fullmatch(r"-?[0-9]+", text) and abs(int(text)) < 2**63:
        return str(int(text))
    shown = format(float(text.replace(",", ".")), ".14G")
    if "E" in shown:
        mantissa, exponent = shown.split("E")
        sign, digits = exponent[0], exponent[1:].lstrip("0") or "0"
        shown = f"{mantissa if '.' in mantissa else mantissa + '.0'}E{'-' if sign == '-' else '+'}{digits}"
    return shown


def cloze_field(field: Field, weight: int, where: str) -> str:
    """`{w:NUMERICAL:=v:tol~%0%PAD}` or `{w:MULTICHOICE:=a~%0%b}` for one field."""
    if field.kind == "number":
        value, tol = number_text(field.value, where), number_text(field.tol, where)
        if len(moodle_stored_number(value)) > PAD_LENGTH:
            raise MoodleLimitError(f"{where}: {value} is longer than {PAD_LENGTH} characters as Moodle stores it; its box would show that")
        if abs(float(field.value) - float(PAD_NUMBER)) <= 1e290:
            raise MoodleLimitError(f"{where}: {value} is too close to the padding answer {PAD_NUMBER}")
        return f"{{{weight}:NUMERICAL:={value}:{tol}~%0%{PAD_NUMBER}}}"
    if field.kind == "list":  # every entry as text, each way of writing it a full answer
        answers = "~".join(f"%100%{cloze_escape(o.text)}" for o in field.options)
        return f"{{{weight}:SHORTANSWER:{answers}~%0%{cloze_escape(PAD_TEXT)}}}"
    if len(field.options) < 2 or not 0 <= field.correct < len(field.options):
        raise MoodleLimitError(f"{where}: a choice needs two or more options and one correct one")
    kind = "MULTICHOICE_V" if field.maths else "MULTICHOICE"
    options = "~".join(("=" if i == field.correct else "%0%") + cloze_option(option_html(field.options[i])) for i in range(len(field.options)))
    return f"{{{weight}:{kind}:{options}}}"


def weights(fields: Sequence[Field]) -> list[int]:
    """Whole-number weights in the proportions of the fields' points (the smallest such)."""
    shares = [Fraction(f.points).limit_denominator(10**6) for f in fields]
    factor = math.lcm(*(s.denominator for s in shares)) if shares else 1
    whole = [int(s * factor) for s in shares]
    common = math.gcd(*whole) or 1
    whole = [w // common for w in whole]
    if any(w < 1 for w in whole) or max(whole, default=0) > MAX_WEIGHT:
        raise MoodleLimitError(f"cannot give fields with points {[float(s) for s in shares]} whole-number weights")
    return whole


# --- the HTML of fields ----------------------------------------------------------------------------


def fields_html(fields: Sequence[Field], place: Callable[[Field], str]) -> str:
    """The fields of one part, answer by answer: a scalar on its line, a vector as a row, a matrix as
    a grid, any other structure a line per entry; `place(field)` writes a field."""
    blocks = []
    by_answer: dict[str, list[Field]] = {}
    for f in fields:
        by_answer.setdefault(f.answer, []).append(f)
    for name, group in by_answer.items():
        head = f"<strong>{html.escape(group[0].title or name)}</strong>" + (f" ({html.escape(group[0].hint)})" if group[0].hint else "")
        shape = _shape(name, group)
        if shape == "scalar":
            blocks.append(f"<p>{head}: {place(group[0])}</p>")
        elif shape == "vector":
            cells = "".join(f'<td style="padding: 2px 6px">{place(f)}</td>' for f in group)
            blocks.append(f"<p>{head}:</p>\n<table><tr>{cells}</tr></table>")
        elif shape == "matrix":
            rows: dict[str, list[str]] = {}
            for f in group:
                rows.setdefault(f.key.split(".")[1], []).append(f'<td style="padding: 2px 6px">{place(f)}</td>')
            body = "".join(f"<tr>{''.join(cells)}</tr>" for cells in rows.values())
            blocks.append(f"<p>{head}:</p>\n<table>{body}</table>")
        else:
            lines = "".join(f"<li>{html.escape(f.label)}: {place(f)}</li>" for f in group)
            blocks.append(f"<p>{head}:</p>\n<ul>{lines}</ul>")
    return "\n".join(blocks)


def _shape(name: str, group: Sequence[Field]) -> str:
    tails = [f.key[len(name) + 1 :].split(".") if f.key != name else [] for f in group]
    if len(group) == 1 and not tails[0]:
        return "scalar"
    if all(len(t) == 1 and t[0].isdigit() for t in tails):
        return "vector"
    if all(len(t) == 2 and t[0].isdigit() and t[1].isdigit() for t in tails):
        widths = {}
        for t in tails:
            widths[t[0]] = widths.get(t[0], 0) + 1
        if len(set(widths.values())) == 1:
            return "matrix"
    return "records"


# --- XML -------------------------------------------------------------------------------------------


def _files(body: str, figures: Mapping[str, str]) -> list[str]:
    """A base64 `<file>` for each figure `body` shows (its own copy: Moodle reads files per element)."""
    return [
        f'<file name="{name}" path="/" encoding="base64">{base64.b64encode(figures[name].encode()).decode()}</file>'
        for name in figures_in(body)
    ]


def _placed(body: str) -> str:
    return body.replace(FIGURE_URL, "@@PLUGINFILE@@/")


def _text(tag: str, body: str, figures: Mapping[str, str], attrs: str = ' format="html"') -> str:
    """`<tag format="html"><text>CDATA</text><file>...</file></tag>`."""
    return f"<{tag}{attrs}><text>{cdata(_placed(body))}</text>{''.join(_files(body, figures))}</{tag}>"


def _head(kind: str, name: str, ident: str, text: str, feedback: str, figures: Mapping[str, str]) -> list[str]:
    return [
        f'<question type="{kind}">',
        f"<name><text>{html.escape(name, quote=False)}</text></name>",
        _text("questiontext", text, figures),
        _text("generalfeedback", feedback, figures),
        f"<idnumber>{ident}</idnumber>",
        "<penalty>0</penalty>",
        "<hidden>0</hidden>",
    ]


def _grade(points: float) -> str:
    return f"<defaultgrade>{points:g}</defaultgrade>"


def graded_type(q: QuizQuestion) -> str:
    """`numerical` for a variant asking one number and nothing in words, else `cloze`."""
    fields = q.fields
    return "numerical" if len(fields) == 1 and fields[0].kind == "number" and not q.written_parts else "cloze"


def graded_question(q: QuizQuestion, figures: Mapping[str, str]) -> list[str]:
    """The parts of a variant that Moodle grades (see graded_type)."""
    fields = q.fields
    shown = [i for i, p in enumerate(q.parts) if not p.written]
    if graded_type(q) == "numerical":
        f = fields[0]
        where = f"{q.name}: {f.key}"
        text = parts_html(q, shown, lambda i: fields_html([f], lambda _: "") if i == f.part else "")
        return [
            *_head("numerical", q.name, q.ident, text, q.solution, figures),
            _grade(q.points),
            f'<answer fraction="{fraction_text(100, where)}" format="moodle_auto_format"><text>{number_text(f.value, where)}</text>'
            f"<tolerance>{number_text(f.tol, where)}</tolerance><feedback format=\"html\"><text></text></feedback></answer>",
            "<unitgradingtype>0</unitgradingtype>",
            "<unitpenalty>0.1000000</unitpenalty>",
            "<showunits>3</showunits>",
            "<unitsleft>0</unitsleft>",
            "</question>",
        ]
    weight = dict(zip((f.key for f in fields), weights(fields)))
    placed: list[str] = []

    def place(f: Field) -> str:  # a token first: the text around the fields is made safe before they go in
        placed.append(cloze_field(f, weight[f.key], f"{q.name}: {f.key}"))
        return f"\0{len(placed) - 1}\0"

    text = not_a_field(parts_html(q, shown, lambda i: fields_html(q.parts[i].fields, place)))
    text = re.sub("\0([0-9]+)\0", lambda m: placed[int(m.group(1))], text)
    return [*_head("cloze", q.name, q.ident, text, q.solution, figures), _grade(sum(weight.values())), "</question>"]


def essay_question(q: QuizQuestion, figures: Mapping[str, str], parts: Sequence[int] | None = None) -> list[str]:
    """An essay: the question (or only its `parts`, answered in words), the model solution as grader
    information and as general feedback."""
    shown = range(len(q.parts)) if parts is None else parts
    text = parts_html(q, list(shown))
    points = q.points if parts is None else sum(q.parts[i].points for i in parts)
    name, ident = (q.name, q.ident) if parts is None else (f"{q.name} (written)", f"{q.ident}_written")
    return [
        *_head("essay", name, ident, text, q.solution, figures),
        _grade(points),
        "<responseformat>editor</responseformat>",
        "<responserequired>1</responserequired>",
        "<responsefieldlines>15</responsefieldlines>",
        "<attachments>0</attachments>",
        "<attachmentsrequired>0</attachmentsrequired>",
        _text("graderinfo", q.solution, figures),
        '<responsetemplate format="html"><text></text></responsetemplate>',
        "</question>",
    ]


def choice_question(q: QuizQuestion, figures: Mapping[str, str]) -> list[str]:
    """A bank item's multiple choice, in the exam's order and letters (not shuffled)."""
    answers = []
    for i, choice in enumerate(q.choices):
        fraction = fraction_text(100 if i == q.correct else 0, f"{q.name}: choice {LETTERS[i]}")
        answers.append(
            f'<answer fraction="{fraction}" format="html"><text>{cdata(_placed(choice))}</text>{"".join(_files(choice, figures))}'
            '<feedback format="html"><text></text></feedback></answer>'
        )
    text = parts_html(q, [])
    return [
        *_head("multichoice", q.name, q.ident, text, q.solution, figures),
        _grade(q.points),
        "<single>true</single>",
        "<shuffleanswers>false</shuffleanswers>",
        "<answernumbering>ABCD</answernumbering>",
        '<correctfeedback format="html"><text></text></correctfeedback>',
        '<partiallycorrectfeedback format="html"><text></text></partiallycorrectfeedback>',
        '<incorrectfeedback format="html"><text></text></incorrectfeedback>',
        *answers,
        "</question>",
    ]


def category(path: str) -> list[str]:
    return ['<question type="category">', f"<category><text>{html.escape(path, quote=False)}</text></category>", "</question>"]


def moodle_xml(quiz: Quiz, note: str = "") -> tuple[str, list[dict[str, Any]]]:
    """The whole quiz as Moodle XML (the same quiz gives the same text), and a record of every question
    written (its name, ident, category, type and graded fields)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    if note:
        lines.append(f"<!-- {html.escape(note).replace('--', '- -')} -->")
    record: list[dict[str, Any]] = []
    for slot in quiz.slots:
        base = f"$course$/{quiz.name}/{slot.label}"
        lines += category(base)
        written: list[list[str]] = []
        for q in slot.questions:
            if q.kind == "choice":
                lines += choice_question(q, quiz.figures)
                record.append(question_record(q, base, "multichoice"))
            elif q.kind == "graded" and q.fields:
                lines += graded_question(q, quiz.figures)
                record.append(question_record(q, base, graded_type(q), q.fields))
                if q.written_parts:
                    written.append(essay_question(q, quiz.figures, q.written_parts))
                    record.append(question_record(q, f"{base} written", "essay", parts=q.written_parts, ident=f"{q.ident}_written"))
            else:
                lines += essay_question(q, quiz.figures)
                record.append(question_record(q, base, "essay", parts=list(range(len(q.parts)))))
        if written:
            lines += category(f"{base} written")
            for block in written:
                lines += block
    lines.append("</quiz>")
    return "\n".join(lines) + "\n", record


def moodle_export(quiz: Quiz, note: str = "") -> tuple[bytes, dict[str, Any]]:
    """The quiz file's bytes and the manifest's `lms` record."""
    text, record = moodle_xml(quiz, note)
    return text.encode("utf-8"), {"questions": record}
