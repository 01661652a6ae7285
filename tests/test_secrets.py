"""Secrets: strong enough that a version code and the public blueprint do not give them away, read from
a key file, the environment or a test flag, never silently replaced, and the key file checked."""

from __future__ import annotations

import collections
import errno
import itertools
import json
import os
import random
import re
import shutil
import string
import subprocess
import time
from pathlib import Path
from unittest import mock

import pytest
from conftest import ROOT, run_qbank

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

MAKE = 'python3 -c "import secrets; print(secrets.token_hex(32))"'
FOR_VALUES = f"make one with `{MAKE}`, or give neither --secret nor $QBANK_SECRET and qbank uses (or creates) the course's key file"
# Fixed tokens (no randomness in a test): a token_hex(16), a token_hex(32), a token_urlsafe(24).
HEX16 = "9f3c1a7e5b2d4c6e8a0f1b3d5c7e9a2b"
HEX32 = "3e7a9c1f5b2d8e4a6c0f9b3d7e1a5c2f8b4d6e0a2c9f7b1d3e5a8c4f6b0d2e9a"
URLSAFE = "Zq3_Xv8LpR2-mK7tWn4YcB9hJs6GdF1e"
STRONG = HEX32


def for_file(path) -> str:
    return ("it cannot be a key: make a new key file with `qbank key new FILE` and give it with --secret-file FILE "
            "(exams built with another key still rebuild from their manifests)")


def too_weak(where, bits, how) -> str:
    return (f"{where}: the secret is too weak (about {bits} bits of entropy; at least 128 are needed so that nobody "
            f"can guess it from a version code); {how}")


def quiet(message: str) -> None:
    pass


# --- how strong ---------------------------------------------------------------------------------

ESTIMATES = [
    # (secret, estimated bits rounded, why)
    (HEX16, 128, "token_hex(16): 32 hex digits, 4 bits each"),
    (HEX32, 256, "token_hex(32), what qbank writes into a new key file"),
    (HEX16.upper(), 128, "upper-case hex too"),
    (URLSAFE, 210, "token_urlsafe(24): 32 characters at 6.6 bits (letters, digits, others)"),
    ("Tr0ub4dor&3xYz!Qw9#Lm2^Kp7", 171, "26 random printable characters"),
    ("7" * 3 + "20590321843021934758103847561029", 116, "35 digits: log2(10) a digit"),
    ("quiz-secret", 24, "two words, 12 bits a word; the hyphen between them adds nothing"),
    ("secret-one-two-three", 51, "four words and one separator used throughout"),
    ("password", 12, "one word"),
    ("sunshine", 12, "an 8-letter word"),
    ("Password", 12, "Capitalised"),
    ("PASSWORD", 12, "UPPER"),
    ("correct horse battery staple", 51, "four words"),
    ("CorrectHorseBatteryStaple", 48, "camelCase: four words"),
    ("correcthorsebatterystaple", 24, "words run together: 12 bits per 20 letters"),
    ("internationalization characteristically", 24, "long words (20 and 18 letters) are words"),
    ("multiplication contributions", 24, "long words are still words"),
    ("Correct-Horse-Battery-Staple-2024!", 84, "words, then five characters at 6.6 bits"),
    ("Summer2026!", 45, "a word and five characters"),
    ("a" * 64, 5, "one character repeated"),
    ("0123456789" * 4, 7, "a run repeated"),
    ("abcabcabcabcabcabcabcabcabcabcabc", 12, "a short string repeated: the string once"),
    ("0123456789abcdef" * 2, 16, "a sequence of hex digits, twice"),
    ("deadbeef" * 2, 12, "a repeated word"),
    ("abcdefghijklmnopqrstuvwxyz0123456789", 21, "the alphabet and the digits in order"),
    ("12345678901234567890123456789012345678901234567890", 10, "counting"),
    ("a b c d e f g h i j k l m n o p q r s t u v w x y z", 15, "the alphabet, spaced"),
    ("a a a a a a a a a a a a", 12, "one letter, spaced"),
    ("zebra-apple-mango-river-stone-cloud-tiger-piano-lemon-ocean", 123, "ten words: not quite enough"),
    ("zebra-apple-mango-river-stone-cloud-tiger-piano-lemon-ocean-eagle", 135, "eleven words pass"),
    ("🔑" * 40, 5, "one emoji repeated"),
    ("   ", 0, "only blanks"),
]


@pytest.mark.parametrize("text, bits, why", ESTIMATES, ids=[why for _, _, why in ESTIMATES])
def test_entropy_estimates(text, bits, why):
    assert round(secret_strength_bits(text)) == bits


@pytest.mark.parametrize("text", [t for t, bits, _ in ESTIMATES if bits >= MIN_BITS])
def test_strong_secrets_pass(text):
    assert resolve_secret(text, {}, None, Path("x.yaml"), warn=quiet) == (text.encode(), "--secret")


