"""The command line's words and manners: option help that says something, no Telegram words, quiet broken pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .test_cli import ROOT, run


def test_corpus_add_help_says_what_each_option_means(tmp_path: Path) -> None:
    proc = run(["corpus", "add", "--help"], tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    assert "the article's published" not in text and "the article's source" not in text
    assert "--published YYYY-MM-DD the day the article was published" in text
    assert "--source NAME who published the article" in text
    assert "--title TEXT the article's headline" in text
    assert "--url URL the article's own address" in text and "--note TEXT why the article has no address" in text
    assert "--language CODE the article's language, an ISO 639-1 code" in text


def test_corpus_add_of_a_file_it_cannot_take_speaks_of_options_not_captions(tmp_path: Path, corpus_copy: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4 not an article")
    proc = run(["corpus", "add", str(pdf), "--corpus", str(corpus_copy)], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Nothing was added: this article, report.pdf, has problems:")
    assert "--source, --title, --published, --url" in proc.stderr
    assert "caption" not in proc.stderr and "problems in the corpus" not in proc.stderr


def test_ask_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """``bot.py ask … | head -1``: once the reader is gone, no BrokenPipeError traceback, as Unix tools do."""
    env = {**os.environ, "NEWSBOT_CACHE_DIR": str(tmp_path / "cache"), "BOT_CONFIG": ""}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    questions = "Why was the Space delayed?\n" * 200
    with subprocess.Popen(
        [sys.executable, "bot.py", "ask", "-k", "1"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(questions.encode())
        proc.stdin.close()
        first = proc.stdout.readline()  # what `head -1` reads, before it goes away
        proc.stdout.close()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=300)
    assert first.startswith(b"[1] ")
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err
    assert status == 141  # 128 + SIGPIPE: what a shell reports for a tool its reader left
