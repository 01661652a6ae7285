"""Planning an exam: every random choice of every version, recorded in the manifest.

For each version, from the secret: which items the pools pick (never two that conflict), the order of
the questions, the numbers of every parameterized question and the letters of the multiple-choice
answers. What makes the versions fair is decided once per exam, before any version is drawn:

- the structure of each parameterized slot (sizes, stride, activation...; the family's `structure`)
  is drawn once from the secret and then held for every version, so that all versions of a slot get
  a problem of the same shape and effort; a slot or bank item may `vary` some features on purpose,
  and then every version must still need the same working time (the family's `minutes`, within
  MINUTES_TOLERANCE);
- the letters come from a shuffle bag per item (qbank.fairness.LetterPlanner);
- the points of a question are split over its parts by their weights (qbank.fairness.split_points).

Whose seeds: a `--versions` build's version v draws from the number v (versions 1..N stay the same as
N grows); a roster's student from `student:ID`, never from the row, so that two rosters never give two
students the same numbers by position; a make-up (`EarlierExams`) from `makeup:LABEL:...`, and none of
its parameterized questions repeats the numbers of a version of the exams it makes up for, nor any of
their version codes. An LMS quiz draws all of it from its own seed domain (qbank.keys.QUIZ_DOMAIN).
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .bank import Item, item_to_dict
from .blueprint import Blueprint, Slot
from .engine import describe_structure, draw, part_specs
from .errors import InputError, QbankError
from .fairness import LETTERS, LetterPlanner, Tags, conceptual_minutes, conflict, item_tags, part_labels, split_points
from .grading import grading_record
from .keys import EXAM_DOMAIN, question_seed, secret_fingerprint, version_code
from .registry import get_family
from .toolinfo import tool_versions

if TYPE_CHECKING:
    import numpy as np

MANIFEST_FORMAT = 3  # 3: per answer its precision and tolerances (`grading`); per slot the working time
MAX_REDRAWS = 100
MINUTES_TOLERANCE = 0.10  # versions of a slot that varies on purpose: working times within 10 %


@dataclass(frozen=True)
class SlotStructure:
    """What every version of one parameterized item in one slot shares."""

    structure: dict[str, Any]  # the fixed structural features
    vary: tuple[str, ...]  # the features allowed to differ
    minutes: float | None  # the working time all versions must match when something varies
    tags: Tags  # what the item asks and gives away with this structure

    def describe(self) -> str:
        text = describe_structure(self.structure)
        if self.vary:
            text += f"; varies: {', '.join(self.vary)}"
            if self.minutes is not None:
                text += f" (every version about {self.minutes:g} min)"
        return text


@dataclass(frozen=True)
class EarlierExams:
    """What a make-up exam must not repeat: the exams it makes up for (`exams`, as its manifest records
    them), every version code they printed, and per family the params of every version they drew."""

    exams: tuple[dict[str, Any], ...] = ()
    codes: frozenset[str] = frozenset()
    params: Mapping[str, frozenset[str]] = field(default_factory=dict)  # family id -> canonical params

    @property
    def label(self) -> str:
        """The make-up's seed label: the same set of earlier exams, the same make-up."""
        return hashlib.sha256("\n".join(sorted(self.codes)).encode()).hexdigest()[:16]


def earlier_exams(manifests: Sequence[tuple[str, Mapping[str, Any]]]) -> EarlierExams:
    """The `EarlierExams` of exam manifests, each given with the folder it was read from."""
    exams, codes, params = [], set(), {}
    for folder, manifest in manifests:
        for record in manifest["versions"]:
            codes.add(record["code"])
            for entry in record["questions"]:
                if entry["item"].get("family"):
                    params.setdefault(entry["family"], set()).add(_canonical(entry["params"]))
        exams.append({
            "folder": folder,
            "blueprint": {"path": manifest["blueprint"]["path"], "sha256": manifest["blueprint"]["sha256"]},
            "secret_fingerprint": manifest.get("secret_fingerprint"),
            "versions": len(manifest["versions"]),
        })
    return EarlierExams(tuple(exams), frozenset(codes), {k: frozenset(v) for k, v in params.items()})


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


