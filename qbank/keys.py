"""Secret-keyed seeds: what is printed on an exam (a version code) cannot be turned into its answers.

Each question's seed is HMAC-SHA256(secret, blueprint digest, version, slot, attempt). The version code
printed on the exam is another HMAC of the same secret: it identifies the version for grading, but
without the secret it says nothing about the seeds. Since the blueprint may be public and every
student holds a version code, anyone could test guessed secrets offline: so a secret must carry at
least 128 bits of entropy (`secret_strength_bits`).

Where the secret comes from (`resolve_secret`), first found wins:

1. ``--secret TEXT``, kept for tests and scripts: it shows in `ps` and shell history, so it warns;
2. ``$QBANK_SECRET``;
3. a key file: ``--secret-file FILE``, which must exist, else the course's key file (`default_secret_file`:
   ``.qbank-secret`` or qbank.yaml's ``secret_file``).

An empty ``--secret ''`` or ``QBANK_SECRET=`` is an error, never silently replaced by the key file.

A key file is never made silently in place of a lost one. The course records its key's fingerprint in
``.qbank-fingerprint`` (`fingerprint_file`), a file to commit: it survives a fresh clone, where the
git-ignored key does not. The course's key file is made (256 random bits, mode 0600) only for a course
that has never had a key: no key file and no fingerprint. A missing key file whose fingerprint is
recorded, or a key file that is not the recorded one, is an error naming both files; a missing
``--secret-file`` is an error too. ``qbank key new FILE`` (`new_key_file`) is how a user asks for a new key.
"""

from __future__ import annotations

import base64
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
FINGERPRINT_FILE_NAME = ".qbank-fingerprint"
DEFAULT_SECRET_FILE = Path(SECRET_FILE_NAME)
SECRET_ENV = "QBANK_SECRET"
MIN_BITS = 128
MAX_SECRET_CHARS = 1024  # a key is one line; a bigger key file is something else
MAKE_ONE = 'python3 -c "import secrets; print(secrets.token_hex(32))"'
COURSE_MARKERS = ("qbank.yaml", ".git", SECRET_FILE_NAME, FINGERPRINT_FILE_NAME)

# --- how strong is a secret -------------------------------------------------------------------

WORD_BITS = 12.0  # one word of a list of 4,096 common words
WORD_LETTERS = 20  # longer than nearly every dictionary word (reparameterization: 18): a longer run is words run together
_SEPARATORS = " _.-,:;/+"
# Tokens: a run of letters, a run of digits, or one other character. A run of letters written as
# words are (lower case, Capitalised, UPPER, or camelCase of such words) splits into its words; a
# run of mixed case otherwise (aBXcQ, as in random tokens) stays whole and counts by its characters.
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|.", re.DOTALL)
_CLEAN_LETTERS = re.compile(r"(?:[A-Z]?[a-z]+)+|[A-Z]+")
_CAMEL_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+")


def _tokens(text: str) -> list[tuple[str, int, bool]]:
    """(token, start, is a word) for each token of `text`; a word has three or more letters."""
    tokens = []
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token.isalpha() and _CLEAN_LETTERS.fullmatch(token):
            for part in _CAMEL_PART.finditer(token):
                tokens.append((part.group(), m.start() + part.start(), len(part.group()) >= 3))
        else:
            tokens.append((token, m.start(), False))
    return tokens


def _period(text: str) -> str:
    """The unit of a text that repeats one unit ("abcabcab" -> "abc", "a a a a" -> "a "), else the
    text (Knuth-Morris-Pratt's prefix function: linear in the length)."""
    border = [0] * len(text)
    k = 0
    for i in range(1, len(text)):
        while k and text[i] != text[k]:
            k = border[k - 1]
        if text[i] == text[k]:
            k += 1
        border[i] = k
    period = len(text) - border[-1]
    return text[:period] if period <= len(text) // 2 else text


