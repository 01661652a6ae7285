"""Checks on text before it reaches LaTeX, so that a bad field is reported by its name, not by a line
of a generated .tex file:

- characters the fonts cannot set (CJK, Arabic, emoji...) are refused with the field named: qbank's
  documents use Latin Modern in the T1 encoding, so they set what LaTeX's utf8 input encoding maps
  for T1 and its companions (Latin scripts, their accents, common punctuation and symbols);
- in bank LaTeX (questions, solutions, choices, parts, table cells): braces and math delimiters must
  balance, and commands that read or write files, or change how TeX reads its input, are refused;
- names and header texts have length limits, and no word so long that it cannot break;
- links and images in bank LaTeX: `\\href` and `\\url` only to `http(s)` and `mailto` addresses written
  out in braces; no image files (`\\includegraphics` of a URL, an absolute path, a `..` or any file:
  qbank carries no course image files into its PDFs, site and LMS exports; figures are TikZ); no
  MathJax-only commands that style or link (`\\style`, `\\class`, `\\cssId`, `\\require`); and none of
  the placeholders the writers put figure files at (`@@PLUGINFILE@@`, `qbank-figure:`, Canvas's
  `$IMS-CC-FILEBASE$`).
"""

from __future__ import annotations

import functools
import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .errors import InputError

# The encoding definition files utf8.def reads for the fonts qbank uses (text T1 and TS1, math OML/OMS).
_DFU_FILES = ("t1enc.dfu", "ts1enc.dfu", "ot1enc.dfu", "omsenc.dfu", "utf8enc.dfu")
_DECLARED = re.compile(r"\\DeclareUnicodeCharacter\{([0-9A-Fa-f]{4,6})\}")
FORBIDDEN = (
    "input", "include", "InputIfFileExists", "IfFileExists", "openin", "openout", "read", "readline",
    "write", "immediate", "special", "catcode", "usepackage", "RequirePackage", "documentclass",
    "endinput", "newwrite", "newread", "pdfobj", "pdfliteral", "directlua", "makeatletter", "csname",
)
_COMMAND = re.compile(r"\\([A-Za-z@]+)")
# links: the schemes a link in bank text may use (what a student may be sent to)
LINK_SCHEMES = ("http://", "https://", "mailto:")
LINK_COMMANDS = ("href", "url")
IMAGE_COMMANDS = ("includegraphics", "includesvg", "includepdf", "pgfimage", "pgfdeclareimage", "epsfig", "epsfbox",
                  "psfig", "graphicspath")
# MathJax (Moodle's and Canvas's maths) knows these where TeX does not: CSS (a remote background image),
# classes, ids and extensions loaded by name
MATHJAX_ONLY = ("style", "class", "cssId", "require", "data")
PLACEHOLDERS = re.compile(r"@@pluginfile@@|qbank-figure:|ims-cc-filebase|%24ims-cc", re.IGNORECASE)
_URL_ESCAPES = re.compile(r"\\([%#_&~$])")
MAX_NAME = 60
MAX_WORD = 30


