#!/usr/bin/env python3
"""Growth benchmark: what adding, editing and removing articles costs the embedded index, beside a full rebuild.

Usage (from the project root, after `pip install -e '.[test]'`)::

    nice python bench/growth.py [--passages 10000 100000] [--questions 200]

For each corpus size it makes a synthetic corpus as ``bench/retrieval.py``
does (passages of two to four sentences of the bundled corpus in one of the
six answer languages, plus a name and a figure; articles of 20 passages, as a
feed's are), builds the embedded index of it, then, on that one index:

* adds 1, 10 and 100 articles, edits one and removes one, each a
  :class:`~index.search.backend.Delta`: wall and CPU time, RSS before, after
  and at peak (and the index's own size, which the peak is weighed against);
* asks the index's part of a question (BM25 top-k, vector top-k, fetching the
  candidates' rows) while quiet and while a stream of one-article adds runs in
  another thread: p50 and p99;
* counts the background merges the adds caused, and how long they took;
* and rebuilds the whole index from the final corpus, in the same run.

Embedding is excluded and measured apart: the vectors are fixed random unit
vectors per pool sentence (e5's and USE's sizes), composed as retrieval.py
composes real ones, so the figures are the index's and the analyser's work. The
engine's other per-change work (reading the changed files, the passage table,
centroids) is not in these figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import retrieval

from index import SUPPORTED, Corpus, Engine, LanguageDetector, load_corpus
from index.corpus.model import PassageTable
from index.search.analysis import analyzer
from index.search.backend import Delta, IndexBatch
from index.search.embedded import EmbeddedBackend, SegmentedIndex
from index.search.vectors import normalize_rows

PER_ARTICLE = 20
T = TypeVar("T")
STEPS = (("add 1", 1), ("add 10", 10), ("add 100", 100))


def pool_of(pools: dict[str, list[str]]) -> retrieval.Pool:
    sentences = [s for language in sorted(pools) for s in pools[language]]
    rng = np.random.default_rng(0)
    e5 = normalize_rows(rng.normal(size=(len(sentences), 384)).astype(np.float32) + 2.0)
    use = normalize_rows(rng.normal(size=(len(sentences), 512)).astype(np.float32) + 1.0)
    return retrieval.Pool(sentences, e5, use)


def measured(action: Callable[[], T]) -> tuple[T, tuple[float, float, float, float, float]]:
    """``action()``, with its wall and CPU seconds and the RSS (MiB) before, after and at its peak."""
    retrieval.settled_rss()
    before = retrieval._status("VmRSS")
    retrieval.reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = retrieval._status("VmHWM")
    after = retrieval.settled_rss()
    return result, (wall, cpu, before, after, peak)


def ask(index: SegmentedIndex, terms: list[str], query: np.ndarray) -> None:
    lexical, _ = index.lexical_top(terms, 50)
    semantic, _ = index.vector_top(query, 50)
    candidates = np.array(list(dict.fromkeys([*semantic.tolist(), *lexical.tolist()])), dtype=np.int64)
    index.fetch(candidates, terms)


def run(
    n: int, questions: int, pools: dict[str, list[str]], pool: retrieval.Pool, pace: float = 0.0
) -> list[tuple[str, ...]]:
    retrieval.PER_ARTICLE = PER_ARTICLE
    base_articles = n // PER_ARTICLE
    spare = 1 + 10 + 100 + 1 + 400  # the adds, the edit's new text, and the stream's
    corpus, parts = retrieval.synthetic_corpus((base_articles + spare) * PER_ARTICLE, pools, pool)

    def batch(first: int, last: int) -> IndexBatch:
        return batch_of(list(range(first, last)))

    def batch_of(articles: list[int]) -> IndexBatch:
        passages = [p for j in articles for p in corpus.passages[j * PER_ARTICLE : (j + 1) * PER_ARTICLE]]
        rows = np.concatenate([np.arange(j * PER_ARTICLE, (j + 1) * PER_ARTICLE) for j in articles]) if articles else []
        sub = Corpus(Path("s"), tuple(corpus.articles[j] for j in articles), PassageTable(passages), "s", {})
        return retrieval.synthetic_batch(sub, parts[np.asarray(rows, dtype=np.int64)].reshape(-1, 4), pool)

    backend = EmbeddedBackend(background=True)
    index, (wall, cpu, before, after, peak) = measured(lambda: backend.build(batch(0, base_articles)))
    size = index.nbytes / 2**20
    rows = [("build", f"{wall:.2f}", f"{cpu:.2f}", f"{before:.0f}", f"{after:.0f}", f"{peak:.0f}", f"{size:.0f}")]
    held = list(range(base_articles))
    ids = [a.id for a in corpus.articles]
    rng = np.random.default_rng(1)
    vocabulary = [t for s in pool.sentences[:2000] for t in analyzer("en").terms(s)][:5000]
    asked = [
        ([str(t) for t in rng.choice(vocabulary, size=5)], pool.e5[int(rng.integers(len(pool.e5)))])
        for _ in range(questions)
    ]

    def order() -> list[str]:
        return [ids[j] for j in held]

    next_article = base_articles
    for label, count in STEPS:
        delta_batch = batch(next_article, next_article + count)
        held.extend(range(next_article, next_article + count))
        next_article += count
        delta = Delta(delta_batch, frozenset(), order())
        index, (wall, cpu, before, after, peak) = measured(lambda d=delta, i=index: backend.apply(i, d))
        size = index.nbytes / 2**20
        rows.append((label, f"{wall:.3f}", f"{cpu:.3f}", f"{before:.0f}", f"{after:.0f}", f"{peak:.0f}", f"{size:.0f}"))
    # Edit: article 0 takes the text of a spare article (same id), remove: article 1 leaves.
    edited = batch(next_article, next_article + 1)
    next_article += 1
    edited = dataclasses.replace(
        edited,
        keys=tuple(f"{ids[0]}#{k.split('#')[1]}" for k in edited.keys),
        articles=tuple(ids[0] for _ in edited.articles),
    )
    delta = Delta(edited, frozenset({ids[0]}), order())
    index, figures = measured(lambda: backend.apply(index, delta))
    rows.append(
        ("edit 1", *(f"{x:.3f}" if i < 2 else f"{x:.0f}" for i, x in enumerate(figures)), f"{index.nbytes / 2**20:.0f}")
    )
    held.remove(1)
    delta = Delta(batch(0, 0), frozenset({ids[1]}), order())
    index, figures = measured(lambda: backend.apply(index, delta))
    rows.append(
        (
            "remove 1",
            *(f"{x:.3f}" if i < 2 else f"{x:.0f}" for i, x in enumerate(figures)),
            f"{index.nbytes / 2**20:.0f}",
        )
    )
    backend.wait()

    def latencies(current: list[SegmentedIndex]) -> list[float]:
        out = []
        for terms, query in asked:
            started = time.perf_counter()
            ask(current[0], terms, query)
            out.append(time.perf_counter() - started)
        return out

    current = [index]
    quiet = latencies(current)
    merges_before = len(backend.merges)
    stop = threading.Event()
    adds: list[float] = []

    def stream() -> None:
        nonlocal next_article
        while not stop.is_set() and next_article < base_articles + spare:
            delta_batch = batch(next_article, next_article + 1)
            held.append(next_article)
            next_article += 1
            started = time.perf_counter()
            current[0] = backend.apply(current[0], Delta(delta_batch, frozenset(), order()))
            adds.append(time.perf_counter() - started)
            if pace:  # a feed's pace rather than back to back
                stop.wait(max(0.0, pace - (time.perf_counter() - started)))

    adder = threading.Thread(target=stream)
    adder.start()
    busy = latencies(current)
    stop.set()
    adder.join()
    backend.wait()
    merges = backend.merges[merges_before:]
    final = current[0]
    rebuilt, figures = measured(lambda: EmbeddedBackend().build(batch_of(held)))

    q = retrieval.percentiles
    p50q, p99q = q(quiet)
    p50b, p99b = q(busy)
    p50a, p99a = q(adds) if adds else (0.0, 0.0)
    rows.append(
        (
            "rebuild",
            *(f"{x:.2f}" if i < 2 else f"{x:.0f}" for i, x in enumerate(figures)),
            f"{rebuilt.nbytes / 2**20:.0f}",
        )
    )
    summary = (
        f"  questions (index part) quiet p50 {p50q:.1f} ms p99 {p99q:.1f} ms; during {len(adds)} one-article adds "
        f"({f'one every {pace:g} s' if pace else 'back to back'}) "
        f"p50 {p50b:.1f} ms p99 {p99b:.1f} ms (adds p50 {p50a:.0f} ms p99 {p99a:.0f} ms); merges {len(merges)}"
        f" taking {sum(merges):.2f} s (longest {max(merges, default=0):.2f} s); segments now {len(final.segments)}"
    )
    return [*rows, (summary,)]


class StandIn:
    """A stand-in encoder: a unit vector drawn from each text's hash (384 dimensions, as e5-small), timed apart.

    So the engine's own per-change work is measured, and the embedding (which depends on the encoder
    and the machine, not on this code) is reported beside it.
    """

    name = "growth-bench-stand-in"

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.seconds = 0.0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[row] = np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def write_article(root: Path, number: int, pools: dict[str, list[str]], rng: random.Random, tag: str = "") -> str:
    """A synthetic article of PER_ARTICLE passages on disk, as retrieval.py composes passages; its id."""
    language = SUPPORTED[number % len(SUPPORTED)]
    article_id = f"synthetic-{number:07d}"
    paragraphs = [
        " ".join(rng.sample(pools[language], rng.randint(2, 4))) + f" {rng.choice(retrieval.NAMES).split()[0]} {tag}"
        for _ in range(PER_ARTICLE)
    ]
    front = (
        f'---\nid: {article_id}\ntitle: "Synthetic report {number}"\nsource: "Source {number % 50}"\nurl: ""\n'
        f"published: 2024-08-13\nlanguage: {language}\n---\n"
    )
    (root / "articles" / f"{article_id}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return article_id


def engine_run(n: int, pools: dict[str, list[str]], adds: int = 7) -> list[tuple[str, ...]]:
    """The whole engine on a corpus on disk: a first build, adds of one article (each re-reading only what
    changed), an edit, a removal, and a full rebuild; embedding timed apart."""
    scratch = Path(tempfile.mkdtemp(prefix="growth-"))
    try:
        root, cache = scratch / "corpus", scratch / "cache"
        (root / "articles").mkdir(parents=True)
        rng = random.Random(1)
        articles = n // PER_ARTICLE
        for number in range(articles):
            write_article(root, number, pools, rng)
        encoder = StandIn()
        detector = LanguageDetector()
        backend = EmbeddedBackend()
        rows = []

        def step(label: str, action: Callable[[], Engine]) -> Engine:
            encoder.seconds = 0.0
            engine, (wall, cpu, before, after, peak) = measured(action)
            size = engine.index.nbytes / 2**20 if hasattr(engine.index, "nbytes") else 0.0
            rows.append((label, f"{wall:.3f}", f"{cpu:.3f}", f"{encoder.seconds:.3f}", f"{before:.0f}", f"{after:.0f}",
                         f"{peak:.0f}", f"{size:.0f}"))  # fmt: skip
            return engine

        def first() -> Engine:
            return Engine.build(
                load_corpus(root), cache_dir=cache, embedder=encoder, detector=detector, backend=backend
            )

        engine = step("first build", first)
        walls = []
        for i in range(adds):
            write_article(root, articles + i, pools, rng)

            def add(previous: Engine = engine) -> Engine:
                corpus = load_corpus(root, previous=previous.corpus)
                return Engine.build(corpus, cache_dir=cache, embedder=encoder, detector=detector, backend=backend,
                                    previous=previous)  # fmt: skip

            engine = step(f"add 1 ({i + 1})", add)
            walls.append(float(rows[-1][1]) - float(rows[-1][3]))
        write_article(root, 3, pools, rng, tag="edited")
        engine = step("edit 1", lambda previous=engine: Engine.build(
            load_corpus(root, previous=previous.corpus), cache_dir=cache, embedder=encoder, detector=detector,
            backend=backend, previous=previous))  # fmt: skip
        (root / "articles" / "synthetic-0000005.md").unlink()
        engine = step("remove 1", lambda previous=engine: Engine.build(
            load_corpus(root, previous=previous.corpus), cache_dir=cache, embedder=encoder, detector=detector,
            backend=backend, previous=previous))  # fmt: skip
        backend.wait()
        del engine
        step("full rebuild", lambda: Engine.build(load_corpus(root), cache_dir=cache, embedder=encoder,
                                                  detector=detector, backend=EmbeddedBackend()))  # fmt: skip
        rows.append((f"  add 1 article, p50 over {adds}: {statistics.median(walls):.3f} s wall (embedding apart)",))
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument(
        "--pace", type=float, default=0.0, help="seconds from one streamed add to the next (0: back to back)"
    )
    parser.add_argument("--engine-passages", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    pools = retrieval.sentences_by_language()
    pool = pool_of(pools)
    print(f"growth bench, {dt.date.today().isoformat()}, embedded backend (int8), embedding excluded")
    header = ("step", "wall s", "cpu s", "RSS before MiB", "RSS after MiB", "RSS peak MiB", "index MiB")
    for n in args.passages:
        found = run(n, args.questions, pools, pool, args.pace)
        table_rows = [r for r in found if len(r) > 1]
        print(f"\n{n:,} passages")
        print(retrieval.table([header, *table_rows]))
        for r in found:
            if len(r) == 1:
                print(r[0])
    header = ("step", "wall s", "cpu s", "embedding s", "RSS before MiB", "RSS after MiB", "RSS peak MiB", "index MiB")
    for n in args.engine_passages:
        found = engine_run(n, pools)
        print(f"\nthe whole engine, {n:,} passages on disk (a stand-in encoder; embedding timed apart)")
        print(retrieval.table([header, *[r for r in found if len(r) > 1]]))
        for r in found:
            if len(r) == 1:
                print(r[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
