"""Exams: blueprint -> versions -> manifest -> documents -> PDFs, with answer keys.

Building goes through one record, the manifest: `plan_exam` draws every version into it (items chosen
from pools, order shuffled, variants drawn from secret-keyed seeds, choices permuted), and
`exam_documents` renders only from it. So `qbank rebuild manifest.json` gives the same .tex, hence
byte-identical PDFs, even after the bank or the samplers change.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .engine import describe_structure, verify
from .errors import InputError
from .keys import resolve_secret
from .memo import NO_MEMO, Memo, two_texts
from .model import Variant
from .progress import QUIET, Reporter
from .registry import get_family
from .textfile import read_text

if TYPE_CHECKING:
    from .latex import Document

# The CLI imports this module for its limits (--help, list): the planning, rendering and publishing
# modules load in the functions that use them, and these names of theirs on first use from here.
_REEXPORTED = {"plan_exam": "plan", "answer_keys": "answerkey"}


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        import importlib

        return getattr(importlib.import_module(f".{_REEXPORTED[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --- rendering: documents from the manifest alone ----------------------------------------------------


def question_fragments(entry: Mapping[str, Any], reverify: bool = True, memo: Memo = NO_MEMO) -> tuple[str, str]:
    """Problem and solution LaTeX of one recorded question. With `reverify`, a parameterized question's
    recorded answers are verified again, so a rebuild never prints an answer the current checker
    rejects; answers drawn moments ago in this process were verified by draw() already. A `memo`
    keeps the fragments of an entry for the next build: stored only once verified (here, or by
    draw() when `reverify` is off) by the same code, a kept entry needs no verifying again."""
    fam = get_family(entry["family"]) if entry["item"].get("family") is not None else None
    families = (fam,) if fam else ()
    kept = memo.get("fragments", entry, families, two_texts)
    if kept is not None:
        return kept[0], kept[1]
    fragments = _render_question(entry, reverify)
    memo.put("fragments", entry, list(fragments), families)
    return fragments


def _render_question(entry: Mapping[str, Any], reverify: bool) -> tuple[str, str]:
    from .bank import item_from_dict
    from .fairness import LETTERS
    from .render import mark_parts, render_block, render_fragments

    item = item_from_dict(entry["item"])
    part_points = [p["points"] for p in entry["parts"]] if "parts" in entry else None
    if item.parameterized:
        fam = get_family(entry["family"])
        if reverify:
            verify(fam, entry["seed"], entry["params"], entry["answers"])
        return render_fragments(Variant(fam.id, entry["seed"], entry["params"], entry["answers"]), part_points)
    context: dict[str, Any] = {"item": entry["item"]}
    if item.kind == "multiple-choice":
        choices = [
            {"letter": LETTERS[pos], "text": item.choices[i].text, "correct": item.choices[i].correct, "index": i}
            for pos, i in enumerate(entry["choice_order"])
        ]
        context.update(choices=choices, correct=next(c for c in choices if c["correct"]))
    template = f"conceptual/{item.kind}.tex.j2"
    label = f"item {item.id}"
    problem = render_block(template, "problem", context, label)
    if item.parts:
        problem = mark_parts(problem, len(item.parts), part_points, f"item {item.id}")
    return problem, render_block(template, "solution", context, label)


def exam_documents(manifest: Mapping[str, Any], reverify: bool = True, memo: Memo = NO_MEMO) -> list[Document]:
    """The exam and the solutions of every version. A `memo` keeps them per version, as it keeps the
    fragments of a question (see question_fragments)."""
    from .latex import Document

    docs: list[Document] = []
    for record in manifest["versions"]:
        request = {"record": record, **{key: manifest[key] for key in ("header", "cover", "layout", "answer_box")}}
        families = [get_family(e["family"]) for e in record["questions"] if e["item"].get("family") is not None]
        folder = record["folder"]
        names = (f"students/{folder}/exam", f"instructor/{folder}/solutions")
        kept = memo.get("version", request, families, two_texts)
        if kept is not None:
            docs += [Document(name, tex) for name, tex in zip(names, kept)]
            continue
        pair = _version_documents(manifest, record, names, reverify, memo)
        memo.put("version", request, [doc.tex for doc in pair], families)
        docs += pair
    return docs


def _version_documents(
    manifest: Mapping[str, Any], record: Mapping[str, Any], names: tuple[str, str], reverify: bool, memo: Memo
) -> list[Document]:
    """One version's exam and solutions, rendered."""
    from .documents import Header, Question, problem_and_solution

    questions = []
    for entry in record["questions"]:
        problem, solution = question_fragments(entry, reverify, memo)
        item = entry["item"]
        questions.append(
            Question(
                problem,
                solution,
                points=entry["points"],
                pages=entry["pages"],
                answer_space=item.get("answer_space", "") if not item.get("family") else "",
                heading=entry["heading"],
            )
        )
    header = manifest["header"]
    student = record["student"] or {}
    head = Header(
        title=header["title"],
        course=header["course"],
        date=header["date"],
        duration=header["duration"],
        instructions=header["instructions"],
        header_right=record["code"],
        student_name=student.get("name", ""),
        student_id=student.get("id", ""),
        cover=manifest["cover"],
        name_field=not manifest["cover"],
        layout=manifest["layout"],
        answer_box=manifest["answer_box"],
    )
    return problem_and_solution(questions, head, names=names)


