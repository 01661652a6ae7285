"""README's families table is generated from the cards (`qbank list --markdown`) and never drifts."""

from __future__ import annotations

from conftest import ROOT, run_qbank
from qbank.catalog import END, START, families_markdown
from qbank.registry import all_families


def test_readme_lists_every_family_as_the_cards_say():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in text and END in text, "README's families table has lost its marker lines"
    block = text[text.index(START): text.index(END) + len(END)] + "\n"
    assert block == families_markdown(all_families()), (
        "README's families table differs from the cards: replace it with the output of `qbank list --markdown`")
    for fam in all_families():
        assert f"| `{fam.id}` |" in block


def test_list_markdown_through_the_cli():
    done = run_qbank("list", "--markdown")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(START) and done.stdout.rstrip().endswith(END)
    assert "| `beam-search` | decoding |" in done.stdout
