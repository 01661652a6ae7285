"""Secret-keyed seeds: what is printed on an exam (a version code) cannot be turned into its answers.

Each question's seed is HMAC-SHA256(secret, blueprint digest, version, slot, attempt). The secret lives
in a key file created on first use (``.qbank-secret`` in the course folder, mode 0600, git-ignored),
or in $QBANK_SECRET; it must carry at least 128 bits of entropy. The version code printed on the exam is another HMAC of the same secret: it identifies
the version for grading, but without the secret it says nothing about the seeds.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import math
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Callable, Mapping

from .errors import InputError

SECRET_FILE_NAME = ".qbank-secret"
DEFAULT_SECRET_FILE = Path(SECRET_FILE_NAME)
SECRET_ENV = "QBANK_SECRET"
MIN_BITS = 128
HOW_TO_MAKE = (
    "make one with `python3 -c \"import secrets; print(secrets.token_hex(32))\" > .qbank-secret` "
    "(or delete the key file and let qbank create one)"
)
_WORDS = re.compile(r"^[A-Za-z]+(?:[ _.-]+[A-Za-z]+)*$")


def secret_strength_bits(text: str) -> float:
    """A deliberately modest estimate of a secret's entropy, in bits.

    Random-looking text counts log2(size of the character classes it uses) per character; a phrase of
    words (letters joined by spaces or punctuation) counts 12 bits per word, what a guess from a list
    of 4,000 common words costs; a string made of one short unit repeated, or of a run of consecutive
    characters (aaaa, 0123, abcd), counts as that unit once."""
    text = text.strip()
    if not text:
        return 0.0
    for size in range(1, len(text) // 2 + 1):  # "abcabcabc": the unit, not the length
        if len(text) % size == 0 and text == text[:size] * (len(text) // size):
            text = text[:size]
            break
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    if len(text) > 2 and len(steps) == 1 and abs(next(iter(steps))) <= 1:
        return math.log2(95) * 2  # aaaa..., 0123..., abcd...: two guesses' worth
    if _WORDS.match(text):
        return 12.0 * len(re.split(r"[ _.-]+", text))
    pool = 0
    pool += 26 if re.search(r"[a-z]", text) else 0
    pool += 26 if re.search(r"[A-Z]", text) else 0
    pool += 10 if re.search(r"[0-9]", text) else 0
    pool += 33 if re.search(r"[^A-Za-z0-9]", text) else 0
    if re.fullmatch(r"[0-9a-f]+", text):
        pool = 16  # hex: what token_hex writes
    return len(text) * math.log2(max(pool, 2))


def check_strength(text: str, where: str) -> bytes:
    """The secret as bytes, or an error when it is empty or too weak to stop offline guessing (the
    version code on every exam and the public blueprint would let anyone test guesses)."""
    if not text.strip():
        raise InputError(f"{where}: the secret is empty; {HOW_TO_MAKE}")
    bits = secret_strength_bits(text)
    if bits < MIN_BITS:
        raise InputError(
            f"{where}: the secret is too weak (about {bits:.0f} bits, at least {MIN_BITS} needed, so that nobody can "
            f"guess it from a version code); {HOW_TO_MAKE}"
        )
    return text.strip().encode()


def course_root(blueprint: Path) -> Path:
    """The course folder of a blueprint: walking up from its folder, the first folder that holds
    `qbank.yaml` or `.git` (the repository root) or a `.qbank-secret`; else the blueprint's own folder."""
    start = Path(blueprint).resolve().parent
    for folder in (start, *start.parents):
        if any((folder / name).exists() for name in ("qbank.yaml", ".git", SECRET_FILE_NAME)):
            return folder
    return start


def default_secret_file(blueprint: Path) -> Path:
    """The key file of a blueprint's course: `<course folder>/.qbank-secret` (see course_root)."""
    return course_root(blueprint) / SECRET_FILE_NAME


def resolve_secret(
    flag: str | None,
    env: Mapping[str, str],
    secret_file: Path | None,
    blueprint: Path,
    warn: Callable[[str], None],
    create: bool = True,
) -> tuple[bytes, str]:
    """The exam's secret and where it came from: `--secret` (for tests and scripts: it shows in `ps`
    and shell history, so it warns), else $QBANK_SECRET, else the key file (`--secret-file`, or the
    course's `.qbank-secret`, created on first use). An empty value is an error, never a fallback."""
    if flag is not None:
        warn("warning: --secret is visible to other users in `ps` and stays in your shell history; "
             f"prefer ${SECRET_ENV} or a key file (--secret-file)")
        return check_strength(flag, "--secret"), "--secret"
    if SECRET_ENV in env:
        return check_strength(env[SECRET_ENV], f"${SECRET_ENV}"), f"${SECRET_ENV}"
    path = Path(secret_file) if secret_file is not None else default_secret_file(blueprint)
    return load_or_create_secret(path, create=create, warn=warn), str(path)


def load_or_create_secret(
    path: Path = DEFAULT_SECRET_FILE, create: bool = True, warn: Callable[[str], None] = lambda m: None
) -> bytes:
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise InputError(f"{path}: the key file is a symbolic link to a missing file ({os.readlink(path)})")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a key file; give the file's path with --secret-file")
    if path.exists():
        try:
            data = path.read_bytes()
            if not os.access(path, os.R_OK):
                raise PermissionError(errno.EACCES, "permission denied")
        except PermissionError:
            raise InputError(f"{path}: cannot read the key file (permission denied); make it readable by you: chmod 600 {path}") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read the key file: {exc.strerror}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{path}: the key file is not UTF-8 text; {HOW_TO_MAKE}") from None
        mode = path.stat().st_mode
        if mode & 0o077:
            warn(f"warning: {path} can be read or changed by other users (mode {stat.S_IMODE(mode):o}); "
                 f"keep it private: chmod 600 {path}")
        return check_strength(text, str(path))
    if not create:
        raise InputError(f"{path}: no secret key file (build the exam once to create it, or set ${SECRET_ENV})")
    if not path.parent.is_dir():
        raise InputError(f"{path}: cannot create the key file: the folder {path.parent} does not exist")
    text = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created meanwhile by another build: use that one
        return load_or_create_secret(path, create=False, warn=warn)
    except OSError as exc:
        raise InputError(f"{path}: cannot create the key file: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return text.encode()


def _mac(secret: bytes, *parts: object) -> bytes:
    message = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def question_seed(secret: bytes, blueprint_digest: str, version: int, slot: str, attempt: int = 0) -> int:
    return int.from_bytes(_mac(secret, "seed", blueprint_digest, version, slot, attempt)[:8], "big") >> 1


def version_code(secret: bytes, blueprint_digest: str, version: int) -> str:
    """A short code like 'K7QF-2MZD' printed on the exam and its solutions."""
    raw = base64.b32encode(_mac(secret, "code", blueprint_digest, version)[:5]).decode()
    return f"{raw[:4]}-{raw[4:8]}"


def secret_fingerprint(secret: bytes, blueprint_digest: str) -> str:
    """Recorded in the manifest: tells which secret built an exam without revealing it. Salted with the
    blueprint and slow (scrypt), so that it is no faster a way to test guesses than the exam itself."""
    key = hashlib.scrypt(secret, salt=b"qbank-fingerprint:" + blueprint_digest.encode(), n=2**14, r=8, p=1, dklen=16)
    return "scrypt:" + key.hex()


def fingerprint_matches(secret: bytes, blueprint_digest: str, recorded: str) -> bool:
    return hmac.compare_digest(secret_fingerprint(secret, blueprint_digest), recorded)
