"""The cache cannot change a key, a solution, a PDF or a page (qbank.cache): every entry carries a MAC
under the user's own key ($XDG_CONFIG_HOME/qbank/cache.key, 0600 in a 0700 folder); an entry whose MAC
fails is computed again and never used (one warning line), an entry another user owns is passed over,
and a key file others could read or change is refused with one error line.

The end-to-end cases build an exam and a site with the real `qbank`, change the cache as someone with
write access to it would, build again, and compare every byte with the true build."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import pdf_text, run_qbank, write_content_root
from test_memo import files_of, fresh_cache

from qbank import get_family
from qbank.errors import InputError
from qbank.memo import Memo

SECRET = "cache-trust-secret-3b8e1f6a9d2c7e4b0a5f8c1d6e3a9b2f"
TEMPLATE = (
    "\\BLOCK{block problem}What is $\\VAR{params.x}$ plus one?\\BLOCK{endblock}\n"
    "\\BLOCK{block solution}It is \\VAR{answers.answer}.\\BLOCK{endblock}\n"
)
BLUEPRINT = """\
title: Cache trust
options: {cover: false}
sections:
  - slots:
      - family: trust-plugin
        points: 2
"""
WARNING = "qbank: warning: cache entry "
CHANGED = (" was changed outside qbank (its MAC does not hold, or it is not a file qbank wrote): not used, computed "
           "again (so is any other such entry)")
HEADER = b"qbank-cache-entry "


def rewrite(entry: Path, change) -> None:
    """Change an entry's payload as an attacker would: the MAC line (if any) stays as it was."""
    data = entry.read_bytes()
    header, payload = data.split(b"\n", 1) if data.startswith(HEADER) else (None, data)
    payload = change(payload)
    entry.write_bytes(payload if header is None else header + b"\n" + payload)


def tampered_memo_value(value):
    """Draws get other answers; the TeX of fragments and documents another sentence."""
    if isinstance(value, dict) and isinstance(value.get("answers"), dict):
        value["answers"] = {name: 99 for name in value["answers"]}
    elif isinstance(value, list) and all(isinstance(text, str) for text in value):
        value = [text.replace("It is", "It is TAMPERED, and it is") for text in value]
    return value


def tamper_memo(payload: bytes) -> bytes:
    kept = json.loads(payload)
    kept["value"] = tampered_memo_value(kept["value"])
    return json.dumps(kept).encode()


@pytest.fixture
def course(tmp_path):
    root = write_content_root(tmp_path / "content", "trust-plugin", solve_body="params['x'] + 1",
                              check_body="assert answers['answer'] == params['x'] + 1", template=TEMPLATE)
    (tmp_path / "exam.yaml").write_text(BLUEPRINT)
    return tmp_path, {"QBANK_PATH": str(root), "QBANK_CACHE": str(fresh_cache(tmp_path / "cache"))}


