"""`qbank init DIR`: a new course workspace, from the files in qbank/scaffold/ (qbank.yaml, an example
item of each kind, an example blueprint mixing built-in and course content, one small family with its
template, .gitignore and a README saying what to edit)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import InputError

SCAFFOLD = Path(__file__).resolve().parent / "scaffold"
RENAMED = {"gitignore": ".gitignore"}  # stored without the dot (packaging tools skip dot files)
FILLED = {"qbank.yaml", "README.md", "bank/exams/example.yaml"}  # hold the course's name
MAX_COURSE = 200


def scaffold_files() -> list[tuple[str, Path]]:
    """(path in the workspace, source file), sorted."""
    out = []
    for path in sorted(SCAFFOLD.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(SCAFFOLD).as_posix()
            out.append((RENAMED.get(rel, rel), path))
    return out


def _course_name(course: str | None, dest: Path) -> str:
    if course is None:
        course = dest.resolve().name.replace("-", " ").replace("_", " ").strip() or "My course"
    if not course.strip() or "\n" in course or "\r" in course or len(course) > MAX_COURSE:
        raise InputError(f"--course: expected the course's name on one line, at most {MAX_COURSE} characters")
    return course.strip()


def _text(rel: str, source: Path, course: str) -> bytes:
    data = source.read_bytes()
    if rel in FILLED:
        import json

        # YAML gets a double-quoted string (JSON's quoting is valid YAML); the README the plain name
        value = course if rel.endswith(".md") else json.dumps(course, ensure_ascii=False)
        data = data.replace(b"{course}", value.encode("utf-8"))
    return data


def init_workspace(dest: Path, course: str | None = None, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Write a workspace into `dest` (a new or empty folder; with `force`, a non-empty one, where the
    files that exist already are kept as they are). Returns (written, kept)."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest}: is a file; qbank init writes a new folder")
    course = _course_name(course, dest)
    entries = sorted(p.name for p in dest.iterdir()) if dest.is_dir() else []
    if entries and not force:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise InputError(
            f"{dest}: not empty ({shown}); qbank init writes into a new or empty folder "
            "(--force adds the files it lacks and leaves every existing file as it is)"
        )
    files = scaffold_files()
    if not dest.exists():  # build it beside, then move it into place: never a half-made workspace
        parent = dest.resolve().parent
        if not parent.is_dir():
            raise InputError(f"{dest}: the folder {parent} does not exist")
        stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.init-", dir=parent))
        try:
            for rel, source in files:
                target = stage / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_text(rel, source, course))
            os.chmod(stage, 0o755 & ~_umask())
            stage.rename(dest)
        except OSError as exc:
            shutil.rmtree(stage, ignore_errors=True)
            raise InputError(f"{dest}: could not write the workspace: {exc.strerror or exc}") from None
        return [dest / rel for rel, _ in files], []
    written, kept = [], []
    for rel, source in files:
        target = dest / rel
        if target.exists() or target.is_symlink():
            kept.append(target)
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.qbank-init")
            tmp.write_bytes(_text(rel, source, course))
            os.replace(tmp, target)
        except OSError as exc:
            raise InputError(f"{target}: could not write: {exc.strerror or exc}") from None
        written.append(target)
    return written, kept


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

