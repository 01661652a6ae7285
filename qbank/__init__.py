"""qbank: parameterized, verified deep-learning problems rendered to LaTeX and PDF."""

__version__ = "0.1.0"

from .engine import draw, rng_for, verify  # noqa: E402
from .errors import (  # noqa: E402
    FamilyError,
    GenerationError,
    InputError,
    LatexError,
    QbankError,
    VerificationError,
)
from .family import Answer, Family, Part, register  # noqa: E402
from .model import Variant  # noqa: E402
from .registry import all_families, get_family, load_families  # noqa: E402

__all__ = [
    "Answer",
    "Family",
    "FamilyError",
    "GenerationError",
    "InputError",
    "LatexError",
    "Part",
    "QbankError",
    "Variant",
    "VerificationError",
    "__version__",
    "all_families",
    "draw",
    "get_family",
    "load_families",
    "register",
    "rng_for",
    "verify",
]
