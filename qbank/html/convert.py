"""Rendered LaTeX fragments (a problem or a solution block) as HTML fragments, with maths as MathML
(or, for an LMS, as TeX that its MathJax draws: `math="mathjax"`).

pandoc 3 (the pypandoc-binary wheel) reads the LaTeX (`latex+raw_tex`) and writes HTML with MathML.
What pandoc's reader drops or mangles is handled on both sides of it:

- before it, in Python (`prepare`): qbank's marker comments and `\\message` lines go; TikZ pictures
  become `\\includegraphics{fig-<hash>.svg}` (qbank.html.figures); the exam class's `parts`,
  `subparts` and `choices` (pandoc reads `\\part` as a sectioning command and skips the block) become
  `enumerate` lists whose items carry a `\\qbankitem{KIND}{POINTS}` marker; `\\qbankanswer{...}` and
  `\\qbankfigure{...}` become environments that pandoc keeps raw; a measured box (`\\setbox0=\\hbox{...}`
  ... `\\box0`) is put back where it is used; the material of `@{...}` column specs, which pandoc
  drops, moves into the cells beside it;
- after it, in the Lua filter (filter.lua, shipped beside this file): the markers become
  `<ol class="qbank-parts" type="a">` (subparts roman, choices A, B, ...), `<li data-points="2">`,
  `<div class="qbank-answer"><strong>Answer:</strong> ...</div>` and a centred figure; every other raw
  LaTeX command becomes its content (`\\fbox`, `\\makebox`, unknown commands) or its spacing (`\\quad`,
  `\\hfill`, ...); xcolor colours become CSS colours;
- and in Python again: figure images get their `src` from the caller, and the columns after a `|` in
  an `array` get a rule (MathML Core has no `columnlines`).

Many fragments go through one pandoc run (`latex_to_html_many`), separated by markers, in parallel.
"""

from __future__ import annotations

import functools
import html as htmlmod
import hashlib
import re
import subprocess
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import QbankError
from ..progress import QUIET, Reporter
from .figures import extract_figures

FILTER = Path(__file__).resolve().with_name("filter.lua")
READER = "latex+raw_tex-auto_identifiers"
PANDOC_TIMEOUT_S = 300
# how maths is written: MathML for the offline pages (the browser draws it), or TeX between \( \) and
# \[ \] for a MathJax that the page's host runs (Moodle's and Canvas's filters)
MATH_MODES = {"mathml": "--mathml", "mathjax": "--mathjax"}
BATCH_MAX = 400  # fragments per pandoc run at most (then more runs, in parallel)


class ConversionError(QbankError):
    """pandoc could not convert a fragment (or is missing)."""


def _identity(name: str) -> str:
    return name


@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    try:
        import pypandoc
    except ImportError:
        raise ConversionError("pypandoc-binary is not installed (pip install pypandoc-binary); it brings pandoc 3") from None
    try:
        return pypandoc.get_pandoc_path()
    except OSError as exc:
        raise ConversionError(f"pandoc not found ({exc}); install pypandoc-binary") from None


@functools.lru_cache(maxsize=1)
def pandoc_version() -> str:
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True, timeout=60).stdout
    return out.splitlines()[0] if out else "unknown"


# --- the pre-pass ------------------------------------------------------------------------------------


def group_end(tex: str, start: int, open_: str = "{", close: str = "}") -> int:
    """The index just past the group that opens at tex[start] (`{` ... `}`, escapes skipped); -1 when
    it is not closed."""
    depth = 0
    i = start
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            i += 2
            continue
        if c == "%":
            newline = tex.find("\n", i)
            i = len(tex) if newline < 0 else newline + 1
            continue
        if c == "{" and open_ != "{":
            end = group_end(tex, i)
            if end < 0:
                return -1
            i = end
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _skip_space(tex: str, i: int) -> int:
    while i < len(tex) and tex[i] in " \t\n":
        i += 1
    return i


def replace_command(tex: str, name: str, make: Callable[[str], str]) -> str:
    """Every `\\name{ARG}` replaced by make(ARG) (ARG itself processed first)."""
    pattern = re.compile(r"\\" + re.escape(name) + r"(?![A-Za-z@])")
    out, pos = [], 0
    for match in pattern.finditer(tex):
        if match.start() < pos:
            continue
        i = _skip_space(tex, match.end())
        if i >= len(tex) or tex[i] != "{":
            continue
        end = group_end(tex, i)
        if end < 0:
            continue
        out.append(tex[pos : match.start()])
        out.append(make(replace_command(tex[i + 1 : end - 1], name, make)))
        pos = end
    out.append(tex[pos:])
    return "".join(out)


def precision_statements(tex: str, lms: bool = False) -> str:
    """`\\qbankprecision{PAPER}{LMS}` (how precisely a part's numbers are asked, qbank.grading) as a
    paragraph of its own: the paper's words on the site, the LMS's (an exact fraction asked as a
    decimal) with `lms`."""
    pattern = re.compile(r"\\qbankprecision(?![A-Za-z@])\s*")
    out, pos = [], 0
    for match in pattern.finditer(tex):
        first = match.end()
        first_end = group_end(tex, first) if tex[first : first + 1] == "{" else -1
        second = _skip_space(tex, first_end) if first_end > 0 else -1
        second_end = group_end(tex, second) if second >= 0 and tex[second : second + 1] == "{" else -1
        if second_end < 0:
            continue
        chosen = tex[second + 1 : second_end - 1] if lms else tex[first + 1 : first_end - 1]
        out += [tex[pos : match.start()], f"\n\n\\emph{{{chosen}}}\n\n"]
        pos = second_end
    out.append(tex[pos:])
    return "".join(out)


