"""LaTeX fragments to HTML (qbank.html.convert): nothing the LaTeX shows may go missing.

The parity test reads every family's problem and solution (seeds 0-3) and every conceptual bank item,
converts them, and checks that every number and word of the LaTeX (outside TikZ pictures and
comments) is in the HTML's text, MathML included, and that no LaTeX survives as text. Its LaTeX
reader below is written apart from the converter's, so that a construct the converter forgets shows.
The unit tests check the HTML structure of each construct the templates use.
"""

from __future__ import annotations

import re
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser

import pytest

from qbank.bank import item_to_dict, load_bank
from qbank.engine import draw
from qbank.exam import question_fragments
from qbank.fairness import LETTERS
from qbank.html.convert import latex_to_html, latex_to_html_many, precision_statements, prepare
from qbank.registry import all_families
from qbank.render import render_fragments

SEEDS = range(4)

# --- the text of a LaTeX fragment, as a reader sees it ---------------------------------------------

# arguments that are not content: command -> argument kinds to drop (o: optional [...], r: {...})
NOT_CONTENT = {
    "textcolor": "or", "color": "or", "colorbox": "or", "vspace": "r", "vspace*": "r", "hspace": "r",
    "hspace*": "r", "multicolumn": "rr", "parbox": "ooor", "makebox": "oo", "framebox": "oo",
    "message": "r", "includegraphics": "or", "label": "r", "setlength": "rr", "rule": "orr",
    "setcounter": "rr", "part": "o", "subpart": "o", "subsubpart": "o", "end": "r", "\\": "o",
    "renewcommand": "rr", "newcommand": "ror", "def": "r",
}
# environments' own arguments (after the name)
ENV_ARGS = {
    "tabular": "or", "tabular*": "ror", "tabularx": "rr", "array": "or", "minipage": "oooor",
    "itemize": "o", "enumerate": "o", "description": "o",
}
MATH_ENVS = ("align", "align*", "aligned", "equation", "equation*", "gather", "gather*", "multline",
             "multline*", "eqnarray", "eqnarray*", "displaymath", "math", "alignat", "alignat*")
WORDY = ("text", "textbf", "textit", "texttt", "textrm", "mathrm", "operatorname", "mathit", "mathsf",
         "mathtt", "mbox", "emph", "textsf", "textnormal")
TOKEN = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")


def _group(tex: str, i: int, open_: str, close: str) -> int:
    depth = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            i += 2
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(tex)


def _drop_args(tex: str, i: int, kinds: str) -> int:
    """The index after the arguments of `kinds` that start at tex[i]."""
    for kind in kinds:
        j = i
        while j < len(tex) and tex[j] in " \t\n":
            j += 1
        if kind == "o":
            if j < len(tex) and tex[j] == "[":
                i = _group(tex, j, "[", "]")
        elif j < len(tex) and tex[j] == "{":
            i = _group(tex, j, "{", "}")
        elif j < len(tex) and tex[j] == "\\":  # \renewcommand\arraystretch, \def\x
            m = re.match(r"\\[A-Za-z@]+", tex[j:])
            i = j + (m.end() if m else 1)
    return i


