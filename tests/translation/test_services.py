"""The DeepL and OpenAI-compatible clients against strict fakes of their published API descriptions."""

from __future__ import annotations

import httpx
import pytest

from index.translation import TranslationError
from index.translation.deepl import FREE_URL, PRO_URL, DeepL, default_url
from index.translation.openai_chat import OpenAIChat

from ..fake_deepl import FakeDeepL
from ..fake_openai import FakeOpenAI

KEY = "0f1e2d3c-secret-key:fx"
MODEL = "qwen2.5:7b"


def deepl_client(fake: FakeDeepL, key: str = KEY) -> DeepL:
    return DeepL(key, url="http://deepl.test", transport=httpx.MockTransport(fake))


def model_client(fake: FakeOpenAI, key: str | None = "sk-model-secret", model: str = MODEL) -> OpenAIChat:
    return OpenAIChat(model, url="http://models.test/v1", api_key=key, transport=httpx.MockTransport(fake))


def test_a_free_key_goes_to_the_free_host_and_a_pro_key_to_the_pro_host() -> None:
    assert default_url("abc:fx") == FREE_URL and default_url("abc") == PRO_URL
    assert DeepL("abc:fx").url == FREE_URL and DeepL("abc").url == PRO_URL


def test_deepl_translates_a_batch_with_the_key_in_the_header_only() -> None:
    fake = FakeDeepL(KEY)
    with deepl_client(fake) as client:
        assert client.translate_batch(["Bonjour.", "Au revoir."], "fr", "en") == ["[en] Bonjour.", "[en] Au revoir."]
        usage = client.usage()
    (request,) = fake.translate_requests
    assert request.authorization == f"DeepL-Auth-Key {KEY}"
    assert request.body["target_lang"] == "EN-GB" and request.body["source_lang"] == "FR"
    assert KEY not in str(request.body)
    assert usage.characters == len("Bonjour.") + len("Au revoir.") and usage.limit == fake.character_limit


@pytest.mark.parametrize(
    ("status", "message", "retry_after", "kind"),
    [
        (456, "Quota exceeded", None, "quota"),
        (429, "Too many requests", 12.0, "retryable"),
        (529, "Too many requests", None, "retryable"),
        (500, "Internal error", None, "retryable"),
        (401, "Unauthorized", None, "refused"),
        (400, "Value for 'target_lang' not supported.", None, "refused"),
    ],
)
def test_deepl_errors_say_what_happened(status: int, message: str, retry_after: float | None, kind: str) -> None:
    fake = FakeDeepL(KEY)
    fake.fail_next(status, message, retry_after=retry_after)
    with deepl_client(fake) as client, pytest.raises(TranslationError) as caught:
        client.translate_batch(["Bonjour."], "fr", "nl")
    error = caught.value
    assert f"answered {status}" in str(error) and message in str(error)
    assert error.quota is (kind == "quota")
    assert error.retryable is (kind == "retryable")
    assert error.retry_after == retry_after


def test_a_wrong_deepl_key_is_refused_and_never_repeated() -> None:
    fake = FakeDeepL(KEY)
    with deepl_client(fake, key="wrong-key-9999") as client, pytest.raises(TranslationError) as caught:
        client.translate_batch(["Bonjour."], "fr", "nl")
    assert "answered 403" in str(caught.value) and "refused" in str(caught.value)
    assert "wrong-key-9999" not in str(caught.value) and "wrong-key-9999" not in repr(client)


def test_deepl_past_its_limit_answers_456() -> None:
    fake = FakeDeepL(KEY, character_limit=10)
    with deepl_client(fake) as client, pytest.raises(TranslationError) as caught:
        client.translate_batch(["Une phrase assez longue."], "fr", "nl")
    assert caught.value.quota and not caught.value.retryable


@pytest.mark.parametrize("mode", ["not-json", "missing", "short"])
def test_a_malformed_deepl_answer_is_an_error(mode: str) -> None:
    fake = FakeDeepL(KEY)
    fake.malformed = mode
    with deepl_client(fake) as client, pytest.raises(TranslationError, match="malformed response"):
        client.translate_batch(["Bonjour."], "fr", "nl")


def test_a_server_echoing_the_key_does_not_put_it_in_the_error() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": f"bad header {request.headers['Authorization']}"})

    client = DeepL(KEY, url="http://deepl.test", transport=httpx.MockTransport(echo))
    with client, pytest.raises(TranslationError) as caught:
        client.translate_batch(["Bonjour."], "fr", "nl")
    assert KEY not in str(caught.value) and "<hidden>" in str(caught.value)


