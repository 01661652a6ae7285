"""The command line: each command parses, loads, calls one engine function, and reports.

Domain errors (QbankError) print as one line `qbank: error: ...` and a non-zero exit; never a traceback.
"""

from __future__ import annotations

import argparse
import textwrap
import os
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .check import check_families
from .bank import load_bank
from .documents import Header, problem_and_solution, variant_question
from .engine import MAX_SEED, draw
from .errors import QbankError
from .fairness import bank_conflicts
from .exam import MAX_VERSIONS, BuildOptions, build_exam, rebuild_exam
from .keys import SECRET_ENV
from .latex import build_pdfs, write_tex
from .practice import practice_set
from .progress import Reporter
from .params import load_params
from .registry import all_families, get_family

EPILOG = """\
examples:
  qbank list                                   every family: id, topic, title
  qbank draw conv1d-forward --seed 7           problem.pdf + solution.pdf in build/draw/conv1d-forward-7/
  qbank draw conv1d-recover-filter --format json --params '{"signal": [1, 4, 0, -2, 3], "filter": [2, -1, 3]}'
  qbank exam bank/exams/demo.yaml --versions 3 exam + solutions per version, keys, in build/exam/
  qbank practice --topic rnn -n 4              a practice set: problems.pdf, solutions.pdf
  qbank check --seeds 200                      draw, verify and render every family over 200 seeds
"""


REPORTER = Reporter(sys.stderr)


def _info(message: str) -> None:
    REPORTER.info(message)


def _build(args: argparse.Namespace) -> BuildOptions:
    return BuildOptions(jobs=getattr(args, "jobs", None), cache=not args.no_cache, reporter=REPORTER)


def cmd_list(args: argparse.Namespace) -> int:
    families = all_families()
    width = max(len(f.id) for f in families)
    topic_width = max(len(f.topic) for f in families)
    for fam in families:
        print(f"{fam.id:<{width}}  {fam.topic:<{topic_width}}  {fam.title}")
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    fam = get_family(args.family)
    pinned = load_params(args.params) if args.params else {}
    variant = draw(fam, args.seed, pinned)
    if args.format == "json":
        print(variant.to_json())
        return 0
    suffix = {"pdf": "", "tex": "-tex", "html": "-html"}[args.format]
    out = Path(args.out) if args.out else Path("build") / "draw" / f"{fam.id}-{args.seed}{suffix}"
    if args.format == "html":
        from .html.site import draw_html  # late: pandoc and the web writer load only when asked

        _info(f"writing {out}/index.html for {fam.id} seed {args.seed} ...")
        written = draw_html(fam.id, args.seed, pinned, out, reporter=REPORTER)
        for path in written:
            print(path)
        return 0
    header = Header(title=fam.title, subtitle=f"{fam.id}, seed {args.seed}")
    docs = problem_and_solution([variant_question(variant)], header)
    if args.format == "tex":
        written = write_tex(docs, out)
    else:
        _info(f"compiling problem.pdf and solution.pdf for {fam.id} seed {args.seed} ...")
        options = _build(args)
        written = build_pdfs(docs, out, cache=options.cache, reporter=REPORTER)
    for path in written:
        print(path)
    return 0


def cmd_exam(args: argparse.Namespace) -> int:
    if args.roster and args.versions:
        raise QbankError("give either --versions or --roster, not both")
    written = build_exam(
        Path(args.blueprint),
        Path(args.out),
        versions=args.versions or 1,
        roster=Path(args.roster) if args.roster else None,
        secret_flag=args.secret,
        secret_file=Path(args.secret_file) if args.secret_file else None,
        build=_build(args),
    )
    _wrote(written, args.out)
    return 0


def _wrote(written: list[Path], out: str) -> None:
    _info(f"wrote {len(written)} files into {out}/")
    _info(f"  hand out: {out}/students/*/exam.pdf")
    _info(f"  keep private: {out}/instructor/ (solutions, key.json, key.csv, manifest.json)")


def cmd_rebuild(args: argparse.Namespace) -> int:
    written = rebuild_exam(Path(args.manifest), Path(args.out), _build(args))
    _wrote(written, args.out)
    return 0


def cmd_practice(args: argparse.Namespace) -> int:
    written = practice_set(
        Path(args.out) if args.out else None,
        topics=args.topic or (),
        tags=args.tags or (),
        count=args.n,
        seed=args.seed,
        build=_build(args),
    )
    for path in written:
        print(path)
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from .html.site import build_site  # late: pandoc and the web writer load only when asked

    written = build_site(
        Path(args.out),
        topics=args.topic or (),
        tags=args.tags or (),
        variants=args.variants,
        seed=args.seed,
        jobs=args.jobs or os.cpu_count() or 1,
        reporter=REPORTER,
    )
    _info(f"wrote {len(written)} files into {args.out}/: open {args.out}/index.html in a browser (works offline)")
    return 0


