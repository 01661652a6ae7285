"""Fair exams: unpredictable, balanced answer letters; one structure per slot; per-part points that add
up; no question answering another; working time against the duration."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from qbank.bank import Bank, load_items
from qbank.blueprint import load_blueprint
from qbank.errors import InputError
from qbank.fairness import LetterPlanner, distinct_letters_needed, duration_minutes, split_points
from qbank.family import REGISTRY, Answer, Family, Part, register
from qbank.fairness import conflict
from qbank.plan import plan_exam, plan_structures, slot_tags
from qbank.registry import get_family

import numpy as np


def write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def mc_item(i: int, n: int = 4, extra: str = "") -> str:
    choices = "\n".join(f"    - {{text: 'Choice {c}', correct: {'true' if c == 0 else 'false'}}}" for c in range(n))
    return (
        f"- id: mc-{i}\n  title: Question {i}\n  topic: cnn\n  tags: [conceptual]\n  points: 2\n"
        f"  kind: multiple-choice\n  question: Which one?\n  choices:\n{choices}\n  solution: The first.\n{extra}"
    )


def mc_blueprint(count: int) -> str:
    slots = "\n".join(f"      - item: mc-{i}" for i in range(count))
    return f"title: Letters\nsections:\n  - title: Choices\n    slots:\n{slots}\n"


def plan_mc(tmp_path, count: int, versions: int, secret: bytes):
    bank = Bank({i.id: i for i in load_items(write(tmp_path, "".join(mc_item(i) for i in range(count)), "cnn.yaml"))})
    bp = load_blueprint(write(tmp_path, mc_blueprint(count), "exam.yaml"), bank)
    return plan_exam(bp, versions, secret)


# --- answer letters ------------------------------------------------------------------------------------


def test_letters_were_all_alike_in_one_version(tmp_path):
    """The defect: the correct answer stood at (uses so far) mod n, so version 1 was all A."""
    manifest = plan_mc(tmp_path, 5, 1, b"any-secret-at-all")
    letters = [q["correct"] for q in manifest["versions"][0]["questions"]]
    assert len(set(letters)) >= 3, letters


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_letters_are_balanced_per_item_and_spread_per_version(tmp_path, count):
    for s in range(6):
        manifest = plan_mc(tmp_path, count, 24, f"secret-{s}-for-letters".encode())
        per_item: dict[str, Counter] = {}
        for record in manifest["versions"]:
            letters = [q["correct"] for q in record["questions"]]
            if count >= 2:
                assert len(set(letters)) >= (3 if count >= 4 else 2), (s, record["version"], letters)
            for q in record["questions"]:
                per_item.setdefault(q["item"]["id"], Counter())[q["correct"]] += 1
                assert q["item"]["choices"][q["choice_order"]["ABCD".index(q["correct"])]]["correct"]
        for item, counts in per_item.items():
            assert set(counts) == set("ABCD"), (item, counts)
            assert max(counts.values()) - min(counts.values()) <= 2, (item, counts)


def test_letters_depend_on_the_secret_and_first_versions_are_not_all_a(tmp_path):
    firsts = Counter()
    for s in range(40):
        manifest = plan_mc(tmp_path, 3, 1, f"secret-number-{s}".encode())
        firsts.update(q["correct"] for q in manifest["versions"][0]["questions"])
    assert set(firsts) == set("ABCD") and min(firsts.values()) >= 15, firsts


@given(st.lists(st.integers(2, 5), min_size=1, max_size=9), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_letter_planner_properties(sizes, seed):
    planner = LetterPlanner(lambda item_id: np.random.default_rng([seed, sum(map(ord, item_id))]))
    items = [(f"q{i}", n) for i, n in enumerate(sizes)]
    counts = {item: Counter() for item, _ in items}
    for _ in range(30):
        positions = planner.version(items)
        assert all(0 <= p < n for p, (_, n) in zip(positions, items))
        assert len(set(positions)) >= distinct_letters_needed(sizes)
        if len(items) >= 2 and sum(n >= 2 for n in sizes) >= 2:
            assert len(set(positions)) >= 2
        for p, (item, _) in zip(positions, items):
            counts[item][p] += 1
    for (item, n) in items:
        values = [counts[item][p] for p in range(n)]
        assert max(values) - min(values) <= 3, (item, values)  # balanced: no letter predictable
    assert distinct_letters_needed([2, 2, 3, 2]) == 2 and distinct_letters_needed([4, 4, 4, 2]) == 3


# --- points --------------------------------------------------------------------------------------------


def test_split_points_rule():
    assert split_points(10, [1, 2, 2], "q") == [2, 4, 4]
    assert split_points(4, [3, 4, 2], "q") == [1, 2, 1]  # was printed (3)+(4)+(2) under a header of (4)
    assert split_points(9, [3, 4, 2], "q") == [3, 4, 2]  # the item's own points stay
    assert split_points(2, [1, 1, 1], "q") == [1, 0.5, 0.5]  # a tie: the earlier part
    assert split_points(3, [1, 10], "q") == [1, 2]
    with pytest.raises(InputError, match="cannot be split over 5 parts"):
        split_points(2, [1] * 5, "slot s1.1")


@given(st.lists(st.integers(1, 9), min_size=1, max_size=8), st.integers(1, 60), st.booleans())
@settings(max_examples=200, deadline=None)
def test_split_points_always_adds_up(weights, total, half):
    total = total + 0.5 if half else total
    try:
        shares = split_points(total, weights, "q")
    except InputError:
        assert 2 * total < len(weights)
        return
    assert sum(shares) == pytest.approx(total)
    assert all(s >= 0.5 and float(2 * s).is_integer() for s in shares)


# --- structure and vary --------------------------------------------------------------------------------


class _Shaped(Family):
    """A test family: a list whose length and a mode set the effort; minutes depend on both."""

    id = "test-shaped"
    title = "A family with structure"
    topic = "test"
    answers = {"total": Answer("integer", "the sum"), "mode": Answer("text", "the mode")}
    structure = ("xs", "mode")
    asks = ("test-sum",)

    def sample(self, rng):
        n = int(rng.integers(2, 7))
        return {"xs": [int(v) for v in rng.integers(-9, 10, n)], "mode": ["plain", "fancy", "odd"][int(rng.integers(3))]}

    def solve(self, params):
        return {"total": sum(params["xs"]), "mode": params["mode"]}

    def check(self, params, answers):
        assert answers["total"] == int(np.sum(params["xs"]))

    def parts(self, params):
        return (Part(("total",), 2), Part(("mode",), 1))

    def minutes(self, params):
        return len(params["xs"]) * (2 if params["mode"] == "odd" else 1)


@pytest.fixture
def shaped():
    register(_Shaped)
    yield get_family("test-shaped")
    REGISTRY.pop("test-shaped", None)


SHAPED_BLUEPRINT = """\
title: Shapes
sections:
  - title: One
    slots:
      - family: test-shaped
        points: 6
