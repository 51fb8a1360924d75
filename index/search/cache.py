"""An on-disk cache of text embeddings, keyed by each text's content.

One file per embedding model. Entries are looked up by a hash of the exact
text, so an unchanged corpus loads without embedding anything and a changed
one embeds only what changed. The file stores a checksum of its own arrays:
a truncated, corrupted or foreign file is discarded and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = "1"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _checksum(keys: np.ndarray, vectors: np.ndarray) -> str:
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    digest.update("\n".join(keys.tolist()).encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


class EmbeddingCache:
    """Embeddings for texts, read from and written back to ``directory``."""

    def __init__(self, directory: Path | None, model_name: str) -> None:
        self.path = directory / f"embeddings-{_safe(model_name)}.npz" if directory else None
        self.rebuilt_reason: str | None = None
        self._entries: dict[str, np.ndarray] = self._read()

    def _read(self) -> dict[str, np.ndarray]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors, stored = data["keys"], data["vectors"], str(data["checksum"])
            if vectors.ndim != 2 or len(keys) != len(vectors) or stored != _checksum(keys, vectors):
                raise ValueError("checksum or shape mismatch")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            self.rebuilt_reason = f"{self.path} is unreadable ({exc}); rebuilding it"
            log.warning("embedding cache %s", self.rebuilt_reason)
            return {}
        return {str(k): v for k, v in zip(keys, vectors, strict=True)}

    def embed(self, texts: Sequence[str], compute: Callable[[Sequence[str]], np.ndarray]) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` in order, computing only the missing ones; returns (vectors, computed)."""
        keys = [text_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._entries}.items())
        if missing:
            fresh = compute([t for _, t in missing])
            for (key, _), vector in zip(missing, fresh, strict=True):
                self._entries[key] = np.asarray(vector, dtype=np.float32)
        if not keys:
            return np.zeros((0, 0), dtype=np.float32), 0
        vectors = np.vstack([self._entries[k] for k in keys])
        if missing or self.rebuilt_reason:
            self._write(set(keys))
        return vectors, len(missing)

    def _write(self, keep: set[str]) -> None:
        if self.path is None:
            return
        keys = np.array(sorted(keep))
        vectors = np.vstack([self._entries[k] for k in keys.tolist()]).astype(np.float32)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, keys=keys, vectors=vectors, checksum=np.array(_checksum(keys, vectors)))
            os.replace(tmp, self.path)
        except OSError as exc:  # a read-only cache must not stop the bot
            log.warning("could not write the embedding cache %s: %s", self.path, exc)
        self.rebuilt_reason = None


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