def cmd_bank(args: argparse.Namespace) -> int:
    bank = load_bank()
    items = bank.select(topics=args.topic or ())
    for item in sorted(items, key=lambda i: (i.topic, i.id)):
        kind = f"family {item.family}" if item.parameterized else item.kind
        print(f"{item.id:<34} {item.topic:<15} {kind:<34} {item.points:>4g} pts  {item.title}")
    warnings, notes = bank_conflicts(list(bank.items.values()))
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    if args.conflicts:
        for line in notes:
            print(f"note: {line}", file=sys.stderr)
    elif notes:
        print(f"note: {len(notes)} pairs of items ask the same thing and never share an exam version "
              "(--conflicts lists them)", file=sys.stderr)
    print(f"{len(items)} items, all valid", file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    families = [get_family(family) for family in args.family] if args.family else all_families()
    seeds = range(args.start, args.start + args.seeds)
    failures = check_families(families, seeds, report=print)
    if failures:
        for failure in failures[:20]:
            print(f"FAIL {failure}", file=sys.stderr)
        more = " (first 20 shown)" if len(failures) > 20 else ""
        print(f"qbank: check failed: {len(failures)} failing draws{more}", file=sys.stderr)
        return 1
    print(f"all {len(families)} families passed {args.seeds} seeds each")
    return 0


def seed_arg(text: str) -> int:
    if len(text.strip()) > 30:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED} (2^63 - 1), got {len(text.strip())} digits")
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text[:20]!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED} (2^63 - 1), got {value}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text) if len(text.strip()) <= 30 else -1
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text[:20]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text[:20]!r}")
    return value


