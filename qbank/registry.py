"""Discovery: load every generator module (built-in and an instructor's own) through one path."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path

from .errors import FamilyError
from .family import REGISTRY, Family
from .paths import generator_files

_loaded = False


def load_families() -> dict[str, Family]:
    """Import each generators/*.py once; their @register decorators fill the registry."""
    global _loaded
    if _loaded:
        return REGISTRY
    for path in generator_files():
        # A private module name per file: nothing called `generators` ever enters sys.modules.
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        name = f"qbank_content_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except FamilyError:
            sys.modules.pop(name, None)
            raise
        except SyntaxError as exc:
            sys.modules.pop(name, None)
            raise FamilyError(f"{exc.filename or path}: line {exc.lineno}: syntax error in generator module: {exc.msg}") from None
        except Exception as exc:
            sys.modules.pop(name, None)
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
            line = frames[-1].lineno if frames else 1
            raise FamilyError(
                f"{path}: line {line}: could not load generator module: {type(exc).__name__}: {exc}"
            ) from None
    _loaded = True
    return REGISTRY


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
