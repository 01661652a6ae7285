#!/usr/bin/env python3
"""qbank's speed, measured in one run on this machine; figures printed as rates and ratios.

    .venv/bin/python bench/bench.py                # the full benchmark (about 5 minutes on 2 cores)
    .venv/bin/python bench/bench.py --versions 20  # a quicker pass

1. per family: variants drawn + solved + checked + rendered to .tex per second;
2. one exam version: qbank's seconds per PDF divided by a bare `pdflatex` run on the same .tex files;
3. N versions (2N PDFs): wall time with --jobs 1 and with all cores, and a second, fully cached run
   as a fraction of the first.
Parts 2 and 3 run on bench/light.yaml (a 2-page exam with a TikZ tree and a pgfplots plot, the
reference of issue 5) and on the demo exam (6 + 8 pages, five figures), or on --blueprint files.
Nothing here is a test: the numbers depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qbank import all_families, draw  # noqa: E402
from qbank.exam import exam_documents, plan_exam  # noqa: E402
from qbank.blueprint import load_blueprint  # noqa: E402
from qbank.latex import build_pdfs  # noqa: E402
from qbank.render import render_fragment  # noqa: E402

DEMO = ROOT / "bank" / "exams" / "demo.yaml"
LIGHT = ROOT / "bench" / "light.yaml"  # a 2-page exam with a TikZ tree and a pgfplots plot, as in issue 5


def families(samples: int) -> None:
    print(f"1. draw + solve + check + render, {samples} variants per family")
    rates = []
    for fam in all_families():
        start = time.perf_counter()
        for seed in range(samples):
            variant = draw(fam, seed)
            render_fragment(variant, "problem")
            render_fragment(variant, "solution")
        elapsed = time.perf_counter() - start
        rates.append(samples / elapsed)
        print(f"   {fam.id:<24} {samples / elapsed:8.0f} variants/s   {1000 * elapsed / samples:6.2f} ms each")
    print(f"   slowest family: {min(rates):.0f} variants/s")


def bare_pdflatex(docs, work: Path) -> float:
    """Seconds for one plain `pdflatex` run per document, one after another."""
    start = time.perf_counter()
    for doc in docs:
        folder = work / doc.name
        folder.mkdir(parents=True)
        (folder / f"{doc.stem}.tex").write_text(doc.tex)
        subprocess.run(["pdflatex", "-interaction=nonstopmode", f"{doc.stem}.tex"], cwd=folder,
                       capture_output=True, check=True)
    return time.perf_counter() - start


def one_version(work: Path, blueprint: Path) -> None:
    print(f"2. one exam version (exam + solutions) of {blueprint.name}: qbank against bare pdflatex")
    manifest = plan_exam(load_blueprint(blueprint), 1, b"benchmark-secret")
    docs = exam_documents(manifest)
    bare = bare_pdflatex(docs, work / "bare") / len(docs)
    os.environ["QBANK_CACHE"] = str(work / "cache-one")
    build_pdfs(docs, work / "warm", cache=False, jobs=1)  # builds the shared format once, as a course build does
    start = time.perf_counter()
    build_pdfs(docs, work / "serial", cache=False, jobs=1)
    serial = (time.perf_counter() - start) / len(docs)
    start = time.perf_counter()
    build_pdfs(docs, work / "parallel", cache=False, jobs=os.cpu_count() or 1)
    parallel = (time.perf_counter() - start) / len(docs)
    print(f"   bare pdflatex, one pass:   {bare:.2f} s per PDF")
    print(f"   qbank, 1 job:              {serial:.2f} s per PDF   ratio {serial / bare:.2f}")
    print(f"   qbank, {os.cpu_count()} jobs:             {parallel:.2f} s per PDF   ratio {parallel / bare:.2f}")


def exam_run(blueprint: Path, versions: int, out: Path, cache: Path, jobs: int | None) -> float:
    env = {**os.environ, "QBANK_CACHE": str(cache)}
    command = [sys.executable, "-m", "qbank.cli", "exam", str(blueprint), "--versions", str(versions),
               "--out", str(out), "--secret", "benchmark-secret-4c1e9a7f3b8d2e6a0f5c9b1d7e3a8f2c"]
    if jobs:
        command += ["--jobs", str(jobs)]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def many_versions(versions: int, work: Path, blueprint: Path) -> None:
    print(f"3. {versions} versions of {blueprint.name} ({2 * versions} PDFs), fresh cache each")
    work = work / blueprint.stem
    serial = exam_run(blueprint, versions, work / "v-serial", work / "cache-serial", 1)
    parallel = exam_run(blueprint, versions, work / "v-parallel", work / "cache-parallel", None)
    cached = exam_run(blueprint, versions, work / "v-cached", work / "cache-parallel", None)
    print(f"   --jobs 1:          {serial:7.1f} s   {serial / versions:.2f} s per version")
    print(f"   all {os.cpu_count()} cores:       {parallel:7.1f} s   {parallel / versions:.2f} s per version"
          f"   speed-up {serial / parallel:.2f}x")
    print(f"   second run cached: {cached:7.1f} s   {100 * cached / parallel:.1f} % of the first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=200, help="versions in part 3 (default 200)")
    parser.add_argument("--samples", type=int, default=200, help="variants per family in part 1 (default 200)")
    parser.add_argument(
        "--blueprint",
        action="append",
        type=Path,
        help=f"blueprint(s) for parts 2 and 3 (default: {LIGHT.relative_to(ROOT)} and {DEMO.relative_to(ROOT)})",
    )
    args = parser.parse_args()
    if shutil.which("pdflatex") is None:
        sys.exit("bench: pdflatex not found (run `make test` once to set up)")
    print(f"qbank benchmark on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    families(args.samples)
    for blueprint in args.blueprint or [LIGHT, DEMO]:
        with tempfile.TemporaryDirectory(prefix="qbank-bench-") as tmp:
            one_version(Path(tmp), blueprint)
            many_versions(args.versions, Path(tmp), blueprint)


if __name__ == "__main__":
    main()