_MARKER_LINE = re.compile(r"^[ \t]*% ?qbank-[a-z]+:?.*(?:\n|$)", re.M)
_MESSAGE = re.compile(r"\\message(?![A-Za-z@])\s*")
_ARRAYSTRETCH = re.compile(r"\\def\s*\\arraystretch\s*\{[^{}]*\}|\\renewcommand\s*\{?\\arraystretch\}?\s*\{[^{}]*\}")
_SETBOX = re.compile(r"\\setbox\s*(\d+)\s*=?\s*\\[hv]box\s*(?=\{)")
_DIMEN_WD = re.compile(r"\\dimen\s*\d+\s*=?\s*\\wd\s*\d+\s*")
_BOX = re.compile(r"\\(?:box|copy|unhbox|unhcopy)\s*(\d+)(?![0-9])")

# exam-class lists: environment -> the kind its items are marked with
LIST_ENVS = {
    "parts": "parts", "subparts": "subparts", "subsubparts": "subsubparts",
    "choices": "choices", "oneparchoices": "choices", "checkboxes": "checkboxes", "oneparcheckboxes": "checkboxes",
}
# a part's optional argument is its points; a choice takes none (a `[` after it is text)
_LISTS = re.compile(
    r"\\(begin|end)\{(" + "|".join(LIST_ENVS) + r")\}"
    r"|\\(part|subpart|subsubpart)(?![A-Za-z@])(?:\s*\[([^\]]*)\])?"
    r"|\\(choice|CorrectChoice|correctchoice)(?![A-Za-z@])"
)


def _drop_messages(tex: str) -> str:
    out, pos = [], 0
    for match in _MESSAGE.finditer(tex):
        if match.start() < pos or match.end() >= len(tex) or tex[match.end()] != "{":
            continue
        end = group_end(tex, match.end())
        if end < 0:
            continue
        out.append(tex[pos : match.start()])
        pos = end + 1 if tex[end : end + 1] == "%" else end
        if tex[pos : pos + 1] == "\n" and tex[end : end + 1] == "%":
            pos += 1
    out.append(tex[pos:])
    return "".join(out)


def _boxes(tex: str) -> str:
    """`\\setbox0=\\hbox{X}` ... `\\box0`: X where the box is used (pandoc knows no TeX boxes)."""
    saved: dict[str, str] = {}
    out, pos = [], 0
    for match in _SETBOX.finditer(tex):
        if match.start() < pos:
            continue
        end = group_end(tex, match.end())
        if end < 0:
            continue
        saved[match.group(1)] = tex[match.end() + 1 : end - 1]
        out.append(tex[pos : match.start()])
        pos = end + 1 if tex[end : end + 1] == "%" else end
    out.append(tex[pos:])
    tex = _DIMEN_WD.sub("", "".join(out))
    return _BOX.sub(lambda m: saved.get(m.group(1), ""), tex)


def _lists(tex: str) -> str:
    """parts / subparts / choices as enumerate; each item marked `\\qbankitem{KIND}{POINTS}`."""
    stack: list[str] = []

    def repl(match: re.Match) -> str:
        if match.group(1) == "begin":
            stack.append(LIST_ENVS[match.group(2)])
            return "\\begin{enumerate}"
        if match.group(1) == "end":
            if stack:
                stack.pop()
            return "\\end{enumerate}"
        if not stack:
            return match.group(0)
        points = (match.group(4) or "").strip()
        return f"\\item\\qbankitem{{{stack[-1]}}}{{{points}}} "

    return _LISTS.sub(repl, tex)


def prepare(tex: str) -> str:
    """The fragment as LaTeX that pandoc and filter.lua read without loss (see the module's docstring)."""
    tex = _MARKER_LINE.sub("", tex)
    tex = precision_statements(tex)
    tex = _drop_messages(tex)
    tex, _ = extract_figures(tex)
    tex = _boxes(tex)
    tex = _ARRAYSTRETCH.sub("", tex)
    tex = re.sub(r"\\(?:begin|end)\{qbanksolution\}", "\n", tex)
    # a minipage, which pandoc reads in the same pass, marked for the filter
    for name, kind in (("qbankanswer", "answer"), ("qbankfigure", "figure")):
        tex = replace_command(tex, name, lambda body, kind=kind: f"\n\\begin{{minipage}}{{\\linewidth}}\\qbankdiv{{{kind}}}{body}\\end{{minipage}}\n")
    tex = _lists(tex)
    return tables_inline_material(tex)


# --- tables: what `@{...}` puts between columns -----------------------------------------------------

_TABULAR = re.compile(r"\\begin\{(tabular\*?|tabularx|tabulary|longtable)\}")
_RULES = re.compile(
    r"^(\s*(?:\\(?:toprule|midrule|bottomrule|hline|addlinespace|specialrule|cmidrule|cline)"
    r"(?:\s*\[[^\]]*\])?(?:\s*\([^)]*\))?(?:\s*\{[^{}]*\})*\s*|%[^\n]*\n)*)"
)
_MULTICOLUMN = re.compile(r"\\multicolumn\s*\{\s*(\d+)\s*\}")