@pytest.mark.pdf
def test_a_changed_cache_never_changes_a_key_a_solution_or_a_pdf(course):
    tmp, env = course

    def build(name: str) -> subprocess.CompletedProcess:
        proc = run_qbank("exam", str(tmp / "exam.yaml"), "--versions", "2", "--out", str(tmp / name),
                         "--secret", SECRET, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc

    build("true")
    cache = tmp / "cache"

    def rebuild_is_true(name: str) -> None:
        """Build again: every byte is the true build's, and one line warns of the changed entries."""
        proc = build(name)
        assert files_of(tmp / name) == files_of(tmp / "true")  # key.json, manifest, every PDF: byte for byte
        warnings = [line for line in proc.stderr.splitlines() if line.startswith(WARNING)]
        assert len(warnings) == 1 and warnings[0].endswith(CHANGED), proc.stderr
        assert str(cache) in warnings[0]

    memo = sorted((cache / "memo").rglob("*.json"))
    assert {"draw", "fragments", "version"} <= {entry.parent.parent.name for entry in memo}
    for entry in memo:  # other answers in the draws, another sentence in every fragment and document
        rewrite(entry, tamper_memo)
    rebuild_is_true("memo-changed")
    key = json.loads((tmp / "memo-changed" / "instructor" / "key.json").read_text())
    assert 99 not in [q["answers"]["answer"] for version in key["versions"] for q in version["questions"]]
    assert "TAMPERED" not in pdf_text(tmp / "memo-changed" / "instructor" / "v01" / "solutions.pdf")

    pdfs = sorted((cache / "pdf").rglob("*.pdf"))
    assert len(pdfs) == 4
    contents = [pdf.read_bytes() for pdf in pdfs]  # every PDF swapped for another's (each true in itself)
    for pdf, data in zip(pdfs, contents[1:] + contents[:1]):
        pdf.write_bytes(data)
    for fmt in (cache / "formats").glob("*.fmt"):  # a preamble format with a macro of someone else's
        fmt.write_bytes(fmt.read_bytes() + b"\\def\\answer{99}")
    rebuild_is_true("pdfs-changed")

    third = build("third")  # the changed entries were computed again and replaced
    assert WARNING not in third.stderr and "0 PDF(s) compiled" in third.stderr
    assert files_of(tmp / "third") == files_of(tmp / "true")


def test_a_changed_html_fragment_never_reaches_the_site(course):
    tmp, env = course

    def site(name: str) -> subprocess.CompletedProcess:
        proc = run_qbank("site", "--topic", "test", "--variants", "2", "--seed", "5", "--out", str(tmp / name), env=env)
        assert proc.returncode == 0, proc.stderr
        return proc

    site("true")
    fragments = sorted((tmp / "cache" / "html").rglob("*.html"))
    assert fragments
    for entry in fragments:
        rewrite(entry, lambda html: html + b"<script>alert('from the cache')</script>")
    again = site("again")
    assert files_of(tmp / "again") == files_of(tmp / "true")
    assert "from the cache" not in (tmp / "again" / "test" / "trust-plugin.html").read_text()
    warnings = [line for line in again.stderr.splitlines() if line.startswith(WARNING)]
    assert len(warnings) == 1 and warnings[0].endswith(CHANGED), again.stderr


# --- the key -------------------------------------------------------------------------------------------


def key_cases():
    """name -> (how to spoil a fresh key folder, the error after `qbank: error: <key file>: `)."""
    def mode(bits):
        return lambda key: os.chmod(key, bits)

    def other_user(key):
        os.chown(key, 65534, 65534)

    def open_folder(key):
        os.chmod(key.parent, 0o777)

    def symlink(key):
        real = key.parent / "elsewhere"
        key.rename(real)
        key.symlink_to(real)

    def garbage(key):
        key.write_text("not a key\n")

    cases = {
        "readable by others": (mode(0o644), "other users may read or change the cache key (mode 644) and so sign cache "
                               "entries; delete it (qbank makes a new key, the cache is computed again)"),
        "writable by the group": (mode(0o620), "other users may read or change the cache key (mode 620) and so sign "
                                  "cache entries; delete it (qbank makes a new key, the cache is computed again)"),
        "a symbolic link": (symlink, "the cache key is a symbolic link; it must be a file of your own (delete the "
                            "link: qbank makes a new key)"),
        "not a key": (garbage, "not a qbank cache key (64 hexadecimal digits); delete it (qbank makes a new key)"),
        "a folder others may write": (open_folder, None),
    }
    if os.geteuid() == 0:  # only root can give a file away
        cases["another user's"] = (other_user, "the cache key belongs to another user (uid 65534), who could sign cache "
                                   "entries; delete it (qbank makes a new key)")
    return cases


KEY_CASES = key_cases()


@pytest.fixture(scope="module")
def key_runs(tmp_path_factory):
    """`qbank draw` (PDFs, which look into the cache first) with each spoiled key, side by side."""
    jobs = {}
    for index, (name, (spoil, _)) in enumerate(KEY_CASES.items()):
        tmp = tmp_path_factory.mktemp(f"key{index}")
        key = tmp / "config" / "qbank" / "cache.key"
        key.parent.mkdir(parents=True, mode=0o700)
        key.write_text("ab" * 32 + "\n")
        key.chmod(0o600)
        spoil(key)
        jobs[name] = (tmp, key)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(run_qbank, "draw", "conv1d-forward", "--seed", "2", "--out", str(tmp / "out"),
                                     env={"XDG_CONFIG_HOME": str(tmp / "config"), "QBANK_CACHE": str(tmp / "cache")})
                   for name, (tmp, key) in jobs.items()}
        return {name: (*jobs[name], future.result()) for name, future in futures.items()}


