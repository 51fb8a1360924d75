"""Logging that never shows a secret: the token is redacted from every record as it is made.

Redaction happens in the log-record factory, so it covers every logger and
every handler (including ones added later, such as a test's capture), and
tracebacks too: an HTTP error can quote the request URL, which holds the token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

_original_factory: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
PLACEHOLDER = "[redacted]"


def _secret_parts(secrets: Iterable[str]) -> list[str]:
    parts: list[str] = []
    for secret in secrets:
        if not secret:
            continue
        parts.append(secret)
        # A bot token is "<bot id>:<secret>"; the id is public, the rest must never show.
        if ":" in secret and len(secret.split(":", 1)[1]) >= 8:
            parts.append(secret.split(":", 1)[1])
    return sorted(set(parts), key=len, reverse=True)


def install_redaction(secrets: Iterable[str]) -> None:
    """Make every log record created from now on free of ``secrets``."""
    parts = _secret_parts(secrets)
    if not parts:
        logging.setLogRecordFactory(_original_factory)
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _original_factory(*args, **kwargs)
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            record.exc_info = None
        for part in parts:
            message = message.replace(part, PLACEHOLDER)
        record.msg, record.args = message, None
        return record

    logging.setLogRecordFactory(factory)


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at ``level`` with secrets redacted; quiet the HTTP client's per-request lines."""
    install_redaction(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _ConsoleFormatter(logging.Formatter):
    """A warning as one short line in the conversation (no time, no module), marked as the bot's note."""

    def format(self, record: logging.LogRecord) -> str:
        return f"({record.levelname.lower()}: {record.getMessage()})"


def configure_console_logging(secrets: Iterable[str]) -> None:
    """In the console the log shares the screen with the chat: only warnings and errors show, briefly.

    The routine INFO lines (a reload's "new coverage: …", progress) belong to a service's log, not to
    a conversation; the console prints what they report in its own replies.
    """
    install_redaction(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(_ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
