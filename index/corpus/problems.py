"""Problems found while reading a corpus, reported with file and line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with one corpus file."""

    path: Path
    line: int | None
    message: str
    stale_machine_translation: bool = field(default=False, compare=False)
    """The file is a machine translation whose blocks no longer line up with its (edited) article's."""
    missing_field: str | None = field(default=None, compare=False)
    """The metadata field an added article lacks (``published``, say), so a front end can ask for it."""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


class CorpusError(Exception):
    """The corpus has problems; nothing from it was loaded."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (str(p.path), p.line or 0, p.message)))
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the corpus:\n{lines}")
