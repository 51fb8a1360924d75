"""Configuration: one YAML file (see config.example.yaml), secrets from the environment."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from telegram.constants import FloodLimit, WebhookLimit

from corpus import BUNDLED
from index import SUPPORTED
from index.follow import MAX_FOLLOWS
from index.follow.matching import DEFAULT_THRESHOLD
from index.intake.feeds import DEFAULT_INTERVAL_MINUTES, FeedSpec
from index.languages import is_iso_639_1

DEFAULT_CONFIG = Path("config.yaml")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(gt=0)]


class ConfigError(Exception):
    """The configuration file is missing a value or has a wrong one."""


class _Section(BaseModel):
    """A mapping of the file: no unknown keys, no conversions (``port: "80"`` is an error).

    A section defaults to ``{}``, which is validated (``validate_default``): a section the file leaves out
    still gets its defaults and its ``secrets`` from the environment (the validation context).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)
    secrets: ClassVar[dict[str, str]] = {}
    """key: the environment variable that overrides it."""

    @model_validator(mode="before")
    @classmethod
    def _with_secrets(cls, data: Any, info: ValidationInfo) -> Any:
        env = info.context or {}
        data = {} if data is None else data  # a section whose keys are all commented out
        if not isinstance(data, dict):
            return data
        return {**data, **{key: env[name] for key, name in cls.secrets.items() if env.get(name)}}


class Webhook(_Section):
    secrets: ClassVar = {"secret_token": "TELEGRAM_WEBHOOK_SECRET"}
    url: str
    listen: str = "0.0.0.0"
    port: int = 8443
    secret_token: str = Field("", repr=False)
    path: str = "telegram"

    @field_validator("secret_token")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not value:
            raise ValueError("(or TELEGRAM_WEBHOOK_SECRET) is required in webhook mode")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value) or len(value) > WebhookLimit.MAX_SECRET_TOKEN_LENGTH:
            raise ValueError("may only hold A-Z, a-z, 0-9, _ and -")
        return value


class RateLimit(_Section):
    """A token bucket per user: ``burst`` questions at once, refilled at ``burst`` per ``per_seconds``."""

    burst: Count = 5
    per_seconds: Positive = 30.0


class FloodLimits(_Section):
    """Telegram's own sending limits, enforced before each request (PTB's AIORateLimiter)."""

    messages_per_second: Positive = float(FloodLimit.MESSAGES_PER_SECOND)
    group_messages_per_minute: Positive = float(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP)


class Translation(_Section):
    """A machine translation service for passages with no translation into the reader's language.

    ``service``: libretranslate (the default when only ``url`` is set), deepl or openai (any
    OpenAI-compatible ``/chat/completions``). ``mode``: ``quoted`` translates a passage into a
    reader's language when an answer quotes it; ``ahead`` translates every passage into every
    answer language as articles come in. The key comes from the environment.
    """

    secrets: ClassVar = {"api_key": "TRANSLATION_API_KEY"}
    service_keys: ClassVar = {"deepl": "DEEPL_AUTH_KEY", "openai": "OPENAI_API_KEY"}
    """The service's own environment variable, read when TRANSLATION_API_KEY is not set."""
    url: str = ""
    api_key: str = Field("", repr=False)
    requests_per_second: Positive = 2.0
    concurrency: Count = 4
    batch_size: Count = 16
    max_chars: Count = 5000
    timeout_seconds: Positive = 30.0
    service: Literal["libretranslate", "deepl", "openai"] | None = None
    model: str = ""
    mode: Literal["quoted", "ahead"] = "quoted"
    wait_ms: Annotated[int, Field(ge=0, le=60_000)] = 1500
    monthly_characters: Annotated[int, Field(ge=0)] = 0
    """0: no budget."""

    @model_validator(mode="before")
    @classmethod
    def _service_key(cls, data: Any, info: ValidationInfo) -> Any:
        """DEEPL_AUTH_KEY or OPENAI_API_KEY for their service, unless TRANSLATION_API_KEY (read after) is set."""
        env = info.context or {}
        if isinstance(data, dict) and not env.get("TRANSLATION_API_KEY"):
            name = cls.service_keys.get(str(data.get("service")))
            if name and env.get(name):
                return {**data, "api_key": env[name]}
        return data

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value.strip() and not value.strip().startswith(("http://", "https://")):
            raise ValueError("must be an http(s) address")
        return value.strip()

    @model_validator(mode="after")
    def _complete(self) -> Translation:
        if self.service == "libretranslate" and not self.url:
            raise ValueError("(service libretranslate) needs a url")
        if self.service == "deepl" and not self.api_key:
            raise ValueError("(service deepl) needs a key: set DEEPL_AUTH_KEY (or TRANSLATION_API_KEY)")
        if self.service == "openai" and not self.model.strip():
            raise ValueError("(service openai) needs a model, e.g. gpt-4o-mini or llama3.1")
        return self

    @property
    def kind(self) -> str:
        """The service: libretranslate when only a url is set."""
        return self.service or "libretranslate"

    @property
    def enabled(self) -> bool:
        return bool(self.service or self.url)


