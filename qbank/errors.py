"""One family of domain errors. The CLI prints any of them as one clear line and exits non-zero."""


class QbankError(Exception):
    """Base of every error qbank reports to a user (never shown as a traceback)."""

    exit_code = 1


class InputError(QbankError):
    """Bad input from a user: a file, a field, a parameter. The message names where and what was expected."""

    exit_code = 2


class FamilyError(QbankError):
    """An unknown family, or a family whose card or code breaks the contract."""

    exit_code = 2


class GenerationError(QbankError):
    """A family could not produce a non-degenerate variant within its retry budget."""


class VerificationError(QbankError):
    """An answer did not survive the independent check. Nothing unverified is ever printed."""


class LatexError(QbankError):
    """pdflatex failed; the message names the document, the variant and the offending line."""
