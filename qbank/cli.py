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
from .errors import QbankError
from .progress import Reporter
from .workspace import default_out

EPILOG = """\
examples:
  qbank list                                   every family: id, topic, title
  qbank draw conv1d-forward --seed 7           problem.pdf + solution.pdf in build/draw/conv1d-forward-7/
  qbank draw conv1d-recover-filter --format json --params '{"signal": [1, 4, 0, -2, 3], "filter": [2, -1, 3]}'
  qbank exam bank/exams/demo.yaml --versions 3 exam + solutions per version, keys, in build/demo/
  qbank site --variants 20                     an offline practice site in build/site/
  qbank init my-course                         a course workspace of your own (qbank.yaml, bank/, generators/)
  qbank practice --topic rnn -n 4              a practice set: problems.pdf, solutions.pdf
  qbank check --seeds 200                      draw, verify and render every family over 200 seeds
"""


REPORTER = Reporter(sys.stderr)


def _info(message: str) -> None:
    REPORTER.info(message)


def _jobs(args: argparse.Namespace) -> int | None:
    """--jobs, else the workspace's default (qbank.yaml), else None (all cores)."""
    from .workspace import default_jobs

    return getattr(args, "jobs", None) or default_jobs()


def _build(args: argparse.Namespace) -> BuildOptions:
    from .exam import BuildOptions  # each command imports what it needs: --help and list start at once

    return BuildOptions(jobs=_jobs(args), cache=not args.no_cache, reporter=REPORTER)


def cmd_list(args: argparse.Namespace) -> int:
    from .registry import all_families

    families = all_families()
    if args.markdown:
        from .catalog import families_markdown

        print(families_markdown(families), end="")
        return 0
    width = max(len(f.id) for f in families)
    topic_width = max(len(f.topic) for f in families)
    for fam in families:
        print(f"{fam.id:<{width}}  {fam.topic:<{topic_width}}  {fam.title}")
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    from .documents import Header, problem_and_solution, variant_question
    from .engine import draw
    from .latex import build_pdfs, write_tex
    from .params import load_params
    from .registry import get_family

    fam = get_family(args.family)
    pinned = load_params(args.params) if args.params else {}
    variant = draw(fam, args.seed, pinned)
    if args.format == "json":
        print(variant.to_json())
        return 0
    suffix = {"pdf": "", "tex": "-tex", "html": "-html"}[args.format]
    out = Path(args.out) if args.out else default_out("draw", f"{fam.id}-{args.seed}{suffix}")
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
    from .exam import build_exam

    if args.roster and args.versions:
        raise QbankError("give either --versions or --roster, not both")
    from .paths import find_blueprint

    blueprint = find_blueprint(args.blueprint)
    out = Path(args.out) if args.out else default_out(blueprint.stem)
    written = build_exam(
        blueprint,
        out,
        versions=args.versions or 1,
        roster=Path(args.roster) if args.roster else None,
        makeup_for=[Path(folder) for folder in args.makeup_for or ()],
        secret_flag=args.secret,
        secret_file=Path(args.secret_file) if args.secret_file else None,
        build=_build(args),
    )
    _wrote(written, str(out))
    return 0


def _wrote(written: list[Path], out: str) -> None:
    _info(f"wrote {len(written)} files into {out}/")
    _info(f"  hand out: {out}/students/*/exam.pdf")
    _info(f"  keep private: {out}/instructor/ (solutions, key.json, key.csv, pages.csv, manifest.json)")


def cmd_rebuild(args: argparse.Namespace) -> int:
    from .exam import rebuild_exam

    written = rebuild_exam(Path(args.manifest), Path(args.out), _build(args))
    _wrote(written, args.out)
    return 0


