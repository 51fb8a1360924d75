"""Answers remembered for the "More" and "Follow" buttons, pending /remove confirmations, and their callback data.

Callback data is at most 64 bytes, so it carries a short random token and an
offset, never the question. Data the bot did not create fails to parse and is
ignored. The answers themselves live in memory; what their buttons need (the
question, the chat, the answer language) is also kept in the SQLite state for a
week, so a button pressed after a restart asks the question again.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

from index import Answer
from index.follow import Database

_MORE = re.compile(r"^more:([A-Za-z0-9_-]{8,16}):([0-9]{1,3})$")
_LANG = re.compile(r"^lang:([a-z]{2}|auto)$")


@dataclass(frozen=True, slots=True)
class MoreRequest:
    token: str
    offset: int


def more_data(token: str, offset: int) -> str:
    data = f"more:{token}:{offset}"
    assert len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    return data


def parse_more(data: str | None) -> MoreRequest | None:
    match = _MORE.match(data or "")
    return MoreRequest(match.group(1), int(match.group(2))) if match else None


def lang_data(code: str) -> str:
    return f"lang:{code}"


def parse_lang(data: str | None) -> str | None:
    match = _LANG.match(data or "")
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the Follow and More buttons under an answer need once the answer itself is forgotten."""

    question: str
    language: str
    chat_id: int


KEEP_SECONDS = 8 * 24 * 3600.0
"""How long the buttons under an answer keep working across restarts: a week, and a day's margin."""
PRUNE_SECONDS = 3600.0
"""Time between two sweeps of answers older than KEEP_SECONDS."""


class AnswerMemory:
    """The last ``capacity`` answers that offered buttons, by token; and, in ``database``, what those buttons
    need (question, chat, language) for a week, so that Follow and More still work after a restart."""

    def __init__(
        self, capacity: int = 5_000, *, database: Database | None = None, keep_seconds: float = KEEP_SECONDS
    ) -> None:
        self.capacity = capacity
        self.database = database
        self.keep_seconds = keep_seconds
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        # Seeded once from the OS: tokens only need to be unpredictable enough not to collide,
        # and asking the OS for randomness per answer is slow on some machines.
        self._random = random.Random(os.urandom(16))
        self._pruned = float("-inf")

    def remember(self, answer: Answer, token: str | None = None) -> str:
        token = token or f"{self._random.getrandbits(64):016x}"
        self._answers[token] = answer
        self._answers.move_to_end(token)
        if len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return token

    def recall(self, token: str) -> Answer | None:
        return self._answers.get(token)

    def save(self, token: str, answer: Answer, chat_id: int, now: float | None = None) -> None:
        """Keep what ``token``'s buttons need in the database (blocking: call it off the event loop)."""
        if self.database is None:
            return
        now = time.time() if now is None else now
        self.database.write(
            "INSERT OR REPLACE INTO answers (token, chat_id, question, language, created) VALUES (?, ?, ?, ?, ?)",
            (token, chat_id, answer.question, answer.language, now),
        )
        if now - self._pruned >= PRUNE_SECONDS:
            self._pruned = now
            self.database.write("DELETE FROM answers WHERE created < ?", (now - self.keep_seconds,))

    def saved(self, token: str, chat_id: int, now: float | None = None) -> Remembered | None:
        """What ``token``'s buttons need, when it was saved for ``chat_id`` within the last week (blocking)."""
        if self.database is None:
            return None
        now = time.time() if now is None else now
        rows = self.database.query(
            "SELECT question, language, chat_id FROM answers WHERE token = ? AND chat_id = ? AND created >= ?",
            (token, chat_id, now - self.keep_seconds),
        )
        return Remembered(str(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None


_REMOVE = re.compile(r"^rm:(yes|no):([0-9a-f]{16})$")
REMOVAL_TTL = 600.0  # seconds a confirmation button stays valid


@dataclass(frozen=True, slots=True)
class RemoveChoice:
    confirmed: bool
    token: str


def remove_data(token: str, *, confirmed: bool) -> str:
    data = f"rm:{'yes' if confirmed else 'no'}:{token}"
    assert len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    return data


def parse_remove(data: str | None) -> RemoveChoice | None:
    match = _REMOVE.match(data or "")
    return RemoveChoice(match.group(1) == "yes", match.group(2)) if match else None


class PendingRemovals:
    """Removals offered with a confirmation button: the article id behind each button's token.

    Article ids can be longer than callback data allows, so the button carries a token; it
    works once, and not after ``ttl`` seconds or a restart.
    """

    def __init__(self, ttl: float = REMOVAL_TTL) -> None:
        self.ttl = ttl
        self._offers: dict[str, tuple[str, float]] = {}
        self._random = random.Random(os.urandom(16))

    def offer(self, article_id: str, now: float) -> str:
        self._offers = {t: offer for t, offer in self._offers.items() if offer[1] > now}
        token = f"{self._random.getrandbits(64):016x}"
        self._offers[token] = (article_id, now + self.ttl)
        return token

    def take(self, token: str, now: float) -> str | None:
        """The article id the token was offered for, once; None when unknown or expired."""
        offer = self._offers.pop(token, None)
        return offer[0] if offer is not None and offer[1] > now else None
