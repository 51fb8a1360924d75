"""Follows and alerts in the database: who follows which question, and what was sent to them.

A follow belongs to a chat (a user's private chat, or a group) and points at a question row,
shared by every chat following the same question (compared case- and space-insensitively),
which keeps the question's vector for matching. An alert is one article's news for one
follow; the pair is unique, so an article alerts a follower at most once, whatever happens.

An alert's life: it is written **due**, with the message to send, before anything is sent;
marked **sent** once Telegram has accepted it; **seen** when the follower already had that
article (it answered the question when they followed it, or it corroborates one they were
sent); **dropped** when it cannot be delivered (the follower blocked the bot). A restart
sends every due alert once: what was sent is never due again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .database import Database

MAX_FOLLOWS = 20
"""Follows per chat."""
CONSOLE_CHAT = 0
"""The console's chat (``python bot.py --console``). No Telegram chat has id 0, so the console's follows live in
the bot's database beside Telegram's; their alerts are printed by the console and never sent to Telegram."""
RELATED_LISTED = 10
"""Possibly related findings listed under /following."""


def question_key(question: str) -> str:
    """What makes two questions the same one: their words, case and spacing aside."""
    return " ".join(question.casefold().split())


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    chat_id: int
    user_id: int
    question_id: int
    question: str
    language: str
    """The language alerts are written in (the answer language when the question was followed)."""
    hint: str | None
    paused: bool


@dataclass(frozen=True, slots=True)
class Alert:
    """A due alert: the message, ready to send, and the follow it stops with its button."""

    id: int
    follow_id: int
    chat_id: int
    article_id: str
    text: str
    buttons: tuple[tuple[str, str], ...]
    """(label, callback data or URL) rows; a value with ``://`` is a link."""


class FollowOutcome(Enum):
    FOLLOWED = "followed"
    ALREADY = "already"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class AlertCounts:
    follows: int
    followers: int
    sent: int
    due: int


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An alert to record: for ``follow_id``, ``article_id``'s news, as ``text`` with ``buttons``."""

    follow_id: int
    chat_id: int
    article_id: str
    text: str
    buttons: tuple[tuple[str, str], ...] = ()


_SEEN = "INSERT OR IGNORE INTO alerts (follow_id, article_id, state, chat_id, created) VALUES (?, ?, 'seen', ?, ?)"
_FOLLOW_COLUMNS = "f.id, f.chat_id, f.user_id, f.question_id, f.question, f.language, f.hint, f.paused"


def _follow(row: Sequence[object]) -> Follow:
    return Follow(
        int(row[0]),  # type: ignore[call-overload]
        int(row[1]),  # type: ignore[call-overload]
        int(row[2]),  # type: ignore[call-overload]
        int(row[3]),  # type: ignore[call-overload]
        str(row[4]),
        str(row[5]),
        None if row[6] is None else str(row[6]),
        bool(row[7]),
    )