"""


def test_versions_of_a_slot_share_the_structure_and_exams_differ(tmp_path, shaped):
    bp = load_blueprint(write(tmp_path, SHAPED_BLUEPRINT, "exam.yaml"), Bank({}))
    shapes = set()
    for s in range(8):
        manifest = plan_exam(bp, 12, f"secret-for-shapes-{s}".encode())
        (fixed,) = manifest["structures"]
        seen = {json.dumps(shaped.structure_of(q["params"])) for r in manifest["versions"] for q in r["questions"]}
        assert seen == {json.dumps(fixed["structure"])}
        shapes.add(json.dumps(fixed["structure"]))
        params = [json.dumps(q["params"]) for r in manifest["versions"] for q in r["questions"]]
        assert len(set(params)) == 12
    assert len(shapes) >= 4  # different exams, different structures


def test_draw_and_practice_keep_full_variety(shaped):
    from qbank.engine import draw

    assert len({json.dumps(shaped.structure_of(draw(shaped, s).params)) for s in range(60)}) >= 10


def test_vary_keeps_the_effort(tmp_path, shaped):
    text = SHAPED_BLUEPRINT + "        vary: [mode]\n"
    bp = load_blueprint(write(tmp_path, text, "exam.yaml"), Bank({}))
    modes = Counter()
    for s in range(6):
        manifest = plan_exam(bp, 10, f"vary-secret-{s}".encode())
        (fixed,) = manifest["structures"]
        assert fixed["vary"] == ["mode"] and "mode" not in fixed["structure"]
        for record in manifest["versions"]:
            (q,) = record["questions"]
            assert shaped.minutes(q["params"]) == fixed["minutes"]
            modes[q["params"]["mode"]] += 1
    assert modes["plain"] and modes["fancy"]  # the mode does vary, among modes of equal effort


def test_vary_must_name_a_structural_feature(tmp_path, shaped):
    text = SHAPED_BLUEPRINT + "        vary: [colour]\n"
    with pytest.raises(InputError, match=r"line 7: .*vary: 'colour' is not a structural feature of test-shaped \(its structure: xs, mode\)"):
        load_blueprint(write(tmp_path, text, "exam.yaml"), Bank({}))


def test_parts_get_points_that_sum_to_the_slot(tmp_path, shaped):
    bp = load_blueprint(write(tmp_path, SHAPED_BLUEPRINT, "exam.yaml"), Bank({}))
    (q,) = plan_exam(bp, 1, b"points-secret-123")["versions"][0]["questions"]
    assert q["points"] == 6 and [p["points"] for p in q["parts"]] == [4, 2]
    assert [p["answers"] for p in q["parts"]] == [["total"], ["mode"]]


# --- conflicts -----------------------------------------------------------------------------------------

CONFLICT_BANK = (
    mc_item(0, extra="  reveals: [test-sum]\n")
    + mc_item(1, extra="  asks: [fact-one]\n")
    + mc_item(2, extra="  asks: [fact-one]\n")
    + mc_item(3, extra="  asks: [fact-two]\n")
)


def conflict_bank(tmp_path):
    return Bank({i.id: i for i in load_items(write(tmp_path, CONFLICT_BANK, "cnn.yaml"))})


def test_a_fixed_pair_that_conflicts_is_refused(tmp_path, shaped):
    text = SHAPED_BLUEPRINT + "      - item: mc-0\n"
    with pytest.raises(InputError, match=r"item 'mc-0' conflicts with item 'test-shaped'.*gives away test-sum"):
        plan_exam(load_blueprint(write(tmp_path, text, "exam.yaml"), conflict_bank(tmp_path)), 1, b"conflict-secret")


def test_pools_never_pick_conflicting_items(tmp_path, shaped):
    text = SHAPED_BLUEPRINT + "      - from: {ids: [mc-0, mc-1, mc-2, mc-3]}\n        choose: 2\n"
    bp = load_blueprint(write(tmp_path, text, "exam.yaml"), conflict_bank(tmp_path))
    pairs = Counter()
    for record in plan_exam(bp, 40, b"conflict-secret-2")["versions"]:
        ids = sorted(q["item"]["id"] for q in record["questions"])
        assert "mc-0" not in ids  # it reveals what the fixed family question asks
        assert ids != ["mc-1", "mc-2", "test-shaped"]  # both ask fact-one
        pairs[tuple(ids)] += 1
    assert len(pairs) == 2  # {mc-1 or mc-2} with mc-3


def test_a_pool_left_without_usable_items_is_a_clear_error(tmp_path, shaped):
    text = SHAPED_BLUEPRINT + "      - from: {ids: [mc-0, mc-1, mc-2]}\n        choose: 2\n"
    bp = load_blueprint(write(tmp_path, text, "exam.yaml"), conflict_bank(tmp_path))
    with pytest.raises(InputError, match=r"line 7: version 1: this pool has 1 usable item\(s\) for choose: 2.*mc-1 conflicts with mc-2: both ask fact-one"):
        plan_exam(bp, 1, b"conflict-secret-3")


# --- the shipped bank and blueprints -------------------------------------------------------------------

SHIPPED = ["demo", "midterm", "quiz-backprop", "quiz-transformers", "quiz-generative", "quiz-optimization", "final"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_blueprints_have_no_conflicting_pair_in_40_versions(name):
    bp = load_blueprint(ROOT / "bank" / "exams" / f"{name}.yaml")
    secret = b"shipped-blueprint-secret"
    manifest = plan_exam(bp, 40, secret)
    tags = slot_tags(bp, plan_structures(bp, secret))
    for record in manifest["versions"]:
        keys = [(q["slot"], q["item"]["id"]) for q in record["questions"]]
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                assert not conflict(tags[a], tags[b]), (name, record["version"], a, b)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_blueprints_fix_each_slots_structure(name):
    bp = load_blueprint(ROOT / "bank" / "exams" / f"{name}.yaml")
    manifest = plan_exam(bp, 12, b"structure-check-secret")
    fixed = {(s["slot"], s["item"]): s for s in manifest["structures"]}
    for record in manifest["versions"]:
        for q in record["questions"]:
            if "params" not in q:
                continue
            plan = fixed[(q["slot"], q["item"]["id"])]
            features = get_family(q["family"]).structure_of(q["params"])
            assert {k: v for k, v in features.items() if k in plan["structure"]} == plan["structure"]
            assert plan["structure"], f"{q['family']} declares no structure"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_blueprints_parts_add_up(name):
    bp = load_blueprint(ROOT / "bank" / "exams" / f"{name}.yaml")
    for record in plan_exam(bp, 6, b"points-check-secret")["versions"]:
        for q in record["questions"]:
            if q["parts"]:
                assert sum(p["points"] for p in q["parts"]) == pytest.approx(q["points"]), q["item"]["id"]


@pytest.mark.parametrize("name", ["midterm", "final", "quiz-transformers", "quiz-generative", "quiz-optimization"])
def test_the_exams_fit_their_duration_and_every_version_needs_the_same_time(name):
    """A strong student needs 65 to 85 % of the duration, in every version, and no version needs more than
    10 % more time than another (three secrets: each draws its own structures)."""
    bp = load_blueprint(ROOT / "bank" / "exams" / f"{name}.yaml")
    duration = duration_minutes(bp.header["duration"])
    for secret in (b"timing-secret-one", b"timing-secret-two", b"timing-secret-three"):
        minutes = [record["minutes"] for record in plan_exam(bp, 20, secret)["versions"]]
        assert all(0.65 * duration <= m <= 0.85 * duration for m in minutes), (name, secret, minutes)
        assert max(minutes) <= 1.10 * min(minutes), (name, secret, minutes)


def test_every_family_declares_structure_parts_and_minutes():
    from qbank.engine import draw, part_specs
    from qbank.registry import all_families

    for fam in all_families():
        if fam.id.startswith("test-"):
            continue
        for seed in range(5):
            variant = draw(fam, seed)
            assert fam.structure, fam.id
            specs = part_specs(fam, variant.params)
            assert specs, fam.id
            asked = {name for p in specs for name in p.answers}
            unasked = {n for n, v in variant.answers.items() if v is not None} - asked
            assert not unasked, (fam.id, seed, unasked)
            assert fam.minutes(variant.params) and fam.minutes(variant.params) > 0, fam.id


def test_duration_text():
    assert duration_minutes("80 minutes") == 80
    assert duration_minutes("2 hours") == 120
    assert duration_minutes("1 h 30 min") == 90
    assert duration_minutes("Spring term") is None


# --- real PDFs: the points printed are the points in the key ----------------------------------------------


@pytest.mark.pdf
def test_printed_part_points_add_up_and_match_the_key(tmp_path):
    import re

    from conftest import pdf_text, run_qbank

    out = tmp_path / "quiz"
    proc = run_qbank("exam", "bank/exams/quiz-backprop.yaml", "--versions", "2", "--out", str(out),
                     "--secret", "part-points-secret-0123-a5fb601636a1a06678f9cb833536ac33")
    assert proc.returncode == 0, proc.stderr
    assert "working time of a strong student" in proc.stderr and "every version has" in proc.stderr
    key = json.loads((out / "instructor" / "key.json").read_text())
    for record in key["versions"]:
        text = pdf_text(out / "students" / f"v{record['version']:02d}" / "exam.pdf")
        printed: dict[int, tuple[float, list[float]]] = {}
        current = None
        for line in text.splitlines():
            head = re.match(r"^(\d+)\. \((\d+(?:\.5)?)\)", line)
            part = re.match(r"^\(([a-h])\) \((\d+(?:\.5)?)\)", line)
            if head:
                current = int(head.group(1))
                printed[current] = (float(head.group(2)), [])
            elif part and current is not None:
                printed[current][1].append(float(part.group(2)))
        for q in record["questions"]:
            total, parts = printed[q["number"]]
            assert total == q["points"]
            assert parts == [p["points"] for p in q.get("parts", [])], (q["item"], parts)
            if parts:
                assert sum(parts) == total


def test_vary_activation_on_init_variance_mixes_only_equally_long_activations(tmp_path):
    text = "title: Vary\nsections:\n  - slots:\n      - family: init-variance\n        points: 8\n        vary: [activation]\n"
    bp = load_blueprint(write(tmp_path, text, "exam.yaml"), Bank({}))
    mixes = set()
    for s in range(12):
        manifest = plan_exam(bp, 8, f"vary-activation-{s}".encode())
        acts = frozenset(r["questions"][0]["params"]["activation"] for r in manifest["versions"])
        assert acts <= {"sigmoid", "tanh"} or acts == {"relu"}, acts  # relu takes a minute longer
        mixes.add(acts)
    assert frozenset({"sigmoid", "tanh"}) in mixes


@pytest.mark.parametrize(
    "first, second, why",
    [
        ("init-variance-sigmoid", "init-sigmoid-unit", "both ask init-unit-variance-sigma"),  # the midterm's pair
        ("scalar-rnn-backprop-small-weight", "shared-weight-gradient-sum", "both ask shared-weight-gradient-sum"),
        ("ridge-map-estimate", "ridge-map-prior", "gives away ridge-gaussian-prior-model"),
        ("lstm-cell-state-gradient", "resnet-skip-vs-lstm-cell", "both ask lstm-cell-state-jacobian"),
    ],
)
def test_the_shipped_bank_keeps_apart_items_that_answer_each_other(tmp_path, first, second, why):
    text = f"title: Pair\nsections:\n  - slots:\n      - item: {first}\n      - item: {second}\n"
    with pytest.raises(InputError, match=f"item '{second}' conflicts with item '{first}'.*{why}"):
        plan_exam(load_blueprint(write(tmp_path, text, "exam.yaml")), 1, b"pair-secret-0123")


def test_qbank_bank_warns_about_items_that_give_answers_away():
    from conftest import run_qbank

    proc = run_qbank("bank")
    assert proc.returncode == 0, proc.stderr
    assert "warning: ridge-map-estimate gives away what ridge-map-prior asks (ridge-gaussian-prior-model)" in proc.stderr
    assert "warning: lstm-vs-rnn-gradients gives away what lstm-cell-state-gradient asks" in proc.stderr
    listed = run_qbank("bank", "--conflicts").stderr
    assert "note: init-sigmoid-unit and init-variance-sigmoid both ask" in listed


def test_a_pool_of_unequal_items_is_reported(tmp_path):
    from qbank.exam import fairness_report

    text = "title: Pool\nduration: 30 minutes\nsections:\n  - slots:\n      - from: {ids: [lstm-cell-state-gradient, tanh-vs-relu-rnn]}\n"
    lines = fairness_report(plan_exam(load_blueprint(write(tmp_path, text, "exam.yaml")), 12, b"unequal-pool-secret"))
    assert any(line.startswith("note: slot s1.1 gives some versions 1.5 and others 7.5 min") for line in lines), lines


def test_a_fixed_slot_whose_draw_would_conflict_draws_its_structure_again(tmp_path):
    """mlp-backprop asks the softmax cross-entropy gradient only when its loss is drawn as cross-entropy:
    beside softmax-cross-entropy it is drawn with the squared error, whatever the key, never refused for
    some keys and built for others."""
    text = ("title: T\nsections:\n  - slots:\n      - family: softmax-cross-entropy\n        points: 5\n"
            "      - family: mlp-backprop\n        points: 5\n")
    bp = load_blueprint(write(tmp_path, text, "exam.yaml"), Bank({}))
    for s in range(16):
        manifest = plan_exam(bp, 2, f"structure-redraw-secret-{s}".encode())
        assert {v["questions"][1]["params"]["loss"] for v in manifest["versions"]} == {"mse"}
    alone = load_blueprint(write(tmp_path, text.replace("softmax-cross-entropy", "conv1d-forward"), "alone.yaml"), Bank({}))
    losses = {plan_exam(alone, 1, f"structure-redraw-secret-{s}".encode())["versions"][0]["questions"][1]["params"]["loss"]
              for s in range(16)}
    assert losses == {"mse", "ce"}  # alone, both losses are drawn
