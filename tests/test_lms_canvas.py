"""`qbank export canvas`: the QTI 1.2 package as Canvas's importer reads it. Every file parses; the
assessment validates against the QTI 1.2.1 DTD of ../shared/formats (skipped, with a message, where
../shared is absent: the DTD is not ours to copy); every item is graded here by our own reading of
its respconditions, which must give the verified answer from the manifest full marks and a wrong one
none; Canvas's limits (numbers below 1e-4 stored as 0, the margin read as upper bound minus answer,
a strict lower bound read as a precision answer) are never met."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import pytest

lxml_etree = pytest.importorskip("lxml.etree", reason="lxml reads the exports (pip install -e '.[test]')")

from conftest import run_qbank  # noqa: E402
from lms_exports import (ROOT, SECRET, VARIANTS, card_tolerance, export, leaf_paths, list_shown, manifest_of,  # noqa: E402
                         one_number_course, perturbed, verified, write_everything)

DTD = ROOT.parent / "shared" / "formats" / "ims_qtiasiv1p2p1.dtd"
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    folder = tmp_path_factory.mktemp("canvas")
    files = export("canvas", folder / "out", write_everything(folder))
    archive = zipfile.ZipFile(io.BytesIO(files["quiz.zip"].read_bytes()))
    contents = {name: archive.read(name) for name in archive.namelist()}
    manifest = manifest_of(files)
    ident = manifest["lms"]["assessment"]
    return {"files": files, "contents": contents, "manifest": manifest, "ident": ident,
            "assessment": lxml_etree.fromstring(contents[f"{ident}/{ident}.xml"])}


def items(assessment):
    return list(assessment.iter(f"{QTI}item"))


def metadata(item) -> dict[str, str]:
    return {f.find(f"{QTI}fieldlabel").text: f.find(f"{QTI}fieldentry").text for f in item.iter(f"{QTI}qtimetadatafield")}


# --- our own reading of QTI 1.2 response processing ------------------------------------------------


def holds(condition, response: str, numeric: bool) -> bool:
    tag = condition.tag.replace(QTI, "")
    if tag == "conditionvar" or tag == "and":
        return all(holds(c, response, numeric) for c in condition)
    if tag == "or":
        return any(holds(c, response, numeric) for c in condition)
    if tag == "not":
        return not holds(condition[0], response, numeric)
    if tag == "other":
        return True
    text = condition.text.strip()
    if tag == "varequal":
        return Decimal(response) == Decimal(text) if numeric else response == text
    compare = {"vargte": lambda a, b: a >= b, "varlte": lambda a, b: a <= b, "vargt": lambda a, b: a > b, "varlt": lambda a, b: a < b}
    return compare[tag](Decimal(response), Decimal(text))


def score(item, response: str) -> float:
    """SCORE after the item's respconditions, in order: each that holds sets what it sets, and one with
    continue="No" ends the processing."""
    numeric = metadata(item)["question_type"] == "numerical_question"
    value = 0.0
    for condition in item.iter(f"{QTI}respcondition"):
        if holds(condition.find(f"{QTI}conditionvar"), response, numeric):
            for setvar in condition.findall(f"{QTI}setvar"):
                assert setvar.get("varname") == "SCORE"
                value = float(setvar.text) if setvar.get("action") == "Set" else value + float(setvar.text)
            if condition.get("continue") == "No":
                break
    return value


# --- the tests ---------------------------------------------------------------------------------------


def test_package_files_and_manifest(canvas):
    contents, ident = canvas["contents"], canvas["ident"]
    manifest = lxml_etree.fromstring(contents["imsmanifest.xml"])
    for name, data in contents.items():
        if name.endswith(".xml"):
            lxml_etree.fromstring(data)  # every XML file parses
    ns = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
    resources = {r.get("identifier"): r for r in manifest.iter(f"{ns}resource")}
    listed = {f.get("href") for f in manifest.iter(f"{ns}file")}
    assert listed == set(contents) - {"imsmanifest.xml"}, "every file of the zip is a resource, every resource a file"
    quiz = resources[ident]
    assert quiz.get("type") == "imsqti_xmlv1p2"
    meta = resources[quiz.find(f"{ns}dependency").get("identifierref")]
    assert meta.find(f"{ns}file").get("href") == f"{ident}/assessment_meta.xml"
    shown = set(re.findall(r"%24IMS-CC-FILEBASE%24/(images/fig-[0-9a-f]{16}\.svg)", contents[f"{ident}/{ident}.xml"].decode()))
    assert shown and all(resources[r].get("type") == "webcontent" for r in resources if resources[r].get("href", "").startswith("images/"))
    assert shown == {n for n in contents if n.startswith("images/")}, "every figure shown is in the zip, and only those"
    assert all(contents[n].lstrip().startswith(b"<svg") for n in shown)


def test_assessment_validates_against_the_qti_dtd(canvas):
    if not DTD.is_file():
        pytest.skip(f"the QTI 1.2.1 DTD is not here ({DTD}: ../shared/formats comes with the developers' checkout); "
                    "the structural checks of this file still run")
    root = lxml_etree.fromstring(lxml_etree.tostring(canvas["assessment"]))
    for element in root.iter():  # what the DTD does not know: the namespace, xsi attributes, Canvas's extension
        element.tag = element.tag.replace(QTI, "")
        for name in [a for a in element.attrib if a.startswith("{")]:
            del element.attrib[name]
    for extension in list(root.iter("selection_extension")):
        extension.getparent().remove(extension)
    lxml_etree.cleanup_namespaces(root)
    dtd = lxml_etree.DTD(str(DTD))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()[:5]


def test_groups_pick_one_variant_with_the_points_of_its_items(canvas):
    root, manifest = canvas["assessment"], canvas["manifest"]
    records = {r["ident"]: r for r in manifest["lms"]["questions"]}
    (top,) = root.find(f"{QTI}assessment").findall(f"{QTI}section")
    groups = top.findall(f"{QTI}section")
    assert len(groups) > 30
    all_idents = []
    for group in groups:
        assert group.find(f".//{QTI}selection_number").text == "1"
        points = float(group.find(f".//{QTI}points_per_item").text)
        members = group.findall(f"{QTI}item")
        assert len(members) == VARIANTS, group.get("title")
        mine = [records[item.get("ident")] for item in members]
        assert len({r["in"] for r in mine}) == 1 and mine[0]["in"] == group.get("ident")
        assert sorted(r["version"] for r in mine) == list(range(1, VARIANTS + 1)), "one item per variant"
        keys = {tuple(f["key"] for f in r.get("fields", [])) or r["type"] for r in mine}
        assert len(keys) == 1 or all(r["type"] == "multiple_choice_question" and "fields" not in r for r in mine), group.get("title")
        for item, r in zip(members, mine):
            assert float(metadata(item)["points_possible"]) == pytest.approx(points)
            assert item.get("title").startswith(r["name"]), "the title traces slot, variant and seed"
            assert r["seed"] is None or f"seed {r['seed']}" in item.get("title")
        all_idents += [item.get("ident") for item in members]
    assert len(all_idents) == len(set(all_idents)) == len(records)


def test_every_item_grades_the_verified_answer_and_rejects_a_wrong_one(canvas):
    root, manifest = canvas["assessment"], canvas["manifest"]
    records = {r["ident"]: r for r in manifest["lms"]["questions"]}
    counts = {"numerical_question": 0, "multiple_choice_question": 0, "essay_question": 0, "short_answer_question": 0}
    for item in items(root):
        record = records[item.get("ident")]
        kind = metadata(item)["question_type"]
        assert kind == record["type"]
        counts[kind] += 1
        labels = [label.get("ident") for label in item.iter(f"{QTI}response_label")]
        if kind == "numerical_question":
            (field,) = record["fields"]
            truth = verified(manifest, record, field["key"])
            tol = card_tolerance(manifest, record, field["key"], truth)
            scale = Decimal(10) ** record["scale"]
            assert item.find(f".//{QTI}render_fib").get("fibtype") == "Decimal"
            assert score(item, str(Decimal(repr(float(truth))) * scale)) == 100, f"{item.get('title')}: verified {truth}"
            assert score(item, str(Decimal(repr(perturbed(truth, tol))) * scale)) == 0, f"{item.get('title')}: a wrong answer"
            if record["scale"]:
                assert f"10^{{{record['scale']}}}" in item.find(f".//{QTI}mattext").text, "the item says how it is asked"
        elif kind == "multiple_choice_question":
            if "fields" in record:
                (field,) = record["fields"]
                truth = verified(manifest, record, field["key"])
                correct = record["fields"][0]["correct"]
                assert field["options"][correct] == truth
            else:
                correct = "ABCDEFGH".index(record["correct"])
            assert len(labels) >= 2 and metadata(item)["original_answer_ids"] == ",".join(labels)
            assert score(item, labels[correct]) == 100
            assert all(score(item, other) == 0 for i, other in enumerate(labels) if i != correct)
        elif kind == "short_answer_question":  # every entry of an answer whose size another part asks
            (field,) = record["fields"]
            truth = verified(manifest, record, field["key"])
            shown = list_shown(truth)
            assert field["kind"] == "list" and score(item, shown) == 100, f"{item.get('title')}: {shown}"
            assert score(item, shown.replace(", ", ",").replace("; ", ";").replace(" | ", "|")) == 100
            assert score(item, shown.rsplit(",", 1)[0]) == 0, "an entry missing"
            assert score(item, f"{shown}, 0") == 0, "an entry too many"
            sizes = {len(truth), len(truth[0]) if isinstance(truth[0], list) else 0, len(leaf_paths(truth))} - {0}
            text = item.find(f".//{QTI}mattext").text
            assert not any(f"{n} entr" in text for n in sizes), "the item does not tell the size"
        else:
            assert score(item, "any text") == 0, "an essay is graded by hand"
        feedback = item.find(f"{QTI}itemfeedback")
        assert feedback.get("ident") == "general_fb" and feedback.find(f".//{QTI}mattext").text, "the worked solution"
    assert counts["numerical_question"] > 300 and counts["multiple_choice_question"] > 50 and counts["essay_question"] > 10
    assert counts["short_answer_question"] >= 2 * 3  # conv1d-forward's and transpose-conv2d's outputs


def test_numbers_canvas_can_store(canvas):
    root = canvas["assessment"]
    assert not list(root.iter(f"{QTI}vargt")), "a strict lower bound is read by Canvas as a precision answer"
    for condition in root.iter(f"{QTI}conditionvar"):
        numbers = [e for e in condition.iter() if e.tag in (f"{QTI}varequal", f"{QTI}vargte", f"{QTI}varlte")]
        if not numbers or not re.fullmatch(r"-?[0-9.]+", numbers[0].text):
            continue
        for e in numbers:
            assert "e" not in e.text.lower()
            x = Decimal(e.text)
            assert x == 0 or abs(x) >= Decimal("1e-4"), f"{e.text}: Canvas would store 0"
        exact = condition.find(f"{QTI}or/{QTI}varequal")
        if exact is not None:  # Canvas reads the margin as the upper bound minus the answer
            low = Decimal(condition.find(f".//{QTI}vargte").text)
            high = Decimal(condition.find(f".//{QTI}varlte").text)
            assert high - Decimal(exact.text) == Decimal(exact.text) - low
            margin = high - Decimal(exact.text)
            assert margin == 0 or margin >= Decimal("1e-4")


def test_canvas_number_transformations():
    from qbank.lms.canvas import canvas_number

    plain = canvas_number(2.5, 0.01, "x")
    assert (plain.exact, plain.low, plain.high, plain.scale) == ("2.5", "2.49", "2.51", 0)
    tight = canvas_number(5.25, 1e-9, "x")  # a margin Canvas would store as 0: a range
    assert tight.exact is None and (tight.low, tight.high) == ("5.249999999", "5.250000001")
    tiny = canvas_number(3e-7, 3e-10, "x")  # a value below 1e-4: asked times 10^3
    assert tiny.scale == 3 and tiny.exact is None and (tiny.low, tiny.high) == ("0.0002997", "0.0003003")
    assert canvas_number(0, 1e-6, "x").exact == "0"
    assert canvas_number(1e16, 1e13, "x").exact == "10000000000000000"


def test_same_secret_same_zip(tmp_path):
    blueprint = ROOT / "bank" / "exams" / "quiz-backprop.yaml"
    a = export("canvas", tmp_path / "a", blueprint, variants=2)
    b = export("canvas", tmp_path / "b", blueprint, variants=2)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    c = export("canvas", tmp_path / "c", blueprint, variants=2, secret=SECRET[::-1])
    assert c["quiz.zip"].read_bytes() != a["quiz.zip"].read_bytes()
    assert manifest_of(c)["lms"]["assessment"] != manifest_of(a)["lms"]["assessment"]


def test_a_pool_of_unlike_questions_is_a_clear_error(tmp_path):
    from qbank.errors import QbankError

    blueprint = tmp_path / "mixed.yaml"
    blueprint.write_text("title: Mixed\nsections:\n  - slots:\n      - from: {ids: [conv1d-forward-strided, ridge-map-estimate]}\n")
    with pytest.raises(QbankError, match="slot s1.1: its variants ask different values"):
        export("canvas", tmp_path / "out", blueprint, variants=4)
    assert not (tmp_path / "out").exists(), "a failed export leaves nothing behind"


def test_a_slot_of_single_questions_is_one_group_with_the_slot_points(tmp_path):
    env, blueprint = one_number_course(tmp_path)
    out = tmp_path / "out" / "one.zip"
    proc = run_qbank("export", "canvas", str(blueprint), "--variants", "4", "--out", str(out), "--secret", SECRET.hex(), env=env)
    assert proc.returncode == 0, proc.stderr
    manifest = manifest_of({"manifest.json": out.parent / "manifest.json"})
    ident = manifest["lms"]["assessment"]
    root = lxml_etree.fromstring(zipfile.ZipFile(out).read(f"{ident}/{ident}.xml"))
    groups = root.find(f"{QTI}assessment/{QTI}section").findall(f"{QTI}section")
    assert [g.get("ident") for g in groups] == ["g_s1_1", "g_s1_2"]
    assert [float(g.find(f".//{QTI}points_per_item").text) for g in groups] == [2, 3]
    assert [metadata(i)["question_type"] for i in groups[0].findall(f"{QTI}item")] == ["numerical_question"] * 4
    assert [metadata(i)["question_type"] for i in groups[1].findall(f"{QTI}item")] == ["multiple_choice_question"] * 4
