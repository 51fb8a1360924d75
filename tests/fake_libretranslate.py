"""A fake LibreTranslate server for tests.

``FakeLibreTranslate`` answers ``POST /translate`` the way LibreTranslate does (JSON or
form bodies, ``q`` a string or a list, its 400/403/429/500 ``{"error": ...}`` answers,
its batch and character limits) and "translates" recognisably: ``[<target>] <text>``,
line breaks kept. Every request is recorded. Drive it in-process::

    fake = FakeLibreTranslate()
    client = LibreTranslate("http://lt.test", transport=httpx.MockTransport(fake))

or over real HTTP on 127.0.0.1::

    with fake.serve() as url:
        client = LibreTranslate(url)

Failures on demand: ``fail_next`` (the next requests answer an error status),
``fail_matching`` (requests whose body matches a predicate do), ``delay`` (answer late,
to make the client time out), ``malformed`` (answer something that is not a valid
translation response), ``refused_pairs`` (language pairs the server has no model for).
``closed_port_url()`` gives an address where nothing listens.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx

from . import localhttp

LANGUAGES = {"en": "English", "fr": "French", "id": "Indonesian", "nl": "Dutch", "de": "German", "es": "Spanish"}
MALFORMED_MODES = ("not-json", "not-object", "missing", "string", "short", "non-strings")


def fake_translation(text: str, source: str, target: str) -> str:
    """The fake's translation: recognisable, and with the original's line breaks."""
    return f"[{target}] {text}"


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    body: dict[str, Any]
    """The parsed JSON object or form fields ({} when unparseable)."""
    json: bool

    @property
    def texts(self) -> list[str]:
        q = self.body.get("q")
        return [q] if isinstance(q, str) else list(q or [])


class FakeLibreTranslate:
    """An httpx ``MockTransport`` handler that behaves like a LibreTranslate server."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        batch_limit: int = -1,
        char_limit: int = -1,
        translate: Callable[[str, str, str], str] = fake_translation,
    ) -> None:
        self.api_key = api_key
        self.batch_limit = batch_limit
        self.char_limit = char_limit
        self.translate = translate
        self.delay = 0.0
        """Seconds to wait before answering (interrupted when ``serve()`` ends)."""
        self.malformed: str | None = None
        """One of MALFORMED_MODES: every successful answer is broken that way."""
        self.refused_pairs: set[tuple[str, str]] = set()
        self.requests: list[Recorded] = []
        self._failures: list[tuple[int, str]] = []
        self._matching: list[tuple[Callable[[Recorded], bool], int, str]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()

    # -- test controls

    def fail_next(self, status: int, error: str = "Cannot translate text: boom", times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and ``{"error": error}``."""
        with self._lock:
            self._failures.extend([(status, error)] * times)

    def fail_matching(self, predicate: Callable[[Recorded], bool], status: int, error: str) -> None:
        """Answer every request for which ``predicate`` is true with ``status`` and ``{"error": error}``."""
        with self._lock:
            self._matching.append((predicate, status, error))

    @property
    def translate_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/translate"]

    # -- the protocol

    def __call__(self, request: httpx.Request) -> httpx.Response:
        recorded = Recorded(request.method, request.url.path, *_parse_body(request))
        with self._lock:
            self.requests.append(recorded)
        if self.delay:
            self._closing.wait(self.delay)
        if request.url.path != "/translate":
            return _error(404, "Not Found")
        if request.method != "POST":
            return _error(405, "Method Not Allowed")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            if failure is None:
                failure = next(((s, e) for match, s, e in self._matching if match(recorded)), None)
        if failure is not None:
            return _error(*failure)
        return self._translate(request, recorded)

    def _translate(self, request: httpx.Request, recorded: Recorded) -> httpx.Response:
        body = recorded.body
        if recorded.json and not isinstance(_json_or_none(request), dict):
            return _error(400, "Invalid JSON format")
        key = body.get("api_key")
        if self.api_key is not None:
            if key and key != self.api_key:
                return _error(403, "Invalid API key")
            if not key:
                return _error(400, "Please contact the server operator to get an API key")
        q, source, target = body.get("q"), body.get("source"), body.get("target")
        for name, value in (("q", q), ("source", source), ("target", target)):
            if not value:
                return _error(400, f"Invalid request: missing {name} parameter")
        if not isinstance(source, str) or not isinstance(target, str):
            return _error(400, "Invalid request: source and target must be text")
        batch = isinstance(q, list)
        texts = q if isinstance(q, list) else [q]
        if not all(isinstance(t, str) for t in texts):
            return _error(400, "Invalid request: q must be text or a list of texts")
        if not recorded.json:
            texts = ["\n".join(t.splitlines()) for t in texts]  # as the real server normalises form input
        if batch and self.batch_limit != -1 and len(texts) > self.batch_limit:
            return _error(400, f"Invalid request: request ({len(texts)}) exceeds text limit ({self.batch_limit})")
        chars = sum(len(t) for t in texts)
        if self.char_limit != -1 and chars > self.char_limit:
            return _error(400, f"Invalid request: request ({chars}) exceeds text limit ({self.char_limit})")
        for code in (source, target):
            if code not in LANGUAGES:
                return _error(400, f"{code} is not supported")
        text_format = body.get("format") or "text"
        if text_format not in ("text", "html"):
            return _error(400, f"{text_format} format is not supported")
        if (source, target) in self.refused_pairs or source == target:
            return _error(
                400,
                f"{LANGUAGES[target]} ({target}) is not available as a target language from "
                f"{LANGUAGES[source]} ({source})",
            )
        translated = [self.translate(t, source, target) for t in texts]
        return self._answer(translated if batch else translated[0])

    def _answer(self, translated: str | list[str]) -> httpx.Response:
        mode = self.malformed
        if mode is None:
            return httpx.Response(200, json={"translatedText": translated})
        if mode == "not-json":
            return httpx.Response(200, text="<html>Translated!</html>", headers={"Content-Type": "text/html"})
        if mode == "not-object":
            return httpx.Response(200, json=[translated])
        if mode == "missing":
            return httpx.Response(200, json={"translation": translated})
        if mode == "string":
            joined = "\n".join(translated) if isinstance(translated, list) else translated
            return httpx.Response(200, json={"translatedText": joined})
        if mode == "short":
            return httpx.Response(200, json={"translatedText": list(translated)[:-1]})
        if mode == "non-strings":
            return httpx.Response(200, json={"translatedText": [None] * len(translated)})
        raise ValueError(f"unknown malformed mode {mode!r}; use one of {MALFORMED_MODES}")

    # -- real HTTP

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the fake over HTTP on 127.0.0.1; yields its base URL."""
        self._closing.clear()
        try:
            with localhttp.serve(self, "FakeLibreTranslate") as port:
                yield f"http://127.0.0.1:{port}"
        finally:
            self._closing.set()  # let delayed answers go, so no thread outlives the test for long


def closed_port_url() -> str:
    """An http address on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _parse_body(request: httpx.Request) -> tuple[dict[str, Any], bool]:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        parsed = _json_or_none(request)
        return (parsed if isinstance(parsed, dict) else {}), True
    try:
        return dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True)), False
    except UnicodeDecodeError:
        return {}, False


def _json_or_none(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content)
    except ValueError:
        return None


def _error(status: int, message: str) -> httpx.Response:
    if status == 429:
        message = f"Slowdown: {message}"
    return httpx.Response(status, json={"error": message})
