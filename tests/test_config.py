"""config.yaml and the environment: a person who mistypes a key or a value is told where, what and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot._config import ConfigError, load_config

SECRET = "SeKrEt-never-shown"


def problem(tmp_path: Path, content: str, env: dict[str, str] | None = None) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env or {})
    return str(caught.value).replace(f"{path}:", "config.yaml:")


def test_a_mistyped_key_is_named_with_its_file_its_path_and_the_likely_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("uploads: {max_byts: 5}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == f"{path}: unknown key uploads.max_byts (did you mean max_bytes?)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("max_resluts: 4", "unknown key max_resluts (did you mean max_results?)"),
        ("telegram: {tokn: '1:abc'}", "unknown key telegram.tokn (did you mean token?)"),
        ("telegram: {flood_limit: {}}", "unknown key telegram.flood_limit (did you mean flood_limits?)"),
        (
            "telegram: {webhook: {url: 'https://x', secret_token: ok, prot: 80}}",
            "telegram.webhook.prot (did you mean port?)",
        ),
        ("rate_limit: {brust: 3}", "unknown key rate_limit.brust (did you mean burst?)"),
        ("translation: {speed: 3}", "unknown key translation.speed (known: url, api_key, requests_per_second,"),
    ],
)
def test_unknown_keys_are_caught_in_every_section(tmp_path: Path, content: str, expected: str) -> None:
    assert expected in problem(tmp_path, content)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("uploads: {max_bytes: 5 MB}", "config.yaml: uploads.max_bytes must be a whole number"),
        ("uploads: {max_bytes: 0}", "config.yaml: uploads.max_bytes must be positive"),
        ("rate_limit: {per_seconds: soon}", "config.yaml: rate_limit.per_seconds must be a number"),
        ("rate_limit: 5", "config.yaml: rate_limit must be a mapping of keys"),
        ("telegram: {webhook: {url: 'https://x', secret_token: ok, port: '80'}}",
         "config.yaml: telegram.webhook.port must be a whole number"),
        ("max_results: 11", "config.yaml: max_results must be a whole number from 1 to 10"),
        ("admins: [4242, '@alice']", "config.yaml: admins must be a list of numeric Telegram user ids (not usernames)"),
        ("languages: [en, it]", "config.yaml: languages.1 (it) is not supported: choose from 'en', 'fr',"),
    ],
)  # fmt: skip
def test_a_wrong_value_names_the_key_and_what_it_should_be(tmp_path: Path, content: str, expected: str) -> None:
    assert problem(tmp_path, content).startswith(expected)


def test_every_mistake_is_reported_at_once_one_per_line(tmp_path: Path) -> None:
    lines = problem(tmp_path, "uploads: {max_byts: 5}\nmax_results: 0\nrate_limit: {burst: x}").splitlines()
    assert lines == [
        "config.yaml: max_results must be a whole number from 1 to 10",
        "config.yaml: rate_limit.burst must be a whole number",
        "config.yaml: unknown key uploads.max_byts (did you mean max_bytes?)",
    ]


@pytest.mark.parametrize(
    ("content", "env"),
    [
        (f"telegram: {{token: [{SECRET}]}}", {}),  # a token of the wrong type
        ("telegram: {token: 123456789012}", {}),
        (f"telegram: {{webhook: {{url: 'https://x', secret_token: '{SECRET} !'}}}}", {}),  # a wrong shape
        ("telegram: {webhook: {url: 'https://x'}}", {"TELEGRAM_WEBHOOK_SECRET": f"{SECRET} with spaces"}),
        (f"translation: {{url: 'http://x', api_key: [{SECRET}]}}", {}),
    ],
)
def test_secrets_never_appear_in_errors(tmp_path: Path, content: str, env: dict[str, str]) -> None:
    message = problem(tmp_path, content, env)
    assert SECRET not in message and "123456789012" not in message
    assert "telegram.token" in message or "secret_token" in message or "translation.api_key" in message


def test_environment_secrets_win_and_are_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("telegram: {token: '1:file', webhook: {url: 'https://bot.example.org/hook'}}", encoding="utf-8")
    config = load_config(path, env={"TELEGRAM_BOT_TOKEN": "2:env", "TELEGRAM_WEBHOOK_SECRET": SECRET})
    assert config.token == "2:env"
    assert config.webhook is not None and config.webhook.secret_token == SECRET
    assert SECRET not in repr(config) and "2:env" not in repr(config)


def test_without_a_file_the_environment_still_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.yaml
    env = {"TELEGRAM_BOT_TOKEN": "3:env", "TRANSLATION_API_KEY": "k", "NEWSBOT_CACHE_DIR": str(tmp_path / "c")}
    config = load_config(env=env)
    assert config.source is None and config.token == "3:env" and config.cache_dir == tmp_path / "c"
    assert config.translation is None  # a key without a url does not turn translation on


def test_sections_with_every_key_commented_out_load_with_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("telegram:\n  # token: x\nrate_limit:\nuploads:\npersistence: null\n", encoding="utf-8")
    config = load_config(path, env={})
    assert (config.rate_limit.burst, config.max_upload_bytes, config.persistence) == (5, 1_000_000, None)
    assert config.flood_limits.messages_per_second == 30


def test_a_yaml_syntax_error_says_where_without_quoting_the_line(tmp_path: Path) -> None:
    """PyYAML's own message quotes the offending line, and that line may be the token's."""
    message = problem(tmp_path, f'telegram:\n  token: "123:{SECRET}\n')
    assert message == (
        "config.yaml: cannot be read as YAML: while scanning a quoted scalar (line 2, column 10), "
        "found unexpected end of stream (line 3, column 1)"
    )


def test_the_search_backend_defaults_to_the_embedded_index(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("log_level: INFO\n", encoding="utf-8")
    config = load_config(path, env={})
    assert config.search_backend == "embedded"
    assert (config.milvus.uri, config.milvus.collection) == ("", "newsbot")


def test_the_milvus_token_comes_from_the_environment_and_is_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "search: {backend: milvus, milvus: {uri: 'http://milvus:19530', token: file, collection: news_2}}",
        encoding="utf-8",
    )
    config = load_config(path, env={"MILVUS_TOKEN": SECRET})
    assert config.search_backend == "milvus"
    assert (config.milvus.uri, config.milvus.token, config.milvus.collection) == (
        "http://milvus:19530",
        SECRET,
        "news_2",
    )
    assert SECRET not in repr(config)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("search: {backend: solr}", "config.yaml: search.backend (solr) is not supported: choose from 'embedded' or"),
        ("search: {milvus: {collection: 'my-news'}}", "config.yaml: search.milvus.collection must start with a letter"),
        ("search: {milvus: {url: x}}", "config.yaml: unknown key search.milvus.url (did you mean uri?)"),
    ],
)
def test_a_wrong_search_setting_is_named(tmp_path: Path, content: str, expected: str) -> None:
    assert problem(tmp_path, content).startswith(expected)
