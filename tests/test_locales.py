"""Locale files: the same keys and placeholders in every language; no English left in handlers."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot._i18n import LOCALES_DIR
from index import SUPPORTED

BOT = Path(__file__).resolve().parents[1] / "bot"


def load(language: str) -> dict[str, Any]:
    return yaml.safe_load((LOCALES_DIR / f"{language}.yaml").read_text(encoding="utf-8"))


def placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return {name for _, name, _, _ in string.Formatter().parse(value) if name}
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return {f"{k}:{p}" for k, v in value.items() for p in placeholders(v)} | {f"key:{k}" for k in value}
    return set()


@pytest.mark.parametrize("language", SUPPORTED)
def test_every_locale_has_every_key_and_placeholder(language: str) -> None:
    english, other = load("en"), load(language)
    assert other.keys() == english.keys()
    for key, value in english.items():
        assert placeholders(other[key]) == placeholders(value), key
        if isinstance(value, str):
            assert re.findall(r"</?\w+", other[key]) == re.findall(r"</?\w+", value), key
    assert len(other["examples"]) == 3
    assert set(other["language_names"]) == set(SUPPORTED)


HANDLERS = ("_chat.py", "_inline.py", "_admin.py", "_errors.py", "_send.py", "_compose.py", "_follow.py", "_alerts.py")
PROSE = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z'’]{2,}){2,}")  # three or more words in a row


def test_handlers_hold_no_user_facing_english() -> None:
    """User-facing text comes from locale files: outside docstrings and log calls, no prose literals."""
    offenders = []
    for module in HANDLERS:
        tree = ast.parse((BOT / module).read_text(encoding="utf-8"))
        exempt: set[int] = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                exempt.add(id(body[0].value))  # docstrings
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS:
                exempt.update(id(arg) for arg in node.args)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("AssertionError", "with_retries")
            ):
                exempt.update(id(arg) for arg in node.args)
        offenders += [
            (module, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt
            and PROSE.search(node.value)
        ]  # fmt: skip
    assert offenders == []


LOG_METHODS = {"debug", "info", "warning", "error", "exception"}