@pytest.mark.parametrize("text", ["quiz-secret", "secret-one-two-three", "sunshine", "Summer2026!",
                                  "correct horse battery staple", "0123456789abcdef" * 2, "a" * 64])
def test_weak_secrets_are_refused_saying_how_to_make_one(text):
    bits = round(secret_strength_bits(text))
    with pytest.raises(InputError) as caught:
        resolve_secret(text, {}, None, Path("x.yaml"), warn=quiet)
    assert str(caught.value) == too_weak("--secret", bits, FOR_VALUES)
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {"QBANK_SECRET": text}, None, Path("x.yaml"), warn=quiet)
    assert str(caught.value) == too_weak("$QBANK_SECRET", bits, FOR_VALUES)


def test_random_tokens_never_fall_below_their_strength():
    """token_hex(16) carries exactly 128 bits: no chance run of digits or letters may cost it any."""
    rng = random.Random(20260512)
    for _ in range(3000):
        token = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        assert secret_strength_bits(token) == 128, token
    base64 = string.ascii_letters + string.digits + "+/"
    for _ in range(1000):  # `openssl rand -base64 32`
        token = "".join(rng.choice(base64) for _ in range(43)) + "="
        assert secret_strength_bits(token) >= MIN_BITS, token


def dictionary() -> list[str]:
    """2,000 English words: the most frequent words of this repository's own prose (README, bank,
    code), the words an instructor of this course is likeliest to pick."""
    text = " ".join(p.read_text(encoding="utf-8") for pattern in ("README.md", "bank/items/*.yaml", "qbank/*.py")
                    for p in sorted(ROOT.glob(pattern)))
    counts = collections.Counter(w for w in re.findall(r"\b[a-z]{3,}\b", text))
    words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:2000]
    assert len(words) == 2000
    return words


def test_no_dictionary_word_or_pair_of_words_passes():
    words = dictionary()
    for word in words:
        for guess in (word, word.capitalize(), word.upper(), word + "2026", word.capitalize() + "2026!", word * 3):
            assert secret_strength_bits(guess) < MIN_BITS, guess
    common = words[:60]
    for a, b in itertools.product(common, repeat=2):
        for guess in (f"{a} {b}", f"{a}-{b}", f"{a}_{b}", f"{a}{b}", f"{a.capitalize()}{b.capitalize()}",
                      f"{a}-{b}-{a}-{b}", f"{a.capitalize()}-{b.capitalize()}-2026!", f"{a}.{b}.{a}{b}"):
            assert secret_strength_bits(guess) < MIN_BITS, guess


def test_a_phrase_of_ten_words_is_still_refused():
    rng = random.Random(7)
    words = dictionary()
    for _ in range(300):
        phrase = rng.sample(words, 10)
        for guess in (" ".join(phrase), "-".join(phrase), "".join(w.capitalize() for w in phrase)):
            assert secret_strength_bits(guess) < MIN_BITS, guess


def test_long_secrets_are_estimated_in_linear_time():
    started = time.perf_counter()
    secret_strength_bits("ab" * 512)
    secret_strength_bits(HEX32 * 32)
    assert time.perf_counter() - started < 0.5


# --- where the secret comes from -----------------------------------------------------------------


def test_the_flag_warns_that_it_is_visible(tmp_path):
    warnings = []
    assert resolve_secret(STRONG, {"QBANK_SECRET": HEX16}, None, tmp_path / "x.yaml", warn=warnings.append) == (
        STRONG.encode(), "--secret")
    assert warnings == [("warning: --secret is visible to other users in `ps` and stays in your shell history; "
                         "prefer $QBANK_SECRET or a key file (--secret-file)")]
    assert not (tmp_path / ".qbank-secret").exists()


def test_the_environment_comes_before_the_key_file(tmp_path):
    (tmp_path / ".qbank-secret").write_text(HEX16)
    (tmp_path / ".qbank-secret").chmod(0o600)
    warnings = []
    assert resolve_secret(None, {"QBANK_SECRET": f"  {STRONG}\n"}, None, tmp_path / "x.yaml", warn=warnings.append) == (
        STRONG.encode(), "$QBANK_SECRET")
    assert warnings == []


@pytest.mark.parametrize("flag, env, where", [("", {}, "--secret"), ("  \n", {}, "--secret"),
                                              (None, {"QBANK_SECRET": ""}, "$QBANK_SECRET")])
def test_an_empty_secret_is_an_error_never_the_key_file(tmp_path, flag, env, where):
    (tmp_path / ".qbank-secret").write_text(STRONG)
    warnings = []
    with pytest.raises(InputError) as caught:
        resolve_secret(flag, env, tmp_path / ".qbank-secret", tmp_path / "x.yaml", warn=warnings.append)
    assert str(caught.value) == f"{where}: the secret is empty (qbank never falls back to the key file then); {FOR_VALUES}"
    assert warnings == []