def _pattern_free(text: str) -> list[bool]:
    """Which characters a pattern gives away: inside a run of 4 or more characters stepping by -1, 0 or
    +1 (aaaa, 1234, dcba, !!!!), all but the first two. Runs count only when together they make up
    half the text or more, so that a random token, where short runs turn up by chance, keeps its full
    estimate (a token_hex(16) must never fall below its 128 bits)."""
    runs = []
    start = 0
    while start < len(text) - 1:
        step = ord(text[start + 1]) - ord(text[start])
        end = start + 1
        while end + 1 < len(text) and ord(text[end + 1]) - ord(text[end]) == step:
            end += 1
        if abs(step) <= 1 and end - start + 1 >= 4:
            runs.append((start, end))
        start = end
    free = [False] * len(text)
    if 2 * sum(end - start + 1 for start, end in runs) >= len(text):
        for start, end in runs:
            free[start + 2 : end + 1] = [True] * (end - start - 1)
    return free


def secret_strength_bits(text: str) -> float:
    """A deliberately modest estimate of a secret's entropy, in bits (of the stripped text).

    - Characters count log2(size of the character classes the text uses): 26 for a-z, 26 for A-Z, 10
      for digits, 33 for anything else; hex (what token_hex writes) 4 bits a character.
    - Words count as a dictionary attack sees them: a word of three or more letters (lower case,
      Capitalised or UPPER; each word of camelCase) at most 12 bits, a run of more than 20 letters 12
      bits per 20 letters (words run together); a separator between two words (space, -, _, ...)
      nothing, and one separator used throughout only the choice of it.
    - Patterns count as their start: a text repeating one unit ("abcabc", "a a a a") as the unit;
      runs stepping by one or zero ("aaaa", "0123", "a b c d") as their first two characters, when
      they make up half the text.
    """
    text = text.strip()
    if not text:
        return 0.0
    text = _period(text)
    if re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", text) and not text.isdigit() and not text.isalpha():
        return 4.0 * sum(not free for free in _pattern_free(text))  # hex: its letters are no words
    pool = (26 if re.search(r"[a-z]", text) else 0) + (26 if re.search(r"[A-Z]", text) else 0)
    pool += (10 if re.search(r"[0-9]", text) else 0) + (33 if re.search(r"[^A-Za-z0-9]", text) else 0)
    per_char = math.log2(pool)
    # patterns are looked for with the separators left out: "a-b-c-d-e" steps as "abcde" does
    kept = [i for i, c in enumerate(text) if c not in _SEPARATORS]
    free = [False] * len(text)
    for i, given in zip(kept, _pattern_free("".join(text[i] for i in kept))):
        free[i] = given
    tokens = _tokens(text)
    separators = [t for t, _, _ in tokens if t in _SEPARATORS]
    uniform = len(separators) >= 2 and len(set(separators)) == 1
    # Words count as words in a phrase, where they make up half the text or more (perhaps with a
    # number or two); a random token is no phrase, though a few letters in it may look like a word.
    phrase = 2 * sum(len(t) for t, _, word in tokens if word) >= len(text)

    def is_word(index: int) -> bool:
        return phrase and 0 <= index < len(tokens) and tokens[index][2]

    bits = math.log2(len(_SEPARATORS)) if uniform else 0.0
    for index, (token, start, _) in enumerate(tokens):
        cost = per_char * sum(not given for given in free[start : start + len(token)])
        if is_word(index):
            cost = min(cost, WORD_BITS * math.ceil(len(token) / WORD_LETTERS))
        elif token in _SEPARATORS and (uniform or (is_word(index - 1) and is_word(index + 1))):
            cost = 0.0
        bits += cost
    return bits


def _strong(text: str, where: str, how: str) -> bytes:
    """The secret as bytes (stripped), or one line saying why it is unusable and how to make one."""
    text = text.strip()
    if len(text) > MAX_SECRET_CHARS:
        raise InputError(f"{where}: the secret is {len(text)} characters long, more than {MAX_SECRET_CHARS}; {how}")
    if "\n" in text or "\r" in text:
        raise InputError(f"{where}: the secret must be one line; {how}")
    bits = secret_strength_bits(text)
    if bits < MIN_BITS:
        raise InputError(
            f"{where}: the secret is too weak (about {bits:.0f} bits of entropy; at least {MIN_BITS} are needed "
            f"so that nobody can guess it from a version code); {how}"
        )
    return text.encode()


