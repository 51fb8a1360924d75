"""Configuration: one YAML file (see config.example.yaml), secrets from the environment."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from telegram.constants import FloodLimit, WebhookLimit

from corpus import BUNDLED
from index import SUPPORTED

DEFAULT_CONFIG = Path("config.yaml")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"


class ConfigError(Exception):
    """The configuration file is missing a value or has a wrong one."""


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    listen: str = "0.0.0.0"
    port: int = 8443
    secret_token: str = ""
    path: str = "telegram"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket per user: ``burst`` questions at once, refilled at ``burst`` per ``per_seconds``."""

    burst: int = 5
    per_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """Telegram's own sending limits, enforced before each request (PTB's AIORateLimiter)."""

    messages_per_second: float = float(FloodLimit.MESSAGES_PER_SECOND)
    group_messages_per_minute: float = float(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)


@dataclass(frozen=True, slots=True)
class Translation:
    """A LibreTranslate-compatible service that machine-translates passages with no translation."""

    url: str
    api_key: str = field(default="", repr=False)
    requests_per_second: float = 2.0
    concurrency: int = 4
    batch_size: int = 16
    max_chars: int = 5000
    timeout_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class Config:
    token: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = DEFAULT_BASE_FILE_URL
    webhook: Webhook | None = None
    admins: frozenset[int] = frozenset()
    corpus: Path = BUNDLED
    cache_dir: Path = field(default_factory=lambda: Path("~/.cache/newsbot").expanduser())
    languages: tuple[str, ...] = SUPPORTED
    max_results: int = 3
    rate_limit: RateLimit = RateLimit()
    flood_limits: FloodLimits = FloodLimits()
    persistence: Path | None = Path("state/bot.pickle")
    log_level: str = "INFO"
    translation: Translation | None = None
    """None: machine translation is off."""
    max_upload_bytes: int = 1_000_000
    source: Path | None = None
    """The file this configuration was read from, if any."""


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the configuration from ``path``, ``$BOT_CONFIG`` or ./config.yaml (all optional)."""
    env = dict(os.environ) if env is None else env
    explicit = path or env.get("BOT_CONFIG")
    file = Path(explicit) if explicit else DEFAULT_CONFIG
    data: dict[str, Any] = {}
    if file.exists():
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{file}: cannot be read as YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{file}: the configuration must be a mapping of keys")
        data = loaded or {}
    elif explicit:
        raise ConfigError(f"{file}: no such configuration file")
    return _parse(data, env, file if file.exists() else None)


def _parse(data: dict[str, Any], env: dict[str, str], source: Path | None) -> Config:
    where = str(source) if source else "configuration"
    base = source.parent if source else Path.cwd()
    unknown = set(data) - {
        "telegram",
        "admins",
        "corpus",
        "cache_dir",
        "languages",
        "max_results",
        "rate_limit",
        "persistence",
        "log_level",
        "translation",
        "uploads",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
    telegram = _mapping(data.get("telegram"), f"{where}: telegram")
    token = env.get("TELEGRAM_BOT_TOKEN") or str(telegram.get("token") or "")
    webhook = None
    hook = telegram.get("webhook")
    if hook:
        hook = _mapping(hook, f"{where}: telegram.webhook")
        secret = env.get("TELEGRAM_WEBHOOK_SECRET") or str(hook.get("secret_token") or "")
        if not hook.get("url"):
            raise ConfigError(f"{where}: telegram.webhook.url is required in webhook mode")
        if not secret:
            raise ConfigError(
                f"{where}: telegram.webhook.secret_token (or TELEGRAM_WEBHOOK_SECRET) is required in webhook mode"
            )
        if not all(ch.isalnum() or ch in "_-" for ch in secret) or len(secret) > WebhookLimit.MAX_SECRET_TOKEN_LENGTH:
            raise ConfigError(f"{where}: telegram.webhook.secret_token may only hold A-Z, a-z, 0-9, _ and -")
        webhook = Webhook(
            url=str(hook["url"]),
            listen=str(hook.get("listen", "0.0.0.0")),
            port=_int(hook.get("port", 8443), f"{where}: telegram.webhook.port"),
            secret_token=secret,
            path=str(hook.get("path", "telegram")),
        )
    admins = data.get("admins") or []
    if not isinstance(admins, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in admins):
        raise ConfigError(f"{where}: admins must be a list of numeric Telegram user ids (not usernames)")
    languages = tuple(data.get("languages") or SUPPORTED)
    bad = [lang for lang in languages if lang not in SUPPORTED]
    if bad:
        raise ConfigError(f"{where}: languages {bad} are not supported (choose from {', '.join(SUPPORTED)})")
    max_results = _int(data.get("max_results", 3), f"{where}: max_results")
    if not 1 <= max_results <= 10:
        raise ConfigError(f"{where}: max_results must be between 1 and 10")
    rate = _mapping(data.get("rate_limit"), f"{where}: rate_limit")
    rate_limit = RateLimit(
        burst=_int(rate.get("burst", 5), f"{where}: rate_limit.burst"),
        per_seconds=_number(rate.get("per_seconds", 30.0), f"{where}: rate_limit.per_seconds"),
    )
    if rate_limit.burst < 1 or rate_limit.per_seconds <= 0:
        raise ConfigError(f"{where}: rate_limit.burst must be >= 1 and rate_limit.per_seconds > 0")
    flood = _mapping(telegram.get("flood_limits"), f"{where}: telegram.flood_limits")
    default = FloodLimits()
    flood_limits = FloodLimits(
        messages_per_second=_number(
            flood.get("messages_per_second", default.messages_per_second), f"{where}: telegram.flood_limits"
        ),
        group_messages_per_minute=_number(
            flood.get("group_messages_per_minute", default.group_messages_per_minute), f"{where}: telegram.flood_limits"
        ),
    )
    if flood_limits.messages_per_second <= 0 or flood_limits.group_messages_per_minute <= 0:
        raise ConfigError(f"{where}: telegram.flood_limits must be positive")
    persistence = data.get("persistence", "state/bot.pickle")
    uploads = _mapping(data.get("uploads"), f"{where}: uploads")
    max_upload_bytes = _int(uploads.get("max_bytes", 1_000_000), f"{where}: uploads.max_bytes")
    if max_upload_bytes < 1:
        raise ConfigError(f"{where}: uploads.max_bytes must be positive")
    return Config(
        token=token,
        base_url=str(telegram.get("base_url") or DEFAULT_BASE_URL),
        base_file_url=str(telegram.get("base_file_url") or DEFAULT_BASE_FILE_URL),
        webhook=webhook,
        admins=frozenset(admins),
        corpus=_path(data.get("corpus"), base) or BUNDLED,
        cache_dir=_path(data.get("cache_dir"), base)
        or Path(env.get("NEWSBOT_CACHE_DIR") or "~/.cache/newsbot").expanduser(),
        languages=languages,
        max_results=max_results,
        rate_limit=rate_limit,
        flood_limits=flood_limits,
        persistence=_path(persistence, base) if persistence else None,
        log_level=str(data.get("log_level", "INFO")).upper(),
        source=source,
        translation=_translation(_mapping(data.get("translation"), f"{where}: translation"), env, where),
        max_upload_bytes=max_upload_bytes,
    )


def _translation(section: dict[str, Any], env: dict[str, str], where: str) -> Translation | None:
    unknown = set(section) - {f.name for f in dataclasses.fields(Translation)}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) under translation: {', '.join(sorted(unknown))}")
    url = str(section.get("url") or "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: translation.url must be an http(s) address")
    default = Translation(url)
    translation = Translation(
        url=url,
        api_key=env.get("TRANSLATION_API_KEY") or str(section.get("api_key") or ""),
        requests_per_second=_number(
            section.get("requests_per_second", default.requests_per_second), f"{where}: translation.requests_per_second"
        ),
        concurrency=_int(section.get("concurrency", default.concurrency), f"{where}: translation.concurrency"),
        batch_size=_int(section.get("batch_size", default.batch_size), f"{where}: translation.batch_size"),
        max_chars=_int(section.get("max_chars", default.max_chars), f"{where}: translation.max_chars"),
        timeout_seconds=_number(
            section.get("timeout_seconds", default.timeout_seconds), f"{where}: translation.timeout_seconds"
        ),
    )
    if (
        min(translation.requests_per_second, translation.timeout_seconds) <= 0
        or min(translation.concurrency, translation.batch_size, translation.max_chars) < 1
    ):
        raise ConfigError(f"{where}: translation rates, sizes and timeouts must be positive")
    return translation


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what} must be a whole number")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number")
    return float(value)


def _path(value: Any, base: Path) -> Path | None:
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path