def _expand_stars(spec: str) -> str:
    while True:
        match = re.search(r"\*\s*\{\s*(\d+)\s*\}\s*\{", spec)
        if not match:
            return spec
        end = group_end(spec, match.end() - 1)
        if end < 0:
            return spec
        spec = spec[: match.start()] + spec[match.end() : end - 1] * int(match.group(1)) + spec[end:]


def parse_colspec(spec: str) -> tuple[str, list[str]]:
    """A column spec without the material of its `@{...}`/`!{...}`, and that material between the
    columns: inter[i] stands before column i (inter[ncols] after the last)."""
    spec = _expand_stars(spec)
    clean: list[str] = []
    inter = [""]
    i = 0
    while i < len(spec):
        c = spec[i]
        if c in "@!<>" and _skip_space(spec, i + 1) < len(spec) and spec[_skip_space(spec, i + 1)] == "{":
            j = _skip_space(spec, i + 1)
            end = group_end(spec, j)
            if end < 0:
                return spec, [""]
            body = spec[j + 1 : end - 1]
            if c in "@!" and body.strip():
                inter[-1] += body
                clean.append("@{}" if c == "@" else "")
            else:
                clean.append(spec[i:end])
            i = end
            continue
        if c in "pmbw" and _skip_space(spec, i + 1) < len(spec) and spec[_skip_space(spec, i + 1)] == "{":
            j = _skip_space(spec, i + 1)
            end = group_end(spec, j)
            if c == "w":  # w{align}{width}
                end = group_end(spec, _skip_space(spec, end))
            if end < 0:
                return spec, [""]
            clean.append(spec[i:end])
            inter.append("")
            i = end
            continue
        if c.isalpha():
            inter.append("")
        clean.append(c)
        i += 1
    return "".join(clean), inter


