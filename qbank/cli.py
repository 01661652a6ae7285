"""The command line: each command parses, loads, calls one engine function, and reports.

Domain errors (QbankError) print as one line `qbank: error: ...` and a non-zero exit; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .check import check_families
from .documents import Header, Item, problem_and_solution
from .engine import draw
from .errors import QbankError
from .exam import build_exam
from .latex import build_pdfs, write_tex
from .params import load_params
from .registry import all_families, get_family

EPILOG = """\
examples:
  qbank list                                   every family: id, topic, title
  qbank draw conv1d-forward --seed 7           problem.pdf + solution.pdf in build/draw/conv1d-forward-7/
  qbank draw conv1d-recover-filter --format json --params '{"signal": [1, 4, 0, -2, 3], "filter": [2, -1, 3]}'
  qbank exam bank/exams/demo.yaml --versions 3 one exam.pdf + solutions.pdf per version in build/exam/
  qbank check --seeds 200                      draw, verify and render every family over 200 seeds
"""


def _info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    out = Path(args.out) if args.out else Path("build") / "draw" / f"{fam.id}-{args.seed}"
    header = Header(title=fam.title, subtitle=f"{fam.id}, seed {args.seed}")
    docs = problem_and_solution([Item(variant)], header)
    if args.format == "tex":
        written = write_tex(docs, out)
    else:
        _info(f"compiling problem.pdf and solution.pdf for {fam.id} seed {args.seed} ...")
        written = build_pdfs(docs, out)
    for path in written:
        print(path)
    return 0


def cmd_exam(args: argparse.Namespace) -> int:
    written = build_exam(Path(args.blueprint), args.versions, Path(args.out), progress=_info)
    _info(f"wrote {len(written)} files into {args.out}/")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    families = [get_family(args.family)] if args.family else all_families()
    seeds = range(args.start, args.start + args.seeds)
    failures = check_families(families, seeds, report=print)
    if failures:
        for failure in failures[:20]:
            print(f"FAIL {failure}", file=sys.stderr)
        more = f" (first 20 shown)" if len(failures) > 20 else ""
        print(f"qbank: check failed: {len(failures)} failing draws{more}", file=sys.stderr)
        return 1
    print(f"all {len(families)} families passed {args.seeds} seeds each")
    return 0


def seed_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def positive_int(text: str) -> int:
    value = seed_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a positive integer")
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
        choices=("pdf", "tex", "json"),
        default="pdf",
        help="pdf: problem.pdf + solution.pdf (default); tex: their LaTeX sources; json: the variant on stdout",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default build/draw/FAMILY-SEED/)")
    p.set_defaults(run=cmd_draw)

    p = sub.add_parser(
        "exam",
        help="build N versions of an exam from a blueprint",
        description="Build VERSIONS versions of the exam in BLUEPRINT (YAML): for each, exam.pdf and "
        "solutions.pdf in OUT/vNN/, plus OUT/manifest.json with every variant's params and answers.",
    )
    p.add_argument("blueprint", metavar="BLUEPRINT", help="exam blueprint, e.g. bank/exams/demo.yaml")
    p.add_argument("--versions", type=positive_int, default=1, help="number of versions (default 1)")
    p.add_argument("--out", metavar="DIR", default="build/exam", help="output folder (default build/exam)")
    p.set_defaults(run=cmd_exam)

    p = sub.add_parser(
        "check",
        help="stress-test families: draw, verify and render many seeds",
        description="For each family (or just FAMILY), draw SEEDS variants, solve them, verify every "
        "answer by an independent method and render the LaTeX (no compile). Exits 1 naming the family "
        "and seed of any failure.",
    )
    p.add_argument("family", metavar="FAMILY", nargs="?", help="only this family (default: all)")
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