def test_the_key_file_is_created_on_first_use_then_read_back(tmp_path):
    old_umask = os.umask(0)  # even with a permissive umask the new file is private
    try:
        secret, source = resolve_secret(None, {}, None, tmp_path / "x.yaml", warn=quiet)
    finally:
        os.umask(old_umask)
    key = tmp_path / ".qbank-secret"
    assert source == str(key)
    assert key.stat().st_mode & 0o777 == 0o600
    assert re.fullmatch(rb"[0-9a-f]{64}", secret) and key.read_bytes() == secret + b"\n"
    # no temporary file left; the fingerprint is recorded beside the key, readable (it is committed)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".qbank-fingerprint", ".qbank-secret"]
    assert (tmp_path / ".qbank-fingerprint").stat().st_mode & 0o777 == 0o644
    assert resolve_secret(None, {}, None, tmp_path / "x.yaml", warn=quiet) == (secret, str(key))
    with pytest.raises(InputError) as caught:
        load_or_create_secret(tmp_path / "other", create=False)
    assert str(caught.value) == (f"{tmp_path / 'other'}: no secret key file (build the exam once to create it, "
                                 "or set $QBANK_SECRET)")


def test_a_key_file_made_meanwhile_by_another_build_is_used_not_replaced(tmp_path):
    key = tmp_path / ".qbank-secret"
    real_link = os.link

    def another_build_first(src, dst, *args, **kwargs):
        Path(dst).write_text(HEX32 + "\n")  # the other build wins the race
        Path(dst).chmod(0o600)
        return real_link(src, dst, *args, **kwargs)

    with mock.patch("os.link", side_effect=another_build_first):
        assert load_or_create_secret(key) == HEX32.encode()
    assert key.read_text() == HEX32 + "\n" and sorted(p.name for p in tmp_path.iterdir()) == [".qbank-secret"]


def test_without_hard_links_the_key_file_is_still_created_exclusively(tmp_path):
    key = tmp_path / ".qbank-secret"
    with mock.patch("os.link", side_effect=OSError(errno.EPERM, "Operation not permitted")):
        secret = load_or_create_secret(key)
    assert key.read_bytes() == secret + b"\n" and key.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".qbank-secret"]


def test_a_folder_where_no_file_can_be_created(tmp_path):
    denied = PermissionError(errno.EACCES, "Permission denied")
    with mock.patch("os.open", side_effect=denied), pytest.raises(InputError) as caught:
        load_or_create_secret(tmp_path / ".qbank-secret")
    assert str(caught.value) == (f"{tmp_path / '.qbank-secret'}: cannot create the key file: Permission denied; "
                                 "give another --secret-file or set $QBANK_SECRET")


# --- the course folder -----------------------------------------------------------------------------


def test_the_key_file_belongs_to_the_course_folder_not_the_current_one(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / ".git").mkdir(parents=True)
    (course / "exams" / "deep").mkdir(parents=True)
    blueprint = course / "exams" / "deep" / "midterm.yaml"
    monkeypatch.chdir(course / "exams")
    assert course_root(blueprint) == course and default_secret_file(blueprint) == course / ".qbank-secret"
    assert default_secret_file(Path("deep/midterm.yaml")) == course / ".qbank-secret"  # relative to the current folder
    _, source = resolve_secret(None, {}, None, blueprint, warn=quiet)
    assert source == str(course / ".qbank-secret") and not (course / "exams" / ".qbank-secret").exists()


def test_the_nearest_marker_wins(tmp_path):
    course = tmp_path / "course"
    (course / ".git").mkdir(parents=True)
    (course / "term1" / "exams").mkdir(parents=True)
    blueprint = course / "term1" / "exams" / "quiz.yaml"
    (course / "term1" / "qbank.yaml").write_text("")
    assert course_root(blueprint) == course / "term1"
    (course / "term1" / "exams" / ".qbank-secret").write_text(STRONG)
    assert course_root(blueprint) == course / "term1" / "exams"


def test_a_git_file_marks_a_repository_too(tmp_path):
    (tmp_path / "worktree" / "exams").mkdir(parents=True)
    (tmp_path / "worktree" / ".git").write_text("gitdir: /elsewhere\n")  # a git worktree or submodule
    assert course_root(tmp_path / "worktree" / "exams" / "q.yaml") == tmp_path / "worktree"


def test_without_a_course_folder_the_blueprints_folder(tmp_path):
    loose = tmp_path / "loose" / "quiz.yaml"
    loose.parent.mkdir()
    marked = [p for p in loose.parents if any(os.path.lexists(p / m) for m in ("qbank.yaml", ".git", ".qbank-secret"))]
    assert course_root(loose) == (marked[0] if marked else loose.parent)


