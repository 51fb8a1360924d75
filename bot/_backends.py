"""The configured search backend: the in-process index, or Milvus (a Lite file, a server or a cluster)."""

from __future__ import annotations

from pathlib import Path

from index.search.backend import Backend, BackendMisconfigured
from index.search.embedded import EmbeddedBackend

from ._config import ConfigError, MilvusSettings

LITE_FILE = "milvus/newsbot.db"
"""Where Milvus Lite keeps the index when ``search.milvus.uri`` is empty, under the cache directory."""


def open_backend(name: str, milvus: MilvusSettings, cache_dir: Path | None) -> Backend:
    """The backend called ``name``; raises ConfigError when Milvus is chosen but not installed or misconfigured.

    Connecting may raise :class:`index.search.backend.BackendUnavailable`, which names the setting to check.
    """
    if name == "embedded":
        return EmbeddedBackend()
    try:
        from index.search.milvus import MilvusBackend
    except ImportError as exc:
        raise ConfigError(
            f"search.backend is milvus, but the Milvus client cannot be imported ({exc}); "
            "install it with: pip install -e '.[milvus]'"
        ) from None
    uri = milvus.uri or str(lite_file(cache_dir))
    try:
        return MilvusBackend(uri, token=milvus.token or None, collection=milvus.collection)
    except BackendMisconfigured as exc:  # a setting to fix, not an outage: said like any configuration problem
        raise ConfigError(str(exc)) from None


def lite_file(cache_dir: Path | None) -> Path:
    """The Milvus Lite file used when no URI is configured (its directory is created)."""
    base = cache_dir or Path("~/.cache/newsbot").expanduser()
    path = base / LITE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