# --- entry points -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildOptions:
    """How to compile: parallel jobs (None: all cores), the PDF cache, and where progress goes."""

    jobs: int | None = None
    cache: bool = True
    reporter: Reporter = QUIET


# Names a student id may not take: the output's own files and folders, and names some file systems
# reserve. Ids are compared without case, since some file systems cannot tell A1 from a1.
RESERVED_IDS = {"students", "instructor", "key.json", "key.csv", "manifest.json", "readme.txt", "con", "prn",
                "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_ID = 64
MAX_VERSIONS = 2000


def load_roster(path: Path) -> list[dict[str, str]]:
    """A CSV with a header row holding `id` (and optionally `name`): one version per student. UTF-8,
    with or without the byte-order mark Excel writes."""
    from .texcheck import MAX_NAME, check_plain

    path = Path(path)
    text = read_text(path, "roster", max_bytes=5_000_000)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = reader.fieldnames
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: not a CSV file: {exc}") from None
    if not fields or "id" not in [f.strip() for f in fields]:
        raise InputError(f"{path}: line 1: expected a header row with an `id` column (and optionally `name`)")
    reader.fieldnames = [f.strip() for f in fields]
    students, seen = [], {}
    try:
        for row in reader:
            line = reader.line_num
            sid = (row.get("id") or "").strip()
            if not _STUDENT_ID.match(sid):
                raise InputError(f"{path}: line {line}: id: expected letters, digits, '.', '_' or '-' (starting with a letter or digit), got {sid!r}")
            if len(sid) > MAX_ID:
                raise InputError(f"{path}: line {line}: id: {len(sid)} characters, more than {MAX_ID}")
            if sid.lower() in RESERVED_IDS or sid.lower().split(".")[0] in RESERVED_IDS:
                raise InputError(f"{path}: line {line}: id: {sid!r} is a name qbank or the file system reserves; rename it")
            if sid.lower() in seen:
                first_id, first_line = seen[sid.lower()]
                same = "duplicate student id" if first_id == sid else f"differs from {first_id!r} (line {first_line}) only by case, which some file systems cannot tell apart:"
                raise InputError(f"{path}: line {line}: id: {same} {sid!r}")
            seen[sid.lower()] = (sid, line)
            name = (row.get("name") or "").strip()
            check_plain(name, f"{path}: line {line}: name", MAX_NAME)
            students.append({"id": sid, "name": name})
            if len(students) > MAX_VERSIONS:
                raise InputError(f"{path}: more than {MAX_VERSIONS} students; split the roster")
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: not a valid CSV row: {exc}") from None
    if not students:
        raise InputError(f"{path}: the roster has no students")
    return students


HANDOUT_NOTE = """\
This folder was written by qbank.

students/    one folder per version (or per student): exam.pdf is what you hand out or upload.
instructor/  solutions, answer keys (key.json, key.csv), the pages of every question in every
             version (pages.csv) and the manifest: keep them private.
             They are written readable by you alone.
"""


def check_texts(manifest: Mapping[str, Any]) -> None:
    """Every text that reaches LaTeX from the blueprint, the bank and the roster, checked before any
    compile, so that an error names its field rather than a line of a generated file."""
    from .texcheck import check_header, check_item

    source = manifest["blueprint"]["path"]
    check_header(manifest["header"], source)
    seen = set()
    for record in manifest["versions"]:
        for entry in record["questions"]:
            item = entry["item"]
            if item["id"] not in seen:
                seen.add(item["id"])
                check_item(item, item.get("source", source))


def _publish(manifest: dict[str, Any], out: Path, build: BuildOptions, reverify: bool, memo: Memo) -> list[Path]:
    from .answerkey import answer_keys
    from .latex import build_pdfs

    check_texts(manifest)
    recorded = json.dumps(manifest, indent=2, allow_nan=False) + "\n"
    # rendered from the manifest as written (lists, never tuples), as a rebuild renders it
    docs = exam_documents(json.loads(recorded), reverify, memo)
    jobs = build.jobs or os.cpu_count() or 1
    build.reporter.info(f"compiling {len(docs)} PDFs ({len(manifest['versions'])} version(s)) with {jobs} job(s)")

    def keys(compiled: Path) -> dict[str, str]:
        """The files beside the PDFs, once compiled: the keys learn from the exams where every question sits."""
        from .pages import answer_space_warnings, pages_csv, place_exam

        placed = place_exam(manifest, compiled, jobs, memo)
        for line in answer_space_warnings(manifest, placed):
            build.reporter.info(line)
        key_json, key_csv = answer_keys(manifest, {version: [p.pages for p in ps] for version, ps in placed.items()})
        return {
            "instructor/manifest.json": recorded,
            "instructor/key.json": key_json,
            "instructor/key.csv": key_csv,
            "instructor/pages.csv": pages_csv(manifest, placed),
            "README.txt": HANDOUT_NOTE,
        }

    return build_pdfs(
        docs,
        out,
        extra_files=keys,
        kind="exam",
        jobs=jobs,
        cache=build.cache,
        reporter=build.reporter,
    )


def build_exam(
    blueprint_path: Path,
    out: Path,
    *,
    versions: int | None = None,
    roster: Path | None = None,
    makeup_for: Sequence[Path] = (),
    secret: bytes | None = None,
    secret_flag: str | None = None,
    secret_file: Path | None = None,
    build: BuildOptions = BuildOptions(),
) -> list[Path]:
    """`secret` (bytes, for library use) or else where qbank.keys.resolve_secret finds it: `secret_flag`
    (the CLI's --secret), $QBANK_SECRET, `secret_file` or the course's key file. With `makeup_for`
    (the output folders of exams already given), a make-up of them (see load_earlier_exams)."""
    from .blueprint import load_blueprint
    from .plan import plan_exam
    from .publish import check_output_dir

    check_output_dir(Path(out), "exam")  # before any work
    earlier = load_earlier_exams(makeup_for, Path(out)) if makeup_for else None
    memo = Memo(enabled=build.cache)  # verified draws, fragments and documents of an earlier build
    with memo.keeping_draws():  # the blueprint's and the bank's checks draw too
        bp = load_blueprint(Path(blueprint_path))
    students = load_roster(roster) if roster else None
    count = len(students) if students else (versions or 1)
    if not 1 <= count <= MAX_VERSIONS:
        raise InputError(f"--versions: expected 1 to {MAX_VERSIONS} versions, got {count}")
    if secret is None:
        secret = find_secret(Path(blueprint_path), secret_flag, secret_file, build.reporter)
    what = f"a make-up of {', '.join(str(e['folder']) for e in earlier.exams)}: " if earlier else ""
    build.reporter.info(f"drawing {what}{count} version(s) of {bp.question_count} questions")
    with memo.keeping_draws():
        manifest = plan_exam(bp, count, secret, students, earlier=earlier)
    check_same_key(Path(out), EXAM_MANIFEST, manifest, secret)
    if earlier is not None:
        for line in makeup_notes(manifest, secret):
            build.reporter.info(line)
    for line in fairness_report(manifest):
        build.reporter.info(line)
    return _publish(manifest, Path(out), build, reverify=False, memo=memo)  # plan_exam's draws were just verified


def find_secret(blueprint_path: Path, secret_flag: str | None, secret_file: Path | None, reporter: Reporter = QUIET) -> bytes:
    """The secret of a build from `blueprint_path`, where qbank.keys.resolve_secret finds it: `secret_flag`
    (the CLI's --secret), $QBANK_SECRET, `secret_file` (which must exist) or the course's key file (made
    for a course that never had one, said in one line)."""
    if secret_flag is not None and secret_file is not None:
        raise InputError("give either --secret or --secret-file, not both")
    env = {} if secret_file is not None else os.environ  # a key file named on the command line wins
    secret, _ = resolve_secret(secret_flag, env, secret_file, blueprint_path, reporter.info)
    return secret


# --- one key per output folder -------------------------------------------------------------------------

EXAM_MANIFEST = "instructor/manifest.json"  # where an exam folder keeps its manifest


def check_same_key(out: Path, manifest_name: str, manifest: Mapping[str, Any], secret: bytes | None) -> None:
    """Refuse to replace an output folder built with another secret key than the new `manifest`'s: the
    old manifest (`out/manifest_name`) records its secret's fingerprint, salted with its blueprint's
    digest. With the same blueprint the two fingerprints compare as they are; with another, the new
    `secret` is fingerprinted with the old digest (a rebuild, which has no secret, cannot tell: refused).
    An output from before fingerprints has nothing to compare, and is replaced as before."""
    from .keys import fingerprint_matches

    path = Path(out) / manifest_name
    if not path.is_file():
        return
    recorded = _recorded_key(path)
    if recorded is None:
        raise InputError(f"--out {out}: {path} cannot be read as a qbank manifest, so qbank cannot tell which key "
                         "built this folder, and replacing it could delete an exam's keys; give another --out")
    digest, fingerprint = recorded
    if fingerprint is None or digest is None:
        return  # built before manifests recorded the key's fingerprint
    if digest == manifest["blueprint"]["sha256"] and isinstance(manifest.get("secret_fingerprint"), str):
        same = hmac.compare_digest(fingerprint, manifest["secret_fingerprint"])
    elif secret is not None:
        same = fingerprint_matches(secret, digest, fingerprint)
    else:
        why = "of another blueprint" if digest != manifest["blueprint"]["sha256"] else "from before key fingerprints"
        raise InputError(f"--out {out}: this folder holds an exam (its {manifest_name}) and the manifest rebuilt is "
                         f"{why}, so a rebuild, which has no key, cannot tell whether one key built both; give another --out")
    if not same:
        noun = "exam" if manifest_name == EXAM_MANIFEST else "quiz"
        way_out = ("give the key file it was built with (--secret-file FILE), or another --out" if secret is not None
                   else "give another --out")
        raise InputError(f"--out {out}: this folder holds {'an' if noun == 'exam' else 'a'} {noun} built with another "
                         f"secret key (its {manifest_name} records another key's fingerprint), and replacing it would "
                         f"delete that {noun}'s keys; {way_out}")


# In a manifest as qbank writes it (json.dumps, indent 2) the blueprint's digest and the key's fingerprint
# come before the versions, as top-level fields: indented by exactly two spaces after a line break, which
# no JSON string holds raw. So the head of a large manifest is enough.
_RECORDED_DIGEST = re.compile(r'\n  "blueprint": \{\n    "path": "(?:[^"\\]|\\.)*",\n    "sha256": "([0-9a-f]{64})"')
_RECORDED_FINGERPRINT = re.compile(r'\n  "secret_fingerprint": "(scrypt:[0-9a-f]{32})"')


def _recorded_key(path: Path) -> tuple[str | None, str | None] | None:
    """(blueprint digest, secret fingerprint) recorded in the manifest `path` (None for a field it lacks),
    or None when it cannot be read as a manifest."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1_000_000).decode("utf-8", errors="replace")
    except OSError:
        return None
    digest, fingerprint = _RECORDED_DIGEST.search(head), _RECORDED_FINGERPRINT.search(head)
    if digest and fingerprint:
        return digest.group(1), fingerprint.group(1)
    try:  # written by hand, or by an older qbank: read it whole
        old = json.loads(read_text(path, "manifest", max_bytes=200_000_000), parse_constant=_no_constant)
    except (InputError, ValueError, RecursionError):
        return None
    if not isinstance(old, dict):
        return None
    recorded = old.get("secret_fingerprint")
    digest_found = old["blueprint"].get("sha256") if isinstance(old.get("blueprint"), dict) else None
    return (digest_found if isinstance(digest_found, str) else None, recorded if isinstance(recorded, str) else None)


# --- make-ups -----------------------------------------------------------------------------------------


def load_earlier_exams(folders: Sequence[Path], out: Path):
    """The exams a make-up is for (qbank.plan.EarlierExams): each folder named by --makeup-for must be an
    exam's output folder, read through its instructor/manifest.json, and none may be the make-up's own
    --out (which the make-up would replace). Another blueprint than the make-up's is allowed (a make-up
    may swap a question): its numbers are compared family by family."""
    from .plan import earlier_exams

    manifests, seen = [], set()
    for folder in folders:
        folder = Path(folder)
        path = folder / EXAM_MANIFEST
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "no such folder"
            raise InputError(f"--makeup-for {folder}: {what}; name the output folder of the exam the make-up is for "
                             "(the folder `qbank exam --out` wrote, holding instructor/manifest.json)")
        if folder.resolve() == Path(out).resolve():
            raise InputError(f"--makeup-for {folder}: is the make-up's own --out, which the make-up would replace; "
                             "give the make-up another --out")
        if not path.is_file():
            lms = " (it holds an LMS quiz, not a paper exam)" if (folder / "manifest.json").is_file() else ""
            raise InputError(f"--makeup-for {folder}: no {EXAM_MANIFEST} in it{lms}; name the output folder of the "
                             "exam the make-up is for (the folder `qbank exam --out` wrote)")
        if folder.resolve() in seen:
            continue
        seen.add(folder.resolve())
        manifests.append((str(folder), read_manifest(path, f"--makeup-for {folder}: ")))
    return earlier_exams(manifests)


def makeup_notes(manifest: Mapping[str, Any], secret: bytes) -> list[str]:
    """What a make-up build says about the exams it makes up for: another blueprint, another key."""
    from .keys import fingerprint_matches

    lines = []
    for exam in manifest["makeup_for"]:
        digest = exam["blueprint"]["sha256"]
        if digest != manifest["blueprint"]["sha256"]:
            lines.append(f"note: {exam['folder']} was built from another blueprint ({exam['blueprint']['path']}); "
                         "the make-up's numbers are still checked against every version of it, family by family")
        recorded = exam.get("secret_fingerprint")
        same = (recorded == manifest["secret_fingerprint"] if digest == manifest["blueprint"]["sha256"]
                else isinstance(recorded, str) and fingerprint_matches(secret, digest, recorded))
        if isinstance(recorded, str) and not same:
            lines.append(f"note: {exam['folder']} was built with another secret key, so the make-up's slot structures "
                         "(sizes, strides, ...) may differ from the exam's; build with the exam's key file for the same shapes")
    codes = sum(e["versions"] for e in manifest["makeup_for"])
    lines.append(f"make-up: new version codes and numbers, none of the {codes} version(s) of the exam(s) made up for")
    return lines


def fairness_report(manifest: Mapping[str, Any]) -> list[str]:
    """What `qbank exam` says about fairness: the structure each slot fixed for all its versions, and
    the working time of a strong student against the exam's duration."""
    from .fairness import duration_minutes

    lines = []
    for record in manifest["structures"]:
        shown = describe_structure(record["structure"])
        varies = f"; varies {', '.join(record['vary'])} at {record['minutes']:g} min" if record["vary"] else ""
        lines.append(f"slot {record['slot']} {record['item']}: every version has {shown}{varies}")
    from .plan import working_time

    spread = manifest.get("working_time") or working_time(manifest["versions"])
    if spread:
        shown = ", ".join(f"{w['slot']} {w['min']:g}" if w["min"] == w["max"] else f"{w['slot']} {w['min']:g} to {w['max']:g}"
                          for w in spread)
        lines.append(f"working time per slot over the versions (min): {shown}")
    for w in spread:
        if w["max"] > 1.2 * w["min"] and w["max"] - w["min"] >= 1:
            lines.append(
                f"note: slot {w['slot']} gives some versions {w['min']:g} and others {w['max']:g} min of work "
                "(its pool mixes items of unequal length)"
            )
    times = [r["minutes"] for r in manifest["versions"] if r["minutes"] is not None]
    if times:
        low, high = min(times), max(times)
        span = f"{low:g} min" if low == high else f"{low:g} to {high:g} min"
        duration = duration_minutes(manifest["header"].get("duration", ""))
        if duration:
            share = f"{100 * low / duration:.0f} %" if low == high else f"{100 * low / duration:.0f} to {100 * high / duration:.0f} %"
            advice = "; a strong student should need about 80 %" if high > 0.9 * duration else ""
            lines.append(f"working time of a strong student: {span}, {share} of the {duration:g} minutes{advice}")
        else:
            lines.append(f"working time of a strong student: {span}")
    return lines


