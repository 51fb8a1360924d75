"""A client for the DeepL API: ``POST /v2/translate`` and ``GET /v2/usage``, over httpx.

DeepL's own Python library (``deepl``) is synchronous, built on ``requests``, and retries
429s and 5xx answers itself with its own backoff: a reader's reply could then wait far
past ``translation.wait_ms`` and the bot could not tell the quota (456) from a slow-down
(429) in time to tell the admins. Two endpoints over the httpx the project already
uses keep the errors ours, the waits bounded and the key out of every message.

Free accounts have keys ending in ``:fx`` and their own host; the address is chosen
from the key unless ``url`` says otherwise. The key goes in ``Authorization:
DeepL-Auth-Key …``, never in the body or the address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from .http import ServiceClient
from .libretranslate import Closing, TranslationError

FREE_URL: Final = "https://api-free.deepl.com"
PRO_URL: Final = "https://api.deepl.com"
MAX_TEXTS: Final = 50
"""DeepL takes at most 50 texts per request."""
MAX_REQUEST_CHARS: Final = 40_000
"""Characters per request: within DeepL's 128 KiB request size even at three UTF-8 bytes a character."""
# Our answer languages as DeepL names them: English needs a variant as a target.
_TARGETS: Final = {"en": "EN-GB"}


@dataclass(frozen=True, slots=True)
class Usage:
    """The account's characters used and allowed this billing period (``GET /v2/usage``)."""

    characters: int
    limit: int | None


def default_url(api_key: str) -> str:
    """DeepL's free host for a free key (ending ``:fx``), else the pro host."""
    return FREE_URL if api_key.strip().endswith(":fx") else PRO_URL


class DeepL(Closing):
    """The DeepL API's text translation; thread-safe, one shared connection pool."""

    name = "DeepL"
    label = "DeepL"

    def __init__(
        self,
        api_key: str,
        *,
        url: str | None = None,
        timeout: float = 30.0,
        max_batch: int = MAX_TEXTS,
        max_chars: int = MAX_REQUEST_CHARS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key.strip():
            raise ValueError("DeepL needs an API key (DEEPL_AUTH_KEY)")
        if not 1 <= max_batch <= MAX_TEXTS or max_chars < 1:
            raise ValueError(f"max_batch must be 1 to {MAX_TEXTS}, max_chars positive")
        self.max_batch = max_batch
        self.max_chars = max_chars
        self._key = api_key.strip()
        self._http = ServiceClient(
            "DeepL",
            url or default_url(self._key),
            secrets=[self._key],
            headers={"Authorization": f"DeepL-Auth-Key {self._key}"},
            timeout=timeout,
            transport=transport,
        )
        self.url = self._http.url

    def __repr__(self) -> str:
        return f"DeepL(url={self.url!r}, api_key='<hidden>')"

    def close(self) -> None:
        self._http.close()

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        if not texts:
            return []
        payload = {
            "text": list(texts),
            "source_lang": source.upper(),
            "target_lang": _TARGETS.get(target, target.upper()),
            "preserve_formatting": True,
        }
        response = self._http.request("POST", "/v2/translate", json=payload)
        if not response.is_success:
            raise self._failed(response)
        body = self._http.json_body(response)
        translations = body.get("translations") if isinstance(body, dict) else None
        if not isinstance(translations, list):
            raise self._http.malformed("no translations list")
        if len(translations) != len(texts):
            raise self._http.malformed(f"{len(translations)} translations for {len(texts)} texts")
        out: list[str] = []
        for item in translations:
            text = item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str):
                raise self._http.malformed("a translation without text")
            out.append(text)
        return out

    def usage(self) -> Usage:
        """The account's characters used and allowed this period; raises TranslationError."""
        response = self._http.request("GET", "/v2/usage")
        if not response.is_success:
            raise self._failed(response)
        body = self._http.json_body(response)
        if not isinstance(body, dict) or not isinstance(body.get("character_count"), int):
            raise self._http.malformed("no character_count")
        limit = body.get("character_limit")
        return Usage(body["character_count"], limit if isinstance(limit, int) else None)

    def _failed(self, response: httpx.Response) -> TranslationError:
        status = response.status_code
        message = self._message(response)
        if status == 456:
            return self._http.failed(response, f"the DeepL quota is spent ({message})", quota=True, retryable=False)
        if status in (401, 403):
            return self._http.failed(response, f"the DeepL API key was refused ({message})", retryable=False)
        if status == 529:  # DeepL's other "too many requests"
            return self._http.failed(response, message, retryable=True)
        return self._http.failed(response, message)

    def _message(self, response: httpx.Response) -> str:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        text = body.get("message") if isinstance(body, dict) else None
        return self._http.snippet(text if isinstance(text, str) else response.text or response.reason_phrase)
