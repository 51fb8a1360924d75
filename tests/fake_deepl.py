"""A fake DeepL API for tests, strict to its published OpenAPI description (shared/apis/deepl/openapi.yaml).

It answers ``POST /v2/translate`` and ``GET /v2/usage`` only; any other path is 404, another
method 405. A request without ``Authorization: DeepL-Auth-Key <the key>`` is 403 (the
description's ForbiddenScoped); a body that is not a JSON object, misses ``text`` or
``target_lang``, holds a property the description does not list, or a value of the wrong
type is 400; past the character limit it answers 456 (QuotaExceeded). Error bodies are the
description's ErrorResponse, ``{"message": ...}``. It "translates" recognisably:
``[<target>] <text>``, so a translation keeps its original's sentences.

Failures on demand: ``fail_next(status, message, retry_after=...)``, ``delay`` (answer late),
``malformed`` (a 200 that is not a translation). Every request is recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from . import localhttp

SOURCES = {"AR", "BG", "CS", "DA", "DE", "EL", "EN", "ES", "ET", "FI", "FR", "HU", "ID", "IT", "JA", "KO", "LT", "LV",
           "NB", "NL", "PL", "PT", "RO", "RU", "SK", "SL", "SV", "TR", "UK", "ZH"}  # fmt: skip
TARGETS = (SOURCES - {"EN", "PT"}) | {"EN-GB", "EN-US", "PT-BR", "PT-PT"}
# The properties of the translate request body in the description (application/json).
PROPERTIES = {
    "text": list,
    "source_lang": str,
    "target_lang": str,
    "context": str,
    "show_billed_characters": bool,
    "split_sentences": str,
    "preserve_formatting": bool,
    "formality": str,
    "model_type": str,
    "glossary_id": str,
    "glossary_ids": list,
    "style_id": str,
    "translation_memory_id": str,
    "translation_memory_threshold": int,
    "custom_instructions": list,
    "tag_handling": str,
    "tag_handling_version": str,
    "outline_detection": bool,
    "enable_beta_languages": bool,
    "non_splitting_tags": list,
    "splitting_tags": list,
    "ignore_tags": list,
}
MALFORMED_MODES = ("not-json", "missing", "short")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    authorization: str
    body: Any

    @property
    def texts(self) -> list[str]:
        return list(self.body.get("text") or []) if isinstance(self.body, dict) else []


class FakeDeepL:
    """An httpx handler that behaves like the DeepL API for one account."""

    def __init__(self, api_key: str = "fake-deepl-key:fx", *, character_limit: int = 500_000) -> None:
        self.api_key = api_key
        self.character_limit = character_limit
        self.character_count = 0
        self.delay = 0.0
        self.malformed: str | None = None
        self.requests: list[Recorded] = []
        self._failures: list[tuple[int, str, float | None]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def fail_next(self, status: int, message: str, *, retry_after: float | None = None, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([(status, message, retry_after)] * times)

    @property
    def translate_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v2/translate"]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            body: Any = json.loads(request.content) if request.content else None
        except ValueError:
            body = None
        recorded = Recorded(request.method, request.url.path, request.headers.get("Authorization", ""), body)
        with self._lock:
            self.requests.append(recorded)
        if self.delay:
            self._closing.wait(self.delay)
        routes = {"/v2/translate": "POST", "/v2/usage": "GET"}
        if request.url.path not in routes:
            return _error(404, "Not found")
        if request.method != routes[request.url.path]:
            return _error(405, "Method not allowed")
        if recorded.authorization != f"DeepL-Auth-Key {self.api_key}":
            return _error(403, "Authorization failure, check auth_key")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, message, retry_after = failure
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return _error(status, message, headers)
        if request.url.path == "/v2/usage":
            return httpx.Response(
                200, json={"character_count": self.character_count, "character_limit": self.character_limit}
            )
        return self._translate(request, body)

    def _translate(self, request: httpx.Request, body: Any) -> httpx.Response:
        if request.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return _error(415, "Unsupported content type")
        if not isinstance(body, dict):
            return _error(400, "Invalid request: expected a JSON object")
        for name in ("text", "target_lang"):
            if name not in body:
                return _error(400, f"Parameter '{name}' not specified.")
        for name, value in body.items():
            expected = PROPERTIES.get(name)
            if expected is None:
                return _error(400, f"Unknown parameter '{name}'.")
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                return _error(400, f"Value for '{name}' has the wrong type.")
        texts = body["text"]
        if not texts or not all(isinstance(t, str) for t in texts):
            return _error(400, "Parameter 'text' must be a non-empty array of strings.")
        if len(texts) > 50:
            return _error(413, "Too many texts in one request.")
        target, source = body["target_lang"].upper(), body.get("source_lang")
        if target not in TARGETS:
            return _error(400, "Value for 'target_lang' not supported.")
        if source is not None and source.upper() not in SOURCES:
            return _error(400, "Value for 'source_lang' not supported.")
        characters = sum(len(t) for t in texts)
        with self._lock:
            if self.character_count + characters > self.character_limit:
                return _error(456, "Quota exceeded")
            self.character_count += characters
        code = target.split("-")[0].lower()
        translations = [{"detected_source_language": (source or "EN").upper(), "text": f"[{code}] {t}"} for t in texts]
        if self.malformed == "not-json":
            return httpx.Response(200, text="<html>ok</html>", headers={"Content-Type": "text/html"})
        if self.malformed == "missing":
            return httpx.Response(200, json={"translation": translations})
        if self.malformed == "short":
            return httpx.Response(200, json={"translations": []})
        return httpx.Response(200, json={"translations": translations})

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve over HTTP on 127.0.0.1; yields the base address (the client's ``url``)."""
        self._closing.clear()
        try:
            with localhttp.serve(self, "FakeDeepL") as port:
                yield f"http://127.0.0.1:{port}"
        finally:
            self._closing.set()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"message": message}, headers=headers)
