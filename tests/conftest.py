"""Shared fixtures: the bundled corpus, a real engine over it, and corpus copies to break."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot._service import AnswerService
from corpus import BUNDLED
from index import Corpus, Engine, LanguageDetector, load_corpus
from index.search import analysis

from .botkit import TOKEN, application, bot_config
from .fakebot import FakeBotAPI

DATA = Path(__file__).resolve().parent / "data"
RESULT_FIELDS = {
    "article_id", "passage_index", "source", "title", "url", "published",
    "language", "text", "translation", "translation_method", "score",
    "highlights", "translation_highlights", "also_reported_by",
}  # fmt: skip


class HashingEmbedder:
    """A fast stand-in for the sentence encoder: hashed character trigrams, L2-normalised.

    Texts sharing many trigrams get close vectors, which is all the engine's
    plumbing (caching, fusion, duplicates) needs; it also counts its calls.
    """

    name = "hashing-test-embedder"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.casefold()}  "
            for i in range(len(padded) - 2):
                digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return out / norms

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def count_analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, every text the analyser indexes (not questions) is appended to the list returned."""
    analysed: list[str] = []
    real = analysis.Analyzer.terms

    def counting(self: analysis.Analyzer, text: str, *, query: bool = False) -> list[str]:
        if not query:
            analysed.append(text)
        return real(self, text, query=query)

    monkeypatch.setattr(analysis.Analyzer, "terms", counting)
    return analysed


@pytest.fixture(scope="session")
def bundled() -> Corpus:
    return load_corpus(BUNDLED)


def copy_bundled(target: Path) -> Path:
    """A writable copy of the bundled corpus at ``target`` (its package files left out)."""
    shutil.copytree(BUNDLED, target, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    return target


@pytest.fixture(scope="session")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole run, so each text is embedded once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def engine(bundled: Corpus, detector: LanguageDetector, embedding_cache: Path) -> Engine:
    """The real engine (sentence encoder included) over the bundled corpus."""
    return Engine.build(bundled, cache_dir=embedding_cache, detector=detector)


@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    copy_bundled(target)
    return target


@pytest.fixture()
def fake() -> FakeBotAPI:
    """A fresh strict fake of the Bot API."""
    return FakeBotAPI(TOKEN)


@pytest.fixture()
def service(engine: Engine, tmp_path: Path) -> AnswerService:
    """The answering service over the shared real engine (bundled corpus)."""
    return AnswerService(engine, corpus_dir=BUNDLED, cache_dir=tmp_path / "cache")


@pytest.fixture()
async def app(fake: FakeBotAPI, service: AnswerService, tmp_path: Path) -> AsyncIterator[Any]:
    """The bot application wired to ``fake``, initialised (getMe done) and shut down after the test."""
    bot_app = application(bot_config(tmp_path), service, fake)
    await bot_app.initialize()
    yield bot_app
    await bot_app.shutdown()
