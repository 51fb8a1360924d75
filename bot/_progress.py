"""Progress where people wait: a tqdm bar on a terminal, log lines with the time left on Telegram.

Both are fed ``progress(done, total)`` from any thread and finished with
``close()``. Neither says anything for a run that ends within
:data:`SHOW_AFTER` seconds: a reload that embeds two passages stays quiet.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from tqdm import tqdm

PIPE_INTERVAL = 30.0
"""Seconds between redraws when the stream is not a terminal (a pipe or a log file)."""
SHOW_AFTER = 2.0
"""Seconds a run may take before it shows its progress."""
LOG_STEP = 0.1
"""The share of the work between two log lines."""


class Reporter(Protocol):
    def __call__(self, done: int, total: int) -> None: ...

    def close(self) -> None: ...


class ProgressBar:
    """``bar(done, total)`` from any thread draws a tqdm bar on stderr; ``close()`` prints the final count.

    The bar starts at the first call, when the total is known, so a run with nothing to do prints nothing;
    on a terminal it appears only once the run has taken :data:`SHOW_AFTER` seconds.
    """

    def __init__(self, label: str, stream: TextIO | None = None, unit: str = "text") -> None:
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        with self._lock:
            if self._bar is None:
                tty = self.stream.isatty()
                self._bar = tqdm(
                    desc=self.label, total=total, unit=self.unit, file=self.stream,
                    mininterval=0.1 if tty else PIPE_INTERVAL, dynamic_ncols=tty, delay=SHOW_AFTER if tty else 0,
                )  # fmt: skip
            self._bar.total = total
            self._bar.update(max(done - self._bar.n, 0))  # batches may report out of order

    def close(self) -> None:
        """Print the final count and end the bar's line, if a bar was started."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None


class ProgressLog:
    """Logs ``label: 40% (274/686), about 12 s left`` at every :data:`LOG_STEP` of the work, once it is slow."""

    def __init__(self, label: str, logger: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self._log = logger
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()  # made just before the run it reports, so the estimate counts its first batch
        self._reported = False
        self._logged_step = 0
        self._last: tuple[int, int] = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        with self._lock:
            now = self._clock()
            self._reported = True
            self._last = (max(done, self._last[0]), total)
            step = int(done / total / LOG_STEP)
            elapsed = now - self._started
            if step <= self._logged_step or elapsed < SHOW_AFTER or done >= total:
                return
            self._logged_step = step
            left = elapsed * (total - done) / max(done, 1)
            self._log.info("%s: %d%% (%d/%d), about %s left", self.label, 100 * done // total, done, total, _span(left))

    def close(self) -> None:
        """Log how long the whole run took, if it was slow enough to have been worth reporting."""
        with self._lock:
            elapsed = self._clock() - self._started
            if self._reported and elapsed >= SHOW_AFTER:
                done, total = self._last
                self._log.info("%s: %d/%d done in %s", self.label, done, total, _span(elapsed))
            self._reported = False


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