def _how_for_value() -> str:
    return (f"make one with `{MAKE_ONE}`, or give neither --secret nor ${SECRET_ENV} "
            "and qbank uses (or creates) the course's key file")


def _how_for_file(path: Path) -> str:
    return ("it cannot be a key: make a new key file with `qbank key new FILE` and give it with --secret-file FILE "
            "(exams built with another key still rebuild from their manifests)")


def check_strength(text: str, where: str) -> bytes:
    """The secret given as `where` (--secret, $QBANK_SECRET), or an error when empty or too weak."""
    if not text.strip():
        raise InputError(f"{where}: the secret is empty (qbank never falls back to the key file then); {_how_for_value()}")
    return _strong(text, where, _how_for_value())


# --- where the secret lives -------------------------------------------------------------------


def course_root(blueprint: Path) -> Path:
    """The course folder of a blueprint, whatever the current folder: walking up from the blueprint's
    own folder, the first folder that holds `qbank.yaml` or `.git` (the repository root) or an
    existing `.qbank-secret` or `.qbank-fingerprint` (so that a lost key file leaves the course where it
    was); if there is none up to the file-system root, the blueprint's folder."""
    start = Path(blueprint).resolve().parent
    for folder in (start, *start.parents):
        if any(os.path.lexists(folder / name) for name in COURSE_MARKERS):
            return folder
    return start


def default_secret_file(blueprint: Path) -> Path:
    """The key file of a blueprint's course: the `secret_file` of the workspace holding the blueprint
    (qbank.yaml found from its folder up), else of the workspace qbank runs in (a built-in blueprint
    built inside a course), else `.qbank-secret` in the current folder for a blueprint installed with
    qbank, else `<course folder>/.qbank-secret` (see `course_root`)."""
    from .paths import PACKAGE
    from .workspace import current, load, workspace_above

    own = workspace_above(Path(blueprint).parent)
    if own is not None:
        return load(own).secret_file
    workspace = current()
    if workspace is not None:
        return workspace.secret_file
    if Path(blueprint).resolve().is_relative_to(PACKAGE):  # never write a key into site-packages
        return Path.cwd() / SECRET_FILE_NAME
    return course_root(blueprint) / SECRET_FILE_NAME


def resolve_secret(
    flag: str | None,
    env: Mapping[str, str],
    secret_file: Path | None,
    blueprint: Path,
    warn: Callable[[str], None],
    create: bool = True,
) -> tuple[bytes, str]:
    """The exam's secret and where it came from ("--secret", "$QBANK_SECRET" or the key file's path):
    `flag` (the CLI's --secret, None when not given), else `env[QBANK_SECRET]`, else the key file
    `secret_file` (named by the user: it must exist), else the course's, `default_secret_file(blueprint)`,
    made when the course never had a key if `create` (see `read_key_file`). An empty flag or variable
    is an error, never a fallback to the key file. `warn` gets one-line messages: warnings (--secret
    shows in `ps`, a key file others can read) and what was made or recorded."""
    if flag is not None:
        secret = check_strength(flag, "--secret")
        warn("warning: --secret is visible to other users in `ps` and stays in your shell history; "
             f"prefer ${SECRET_ENV} or a key file (--secret-file)")
        return secret, "--secret"
    if SECRET_ENV in env:
        return check_strength(env[SECRET_ENV], f"${SECRET_ENV}"), f"${SECRET_ENV}"
    named = secret_file is not None
    path = Path(secret_file) if named else default_secret_file(blueprint)
    return read_key_file(path, named=named, create=create, say=warn, blueprint=blueprint), str(path)


