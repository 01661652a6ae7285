"""Links and images in bank text, and in everything the writers emit.

Bank text (questions, solutions, choices, parts, table cells) may link only to http(s) and mailto
addresses, and shows no image file: anything else is one error line at load, naming the file, the
line of the field, the item and the field, whichever command reads the bank (`qbank bank`, exam,
site, export). And whatever reaches the HTML converter or the LMS writers from elsewhere (a family's
template is course code, rendered into pages) comes out without a live `javascript:` link, a remote
image or a path behind Moodle's and Canvas's file placeholders."""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path

import pytest
from conftest import run_qbank

from qbank.bank import load_items
from qbank.errors import InputError

SECRET = "links-test-secret-5fb83c1e9a7d2b4f6e0a8c3d5b7f9e1a"

ITEM = """\
- id: linked
  title: Linked
  topic: links
  points: 2
  kind: short-answer
  question: |
    Read the notes first.
    {question}
  solution: Because.
"""

MC = """\
- id: linked-mc
  title: Linked choice
  topic: links
  points: 2
  kind: multiple-choice
  question: Which one?
  choices:
    - text: This one
      correct: true
    - text: {choice}
  solution: The first.
"""

TABLE = """\
- id: linked-table
  title: Linked table
  topic: links
  points: 2
  kind: fill-table
  question: Fill in.
  solution: See the table.
  table:
    columns: [layer, bias]
    rows:
      - [dense, {{answer: {cell}}}]
"""

PARTS = """\
- id: linked-parts
  title: Linked parts
  topic: links
  kind: short-answer
  question: Two parts.
  parts:
    - points: 1
      question: First.
      solution: One.
    - points: 1
      question: Second.
      solution: {solution}
"""

class _Scheme:
    """The message for a refused link's address (its repr, escaped for a regex)."""

    def format(self, address: str) -> str:
        return (r"links in bank text go only to http://, https:// and mailto: addresses, not "
                + re.escape(repr(address)) + r" \(other schemes, .*\)")


SCHEME = _Scheme()
IMAGE = r"\\includegraphics is not allowed in bank text: an image must be the course's own, .*draw the figure with TikZ .*"
Q = r"line 6: item 'linked': question: "

