"""An on-disk cache of text embeddings, keyed by each text's content, over the shipped ones.

One file per embedding model. Entries are looked up by a hash of the exact
text, so an unchanged corpus loads without embedding anything and a changed
one embeds only what changed. Beneath the file lie the vectors shipped with
the package (:mod:`index.search.bundle`): a text found there is never embedded
nor written here, so a first start on the bundled corpus embeds nothing.

The file stores a checksum of its own arrays: a truncated, corrupted or
foreign file is discarded and rebuilt, never trusted.

A change (an added article, a feed poll) does not rewrite the file: its few
new vectors are appended to a journal beside it (``embeddings-<model>.log``),
each record with its own checksum, and a cache opened as a ``journal`` reads
only that journal, not the whole file. A record cut short by a kill is
ignored (its text is embedded again next time). The next full build reads
both and writes them into one file again, emptying the journal. It keeps every text of
the latest call and, besides, the most recently used others up to
:data:`KEEP_BYTES`, so corpora that take turns in one cache directory (the
benchmarks do) do not evict each other.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = "2"
KEEP_BYTES = 512 * 2**20
"""How much of the file, at most, may hold vectors the latest call did not ask for (oldest dropped first)."""
CHUNK = 64
"""Texts embedded per encoder call, so progress can be reported as it goes."""

Compute = Callable[[Sequence[str]], np.ndarray]
Progress = Callable[[int, int], None]
"""``progress(done, total)``: texts embedded so far, of those that had to be."""


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _checksum(keys: np.ndarray, vectors: np.ndarray, used: np.ndarray) -> str:
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    digest.update("\n".join(keys.tolist()).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(used, dtype=np.float64).tobytes())
    return digest.hexdigest()


class EmbeddingCache:
    """Embeddings for texts, read from and written back to ``directory``, over the ``shipped`` vectors."""

    def __init__(
        self,
        directory: Path | None,
        model_name: str,
        shipped: Mapping[str, np.ndarray] | None = None,
        *,
        journal: bool = False,
    ) -> None:
        self.path = directory / f"embeddings-{_safe(model_name)}.npz" if directory else None
        self.journal_path = directory / f"embeddings-{_safe(model_name)}.log" if directory else None
        self.journal = journal
        """Read only the journal, and append to it: what a change needs, at the cost of the change."""
        self.rebuilt_reason: str | None = None
        self.shipped: Mapping[str, np.ndarray] = shipped or {}
        self.from_shipped = 0
        """Texts served by the shipped vectors, over every call."""
        self._entries: dict[str, np.ndarray] = {}
        self._used: dict[str, float] = {}
        self._read()

    def _read(self) -> None:
        if not self.journal:
            self._read_file()
        for key, vector in read_journal(self.journal_path):
            self._entries[key] = vector
            self._used[key] = time.time()

    def _read_file(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors, used, stored = data["keys"], data["vectors"], data["used"], str(data["checksum"])
            if vectors.ndim != 2 or not len(keys) == len(vectors) == len(used):
                raise ValueError("shape mismatch")
            if stored != _checksum(keys, vectors, used):
                raise ValueError("checksum mismatch")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            self.rebuilt_reason = f"{self.path} is unreadable ({exc}); rebuilding it"
            log.warning("embedding cache %s", self.rebuilt_reason)
            return
        self._entries = {str(k): v for k, v in zip(keys, vectors, strict=True)}
        self._used = {str(k): float(u) for k, u in zip(keys, used, strict=True)}

    def missing(self, texts: Sequence[str]) -> dict[str, str]:
        """The texts (by key, each once) that neither the shipped vectors nor this cache hold."""
        return {k: t for t in texts if (k := text_key(t)) not in self.shipped and k not in self._entries}

    def embed(self, texts: Sequence[str], compute: Compute, progress: Progress | None = None) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` in order, computing only the missing ones; returns (vectors, computed)."""
        keys = [text_key(t) for t in texts]
        missing = sorted(self.missing(texts).items())
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start : start + CHUNK]
            fresh = compute([t for _, t in chunk])
            for (key, _), vector in zip(chunk, fresh, strict=True):
                self._entries[key] = np.asarray(vector, dtype=np.float32)
            if progress is not None:
                progress(start + len(chunk), len(missing))
        if not keys:
            return np.zeros((0, 0), dtype=np.float32), 0
        shipped = [k for k in keys if k in self.shipped]
        self.from_shipped += len(shipped)
        vectors = np.vstack([self.shipped[k] if k in self.shipped else self._entries[k] for k in keys])
        asked = set(keys) - set(shipped)
        now = time.time()
        self._used.update(dict.fromkeys(asked, now))
        if self.journal:
            append_journal(self.journal_path, [(key, self._entries[key]) for key, _ in missing])
        elif missing or self.rebuilt_reason or (self.journal_path is not None and self.journal_path.exists()):
            self._write(asked)
        return vectors, len(missing)

    def _write(self, asked: set[str]) -> None:
        if self.path is None:
            return
        self._evict(asked)
        keys = np.array(sorted(self._entries))
        rows = [self._entries[k] for k in keys.tolist()]
        vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        used = np.array([self._used.get(k, 0.0) for k in keys.tolist()], dtype=np.float64)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                checksum = np.array(_checksum(keys, vectors, used))
                np.savez(handle, keys=keys, vectors=vectors, used=used, checksum=checksum)
            os.replace(tmp, self.path)
            if self.journal_path is not None:  # everything it held is in the file now
                self.journal_path.unlink(missing_ok=True)
        except OSError as exc:  # a read-only cache must not stop the bot
            log.warning("could not write the embedding cache %s: %s", self.path, exc)
        self.rebuilt_reason = None

    def _evict(self, asked: set[str]) -> None:
        """Keep every text just asked for, and the most recently used others within :data:`KEEP_BYTES`."""
        room = KEEP_BYTES
        others = [k for k in self._entries if k not in asked]
        others.sort(key=lambda k: self._used.get(k, 0.0), reverse=True)
        for key in others:
            room -= self._entries[key].nbytes
            if room < 0:
                del self._entries[key]
                self._used.pop(key, None)


