"""Machine translations of quoted passages, and the characters each service was sent, in the bot's database.

A translation is keyed by the SHA-256 digest of the passage's text, the language and the
service (its name and model), so an edited passage is translated afresh, and switching
from one service to another does not show the old one's words under the new one's name.
Usage is counted per calendar month (UTC), the way ``translation.monthly_characters`` is.
The tables are created by the database's own migrations (:mod:`index.follow.database`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..follow.database import Database
from ..search.answer import Span

Bead = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class MachineTranslation:
    """A passage in another language, with which of its sentences say what each of the original's says."""

    text: str
    spans: tuple[Span, ...]
    """The translation's sentences, as offsets into ``text``."""
    beads: tuple[Bead, ...]
    """Original sentence numbers (of its body, as the engine numbers them) and their translations' numbers."""
    label: str
    """Who translated it, as readers are told: "DeepL", a model's name."""

    def to_json(self) -> str:
        return json.dumps({"spans": self.spans, "beads": self.beads, "label": self.label})

    @classmethod
    def from_row(cls, text: str, alignment: str) -> MachineTranslation:
        data = json.loads(alignment)
        spans = tuple((int(a), int(b)) for a, b in data["spans"])
        beads = tuple((tuple(int(i) for i in s), tuple(int(j) for j in t)) for s, t in data["beads"])
        return cls(text, spans, beads, str(data["label"]))


@dataclass(frozen=True, slots=True)
class MonthUsage:
    month: str
    """"2026-12"."""
    characters: int
    requests: int


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def this_month(now: float | None = None) -> str:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).strftime("%Y-%m")


class TranslationStore:
    """Reads and writes the two tables; every method is one short statement, safe from any thread."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self._clock = clock

    def get(self, text: str, language: str, service: str) -> MachineTranslation | None:
        rows = self.database.query(
            "SELECT text, alignment FROM machine_translations WHERE digest = ? AND language = ? AND service = ?",
            (digest(text), language, service),
        )
        if not rows:
            return None
        try:
            return MachineTranslation.from_row(*rows[0])
        except (ValueError, KeyError, TypeError):
            return None  # written by a different version: translate again

    def put(self, text: str, language: str, service: str, translation: MachineTranslation) -> None:
        self.database.write(
            "INSERT OR REPLACE INTO machine_translations (digest, language, service, text, alignment, created) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (digest(text), language, service, translation.text, translation.to_json(), self._clock()),
        )

    def count(self, service: str, characters: int) -> None:
        """Add one request of ``characters`` to this month's use of ``service``."""
        self.database.write(
            "INSERT INTO translation_usage (month, service, characters, requests) VALUES (?, ?, ?, 1) "
            "ON CONFLICT (month, service) DO UPDATE SET characters = characters + excluded.characters, "
            "requests = requests + 1",
            (this_month(self._clock()), service, characters),
        )

    def usage(self) -> MonthUsage:
        """This month's characters and requests, every service together (the budget is the bot's)."""
        month = this_month(self._clock())
        rows = self.database.query(
            "SELECT COALESCE(SUM(characters), 0), COALESCE(SUM(requests), 0) FROM translation_usage WHERE month = ?",
            (month,),
        )
        return MonthUsage(month, int(rows[0][0]), int(rows[0][1]))

    def cached_count(self) -> int:
        return int(self.database.query("SELECT COUNT(*) FROM machine_translations")[0][0])
