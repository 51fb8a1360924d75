"""Characters sent to a translation service per answered question: quoted mode against ahead mode.

Usage::

    python bench/translation.py [--questions 100] [--wait-ms 1500]

The same questions (the development set's, then the calibration set's, to ``--questions``;
both corpora hold no translations, as articles fresh from links and feeds do) are answered
by the real engine, three results each, in the question's language. A counting translator
stands in for the service (no network), so what is measured is what would be sent.

1. **Ahead** (today's behaviour before this change, ``translation.mode: ahead``): every
   passage of every article into every other answer language at intake, by the same
   :func:`index.translation.fill_gaps` the bot runs; its characters divided by the answered
   questions.
2. **Quoted** (``translation.mode: quoted``): each answer asks only for the passages it
   quotes that have no translation into the reader's language; the characters each answer
   sends, checked against the length of those passages (the target: never more, and 0 when
   cached). Then the same questions again: everything is cached, nothing is sent.
3. **Latency**: what applying cached translations adds to an answer (the cache lookups in
   the bot's SQLite database and the highlight mapping, for every result), p50 and p95,
   beside the engine's own answer time; the target is at most 5 ms.
4. **Waiting**: with a service that takes 3 s, how long a reply waits before it goes out
   (the target: no longer than ``wait_ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality import Question, load_questions  # noqa: E402
from index import SUPPORTED, Answer, Engine, LanguageDetector, load_corpus  # noqa: E402
from index.follow import Database  # noqa: E402
from index.translation import fill_gaps  # noqa: E402
from index.translation.quoted import PassageFinder, QuotedTranslations, translated_result  # noqa: E402
from index.translation.store import TranslationStore  # noqa: E402

DATA = ROOT / "bench" / "data"
SETS = ("development", "calibration")
CACHE = ROOT / ".cache" / "quality"
K = 3


class CountingTranslator:
    """Stands in for DeepL: counts what it is sent, answers at once (or after ``delay`` seconds)."""

    name = "counting translator"
    label = "Counter"
    max_batch = 50
    max_chars = 40_000

    def __init__(self, delay: float = 0.0) -> None:
        self.characters = 0
        self.requests = 0
        self.delay = delay
        self._lock = threading.Lock()

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        with self._lock:
            self.characters += sum(len(t) for t in texts)
            self.requests += 1
        if self.delay:
            time.sleep(self.delay)
        return [f"[{target}] {text}" for text in texts]

    def close(self) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def ahead_characters(corpus_dir: Path) -> tuple[int, int]:
    """Characters and requests ``mode: ahead`` sends for this corpus (on a copy: it writes translation files)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "corpus"
        shutil.copytree(corpus_dir, copy)
        translator = CountingTranslator()
        report = fill_gaps(load_corpus(copy), translator, SUPPORTED, requests_per_second=1e6, backoff=0.0)
        assert not report.errors, report.errors
        return translator.characters, translator.requests


FINDER = PassageFinder()
"""One for the run, as the bot has one for its life (it indexes each corpus once)."""


