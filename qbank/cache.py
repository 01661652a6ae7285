"""Cache entries that vouch for themselves: whatever qbank keeps between builds (the memo's draws,
answers, fragments and documents, PDFs and preamble formats, HTML and SVG fragments) is stored with an
HMAC-SHA256 under a key of the user's own, and used only when that MAC holds.

Anyone who can write the cache folder (a shared `$QBANK_CACHE` on a course server, another account,
a stray script) could otherwise change a key or a page: an entry holds answers and documents, and a
build takes it as it finds it. So:

- the key is 256 random bits in `$XDG_CONFIG_HOME/qbank/cache.key` (else `~/.config/qbank/cache.key`),
  made on first use at 0600 in a 0700 folder. A key file that is not the user's own regular file, or
  that others may read or write, or a key folder others may write, is refused with one error line:
  a key others can read lets them sign entries;
- an entry is `MAGIC <hex MAC>\\n<payload>`, the MAC taken over the entry's file name (its content
  key, so that an entry cannot be moved under another request's name) and the payload;
- an entry is used only when it is a regular file of the user's own (not a link, no larger than
  MAX_ENTRY_BYTES) whose MAC holds; any other is computed again, never used, and one warning line
  tells of the first one found changed (a file another user owns is passed over silently: on a shared
  cache it may be theirs);
- folders qbank creates for the cache are 0700; entries are written atomically (a temporary file
  renamed into place).

A key that cannot be made (no writable home) only costs speed: the build runs without the cache and
says so once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import sys
import threading
from pathlib import Path

from .errors import InputError

MAGIC = b"qbank-cache-entry 1 "
MAC_CHARS = 64  # hex SHA-256
HEADER_BYTES = len(MAGIC) + MAC_CHARS + 1
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # a PDF or a preamble format is a few MB; a larger entry is no entry of qbank's
KEY_FILE = "cache.key"

_lock = threading.Lock()
_said = threading.Lock()
_key: bytes | None = None
_key_unavailable = False  # no key could be made: the cache is off for this process (said once)
_reported: set[str] = set()  # what was said already: "tampered", "no key"


def key_path() -> Path:
    """Where the cache key lives: the user's own configuration folder (XDG), never the cache."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    folder = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return folder / "qbank" / KEY_FILE


def cache_key() -> bytes | None:
    """The user's cache key, made on first use; None when none can be made (no cache, said once). A key
    file or folder that others could read or change is an InputError naming it and what to do."""
    global _key, _key_unavailable
    with _lock:
        if _key is None and not _key_unavailable:
            path = key_path()
            try:
                _key = _read_key(path) if _exists(path) else _make_key(path)
            except OSError as exc:
                _key_unavailable = True
                _say_once("no key", f"qbank: note: no cache key ({path}: {exc.strerror or exc}); building without the cache")
        return _key


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _check_folder(folder: Path) -> None:
    info = os.stat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(f"{folder}: not a folder; the cache key lives in it (move the file away)")
    if info.st_uid != os.geteuid():
        raise InputError(f"{folder}: the cache key's folder belongs to another user (uid {info.st_uid}); "
                         f"set XDG_CONFIG_HOME to a folder of your own")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise InputError(f"{folder}: other users may change the cache key's folder (mode {mode:o}); "
                         f"make it yours alone: chmod 700 {folder}")


def _read_key(path: Path) -> bytes:
    _check_folder(path.parent)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(path):
            raise InputError(f"{path}: the cache key is a symbolic link; it must be a file of your own "
                             f"(delete the link: qbank makes a new key)") from None
        raise InputError(f"{path}: cannot read the cache key: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        mode = stat.S_IMODE(info.st_mode)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: the cache key is not a regular file; delete it (qbank makes a new key)")
        if info.st_uid != os.geteuid():
            raise InputError(f"{path}: the cache key belongs to another user (uid {info.st_uid}), who could sign "
                             f"cache entries; delete it (qbank makes a new key)")
        if mode & 0o077:
            raise InputError(f"{path}: other users may read or change the cache key (mode {mode:o}) and so sign "
                             f"cache entries; delete it (qbank makes a new key, the cache is computed again)")
        text = handle.read(2 * MAC_CHARS + 1)
    try:
        key = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != 32:
        raise InputError(f"{path}: not a qbank cache key (64 hexadecimal digits); delete it (qbank makes a new key)")
    return key


def _make_key(path: Path) -> bytes:
    """A new key where none is: written to a private temporary file and linked into place, which fails
    if another qbank made the key meanwhile (then that one is read): no key is ever replaced."""
    import secrets

    private_folders(path.parent)
    _check_folder(path.parent)
    text = secrets.token_hex(32)
    temporary = path.parent / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key(path)
    finally:
        temporary.unlink(missing_ok=True)
    return bytes.fromhex(text)


def private_folders(folder: Path) -> None:
    """Create `folder` and any missing parent at 0700 (Path.mkdir gives parents the default mode)."""
    missing = []
    current = Path(folder)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass


def _mac(key: bytes, path: Path, payload: bytes | memoryview) -> bytes:
    digest = hmac.new(key, MAGIC + path.name.encode("utf-8", "surrogateescape") + b"\0", hashlib.sha256)
    digest.update(payload)
    return digest.hexdigest().encode("ascii")


def store(path: Path, data: str | bytes) -> None:
    """Keep one entry, signed, atomically (a reader sees the whole entry or none). A cache that cannot
    be written only costs speed: an error leaves no temporary file behind and is not reported."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(payload) > MAX_ENTRY_BYTES:
        return
    key = cache_key()
    if key is None:
        return
    import tempfile

    path = Path(path)
    try:
        private_folders(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.suffix.lstrip('.') or 'entry'}-", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + _mac(key, path, payload) + b"\n")
            handle.write(payload)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load(path: Path) -> bytes | None:
    """The payload of a trusted entry; None when there is none, it is not the user's own, or its MAC
    fails (then one warning line, once per run). The key is read first, so that a key file others
    could read or change is refused at the first look into the cache, before any work."""
    key = cache_key()
    if key is None:
        return None
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError:
        if os.path.islink(path):  # qbank writes no links into its cache
            _tampered(path)
        return None
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            return None  # another user's (a shared cache): theirs to trust, not ours
        if not stat.S_ISREG(info.st_mode) or info.st_size > HEADER_BYTES + MAX_ENTRY_BYTES:
            _tampered(path)
            return None
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            header = handle.read(HEADER_BYTES)
            payload = handle.read(max(0, info.st_size - HEADER_BYTES) + 1)  # what it holds now: the MAC sees it
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    if (len(header) < HEADER_BYTES or not header.startswith(MAGIC) or header[-1:] != b"\n"
            or not hmac.compare_digest(header[len(MAGIC) : len(MAGIC) + MAC_CHARS], _mac(key, path, payload))):
        _tampered(path)
        return None
    return payload


def load_text(path: Path) -> str | None:
    payload = load(path)
    if payload is None:
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _tampered(path: Path) -> None:
    _say_once("tampered", f"qbank: warning: cache entry {path} was changed outside qbank (its MAC does not hold, "
                          f"or it is not a file qbank wrote): not used, computed again (so is any other such entry)")


def _say_once(what: str, line: str) -> None:
    with _said:
        if what in _reported:
            return
        _reported.add(what)
    print(line, file=sys.stderr, flush=True)
