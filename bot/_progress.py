"""The progress bar of long shell commands (machine translation): tqdm, fed ``bar(done, total)``."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from tqdm import tqdm

PIPE_INTERVAL = 30.0
"""Seconds between redraws when the stream is not a terminal (a pipe or a log file)."""


class ProgressBar:
    """``bar(done, total)`` from any thread draws a tqdm bar on stderr; ``close()`` prints the final count.

    The bar starts at the first call, when the total is known, so a run with nothing to do prints nothing.
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
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
                    desc=self.label, total=total, unit="text", file=self.stream,
                    mininterval=0.1 if tty else PIPE_INTERVAL, dynamic_ncols=tty,
                )  # fmt: skip
            self._bar.total = total
            self._bar.update(max(done - self._bar.n, 0))  # batches may report out of order

    def close(self) -> None:
        """Print the final count and end the bar's line, if a bar was started."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