def rebuild_exam(manifest_path: Path, out: Path, build: BuildOptions = BuildOptions()) -> list[Path]:
    from .publish import check_output_dir

    path = Path(manifest_path)
    check_output_dir(Path(out), "exam")
    manifest = read_manifest(path)
    check_same_key(Path(out), EXAM_MANIFEST, manifest, None)
    _grading_from_cards(manifest)
    try:
        return _publish(manifest, Path(out), build, reverify=True, memo=Memo(enabled=build.cache))
    except (KeyError, TypeError, IndexError, AttributeError) as exc:  # a field check_manifest cannot foresee
        raise InputError(f"{path}: a field of the manifest is missing or malformed ({type(exc).__name__}: {exc})") from None


def read_manifest(path: Path, where: str = "") -> dict[str, Any]:
    """An exam's manifest.json, its fields checked (check_manifest), or one error line (after `where`)."""
    from .plan import MANIFEST_FORMAT

    readable = (1, 2, MANIFEST_FORMAT)  # format 1 (no part points) and 2 (tolerances only) still rebuild
    text = read_text(path, "manifest", max_bytes=200_000_000)
    try:
        manifest = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}{path}: invalid manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in readable:
        raise InputError(f"{where}{path}: not a qbank exam manifest (format {' or '.join(map(str, readable))})")
    try:
        check_manifest(manifest, path)
    except InputError as exc:
        raise InputError(f"{where}{exc}") from None
    return manifest