STRUCTURE_ATTEMPTS = 20  # draws of a fixed slot's structure before a conflict is an error


def plan_structures(bp: Blueprint, secret: bytes, domain: str = EXAM_DOMAIN) -> dict[tuple[str, str], SlotStructure]:
    """Per (slot label, item id) of every parameterized item a slot may hold: one reference draw from
    the secret, whose structure (less the features the slot or item lets vary) every version keeps.
    Items of one family in one pool share what their pins allow: a later item takes the first one's
    structure, less the features its own pins set otherwise (a vanishing and an exploding gradient
    item share T and the matrix size, not the regime)."""
    plans = {}
    fixed_tags: list[Tags] = []  # of the fixed slots before this one
    for section in bp.sections:
        for slot in section.slots:
            first: dict[str, dict[str, Any]] = {}  # family -> the structure of its first item in this pool
            for item in slot.pool:
                if not item.parameterized:
                    if len(slot.pool) == 1:
                        fixed_tags.append(item_tags(item))
                    continue
                fam = get_family(item.family)
                reference = None
                # a fixed slot whose draw asks what an earlier fixed slot asks (mlp-backprop's loss drawn as
                # cross-entropy beside softmax-cross-entropy) draws its structure again, from the secret, so
                # that whether a blueprint builds does not depend on the key; the first draw stays as it was
                for attempt in range(STRUCTURE_ATTEMPTS if len(slot.pool) == 1 else 1):
                    label = f"{slot.label}:structure:{item.id}" + (f":{attempt}" if attempt else "")
                    seed = question_seed(secret, bp.digest, 0, label, domain=domain)
                    candidate = draw(fam, seed, item.params, constraints=item.ranges, structure=item.structure)
                    reference = reference or candidate
                    if not any(conflict(item_tags(item, candidate.params), other) for other in fixed_tags):
                        reference = candidate
                        break
                if fam.id in first:
                    reference = _shared_reference(fam, seed, item, first[fam.id]) or reference
                vary = tuple(dict.fromkeys((*slot.vary, *item.vary)))
                features = fam.structure_of(reference.params)
                first.setdefault(fam.id, features)
                plans[(slot.label, item.id)] = SlotStructure(
                    {k: v for k, v in features.items() if k not in vary},
                    vary,
                    fam.minutes(reference.params),
                    item_tags(item, reference.params),
                )
                if len(slot.pool) == 1:
                    fixed_tags.append(plans[(slot.label, item.id)].tags)
    return plans


def _shared_reference(fam, seed: int, item: Item, shared: Mapping[str, Any]):
    """A reference draw for `item` with `shared`, less the features the item's pins hold at another
    value (those that a few draws of the item all give, differently from `shared`); None when even
    that cannot be drawn."""
    samples = [fam.structure_of(draw(fam, s, item.params, constraints=item.ranges).params) for s in range(1, 7)]
    held = {k for k in shared if all(f.get(k) == samples[0].get(k) != shared[k] for f in samples)}
    try:
        return draw(fam, seed, item.params, constraints=item.ranges, structure={
            **{k: v for k, v in shared.items() if k not in held}, **item.structure})
    except QbankError:
        return None


def slot_tags(bp: Blueprint, structures: Mapping[tuple[str, str], SlotStructure]) -> dict[tuple[str, str], Tags]:
    """The tags of every (slot, item) the blueprint may place."""
    return {
        (slot.label, item.id): structures[(slot.label, item.id)].tags if item.parameterized else item_tags(item)
        for section in bp.sections
        for slot in section.slots
        for item in slot.pool
    }


def check_fixed_conflicts(bp: Blueprint, tags: Mapping[tuple[str, str], Tags]) -> None:
    """Slots that always hold the same item must not conflict: that would be in every version."""
    fixed = [(slot, slot.pool[0]) for section in bp.sections for slot in section.slots if len(slot.pool) == 1]
    for i, (slot_a, a) in enumerate(fixed):
        for slot_b, b in fixed[i + 1 :]:
            why = conflict(tags[(slot_a.label, a.id)], tags[(slot_b.label, b.id)])
            if why:
                raise InputError(
                    f"{slot_b.source}: item {b.id!r} conflicts with item {a.id!r} ({slot_a.source}): {why}; "
                    "every version would hold both (use a pool, or another item)"
                )


