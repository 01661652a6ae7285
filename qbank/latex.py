"""The LaTeX build: pdflatex in private staging folders, never with shell escape, as fast as it goes.

- The preamble that all documents share (everything before ``\\csname endofdump\\endcsname``) is
  compiled once into a format (the mylatexformat approach) and reused by every compile; if the format
  cannot be built, documents compile plainly and the user is told.
- One pdflatex pass per document; a second only when the document uses cross-references that the
  first pass left unresolved. Never more than two.
- A content-addressed cache: a PDF whose .tex (with the format and the engine) is unchanged is copied,
  not compiled again (``cache=False`` forces a compile). PDFs and formats are kept signed (qbank.cache):
  a cached PDF is used only when its MAC holds, and pdflatex loads a format only from a private copy
  of a verified entry, never from the cache folder itself.
- Documents compile in parallel, each in its own folder; the output folder is replaced as a whole
  only when every document of the batch succeeded (qbank.publish). On an error the work folder is
  kept as ``<out>.failed/`` (with the .tex and .log) and one clear message names the document, the
  family and seed (or bank item) of the offending fragment, the line and TeX's complaint.
- TeX runs sandboxed: it reads and writes only its own folder and the TeX installation, never runs
  shell commands, and gets a time limit scaled to the document (seconds, not minutes).
- The first document that fails (a LaTeX error, or a loop that runs out of time) stops the build at
  once: every later document's pdflatex is killed or never started; Ctrl-C and SIGTERM kill them all
  (qbank.interrupts), so no pdflatex outlives its build.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import stat
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from . import cache as signed
from .errors import LatexError
from .progress import QUIET, Reporter
from .interrupts import held
from .publish import keep_failed, output_folder
from .render import FIELD_MARKER, MARKER

INSTALL_HINT = (
    "apt-get install -y --no-install-recommends latexmk texlive-latex-extra lmodern poppler-utils"
)
ENDOFDUMP = "\\csname endofdump\\endcsname"
PDFLATEX = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-no-shell-escape"]
FORMAT_TIMEOUT_S = 300  # building the shared format: once per preamble
# A document's time limit: enough for a slow machine with every core busy, far less than a loop costs.
BASE_TIMEOUT_S = 30
TIMEOUT_S_PER_KB = 0.5
CACHE_VERSION = "2"  # bump when the way PDFs are produced changes (2: signed entries, qbank.cache)
FORMAT_VERSION = "2"  # of the names of precompiled preambles (2: signed entries)
# A document that uses any of these needs the .aux of a first pass to be right.
_USES_REFERENCES = re.compile(r"\\(?:ref|pageref|eqref|numpages|gradetable|pointtable|numpoints|cite)\b")


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
    if shutil.which("pdflatex") is None:
        raise LatexError(f"pdflatex not found; install TeX Live with: {INSTALL_HINT}")


def default_cache_dir() -> Path:
    if os.environ.get("QBANK_CACHE"):
        return Path(os.environ["QBANK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qbank"


def _tex_env() -> dict[str, str]:
    # A fixed SOURCE_DATE_EPOCH makes pdfTeX write the same dates and /ID every time: the same .tex
    # gives a byte-identical PDF (reproducible builds); a user's own value is respected.
    # openin_any / openout_any = p (paranoid): TeX reads and writes only below its own folder and in the
    # TeX installation: no absolute paths, no `..`, no dot files; \input{/etc/passwd} or
    # \input{../../.qbank-secret} fail with "not found". Shell escape is off as well.
    return {
        **os.environ,
        "openin_any": "p",
        "openout_any": "p",
        "shell_escape": "f",
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "1767225600"),
        "FORCE_SOURCE_DATE": "1",
    }


_engine_version: str | None = None


def engine_version() -> str:
    global _engine_version
    if _engine_version is None:
        out = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True, timeout=60).stdout
        _engine_version = out.splitlines()[0] if out else "unknown"
    return _engine_version


class Compiler:
    """Compiles documents with a shared preamble format and a PDF cache (both under `cache_dir`)."""

    def __init__(self, cache_dir: Path | None = None, use_cache: bool = True, reporter: Reporter = QUIET):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.use_cache = use_cache
        self.reporter = reporter
        self._formats: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self.compiled = self.cached = self.passes = 0
        self.cutoff = math.inf  # documents after this one (their index in the build) are cancelled
        self._running: dict[subprocess.Popen, int] = {}

    # --- the preamble format ---------------------------------------------------------------------

    def format_for(self, tex: str) -> str | None:
        """The name of a format holding this document's preamble, ready in `format_dir` for pdflatex
        (verified, or built on first use); None when the document has no dump point or the format cannot
        be built (then documents compile plainly)."""
        return self._format(tex, trusted=True)

    def format_name(self, tex: str) -> str | None:
        """`format_for`'s name without reading the kept format (a cached PDF's key needs only the name)."""
        return self._format(tex, trusted=False)

    def _format(self, tex: str, trusted: bool) -> str | None:
        if ENDOFDUMP not in tex:
            return None
        preamble = tex.split(ENDOFDUMP, 1)[0]
        key = hashlib.sha256(f"{FORMAT_VERSION}\0{engine_version()}\0{preamble}".encode()).hexdigest()[:20]
        name = f"qbank-{key}"
        with self._lock:
            if key not in self._formats:
                kept = self.format_cache / f"{name}.fmt"
                if not trusted and _own_file(kept):
                    return name  # verified (or replaced by a fresh build) before any compile uses it
                self._formats[key] = name if _unpack_format(kept) else self._build_format(name, preamble)
            return self._formats[key]

    @property
    def format_cache(self) -> Path:
        """Where formats are kept between builds (signed entries)."""
        return self.cache_dir / "formats"

    @property
    def format_dir(self) -> Path:
        """Where pdflatex finds the formats (TEXFORMATS): this process's private copies of verified ones."""
        return _private_formats()

    def _build_format(self, name: str, preamble: str) -> str | None:
        try:
            with tempfile.TemporaryDirectory(prefix="qbank-format-") as work:
                source = Path(work) / "preamble.tex"
                source.write_text(preamble + ENDOFDUMP + "\n\\begin{document}\\end{document}\n", encoding="utf-8")
                proc = subprocess.run(
                    ["pdflatex", "-ini", "-interaction=nonstopmode", "-halt-on-error", f"-jobname={name}",
                     "&pdflatex", "mylatexformat.ltx", "preamble.tex"],
                    cwd=work, env=_tex_env(), capture_output=True, text=True, errors="replace",
                    timeout=FORMAT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                )
                built = Path(work) / f"{name}.fmt"
                if proc.returncode != 0 or not built.is_file():
                    raise RuntimeError((proc.stdout or "").strip().splitlines()[-1:] or "no format written")
                signed.store(self.format_cache / f"{name}.fmt", built.read_bytes())
                os.replace(built, self.format_dir / f"{name}.fmt")
            return name
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            self.reporter.info(f"note: could not precompile the shared preamble ({exc}); compiling each document in full")
            return None

    # --- one document ------------------------------------------------------------------------------

    def _cache_path(self, doc: Document, fmt: str | None) -> Path:
        key = hashlib.sha256(
            "\0".join([CACHE_VERSION, engine_version(), fmt or "plain", _tex_env()["SOURCE_DATE_EPOCH"], doc.tex]).encode()
        ).hexdigest()
        return self.cache_dir / "pdf" / key[:2] / f"{key}.pdf"

    def take_cached(self, doc: Document, copy: Callable[[Path], object]) -> bool:
        """Hand the cached PDF of `doc` to `copy` (a function of a path: a private copy of the verified
        entry), if the cache has it and its MAC holds."""
        if not self.use_cache:
            return False
        pdf = signed.load(self._cache_path(doc, self.format_name(doc.tex)))
        if pdf is None:
            return False
        with _private_copy(pdf) as verified:
            copy(verified)
        with self._lock:
            self.cached += 1
        return True

    # --- running pdflatex, and stopping every run at once ----------------------------------------------

    def run_tex(self, command: list[str], folder: Path, env: dict[str, str], limit: float, index: int = 0) -> subprocess.CompletedProcess | None:
        """Run pdflatex for the document numbered `index` in its build (killed on a timeout); None when
        the build was cancelled from before that document. pdflatex stays in qbank's process group, so
        that a signal sent to the whole group (a terminal's Ctrl-C, a CI job's kill) reaches it too."""
        with self._lock:
            if index > self.cutoff:
                return None
            proc = subprocess.Popen(
                command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors="replace",
            )
            self._running[proc] = index
        try:
            try:
                out, err = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                _kill(proc)
                out, _ = proc.communicate()
                if index > self.cutoff:
                    return None
                raise subprocess.TimeoutExpired(command, limit, output=out) from None
        except BaseException:  # an interrupt in this thread: no pdflatex outlives the build
            _kill(proc)
            proc.wait()
            raise
        finally:
            with self._lock:
                self._running.pop(proc, None)
        if index > self.cutoff:
            return None
        return subprocess.CompletedProcess(command, proc.returncode, out, err)

    def cancel(self, after: float = -1) -> None:
        """Stop every document after the one numbered `after` (all of them by default: Ctrl-C or
        SIGTERM): kill their pdflatex now, start none of them. A failed document cancels those after it
        and lets those before it finish, so that the error a build reports is always the same: that of
        its first document that fails."""
        with self._lock:
            self.cutoff = min(self.cutoff, after)
            running = [proc for proc, index in self._running.items() if index > self.cutoff]
        for proc in running:
            _kill(proc)

    def compile(self, doc: Document, folder: Path, index: int = 0) -> str | None:
        """Write `folder/<stem>.pdf`; return None, an error message (with `{staging}` for the log), or
        CANCELLED when the build stopped before this document (numbered `index`) was done."""
        if index > self.cutoff:
            return CANCELLED
        target = folder / f"{doc.stem}.pdf"
        if self.take_cached(doc, lambda cached: shutil.copyfile(cached, target)):
            return None
        fmt = self.format_for(doc.tex)
        cached = self._cache_path(doc, fmt)
        command = [*PDFLATEX, *([f"-fmt={fmt}"] if fmt else []), f"{doc.stem}.tex"]
        env = _tex_env()
        if fmt:
            env["TEXFORMATS"] = f"{self.format_dir}{os.pathsep}"  # trailing separator: then the usual places
        limit = document_timeout(doc.tex)
        for attempt in (1, 2):
            try:
                proc = self.run_tex(command, folder, env, limit, index)
            except subprocess.TimeoutExpired as exc:
                return describe_timeout(doc, exc.stdout, limit) + f" (log: {{staging}}/{doc.name}/{doc.stem}.log)"
            if proc is None:
                return CANCELLED
            with self._lock:
                self.passes += 1
            log_path = folder / f"{doc.stem}.log"
            log = log_path.read_text(encoding="utf-8", errors="replace") if log_path.is_file() else proc.stdout
            if proc.returncode != 0 or not target.is_file():
                return describe_error(doc, log) + f" (log: {{staging}}/{doc.name}/{doc.stem}.log)"
            if attempt == 1 and not needs_second_pass(doc.tex, log):
                break
        with self._lock:
            self.compiled += 1
        _store(target, cached)
        return None


