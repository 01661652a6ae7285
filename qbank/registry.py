"""Discovery: load every generator module (built-in and an instructor's own) through one path.

Loading a module and every method of the families it registers run as course code (qbank.coursecode):
with a time limit, prints sent to stderr, and no way to end qbank (sys.exit is an error naming the
file and line)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path

from .coursecode import draw_timeout, guard_family_class, module_region
from .errors import FamilyError
from .family import REGISTRY, SHADOWED, Family, _class_line, _source_file
from .paths import generator_files

_loaded = False


def load_families() -> dict[str, Family]:
    """Import each generators/*.py once; their @register decorators fill the registry. A module that
    cannot be imported is a FamilyError naming its file and line: the line of a syntax error, else
    the deepest line of that file the error passed through. The families' methods are then guarded
    (qbank.coursecode.guard_family_class)."""
    global _loaded
    if _loaded:
        return REGISTRY
    draw_timeout()  # a bad QBANK_DRAW_TIMEOUT is an error of its own, not one of the first module
    for path in generator_files():
        # A private module name per file: nothing called `generators` ever enters sys.modules.
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        name = f"qbank_content_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        before = dict(REGISTRY)
        try:
            with module_region(path):
                spec.loader.exec_module(module)
        except FamilyError:
            sys.modules.pop(name, None)
            raise
        except SyntaxError as exc:  # also IndentationError, TabError
            sys.modules.pop(name, None)
            where = exc.filename if exc.filename and Path(exc.filename).is_file() else None
            if where is None:  # compile() or ast inside the module: a run-time error like any other
                raise _load_error(path, exc) from None
            line = f": line {exc.lineno}" if exc.lineno else ""
            text = f" in `{_one_line(exc.text, 80)}`" if exc.text and exc.text.strip() else ""
            raise FamilyError(f"{where}{line}: syntax error in generator module: {_one_line(exc.msg)}{text}") from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit: a module calling sys.exit() must not end qbank quietly
            sys.modules.pop(name, None)
            raise _load_error(path, exc) from None
        for family_id, fam in REGISTRY.items():  # new ids, and a course family in a built-in one's place
            if before.get(family_id) is not fam:
                guard_family_class(type(fam))
    for fam in REGISTRY.values():
        cls = type(fam)
        if cls.replaces and SHADOWED.get(fam.id) is None:
            line = _class_line(cls)
            raise FamilyError(f"{_source_file(cls)}{f': line {line}' if line else ''}: family {fam.id}: replaces = "
                              f"{cls.replaces!r}, but no built-in family has that id (`qbank list` outside the workspace "
                              "shows the built-in ones): leave `replaces` out")
    _loaded = True
    return REGISTRY


def _load_error(path: Path, exc: BaseException) -> FamilyError:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    line = f": line {frames[-1].lineno}" if frames else ""
    detail = _one_line(str(exc))
    return FamilyError(
        f"{path}{line}: could not load generator module: {type(exc).__name__}{': ' + detail if detail else ''}"
    )


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def get_family(family_id: str) -> Family:
    families = load_families()
    try:
        return families[family_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(family_id, families, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FamilyError(f"unknown family {family_id!r}{hint} (`qbank list` shows them all)") from None


def all_families() -> list[Family]:
    return sorted(load_families().values(), key=lambda f: (f.topic, f.id))
