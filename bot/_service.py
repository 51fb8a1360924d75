"""The answering service shared by the Telegram bot and the console.

It owns the current engine and swaps it atomically on reload: a reload
builds a complete new index while the old one keeps answering, and a corpus
with problems never replaces a working one. It also keeps the statistics
behind /stats.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import Answer, Engine, load_corpus


@dataclass(frozen=True, slots=True)
class ReloadReport:
    seconds: float
    articles: int
    passages: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass
class Stats:
    started: float = field(default_factory=time.time)
    questions: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    last_reload: str | None = None
    loop_lag_max_ms: float = 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(np.fromiter(self.latencies_ms, dtype=float), q)) if self.latencies_ms else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "latencies_ms": list(self.latencies_ms),
            "last_reload": self.last_reload,
            "loop_lag_max_ms": self.loop_lag_max_ms,
        }

    def restore(self, saved: dict[str, object]) -> None:
        """Carry counters over from a previous run (uptime restarts)."""
        self.questions = int(saved.get("questions", 0))  # type: ignore[call-overload]
        self.latencies_ms.extend(float(x) for x in saved.get("latencies_ms", []))  # type: ignore[attr-defined]
        self.last_reload = saved.get("last_reload")  # type: ignore[assignment]
        self.loop_lag_max_ms = float(saved.get("loop_lag_max_ms", 0.0))  # type: ignore[arg-type]


class AnswerService:
    """Answers questions with the current engine; reloads the corpus without downtime."""

    def __init__(self, engine: Engine, *, corpus_dir: Path, cache_dir: Path | None) -> None:
        self._engine = engine
        self.corpus_dir = corpus_dir
        self.cache_dir = cache_dir
        self.stats = Stats()
        self._reload_lock = threading.Lock()
        self._stats_lock = threading.Lock()

    @classmethod
    def open(cls, corpus_dir: Path, cache_dir: Path | None) -> AnswerService:
        """Load and index ``corpus_dir``; raises CorpusError when it has problems."""
        engine = Engine.build(load_corpus(corpus_dir), cache_dir=cache_dir)
        engine.ask("warm up")  # loads the sentence encoder now, not on the first user's question
        return cls(engine, corpus_dir=corpus_dir, cache_dir=cache_dir)

    @property
    def engine(self) -> Engine:
        return self._engine

    def ask(self, question: str, *, k: int, language: str | None = None, hint: str | None = None) -> Answer:
        """Answer one question with whichever engine is current when it starts."""
        engine = self._engine  # one read: a concurrent reload cannot mix two indexes
        started = time.perf_counter()
        answer = engine.ask(question, k=k, language=language, hint=hint)
        elapsed = (time.perf_counter() - started) * 1000
        with self._stats_lock:
            self.stats.questions += 1
            self.stats.latencies_ms.append(elapsed)
        return answer

    def reload(self) -> ReloadReport:
        """Re-read and re-index the corpus, then swap; raises CorpusError and keeps the old index."""
        with self._reload_lock:
            started = time.perf_counter()
            old = self._engine
            corpus = load_corpus(self.corpus_dir)
            engine = Engine.build(
                corpus, cache_dir=self.cache_dir, embedder=old.embedder, detector=old.detector, settings=old.settings
            )
            before, after = old.corpus.article_digests, corpus.article_digests
            self._engine = engine
            report = ReloadReport(
                seconds=time.perf_counter() - started,
                articles=len(corpus.articles),
                passages=len(corpus.passages),
                added=tuple(sorted(after.keys() - before.keys())),
                removed=tuple(sorted(before.keys() - after.keys())),
                changed=tuple(sorted(k for k in after.keys() & before.keys() if after[k] != before[k])),
            )
            self.stats.last_reload = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            return report
