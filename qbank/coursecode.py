"""Running course code (the families' methods, the generator modules as they load) so that it can
neither hang qbank nor take it over.

- **A time limit.** Course code runs for at most `draw_timeout()` seconds (QBANK_DRAW_TIMEOUT, default
  DRAW_TIMEOUT_S; 0: no limit) per outermost call: one draw of qbank.engine (sample, validate,
  degenerate, solve and check, rejected draws included) shares one limit, as does loading a module.
  Past it the code is interrupted and the error names the family, the method it was in, its file and
  line, and the limit. A timer signal (SIGALRM, setitimer) interrupts it, even in a sleep; qbank runs
  all course code in its main thread (its worker threads only wait for pdflatex, pandoc and pdfinfo),
  the one thread a signal reaches: course code a library user runs in another thread has no limit.
  The interruption is a BaseException, so a family's `except Exception` does not swallow it, and it
  comes again every REPEAT_S seconds until it leaves the family's code (a long C call, such as a huge
  matrix product, is interrupted when it returns).
- **Its prints go to stderr**, not to the output of qbank (`draw --format json` stays JSON).
- **SystemExit and other BaseExceptions** (KeyboardInterrupt excepted: Ctrl-C stays Ctrl-C) become a
  FamilyError naming the family, the method and the file: `sys.exit(0)` in `sample()` is an error,
  never an exam that silently was not built.

qbank.registry wraps every method of a loaded family class (GUARDED_METHODS) with `guarded_method`,
so that code calling a family anywhere (the bank, the planner, the templates, the LMS writers) is
covered; qbank.engine opens one `CourseCode` region per draw around them.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FunctionType, TracebackType
from typing import Any, Callable

from .errors import FamilyError, InputError

TIMEOUT_ENV = "QBANK_DRAW_TIMEOUT"
DRAW_TIMEOUT_S = 30.0  # a draw takes milliseconds; loading a module that imports a large library, seconds
REPEAT_S = 0.5  # the interruption comes again this often if course code catches it
GUARDED_METHODS = ("sample", "validate", "degenerate", "solve", "check", "context", "structure_of", "parts",
                   "asks_of", "reveals_of", "minutes", "position_word")
ORIGINAL = "__qbank_course_code__"  # the attribute of a guarded method holding the family's own function


class OutOfTime(BaseException):
    """Raised into course code whose time is up (a BaseException: `except Exception` does not catch it)."""


def draw_timeout() -> float:
    """Seconds course code may run per outermost call (0: no limit)."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DRAW_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 10**6:  # also NaN
        raise InputError(f"{TIMEOUT_ENV}: expected a number of seconds (0 for no limit), got {text!r}")
    return seconds


class _State(threading.local):
    def __init__(self) -> None:
        self.doing: list[str] = []  # the course code running in this thread, outermost first
        self.region: CourseCode | None = None  # the outermost region, the one with the time limit


_state = _State()
_stdout_lock = threading.Lock()
_stdout_users = 0
_stdout_saved: Any = None