def _grading_from_cards(manifest: Mapping[str, Any]) -> None:
    """A manifest older than format 3 records no precisions: the rebuilt problems state those of the
    families' cards, so the rebuilt keys take them from there too."""
    from .grading import grading_record

    for record in manifest["versions"]:
        for entry in record["questions"]:
            if entry["item"].get("family") and "grading" not in entry:
                entry["grading"] = grading_record(get_family(entry["family"]).answers, entry["answers"])
                entry.pop("tolerances", None)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def check_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    """The fields rebuilding reads, with their types: a hand-edited or truncated manifest is one clear
    error, never a crash (and never a folder name that leaves the output folder)."""
    from .texcheck import MAX_NAME, check_plain


    def need(data: Any, key: str, kind: type | tuple, where: str) -> Any:
        if not isinstance(data, Mapping) or key not in data:
            raise InputError(f"{path}: {where}: missing field `{key}`")
        if not isinstance(data[key], kind) or isinstance(data[key], bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise InputError(f"{path}: {where}.{key}: expected {getattr(kind, '__name__', kind)}, got {type(data[key]).__name__}")
        return data[key]

    header = need(manifest, "header", dict, "manifest")
    for key in ("title", "course", "date", "duration", "instructions"):
        need(header, key, str, "header")
    need(manifest, "blueprint", dict, "manifest")
    need(manifest["blueprint"], "sha256", str, "blueprint")
    need(manifest["blueprint"], "path", str, "blueprint")
    need(manifest, "layout", str, "manifest")
    for key in ("cover", "answer_box"):
        need(manifest, key, bool, "manifest")
    folders = set()
    for v, record in enumerate(need(manifest, "versions", list, "manifest")):
        at = f"versions[{v}]"
        need(record, "version", int, at)
        need(record, "code", str, at)
        folder = need(record, "folder", str, at)
        if not _STUDENT_ID.match(folder) or len(folder) > MAX_ID or folder.lower() in folders:
            raise InputError(f"{path}: {at}.folder: {folder!r} is not a version or student folder name")
        folders.add(folder.lower())
        if record.get("student") is not None:
            need(record, "student", dict, at)
            check_plain(need(record["student"], "name", str, f"{at}.student"), f"{path}: {at}.student.name", MAX_NAME)
        for q, entry in enumerate(need(record, "questions", list, at)):
            where = f"{at}.questions[{q}]"
            item = need(entry, "item", dict, where)
            need(item, "id", str, f"{where}.item")
            need(entry, "points", (int, float), where)
            need(entry, "pages", int, where)
            need(entry, "heading", str, where)
            need(entry, "number", int, where)
            if item.get("family"):
                for key, kind in (("family", str), ("seed", int), ("params", dict), ("answers", dict)):
                    need(entry, key, kind, where)
                need(entry, "grading" if "grading" in entry or manifest["format"] >= 3 else "tolerances", dict, where)
            elif item.get("kind") == "multiple-choice":
                need(entry, "choice_order", list, where)
                need(entry, "correct", str, where)
            elif item.get("kind") not in ("short-answer", "fill-table"):
                raise InputError(f"{path}: {where}.item: neither a family nor a known kind")
