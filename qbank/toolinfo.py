"""The versions of everything that shapes an exam's output, recorded in its manifest."""

from __future__ import annotations

import platform
import subprocess
import sys

from . import __version__


def tool_versions() -> dict[str, str]:
    from importlib import metadata  # late: the CLI's --help imports this module too

    versions = {"qbank": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("numpy", "sympy", "jinja2", "pylatex", "pyyaml"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    from .latex import engine_version  # the compiler asks pdflatex the same: ask it once

    try:
        versions["pdflatex"] = engine_version()
    except (OSError, subprocess.TimeoutExpired):
        versions["pdflatex"] = "not found"
    return versions
