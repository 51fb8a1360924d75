"""translation: in the configuration: which service, its key from the environment, the mode, the plan it makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot._config import Config, ConfigError, load_config
from bot._service import make_translator, service_key, translation_plan
from index.translation.deepl import FREE_URL, DeepL
from index.translation.libretranslate import LibreTranslate
from index.translation.openai_chat import OPENAI_URL, OpenAIChat


def configured(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env or {})


def test_deepl_takes_its_key_from_deepl_auth_key_and_picks_the_free_host(tmp_path: Path) -> None:
    config = configured(tmp_path, "translation: {service: deepl}", {"DEEPL_AUTH_KEY": "abc-123:fx"})
    settings = config.translation
    assert settings is not None and settings.mode == "quoted" and settings.wait_ms == 1500
    translator = make_translator(settings)
    assert isinstance(translator, DeepL) and translator.url == FREE_URL and translator.label == "DeepL"
    assert "abc-123" not in repr(settings) and "abc-123" not in repr(translator)
    assert service_key(settings) == "deepl"


def test_translation_api_key_wins_over_the_services_own_variable(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-own", "TRANSLATION_API_KEY": "sk-any"}
    config = configured(tmp_path, "translation: {service: openai, model: gpt-4o-mini}", env)
    assert config.translation is not None and config.translation.api_key == "sk-any"
    translator = make_translator(config.translation)
    assert isinstance(translator, OpenAIChat) and translator.url == OPENAI_URL and translator.label == "gpt-4o-mini"
    assert service_key(config.translation) == "openai:gpt-4o-mini"


def test_an_url_alone_still_means_libretranslate(tmp_path: Path) -> None:
    config = configured(tmp_path, "translation: {url: 'http://localhost:5000'}")
    assert config.translation is not None and config.translation.kind == "libretranslate"
    assert isinstance(make_translator(config.translation), LibreTranslate)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("translation: {service: deepl}", "translation (service deepl) needs a key: set DEEPL_AUTH_KEY"),
        ("translation: {service: openai}", "translation (service openai) needs a model"),
        ("translation: {service: libretranslate}", "translation (service libretranslate) needs a url"),
        ("translation: {service: google, url: 'http://x'}", "translation.service (google) is not supported"),
        ("translation: {url: 'http://x', mode: later}", "translation.mode (later) is not supported"),
        ("translation: {url: 'http://x', wait_ms: -1}", "translation.wait_ms"),
        ("translation: {url: 'http://x', monthly_characters: -5}", "translation.monthly_characters"),
    ],
)
def test_incomplete_or_wrong_settings_are_named(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        configured(tmp_path, text)
    assert expected in str(caught.value)


def test_quoted_mode_translates_nothing_at_intake_but_corpus_translate_still_fills(tmp_path: Path) -> None:
    quoted = configured(tmp_path, "translation: {url: 'http://localhost:5000'}")
    assert translation_plan(quoted) is None
    plan = translation_plan(quoted, intake=False)
    assert plan is not None and isinstance(plan.translator, LibreTranslate)
    ahead = configured(tmp_path, "translation: {url: 'http://localhost:5000', mode: ahead}")
    assert translation_plan(ahead) is not None


def test_the_example_configuration_documents_every_translation_key() -> None:
    from bot._config import Translation

    example = (Path(__file__).resolve().parents[1] / "config.example.yaml").read_text(encoding="utf-8")
    section = example[example.index("\ntranslation:") :].split("\n\n")[0]
    for key in Translation.model_fields:
        assert f" {key}:" in section or f"# {key}:" in section, key
    for variable in ("DEEPL_AUTH_KEY", "OPENAI_API_KEY", "TRANSLATION_API_KEY"):
        assert variable in example


def test_corpus_add_in_quoted_mode_sends_nothing_and_says_when_passages_are_translated(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .fake_deepl import FakeDeepL
    from .test_cli import FLOWERS, FLOWERS_TEXT, run

    fake = FakeDeepL("cli-key:fx")
    monkeypatch.setenv("DEEPL_AUTH_KEY", "cli-key:fx")  # bot.py runs with this process's environment
    with fake.serve() as url:
        config = tmp_path / "config.yaml"
        config.write_text(f"translation:\n  service: deepl\n  url: {url}\n", encoding="utf-8")
        args = ["--config", str(config), "corpus", "add", str(FLOWERS_TEXT), *FLOWERS, "--corpus", str(corpus_copy)]
        proc = run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert fake.requests == []  # nothing translated at intake
    assert "machine-translated when answers quote them" in proc.stdout
    assert "first time an answer quotes it" in proc.stdout and "again later" not in proc.stdout
    assert "Machine translation is off" not in proc.stdout and "cli-key" not in proc.stdout + proc.stderr

