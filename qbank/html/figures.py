"""TikZ and pgfplots figures of rendered fragments, compiled once each to SVG for the web pages.

- `extract_figures` takes every `tikzpicture` environment out of a fragment and leaves in its place
  `\\includegraphics{fig-<hash>.svg}`, which pandoc turns into an <img>; the name hashes the figure's
  TikZ source and the shared preamble, so the same picture in many variants is one file.
- `compile_figures` compiles each figure as a page of a `standalone` document (cropped to the picture)
  with the packages and macros of templates/documents/preamble.tex.j2, precompiled into a format once
  as for the PDFs, sandboxed like every qbank TeX run (qbank.latex's environment and time limits),
  then `pdftocairo -svg` writes the page. Several figures share one TeX run (the SVG of each is the
  same, byte for byte, as when it is compiled alone); when such a run fails, its figures are compiled
  one by one, so that the error names the figure that caused it.
- Every id in an SVG, and every reference to one, is prefixed with the figure's name: pdftocairo
  names glyphs `glyph0-1` in every file, and SVGs inlined in one page must not share ids. Width and
  height stay (in pt) beside the viewBox, so CSS can scale a picture. SVGs are cached by content
  (source, preamble, TeX and poppler versions), so a second build compiles nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import LatexError
from ..latex import (
    ENDOFDUMP,
    INSTALL_HINT,
    PDFLATEX,
    Compiler,
    Document,
    _tex_env,
    cache_load,
    default_cache_dir,
    describe_error,
    describe_timeout,
    document_timeout,
    engine_version,
    ensure_latex,
)
from ..progress import QUIET, Reporter
from ..render import get_env

PREAMBLE_TEMPLATE = "documents/preamble.tex.j2"
# 11pt like the exam documents, so that `font=\small` in a picture is the size it is on paper
# tikz: every tikzpicture is a page of its own, cropped to it (so several figures can share one run)
DOCUMENT_CLASS = "\\documentclass[11pt,border=1pt,tikz]{standalone}"
SVG_CACHE_VERSION = "2"  # bump when the way SVGs are produced or rewritten changes (2: signed entries)
PDFTOCAIRO_TIMEOUT_S = 60
BATCH_SIZE = 24  # figures per TeX run: fewer runs, but a failing batch is compiled again figure by figure
BATCH_TIMEOUT_S_PER_FIGURE = 2

_ENV = re.compile(r"\\(begin|end)\{tikzpicture\}")


@dataclass(frozen=True)
class Figure:
    """One TikZ picture: `name` (`fig-` and 16 hex digits) names its SVG; `tikz` is its source, from
    `\\begin{tikzpicture}` to `\\end{tikzpicture}`."""

    name: str
    tikz: str


def preamble() -> str:
    """The preamble every qbank document shares (packages, TikZ libraries, qbank's macros)."""
    return get_env().get_template(PREAMBLE_TEMPLATE).render()


def figure_name(tikz: str, preamble_tex: str | None = None) -> str:
    pre = preamble() if preamble_tex is None else preamble_tex
    return "fig-" + hashlib.sha256(f"{pre}\0{tikz}".encode()).hexdigest()[:16]


def _in_comment(tex: str, pos: int) -> bool:
    """Whether `pos` lies after an unescaped % on its line."""
    line_start = tex.rfind("\n", 0, pos) + 1
    i = line_start
    while i < pos:
        if tex[i] == "\\":
            i += 2
            continue
        if tex[i] == "%":
            return True
        i += 1
    return False


def extract_figures(tex: str) -> tuple[str, list[Figure]]:
    """The fragment with every tikzpicture replaced by `\\includegraphics{<name>.svg}`, and the figures
    (each once, in order of first appearance). A picture nested in another belongs to the outer one."""
    pre = preamble()
    out: list[str] = []
    figures: dict[str, Figure] = {}
    pos = 0
    depth = 0
    start = 0
    for match in _ENV.finditer(tex):
        if _in_comment(tex, match.start()):
            continue
        if match.group(1) == "begin":
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                tikz = tex[start : match.end()]
                name = figure_name(tikz, pre)
                figures.setdefault(name, Figure(name, tikz))
                out.append(tex[pos:start])
                out.append(f"\\includegraphics{{{name}.svg}}")
                pos = match.end()
    if depth:
        raise LatexError(f"a \\begin{{tikzpicture}} without its \\end{{tikzpicture}}: `{tex[start:start + 80].strip()}`")
    out.append(tex[pos:])
    return "".join(out), list(figures.values())


def standalone_document(figure: Figure, preamble_tex: str | None = None) -> str:
    """The figure alone on a page cropped to it, with the shared preamble (before the dump point, so
    it is precompiled once into a format)."""
    pre = preamble() if preamble_tex is None else preamble_tex
    return f"{DOCUMENT_CLASS}\n{pre.rstrip()}\n{ENDOFDUMP}\n\\begin{{document}}\n{figure.tikz}\n\\end{{document}}\n"


# --- the SVG --------------------------------------------------------------------------------------

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>\s*")
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)\s]+)\)")
_SVG_TAG = re.compile(r"<svg\b[^>]*>")
_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(pt)?\s*$")


