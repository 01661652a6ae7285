"""Publishing an output folder as a whole: staged beside it, then swapped in, under a lock.

- Before any work: `--out` must not be a file, a file-system root or the home folder, its parent must
  be writable, and an existing folder must be one qbank made for the same kind of output (the marker
  file `.qbank-output` records the kind, `exam`, `site`, `lms-moodle`, ..., and every file qbank wrote)
  holding nothing else: no file qbank did not write, so no user's notes, and never another kind of
  output (a site never replaces an exam). A folder inside another qbank output is refused too (the next
  build of that output would have to delete it). qbank never writes into, or deletes, a folder it did
  not make.
- During the build everything is written into a staging folder beside the output (`.NAME.staging-*`);
  a lock (`.NAME.lock` beside it) makes a second build into the same folder stop at once.
- Success: the staging folder replaces the output folder as a whole, so the folder holds exactly this
  build: nothing of an older build (a `v02/` of a 2-version build) survives beside a new key. The swap
  is never cut in two by Ctrl-C or SIGTERM (qbank.interrupts.held).
- Failure or interrupt: the previous output is untouched; the sources and logs of a failed compile are
  kept in `NAME.failed/` (replacing only a `.failed` folder that qbank made itself).
- Files below `instructor/` (solutions, keys, manifest) are written for the owner only (0600, folders
  0700); students' files keep the usual permissions.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError
from .interrupts import held

MARKER = ".qbank-output"
FAILED_MARKER = ".qbank-failed"
PRIVATE = "instructor"  # the top-level folder of files students must not see
MARKER_MAX_BYTES = 50_000_000

# Every kind of output, as an error names it. `documents` is the kind of markers written before draw
# and practice had kinds of their own: either may replace such a folder.
KINDS = {
    "exam": "an exam (qbank exam or rebuild)",
    "draw": "a drawn problem's PDFs (qbank draw)",
    "sources": "a drawn problem's LaTeX (qbank draw --format tex)",
    "html": "a drawn problem's web page (qbank draw --format html)",
    "practice": "a practice set (qbank practice)",
    "site": "a practice site (qbank site)",
    "lms-moodle": "a Moodle quiz (qbank export moodle)",
    "lms-canvas": "a Canvas quiz (qbank export canvas)",
    "documents": "PDFs of qbank draw or practice",
}
_COMPATIBLE = {"documents": {"draw", "practice"}}

# What each kind may hold, for markers written before they listed their files (issue 9 to 16).
_ID = r"[A-Za-z0-9._-]{1,64}"
_FILES_OF_KIND = {
    "exam": rf"README\.txt|instructor/(key\.json|key\.csv|pages\.csv|manifest\.json)|students/{_ID}/exam\.pdf"
            rf"|instructor/{_ID}/solutions\.pdf",
    "documents": r"(problem|solution|problems|solutions)\.pdf",
    "draw": r"(problem|solution)\.pdf",
    "practice": r"(problems|solutions)\.pdf",
    "sources": r"(problem|solution)\.tex",
    "html": r"index\.html|assets/[^/]+|figures/[^/]+\.svg",
    "site": r"index\.html|site\.json|assets/[^/]+|figures/[^/]+\.svg|[a-z0-9][a-z0-9-]*/[^/]+\.html",
    "lms-moodle": r"[^/]+\.xml|manifest\.json|key\.json",
    "lms-canvas": r"[^/]+\.zip|manifest\.json|key\.json",
}
# An exam built before qbank wrote markers (up to issue 8): manifest.json, key.json and key.csv at the
# top, and a folder per version, named in that manifest, with exam.pdf and solutions.pdf.
_LEGACY_EXAM = re.compile(rf"manifest\.json|key\.json|key\.csv|({_ID})/(exam|solutions)\.pdf")
_SHOWN = 3  # foreign files an error names


def check_output_dir(out: Path, kind: str | None = None) -> Path:
    """Refuse, before any work, an output folder qbank cannot or must not write: with `kind`, also one
    that holds another kind of qbank output."""
    out = Path(out)
    resolved = out.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise InputError(f"--out {out}: refusing to write into {'the file-system root' if resolved == Path(resolved.anchor) else 'your home folder'}; give a folder of its own, e.g. build/exam")
    if resolved.exists() and not resolved.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder; give a folder (it is created if missing)")
    _refuse_inside_output(out, resolved)
    if resolved.is_dir():
        refuse_foreign(out, resolved, kind)
    parent = resolved.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create the folder {parent}: {exc.strerror}") from None
    if not parent.is_dir():
        raise InputError(f"--out {out}: {parent} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{resolved.name}.probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write into {parent}: {exc.strerror or exc}") from None
    return resolved


def _refuse_inside_output(out: Path, resolved: Path) -> None:
    for above in resolved.parents:
        marker = read_marker(above)
        if marker is not None:
            raise InputError(
                f"--out {out}: is inside {above}, which holds {_kind_words(marker.get('kind'))}; the next build "
                "of that output would delete it, so give a folder outside it"
            )


def refuse_foreign(out: Path, folder: Path, kind: str | None) -> None:
    """An error unless `folder` is empty or holds only what qbank wrote there, as output of `kind`
    (any kind when None)."""
    try:
        if not any(folder.iterdir()):
            return
    except OSError as exc:
        raise InputError(f"--out {out}: cannot read the folder: {exc.strerror or exc}") from None
    marker = read_marker(folder)
    advice = "qbank replaces its output folder as a whole"
    if marker is None:
        if not _legacy_exam(folder):
            raise InputError(
                f"--out {out}: the folder exists and was not made by qbank (no {MARKER} in it); "
                f"{advice}, so give a new or empty folder"
            )
        marker = {"kind": "exam", "legacy": True}
    found = marker.get("kind")
    if found not in KINDS:
        raise InputError(
            f"--out {out}: its {MARKER} marker cannot be read or names no kind of output this qbank knows; "
            f"{advice}, so give a new or empty folder"
        )
    if kind is not None and found != kind and kind not in _COMPATIBLE.get(found, ()):
        raise InputError(
            f"--out {out}: holds {KINDS[found]}, not {KINDS.get(kind, kind)}; {advice}, so give another folder"
        )
    foreign = _foreign_files(folder, _written_by_qbank(folder, marker))
    if foreign:
        raise InputError(
            f"--out {out}: holds {_shown(foreign)}, which qbank did not write; {advice} and would delete "
            f"{'it' if len(foreign) == 1 else 'them'}: move {'it' if len(foreign) == 1 else 'them'} out of the "
            "folder, or give a new or empty folder"
        )


def _shown(foreign: list[str]) -> str:
    more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
    return ", ".join(foreign[:_SHOWN]) + more


def _kind_words(kind: Any) -> str:
    return KINDS.get(kind, "a qbank output") if isinstance(kind, str) else "a qbank output"


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker of a qbank output folder: None when there is none; `{"kind": None}` when there is one
    that cannot be read. A marker before issue 17 has `made_by` and `kind` and no `files`."""
    path = folder / MARKER
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return {"kind": None}
    try:
        if info.st_size > MARKER_MAX_BYTES:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"kind": None}
    if not isinstance(data, dict) or data.get("made_by") != "qbank":
        return {"kind": None}
    files = data.get("files")
    if files is not None and not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
        return {"kind": None}
    return data


