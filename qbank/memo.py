"""A build's work kept for the next one: verified draws, rendered fragments, each version's documents.

A cached rebuild of an exam would otherwise spend most of its time drawing and verifying every
variant again and rendering every fragment and document, only to find each PDF in the PDF cache. The
entries live beside the PDFs (`qbank.latex.default_cache_dir()`, `$QBANK_CACHE`), as JSON files named
by the SHA-256 of everything that made them:

- the request itself: the family, seed, pins, ranges and structure of a draw; the whole manifest
  entry of a fragment; the whole version record (with the exam's header and layout) of a version's
  exam and solutions;
- the code and the templates: the bytes of every module of qbank, of the families' own module files
  and of every file in the template folders (in search order, so a template that shadows another
  counts), and the versions of Python, numpy, sympy, jinja2 and pylatex.

Change any byte of those and the key changes, so an entry is never stale. A family whose methods are
not all defined in its module file (patched at run time, or inherited from elsewhere) is not cached
at all. Entries are signed and written atomically (qbank.cache): one whose MAC fails, or that another
user wrote, is computed again and never used; one that cannot be read, written or decoded only costs
the time to compute it again.

The files hashed for the key are read in chunks of CHUNK_BYTES, and a file over MAX_HASHED_BYTES in a
template folder (a stray data set, an 8 GB image) is an error naming it, not a read of it whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from . import cache as signed
from .coursecode import ORIGINAL
from .errors import InputError
from .family import Family
from .model import Variant, thaw

FORMAT = "2"  # bump when the layout or the meaning of entries changes (2: signed entries)
CHUNK_BYTES = 1 << 20
MAX_HASHED_BYTES = 64 << 20  # per file of a template folder or a family module: text and a few images
LIBRARIES = ("numpy", "sympy", "jinja2", "pylatex")
# The methods through which a family shapes a draw or a fragment; each must be the code of its file.
FAMILY_METHODS = ("sample", "validate", "degenerate", "solve", "check", "context", "structure_of", "parts",
                  "asks_of", "reveals_of", "minutes")
CONDITIONS = ("pinned", "constraints", "structure")  # of a draw, besides the family and the seed
_PLAIN = (str, int, float, bool, type(None))
MAX_DEPTH = 100  # a request nested deeper is not kept (manifests and pins are a few levels deep)
_ACTIVE: ContextVar[Memo | None] = ContextVar("qbank_memo", default=None)


def active_memo() -> Memo | None:
    """The memo that qbank.engine.draw consults: set by `Memo.keeping_draws()` for one build."""
    return _ACTIVE.get()


def canonical(value: Any) -> str | None:
    """`value` as JSON text when it is plain JSON data of exact types (so that two requests with one
    text are the same request: a tuple or a str subclass would print like a list or a str, and a
    family may treat them otherwise); None when it is not, or nests deeper than MAX_DEPTH (a cycle)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if depth > MAX_DEPTH:
            return None
        if kind is dict:
            if any(type(k) is not str for k in item):
                return None
            stack.extend((v, depth + 1) for v in item.values())
        elif kind is list:
            stack.extend((v, depth + 1) for v in item)
        elif kind not in _PLAIN or kind is float and item != item:
            return None
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except ValueError:  # an infinity
        return None


def _digest_files(digest: Any, files: list[Path], base: Path) -> None:
    for path in files:
        digest.update(f"{path.relative_to(base)}\0".encode())
        size = digest_file(digest, path)
        digest.update(f"\0{size}\0".encode())


