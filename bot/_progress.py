"""A progress bar for long shell commands (machine translation), safe to call from worker threads."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``bar(done, total)`` redraws one line on a terminal, or prints every tenth on a pipe."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self._interactive = self.stream.isatty()
        self._lock = threading.Lock()
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        with self._lock:
            fraction = min(done / total, 1.0)
            filled = round(fraction * WIDTH)
            line = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} ({fraction:.0%})"
            if self._interactive:
                self.stream.write("\r" + line)
                self._drawn = True
            elif int(fraction * 10) > self._last_tenth:
                self._last_tenth = int(fraction * 10)
                self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        with self._lock:
            if self._drawn:
                self.stream.write("\n")
                self.stream.flush()
                self._drawn = False
