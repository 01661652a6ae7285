"""Reading and validating parameters: pinned ones from a user, drawn ones from a sampler.

Every helper names the field and says what was expected, so a bad `--params` is one clear line.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import InputError
from .textfile import YAML_MAX_BYTES, read_text, size_text
from .yamlfile import MAX_DEPTH, MAX_DIGITS, field_name, load_located, too_many_digits


class ParamError(InputError):
    """A parameter has the wrong type, shape or range."""

    def __init__(self, field: str, expected: str, got: Any):
        self.field = field
        shown = json.dumps(got) if _jsonable(got) else repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        self.detail = f"expected {expected}, got {shown}"
        super().__init__(f"params.{field}: {self.detail}")

    @property
    def keys(self) -> tuple:
        """The field as keys: `signal[1]` is ("signal", 1), `logp.a.b` ("logp", "a", "b")."""
        keys: list = []
        for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", self.field):
            keys.append(int(index) if index else name)
        return tuple(keys)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" from {lo} to {hi}"
    if lo is not None:
        return f" of at least {lo}"
    if hi is not None:
        return f" of at most {hi}"
    return ""


def _count_text(lo: int, hi: int, noun: str) -> str:
    return f"{lo} {noun}" if lo == hi else f"{lo} to {hi} {noun}"


def as_int(value: Any, field: str, lo: int | None = None, hi: int | None = None) -> int:
    expected = "an integer" + _range_text(lo, hi)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(field, expected, value)
    if isinstance(value, float) and not value.is_integer():
        raise ParamError(field, expected, value)
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamError(field, expected, value)
    return value


def as_number(value: Any, field: str, lo: float | None = None, hi: float | None = None) -> int | float:
    """A finite int or float; integral floats become ints so that 2.0 and 2 render the same."""
    expected = "a number" + _range_text(lo, hi)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(field, expected, value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParamError(field, expected, value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ParamError(field, "true or false", value)
    return value


def as_choice(value: Any, field: str, options: Sequence[Any]) -> Any:
    if value not in options or isinstance(value, bool) != isinstance(options[0], bool):
        raise ParamError(field, "one of " + ", ".join(json.dumps(o) for o in options), value)
    return options[list(options).index(value)]  # the option itself: 1.0 given for 1 comes back as 1


def as_int_list(
    value: Any, field: str, length: tuple[int, int], lo: int | None = None, hi: int | None = None
) -> list[int]:
    expected = f"a list of {_count_text(*length, 'integers')}" + _range_text(lo, hi)
    if not isinstance(value, (list, tuple)) or not length[0] <= len(value) <= length[1]:
        raise ParamError(field, expected, value)
    return [as_int(v, f"{field}[{i}]", lo, hi) for i, v in enumerate(value)]


def as_int_matrix(
    value: Any,
    field: str,
    rows: tuple[int, int],
    cols: tuple[int, int],
    lo: int | None = None,
    hi: int | None = None,
) -> list[list[int]]:
    expected = (
        f"a matrix (list of rows) with {_count_text(*rows, 'rows')} of "
        f"{_count_text(*cols, 'integers')} each" + _range_text(lo, hi)
    )
    if not isinstance(value, (list, tuple)) or not rows[0] <= len(value) <= rows[1]:
        raise ParamError(field, expected, value)
    out = []
    for r, row in enumerate(value):
        if not isinstance(row, (list, tuple)) or len(row) != len(value[0]) or not cols[0] <= len(row) <= cols[1]:
            raise ParamError(field, expected + " (all rows the same length)", value)
        out.append([as_int(v, f"{field}[{r}][{c}]", lo, hi) for c, v in enumerate(row)])
    return out


def require_keys(params: dict[str, Any], keys: Iterable[str]) -> None:
    keys = list(keys)
    missing = [k for k in keys if k not in params]
    if missing:
        raise InputError(f"params: missing {', '.join(missing)} (this family takes {', '.join(keys)})")
    unknown = sorted(set(params) - set(keys))
    if unknown:
        raise InputError(f"params: unknown field {', '.join(unknown)} (this family takes {', '.join(keys)})")


def load_params(spec: str) -> dict[str, Any]:
    """`--params`: inline JSON (starting with '{'), or the path of a YAML or JSON file holding a mapping.

    Both are read as safely as a blueprint: UTF-8, at most 1 MB, nested at most 50 levels, no key
    twice, integers of at most 30 digits, no NaN or Infinity."""
    text = spec.strip()
    if text.startswith("{"):
        where = "--params"
        if len(text.encode("utf-8", "surrogatepass")) > YAML_MAX_BYTES:
            raise InputError(f"--params: the inline JSON is larger than {size_text(YAML_MAX_BYTES)}; put the params in a file")
        data = _strict_json(text, where, inline=True)
    else:
        path = Path(spec)
        try:
            there = os.path.lexists(path)
        except (OSError, ValueError):
            there = False
        if not there:
            shown = repr(spec) if len(spec) <= 80 else repr(spec[:77]) + "..."
            raise InputError(f"--params: {shown} is neither inline JSON (starting with '{{') nor an existing file")
        where = str(path)
        if path.suffix.lower() == ".json":
            data = _strict_json(read_text(path, "--params file", YAML_MAX_BYTES), where, inline=False)
        else:
            data = load_located(path, "--params file").data
    if not isinstance(data, dict):
        got = "nothing (the file is empty)" if data is None else f"{_kind(data)}"
        raise InputError(f"{where}: expected a mapping of parameter names to values, got {got}")
    return data


def _kind(value: Any) -> str:
    return {list: "a list", str: "text", int: "a number", float: "a number", bool: "true or false"}.get(
        type(value), type(value).__name__
    )


class _Unusable:
    """What the strict JSON reader puts in place of a value it refuses (NaN, a huge number, an object
    with a key twice), so that the message can name where it is."""

    __slots__ = ("problem",)

    def __init__(self, problem: str):
        self.problem = problem


def _json_int(text: str) -> Any:
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _Unusable(too_many_digits(len(text.lstrip("-"))))
    return int(text)


def _json_float(text: str) -> Any:
    value = float(text)
    if not math.isfinite(value):
        shown = text if len(text) <= 12 else "the number"
        return _Unusable(f"{shown} is not a finite number (it is too large for a float)")
    return value


def _json_constant(name: str) -> Any:
    return _Unusable(f"{name} is not a number qbank accepts (JSON has no NaN or Infinity; give a finite number)")


def _json_object(pairs: list[tuple[str, Any]]) -> Any:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            shown = key if len(key) <= 40 else key[:37] + "..."
            return _Unusable(f"duplicate key {shown!r}; each key may appear only once in an object")
        out[key] = value
    return out


def _strict_json(text: str, where: str, inline: bool) -> Any:
    try:
        data = json.loads(
            text,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as exc:
        if inline:
            raise InputError(f"--params: invalid inline JSON at column {exc.colno}: {exc.msg}") from None
        raise InputError(f"{where}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{where}: {_deep_key(text)}lists and objects nested more than {MAX_DEPTH} levels deep") from None
    if _depth(data) > MAX_DEPTH:
        raise InputError(f"{where}: {_deep_key(text)}lists and objects nested more than {MAX_DEPTH} levels deep")
    found = _first_unusable(data)
    if found is not None:
        keys, problem = found
        field = f"{field_name(keys)}: " if keys else ""
        raise InputError(f"{where}: {field}{problem}")
    return data


def _deep_key(text: str) -> str:
    """`signal: ` when the first value nested too deep is under the top-level key `signal` (the text
    scanned once, without parsing it: JSON that deep does not parse)."""
    depth, key, last_string, i = 0, None, None, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            last_string, i = text[i + 1 : end], end + 1
            continue
        if c == ":" and depth == 1 and last_string is not None:
            key = last_string
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH + 1 and key is not None:
                return f"{field_name((key,))}: "
        elif c in "]}":
            depth -= 1
        if c not in " \t\r\n":
            last_string = None if c != ":" else last_string
        i += 1
    return ""


def _first_unusable(data: Any) -> tuple[tuple, str] | None:
    """The keys to the first refused value in document order, and why (no recursion)."""
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        value, keys = stack.pop()
        if isinstance(value, _Unusable):
            return keys, value.problem
        if isinstance(value, dict):
            stack.extend(reversed([(v, (*keys, k)) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(v, (*keys, i)) for i, v in enumerate(value)]))
    return None


def _depth(value: Any) -> int:
    """Levels of lists and objects, without recursion (JSON may nest hundreds deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def as_decimal(
    value: Any, field: str, lo: float, hi: float, places: int = 2, *, nonzero: bool = False
) -> int | float:
    """A short decimal in [lo, hi] with at most `places` decimals, so that it prints exactly as it is
    solved with ("round first, then solve")."""
    expected = f"a {'nonzero ' if nonzero else ''}number from {lo} to {hi} with at most {places} decimals"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParamError(field, expected, value)
    if not lo <= value <= hi or round(value, places) != value or (nonzero and value == 0):
        raise ParamError(field, expected, value)
    return int(value) if float(value).is_integer() else value


def as_decimal_list(
    value: Any, field: str, length: tuple[int, int], lo: float, hi: float, places: int = 2, why: str = ""
) -> list[int | float]:
    expected = f"a list of {_count_text(*length, 'numbers')}{why} from {lo} to {hi} with at most {places} decimals"
    if not isinstance(value, (list, tuple)) or not length[0] <= len(value) <= length[1]:
        raise ParamError(field, expected, value)
    return [as_decimal(v, f"{field}[{k}]", lo, hi, places) for k, v in enumerate(value)]


def as_decimal_matrix(
    value: Any,
    field: str,
    rows: tuple[int, int],
    cols: tuple[int, int],
    lo: float,
    hi: float,
    places: int = 2,
    why: str = "",
) -> list[list[int | float]]:
    expected = (
        f"a matrix (list of rows) with {_count_text(*rows, 'rows')} of {_count_text(*cols, 'numbers')} each"
        f"{why}, from {lo} to {hi} with at most {places} decimals"
    )
    if not isinstance(value, (list, tuple)) or not rows[0] <= len(value) <= rows[1]:
        raise ParamError(field, expected, value)
    out = []
    for r, row in enumerate(value):
        if r > 0 and (not isinstance(row, (list, tuple)) or len(row) != len(value[0])):
            raise ParamError(f"{field}[{r}]", f"a row of {len(value[0])} numbers, like the first row", row)
        if not isinstance(row, (list, tuple)) or not cols[0] <= len(row) <= cols[1]:
            raise ParamError(field, expected, value)
        out.append([as_decimal(v, f"{field}[{r}][{c}]", lo, hi, places) for c, v in enumerate(row)])
    return out
