"""The candidates stage: the passages worth weighing for a query, from both of the index's rankings.

BM25 over the analysed terms and nearest neighbours of the e5 question vector
each bring their top passages (a passage counting by its best language
version); their union, semantic first, is the pool the evidence stage weighs.
A later source of candidates (another backend, a reranker's recall) replaces
this module alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import Candidates, SearchIndex
from .query import Query


@dataclass(frozen=True, slots=True)
class Pool:
    """Candidate passages (by number) and what the index holds about them."""

    passages: np.ndarray
    lexical: np.ndarray
    """Per candidate, its BM25 score relative to the best of this query's (0 when BM25 did not bring it)."""
    fetched: Candidates


def gather(query: Query, index: SearchIndex, depth: int, *, excluded: np.ndarray | None = None) -> Pool | None:
    """The union of both rankings' top ``depth``; None when neither finds anything.

    ``excluded``, per passage, marks those never to be candidates (credit lines answer nothing).
    """
    lexical_top, lexical_scores = index.lexical_top(query.terms, depth)
    semantic_top, _ = index.vector_top(query.vector, depth)
    if excluded is not None:
        kept = ~excluded[lexical_top]
        lexical_top, lexical_scores = lexical_top[kept], lexical_scores[kept]
        semantic_top = semantic_top[~excluded[semantic_top]]
    passages = np.array(list(dict.fromkeys([*semantic_top.tolist(), *lexical_top.tolist()])), dtype=np.int64)
    if not len(passages):
        return None
    lexical = np.zeros(len(passages), dtype=np.float32)
    if len(lexical_top):
        position = {int(p): i for i, p in enumerate(passages)}
        lexical[[position[int(p)] for p in lexical_top]] = lexical_scores / float(lexical_scores[0])
    return Pool(passages, lexical, index.fetch(passages, query.asked_terms))