def _split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` (`&` or `\\\\`) outside braces and nested environments."""
    parts, depth, envs, start, i = [], 0, 0, 0, 0
    while i < len(text):
        c = text[i]
        if text.startswith("\\begin{", i):
            envs += 1
            i += 7
            continue
        if text.startswith("\\end{", i):
            envs -= 1
            i += 5
            continue
        if sep == "\\\\" and depth == 0 and envs == 0 and text.startswith("\\\\", i):
            parts.append(text[start:i])
            i += 2
            start = i
            continue
        if c == "\\":
            i += 2
            continue
        if c == "%":
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "&" and sep == "&" and depth == 0 and envs == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _with_material(body: str, inter: list[str]) -> str:
    rows = _split_top(body, "\\\\")
    out_rows = []
    for n, row in enumerate(rows):
        if n > 0:
            # a row separator's optional [length] stays with it
            gap = re.match(r"\s*\[[^\]]*\]", row)
            prefix, row = (gap.group(0), row[gap.end():]) if gap else ("", row)
        else:
            prefix = ""
        rules = _RULES.match(row)
        if not row[rules.end():].strip():
            out_rows.append(prefix + row)  # only rules: not a row of cells
            continue
        cells = _split_top(row, "&")
        col = 0
        new_cells = []
        for k, cell in enumerate(cells):
            lead = _RULES.match(cell).end() if k == 0 else 0
            content = cell[lead:]
            multi = _MULTICOLUMN.match(content.lstrip())
            span = int(multi.group(1)) if multi else 1
            before = inter[0] if col == 0 else ""
            after = inter[col + 1] if col + 1 < len(inter) else ""
            if not multi and (before or after):
                stripped = content.rstrip()
                # spaced, so that `$a$` and a material `$=$` never make a `$$`
                content = " ".join(x for x in (before, stripped, after) if x) + content[len(stripped):]
            new_cells.append(cell[:lead] + content)
            col += span
        out_rows.append(prefix + "&".join(new_cells))
    return "\\\\".join(out_rows)


def tables_inline_material(tex: str) -> str:
    """Tabulars whose column spec puts text between columns (`r@{${}={}$}l`): that text written into
    the cells it follows, since pandoc drops it. A cell spanning columns (\\multicolumn) covers it."""
    out, pos = [], 0
    for match in _TABULAR.finditer(tex):
        if match.start() < pos:
            continue
        env = match.group(1)
        # the column spec is the last required argument: the second of tabular*/tabularx/tabulary
        # (after the width), the first of the others; a [position] may stand between them
        wanted = 2 if env in ("tabular*", "tabularx", "tabulary") else 1
        i, spec_start, seen = match.end(), -1, 0
        while seen < wanted:
            i = _skip_space(tex, i)
            if i < len(tex) and tex[i] == "[":
                i = group_end(tex, i, "[", "]")
            elif i < len(tex) and tex[i] == "{":
                spec_start, i, seen = i, group_end(tex, i), seen + 1
            else:
                i = -1
            if i < 0:
                break
        if i < 0 or seen < wanted:
            continue
        spec = tex[spec_start + 1 : i - 1]
        clean, inter = parse_colspec(spec)
        if not any(m.strip() for m in inter):
            continue
        end_tag = f"\\end{{{env}}}"
        close = _matching_end(tex, i, env)
        if close < 0:
            continue
        body = tables_inline_material(tex[i:close])
        out.append(tex[pos:spec_start])
        out.append("{" + clean + "}")
        out.append(_with_material(body, inter))
        out.append(end_tag)
        pos = close + len(end_tag)
    out.append(tex[pos:])
    return "".join(out)


def _matching_end(tex: str, start: int, env: str) -> int:
    pattern = re.compile(r"\\(begin|end)\{" + re.escape(env) + r"\}")
    depth = 1
    for match in pattern.finditer(tex, start):
        depth += 1 if match.group(1) == "begin" else -1
        if depth == 0:
            return match.start()
    return -1


# --- the post-pass -------------------------------------------------------------------------------------

_FIGURE_SRC = re.compile(r'src="(fig-[0-9a-f]{16})\.svg"')
_MATH = re.compile(r"<math\b.*?</math>", re.S)
_ANNOTATION = re.compile(r'<annotation encoding="application/x-tex">(.*?)</annotation>', re.S)
# the environments texmath writes as an <mtable>, in the order their \begin appears
_TABLE_ENVS = re.compile(
    r"\\begin\{(array|subarray|matrix|pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|smallmatrix|cases|dcases|rcases"
    r"|aligned|alignedat|gathered|split|align\*?|alignat\*?|gather\*?|eqnarray\*?|multline\*?|flalign\*?)\}"
)


def _bars(spec: str) -> list[int]:
    """The columns with a rule before them (0-based; ncols: after the last)."""
    bars, col, i = [], 0, 0
    while i < len(spec):
        c = spec[i]
        if c == "|":
            bars.append(col)
        elif c in "@!<>pmb" and i + 1 < len(spec) and spec[i + 1] == "{":
            end = group_end(spec, i + 1)
            if end < 0:
                break
            if c in "pmb":
                col += 1
            i = end
            continue
        elif c.isalpha():
            col += 1
        i += 1
    return bars


# environments whose cells LaTeX sets in display style (amsmath's alignments); arrays and matrices
# are in text style
_DISPLAY_ENVS = {"aligned", "alignedat", "gathered", "split", "align", "align*", "alignat", "alignat*", "gather",
                 "gather*", "eqnarray", "eqnarray*", "multline", "multline*", "flalign", "flalign*", "dcases"}


def _tables(math: str, tex: str) -> str:
    """What texmath leaves out of each <mtable>: the rules of an `array` column spec (`{rr|r}`), as
    CSS borders on the cells after them, and the display style of an alignment's cells. The tables
    are matched to the environments in the order they begin; when the counts differ, nothing is done."""
    envs = list(_TABLE_ENVS.finditer(tex))
    fixes: list[tuple[list[int], bool]] = []
    for match in envs:
        bars: list[int] = []
        if match.group(1) == "array":
            i = _skip_space(tex, match.end())
            if i < len(tex) and tex[i] == "[":
                i = _skip_space(tex, group_end(tex, i, "[", "]"))
            if i < len(tex) and tex[i] == "{":
                end = group_end(tex, i)
                bars = _bars(_expand_stars(tex[i + 1 : end - 1])) if end > 0 else []
        fixes.append((bars, match.group(1) in _DISPLAY_ENVS))
    if not any(bars or display for bars, display in fixes):
        return math
    tables = list(re.finditer(r"<mtable\b", math))
    if len(tables) != len(fixes):
        return math  # not the structure expected: leave it as texmath wrote it
    # from the last table to the first, so that the offsets of the earlier ones stay valid
    for table, (bars, display) in reversed(list(zip(tables, fixes))):
        rest = math[table.start() :]
        if bars:
            rest = _rule_table(rest, bars)
        if display and not re.match(r"<mtable\b[^>]*displaystyle=", rest):
            rest = '<mtable displaystyle="true"' + rest[len("<mtable") :]
        math = math[: table.start()] + rest
    return math


def _rule_table(text: str, bars: list[int]) -> str:
    """`text` starts with an <mtable>: its direct rows' cells get borders (nested tables untouched)."""
    out, i, depth, col = [], 0, 0, 0
    tag = re.compile(r"<(/?)(mtable|mtr|mtd)\b([^>]*)>")
    for match in tag.finditer(text):
        closing, name = match.group(1) == "/", match.group(2)
        if name == "mtable":
            depth += -1 if closing else 1
            if depth == 0:
                out.append(text[i : match.end()])
                i = match.end()
                break
            continue
        if depth != 1:
            continue
        if name == "mtr" and not closing:
            col = 0
        elif name == "mtd" and not closing:
            styles = []
            if col in bars:
                styles.append("border-left: 1px solid currentColor; padding-left: 0.4em")
            if col + 1 in bars and col + 1 == max(bars) and _is_last_cell(text, match.end()):
                styles.append("border-right: 1px solid currentColor; padding-right: 0.4em")
            if styles:
                attrs = match.group(3)
                style = re.search(r'style="([^"]*)"', attrs)
                if style:
                    merged = style.group(1).rstrip("; ") + "; " + "; ".join(styles)
                    attrs = attrs[: style.start()] + f'style="{merged}"' + attrs[style.end():]
                else:
                    attrs += f' style="{"; ".join(styles)}"'
                out.append(text[i : match.start()] + f"<mtd{attrs}>")
                i = match.end()
            col += 1
    out.append(text[i:])
    return "".join(out)


def _is_last_cell(text: str, pos: int) -> bool:
    """Whether the <mtd> opened just before `pos` is the last of its row."""
    depth = 0
    for match in re.finditer(r"<(/?)(mtd|mtr)\b[^>]*>", text[pos:]):
        closing, name = match.group(1) == "/", match.group(2)
        if name == "mtd":
            depth += -1 if closing else 1
            if depth < 0:
                depth = 0
            elif depth == 1 and not closing:
                return False
        elif name == "mtr" and closing:
            return True
    return True


_MATHRM_WORD = re.compile(r"\\mathrm\s*\{([A-Za-z]{2,})\}")
_BOLD_ITALIC = re.compile(r'<mi mathvariant="bold-italic">([^<])</mi>')


def _upright_words(math: str, tex: str) -> str:
    """`\\mathrm{ReLU}` is one upright word, not four upright letters (texmath writes an <mi> each)."""
    for word in sorted(set(_MATHRM_WORD.findall(tex)), key=len, reverse=True):
        letters = "".join(f'<mi mathvariant="normal">{c}</mi>' for c in word)
        math = math.replace(letters, f'<mi mathvariant="normal">{word}</mi>')
    return math


def _upright_bold(math: str) -> str:
    """`\\mathbf{W}` is upright bold in LaTeX; texmath writes bold italic (𝑾): made bold (𝐖)."""

    def bold(match: re.Match) -> str:
        base = unicodedata.normalize("NFKC", match.group(1))
        if "A" <= base <= "Z":
            return f'<mi mathvariant="bold">{chr(0x1D400 + ord(base) - 65)}</mi>'
        if "a" <= base <= "z":
            return f'<mi mathvariant="bold">{chr(0x1D41A + ord(base) - 97)}</mi>'
        return match.group(0)

    return _BOLD_ITALIC.sub(bold, math)


# pandoc writes each cell's alignment twice, as columnalign (which Firefox reads) and as an inline
# `text-align`, which would win over the stylesheet: qbank.css aligns the cells from columnalign in
# Chromium and WebKit alike (see the comment there)
_CELL_TEXT_ALIGN = re.compile(r'(<mtd\b[^>]*?) style="([^"]*)"')


def _cell_style(match: re.Match) -> str:
    rest = "; ".join(d.strip() for d in match.group(2).split(";") if d.strip() and not d.strip().startswith("text-align"))
    return f'{match.group(1)} style="{rest}"' if rest else match.group(1)


# --- accents: a spacing character over the base, drawn visibly by every engine ----------------------

# TeX command -> (the spacing accent character, wide: stretched over its base). texmath writes combining
# characters (U+0302 ...), which Chromium draws with zero width beside the base and WebKit draws flat or
# not at all, and marks the <mo> (which MathML Core ignores) rather than the <mover> as the accent.
ACCENTS = {
    "hat": ("\u02c6", False), "widehat": ("^", True), "check": ("\u02c7", False), "widecheck": ("\u02c7", True),
    "tilde": ("\u02dc", False), "widetilde": ("~", True), "bar": ("\u00af", False), "overline": ("\u00af", True),
    "vec": ("\u2192", False), "overrightarrow": ("\u2192", True), "overleftarrow": ("\u2190", True),
    "overleftrightarrow": ("\u2194", True), "dot": ("\u02d9", False), "ddot": ("\u00a8", False),
    "dddot": ("\u02d9\u02d9\u02d9", False), "acute": ("\u00b4", False), "grave": ("`", False),
    "breve": ("\u02d8", False), "mathring": ("\u02da", False),
}
# texmath's character -> the command it comes from (where the commands cannot be matched one to one)
_ACCENT_OF_CHAR = {
    "\u0302": "hat", "\u030c": "check", "\u0303": "tilde", "\u203e": "bar", "\u00af": "overline", "\u2192": "vec",
    "\u20d7": "vec", "\u0307": "dot", "\u0308": "ddot", "\u20db": "dddot", "\u0301": "acute", "\u0300": "grave",
    "\u0306": "breve", "\u030a": "mathring", "\u20d6": "overleftarrow", "\u2190": "overleftarrow",
    "\u2194": "overleftrightarrow", "^": "widehat", "~": "widetilde",
}
# every command that texmath writes as a <mover> ending in its accent <mo> (\overbrace stays as it is)
_ACCENT_COMMAND = re.compile(r"\\(" + "|".join(sorted(ACCENTS, key=len, reverse=True)) + r"|overbrace)(?![A-Za-z@])")
_MOVER = re.compile(r"<(/?)mover\b[^>]*>")
_ACCENT_MO = re.compile(r'<mo accent="true">([^<]*)</mo>$')


