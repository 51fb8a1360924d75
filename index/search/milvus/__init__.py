"""The Milvus search backend: the index in a Milvus server or cluster, or in Milvus Lite, through pymilvus.

Modules, along the sections below: :mod:`.schema` (collections and schema), :mod:`.build` (build, update,
alias), :mod:`.queries` (questions) and :mod:`.connection` (connection, retries, failures).

Implements :class:`index.search.backend.Backend`. Milvus never analyses text
here: every document is indexed as the terms *our* analysers produced
(stemmed, folded, stopwords gone, in its own language), joined by spaces, under
Milvus's ``whitespace`` tokenizer. Both backends therefore see the same terms
in every language (Milvus has no Indonesian stemmer, and Lite 3.x ignores
stemmer filters), and Milvus's BM25 function gives bm25s's Lucene scores
times (k1 + 1), which :meth:`MilvusIndex.lexical_top` divides out.

Collections, for ``search.milvus.collection = news``
-----------------------------------------------------

``news_<UTC time>_<random>`` (one per build), a row per document (a passage in
one language version):

==============  =====================================================================
``id``          VARCHAR primary key, ``"<article id>#<position>#<language>"``
``passage_key`` VARCHAR ``"<article id>#<position>"``, the passage's stable key (INVERTED index)
``article_id``  VARCHAR (INVERTED index): what updates and removals select by
``language``    VARCHAR, the version's language, for filtering
``original``    BOOL, the verbatim original (else a translation)
``rank``        INT32, the version's place among its passage's versions (they come back in order)
``terms``       VARCHAR, the analysed terms joined by spaces; ``whitespace`` analyzer
``sparse``      SPARSE_FLOAT_VECTOR, output of a BM25 function over ``terms``;
                SPARSE_INVERTED_INDEX, metric BM25, ``bm25_k1`` 1.2, ``bm25_b`` 0.75
``embedded``    BOOL: does ``vector`` hold the version's embedding? (translations may be unembedded)
``vector``      FLOAT_VECTOR (the retrieval encoder's dimension), zeros when not embedded;
                AUTOINDEX, metric IP (vectors are unit length, so IP is the cosine)
``text``        VARCHAR, the verbatim text
``alignment``   JSON, for a translation: its sentences' spans and their beads with the original's
==============  =====================================================================

``news_<…>_sentences``, a row per sentence of a passage's original:
``id`` (``"<passage key>#<sentence>"``), ``passage_key``, ``article_id``,
``position``, ``start``/``end`` (character offsets), ``vector`` (retrieval
encoder) and ``echo`` (cross-lingual encoder), both AUTOINDEX/IP. Sentences
live in their own collection so that they count in neither the BM25
statistics (N, average length) nor the vector searches.

``news`` names the live pair. On a Milvus server it is an **alias** of the
document collection (its sentences collection is found by name). Milvus Lite
2.5 implements no aliases (nor renames or collection properties), so there
``news`` is a one-row pointer collection (``id``, ``target``, a 2-d
placeholder vector Milvus requires) whose row is upserted instead.

Build, update, questions
------------------------

``build`` creates a new pair, inserts everything, flushes, then moves the
alias (or pointer), and drops the previous pair ``drop_delay`` seconds later,
when questions already under way on it are done. An index object queries the
concrete collections it was built on, never the alias: a question's
lexical, vector and fetch calls then all see one batch, however the alias
moves meanwhile, and never a half-built one.

``update`` upserts the rows of the changed articles into the live pair and
deletes their rows that no longer exist and the removed articles' rows,
nothing else. The index it returns numbers passages as its batch does;
earlier index objects keep their numbering, skip keys they do not know and
tolerate rows that vanished.

Searches ask Milvus for (k - 1) * V + 1 documents, V the most language
versions a passage has, and keep each passage's best: the k best passages are
surely among them (exactly so on Lite, whose AUTOINDEX is a flat scan; a
server's HNSW is approximate). Milvus counts a query term once however often it
is repeated, where the protocol counts every repetition: the repeats' scores are
added from one more search per repeated term, over the documents found (a
document outside that first set is not considered, so only then can the
ranking differ from bm25s's). ``fetch`` asks both
collections at once for the candidates' rows, vectors as float32 slices, and
keeps the alignments that come along for :meth:`MilvusIndex.alignment`.

IDF is computed in the client, from document frequencies counted in the
batch at build (N is the batch's document count), and carried over by an
update: the changed and removed articles' old rows are read back from Milvus
(subtracted), their new ones added. It costs no round trip per question; a
``TEXT_MATCH`` count per term would cost one, and Milvus Lite 2.5.1 rejected
our ``TEXT_MATCH`` expressions anyway.

Failure: a Milvus that cannot be reached raises
:class:`~index.search.backend.BackendUnavailable` naming ``search.milvus.uri``
(never the token), and drops its gRPC channel (whose own reconnection backs
off for minutes), so the first call after Milvus is back opens a new one and
works. A collection name that exists with another schema raises
:class:`BackendMisconfigured` naming ``search.milvus.collection``. When the URI
is a file path, this backend runs Milvus Lite itself
(:mod:`index.search.milvus_lite`), restarts it if it dies, and stops it on
:meth:`MilvusBackend.close`.
"""

from __future__ import annotations

from .build import MilvusBackend
from .queries import MilvusIndex
from .schema import FINGERPRINT_ROW, SCHEMA

__all__ = ["FINGERPRINT_ROW", "SCHEMA", "MilvusBackend", "MilvusIndex"]
