"""`qbank export moodle|canvas BLUEPRINT --variants N --out FILE`: a quiz for an LMS, with its manifest.

The blueprint is planned as an exam of N versions (qbank.plan.plan_exam: the same slots, pools,
structures, letters and points, seeds from the secret), so version v is variant v of every slot. Its
seeds come from the quiz's own domain (qbank.keys.QUIZ_DOMAIN), so that no quiz hands out the variants
(and worked solutions) of the paper exam of the same blueprint and secret, unless asked for on purpose
(`same_variants_as_exam`, with a warning). An output folder built with another key is never replaced
(qbank.exam.check_same_key). The
quiz file, `manifest.json` (the exam's manifest plus an `lms` record: every exported question's name,
ident, place and graded fields with their tolerances) and `key.json` (the exam's key) are published
together as one folder (qbank.publish): a failed export leaves no half-written file and replaces
nothing; all three hold answers and are written readable by their owner only (the folder 0700).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..progress import QUIET, Reporter
from .common import Quiz

TARGETS = {"moodle": ".xml", "canvas": ".zip"}


def output_paths(target: str, out: Path | None, blueprint: Path) -> tuple[Path, str]:
    """The folder published as a whole and the quiz file's name in it. `--out FOLDER/NAME.xml` (.zip for
    Canvas) names the file; `--out FOLDER` gets BLUEPRINT.xml; no --out: build/BLUEPRINT-TARGET/."""
    from ..publish import made_by_qbank
    from ..workspace import default_out

    suffix = TARGETS[target]
    if out is None:
        return default_out(f"{blueprint.stem}-{target}"), f"{blueprint.stem}{suffix}"
    out = Path(out)
    if out.suffix.lower() == suffix:
        folder, name = out.parent, out.name
    elif out.suffix and out.suffix.lower() in (".xml", ".zip", ".json", ".csv", ".txt", ".qti"):
        raise InputError(f"--out {out}: a {target} export is a {suffix} file (or a folder to hold one)")
    else:
        folder, name = out, f"{blueprint.stem}{suffix}"
    resolved = folder.resolve()
    if resolved.is_dir() and any(resolved.iterdir()) and not made_by_qbank(resolved):
        raise InputError(
            f"--out {out}: the quiz is published with manifest.json and key.json beside it, as a folder of "
            f"its own, and {folder} holds files qbank did not write; give a new or empty folder, e.g. "
            f"--out build/{blueprint.stem}-{target}/{name}"
        )
    return folder, name


def export_quiz(
    target: str,
    blueprint_path: Path,
    out: Path | None,
    *,
    variants: int,
    secret: bytes | None = None,
    secret_flag: str | None = None,
    secret_file: Path | None = None,
    jobs: int | None = None,
    same_variants_as_exam: bool = False,
    reporter: Reporter = QUIET,
) -> list[Path]:
    """Write the quiz of `blueprint_path` for `target` ("moodle" or "canvas"); return the files written."""
    from ..answerkey import answer_keys
    from ..blueprint import load_blueprint
    from ..exam import MAX_VERSIONS, check_same_key, check_texts, fairness_report, find_secret
    from ..keys import EXAM_DOMAIN, QUIZ_DOMAIN
    from ..plan import plan_exam
    from ..publish import check_output_dir, output_folder
    from .common import quiz_from_manifest

    if target not in TARGETS:
        raise InputError(f"export: unknown target {target!r} (expected {' or '.join(TARGETS)})")
    blueprint_path = Path(blueprint_path)
    folder, name = output_paths(target, out, blueprint_path)
    check_output_dir(folder, f"lms-{target}")  # before any work
    if not 1 <= variants <= MAX_VERSIONS:
        raise InputError(f"--variants: expected 1 to {MAX_VERSIONS} variants, got {variants}")
    bp = load_blueprint(blueprint_path)
    if secret is None:
        secret = find_secret(blueprint_path, secret_flag, secret_file, reporter)
    if same_variants_as_exam:
        reporter.info(f"warning: --same-variants-as-exam: variant v of every slot is version v of the paper exam of "
                      f"{blueprint_path.name} built with this key, so anyone who takes the quiz (or sees its feedback) "
                      "knows those exams' numbers and worked solutions")
    reporter.info(f"drawing {variants} variant(s) of each of {bp.question_count} questions")
    manifest = plan_exam(bp, variants, secret, domain=EXAM_DOMAIN if same_variants_as_exam else QUIZ_DOMAIN)
    check_same_key(folder, "manifest.json", manifest, secret)
    for line in fairness_report(manifest):
        reporter.info(line)
    check_texts(manifest)
    jobs = jobs or os.cpu_count() or 1
    quiz = quiz_from_manifest(manifest, name=blueprint_path.stem, jobs=jobs, reporter=reporter)
    writer = _writer(target)
    data, record = writer(quiz, f"written by qbank from {blueprint_path.name}: {variants} verified variant(s) per slot")
    manifest["lms"] = {"target": target, "file": name, "variants": variants,
                       "same_variants_as_exam": same_variants_as_exam, **record}
    key_json, _ = answer_keys(manifest)
    with output_folder(folder, f"lms-{target}") as stage:
        os.chmod(stage.path, 0o700)  # like an exam's instructor/: nothing in it is for students
        _private(stage.path / name, data)
        _private(stage.path / "manifest.json", (json.dumps(manifest, indent=2, allow_nan=False) + "\n").encode())
        _private(stage.path / "key.json", key_json.encode())
        written = stage.commit()
    if len(data) > 20_000_000:
        reporter.info(f"warning: {name} is {len(data) / 1e6:.0f} MB; an LMS may fail to import a file this large "
                      "(export fewer variants per file)")
    return written


def _writer(target: str) -> Callable[[Quiz, str], tuple[bytes, dict[str, Any]]]:
    if target == "moodle":
        from .moodle import moodle_export

        return moodle_export
    from .canvas import canvas_export

    return canvas_export


def _private(path: Path, data: bytes) -> None:
    """A file the owner alone reads: the quiz, its key and its manifest all hold the answers."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