class _Telegram(_Section):
    secrets: ClassVar = {"token": "TELEGRAM_BOT_TOKEN"}
    token: str = Field("", repr=False)
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = DEFAULT_BASE_FILE_URL
    flood_limits: FloodLimits = {}  # type: ignore[assignment]
    webhook: Webhook | None = None


class _Uploads(_Section):
    max_bytes: Count = 1_000_000


class _Intake(_Section):
    """Fetching pages for links and feeds."""

    allow_private_addresses: bool = False
    timeout_seconds: Positive = 20.0


class _Milvus(_Section):
    """Where the Milvus backend keeps the index: a Milvus Lite file, or a server or cluster."""

    secrets: ClassVar = {"token": "MILVUS_TOKEN"}
    uri: str = ""
    token: str = Field("", repr=False)
    collection: str = "newsbot"

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", value):
            raise ValueError("must start with a letter or _ and hold only letters, digits and _")
        return value


class _Search(_Section):
    backend: Literal["embedded", "milvus"] = "embedded"
    milvus: _Milvus = {}  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class MilvusSettings:
    uri: str = ""
    """Empty: a Milvus Lite file in the cache directory."""
    token: str = field(default="", repr=False)
    collection: str = "newsbot"


def _http_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("http://", "https://")) or any(ch.isspace() for ch in value):
        raise ValueError("must be an http(s) address")
    return value


class _Feed(_Section):
    """One feed: its address, and optionally its articles' language and publisher and how often to poll it."""

    url: str
    language: str | None = None
    source: str | None = None
    interval_minutes: Positive = DEFAULT_INTERVAL_MINUTES

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not is_iso_639_1(value.strip().lower()):
            raise ValueError("must be an ISO 639-1 code (two letters, e.g. en, fr, nl)")
        return value.strip().lower() if value is not None else None

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return " ".join(value.split()) or None if value is not None else None


def _feed(value: Any) -> Any:
    """A feed is a URL string or a mapping with at least ``url``."""
    if isinstance(value, str):
        return {"url": value}
    return value


class FollowSettings(_Section):
    """Following questions: how many per chat, how close a new sentence must come, how fast alerts go out."""

    max_follows: Count = MAX_FOLLOWS
    match_similarity: Annotated[float, Field(ge=-1, le=1)] = DEFAULT_THRESHOLD
    alerts_per_second: Positive = float(FloodLimit.MESSAGES_PER_SECOND) * 2 / 3