def plan_exam(
    bp: Blueprint,
    versions: int,
    secret: bytes,
    students: list[dict[str, str]] | None = None,
    *,
    domain: str = EXAM_DOMAIN,
    earlier: EarlierExams | None = None,
) -> dict[str, Any]:
    """Every version of the exam (one per student of `students`, else `versions`), drawn from `secret`
    in the seed `domain`; with `earlier`, a make-up of those exams (see the module's docstring)."""
    import numpy as np  # late: the CLI's --help imports this module

    fingerprint = _started(secret_fingerprint, secret, bp.digest)  # slow on purpose (scrypt): beside the drawing
    structures = plan_structures(bp, secret, domain)
    tags = slot_tags(bp, structures)
    check_fixed_conflicts(bp, tags)
    keys = [f"student:{student['id']}" for student in students] if students else list(range(1, versions + 1))
    build: int | str = 0  # what the letters' shuffle bags are drawn for: one build
    if students:
        build = "roster:" + hashlib.sha256("\n".join(sorted(str(k) for k in keys)).encode()).hexdigest()[:16]
    if earlier is not None:
        keys = [f"makeup:{earlier.label}:{key}" for key in keys]
        build = f"makeup:{earlier.label}:{build}"
    letters = LetterPlanner(lambda item_id: np.random.default_rng(
        question_seed(secret, bp.digest, build, f"letters:{item_id}", domain=domain)))
    planner = _VersionPlanner(bp, secret, structures, tags, letters, domain, earlier or EarlierExams())
    records = []
    codes = set(earlier.codes) if earlier is not None else set()
    for v, key in enumerate(keys, start=1):
        student = students[v - 1] if students else None
        questions = planner.version(v, key)
        minutes = [q.get("minutes") for q in questions]
        records.append(
            {
                "version": v,
                "code": _new_code(secret, bp.digest, key, domain, codes),
                "folder": student["id"] if student else f"v{v:02d}",
                "student": student,
                "minutes": None if None in minutes else round(sum(minutes), 1),
                "questions": questions,
            }
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        "tool": tool_versions(),
        "blueprint": {"path": str(bp.path), "sha256": bp.digest, "text": bp.text},
        "secret_fingerprint": fingerprint.result(),
        "header": bp.header,
        "layout": bp.layout,
        "cover": bp.cover,
        "answer_box": bp.answer_box,
        "structures": [
            {"slot": label, "item": item_id, "structure": plan.structure, "vary": list(plan.vary), "minutes": plan.minutes}
            for (label, item_id), plan in structures.items()
        ],
        "working_time": working_time(records),
        "versions": records,
    }
    # what only some builds have, so that a --versions build's manifest stays as it always was
    if students:
        manifest["seeds_by"] = "student"
    if domain:
        manifest["seed_domain"] = domain
    if earlier is not None:
        manifest["makeup_for"] = list(earlier.exams)
    return manifest


MAX_CODE_ATTEMPTS = 100


def _new_code(secret: bytes, digest: str, key: int | str, domain: str, taken: set[str]) -> str:
    """The version code of `key`, unless a version of this build or of an exam made up for has it
    already: then another, derived from the same key."""
    for attempt in range(MAX_CODE_ATTEMPTS):
        code = version_code(secret, digest, key if attempt == 0 else f"{key}:code:{attempt}", domain)
        if code not in taken:
            taken.add(code)
            return code
    raise QbankError(f"no new version code for {key} after {MAX_CODE_ATTEMPTS} attempts")


