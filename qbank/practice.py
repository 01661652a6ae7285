"""Practice sets for students: a few bank items on chosen topics, problems first, then solutions."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Sequence

from .bank import item_to_dict, load_bank
from .documents import Header, Question, problem_and_solution
from .engine import draw
from .errors import InputError
from .exam import BuildOptions, question_fragments
from .fairness import LETTERS
from .latex import build_pdfs
from .workspace import default_out


def practice_set(
    out: Path | None,
    *,
    topics: Sequence[str] = (),
    tags: Sequence[str] = (),
    count: int = 5,
    seed: int | None = None,
    build: BuildOptions = BuildOptions(),
) -> list[Path]:
    bank = load_bank()
    known_topics = sorted({item.topic for item in bank.items.values()})
    for topic in topics:
        if topic not in known_topics:
            raise InputError(f"--topic: no bank item has topic {topic!r} (topics: {', '.join(known_topics)})")
    pool = bank.select(topics=topics, tags=tags)
    if not pool:
        raise InputError(f"no bank item matches topics {list(topics) or 'any'} with tags {list(tags)}")
    if count < 1:
        raise InputError(f"-n: expected a positive integer, got {count}")
    if seed is None:
        seed = secrets.randbelow(2**31)
    build.reporter.info(f"practice set seed {seed} (run again with --seed {seed} for the same set)")
    if len(pool) < count:
        build.reporter.info(f"only {len(pool)} item(s) match; the set has {len(pool)} problem(s)")
    import numpy as np  # late: the CLI imports this module for --help too

    rng = np.random.default_rng(seed)
    picks = [pool[int(i)] for i in rng.choice(len(pool), min(count, len(pool)), replace=False)]
    questions = []
    for index, item in enumerate(picks):
        entry = {"item": item_to_dict(item)}
        if item.parameterized:
            variant = draw(item.family, int(rng.integers(2**31)), item.params, constraints=item.ranges)
            entry.update(family=item.family, **{k: v for k, v in variant.to_dict().items() if k != "family"})
        elif item.kind == "multiple-choice":
            order = [int(i) for i in rng.permutation(len(item.choices))]
            entry.update(choice_order=order, correct=LETTERS[next(p for p, i in enumerate(order) if item.choices[i].correct)])
        problem, solution = question_fragments(entry, reverify=False)  # drawn and verified just above
        questions.append(Question(problem, solution, points=None))
    title = "Practice: " + (", ".join(topics) if topics else "all topics")
    header = Header(title=title, subtitle=f"seed {seed}" + (f", tags {', '.join(tags)}" if tags else ""))
    docs = problem_and_solution(questions, header, names=("problems", "solutions"))
    out = Path(out) if out else default_out("practice", str(seed))
    return build_pdfs(docs, out, jobs=build.jobs or 2, cache=build.cache, reporter=build.reporter, kind="practice")
