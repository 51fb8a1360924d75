"""A fake OpenAI-compatible server for tests, strict to the published description (shared/apis/openai/openapi.yaml).

It answers ``POST /v1/chat/completions`` only (404 with OpenAI's ``unknown_url`` error
otherwise). The body must be a JSON object with ``model`` (a model it serves, else 404
``model_not_found``) and ``messages`` (at least one, each with a known ``role`` and text
``content``); an argument the description does not list is refused as OpenAI refuses it
("Unrecognized request argument supplied"). With an ``api_key`` it wants ``Authorization:
Bearer <key>`` (401 ``invalid_api_key``). Errors are the description's ErrorResponse,
``{"error": {"message", "type", "param", "code"}}``; answers are CreateChatCompletionResponse.

It "translates" recognisably, into the language the system prompt names: each sentence
behind a marker ``⟦n⟧`` becomes ``⟦n⟧ [<code>] <sentence>``; unmarked text ``[<code>] <text>``.
``drop_markers`` answers without the markers (a model that ignored them).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from . import localhttp

NAMES = {"English": "en", "French": "fr", "Indonesian": "id", "Dutch": "nl", "German": "de", "Spanish": "es"}
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
# Arguments of CreateChatCompletionRequest (and CreateModelResponseProperties) that a client may send.
ARGUMENTS = {
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop", "max_tokens",
    "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "user", "seed", "response_format", "tools", "tool_choice", "parallel_tool_calls", "metadata", "store",
    "reasoning_effort", "service_tier", "modalities", "prediction", "audio", "verbosity", "web_search_options",
    "safety_identifier", "prompt_cache_key",
}  # fmt: skip
_MARKED = re.compile(r"⟦(\d+)⟧\s*(.*?)(?=\s*⟦\d+⟧|\Z)", re.S)


@dataclass(frozen=True)
class Recorded:
    path: str
    authorization: str
    body: Any

    @property
    def user_text(self) -> str:
        messages = self.body.get("messages", []) if isinstance(self.body, dict) else []
        return next((m.get("content", "") for m in messages if m.get("role") == "user"), "")


class FakeOpenAI:
    """An httpx handler that behaves like an OpenAI-compatible chat completions server."""

    def __init__(self, models: tuple[str, ...] = ("llama3.1:8b",), *, api_key: str | None = None) -> None:
        self.models = models
        self.api_key = api_key
        self.delay = 0.0
        self.drop_markers = False
        self.requests: list[Recorded] = []
        self._failures: list[tuple[int, str, str, float | None]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def fail_next(self, status: int, message: str, code: str, *, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures.append((status, message, code, retry_after))

    @property
    def completions(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            body: Any = json.loads(request.content) if request.content else None
        except ValueError:
            body = None
        recorded = Recorded(request.url.path, request.headers.get("Authorization", ""), body)
        with self._lock:
            self.requests.append(recorded)
        if self.delay:
            self._closing.wait(self.delay)
        if request.url.path != "/v1/chat/completions" or request.method != "POST":
            return _error(404, f"Unknown request URL: {request.method} {request.url.path}.", "unknown_url")
        if self.api_key is not None and recorded.authorization != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key", kind="authentication_error")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, message, code, retry_after = failure
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return _error(status, message, code, headers=headers)
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body of your request.", None)
        for name in body:
            if name not in ARGUMENTS:
                return _error(400, f"Unrecognized request argument supplied: {name}", None, param=name)
        for name in ("model", "messages"):
            if name not in body:
                return _error(400, f"Missing required parameter: '{name}'.", "missing_required_parameter", param=name)
        if not isinstance(body["model"], str) or body["model"] not in self.models:
            return _error(404, f"The model `{body['model']}` does not exist.", "model_not_found", param="model")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array.", "invalid_value", param="messages")
        for i, item in enumerate(messages):
            if not isinstance(item, dict) or item.get("role") not in ROLES or not isinstance(item.get("content"), str):
                return _error(400, f"Invalid message at messages[{i}].", "invalid_value", param=f"messages[{i}]")
        temperature = body.get("temperature", 1)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
            return _error(400, "temperature must be between 0 and 2.", "invalid_value", param="temperature")
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        found = re.search(r"into ([A-Z][a-z]+)", system)
        code = NAMES.get(found.group(1), "xx") if found else "xx"
        return self._completion(body["model"], self._translate(recorded.user_text, code))

    def _translate(self, text: str, code: str) -> str:
        marked = _MARKED.findall(text)
        if not marked:
            return f"[{code}] {text}"
        if self.drop_markers:
            return " ".join(f"[{code}] {sentence}" for _, sentence in marked)
        return " ".join(f"⟦{n}⟧ [{code}] {sentence}" for n, sentence in marked)

    def _completion(self, model: str, content: str) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            },
        )

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve over HTTP on 127.0.0.1; yields the base address (``…/v1``, the client's ``url``)."""
        self._closing.clear()
        try:
            with localhttp.serve(self, "FakeOpenAI") as port:
                yield f"http://127.0.0.1:{port}/v1"
        finally:
            self._closing.set()


def _error(
    status: int,
    message: str,
    code: str | None,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    error = {"message": message, "type": kind, "param": param, "code": code}
    return httpx.Response(status, json={"error": error}, headers=headers)
