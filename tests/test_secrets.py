"""Secrets: strong enough that a version code and the public blueprint do not give them away, read from
a key file, the environment or a test flag, and never silently replaced."""

from __future__ import annotations

import itertools
import os
import secrets
from pathlib import Path
from unittest import mock

import pytest

from qbank.errors import InputError
from qbank.keys import (
    MIN_BITS,
    course_root,
    default_secret_file,
    fingerprint_matches,
    load_or_create_secret,
    resolve_secret,
    secret_fingerprint,
    secret_strength_bits,
)

STRONG = secrets.token_hex(16)
COMMON = "the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part".split()


@pytest.mark.parametrize("text", [secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(24), "Tr0ub4dor&3xYz!Qw9#Lm2^Kp7"])
def test_strong_secrets_pass(text):
    assert secret_strength_bits(text) >= MIN_BITS


@pytest.mark.parametrize(
    "text",
    ["quiz-secret", "secret-one-two-three", "password", "correct horse battery staple", "a" * 64, "0123456789" * 4,
     "abcabcabcabcabcabcabcabcabcabcabc", "0123456789abcdef0123456789abcdef", "Summer2026!", "deadbeef" * 2],
)
def test_weak_secrets_fail(text):
    assert secret_strength_bits(text) < MIN_BITS
    with pytest.raises(InputError, match=r"--secret: the secret is too weak \(about \d+ bits, at least 128 needed.*token_hex"):
        resolve_secret(text, {}, None, Path("x.yaml"), warn=lambda m: None)


def test_no_dictionary_guess_passes():
    for a, b in itertools.product(COMMON[:60], repeat=2):
        for guess in (a, f"{a} {b}", f"{a}-{b}", f"{a}{b}", f"{a}-{b}-{a}"):
            assert secret_strength_bits(guess) < MIN_BITS, guess


def test_empty_secrets_are_errors_never_a_fallback(tmp_path):
    (tmp_path / ".qbank-secret").write_text(STRONG)
    with pytest.raises(InputError, match=r"--secret: the secret is empty"):
        resolve_secret("", {}, tmp_path / ".qbank-secret", tmp_path / "x.yaml", warn=lambda m: None)
    with pytest.raises(InputError, match=r"\$QBANK_SECRET: the secret is empty"):
        resolve_secret(None, {"QBANK_SECRET": ""}, tmp_path / ".qbank-secret", tmp_path / "x.yaml", warn=lambda m: None)


def test_where_the_secret_comes_from(tmp_path):
    warnings = []
    secret, source = resolve_secret(STRONG, {}, None, tmp_path / "x.yaml", warn=warnings.append)
    assert secret == STRONG.encode() and source == "--secret" and "visible to other users in `ps`" in warnings[0]
    secret, source = resolve_secret(None, {"QBANK_SECRET": STRONG}, None, tmp_path / "x.yaml", warn=warnings.append)
    assert source == "$QBANK_SECRET"
    secret, source = resolve_secret(None, {}, None, tmp_path / "x.yaml", warn=warnings.append)
    key = tmp_path / ".qbank-secret"
    assert source == str(key) and key.stat().st_mode & 0o777 == 0o600 and key.read_text().strip().encode() == secret
    assert resolve_secret(None, {}, None, tmp_path / "x.yaml", warn=warnings.append)[0] == secret  # read back


def test_the_key_file_belongs_to_the_course_folder_not_the_current_one(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / ".git").mkdir(parents=True)
    (course / "exams" / "deep").mkdir(parents=True)
    blueprint = course / "exams" / "deep" / "midterm.yaml"
    monkeypatch.chdir(tmp_path)
    assert course_root(blueprint) == course and default_secret_file(blueprint) == course / ".qbank-secret"
    (course / "qbank.yaml").write_text("course: x\n")
    assert course_root(blueprint) == course
    loose = tmp_path / "loose" / "quiz.yaml"
    loose.parent.mkdir()
    assert course_root(loose) in (loose.parent, *loose.parents)


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda p: p.mkdir(), r"is a folder, not a key file"),
        (lambda p: os.symlink(p.parent / "gone", p), r"is a symbolic link to a missing file"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00"), r"not UTF-8 text"),
        (lambda p: p.write_text("\n"), r"the secret is empty"),
        (lambda p: p.write_text("short-secret"), r"the secret is too weak"),
    ],
)
def test_bad_key_files_are_one_clear_error(tmp_path, setup, expected):
    key = tmp_path / ".qbank-secret"
    setup(key)
    with pytest.raises(InputError, match=expected):
        load_or_create_secret(key)


def test_a_key_file_in_a_missing_folder_or_unreadable(tmp_path):
    with pytest.raises(InputError, match=r"the folder .*nowhere does not exist"):
        load_or_create_secret(tmp_path / "nowhere" / ".qbank-secret")
    key = tmp_path / ".qbank-secret"
    key.write_text(STRONG)
    key.chmod(0)
    with mock.patch("os.access", return_value=False):  # tests run as root, who can read mode 000
        with pytest.raises(InputError, match=r"cannot read the key file \(permission denied\); .*chmod 600"):
            load_or_create_secret(key)


def test_a_key_file_others_can_read_gets_a_warning(tmp_path):
    key = tmp_path / ".qbank-secret"
    key.write_text(STRONG)
    key.chmod(0o644)
    warnings = []
    assert load_or_create_secret(key, warn=warnings.append) == STRONG.encode()
    assert "can be read or changed by other users (mode 644)" in warnings[0]


def test_the_fingerprint_is_salted_slow_and_deterministic():
    digest_a, digest_b = "a" * 64, "b" * 64
    fp = secret_fingerprint(STRONG.encode(), digest_a)
    assert fp.startswith("scrypt:") and fp == secret_fingerprint(STRONG.encode(), digest_a)
    assert fp != secret_fingerprint(STRONG.encode(), digest_b)
    assert fingerprint_matches(STRONG.encode(), digest_a, fp) and not fingerprint_matches(b"other" * 8, digest_a, fp)