def _written_by_qbank(folder: Path, marker: dict[str, Any]):
    """Whether a file (its path below the folder, with `/`) is one qbank wrote: the marker's list, or
    for an older marker the names its kind writes."""
    if marker.get("legacy"):
        names = _legacy_folders(folder)
        return lambda rel: bool(_LEGACY_EXAM.fullmatch(rel)) and (rel.count("/") == 0 or rel.split("/")[0] in names)
    if marker.get("files") is not None:
        listed = set(marker["files"])
        return lambda rel: rel in listed
    pattern = re.compile(_FILES_OF_KIND[marker["kind"]])
    return lambda rel: bool(pattern.fullmatch(rel))


def _foreign_files(folder: Path, ours, limit: int = 1000) -> list[str]:
    """What `folder` holds that is not qbank's (sorted paths below it; symbolic links, folders with
    nothing of qbank's and folders that cannot be read count as foreign); the marker itself is qbank's.
    Stops after `limit`."""
    foreign: list[str] = []
    ours_below: set[str] = set()

    def unreadable(error: OSError) -> None:
        foreign.append(Path(error.filename).relative_to(folder).as_posix() + "/")

    for top, dirs, files in os.walk(folder, onerror=unreadable, followlinks=False):
        dirs.sort()
        rel_top = Path(top).relative_to(folder).as_posix()
        prefix = "" if rel_top == "." else rel_top + "/"
        for name in list(dirs):
            if os.path.islink(os.path.join(top, name)):
                foreign.append(prefix + name)
                dirs.remove(name)
        for name in sorted(files):
            rel = prefix + name
            if rel == MARKER:
                continue
            if not os.path.islink(os.path.join(top, name)) and ours(rel):
                parts = rel.split("/")
                ours_below.update("/".join(parts[:i]) for i in range(1, len(parts)))
            else:
                foreign.append(rel)
            if len(foreign) >= limit:
                return sorted(foreign)
    for top, dirs, _ in os.walk(folder, followlinks=False):
        rel_top = Path(top).relative_to(folder).as_posix()
        prefix = "" if rel_top == "." else rel_top + "/"
        for name in dirs:
            rel = prefix + name
            if rel not in ours_below and not any(f.startswith(rel + "/") for f in foreign) and not os.path.islink(os.path.join(top, name)):
                foreign.append(rel + "/")
    return sorted(foreign)


