"""The connection to Milvus: one pymilvus client made on first use, timeouts and retries, failures in words.

Errors that mean Milvus cannot be reached become :class:`~index.search.backend.BackendUnavailable` naming
``search.milvus.uri`` (never the token), and the gRPC channel is dropped so the next call opens a fresh
one. A Milvus Lite this process started is restarted when it died. This is also where pymilvus is
imported, with an installation hint when it is missing.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import grpc

from ..backend import BackendUnavailable

log = logging.getLogger(__name__)

try:
    from pymilvus import DataType, Function, FunctionType, MilvusClient  # noqa: F401 (schema and build use the types)
    from pymilvus.exceptions import (
        ConnectionNotExistException,
        MilvusException,
        MilvusUnavailableException,
    )
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise ImportError("search.backend milvus needs pymilvus: pip install -e '.[milvus]'") from missing

# pymilvus configures its own handlers (when imported, above) and logs every failed RPC at ERROR;
# this module reports failures itself, once and in words that name the setting.
for _name in ("pymilvus", "pymilvus.milvus_client"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

T = TypeVar("T")
WRITE_RETRIES = 7
"""How often pymilvus retries a write that finds Milvus unreachable (backing off 0.01 s to 3 s: about 4 s)."""


class _Connection:
    """One pymilvus client, made on first use and again after it failed; every call maps failures to our errors."""

    def __init__(self, uri: str, token: str | None, *, timeout: float, write_timeout: float) -> None:
        self.uri = uri
        # pymilvus retries a call that finds Milvus unreachable until its timeout when that is an int,
        # else a number of times. Questions: whole seconds, so a question fails within its timeout.
        # Writes (builds) may take minutes: a float deadline, and a few retries (about 4 s) when down.
        self.timeout = max(1, math.ceil(timeout))
        self.write_timeout = float(write_timeout)
        self._token = token or ""
        self._alias = f"newsbot-{secrets.token_hex(8)}"  # our own connection: closing it closes no one else's
        self._client: Any = None
        self._lite: Any = None
        self._lock = threading.Lock()
        self._closed = False
        self._down_logged = False
        self._pool: ThreadPoolExecutor | None = None

    def call(self, action: Callable[[Any], T], *, index: bool = False, again: bool = True) -> T:
        """``action(client)``; failures to reach Milvus become :class:`BackendUnavailable`.

        ``index`` marks a question's call on an index's own collections: one dropped since (a newer
        index replaced it) is then unavailable too, rather than a programming error. ``again``: a call
        whose channel another thread closed meanwhile is sent once more, on the new channel.
        """
        connected = self._connected()
        client = _Timed(connected, self.timeout) if index else _Timed(connected, self.write_timeout, WRITE_RETRIES)
        try:
            result = action(client)
        except Exception as error:
            if again and _closed_channel(error) and self._client is not connected:
                # Another thread's failure replaced the channel under this call: ask once more on the new one.
                return self.call(action, index=index, again=False)
            unreachable = _unreachable(error)
            if not unreachable and not (index and _gone(error)):
                raise
            if self._lite is not None and not self._lite.running():
                self._restart_lite()
            if not unreachable:
                raise BackendUnavailable(
                    "A Milvus collection this index uses no longer exists (a newer index replaced it); "
                    "the next question uses the new one"
                ) from None
            self._log_down(error)
            # A new channel next time: gRPC's own reconnection backs off for up to two minutes, so
            # the old one could go on failing long after Milvus is back.
            self._forget(connected)
            raise BackendUnavailable(
                f"Milvus at {_safe(self.uri)} is unreachable ({_reason(error)}); "
                "check search.milvus.uri and that Milvus is running"
            ) from None
        if self._down_logged:
            log.info("Milvus at %s answers again", _safe(self.uri))
            self._down_logged = False
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
            if client is not None:
                try:
                    client.close()
                except Exception as error:  # closing a connection to a server that is gone
                    log.debug("Closing the Milvus client: %s", error)
            lite, self._lite = self._lite, None
            if lite is not None:
                lite.close()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def pool(self) -> ThreadPoolExecutor:
        """Threads for queries a call sends at once."""
        with self._lock:
            if self._closed:
                raise BackendUnavailable("The Milvus backend was closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="milvus")
            return self._pool

    def _forget(self, client: Any) -> None:
        with self._lock:
            if self._client is not client:
                return  # another thread already did
            self._client = None
        try:
            client.close()
        except Exception as error:
            log.debug("Closing the Milvus client: %s", error)

    def lite_server(self) -> Any:
        """The Milvus Lite server this connection runs (file-path URIs only), else None."""
        return self._lite

    def _connected(self) -> Any:
        with self._lock:
            if self._closed:
                raise BackendUnavailable("The Milvus backend was closed")
            if self._client is not None:
                return self._client
            uri = self.uri
            if _is_file(uri):
                uri = self._start_lite()
            try:
                self._client = MilvusClient(uri=uri, token=self._token, timeout=self.timeout, alias=self._alias)
            except Exception as error:
                self._log_down(error)
                raise BackendUnavailable(
                    f"Cannot connect to Milvus at {_safe(self.uri)} ({_reason(error)}); "
                    "check search.milvus.uri and that Milvus is running"
                ) from None
            return self._client

    def _start_lite(self) -> str:
        from ..milvus_lite import LiteServer, LiteUnavailable

        try:
            if self._lite is None:
                self._lite = LiteServer(self.uri)
            return str(self._lite.start())
        except LiteUnavailable as error:
            raise BackendUnavailable(f"search.milvus.uri {self.uri!r}: {error}") from None

    def _restart_lite(self) -> None:
        with self._lock:
            if self._lite is None or self._lite.running():
                return
            log.warning("Milvus Lite (%s) stopped; starting it again", self.uri)
            try:
                self._lite.start()
            except Exception as error:
                log.warning("Milvus Lite would not start again: %s", error)

    def _log_down(self, error: BaseException) -> None:
        if not self._down_logged:
            log.warning("Milvus at %s is unreachable: %s", _safe(self.uri), _reason(error))
            self._down_logged = True


class _Timed:
    """The client, with a timeout on every call that names none: without one, pymilvus retries for minutes."""

    def __init__(self, client: Any, timeout: float, retries: int | None = None) -> None:
        self._client = client
        self._timeout = timeout
        self._retries = retries

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self._timeout)
            if self._retries is not None:
                kwargs.setdefault("retry_times", self._retries)
            return method(*args, **kwargs)

        return timed


def _unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the server could not be reached or did not answer, rather than refused the request."""

    if isinstance(error, grpc.RpcError):
        code = error.code() if callable(getattr(error, "code", None)) else None
        return code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)
    if isinstance(error, ConnectionNotExistException | MilvusUnavailableException):
        return True
    if isinstance(error, MilvusException):
        text = f"{error.message} {error.code}".lower()
        signs = (
            "unavailable",
            "fail connecting",
            "failed to connect",
            "connection refused",
            "retry timeout",
            "deadline",
            "socket closed",
            "connection reset",
            "not connected",
            "server unavailable",
        )
        return any(sign in text for sign in signs) or _closed_channel(error)
    return isinstance(error, ConnectionError | TimeoutError)


def _closed_channel(error: BaseException) -> bool:
    """Whether ``error`` says the call went out on a gRPC channel that was closed meanwhile."""
    text = str(getattr(error, "message", error)).lower()
    return "closed channel" in text or "channel closed" in text  # gRPC words it both ways


def _gone(error: BaseException) -> bool:
    """Whether ``error`` says the collection does not exist (dropped after a newer build)."""

    if not isinstance(error, MilvusException):
        return False
    text = str(error.message).lower()
    return "collection not found" in text or "can't find collection" in text or "not exist" in text


def _reason(error: BaseException) -> str:
    """A short reason, without the gRPC debug dump pymilvus puts in its messages."""

    text = str(error.message) if isinstance(error, MilvusException) else str(error)
    for sign in ("Connection refused", "Retry timeout", "Deadline Exceeded", "failed to connect", "Socket closed"):
        if sign.lower() in text.lower():
            return sign.lower()
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return first[:160]


def _safe(uri: str) -> str:
    """The URI without user information or query (where credentials could hide)."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _is_file(uri: str) -> bool:
    """A Milvus Lite database: a path, not ``http(s)://``, ``tcp://`` or ``unix:``."""
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri)
