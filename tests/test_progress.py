"""Progress where people wait: a bar on a terminal, log lines on Telegram, nothing in ``ask --json``."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from bot import _progress
from bot._cli import main
from bot._progress import ProgressBar, ProgressLog
from index.search.bundle import read_bundle
from index.search.cache import text_key

from .conftest import HashingEmbedder
from .search.test_engine import write_article


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture()
def at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Show progress from the first moment, so tests need not run for two seconds."""
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0.0)


def test_a_bar_on_a_terminal(at_once: None) -> None:
    terminal = Terminal()
    bar = ProgressBar("embedding", terminal)
    for done in range(0, 101, 10):
        bar(done, 100)
    bar.close()
    assert "embedding: 100%" in terminal.getvalue() and "100/100" in terminal.getvalue()


def test_a_quick_run_shows_no_bar_on_a_terminal() -> None:
    terminal = Terminal()
    bar = ProgressBar("embedding", terminal)
    bar(0, 100)
    bar(100, 100)
    bar.close()
    assert terminal.getvalue() == ""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_every_tenth_with_the_time_left(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    logger = logging.getLogger("test.progress")
    progress = ProgressLog("embedding the corpus", logger, clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for done in range(0, 1001, 25):  # a text every 0.1 s, reported every 25
            clock.now = 100.0 + done * 0.1
            progress(done, 1000)
        progress.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "embedding the corpus: 10% (100/1000), about 90 s left"
    assert lines[4] == "embedding the corpus: 50% (500/1000), about 50 s left"
    assert len(lines) == 10 and lines[-1] == "embedding the corpus: 1000/1000 done in 100 s"


def test_a_quick_run_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    progress = ProgressLog("embedding the corpus", logging.getLogger("test.progress"), clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        for done in range(0, 11):
            clock.now += 0.1
            progress(done, 10)
        progress.close()
    assert caplog.records == []


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture()
def new_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A corpus the shipped embeddings know nothing of, so asking about it embeds (with the real encoders)."""
    monkeypatch.setenv("BOT_CONFIG", "")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    root = tmp_path / "corpus"
    write_article(root, "flood", "en", ["The river Maas flooded Venlo after three days of rain.", "The mayor spoke."])
    return root


def ask_in_a_terminal(
    args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stdout: io.StringIO
) -> tuple[str, str]:
    stderr = Terminal()
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    assert main(["ask", "--cache-dir", str(tmp_path / "cache"), *args]) == 0
    return stdout.getvalue(), stderr.getvalue()


def test_ask_shows_its_embedding_on_a_terminal(
    at_once: None, new_corpus: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, err = ask_in_a_terminal(
        ["--corpus", str(new_corpus), "Where was the flood?"], monkeypatch, tmp_path, Terminal()
    )
    assert "embedding: 100%" in err
    assert "[1] “" in out


def test_ask_json_keeps_progress_out(
    at_once: None, new_corpus: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out, err = ask_in_a_terminal(
        ["--json", "--corpus", str(new_corpus), "Where was the flood?"], monkeypatch, tmp_path, io.StringIO()
    )
    assert err == ""
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["Where was the flood?"]


def test_corpus_embed_fills_the_cache(new_corpus: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSBOT_CACHE_DIR", str(tmp_path / "cache"))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["corpus", "embed", "--corpus", str(new_corpus)]) == 0
    # two passages of one sentence each: e5 embeds 2 distinct texts (for 4 vectors), USE the 2 sentences
    assert out.getvalue().startswith("6 texts: 4 embedded now, 0 shipped with the package, the other 2 from the cache")
    assert len(list((tmp_path / "cache").glob("embeddings-*.npz"))) == 2
    out.truncate(0)
    assert main(["corpus", "embed", "--corpus", str(new_corpus)]) == 0
    assert "6 texts: 0 embedded now" in out.getvalue()


def test_corpus_embed_bundle_rewrites_the_shipped_file(
    bundled: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The command itself, with the hashing stand-in in both roles (the real encoders take a minute)."""
    from index.search import shipping

    monkeypatch.setenv("BOT_CONFIG", "")
    target = tmp_path / "shipped.npz"
    hashing = HashingEmbedder()
    monkeypatch.setattr(shipping, "shared_retrieval_encoder", lambda: hashing)
    monkeypatch.setattr(shipping, "shared_alignment_encoder", lambda: hashing)
    monkeypatch.setattr("bot._cli.SHIPPED", target)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["corpus", "embed", "--bundle"]) == 0
    assert f"to {target}" in out.getvalue()
    written = read_bundle(target)
    assert written.problems == ()
    first = bundled.passages[0]  # type: ignore[attr-defined]
    assert text_key(first.text) in written.vectors_for(hashing.name)
    assert set(written.article_digests) == set(bundled.article_digests)  # type: ignore[attr-defined]


def test_corpus_embed_bundle_refuses_another_corpus(new_corpus: Path) -> None:
    assert main(["corpus", "embed", "--bundle", "--corpus", str(new_corpus)]) == 2
