"""A course workspace: a folder of the instructor's own, marked by `qbank.yaml` (found from the current
folder upwards, the way git finds `.git`), holding the course's bank/, generators/ and templates/
next to the built-in ones, and the defaults of its commands (secret file, output folder, jobs).

    course: Deep Learning, spring term
    defaults:
      secret_file: .qbank-secret   # relative to the workspace
      out: build                   # outputs go to build/<name> inside the workspace
      jobs: 2                      # parallel pdflatex runs (default: all cores)

`qbank init DIR` writes one (qbank.scaffold). The file is found without being parsed (so that
`qbank list` stays quick); it is read, and checked field by field, when a default is needed.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

WORKSPACE_FILE = "qbank.yaml"
WORKSPACE_ENV = "QBANK_WORKSPACE"  # a workspace folder to use wherever qbank runs (e.g. in CI)
FIELDS = {"course", "defaults"}
DEFAULT_FIELDS = {"secret_file", "out", "jobs"}
MAX_JOBS = 256


@dataclass(frozen=True)
class Workspace:
    root: Path  # the folder holding qbank.yaml (resolved)
    course: str
    secret_file: Path  # absolute
    out: Path  # absolute: the folder outputs go in by default
    jobs: int | None

    @property
    def config(self) -> Path:
        return self.root / WORKSPACE_FILE


def find_root(start: Path | None = None) -> Path | None:
    """The workspace folder: $QBANK_WORKSPACE if set, else the first folder from `start` (default: the
    current folder) upwards that holds a qbank.yaml file; None outside any workspace."""
    named = os.environ.get(WORKSPACE_ENV, "").strip()
    if named:
        folder = Path(named).expanduser()
        if not (folder / WORKSPACE_FILE).is_file():
            raise InputError(f"${WORKSPACE_ENV}: {named} holds no {WORKSPACE_FILE} (run `qbank init {named}` to make one)")
        return folder.resolve()
    return workspace_above(Path(start) if start is not None else Path.cwd())


def workspace_above(start: Path) -> Path | None:
    """The first folder from `start` upwards that holds a qbank.yaml file (no $QBANK_WORKSPACE)."""
    try:
        start = start.resolve()
    except OSError:
        return None
    for folder in (start, *start.parents):
        if (folder / WORKSPACE_FILE).is_file():
            return folder
    return None


def course_folder(path: Path | str) -> Path | None:
    """The folder a course file (a bank file, a blueprint) belongs to, by where it is written (links
    not followed): the deepest content root holding it (qbank's own, the workspace, a QBANK_PATH
    folder), else the nearest folder up holding qbank.yaml or .git; None for a loose file."""
    from .paths import content_roots

    written = Path(os.path.abspath(path))
    holding = [root for root in content_roots() if written.is_relative_to(root)]
    if holding:
        return max(holding, key=lambda root: len(root.parts))
    for folder in written.parents:
        if (folder / WORKSPACE_FILE).is_file() or os.path.lexists(folder / ".git"):
            return folder
    return None


def check_course_file(path: Path | str, what: str) -> None:
    """A course file must not be a link leading out of its course folder (textfile.check_within)."""
    from .textfile import check_within

    folder = course_folder(path)
    if folder is not None:
        check_within(path, folder, what)


def current() -> Workspace | None:
    """The workspace qbank runs in (see find_root), read and checked; None outside any."""
    root = find_root()
    return load(root) if root is not None else None


@functools.lru_cache(maxsize=8)
def load(root: Path) -> Workspace:
    from .textfile import check_within
    from .yamlfile import load_located

    check_within(root / WORKSPACE_FILE, root, "workspace file")
    doc = load_located(root / WORKSPACE_FILE, "workspace file")
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        from .bank import kind_of

        raise doc.error((), f"expected a mapping with {', '.join(sorted(FIELDS))}, got {kind_of(data, quote=False)}")
    for key in data:
        if key not in FIELDS:
            raise doc.error((key,), f"unknown field (expected {', '.join(sorted(FIELDS))})")
    course = data.get("course", root.name)
    if not isinstance(course, str) or not course.strip() or len(course) > 200:
        raise doc.error(("course",), "expected the course's name, a line of text of at most 200 characters")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise doc.error(("defaults",), f"expected a mapping with {', '.join(sorted(DEFAULT_FIELDS))}")
    for key in defaults:
        if key not in DEFAULT_FIELDS:
            raise doc.error(("defaults", key), f"unknown field (expected {', '.join(sorted(DEFAULT_FIELDS))})")

    def inside(key: str, default: str) -> Path:
        value = defaults.get(key, default)
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            raise doc.error(("defaults", key), "expected a path relative to the workspace folder")
        path = Path(value).expanduser()
        return path if path.is_absolute() else root / path

    secret_file = inside("secret_file", ".qbank-secret")
    _key_file_inside(doc, root, secret_file)
    out = inside("out", "build")
    if out.resolve() == root:
        raise doc.error(("defaults", "out"), "the output folder cannot be the workspace itself (outputs replace their folder as a whole)")
    jobs = defaults.get("jobs")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS):
        raise doc.error(("defaults", "jobs"), f"expected a whole number of parallel jobs from 1 to {MAX_JOBS}")
    return Workspace(root, course.strip(), secret_file, out, jobs)


def _key_file_inside(doc: Any, root: Path, secret_file: Path) -> None:
    """The course's key file lies inside the workspace folder, and is no link leading out of it:
    qbank makes it there, and nothing a build reads, makes or advises about a key may concern a
    file outside the course (`secret_file: /etc/passwd`, or a key file an attacker could read or
    choose). A key kept elsewhere is given with --secret-file or $QBANK_SECRET."""
    written = Path(os.path.normpath(secret_file))
    where = ("defaults", "secret_file")
    if not written.is_relative_to(root) or written == root:
        raise doc.error(where, f"expected a file inside the workspace folder {root} (such as .qbank-secret), got "
                        f"{written}; for a key kept elsewhere, use --secret-file or $QBANK_SECRET")
    try:
        real = written.resolve()
    except (OSError, RuntimeError):
        return  # a loop of links: reading the key file reports it
    if not real.is_relative_to(root.resolve()):
        raise doc.error(where, f"{written} is a symbolic link leading out of the workspace folder (to {real}); "
                        "the course's key file must be a file of its own inside it: remove the link, or use "
                        "--secret-file or $QBANK_SECRET for a key kept elsewhere")


def default_out(*parts: str) -> Path:
    """Where an output goes when no --out is given: inside the workspace's output folder, or build/
    in the current folder outside a workspace."""
    ws = current()
    base = ws.out if ws is not None else Path("build")
    return base.joinpath(*parts)


def default_jobs() -> int | None:
    ws = current()
    return ws.jobs if ws is not None else None