def cached_latency(
    engine: Engine, answers: list[Answer], quoted: QuotedTranslations, rounds: int = 5
) -> tuple[list[float], list[float]]:
    """Milliseconds (wall clock, and this thread's CPU) that applying cached translations adds to each answer."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(rounds):
        for answer in answers:
            started, started_cpu = time.perf_counter(), time.thread_time()
            for result in answer.results:
                if result.missing_translation(answer.language):
                    passage = FINDER.find(engine.corpus, result.article_id, result.passage_index)
                    found = quoted.cached(passage, answer.language) if passage is not None else None
                    if found is not None and passage is not None:
                        translated_result(result, passage, found)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
    return wall, cpu


async def quoted_pass(
    engine: Engine, questions: list[Question], quoted: QuotedTranslations, counter: CountingTranslator
) -> dict[str, Any]:
    """Every question once: characters each answer sent, against the untranslated passages it quotes."""
    finder = FINDER
    per_question: list[int] = []
    over_target = 0
    answers_ms: list[float] = []
    answers: list[Answer] = []
    for question in questions:
        started = time.perf_counter()
        answer: Answer = engine.ask(question.text, k=K, language=question.lang)
        answers_ms.append((time.perf_counter() - started) * 1000)
        if not answer.answered:
            continue
        answers.append(answer)
        before = counter.characters
        untranslated_chars = 0
        cached_before = True
        for result in answer.results:
            if not result.missing_translation(answer.language):
                continue
            passage = finder.find(engine.corpus, result.article_id, result.passage_index)
            assert passage is not None
            found = quoted.cached(passage, answer.language)
            if found is None:
                cached_before = False
                untranslated_chars += len(passage.original.body) + len(passage.original.heading or "")
                found = await quoted.translate(passage, answer.language)
            translated_result(result, passage, found)
        sent = counter.characters - before
        per_question.append(sent)
        if sent > untranslated_chars or (cached_before and sent):
            over_target += 1
    return {
        "sent": per_question,
        "over_target": over_target,
        "answers_ms": answers_ms,
        "answers": answers,
    }


async def waiting(engine: Engine, questions: list[Question], wait_ms: int, database: Database) -> list[float]:
    """Seconds each reply waited for a service that takes 3 s (the bot's own translate_page)."""
    from bot._translate import translate_page

    slow = CountingTranslator(delay=3.0)
    quoted = QuotedTranslations(slow, TranslationStore(database), service="slow", aligner=engine.aligner)
    rt = SimpleNamespace(
        service=SimpleNamespace(quoted=quoted, engine=engine),
        config=SimpleNamespace(translation=SimpleNamespace(wait_ms=wait_ms), admins=frozenset()),
    )
    waited: list[float] = []
    for question in questions:
        answer = engine.ask(question.text, k=K, language=question.lang)
        if not answer.answered or not any(r.missing_translation(answer.language) for r in answer.results):
            continue
        started = time.perf_counter()
        _, later = await translate_page(rt, None, answer, answer.results)  # type: ignore[arg-type]
        waited.append(time.perf_counter() - started)
        if later is not None:
            later.cancel()
        if len(waited) == 5:
            break
    quoted.close()
    return waited


async def run(count: int, wait_ms: int) -> int:
    detector = LanguageDetector()
    ahead_total = ahead_requests = 0
    answered = 0
    first: dict[str, Any] = {"sent": [], "over_target": 0, "answers_ms": []}
    second: dict[str, Any] = {"sent": [], "over_target": 0, "answers_ms": []}
    quoted_requests = 0
    latency_wall: list[float] = []
    latency_cpu: list[float] = []
    left = count
    engines: list[tuple[Engine, list[Question]]] = []
    for name in SETS:
        if left <= 0:
            break
        corpus_dir = DATA / name / "corpus"
        questions = load_questions(DATA / name / "questions.yaml")[:left]
        left -= len(questions)
        engine = Engine.build(load_corpus(corpus_dir), cache_dir=CACHE / name, detector=detector)
        engines.append((engine, questions))
        characters, requests = ahead_characters(corpus_dir)
        ahead_total += characters
        ahead_requests += requests
        counter = CountingTranslator()
        quoted = QuotedTranslations(
            counter, TranslationStore(Database(None)), service="counter", aligner=engine.aligner
        )
        once = await quoted_pass(engine, questions, quoted, counter)
        again = await quoted_pass(engine, questions, quoted, counter)
        quoted_requests += counter.requests
        wall, cpu = cached_latency(engine, again["answers"], quoted)
        latency_wall += wall
        latency_cpu += cpu
        answered += len(once["sent"])
        for total, part in ((first, once), (second, again)):
            for key in ("sent", "answers_ms"):
                total[key] += part[key]
            total["over_target"] += part["over_target"]
        quoted.close()
    asked = count - max(left, 0)
    quoted_total = sum(first["sent"])
    print(f"Translation characters over {asked} questions ({answered} answered), {time.strftime('%Y-%m-%d')}")
    print(f"  ahead  (every passage, every language, at intake): {ahead_total:>9,} characters, {ahead_requests} req.")
    print(f"         per answered question: {ahead_total / max(answered, 1):>9,.0f}")
    print(f"  quoted (what answers quote, when quoted):          {quoted_total:>9,} characters, {quoted_requests} req.")
    print(f"         per answered question: {quoted_total / max(answered, 1):>9,.0f} (mean), max {max(first['sent'])}")
    print(f"         answers sending more than their untranslated quotes: {first['over_target']} (target 0)")
    print(f"         the same questions again (all cached): {sum(second['sent'])} characters (target 0)")
    print(f"  ratio ahead / quoted: {ahead_total / max(quoted_total, 1):.1f}x")
    print(
        f"Latency a cached translation adds to an answer ({K} results, {len(latency_wall)} answers): "
        f"p50 {percentile(latency_wall, 50):.2f} ms, p95 {percentile(latency_wall, 95):.2f} ms, "
        f"max {max(latency_wall):.2f} ms wall clock; CPU p95 {percentile(latency_cpu, 95):.2f} ms (target <= 5 ms)"
    )
    print(f"  beside the engine's own answer: p50 {percentile(second['answers_ms'], 50):.0f} ms")
    engine, questions = engines[0]
    waited = await waiting(engine, questions, wait_ms, Database(None))
    if waited:
        print(
            f"Waiting for a 3 s service with wait_ms {wait_ms}: longest reply wait {max(waited) * 1000:.0f} ms, "
            f"median {statistics.median(waited) * 1000:.0f} ms over {len(waited)} answers "
            f"(target <= {wait_ms} ms plus scheduling)"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--wait-ms", type=int, default=1500)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.questions, args.wait_ms))


if __name__ == "__main__":
    raise SystemExit(main())
