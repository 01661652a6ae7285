"""Shared by the LMS export tests: a blueprint with every kind of question, exported once per target,
and the verified answers of the manifest that every graded field is checked against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = bytes.fromhex("5b1f0c3d9e7a4b2c8d6e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e")
VARIANTS = 3

# every family but two (with parts answered in words, token sequences, expressions, relative tolerances: mlp-backprop
# and rnn-bptt ask what mlp-skip-bce-backprop and scalar-rnn-backprop ask, so test_lms_transformers exports them), a
# pool of one family's items, a multiple choice, a table of words, short answers, a pool choosing two
EVERYTHING = """\
course: Test course
title: "Every kind of question"
duration: 300 minutes
instructions: Test.
options:
  layout: compact
sections:
  - title: Families
    slots:
      - family: conv1d-forward
        points: 6
      - family: conv1d-recover-filter
        points: 8
      - family: transpose-conv2d
        points: 8
      - family: conv2d-forward
        points: 8
        structure: {filters: [2, 1, 2, 2]}
      - family: pool2d
        points: 6
      - family: cnn-bookkeeping
        points: 10
      - family: beam-search
        points: 10
      - family: scalar-rnn-backprop
        points: 10
      - family: mlp-skip-bce-backprop
        points: 12
      - family: relu-net-derivatives
        points: 12
      - family: nalu
        points: 10
      - family: init-variance
        points: 9
      - family: resnet-init-variance
        points: 10
      - family: ridge-map
        points: 10
      - family: lstm-cell-backward
        points: 13
      - family: softmax-cross-entropy
        points: 6
      - family: attention-forward
        points: 8
      - family: attention-backward
        points: 12
      - family: transformer-bookkeeping
        points: 10
      - family: normalization
        points: 12
      - family: gated-rnn-cell
        points: 12
      - from: {ids: [rnn-gradient-flow-vanishing, rnn-gradient-flow-exploding]}
  - title: Concepts
    slots:
      - item: why-convolutions-for-images-mc
      - item: building-block-inductive-biases
      - item: ugrnn-to-gru
      - item: residual-mlp-rewrite
      - from: {ids: [tanh-vs-relu-rnn, coordconv-inductive-bias, gradient-check-central-difference, shared-weight-gradient-sum]}
        choose: 2
"""


def export(target: str, folder: Path, blueprint: Path, variants: int = VARIANTS, secret: bytes = SECRET) -> dict[str, Path]:
    """Export `blueprint` into `folder` in-process; the quiz file, manifest.json and key.json by name."""
    from qbank.lms.export import export_quiz

    suffix = ".xml" if target == "moodle" else ".zip"
    written = export_quiz(target, blueprint, folder / f"quiz{suffix}", variants=variants, secret=secret, jobs=2)
    return {p.name: p for p in written}


def write_everything(folder: Path) -> Path:
    path = folder / "everything.yaml"
    path.write_text(EVERYTHING)
    return path


def list_shown(truth: list) -> str:
    """Every entry of an answer whose size another part asks, as the LMS shows it first: a vector `3, -1, 4`,
    a matrix's rows apart by `; `, a 3-D tensor's channels apart by ` | `."""
    if not isinstance(truth[0], list):
        return ", ".join(str(v) for v in truth)
    if not isinstance(truth[0][0], list):
        return "; ".join(list_shown(row) for row in truth)
    return " | ".join(list_shown(matrix) for matrix in truth)


def leaf_paths(value: Any) -> list[tuple[str, ...]]:
    """The index paths of every entry of a nested list ("0", "1") ... ("1", "0", "1")."""
    if not isinstance(value, list):
        return [()]
    return [(str(i), *rest) for i, item in enumerate(value) for rest in leaf_paths(item)]


def manifest_of(files: dict[str, Path]) -> dict[str, Any]:
    return json.loads(files["manifest.json"].read_text())


def verified(manifest: dict[str, Any], record: dict[str, Any], key: str) -> Any:
    """The verified value of `key` (`output.3`, `beams.0.1.sequence`) of the question `record` names,
    read from the manifest's answers (never from what the writer recorded); booleans as yes or no."""
    version = manifest["versions"][record["version"] - 1]
    slot = record["slot"].split("#")[0]
    entry = next(e for e in version["questions"] if e["slot"] == slot and e["item"]["id"] == record["item"])
    value: Any = entry["answers"] if entry["item"].get("family") else None
    if value is None:  # a table of numbers: the cell's answer
        _, r, c = key.split(".")
        return float(entry["item"]["rows"][int(r)][int(c)]["answer"])
    for step in key.split("."):
        value = value[int(step)] if isinstance(value, list) else value[step]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def card_tolerance(manifest: dict[str, Any], record: dict[str, Any], key: str, value: float) -> float:
    """The tolerance the family's card gives `value` at the precision it is asked in an LMS (an exact
    fraction as a decimal): what the LMS must grade with, computed here from the card, not from the export."""
    from qbank.grading import precision_for
    from qbank.registry import get_family

    version = manifest["versions"][record["version"] - 1]
    entry = next(e for e in version["questions"] if e["slot"] == record["slot"].split("#")[0] and e["item"]["id"] == record["item"])
    if not entry["item"].get("family"):
        return 0.0
    answer = get_family(entry["family"]).answers[key.split(".")[0]]
    return precision_for(answer, value, lms=True).tolerance(value)


