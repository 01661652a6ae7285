"""The family contract: a short card plus sample / solve / check, and the registry they live in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

from .errors import FamilyError
from .precision import Precision, exact, within

if TYPE_CHECKING:
    import numpy as np

ANSWER_KINDS = ("integer", "number", "vector", "matrix", "sequence", "text", "expression", "boolean", "table")


@dataclass(frozen=True)
class Answer:
    """How one asked value is asked and graded: its kind, what it is in words (`text`, for authors and
    the keys), and for numbers the `precision` it is asked to (qbank.precision: `exact()`,
    `decimals(n)`, `sig(n)`), from which its statement in the problem, its printing in the solution
    and its tolerance in every medium follow.

    - `symbol`: the answer as the problem writes it, LaTeX maths without $ (``\\partial J/\\partial W_2``),
      used when a part states different precisions for its answers;
    - `label`: the same as a student reads it in plain text ("dJ/dW2", "y-hat"), for the inputs of the
      practice site and the fields of an LMS quiz;
    - `index`: how positions inside the answer read, one format per level with {} for the position
      counted from 1 (("after step {}", "rank {}")); vectors read "entry i", matrices "row i, column j"
      by default;
    - `size_asked`: the number of entries of this vector or matrix is itself asked (by another part):
      no medium may show it, so the site takes the entries in one field ("3, -1, 4"; a matrix a row per
      line) instead of a cell per entry;
    - `keys`: how the keys of a table answer read ({"a_expr": "a_t as an expression"}); default: as
      they are;
    - `form`: the form of the answer in words, for the hint beside an input ("a polynomial in w"),
      never its value or formula;
    - `choices` lists every value a text answer can take ('left' or 'right'), so that a quiz can offer
      them as a choice.

    `tol` and `rel` are the old way to say how a number is graded (within max(tol, rel |v|)): still
    honoured, with a deprecation warning; give `precision` instead."""

    kind: str
    text: str
    tol: float = 0.0
    rel: float = 0.0
    choices: tuple[str, ...] = ()
    precision: Precision | None = None
    symbol: str = ""
    label: str = ""
    index: tuple[str, ...] = ()
    form: str = ""
    keys: Mapping[str, str] = field(default_factory=dict, hash=False)
    size_asked: bool = False

    @property
    def grading(self) -> Precision:
        """The precision this answer is graded with: its own, else the old tolerances (`within`), else exact."""
        if self.precision is not None:
            return self.precision
        if self.tol or self.rel:
            return within(self.tol, self.rel)
        return exact(whole=self.kind == "integer")

    @property
    def legacy(self) -> bool:
        """Whether the card grades this answer the old way, by `tol` / `rel` (deprecated)."""
        return self.precision is None and bool(self.tol or self.rel)

    def tolerance(self, value: float) -> float:
        """The absolute tolerance of the number `value` at this answer's precision."""
        return self.grading.tolerance(value)


@dataclass(frozen=True)
class Part:
    """One lettered part of a problem, in the order the template's problem block shows them: the
    answers it asks for (names from the card; none for a part answered in words) and its weight, its
    share of the question's points relative to the other parts."""

    answers: tuple[str, ...] = ()
    weight: float = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))


def shape_of(value: Any) -> Any:
    """What a param contributes to a problem's structure: a scalar (number, text, flag) its value, a
    list its dimensions ([5] for five entries, [2, 3] for two rows of three), a mapping its size."""
    if isinstance(value, (list, tuple)):
        dims = [len(value)]
        inner = [shape_of(v) for v in value]
        if inner and all(isinstance(v, list) for v in inner) and all(v == inner[0] for v in inner):
            dims += inner[0]
        return dims
    if isinstance(value, Mapping):
        return [len(value)]
    return value