def digest_file(digest: Any, path: Path) -> int:
    """Feed the bytes of `path` to `digest` in chunks; return how many. A file over MAX_HASHED_BYTES
    (by its size, or by what it turns out to hold) is an InputError naming it; a file that is not a
    regular one (a pipe put in place of it) is an OSError."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a pipe must not block the build
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path}: not a regular file")
        if info.st_size > MAX_HASHED_BYTES:
            raise _too_large(path, info.st_size)
        total = 0
        while chunk := handle.read(CHUNK_BYTES):
            total += len(chunk)
            if total > MAX_HASHED_BYTES:  # it grew while being read
                raise _too_large(path, total)
            digest.update(chunk)
    return total


def _too_large(path: Path, size: int) -> InputError:
    return InputError(
        f"{path}: {_size_text(size)}, more than qbank reads from a content folder ({_size_text(MAX_HASHED_BYTES)} "
        "a file: every build hashes templates/ and generators/ for its cache); move it out of the folder"
    )


def _size_text(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"


class Memo:
    """The memo of one build. Disabled (`Memo(enabled=False)`, or `--no-cache`), it computes every
    time and stores nothing."""

    def __init__(self, enabled: bool = True, root: Path | None = None):
        self.enabled = enabled
        self._root = root
        self._code: str | None = None
        self._families: dict[str, str | None] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            from .latex import default_cache_dir

            self._root = default_cache_dir() / "memo"
        return self._root

    # --- keys ----------------------------------------------------------------------------------------

    def code_digest(self) -> str:
        """qbank's modules, the template folders and the library versions, read once per build. A file
        too large to hash is an InputError; one that cannot be read, an OSError (then nothing is kept)."""
        if self._code is None:
            from importlib import metadata

            from .paths import template_dirs

            digest = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
            for name in LIBRARIES:
                try:
                    digest.update(f"{name} {metadata.version(name)}\0".encode())
                except metadata.PackageNotFoundError:
                    digest.update(f"{name} -\0".encode())
            package = Path(__file__).resolve().parent
            _digest_files(digest, sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts), package)
            for index, folder in enumerate(template_dirs()):
                digest.update(f"templates {index}\0".encode())
                _digest_files(digest, sorted(p for p in folder.rglob("*") if p.is_file()), folder)
            self._code = digest.hexdigest()
        return self._code

    def family_digest(self, fam: Family) -> str | None:
        """The bytes of the family's module file; None when its code is not all in that file."""
        if fam.id not in self._families:
            self._families[fam.id] = _family_source_digest(fam)
        return self._families[fam.id]

    def _path(self, kind: str, request: Any, families: Sequence[Family]) -> Path | None:
        if not self.enabled:
            return None
        text = canonical(request)
        sources = [self.family_digest(fam) for fam in dict.fromkeys(families)]
        if text is None or None in sources:
            return None
        try:
            code = self.code_digest()
        except OSError:  # a template or module that cannot be read: no key, no cache
            self.enabled = False
            return None
        key = hashlib.sha256(f"{kind}\0{code}\0{' '.join(sources)}\0{text}".encode()).hexdigest()
        return self.root / kind / key[:2] / f"{key}.json"

    # --- entries -------------------------------------------------------------------------------------

    def get(self, kind: str, request: Any, families: Sequence[Family] = (), shape: Callable[[Any], bool] = bool) -> Any | None:
        """The value kept for `request` (made by the code of `families`, besides qbank's and the
        templates), or None: none kept, unreadable, or not of the `shape` expected."""
        path = self._path(kind, request, families)
        if path is None:
            return None
        kept = signed.load(path)  # only an entry whose MAC holds, written by this user
        if kept is None:
            return None
        try:
            value = json.loads(kept)["value"]
        except (ValueError, KeyError, TypeError):
            return None
        return value if shape(value) else None

    def put(self, kind: str, request: Any, value: Any, families: Sequence[Family] = ()) -> None:
        path = self._path(kind, request, families)
        if path is None:
            return
        try:
            text = json.dumps({"value": value}, allow_nan=False, separators=(",", ":"))
        except (ValueError, TypeError):
            return  # not JSON data: not kept (a cache only costs speed)
        signed.store(path, text)

    # --- what is kept --------------------------------------------------------------------------------

    @contextmanager
    def keeping_draws(self) -> Iterator[Memo]:
        """Within the block every qbank.engine.draw goes through this memo: the draws that validate
        the bank and the blueprint as well as the exam's own. A verified draw is safe to keep for any
        caller, unlike a fragment, whose caller vouches for its verification (so fragments and
        versions are kept only where a memo is passed explicitly)."""
        if self.enabled:
            try:
                self.code_digest()  # a file too large to hash is an error of its own, before any draw
            except OSError:
                self.enabled = False  # one that cannot be read: nothing is kept (a cache only costs speed)
        token = _ACTIVE.set(self if self.enabled else None)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def draw(self, fam: Family, seed: int, **conditions: Mapping[str, Any] | None) -> Variant:
        """qbank.engine.draw, verified once and then kept: the same family code, seed and conditions
        (`pinned`, `constraints`, `structure`, as the engine takes them) give the same variant."""
        from .engine import fresh_draw

        # as the engine takes them: any mappings, made dicts (their values must be plain, see canonical)
        request = {"family": fam.id, "seed": seed, **{name: dict(conditions.get(name) or {}) for name in CONDITIONS}}
        hit = self.get("draw", request, (fam,), _variant_shape)
        if hit is not None:
            return Variant(fam.id, seed, hit["params"], hit["answers"], tuple(hit["pinned"]))
        variant = fresh_draw(fam, seed, **conditions)
        self.put("draw", request, {"params": thaw(variant.params), "answers": thaw(variant.answers),
                                   "pinned": list(variant.pinned)}, (fam,))
        return variant


NO_MEMO = Memo(enabled=False)  # computes every time: library calls and tests that build in memory


def _variant_shape(kept: Any) -> bool:
    return (type(kept) is dict and type(kept.get("params")) is dict and type(kept.get("answers")) is dict
            and type(kept.get("pinned")) is list and all(type(name) is str for name in kept["pinned"]))


def two_texts(kept: Any) -> bool:
    """A problem and a solution fragment, or an exam and its solutions."""
    return type(kept) is list and len(kept) == 2 and all(type(text) is str for text in kept)


def _family_source_digest(fam: Family) -> str | None:
    cls = type(fam)
    module = sys.modules.get(cls.__module__)
    source = getattr(module, "__file__", None)
    if not source or vars(fam):  # no file, or attributes set on the instance itself
        return None
    allowed = {os.path.realpath(source), os.path.realpath(sys.modules[Family.__module__].__file__)}
    for name in FAMILY_METHODS:
        method = getattr(cls, name, None)
        method = getattr(method, ORIGINAL, method)  # the family's own function, not qbank's guard around it
        code = getattr(method, "__code__", None)
        if code is None or os.path.realpath(code.co_filename) not in allowed:
            return None
    digest = hashlib.sha256()
    try:
        digest_file(digest, Path(source))
    except OSError:
        return None
    return digest.hexdigest()