@pytest.mark.parametrize("name", list(KEY_CASES))
def test_a_key_others_could_read_or_change_is_refused_with_one_line(key_runs, name):
    tmp, key, proc = key_runs[name]
    expected = KEY_CASES[name][1]
    if expected is None:
        folder = key.parent
        line = (f"qbank: error: {folder}: other users may change the cache key's folder (mode 777); make it yours "
                f"alone: chmod 700 {folder}")
    else:
        line = f"qbank: error: {key}: {expected}"
    assert (proc.returncode, proc.stderr.strip().splitlines()[-1]) == (2, line), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp / "out").exists()  # refused before any work, and nothing left half-done:
    assert not [p.name for p in tmp.glob(".out.*") if p.name != ".out.lock"]


def fresh_key(monkeypatch, config: Path) -> Path:
    """This process's cache key state as at start, with the key below `config`."""
    import qbank.cache

    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setattr(qbank.cache, "_key", None)
    monkeypatch.setattr(qbank.cache, "_key_unavailable", False)
    monkeypatch.setattr(qbank.cache, "_reported", set())
    return config / "qbank" / "cache.key"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_and_the_cache_folders_are_private(tmp_path, monkeypatch):
    key = fresh_key(monkeypatch, tmp_path / "config")
    Memo(root=tmp_path / "cache" / "memo").draw(get_family("conv1d-forward"), 5)
    assert mode_of(key) == 0o600 and mode_of(key.parent) == 0o700 and mode_of(key.parent.parent) == 0o700
    assert len(bytes.fromhex(key.read_text())) == 32
    folders = [tmp_path / "cache", *(p for p in (tmp_path / "cache").rglob("*") if p.is_dir())]
    assert len(folders) == 4  # cache/, memo/, draw/, draw/xx/
    assert {mode_of(folder) for folder in folders} == {0o700}
    (entry,) = (tmp_path / "cache").rglob("*.json")
    assert mode_of(entry) == 0o600 and entry.read_bytes().startswith(HEADER)


def test_no_key_to_be_had_only_costs_speed(tmp_path, monkeypatch, capsys):
    (tmp_path / "config").write_text("a file where the configuration folder should be")
    fresh_key(monkeypatch, tmp_path / "config")
    memo = Memo(root=tmp_path / "memo")
    for _ in range(2):
        assert memo.draw(get_family("conv1d-forward"), 5).family == "conv1d-forward"
    assert not (tmp_path / "memo").exists()
    err = capsys.readouterr().err
    assert err.count("qbank: note: no cache key") == 1 and "building without the cache" in err


def test_a_key_file_is_never_replaced_and_others_are_refused(tmp_path, monkeypatch):
    from qbank.cache import cache_key

    key = fresh_key(monkeypatch, tmp_path / "config")
    first = cache_key()
    fresh_key(monkeypatch, tmp_path / "config")
    assert cache_key() == first  # read back, not made anew
    key.chmod(0o644)
    fresh_key(monkeypatch, tmp_path / "config")
    with pytest.raises(InputError, match=r"other users may read or change the cache key \(mode 644\)"):
        cache_key()


