"""Where qbank's content lives: the repository's generators/, templates/ and bank/, plus any extra
content roots an instructor lists in QBANK_PATH (colon-separated folders with the same layout)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

ROOT = Path(__file__).resolve().parent.parent
CONTENT_FOLDERS = ("generators", "templates", "bank")


def content_roots() -> list[Path]:
    """qbank's own root, then each QBANK_PATH folder once, in order. A QBANK_PATH entry that is
    missing, a file, or a folder with none of generators/, templates/ and bank/ is an error (a typo
    there would otherwise leave an instructor's families silently out)."""
    roots = [ROOT]
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
