"""Every family's fairness card, checked the same way: the parts match the template and ask every
answer; draws held to a structure keep the structure, the working time and the part weights, and only
the numbers differ; structures are cheap to match."""

from __future__ import annotations

import json
import time

import pytest

from qbank.engine import draw, part_specs
from qbank.model import thaw
from qbank.registry import all_families
from qbank.render import render_fragments

FAMILIES = [f.id for f in all_families() if not f.id.startswith("test-")]


@pytest.mark.parametrize("family", FAMILIES)
def test_parts_match_the_template_and_ask_every_answer(family):
    for seed in range(12):
        variant = draw(family, seed)
        fam = all_families_by_id()[family]
        parts = part_specs(fam, variant.params)
        assert parts, f"{family} declares no parts"
        problem, _ = render_fragments(variant, part_points=[1] * len(parts))  # FamilyError on a mismatch
        assert problem.count("\\part[1]") == len(parts)
        asked = {name for part in parts for name in part.answers}
        given = {name for name, value in variant.answers.items() if value is not None}
        assert given <= asked, (family, seed, given - asked)
        assert all(isinstance(p.weight, int) and p.weight >= 1 for p in parts)


@pytest.mark.parametrize("family", FAMILIES)
def test_draws_held_to_a_structure_differ_only_in_their_numbers(family):
    fam = all_families_by_id()[family]
    start = time.perf_counter()
    for ref_seed in range(15):
        ref = draw(family, ref_seed)
        structure = fam.structure_of(ref.params)
        json.dumps(structure)  # recorded in manifests
        seen = {json.dumps(thaw(ref.params), sort_keys=True)}
        for k in range(4):
            other = draw(family, 10_000 + 7 * ref_seed + k, structure=structure)
            assert fam.structure_of(other.params) == structure
            assert fam.minutes(other.params) == fam.minutes(ref.params)
            assert [p.weight for p in fam.parts(other.params)] == [p.weight for p in fam.parts(ref.params)]
            seen.add(json.dumps(thaw(other.params), sort_keys=True))
        assert len(seen) >= 4, f"{family}: the structure {structure} gives too few different variants"
    assert time.perf_counter() - start < 20


def test_minutes_are_realistic_and_tags_are_names():
    import re

    tag = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
    for fam in all_families():
        if fam.id.startswith("test-"):
            continue
        for seed in range(10):
            minutes = fam.minutes(draw(fam, seed).params)
            assert 1 <= minutes <= 35, (fam.id, minutes)
        assert fam.asks and all(tag.match(t) for t in (*fam.asks, *fam.reveals)), fam.id


def all_families_by_id():
    return {f.id: f for f in all_families()}
