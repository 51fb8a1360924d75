"""Answers remembered for the "More" button, pending /remove confirmations, and their callback data.

Callback data is at most 64 bytes, so it carries a short random token and an
offset, never the question. Data the bot did not create fails to parse and is
ignored.
"""

from __future__ import annotations

import os
import random
import re
from collections import OrderedDict
from dataclasses import dataclass

from telegram.constants import InlineKeyboardButtonLimit

from index import Answer

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


class AnswerMemory:
    """The last ``capacity`` answers that offered more results, by token."""

    def __init__(self, capacity: int = 5_000) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        # Seeded once from the OS: tokens only need to be unpredictable enough not to collide,
        # and asking the OS for randomness per answer is slow on some machines.
        self._random = random.Random(os.urandom(16))

    def remember(self, answer: Answer) -> str:
        token = f"{self._random.getrandbits(64):016x}"
        self._answers[token] = answer
        if len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return token

    def recall(self, token: str) -> Answer | None:
        return self._answers.get(token)


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
