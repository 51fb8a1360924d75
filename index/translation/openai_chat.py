"""A client for any OpenAI-compatible ``POST /chat/completions``: OpenAI, Ollama, vLLM, llama.cpp, LocalAI.

The prompt asks for the translation only, with names, numbers and quotations kept as
they are. For a quoted passage each sentence is sent behind a marker (``⟦1⟧``, ``⟦2⟧``…)
that the model keeps in its reply, so the answering sentence can be carried over to
the translation exactly; a reply whose markers went astray is still used, unmarked,
and aligned by meaning like any other translation.

The official ``openai`` package would serve (its ``AsyncOpenAI`` fits asyncio), but it
brings a large dependency tree for one endpoint, retries 429s and 5xx answers itself
(twice by default, with backoff: a reader's reply would wait past ``wait_ms``), and
raises its own exception classes whose text may quote the request. One request over
the httpx the project already uses keeps the errors ours and the key hidden.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from ..languages import language_name
from .http import ServiceClient
from .libretranslate import Closing, TranslationError

OPENAI_URL: Final = "https://api.openai.com/v1"
_MARKER = re.compile(r"\s*⟦(\d+)⟧\s*")

_PROMPT: Final = (
    "You translate news passages from {source} into {target}. Reply with the translation only: no "
    "introduction, no notes, no quotation marks around it. Keep the names of people, places and "
    "organisations, every number, date and amount, and every quotation exactly as the original has "
    "them (translate the words of a quotation, and keep it a quotation)."
)
_MARKED: Final = (
    " The text comes as sentences, each after a marker such as ⟦1⟧. Keep every marker, in the same "
    "order, before the translation of its sentence, and translate each sentence as one sentence."
)


@dataclass(frozen=True, slots=True)
class Marked:
    """A translation of marked sentences: one per sentence when the markers came back intact."""

    text: str
    """The whole translation, markers removed, sentences joined as the original's were."""
    sentences: tuple[str, ...] | None
    """The translation of each sentence, in order; None when the reply's markers did not match."""


class OpenAIChat(Closing):
    """Translation by a chat model behind an OpenAI-compatible API; thread-safe, one connection pool."""

    name = "OpenAI-compatible model"

    def __init__(
        self,
        model: str,
        *,
        url: str = OPENAI_URL,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model.strip():
            raise ValueError("an OpenAI-compatible service needs translation.model")
        self.model = model.strip()
        self.label = self.model
        self.max_batch = 1  # one passage per prompt
        self.max_chars = 8000
        key = (api_key or "").strip()
        self._http = ServiceClient(
            f"the model service ({self.model})",
            url,
            secrets=[key] if key else [],
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=timeout,
            transport=transport,
        )
        self.url = self._http.url

    def __repr__(self) -> str:
        return f"OpenAIChat(model={self.model!r}, url={self.url!r}, api_key='<hidden>')"

    def close(self) -> None:
        self._http.close()

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        """One request per text (a prompt holds one passage)."""
        return [self._complete(_PROMPT.format(**_names(source, target)), text) for text in texts]

    def translate_marked(self, sentences: Sequence[str], source: str, target: str, joins: Sequence[str]) -> Marked:
        """Translate ``sentences`` in one request, each behind a marker; ``joins[i]`` goes between sentence
        ``i`` and ``i + 1`` in the whole text (a space or a line break, as in the original)."""
        if not sentences:
            return Marked("", ())
        system = _PROMPT.format(**_names(source, target)) + _MARKED
        marked = " ".join(f"⟦{i}⟧ {sentence}" for i, sentence in enumerate(sentences, 1))
        reply = self._complete(system, marked)
        parts = _MARKER.split(reply)
        # split() gives [before, n1, text1, n2, text2, …]: markers 1..n in order, nothing before them.
        numbers, texts = parts[1::2], [p.strip() for p in parts[2::2]]
        if parts[0].strip() == "" and numbers == [str(i) for i in range(1, len(sentences) + 1)] and all(texts):
            whole = texts[0] + "".join(join + text for join, text in zip(joins, texts[1:], strict=False))
            return Marked(whole, tuple(texts))
        return Marked(re.sub(r"[ \t]{2,}", " ", _MARKER.sub(" ", reply)).strip(), None)

    def _complete(self, system: str, text: str) -> str:
        payload = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": text}],
            "temperature": 0,
        }
        response = self._http.request("POST", "/chat/completions", json=payload)
        if not response.is_success:
            raise self._failed(response)
        body = self._http.json_body(response)
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._http.malformed("no choices")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise self._http.malformed("no message content")
        if choices[0].get("finish_reason") == "length":
            raise self._http.malformed("the translation was cut off (finish_reason: length)")
        return content.strip()

    def _failed(self, response: httpx.Response) -> TranslationError:
        error = self._error(response)
        code = error.get("code") if isinstance(error.get("code"), str) else ""
        message = error.get("message") if isinstance(error.get("message"), str) else ""
        text = self._http.snippet(message or response.text or response.reason_phrase)
        status = response.status_code
        if code == "insufficient_quota":  # OpenAI's 429 for an account out of credit: waiting will not help
            return self._http.failed(response, f"the account's quota is spent ({text})", quota=True, retryable=False)
        if status in (401, 403):
            return self._http.failed(response, f"the API key was refused ({text})", retryable=False)
        return self._http.failed(response, text)

    @staticmethod
    def _error(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, dict) else {}


def _names(source: str, target: str) -> dict[str, str]:
    return {"source": language_name(source, "en"), "target": language_name(target, "en")}
