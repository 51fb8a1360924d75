#!/usr/bin/env python3
"""Retrieval benchmark: the hybrid engine on a search backend against plain rank-bm25, in one run.

Usage (from the project root, after `pip install -e '.[test]'`)::

    python bench/retrieval.py [--passages 100000] [--queries 200] [--baseline-queries 20]
                              [--baseline-passages N] [--backend embedded|milvus] [--milvus-uri URI]

It builds a synthetic corpus of N passages spread evenly over the six answer
languages, each passage two to four sentences drawn from the bundled
corpus's versions in that language plus a random name and figure, and reports,
in one table:

* index build time: analysing every passage, splitting its sentences, and the
  backend's own build (the embedded index: postings, k-means lists, int8 vectors);
* memory: what the process holds for the corpus and its index once built (RSS
  growth, the allocator's free pages returned first) and its peak while building;
  for Milvus, the client's growth and the Milvus process's RSS;
* query latency p50/p99 of the full hybrid search (detection, analysis, BM25,
  embedding the question, vector search, evidence, abstention, highlights,
  corroboration), and of its BM25 and vector parts;
* vector-search recall@10 against exact float32 search over the same vectors;
* the same questions through rank-bm25's BM25Okapi over the same tokens
  (over a subsample past ``--baseline-passages``, said so in the table);
* how long the bundled corpus takes to be ready from a warm cache, in a fresh
  process, and inline-style (prefix) queries on it.

Embedding a million passages with multilingual-e5 would take days on two
cores, so each pool sentence is embedded once for real (e5 for retrieval, USE
for the cross-lingual "echoes", as the engine does), a passage's vector is the
normalised mean of its sentences' e5 vectors, and each sentence keeps its own
vectors; questions are embedded for real at query time. The bench hands the
backend the batch the engine would, except that its vectors are composed from
the pool a chunk at a time as the backend reads them (the engine's batch holds
them as float32 arrays, which for a million passages would be 12 GB), and each
passage's terms are analysed when the backend reads them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import gc
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import cast

import numpy as np
from threadpoolctl import threadpool_info

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot._threads import OPENMP_WHILE_SERVING, leave_the_event_loop_a_core  # noqa: E402
from corpus import BUNDLED  # noqa: E402
from index import SUPPORTED, Article, Corpus, Engine, LanguageDetector, Passage, Rendition, load_corpus  # noqa: E402
from index.corpus.model import PassageTable  # noqa: E402
from index.search.analysis import analyzer  # noqa: E402
from index.search.backend import Backend, IndexBatch, SearchIndex  # noqa: E402
from index.search.decision import Decider  # noqa: E402
from index.search.embedded import EmbeddedBackend, SegmentedIndex  # noqa: E402
from index.search.semantic import MultilingualE5, UniversalSentenceEncoder, normalize_rows, top_k  # noqa: E402
from index.search.sentences import sentence_spans  # noqa: E402
from index.search.settings import Settings  # noqa: E402

NAMES = ["Anna Keller", "Budi Santoso", "Claire Dubois", "Diego Ramírez", "Eva de Vries", "Frank Miller"]
QUESTIONS = {
    "en": ["Why was the Space delayed?", "How many people listened?", "What did Trump say about Europe?"],
    "fr": ["Pourquoi la conversation a-t-elle été retardée ?", "Qui a averti Musk ?", "Combien d'abonnés ?"],
    "id": ["Mengapa wawancara terlambat?", "Apa kata pakar keamanan?", "Berapa pendengar?"],
    "nl": ["Waarom begon het gesprek later?", "Wat zei Trump over de EU?", "Hoe lang duurde het?"],
    "de": ["Warum begann das Gespräch so spät?", "Was sagte Trump über Harris?", "Wer hat Musk gewarnt?"],
    "es": ["¿Por qué se retrasó la conversación?", "¿Qué dijo Trump de la UE?", "¿Cuántos oyentes hubo?"],
}
PER_ARTICLE = 100
CHUNK = 32_768


# -- memory -------------------------------------------------------------------------------------------------------


def _status(field: str) -> float:
    """A /proc/self/status figure (VmRSS now, VmHWM the peak since the last reset), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def settled_rss() -> float:
    """RSS in MiB once garbage is collected and the allocator has returned its free pages to the system.

    Without the trim, pages freed by the build (term lists, conversion chunks) stay counted in RSS
    although the process would reuse them; the index does not hold them.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _status("VmRSS")


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: write 5 to clear_refs), to see one phase's peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


# -- the synthetic corpus -----------------------------------------------------------------------------------------


def sentences_by_language() -> dict[str, list[str]]:
    corpus = load_corpus(BUNDLED)
    pools: dict[str, set[str]] = {lang: set() for lang in SUPPORTED}
    for passage in corpus.passages:
        for rendition in passage.renditions():
            # Split as the engine splits, so a synthetic passage's sentences are pool sentences again.
            body = " ".join(rendition.body.split())
            for start, end in sentence_spans(body):
                sentence = body[start:end]
                if len(sentence) > 25 and sentence[-1] in '.!?…»”"':
                    pools[rendition.language].add(sentence)
    return {lang: sorted(pool) for lang, pool in pools.items()}


@dataclass
class Pool:
    """Every pool sentence, with its real e5 and USE vectors."""

    sentences: list[str]
    e5: np.ndarray
    use: np.ndarray


class PoolRows:
    """An (n, d) float32 array in the batch's place, each row the normalised mean of some pool rows.

    Rows are made when read (a chunk, or a few candidates' rows), so the batch
    of a million passages holds two small index arrays, not gigabytes of floats.
    """

    def __init__(self, pool: np.ndarray, parts: np.ndarray) -> None:
        self.pool = pool
        self.parts = parts if parts.ndim == 2 else parts[:, None]
        """(n, w) pool rows per row, -1 where a row has fewer than w."""
        self.shape = (len(self.parts), pool.shape[1])
        self.ndim = 2
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, index: int | slice | np.ndarray) -> np.ndarray:
        parts = self.parts[index]
        single = parts.ndim == 1
        parts = np.atleast_2d(parts)
        # Summed a column of parts at a time: gathering all at once would take four times a chunk's floats.
        rows = np.zeros((len(parts), self.shape[1]), dtype=np.float32)
        for column in parts.T:
            valid = column >= 0
            rows[valid] += self.pool[column[valid]]
        rows = normalize_rows(rows)
        return rows[0] if single else rows

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        return np.vstack([self[a : a + CHUNK] for a in range(0, len(self), CHUNK)]).astype(dtype or np.float32)


class Analysed(Sequence[list[str]]):
    """The corpus's analysed terms per document, analysed when asked for (the backend reads them once, in order)."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self._passages = passages

    def __len__(self) -> int:
        return len(self._passages)

    def __getitem__(self, index: int) -> list[str]:  # type: ignore[override]
        original = self._passages[index].original
        return analyzer(original.language).terms(original.text)

    def __iter__(self) -> Iterator[list[str]]:
        for passage in self._passages:
            yield analyzer(passage.original.language).terms(passage.original.text)


class Texts(Sequence[str]):
    def __init__(self, passages: Sequence[Passage]) -> None:
        self._passages = passages

    def __len__(self) -> int:
        return len(self._passages)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._passages[index].original.text


def synthetic_corpus(n: int, pools: dict[str, list[str]], pool: Pool, seed: int = 1) -> tuple[Corpus, np.ndarray]:
    """N passages (originals only) and, per passage, the pool rows of its sentences (-1 padded to 4)."""
    rng = random.Random(seed)
    index = {sentence: i for i, sentence in enumerate(pool.sentences)}
    parts = np.full((n, 4), -1, dtype=np.int32)
    articles = tuple(
        Article(
            id=f"synthetic-{a}",
            title=f"Synthetic report {a}",
            source=f"Source {a % 50}",
            url="",
            published=dt.date(2024, 8, 13),
            language=SUPPORTED[a % len(SUPPORTED)],
            note="",
            path=Path(f"synthetic-{a}.md"),
        )
        for a in range((n + PER_ARTICLE - 1) // PER_ARTICLE)
    )

    def passages() -> Iterator[Passage]:
        # One at a time into the corpus's passage table: a million Passage objects are never held at once.
        for number in range(n):
            article = articles[number // PER_ARTICLE]
            drawn = rng.sample(pools[article.language], rng.randint(2, 4))
            parts[number, : len(drawn)] = [index[s] for s in drawn]
            # A first name and a figure, too short to stand as a sentence: they join the last one.
            body = " ".join(drawn) + f" {rng.choice(NAMES).split()[0]} {rng.randint(1, 9999)}"
            yield Passage(article, number % PER_ARTICLE, Rendition(article.language, body), MappingProxyType({}))

    return Corpus(Path("synthetic"), articles, PassageTable(passages()), "synthetic", MappingProxyType({})), parts


def synthetic_batch(corpus: Corpus, parts: np.ndarray, pool: Pool) -> IndexBatch:
    """The batch the engine would hand a backend for ``corpus``, its sentences split by the engine's splitter.

    A sentence takes the vectors of the pool sentence it starts in: the splitter
    may cut a passage otherwise than its pool sentences were joined (the name
    and figure join the last one; a quote may split one in two).
    """
    passages = corpus.passages
    lengths = np.array([len(s) for s in pool.sentences], dtype=np.int64)
    starts = [0]
    spans: list[tuple[int, int]] = []
    rows: list[int] = []
    for number, passage in enumerate(passages):
        drawn = parts[number][parts[number] >= 0]
        # Where each pool sentence begins in the body: they are joined by single spaces.
        begins = np.r_[0, np.cumsum(lengths[drawn] + 1)[:-1]].tolist()
        for start, end in sentence_spans(passage.original.body):
            rows.append(int(drawn[bisect_right(begins, start) - 1]))
            spans.append((start, end))
        starts.append(len(spans))
    sentence_rows = np.array(rows, dtype=np.int32)
    n = len(passages)
    return IndexBatch(
        keys=tuple(f"{p.article.id}#{p.position}" for p in passages),
        articles=tuple(p.article.id for p in passages),
        doc_passage=np.arange(n, dtype=np.int64),
        doc_language=tuple(p.original.language for p in passages),
        doc_original=np.ones(n, dtype=bool),
        doc_terms=Analysed(passages),
        doc_text=Texts(passages),
        vector_doc=np.arange(n, dtype=np.int64),
        # Not arrays but stand-ins composed on reading (see PoolRows): the backend reads rows and chunks.
        vectors=cast(np.ndarray, PoolRows(pool.e5, parts)),
        sentence_starts=np.array(starts, dtype=np.int64),
        sentence_spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
        sentence_vectors=cast(np.ndarray, PoolRows(pool.e5, sentence_rows)),
        sentence_echoes=cast(np.ndarray, PoolRows(pool.use, sentence_rows)),
        alignments={},
    )


# -- the backend under test ---------------------------------------------------------------------------------------


class Probe:
    """Wraps a backend: finds what exact float32 search over the batch returns for some questions, then builds."""

    def __init__(self, backend: Backend, questions: np.ndarray, k: int = 10) -> None:
        self.backend = backend
        self.name = backend.name
        self.questions = questions
        self.k = k
        self.truth: list[set[int]] = []
        self.seconds = 0.0

    def build(self, batch: IndexBatch) -> SearchIndex:
        passage_of = np.asarray(batch.doc_passage)[np.asarray(batch.vector_doc)]
        best = np.full((batch.passages, len(self.questions)), -np.inf, dtype=np.float32)
        for a in range(0, len(batch.vectors), CHUNK):
            # A passage counts by its best language version, as vector_top counts it.
            np.maximum.at(best, passage_of[a : a + CHUNK], np.asarray(batch.vectors[a : a + CHUNK]) @ self.questions.T)
        self.truth = [set(top_k(column, self.k).tolist()) for column in best.T]
        del best
        started = time.perf_counter()
        index = self.backend.build(batch)
        self.seconds = time.perf_counter() - started
        return index

    def update(self, batch: IndexBatch, *, changed: Collection[str], removed: Collection[str]) -> SearchIndex:
        return self.build(batch)

    def close(self) -> None:
        self.backend.close()

    def recall(self, index: SearchIndex) -> float:
        found = [set(index.vector_top(q, self.k)[0].tolist()) for q in self.questions]
        return float(np.mean([len(f & t) / self.k for f, t in zip(found, self.truth, strict=True)]))


@dataclass
class Opened:
    backend: Backend
    external_rss: Callable[[], float]
    """The MiB of a separate server process (0 for in-process backends)."""
    close: Callable[[], None]


def open_backend(args: argparse.Namespace) -> Opened:
    """The backend to measure: ``embedded`` (in process), or ``milvus`` (a Milvus Lite process this run starts,
    or the server at ``--milvus-uri``)."""
    if args.backend == "embedded":
        backend = EmbeddedBackend()
        return Opened(backend, lambda: 0.0, backend.close)
    from index.search.milvus import MilvusBackend

    if args.milvus_uri:
        backend = MilvusBackend(args.milvus_uri, token=os.environ.get("MILVUS_TOKEN"), collection=args.collection)
        return Opened(backend, lambda: 0.0, backend.close)
    from index.search.milvus_lite import LiteServer

    directory = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
    server = LiteServer(directory / "bench.db")
    backend = MilvusBackend(server.start(), collection=args.collection)

    def close() -> None:
        backend.close()
        server.close()

    return Opened(backend, lambda: server.rss() / 2**20, close)


# -- measuring ----------------------------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    values = np.array(samples) * 1000
    return float(np.percentile(values, 50)), float(np.percentile(values, 99))


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


def engine_over(
    corpus: Corpus, index: SearchIndex, backend: Backend, batch: IndexBatch, detector: LanguageDetector
) -> Engine:
    """The engine Engine.build would make from this batch, probes and all."""
    engine = Engine.assemble(
        corpus,
        batch,
        index,
        embedder=MultilingualE5(),
        aligner=UniversalSentenceEncoder(),
        detector=detector,
        settings=Settings(),
        backend=backend,
        decider=Decider.fitted(),
    )
    engine.null = engine.probe_null(None)
    return engine


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument("--baseline-queries", type=int, default=20)
    parser.add_argument(
        "--baseline-passages",
        type=int,
        default=200_000,
        help="rank-bm25 indexes at most this many passages (it needs ~6 KB of Python objects per passage, "
        "and its query time grows linearly); beyond, its figures are for a subsample and say so",
    )
    parser.add_argument("--backend", choices=("embedded", "milvus"), default="embedded")
    parser.add_argument("--milvus-uri", help="a Milvus server; without it, a Milvus Lite process started for the run")
    parser.add_argument("--collection", default="bench")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "bench")
    parser.add_argument("--skip-bundled", action="store_true", help="skip the warm-start and inline measurements")
    args = parser.parse_args()

    print(f"machine: {sys.platform}, Python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} cores")
    leave_the_event_loop_a_core()  # search as the bot runs it; before the encoders load
    blas = ", ".join(f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info())
    openmp = ", ".join(f"{name}={os.environ.get(name)}" for name in OPENMP_WHILE_SERVING)
    print(f"numeric threads as the bot runs them: {openmp}; BLAS threads: {blas}")
    e5, use, detector = MultilingualE5(), UniversalSentenceEncoder(), LanguageDetector()
    pools = sentences_by_language()
    distinct = sorted({s for pool in pools.values() for s in pool})
    started = time.perf_counter()
    e5_vectors = e5.embed(distinct)
    throughput = len(distinct) / (time.perf_counter() - started)
    pool = Pool(distinct, e5_vectors, use.embed(distinct))
    print(
        f"sentence encoder: {throughput:.0f} sentences/s (a real {args.passages:,}-passage build would spend "
        f"~{args.passages / throughput * 4 / 3600:.1f} h embedding a passage and its ~3 sentences each)"
    )
    rng = random.Random(2)
    queries = [
        rng.choice(QUESTIONS[lang]) + f" {rng.choice(NAMES).split()[0]}" * (i % 2)
        for i, lang in enumerate(rng.choices(SUPPORTED, k=args.queries))
    ]
    recall_questions = np.vstack([e5.embed_query(q) for q in queries[: args.recall_queries]])
    opened = open_backend(args)
    probe = Probe(opened.backend, recall_questions)

    before = settled_rss()
    external_before = opened.external_rss()
    started = time.perf_counter()
    corpus, parts = synthetic_corpus(args.passages, pools, pool)
    generated = time.perf_counter() - started
    corpus_rss = settled_rss() - before
    reset_peak()
    started = time.perf_counter()
    batch = synthetic_batch(corpus, parts, pool)
    index = probe.build(batch)
    build = time.perf_counter() - started
    peak = _status("VmHWM") - before
    engine = engine_over(corpus, index, probe, batch, detector)
    sentences = len(batch.sentence_spans)
    del batch, parts
    held = settled_rss() - before
    external = opened.external_rss() - external_before
    n = len(corpus.passages)
    print(f"corpus: {n:,} passages, {sentences:,} sentences, generated in {generated:.1f} s")
    print(
        f"build: {build:.1f} s = {build - probe.seconds:.1f} s splitting sentences and gathering vectors "
        f"+ {probe.seconds:.1f} s in the {probe.name} backend (analysis included: it reads the terms)"
    )
    print(
        f"memory held once built (RSS growth, MiB): {held:.0f} ({held * 1024 / n:.2f} KiB/passage) = corpus "
        f"{corpus_rss:.0f} + index {held - corpus_rss:.0f}; peak while building +{peak:.0f}"
        + (f"; the Milvus process grew by {external:.0f}" if external else "")
    )
    table_bytes = corpus.passages.nbytes if isinstance(corpus.passages, PassageTable) else 0
    if isinstance(index, SegmentedIndex):
        ix = index.base  # a build is one segment
        vectors = ix.vectors.nbytes + ix.sentence_vectors.nbytes + ix.sentence_echoes.nbytes
        print(
            f"  accounted (MiB): vectors {vectors / 2**20:.0f} (passages {ix.vectors.nbytes / 2**20:.0f} "
            f"{ix.vectors.precision} refined, sentences {ix.sentence_vectors.nbytes / 2**20:.0f} and echoes "
            f"{ix.sentence_echoes.nbytes / 2**20:.0f} {ix.sentence_vectors.precision}); postings and vocabulary "
            f"{ix.lexical.nbytes / 2**20:.0f}; offsets {(ix.nbytes - vectors - ix.lexical.nbytes) / 2**20:.0f}; "
            f"passage table {table_bytes / 2**20:.0f}"
        )
        print(
            f"  excluding vectors: {(held - vectors / 2**20) * 1024 / n:.2f} KiB/passage held "
            f"({(ix.nbytes - vectors + table_bytes) / n / 1024:.2f} KiB/passage in the index's arrays and the table)"
        )
    spilled = held
    if isinstance(corpus.passages, PassageTable):
        # Texts read from an unnamed file from now on (PassageTable.spill): questions below run so.
        corpus.passages.spill()
        spilled = settled_rss() - before
        print(
            f"  with the passage texts spilled to a file: {spilled:.0f} MiB ({spilled * 1024 / n:.2f} KiB/passage; "
            f"the {corpus.passages.text_bytes / 2**20:.0f} MiB file is read a few pages a question)"
        )

    for q in queries[:5]:
        engine.ask(q)
    load_before = os.getloadavg()[0]
    hybrid: list[float] = []
    hybrid_cpu: list[float] = []
    lexical: list[float] = []
    semantic: list[float] = []
    embedding: list[float] = []
    for q in queries:
        t, cpu = time.perf_counter(), time.process_time()
        engine.ask(q)
        hybrid.append(time.perf_counter() - t)
        hybrid_cpu.append(time.process_time() - cpu)
        terms = analyzer(detector.detect(q).language).terms(q, query=True)
        t = time.perf_counter()
        index.lexical_top(terms, engine.settings.candidates)
        lexical.append(time.perf_counter() - t)
        t = time.perf_counter()
        vector = engine.embed_query(q)
        embedding.append(time.perf_counter() - t)
        t = time.perf_counter()
        index.vector_top(vector, engine.settings.candidates)
        semantic.append(time.perf_counter() - t)
    load = (load_before + os.getloadavg()[0]) / 2
    h50, h99 = percentiles(hybrid)
    c50, c99 = percentiles(hybrid_cpu)
    l50, l99 = percentiles(lexical)
    v50, v99 = percentiles(semantic)
    e50, e99 = percentiles(embedding)
    recall = probe.recall(index)
    print(
        f"hybrid search: p50 {h50:.1f} ms, p99 {h99:.1f} ms over {len(queries)} questions "
        f"(load average {load:.1f} on {len(os.sched_getaffinity(0))} cores meanwhile; "
        f"CPU time of all threads p50 {c50:.1f} ms, p99 {c99:.1f} ms)"
    )
    print(f"  its question embedding (e5): p50 {e50:.1f} ms, p99 {e99:.1f} ms")
    print(f"  its BM25 top-50: p50 {l50:.2f} ms, p99 {l99:.2f} ms")
    print(f"  its vector top-50: p50 {v50:.2f} ms, p99 {v99:.2f} ms")
    print(f"  vector recall@10 against exact float32 search: {recall:.3f} over {len(recall_questions)} questions")
    del engine

    from rank_bm25 import BM25Okapi

    subsample = min(n, args.baseline_passages)
    picked = sorted(random.Random(3).sample(range(n), subsample)) if subsample < n else range(n)
    tokens = [analyzer(p.original.language).terms(p.original.text) for p in (corpus.passages[i] for i in picked)]
    started = time.perf_counter()
    reference = BM25Okapi(tokens)
    reference_build = time.perf_counter() - started
    del tokens
    baseline: list[float] = []
    for q in queries[: args.baseline_queries]:
        terms = analyzer(detector.detect(q).language).terms(q)
        t = time.perf_counter()
        scores = reference.get_scores(terms)
        np.argsort(-scores)[:50]
        baseline.append(time.perf_counter() - t)
    b50, b99 = percentiles(baseline)
    del reference
    scope = "" if subsample == n else f" (a {subsample:,}-passage subsample: query time grows with N)"
    print(f"rank-bm25 (BM25Okapi){scope}: built in {reference_build:.1f} s, {len(baseline)} questions")

    memory = f"{held:.0f} MiB" + (f" ({spilled:.0f} spilled)" if spilled != held else "")
    memory += f" + Milvus {external:.0f} MiB" if external else ""
    rows = [
        ("", "passages", "build", "memory held (peak growth)", "p50", "p99", "recall@10"),
        (
            f"hybrid search, {probe.name} backend",
            f"{n:,}",
            f"{build:.0f} s",
            f"{memory} (+{peak:.0f})",
            f"{h50:.1f} ms",
            f"{h99:.1f} ms",
            f"{recall:.3f}",
        ),
        (f"  its BM25 top-50 ({probe.name})", f"{n:,}", "", "", f"{l50:.2f} ms", f"{l99:.2f} ms", ""),
        (
            "rank-bm25 BM25Okapi query" + (" (subsample)" if scope else ""),
            f"{subsample:,}",
            f"{reference_build:.0f} s",
            "",
            f"{b50:.1f} ms",
            f"{b99:.1f} ms",
            "",
        ),
    ]
    print()
    print(table(rows))
    print(
        f"speed-up per query (p50): hybrid {b50 / h50:.1f}x, BM25 part {b50 / l50:.0f}x faster than rank-bm25"
        + (f" on {subsample / n:.0%} of the passages" if scope else "")
    )
    opened.close()

    if not args.skip_bundled:
        cache = args.cache_dir / hashlib.sha1(str(BUNDLED).encode()).hexdigest()[:8]
        print(f"bundled corpus ready from a warm cache in {warm_start_seconds(cache):.2f} s (fresh process)")
        bundled = Engine.build(load_corpus(BUNDLED), cache_dir=cache, detector=detector)
        typed = [q[:cut] for qs in QUESTIONS.values() for q in qs for cut in range(6, len(q) + 1, 4)]
        latencies = []
        for q in typed:
            t = time.perf_counter()
            bundled.ask(q, k=10)
            latencies.append(time.perf_counter() - t)
        i50, i99 = percentiles(latencies)
        print(
            f"inline-style queries on the bundled corpus (k=10, {len(typed)} prefixes): "
            f"p50 {i50:.1f} ms, p99 {i99:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
