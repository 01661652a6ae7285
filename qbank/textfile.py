"""Reading a user's text file (blueprint, bank file, --params file, roster, manifest) safely.

Every input is read as bytes with a size limit and decoded as UTF-8 (a UTF-8 byte-order mark, as
Excel and Notepad write, is dropped). Anything else is one clear line naming the file: missing, a
folder, a broken link, unreadable, too large, UTF-16/32, binary, or another encoding (with the line
and column of the first bad byte and a guess at what the encoding is).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

MB = 1_000_000
YAML_MAX_BYTES = 1 * MB  # blueprints, bank files, --params files
DEFAULT_MAX_BYTES = 16 * MB  # rosters and manifests (a manifest records every version of an exam)

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_UTF8_BOM = b"\xef\xbb\xbf"


def size_text(n: int) -> str:
    """1 MB, 16 MB, 500 kB, 300 bytes: limits as a person says them."""
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000} kB"
    return f"{n} bytes"


def read_text(path: Path | str, what: str = "file", max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The text of `path`, decoded as UTF-8, or an InputError naming the file and what is wrong.

    `what` says what the file is for ("blueprint", "roster", ...) in messages."""
    path = Path(path)
    data = _read_bytes(path, what, max_bytes)
    return decode_text(data, path, what)


def check_within(path: Path | str, folder: Path | str, what: str = "file") -> None:
    """A file written inside `folder` that is a symbolic link (or reached through a linked folder)
    leading out of it is refused before a byte of it is read: a course's bank files and blueprints
    come from the course, and a link to /etc/passwd or a key elsewhere must not be read into a
    message, a PDF or a CI log. Links that stay inside `folder` are fine."""
    path, folder = Path(path), Path(folder)
    try:
        real, base = path.resolve(), folder.resolve()
    except (OSError, RuntimeError):  # a loop of links: reading it reports it
        return
    if not real.is_relative_to(base):
        raise InputError(
            f"{path}: the {what} is a symbolic link leading out of {base} (to {real}); qbank reads a course's "
            f"files only from inside its folder: copy the file in, or list its folder in QBANK_PATH"
        )


def _read_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    try:
        return _checked_read(path, what, max_bytes)
    except OSError as exc:  # a name too long, a loop of links, an I/O error...
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _checked_read(path: Path, what: str, max_bytes: int) -> bytes:
    if path.is_symlink() and not path.exists():
        target = os.readlink(path)
        there = os.path.lexists(path.parent / target)
        why = "which leads nowhere (a loop of links?)" if there else "which does not exist"
        raise InputError(f"{path}: a broken symbolic link (it points to {target}, {why})")
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file (expected the {what})")
    # both checks: access() answers for the real user (setuid, ACLs), open() may still refuse
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied: the {what} cannot be read (check its permissions)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # never more than the limit, even from a pipe or /dev/zero
    except PermissionError:
        raise InputError(f"{path}: permission denied: the {what} cannot be read (check its permissions)") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file (expected the {what})") from None
    if len(data) > max_bytes:
        raise InputError(f"{path}: the {what} is larger than {size_text(max_bytes)} (the limit for a {what})")
    return data


def decode_text(data: bytes, path: Path | str, what: str = "file") -> str:
    """Bytes as UTF-8 text (without a UTF-8 byte-order mark), or an InputError naming `path`."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise InputError(f"{path}: the file is {name}; save it as UTF-8")
    data = data.removeprefix(_UTF8_BOM)
    if b"\x00" in data:
        if _looks_utf16(data):
            raise InputError(f"{path}: the file is UTF-16 (without a byte-order mark); save it as UTF-8")
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError(f"{path}: a binary file, not text (a NUL byte on line {line}); the {what} must be UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 ({_where(data, exc.start)}): save it as UTF-8") from None


def _looks_utf16(data: bytes) -> bool:
    """Text in UTF-16 without a byte-order mark: every other byte NUL (ASCII characters)."""
    if len(data) < 4 or len(data) % 2:
        return False
    even, odd = data[0::2], data[1::2]
    return even.count(0) > 0.9 * len(even) or odd.count(0) > 0.9 * len(odd)


def _where(data: bytes, start: int) -> str:
    """`first bad byte 0xE9 at line 3, column 7; it looks like Latin-1/Windows-1252`."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8")) + 1
    text = f"first bad byte 0x{data[start]:02X} at line {line}, column {column}"
    guess = _guess(data)
    return f"{text}; it looks like {guess}" if guess else text


def _guess(data: bytes) -> str:
    """A guess at a single-byte encoding: accented letters and typographic quotes of Windows-1252."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return ""
    high = [c for c in text if ord(c) > 127]
    if high and all(c.isalpha() or c in "€‚„…†‡ˆ‰‹‘’“”•–—˜™›¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷\xa0" for c in high):
        return "Latin-1/Windows-1252"
    return ""
