"""The bot's state in its SQLite database: python-telegram-bot's persistence, and the one-time pickle migration.

Earlier versions kept user choices in a ``PicklePersistence`` file (``state/bot.pickle``) and
statistics in ``stats.json``; a damaged pickle stopped the bot at start with a traceback. Now
both live in the database beside it (``state/bot.sqlite3``), with follows and alerts. An old
pickle is read once, its user data copied, and the file renamed ``*.migrated``; a pickle that
cannot be read is named in one log line and set aside (``*.damaged-<time>``), and the bot
starts without it. A database that is locked by another process or cannot be written is named
in one line too, and the bot runs on an in-memory database: it answers, but remembers nothing.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from index.follow import Database, DatabaseError
from index.follow.database import open_database, set_aside

log = logging.getLogger(__name__)
USER_PREFIX = "user:"
STATS_KEY = "stats"
_SAFE_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes"})


def database_path(persistence: Path) -> Path:
    """Where the database lives for the configured ``persistence`` path (``bot.pickle`` → ``bot.sqlite3``)."""
    return persistence.with_suffix(".sqlite3") if persistence.suffix in (".pickle", ".pkl") else persistence


def open_state(persistence: Path | None) -> Database:
    """The bot's database (in memory when persistence is off or the file cannot be used), old state migrated."""
    if persistence is None:
        return Database(None)
    path = database_path(persistence)
    try:
        database, note = open_database(path)
    except DatabaseError as exc:
        log.error("%s; running without saving follows, language choices or statistics", exc)
        return Database(None)
    if note:
        log.error("%s", note)
    legacy = persistence if persistence != path else persistence.with_suffix(".pickle")
    migrate_pickle(legacy, database)
    migrate_stats(persistence.with_name("stats.json"), database)
    return database


class _StateUnpickler(pickle.Unpickler):
    """Reads plain data only: the old file held user choices, never code to run."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:  # PTB stores its Bot as a persistent id
        return None


def migrate_pickle(path: Path, database: Database) -> int:
    """Copy an old PicklePersistence file's user data into ``database`` once; the number of users copied."""
    if not path.is_file():
        return 0
    try:
        data = _StateUnpickler(io.BytesIO(path.read_bytes())).load()
        users = data.get("user_data", {}) if isinstance(data, dict) else None
        if not isinstance(users, dict):
            raise pickle.UnpicklingError("no user_data mapping")
    except Exception as exc:  # any way a damaged file fails to load: the bot starts regardless
        moved = set_aside(path)
        log.error("%s does not contain valid saved state (%s); set aside as %s", path, _short(exc), moved.name)
        return 0
    copied = 0
    for user_id, values in users.items():
        if isinstance(user_id, int) and isinstance(values, dict) and values:
            plain = {str(k): v for k, v in values.items() if _json_safe(v)}
            if plain and database.get(f"{USER_PREFIX}{user_id}") is None:
                database.put(f"{USER_PREFIX}{user_id}", plain)
                copied += 1
    path.replace(path.with_name(path.name + ".migrated"))
    log.info("moved the state of %d user(s) from %s into %s", copied, path, database.path)
    return copied


def migrate_stats(path: Path, database: Database) -> None:
    """Carry an old ``stats.json`` into the database once."""
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if database.get(STATS_KEY) is None and isinstance(saved, dict):
            database.put(STATS_KEY, saved)
        path.replace(path.with_name(path.name + ".migrated"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable statistics file %s: %s", path, _short(exc))


def _short(exc: BaseException) -> str:
    return str(exc)[:200] or type(exc).__name__


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's persistence over the database: each user's data (their /lang choice) as one JSON row.

    A write goes straight to the database (off the event loop), so ``flush`` has nothing left
    to do and a crash loses nothing written. Only user data is kept, as before.
    """

    def __init__(self, database: Database, *, update_interval: float = 60) -> None:
        store = PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False)
        super().__init__(store_data=store, update_interval=update_interval)
        self.database = database

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        def read() -> dict[int, dict[Any, Any]]:
            users: dict[int, dict[Any, Any]] = {}
            for key in self.database.keys(USER_PREFIX):
                suffix = key.removeprefix(USER_PREFIX)
                value = self.database.get(key)
                if suffix.lstrip("-").isdigit() and isinstance(value, dict):
                    users[int(suffix)] = value
            return users

        try:
            return await asyncio.to_thread(read)
        except DatabaseError as exc:
            log.error("could not read user choices: %s", exc)
            return {}

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        plain = {str(k): v for k, v in data.items() if _json_safe(v)}
        try:
            await asyncio.to_thread(self.database.put, f"{USER_PREFIX}{user_id}", plain or None)
        except DatabaseError as exc:
            log.error("could not save a user's choices: %s", exc)

    async def drop_user_data(self, user_id: int) -> None:
        await self.update_user_data(user_id, {})

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Nothing to refresh: this process is the database's only writer of user data."""

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Chat data is not kept."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Chat data is not kept."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Chat data is not kept."""

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Bot data is the run's own (the runtime) and never kept."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Bot data is never kept."""

    async def get_callback_data(self) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        """Callback data is not kept."""

    async def get_conversations(self, name: str) -> MutableMapping[tuple[int | str, ...], object]:
        return {}

    async def update_conversation(self, name: str, key: tuple[int | str, ...], new_state: object | None) -> None:
        """The bot has no conversations."""

    async def flush(self) -> None:
        """Every write is already in the database."""
