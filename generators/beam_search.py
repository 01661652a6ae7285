"""Beam search on a small decoder tree: the beam after each step, greedy decoding, the exhaustive optimum.

Log-probabilities are given to two decimals and every sum is done in integer hundredths, so totals are
exact and a tie is a tie. A sequence is a tuple of token indices inside this module and a string of
tokens joined by single spaces in params and answers.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any, Mapping

from qbank.draws import choice, integer, shuffled
from qbank.errors import GenerationError
from qbank.family import Answer, Family, Part, register
from qbank.grading import scoring_mistake
from qbank.params import ParamError, as_int, as_number, require_keys
from qbank.precision import decimals

FIELDS = ("vocab", "depth", "beam_width", "logp")
TOTALS = decimals(2)  # every total log-probability: a sum of two-decimal numbers
# Drawn tokens have at most five letters (as many as "start"), so that a tall tree leaves room beside it.
WORDS = ("token", "input", "deep", "model", "data", "layer", "learn", "train")
# (vocabulary size M, depth T, beam width k), drawn uniformly: k from 2 to 3 and below M, so that every step
# prunes, and M**T leaves that fit the figure with the problem text on one page. (M = 2 would need k = 1,
# which is greedy decoding.)
SHAPES = ((3, 2, 2), (3, 3, 2), (4, 2, 2), (4, 2, 3))
MAX_LEAVES = 27  # M**T complete sequences: the 3 x 3 x 3 tree is the largest checked on a page
MIN_HUNDREDTHS = 5  # each drawn next-token probability is at least 0.05
# Flat-ish distributions in the first T-1 steps (each token at least 20/100 for M = 3, 15/100 for M = 4) keep
# the early totals close, so that one confident distribution at the last step (PEAK: about 0.8 to 0.9 for one
# token) decides the optimum. Every drawn tree has one: under a prefix the beam keeps (beam search finds the
# optimum) or under the likeliest one it drops (a trap: it misses), half the time each, so that neither the
# answer nor the sight of a confident edge gives the outcome away. The other last steps are drawn more freely
# (LATE_FLOOR), so that greedy decoding ends where beam search does about half the time, in both cases.
EARLY_FLOOR = {3: 20, 4: 15}
LATE_FLOOR = {3: 10, 4: 8}
PEAK = {3: (82, 90), 4: (78, 85)}  # in hundredths; the other tokens share the rest, 0.05 or more each
TREE_TRIES = 1000  # trees drawn for one variant until the outcome is the drawn one and nothing ties
# Working time of a strong student, by hand, in seconds (integers: they are also the parts' weights):
# reading the problem and the tree; per step, about 10 s for each candidate (one two-decimal addition,
# written down) and 15 s to rank them and write the beam; greedy decoding, 10 s per step to pick the token
# and 10 s for its total; the optimum, 5 s per leaf total (most prefix totals are known from the beam by then)
# and a minute to compare and explain; the run time, 90 s for a four-line derivation.
READ_SECONDS = 60
CANDIDATE_SECONDS = 10
RANK_SECONDS = 15
GREEDY_STEP_SECONDS = 10
LEAF_SECONDS = 5
EXPLAIN_SECONDS = 60
RUNTIME_SECONDS = 90
TOKEN = re.compile(r"^[a-z][a-z0-9'-]{0,11}$")
RUNTIME = "O(T k M log M)"
# The tree figure, in mm. A column is as wide as the longest token (about CHAR_MM a letter in \small) plus
# LEVEL_GAP_MM for the elbow and the edge's label; leaves are closer in a bigger tree (up to so many leaves, so
# many mm apart), so that the problem, with its tallest tree (27 leaves), fits on one page.
LEVEL_GAP_MM = 13.0
CHAR_MM = 1.9
LEAF_PITCH_MM = ((9, 8.0), (16, 6.4), (MAX_LEAVES, 5.0))
BESIDE_ABOVE_LEAVES = 9  # a taller tree stands beside the parts, not above them

Seq = tuple[int, ...]


def prefix_key(words: Any) -> str:
    """The key of a prefix in `logp` and the text of a sequence in answers: tokens joined by spaces."""
    return " ".join(words)


def hundredths(x: float) -> int:
    return round(x * 100)


def as_total(h: int) -> float:
    """A total in hundredths as the float that prints with (at most) two decimals."""
    return round(h / 100, 2)


def composition(rng, m: int, floor: int, total: int = 100) -> list[int]:
    """M probabilities in hundredths, each at least `floor`, summing to `total`; uniform over such splits
    (stars and bars: M - 1 bars placed among the spare hundredths)."""
    spare = total - floor * m
    slots = spare + m - 1
    bars = sorted(int(b) for b in rng.choice(slots, m - 1, replace=False))
    edges = [-1, *bars, slots]
    return [floor + edges[i + 1] - edges[i] - 1 for i in range(m)]


def peaked(rng, m: int, lo: int, hi: int) -> list[int]:
    """A next-token distribution with one favourite: a random token gets lo/100 to hi/100, the others at least
    0.05 each."""
    top = integer(rng, lo, hi)
    rest = composition(rng, m - 1, MIN_HUNDREDTHS, 100 - top)
    j = integer(rng, 0, m - 1)
    return rest[:j] + [top] + rest[j:]


def log_hundredths(probabilities: list[int]) -> list[int]:
    """ln p rounded to two decimals, in hundredths."""
    return [round(100 * math.log(p / 100)) for p in probabilities]


def all_prefixes(m: int, depth: int) -> list[Seq]:
    """Every sequence of 0 to depth-1 tokens, shortest first."""
    return [seq for length in range(depth) for seq in itertools.product(range(m), repeat=length)]


def part_seconds(m: int, depth: int, width: int) -> list[int]:
    """Seconds per part: each step of the beam, greedy decoding, the optimum, the run time. Step t ranks the
    M extensions of each of the min(k, M**(t-1)) hypotheses kept after step t-1."""
    steps = [CANDIDATE_SECONDS * min(width, m**t) * m + RANK_SECONDS for t in range(depth)]
    greedy = GREEDY_STEP_SECONDS * (depth + 1)
    best = LEAF_SECONDS * m**depth + EXPLAIN_SECONDS
    return [*steps, greedy, best, RUNTIME_SECONDS]


# ---------------------------------------------------------------- validation


def _vocab(value: Any) -> list[str]:
    expected = "a list of 2 to 4 distinct tokens"
    if not isinstance(value, (list, tuple)) or not 2 <= len(value) <= 4:
        raise ParamError("vocab", expected, value)
    for i, token in enumerate(value):
        if not isinstance(token, str) or not TOKEN.match(token):
            raise ParamError(
                f"vocab[{i}]",
                "one lowercase word of 1 to 12 characters (letters, digits, ' or -; no spaces)",
                token,
            )
    if len(set(value)) != len(value):
        raise ParamError("vocab", expected + " (no token twice)", value)
    return list(value)


def _logp_row(value: Any, field: str, m: int) -> list[float]:
    expected = f"a list of {m} log-probabilities, one per vocab token"
    if not isinstance(value, (list, tuple)) or len(value) != m:
        raise ParamError(field, expected, value)
    row = []
    for j, x in enumerate(value):
        x = as_number(x, f"{field}[{j}]")
        if x >= 0 or abs(x * 100 - hundredths(x)) > 1e-6:
            raise ParamError(f"{field}[{j}]", "a negative log-probability with at most 2 decimals", x)
        row.append(as_total(hundredths(x)))
    mass = sum(math.exp(x) for x in row)
    if abs(mass - 1) > 0.02:
        expected = f"log-probabilities whose probabilities sum to 1 within 0.02 (they sum to {mass:.3f})"
        raise ParamError(field, expected, value)
    return row


def _logp_table(value: Any, vocab: list[str], depth: int) -> dict[str, list[float]]:
    if not isinstance(value, dict):
        expected = 'a mapping from each prefix ("" for the root) to its next-token log-probabilities'
        raise ParamError("logp", expected, value)
    keys = [prefix_key(vocab[i] for i in seq) for seq in all_prefixes(len(vocab), depth)]
    for key in value:
        if key not in keys:
            expected = f"keys that are prefixes of 0 to {depth - 1} vocab tokens joined by single spaces"
            raise ParamError("logp", expected, key)
    table = {}
    for key in keys:
        field = f'logp["{key}"]'
        if key not in value:
            raise ParamError(field, f"a list of {len(vocab)} log-probabilities for this prefix (it is missing)", None)
        table[key] = _logp_row(value[key], field, len(vocab))
    return table


# ---------------------------------------------------------------- search (in hundredths)


def hundredths_table(params: Mapping[str, Any]) -> dict[Seq, list[int]]:
    index = {token: i for i, token in enumerate(params["vocab"])}
    return {
        tuple(index[w] for w in key.split()): [hundredths(x) for x in row] for key, row in params["logp"].items()
    }


def beam_steps(table: Mapping[Seq, list[int]], m: int, depth: int, width: int) -> list[list[tuple[Seq, int]]]:
    """The candidates of every step, best first (ties broken by sequence, for a stable display); the beam
    after a step is the first `width` of its candidates."""
    beam: list[tuple[Seq, int]] = [((), 0)]
    steps = []
    for _ in range(depth):
        candidates = [(seq + (j,), total + table[seq][j]) for seq, total in beam for j in range(m)]
        candidates.sort(key=lambda c: (-c[1], c[0]))
        steps.append(candidates)
        beam = candidates[:width]
    return steps


def greedy_path(table: Mapping[Seq, list[int]], depth: int) -> tuple[Seq, int, bool]:
    """The greedy sequence, its total, and whether some step had a tie for the most likely token."""
    seq: Seq = ()
    total, tied = 0, False
    for _ in range(depth):
        row = table[seq]
        best = max(row)
        tied = tied or row.count(best) > 1
        seq, total = seq + (row.index(best),), total + best
    return seq, total, tied


def optimum(table: Mapping[Seq, list[int]], m: int, depth: int) -> list[tuple[Seq, int]]:
    """Every complete sequence with its total, best first: a beam as wide as the number of complete sequences
    never prunes, so it is exhaustive search."""
    return beam_steps(table, m, depth, m**depth)[-1]


def tie_reason(table: Mapping[Seq, list[int]], vocab: list[str], depth: int, width: int) -> str | None:
    """Why the tree makes a bad problem (a tie that the beam, greedy decoding or the optimum would have to break),
    or None."""
    m = len(vocab)

    def words(seq: Seq) -> str:
        return prefix_key(vocab[i] for i in seq)

    for t, candidates in enumerate(beam_steps(table, m, depth, width), start=1):
        ranked = candidates[: width + 1]
        for (a, ta), (b, tb) in zip(ranked, ranked[1:]):
            if ta == tb:
                return f'step {t}: "{words(a)}" and "{words(b)}" tie at {as_total(ta)} when the beam is chosen'
    if greedy_path(table, depth)[2]:
        return "greedy decoding meets a tie for the most likely next token"
    leaves = optimum(table, m, depth)
    if len(leaves) > 1 and leaves[0][1] == leaves[1][1]:
        return f'"{words(leaves[0][0])}" and "{words(leaves[1][0])}" tie for the most likely sequence'
    return None


# ---------------------------------------------------------------- mistakes a draw must separate from the answer


def mistaken_beams(table: Mapping[Seq, list[int]], m: int, depth: int, width: int, rank) -> list[list[tuple[Seq, int]]]:
    """The beam after every step, (sequence, total) best first, of a student who extends the kept hypotheses
    by every token but keeps the `width` candidates that `rank` puts first. `rank` takes (sequence, total,
    last token's log-probability), in hundredths, and gives a sort key."""
    beam: list[tuple[Seq, int]] = [((), 0)]
    steps = []
    for _ in range(depth):
        candidates = [(seq + (j,), total + table[seq][j], table[seq][j]) for seq, total in beam for j in range(m)]
        candidates.sort(key=rank)
        beam = [(seq, total) for seq, total, _ in candidates[:width]]
        steps.append(beam)
    return steps


def lowest_totals_beams(table: Mapping[Seq, list[int]], m: int, depth: int, width: int) -> list[list[tuple[Seq, int]]]:
    """Keeping the candidates with the lowest totals (the largest numbers without their minus sign)."""
    return mistaken_beams(table, m, depth, width, lambda c: (c[1], c[0]))


def per_hypothesis_beams(table: Mapping[Seq, list[int]], m: int, depth: int, width: int) -> list[list[tuple[Seq, int]]]:
    """Keeping the best `width` extensions of every hypothesis (a beam that grows as width**t)."""
    beam: list[tuple[Seq, int]] = [((), 0)]
    steps = []
    for _ in range(depth):
        beam = [
            ext
            for seq, total in beam
            for ext in sorted(((seq + (j,), total + table[seq][j]) for j in range(m)), key=lambda c: (-c[1], c[0]))[:width]
        ]
        beam.sort(key=lambda c: (-c[1], c[0]))
        steps.append(beam)
    return steps


def true_beams(table: Mapping[Seq, list[int]], m: int, depth: int, width: int) -> list[list[tuple[Seq, int]]]:
    return [candidates[:width] for candidates in beam_steps(table, m, depth, width)]


def _as_answer(vocab: list[str], steps: list[list[tuple[Seq, int]]]) -> list[list[dict[str, Any]]]:
    return [[{"sequence": prefix_key(vocab[i] for i in seq), "logp": as_total(total)} for seq, total in beam]
            for beam in steps]


def _mistake(search):
    """A card mistake from a mistaken search: params -> the beams it gives (nothing with a beam of width 1,
    where each step ranks the extensions of one hypothesis: every listed slip then keeps the right one)."""
    def beams(params: Mapping[str, Any]) -> dict[str, Any]:
        m, depth, width = len(params["vocab"]), params["depth"], params["beam_width"]
        if width == 1:
            return {}
        return {"beams": _as_answer(params["vocab"], search(hundredths_table(params), m, depth, width))}
    return beams




def finds_optimum(table: Mapping[Seq, list[int]], m: int, depth: int, width: int) -> bool:
    return beam_steps(table, m, depth, width)[-1][0][0] == optimum(table, m, depth)[0][0]


def greedy_is_beam(table: Mapping[Seq, list[int]], m: int, depth: int, width: int) -> bool:
    return greedy_path(table, depth)[0] == beam_steps(table, m, depth, width)[-1][0][0]


def confident_rows(
    rng, table: Mapping[Seq, list[int]], m: int, depth: int, width: int, finds: bool, same: bool
) -> list[Seq] | None:
    """The prefixes of depth-1 tokens whose last step gets a confident distribution, given the first depth-1
    steps; the first of them is to make the optimum. None when the drawn outcome cannot be built on these steps.

    Under a prefix the beam keeps, the optimum is found: greedy's own prefix when greedy decoding is to end where
    beam search does (`same`), another kept one when not. Under the likeliest prefix the beam drops, it is a
    trap: beam search misses the optimum (and whether greedy ends where beam search does is left to the flat
    rows). Where the shape drops more than one prefix, a decoy goes under another of them: a second confident
    row, which the beam cannot reach and which must not make the optimum, so that "follow the most confident
    edge" is no shortcut to the answer. (With one dropped prefix there is no room for a decoy in a trap, so
    there is none in any tree of that shape: how many confident rows a tree has says nothing.)"""
    every = [seq for seq, _ in beam_steps(table, m, depth - 1, m ** (depth - 1))[-1]]
    kept = [seq for seq, _ in beam_steps(table, m, depth - 1, width)[-1][:width]]
    dropped = [seq for seq in every if seq not in kept]
    greedy = greedy_path(table, depth - 1)[0]
    others = [seq for seq in kept if seq != greedy]
    if greedy not in kept or not others or not dropped:
        return None
    rows = [(greedy if same else choice(rng, others)) if finds else dropped[0]]
    if len(dropped) >= 2:
        rows.append(choice(rng, [seq for seq in dropped if seq not in rows]))
    return rows


def grow_tree(rng, vocab: list[str], depth: int, width: int, finds: bool, same: bool) -> dict[Seq, list[int]]:
    """A tree of log-probabilities in hundredths (depth 2 or more) on which beam search finds the optimum
    exactly when `finds`, greedy decoding ends where beam search does exactly when `same`, and nothing ties.
    The sampler settles all three itself, so the engine never rejects its trees and the outcomes stay the
    drawn ones."""
    m = len(vocab)
    for _ in range(TREE_TRIES):
        table = {seq: log_hundredths(composition(rng, m, EARLY_FLOOR[m])) for seq in all_prefixes(m, depth - 1)}
        rows = confident_rows(rng, table, m, depth, width, finds, same)
        if rows is None:
            continue
        for seq in itertools.product(range(m), repeat=depth - 1):
            row = peaked(rng, m, *PEAK[m]) if seq in rows else composition(rng, m, LATE_FLOOR[m])
            table[seq] = log_hundredths(row)
        if (
            tie_reason(table, vocab, depth, width) is None
            and finds_optimum(table, m, depth, width) == finds
            and greedy_is_beam(table, m, depth, width) == same
            and optimum(table, m, depth)[0][0][:-1] == rows[0]
        ):
            return table
    found = "finds" if finds else "misses"
    ends = "ends" if same else "does not end"
    raise GenerationError(
        f"beam-search: no tree of {m} tokens, depth {depth} and beam width {width} on which beam search {found} "
        f"the optimum and {ends} where greedy decoding does, without ties, after {TREE_TRIES} tries"
    )


# ---------------------------------------------------------------- the figure


def tree_layout(params: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The decoder tree as TikZ nodes and edges, growing to the right, coordinates in mm: x by depth, leaves
    evenly spaced from the top down, each parent at the mean height of its first and last child.

    Nodes come in preorder, each with its name, token, coordinates, total and solution flags (`optimal`: on the
    most likely sequence; `best`: its leaf). Edges are drawn in list order: the kept ones (the solution's thick
    blue) come last, so that the grey edges sharing their vertical stroke do not paint over them."""
    vocab, depth = params["vocab"], params["depth"]
    table = hundredths_table(params)
    kept = {hyp["sequence"] for beam in answers["beams"] for hyp in beam}
    best = answers["best"]["sequence"]
    best_words = best.split()
    optimal = {prefix_key(best_words[:i]) for i in range(1, depth + 1)}
    step = LEVEL_GAP_MM + CHAR_MM * max(len(w) for w in [*vocab, "start"])
    pitch = next(mm for most, mm in LEAF_PITCH_MM if len(vocab) ** depth <= most)
    leaf_rows = itertools.count()
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []

    def place(seq: Seq, total: int) -> dict[str, Any]:
        key = prefix_key(vocab[i] for i in seq)
        node = {
            "name": f"n{len(nodes)}",
            "token": vocab[seq[-1]] if seq else "",
            "root": not seq,
            "leaf": len(seq) == depth,
            "x": round(len(seq) * step, 2),
            "total": as_total(total),
            "optimal": key in optimal,
            "best": key == best,
        }
        nodes.append(node)
        if node["leaf"]:
            node["y"] = round(-next(leaf_rows) * pitch, 2)
            return node
        children = [place(seq + (j,), total + h) for j, h in enumerate(table[seq])]
        node["y"] = round((children[0]["y"] + children[-1]["y"]) / 2, 2)
        for j, child in enumerate(children):
            edges.append(
                {
                    "parent": node["name"],
                    "child": child["name"],
                    "logp": as_total(table[seq][j]),
                    "kept": prefix_key(vocab[i] for i in seq + (j,)) in kept,
                }
            )
        return node

    place((), 0)
    edges.sort(key=lambda e: e["kept"])  # stable: preorder within the grey and within the blue
    return {"nodes": nodes, "edges": edges}


# ---------------------------------------------------------------- the family


@register
class BeamSearch(Family):
    id = "beam-search"
    title = "Beam search versus greedy and exhaustive decoding"
    topic = "decoding"
    difficulty = 2
    # Every total is a sum of two-decimal log-probabilities, so it has two decimals itself: asked to 2 decimal
    # places, as the tree prints its numbers (the value is exact there: nothing to round).
    answers = {
        "beams": Answer("table", "the hypotheses kept after each step t = 1..T, best first, with totals",
                        precision=TOTALS, label="beams", index=("after step {}", "rank {}"),
                        form="the kept token sequences of each step, best first, with their total log-probabilities"),
        "greedy": Answer("table", "the greedy sequence and its total log-probability", precision=TOTALS,
                         label="greedy decoding", form="a token sequence and its total log-probability"),
        "best": Answer("table", "the most likely complete sequence and its total log-probability", precision=TOTALS,
                       label="most likely sequence", form="a token sequence and its total log-probability"),
        "beam_result": Answer("table", "what beam search returns (best of the final beam) and its total",
                              precision=TOTALS, label="beam search returns",
                              form="a token sequence and its total log-probability"),
        "beam_finds_optimum": Answer("boolean", "whether beam search returns the most likely sequence",
                                     label="beam search returns the most likely sequence"),
        "runtime": Answer("text", "run time of beam decoding with an RNN, in T, k and M", label="running time",
                          form="a big-O expression in T, k and M"),
    }
    # Slips in tracing the beam, as the beams they give (see `scoring_mistake`): `degenerate` refuses a tree
    # on which one gives the right beams (none of them can on a drawn tree: they keep other hypotheses at
    # step 1, or more of them). Three slips cannot be told apart on every tree, and are not listed:
    # - taking the best of the final beam for the optimum, or greedy decoding's result for beam search's:
    #   right exactly when beam search finds the optimum, or ends where greedy decoding does, which each
    #   tree does about half the time by design, so that neither the yes/no answer nor greedy's path gives
    #   an outcome away (the leaf totals of (c) and the steps of (b) show whether a student did the work);
    # - ranking the candidates by their last token's log-probability instead of their total: with two
    #   steps and k = 2 it keeps the right beam whenever the kept prefixes' totals are close, which the
    #   flat first rows make the rule (a tree that tells the two apart needs a first step so lopsided that
    #   it would show which outcome the tree has); it keeps the right beams on about 60 % of the drawn trees
#   (90 % of those with two steps and k = 2, a third of the others).
    mistake_unit = "answer"  # the beams of a step count as one answer (every total is exact)
    mistakes = {
        "keeping the lowest totals": _mistake(lowest_totals_beams),
        "keeping the best k extensions of every hypothesis": _mistake(per_hypothesis_beams),
    }

    # Fair versions: the tree's size and the beam set the work (candidates per step, leaves to total); the words,
    # the numbers and whether beam search finds the optimum do not (either way the optimum's part is a comparison
    # and a sentence or two).
    structure = ("vocab", "depth", "beam_width")
    asks = (
        "beam-search-trace",
        "greedy-decoding-trace",
        "most-likely-sequence",
        "beam-search-optimality",
        "beam-search-runtime",
    )
    reveals = ("beam-search-definition", "greedy-decoding-definition", "sequence-log-probability-sum")

    def sample(self, rng):
        m, depth, width = choice(rng, SHAPES)
        vocab = shuffled(rng, WORDS)[:m]
        finds, same = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        table = grow_tree(rng, vocab, depth, width, finds, same)
        logp = {prefix_key(vocab[i] for i in seq): [as_total(h) for h in row] for seq, row in table.items()}
        return {"vocab": vocab, "depth": depth, "beam_width": width, "logp": logp}

    def validate(self, params):
        require_keys(params, FIELDS)
        vocab = _vocab(params["vocab"])
        m = len(vocab)
        depth = as_int(params["depth"], "depth", 1, 4)
        if m**depth > MAX_LEAVES:
            raise ParamError(
                "depth", f"at most {MAX_LEAVES} complete sequences, M**T (the vocab has M = {m} tokens)", depth
            )
        width = as_int(params["beam_width"], "beam_width", 1, m**depth)
        return {
            "vocab": vocab,
            "depth": depth,
            "beam_width": width,
            "logp": _logp_table(params["logp"], vocab, depth),
        }

    def degenerate(self, params):
        table = hundredths_table(params)
        reason = tie_reason(table, params["vocab"], params["depth"], params["beam_width"])
        if reason is None:
            reason = scoring_mistake(self, params, {"beams": _as_answer(params["vocab"], true_beams(
                table, len(params["vocab"]), params["depth"], params["beam_width"]))})
        return reason

    def parts(self, params):
        """The beam after every step (one part, with a subpart per step), then greedy decoding, the optimum (and whether beam search finds it),
        the run time; weighted by the seconds each takes (see `part_seconds`)."""
        seconds = part_seconds(len(params["vocab"]), params["depth"], params["beam_width"])
        greedy, best, runtime = seconds[-3:]
        return (
            Part(("beams",), weight=sum(seconds[:-3])),  # one part, a subpart per step
            Part(("greedy",), weight=greedy),
            Part(("best", "beam_result", "beam_finds_optimum"), weight=best),
            Part(("runtime",), weight=runtime),
        )

    def minutes(self, params):
        seconds = part_seconds(len(params["vocab"]), params["depth"], params["beam_width"])
        return (READ_SECONDS + sum(seconds)) / 60

    def solve(self, params):
        vocab, depth, width = params["vocab"], params["depth"], params["beam_width"]
        m = len(vocab)
        table = hundredths_table(params)

        def hypothesis(seq: Seq, total: int) -> dict[str, Any]:
            return {"sequence": prefix_key(vocab[i] for i in seq), "logp": as_total(total)}

        beams = [[hypothesis(*c) for c in candidates[:width]] for candidates in beam_steps(table, m, depth, width)]
        best = hypothesis(*optimum(table, m, depth)[0])
        greedy_seq, greedy_total, _ = greedy_path(table, depth)
        return {
            "beams": beams,
            "greedy": hypothesis(greedy_seq, greedy_total),
            "best": best,
            "beam_result": beams[-1][0],
            "beam_finds_optimum": beams[-1][0]["sequence"] == best["sequence"],
            "runtime": RUNTIME,
        }

    def check(self, params, answers):
        """Brute force: the total of every prefix of every length, straight from the logp table."""
        vocab, depth, width, logp = params["vocab"], params["depth"], params["beam_width"], params["logp"]
        total: dict[str, int] = {}
        for length in range(1, depth + 1):
            for words in itertools.product(vocab, repeat=length):
                steps = (logp[" ".join(words[:i])][vocab.index(words[i])] for i in range(length))
                total[" ".join(words)] = sum(round(x * 100) for x in steps)

        def agrees(name: str, hyp: Mapping[str, Any], sequence: str) -> None:
            assert hyp["sequence"] == sequence, f"{name}: {hyp['sequence']!r}, brute force says {sequence!r}"
            assert abs(hyp["logp"] * 100 - total[sequence]) < 0.5, (
                f"{name}: total {hyp['logp']} for {sequence!r}, brute force gives {total[sequence] / 100}"
            )

        complete = sorted((s for s in total if len(s.split()) == depth), key=lambda s: -total[s])
        agrees("best", answers["best"], complete[0])
        assert len(complete) == 1 or total[complete[0]] > total[complete[1]], "the optimum is not unique"

        greedy = ""
        for _ in range(depth):
            greedy = max((f"{greedy} {w}".strip() for w in vocab), key=total.__getitem__)
        agrees("greedy", answers["greedy"], greedy)

        beams = answers["beams"]
        assert len(beams) == depth, f"beams has {len(beams)} steps, expected {depth}"
        previous = [""]
        for t, beam in enumerate(beams, start=1):
            candidates = {f"{p} {w}".strip() for p in previous for w in vocab}
            kept = [hyp["sequence"] for hyp in beam]
            assert len(kept) == min(width, len(candidates)), f"step {t}: beam holds {len(kept)} hypotheses"
            assert set(kept) <= candidates, f"step {t}: {kept} are not all extensions of the step-{t - 1} beam"
            for hyp in beam:
                agrees(f"step {t}", hyp, hyp["sequence"])
            totals = [total[s] for s in kept]
            assert all(a > b for a, b in zip(totals, totals[1:])), f"step {t}: beam not strictly sorted, {totals}"
            dropped = [total[s] for s in candidates - set(kept)]
            assert not dropped or min(totals) > max(dropped), (
                f"step {t}: a discarded candidate scores {max(dropped) / 100} >= kept {min(totals) / 100}"
            )
            previous = kept

        assert answers["beam_result"] == beams[-1][0], "beam_result is not the best of the final beam"
        found = beams[-1][0]["sequence"] == complete[0]
        assert answers["beam_finds_optimum"] == found, f"beam_finds_optimum should be {found}"
        assert answers["runtime"] == RUNTIME, f"runtime {answers['runtime']!r}"

    def context(self, params, answers):
        """Display data: the tree figure's layout, each step's candidates, where the optimum was pruned."""
        vocab, depth = params["vocab"], params["depth"]
        logp = params["logp"]
        best_words = answers["best"]["sequence"].split()
        optimal = {prefix_key(best_words[:i]) for i in range(1, depth + 1)}

        steps = []
        previous = [{"sequence": "", "logp": 0.0}]
        for t, beam in enumerate(answers["beams"], start=1):
            chosen = [hyp["sequence"] for hyp in beam]
            candidates = []
            for parent in previous:
                for w, x in zip(vocab, logp[parent["sequence"]]):
                    sequence = prefix_key([*parent["sequence"].split(), w])
                    candidates.append(
                        {
                            "sequence": sequence,
                            "parent_logp": parent["logp"],
                            "logp": x,
                            "total": as_total(hundredths(parent["logp"]) + hundredths(x)),
                            "kept": sequence in chosen,
                            "optimal": sequence in optimal,
                        }
                    )
            candidates.sort(key=lambda c: -c["total"])
            steps.append({"t": t, "candidates": candidates, "beam": beam, "all_kept": len(candidates) == len(beam)})
            previous = beam

        pruned = None
        for step in steps:
            lost = [c for c in step["candidates"] if c["optimal"] and not c["kept"]]
            if lost:
                rest = as_total(hundredths(answers["best"]["logp"]) - hundredths(lost[0]["total"]))
                pruned = {"t": step["t"], "candidate": lost[0], "last_kept": step["beam"][-1], "rest": rest}
                break

        def path_terms(sequence: str) -> list[float]:
            words = sequence.split()
            return [logp[prefix_key(words[:i])][vocab.index(words[i])] for i in range(len(words))]

        greedy_words = answers["greedy"]["sequence"].split()
        greedy_steps = [
            {"prefix": prefix, "options": list(zip(vocab, logp[prefix])), "token": greedy_words[i]}
            for i, prefix in enumerate(prefix_key(greedy_words[:i]) for i in range(depth))
        ]
        return {
            "m": len(vocab),
            "tree": tree_layout(params, answers),
            "steps": steps,
            "pruned": pruned,
            "best_terms": path_terms(answers["best"]["sequence"]),
            "greedy_terms": path_terms(answers["greedy"]["sequence"]),
            "greedy_steps": greedy_steps,
            "leaf_count": len(vocab) ** depth,
            "tree_beside": len(vocab) ** depth > BESIDE_ABOVE_LEAVES,
        }
