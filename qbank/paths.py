"""Where qbank's content lives: the built-in generators/, templates/ and bank/ (the repository's own
folders in a clone; package data under qbank/_builtin/ in an installed qbank), then the course
workspace's (qbank.workspace: the folder of qbank.yaml), then any extra content roots an instructor
lists in QBANK_PATH (colon-separated folders with the same layout). Earlier roots come first: a
template of a later root never shadows a built-in one, and a later bank item replaces a built-in one
only when it says so (`replaces:`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .errors import InputError

PACKAGE = Path(__file__).resolve().parent
CONTENT_FOLDERS = ("generators", "templates", "bank")


def _builtin_root() -> Path:
    bundled = PACKAGE / "_builtin"  # an installed wheel (see pyproject.toml's package-dir)
    return bundled if bundled.is_dir() else PACKAGE.parent  # a clone or an editable install


ROOT = _builtin_root()


def content_roots() -> list[Path]:
    """qbank's own root, the workspace's (if qbank runs inside one), then each QBANK_PATH folder once,
    in order. A QBANK_PATH entry that is missing, a file, or a folder with none of generators/,
    templates/ and bank/ is an error (a typo there would otherwise leave an instructor's families
    silently out)."""
    from .workspace import find_root

    roots = [ROOT]
    workspace = find_root()
    if workspace is not None and workspace not in roots:
        roots.append(workspace)
    for entry in os.environ.get("QBANK_PATH", "").split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry).expanduser()
        if not folder.exists():
            raise InputError(f"QBANK_PATH: no such folder {entry}")
        if not folder.is_dir():
            raise InputError(f"QBANK_PATH: {entry} is a file, not a folder of generators/, templates/ and bank/")
        if not any((folder / name).is_dir() for name in CONTENT_FOLDERS):
            raise InputError(f"QBANK_PATH: {entry} holds none of generators/, templates/ and bank/ (is it the right folder?)")
        folder = folder.resolve()
        if folder not in roots:  # listed twice, or qbank's own root: load it once
            roots.append(folder)
    return roots


def template_dirs() -> list[Path]:
    return [root / "templates" for root in content_roots() if (root / "templates").is_dir()]


def generator_files() -> list[Path]:
    files: list[Path] = []
    for root in content_roots():
        folder = root / "generators"
        if folder.is_dir():
            files.extend(sorted(p for p in folder.glob("*.py") if not p.name.startswith("_")))
    return files


def origins() -> Callable[[Path], str]:
    """A function telling which content root a file belongs to: "built-in", "course" or "QBANK_PATH"
    ("other" outside them all). The roots are found once, for a whole listing."""
    from .workspace import find_root

    workspace = find_root()
    deepest_first = sorted(content_roots(), key=lambda r: len(r.parts), reverse=True)
    names = {root: "built-in" if root == ROOT else "course" if root == workspace else "QBANK_PATH" for root in deepest_first}

    def origin(path: Path) -> str:
        path = Path(path).resolve()
        return next((names[root] for root in deepest_first if path.is_relative_to(root)), "other")

    return origin


def find_blueprint(text: str) -> Path:
    """A blueprint given by path, or by name (`midterm`: bank/exams/midterm.yaml of the QBANK_PATH
    folders, the workspace, then the built-in bank, the first that has it)."""
    path = Path(text)
    if path.exists() or path.suffix or len(path.parts) != 1:
        return path
    for root in reversed(content_roots()):
        candidate = root / "bank" / "exams" / f"{text}.yaml"
        if candidate.is_file():
            return candidate
    return path