def versions_arg(text: str) -> int:
    value = positive_int(text)
    if value > MAX_VERSIONS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_VERSIONS} versions, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qbank",
        description="Random, verified deep-learning problems, typeset as problem and solution PDFs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qbank {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list every problem family (id, topic, title)")
    p.set_defaults(run=cmd_list)

    p = sub.add_parser(
        "draw",
        help="draw one verified variant of a family",
        description="Draw one variant of FAMILY: random parameters (reproducible by --seed), solved, "
        "verified by an independent method, and written as PDF, LaTeX or JSON.",
        epilog="examples:\n  qbank draw beam-search --seed 3\n"
        "  qbank draw conv1d-forward --params '{\"stride\": 2}' --format tex\n"
        "  qbank draw scalar-rnn-backprop --params pinned.yaml --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("family", metavar="FAMILY", help="family id (see `qbank list`)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed (default 0); same seed, same problem")
    p.add_argument(
        "--params",
        metavar="P",
        help="pin parameters: inline JSON ('{\"stride\": 2}') or a YAML/JSON file; the others stay random",
    )
    p.add_argument(
        "--format",
        choices=("pdf", "tex", "json", "html"),
        default="pdf",
        help="pdf: problem.pdf + solution.pdf (default); tex: their LaTeX sources; json: the variant on stdout; "
        "html: index.html with answer inputs, Check and Show solution (works offline)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default build/draw/FAMILY-SEED/)")
    p.add_argument("--no-cache", action="store_true", help="compile every PDF even if an identical one is cached")
    p.set_defaults(run=cmd_draw)

    p = sub.add_parser(
        "exam",
        help="build versions of an exam from a blueprint, with answer keys",
        description=textwrap.fill("Build the exam in BLUEPRINT (YAML): for each version (or each student of a roster) "
        "OUT/students/vNN/exam.pdf (hand these out) and OUT/instructor/vNN/solutions.pdf, and for the whole "
        "exam OUT/instructor/key.json, key.csv and manifest.json (keep instructor/ private). Every version "
        "of a slot has the same structure (printed), letters and points are balanced, and no two questions "
        "give each other away. Seeds derive from a secret key (at least 128 bits), so the version code "
        f"printed on an exam cannot be turned into its answers: the key file .qbank-secret of the course "
        f"folder (created on first use), ${SECRET_ENV}, or --secret-file.", 100),
        epilog="examples:\n  qbank exam bank/exams/midterm.yaml --versions 40 --out build/midterm\n"
        "  qbank exam bank/exams/quiz-backprop.yaml --roster students.csv --out build/quiz\n"
        "  qbank rebuild build/quiz/instructor/manifest.json --out build/quiz-again",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("blueprint", metavar="BLUEPRINT", help="exam blueprint, e.g. bank/exams/midterm.yaml")
    p.add_argument("--versions", type=versions_arg, help=f"number of versions (default 1, at most {MAX_VERSIONS})")
    p.add_argument("--roster", metavar="CSV", help="one version per student: a CSV with columns id[,name]")
    p.add_argument("--out", metavar="DIR", default="build/exam", help="output folder (default build/exam)")
    p.add_argument(
        "--secret-file",
        metavar="FILE",
        help="key file holding the secret (default: .qbank-secret in the blueprint's course folder, the nearest "
        f"folder up with qbank.yaml or .git; created on first use, mode 0600)",
    )
    p.add_argument(
        "--secret",
        metavar="TEXT",
        help=f"the secret itself, for tests and scripts (visible in `ps` and shell history: prefer ${SECRET_ENV})",
    )
    p.add_argument("--jobs", type=positive_int, help="parallel LaTeX compiles (default: all cores)")
    p.add_argument("--no-cache", action="store_true", help="compile every PDF even if an identical one is cached")
    p.set_defaults(run=cmd_exam)

    p = sub.add_parser(
        "rebuild",
        help="rebuild an exam's PDFs and keys from its manifest.json",
        description="Rebuild every PDF and key of an exam from MANIFEST alone: the recorded params and "
        "answers are verified again and rendered; the PDFs are byte-identical to the first build.",
    )
    p.add_argument("manifest", metavar="MANIFEST", help="manifest.json written by `qbank exam`")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder")
    p.add_argument("--jobs", type=positive_int, help="parallel LaTeX compiles (default: all cores)")
    p.add_argument("--no-cache", action="store_true", help="compile every PDF even if an identical one is cached")
    p.set_defaults(run=cmd_rebuild)

    p = sub.add_parser(
        "practice",
        help="a practice set on chosen topics: problems.pdf, then solutions.pdf",
        description="Draw N bank items matching the topics and tags into problems.pdf and solutions.pdf. "
        "Random by default; the seed is printed, and --seed makes the set reproducible.",
        epilog="examples:\n  qbank practice --topic cnn -n 3\n  qbank practice --topic rnn --tags conceptual --seed 12",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--topic", action="append", metavar="T", help="a topic (repeatable; default: all topics)")
    p.add_argument("--tags", nargs="+", metavar="TAG", help="only items carrying all these tags")
    p.add_argument("-n", type=positive_int, default=5, help="number of problems (default 5)")
    p.add_argument("--seed", type=seed_arg, help="reproduce a set (default: a new random set)")
    p.add_argument("--out", metavar="DIR", help="output folder (default build/practice/SEED/)")
    p.add_argument("--no-cache", action="store_true", help="compile every PDF even if an identical one is cached")
    p.set_defaults(run=cmd_practice)

    p = sub.add_parser(
        "site",
        help="a static practice site: every family and conceptual item, checked in the browser",
        description="Build a static practice site in OUT: index.html by topic, a page per family (N verified "
        "variants, one at a time) and per conceptual bank item, with inputs, Check (within each answer's "
        "tolerance) and Show solution; progress is kept in the browser. No server and no network: open "
        "OUT/index.html, or copy OUT to any static host (GitHub Pages). OUT/site.json lists every variant.",
        epilog="examples:\n  qbank site --out build/site\n  qbank site --topic rnn --variants 10 --seed 7 --out build/rnn-site",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--topic", action="append", metavar="T", help="a topic (repeatable; default: all topics)")
    p.add_argument("--tags", nargs="+", metavar="TAG", help="only bank items carrying all these tags (and their families)")
    p.add_argument("--variants", type=positive_int, default=5, help="variants per family (default 5, at most 200)")
    p.add_argument("--seed", type=seed_arg, help="reproduce a site (default: a new random one; the seed is printed)")
    p.add_argument("--out", metavar="DIR", default="build/site", help="output folder (default build/site)")
    p.add_argument("--jobs", type=positive_int, help="parallel conversions (default: all cores)")
    p.set_defaults(run=cmd_site)

    p = sub.add_parser(
        "bank",
        help="list (and validate) the bank items",
        description="List every bank item (id, topic, kind, points, title) after validating the whole bank, "
        "and warn about items whose text or choices give away what another item asks (the exam builder "
        "never puts such a pair into one version).",
    )
    p.add_argument("--topic", action="append", metavar="T", help="only this topic (repeatable)")
    p.add_argument("--conflicts", action="store_true", help="also list the pairs of items that ask the same thing")
    p.set_defaults(run=cmd_bank)

    p = sub.add_parser(
        "check",
        help="stress-test families: draw, verify and render many seeds",
        description="For each family (or just the FAMILY ids given), draw SEEDS variants, solve them, verify every "
        "answer by an independent method and render the LaTeX (no compile). Exits 1 naming the family "
        "and seed of any failure.",
    )
    p.add_argument("family", metavar="FAMILY", nargs="*", help="only these families (default: all)")
    p.add_argument("--seeds", type=positive_int, default=100, help="seeds per family (default 100)")
    p.add_argument("--start", type=seed_arg, default=0, help="first seed (default 0)")
    p.set_defaults(run=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except QbankError as exc:
        print(f"qbank: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("qbank: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `qbank draw ... --format json | head`: the reader left; not an error of ours
        sys.stdout = None  # type: ignore[assignment]  # nothing more to flush at exit
        return 0
    except Exception as exc:  # a bug in qbank or a family: still one line, the traceback on request
        if os.environ.get("QBANK_DEBUG"):
            raise
        print(
            f"qbank: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; run again with QBANK_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
