"""`qbank site` without a browser: the same seed gives the same site byte for byte, site.json points at
real pages and anchors, and bad options are one clear line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_qbank


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "a"
    proc = run_qbank("site", "--topic", "decoding", "--topic", "init", "--variants", "3", "--seed", "5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "site seed 5" in proc.stderr
    return out


def test_same_seed_same_site_byte_for_byte(small, tmp_path):
    again = tmp_path / "b"
    proc = run_qbank("site", "--topic", "decoding", "--topic", "init", "--variants", "3", "--seed", "5", "--out", str(again))
    assert proc.returncode == 0, proc.stderr
    assert files(again) == files(small)


def test_site_json_points_at_pages_and_anchors(small):
    data = json.loads((small / "site.json").read_text())
    assert data["seed"] == 5
    records = data["variants"]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    families = {r["family"] for r in records if r["family"]}
    assert families == {"beam-search", "init-variance", "resnet-init-variance"}
    for fam in families:
        assert sum(r["family"] == fam for r in records) == 3
    assert any(r["family"] is None and r["item"] for r in records)  # conceptual items of those topics
    for r in records:
        assert set(r) == {"id", "family", "item", "seed", "params", "page", "anchor"}
        page = (small / r["page"]).read_text()
        assert f'data-qbank-variant="{r["id"]}"' in page and f'id="{r["anchor"]}"' in page
        if r["family"]:
            assert isinstance(r["seed"], int) and isinstance(r["params"], dict)
        else:
            assert r["seed"] is None and r["params"] is None
    index = (small / "index.html").read_text()
    for page in {r["page"] for r in records}:
        assert f'href="{page}"' in index
    for href in re.findall(r'(?:src|href)="([^"#:]+)"', index):
        assert (small / href).exists(), href  # every link of the index resolves inside the folder


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--variants", "0"], "--variants: expected a positive integer"),
        (["--variants", "201"], "--variants: expected 1 to 200"),
        (["--topic", "astrology"], "--topic: no family or bank item has topic 'astrology'"),
        (["--tags", "no-such-tag"], "nothing matches"),
        (["--seed", "-1"], "--seed: expected an integer from 0"),
    ],
)
def test_bad_options_are_one_clear_line(tmp_path, args, expected):
    proc = run_qbank("site", *args, "--out", str(tmp_path / "s"))
    assert proc.returncode != 0
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s").exists()


def test_site_never_writes_into_a_folder_it_did_not_make(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "lecture.md").write_text("mine")
    proc = run_qbank("site", "--topic", "decoding", "--variants", "1", "--seed", "1", "--out", str(mine))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert (mine / "lecture.md").read_text() == "mine" and sorted(p.name for p in mine.iterdir()) == ["lecture.md"]
