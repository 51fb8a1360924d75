"""What the DeepL and OpenAI-compatible clients share: one connection pool, errors an admin may read.

Every failure becomes a :class:`TranslationError` whose text names the service and
what went wrong, with the API key and any password of the address replaced by
``<hidden>``: a proxy or a server may echo the request back, headers included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import httpx

from .libretranslate import TranslationError

MAX_ERROR_CHARS: Final = 200
_WHITESPACE = re.compile(r"\s+")


class ServiceClient:
    """An httpx client for one service at one address, with its secrets kept out of every message."""

    def __init__(
        self,
        service: str,
        url: str,
        *,
        secrets: Sequence[str] = (),
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            # Not echoed: a malformed address may still hold a password.
            raise ValueError(f"the {service} url must be an http:// or https:// address with a host")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.service = service
        self.timeout = timeout
        self.base = parsed
        self.url = f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}{parsed.path.rstrip('/')}"
        """The address as messages show it: no user name, password or query (they may hold secrets)."""
        self.where = f"{service} at {self.url}"
        self._secrets = [s for s in (*secrets, parsed.password) if s]
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, headers=headers or {})

    def endpoint(self, path: str) -> httpx.URL:
        return self.base.copy_with(path=self.base.path.rstrip("/") + path, query=None)

    def request(self, method: str, path: str, *, json: Any = None) -> httpx.Response:
        """Send one request; a timeout, a refused connection or a dropped one raise TranslationError."""
        try:
            return self._client.request(method, self.endpoint(path), json=json)
        except httpx.TimeoutException as exc:
            raise TranslationError(f"{self.where} timed out after {self.timeout:g} s", retryable=True) from exc
        except httpx.ConnectError as exc:
            raise TranslationError(f"{self.where} is unreachable ({self.reason(exc)})", unreachable=True) from exc
        except httpx.TransportError as exc:
            raise TranslationError(f"{self.where}: the connection failed ({self.reason(exc)})", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise TranslationError(f"{self.where}: malformed response: {self.reason(exc)}") from exc

    def json_body(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self.malformed(f"not JSON ({self.snippet(response.text, 60)!r})") from None

    def malformed(self, what: str) -> TranslationError:
        return TranslationError(f"{self.where}: malformed response: {what}")

    def failed(self, response: httpx.Response, message: str, **kinds: Any) -> TranslationError:
        """An error status as TranslationError: ``message`` is the service's own error text."""
        status = response.status_code
        kinds.setdefault("retryable", status in (408, 429) or status >= 500)
        kinds.setdefault("retry_after", retry_after(response))
        return TranslationError(f"{self.where} answered {status}: {message or '(no error text)'}", **kinds)

    def reason(self, exc: Exception) -> str:
        return self.snippet(str(exc), MAX_ERROR_CHARS) or type(exc).__name__

    def snippet(self, text: str, limit: int = MAX_ERROR_CHARS) -> str:
        """``text`` on one line, without secrets, cut to ``limit`` characters."""
        for secret in self._secrets:
            text = text.replace(secret, "<hidden>")
        text = _WHITESPACE.sub(" ", text).strip()
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def close(self) -> None:
        self._client.close()


def retry_after(response: httpx.Response) -> float | None:
    """The seconds of a ``Retry-After`` header (its date form is not used by these services)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
