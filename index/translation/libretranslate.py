"""Machine translation backends: the Translator protocol and its LibreTranslate client.

A backend translates one batch of texts per call; what to translate, how many
requests to make and what to do when they fail is decided by ``index.translation.fill``.
Errors are :class:`TranslationError`, whose message is safe to show an admin:
it names the service and what went wrong, never the API key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Protocol, Self

import httpx

# LibreTranslate's own error texts are short; anything longer is a proxy's HTML page.
_MAX_ERROR_CHARS: Final = 200
_WHITESPACE = re.compile(r"\s+")


class TranslationError(Exception):
    """A translation request failed; ``str(error)`` is safe to show an admin.

    ``retryable``: the same request may well succeed a little later (a timeout,
    429, a 5xx, a dropped connection). ``unreachable``: nothing answers at the
    service's address (connection refused, unknown host), so further requests
    are pointless until someone starts it.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        unreachable: bool = False,
        quota: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unreachable = unreachable
        self.quota = quota
        """The service's own quota (DeepL's 456, an account out of credit) is spent: wait for the next period."""
        self.retry_after = retry_after
        """Seconds the service asked us to wait (``Retry-After``), when it said."""


class Translator(Protocol):
    """A machine translation service, as :func:`index.translation.fill.fill_gaps` uses it."""

    name: str
    """Shown in reports, e.g. "LibreTranslate"."""
    label: str
    """Shown to readers beside a machine translation: "DeepL", or a language model's name."""
    max_batch: int
    """The most texts one request may carry."""
    max_chars: int
    """The most characters one request may carry (a longer single text is still sent, alone)."""

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """Translate ``texts`` from ``source`` to ``target`` in one request: one translation per text, in order.

        Raises TranslationError.
        """
        ...

    def close(self) -> None:
        """Release connections; the translator is not used afterwards."""
        ...


def batches(texts: Sequence[str], max_batch: int, max_chars: int) -> list[list[int]]:
    """Group the indices of ``texts``, in order, into requests of at most ``max_batch`` texts and ``max_chars``
    characters; a text is never split, so one longer than ``max_chars`` makes a request of its own."""
    if max_batch < 1 or max_chars < 1:
        raise ValueError(f"max_batch and max_chars must be positive, got {max_batch} and {max_chars}")
    groups: list[list[int]] = []
    current: list[int] = []
    chars = 0
    for index, text in enumerate(texts):
        if current and (len(current) >= max_batch or chars + len(text) > max_chars):
            groups.append(current)
            current, chars = [], 0
        current.append(index)
        chars += len(text)
    if current:
        groups.append(current)
    return groups


class Closing:
    """A client used as a context manager (``with DeepL(...) as service:``): its connections close on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LibreTranslate(Closing):
    """A client for a LibreTranslate server's ``POST /translate``; thread-safe, one shared connection pool."""

    name = "LibreTranslate"
    label = "LibreTranslate"

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        max_batch: int = 16,
        max_chars: int = 5000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            # Not echoed: a malformed address may still hold a password.
            raise ValueError("the LibreTranslate url must be an http:// or https:// address with a host")
        if max_batch < 1 or max_chars < 1 or timeout <= 0:
            raise ValueError("timeout, max_batch and max_chars must be positive")
        self.url = _shown_url(parsed)
        """The address as messages show it: no user name, password or query (they may hold secrets)."""
        self.max_batch = max_batch
        self.max_chars = max_chars
        self.timeout = timeout
        self._endpoint = parsed.copy_with(path=parsed.path.rstrip("/") + "/translate")
        self._api_key = api_key or None
        # Everything a server or proxy might echo back that must not reach a message.
        self._secrets = [s for s in (self._api_key, parsed.password) if s]
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        key = "'<hidden>'" if self._api_key else "None"
        return (
            f"LibreTranslate(url={self.url!r}, api_key={key}, timeout={self.timeout:g}, "
            f"max_batch={self.max_batch}, max_chars={self.max_chars})"
        )

    def close(self) -> None:
        self._client.close()

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if not texts:
            return []
        payload: dict[str, Any] = {"q": list(texts), "source": source, "target": target, "format": "text"}
        if self._api_key:
            payload["api_key"] = self._api_key
        where = f"LibreTranslate at {self.url}"
        try:
            response = self._client.post(self._endpoint, json=payload)
        except httpx.TimeoutException as exc:
            raise TranslationError(f"{where} timed out after {self.timeout:g} s", retryable=True) from exc
        except httpx.ConnectError as exc:
            raise TranslationError(f"{where} is unreachable ({self._reason(exc)})", unreachable=True) from exc
        except httpx.TransportError as exc:
            # A connection dropped mid-request (reset, protocol error): worth another try.
            raise TranslationError(f"{where}: the connection failed ({self._reason(exc)})", retryable=True) from exc
        except httpx.HTTPError as exc:  # e.g. an undecodable body
            raise TranslationError(f"{where}: malformed response: {self._reason(exc)}") from exc
        if not response.is_success:
            status = response.status_code
            raise TranslationError(
                f"{where} answered {status}: {self._error_text(response)}",
                retryable=status in (408, 429) or status >= 500,
            )
        return self._translations(response, len(texts), where)

    def _translations(self, response: httpx.Response, expected: int, where: str) -> list[str]:
        def malformed(what: str) -> TranslationError:
            return TranslationError(f"{where}: malformed response: {what}")

        try:
            body = response.json()
        except ValueError:
            raise malformed(f"not JSON ({self._snippet(response.text, 60)!r})") from None
        if not isinstance(body, dict):
            raise malformed(f"a JSON {type(body).__name__}, not an object")
        if "translatedText" not in body:
            raise malformed("no translatedText")
        translated = body["translatedText"]
        if not isinstance(translated, list):
            raise malformed(f"translatedText is a {type(translated).__name__}, not a list")
        if len(translated) != expected:
            raise malformed(f"{len(translated)} translations for {expected} texts")
        if not all(isinstance(text, str) for text in translated):
            raise malformed("translatedText holds something other than text")
        return translated

    def _error_text(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            text = body["error"]
        else:
            text = response.text or response.reason_phrase
        return self._snippet(text, _MAX_ERROR_CHARS) or "(no error text)"

    def _reason(self, exc: Exception) -> str:
        return self._snippet(str(exc), _MAX_ERROR_CHARS) or type(exc).__name__

    def _snippet(self, text: str, limit: int) -> str:
        """``text`` on one line, without secrets, cut to ``limit`` characters."""
        for secret in self._secrets:
            text = text.replace(secret, "<hidden>")
        text = _WHITESPACE.sub(" ", text).strip()
        return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown_url(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}{url.path.rstrip('/')}"