def _started(function, *args) -> Future:
    """`function(*args)` running in a thread of its own (scrypt lets go of the interpreter lock)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(function, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one task


class _VersionPlanner:
    """Draws one version at a time: `v` is its number in this build (for messages), `key` what its
    seeds derive from (see plan_exam)."""

    def __init__(self, bp: Blueprint, secret: bytes, structures, tags: Mapping[tuple[str, str], Tags], letters: LetterPlanner,
                 domain: str = EXAM_DOMAIN, earlier: EarlierExams = EarlierExams()):
        self.bp, self.secret, self.structures, self.tags, self.letters = bp, secret, structures, tags, letters
        self.domain, self.earlier = domain, earlier
        self.seen: dict[tuple[str, str], set[str]] = {}  # (slot, item) -> params already used by earlier versions

    def seed(self, key: int | str, label: str, attempt: int = 0) -> int:
        return question_seed(self.secret, self.bp.digest, key, label, attempt, domain=self.domain)

    def rng(self, key: int | str, *label: object) -> np.random.Generator:
        import numpy as np

        return np.random.default_rng(self.seed(key, ":".join(map(str, label))))

    def version(self, v: int, key: int | str) -> list[dict[str, Any]]:
        picks = self._pick_items(v, key)
        questions: list[dict[str, Any]] = []
        for s_index, section in enumerate(self.bp.sections, start=1):
            placed = [
                self._question(v, key, section.title, slot, k, item)
                for slot in section.slots
                for k, item in enumerate(picks[slot.label])
            ]
            if section.shuffle:
                placed = [placed[int(i)] for i in self.rng(key, "shuffle", s_index).permutation(len(placed))]
            for i, entry in enumerate(placed):
                entry["heading"] = section.title if i == 0 else ""
            questions += placed
        self._place_letters(key, questions)
        for number, entry in enumerate(questions, start=1):
            entry["number"] = number
        return questions

    def _pick_items(self, v: int, key: int | str) -> dict[str, list[Item]]:
        """The items of every slot: fixed slots first, then each pool picks among the items that are
        not used yet and conflict with nothing already placed."""
        slots = [slot for section in self.bp.sections for slot in section.slots]
        placed: list[tuple[str, Item]] = []  # (slot label, item)
        picks: dict[str, list[Item]] = {}
        for slot in sorted(slots, key=lambda s: len(s.pool) > 1):  # stable: fixed slots, then pools
            if len(slot.pool) == 1:
                picks[slot.label] = [slot.pool[0]]
                placed.append((slot.label, slot.pool[0]))
                continue
            rng = self.rng(key, "pool", slot.label)
            chosen: list[Item] = []
            for _ in range(slot.choose):
                eligible = [item for item in slot.pool if self._fits(slot.label, item, placed)]
                if not eligible:
                    raise InputError(self._no_fit_message(v, slot, placed, len(chosen)))
                item = eligible[int(rng.integers(len(eligible)))]
                chosen.append(item)
                placed.append((slot.label, item))
            picks[slot.label] = chosen
        return picks

    def _fits(self, label: str, item: Item, placed: list[tuple[str, Item]]) -> bool:
        mine = self.tags[(label, item.id)]
        return all(item.id != other.id and not conflict(mine, self.tags[(at, other.id)]) for at, other in placed)

    def _no_fit_message(self, v: int, slot: Slot, placed: list[tuple[str, Item]], picked: int) -> str:
        reasons = []
        for item in slot.pool:
            for at, other in placed:
                if item.id == other.id:
                    reasons.append(f"{item.id} is already in this version")
                    break
                why = conflict(self.tags[(slot.label, item.id)], self.tags[(at, other.id)])
                if why:
                    reasons.append(f"{item.id} conflicts with {other.id}: {why}")
                    break
        return (
            f"{slot.source}: version {v}: this pool has {picked} usable item(s) for choose: {slot.choose}; "
            f"the others are used or conflict ({'; '.join(reasons[:4])})"
        )

    def _question(self, v: int, key: int | str, section: str, slot: Slot, k: int, item: Item) -> dict[str, Any]:
        points = slot.points if slot.points is not None else item.points
        entry: dict[str, Any] = {
            "slot": slot.label,
            "section": section,
            "item": item_to_dict(item),
            "points": points,
            "pages": slot.pages,
        }
        where = f"{slot.source}: item {item.id!r}"
        if item.parameterized:
            entry.update(self._draw_unique(v, key, slot, k, item))
            fam = get_family(item.family)
            specs = part_specs(fam, entry["params"])
            shares = split_points(points, [p.weight for p in specs], where)
            entry["parts"] = [
                {"part": label, "points": share, "answers": list(spec.answers)}
                for label, share, spec in zip(part_labels(len(specs)), shares, specs)
            ]
            entry["minutes"] = fam.minutes(entry["params"])
        else:
            shares = split_points(points, list(item.part_points), where)
            entry["parts"] = [{"part": label, "points": share} for label, share in zip(part_labels(len(shares)), shares)]
            entry["minutes"] = conceptual_minutes(entry["item"])
        if item.kind == "multiple-choice":
            entry["choice_rng"] = (slot.label, k)  # the order is settled once the version's letters are known
        return entry

    def _draw_unique(self, v: int, key: int | str, slot: Slot, k: int, item: Item) -> dict[str, Any]:
        """A verified variant of the slot's structure whose params no earlier version used here, nor
        (a make-up) any version of the exams made up for, in any slot holding the family."""
        fam = get_family(item.family)
        plan = self.structures[(slot.label, item.id)]
        taken = self.seen.setdefault((slot.label, item.id), set())
        earlier = self.earlier.params.get(fam.id, frozenset())
        reason = "every draw repeated an earlier version" + (" or a version of the exam made up for" if self.earlier.exams else "")
        for attempt in range(MAX_REDRAWS):
            seed = self.seed(key, f"{slot.label}#{k}", attempt)
            try:
                variant = draw(fam, seed, item.params, constraints=item.ranges, structure=plan.structure)
            except QbankError as exc:
                raise QbankError(f"{slot.source}: item {item.id!r}, version {v}: {exc}") from None
            if not _same_effort(fam.minutes(variant.params), plan.minutes, MINUTES_TOLERANCE if plan.vary else 0.0):
                held = f"while varying {', '.join(plan.vary)}" if plan.vary else "with the slot's structure"
                reason = f"no draw needs the slot's {plan.minutes:g} minutes {held}"
                continue
            drawn = _canonical(variant.to_dict()["params"])
            fully_pinned = set(item.params) >= set(variant.params)  # every version the same, by the bank's choice
            if (drawn not in taken and drawn not in earlier) or fully_pinned:
                taken.add(drawn)
                data = variant.to_dict()
                return {
                    "family": fam.id,
                    "seed": seed,
                    "params": data["params"],
                    "answers": data["answers"],
                    "grading": grading_record(fam.answers, data["answers"]),
                }
        raise QbankError(
            f"{slot.source}: item {item.id!r}: no new variant after {MAX_REDRAWS} draws in version {v} ({reason}); "
            f"its params and ranges, with the slot's fixed structure ({plan.describe()}), leave too few "
            "distinct problems for this many versions"
        )

    def _place_letters(self, key: int | str, questions: list[dict[str, Any]]) -> None:
        """The correct letter of each multiple-choice question (see LetterPlanner), and the order of
        the other choices around it."""
        mc = [q for q in questions if "choice_rng" in q]
        positions = self.letters.version([(q["item"]["id"], len(q["item"]["choices"])) for q in mc])
        for entry, position in zip(mc, positions):
            choices = entry["item"]["choices"]
            correct = next(i for i, c in enumerate(choices) if c["correct"])
            others = [i for i in range(len(choices)) if i != correct]
            others = [others[int(j)] for j in self.rng(key, "choices", *entry.pop("choice_rng")).permutation(len(others))]
            entry["choice_order"] = others[:position] + [correct] + others[position:]
            entry["correct"] = LETTERS[position]


def _same_effort(minutes: float | None, reference: float | None, tolerance: float) -> bool:
    """Whether a version's working time matches the slot's reference: within `tolerance` of it (a slot
    that varies on purpose), else equal. A family that does not estimate it matches when nothing varies."""
    if minutes is None or reference is None:
        return minutes is None and reference is None and tolerance == 0.0
    return abs(minutes - reference) <= tolerance * reference + 1e-9


def working_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per slot, the spread of working time over the versions: its least and most minutes."""
    per_slot: dict[str, list[float]] = {}
    for record in records:
        for q in record["questions"]:
            if q.get("minutes") is not None:
                per_slot.setdefault(q["slot"], []).append(q["minutes"])
    order = sorted(per_slot, key=lambda slot: [int(n) for n in re.findall(r"\d+", slot)])  # s1.2 before s1.10
    return [{"slot": slot, "min": min(per_slot[slot]), "max": max(per_slot[slot])} for slot in order]