def prefix_ids(svg: str, prefix: str) -> str:
    """Every id and every reference to one (href="#id", url(#id)) prefixed with `prefix-`."""
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', svg)
    return _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)


def finish_svg(svg: str, name: str) -> str:
    """pdftocairo's SVG made ready to inline: no XML declaration, ids unique to the figure, a viewBox
    (width and height stay, in pt, so CSS can scale the picture)."""
    svg = _XML_DECL.sub("", svg, count=1)
    svg = prefix_ids(svg, name)
    tag = _SVG_TAG.search(svg)
    if tag is None:
        raise LatexError(f"figure {name}: pdftocairo wrote no <svg> element")
    head = tag.group(0)
    if "viewBox=" not in head:
        width = re.search(r'\bwidth="([^"]+)"', head)
        height = re.search(r'\bheight="([^"]+)"', head)
        w = _LENGTH.match(width.group(1)) if width else None
        h = _LENGTH.match(height.group(1)) if height else None
        if not (w and h):
            raise LatexError(f"figure {name}: the SVG has neither a viewBox nor a width and height in pt")
        fixed = head[:-1].rstrip("/") + f' viewBox="0 0 {w.group(1)} {h.group(1)}"' + (" />" if head.endswith("/>") else ">")
        svg = svg[: tag.start()] + fixed + svg[tag.end() :]
    return svg


# --- compiling --------------------------------------------------------------------------------------

_pdftocairo_version: str | None = None


def pdftocairo_version() -> str:
    global _pdftocairo_version
    if _pdftocairo_version is None:
        if shutil.which("pdftocairo") is None:
            raise LatexError(f"pdftocairo not found (it turns figures into SVG); install poppler-utils: {INSTALL_HINT}")
        proc = subprocess.run(["pdftocairo", "-v"], capture_output=True, text=True, timeout=60)
        lines = (proc.stderr or proc.stdout).splitlines()
        _pdftocairo_version = lines[0] if lines else "unknown"
    return _pdftocairo_version


def _cache_path(cache_dir: Path, figure: Figure, document: str) -> Path:
    key = hashlib.sha256(
        "\0".join([SVG_CACHE_VERSION, engine_version(), pdftocairo_version(), _tex_env()["SOURCE_DATE_EPOCH"], figure.name, document]).encode()
    ).hexdigest()
    return cache_dir / key[:2] / f"{key}.svg"


def _store(path: Path, svg: str) -> None:
    from ..latex import cache_store

    cache_store(path, svg)


def _pdflatex(name: str, document: str, folder: Path, fmt: str | None, format_dir: Path, limit: float) -> tuple[bool, str]:
    """Run pdflatex on `folder/<name>.tex`: (succeeded, log)."""
    env = _tex_env()
    if fmt:
        env["TEXFORMATS"] = f"{format_dir}{os.pathsep}"  # trailing separator: then the usual places
    (folder / f"{name}.tex").write_text(document, encoding="utf-8")
    proc = subprocess.run(
        [*PDFLATEX, *([f"-fmt={fmt}"] if fmt else []), f"{name}.tex"],
        cwd=folder, env=env, capture_output=True, text=True, errors="replace", timeout=limit, stdin=subprocess.DEVNULL,
    )
    log_path = folder / f"{name}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else proc.stdout
    return proc.returncode == 0 and (folder / f"{name}.pdf").is_file(), log