def _accent_mo(command: str) -> str:
    char, wide = ACCENTS[command]
    if wide:
        return f'<mo stretchy="true" lspace="0" rspace="0">{char}</mo>'
    if command == "vec":  # an arrow at the size of an accent, not of a relation
        return f'<mo stretchy="false" lspace="0" rspace="0" mathsize="0.7em">{char}</mo>'
    # class: WebKit's own MathML layout sets a non-stretched accent too high (qbank.css lowers it there)
    return f'<mo class="qbank-accent" stretchy="false" lspace="0" rspace="0">{char}</mo>'


def _accents(math: str, tex: str) -> str:
    """Each accent as `<mover accent="true">BASE<mo ...>SPACING ACCENT</mo></mover>`: \\hat and
    \\widehat (both U+0302 in texmath's output) told apart by the TeX, in the order the accents open."""
    found: list[tuple[int, int, int, int, str]] = []  # mover start, its end, accent <mo> start, </mover>, char
    stack: list[re.Match] = []
    for match in _MOVER.finditer(math):
        if not match.group(1):
            stack.append(match)
            continue
        if not stack:
            return math
        opening = stack.pop()
        accent = _ACCENT_MO.search(math, opening.end(), match.start())
        if accent:
            found.append((opening.start(), opening.end(), accent.start(), match.start(), accent.group(1)))
    if not found:
        return math
    found.sort()
    commands = [m.group(1) for m in _ACCENT_COMMAND.finditer(tex)]
    if len(commands) != len(found):
        commands = [_ACCENT_OF_CHAR.get(char, "") for *_, char in found]
    edits = []  # (start, end, replacement); an accent's base may hold another accent: none overlap
    for (start, open_end, mo_start, close, _), command in zip(found, commands):
        if command in ACCENTS:  # else \overbrace, or a character this table does not know: as it is
            edits += [(start, open_end, '<mover accent="true">'), (mo_start, close, _accent_mo(command))]
    for start, end, replacement in sorted(edits, reverse=True):
        math = math[:start] + replacement + math[end:]
    return math


