"""How precisely a number is asked, and so how it is stated, printed and graded: one rule for every medium.

A card's `Answer` carries a `Precision`:

- ``exact()``: integers and exact values (a short decimal such as 2.5, or a fraction such as 1/12);
  graded exactly. A fraction is asked as a fraction on paper and on the site; an LMS cannot read
  ``1/12``, so there it is asked as a decimal to ``lms_decimals`` places (see `lms_precision`).
- ``decimals(n)``: n decimal places;
- ``sig(n)``: n significant digits;
- ``within(tol, rel)``: the old `Answer(kind, text, tol, rel)` (deprecated): within max(tol, rel |v|).

The tolerance follows from the precision by one rule: centred on the true value, half a unit of the
stated last place plus the card's `allowance` in units of that place (`tolerance`). The key, the
practice site and the LMS exports all grade with it (`accepts`). A value that rounds to 0 at its
precision, or lies within 1 % of a unit of a rounding boundary, is a rounding trap (`trap`): the
engine draws again, so that every version asks for numbers that round the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

MODES = ("exact", "decimals", "sig", "within")
TRAP_MARGIN = 0.01  # a value within 1 % of a unit of a rounding boundary is a trap
SLACK = 1e-9  # relative slack of every comparison, for binary floating point
MAX_DENOMINATOR = 10_000  # an exact value that is no short decimal must be a fraction with a denominator up to this
SHORT_DECIMALS = 6  # an exact decimal has at most this many decimal places
SCI_BELOW, SCI_FROM = 1e-3, 1e6  # significant digits outside [1e-3, 1e6) are printed in scientific notation


@dataclass(frozen=True)
class Precision:
    """How precisely a number is asked. Build one with `exact`, `decimals`, `sig` or `within`."""

    mode: str
    digits: int = 0
    allowance: float = 0.0  # extra tolerance in units of the last place (decimals, sig)
    why: str = ""  # why the allowance is there (required when it is not 0)
    tol: float = 0.0  # within: absolute tolerance
    rel: float = 0.0  # within: relative tolerance
    lms_decimals: int = 4  # exact: the decimal places an LMS asks for a value that is a fraction
    whole: bool = False  # exact: every value is a whole number (counts, shapes, integer outputs)
    fractions: bool = False  # exact: a value may be a fraction whose decimal does not end (1/12)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"precision mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if self.mode in ("decimals", "sig"):
            if isinstance(self.digits, bool) or not isinstance(self.digits, int):
                raise ValueError(f"{self.mode}: the number of digits must be an integer, got {self.digits!r}")
            low = 1 if self.mode == "sig" else 0
            if not low <= self.digits <= 12:
                raise ValueError(f"{self.mode}({self.digits}): digits must be from {low} to 12")
        if not (isinstance(self.allowance, (int, float)) and 0 <= self.allowance <= 50):
            raise ValueError(f"allowance {self.allowance!r}: expected 0 to 50 units of the last place")
        if self.allowance and not self.why.strip():
            raise ValueError("an allowance needs `why`: the reason a student's answer may be off by more than rounding")
        if self.tol < 0 or self.rel < 0:
            raise ValueError("within: tolerances must not be negative")
        if (self.whole or self.fractions) and self.mode != "exact":
            raise ValueError("only an exact precision can be whole or hold fractions")
        if self.whole and self.fractions:
            raise ValueError("exact: whole numbers hold no fractions")

    # ------------------------------------------------------------ grading

    def unit(self, value: float) -> float:
        """One unit of the last place asked, for this value (0 for exact and within)."""
        if self.mode == "decimals":
            return 10.0 ** -self.digits
        if self.mode == "sig":
            if value == 0:
                return 0.0
            return 10.0 ** (exponent(value) - self.digits + 1)
        return 0.0

    def tolerance(self, value: float) -> float:
        """The absolute tolerance around the true `value`: (0.5 + allowance) units of the last place
        (decimals, sig), 0 (exact), max(tol, rel |value|) (within)."""
        value = float(value)
        if self.mode == "within":
            return max(float(self.tol), float(self.rel) * abs(value))
        return (0.5 + float(self.allowance)) * self.unit(value)

    def accepts(self, true_value: float, given: float) -> bool:
        """Whether `given` passes for `true_value`: within the tolerance (exact: equal), with a relative
        slack of 1e-9 for binary floating point."""
        tol = self.tolerance(true_value)
        return abs(float(given) - float(true_value)) <= tol * (1 + SLACK) + SLACK * 1e-3 * max(1.0, abs(float(true_value)))

    def trap(self, value: float) -> str | None:
        """Why `value` makes a rounding trap at this precision (it rounds to 0, or it lies within 1 % of a
        unit of a rounding boundary), else None."""
        if self.mode not in ("decimals", "sig") or value == 0:
            return None
        unit = self.unit(value)
        ratio = abs(float(value)) / unit
        shown = self.text(value)
        if self.mode == "decimals" and ratio < 0.5 + TRAP_MARGIN:
            return f"{value!r} rounds to {shown} at {self.describe()}"
        fraction = ratio - math.floor(ratio)
        if abs(fraction - 0.5) < TRAP_MARGIN:
            return f"{value!r} lies on a rounding boundary at {self.describe()} ({shown} or one unit off)"
        return None

    # ------------------------------------------------------------ printing

    def rounded(self, value: float) -> Decimal:
        """The value rounded at the precision, half away from zero, as a Decimal (exact decimals and
        fractions as they are, for exact and within: to 6 decimals at most)."""
        d = Decimal(repr(float(value)))
        if self.mode == "decimals":
            return d.quantize(Decimal(1).scaleb(-self.digits), rounding=ROUND_HALF_UP)
        if self.mode == "sig":
            if d == 0:
                return Decimal(0).quantize(Decimal(1).scaleb(-(self.digits - 1)))
            q = d.quantize(Decimal(1).scaleb(d.adjusted() - self.digits + 1), rounding=ROUND_HALF_UP)
            if q.adjusted() > d.adjusted():  # 9.9996 -> 10.00: one significant digit too many
                q = d.quantize(Decimal(1).scaleb(q.adjusted() - self.digits + 1), rounding=ROUND_HALF_UP)
            return q
        return d.quantize(Decimal(1).scaleb(-SHORT_DECIMALS), rounding=ROUND_HALF_UP).normalize()

    def text(self, value: float) -> str:
        """The value as asked, in plain text: 0.0833, 89.61, 3.400e-06, 1/12, 2.5."""
        if self.mode == "exact":
            frac = exact_fraction(value)
            if frac is not None and frac.denominator != 1 and not is_short_decimal(value):
                return f"{frac.numerator}/{frac.denominator}"
            return _plain_decimal(Decimal(repr(float(value))).normalize())
        q = self.rounded(value)
        if self.mode == "sig" and q != 0 and not Decimal(repr(SCI_BELOW)) <= abs(q) < Decimal(repr(SCI_FROM)):
            mantissa = q.scaleb(-q.adjusted())
            return f"{_plain_decimal(mantissa)}e{q.adjusted():+03d}"
        return _plain_decimal(q)

    def latex(self, value: float) -> str:
        """The value as asked, in LaTeX math: 0.0833, 3.400 \\times 10^{-6}, \\frac{1}{12}."""
        text = self.text(value)
        if "/" in text:
            num_, den = text.lstrip("-").split("/")
            return f"{'-' if text.startswith('-') else ''}\\frac{{{num_}}}{{{den}}}"
        if "e" in text:
            mantissa, exp = text.split("e")
            return f"{mantissa} \\times 10^{{{int(exp)}}}"
        return text

    def describe(self, plural: bool = True) -> str:
        """The precision in words, as a part states it: "4 decimal places", "3 significant digits",
        "exact", "within 0.001"."""
        if self.mode == "decimals":
            return f"{self.digits} decimal place{'s' if self.digits != 1 else ''}"
        if self.mode == "sig":
            return f"{self.digits} significant digit{'s' if self.digits != 1 else ''}"
        if self.mode == "exact":
            return "whole numbers" if self.whole else "exact"
        bits = []
        if self.tol:
            bits.append(f"within {self.tol:g}")
        if self.rel:
            bits.append(f"within {self.rel:g} of its size")
        return " or ".join(bits) or "exact"

    def coarser(self) -> Precision | None:
        """One place coarser (for the site's "close" answer), None where there is none."""
        if self.mode == "decimals" and self.digits > 0:
            return decimals(self.digits - 1)
        if self.mode == "sig" and self.digits > 1:
            return sig(self.digits - 1)
        return None

    def record(self) -> dict[str, Any]:
        """The precision as the keys record it."""
        out: dict[str, Any] = {"mode": self.mode, "text": self.describe()}
        if self.whole:
            out["whole"] = True
        if self.fractions:
            out["fractions"] = True
        if self.mode in ("decimals", "sig"):
            out["digits"] = self.digits
        if self.allowance:
            out["allowance"] = self.allowance
            out["why"] = self.why
        if self.mode == "within":
            out["tol"], out["rel"] = self.tol, self.rel
        return out


def exact(whole: bool = False, fractions: bool = False) -> Precision:
    """Exact: short decimals (2.5); with `fractions`, also fractions whose decimal does not end (1/12),
    asked as fractions (and as decimals in an LMS); with `whole`, whole numbers only (a count, a shape,
    an integer output), which then go without saying in the problem. The engine refuses a value the
    card does not allow (a family bug)."""
    return Precision("exact", whole=whole, fractions=fractions)


def decimals(n: int, allowance: float = 0.0, why: str = "") -> Precision:
    """n decimal places (allowance: extra units of the last place, with the reason why)."""
    return Precision("decimals", n, allowance, why)


def sig(n: int, allowance: float = 0.0, why: str = "") -> Precision:
    """n significant digits (allowance: extra units of the last place, with the reason why)."""
    return Precision("sig", n, allowance, why)


def within(tol: float = 0.0, rel: float = 0.0) -> Precision:
    """The old rule of `Answer(kind, text, tol, rel)`: within max(tol, rel |v|). Deprecated."""
    return Precision("within", tol=float(tol), rel=float(rel))


# ------------------------------------------------------------ numbers

def exponent(value: float) -> int:
    """The decimal exponent of a nonzero value: 2 for 345.6, -3 for 0.00123."""
    return Decimal(repr(abs(float(value)))).adjusted()


def _plain_decimal(d: Decimal) -> str:
    """A Decimal in plain positional notation, its trailing zeros kept ("0.0340", "10.00", "-3")."""
    text = format(d, "f")
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.000"


def is_short_decimal(value: float) -> bool:
    """Whether a float is a decimal of at most SHORT_DECIMALS places (2.5, -0.125)."""
    d = Decimal(repr(float(value)))
    return d == d.quantize(Decimal(1).scaleb(-SHORT_DECIMALS), rounding=ROUND_HALF_UP) and abs(d.as_tuple().exponent) <= SHORT_DECIMALS


def exact_fraction(value: float) -> Fraction | None:
    """The fraction a float stands for (1/12 for 0.08333...), None when it is no fraction with a
    denominator up to MAX_DENOMINATOR within 1e-12."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    frac = Fraction(value).limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - float(value)) <= 1e-12 * max(1.0, abs(float(value))):
        return frac
    return None


def is_fraction_value(value: Any) -> bool:
    """A number that is an exact fraction but no short decimal (1/12, 2/3): asked as a fraction."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and not is_short_decimal(value)
            and exact_fraction(value) is not None)


def lms_precision(precision: Precision, value: float) -> Precision:
    """The precision an LMS grades `value` with: the card's, except that an exact fraction (which Moodle
    and Canvas cannot read) is asked as a decimal to `lms_decimals` places."""
    if precision.mode == "exact" and is_fraction_value(value):
        return decimals(precision.lms_decimals)
    return precision