def without_non_content(tex: str) -> str:
    tex = re.sub(r"(?<!\\)%[^\n]*", "", tex)
    tex = re.sub(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", " ", tex, flags=re.S)
    tex = re.sub(r"\\(?:setbox|box|dimen|wd)\s*\d+", " ", tex)
    out, i = [], 0
    for m in re.finditer(r"\\([A-Za-z@]+\*?|\\)", tex):
        if m.start() < i:
            continue
        name = m.group(1)
        if name == "begin":
            env = re.match(r"\s*\{([^}]*)\}", tex[m.end():])
            if env:
                out.append(tex[i : m.end()] + "{" + env.group(1) + "}")
                i = _drop_args(tex, m.end() + env.end(), ENV_ARGS.get(env.group(1), ""))
            continue
        if name == "end":
            env = re.match(r"\s*\{([^}]*)\}", tex[m.end():])
            if env:
                out.append(tex[i : m.end()] + "{" + env.group(1) + "}")
                i = m.end() + env.end()
            continue
        if name in NOT_CONTENT:
            out.append(tex[i : m.start()] + " ")
            i = _drop_args(tex, m.end(), NOT_CONTENT[name])
            if name == "def":  # \def\name{body}
                i = _drop_args(tex, i, "r")
    out.append(tex[i:])
    return "".join(out)


def _math_segments(tex: str) -> list[tuple[str, bool]]:
    """(text, is_math) pieces: $...$, \\(...\\), \\[...\\] and the display environments are maths."""
    envs = "|".join(re.escape(e) for e in MATH_ENVS)
    pattern = re.compile(
        r"\$\$(.*?)\$\$|(?<!\\)\$(.*?)(?<!\\)\$|\\\((.*?)\\\)|\\\[(.*?)\\\]|\\begin\{(" + envs + r")\}(.*?)\\end\{\5\}", re.S
    )
    out, pos = [], 0
    for m in pattern.finditer(tex):
        out.append((tex[pos : m.start()], False))
        body = next(g for g in (m.group(1), m.group(2), m.group(3), m.group(4), m.group(6)) if g is not None)
        out.append((body, True))
        pos = m.end()
    out.append((tex[pos:], False))
    return out


def _text_tokens(tex: str) -> list[str]:
    tex = re.sub(r"\\(?:begin|end)\{[^}]*\}", " ", tex)
    tex = re.sub(r"\\[A-Za-z@]+\*?|\\.", " ", tex)
    return [t.lower() for t in TOKEN.findall(tex.replace("{", " ").replace("}", " "))]


def _math_tokens(tex: str) -> list[str]:
    tokens: list[str] = []
    # TeX reads one token as an argument: \frac12 is 1 over 2, x^23 is x squared, then 3
    tex = re.sub(r"(\\[dt]?frac)\s*(\d)\s*(\d)", r"\1{\2}{\3}", tex)
    tex = re.sub(r"([\^_])\s*(\d)", r"\1{\2}", tex)
    wordy = re.compile(r"\\(" + "|".join(WORDY) + r")\s*\{")
    pos, rest = 0, []
    for m in wordy.finditer(tex):
        if m.start() < pos:
            continue
        end = _group(tex, m.end() - 1, "{", "}")
        rest.append(tex[pos : m.start()])
        tokens += _text_tokens(_math_segments_inner(tex[m.end() : end - 1], tokens))
        pos = end
    rest.append(tex[pos:])
    body = re.sub(r"\\(?:begin|end)\{[^}]*\}", " ", " ".join(rest))
    body = re.sub(r"\\[A-Za-z@]+\*?|\\.", " ", body)
    for tok in TOKEN.findall(body):
        tokens += list(tok.lower()) if tok.isalpha() else [tok]
    return tokens


def _math_segments_inner(text: str, tokens: list[str]) -> str:
    """Text inside \\text{...} may hold maths again ($x$): its tokens are added, the text returned."""
    out = []
    for piece, is_math in _math_segments(text):
        if is_math:
            tokens += _math_tokens(piece)
        else:
            out.append(piece)
    return " ".join(out)


def latex_tokens(tex: str) -> Counter:
    tokens: list[str] = []
    for piece, is_math in _math_segments(without_non_content(tex)):
        tokens += _math_tokens(piece) if is_math else _text_tokens(piece)
    return Counter(tokens)


# --- the text of the HTML, MathML included ----------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tokens: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("img", "br", "wbr", "hr", "input", "meta", "link", "col"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if "annotation" in self.stack or "script" in self.stack or "style" in self.stack:
            return
        self.texts.append(data)
        # maths alphabets (ℝ, 𝒩, 𝐖) as the letters they are
        text = unicodedata.normalize("NFKC", data).replace("\u2212", "-")
        found = TOKEN.findall(text)
        self.tokens += [t.lower() for t in found]
        if "math" in self.stack:
            for t in found:
                if t.isalpha() and len(t) > 1:
                    self.tokens += list(t.lower())


def html_text(html: str) -> tuple[Counter, str]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return Counter(parser.tokens), "\u241e".join(parser.texts)


def parity_problems(tex: str, html: str) -> list[str]:
    want = latex_tokens(tex)
    have, text = html_text(html)
    problems = [f"{tok!r} x{n} in the LaTeX, x{have[tok]} in the HTML" for tok, n in sorted(want.items()) if have[tok] < n]
    raw = re.findall(r"\\[A-Za-z]+", text)
    if raw:
        problems.append(f"raw LaTeX in the HTML text: {sorted(set(raw))}")
    if "$" in text or "\\(" in text:
        problems.append("a $ or \\( in the HTML text")
    return problems


# --- every fragment qbank renders ------------------------------------------------------------------


def family_fragments():
    out = []
    for fam in all_families():
        for seed in SEEDS:
            problem, solution = render_fragments(draw(fam.id, seed))
            out += [(f"{fam.id} seed {seed} problem", problem), (f"{fam.id} seed {seed} solution", solution)]
    return out


def item_fragments():
    out = []
    for item in load_bank().items.values():
        if item.parameterized:
            continue
        entry = {"item": item_to_dict(item)}
        if item.kind == "multiple-choice":
            order = list(reversed(range(len(item.choices))))
            entry.update(choice_order=order, correct=LETTERS[next(p for p, i in enumerate(order) if item.choices[i].correct)])
        problem, solution = question_fragments(entry, reverify=False)
        out += [(f"item {item.id} problem", problem), (f"item {item.id} solution", solution)]
    return out


@pytest.fixture(scope="module")
def converted():
    fragments = family_fragments() + item_fragments()
    started = time.perf_counter()
    htmls = latex_to_html_many([tex for _, tex in fragments], jobs=2)
    seconds = time.perf_counter() - started
    return fragments, htmls, seconds


def test_text_parity_every_family_and_item(converted):
    fragments, htmls, _ = converted
    failures = []
    for (label, tex), html in zip(fragments, htmls):
        problems = parity_problems(precision_statements(tex), html)  # the site shows the paper's statement
        if problems:
            failures.append(f"{label}: " + "; ".join(problems[:6]))
    assert not failures, f"{len(failures)} fragment(s) lose text:\n" + "\n".join(failures)


def test_every_fragment_is_well_formed_html(converted):
    fragments, htmls, _ = converted
    for (label, _), html in zip(fragments, htmls):
        ET.fromstring(f"<div>{html}</div>")  # pandoc's HTML5 with MathML is XML-clean
        assert "<html" not in html and "<body" not in html, label


def test_batches_give_what_single_runs_give(converted):
    fragments, htmls, _ = converted
    for index in (0, len(fragments) // 2, len(fragments) - 1):
        assert latex_to_html(fragments[index][1]) == htmls[index], fragments[index][0]


def test_many_fragments_are_fast(converted):
    fragments, _, seconds = converted
    per = seconds / len(fragments)
    print(f"\n{len(fragments)} fragments in {seconds:.2f} s: {1000 * per:.1f} ms per fragment")
    assert per < 0.1


# --- the constructs, one by one -------------------------------------------------------------------------


def tree(html: str) -> ET.Element:
    return ET.fromstring(f"<div>{html}</div>")


def text_of(el: ET.Element) -> str:
    return "".join(t for t in el.itertext())


MATHML = "{http://www.w3.org/1998/Math/MathML}"


def test_markers_and_messages_go():
    tex = "% qbank-variant: x seed 1 (problem)\n\\message{[qbank: x seed 1 (problem)]}%\nHello.\n% qbank-end\n"
    assert latex_to_html(tex) == "<p>Hello.</p>\n"


def test_parts_with_points_and_subparts():
    tex = (
        "Intro.\n\\begin{parts}\n\\part[2] First $x$.\n\\part[1.5]\n\\begin{subparts}\n\\subpart One.\n"
        "\\subpart Two.\n\\end{subparts}\n\\part Third.\n\\end{parts}\n"
    )
    root = tree(latex_to_html(tex))
    parts = root.find("ol")
    assert parts.get("class") == "qbank-parts" and parts.get("type") == "a"
    items = parts.findall("li")
    assert [li.get("data-points") for li in items] == ["2", "1.5", None]
    assert "First" in text_of(items[0])
    sub = items[1].find("ol")
    assert sub.get("class") == "qbank-subparts" and sub.get("type") == "i"
    assert [text_of(li).strip() for li in sub.findall("li")] == ["One.", "Two."]
    assert "Third." in text_of(items[2])


def test_choices_are_lettered():
    tex = "Pick one.\n\\begin{choices}\n\\choice Alpha\n\\choice Beta $y$\n\\end{choices}\n"
    ol = tree(latex_to_html(tex)).find("ol")
    assert ol.get("class") == "qbank-choices" and ol.get("type") == "A"
    assert [text_of(li).strip().split()[0] for li in ol.findall("li")] == ["Alpha", "Beta"]


def test_partial_is_not_a_part():
    root = tree(latex_to_html("\\begin{parts}\\part $\\partial y / \\partial w$\n\\end{parts}"))
    assert len(root.find("ol").findall("li")) == 1
    assert "∂" in text_of(root)


def test_answer_box_keeps_maths_and_line_breaks():
    root = tree(latex_to_html("Work.\n\\qbankanswer{$y = \\tfrac{1}{2}$\\\\ and \\textbf{yes}.}\nAfter."))
    box = root.find("div[@class='qbank-answer']")
    assert box is not None
    assert box.find(".//strong").text == "Answer:"
    assert box.find(f".//{MATHML}math") is not None and box.find(".//br") is not None
    assert "yes" in text_of(box)
    assert "After." in text_of(root)


def test_figure_is_an_image_in_a_centred_box():
    html = latex_to_html(
        "\\qbankfigure{%\n\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}%\n}",
        figure_src=lambda name: f"figures/{name}.svg",
    )
    box = tree(html).find("div[@class='qbank-figure']")
    assert "center" in box.get("style")
    img = box.find(".//img")
    assert re.fullmatch(r"figures/fig-[0-9a-f]{16}\.svg", img.get("src"))
    assert img.get("alt")


def test_solution_environment_is_its_content():
    assert latex_to_html("\\begin{qbanksolution}\nThe work.\n\\end{qbanksolution}") == "<p>The work.</p>\n"


@pytest.mark.parametrize(
    "tex, words",
    [
        ("\\fbox{boxed \\textit{words}} here", ["boxed", "words", "here"]),
        ("\\makebox[0.6\\textwidth]{Name:\\enspace rest}", ["Name:", "rest"]),
        ("\\parbox{3cm}{in a parbox}", ["in", "a", "parbox"]),
        ("A\\hfill B\\quad C\\enspace D\\qquad E", ["A", "B", "C", "D", "E"]),
        ("one\\medskip two\\smallskip three\\bigskip four \\vspace{2em} five", ["one", "two", "three", "four", "five"]),
        ("\\noindent first\\par second \\allowbreak third", ["first", "second", "third"]),
    ],
)
def test_boxes_and_spacing_keep_their_content(tex, words):
    root = tree(latex_to_html(tex))
    text = text_of(root)
    assert text.split() == words, text  # each word whole, and apart from the next
    assert "\\" not in text


def test_fbox_is_a_box():
    root = tree(latex_to_html("\\fbox{inside}"))
    assert root.find(".//span[@class='qbank-box']").text == "inside"


def test_colours_are_css():
    root = tree(latex_to_html("\\textcolor{blue!70!black}{thick} and {\\color{red}warm words} end"))
    spans = root.findall(".//span")
    assert [s.get("style") for s in spans] == ["color: #0000b3", "color: #ff0000"]
    assert spans[0].text == "thick" and "warm words" in text_of(spans[1])


def test_inline_styles():
    root = tree(latex_to_html("\\emph{e} \\textbf{b} \\textit{i} \\texttt{t}"))
    p = root.find("p")
    assert [(el.tag, el.text) for el in p] == [("em", "e"), ("strong", "b"), ("em", "i"), ("code", "t")]


def test_itemize():
    root = tree(latex_to_html("\\begin{itemize}[nosep]\n\\item one\n\\item two\n\\end{itemize}"))
    assert [text_of(li).strip() for li in root.find("ul").findall("li")] == ["one", "two"]


def test_booktabs_table_with_multicolumn_and_material_between_columns():
    tex = (
        "\\begin{center}\n\\begin{tabular}{lr@{${}={}$}ll}\n\\toprule\n"
        "candidate & \\multicolumn{2}{l}{total log-probability} & \\\\\n\\midrule\n"
        "\\textbf{layer} & $0.00 - 1.14$ & $-1.14$ & kept\\\\\n"
        "learn & $0.00 - 1.35$ & $-1.35$ & dropped\\\\\n\\bottomrule\n\\end{tabular}\n\\end{center}\n"
    )
    table = tree(latex_to_html(tex)).find(".//table")
    head = table.findall(".//thead/tr/th")
    assert [th.get("colspan") for th in head] == [None, "2", None]
    rows = table.findall(".//tbody/tr")
    assert len(rows) == 2 and all(len(r.findall("td")) == 4 for r in rows)
    cell = rows[0].findall("td")[1]
    assert [m.text for m in cell.iter(f"{MATHML}mo")] == ["−", "="]  # the `=` of the column spec
    assert text_of(rows[1].findall("td")[3]) == "dropped"


def test_tabularx_table():
    tex = (
        "\\begin{tabularx}{\\linewidth}{@{}l*{2}{>{\\raggedright\\arraybackslash}X}@{}}\n\\toprule\n"
        "\\textbf{A} & \\textbf{B} & \\textbf{C} \\\\\n\\midrule\na & b & \\textit{c} \\\\\n\\bottomrule\n\\end{tabularx}"
    )
    table = tree(latex_to_html(tex)).find(".//table")
    assert [text_of(th).strip() for th in table.findall(".//th")] == ["A", "B", "C"]
    assert [text_of(td).strip() for td in table.findall(".//td")] == ["a", "b", "c"]


def _math(html: str) -> list[ET.Element]:
    return list(tree(html).iter(f"{MATHML}math"))


def test_align_is_an_aligned_table():
    (math,) = _math(latex_to_html("\\begin{align*}\na &= b + 1 \\\\\n&= c\n\\end{align*}"))
    assert math.get("display") == "block"
    rows = list(math.iter(f"{MATHML}mtr"))
    assert len(rows) == 2
    cells = rows[0].findall(f"{MATHML}mtd")
    assert [c.get("columnalign") for c in cells] == ["right", "left"]


def test_aligned_cases_and_bmatrix():
    html = latex_to_html(
        "$\\begin{aligned} x &= 1 \\\\ y &= 2 \\end{aligned}$ "
        "$f = \\begin{cases} 1 & x > 0 \\\\ 0 & \\text{otherwise} \\end{cases}$ "
        "$\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$"
    )
    aligned, cases, bmatrix = _math(html)
    assert [c.get("columnalign") for c in aligned.iter(f"{MATHML}mtd")][:2] == ["right", "left"]
    assert [m.text for m in cases.iter(f"{MATHML}mtext")] == ["otherwise"]
    assert "{" in [m.text for m in cases.iter(f"{MATHML}mo")]
    assert [m.text for m in bmatrix.iter(f"{MATHML}mn")] == ["1", "2", "3", "4"]
    assert [m.text for m in bmatrix.iter(f"{MATHML}mo")] == ["[", "]"]


def test_array_rules_become_borders():
    (math,) = _math(latex_to_html("$\\left[\\begin{array}{rr|r} 1 & 2 & 3 \\\\ 4 & 5 & 6 \\end{array}\\right]$"))
    for row in math.iter(f"{MATHML}mtr"):
        cells = row.findall(f"{MATHML}mtd")
        assert [("border-left" in (c.get("style") or "")) for c in cells] == [False, False, True]
        assert all(c.get("columnalign") == "right" for c in cells)


def test_upright_operators_and_fractions():
    (math,) = _math(latex_to_html("$\\operatorname{sign}(x) \\mathrm{d}x + \\tfrac{1}{2} + \\dfrac{3}{4}$"))
    normal = [m.text for m in math.iter(f"{MATHML}mi") if m.get("mathvariant") == "normal"]
    assert "sign" in normal and "d" in normal
    styles = [s.get("displaystyle") for s in math.iter(f"{MATHML}mstyle")]
    assert styles == ["false", "true"]  # \tfrac, \dfrac
    assert len(list(math.iter(f"{MATHML}mfrac"))) == 2


def test_measured_box_beside_text():
    tex = (
        "\\par\\medskip\\noindent\n\\setbox0=\\hbox{\\begin{tikzpicture}\\draw (0,0) -- (1,0);\\end{tikzpicture}}%\n"
        "\\dimen0=\\wd0\n\\begin{minipage}[t]{\\dimen0}\\vspace{0pt}\\box0\\end{minipage}\\hfill\n"
        "\\begin{minipage}[t]{\\dimexpr\\linewidth-\\dimen0-5mm\\relax}\\vspace{0pt}\nBeside the tree.\n\\end{minipage}\\par\n"
    )
    root = tree(latex_to_html(tex))
    boxes = root.findall("div[@class='minipage']")
    assert len(boxes) == 2
    assert boxes[0].find(".//img") is not None
    assert text_of(boxes[1]).strip() == "Beside the tree."
    assert "0" not in text_of(root)


def test_arraystretch_is_dropped_not_shown():
    html = latex_to_html("$\\hat w = {\\def\\arraystretch{2.1}\\begin{bmatrix} \\dfrac{9}{16} \\end{bmatrix}}$")
    (math,) = _math(html)
    assert [m.text for m in math.iter(f"{MATHML}mn")] == ["9", "16"]


def test_unknown_command_keeps_its_content():
    text = text_of(tree(latex_to_html("Say \\somethingnew{kept words} now.")))
    assert "kept words" in text and "now." in text


def test_prepare_moves_column_material_into_cells():
    out = prepare("\\begin{tabular}{r@{ : }l}\na & b\\\\\n\\multicolumn{2}{c}{both}\\\\\n\\end{tabular}")
    assert "{r@{}l}" in out
    assert "a  :  & b" in out.replace("\n", "") or "a : & b" in " ".join(out.split())
    assert "{both}" in out and "both} :" not in out


def test_cells_are_aligned_by_columnalign_alone():
    # qbank.css aligns cells from columnalign (Chromium and WebKit; Firefox reads the attribute): no
    # inline text-align, which would override it (and whose -webkit-* values garble WebKit's maths)
    (math,) = _math(latex_to_html("\\begin{align*}\na &= 1 \\\\\nbb &= 2\n\\end{align*}"))
    cells = list(math.iter(f"{MATHML}mtd"))
    assert [c.get("columnalign") for c in cells[:2]] == ["right", "left"]
    assert not any("text-align" in (c.get("style") or "") for c in cells)
    assert cells[0].get("style") == "padding-right: 0"
    (matrix,) = _math(latex_to_html("$\\begin{bmatrix} 5 & 6 \\\\ 6 & 17 \\end{bmatrix}$"))
    assert all(c.get("columnalign") == "center" and c.get("style") is None for c in matrix.iter(f"{MATHML}mtd"))


def test_display_maths_is_in_a_box_that_scrolls():
    root = tree(latex_to_html("Before \\[ x = 1 \\] after $y$."))
    (box,) = root.iter("span")
    assert box.get("class") == "qbank-display" and box[0].get("display") == "block"
    assert [m.get("display") for m in root.iter(f"{MATHML}math")] == ["block", "inline"]


ACCENTED = {
    "\\hat y": "\u02c6", "\\widehat{xy}": "^", "\\tilde W": "\u02dc", "\\widetilde{xy}": "~", "\\bar x": "\u00af",
    "\\overline{xy}": "\u00af", "\\vec v": "\u2192", "\\overrightarrow{AB}": "\u2192", "\\dot x": "\u02d9",
    "\\ddot x": "\u00a8", "\\check x": "\u02c7", "\\breve x": "\u02d8", "\\acute x": "\u00b4", "\\grave x": "`",
    "\\mathring x": "\u02da", "\\hat{\\mathbf W}": "\u02c6",
}


@pytest.mark.parametrize("tex, char", ACCENTED.items())
def test_accents_are_spacing_characters_over_their_base(tex, char):
    (math,) = _math(latex_to_html(f"${tex}$"))
    (mover,) = math.iter(f"{MATHML}mover")
    assert mover.get("accent") == "true"
    base, accent = list(mover)
    assert accent.tag == f"{MATHML}mo" and accent.text == char
    assert accent.get("lspace") == accent.get("rspace") == "0"
    wide = tex.startswith(("\\wide", "\\over"))
    assert accent.get("stretchy") == ("true" if wide else "false")
    assert (accent.get("class") == "qbank-accent") == (not wide and "vec" not in tex)


def test_nested_accents_and_the_base_of_a_subscript():
    (math,) = _math(latex_to_html("$\\hat{\\bar x} + \\hat W_{ij} + \\widehat{\\tilde a b}$"))
    accents = [m[1].text for m in math.iter(f"{MATHML}mover")]
    assert accents == ["\u02c6", "\u00af", "\u02c6", "^", "\u02dc"]
    assert all(m.get("accent") == "true" for m in math.iter(f"{MATHML}mover"))
    (sub,) = math.iter(f"{MATHML}msub")
    assert sub[0].tag == f"{MATHML}mover" and sub[0][0].text == "W"


def test_alignments_are_in_display_style_arrays_are_not():
    (align,) = _math(latex_to_html("\\begin{align*}\na &= \\frac{1}{2}\n\\end{align*}"))
    assert align.find(f".//{MATHML}mtable").get("displaystyle") == "true"
    (inline,) = _math(latex_to_html("$\\begin{aligned} a &= 1 \\end{aligned} + \\begin{bmatrix} 1 \\end{bmatrix}$"))
    aligned, bmatrix = inline.iter(f"{MATHML}mtable")
    assert aligned.get("displaystyle") == "true" and bmatrix.get("displaystyle") is None


def test_upright_words_and_bold():
    (math,) = _math(latex_to_html("$\\mathrm{ReLU}(z) + \\mathbf{W}\\mathbf{x} + \\mathbf{1}$"))
    mis = [(m.get("mathvariant"), m.text) for m in math.iter(f"{MATHML}mi")]
    assert ("normal", "ReLU") in mis
    assert ("bold", "\U0001D416") in mis and ("bold", "\U0001D431") in mis  # 𝐖 𝐱, upright as in LaTeX
    (bold_italic,) = _math(latex_to_html("$\\boldsymbol{W}$"))
    assert [m.get("mathvariant") for m in bold_italic.iter(f"{MATHML}mi")] == ["bold-italic"]


THIN = '<mspace width="0.1667em"></mspace>'


@pytest.mark.parametrize("tex, spaced", [
    # TeX: a thin space between an ordinary symbol and an operator name, on either side; none before a
    # parenthesis, after an opening one, or beside a binary or relation sign (they bring their own)
    ("-y \\log \\hat y", ["y|log", "log|y \u02c6"]),
    ("\\log(x) + (a)\\log b", [")|log", "log|b"]),
    ("x\\tanh(y) = \\exp x", ["x|tanh", "exp|x"]),
    ("\\max_w f(w)", ["max w|f"]),
    ("a, \\log\\log p", [",|log", "log|log", "log|p"]),
    ("\\mathrm{ReLU}(z) + 2\\operatorname{Var}(u)", ["2|Var"]),
])
def test_operator_names_are_spaced_like_tex(tex, spaced):
    html = latex_to_html(f"${tex}$")
    (math,) = _math(html)
    row = math.find(f"{MATHML}semantics")[0]
    # the row's children as text, a thin space as '|'
    items = ["|" if el.tag == f"{MATHML}mspace" and el.get("width") == "0.1667em" else " ".join(
        t.strip() for t in el.itertext() if t.strip() and t != "\u2061") for el in row]
    pairs = ["".join(items[i - 1 : i + 2]) for i, item in enumerate(items) if item == "|"]
    assert pairs == spaced, items
    assert html.count(THIN) == len(spaced)


def test_a_fragment_pandoc_cannot_read_is_named():
    from qbank.html.convert import ConversionError

    with pytest.raises(ConversionError, match=r"^broken seed 7 \(solution\): pandoc failed"):
        latex_to_html_many(["Fine.", "% qbank-variant: broken seed 7 (solution)\n\\textbf{open", "Also fine."])


def test_separators_that_do_not_come_back_mean_one_run_per_fragment(monkeypatch):
    from qbank.html import convert

    real = convert._run_pandoc

    def swallow(tex, *math):  # as if a fragment had swallowed the separators after it
        html, warnings = real(tex, *math)
        return (html.split("<!-- qbank-split 1 -->")[0] if "qbank-split 1" in html else html), warnings

    monkeypatch.setattr(convert, "_run_pandoc", swallow)
    assert latex_to_html_many(["One.", "Two.", "Three."], jobs=1) == ["<p>One.</p>\n", "<p>Two.</p>\n", "<p>Three.</p>\n"]


def test_maths_pandoc_cannot_read_is_reported():
    import io

    from qbank.progress import Reporter

    stream = io.StringIO()
    latex_to_html_many(["% qbank-variant: demo seed 1 (problem)\nBad $\\begin{nosuchenv} x \\end{nosuchenv}$."],
                       reporter=Reporter(stream))
    assert "demo seed 1 (problem)" in stream.getvalue() and "Could not convert TeX math" in stream.getvalue()


def test_same_input_same_bytes():
    tex = render_fragments(draw("beam-search", 5))[1]
    assert latex_to_html(tex) == latex_to_html(tex)