# --- operator names: TeX's thin spaces ----------------------------------------------------------------

# texmath's operator name (\log, \max, \operatorname{Var}): the name and the invisible function
# application; in display, a name with limits is an <munder> of the bare name
_OPERATOR = re.compile(
    r'<mrow><mi mathvariant="normal">[^<]+</mi><mo>&#8289;</mo></mrow>'
    r'|<munder><mi mathvariant="normal">[A-Za-z]+</mi>'
)
_SCRIPT_OPEN = re.compile(r"<(msub|msup|msubsup|munder|mover|munderover)>$")
# what ends an ordinary (or closing) atom just before an operator name: TeX puts a thin space there
_ORDINARY_END = re.compile(r"</(?:mi|mn|mtext|mrow|msub|msup|msubsup|mover|munder|munderover|mfrac|msqrt|mroot"
                           r"|mstyle|mpadded|menclose|mtable|mphantom)>$")
_MO_END = re.compile(r"<mo\b([^>]*)>([^<]*)</mo>$")
THIN = '<mspace width="0.1667em"></mspace>'


def _element_end(math: str, start: int, name: str) -> int:
    """The index just past the element <name> that opens at math[start]."""
    depth = 0
    for match in re.finditer(rf"<(/?){name}\b[^>]*>", math[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return start + match.end()
    return len(math)


def _spaced_operators(math: str) -> str:
    """TeX's spacing around an operator name, which MathML Core does not give (its function application
    has no space): a thin space after an ordinary atom, a closing fence or a comma before it (`-y \\log
    \\hat y`, `x \\tanh`), none after an opening fence or a binary or relation sign (their own spacing);
    a thin space before an ordinary argument after it (`\\log p`), none before a parenthesis (`\\log(x)`)."""
    out, pos = [], 0
    for match in _OPERATOR.finditer(math):
        if match.start() < pos:
            continue
        start = match.start()
        if match.group(0).startswith("<munder>"):
            end = _element_end(math, start, "munder")
        else:
            end = match.end()
            script = _SCRIPT_OPEN.search(math, 0, start)
            if script:  # the name is the base of its limits or scripts: the spaces go around the whole
                start, end = script.start(), _element_end(math, script.start(), script.group(1))
        if start < pos:
            continue
        before = math[pos:start]
        left = False
        if _ORDINARY_END.search(before):
            left = True
        else:
            mo = _MO_END.search(before)
            left = bool(mo) and ('form="postfix"' in mo.group(1) or mo.group(2) in (",", ";"))
        right = not re.match(r"<mo[\s>]|<mspace\b|</", math[end:])
        out.append(before + (THIN if left else "") + math[start:end] + (THIN if right else ""))
        pos = end
    out.append(math[pos:])
    return "".join(out)


def _fix_math(math: str) -> str:
    annotation = _ANNOTATION.search(math)
    if not annotation:
        return math
    tex = htmlmod.unescape(annotation.group(1))
    if "\\mathrm" in tex:
        math = _upright_words(math, tex)
    if "\\mathbf" in tex and not re.search(r"\\(?:boldsymbol|bm|mathbfit|symbfit)\b", tex):
        math = _upright_bold(math)
    if "\\begin" in tex:
        math = _tables(math, tex)
    if 'accent="true"' in math:
        math = _accents(math, tex)
    if "&#8289;" in math or "<munder>" in math:
        math = _spaced_operators(math)
    return _CELL_TEXT_ALIGN.sub(_cell_style, math) if "<mtd" in math else math


# --- links and images: nothing live but http(s), mailto and the page's own anchors; no image but qbank's figures

SAFE_LINK = re.compile(r"(?:https?://|mailto:|#)", re.IGNORECASE)
_ATTRS = r"""((?:[^>"']|"[^"]*"|'[^']*')*)"""  # a tag's attributes, quotes read (a `>` may stand in a value)
_LINK = re.compile(r"<a\b" + _ATTRS + r">(.*?)</a\s*>", re.S | re.I)
_IMG = re.compile(r"<img\b" + _ATTRS + r">", re.S | re.I)
_ATTR = re.compile(r"""\s([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
_URL_ATTRS = {"href", "src", "srcset", "xlink:href", "action", "formaction", "poster", "background", "data", "lowsrc", "dynsrc"}
_OWN_FIGURE = re.compile(r"fig-[0-9a-f]{16}\.svg")
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_RISKY = re.compile(r"<a\b|<img\b|\s(?:" + "|".join(sorted(_URL_ATTRS | {"style"})) + r"|on[a-z]+)\s*=", re.I)


def safe_address(value: str, allowed: re.Pattern = SAFE_LINK) -> bool:
    """Whether an attribute's address (as written in the HTML) is one a page may link to: read as a
    browser reads it (entities decoded, spaces and control characters dropped), it starts with
    http://, https://, mailto: or # (this page's own anchors, such as pandoc's footnotes)."""
    plain = _CONTROL.sub("", htmlmod.unescape(value))
    return bool(allowed.match(plain))


def _attributes_safe(attrs: str, own_image: bool = False) -> bool:
    for name, value in _ATTR.findall(attrs):
        name, value = name.lower(), value.strip("\"'") if value[:1] in "\"'" else value
        if name.startswith("on"):  # an event handler (pandoc never writes one)
            return False
        if name == "style" and re.search(r"url\s*\(|expression\s*\(|@import|\\", htmlmod.unescape(value), re.I):
            return False
        if name in _URL_ATTRS:
            if own_image and name == "src":
                if not _OWN_FIGURE.fullmatch(value):
                    return False
            elif not safe_address(value):
                return False
    return True


def safe_links(text: str) -> str:
    """HTML from pandoc with no live link but to http(s), mailto or the page's own anchors, and no
    image but qbank's own figures (`fig-<hash>.svg`, before the caller places them): bank text is
    checked at load (qbank.texcheck), and this holds whatever reaches the converter (a family's
    template, a cache entry). A refused link keeps its text, unlinked; a refused image becomes the
    word [image]."""
    if not _RISKY.search(text):
        return text

    def link(match: re.Match) -> str:
        if _attributes_safe(match.group(1)):
            return match.group(0)
        return f'<span class="qbank-link-removed">{match.group(2)}</span>'

    def image(match: re.Match) -> str:
        if _attributes_safe(match.group(1), own_image=True):
            return match.group(0)
        return '<span class="qbank-image-removed">[image]</span>'

    text = _LINK.sub(link, _IMG.sub(image, text))
    # any other element: an attribute that loads or links (a style's url(), an href on MathML) goes;
    # only the tags holding such an attribute are read again
    out, pos = [], 0
    for match in _RISKY_ATTR.finditer(text):
        if match.start() < pos:
            continue
        start, element = match.start(), None
        for _attempt in range(8):  # the tag it is in (a `<` inside a quoted value is no tag's start)
            start = text.rfind("<", pos, start)
            if start < 0:
                break
            element = _ELEMENT.match(text, start)
            if element is not None and element.end() > match.start():
                break
            element = None
        if element is None:
            continue
        out += [text[pos:start], _element_without_unsafe(element)]
        pos = element.end()
    return "".join(out) + text[pos:] if out else text


_RISKY_ATTR = re.compile(r"\s(?:" + "|".join(sorted(_URL_ATTRS | {"style"})) + r"|on[a-z]+)\s*=", re.I)
_ELEMENT = re.compile(r"<(?!a\b|img\b)([A-Za-z][-A-Za-z0-9:]*)" + _ATTRS + r">", re.I)


def _element_without_unsafe(match: re.Match) -> str:
    attrs = match.group(2)
    if "=" not in attrs or not _RISKY.search(attrs) or _attributes_safe(attrs):
        return match.group(0)
    kept = "".join(f" {n}={v}" for n, v in _ATTR.findall(attrs) if _attributes_safe(f" {n}={v}"))
    closing = "/" if attrs.rstrip().endswith("/") else ""
    return f"<{match.group(1)}{kept}{closing}>"


def finish_html(text: str, figure_src: Callable[[str], str]) -> str:
    text = safe_links(text)
    text = _FIGURE_SRC.sub(lambda m: f'src="{htmlmod.escape(figure_src(m.group(1)), quote=True)}"', text)
    text = _MATH.sub(lambda m: _display_box(_fix_math(m.group(0))), text)
    return text.strip() + "\n" if text.strip() else ""


def _display_box(math: str) -> str:
    """A display formula in a box that scrolls sideways when it is wider than the screen (WebKit's
    <math> itself takes neither max-width nor overflow; qbank.css styles the box)."""
    if math.startswith('<math display="block"'):
        return f'<span class="qbank-display">{math}</span>'
    return math


# --- running pandoc ---------------------------------------------------------------------------------


def _run_pandoc(tex: str, math: str = "mathml") -> tuple[str, list[str]]:
    """pandoc's HTML of `tex`, and its warnings (one line each); `math` is a key of MATH_MODES."""
    command = [pandoc_path(), "-f", READER, "-t", "html", MATH_MODES[math], "--wrap=none", "--lua-filter", str(FILTER)]
    try:
        proc = subprocess.run(
            command, input=tex, capture_output=True, text=True, encoding="utf-8", timeout=PANDOC_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise ConversionError(f"pandoc did not finish within {PANDOC_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.strip().splitlines() if line.strip()]
        raise ConversionError(f"pandoc failed: {' '.join(lines[:3]) if lines else f'exit {proc.returncode}'}")
    warnings = [" ".join(w.split()) for w in re.split(r"(?m)^(?=\[WARNING\])", proc.stderr) if w.strip()]
    return proc.stdout, warnings


_SPLIT = re.compile(r"<!-- qbank-split (\d+) -->")


def _label(tex: str, index: int) -> str:
    """What a fragment is, for a message: its marker line (`beam-search seed 3 (problem)`)."""
    marker = re.search(r"^% qbank-variant: (.*)$", tex, re.M)
    if marker:
        return marker.group(1).strip()
    start = " ".join(tex.split())[:60]
    return f"fragment {index + 1} (`{start}`)"


def _convert_one(label: str, tex: str, math: str = "mathml") -> tuple[str, list[str]]:
    try:
        html, warnings = _run_pandoc(tex, math)
    except ConversionError as exc:
        raise ConversionError(f"{label}: {exc}") from None
    return _SPLIT.sub("", html), [f"{label}: {w}" for w in warnings]


def _convert_batch(batch: list[tuple[str, str]], math: str = "mathml") -> tuple[list[str], list[str]]:
    """Raw HTML of each (label, prepared fragment), from one pandoc run; one run per fragment when
    that run fails (so that the error names the fragment) or when a fragment does not close what it
    opens and the separators do not come out as they went in."""
    if len(batch) == 1:
        html, warnings = _convert_one(*batch[0], math)
        return [html], warnings
    joined = "".join(f"\n\n\\begin{{qbanksplit}}{n}\\end{{qbanksplit}}\n\n{tex}" for n, (_, tex) in enumerate(batch))
    try:
        out, warnings = _run_pandoc(joined, math)
    except ConversionError:
        out, warnings = "", []
    pieces = _SPLIT.split(out)
    if [int(n) for n in pieces[1::2]] == list(range(len(batch))) and not pieces[0].strip():
        return pieces[2::2], warnings
    htmls, warnings = [], []
    for label, tex in batch:
        html, more = _convert_one(label, tex, math)
        htmls.append(html)
        warnings += more
    return htmls, warnings


def latex_to_html_many(
    texts: Sequence[str],
    *,
    figure_src: Callable[[str], str] = _identity,
    jobs: int = 2,
    reporter: Reporter = QUIET,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    math: str = "mathml",
) -> list[str]:
    """Each fragment as HTML (as latex_to_html gives it), taken from the cache or converted in as few pandoc runs as possible: the
    distinct fragments in `jobs` batches (of BATCH_MAX at most), run in parallel. Fragments of one
    batch share a document, as they do in a PDF: a macro one defines is known to those after it.
    pandoc's warnings (maths it could not convert, shown as TeX) go to the reporter. `math`: "mathml"
    (the browser draws it) or "mathjax" (TeX in \\( \\) and \\[ \\], for an LMS's MathJax)."""
    if math not in MATH_MODES:
        raise ValueError(f"math: expected one of {sorted(MATH_MODES)}, got {math!r}")
    texts = list(texts)
    distinct = list(dict.fromkeys(texts))
    if not distinct:
        return []
    cache = _HtmlCache(cache_dir, math)
    raw_by_text = {t: cache.get(t) for t in distinct} if use_cache else {t: None for t in distinct}
    missing = [t for t in distinct if raw_by_text[t] is None]
    if missing:
        for t, h, in zip(missing, _convert_all(missing, jobs, reporter, math)):
            raw_by_text[t] = h
            if use_cache:
                cache.put(t, h)
    converted = {t: finish_html(raw_by_text[t], figure_src) for t in distinct}
    return [converted[t] for t in texts]


def _convert_all(distinct: list[str], jobs: int, reporter: Reporter, math: str = "mathml") -> list[str]:
    """pandoc's raw HTML of each fragment, in batches run in parallel."""
    prepared = [(_label(t, i), prepare(t)) for i, t in enumerate(distinct)]
    runs = max(1, min(len(prepared), max(jobs, -(-len(prepared) // BATCH_MAX))))
    size = -(-len(prepared) // runs)
    batches = [prepared[i : i + size] for i in range(0, len(prepared), size)]
    if len(batches) == 1:
        results = [_convert_batch(batches[0], math)]
    else:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(lambda batch: _convert_batch(batch, math), batches))
    raw = [h for htmls, _ in results for h in htmls]
    for warning in dict.fromkeys(w for _, warnings in results for w in warnings):
        reporter.info(f"warning: pandoc: {warning}")
    return raw


class _HtmlCache:
    """pandoc's output by fragment, content-addressed like the PDFs (a re-run converts nothing that did
    not change): keyed by the fragment, this module and the filter, pandoc's version and the math mode."""

    def __init__(self, cache_dir: Path | None, math: str = "mathml"):
        from ..latex import default_cache_dir

        self.dir = Path(cache_dir) if cache_dir else default_cache_dir() / "html"
        self.math = math
        self._salt: str | None = None

    def _path(self, tex: str) -> Path:
        if self._salt is None:
            here = Path(__file__).resolve()
            parts = [here.read_bytes(), (here.parent / "filter.lua").read_bytes(), pandoc_version().encode()]
            if self.math != "mathml":  # MathML keys are made as before
                parts.append(self.math.encode())
            self._salt = hashlib.sha256(b"\0".join(parts)).hexdigest()
        key = hashlib.sha256(f"{self._salt}\0{tex}".encode()).hexdigest()
        return self.dir / key[:2] / f"{key}.html"

    def get(self, tex: str) -> str | None:
        from ..latex import cache_load

        return cache_load(self._path(tex))  # only an entry whose MAC holds (qbank.cache)

    def put(self, tex: str, html_text: str) -> None:
        from ..latex import cache_store

        cache_store(self._path(tex), html_text)


def latex_to_html(tex: str, *, figure_src: Callable[[str], str] = _identity) -> str:
    """One rendered fragment (a problem or solution block) as an HTML fragment (no <html> or <body>),
    maths as MathML. `figure_src(name)` is the src of the <img> of figure `name` (fig-<hash>), which
    qbank.html.figures compiles to SVG."""
    return latex_to_html_many([tex], figure_src=figure_src, jobs=1)[0]