def read_key_file(path: Path, *, named: bool, create: bool = True, say: Callable[[str], None] = lambda m: None,
                  blueprint: Path | None = None) -> bytes:
    """The secret in the key file `path`, checked against the fingerprint its course records (see
    `fingerprint_file`). A missing key file is an error when its fingerprint is recorded (the course
    has a key: it was lost or moved) or when the user `named` it (a mistyped --secret-file); otherwise,
    when `create`, the course never had a key: one is made and its fingerprint recorded, said in one
    line. An existing key file whose course records no fingerprint yet gets it recorded (courses from
    before fingerprints)."""
    path = Path(path)
    record = fingerprint_file(path, blueprint)
    recorded = read_fingerprint(record) if record is not None and os.path.lexists(record) else None
    if not os.path.lexists(path):
        if recorded is not None:
            raise InputError(
                f"{path}: the key file is missing, but {record} records that the course has a key "
                f"(fingerprint {recorded[-12:]}): qbank never makes a new key in its place; restore the key file "
                f"from your backup, or, to start the course over with a new key, run `qbank key new {path}` "
                "(exams built with the old key still rebuild from their manifests)")
        if named:
            raise InputError(f"{path}: no such key file; check the path, or make a new key there with "
                             f"`qbank key new {path}`")
        if not create:
            raise InputError(f"{path}: no secret key file (build the exam once to create it, or set ${SECRET_ENV})")
        warnings: list[str] = []  # said after the line saying what was made
        secret = _create_key_file(path, warnings.append)
        said = f"created the secret key file {path} (keep it private and out of git)"
        if record is not None and _record_fingerprint(record, path, secret, warnings.append):
            said += f" and recorded its fingerprint in {record} (commit that file: it tells qbank the key exists)"
        for line in (said, *warnings):
            say(line)
        return secret
    secret = load_or_create_secret(path, create=False, warn=say)
    if recorded is None:
        if record is not None and _record_fingerprint(record, path, secret, say):
            say(f"recorded the fingerprint of the key file {path} in {record} (commit that file: "
                "it tells qbank the key exists, so that a lost key file is an error, never a new key)")
    elif not hmac.compare_digest(recorded, key_fingerprint(secret)):
        raise InputError(
            f"{path}: this is not the course's key: {record} records another one (fingerprint {recorded[-12:]}); "
            f"restore the course's key file, or, if the course uses this key from now on, delete {record} "
            "and build again (qbank records this key then)")
    return secret


# --- the course's record of its key -----------------------------------------------------------

_FINGERPRINT_LINE = re.compile(r"hmac-sha256:[0-9a-f]{32}")
_FINGERPRINT_NOTE = """\
# qbank: the fingerprint of this course's secret key file ({key}), not the key.
# Commit this file. It tells qbank that the course has a key, so that a lost key file is an error
# (never silently replaced by a new key, which would change every exam built from now on).
"""


def key_fingerprint(secret: bytes) -> str:
    """What `.qbank-fingerprint` records: a MAC of a fixed text under the key. It reveals nothing a
    version code does not already: anyone holding an exam can test a guessed key against its printed
    code with one HMAC, and a key has at least 128 bits, so a slow hash would protect nothing more here,
    and this check runs on every build."""
    return "hmac-sha256:" + _mac(secret, "course-key-fingerprint")[:16].hex()


def fingerprint_file(key: Path, blueprint: Path | None = None) -> Path | None:
    """Where the fingerprint of the key file `key` is recorded: `.qbank-fingerprint` in the workspace
    folder when `key` is a workspace's key file (qbank.yaml's `secret_file`: of the workspace holding
    the key file, or the blueprint, or the one qbank runs in), else beside a key file named `.qbank-secret` outside any workspace (a repository or folder used as
    a course); None for any other file (a key of the user's own, named with --secret-file)."""
    from .workspace import find_root, load, workspace_above

    key = Path(os.path.abspath(key))
    own = workspace_above(key.parent)
    course = workspace_above(Path(blueprint).parent) if blueprint is not None else None
    for root in dict.fromkeys(r for r in (own, course, find_root()) if r is not None):
        if Path(os.path.abspath(load(root).secret_file)) == key:
            return root / FINGERPRINT_FILE_NAME
    if key.name == SECRET_FILE_NAME and own is None:
        return key.parent / FINGERPRINT_FILE_NAME
    return None


def read_fingerprint(record: Path) -> str:
    """The fingerprint recorded in `record`, or an error naming it."""
    try:
        if not record.is_file():
            raise InputError(f"{record}: not a regular file; a fingerprint file holds the line qbank wrote "
                             "(restore it from git)")
        with open(record, "rb") as handle:
            data = handle.read(4096)
        lines = data.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{record}: cannot read the course's key fingerprint ({getattr(exc, 'strerror', None) or exc}); "
                         "restore it from git") from None
    found = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if len(found) != 1 or not _FINGERPRINT_LINE.fullmatch(found[0]):
        raise InputError(f"{record}: not a qbank key fingerprint (expected one line `hmac-sha256:` and 32 hex "
                         "digits); restore it from git")
    return found[0]


