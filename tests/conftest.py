"""Shared helpers: run the CLI as a user would, and read a PDF's text with pdftotext."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QBANK = [sys.executable, "-m", "qbank.cli"]


def run_qbank(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*QBANK, *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def pdf_text(path: Path) -> str:
    """The text of a PDF, with typographic minus signs made ASCII so numbers compare plainly."""
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout.replace("\u2212", "-")


def squash(text: str) -> str:
    """Text without any whitespace, for matching numbers that the layout may space out."""
    return "".join(text.split())


@pytest.fixture
def qbank():
    return run_qbank