def _legacy_folders(folder: Path) -> set[str]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return {str(v["folder"]) for v in manifest["versions"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _legacy_exam(folder: Path) -> bool:
    """An exam folder written before qbank wrote markers: its manifest is a qbank exam manifest, and
    every file in it is one such a build wrote (a user's folder holding `solutions.pdf` is not one)."""
    try:
        if (folder / "manifest.json").stat().st_size > 200_000_000:
            return False
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not (isinstance(manifest, dict) and isinstance(manifest.get("tool"), dict) and "qbank" in manifest["tool"]
            and isinstance(manifest.get("versions"), list)):
        return False
    return not _foreign_files(folder, _written_by_qbank(folder, {"kind": "exam", "legacy": True}), limit=1)


def made_by_qbank(folder: Path) -> bool:
    """Whether `folder` is a qbank output (of any kind) holding only what qbank wrote."""
    try:
        refuse_foreign(folder, folder, None)
    except InputError:
        return False
    return read_marker(folder) is not None or _legacy_exam(folder)


class Stage:
    """A staging folder that becomes the output folder on `commit()`."""

    def __init__(self, out: Path, kind: str):
        self.out = out
        self.kind = kind
        self.path = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
        os.chmod(self.path, 0o777 & ~_umask())  # mkdtemp makes it 0700; the output folder is an ordinary one
        self.committed = False

    def write(self, name: str, text: str) -> Path:
        """Write a text file below the stage (owner-only when below instructor/)."""
        target = self.path / name
        self.mkdir(target.parent)
        private = Path(name).parts[0] == PRIVATE
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return target

    def place(self, source: Path, name: str) -> Path:
        """Move a finished file (a compiled PDF) to `name` below the stage."""
        return self._put(source, name, os.replace)

    def copy(self, source: Path, name: str) -> Path:
        """Copy a file (a PDF from the cache) to `name` below the stage."""
        return self._put(source, name, shutil.copyfile)

    def _put(self, source: Path, name: str, how) -> Path:
        target = self.path / name
        self.mkdir(target.parent)
        how(source, target)
        if Path(name).parts[0] == PRIVATE:
            os.chmod(target, 0o600)
        return target

    def mkdir(self, folder: Path) -> None:
        rel = folder.relative_to(self.path)
        current = self.path
        for part in rel.parts:
            current = current / part
            if not current.is_dir():
                current.mkdir()
                if rel.parts[0] == PRIVATE:
                    os.chmod(current, 0o700)

    def commit(self) -> list[Path]:
        """Swap the stage in for the output folder; return the published files (the marker excluded).
        The marker lists every file, so that the next build knows them from anything added later."""
        files = sorted(p for p in self.path.rglob("*") if p.is_file() and p.name != MARKER)
        relative = [p.relative_to(self.path) for p in files]
        marker = {"made_by": "qbank", "kind": self.kind, "files": [r.as_posix() for r in relative]}
        (self.path / MARKER).write_text(json.dumps(marker, indent=0) + "\n", encoding="utf-8")
        with held():  # an interrupt now waits for the swap: never an output folder half replaced
            if self.out.exists():
                refuse_foreign(self.out, self.out, self.kind)  # nothing added to it during the build
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
                os.rename(self.out, old / "previous")
                try:
                    os.rename(self.path, self.out)
                except OSError:
                    os.rename(old / "previous", self.out)  # put the old build back
                    raise
                shutil.rmtree(old, ignore_errors=True)  # the old build: qbank's own (checked just above)
            else:
                os.rename(self.path, self.out)
            self.committed = True
        return [self.out / r for r in relative]

    def discard(self) -> None:
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def keep_failed(work: Path, out: Path) -> Path:
    """Keep a failed build's sources and logs as OUT.failed (or OUT.failed-2, ... when a folder of
    that name exists that qbank did not make)."""
    (work / FAILED_MARKER).write_text("sources and logs of a failed qbank build\n", encoding="utf-8")
    for n in range(1, 100):
        failed = out.with_name(out.name + (".failed" if n == 1 else f".failed-{n}"))
        if failed.exists():
            if not (failed.is_dir() and (failed / FAILED_MARKER).is_file()):
                continue
            shutil.rmtree(failed)
        os.rename(work, failed)
        return failed
    return work


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """One build at a time into one output folder."""
    lock_path = out.parent / f".{out.name}.lock"
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise InputError(
                    f"--out {out}: another qbank build is writing this folder right now ({lock_path}); "
                    "wait for it to finish, or give another --out"
                ) from None
            raise
        yield
    finally:
        handle.close()


@contextmanager
def output_folder(out: Path, kind: str) -> Iterator[Stage]:
    """Check, lock, stage; the caller writes into the stage and calls `commit()`; anything else
    (an error, an interrupt) leaves the previous output as it was."""
    out = check_output_dir(out, kind)
    with locked(out):
        stage = None
        try:
            with held():  # the staging folder exists only once `stage` names it, so that it is removed
                stage = Stage(out, kind)
            yield stage
        finally:
            if stage is not None:
                with held():
                    stage.discard()
