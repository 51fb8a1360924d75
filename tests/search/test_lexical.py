"""BM25 parity with rank-bm25, the reference implementation: same tokens in, same ranking out."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index import Corpus
from index.search.analysis import analyzer
from index.search.lexical import K1, B, LexicalIndex


class LuceneBM25(BM25Okapi):
    """rank-bm25's Okapi scorer with Lucene's always-positive IDF, the variant our index uses."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


def assert_same_ranking(docs: list[list[str]], queries: list[list[str]]) -> None:
    ours = LexicalIndex(docs)
    reference = LuceneBM25(docs, k1=K1, b=B)
    for query in queries:
        expected = np.asarray(reference.get_scores(query))
        got = ours.scores(query) * (K1 + 1)  # rank-bm25 keeps Robertson's constant (k1 + 1) factor
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        top = np.argsort(-expected, kind="stable")[:10]
        assert list(np.argsort(-got, kind="stable")[:10]) == list(top)


def test_parity_on_random_documents() -> None:
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(60)]
    docs = [[rng.choice(vocabulary) for _ in range(rng.randint(3, 40))] for _ in range(300)]
    queries = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 6))] for _ in range(50)]
    assert_same_ranking(docs, queries)


def test_parity_on_the_bundled_corpus(bundled: Corpus) -> None:
    docs = [analyzer(r.language).terms(r.text) for p in bundled.passages for r in p.renditions()]
    questions = [
        ("en", "Why was the Space delayed?"),
        ("fr", "Combien de personnes écoutaient ?"),
        ("nl", "Wat zei Trump over de EU?"),
        ("id", "Berapa banyak pengikut Musk?"),
    ]
    assert_same_ranking(docs, [analyzer(lang).terms(q) for lang, q in questions])


def test_unknown_terms_score_nothing() -> None:
    index = LexicalIndex([["a", "b"], ["c"]])
    assert not index.scores(["zzz"]).any()
    assert not index.scores([]).any()


@pytest.mark.parametrize("term, frequency", [("a", 2), ("c", 1), ("nope", 0)])
def test_document_frequency(term: str, frequency: int) -> None:
    assert LexicalIndex([["a", "b"], ["a", "c", "c"]]).document_frequency(term) == frequency
