"""The CLI starts at once: `--version`, `--help`, each command's `--help` and `list` load none of the
heavy libraries (sympy, pylatex, jinja2, pypandoc), and the first three no numpy either. Checked by the
modules a run leaves loaded, never by timing (bench/bench.py's part "startup" measures the seconds)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from conftest import ROOT

from qbank.cli import build_parser

HEAVY = ("sympy", "pylatex", "jinja2", "pypandoc")
# The console script's own path: import qbank.cli, run main; then report what is loaded.
RUN_AND_LIST_MODULES = """\
import json, sys
from qbank.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def loaded_modules(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", RUN_AND_LIST_MODULES, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listing = proc.stdout.rsplit("\nMODULES ", 1)
    assert len(listing) == 2, proc.stdout[-2000:]
    return {name.split(".")[0] for name in json.loads(listing[1])}


def subcommands() -> list[str]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


@pytest.mark.parametrize("args", [("--version",), ("--help",), *((name, "--help") for name in subcommands())],
                         ids=" ".join)
def test_version_and_help_load_no_heavy_library_and_no_numpy(args):
    loaded = loaded_modules(*args)
    assert not loaded & {*HEAVY, "numpy"}, f"qbank {' '.join(args)} imported {sorted(loaded & {*HEAVY, 'numpy'})}"


def test_list_loads_the_families_without_heavy_libraries():
    loaded = loaded_modules("list")
    assert not loaded & set(HEAVY), f"qbank list imported {sorted(loaded & set(HEAVY))}"
    assert any(name.startswith("qbank_content_") for name in loaded)  # it did load the generator modules
