"""What makes the versions of an exam fair to hand out, apart from correct answers:

- answer letters: where the correct choice of a multiple-choice item stands, drawn from the secret,
  balanced per item over the versions and spread within each version (`LetterPlanner`);
- points: a question's points split over its parts by their weights, always summing to the question's
  points (`split_points`);
- conflicts: no version holds two questions that ask the same thing, or one that gives away what
  another asks (`Tags`, `conflict`);
- working time: the minutes a strong student needs, per question and per version (`minutes_of`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .errors import InputError

if TYPE_CHECKING:
    import numpy as np

LETTERS = "ABCDEFGH"

# --- answer letters ------------------------------------------------------------------------------------


class LetterPlanner:
    """Correct-answer positions for the multiple-choice items of every version of one exam.

    Each item draws its positions from a bag holding every position once (a shuffle bag): over the
    versions that show the item, each letter comes up equally often, in an order only the secret
    determines. Within one version the letters are spread: never all the same, and with 4 or more
    multiple-choice questions at least 3 distinct letters. When no position left in the bag keeps the
    spread possible, one outside it is taken, and the next bag holds that position once fewer: the
    counts stay balanced."""

    def __init__(self, rng_for_item):
        self._rng_for_item = rng_for_item  # item id -> numpy Generator (secret-keyed)
        self._bags: dict[str, list[int]] = {}
        self._ahead: dict[str, list[int]] = {}  # positions taken outside the bag, owed by the next bag
        self._rngs: dict[str, np.random.Generator] = {}

    def _bag(self, item_id: str, n: int) -> list[int]:
        if item_id not in self._rngs:
            self._rngs[item_id] = self._rng_for_item(item_id)
        bag = self._bags.setdefault(item_id, [])
        ahead = self._ahead.setdefault(item_id, [])
        while not bag:
            bag.extend(int(i) for i in self._rngs[item_id].permutation(n))
            for position in list(ahead):
                if position in bag:
                    bag.remove(position)
                    ahead.remove(position)
        return bag

    def version(self, items: Sequence[tuple[str, int]]) -> list[int]:
        """Positions (0-based) of the correct choice for one version's MC items, given as (id, n)."""
        sizes = [n for _, n in items]
        need = distinct_letters_needed(sizes)
        # a fresh order each version, so that the question whose letter the spread constrains most
        # (the last one placed) is a different one each time
        if "" not in self._rngs:
            self._rngs[""] = self._rng_for_item("")
        order = [int(i) for i in self._rngs[""].permutation(len(items))]
        chosen: list[int] = []
        result = [0] * len(items)
        for index, at in enumerate(order):
            item_id, n = items[at]
            bag = self._bag(item_id, n)
            rest = [sizes[j] for j in order[index + 1 :]]
            good = [p for p in bag if reachable_distinct([*chosen, p], rest) >= need]
            if good:
                position = good[0]
                bag.remove(position)
            else:
                outside = [p for p in range(n) if reachable_distinct([*chosen, p], rest) >= need] or list(range(n))
                position = outside[int(self._rngs[item_id].integers(len(outside)))]
                self._ahead[item_id].append(position)
            chosen.append(position)
            result[at] = position
        return result


def distinct_letters_needed(sizes: Sequence[int]) -> int:
    """How many distinct letters a version whose multiple-choice questions have `sizes` choices must
    show: 2 from two questions on, 3 from four on; but never more than m where m questions have at
    least m choices each (else the spread would pin one question's letter: a single 3-choice question
    among true/false ones would always be C)."""
    count = len(sizes)
    wanted = 3 if count >= 4 else (2 if count >= 2 else 1)
    h_index = max((m for m in range(1, count + 1) if sum(n >= m for n in sizes) >= m), default=0)
    return min(wanted, h_index)


def reachable_distinct(chosen: Sequence[int], sizes: Sequence[int]) -> int:
    """The most distinct positions a version can reach from `chosen` with more questions of `sizes`
    choices (smallest first, each taking the lowest position not yet used, is optimal: the positions
    of a question with n choices are 0..n-1, nested sets)."""
    used = set(chosen)
    for n in sorted(sizes):
        free = next((p for p in range(n) if p not in used), None)
        if free is not None:
            used.add(free)
    return len(used)


# --- points --------------------------------------------------------------------------------------------


def split_points(total: float, weights: Sequence[float], where: str) -> list[float]:
    """Split a question's points over its parts in proportion to their weights.

    Weights that already sum to the total (a bank item's own part points) are kept as they are.
    Otherwise each part gets its share rounded to whole points (half points when the total is not a
    whole number or too small to give every part a whole point), at least one unit each, the units
    left over going to the largest remainders (earlier parts first on a tie): the parts always add up
    to the question's points."""
    if not weights:
        return []
    if math.isclose(sum(weights), total):
        return [_plain(w) for w in weights]
    n = len(weights)
    for unit in (1.0, 0.5):
        units = total / unit
        if abs(units - round(units)) < 1e-9 and round(units) >= n:
            break
    else:
        raise InputError(
            f"{where}: {total:g} point(s) cannot be split over {n} parts "
            f"(each part needs at least half a point, and totals must be whole or half points)"
        )
    units, weight_sum = round(units), float(sum(weights))
    raw = [units * w / weight_sum for w in weights]
    shares = [max(1, math.floor(r)) for r in raw]
    while sum(shares) > units:  # the minimum of one unit each overshot: take from a share above it
        shares[max((i for i in range(n) if shares[i] > 1), key=lambda i: (shares[i] - raw[i], shares[i]))] -= 1
    order = sorted(range(n), key=lambda i: (-(raw[i] - shares[i]), i))
    for i in order[: units - sum(shares)]:
        shares[i] += 1
    return [_plain(s * unit) for s in shares]


