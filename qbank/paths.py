"""Where qbank's content lives: the repository's generators/, templates/ and bank/, plus any extra
content roots an instructor lists in QBANK_PATH (colon-separated folders with the same layout)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def content_roots() -> list[Path]:
    extra = []
    for entry in os.environ.get("QBANK_PATH", "").split(os.pathsep):
        if not entry:
            continue
        folder = Path(entry).expanduser()
        if not folder.exists():
            raise InputError(f"QBANK_PATH: no such folder {entry}")
        if not folder.is_dir():
            raise InputError(f"QBANK_PATH: {entry} is a file, not a folder of generators/, templates/ and bank/")
        extra.append(folder.resolve())
    return [ROOT, *extra]


def template_dirs() -> list[Path]:
    return [root / "templates" for root in content_roots() if (root / "templates").is_dir()]


def generator_files() -> list[Path]:
    files: list[Path] = []
    for root in content_roots():
        folder = root / "generators"
        if folder.is_dir():
            files.extend(sorted(p for p in folder.glob("*.py") if not p.name.startswith("_")))
    return files
