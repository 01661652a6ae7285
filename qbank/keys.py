"""Secret-keyed seeds: what is printed on an exam (a version code) cannot be turned into its answers.

Each question's seed is HMAC-SHA256(secret, blueprint digest, version, slot, attempt). The secret lives
in a key file created on first use (``.qbank-secret``, mode 0600, git-ignored) unless given with
``--secret``. The version code printed on the exam is another HMAC of the same secret: it identifies
the version for grading, but without the secret it says nothing about the seeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from .errors import InputError

DEFAULT_SECRET_FILE = Path(".qbank-secret")


def load_or_create_secret(path: Path = DEFAULT_SECRET_FILE, create: bool = True) -> bytes:
    path = Path(path)
    if path.is_file():
        text = path.read_text(encoding="utf-8").strip()
        if len(text) < 16:
            raise InputError(f"{path}: the secret is too short (expected at least 16 characters)")
        return text.encode()
    if not create:
        raise InputError(f"{path}: no secret key file (build the exam once to create it, or pass --secret)")
    text = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return text.encode()


def secret_from_text(text: str) -> bytes:
    if len(text) < 8:
        raise InputError("--secret: expected at least 8 characters")
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


def secret_fingerprint(secret: bytes) -> str:
    """Recorded in the manifest: tells which secret built an exam without revealing it."""
    return hashlib.sha256(b"qbank-fingerprint" + secret).hexdigest()[:16]
