"""Ctrl-C and SIGTERM: one exception in the main thread, held off while an output folder is swapped in.

`qbank.cli.main` installs `handler` for SIGINT and SIGTERM. SIGINT raises KeyboardInterrupt, as Python
does; SIGTERM raises `Terminated`, a KeyboardInterrupt, so every clean-up written for Ctrl-C (staging
and work folders removed, running pdflatex processes killed, the lock released) runs for both. A
second SIGTERM ends the process at once (the default action), for a build that does not stop.

Inside `held()` (publishing an output folder: two renames that must not be separated) a signal is
remembered and raised when the block ends, so an interrupt never leaves the output folder half swapped.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt."""


_held = 0
_pending: int | None = None


def _raise(signum: int) -> None:
    if signum == signal.SIGTERM:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise Terminated()
    raise KeyboardInterrupt()


def handler(signum: int, frame: Any) -> None:
    global _pending
    if _held:
        _pending = signum
        return
    _raise(signum)


@contextmanager
def installed() -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM while the block runs (from the main thread only; elsewhere
    nothing changes), the previous handlers after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def held() -> Iterator[None]:
    """No interrupt inside the block: one that arrives is raised when it ends."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending is not None:
            signum, _pending = _pending, None
            _raise(signum)
