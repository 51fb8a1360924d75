"""The follow store and its database: schema version and migrations, limits, one alert per article, due → sent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.follow import Database, DatabaseError, FollowOutcome, FollowStore, QuestionVectors, question_key
from index.follow import database as database_module
from index.follow.database import SCHEMA_VERSION, open_database
from index.follow.store import DueAlert


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def follow(store: FollowStore, chat_id: int, question: str, vector: np.ndarray | None = None) -> int:
    outcome, found = store.follow(
        chat_id=chat_id,
        user_id=chat_id,
        question=question,
        language="en",
        hint="en",
        vector=unit(1, 0, 0) if vector is None else vector,
        model="m",
    )
    assert found is not None, outcome
    return found.id


def test_a_new_file_gets_the_current_schema_and_an_old_one_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    Database(path).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    older = tmp_path / "old.sqlite3"
    sqlite3.connect(older).close()  # version 0: an empty file from before the first migration
    assert Database(older).version == SCHEMA_VERSION
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(DatabaseError, match="newer than this bot"):
        Database(path)


def test_following_is_unique_per_chat_and_limited(tmp_path: Path) -> None:
    store = FollowStore(Database(tmp_path / "db"), max_follows=2)
    first = follow(store, 1, "How many bottles?")
    outcome, again = store.follow(
        chat_id=1, user_id=1, question="  how MANY bottles? ", language="en", hint=None, vector=unit(1, 0), model="m"
    )
    assert outcome is FollowOutcome.ALREADY and again is not None and again.id == first
    follow(store, 1, "Who made the wine?")
    outcome, none = store.follow(
        chat_id=1, user_id=1, question="A third one?", language="en", hint=None, vector=unit(1, 0), model="m"
    )
    assert (outcome, none) == (FollowOutcome.TOO_MANY, None)
    follow(store, 2, "How many bottles?")  # another chat, the same question: one question row
    ids, _, vectors = store.question_vectors()
    assert len(ids) == 2 and vectors is not None
    assert store.counts().follows == 3 and store.counts().followers == 2
    assert store.unfollow(first, chat_id=2) is None  # only from its own chat
    assert store.unfollow(first, chat_id=1) is not None
    assert len(store.question_vectors()[0]) == 2  # chat 2 still follows it
    assert question_key(" How\tmany  BOTTLES?") == "how many bottles?"


def test_an_article_alerts_a_follow_once_and_due_becomes_sent(tmp_path: Path) -> None:
    store = FollowStore(Database(tmp_path / "db"))
    follow_id = follow(store, 7, "How many bottles?")
    alert = DueAlert(follow_id, 7, "vineyard", "<b>New</b>", (("Stop following", f"uf:{follow_id}"),))
    assert store.record_due([alert, alert]) == 1
    assert store.record_due([alert]) == 0
    (due,) = store.due()
    assert (due.chat_id, due.article_id, due.buttons) == (7, "vineyard", (("Stop following", f"uf:{follow_id}"),))
    store.mark_sent(due.id)
    assert store.due() == [] and store.counts().sent == 1
    assert store.record_due([alert]) == 0  # sent is never due again
    store.mark_seen(follow_id, 7, ["older"])
    assert store.record_due([DueAlert(follow_id, 7, "older", "x")]) == 0
    assert store.known_articles([follow_id]) == {follow_id: {"vineyard", "older"}}


def test_a_blocked_chat_is_paused_and_its_due_alerts_dropped(tmp_path: Path) -> None:
    store = FollowStore(Database(tmp_path / "db"))
    follow_id = follow(store, 9, "How many bottles?")
    question_id = store.follows_of(9)[0].question_id
    store.record_due([DueAlert(follow_id, 9, "a", "x"), DueAlert(follow_id, 9, "b", "y")])
    assert store.pause_chat(9) == 1
    assert store.due() == [] and store.follows_of_questions([question_id]) == []
    assert store.resume_chat(9) == 1 and len(store.follows_of_questions([question_id])) == 1


def test_a_damaged_file_is_set_aside_and_a_locked_one_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state" / "bot.sqlite3"
    path.parent.mkdir()
    path.write_bytes(np.random.default_rng(1).bytes(3000))
    database, note = open_database(path)
    assert note is not None and str(path) in note and "damaged" in note
    assert database.version == SCHEMA_VERSION
    assert [p.name for p in path.parent.iterdir() if ".damaged-" in p.name]
    database.close()

    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_SECONDS", 0.1)
    other = tmp_path / "locked.sqlite3"
    Database(other).close()
    holder = sqlite3.connect(other, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseError, match="locked") as raised:
            Database(other)
        assert str(other) in str(raised.value) and not raised.value.damaged
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_question_vectors_match_all_questions_at_once_and_follow_removals(tmp_path: Path) -> None:
    vectors = QuestionVectors()
    for question_id, vector in enumerate([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1), unit(1, 1, 0)], 1):
        vectors.add(question_id, vector)
    probes = np.stack([unit(1, 0.05, 0), unit(0, 0, 1)])
    assert sorted(vectors.close_to(probes, 0.95)) == [1, 3]
    vectors.remove(1)
    assert sorted(vectors.close_to(probes, 0.95)) == [3] and len(vectors) == 3
    assert sorted(vectors.close_to(probes, 0.6)) == [3, 4]

    store = FollowStore(Database(tmp_path / "db"))
    follow(store, 1, "old model", unit(1, 0, 0))
    loaded = QuestionVectors.load(store, lambda text: unit(0, 1, 0), "m")
    assert loaded.close_to(unit(1, 0, 0)[None], 0.9) == [1]
    reembedded = QuestionVectors.load(store, lambda text: unit(0, 1, 0), "another model")
    assert reembedded.close_to(unit(0, 1, 0)[None], 0.9) == [1]  # embedded again by the model in use


def test_a_version_1_file_keeps_its_follows_and_gains_the_buttons_and_related_tables(tmp_path: Path) -> None:
    from index.follow.database import MIGRATIONS

    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as raw:
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
        raw.execute("INSERT INTO questions (id, key, text, model, vector) VALUES (1, 'q', 'Q', 'm', x'00')")
        raw.execute(
            "INSERT INTO follows (chat_id, user_id, question_id, question, language, created) "
            "VALUES (5, 5, 1, 'Q', 'en', 0)"
        )
    database = Database(path)
    assert database.version == SCHEMA_VERSION >= 2
    assert [f.question for f in FollowStore(database).follows_of(5)] == ["Q"]
    assert database.query("SELECT COUNT(*) FROM answers") == [(0,)]
    assert database.query("SELECT COUNT(*) FROM related") == [(0,)]