class Family:
    """Base class of a problem family. Subclasses set the card attributes and the three methods.

    - ``sample(rng)`` draws every random choice and returns plain JSON data (ints, floats, lists, dicts).
    - ``validate(params)`` checks the types and shapes of params (pinned or drawn) and returns them
      normalised; it raises ``ParamError`` naming the field and what was expected.
    - ``degenerate(params)`` returns a reason when the draw makes a bad problem (singular, tied...),
      else None; the engine then draws again, a bounded number of times.
    - ``solve(params)`` computes every asked value.
    - ``check(params, answers)`` verifies them by a method independent of ``solve``; it raises
      ``AssertionError`` (or VerificationError) on any mismatch.
    - ``context(params, answers)`` may add derived display data for the template (layout, not logic).

    The card also says what makes two variants equally hard, for fair exams:

    - ``structure``: the params that set a problem's shape and effort (sizes, stride, activation...).
      A scalar counts by value, a list by its dimensions (see ``shape_of``). All versions of an exam
      slot share the structure; only the numbers differ. ``structure_of`` may add derived features.
    - ``parts(params)``: the lettered parts, in template order, with the answers each asks for and
      their weights (the split of a question's points); the template's problem block shows exactly
      that many ``\\part`` commands.
    - ``minutes(params)``: the working time a strong student needs, by hand, in minutes.
    - ``asks`` / ``reveals``: tags of what the problem asks for and what its text gives away; no exam
      version holds two questions asking the same thing, or one revealing what another asks.

    ``replaces``: a course family (in a workspace's generators/) whose id a built-in family also has is used
    in its place, with a one-line warning naming both files; ``replaces = "ID"`` (its own id) says that is
    meant and silences the warning. No other family may take an id that is taken (see ``register``).
    """

    id: ClassVar[str]
    title: ClassVar[str]
    topic: ClassVar[str]
    difficulty: ClassVar[int] = 2
    answers: ClassVar[Mapping[str, Answer]]
    template: ClassVar[str] = ""
    max_tries: ClassVar[int] = 500
    structure: ClassVar[tuple[str, ...]] = ()
    asks: ClassVar[tuple[str, ...]] = ()
    reveals: ClassVar[tuple[str, ...]] = ()
    # the common mistakes its draws must tell from the right answer: {in words: params -> {answer: wrong
    # value}}, and whether one scores by any number ("number") or by a whole answer ("answer", or a
    # mapping answer -> unit): see qbank.grading.scoring_mistake
    mistakes: ClassVar[Mapping[str, Callable[[Mapping[str, Any]], Mapping[str, Any]]]] = {}
    mistake_unit: ClassVar[str | Mapping[str, str]] = "number"
    replaces: ClassVar[str] = ""  # a course family taking the place of the built-in family of its own id

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        return params

    def degenerate(self, params: Mapping[str, Any]) -> str | None:
        return None

    def solve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, params: Mapping[str, Any], answers: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def context(self, params: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def structure_of(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The structural features of a variant: every `structure` param by value or dimensions."""
        return {name: shape_of(params[name]) for name in self.structure}

    def parts(self, params: Mapping[str, Any]) -> Sequence[Part]:
        return ()

    def asks_of(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """What a variant asks: the card's `asks`, unless some of it depends on the params."""
        return self.asks

    def reveals_of(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return self.reveals

    def position_word(self, params: Mapping[str, Any], answer: str, level: int, position: int) -> str | None:
        """How position `position` (from 0) at list level `level` of answer `answer` reads, where that
        depends on the draw (the asked step of a gradient: "t = 12"); None: the card's `index` format,
        else "entry i"."""
        return None

    def minutes(self, params: Mapping[str, Any]) -> float | None:
        """None: not estimated (then the family's structure cannot `vary` within an exam slot)."""
        return None


_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
REGISTRY: dict[str, Family] = {}


def _validate_card(cls: type) -> None:
    where = f"family class {cls.__module__}.{cls.__qualname__}"
    for attr in ("id", "title", "topic", "answers"):
        if not getattr(cls, attr, None):
            raise FamilyError(f"{where}: the card needs a non-empty `{attr}`")
    if not _ID.match(cls.id):
        raise FamilyError(f"{where}: id {cls.id!r} must be lower-case words joined by '-'")
    if not isinstance(cls.difficulty, int) or not 1 <= cls.difficulty <= 5:
        raise FamilyError(f"{where}: difficulty must be an integer from 1 to 5")
    for name, spec in cls.answers.items():
        if not isinstance(spec, Answer) or spec.kind not in ANSWER_KINDS:
            raise FamilyError(f"{where}: answer {name!r} needs an Answer with kind in {ANSWER_KINDS}")
        if spec.precision is not None and not isinstance(spec.precision, Precision):
            raise FamilyError(f"{where}: answer {name!r}: precision must be exact(), decimals(n) or sig(n) "
                              f"from qbank.precision, got {spec.precision!r}")
        if spec.precision is not None and (spec.tol or spec.rel):
            raise FamilyError(f"{where}: answer {name!r} gives both a precision and tol/rel; keep the precision only")
        if not isinstance(spec.keys, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in spec.keys.items()):
            raise FamilyError(f"{where}: answer {name!r}: keys must map a table's keys to words, such as {{'a_expr': 'a_t'}}")
        if not isinstance(spec.index, tuple) or not all(isinstance(f, str) for f in spec.index):
            raise FamilyError(f"{where}: answer {name!r}: index must be a tuple of formats such as ('step {{}}',)")
    for method in ("sample", "solve", "check"):
        if getattr(cls, method) is getattr(Family, method):
            raise FamilyError(f"{where}: `{method}` is not implemented")
    for attr in ("structure", "asks", "reveals"):
        value = getattr(cls, attr)
        if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
            raise FamilyError(f"{where}: `{attr}` must be a tuple of names")
    if not isinstance(cls.replaces, str) or (cls.replaces and cls.replaces != cls.id):
        raise FamilyError(f"{where}: replaces = {cls.replaces!r}: a course family takes the place of the built-in "
                          f"family of its own id: write replaces = {cls.id!r}, or leave it out")


def _source_file(cls: type) -> str:
    """The file that defines a family class (its module's name when it has no file, e.g. `__main__`)."""
    import inspect
    import sys

    module = sys.modules.get(cls.__module__)
    try:
        return str(inspect.getsourcefile(module) or module.__file__) if module else cls.__module__
    except TypeError:
        return cls.__module__


def _class_line(cls: type) -> int | None:
    """The line of a class's `class` statement (below its decorators), when its source is at hand."""
    import inspect

    try:
        lines, first = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return None
    offset = next((i for i, text in enumerate(lines) if text.lstrip().startswith("class ")), 0)
    return first + offset


def _defined_at(cls: type) -> str:
    """`FILE line N (class NAME)`: where a family class is written."""
    line = _class_line(cls)
    return f"{_source_file(cls)}{f' line {line}' if line else ''} (class {cls.__qualname__})"


def register(cls: type[Family]) -> type[Family]:
    """Class decorator: validate the card and add the family to the registry.

    A family id belongs to one class of one file: the same id from another file (a plugin naming its
    family like a built-in one, whatever its class is called) or from another class of the same file
    is an error naming both. The same class registered again (its module imported twice) is fine.

    One exception: a course family (in the workspace's generators/) may take a built-in family's id, so
    that a course whose family id a later qbank ships keeps working. The course's family is then used
    everywhere in the built-in one's place (`SHADOWED` records the built-in class), with a one-line
    warning naming both files, which `replaces = "ID"` on the course's class silences. A family from
    QBANK_PATH, or another built-in one, never may."""
    import os

    try:
        _validate_card(cls)
    except FamilyError as exc:  # name the file, not the private module name the loader gives it
        detail = str(exc).replace(f"family class {cls.__module__}.{cls.__qualname__}", f"family class {cls.__qualname__}")
        line = _class_line(cls)
        raise FamilyError(f"{_source_file(cls)}{f': line {line}' if line else ''}: {detail}") from None
    if not cls.template:
        cls.template = f"{cls.topic}/{cls.id}.tex.j2"
    if cls.replaces and _origin(cls) != "course":
        line = _class_line(cls)
        raise FamilyError(f"{_source_file(cls)}{f': line {line}' if line else ''}: family {cls.id}: replaces = "
                          f"{cls.replaces!r}: only a course family (a workspace's generators/) may take the place of a "
                          "built-in one")
    _warn_legacy_tolerances(cls)
    existing = REGISTRY.get(cls.id)
    if existing is not None:
        first, second = type(existing), cls
        same_file = os.path.realpath(_source_file(first)) == os.path.realpath(_source_file(second))
        if same_file and first.__qualname__ == second.__qualname__:
            REGISTRY[cls.id] = cls()
            return cls
        pair = _shadowing(first, second)
        if pair is None:
            raise FamilyError(
                f"family id {cls.id!r} is defined twice: {_defined_at(first)} and {_defined_at(second)}; "
                "rename one of them (a family of your own cannot replace another)"
            )
        builtin, course = pair
        _check_shadowing_template(builtin, course)
        SHADOWED[cls.id] = builtin
        if course is second:
            REGISTRY[cls.id] = cls()
        if not course.replaces:
            _warn_shadowing(builtin, course)
        return cls
    REGISTRY[cls.id] = cls()
    return cls


# built-in family classes a course family has taken the place of, by id (see `register`)
SHADOWED: dict[str, type[Family]] = {}


def _origin(cls: type) -> str:
    """Where a family class is written: "built-in", "course", "QBANK_PATH" or "other" (qbank.paths.origins)."""
    from pathlib import Path

    from .paths import origins

    source = _source_file(cls)
    return origins()(Path(source)) if source.endswith(".py") else "other"


def _shadowing(first: type, second: type) -> tuple[type, type] | None:
    """(built-in class, course class) when one of two classes of one id is built-in and the other the
    course's, else None."""
    kinds = {_origin(first): first, _origin(second): second}
    if set(kinds) == {"built-in", "course"}:
        return kinds["built-in"], kinds["course"]
    return None


def _check_shadowing_template(builtin: type, course: type) -> None:
    """A course family in a built-in one's place must not share its template's name: qbank looks for
    templates in the built-in folder first, so the course family would be rendered with the other one."""
    if course.template == builtin.template:
        line = _class_line(course)
        raise FamilyError(
            f"{_source_file(course)}{f': line {line}' if line else ''}: family {course.id} takes the place of the "
            f"built-in family of {_defined_at(builtin)}, but its template name {course.template} is the built-in "
            "family's, whose template qbank finds first: give the course's family another topic, or a template "
            f"of its own (template = \"course/{course.id}.tex.j2\")"
        )


def _warn_shadowing(builtin: type, course: type) -> None:
    """One line per process and id: which course family stands in for which built-in one."""
    import sys

    if course.id in _WARNED_SHADOWING:
        return
    _WARNED_SHADOWING.add(course.id)
    print(
        f"qbank: warning: family id {course.id!r} is both the course's, {_defined_at(course)}, and a built-in "
        f"family's, {_defined_at(builtin)}: the course's is used (add replaces = {course.id!r} to its class to "
        "say so and silence this line, or rename it to use both)",
        file=sys.stderr,
    )


_WARNED_SHADOWING: set[str] = set()


def _warn_legacy_tolerances(cls: type) -> None:
    """One line per family whose card still grades numbers by `tol`/`rel` (deprecated, still honoured)."""
    import sys

    legacy = [name for name, spec in cls.answers.items() if spec.legacy]
    if legacy and cls.id not in _WARNED:
        _WARNED.add(cls.id)
        line = _class_line(cls)
        print(
            f"qbank: warning: {_source_file(cls)}{f' line {line}' if line else ''}: family {cls.id}: "
            f"Answer(..., tol=...) is deprecated ({', '.join(legacy)}); give precision=decimals(n), sig(n) or "
            "exact() from qbank.precision (graded within tol meanwhile, and the problem says so)",
            file=sys.stderr,
        )


_WARNED: set[str] = set()


def registered(predicate: Callable[[Family], bool] | None = None) -> list[Family]:
    return [f for f in REGISTRY.values() if predicate is None or predicate(f)]
