"""The docs stay true to the code: every key ``ask --json`` prints is documented, and README stays short."""

from __future__ import annotations

import re
from pathlib import Path

from index.search.answer import Answer, Corroboration, Result

ROOT = Path(__file__).resolve().parents[1]


def documented_keys() -> set[str]:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    return {key for row in rows for key in re.findall(r"`([a-z_]+)`", row)}


def test_every_ask_json_key_is_documented() -> None:
    other = Corroboration("b", 0, "S", "T", "https://x", "text")
    result = Result(
        "a", 0, "S", "T", "https://x", "2024-08-12", "fr", "t", "t", "machine", 1.0, ((0, 1),), ((0, 1),), (other,)
    )
    answer = Answer("q", "en", True, (result,), unavailable=True, hedged=True, read_as="q")
    data = answer.to_json()
    keys = set(data) | set(data["results"][0]) | set(data["results"][0]["also_reported_by"][0])
    assert keys - documented_keys() == set()


def test_readme_opens_with_the_two_commands_and_stays_short() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert block[0].endswith("python bot.py") and block[1].endswith("python -m pytest")
    assert len(readme) < 8000
    for link in re.findall(r"\]\((docs/[^)]+)\)", readme):
        assert (ROOT / link).is_file(), link