class _File(_Section):
    telegram: _Telegram = {}  # type: ignore[assignment]
    admins: list[int] | None = Field(None, description="a list of numeric Telegram user ids (not usernames)")
    corpus: str | None = None
    cache_dir: str | None = None
    languages: list[Literal[SUPPORTED]] | None = None  # type: ignore[valid-type]
    max_results: int = Field(3, ge=1, le=10, description="a whole number from 1 to 10")
    rate_limit: RateLimit = {}  # type: ignore[assignment]
    persistence: str | None = "state/bot.pickle"
    log_level: str = "INFO"
    translation: Translation = {}  # type: ignore[assignment]
    uploads: _Uploads = {}  # type: ignore[assignment]
    intake: _Intake = {}  # type: ignore[assignment]
    feeds: list[Annotated[_Feed, BeforeValidator(_feed)]] | None = None
    """Each an address, or a mapping {url, language, source, interval_minutes}."""
    search: _Search = {}  # type: ignore[assignment]
    follow: FollowSettings = {}  # type: ignore[assignment]


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
    rate_limit: RateLimit = field(default_factory=RateLimit)
    flood_limits: FloodLimits = field(default_factory=FloodLimits)
    persistence: Path | None = Path("state/bot.pickle")
    log_level: str = "INFO"
    translation: Translation | None = None
    """None: machine translation is off."""
    max_upload_bytes: int = 1_000_000
    allow_private_addresses: bool = False
    """Fetch links and feeds from loopback, private, link-local and multicast addresses too."""
    fetch_timeout: float = 20.0
    feeds: tuple[FeedSpec, ...] = ()
    search_backend: str = "embedded"
    """Where the index lives: "embedded" (in this process) or "milvus"."""
    milvus: MilvusSettings = field(default_factory=MilvusSettings)
    follow: FollowSettings = field(default_factory=FollowSettings)
    source: Path | None = None
    """The file this configuration was read from, if any."""


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the configuration from ``path``, ``$BOT_CONFIG`` or ./config.yaml (all optional)."""
    env = dict(os.environ) if env is None else env
    explicit = path or env.get("BOT_CONFIG")
    file = Path(explicit) if explicit else DEFAULT_CONFIG
    data: Any = None
    if file.exists():
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:  # its own text quotes the line, which may hold a secret
            marks = ((exc.context, exc.context_mark), (exc.problem, exc.problem_mark))
            where = [f"{what} (line {at.line + 1}, column {at.column + 1})" for what, at in marks if what and at]
            raise ConfigError(f"{file}: cannot be read as YAML: {', '.join(where)}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{file}: cannot be read as YAML: {exc}") from None
    elif explicit:
        raise ConfigError(f"{file}: no such configuration file")
    where, source = (str(file), file) if file.exists() else ("configuration", None)
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{where}: the configuration must be a mapping of keys")
    try:
        parsed = _File.model_validate(data or {}, context=env)
    except ValidationError as exc:  # never chained: its text quotes the values, secrets included
        raise ConfigError("\n".join(f"{where}: {_describe(error)}" for error in exc.errors())) from None
    base = source.parent if source else Path.cwd()
    telegram = parsed.telegram
    return Config(
        token=telegram.token,
        base_url=telegram.base_url or DEFAULT_BASE_URL,
        base_file_url=telegram.base_file_url or DEFAULT_BASE_FILE_URL,
        webhook=telegram.webhook,
        admins=frozenset(parsed.admins or ()),
        corpus=_path(parsed.corpus, base) or BUNDLED,
        cache_dir=_path(parsed.cache_dir, base)
        or Path(env.get("NEWSBOT_CACHE_DIR") or "~/.cache/newsbot").expanduser(),
        languages=tuple(parsed.languages or SUPPORTED),
        max_results=parsed.max_results,
        rate_limit=parsed.rate_limit,
        flood_limits=telegram.flood_limits,
        persistence=_path(parsed.persistence, base),
        log_level=parsed.log_level.upper(),
        source=source,
        translation=parsed.translation if parsed.translation.enabled else None,
        max_upload_bytes=parsed.uploads.max_bytes,
        allow_private_addresses=parsed.intake.allow_private_addresses,
        fetch_timeout=parsed.intake.timeout_seconds,
        feeds=tuple(
            FeedSpec(feed.url, feed.language, feed.source, feed.interval_minutes) for feed in parsed.feeds or ()
        ),
        search_backend=parsed.search.backend,
        milvus=MilvusSettings(
            parsed.search.milvus.uri.strip(), parsed.search.milvus.token, parsed.search.milvus.collection
        ),
        follow=parsed.follow,
    )


MESSAGES = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be a mapping of keys",
    "greater_than": "must be positive",
    "literal_error": "({input}) is not supported: choose from {expected}",  # only languages are Literal
}


def _describe(error: Any) -> str:
    """A pydantic error in the file's words: the key path and what is wrong, never the value (it may be a secret)."""
    loc = [str(part) for part in error["loc"]]
    model: Any = _File
    parent, described = _File, None
    for depth, part in enumerate(loc, 1):
        if part.isdigit() and model is not None:
            continue  # an item of a list of sections (feeds): the section is still the model
        parent, info = model, model.model_fields.get(part) if model else None
        described = (".".join(loc[:depth]), info.description) if info and info.description else described
        model = _section_in(info.annotation) if info else None
    where = ".".join(loc)
    if error["type"] == "extra_forbidden":
        known = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(loc[-1], known, n=1)
        return f"unknown key {where}" + (f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})")
    if error["type"] == "value_error":
        return f"{where} {error['ctx']['error']}"
    if described is not None:
        return f"{described[0]} must be {described[1]}"
    if error["type"] not in MESSAGES:
        return f"{where} is not valid: {error['msg']}"  # pydantic's words, which do not quote the value
    return f"{where} {MESSAGES[error['type']].format(input=error.get('input'), **error.get('ctx', {}))}"


def _section_in(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds, itself or inside a list, an Optional or an Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for inner in get_args(annotation):
        found = _section_in(inner)
        if found is not None:
            return found
    return None


def _path(value: str | None, base: Path) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
