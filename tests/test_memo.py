"""The build memo (qbank.memo): a warm rebuild draws, verifies and renders nothing and writes the same
bytes; a changed template or family file is never served from it; a broken memo only costs time."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import pdf_text, run_qbank, write_content_root

from qbank import get_family
from qbank.engine import draw
from qbank.exam import BuildOptions, build_exam
from qbank.memo import Memo, canonical

SECRET = "memo-test-secret-7d2e9b4f1a6c3e8d5b0f7a2c9e4d1b6f"
BLUEPRINT = """\
title: Memo test
duration: 30 minutes
options: {layout: compact, cover: true}
sections:
  - title: Computing
    slots:
      - family: conv1d-forward
        points: 4
      - family: beam-search
        points: 6
  - title: Concepts
    shuffle: true
    slots:
      - item: why-convolutions-for-images-mc
      - item: building-block-inductive-biases
      - from: {topic: architectures}
        choose: 1
        points: 5
"""


def fresh_cache(path: Path) -> Path:
    """An empty cache, but for the shared preamble's format the session may have built already."""
    formats = Path(os.environ["QBANK_CACHE"]) / "formats"
    if formats.is_dir():
        shutil.copytree(formats, path / "formats")
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refuse(*args, **kwargs):
    raise AssertionError("computed again what the memo holds")


def test_a_warm_rebuild_computes_nothing_and_writes_the_same_bytes(tmp_path, monkeypatch):
    import qbank.documents
    import qbank.engine
    import qbank.exam
    import qbank.latex

    monkeypatch.setenv("QBANK_CACHE", str(fresh_cache(tmp_path / "cache")))
    blueprint = tmp_path / "memo.yaml"
    blueprint.write_text(BLUEPRINT)
    build = BuildOptions(jobs=2)
    build_exam(blueprint, tmp_path / "cold", versions=3, secret=SECRET.encode(), build=build)
    assert list((tmp_path / "cache" / "memo").glob("*/*/*.json"))

    for module, name in ((qbank.engine, "fresh_draw"), (qbank.exam, "_render_question"),
                         (qbank.documents, "render_document"), (qbank.latex.Compiler, "compile")):
        monkeypatch.setattr(module, name, refuse)
    build_exam(blueprint, tmp_path / "warm", versions=3, secret=SECRET.encode(), build=build)
    cold, warm = files_of(tmp_path / "cold"), files_of(tmp_path / "warm")
    assert len(cold) == 3 * 2 + 6  # exam and solutions per version, key.json, key.csv, pages.csv, manifest, README, marker
    assert warm == cold


def test_no_cache_neither_reads_nor_writes_the_memo(tmp_path, monkeypatch):
    monkeypatch.setenv("QBANK_CACHE", str(tmp_path / "cache"))
    memo = Memo(enabled=False)
    with memo.keeping_draws():
        draw("conv1d-forward", 3)
    memo.put("fragments", {"a": 1}, ["p", "s"])
    assert memo.get("fragments", {"a": 1}) is None
    assert not (tmp_path / "cache").exists()


def test_an_unreadable_or_broken_memo_only_costs_time(tmp_path, monkeypatch):
    import qbank.cache

    monkeypatch.setattr(qbank.cache, "_reported", set())  # the warning about a changed entry, said once per run
    fam = get_family("conv1d-forward")
    expected = draw(fam, 5)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert Memo(root=blocked).draw(fam, 5) == expected  # nothing can be written below a file

    memo = Memo(root=tmp_path / "memo")
    assert memo.draw(fam, 5) == expected
    (entry,) = (tmp_path / "memo" / "draw").glob("*/*.json")
    header = entry.read_bytes().split(b"\n", 1)[0] + b"\n"  # the MAC of the true entry (qbank.cache)
    for broken in ('{"value": {"params": 1}}', "{", "", '{"value": null}'):
        for text in (broken.encode(), header + broken.encode()):
            entry.write_bytes(text)
            assert Memo(root=tmp_path / "memo").draw(fam, 5) == expected
    assert Memo(root=tmp_path / "memo").draw(fam, 5) == expected  # written again, and read back
    assert entry.read_bytes().startswith(header)
    kept = json.loads(entry.read_bytes().split(b"\n", 1)[1])
    assert kept["value"]["params"] == json.loads(expected.to_json())["params"]


def test_requests_of_other_types_than_plain_json_are_not_kept():
    assert canonical({"b": [1, 2.5, None, True], "a": "x"}) == '{"a":"x","b":[1,2.5,null,true]}'
    # a tuple, a str subclass, a bool for an int or NaN would print like something a family may treat otherwise
    for odd in ({"x": (1, 2)}, {"x": type("Text", (str,), {})("a")}, {1: 2}, {"x": float("nan")}, {"x": {1, 2}}):
        assert canonical(odd) is None
    assert canonical({"x": True}) != canonical({"x": 1})
    looped: dict = {}
    looped["self"] = looped
    assert canonical(looped) is None


# --- invalidation: a content folder of one's own, edited between builds ---------------------------

TEMPLATE = (
    "\\BLOCK{block problem}Memo wording one: what is $\\VAR{params.x}$ plus one?\\BLOCK{endblock}\n"
    "\\BLOCK{block solution}It is \\VAR{answers.answer}.\\BLOCK{endblock}\n"
)
PLUGIN_BLUEPRINT = """\
title: Memo invalidation
options: {cover: false}
sections:
  - slots:
      - family: memo-plugin
        points: 2
"""


@pytest.fixture
def plugin_exam(tmp_path):
    root = write_content_root(tmp_path / "content", "memo-plugin", solve_body="params['x'] + 1",
                              check_body="assert answers['answer'] == params['x'] + 1", template=TEMPLATE)
    (tmp_path / "exam.yaml").write_text(PLUGIN_BLUEPRINT)
    env = {"QBANK_PATH": str(root), "QBANK_CACHE": str(fresh_cache(tmp_path / "cache"))}

    def build(name: str) -> tuple[str, dict]:
        out = tmp_path / name
        proc = run_qbank("exam", str(tmp_path / "exam.yaml"), "--versions", "2", "--out", str(out),
                         "--secret", SECRET, env=env)
        assert proc.returncode == 0, proc.stderr
        key = json.loads((out / "instructor" / "key.json").read_text())
        return pdf_text(out / "students" / "v01" / "exam.pdf"), key

    return root, build


def answers_of(key) -> list:
    return [q["answers"]["answer"] for version in key["versions"] for q in version["questions"]]


def test_a_changed_template_or_family_file_is_never_served_from_the_memo(plugin_exam):
    root, build = plugin_exam
    text, key = build("first")
    assert "Memo wording one" in text
    assert build("again") == (text, key)  # the memo's own answer

    template = root / "templates" / "test" / "memo-plugin.tex.j2"
    template.write_text(template.read_text().replace("Memo wording one", "Memo wording two"))
    text, key_after_template = build("new-template")
    assert "Memo wording two" in text and "Memo wording one" not in text
    assert key_after_template == key

    module = root / "generators" / "memo_plugin.py"
    module.write_text(module.read_text().replace("params['x'] + 1", "params['x'] + 2"))
    text, new_key = build("new-family")
    assert "Memo wording two" in text
    assert answers_of(new_key) == [a + 1 for a in answers_of(key)]