def perturbed(value: float, tol: float) -> float:
    """A number just outside the tolerance: what a wrong answer looks like."""
    return value + 3 * tol + max(1e-9, 1e-6 * abs(value)) + (1 if tol == 0 and float(value).is_integer() else 0)


ONE_NUMBER_TEMPLATE = (
    "\\BLOCK{block problem}What is $\\VAR{params.x} + 1/2$?\\BLOCK{endblock}\n"
    "\\BLOCK{block solution}$\\VAR{answers.answer}$\\BLOCK{endblock}\n"
)


def one_number_course(folder: Path) -> tuple[dict[str, str], Path]:
    """An instructor's family asking one number (QBANK_PATH) and a blueprint with it and a multiple
    choice: the environment to run qbank in, and the blueprint."""
    from conftest import write_content_root

    write_content_root(folder / "content", "lms-one-number", solve_body="params['x'] + 0.5",
                       check_body="assert abs(answers['answer'] - params['x'] - 0.5) < 1e-12", template=ONE_NUMBER_TEMPLATE)
    module = folder / "content" / "generators" / "lms_one_number.py"
    module.write_text(module.read_text().replace("Answer('integer', 'the answer')", "Answer('number', 'the answer', 0.01)"))
    blueprint = folder / "one.yaml"
    blueprint.write_text("title: One number\nsections:\n  - slots:\n      - family: lms-one-number\n        points: 2\n"
                         "      - item: lstm-vs-rnn-gradients\n")
    return {"QBANK_PATH": str(folder / "content")}, blueprint


def both_exports(folder: Path, blueprint_text: str) -> dict[str, Any]:
    """A blueprint exported to Moodle and to Canvas, parsed: the Moodle XML and the Canvas assessment (lxml
    roots) and each export's manifest."""
    import io
    import zipfile

    from lxml import etree

    blueprint = folder / "blueprint.yaml"
    blueprint.write_text(blueprint_text)
    moodle = export("moodle", folder / "moodle", blueprint)
    canvas = export("canvas", folder / "canvas", blueprint)
    archive = zipfile.ZipFile(io.BytesIO(canvas["quiz.zip"].read_bytes()))
    manifest = manifest_of(canvas)
    ident = manifest["lms"]["assessment"]
    return {
        "moodle": etree.fromstring(moodle["quiz.xml"].read_bytes()),
        "moodle_manifest": manifest_of(moodle),
        "canvas": etree.fromstring(archive.read(f"{ident}/{ident}.xml")),
        "canvas_manifest": manifest,
    }