@functools.lru_cache(maxsize=1)
def settable() -> frozenset[int]:
    """Code points LaTeX can set in qbank's documents, read from the TeX installation's .dfu files
    (Latin-1 when they cannot be found)."""
    points = set(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
    found = False
    try:  # one kpsewhich for all: it prints the path of each file it finds
        paths = subprocess.run(["kpsewhich", *_DFU_FILES], capture_output=True, text=True, timeout=30).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        paths = []
    for path in filter(None, (p.strip() for p in paths)):
        if Path(path).is_file():
            found = True
            points |= {int(code, 16) for code in _DECLARED.findall(Path(path).read_text(encoding="latin-1"))}
    if not found:
        points |= set(range(0xA0, 0x100))
    return frozenset(points)


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"{char!r} (U+{ord(char):04X}{', ' + name.lower() if name else ''})"


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_characters(text: str, where: str) -> None:
    if text.isascii() and not _ASCII_CONTROL.search(text):  # settable whatever the TeX installation holds
        return
    allowed = settable()
    for index, char in enumerate(text):
        if ord(char) not in allowed:
            line = text.count("\n", 0, index) + 1
            at = f" (line {line} of the text)" if "\n" in text.strip() else ""
            hint = "write it as a LaTeX command (e.g. $\\alpha$ for α)" if unicodedata.category(char).startswith("L") and ord(char) < 0x3000 else "qbank's fonts set Latin script only"
            raise InputError(f"{where}: the character {_describe(char)}{at} cannot be typeset; {hint}")


def check_plain(text: str, where: str, max_length: int | None = None, max_word: int = MAX_WORD) -> None:
    """A text printed as it is (escaped): names, titles, instructions."""
    check_characters(text, where)
    if max_length is not None and len(text) > max_length:
        raise InputError(f"{where}: {len(text)} characters, more than the {max_length} that fit; shorten it")
    long_word = next((w for w in text.split() if len(w) > max_word), None)
    if long_word:
        raise InputError(f"{where}: the word {long_word[:40]!r}... has {len(long_word)} characters, more than "
                         f"{max_word}; it cannot break across lines")


def check_latex(text: str, where: str) -> None:
    """Bank LaTeX: settable characters, balanced braces and math, no file or catcode commands."""
    check_characters(text, where)
    body = re.sub(r"(?<!\\)%.*", "", text)  # comments
    body = re.sub(r"\\[\\{}$%&#_^~ ]", "", body)  # escaped characters and \\ are not delimiters
    for name in _COMMAND.findall(body):
        if name in FORBIDDEN:
            raise InputError(f"{where}: \\{name} is not allowed in bank text (it reads or writes files or "
                             "changes how TeX reads its input); write the content itself")
    check_links(re.sub(r"(?<!\\)%.*", "", text), where)
    if "\\end{document}" in text:
        raise InputError(f"{where}: \\end{{document}} is not allowed in bank text")
    depth = 0
    for index, char in enumerate(body):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise InputError(f"{where}: a '}}' closes a brace that was never opened (near {_near(body, index)!r})")
    if depth:
        raise InputError(f"{where}: {depth} '{{' never closed; every {{ needs its }}")
    singles = re.sub(r"\$\$", "", body).count("$")
    if singles % 2 or body.count("$$") % 2:
        raise InputError(f"{where}: unbalanced $: math opened with $ must be closed with $ in the same field")
    for open_, close in (("\\(", "\\)"), ("\\[", "\\]")):
        if text.count(open_) != text.count(close):
            raise InputError(f"{where}: {text.count(open_)} {open_} but {text.count(close)} {close}; math must close in the same field")
    if len(re.findall(r"\\begin\{", body)) != len(re.findall(r"\\end\{", body)):
        raise InputError(f"{where}: \\begin{{...}} and \\end{{...}} do not pair up")


_TOKEN = re.compile(r"\\(?:([A-Za-z@]+)|.)", re.S)  # a command, or an escaped character (`\\%`, `\\\\`)


def check_links(body: str, where: str) -> None:
    """Links and images of bank LaTeX (`body`: the text without its comments): see the module's
    docstring."""
    found = PLACEHOLDERS.search(body)
    if found:
        raise InputError(f"{where}: {found.group(0)!r} is a placeholder qbank's writers put figure files at; "
                         "it may not appear in bank text")
    for match in _TOKEN.finditer(body):
        name = match.group(1)
        if name in IMAGE_COMMANDS:
            raise InputError(f"{where}: \\{name} is not allowed in bank text: an image must be the course's own, "
                             "and qbank does not carry image files into its PDFs, site and LMS exports; draw the "
                             "figure with TikZ (a tikzpicture), which every medium shows")
        if name in MATHJAX_ONLY:
            raise InputError(f"{where}: \\{name} is not allowed in bank text (the LMS's MathJax would style, link "
                             "or load something with it; TeX does not know it)")
        if name in LINK_COMMANDS:
            address = _link_address(body, match.end())
            problem = link_problem(address)
            if problem:
                raise InputError(f"{where}: \\{name}: {problem}")


def _link_address(body: str, start: int) -> str | None:
    """The address of `\\href[...]{ADDRESS}{...}` or `\\url{ADDRESS}` as a browser gets it (TeX's
    escapes `\\%`, `\\#`, `\\_`, `\\&`, `\\~` read), or None when it is not written in braces."""
    i = start
    while i < len(body) and body[i] in " \t\n":
        i += 1
    if body[i : i + 1] == "[":
        close = body.find("]", i)
        i = close + 1 if close >= 0 else len(body)
        while i < len(body) and body[i] in " \t\n":
            i += 1
    if body[i : i + 1] != "{":
        return None
    depth, j = 0, i
    while j < len(body):
        if body[j] == "\\":  # an escaped character or a command's backslash: never a brace
            j += 2
            continue
        depth += (body[j] == "{") - (body[j] == "}")
        if depth == 0:
            return body[i + 1 : j]
        j += 1
    return None


def link_problem(address: str | None) -> str | None:
    """Why `address` (a link's target as written in LaTeX) may not be linked to, or None: only
    http(s) and mailto addresses, written out (no commands, braces, spaces or control characters)."""
    if address is None:
        return "write the address in braces, such as \\url{https://example.org}"
    shown = address if len(address) <= 60 else address[:57] + "..."
    written = _URL_ESCAPES.sub(r"\1", address)
    if "\\" in written or "{" in written or "}" in written:
        return f"the address {shown!r} is made with commands or braces; write it out"
    if any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in written):
        return f"the address {shown!r} holds spaces or control characters; write it without them (%20 for a space)"
    if not written.lower().startswith(LINK_SCHEMES) or written.lower() in LINK_SCHEMES:
        return (f"links in bank text go only to http://, https:// and mailto: addresses, not {shown!r} "
                "(other schemes, such as javascript:, data: or file:, and relative links are refused)")
    return None