# --- the key file ------------------------------------------------------------------------------------


def _fifo(p: Path) -> None:
    os.mkfifo(p)


KEY_FILE_CASES = [
    ("a folder", lambda p: p.mkdir(), "{p}: is a folder, not a key file; give the key file's own path with --secret-file"),
    ("a dangling symlink", lambda p: os.symlink(p.parent / "gone", p),
     "{p}: the key file is a symbolic link to {p.parent}/gone, which does not exist"),
    ("a pipe", _fifo, "{p}: not a regular file (a device, pipe or socket); a key file holds one line of text"),
    ("not UTF-8", lambda p: p.write_bytes(b"\xff\xfe\x00k\x00e\x00y"), "{p}: the key file is not UTF-8 text (byte 1); {how}"),
    ("Latin-1", lambda p: p.write_bytes(HEX32.encode() + b"\xe9"), "{p}: the key file is not UTF-8 text (byte 65); {how}"),
    ("empty", lambda p: p.write_text(""), "{p}: the key file is empty; {how}"),
    ("blank", lambda p: p.write_text(" \n\n"), "{p}: the key file is empty; {how}"),
    ("too weak", lambda p: p.write_text("short-secret\n"), None),
    ("two lines", lambda p: p.write_text(HEX32 + "\n" + HEX32 + "\n"), "{p}: the secret must be one line; {how}"),
    ("huge", lambda p: p.write_text("x" * 5000), "{p}: too large for a key file (a key is one line of at most 1024 characters)"),
]


@pytest.mark.parametrize("name, setup, expected", KEY_FILE_CASES, ids=[c[0] for c in KEY_FILE_CASES])
def test_a_bad_key_file_is_one_clear_error(tmp_path, name, setup, expected):
    key = tmp_path / ".qbank-secret"
    setup(key)
    if not key.is_symlink() and key.is_file():
        key.chmod(0o600)
    if expected is None:
        expected = too_weak("{p}", 24, "{how}")
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, None, tmp_path / "exam.yaml", warn=quiet)
    assert str(caught.value) == expected.format(p=key, how=for_file(key))


def test_a_key_file_with_a_byte_order_mark_is_read(tmp_path):
    key = tmp_path / ".qbank-secret"
    key.write_bytes(b"\xef\xbb\xbf" + STRONG.encode() + b"\r\n")  # written by a Windows editor
    key.chmod(0o600)
    assert load_or_create_secret(key) == STRONG.encode()


def test_a_missing_folder_is_one_clear_error(tmp_path):
    key = tmp_path / "nowhere" / ".qbank-secret"
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, key, tmp_path / "x.yaml", warn=quiet)
    assert str(caught.value) == f"{key}: no such key file; check the path, or make a new key there with `qbank key new {key}`"
    with pytest.raises(InputError) as caught:
        load_or_create_secret(key)
    assert str(caught.value) == (f"{key}: cannot create the key file: the folder {key.parent} does not exist; "
                                 "create the folder or give another --secret-file")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=r"the folder .*afile is a file, not a folder; create the folder"):
        load_or_create_secret(tmp_path / "afile" / ".qbank-secret")


def test_an_unreadable_key_file_is_one_clear_error(tmp_path):
    key = tmp_path / ".qbank-secret"
    key.write_text(STRONG)
    key.chmod(0)
    expected = f"{key}: cannot read the key file (permission denied); make it readable by you: chmod 600 {key}"
    if os.geteuid() != 0:  # root reads any file: then mode 000 proves nothing, the mock below does
        with pytest.raises(InputError) as caught:
            load_or_create_secret(key)
        assert str(caught.value) == expected
    denied = PermissionError(errno.EACCES, "Permission denied")
    with mock.patch("qbank.keys.open", create=True, side_effect=denied), pytest.raises(InputError) as caught:
        load_or_create_secret(key)
    assert str(caught.value) == expected
    broken = OSError(errno.EIO, "Input/output error")
    with mock.patch("qbank.keys.open", create=True, side_effect=broken), pytest.raises(InputError) as caught:
        load_or_create_secret(key)
    assert str(caught.value) == f"{key}: cannot read the key file: Input/output error"


@pytest.mark.parametrize("mode, warned", [(0o600, False), (0o400, False), (0o640, True), (0o644, True), (0o606, True)])
def test_a_key_file_others_can_read_or_change_gets_a_warning(tmp_path, mode, warned):
    key = tmp_path / ".qbank-secret"
    key.write_text(STRONG + "\n")
    key.chmod(mode)
    warnings = []
    assert load_or_create_secret(key, warn=warnings.append) == STRONG.encode()
    expected = [f"warning: {key} can be read or changed by other users (mode {mode:o}); keep it private: chmod 600 {key}"]
    assert warnings == (expected if warned else [])


