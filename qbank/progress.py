"""Telling the user how a long build goes: a live bar on a terminal, plain lines in CI and pipes."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Reporter:
    """Messages and progress on a stream (stderr by default). `quiet` reports nothing."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.open_line = False  # a live bar drawn without its newline yet

    def info(self, message: str) -> None:
        if not self.quiet:
            self.end_line()
            print(message, file=self.stream, flush=True)

    def end_line(self) -> None:
        """End a live bar's line, so that what follows (an error, "interrupted") is a line of its own."""
        if self.open_line:
            self.open_line = False
            print(file=self.stream, flush=True)

    def start(self, total: int, unit: str) -> "Ticker":
        return Ticker(self, total, unit)


QUIET = Reporter(quiet=True)


class Ticker:
    """Counts finished steps of one stage. On a terminal: one bar redrawn in place (done, rate, time
    left). Otherwise: a line per step for small stages, and a line every 5 % for large ones."""

    def __init__(self, reporter: Reporter, total: int, unit: str):
        self.reporter, self.total, self.unit = reporter, total, unit
        self.done = 0
        self.started = time.perf_counter()
        self.lock = threading.Lock()
        self.next_line = 0.0

    def tick(self, name: str = "", note: str = "") -> None:
        with self.lock:
            self.done += 1
            if self.reporter.quiet:
                return
            elapsed = time.perf_counter() - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            stats = f"{rate:.1f} {self.unit}/s, {_clock(left)} left"
            if self.reporter.live:
                width = 24
                filled = int(width * self.done / max(1, self.total))
                bar = "#" * filled + "." * (width - filled)
                end = "\n" if self.done == self.total else ""
                print(f"\r[{bar}] {self.done}/{self.total} {self.unit}  {stats}   ", end=end, file=self.reporter.stream, flush=True)
                self.reporter.open_line = not end
            elif self.total <= 20:
                extra = f" {note}" if note else ""
                print(f"[{self.done}/{self.total}] {name}{extra}", file=self.reporter.stream, flush=True)
            elif self.done / self.total >= self.next_line or self.done == self.total:
                self.next_line = self.done / self.total + 0.05
                print(f"[{self.done}/{self.total}] {100 * self.done // self.total}%  {stats}", file=self.reporter.stream, flush=True)
