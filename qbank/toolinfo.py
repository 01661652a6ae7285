"""The versions of everything that shapes an exam's output, recorded in its manifest."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata

from . import __version__


def tool_versions() -> dict[str, str]:
    versions = {"qbank": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("numpy", "sympy", "jinja2", "pylatex", "pyyaml"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    try:
        out = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True, timeout=30).stdout
        versions["pdflatex"] = out.splitlines()[0] if out else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        versions["pdflatex"] = "not found"
    return versions