# (the item's text, the expected message after `FILE: ` as a regex; None: accepted)
CASES = [
    # links: http(s) and mailto only, written out in braces
    (ITEM.format(question=r"See \href{https://example.org/notes}{the notes}."), None),
    (ITEM.format(question=r"See \url{http://example.org/a\_b\#sec\%20two}."), None),
    (ITEM.format(question=r"Write to \href{mailto:ta@example.org}{the TA}."), None),
    (ITEM.format(question=r"\href{javascript:alert(1)}{Click}"), Q + r"\\href: " + SCHEME.format("javascript:alert(1)")),
    (ITEM.format(question=r"\url{javascript:alert(document.cookie)}"), Q + r"\\url: " + SCHEME.format("javascript:alert(document.cookie)")),
    (ITEM.format(question=r"\href{JaVaScRiPt:alert(1)}{x}"), Q + r"\\href: " + SCHEME.format("JaVaScRiPt:alert(1)")),
    (ITEM.format(question=r"\href{vbscript:msgbox}{x}"), Q + r"\\href: " + SCHEME.format("vbscript:msgbox")),
    (ITEM.format(question=r"\href{data:text/html;base64,PHNjcmlwdD4=}{x}"), Q + r"\\href: " + SCHEME.format("data:text/html;base64,PHNjcmlwdD4=")),
    (ITEM.format(question=r"\href{file:///etc/passwd}{x}"), Q + r"\\href: " + SCHEME.format("file:///etc/passwd")),
    (ITEM.format(question=r"\href{notes.html}{relative}"), Q + r"\\href: " + SCHEME.format("notes.html")),
    (ITEM.format(question=r"\href{//evil.example/x}{no scheme}"), Q + r"\\href: " + SCHEME.format("//evil.example/x")),
    (ITEM.format(question=r"\href{https://}{empty}"), Q + r"\\href: " + SCHEME.format("https://")),
    (ITEM.format(question=r"\href{ javascript:alert(1)}{x}"), Q + r"\\href: the address ' javascript:alert\(1\)' holds spaces or control characters; .*"),
    (ITEM.format(question=r"\href{java\%0ascript:alert(1)}{x}"), Q + r"\\href: " + SCHEME.format(r"java\%0ascript:alert(1)")),
    (ITEM.format(question=r"\href[pdfnewwindow]{javascript:x}{y}"), Q + r"\\href: " + SCHEME.format("javascript:x")),
    (ITEM.format(question=r"\href{\jsaddress}{x}"), Q + r"\\href: the address '\\\\jsaddress' is made with commands or braces; write it out"),
    (ITEM.format(question=r"\url|javascript:alert(1)|"), Q + r"\\url: write the address in braces, such as \\url\{https://example\.org\}"),
    (ITEM.format(question=r"\fbox{\href{javascript:alert(2)}{boxed}}"), Q + r"\\href: " + SCHEME.format("javascript:alert(2)")),
    (ITEM.format(question=r"$x = \href{javascript:alert(3)}{y}$"), Q + r"\\href: " + SCHEME.format("javascript:alert(3)")),
    (ITEM.format(question=r"$\style{background:url(https://evil.example/x.png)}{x}$"), Q + r"\\style is not allowed in bank text .*"),
    (ITEM.format(question=r"$\require{https://evil.example/x.js}$"), Q + r"\\require is not allowed in bank text .*"),
    (ITEM.format(question=r"50\% off, see \url{https://example.org} % \href{javascript:x}{a comment}"), None),
    # images: none from a file (qbank carries no course image files into its outputs); TikZ is fine
    (ITEM.format(question=r"\begin{tikzpicture}\draw (0,0) -- (1,1);\end{tikzpicture}"), None),
    (ITEM.format(question=r"\includegraphics{https://evil.example/track.png}"), Q + IMAGE),
    (ITEM.format(question=r"\includegraphics[width=3cm]{/etc/passwd}"), Q + IMAGE),
    (ITEM.format(question=r"\includegraphics{../../secret.png}"), Q + IMAGE),
    (ITEM.format(question=r"\includegraphics{figures/net.png}"), Q + IMAGE),
    (ITEM.format(question=r"\pgfimage{https://evil.example/x}"), Q + r"\\pgfimage is not allowed in bank text: .*"),
    # the writers' placeholders for files
    (ITEM.format(question=r"See @@PLUGINFILE@@/../../etc/passwd"), Q + r"'@@PLUGINFILE@@' is a placeholder qbank's writers put figure files at; .*"),
    (ITEM.format(question=r"qbank-figure:../../etc/passwd"), Q + r"'qbank-figure:' is a placeholder .*"),
    (ITEM.format(question=r"\$IMS-CC-FILEBASE\$/../x"), Q + r"'IMS-CC-FILEBASE' is a placeholder .*"),
    # every field of every kind, by its own line
    (MC.format(choice=r"See \href{javascript:alert(1)}{here}"), r"line 10: item 'linked-mc': choices\[1\]\.text: \\href: " + SCHEME.format("javascript:alert(1)")),
    (TABLE.format(cell=r"'\url{javascript:x}'"), r"line 11: item 'linked-table': table\.rows\[0\]\[1\]: \\url: " + SCHEME.format("javascript:x")),
    (PARTS.format(solution=r"\includegraphics{https://evil.example/x.png}"), r"line 12: item 'linked-parts': parts\[1\]\.solution: " + IMAGE),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_links_and_images_of_bank_text(tmp_path, text, expected):
    path = tmp_path / "links.yaml"
    path.write_text(text)
    if expected is None:
        assert load_items(path)
        return
    with pytest.raises(InputError) as caught:
        load_items(path)
    message = str(caught.value)
    assert "\n" not in message
    assert re.fullmatch(re.escape(str(path)) + ": " + expected, message), message


def test_a_fine_link_loads_as_written(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text(CASES[1][0])
    (item,) = load_items(path)
    assert r"\url{http://example.org/a\_b\#sec\%20two}" in item.question


# --- every command that reads the bank refuses it, before anything is written -------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("links") / "course"
    proc = run_qbank("init", str(root), "--course", "Links")
    assert proc.returncode == 0, proc.stderr
    (root / "bank" / "exams" / "linked.yaml").write_text(
        "title: Linked\nsections:\n  - title: A\n    slots:\n      - item: linked\n"
    )
    return root


def test_every_command_refuses_a_javascript_link_at_load(course):
    items = course / "bank" / "items" / "links.yaml"
    items.write_text(ITEM.format(question=r"\href{javascript:alert(1)}{Click}"))
    expected = f"qbank: error: {items}: line 6: item 'linked': question: \\href: links in bank text go only to http"
    try:
        for argv in (
            ["bank"],
            ["exam", "linked", "--versions", "1", "--secret", SECRET],
            ["site", "--variants", "1"],
            ["export", "moodle", "linked", "--variants", "1", "--secret", SECRET],
            ["export", "canvas", "linked", "--variants", "1", "--secret", SECRET],
            ["practice", "-n", "1"],
        ):
            proc = run_qbank(*argv, cwd=course)
            assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
            lines = proc.stderr.strip().splitlines()
            assert lines and lines[-1].startswith(expected), (argv, proc.stderr)
            assert "Traceback" not in proc.stderr
        built = course / "build"  # (the folder outputs go in may be made: the lock beside the output)
        assert not built.exists() or not any(p.is_file() for p in built.rglob("*"))  # nothing written
    finally:
        items.unlink()


# --- the writers: whatever a template gives them ------------------------------------------------------

HOSTILE_TEMPLATE_TEXT = r"""
Before you start: \href{javascript:alert(1)}{read this}, \url{javascript:alert(2)},
\href{https://example.org/fine}{a fine link}, \includegraphics{https://evil.example/track.png},
\includegraphics{/etc/passwd}, $x = \href{javascript:alert(3)}{y}$,
\(\style{background:url(https://evil.example/bg.png)}{z}\), see @@PLUGINFILE@@/../../etc/passwd,
qbank-figure:../../etc/passwd and \$IMS-CC-FILEBASE\$/../../x.
"""


def live_problems(text: str, lms: bool = True) -> list[str]:
    """What an HTML text (or XML holding HTML) would make live that it must not; for an LMS (`lms`)
    also what its MathJax or its file placeholders would (the offline site runs no MathJax)."""
    found = []
    plain = html.unescape(html.unescape(text))  # Canvas escapes the HTML once more inside its XML
    tags = " ".join(re.findall(r"<(?:a|img|image|math|m[a-z]+|span|div|svg)\b[^>]*>", plain, re.I))  # the page's own <link>s aside
    for match in re.finditer(r"""\b(href|src|xlink:href)\s*=\s*["']?\s*([^"'\s>]*)""", tags, re.I):
        name, value = match.group(1).lower(), match.group(2)
        if name == "href" and not re.match(r"(https?://|mailto:|#)", value, re.I):
            found.append(f"{name}={value}")
        if name == "src" and not re.search(r"fig-[0-9a-f]{16}\.svg$", value):
            found.append(f"{name}={value}")
        if name in ("src", "xlink:href") and re.match(r"(https?:)?//", value, re.I):
            found.append(f"remote {name}={value}")
    for pattern in (r"\\href\b", r"\\style\b", r"@@PLUGINFILE@@/\.\.", r"IMS-CC-FILEBASE\$/\.\.", r"%24IMS-CC-FILEBASE%24/\.\."):
        found += re.findall(pattern, text) if lms else []
    return found


def test_live_problems_finds_what_it_looks_for():
    assert live_problems('<a href="javascript:x">a</a><img src="https://e/x.png"/>') == [
        "href=javascript:x", "src=https://e/x.png", "remote src=https://e/x.png"]
    assert live_problems('<a href="https://ok">a</a><img src="figures/fig-0123456789abcdef.svg"/>') == []
    assert live_problems("<![CDATA[@@PLUGINFILE@@/../../etc/passwd]]>") == ["@@PLUGINFILE@@/.."]


@pytest.fixture(scope="module")
def hostile_family(tmp_path_factory) -> Path:
    """A course whose own family's template (course code: trusted to run, not to link) holds links,
    images and placeholders that bank text could never hold."""
    root = tmp_path_factory.mktemp("writers") / "course"
    assert run_qbank("init", str(root), "--course", "Writers").returncode == 0
    template = root / "templates" / "neuron" / "sigmoid-neuron.tex.j2"
    text = template.read_text()
    marker = "\\begin{parts}"
    assert marker in text
    template.write_text(text.replace(marker, HOSTILE_TEMPLATE_TEXT + marker, 1))
    (root / "bank" / "exams" / "hostile.yaml").write_text(
        "title: Hostile\nsections:\n  - title: A\n    slots:\n      - family: sigmoid-neuron\n        points: 3\n"
    )
    return root


def test_the_web_page_of_a_hostile_template_has_nothing_live(hostile_family):
    out = hostile_family / "page"
    proc = run_qbank("draw", "sigmoid-neuron", "--format", "html", "--out", str(out), cwd=hostile_family)
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text()
    assert "read this" in page and "a fine link" in page  # the text stays, unlinked
    assert '<a href="https://example.org/fine">a fine link</a>' in page
    assert live_problems(page, lms=False) == []
    assert "mathjax" not in page.lower()  # the TeX of a formula pandoc could not read stays text


def test_the_lms_exports_of_a_hostile_template_have_nothing_live(hostile_family):
    out = hostile_family / "quiz"
    proc = run_qbank("export", "moodle", "hostile", "--variants", "2", "--secret", SECRET,
                     "--out", str(out / "moodle" / "quiz.xml"), cwd=hostile_family)
    assert proc.returncode == 0, proc.stderr
    xml = (out / "moodle" / "quiz.xml").read_text()
    assert "read this" in xml
    assert live_problems(xml) == []
    for place in re.findall(r"@@PLUGINFILE@@/[^\"'\s<]*", xml):  # only qbank's own figures
        assert re.fullmatch(r"@@PLUGINFILE@@/fig-[0-9a-f]{16}\.svg", place), place

    proc = run_qbank("export", "canvas", "hostile", "--variants", "2", "--secret", SECRET,
                     "--out", str(out / "canvas" / "quiz.zip"), cwd=hostile_family)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out / "canvas" / "quiz.zip") as package:
        texts = [package.read(name).decode() for name in package.namelist() if name.endswith(".xml")]
    assessment = "\n".join(texts)
    assert "read this" in assessment
    assert live_problems(assessment) == []
    for place in re.findall(r"%24IMS-CC-FILEBASE%24/[^\"'\s<&]*", assessment):
        assert re.fullmatch(r"%24IMS-CC-FILEBASE%24/images/fig-[0-9a-f]{16}\.svg", place), place
    manifest = json.loads((out / "moodle" / "manifest.json").read_text())
    assert manifest["versions"]


# --- the converter's and the LMS writers' last line, on HTML as any source may give it ------------------

SAFE_LINKS_CASES = [
    ('<p><a href="javascript:alert(1)">click</a></p>', '<p><span class="qbank-link-removed">click</span></p>'),
    ('<a href=" java\tscript:x" class="uri">y</a>', '<span class="qbank-link-removed">y</span>'),
    ('<a href="&#106;avascript:alert(1)">entity</a>', '<span class="qbank-link-removed">entity</span>'),
    ("<a href='javascript:x'>single</a>", '<span class="qbank-link-removed">single</span>'),
    ("<a href=javascript:x>bare</a>", '<span class="qbank-link-removed">bare</span>'),
    ('<a href="javascript:x//>">gt in the value</a>', '<span class="qbank-link-removed">gt in the value</span>'),
    ('<a href="https://ok.example" onmouseover="x()">handler</a>', '<span class="qbank-link-removed">handler</span>'),
    ('<a href="data:text/html,x">data</a>', '<span class="qbank-link-removed">data</span>'),
    ('<a href="https://ok.example/a">ok</a>', None),
    ('<a href="mailto:ta@example.org">mail</a>', None),
    ('<a href="#fn1" class="footnote-ref" id="fnref1">1</a>', None),  # pandoc's footnotes
    ('<img src="https://evil.example/x.png" alt="image" />', '<span class="qbank-image-removed">[image]</span>'),
    ('<img src="/etc/passwd" />', '<span class="qbank-image-removed">[image]</span>'),
    ('<img src="../fig-0123456789abcdef.svg" />', '<span class="qbank-image-removed">[image]</span>'),
    ('<img src="fig-0123456789abcdef.svg" class="qbank-figure-img" alt="Figure" />', None),
    ('<span style="background:url(https://evil.example/x.png)">s</span>', "<span>s</span>"),
    ('<math><mi href="javascript:x">x</mi></math>', "<math><mi>x</mi></math>"),
    ('<div onclick="x()">d</div>', "<div>d</div>"),
    ('<p a="<" style="x:url(1)">q</p>', '<p a="<">q</p>'),
    ('<span style="color: #ff0000">red</span>', None),
]


@pytest.mark.parametrize("given, expected", SAFE_LINKS_CASES)
def test_the_converter_keeps_nothing_live(given, expected):
    from qbank.html.convert import safe_links

    assert safe_links(given) == (given if expected is None else expected)


def test_the_lms_text_carries_mathjax_links_and_file_placeholders_as_text():
    from qbank.lms.common import FIGURE_URL, inert

    figure = f'<img src="{FIGURE_URL}fig-0123456789abcdef.svg" />'
    text = inert(r"<p>\(\href{javascript:x}{y} + \style{background:url(https://e/x.png)}{z}\) "
                 r"@@PLUGINFILE@@/../../etc/passwd $IMS-CC-FILEBASE$/x %24IMS-CC-FILEBASE%24/y qbank-figure:../z</p>" + figure)
    assert r"\backslash\mathrm{href}{javascript:x}" in text and r"\backslash\mathrm{style}" in text
    assert "@@PLUGINFILE@@" not in text and "IMS-CC-FILEBASE" not in text.upper().replace("&#", "")
    assert text.count(FIGURE_URL) == 1 and text.endswith(figure)  # qbank's own figure, and only it
    assert html.unescape(text).count("@@PLUGINFILE@@/../../etc/passwd") == 1  # shown as written
