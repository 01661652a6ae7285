#!/usr/bin/env python3
"""qbank's speed, measured in one run on this machine; figures printed as rates and ratios.

    .venv/bin/python bench/bench.py                # the full benchmark (about 5 minutes on 2 cores)
    .venv/bin/python bench/bench.py --versions 20  # a quicker pass

1. per family: variants drawn + solved + checked + rendered to .tex per second;
2. one exam version: qbank's seconds per PDF divided by a bare `pdflatex` run on the same .tex files;
3. N versions (2N PDFs): wall time with --jobs 1 and with all cores, and a second, fully cached run
   as a fraction of the first; the same cold and cached pair for 20 versions.
Parts 2 and 3 run on bench/light.yaml (a 2-page exam with a TikZ tree and a pgfplots plot, the
reference of issue 5) and on the demo exam (6 + 8 pages, five figures), or on --blueprint files.
4. the web: `qbank site` of every family x --site-variants plus every conceptual item, cold (fresh
   cache) and re-run with nothing changed; and one variant without figures as an HTML page
   (`draw --format html`) against its problem and solution PDFs (`draw`), both uncached, next to
   R/exams' exams2html (about 0.19 s a version on this machine, two simple exercises, no figures).
5. startup: the median of 7 runs of `qbank --version`, `qbank --help` and `qbank list`, each as a
   ratio to the median of 7 runs of `python -c "import numpy"` in the same run.
6. the LMS exports: `qbank export moodle` and `canvas` of the demo exam (five questions, figures
   included) with --lms-variants variants, cold (fresh cache) and re-run, per version and per question
   variant, next to R/exams' exams2moodle (about 0.17 s a version here, two simple exercises, no figures).
Nothing here is a test: the numbers depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
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


def cached_rerun(blueprint: Path, versions: int, work: Path, cache: Path, runs: int = 3) -> float:
    """The median of a few fully cached reruns (one is too noisy at half a second)."""
    return statistics.median(exam_run(blueprint, versions, work / f"v-cached-{i}", cache, None) for i in range(runs))


def many_versions(versions: int, work: Path, blueprint: Path) -> None:
    print(f"3. {versions} versions of {blueprint.name} ({2 * versions} PDFs), fresh cache each")
    work = work / blueprint.stem
    serial = exam_run(blueprint, versions, work / "v-serial", work / "cache-serial", 1)
    parallel = exam_run(blueprint, versions, work / "v-parallel", work / "cache-parallel", None)
    cached = cached_rerun(blueprint, versions, work, work / "cache-parallel")
    print(f"   --jobs 1:          {serial:7.1f} s   {serial / versions:.2f} s per version")
    print(f"   all {os.cpu_count()} cores:       {parallel:7.1f} s   {parallel / versions:.2f} s per version"
          f"   speed-up {serial / parallel:.2f}x")
    print(f"   second run cached: {cached:7.1f} s   {100 * cached / parallel:.1f} % of the first")
    if versions != 20:
        cold = exam_run(blueprint, 20, work / "v20", work / "cache-20", None)
        cached = cached_rerun(blueprint, 20, work / "v20", work / "cache-20")
        print(f"   20 versions, all cores: {cold:5.1f} s cold, {cached:.2f} s cached = {100 * cached / cold:.1f} %")


REXAMS_HTML = 0.19  # s per version, exams2html of two simple exercises without figures (issue 10)


def qbank_run(args: list[str], cache: Path) -> float:
    env = {**os.environ, "QBANK_CACHE": str(cache)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qbank.cli", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def web(variants: int, work: Path, samples: int = 6) -> None:
    from qbank.html.figures import extract_figures
    from qbank.html.site import draw_html
    from qbank.documents import Header, problem_and_solution, variant_question

    print(f"4. the web: practice site of {len(all_families())} families x {variants} variants + every conceptual item")
    cold = qbank_run(["site", "--variants", str(variants), "--seed", "1", "--out", str(work / "site")], work / "cache-site")
    warm = qbank_run(["site", "--variants", str(variants), "--seed", "1", "--out", str(work / "site")], work / "cache-site")
    print(f"   cold (fresh cache): {cold:7.1f} s")
    print(f"   re-run, unchanged:  {warm:7.1f} s   {100 * warm / cold:.1f} % of the cold build")
    plain = [f for f in all_families()
             if not any(extract_figures(render_fragment(draw(f, 0), part))[1] for part in ("problem", "solution"))]
    os.environ["QBANK_CACHE"] = str(work / "cache-one")
    html_s = pdf_s = 0.0
    for i in range(samples):
        fam = plain[i % len(plain)]
        variant = draw(fam, 1000 + i)
        docs = problem_and_solution([variant_question(variant)], Header(title=fam.title))
        if i == 0:
            build_pdfs(docs, work / "pdf-warm", cache=False, jobs=1)  # the shared format, built once per course
        start = time.perf_counter()
        build_pdfs(docs, work / f"pdf-{i}", cache=False, jobs=1)
        pdf_s += time.perf_counter() - start
        os.environ["QBANK_CACHE"] = str(work / f"cache-html-{i}")  # nothing converted before
        start = time.perf_counter()
        draw_html(fam.id, 1000 + i, None, work / f"html-{i}", jobs=1)
        html_s += time.perf_counter() - start
        os.environ["QBANK_CACHE"] = str(work / "cache-one")
    html_s, pdf_s = html_s / samples, pdf_s / samples
    print(f"   one variant without figures ({samples} variants of {len(plain)} figure-free families, uncached, 1 job):")
    print(f"   HTML page:           {html_s:6.2f} s   {html_s / pdf_s:.2f} of the PDF path"
          f"   {html_s / REXAMS_HTML:.2f} of exams2html ({REXAMS_HTML} s)")
    print(f"   problem+solution PDF: {pdf_s:5.2f} s")
    per_variant = cold / (variants * len(all_families()))
    print(f"   site, cold, per variant (figures included): {per_variant:.3f} s"
          f"   {per_variant / REXAMS_HTML:.2f} of exams2html")


def median_seconds(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(runs: int = 7) -> None:
    print(f"5. startup: median of {runs} runs, as a ratio to `python -c \"import numpy\"` (the goal: at most 3)")
    numpy = median_seconds([sys.executable, "-c", "import numpy"], runs)
    print(f"   python -c 'import numpy': {numpy:.3f} s")
    qbank = [sys.executable, "-m", "qbank.cli"]
    for args in (["--version"], ["--help"], ["exam", "--help"], ["list"]):
        seconds = median_seconds([*qbank, *args], runs)
        print(f"   qbank {' '.join(args):<14} {seconds:.3f} s   {seconds / numpy:.2f}x")


REXAMS_MOODLE = 0.17  # s per version of two simple exercises without figures, exams2moodle (issue 12)


def lms(variants: int, work: Path) -> None:
    questions = load_blueprint(DEMO).question_count
    print(f"6. LMS exports of {DEMO.name} ({questions} questions, figures included), {variants} variants per slot")
    secret = ["--secret", "benchmark-secret-4c1e9a7f3b8d2e6a0f5c9b1d7e3a8f2c"]
    for target, suffix in (("moodle", "xml"), ("canvas", "zip")):
        cache = work / f"cache-{target}"
        args = ["export", target, str(DEMO), "--variants", str(variants), *secret]
        cold = qbank_run([*args, "--out", str(work / f"{target}-1" / f"demo.{suffix}")], cache)
        warm = qbank_run([*args, "--out", str(work / f"{target}-2" / f"demo.{suffix}")], cache)
        size = (work / f"{target}-1" / f"demo.{suffix}").stat().st_size / 1e6
        per_question = cold / (variants * questions)
        print(f"   {target:<7} cold: {cold:6.1f} s = {cold / variants:.3f} s a version of {questions} questions, "
              f"{per_question:.3f} s a question variant = {per_question / (REXAMS_MOODLE / 2):.2f} of exams2moodle's "
              f"{REXAMS_MOODLE / 2:.3f} s an exercise; re-run {warm:.1f} s ({100 * warm / cold:.0f} %); {size:.1f} MB")


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
    parser.add_argument("--site-variants", type=int, default=20, help="variants per family in part 4 (default 20)")
    parser.add_argument("--lms-variants", type=int, default=20, help="variants per slot in part 6 (default 20)")
    parser.add_argument("--only", choices=("families", "exams", "web", "startup", "lms"), help="run one part only")
    args = parser.parse_args()
    if shutil.which("pdflatex") is None:
        sys.exit("bench: pdflatex not found (run `make test` once to set up)")
    print(f"qbank benchmark on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    if args.only in (None, "families"):
        families(args.samples)
    if args.only in (None, "exams"):
        for blueprint in args.blueprint or [LIGHT, DEMO]:
            with tempfile.TemporaryDirectory(prefix="qbank-bench-") as tmp:
                one_version(Path(tmp), blueprint)
                many_versions(args.versions, Path(tmp), blueprint)
    if args.only in (None, "web"):
        with tempfile.TemporaryDirectory(prefix="qbank-bench-") as tmp:
            web(args.site_variants, Path(tmp))
    if args.only in (None, "startup"):
        startup()
    if args.only in (None, "lms"):
        with tempfile.TemporaryDirectory(prefix="qbank-bench-") as tmp:
            lms(args.lms_variants, Path(tmp))


if __name__ == "__main__":
    main()
