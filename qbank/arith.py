"""A small, safe evaluator for answer expressions ('2*w**3 - w', 'sqrt(2)/10', 'Abs(x1)*Abs(x2)').

Checks use it to test a symbolic answer at a few points without sympy and without eval: only numbers,
the given names, + - * /, non-negative integer powers (if allowed) and the given one-argument functions.
Anything else, or a division by zero, is an AssertionError, as a failed check should be.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from fractions import Fraction
from typing import Any, Callable, Mapping

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
FUNCTIONS: dict[str, Callable[[Any], Any]] = {"Abs": abs, "abs": abs, "sqrt": math.sqrt}


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression:
    """Checks evaluate the same answer string at several points: parse it once."""
    return ast.parse(text, mode="eval")


def evaluate(
    text: Any,
    env: Mapping[str, Any] | None = None,
    *,
    exact: bool = False,
    powers: bool = False,
    functions: tuple[str, ...] = (),
    what: str = "an expression",
) -> Fraction | float:
    """The value of `text` with the names in `env`: exact (Fractions) or floating point."""
    env = env or {}
    allowed = ["numbers", *sorted(env), "+ - * /", *(["**"] if powers else []), *(f"{f}()" for f in functions)]
    if not isinstance(text, str):
        raise AssertionError(f"{text!r} is not {what} (a string of {', '.join(allowed)})")

    def number(value: int | float) -> Fraction | float:
        return Fraction(str(value)) if exact else float(value)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = walk(node.left), walk(node.right)
            assert right != 0, f"{text!r} divides by zero"
            return left / right
        if powers and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exponent = walk(node.left), walk(node.right)
            assert exponent == int(exponent) and exponent >= 0, f"{text!r} has a power that is not a whole number"
            return base ** int(exponent)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return number(node.value)
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in functions
            and len(node.args) == 1
            and not node.keywords
        ):
            argument = walk(node.args[0])
            if node.func.id == "sqrt":
                assert argument >= 0, f"{text!r} takes the square root of a negative number"
            return FUNCTIONS[node.func.id](argument)
        raise AssertionError(f"{text!r} is not {what} in {', '.join(allowed)}")

    try:
        tree = _parse(text)
    except SyntaxError:
        raise AssertionError(f"{text!r} does not parse as {what}") from None
    return walk(tree)