_RECORD = struct.Struct("<I20s")
"""A journal record's head: the vector's dimension and the text's key (SHA-1, 20 bytes); then the float32
vector, then a CRC-32 of all of it."""


def append_journal(path: Path | None, entries: list[tuple[str, np.ndarray]]) -> None:
    """Append vectors to the journal, flushed to disk before returning (a kill after it loses none of them)."""
    if path is None or not entries:
        return
    chunks = []
    for key, vector in entries:
        body = _RECORD.pack(len(vector), bytes.fromhex(key)) + np.asarray(vector, dtype="<f4").tobytes()
        chunks.append(body + struct.pack("<I", zlib.crc32(body)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(b"".join(chunks))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # a read-only cache must not stop the bot
        log.warning("could not append to the embedding journal %s: %s", path, exc)


def read_journal(path: Path | None) -> list[tuple[str, np.ndarray]]:
    """The journal's records, in order, up to the first one cut short or damaged (a kill mid-append)."""
    if path is None or not path.exists():
        return []
    try:
        data = path.read_bytes()
    except OSError:
        return []
    found: list[tuple[str, np.ndarray]] = []
    at = 0
    while at + _RECORD.size <= len(data):
        dimension, key = _RECORD.unpack_from(data, at)
        end = at + _RECORD.size + 4 * dimension
        if end + 4 > len(data) or struct.unpack_from("<I", data, end)[0] != zlib.crc32(data[at:end]):
            log.warning("embedding journal %s: a record cut short or damaged at byte %d; dropping the rest", path, at)
            try:  # so that what is appended next follows the last good record
                with path.open("r+b") as handle:
                    handle.truncate(at)
            except OSError:
                pass
            break
        found.append((key.hex(), np.frombuffer(data, dtype="<f4", count=dimension, offset=at + _RECORD.size).copy()))
        at = end + 4
    return found


@dataclass(frozen=True)
class Request:
    """Texts to embed with one encoder through its cache."""

    cache: EmbeddingCache
    texts: Sequence[str]
    compute: Compute


def embed_all(requests: Sequence[Request], progress: Progress | None = None) -> list[tuple[np.ndarray, int]]:
    """Each request's (vectors, computed), reporting progress over all the texts any of them must embed."""
    total = sum(len(r.cache.missing(r.texts)) for r in requests)
    if progress is not None and total:
        progress(0, total)
    results: list[tuple[np.ndarray, int]] = []
    done = 0
    for request in requests:
        offset = done

        def step(count: int, _: int, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + count, total)

        vectors, computed = request.cache.embed(request.texts, request.compute, step)
        done += computed
        results.append((vectors, computed))
    return results


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
