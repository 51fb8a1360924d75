#!/usr/bin/env python3
"""Retrieval benchmark: the hybrid engine against plain rank-bm25, in one run.

Usage (from the project root, after `pip install -e '.[test]'`)::

    python bench/retrieval.py [--passages 100000] [--queries 200] [--baseline-queries 20]

It builds a synthetic corpus of N passages spread evenly over the six answer
languages, each passage two to four sentences drawn from the bundled
corpus's versions in that language plus a random name and figure, and reports:

* index build time and peak memory (RSS) of the full hybrid index;
* query latency p50/p99 of the full hybrid search (detection, analysis,
  BM25, embedding the question, vector search, fusion, abstention, results);
* the same queries through rank-bm25's BM25Okapi over the same tokens;
* how long the bundled corpus takes to be ready from a warm cache, in a fresh process.

Embedding 100,000 passages with multilingual-e5 would take hours on two
cores, so each synthetic passage's vector is the normalised mean of its
sentences' real e5 embeddings (each distinct sentence embedded once), and
each sentence keeps its real vector; questions are embedded for real at query
time. The script also measures the encoder's throughput, to extrapolate a
real build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import random
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import BUNDLED  # noqa: E402
from index import SUPPORTED, Article, Corpus, Engine, LanguageDetector, Passage, Rendition, load_corpus  # noqa: E402
from index.search.analysis import analyzer  # noqa: E402
from index.search.semantic import MultilingualE5, normalize_rows  # noqa: E402
from index.search.sentences import sentence_spans  # noqa: E402

NAMES = ["Anna Keller", "Budi Santoso", "Claire Dubois", "Diego Ramírez", "Eva de Vries", "Frank Miller"]
QUESTIONS = {
    "en": ["Why was the Space delayed?", "How many people listened?", "What did Trump say about Europe?"],
    "fr": ["Pourquoi la conversation a-t-elle été retardée ?", "Qui a averti Musk ?", "Combien d'abonnés ?"],
    "id": ["Mengapa wawancara terlambat?", "Apa kata pakar keamanan?", "Berapa pendengar?"],
    "nl": ["Waarom begon het gesprek later?", "Wat zei Trump over de EU?", "Hoe lang duurde het?"],
    "de": ["Warum begann das Gespräch so spät?", "Was sagte Trump über Harris?", "Wer hat Musk gewarnt?"],
    "es": ["¿Por qué se retrasó la conversación?", "¿Qué dijo Trump de la UE?", "¿Cuántos oyentes hubo?"],
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sentences_by_language() -> dict[str, list[str]]:
    corpus = load_corpus(BUNDLED)
    pools: dict[str, set[str]] = {lang: set() for lang in SUPPORTED}
    for passage in corpus.passages:
        for rendition in passage.renditions():
            # Split as the engine splits, so a synthetic passage's sentences are pool sentences again.
            for start, end in sentence_spans(" ".join(rendition.body.split())):
                sentence = " ".join(rendition.body.split())[start:end]
                if len(sentence) > 25 and sentence[-1] in ".!?…»”\"":
                    pools[rendition.language].add(sentence)
    return {lang: sorted(pool) for lang, pool in pools.items()}


class ComposedEmbedder:
    """Passage vectors composed from real sentence embeddings; sentences and questions embedded for real."""

    def __init__(self, encoder: MultilingualE5, sentence_vectors: dict[str, np.ndarray]) -> None:
        self.name = f"bench-composed-{encoder.name}"
        self._encoder = encoder
        self._sentences = sentence_vectors
        self._by_start = {sentence[:40]: vector for sentence, vector in sentence_vectors.items()}
        self.parts: dict[str, list[str]] = {}
        self.embedded_for_real = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._composed(t) for t in texts]
        unknown = [t for t, row in zip(texts, rows, strict=True) if row is None]
        self.embedded_for_real += len(unknown)
        fresh = iter(self._encoder.embed(unknown)) if unknown else iter(())
        return normalize_rows(np.vstack([row if row is not None else next(fresh) for row in rows]))

    def _composed(self, text: str) -> np.ndarray | None:
        if text in self.parts:
            return np.mean([self._sentences[s] for s in self.parts[text]], axis=0)
        # A sentence the engine split off a passage: a pool sentence, perhaps with the name and figure appended.
        return self._by_start.get(text[:40])

    def embed_query(self, text: str) -> np.ndarray:
        return self._encoder.embed_query(text)


def synthetic_corpus(n: int, pools: dict[str, list[str]], embedder: ComposedEmbedder, seed: int = 1) -> Corpus:
    rng = random.Random(seed)
    per_article = 100
    passages: list[Passage] = []
    articles: list[Article] = []
    for a in range((n + per_article - 1) // per_article):
        language = SUPPORTED[a % len(SUPPORTED)]
        article = Article(
            id=f"synthetic-{a}",
            title=f"Synthetic report {a}",
            source=f"Source {a % 50}",
            url="",
            published=dt.date(2024, 8, 13),
            language=language,
            note="",
            path=Path(f"synthetic-{a}.md"),
        )
        articles.append(article)
        for position in range(min(per_article, n - a * per_article)):
            parts = rng.sample(pools[language], rng.randint(2, 4))
            # A first name and a figure, too short to stand as a sentence: they join the last one.
            body = " ".join(parts) + f" {rng.choice(NAMES).split()[0]} {rng.randint(1, 9999)}"
            embedder.parts[body] = parts
            passages.append(Passage(article, position, Rendition(language, body), MappingProxyType({})))
    return Corpus(Path("synthetic"), tuple(articles), tuple(passages), "synthetic", MappingProxyType({}))


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99)), float(values.mean())


def warm_start_seconds(cache_dir: Path) -> float:
    code = (
        "import time; t=time.perf_counter();"
        "from pathlib import Path; from corpus import BUNDLED; from index import Engine, load_corpus;"
        f"e=Engine.build(load_corpus(BUNDLED), cache_dir=Path({str(cache_dir)!r})); e.ask('warm up');"
        "print(time.perf_counter()-t)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)  # fills the cache
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=20)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "bench")
    args = parser.parse_args()

    print(
        f"machine: {sys.platform}, Python {sys.version.split()[0]}, {len(__import__('os').sched_getaffinity(0))} cores"
    )
    encoder = MultilingualE5()
    detector = LanguageDetector()
    pools = sentences_by_language()
    distinct = sorted({s for pool in pools.values() for s in pool})
    started = time.perf_counter()
    sentence_vectors = dict(zip(distinct, encoder.embed(distinct), strict=True))
    throughput = len(distinct) / (time.perf_counter() - started)
    print(
        f"sentence encoder: {throughput:.0f} sentences/s "
        f"(a real {args.passages:,}-passage build would spend "
        f"~{args.passages / throughput * 4 / 60:.0f} min embedding a passage and its ~3 sentences each)"
    )

    embedder = ComposedEmbedder(encoder, sentence_vectors)
    corpus = synthetic_corpus(args.passages, pools, embedder)
    gc.collect()
    rss_before = rss_mb()
    started = time.perf_counter()
    engine = Engine.build(corpus, embedder=embedder, detector=detector)
    build = time.perf_counter() - started
    print(f"  ({embedder.embedded_for_real:,} sentences not in the pools were embedded for real during the build)")
    print(
        f"hybrid index: {len(corpus.passages):,} passages built in {build:.1f} s, "
        f"peak RSS {rss_mb():.0f} MB (+{rss_mb() - rss_before:.0f} MB for the index)"
    )

    rng = random.Random(2)
    queries = [
        rng.choice(QUESTIONS[lang]) + f" {rng.choice(NAMES).split()[0]}" * (i % 2)
        for i, lang in enumerate(rng.choices(SUPPORTED, k=args.queries))
    ]
    for q in queries[:5]:
        engine.ask(q)
    hybrid: list[float] = []
    lexical: list[float] = []
    for q in queries:
        t = time.perf_counter()
        engine.ask(q)
        hybrid.append(time.perf_counter() - t)
        terms = analyzer(detector.detect(q).language).terms(q)
        t = time.perf_counter()
        engine.lexical.scores(terms)
        lexical.append(time.perf_counter() - t)
    h50, h99, hmean = percentiles(hybrid)
    l50, l99, _ = percentiles(lexical)
    print(f"hybrid search: p50 {h50:.2f} ms, p99 {h99:.2f} ms, mean {hmean:.2f} ms over {len(queries)} questions")
    print(f"  of which BM25 scoring (bm25s matrix): p50 {l50:.2f} ms, p99 {l99:.2f} ms")
    if not engine.vectors.exact:
        everything = engine.vectors.original_order()
        recall = []
        for q in queries[:50]:
            vector = encoder.embed_query(q)
            truth = set(np.argsort(-(everything @ vector))[:10].tolist())
            found, _ = engine.vectors.search(vector, 10)
            recall.append(len(truth & set(found.tolist())) / 10)
        print(f"  vector search recall@10 of the inverted-file index against exact search: {np.mean(recall):.2f}")

    from rank_bm25 import BM25Okapi

    tokens = [analyzer(p.original.language).terms(p.text) for p in corpus.passages]
    started = time.perf_counter()
    reference = BM25Okapi(tokens)
    reference_build = time.perf_counter() - started
    baseline: list[float] = []
    for q in queries[: args.baseline_queries]:
        terms = analyzer(detector.detect(q).language).terms(q)
        t = time.perf_counter()
        scores = reference.get_scores(terms)
        np.argsort(-scores)[:50]
        baseline.append(time.perf_counter() - t)
    b50, b99, _ = percentiles(baseline)
    print(
        f"rank-bm25 (BM25Okapi): built in {reference_build:.1f} s; query p50 {b50:.1f} ms, p99 {b99:.1f} ms "
        f"over {len(baseline)} questions"
    )
    print(f"speed-up per query (p50): hybrid {b50 / h50:.1f}x, BM25 component {b50 / l50:.0f}x faster than rank-bm25")

    cache = args.cache_dir / hashlib.sha1(str(BUNDLED).encode()).hexdigest()[:8]
    print(
        f"bundled corpus ready from a warm cache in {warm_start_seconds(cache):.2f} s (fresh process, imports included)"
    )
    bundled = Engine.build(load_corpus(BUNDLED), cache_dir=cache, detector=detector)
    typed = [q[:cut] for qs in QUESTIONS.values() for q in qs for cut in range(6, len(q) + 1, 4)]
    latencies = []
    for q in typed:
        t = time.perf_counter()
        bundled.ask(q, k=10)
        latencies.append(time.perf_counter() - t)
    i50, i99, _ = percentiles(latencies)
    print(
        f"inline-style queries on the bundled corpus (k=10, {len(typed)} prefixes as typed): "
        f"p50 {i50:.2f} ms, p99 {i99:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