# --- entries that are not used -----------------------------------------------------------------------


@pytest.fixture
def kept_draw(tmp_path, monkeypatch):
    """A memo holding one verified draw, and a way to tell whether the next draw computed it again."""
    import qbank.engine

    fresh_key(monkeypatch, tmp_path / "config")
    fam = get_family("conv1d-forward")
    expected = Memo(root=tmp_path / "memo").draw(fam, 5)
    (entry,) = (tmp_path / "memo").rglob("*.json")
    computed = []
    real = qbank.engine.fresh_draw
    monkeypatch.setattr(qbank.engine, "fresh_draw", lambda *a, **k: computed.append(1) or real(*a, **k))

    def draw_again() -> bool:
        """Draw again from the memo; True when it computed the draw (the entry was not used)."""
        computed.clear()
        assert Memo(root=tmp_path / "memo").draw(fam, 5) == expected
        return bool(computed)

    return entry, draw_again


def test_a_true_entry_is_used(kept_draw, capsys):
    entry, draw_again = kept_draw
    assert not draw_again()
    assert WARNING not in capsys.readouterr().err


def test_an_entry_under_another_requests_name_is_not_used(kept_draw, capsys):
    entry, draw_again = kept_draw
    other = Memo(root=entry.parents[2])
    other.draw(get_family("conv1d-forward"), 6)
    (moved,) = [p for p in entry.parents[2].rglob("*.json") if p != entry]
    entry.write_bytes(moved.read_bytes())  # a true entry of seed 6, put where seed 5's belongs
    assert draw_again()
    err = capsys.readouterr().err
    assert err.count(WARNING) == 1 and f"{WARNING}{entry}{CHANGED}" in err


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_an_entry_another_user_owns_is_passed_over_silently(kept_draw, capsys):
    entry, draw_again = kept_draw
    os.chown(entry, 65534, 65534)  # a shared cache: another instructor's entry, or someone's forgery
    assert draw_again()
    assert WARNING not in capsys.readouterr().err
    assert entry.stat().st_uid == os.geteuid()  # replaced by our own


def test_a_link_or_an_oversized_entry_is_not_used(kept_draw, capsys):
    from qbank.cache import MAX_ENTRY_BYTES

    entry, draw_again = kept_draw
    real = entry.with_name("elsewhere.json")
    entry.rename(real)
    entry.symlink_to(real)  # a true entry, but reached through a link qbank never writes
    assert draw_again()
    assert not entry.is_symlink()
    with open(entry, "r+b") as handle:  # sparse: no disk used, and never read
        handle.truncate(MAX_ENTRY_BYTES + 4096)
    assert draw_again()
    assert capsys.readouterr().err.count(WARNING) == 1


@pytest.mark.pdf
def test_a_changed_svg_figure_is_compiled_again(tmp_path, monkeypatch, capsys):
    from qbank.engine import draw
    from qbank.html import figures
    from qbank.html.figures import compile_figures, extract_figures
    from qbank.render import render_fragments

    fresh_key(monkeypatch, tmp_path / "config")
    figure = next(f for tex in render_fragments(draw("beam-search", 0)) for f in extract_figures(tex)[1])
    cache = tmp_path / "svg"
    true = compile_figures([figure], cache_dir=cache, jobs=1)
    (entry,) = cache.rglob("*.svg")
    rewrite(entry, lambda svg: svg.replace(b"</svg>", b"<script>alert('from the cache')</script></svg>"))
    compiled = []
    real = figures._compile_one
    monkeypatch.setattr(figures, "_compile_one", lambda *a: compiled.append(1) or real(*a))
    assert compile_figures([figure], cache_dir=cache, jobs=1) == true
    assert compiled  # not taken from the cache
    assert f"{WARNING}{entry}{CHANGED}" in capsys.readouterr().err