def test_a_symlinked_key_file_is_followed(tmp_path):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "course.key").write_text(STRONG)
    (tmp_path / "keys" / "course.key").chmod(0o600)
    os.symlink(tmp_path / "keys" / "course.key", tmp_path / ".qbank-secret")
    assert resolve_secret(None, {}, None, tmp_path / "x.yaml", warn=quiet)[0] == STRONG.encode()


# --- the fingerprint in the manifest ------------------------------------------------------------------


def test_the_fingerprint_is_salted_slow_and_deterministic():
    digest_a, digest_b = "a" * 64, "b" * 64
    started = time.perf_counter()
    fp = secret_fingerprint(STRONG.encode(), digest_a)
    elapsed = time.perf_counter() - started
    assert re.fullmatch(r"scrypt:[0-9a-f]{32}", fp)
    assert fp == secret_fingerprint(STRONG.encode(), digest_a)  # same secret and blueprint, same fingerprint
    assert fp != secret_fingerprint(STRONG.encode(), digest_b)  # salted by the blueprint
    assert fp != secret_fingerprint(HEX16.encode(), digest_a)
    assert elapsed > 0.005  # scrypt with n = 2**14: tens of milliseconds a guess, not a microsecond
    assert fingerprint_matches(STRONG.encode(), digest_a, fp)
    assert not fingerprint_matches(HEX16.encode(), digest_a, fp) and not fingerprint_matches(STRONG.encode(), digest_b, fp)


# --- through the command line ---------------------------------------------------------------------------


def test_the_cli_refuses_an_empty_or_weak_secret_before_any_work(tmp_path):
    blueprint = "bank/exams/quiz-backprop.yaml"
    out = tmp_path / "out"
    proc = run_qbank("exam", blueprint, "--out", str(out), "--secret", "")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == (
        f"qbank: error: --secret: the secret is empty (qbank never falls back to the key file then); {FOR_VALUES}")
    proc = run_qbank("exam", blueprint, "--out", str(out), env={"QBANK_SECRET": "quiz-secret"})
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == "qbank: error: " + too_weak(
        "$QBANK_SECRET", 24, FOR_VALUES)
    assert not out.exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_new_key_file_git_would_commit_gets_a_warning(tmp_path):
    course = tmp_path / "course"
    (course / "exams").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(course)], check=True)
    warnings = []
    resolve_secret(None, {}, None, course / "exams" / "quiz.yaml", warn=warnings.append)
    key = course / ".qbank-secret"
    assert warnings[1:] == [(f"warning: git does not ignore the new key file {key}; add `.qbank-secret` to .gitignore "
                             "so that it is never committed")]
    key.unlink()
    (course / ".qbank-fingerprint").unlink()  # a course that never had a key, again
    (course / ".gitignore").write_text(".qbank-secret\n")
    warnings.clear()
    resolve_secret(None, {}, None, course / "exams" / "quiz.yaml", warn=warnings.append)
    assert [w for w in warnings if w.startswith("warning")] == [] and key.exists()


# --- the course's record of its key (issue 17: a lost key loses the exam) ---------------------------------

from qbank.keys import fingerprint_file, key_fingerprint, new_key_file, read_fingerprint  # noqa: E402

CREATED = ("created the secret key file {key} (keep it private and out of git) and recorded its fingerprint in {record} "
           "(commit that file: it tells qbank the key exists)")


def lost(key, record) -> str:
    return (f"{key}: the key file is missing, but {record} records that the course has a key (fingerprint "
            f"{read_fingerprint(record)[-12:]}): qbank never makes a new key in its place; restore the key file from "
            f"your backup, or, to start the course over with a new key, run `qbank key new {key}` (exams built with "
            "the old key still rebuild from their manifests)")


def repository(tmp_path) -> tuple[Path, Path]:
    """A course kept in a repository: the blueprint in exams/, the course folder marked by .git."""
    course = tmp_path / "course"
    (course / ".git").mkdir(parents=True)
    (course / "exams").mkdir()
    return course, course / "exams" / "quiz.yaml"


def test_a_new_course_key_records_its_fingerprint_in_one_line(tmp_path):
    course, blueprint = repository(tmp_path)
    said = []
    secret, source = resolve_secret(None, {}, None, blueprint, warn=said.append)
    key, record = course / ".qbank-secret", course / ".qbank-fingerprint"
    assert source == str(key) and said == [CREATED.format(key=key, record=record)]
    assert read_fingerprint(record) == key_fingerprint(secret) and secret.decode() not in record.read_text()
    assert record.read_text().startswith("# qbank: the fingerprint of this course's secret key file (.qbank-secret), not the key.")
    said.clear()
    assert resolve_secret(None, {}, None, blueprint, warn=said.append) == (secret, str(key)) and said == []


