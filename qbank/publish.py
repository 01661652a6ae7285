"""Publishing an output folder as a whole: staged beside it, then swapped in, under a lock.

- Before any work: `--out` must not be a file, a file-system root or the home folder, its parent must
  be writable, and an existing folder must be one qbank made (it holds the marker file `.qbank-output`).
  qbank never writes into, or deletes, a folder it did not make.
- During the build everything is written into a staging folder beside the output (`.NAME.staging-*`);
  a lock (`.NAME.lock` beside it) makes a second build into the same folder stop at once.
- Success: the staging folder replaces the output folder as a whole, so the folder holds exactly this
  build: nothing of an older build (a `v02/` of a 2-version build) survives beside a new key.
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
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from contextlib import contextmanager

from .errors import InputError

MARKER = ".qbank-output"
FAILED_MARKER = ".qbank-failed"
PRIVATE = "instructor"  # the top-level folder of files students must not see


def check_output_dir(out: Path) -> Path:
    """Refuse, before any work, an output folder qbank cannot or must not write."""
    out = Path(out)
    resolved = out.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise InputError(f"--out {out}: refusing to write into {'the file-system root' if resolved == Path(resolved.anchor) else 'your home folder'}; give a folder of its own, e.g. build/exam")
    if resolved.exists() and not resolved.is_dir():
        raise InputError(f"--out {out}: is a file, not a folder; give a folder (it is created if missing)")
    if resolved.is_dir() and any(resolved.iterdir()) and not made_by_qbank(resolved):
        raise InputError(
            f"--out {out}: the folder exists and was not made by qbank (no {MARKER} in it); "
            "qbank replaces its output folder as a whole, so give a new or empty folder"
        )
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


_LEGACY_DRAW_FILES = {"problem.pdf", "solution.pdf", "problem.tex", "solution.tex", "problems.pdf", "solutions.pdf"}


def made_by_qbank(folder: Path) -> bool:
    """The marker file, or the shape of an output written before qbank wrote markers (an exam folder
    with its manifest, or a draw/practice folder holding only its PDFs and sources)."""
    if (folder / MARKER).is_file():
        return True
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("tool"), dict) and "qbank" in manifest["tool"]:
            return True
    except (OSError, ValueError):
        pass
    names = {p.name for p in folder.iterdir()}
    return bool(names) and names <= _LEGACY_DRAW_FILES


class Stage:
    """A staging folder that becomes the output folder on `commit()`."""

    def __init__(self, out: Path, kind: str):
        self.out = out
        self.path = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
        os.chmod(self.path, 0o777 & ~_umask())  # mkdtemp makes it 0700; the output folder is an ordinary one
        (self.path / MARKER).write_text(json.dumps({"made_by": "qbank", "kind": kind}) + "\n", encoding="utf-8")
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
        """Swap the stage in for the output folder; return the published files (markers excluded)."""
        files = sorted(p for p in self.path.rglob("*") if p.is_file() and p.name != MARKER)
        relative = [p.relative_to(self.path) for p in files]
        if self.out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
            os.rename(self.out, old / "previous")
            try:
                os.rename(self.path, self.out)
            except OSError:
                os.rename(old / "previous", self.out)  # put the old build back
                raise
            shutil.rmtree(old, ignore_errors=True)  # the old build: qbank's own (it had the marker)
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
    out = check_output_dir(out)
    with locked(out):
        stage = Stage(out, kind)
        try:
            yield stage
        finally:
            stage.discard()
