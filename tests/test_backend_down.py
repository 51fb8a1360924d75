"""A search backend that stops answering: an apology in the asker's language, nothing lost, recovery by itself."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot._i18n import strings
from bot._service import AnswerService
from corpus import BUNDLED
from index import Corpus, Engine, LanguageDetector
from index.search.backend import Alignment, BackendUnavailable, Candidates, IndexBatch
from index.search.embedded import EmbeddedBackend, EmbeddedIndex

from .botkit import message, update_for, user
from .fakebot import FakeBotAPI

DOWN = "cannot reach the search index at search.milvus.uri (connection refused)"


class Switch:
    """Whether the pretend remote index is reachable."""

    def __init__(self) -> None:
        self.down = False

    def check(self) -> None:
        if self.down:
            raise BackendUnavailable(DOWN)


class RemoteIndex:
    """The embedded index behind a switch, the way a remote one fails: every call may raise."""

    def __init__(self, inner: EmbeddedIndex, switch: Switch) -> None:
        self.inner, self.switch = inner, switch

    def lexical_top(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        self.switch.check()
        return self.inner.lexical_top(terms, k)

    def vector_top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.switch.check()
        return self.inner.vector_top(query, k)

    def fetch(self, passages: np.ndarray, terms: Sequence[str]) -> Candidates:
        self.switch.check()
        return self.inner.fetch(passages, terms)

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        self.switch.check()
        return self.inner.idf(terms)

    def alignment(self, passage: int, language: str) -> Alignment | None:
        self.switch.check()
        return self.inner.alignment(passage, language)


class RemoteBackend:
    name = "remote-test"

    def __init__(self) -> None:
        self.switch = Switch()
        self.closed = False

    def build(self, batch: IndexBatch) -> RemoteIndex:
        self.switch.check()
        return RemoteIndex(EmbeddedBackend().build(batch), self.switch)

    def update(self, batch: IndexBatch, *, changed: Collection[str], removed: Collection[str]) -> RemoteIndex:
        return self.build(batch)

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def remote_service(
    bundled: Corpus, detector: LanguageDetector, embedding_cache: Path
) -> tuple[AnswerService, RemoteBackend]:
    backend = RemoteBackend()
    engine = Engine.build(bundled, cache_dir=embedding_cache, detector=detector, backend=backend)
    return AnswerService(engine, corpus_dir=BUNDLED, cache_dir=embedding_cache), backend


def test_questions_while_the_backend_is_down_get_an_apology_and_then_answers_again(
    remote_service: tuple[AnswerService, RemoteBackend],
) -> None:
    service, backend = remote_service
    before = service.ask("Why was the Space delayed?", k=3)
    assert before.answered and not before.unavailable

    backend.switch.down = True
    during = service.ask("Pourquoi la conversation a-t-elle été retardée ?", k=3)
    assert during.unavailable and not during.answered and during.language == "fr"
    assert during.to_json()["unavailable"] is True

    backend.switch.down = False
    after = service.ask("Why was the Space delayed?", k=3)
    assert after.to_json() == before.to_json()


def test_a_reload_while_the_backend_is_down_fails_and_the_old_index_keeps_serving(
    remote_service: tuple[AnswerService, RemoteBackend],
) -> None:
    service, backend = remote_service
    engine = service.engine
    backend.switch.down = True
    with pytest.raises(BackendUnavailable, match=r"search\.milvus\.uri"):
        service.reload()
    assert service.engine is engine
    backend.switch.down = False
    assert service.ask("Why was the Space delayed?", k=3).answered
    service.close()
    assert backend.closed


async def test_the_bot_apologises_in_the_askers_language(
    remote_service: tuple[AnswerService, RemoteBackend], fake: FakeBotAPI, tmp_path: Path
) -> None:
    from .botkit import application, bot_config

    service, backend = remote_service
    bot_app: Any = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    try:
        backend.switch.down = True
        await bot_app.process_update(
            update_for(bot_app, message=message("Waarom begon het gesprek later?", sender=user(language="nl")))
        )
        (reply,) = fake.sent("sendMessage")
        assert reply["text"] == strings("nl")("search_unavailable")
        assert "search.milvus.uri" not in reply["text"]
    finally:
        await bot_app.shutdown()


def test_the_bot_refuses_to_start_without_its_milvus_and_says_which_setting(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import yaml

    pytest.importorskip("pymilvus", reason="the Milvus client is not installed")
    config = tmp_path / "config.yaml"
    settings = {"search": {"backend": "milvus", "milvus": {"uri": "http://127.0.0.1:9"}}, "cache_dir": str(tmp_path)}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123456:TEST-secret-token-do-not-log", "MILVUS_TOKEN": "root:SeKrEt"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, str(root / "bot.py"), "--config", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "search.milvus.uri" in proc.stderr and "Traceback" not in proc.stderr
    assert "SeKrEt" not in proc.stderr and "TEST-secret" not in proc.stderr


async def test_an_admins_reload_while_the_backend_is_down_names_it_and_keeps_the_old_index(
    remote_service: tuple[AnswerService, RemoteBackend], fake: FakeBotAPI, tmp_path: Path
) -> None:
    from .botkit import ADMIN_ID, application, bot_config

    service, backend = remote_service
    engine = service.engine
    bot_app: Any = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    try:
        backend.switch.down = True
        await bot_app.process_update(update_for(bot_app, message=message("/reload", sender=user(user_id=ADMIN_ID))))
        started, reply = fake.sent("sendMessage")
        assert started["text"] == strings("en")("reload_started")
        assert "search.milvus.uri" in reply["text"] and "connection refused" in reply["text"]
        assert reply["text"] == strings("en")("reload_unavailable", problem=str(BackendUnavailable(DOWN)))
        assert service.engine is engine
        backend.switch.down = False
        assert service.ask("Why was the Space delayed?", k=3).answered
    finally:
        await bot_app.shutdown()
