"""Embeddings shipped with the package: a read-only layer under the per-machine cache.

Embedding the bundled corpus is the same work on every machine (about half a
minute on two cores), so its vectors ship as package data, for every encoder
the engine uses: passages in every language, sentences, and the cross-lingual
sentence vectors. Each vector is found by the encoder's name (which carries
its version) and the SHA-1 of the exact text, so a changed passage, a new
encoder version or a new corpus file misses only what changed, and the
engine embeds just that.

The file is one compressed ``.npz``: ``models`` (encoder names), and per model
``i``: ``keys_i`` (SHA-1 digests, a row of 20 bytes each), ``vectors_i`` (float16; see the
README for why that costs nothing) and a SHA-256 ``checksum_i`` over the
model's name, keys and vectors. ``articles`` and ``article_digests`` record the
corpus it was made from, so a bundled article edited since is named in a
warning. A file that cannot be read, or a model whose checksum does not match,
is ignored with a warning, never trusted.

``python bot.py corpus embed --bundle`` regenerates it (:func:`write_bundle`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from .vectors import normalize_rows

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().with_name("bundled_embeddings.npz")
"""The embeddings of the bundled corpus, installed with the package."""
REGENERATE = "python bot.py corpus embed --bundle"
"""The command that rewrites :data:`SHIPPED` from the bundled corpus."""
FORMAT = "newsbot bundled embeddings 1"


@dataclass(frozen=True)
class Bundle:
    """Vectors by encoder name, then by text key (:func:`index.search.cache.text_key`); read-only."""

    models: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    article_digests: Mapping[str, str] = field(default_factory=dict)
    """The corpus the vectors were made from: article id -> its digest (article and translations)."""
    problems: tuple[str, ...] = ()
    """Why some or all of the file was ignored; empty when all of it was trusted."""

    def vectors_for(self, model: str) -> Mapping[str, np.ndarray]:
        """The shipped vectors of ``model``, empty when it has none (another encoder, or another version)."""
        return self.models.get(model, {})

    def note(self, models: Sequence[str], article_digests: Mapping[str, str]) -> str | None:
        """Why these shipped vectors cannot serve all of an index of ``models`` over a corpus, logged; None if they can.

        File problems come first (logged when read), then encoders of another version, then bundled articles
        edited since the vectors were made.
        """
        fresh = [note for model in dict.fromkeys(models) if (note := self.version_note(model)) is not None]
        if any(model in self.models for model in models):
            fresh.append(self.stale_note(article_digests))
        for problem in fresh:
            if problem is not None:
                log.warning("%s", problem)
        notes = [*self.problems, *(n for n in fresh if n is not None)]
        return "; ".join(notes) or None

    def version_note(self, model: str) -> str | None:
        """Why the shipped vectors do not serve ``model`` although they are for the same encoder, if so."""
        if model in self.models:
            return None
        family = _family(model)
        others = sorted(name for name in self.models if _family(name) == family)
        if not others:
            return None
        return f"the shipped embeddings are for {', '.join(others)}, not {model}: embedding afresh with {model}"

    def stale_note(self, article_digests: Mapping[str, str]) -> str | None:
        """Which bundled articles of a corpus differ from the ones the shipped vectors were made from."""
        edited = sorted(a for a, digest in article_digests.items() if self.article_digests.get(a, digest) != digest)
        if not edited:
            return None
        return (
            f"the shipped embeddings predate the current text of {', '.join(edited)}: embedding its changed "
            f"passages afresh (`{REGENERATE}` brings the shipped file up to date)"
        )


EMPTY = Bundle()
"""No shipped vectors at all (to embed everything, as the regenerating command does)."""


@cache
def shipped_bundle() -> Bundle:
    """The bundle installed with the package, read once per process; empty (with a warning) when unusable."""
    return read_bundle(SHIPPED)


def read_bundle(path: Path) -> Bundle:
    """The bundle at ``path``: every model whose checksum holds; the rest ignored with a warning."""
    if not path.exists():
        return _ignored(f"{path} is missing")
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT:
                return _ignored(f"{path} is not in the format {FORMAT!r}")
            names = [str(name) for name in data["models"]]
            sections = [
                (data[f"keys_{i}"], data[f"vectors_{i}"], str(data[f"checksum_{i}"])) for i in range(len(names))
            ]
            articles = dict(zip(data["articles"].tolist(), data["article_digests"].tolist(), strict=True))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        return _ignored(f"{path} is unreadable ({exc})")
    models: dict[str, Mapping[str, np.ndarray]] = {}
    problems: list[str] = []
    for name, (keys, vectors, checksum) in zip(names, sections, strict=True):
        shaped = vectors.ndim == 2 and keys.shape == (len(vectors), 20)
        if not shaped or checksum != _checksum(name, keys, vectors):
            problems.append(_warned(f"{path}: the vectors of {name} fail their checksum; ignoring them"))
            continue
        rows = normalize_rows(vectors.astype(np.float32))  # float16 rounding leaves norms a hair off 1
        models[name] = dict(zip((k.tobytes().hex() for k in keys), rows, strict=True))
    return Bundle(models, articles, tuple(problems))


def write_bundle(path: Path, models: Mapping[str, Mapping[str, np.ndarray]], article_digests: Mapping[str, str]) -> int:
    """Write ``models`` (name -> text key -> vector) as a bundle at ``path``, atomically; returns its size in bytes."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "models": np.array(sorted(models)),
        "articles": np.array(sorted(article_digests)),
        "article_digests": np.array([article_digests[a] for a in sorted(article_digests)]),
    }
    for i, name in enumerate(sorted(models)):
        entries = models[name]
        order = sorted(entries)
        # raw digests as bytes rows: numpy's fixed-width bytes type would drop their trailing NULs
        keys = np.frombuffer(b"".join(bytes.fromhex(k) for k in order), dtype=np.uint8).reshape(-1, 20)
        vectors = np.vstack([entries[k] for k in order]).astype(np.float16)
        arrays |= {
            f"keys_{i}": keys,
            f"vectors_{i}": vectors,
            f"checksum_{i}": np.array(_checksum(name, keys, vectors)),
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
    os.chmod(tmp, 0o644)  # package data: readable by whoever installs it (mkstemp makes it private)
    os.replace(tmp, path)
    return path.stat().st_size


def _checksum(name: str, keys: np.ndarray, vectors: np.ndarray) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    digest.update(name.encode())
    digest.update(np.ascontiguousarray(keys, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float16).tobytes())
    return digest.hexdigest()


def _family(model: str) -> str:
    """An encoder's name without its version: ``e5-small-0.3.0`` -> ``e5-small``."""
    return model.rsplit("-", 1)[0]


def _warned(problem: str) -> str:
    log.warning("%s", problem)
    return problem


def _ignored(problem: str) -> Bundle:
    return Bundle(problems=(_warned(f"{problem}; the bundled corpus is embedded afresh"),))