def test_a_lost_key_file_is_an_error_never_a_new_key(tmp_path):
    course, blueprint = repository(tmp_path)
    resolve_secret(None, {}, None, blueprint, warn=quiet)
    key, record = course / ".qbank-secret", course / ".qbank-fingerprint"
    key.unlink()
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, None, blueprint, warn=quiet)
    assert str(caught.value) == lost(key, record)
    assert sorted(p.name for p in course.iterdir()) == [".git", ".qbank-fingerprint", "exams"]


def test_a_lost_key_leaves_a_loose_course_where_it_was(tmp_path):
    """In a folder with no qbank.yaml or .git, the key file itself marked the course: its fingerprint
    marks it as well, so that losing the key never moves the course (and a new key) into exams/."""
    course = tmp_path / "loose"
    (course / "exams").mkdir(parents=True)
    (course / ".qbank-secret").write_text(STRONG + "\n")
    (course / ".qbank-secret").chmod(0o600)
    blueprint = course / "exams" / "quiz.yaml"
    said = []
    assert resolve_secret(None, {}, None, blueprint, warn=said.append)[0] == STRONG.encode()
    record = course / ".qbank-fingerprint"
    assert said == [f"recorded the fingerprint of the key file {course / '.qbank-secret'} in {record} (commit that file: "
                    "it tells qbank the key exists, so that a lost key file is an error, never a new key)"]
    (course / ".qbank-secret").unlink()
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, None, blueprint, warn=quiet)
    assert str(caught.value) == lost(course / ".qbank-secret", record)
    assert not (course / "exams" / ".qbank-secret").exists()


def test_a_key_file_that_is_not_the_recorded_one_is_an_error(tmp_path):
    course, blueprint = repository(tmp_path)
    resolve_secret(None, {}, None, blueprint, warn=quiet)
    key, record = course / ".qbank-secret", course / ".qbank-fingerprint"
    key.write_text(HEX32 + "\n")  # a key made by hand after the first was lost
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, None, blueprint, warn=quiet)
    assert str(caught.value) == (
        f"{key}: this is not the course's key: {record} records another one (fingerprint {read_fingerprint(record)[-12:]}); "
        f"restore the course's key file, or, if the course uses this key from now on, delete {record} and build again "
        "(qbank records this key then)")


def test_a_named_key_file_must_exist(tmp_path):
    """A mistyped --secret-file used to create a new key file there."""
    typo = tmp_path / "corse.key"
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, typo, tmp_path / "x.yaml", warn=quiet)
    assert str(caught.value) == f"{typo}: no such key file; check the path, or make a new key there with `qbank key new {typo}`"
    assert list(tmp_path.iterdir()) == []


def test_a_workspace_records_its_key_beside_qbank_yaml(tmp_path):
    course = tmp_path / "course"
    (course / "exams").mkdir(parents=True)
    (course / "private").mkdir()
    (course / "qbank.yaml").write_text("course: X\ndefaults:\n  secret_file: private/dl.key\n")
    blueprint = course / "exams" / "quiz.yaml"
    said = []
    secret, source = resolve_secret(None, {}, None, blueprint, warn=said.append)
    key, record = course / "private" / "dl.key", course / ".qbank-fingerprint"
    assert Path(source).resolve() == key.resolve() and read_fingerprint(record) == key_fingerprint(secret)
    assert fingerprint_file(key, blueprint) == record and fingerprint_file(tmp_path / "mine.key") is None
    key.unlink()
    with pytest.raises(InputError, match=r"the key file is missing, but .*course/.qbank-fingerprint records"):
        resolve_secret(None, {}, None, blueprint, warn=quiet)


@pytest.mark.parametrize("content", ["hmac-sha256:nothex\n", "", "# only a comment\n", "root:x:0:0:root:/root:/bin/bash\n"])
def test_a_bad_fingerprint_file_is_one_clear_error_quoting_nothing(tmp_path, content):
    course, blueprint = repository(tmp_path)
    record = course / ".qbank-fingerprint"
    record.write_text(content)
    with pytest.raises(InputError) as caught:
        resolve_secret(None, {}, None, blueprint, warn=quiet)
    assert str(caught.value) == (f"{record}: not a qbank key fingerprint (expected one line `hmac-sha256:` and 32 hex "
                                 "digits); restore it from git")
    assert not (course / ".qbank-secret").exists()