def _page_svg(folder: Path, pdf: str, page: int, name: str) -> str:
    """Page `page` of the PDF as the finished SVG of figure `name`."""
    out = f"{name}.svg"
    try:
        cairo = subprocess.run(
            ["pdftocairo", "-svg", "-f", str(page), "-l", str(page), pdf, out],
            cwd=folder, capture_output=True, text=True, errors="replace", timeout=PDFTOCAIRO_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise LatexError(f"figure {name}: pdftocairo did not finish within {PDFTOCAIRO_TIMEOUT_S} s") from None
    if cairo.returncode != 0 or not (folder / out).is_file():
        message = (cairo.stderr or cairo.stdout).strip().splitlines()
        raise LatexError(f"figure {name}: pdftocairo failed: {message[-1] if message else 'no SVG written'}")
    return finish_svg((folder / out).read_text(encoding="utf-8", errors="replace"), name)


def _compile_one(figure: Figure, document: str, fmt: str | None, format_dir: Path) -> str:
    """The finished SVG of one figure compiled alone, or a LatexError naming it and TeX's message."""
    doc = Document(figure.name, document)
    limit = document_timeout(document)
    with tempfile.TemporaryDirectory(prefix="qbank-figure-") as work:
        try:
            ok, log = _pdflatex(figure.name, document, Path(work), fmt, format_dir, limit)
        except subprocess.TimeoutExpired as exc:
            raise LatexError(f"figure {figure.name}: {describe_timeout(doc, exc.stdout, limit)}") from None
        if not ok:
            raise LatexError(f"figure {figure.name}: {describe_error(doc, log)}")
        return _page_svg(Path(work), f"{figure.name}.pdf", 1, figure.name)


_PAGES = re.compile(r"Output written on \S+ \((\d+) pages?,")


def _compile_batch(figures: list[Figure], pre: str, fmt: str | None, format_dir: Path) -> dict[str, str] | None:
    """Several figures as the pages of one standalone document (one TeX run instead of one each: the
    same SVG bytes, in a fraction of the time); None when that run fails, so that each figure is then
    compiled alone and an error names the figure that caused it."""
    body = "\n".join(f.tikz for f in figures)
    document = f"{DOCUMENT_CLASS}\n{pre.rstrip()}\n{ENDOFDUMP}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
    limit = document_timeout(document) + BATCH_TIMEOUT_S_PER_FIGURE * len(figures)
    with tempfile.TemporaryDirectory(prefix="qbank-figures-") as work:
        folder = Path(work)
        try:
            ok, log = _pdflatex("figures", document, folder, fmt, format_dir, limit)
        except subprocess.TimeoutExpired:
            return None
        pages = _PAGES.search(log)
        if not ok or not pages or int(pages.group(1)) != len(figures):
            return None
        return {f.name: _page_svg(folder, "figures.pdf", page, f.name) for page, f in enumerate(figures, start=1)}


def compile_figures(
    figures: list[Figure],
    cache_dir: Path | None = None,
    jobs: int = 2,
    *,
    cache: bool = True,
    batch_size: int = BATCH_SIZE,
    reporter: Reporter = QUIET,
) -> dict[str, str]:
    """name -> SVG text for every figure, each compiled once (unchanged ones come from the cache under
    `cache_dir`, by default the PDF cache's folder + /svg). Figures to compile are shared among `jobs`
    workers, each running TeX once per `batch_size` figures (1: one document per figure). A LaTeX error
    is a LatexError naming the figure and TeX's message (the first failing figure in the order given)."""
    unique = list({f.name: f for f in figures}.values())
    if not unique:
        return {}
    ensure_latex()
    pdftocairo_version()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir() / "svg"
    pre = preamble()
    documents = {f.name: standalone_document(f, pre) for f in unique}
    paths = {f.name: _cache_path(cache_dir, f, documents[f.name]) for f in unique}
    svgs: dict[str, str] = {}
    todo: list[Figure] = []
    for figure in unique:
        kept = cache_load(paths[figure.name]) if cache else None  # only an entry whose MAC holds (qbank.cache)
        if kept is not None:
            svgs[figure.name] = kept
        else:
            todo.append(figure)
    if todo:
        compiler = Compiler(cache_dir=cache_dir, reporter=reporter)  # only for its format of the preamble
        fmt = compiler.format_for(documents[todo[0].name])
        ticker = reporter.start(len(todo), "figures")
        workers = max(1, min(jobs, len(todo)))
        size = max(1, min(batch_size, -(-len(todo) // workers)))
        batches = [todo[i : i + size] for i in range(0, len(todo), size)]

        def run(batch: list[Figure]) -> dict[str, str | LatexError]:
            done: dict[str, str | LatexError] = {}
            if len(batch) > 1:
                done.update(_compile_batch(batch, pre, fmt, compiler.format_dir) or {})
            for figure in batch:
                if figure.name not in done:
                    try:
                        done[figure.name] = _compile_one(figure, documents[figure.name], fmt, compiler.format_dir)
                    except LatexError as exc:
                        done[figure.name] = exc
                result = done[figure.name]
                if isinstance(result, str):
                    _store(paths[figure.name], result)
                ticker.tick(figure.name, "FAILED" if isinstance(result, LatexError) else "")
            return done

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = {name: r for done in pool.map(run, batches) for name, r in done.items()}
        errors = [results[f.name] for f in todo if isinstance(results[f.name], LatexError)]
        if errors:
            more = f" (and {len(errors) - 1} more failing figure(s))" if len(errors) > 1 else ""
            raise LatexError(f"{errors[0]}{more}")
        svgs.update({name: r for name, r in results.items() if isinstance(r, str)})
        reporter.info(f"{len(todo)} figure(s) compiled, {len(unique) - len(todo)} taken from the cache")
    return {f.name: svgs[f.name] for f in unique}