CANCELLED = "cancelled"  # Compiler.compile's result for a document the build stopped before finishing


def _kill(proc: subprocess.Popen) -> None:
    """Kill a pdflatex run (one that has ended already is left alone)."""
    try:
        proc.kill()
    except OSError:
        pass


def document_timeout(tex: str) -> float:
    """Seconds a document may take: a base plus a little per kilobyte of source; QBANK_TEX_TIMEOUT
    (seconds) replaces the base, for a very slow machine."""
    base = BASE_TIMEOUT_S
    if os.environ.get("QBANK_TEX_TIMEOUT"):
        try:
            base = max(1.0, float(os.environ["QBANK_TEX_TIMEOUT"]))
        except ValueError:
            raise LatexError(f"QBANK_TEX_TIMEOUT: expected a number of seconds, got {os.environ['QBANK_TEX_TIMEOUT']!r}") from None
    return base + TIMEOUT_S_PER_KB * len(tex.encode()) / 1024


_PROGRESS = re.compile(r"\[qbank: ([^\]]*)\]")


def describe_timeout(doc: Document, output: str | bytes | None, limit: float) -> str:
    """Which question was being typeset when time ran out: the last progress message TeX printed."""
    text = output.decode(errors="replace") if isinstance(output, bytes) else (output or "")
    seen = _PROGRESS.findall(text)
    where = f" while typesetting {seen[-1]}" if seen else ""
    return (
        f"LaTeX did not finish {doc.name}.tex within {limit:.0f} s{where}: an endless loop in its LaTeX "
        "(a macro that calls itself?), or a machine far slower than usual (QBANK_TEX_TIMEOUT sets more seconds)"
    )


