"""The LaTeX build: latexmk + pdflatex in a private staging folder, never with shell escape.

PDFs are moved into the output folder only when every document of the batch compiled; on an error
the staging folder is kept as ``<out>.failed/`` (with the .tex and .log) and one clear message names
the document, the family and seed of the offending fragment, the line and TeX's complaint.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import LatexError
from .render import MARKER

INSTALL_HINT = (
    "apt-get install -y --no-install-recommends latexmk texlive-latex-extra lmodern poppler-utils"
)
LATEXMK = [
    "latexmk",
    "-norc",
    "-pdf",
    "-interaction=nonstopmode",
    "-halt-on-error",
    "-file-line-error",
    "-no-shell-escape",
    "-silent",
]
TIMEOUT_S = 300


@dataclass(frozen=True)
class Document:
    """One LaTeX document to build. `name` is its path below the output folder without suffix:
    `problem`, or `v01/exam` for a document in a subfolder."""

    name: str
    tex: str

    @property
    def stem(self) -> str:
        return Path(self.name).name


def ensure_latex() -> None:
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        raise LatexError(f"{' and '.join(missing)} not found; install TeX Live with: {INSTALL_HINT}")


def build_pdfs(
    docs: list[Document],
    out_dir: Path,
    *,
    extra_files: dict[str, str] | None = None,
    jobs: int = 2,
    progress: Callable[[str], None] = lambda message: None,
) -> list[Path]:
    """Compile every document in a staging folder beside out_dir; only if all succeed, move the PDFs
    (and `extra_files`, name -> text) into out_dir. Files already in out_dir that this build does not
    write are left alone; on failure nothing in out_dir changes and the staging folder is kept as
    `<out_dir>.failed/` with the sources and logs."""
    ensure_latex()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for doc in docs:
            folder = staging / doc.name
            folder.mkdir(parents=True)
            (folder / f"{doc.stem}.tex").write_text(doc.tex, encoding="utf-8")
        done = 0

        def compile_one(doc: Document) -> str | None:
            nonlocal done
            error = _compile(staging / doc.name, doc)
            done += 1
            progress(f"[{done}/{len(docs)}] {doc.name}.pdf" + (" FAILED" if error else ""))
            return error

        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(docs)))) as pool:
            errors = [e for e in pool.map(compile_one, docs) if e]
        if errors:
            failed = out_dir.with_name(out_dir.name + ".failed")
            shutil.rmtree(failed, ignore_errors=True)
            staging.rename(failed)
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise LatexError(errors[0].replace("{staging}", str(failed)) + more)
        written = []
        for doc in docs:
            target = out_dir / f"{doc.name}.pdf"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / doc.name / f"{doc.stem}.pdf", target)
            written.append(target)
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_tex(docs: list[Document], out_dir: Path) -> list[Path]:
    """Write the .tex sources only (no compile), through a staging file each, then move into place."""
    out_dir = Path(out_dir)
    written = []
    for doc in docs:
        target = out_dir / f"{doc.name}.tex"
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{doc.stem}.", suffix=".tex", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(doc.tex)
        os.replace(tmp, target)
        written.append(target)
    return written


def _compile(folder: Path, doc: Document) -> str | None:
    # A fixed SOURCE_DATE_EPOCH makes pdfTeX write the same dates and /ID every time: the same .tex
    # gives a byte-identical PDF (reproducible builds); a user's own value is respected.
    env = {
        **os.environ,
        "openout_any": "p",
        "shell_escape": "f",
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "1767225600"),
        "FORCE_SOURCE_DATE": "1",
    }
    try:
        proc = subprocess.run(
            [*LATEXMK, f"{doc.stem}.tex"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return f"{doc.name}.tex: pdflatex did not finish within {TIMEOUT_S} s (log: {{staging}}/{doc.name}/{doc.stem}.log)"
    if proc.returncode == 0 and (folder / f"{doc.stem}.pdf").is_file():
        return None
    log_path = folder / f"{doc.stem}.log"
    log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else proc.stdout + proc.stderr
    return describe_error(doc, log) + f" (log: {{staging}}/{doc.name}/{doc.stem}.log)"


_FILE_LINE = re.compile(r"^(?:\./)?([^\s:]+\.(?:tex|sty|cls)):(\d+): (.*)$", re.M)
_BANG = re.compile(r"^! (.*)$", re.M)
_LNUM = re.compile(r"^l\.(\d+)", re.M)


def describe_error(doc: Document, log: str) -> str:
    """One line: document, line, the variant whose fragment holds that line, and TeX's message."""
    match = _FILE_LINE.search(log)
    if match:
        source, line, message = match.group(1), int(match.group(2)), match.group(3).strip()
    else:
        bang, lnum = _BANG.search(log), _LNUM.search(log)
        source, message = f"{doc.stem}.tex", (bang.group(1).strip() if bang else "pdflatex failed")
        line = int(lnum.group(1)) if lnum else 0
    own = source == f"{doc.stem}.tex"
    shown = f"{doc.name}.tex" if own else source
    where = f"{shown} line {line}" if line else shown
    owner = variant_at(doc.tex, line) if own else None
    text = ""
    if own and 0 < line <= doc.tex.count("\n") + 1:
        text = doc.tex.splitlines()[line - 1].strip()
        text = f": `{text[:100]}`" if text else ""
    what = f" in {owner}" if owner else ""
    return f"LaTeX error{what}, {where}{text}: {message}"


def variant_at(tex: str, line: int) -> str | None:
    """The `family seed N (part)` of the fragment that holds `line`, from the marker comments."""
    owner = None
    for number, text in enumerate(tex.splitlines(), start=1):
        if number > line:
            break
        if text.startswith(MARKER):
            owner = text[len(MARKER):].strip()
        elif text.startswith("% qbank-end"):
            owner = None
    return owner