def _plain(value: float) -> int | float:
    """2 rather than 2.0 (keys and pages print points as they are)."""
    return int(value) if float(value).is_integer() else float(value)


def part_labels(count: int) -> list[str]:
    return [chr(ord("a") + i) for i in range(count)]


# --- conflicts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tags:
    """What a question asks for and what its text gives away."""

    asks: frozenset[str] = frozenset()
    reveals: frozenset[str] = frozenset()


def item_tags(item: Any, params: Mapping[str, Any] | None = None) -> Tags:
    """What a bank item asks and gives away: its own tags, and its family's for a parameterized item
    (for these params, when some of the family's tags depend on them; else the card's)."""
    asks, reveals = set(item.asks), set(item.reveals)
    if item.parameterized:
        from .registry import get_family  # late: families load on first use

        fam = get_family(item.family)
        asks |= set(fam.asks_of(params) if params is not None else fam.asks)
        reveals |= set(fam.reveals_of(params) if params is not None else fam.reveals)
    return Tags(frozenset(asks), frozenset(reveals))


def bank_conflicts(items: Sequence[Any], focus: set[str] | None = None) -> tuple[list[str], list[str]]:
    """For `qbank bank`: warnings about items whose text or choices give away what another item asks,
    and notes about items that ask the same thing (never placed in one version); with `focus`, only
    the pairs holding at least one of those ids (a course's own items, against the whole bank)."""
    from .engine import draw  # late: the engine imports the registry

    def tags_of(item: Any) -> Tags:  # a parameterized item as its pins make it (seed 0, like its validation)
        params = draw(item.family, 0, item.params, constraints=item.ranges, structure=item.structure).params if item.parameterized else None
        return item_tags(item, params)

    warnings, notes = [], []
    tags = [(item, tags_of(item)) for item in sorted(items, key=lambda i: i.id)]
    for i, (a, ta) in enumerate(tags):
        for b, tb in tags[i + 1 :]:
            if focus is not None and a.id not in focus and b.id not in focus:
                continue
            # what a question gives away and asks itself (a formula to prove) conflicts as "both ask"
            for giver, taker, given in ((a, b, (ta.reveals - ta.asks) & tb.asks), (b, a, (tb.reveals - tb.asks) & ta.asks)):
                if given:
                    warnings.append(
                        f"{giver.id} gives away what {taker.id} asks ({', '.join(sorted(given))}): "
                        "no exam version holds both"
                    )
            same = ta.asks & tb.asks
            if same:
                notes.append(f"{a.id} and {b.id} both ask {', '.join(sorted(same))}: no exam version holds both")
    return warnings, notes


def conflict(a: Tags, b: Tags) -> str | None:
    """Why two questions may not share a version (asking the same thing, or one giving away what the
    other asks), or None."""
    same = sorted(a.asks & b.asks)
    if same:
        return f"both ask {same[0]}"
    given = sorted((a.reveals & b.asks) | (b.reveals & a.asks))
    if given:
        return f"one gives away {given[0]}, which the other asks"
    return None


# --- working time --------------------------------------------------------------------------------------

# A strong student's minutes for a conceptual item, when the bank gives none: reading and choosing, a
# paragraph, a blank cell of a table.
MINUTES_MC = 1.5
MINUTES_SHORT_ANSWER = 4.0
MINUTES_PER_PART = 2.5
MINUTES_PER_CELL = 0.75

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|hours?|min|minutes?)?\s*$", re.I)
_HOURS_MINUTES = re.compile(r"^\s*(\d+)\s*h(?:ours?)?\s*(\d+)\s*(?:min|minutes?)?\s*$", re.I)


def duration_minutes(text: str) -> float | None:
    """`80 minutes`, `90 min`, `2 hours`, `1 h 30 min` as minutes; None when the text says no time."""
    match = _HOURS_MINUTES.match(text or "")
    if match:
        return 60 * int(match.group(1)) + int(match.group(2))
    match = _DURATION.match(text or "")
    if not match:
        return None
    value, unit = float(match.group(1)), (match.group(2) or "min").lower()
    return value * 60 if unit.startswith("h") else value


def conceptual_minutes(item: Mapping[str, Any]) -> float:
    """The minutes of a conceptual item (as recorded in a manifest): its own, or a default by kind."""
    if item.get("minutes") is not None:
        return float(item["minutes"])
    if item["kind"] == "multiple-choice":
        return MINUTES_MC
    if item["kind"] == "fill-table":
        return MINUTES_PER_CELL * sum(isinstance(c, Mapping) for row in item["rows"] for c in row)
    return MINUTES_PER_PART * len(item["parts"]) if item.get("parts") else MINUTES_SHORT_ANSWER