class CourseCode:
    """A region of course code: `with CourseCode("family conv1d-forward", "sample()", source):`. The
    outermost region of a thread sets the time limit and sends prints to stderr; every region turns a
    BaseException raised in it into a FamilyError naming its `what` (its family, its method)."""

    def __init__(self, who: str, what: str, source: str | Callable[[], str | None] | None, convert: bool = True):
        self.who, self.what, self._source = who, what, source  # source: the file, or how to find it (on error)
        self.convert = convert  # False: a BaseException passes (the caller names it; the time limit still holds)
        self.outermost = False
        self.timed_out: str | None = None  # the method running when time ran out
        self.limit = 0.0

    def __enter__(self) -> CourseCode:
        _state.doing.append(self.what)
        if _state.region is None:
            self.outermost = True
            _state.region = self
            _redirect_stdout()
            try:
                self.limit = draw_timeout()
                if self.limit:
                    self._arm()
            except BaseException:
                self._leave()
                raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.outermost:
            self._leave()
        else:
            _state.doing.pop()
        if kind is None or issubclass(kind, (Exception, KeyboardInterrupt)):
            return
        if kind is OutOfTime or self.timed_out:
            if not self.outermost:
                return  # the outermost region reports it, naming the method that was running
            raise FamilyError(
                f"{self.who}: {self.timed_out or self.what} did not finish within {self.limit:g} s"
                f"{self._where(tb)}: an endless loop? ({TIMEOUT_ENV} sets the seconds course code may take; "
                f"0: no limit)"
            ) from None
        if not self.convert:
            return
        name = type(exc).__name__
        if isinstance(exc, SystemExit):
            raised = f"called sys.exit({exc.code!r})" if exc.code is not None else "called sys.exit()"
        else:
            detail = " ".join(str(exc).split())[:200]
            raised = f"raised {name}{': ' + detail if detail else ''}"
        raise FamilyError(
            f"{self.who}: {self.what} {raised}{self._where(tb)}; course code must return or raise an "
            f"ordinary exception, never end qbank"
        ) from None

    # --- the time limit ------------------------------------------------------------------------------

    def _arm(self) -> None:
        self._armed = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        if self._armed:
            self.started = time.monotonic()
            self._old_handler = signal.signal(signal.SIGALRM, _on_alarm)
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, self.limit, REPEAT_S)

    def _disarm(self) -> None:
        if not self._armed:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old_handler if self._old_handler is not None else signal.SIG_DFL)
        left, interval = self._old_timer
        if left > 0:  # someone else's timer was running: it goes on, less the time spent here
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, left - (time.monotonic() - self.started)), interval)

    def _leave(self) -> None:
        _state.region = None
        _state.doing.pop()
        if self.limit:
            self._disarm()
        _restore_stdout()

    def _where(self, tb: TracebackType | None) -> str:
        """` (FILE: line N)`: the deepest line of the course file the exception passed through, else the
        file (just the line when the message begins with the file)."""
        source = self._source() if callable(self._source) else self._source
        if not source:
            return ""
        import traceback

        real = os.path.realpath(source)
        lines = [f.lineno for f in traceback.extract_tb(tb) if os.path.realpath(f.filename) == real]
        if self.who == source:
            return f" (line {lines[-1]})" if lines else ""
        return f" ({source}: line {lines[-1]})" if lines else f" (in {source})"


def _on_alarm(signum: int, frame: Any) -> None:
    region = _state.region  # a signal handler runs in the main thread: its state
    if region is None or (frame is not None and frame.f_code in _OWN_CODE):
        return  # the region is ending (or starting): the timer is being stopped
    if region.timed_out is None:
        region.timed_out = _state.doing[-1] if _state.doing else region.what
    raise OutOfTime


# --- prints to stderr ------------------------------------------------------------------------------


def _redirect_stdout() -> None:
    global _stdout_users, _stdout_saved
    with _stdout_lock:
        if _stdout_users == 0:
            _stdout_saved = sys.stdout
            sys.stdout = sys.stderr
        _stdout_users += 1


def _restore_stdout() -> None:
    global _stdout_users, _stdout_saved
    with _stdout_lock:
        _stdout_users -= 1
        if _stdout_users == 0:
            sys.stdout = _stdout_saved
            _stdout_saved = None


_OWN_CODE = {f.__code__ for f in (CourseCode.__enter__, CourseCode.__exit__, CourseCode._arm, CourseCode._disarm,
                                  CourseCode._leave, _redirect_stdout, _restore_stdout)}


def family_source(fam: Any) -> str | None:
    import inspect

    try:
        return inspect.getsourcefile(type(fam))
    except TypeError:
        return None


def region_of(fam: Any, what: str) -> CourseCode:
    """The region of one call of a family's code."""
    return CourseCode(f"family {fam.id}", what, lambda: family_source(fam))


def module_region(path: Path) -> CourseCode:
    """The region of loading a generator module (whose exceptions qbank.registry names itself)."""
    return CourseCode(str(path), "loading the generator module", str(path), convert=False)


def guarded_method(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` (a family method) run as course code; the family's own function stays reachable as
    ORIGINAL, for qbank.memo, which keys entries by the file the method comes from."""

    @functools.wraps(function)
    def guarded(self, *args, **kwargs):
        with region_of(self, f"{name}()"):
            return function(self, *args, **kwargs)

    setattr(guarded, ORIGINAL, function)
    return guarded


def guard_family_class(cls: type) -> None:
    """Wrap the methods a course's family class (and its course base classes) define themselves;
    qbank's own base class is left alone."""
    for klass in cls.__mro__:
        if klass.__module__ == "builtins" or klass.__module__.split(".")[0] == "qbank":
            continue
        for name in GUARDED_METHODS:
            function = klass.__dict__.get(name)
            if isinstance(function, FunctionType) and not hasattr(function, ORIGINAL):
                setattr(klass, name, guarded_method(name, function))