def _near(text: str, index: int) -> str:
    return text[max(0, index - 20) : index + 1].replace("\n", " ")


def item_fields(item: Mapping[str, Any]) -> Iterable[tuple[str, tuple, str]]:
    """(field, keys in the bank file, LaTeX) of a conceptual item as recorded (item_to_dict)."""
    for key in ("question", "solution"):
        if item.get(key):
            yield key, (key,), item[key]
    for j, part in enumerate(item.get("parts", ())):
        yield f"parts[{j}].question", ("parts", j, "question"), part["question"]
        yield f"parts[{j}].solution", ("parts", j, "solution"), part["solution"]
    for j, choice in enumerate(item.get("choices", ())):
        yield f"choices[{j}].text", ("choices", j, "text"), choice["text"]
    for j, column in enumerate(item.get("columns", ())):
        yield f"table.columns[{j}]", ("table", "columns", j), column
    for r, row in enumerate(item.get("rows", ())):
        for c, cell in enumerate(row):
            if isinstance(cell, Mapping):
                yield f"table.rows[{r}][{c}]", ("table", "rows", r, c, "answer"), cell["answer"]
            else:
                yield f"table.rows[{r}][{c}]", ("table", "rows", r, c), cell


def check_item(item: Mapping[str, Any], source: str, line_of: Callable[[tuple], int] | None = None) -> None:
    """Every LaTeX field of a conceptual item (a parameterized item's text comes from its template).
    `source` is `file: line N` of the item; `line_of(keys)`, when given, the line of a field in it."""
    if item.get("family"):
        return
    path, _, item_line = source.rpartition(": line ")
    for field, keys, text in item_fields(item):
        where = f"{path}: line {line_of(keys)}" if line_of is not None and path else source
        check_latex(text, f"{where}: item {item['id']!r}: {field}")


HEADER_LIMITS = {"course": 80, "title": 120, "date": 60, "duration": 60, "instructions": 2000}


def check_header(header: Mapping[str, str], source: str) -> None:
    for key, limit in HEADER_LIMITS.items():
        if header.get(key):
            check_plain(header[key], f"{source}: {key}", limit)