def test_key_new_never_replaces_a_key_and_records_the_fingerprint(tmp_path):
    course, blueprint = repository(tmp_path)
    key, record = course / ".qbank-secret", course / ".qbank-fingerprint"
    said = []
    secret = new_key_file(key, said.append)
    assert key.stat().st_mode & 0o777 == 0o600 and read_fingerprint(record) == key_fingerprint(secret)
    assert said == [f"wrote a new secret key file {key} (mode 0600: keep it private, backed up and out of git)",
                    f"recorded its fingerprint in {record} (commit that file)"]
    with pytest.raises(InputError) as caught:
        new_key_file(key, quiet)
    assert str(caught.value) == (f"{key}: the file exists; `qbank key new` never replaces a key file (the exams built "
                                 "with it need it); give the name of a new file")
    assert key.read_bytes() == secret + b"\n"
    key.unlink()  # lost: the way to start over
    said.clear()
    fresh = new_key_file(key, said.append)
    assert said[1] == f"replaced the course's recorded fingerprint with this key's in {record} (commit that file)"
    assert fresh != secret and resolve_secret(None, {}, None, blueprint, warn=quiet)[0] == fresh
    own = tmp_path / "keys" / "midterm.key"  # a key of the user's own, for --secret-file
    own.parent.mkdir()
    said.clear()
    new_key_file(own, said.append)
    assert said[1] == f"it is not a course's key file, so no fingerprint is recorded: build with --secret-file {own}"
    assert sorted(p.name for p in own.parent.iterdir()) == ["midterm.key"]