def needs_second_pass(tex: str, log: str) -> bool:
    """Only a document that uses references, and whose first pass left them unresolved."""
    if "There were undefined references" in log:
        return True
    return "Rerun to get" in log and bool(_USES_REFERENCES.search(tex))


def cache_store(path: Path, text: str | bytes) -> None:
    """Write one cache entry, signed and atomically (qbank.cache.store); read it with cache_load. A
    cache that cannot be written only costs speed, so an error is ignored."""
    signed.store(path, text)


def cache_load(path: Path) -> str | None:
    """The text of a cache entry written by cache_store, if it is there and its MAC holds."""
    return signed.load_text(path)


def _store(pdf: Path, cached: Path) -> None:
    try:
        data = pdf.read_bytes()
    except OSError:
        return  # a cache that cannot be written only costs speed
    signed.store(cached, data)


_formats_folder: Path | None = None


def _private_formats() -> Path:
    """This process's folder of verified formats (0700, removed at exit): pdflatex reads a format from
    here, never from a cache folder that someone else might write between the check and the read."""
    global _formats_folder
    if _formats_folder is None or not _formats_folder.is_dir():
        import atexit

        _formats_folder = Path(tempfile.mkdtemp(prefix="qbank-formats-"))
        atexit.register(shutil.rmtree, _formats_folder, True)
    return _formats_folder