def _record_fingerprint(record: Path, key: Path, secret: bytes, say: Callable[[str], None]) -> bool:
    """Write the fingerprint of `secret` into `record` (atomically, replacing an older record); a
    warning, not an error, when it cannot be written: the key itself is fine."""
    shown = key.name if key.parent == record.parent else str(key)
    text = _FINGERPRINT_NOTE.format(key=shown) + key_fingerprint(secret) + "\n"
    temporary = record.with_name(f"{record.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, record)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        say(f"warning: cannot record the key's fingerprint in {record} ({exc.strerror or exc}); exams still build, "
            "but a lost key file would then go unnoticed")
        return False
    return True


def new_key_file(path: Path, say: Callable[[str], None]) -> bytes:
    """`qbank key new FILE`: a new key in FILE, which must not exist (a key is never replaced: the exams
    built with it need it), its fingerprint recorded when FILE is a course's key file (see
    `fingerprint_file`), replacing the record of a lost key."""
    path = Path(path)
    if os.path.lexists(path):
        raise InputError(f"{path}: the file exists; `qbank key new` never replaces a key file (the exams built with "
                         "it need it); give the name of a new file")
    record = fingerprint_file(path)
    replaced = record is not None and os.path.lexists(record)
    warnings: list[str] = []  # said after the lines saying what was made
    secret = _create_key_file(path, warnings.append, exclusive=True)
    say(f"wrote a new secret key file {path} (mode 0600: keep it private, backed up and out of git)")
    if record is None:
        say(f"it is not a course's key file, so no fingerprint is recorded: build with --secret-file {path}")
    elif _record_fingerprint(record, path, secret, warnings.append):
        what = "replaced the course's recorded fingerprint with this key's in" if replaced else "recorded its fingerprint in"
        say(f"{what} {record} (commit that file)")
    for line in warnings:
        say(line)
    return secret


