"""Retention: expired articles leave the index and move to the archive; follows and sent alerts stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from bot._config import load_config
from bot._service import AnswerService
from index import Engine, LanguageDetector, load_corpus
from index.corpus.retention import ARCHIVE_DIR, archived
from index.follow.database import Database
from index.follow.store import FollowStore
from index.search.bundle import EMPTY

from ..conftest import HashingEmbedder

TEXTS = {
    "old-harbour": "The old harbour of Dunmore closed its ferry pier after the winter storm.",
    "new-bridge": "The council of Dunmore voted for a new bridge over the river Lee.",
}


def write(root: Path, article_id: str, published: dt.date, text: str) -> None:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    front = (
        f'---\nid: {article_id}\ntitle: "{article_id}"\nsource: "Source"\nurl: ""\n'
        f"published: {published.isoformat()}\nlanguage: en\n---\n"
    )
    (root / "articles" / f"{article_id}.md").write_text(front + text + "\n", encoding="utf-8")


def test_expired_articles_leave_the_index_stay_on_disk_and_follows_are_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    today = dt.datetime.now(dt.UTC).date()
    write(root, "old-harbour", today - dt.timedelta(days=400), TEXTS["old-harbour"])
    write(root, "new-bridge", today - dt.timedelta(days=2), TEXTS["new-bridge"])
    (root / "translations" / "old-harbour").mkdir(parents=True)
    (root / "translations" / "old-harbour" / "fr.md").write_text(
        "---\nlanguage: fr\ntranslated_from: en\nmethod: machine\n---\n"
        "Le vieux port de Dunmore a fermé sa jetée après la tempête d'hiver.\n",
        encoding="utf-8",
    )
    engine = Engine.build(load_corpus(root), embedder=HashingEmbedder(), detector=LanguageDetector(), bundle=EMPTY)
    assert engine.ask("Why did the Dunmore harbour close its ferry pier?").results[0].article_id == "old-harbour"
    store = FollowStore(Database())
    _, follow = store.follow(
        chat_id=1, user_id=1, question="ferry pier", language="en", hint=None, vector=np.ones(4), model="m"
    )
    assert follow is not None
    store.mark_seen(follow.id, 1, ["old-harbour"])
    before = (store.follows_of(1), store.known_articles([follow.id]), store.counts())

    service = AnswerService(engine, corpus_dir=root, cache_dir=None, keep_days=30)
    assert service.retire_expired() == ("old-harbour",)
    answer = service.engine.ask("Why did the Dunmore harbour close its ferry pier?", k=5)
    assert all(r.article_id != "old-harbour" for r in answer.results)
    assert [a.id for a in service.engine.corpus.articles] == ["new-bridge"]
    assert (root / ARCHIVE_DIR / "articles" / "old-harbour.md").exists()
    assert (root / ARCHIVE_DIR / "translations" / "old-harbour" / "fr.md").exists()
    assert not (root / "articles" / "old-harbour.md").exists() and archived(root) == 1
    assert (store.follows_of(1), store.known_articles([follow.id]), store.counts()) == before
    assert service.retire_expired() == ()  # nothing more has expired


def test_retention_is_off_by_default_and_read_from_the_corpus_mapping(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("admins: []\n", encoding="utf-8")
    assert load_config(config, env={}).keep_days is None
    config.write_text("corpus:\n  path: mine\n  keep_days: 90\n", encoding="utf-8")
    loaded = load_config(config, env={})
    assert loaded.keep_days == 90 and loaded.corpus == tmp_path / "mine"
    config.write_text("corpus: other\n", encoding="utf-8")
    assert load_config(config, env={}).keep_days is None