def test_key_new_through_the_cli(tmp_path):
    course, _ = repository(tmp_path)
    proc = run_qbank("key", "new", ".qbank-secret", cwd=course)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "wrote a new secret key file .qbank-secret (mode 0600: keep it private, backed up and out of git)",
        f"recorded its fingerprint in {course / '.qbank-fingerprint'} (commit that file)"]
    proc = run_qbank("key", "new", ".qbank-secret", cwd=course)
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        "qbank: error: .qbank-secret: the file exists; `qbank key new` never replaces a key file (the exams built with "
        "it need it); give the name of a new file"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_fresh_clone_of_this_repository_makes_its_own_key_and_says_so(tmp_path):
    """`make exam` on a fresh clone: the repository commits no key and no fingerprint (every clone makes
    its own key), so the first build makes both, says so in one line, and git ignores both."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    assert not (clone / ".qbank-secret").exists() and not (clone / ".qbank-fingerprint").exists()
    said = []
    resolve_secret(None, {}, None, clone / "bank" / "exams" / "demo.yaml", warn=said.append)
    assert said == [CREATED.format(key=clone / ".qbank-secret", record=clone / ".qbank-fingerprint")]
    status = subprocess.run(["git", "-C", str(clone), "status", "--porcelain", "--ignored"], capture_output=True, text=True, check=True)
    assert sorted(status.stdout.splitlines()) == ["!! .qbank-fingerprint", "!! .qbank-secret"]


# --- one key per output folder -------------------------------------------------------------------------

TINY = "title: Tiny\noptions:\n  layout: compact\n  cover: false\nsections:\n  - slots:\n      - family: conv1d-forward\n        points: 4\n"


def files(folder: Path) -> list[tuple[Path, bytes]]:
    return sorted((p.relative_to(folder), p.read_bytes()) for p in folder.rglob("*") if p.is_file())


def one_error(proc) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.pdf
def test_a_lost_key_never_costs_the_exam_through_the_cli(tmp_path):
    """Before issue 17 a rebuild after the key file was lost made a new key silently and replaced the
    output folder: the manifest and keys of the exam handed out were gone."""
    course, blueprint = repository(tmp_path)
    blueprint.write_text(TINY)
    key, record, out = course / ".qbank-secret", course / ".qbank-fingerprint", course / "build" / "quiz"
    proc = run_qbank("exam", "exams/quiz.yaml", "--versions", "2", "--out", "build/quiz", cwd=course)
    assert proc.returncode == 0, proc.stderr
    handed_out = files(out)
    saved = tmp_path / "backup.key"
    key.rename(saved)
    assert one_error(run_qbank("exam", "exams/quiz.yaml", "--versions", "2", "--out", "build/quiz", cwd=course)) == \
        "qbank: error: " + lost(key, record)
    assert not key.exists() and files(out) == handed_out
    assert CREATED.format(key=key, record=record) in proc.stderr.splitlines()  # what the first build said
    typo = course / "backup.kye"
    assert one_error(run_qbank("exam", "exams/quiz.yaml", "--out", "build/quiz", "--secret-file", str(typo), cwd=course)) == (
        f"qbank: error: {typo}: no such key file; check the path, or make a new key there with `qbank key new {typo}`")
    assert not typo.exists()
    # the user starts over with a new key: the exam built with the old one is still never replaced
    assert run_qbank("key", "new", str(key), cwd=course).returncode == 0
    assert one_error(run_qbank("exam", "exams/quiz.yaml", "--versions", "2", "--out", "build/quiz", cwd=course)) == (
        f"qbank: error: --out build/quiz: this folder holds an exam built with another secret key (its "
        "instructor/manifest.json records another key's fingerprint), and replacing it would delete that exam's keys; "
        "give the key file it was built with (--secret-file FILE), or another --out")
    assert files(out) == handed_out
    proc = run_qbank("exam", "exams/quiz.yaml", "--versions", "1", "--out", "build/other", cwd=course)
    assert proc.returncode == 0, proc.stderr
    assert one_error(run_qbank("rebuild", "build/other/instructor/manifest.json", "--out", "build/quiz", cwd=course)) == (
        "qbank: error: --out build/quiz: this folder holds an exam built with another secret key (its "
        "instructor/manifest.json records another key's fingerprint), and replacing it would delete that exam's keys; "
        "give another --out")
    assert files(out) == handed_out
    # with the key it was built with, the folder is rebuilt as before, byte for byte
    proc = run_qbank("exam", "exams/quiz.yaml", "--versions", "2", "--out", "build/quiz", "--secret-file", str(saved), cwd=course)
    assert proc.returncode == 0, proc.stderr
    assert files(out) == handed_out


def test_a_quiz_built_with_another_key_is_never_replaced(tmp_path):
    blueprint = tmp_path / "tiny.yaml"
    blueprint.write_text(TINY)
    quiz = tmp_path / "quiz" / "tiny.xml"
    proc = run_qbank("export", "moodle", str(blueprint), "--variants", "2", "--out", str(quiz), "--secret", HEX32)
    assert proc.returncode == 0, proc.stderr
    before = files(quiz.parent)
    assert one_error(run_qbank("export", "moodle", str(blueprint), "--variants", "2", "--out", str(quiz),
                               "--secret", HEX32[::-1])) == (
        f"qbank: error: --out {quiz.parent}: this folder holds a quiz built with another secret key (its manifest.json "
        "records another key's fingerprint), and replacing it would delete that quiz's keys; give the key file it was "
        "built with (--secret-file FILE), or another --out")
    assert files(quiz.parent) == before
    proc = run_qbank("export", "moodle", str(blueprint), "--variants", "3", "--out", str(quiz), "--secret", HEX32)
    assert proc.returncode == 0, proc.stderr  # the same key replaces it as before


def test_the_key_check_reads_any_manifest_and_refuses_one_it_cannot_read(tmp_path):
    from qbank.exam import EXAM_MANIFEST, check_same_key

    digest = "d" * 64
    mine = {"blueprint": {"path": "x.yaml", "sha256": digest}, "secret_fingerprint": secret_fingerprint(STRONG.encode(), digest)}
    other = {**mine, "secret_fingerprint": secret_fingerprint(HEX16.encode(), digest)}
    out = tmp_path / "out"
    (out / "instructor").mkdir(parents=True)
    manifest = out / EXAM_MANIFEST
    refused = (f"--out {out}: this folder holds an exam built with another secret key (its instructor/manifest.json "
               "records another key's fingerprint), and replacing it would delete that exam's keys; give the key file "
               "it was built with (--secret-file FILE), or another --out")
    for write in (lambda m: json.dumps(m, indent=2), lambda m: json.dumps(m, indent=4, sort_keys=True), json.dumps):
        manifest.write_text(write(other))  # as qbank writes it (its head is read), or by hand (read whole)
        with pytest.raises(InputError) as caught:
            check_same_key(out, EXAM_MANIFEST, mine, STRONG.encode())
        assert str(caught.value) == refused
        manifest.write_text(write(mine))
        check_same_key(out, EXAM_MANIFEST, mine, STRONG.encode())
    manifest.write_text(json.dumps({"blueprint": {"path": "x.yaml", "sha256": digest}}))  # before fingerprints
    check_same_key(out, EXAM_MANIFEST, mine, STRONG.encode())
    manifest.write_text('{"blueprint": ')
    with pytest.raises(InputError) as caught:
        check_same_key(out, EXAM_MANIFEST, mine, STRONG.encode())
    assert str(caught.value) == (f"--out {out}: {manifest} cannot be read as a qbank manifest, so qbank cannot tell "
                                 "which key built this folder, and replacing it could delete an exam's keys; give another --out")
    # another blueprint: the new key is fingerprinted with the old folder's salt; a rebuild has no key to do so
    elsewhere = {**mine, "blueprint": {"path": "y.yaml", "sha256": "e" * 64},
                 "secret_fingerprint": secret_fingerprint(STRONG.encode(), "e" * 64)}
    manifest.write_text(json.dumps(mine, indent=2))
    check_same_key(out, EXAM_MANIFEST, elsewhere, STRONG.encode())
    with pytest.raises(InputError, match="cannot tell whether one key built both; give another --out"):
        check_same_key(out, EXAM_MANIFEST, elsewhere, None)