def load_or_create_secret(
    path: Path = DEFAULT_SECRET_FILE, create: bool = True, warn: Callable[[str], None] = lambda m: None
) -> bytes:
    """The secret in the key file `path`; when there is none and `create`, a new one (256 random bits)."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise InputError(f"{path}: the key file is a symbolic link to {os.readlink(path)}, which does not exist")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a key file; give the key file's own path with --secret-file")
    if path.exists():
        return _read_key_file(path, warn)
    if not create:
        raise InputError(f"{path}: no secret key file (build the exam once to create it, or set ${SECRET_ENV})")
    return _create_key_file(path, warn)


def _read_key_file(path: Path, warn: Callable[[str], None]) -> bytes:
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (a device, pipe or socket); a key file holds one line of text")
    try:
        with open(path, "rb") as handle:
            data = handle.read(4 * MAX_SECRET_CHARS + 1)
    except PermissionError:
        raise InputError(f"{path}: cannot read the key file (permission denied); make it readable by you: chmod 600 {path}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the key file: {exc.strerror or exc}") from None
    if len(data) > 4 * MAX_SECRET_CHARS:
        raise InputError(f"{path}: too large for a key file (a key is one line of at most {MAX_SECRET_CHARS} characters)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: the key file is not UTF-8 text (byte {exc.start + 1}); {_how_for_file(path)}") from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warn(f"warning: {path} can be read or changed by other users (mode {mode:o}); keep it private: chmod 600 {path}")
    if not text.strip():
        raise InputError(f"{path}: the key file is empty; {_how_for_file(path)}")
    return _strong(text, str(path), _how_for_file(path))


def _create_key_file(path: Path, warn: Callable[[str], None], exclusive: bool = False) -> bytes:
    """Write a new key where no file is: the key is written to a private temporary file first and then
    linked into place, which fails if another build made the key file meanwhile (then that one is
    used, or with `exclusive` it is an error): nobody ever reads a half-written key, and no key is
    ever replaced."""
    folder = path.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise InputError(f"{path}: cannot create the key file: the folder {folder} {what}; "
                         f"create the folder or give another --secret-file")
    text = secrets.token_hex(32)
    temporary = folder / f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"{path}: cannot create the key file: {exc.strerror or exc}; "
                         f"give another --secret-file or set ${SECRET_ENV}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another build created it meanwhile: use that one
            if exclusive:
                raise InputError(f"{path}: the file appeared meanwhile; `qbank key new` never replaces a key file") from None
            return load_or_create_secret(path, create=False, warn=warn)
        except OSError:  # a file system without hard links: claim the name itself, still exclusively
            return _create_in_place(path, text, warn, exclusive)
    finally:
        temporary.unlink(missing_ok=True)
    _warn_unless_git_ignores(path, warn)
    return text.encode()


def _warn_unless_git_ignores(path: Path, warn: Callable[[str], None]) -> None:
    """A new key file inside a git work tree that git would not ignore gets a warning: one `git add .`
    would publish it."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        return
    try:
        inside = subprocess.run(["git", "-C", str(path.parent), "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=10, check=False)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return
        ignored = subprocess.run(["git", "-C", str(path.parent), "check-ignore", "-q", path.name],
                                 capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return
    if ignored.returncode == 1:
        warn(f"warning: git does not ignore the new key file {path}; add `{path.name}` to .gitignore "
             "so that it is never committed")


def _create_in_place(path: Path, text: str, warn: Callable[[str], None], exclusive: bool = False) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if exclusive:
            raise InputError(f"{path}: the file appeared meanwhile; `qbank key new` never replaces a key file") from None
        return load_or_create_secret(path, create=False, warn=warn)
    except OSError as exc:
        raise InputError(f"{path}: cannot create the key file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text + "\n")
    return text.encode()


# --- what the secret makes --------------------------------------------------------------------


def _mac(secret: bytes, *parts: object) -> bytes:
    message = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


# Seed domains: what a seed is for, added to the HMAC's input. A paper exam's seeds have none (they stay
# as they always were); an LMS quiz draws from "quiz", so that no quiz reproduces a paper exam's variant.
EXAM_DOMAIN = ""
QUIZ_DOMAIN = "quiz"


def question_seed(secret: bytes, blueprint_digest: str, version: int | str, slot: str, attempt: int = 0,
                  domain: str = EXAM_DOMAIN) -> int:
    """The seed of one random choice. `version` is a version number (a `--versions` build), or a text
    naming what the version belongs to (`student:ID` for a roster, `makeup:...` for a make-up): text
    never equals a number's digits, so the two never share seeds."""
    return int.from_bytes(_mac(secret, "seed", *_domain(domain), blueprint_digest, version, slot, attempt)[:8], "big") >> 1


def version_code(secret: bytes, blueprint_digest: str, version: int | str, domain: str = EXAM_DOMAIN) -> str:
    """A short code like 'K7QF-2MZD' printed on the exam and its solutions."""
    raw = base64.b32encode(_mac(secret, "code", *_domain(domain), blueprint_digest, version)[:5]).decode()
    return f"{raw[:4]}-{raw[4:8]}"


def _domain(domain: str) -> tuple[str, ...]:
    if domain and re.fullmatch(r"[0-9a-f]{64}", domain):  # never mistaken for a blueprint digest
        raise ValueError(f"seed domain {domain!r} looks like a digest")
    return (domain,) if domain else ()


def secret_fingerprint(secret: bytes, blueprint_digest: str) -> str:
    """Recorded in the manifest: tells which secret built an exam without revealing it. Salted with the
    blueprint and slow (scrypt, about 50 ms and 16 MB a guess), so that it adds no fast way of testing
    guesses. Same secret and blueprint, same fingerprint."""
    key = hashlib.scrypt(secret, salt=b"qbank-fingerprint:" + blueprint_digest.encode(), n=2**14, r=8, p=1, dklen=16)
    return "scrypt:" + key.hex()


def fingerprint_matches(secret: bytes, blueprint_digest: str, recorded: str) -> bool:
    """Did `secret` build the exam whose manifest recorded `recorded` (constant-time comparison)?"""
    return hmac.compare_digest(secret_fingerprint(secret, blueprint_digest), str(recorded))
