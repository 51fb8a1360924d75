"""The embedded search backend: the whole index in this process, in numpy arrays, in segments.

The default backend. A build makes one segment (:mod:`index.search.segment`)
of the whole corpus; a change (:class:`~.backend.Delta`) adds a small segment
of what was added or edited and marks what was removed or edited as gone
(:mod:`index.search.segments`), so an added article costs its own passages,
not the corpus's. Small segments are merged in the background, size-tiered,
and the merge is swapped in at once; questions never wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection

import numpy as np

from .backend import Delta, IndexBatch
from .segment import AlignmentTable, EmbeddedIndex
from .segments import MergePolicy, SegmentedIndex
from .vectors import Precision, collection_mean

__all__ = ["AlignmentTable", "EmbeddedBackend", "EmbeddedIndex", "SegmentedIndex"]

log = logging.getLogger(__name__)


class EmbeddedBackend:
    """Builds :class:`SegmentedIndex` objects, applies deltas to them and merges their segments.

    ``precision`` is how vectors are stored. int8 (the default) takes a
    quarter of float32's memory (sentence vectors and echoes) or 0.38 of it
    (passage vectors, refined); the vector search keeps float32's ranking and
    the evidence's cosines stay within about 0.001. On the dev set it gives
    the same figures as float32 (``tests/search/test_embedded.py`` compares
    the two on random batches).

    int8 codes are taken relative to a reference mean, fixed at the first
    build: every later segment, merge and rebuild on this backend codes rows
    against it, so a row reads back the same whichever segment holds it.
    ``background`` merges run in a thread (tests and benches may run them inline with ``merge_now``).
    """

    name = "embedded"

    def __init__(
        self, precision: Precision = "int8", *, policy: MergePolicy | None = None, background: bool = True
    ) -> None:
        self.precision: Precision = precision
        self.policy = policy or MergePolicy()
        self.background = background
        self._means: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()
        self._latest: SegmentedIndex | None = None
        self._merging: threading.Thread | None = None
        self.merges: list[float] = []
        """How long each merge took (seconds), in order."""

    def build(self, batch: IndexBatch) -> SegmentedIndex:
        with self._lock:
            if self._means is None and self.precision == "int8":
                self._means = {
                    "vectors": collection_mean(batch.vectors),
                    "sentences": collection_mean(batch.sentence_vectors),
                    "echoes": collection_mean(batch.sentence_echoes),
                }
            means = self._means
        index = SegmentedIndex.of(EmbeddedIndex(batch, precision=self.precision, means=means), batch.articles)
        with self._lock:
            self._latest = index
        return index

    def update(
        self, batch: IndexBatch, *, changed: Collection[str] = (), removed: Collection[str] = ()
    ) -> SegmentedIndex:
        """A whole batch: built anew (:meth:`apply` is how a change costs only what changed)."""
        return self.build(batch)

    def apply(self, index: object, delta: Delta) -> SegmentedIndex:
        """``index`` with ``delta`` applied: a new segment of its batch, its removals marked; ``index`` unchanged."""
        if not isinstance(index, SegmentedIndex):
            raise TypeError("an embedded index takes deltas only on an index it built")
        segment = None
        if delta.batch.passages:
            segment = EmbeddedIndex(delta.batch, precision=self.precision, means=self._means)
        updated = index.applied(segment, delta.removed, delta.order)
        with self._lock:
            self._latest = updated
        self._schedule()
        return updated

    def _schedule(self) -> None:
        if self._merging is not None and self._merging.is_alive():
            return
        if self.background:
            self._merging = threading.Thread(target=self.merge_now, name="segment-merge", daemon=True)
            self._merging.start()

    def merge_now(self) -> int:
        """Merge what the policy picks in the latest index until it picks nothing; how many merges were made."""
        made = 0
        while True:
            with self._lock:
                latest = self._latest
            if latest is None:
                return made
            picked = self.policy.pick(latest.segment_sizes())
            if not picked:
                return made
            started = time.perf_counter()
            merged = latest.merge(picked)
            with self._lock:
                if self._latest is not None and self._latest.commit(merged):
                    made += 1
                    self.merges.append(time.perf_counter() - started)
                else:
                    return made

    def wait(self) -> None:
        """Until the merge running now (if any) is done."""
        merging = self._merging
        if merging is not None:
            merging.join()

    def close(self) -> None:
        self.wait()