def cmd_practice(args: argparse.Namespace) -> int:
    from .practice import practice_set

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

    out = Path(args.out) if args.out else default_out("site")
    written = build_site(
        out,
        topics=args.topic or (),
        tags=args.tags or (),
        variants=args.variants,
        seed=args.seed,
        jobs=_jobs(args) or os.cpu_count() or 1,
        reporter=REPORTER,
    )
    _info(f"wrote {len(written)} files into {out}/: open {out}/index.html in a browser (works offline)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .lms.export import export_quiz  # late: the LMS writers load only when asked
    from .paths import find_blueprint

    blueprint = find_blueprint(args.blueprint)
    written = export_quiz(
        args.target,
        blueprint,
        Path(args.out) if args.out else None,
        variants=args.variants,
        secret_flag=args.secret,
        secret_file=Path(args.secret_file) if args.secret_file else None,
        jobs=_jobs(args),
        same_variants_as_exam=args.same_variants_as_exam,
        reporter=REPORTER,
    )
    quiz = next(path for path in written if path.suffix in (".xml", ".zip"))
    _info(f"wrote {quiz} with manifest.json and key.json beside it (keep all three private: they hold the answers)")
    if args.target == "moodle":
        _info("  Moodle: Question bank > Import > Moodle XML; then add a random question from each category to the quiz")
    else:
        _info("  Canvas: Settings > Import course content > QTI .zip file; each question group picks one variant")
    return 0


def cmd_key_new(args: argparse.Namespace) -> int:
    from .keys import new_key_file

    new_key_file(Path(args.file), _info)
    return 0


def cmd_bank(args: argparse.Namespace) -> int:
    from .bank import choice_tells, load_bank, longest_correct_note
    from .fairness import bank_conflicts
    from .paths import origins
    from .workspace import current

    bank = load_bank()
    items = bank.select(topics=args.topic or ())
    workspace = current()
    if args.only_course and workspace is None:
        raise QbankError("--only-course: not inside a course workspace (no qbank.yaml here or above; `qbank init DIR` makes one)")
    hidden = 0
    if workspace is not None:  # a course's own items by default; --include-builtin adds qbank's
        origin = origins()
        where = {item.id: origin(Path(item.source.rsplit(": line ", 1)[0])) for item in items}
        if not args.include_builtin:  # (--only-course and --include-builtin exclude each other)
            hidden = sum(where[i.id] == "built-in" for i in items)
            items = [i for i in items if where[i.id] != "built-in"]
    for item in sorted(items, key=lambda i: (i.topic, i.id)):
        kind = f"family {item.family}" if item.parameterized else item.kind
        mark = "" if workspace is None else f"{where[item.id]:<10} "
        print(f"{mark}{item.id:<34} {item.topic:<15} {kind:<34} {item.points:>4g} pts  {item.title}")
    focus = {i.id for i in items} if workspace is not None and hidden else None  # the course's pairs only
    warnings, notes = bank_conflicts(list(bank.items.values()), focus)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    listed = sorted(items, key=lambda i: (i.topic, i.id))  # multiple-choice tells: of the items listed
    for line in [tell for item in listed for tell in choice_tells(item)]:
        print(f"warning: {line}", file=sys.stderr)
    longest = longest_correct_note(listed)
    if longest:
        print(f"note: {longest}", file=sys.stderr)
    if args.conflicts:
        for line in notes:
            print(f"note: {line}", file=sys.stderr)
    elif notes:
        print(f"note: {len(notes)} pairs of items ask the same thing and never share an exam version "
              "(--conflicts lists them)", file=sys.stderr)
    more = f" ({hidden} built-in items not shown: --include-builtin lists them)" if hidden else ""
    print(f"{len(items)} items, all valid{more}", file=sys.stderr)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from .scaffolding import init_workspace

    dest = Path(args.dir)
    written, kept = init_workspace(dest, course=args.course, force=args.force)
    for path in written:
        print(path)
    for path in kept:
        _info(f"kept {path} (it exists already)")
    _info(f"a course workspace in {dest}/: read {dest}/README.md, then try")
    _info(f"  cd {dest} && qbank exam bank/exams/example.yaml --versions 3")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_families
    from .registry import all_families, get_family

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
    from .engine import MAX_SEED

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
    from .exam import MAX_VERSIONS

    value = positive_int(text)
    if value > MAX_VERSIONS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_VERSIONS} versions, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from .exam import MAX_VERSIONS
    from .keys import SECRET_ENV

    parser = argparse.ArgumentParser(
        prog="qbank",
        description=textwrap.fill("Random, verified deep-learning problems: exams and solutions as PDFs, an "
        "offline practice site, and Moodle or Canvas quizzes. Inside a course workspace (qbank init) every "
        "command also uses the course's own bank, families and templates.", 100),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qbank {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("list", help="list every problem family (id, topic, title)")
    p.add_argument("--markdown", action="store_true",
                   help="a Markdown table from the cards: what each family draws and asks, with precisions (README's)")
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
    p.add_argument("--out", metavar="DIR", help="output folder (default build/draw/FAMILY-SEED/, in the workspace's output folder inside a workspace)")
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
        f"folder (made for a course that never had a key), ${SECRET_ENV}, or --secret-file. A roster "
        "student's numbers derive from the student's id; --makeup-for makes a make-up exam that repeats "
        "no numbers and no version code of the exam it makes up for.", 100),
        epilog="examples:\n  qbank exam bank/exams/midterm.yaml --versions 40 --out build/midterm\n"
        "  qbank exam bank/exams/quiz-backprop.yaml --roster students.csv --out build/quiz\n"
        "  qbank exam midterm --roster late.csv --makeup-for build/midterm --out build/midterm-makeup\n"
        "  qbank rebuild build/quiz/instructor/manifest.json --out build/quiz-again",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("blueprint", metavar="BLUEPRINT", help="exam blueprint, e.g. bank/exams/midterm.yaml, or a name: midterm (bank/exams/midterm.yaml of the workspace or the built-in bank)")
    p.add_argument("--versions", type=versions_arg, help=f"number of versions (default 1, at most {MAX_VERSIONS})")
    p.add_argument("--roster", metavar="CSV", help="one version per student: a CSV with columns id[,name]; "
                   "each student's numbers derive from the id, never the row")
    p.add_argument("--makeup-for", metavar="EXAM_DIR", action="append",
                   help="a make-up of the exam built into EXAM_DIR (repeatable: name every exam already given): new "
                   "version codes, and no parameterized question with the numbers of any version there")
    p.add_argument("--out", metavar="DIR", help="output folder (default build/BLUEPRINT-NAME, in the workspace's output folder inside a workspace)")
    p.add_argument(
        "--secret-file",
        metavar="FILE",
        help="key file holding the secret, which must exist (`qbank key new FILE` makes one; default: "
        ".qbank-secret in the blueprint's course folder, the nearest folder up with qbank.yaml or .git, "
        "made with mode 0600 for a course that never had a key)",
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
    p.add_argument("--out", metavar="DIR", help="output folder (default build/site, in the workspace's output folder inside a workspace)")
    p.add_argument("--jobs", type=positive_int, help="parallel conversions (default: all cores)")
    p.set_defaults(run=cmd_site)

    p = sub.add_parser(
        "export",
        help="a quiz for Moodle (XML) or Canvas (QTI zip): N verified variants of every slot of a blueprint",
        description=textwrap.fill("Export the blueprint's slots as an LMS quiz with N verified variants each, graded "
        "by the LMS within each answer's tolerance: for Moodle one question category per slot (add a random question "
        "from each to the quiz), for Canvas one question group per slot (or per asked value) that picks one variant. "
        "manifest.json and key.json are written beside the quiz file, as for an exam; seeds come from the secret, as "
        "for `qbank exam`, so the same secret gives the same files, but from the quiz's own seed domain: no quiz "
        "reproduces a paper exam's variants.", 100),
        epilog="examples:\n  qbank export moodle quiz-backprop --variants 20 --out build/week3/quiz.xml\n"
        "  qbank export canvas midterm --variants 10 --out build/midterm-canvas/midterm.zip",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", choices=("moodle", "canvas"), help="moodle: Moodle XML; canvas: a Canvas QTI 1.2 package")
    p.add_argument("blueprint", metavar="BLUEPRINT", help="exam blueprint, a path or a name (as for `qbank exam`)")
    p.add_argument("--variants", type=versions_arg, default=10, help="variants per slot (default 10)")
    p.add_argument("--out", metavar="FILE", help="the quiz file (FOLDER/NAME.xml or .zip) or a folder; the folder is "
                   "published as a whole (default build/BLUEPRINT-TARGET/)")
    p.add_argument("--secret-file", metavar="FILE", help="key file holding the secret (as for `qbank exam`)")
    p.add_argument("--secret", metavar="TEXT", help=f"the secret itself, for tests and scripts (prefer ${SECRET_ENV})")
    p.add_argument("--same-variants-as-exam", action="store_true",
                   help="draw the paper exam's variants (version v of `qbank exam` with this key) instead of the "
                   "quiz's own: anyone taking the quiz then knows those exams' numbers (warned)")
    p.add_argument("--jobs", type=positive_int, help="parallel conversions (default: all cores)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser(
        "key",
        help="make a new secret key file (qbank never makes one in place of a lost key)",
        description=textwrap.fill("Secret key files. `qbank key new FILE` writes a new key (256 random bits) into "
        "FILE, mode 0600, and never replaces a file that exists. When FILE is a course's key file (qbank.yaml's "
        "secret_file, or a .qbank-secret outside any workspace), the key's fingerprint is recorded in the course's "
        ".qbank-fingerprint (commit it): a build whose key file is then missing is an error, never a new key. "
        "This is the way to start over after a key is lost, or to make a key for --secret-file.", 100),
        epilog="examples:\n  qbank key new .qbank-secret\n  qbank key new ~/keys/midterm.key",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    q = keys.add_parser("new", help="write a new key file (never replacing one)",
                        description="Write a new secret key into FILE (mode 0600; FILE must not exist) and record its "
                        "fingerprint when FILE is a course's key file.")
    q.add_argument("file", metavar="FILE", help="the new key file, e.g. .qbank-secret")
    q.set_defaults(run=cmd_key_new)

    p = sub.add_parser(
        "bank",
        help="list (and validate) the bank items",
        description="List every bank item (id, topic, kind, points, title) after validating the whole bank, "
        "and warn about items whose text or choices give away what another item asks (the exam builder "
        "never puts such a pair into one version), and about multiple-choice items whose correct choice "
        "stands out (much the longest, the only formula or hedge) or with a choice such as 'none of the above'.",
    )
    p.add_argument("--topic", action="append", metavar="T", help="only this topic (repeatable)")
    p.add_argument("--conflicts", action="store_true", help="also list the pairs of items that ask the same thing")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--include-builtin", action="store_true", help="in a workspace: list qbank's built-in items too")
    which.add_argument("--only-course", action="store_true", help="in a workspace: only the course's own items (the default there)")
    p.set_defaults(run=cmd_bank)

    p = sub.add_parser(
        "init",
        help="start a course workspace: qbank.yaml, bank/, generators/, templates/",
        description=textwrap.fill("Write a course workspace into DIR (a new or empty folder): qbank.yaml (the "
        "course's name and defaults), bank/items/ with an example item of each kind, bank/exams/ with an "
        "example blueprint mixing built-in families and the course's items, generators/ with one small "
        "example family and its template in templates/, .gitignore and a README saying what to edit. "
        "Inside the workspace (or any folder below it) every qbank command uses its bank, families and "
        "templates together with the built-in ones.", 100),
        epilog="examples:\n  qbank init dl-2027 --course 'Deep Learning 2027'\n  cd dl-2027 && qbank exam example --versions 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="the workspace folder (created; must be empty unless --force)")
    p.add_argument("--course", metavar="NAME", help="the course's name (default: the folder's name)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder, adding only the files it lacks")
    p.set_defaults(run=cmd_init)

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
    from .interrupts import Terminated, installed

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with installed():  # Ctrl-C and SIGTERM: one exception, so that the same clean-up runs for both
            return args.run(args)
    except QbankError as exc:
        REPORTER.end_line()
        print(f"qbank: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        REPORTER.end_line()
        print("qbank: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        REPORTER.end_line()
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
