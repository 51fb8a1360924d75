"""Matching new passages against every followed question at once, so only close ones are asked in full.

The followed questions' vectors (the retrieval encoder's, as a question is embedded to be
answered) sit in one matrix. A change's new passages bring their sentence and passage
vectors; one matrix product scores every sentence against every question, and a question
whose best score reaches the threshold is checked in full (:mod:`.coverage`). The answer gate
weighs the leading passage's best sentence above all, so a question none of the new sentences
comes near cannot be answered by them: the threshold sits below where the gate starts to answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from .store import FollowStore

DEFAULT_THRESHOLD = 0.76
"""Cosine (multilingual-e5) a new sentence must reach with a question for it to be checked in full: every
question the gate answered on the calibration data scored above 0.78 on its answering sentence."""
BLOCK = 16_384
"""Questions scored per matrix product: bounds the scratch memory (sentences × BLOCK floats)."""


class QuestionVectors:
    """The followed questions' vectors in one matrix, by question id; safe to share between threads."""

    def __init__(self, dimension: int | None = None) -> None:
        self._lock = threading.Lock()
        self._row: dict[int, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dimension or 0), dtype=np.float32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @classmethod
    def load(cls, store: FollowStore, embed: Callable[[str], np.ndarray], model: str) -> QuestionVectors:
        """Every followed question's vector from the store; those embedded by another model are embedded again."""
        ids, models, vectors = store.question_vectors()
        found = cls()
        if vectors is None:
            return found
        for row, (question_id, made_by) in enumerate(zip(ids.tolist(), models, strict=True)):
            if made_by != model:
                text = store.question_text(question_id) or ""
                vectors_row = np.asarray(embed(text), dtype=np.float32)
                store.replace_vector(question_id, vectors_row, model)
                if vectors_row.shape != vectors.shape[1:]:  # another dimension: rebuild the whole matrix
                    return cls.load(store, embed, model)
                vectors[row] = vectors_row
        found._put_all(ids, vectors)
        return found

    def _put_all(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        with self._lock:
            self._ids = ids.astype(np.int64).copy()
            self._matrix = np.ascontiguousarray(vectors, dtype=np.float32)
            self._size = len(ids)
            self._row = {int(q): i for i, q in enumerate(ids.tolist())}

    def add(self, question_id: int, vector: np.ndarray) -> None:
        vector = np.asarray(vector, dtype=np.float32)
        with self._lock:
            if question_id in self._row:
                return
            if self._matrix.shape[1] != vector.shape[0]:
                if self._size:
                    raise ValueError(f"a {vector.shape[0]}-dimensional vector among {self._matrix.shape[1]}")
                self._matrix = np.zeros((0, vector.shape[0]), dtype=np.float32)
            if self._size == len(self._matrix):  # grow by doubling: adding stays cheap on average
                capacity = max(16, 2 * len(self._matrix))
                grown = np.zeros((capacity, vector.shape[0]), dtype=np.float32)
                grown[: self._size] = self._matrix[: self._size]
                ids = np.zeros(capacity, dtype=np.int64)
                ids[: self._size] = self._ids[: self._size]
                self._matrix, self._ids = grown, ids
            self._matrix[self._size] = vector
            self._ids[self._size] = question_id
            self._row[question_id] = self._size
            self._size += 1

    def remove(self, question_id: int) -> None:
        with self._lock:
            row = self._row.pop(question_id, None)
            if row is None:
                return
            last = self._size - 1
            if row != last:  # the last row takes the freed place
                self._matrix[row] = self._matrix[last]
                self._ids[row] = self._ids[last]
                self._row[int(self._ids[row])] = row
            self._size = last

    def vector_of(self, question_id: int) -> np.ndarray | None:
        """The question's vector (a copy), None when it is not followed."""
        with self._lock:
            row = self._row.get(question_id)
            return None if row is None else self._matrix[row].copy()

    def __contains__(self, question_id: object) -> bool:
        return question_id in self._row

    def close_to(self, probes: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> list[int]:
        """Ids of the questions some probe vector (a new sentence or passage) reaches ``threshold`` with."""
        if not len(probes):
            return []
        probes = np.ascontiguousarray(probes, dtype=np.float32)
        close: list[np.ndarray] = []
        # Held throughout: rows move when a follow is removed. Follows are added and removed off the
        # event loop, so waiting here never holds up an answer.
        with self._lock:
            for start in range(0, self._size, BLOCK):
                stop = min(start + BLOCK, self._size)
                best = (probes @ self._matrix[start:stop].T).max(axis=0)
                close.append(self._ids[start:stop][best >= threshold])
        return [int(q) for q in np.concatenate(close)] if close else []
