"""The bot's embedded database: one SQLite file, a schema version, and migrations from the start.

Everything that must survive a restart and is not the corpus lives here: follows and
alerts (:mod:`.store`), the bot's per-user choices and statistics (a small key-value
table), and machine translations of quoted passages with the characters they cost
(:mod:`index.translation.store`). One connection is shared by every thread behind a lock: SQLite serialises writers
anyway, and the bot's writes are small. The file runs in WAL mode, so a reader never waits
for a writer and a crash never leaves a half-written transaction behind.

The schema version is SQLite's own ``PRAGMA user_version``; :data:`MIGRATIONS` holds one
list of SQL statements per version, applied in order inside one transaction each, so a file
from any earlier version is brought up to date when it is opened. A file that is not a
database, or is damaged, or stays locked by another process, raises :class:`DatabaseError`
naming the file; :func:`set_aside` moves a damaged one out of the way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_SECONDS = 5.0
"""How long a statement waits for another process's lock before the file counts as locked."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: follows, their questions' vectors, alerts, and the bot's key-value state.
    (
        """CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL
        )""",
        """CREATE TABLE follows (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            question_id INTEGER NOT NULL REFERENCES questions(id),
            question TEXT NOT NULL,
            language TEXT NOT NULL,
            hint TEXT,
            created REAL NOT NULL,
            paused INTEGER NOT NULL DEFAULT 0,
            UNIQUE (chat_id, question_id)
        )""",
        "CREATE INDEX follows_by_question ON follows (question_id)",
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            follow_id INTEGER NOT NULL REFERENCES follows(id) ON DELETE CASCADE,
            article_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('due', 'sent', 'seen', 'dropped')),
            chat_id INTEGER NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            buttons TEXT NOT NULL DEFAULT '[]',
            created REAL NOT NULL,
            sent REAL,
            UNIQUE (follow_id, article_id)
        )""",
        "CREATE INDEX alerts_due ON alerts (state, id)",
        "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # 2: what the Follow and More buttons under an answer need after a restart (bot/_memory.py),
    # and new coverage that came close to a followed question without answering it ("possibly related").
    (
        """CREATE TABLE answers (
            token TEXT PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            question TEXT NOT NULL,
            language TEXT NOT NULL,
            created REAL NOT NULL
        )""",
        "CREATE INDEX answers_by_age ON answers (created)",
        """CREATE TABLE related (
            follow_id INTEGER NOT NULL REFERENCES follows(id) ON DELETE CASCADE,
            article_id TEXT NOT NULL,
            chat_id INTEGER NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (follow_id, article_id)
        )""",
    ),
    # 3: machine translations of quoted passages, and the characters sent to each service a month
    # (index/translation/store.py).
    (
        """CREATE TABLE machine_translations (
            digest TEXT NOT NULL,
            language TEXT NOT NULL,
            service TEXT NOT NULL,
            text TEXT NOT NULL,
            alignment TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (digest, language, service)
        )""",
        """CREATE TABLE translation_usage (
            month TEXT NOT NULL,
            service TEXT NOT NULL,
            characters INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            PRIMARY KEY (month, service)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class DatabaseError(RuntimeError):
    """The database file cannot be used; the message names it and says why (never a secret: it holds none)."""

    def __init__(self, path: Path | None, reason: str, *, damaged: bool = False) -> None:
        super().__init__(f"{path or 'the in-memory database'}: {reason}")
        self.path = path
        self.damaged = damaged
        """True when the file is not a usable database (as opposed to locked or unwritable)."""


class Database:
    """One SQLite database, shared by threads; ``path`` None keeps it in memory (nothing survives)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                ":memory:" if path is None else path,
                timeout=BUSY_TIMEOUT_SECONDS,
                check_same_thread=False,
                isolation_level=None,  # transactions are ours: explicit BEGIN IMMEDIATE
            )
        except (OSError, sqlite3.Error) as exc:
            raise self.error(exc) from None
        try:
            self._connection.execute("PRAGMA foreign_keys = ON")
            if path is not None:
                self._connection.execute("PRAGMA journal_mode = WAL")
                self._connection.execute("PRAGMA synchronous = NORMAL")  # durable at each WAL checkpoint
            self._migrate()
        except sqlite3.Error as exc:
            self._connection.close()
            raise self.error(exc) from None

    def error(self, exc: BaseException) -> DatabaseError:
        """``exc`` as a :class:`DatabaseError` naming the file, worded for whoever runs the bot."""
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
            return DatabaseError(self.path, f"is damaged or not a database ({text})", damaged=True)
        if "locked" in text or "busy" in text:
            return DatabaseError(self.path, f"is locked by another process ({text}); is a second bot running?")
        return DatabaseError(self.path, text)

    @property
    def version(self) -> int:
        with self._lock:
            return int(self._connection.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.version
        if current > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {current} is newer than this bot's ({SCHEMA_VERSION})")
        for version in range(current, SCHEMA_VERSION):
            with self.transaction() as db:
                for statement in MIGRATIONS[version]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")  # a pragma takes no parameters

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one write transaction (taken at once, so two writers never deadlock)."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._connection.execute(sql, parameters).fetchall()
            except sqlite3.Error as exc:
                raise self.error(exc) from None

    def write(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; the number of rows it changed."""
        try:
            with self.transaction() as db:
                return db.execute(sql, parameters).rowcount
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    def get(self, key: str) -> Any:
        """A JSON value of the key-value state; None when absent."""
        rows = self.query("SELECT value FROM state WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def put(self, key: str, value: Any) -> None:
        """Store a JSON value (None deletes the key)."""
        if value is None:
            self.write("DELETE FROM state WHERE key = ?", (key,))
        else:
            self.write("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def keys(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return [row[0] for row in self.query("SELECT key FROM state WHERE key LIKE ? ESCAPE '\\'", (escaped + "%",))]

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def set_aside(path: Path, why: str = "damaged") -> Path:
    """Move ``path`` (and its WAL files) out of the way, beside it; the new name of the file."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.replace(target.with_name(target.name + suffix))
    return target


def open_database(path: Path) -> tuple[Database, str | None]:
    """The database at ``path``; a damaged file is set aside and a fresh one started.

    Returns the database and, when something had to be done about the file, one line saying what.
    Raises :class:`DatabaseError` when the file is locked or cannot be written at all.
    """
    try:
        return Database(path), None
    except DatabaseError as exc:
        if not exc.damaged:
            raise
        moved = set_aside(path)
        return Database(path), f"{exc}; set aside as {moved.name}, starting a new database"
