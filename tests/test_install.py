"""The package as a user installs it: a wheel built from the repository, installed into a fresh venv
outside it; the built-in families, templates and bank come with it, `qbank init` writes a workspace and
the example exam builds there as a real PDF. A packaging mistake (a file left out of the wheel, a path
that only works in a clone) fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, pdf_text, squash

pytestmark = pytest.mark.install

LEFT_OUT = (".git", ".venv", "build", ".setuptools-build", "*.egg-info", "__pycache__", ".hypothesis",
            ".pytest_cache", ".qbank-secret", "tests", "bench")


def run(command, cwd=None, env=None, timeout=900) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, command))} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # a copy: building never writes into the repository
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", source, "-w", tmp / "wheels"])
    (wheel,) = (tmp / "wheels").glob("qbank-*.whl")
    run([sys.executable, "-m", "venv", tmp / "venv"])
    run([tmp / "venv" / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", wheel])
    return tmp / "venv"


@pytest.fixture()
def user_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QBANK_PATH", "QBANK_WORKSPACE", "QBANK_SECRET", "VIRTUAL_ENV", "PYTHON"))}
    env["HOME"] = str(tmp_path / "home")  # nothing of the developer's own set-up
    env["QBANK_CACHE"] = os.environ["QBANK_CACHE"]
    return env


def test_the_installed_package_carries_its_content(venv, tmp_path, user_env):
    python = venv / "bin" / "python"
    where = run([python, "-c", "import qbank.paths as p; print(p.ROOT)"], cwd=tmp_path, env=user_env).stdout.strip()
    assert where.startswith(str(venv)) and where.endswith("qbank/_builtin")
    for folder in ("generators", "templates", "bank"):  # every file of the repository's content folders
        mine = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        shipped = {p.relative_to(where).as_posix() for p in (Path(where) / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert mine == shipped, folder
    scaffold = Path(where).parent / "scaffold"
    assert {p.relative_to(scaffold).as_posix() for p in scaffold.rglob("*") if p.is_file() and "__pycache__" not in p.parts} == {
        p.relative_to(ROOT / "qbank" / "scaffold").as_posix() for p in (ROOT / "qbank" / "scaffold").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    qbank = venv / "bin" / "qbank"
    assert run([qbank, "--version"], cwd=tmp_path, env=user_env).stdout.startswith("qbank ")
    families = run([qbank, "list"], cwd=tmp_path, env=user_env).stdout.splitlines()
    ours = subprocess.run([sys.executable, "-m", "qbank.cli", "list"], cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    assert families == ours and len(families) >= 13


def test_init_then_the_example_exam_builds_a_pdf(venv, tmp_path, user_env):
    qbank = venv / "bin" / "qbank"
    run([qbank, "init", "dl-course", "--course", "Deep Learning"], cwd=tmp_path, env=user_env)
    course = tmp_path / "dl-course"
    run([qbank, "check", "sigmoid-neuron", "--seeds", "20"], cwd=course, env=user_env)
    run([qbank, "exam", "example", "--versions", "2"], cwd=course, env=user_env)
    out = course / "build" / "example"
    assert (course / ".qbank-secret").is_file()
    text = squash(pdf_text(out / "instructor" / "v01" / "solutions.pdf"))
    assert squash("trained with the cross-entropy loss") in text and squash("one-dimensional convolutional layer") in text
    assert (out / "students" / "v02" / "exam.pdf").is_file() and (out / "instructor" / "key.json").is_file()


def test_a_built_in_blueprint_by_name_outside_a_workspace(venv, tmp_path, user_env):
    qbank = venv / "bin" / "qbank"
    run([qbank, "exam", "demo", "--versions", "1"], cwd=tmp_path, env=user_env)
    assert (tmp_path / "build" / "demo" / "students" / "v01" / "exam.pdf").is_file()
    assert (tmp_path / ".qbank-secret").is_file()  # the key goes to the current folder, never into site-packages
    assert not list(venv.rglob(".qbank-secret"))