class FollowStore:
    """Follows and alerts over a :class:`Database`; every method is one short transaction, safe from any thread."""

    def __init__(self, database: Database, *, max_follows: int = MAX_FOLLOWS) -> None:
        self.db = database
        self.max_follows = max_follows

    # -- follows

    def follow(
        self,
        *,
        chat_id: int,
        user_id: int,
        question: str,
        language: str,
        hint: str | None,
        vector: np.ndarray,
        model: str,
    ) -> tuple[FollowOutcome, Follow | None]:
        """Follow ``question`` in ``chat_id``: the new follow; or the existing one; or TOO_MANY and None."""
        key = question_key(question)
        with self.db.transaction() as db:
            found = db.execute(
                f"SELECT {_FOLLOW_COLUMNS} FROM follows f JOIN questions q ON q.id = f.question_id "
                "WHERE f.chat_id = ? AND q.key = ?",
                (chat_id, key),
            ).fetchone()
            if found is not None:
                return FollowOutcome.ALREADY, _follow(found)
            (count,) = db.execute("SELECT COUNT(*) FROM follows WHERE chat_id = ?", (chat_id,)).fetchone()
            if count >= self.max_follows:
                return FollowOutcome.TOO_MANY, None
            row = db.execute("SELECT id FROM questions WHERE key = ?", (key,)).fetchone()
            blob = np.asarray(vector, dtype=np.float32).tobytes()
            if row is None:
                question_id = db.execute(
                    "INSERT INTO questions (key, text, model, vector) VALUES (?, ?, ?, ?)", (key, question, model, blob)
                ).lastrowid
            else:
                question_id = row[0]
            follow_id = db.execute(
                "INSERT INTO follows (chat_id, user_id, question_id, question, language, hint, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (chat_id, user_id, question_id, question, language, hint, time.time()),
            ).lastrowid
        assert follow_id is not None and question_id is not None
        return FollowOutcome.FOLLOWED, Follow(
            follow_id, chat_id, user_id, int(question_id), question, language, hint, False
        )

    def unfollow(self, follow_id: int, chat_id: int) -> Follow | None:
        """Stop the follow (only from its own chat); the follow it was, None when there is none."""
        with self.db.transaction() as db:
            row = db.execute(
                f"SELECT {_FOLLOW_COLUMNS} FROM follows f WHERE f.id = ? AND f.chat_id = ?", (follow_id, chat_id)
            ).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM alerts WHERE follow_id = ?", (follow_id,))
            db.execute("DELETE FROM related WHERE follow_id = ?", (follow_id,))
            db.execute("DELETE FROM follows WHERE id = ?", (follow_id,))
            db.execute("DELETE FROM questions WHERE id = ? AND id NOT IN (SELECT question_id FROM follows)", (row[3],))
        return _follow(row)

    def follows_of(self, chat_id: int) -> list[Follow]:
        rows = self.db.query(f"SELECT {_FOLLOW_COLUMNS} FROM follows f WHERE f.chat_id = ? ORDER BY f.id", (chat_id,))
        return [_follow(row) for row in rows]

    def follows_of_questions(self, question_ids: Iterable[int]) -> list[Follow]:
        """The active (unpaused) follows of these questions."""
        ids = sorted(set(question_ids))
        found: list[Follow] = []
        for start in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT {_FOLLOW_COLUMNS} FROM follows f WHERE f.paused = 0 AND f.question_id IN ({marks})", chunk
            )
            found.extend(_follow(row) for row in rows)
        return found

    def question_vectors(self) -> tuple[np.ndarray, list[str], np.ndarray | None]:
        """Every followed question: ids, models, and their vectors stacked (None when there are none)."""
        rows = self.db.query("SELECT id, model, vector FROM questions ORDER BY id")
        if not rows:
            return np.zeros(0, np.int64), [], None
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        vectors = np.stack([np.frombuffer(row[2], dtype=np.float32) for row in rows])
        return ids, [str(row[1]) for row in rows], vectors

    def question_text(self, question_id: int) -> str | None:
        rows = self.db.query("SELECT text FROM questions WHERE id = ?", (question_id,))
        return str(rows[0][0]) if rows else None

    def replace_vector(self, question_id: int, vector: np.ndarray, model: str) -> None:
        """The question embedded again (the encoder changed since it was followed)."""
        blob = np.asarray(vector, dtype=np.float32).tobytes()
        self.db.write("UPDATE questions SET vector = ?, model = ? WHERE id = ?", (blob, model, question_id))

    def pause_chat(self, chat_id: int) -> int:
        """Pause every follow of a chat that cannot be written to, and drop what was due for it."""
        with self.db.transaction() as db:
            db.execute("UPDATE alerts SET state = 'dropped' WHERE chat_id = ? AND state = 'due'", (chat_id,))
            return db.execute("UPDATE follows SET paused = 1 WHERE chat_id = ? AND paused = 0", (chat_id,)).rowcount

    def resume_chat(self, chat_id: int) -> int:
        """Resume a chat's paused follows (it wrote to the bot again); how many."""
        return self.db.write("UPDATE follows SET paused = 0 WHERE chat_id = ? AND paused = 1", (chat_id,))

    # -- alerts

    def known_articles(self, follow_ids: Iterable[int]) -> dict[int, set[str]]:
        """Per follow, the articles it already has an alert for (in any state)."""
        ids = sorted(set(follow_ids))
        known: dict[int, set[str]] = {i: set() for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for follow_id, article_id in self.db.query(
                f"SELECT follow_id, article_id FROM alerts WHERE follow_id IN ({marks})", chunk
            ):
                known[int(follow_id)].add(str(article_id))
        return known

    def mark_seen(self, follow_id: int, chat_id: int, article_ids: Iterable[str]) -> None:
        """Articles the follower already has: they are never sent as news to this follow."""
        now = time.time()
        with self.db.transaction() as db:
            db.executemany(
                _SEEN,
                [(follow_id, article_id, chat_id, now) for article_id in dict.fromkeys(article_ids)],
            )

    def record_due(self, alerts: Sequence[DueAlert], seen: Sequence[tuple[int, int, str]] = ()) -> int:
        """Record alerts as due (an article already recorded for a follow is left as it is), and
        corroborations as seen, as (follow, chat, article); the number of alerts newly due."""
        now = time.time()
        with self.db.transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO alerts (follow_id, article_id, state, chat_id, text, buttons, created) "
                "VALUES (?, ?, 'due', ?, ?, ?, ?)",
                [(a.follow_id, a.article_id, a.chat_id, a.text, json.dumps(a.buttons), now) for a in alerts],
            )
            added = db.total_changes - before
            db.executemany(
                _SEEN,
                [(follow_id, article_id, chat_id, now) for follow_id, chat_id, article_id in seen],
            )
        return added

    def due(self, limit: int = 100, *, after: int = 0, chat_id: int | None = None) -> list[Alert]:
        """Due alerts, oldest first (ids above ``after``): of ``chat_id``, or of every Telegram chat when None
        (the console's are left for the console to print)."""
        chats = "chat_id = ?" if chat_id is not None else "chat_id != ?"
        rows = self.db.query(
            "SELECT id, follow_id, chat_id, article_id, text, buttons FROM alerts "
            f"WHERE state = 'due' AND {chats} AND id > ? ORDER BY id LIMIT ?",
            (CONSOLE_CHAT if chat_id is None else chat_id, after, limit),
        )
        return [
            Alert(
                int(row[0]),
                int(row[1]),
                int(row[2]),
                str(row[3]),
                str(row[4]),
                tuple((str(label), str(value)) for label, value in json.loads(row[5])),
            )
            for row in rows
        ]

    def mark_sent(self, alert_id: int) -> None:
        self.db.write("UPDATE alerts SET state = 'sent', sent = ? WHERE id = ?", (time.time(), alert_id))

    def mark_dropped(self, alert_id: int) -> None:
        self.db.write("UPDATE alerts SET state = 'dropped' WHERE id = ?", (alert_id,))

    # -- possibly related: new coverage close to a followed question that may not answer it (never alerted)

    def record_related(self, found: Sequence[tuple[int, int, str]]) -> None:
        """Record (follow, chat, article) findings the engine was not sure answer the question."""
        now = time.time()
        with self.db.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO related (follow_id, article_id, chat_id, created) VALUES (?, ?, ?, ?)",
                [(follow_id, article_id, chat_id, now) for follow_id, chat_id, article_id in found],
            )

    def related_of(self, chat_id: int, limit: int = RELATED_LISTED) -> list[tuple[int, str]]:
        """A chat's most recent possibly related findings, as (follow id, article id), newest first; none
        for an article that has since alerted the follow."""
        rows = self.db.query(
            "SELECT r.follow_id, r.article_id FROM related r WHERE r.chat_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM alerts a WHERE a.follow_id = r.follow_id AND a.article_id = r.article_id) "
            "ORDER BY r.created DESC, r.rowid DESC LIMIT ?",
            (chat_id, limit),
        )
        return [(int(follow_id), str(article_id)) for follow_id, article_id in rows]

    def counts(self) -> AlertCounts:
        ((follows, followers),) = self.db.query("SELECT COUNT(*), COUNT(DISTINCT chat_id) FROM follows")
        ((sent, due),) = self.db.query(
            "SELECT COALESCE(SUM(state = 'sent'), 0), COALESCE(SUM(state = 'due'), 0) FROM alerts"
        )
        return AlertCounts(int(follows), int(followers), int(sent), int(due))
