"""Markdown files with YAML front matter, split into blocks that remember their lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .problems import Problem

HEADING_PREFIX = "## "


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: dates stay text, validated by the loader."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BLANK = re.compile(r"^[ \t]*$")


@dataclass(frozen=True, slots=True)
class Block:
    """A run of non-blank lines, or one ``## `` subheading line; ``line`` is where it starts (1-based)."""

    text: str
    line: int

    @property
    def is_heading(self) -> bool:
        return self.text.startswith(HEADING_PREFIX)


@dataclass(frozen=True, slots=True)
class Document:
    path: Path
    meta: dict[str, Any]
    meta_lines: dict[str, int]
    blocks: tuple[Block, ...]
    end_line: int

    def problem(self, field: str, message: str) -> Problem:
        """A problem with front-matter ``field``, reported at its line (or the first line if it is missing)."""
        return Problem(self.path, self.meta_lines.get(field, 1), message)


def read_document(path: Path, problems: list[Problem]) -> Document | None:
    """Parse one file, adding to ``problems`` and returning None when it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(path, None, f"cannot be read: {exc.strerror or exc}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(path, line, f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"))
        return None
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problems.append(Problem(path, 1, "does not start with a '---' front-matter line"))
        return None
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.append(Problem(path, 1, "front matter is not closed by a '---' line"))
        return None
    try:
        meta = yaml.load("\n".join(lines[1:close]), Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(exc, "problem", None) or "invalid YAML"
        problems.append(Problem(path, line, f"front matter is not valid YAML: {reason}"))
        return None
    if not isinstance(meta, dict):
        problems.append(Problem(path, 2, "front matter must be a mapping of 'field: value' lines"))
        return None
    meta_lines: dict[str, int] = {}
    for i in range(1, close):
        match = re.match(r"^([A-Za-z_][\w-]*)\s*:", lines[i])
        if match:
            meta_lines.setdefault(match.group(1), i + 1)
    return Document(path, meta, meta_lines, _blocks(lines, close + 1), len(lines))


def _blocks(lines: list[str], start: int) -> tuple[Block, ...]:
    blocks: list[Block] = []
    current: list[str] = []
    first = 0
    for i in range(start, len(lines)):
        heading = lines[i].startswith(HEADING_PREFIX)
        if _BLANK.match(lines[i]) or heading:
            if current:
                blocks.append(Block("\n".join(current), first + 1))
                current = []
            if heading:  # a subheading is a block of its own, blank line after it or not
                blocks.append(Block(lines[i].rstrip(), i + 1))
            continue
        if not current:
            first = i
        current.append(lines[i].rstrip())
    if current:
        blocks.append(Block("\n".join(current), first + 1))
    return tuple(blocks)