def test_the_deepl_fake_is_strict() -> None:
    fake = FakeDeepL(KEY)
    auth = {"Authorization": f"DeepL-Auth-Key {KEY}"}
    with httpx.Client(transport=httpx.MockTransport(fake), base_url="http://deepl.test", headers=auth) as http:
        assert http.post("/v2/translations", json={"text": ["a"], "target_lang": "DE"}).status_code == 404
        assert http.get("/v2/translate").status_code == 405
        missing = http.post("/v2/translate", json={"text": ["a"]})
        assert missing.status_code == 400 and "target_lang" in missing.json()["message"]
        unknown = http.post("/v2/translate", json={"text": ["a"], "target_lang": "DE", "formalty": "more"})
        assert unknown.status_code == 400 and "formalty" in unknown.json()["message"]
        wrong_type = http.post("/v2/translate", json={"text": "a", "target_lang": "DE"})
        assert wrong_type.status_code == 400
        assert http.post("/v2/translate", json={"text": ["a"], "target_lang": "XX"}).status_code == 400
    with httpx.Client(transport=httpx.MockTransport(fake), base_url="http://deepl.test") as anonymous:
        assert anonymous.get("/v2/usage").status_code == 403


def test_a_model_translates_marked_sentences_one_to_one() -> None:
    fake = FakeOpenAI((MODEL,), api_key="sk-model-secret")
    with model_client(fake) as client:
        marked = client.translate_marked(["Titre", "Une phrase.", "Une autre."], "fr", "de", ["\n", " "])
    assert marked.sentences == ("[de] Titre", "[de] Une phrase.", "[de] Une autre.")
    assert marked.text == "[de] Titre\n[de] Une phrase. [de] Une autre."
    (request,) = fake.completions
    assert request.authorization == "Bearer sk-model-secret"
    assert request.body["model"] == MODEL and request.body["temperature"] == 0
    system = request.body["messages"][0]["content"]
    assert "French" in system and "German" in system and "translation only" in system and "⟦1⟧" in system
    assert "every number" in system and "names" in system and "quotation" in system


def test_a_model_that_drops_the_markers_still_gives_a_translation_without_sentences() -> None:
    fake = FakeOpenAI((MODEL,))
    fake.drop_markers = True
    with model_client(fake, key=None) as client:
        marked = client.translate_marked(["Une phrase.", "Une autre."], "fr", "nl", [" "])
    assert marked.sentences is None and marked.text == "[nl] Une phrase. [nl] Une autre."
    assert fake.completions[0].authorization == ""  # a local server without a key gets no header


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "insufficient_quota", "quota"),
        (429, "rate_limit_exceeded", "retryable"),
        (401, "invalid_api_key", "refused"),
        (503, None, "retryable"),
    ],
)
def test_model_service_errors_say_what_happened(status: int, code: str | None, kind: str) -> None:
    fake = FakeOpenAI((MODEL,))
    fake.fail_next(status, "something went wrong", code or "", retry_after=3 if status == 429 else None)
    with model_client(fake) as client, pytest.raises(TranslationError) as caught:
        client.translate_batch(["Bonjour."], "fr", "nl")
    assert f"answered {status}" in str(caught.value)
    assert caught.value.quota is (kind == "quota")
    assert caught.value.retryable is (kind == "retryable")


def test_an_unknown_model_is_refused_by_name() -> None:
    with model_client(FakeOpenAI((MODEL,)), model="gpt-nope") as client, pytest.raises(TranslationError) as caught:
        client.translate_batch(["Bonjour."], "fr", "nl")
    assert "answered 404" in str(caught.value) and "gpt-nope" in str(caught.value)


def test_the_model_fake_is_strict() -> None:
    fake = FakeOpenAI((MODEL,))
    with httpx.Client(transport=httpx.MockTransport(fake), base_url="http://models.test") as http:
        assert http.post("/v1/completions", json={}).json()["error"]["code"] == "unknown_url"
        missing = http.post("/v1/chat/completions", json={"model": MODEL})
        assert missing.status_code == 400 and missing.json()["error"]["param"] == "messages"
        extra = http.post(
            "/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "x"}], "foo": 1}
        )
        assert extra.status_code == 400 and "foo" in extra.json()["error"]["message"]
        bad_role = http.post("/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "x", "content": ""}]})
        assert bad_role.status_code == 400
