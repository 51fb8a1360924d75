"""BM25 parity with rank-bm25, the reference implementation: same tokens in, same ranking out."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from index import Corpus
from index.search.analysis import analyzer
from index.search.lexical import K1, B, LexicalIndex, Vocabulary


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


def test_a_repeated_term_beyond_255_counts_in_full() -> None:
    # Counts are stored in one byte while they fit; a longer count widens the array rather than wrapping.
    docs = [["a"] * 300 + ["b"], ["a", "c"], ["b", "c", "c"]]
    assert_same_ranking(docs, [["a"], ["a", "b"], ["c"]])


def test_documents_may_come_from_a_one_pass_iterator() -> None:
    docs = [["a", "b"], ["a", "c", "c"], ["d"]]
    once = LexicalIndex(iter(docs))  # a generator: read once, never indexed into
    np.testing.assert_array_equal(once.scores(["a", "c"]), LexicalIndex(docs).scores(["a", "c"]))


def test_a_document_without_terms_counts_as_one_token() -> None:
    # As bm25s indexed it (one empty token), so scores stay what they were and the Milvus backend matches them.
    index = LexicalIndex([["a", "b", "b"], []])
    norm = K1 * (1 - B + B * 3 / 2)  # average length (3 + 1) / 2
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    assert index.scores(["a"])[0] == pytest.approx(idf / (1 + norm))
    assert not index.scores([""]).any()


def test_presence_says_which_documents_hold_which_terms() -> None:
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(30)]
    docs = [[rng.choice(vocabulary) for _ in range(rng.randint(0, 12))] for _ in range(200)]
    index = LexicalIndex(docs)
    asked = [*vocabulary[:10], "nope", ""]
    picked = np.array([5, 0, 199, 42, 42, 17])
    expected = np.array([[term in docs[d] for term in asked] for d in picked])
    np.testing.assert_array_equal(index.presence(asked, picked), expected)


def test_the_vocabulary_is_sorted_utf8_with_numbers_by_rank() -> None:
    terms = ["zèbre", "a", "ß", "🚀", "ǅ", "b", "\udc80"]
    vocabulary = Vocabulary(terms)
    assert vocabulary.terms() == sorted(terms)  # UTF-8 byte order is code-point order
    assert [vocabulary.get(t) for t in sorted(terms)] == list(range(len(terms)))
    assert vocabulary.get("zebre") is None and vocabulary.get("") is None and vocabulary.get("🚀🚀") is None
    assert vocabulary.nbytes <= 8 + sum(len(t.encode("utf-8", "surrogatepass")) + 8 for t in terms)


def test_postings_take_five_bytes_each() -> None:
    rng = random.Random(9)
    docs = [[f"w{rng.randint(0, 500)}" for _ in range(40)] for _ in range(2000)]
    index = LexicalIndex(docs)
    postings = sum(len(set(d)) for d in docs)
    per_document = 4 + 8  # length normalisation, and the (term) pointer array amortised generously
    assert index.nbytes <= 5 * postings + per_document * len(docs) + index.vocabulary.nbytes