@contextmanager
def _private_copy(data: bytes) -> Iterator[Path]:
    """`data` as a file of this process alone, for the length of the block: in memory where Linux
    offers it (memfd), else a private temporary file."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("qbank-cached", os.MFD_CLOEXEC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return
    fd, name = tempfile.mkstemp(prefix="qbank-cached-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield Path(name)
    finally:
        os.unlink(name)


def _own_file(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()


def _unpack_format(kept: Path) -> bool:
    """Copy a kept format whose MAC holds into the private folder; False when there is none to trust
    (or no private folder: then the format is built, or documents compile plainly)."""
    try:
        target = _private_formats() / kept.name
    except OSError:
        return False
    if target.is_file():
        return True
    data = signed.load(kept)
    if data is None:
        return False
    try:
        fd, tmp = tempfile.mkstemp(prefix=".fmt-", dir=target.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except OSError:
        return False
    return True


def build_pdfs(
    docs: list[Document],
    out_dir: Path,
    *,
    extra_files: dict[str, str] | Callable[[Path], dict[str, str]] | None = None,
    jobs: int = 2,
    cache: bool = True,
    reporter: Reporter = QUIET,
    kind: str = "draw",
) -> list[Path]:
    """Compile every document in a work folder beside out_dir; only if all succeed, publish the PDFs
    (and `extra_files`, name -> text, or a function of the folder holding the compiled PDFs that returns
    them) as the whole new content of out_dir (qbank.publish). On failure
    out_dir is untouched and the work folder is kept as `<out_dir>.failed/` with the sources and logs."""
    ensure_latex()
    compiler = Compiler(use_cache=cache, reporter=reporter)
    with output_folder(Path(out_dir), kind) as stage:
        work = None
        try:
            with held():  # the work folder exists only once `work` names it, so that it is removed
                work = Path(tempfile.mkdtemp(prefix=f".{stage.out.name}.work-", dir=stage.out.parent))
            ticker = reporter.start(len(docs), "PDFs")
            fresh = []  # the documents to compile; a cached PDF goes straight into the stage
            for doc in docs:
                if compiler.take_cached(doc, lambda cached: stage.copy(cached, f"{doc.name}.pdf")):
                    ticker.tick(f"{doc.name}.pdf", "")
                else:
                    fresh.append(doc)
            for doc in fresh:
                folder = work / doc.name
                folder.mkdir(parents=True)
                (folder / f"{doc.stem}.tex").write_text(doc.tex, encoding="utf-8")
            errors = compile_all(compiler, fresh, work, jobs, ticker)
            if errors:
                with held():
                    failed = keep_failed(work, stage.out)
                    work = None
                raise LatexError(errors[0].replace("{staging}", str(failed)))
            if compiler.cached:
                reporter.info(f"{compiler.compiled} PDF(s) compiled, {compiler.cached} unchanged ones taken from the cache")
            for doc in fresh:
                stage.place(work / doc.name / f"{doc.stem}.pdf", f"{doc.name}.pdf")
            files = extra_files(stage.path) if callable(extra_files) else extra_files
            for name, text in (files or {}).items():
                stage.write(name, text)
            return stage.commit()
        finally:
            if work is not None:
                with held():
                    shutil.rmtree(work, ignore_errors=True)


def compile_all(compiler: Compiler, docs: list[Document], work: Path, jobs: int, ticker) -> list[str]:
    """Compile `docs` in `work`, `jobs` at a time. A failed document stops the build at once: those
    after it are killed if running and never started otherwise (Compiler.cancel); an interrupt stops
    all. The errors in the order of `docs`: the first is that of the first document that fails."""
    if not docs:
        return []

    def compile_one(index: int, doc: Document) -> str | None:
        error = compiler.compile(doc, work / doc.name, index)
        if error == CANCELLED:
            return error
        ticker.tick(f"{doc.name}.pdf", "FAILED" if error else "")
        if error:
            compiler.cancel(after=index)
        return error

    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(docs))))
    try:
        futures = [pool.submit(compile_one, index, doc) for index, doc in enumerate(docs)]
        results = [future.result() for future in futures]
    except BaseException:  # Ctrl-C or SIGTERM while waiting: stop every compile before cleaning up
        compiler.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [error for error in results if error and error != CANCELLED]


def write_tex(docs: list[Document], out_dir: Path) -> list[Path]:
    """Write the .tex sources only (no compile), published as a whole like the PDFs."""
    with output_folder(Path(out_dir), "sources") as stage:
        for doc in docs:
            stage.write(f"{doc.name}.tex", doc.tex)
        return stage.commit()


_FILE_LINE = re.compile(r"^(?:\./)?([^\s:]+\.(?:tex|sty|cls)):(\d+): (.*)$", re.M)
_BANG = re.compile(r"^! (.*)$", re.M)
_LNUM = re.compile(r"^l\.(\d+)", re.M)


def describe_error(doc: Document, log: str) -> str:
    """One line: document, line, the variant whose fragment holds that line, and TeX's message."""
    match = _FILE_LINE.search(log)
    if match:
        source, line, message = match.group(1), int(match.group(2)), match.group(3).strip()
        bang = _BANG.search(log)
        if message.startswith(("Emergency stop", "==>")) and bang:  # a fatal error: its cause came first
            message = bang.group(1).strip()
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
    if re.search(r"File `.*' not found", message):
        message += " (qbank's TeX reads only its own build folder and the TeX installation)"
    return f"LaTeX error{what}, {where}{text}: {message}"


def variant_at(tex: str, line: int) -> str | None:
    """The `family seed N (part)` of the fragment that holds `line`, from the marker comments."""
    owner = field = None
    for number, text in enumerate(tex.splitlines(), start=1):
        if number > line:
            break
        if text.startswith(MARKER):
            owner, field = text[len(MARKER):].strip(), None
        elif text.startswith(FIELD_MARKER):
            field = text[len(FIELD_MARKER):].strip()
        elif text.startswith("% qbank-end"):
            owner = field = None
    if owner and field:
        return f"{owner}, field {field}"
    return owner
