"""The wings of ``index/`` keep to their places: checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INDEX = Path(__file__).resolve().parent.parent / "index"

# wing -> wings it must not import
FORBIDDEN: dict[str, set[str]] = {
    "corpus": {"intake", "translation", "search", "curation"},
    "search": {"intake", "translation", "curation", "follow"},
    "follow": {"intake", "translation", "curation"},
}
NEVER = ("telegram", "bot")


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every module ``path`` (under the package ``root``) imports, relative imports made absolute."""
    package = list(path.relative_to(root.parent).parts[:-1])  # a module's package, or an __init__'s own
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
                found.append((node.lineno, name))
                if not node.module:  # ``from . import x``: each name is a module
                    found.extend((node.lineno, f"{name}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, node.module or ""))
    return found


def wing_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "index" else None


def violations(root: Path) -> list[str]:
    bad: list[str] = []
    for path in sorted(root.rglob("*.py")):
        own = wing_of(".".join(path.relative_to(root.parent).with_suffix("").parts))
        for line, module in imported_modules(path, root):
            where = f"{path.relative_to(root.parent)}:{line}"
            if module.split(".")[0] in NEVER:
                bad.append(f"{where}: imports {module}")
            target = wing_of(module)
            if own in FORBIDDEN and target in FORBIDDEN[own]:
                bad.append(f"{where}: {own}/ imports {module}")
    return bad


def test_index_keeps_its_layout() -> None:
    assert violations(INDEX) == []


def test_every_wing_says_what_it_is_for() -> None:
    for wing in ("corpus", "intake", "translation", "search", "follow"):
        docstring = ast.get_docstring(ast.parse((INDEX / wing / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and len(docstring.split()) >= 15, wing


@pytest.mark.parametrize(
    ("wing", "source", "expected"),
    [
        ("corpus", "from ..search.engine import Engine\n", "corpus/ imports index.search.engine"),
        ("corpus", "from ..translation import fill\n", "corpus/ imports index.translation"),
        ("search", "from ..intake.upload import Upload\n", "search/ imports index.intake.upload"),
        ("search", "import index.translation.fill\n", "search/ imports index.translation.fill"),
        ("intake", "from telegram import Update\n", "imports telegram"),
        ("translation", "from bot._config import Config\n", "imports bot._config"),
    ],
)
def test_a_violation_is_caught(tmp_path: Path, wing: str, source: str, expected: str) -> None:
    """The checker itself works: a planted import of the wrong wing is reported with its file and line."""
    root = tmp_path / "index"
    (root / wing).mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / wing / "__init__.py").write_text("")
    (root / wing / "bad.py").write_text("from __future__ import annotations\n" + source)
    found = violations(root)
    assert len(found) == 1
    assert found[0].startswith(f"index/{wing}/bad.py:2: ")
    assert found[0].endswith(expected)
