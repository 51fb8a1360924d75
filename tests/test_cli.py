"""The command line: `bot.py ask` (JSON and readable), `bot.py corpus check`, `corpus add` and `corpus translate`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot._progress import ProgressBar
from index import load_corpus

from .conftest import RESULT_FIELDS
from .samples import FLOWERS_ID, FLOWERS_TEXT

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], tmp_path: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEWSBOT_CACHE_DIR": str(tmp_path / "cache"), "BOT_CONFIG": ""}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "bot.py", *args], cwd=ROOT, input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def json_lines(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    questions = (
        "Why was the Space delayed?\nQuelle est la recette de la tarte Tatin ?\n\n  \nHoe lang duurde de uitzending?\n"
    )
    proc = run(["ask", "--json", "-k", "2"], tmp_path_factory.mktemp("cli"), stdin=questions)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_ask_json_prints_one_object_per_question_and_skips_blank_lines(json_lines: list[dict[str, object]]) -> None:
    assert [line["question"] for line in json_lines] == [
        "Why was the Space delayed?",
        "Quelle est la recette de la tarte Tatin ?",
        "Hoe lang duurde de uitzending?",
    ]


def test_ask_json_schema(json_lines: list[dict[str, object]]) -> None:
    for line in json_lines:
        assert set(line) == {"question", "language", "answered", "confidence", "results"}
        assert isinstance(line["results"], list)
        for result in line["results"]:
            assert set(result) == RESULT_FIELDS
    english, tatin, dutch = json_lines
    assert english["answered"] is True and english["language"] == "en" and len(english["results"]) == 2
    assert tatin["answered"] is False and tatin["results"] == [] and tatin["language"] == "fr"
    assert english["confidence"] in {"answer", "closest"} and tatin["confidence"] == "none"
    assert dutch["language"] == "nl"


def test_ask_readable_quotes_attributes_and_shows_the_original(tmp_path: Path) -> None:
    proc = run(["ask", "--lang", "en", "-k", "1", "Wat", "zei", "Trump", "over", "de", "EU?"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "[1] “" in out and "NOS Nieuws" in out and "translated from Dutch" in out
    assert "Original (Dutch): “" in out


def test_corpus_check_summarises_the_bundled_corpus(tmp_path: Path) -> None:
    proc = run(["corpus", "check"], tmp_path)
    assert proc.returncode == 0
    assert "articles:     4" in proc.stdout and "translations: 20" in proc.stdout


def test_corpus_check_lists_problems_and_exits_1(tmp_path: Path) -> None:
    articles = tmp_path / "broken" / "articles"
    articles.mkdir(parents=True)
    (articles / "a.md").write_text("---\nid: b\ntitle: T\n---\nText\n", encoding="utf-8")
    proc = run(["corpus", "check", str(tmp_path / "broken")], tmp_path)
    assert proc.returncode == 1
    assert "a.md:2: id 'b' does not match the file name" in proc.stderr
    assert "a.md:1: missing front-matter field 'published'" in proc.stderr


def test_ask_with_a_broken_corpus_reports_and_fails(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = run(["ask", "--corpus", str(tmp_path / "empty"), "hello"], tmp_path)
    assert proc.returncode == 1 and "articles" in proc.stderr and "Traceback" not in proc.stderr


# --- corpus add / corpus translate ------------------------------------------------------------

FLOWERS = [
    "--source", "Bollenstreek Nieuws", "--title", "Bloemencorso trekt recordaantal bezoekers",
    "--published", "2025-04-26", "--url", "https://example.org/bloemencorso",
]  # fmt: skip


def test_corpus_add_saves_and_describes_a_text_article(tmp_path: Path, corpus_copy: Path) -> None:
    proc = run(["corpus", "add", str(FLOWERS_TEXT), *FLOWERS, "--corpus", str(corpus_copy)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    article_id = FLOWERS_ID
    assert f"Added {article_id}" in proc.stdout and "nl (detected)" in proc.stdout
    assert "3 passages" in proc.stdout and "1. Recordaantal bezoekers — Het bloemencorso" in proc.stdout
    assert "Machine translation is off" in proc.stdout
    # Waiting changes nothing without a translation service: say what readers get and how to turn it on.
    assert "again later" not in proc.stdout
    assert "New articles are answered in their own language" in proc.stdout and "translation.url" in proc.stdout
    saved = (corpus_copy / "articles" / f"{article_id}.md").read_text(encoding="utf-8")
    assert "source: Bollenstreek Nieuws" in saved and "Door de drukte in Lisse" in saved
    assert run(["corpus", "check", str(corpus_copy)], tmp_path).returncode == 0


def test_corpus_add_with_problems_saves_nothing(tmp_path: Path, corpus_copy: Path) -> None:
    before = sorted(p.name for p in (corpus_copy / "articles").iterdir())
    args = ["corpus", "add", str(FLOWERS_TEXT), "--source", "X", "--published", "26 April"]
    proc = run([*args, "--corpus", str(corpus_copy)], tmp_path)
    assert proc.returncode == 1
    assert "bloemencorso.txt" in proc.stderr and "title" in proc.stderr and "26 April" in proc.stderr
    assert "Traceback" not in proc.stderr
    # One file's problems, worded as such, with the options that supply what is missing (no Telegram caption).
    assert proc.stderr.splitlines()[0] == "Nothing was added: this article, bloemencorso.txt, has problems:"
    assert "  - missing title (the headline): give it as --title …" in proc.stderr.splitlines()
    assert "in the corpus" not in proc.stderr and "caption" not in proc.stderr
    assert sorted(p.name for p in (corpus_copy / "articles").iterdir()) == before


def test_corpus_translate_fills_gaps_with_a_progress_bar(tmp_path: Path, corpus_copy: Path) -> None:
    from .fake_libretranslate import FakeLibreTranslate

    gap = corpus_copy / "translations" / "nos-interview-musk-trump"
    for path in gap.glob("*.md"):
        if path.stem in ("en", "de"):
            path.unlink()
    translator = FakeLibreTranslate()
    with translator.serve() as url:
        config = tmp_path / "config.yaml"
        config.write_text(f"translation:\n  url: {url}\n  requests_per_second: 100\n", encoding="utf-8")
        proc = run(
            ["--config", str(config), "corpus", "translate", "--lang", "en", "--corpus", str(corpus_copy)], tmp_path
        )
    assert proc.returncode == 0, proc.stderr
    english = (gap / "en.md").read_text(encoding="utf-8")
    texts = sum(len(r.texts) for r in translator.translate_requests)
    final = progress_lines(proc.stderr)[-1]  # stderr is a pipe here: tqdm's last redraw, at close()
    assert texts > 0 and final.startswith("translating: 100%") and f" {texts}/{texts} " in final, proc.stderr
    passages = sum(1 for p in load_corpus(corpus_copy).passages if p.article.id == "nos-interview-musk-trump")
    assert f"{passages} passage translations written to 1 file." in proc.stdout
    assert "method: machine" in english and "[en] " in english
    assert not (gap / "de.md").exists()  # --lang en only
    assert all(r.body.get("target") == "en" for r in translator.translate_requests)


def test_corpus_translate_needs_a_service(tmp_path: Path, corpus_copy: Path) -> None:
    proc = run(["corpus", "translate", "--corpus", str(corpus_copy)], tmp_path)
    assert proc.returncode == 2 and "translation.url" in proc.stderr


def progress_lines(stderr: str) -> list[str]:
    """The bar's redraws: tqdm starts each with a carriage return (a newline once read as text)."""
    return [line for line in stderr.replace("\r", "\n").splitlines() if line.startswith("translating")]


def test_progress_bar_on_a_pipe_prints_a_few_lines_and_the_final_count() -> None:
    """Fed from worker threads, out of order, on a stream that is not a terminal (as stderr in a pipe)."""
    stream = io.StringIO()
    bar = ProgressBar("translating", stream)
    threads = [threading.Thread(target=bar, args=(done, 500)) for done in range(1, 501)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bar.close()
    lines = progress_lines(stream.getvalue())
    assert len(lines) <= 3, lines  # the start, the end: no flood of redraws
    assert lines[-1].startswith("translating: 100%") and " 500/500 " in lines[-1]
    assert stream.getvalue().endswith("\n")


def test_progress_bar_that_never_started_prints_nothing() -> None:
    stream = io.StringIO()
    bar = ProgressBar("translating", stream)
    bar(0, 0)  # nothing to translate
    bar.close()
    assert stream.getvalue() == ""


# --- ask --backend milvus ------------------------------------------------------------------------


def small_corpus(root: Path) -> Path:
    (root / "articles").mkdir(parents=True)
    (root / "articles" / "flood.md").write_text(
        "---\nid: flood\ntitle: Flood in Venlo\nsource: Limburg Today\nurl: https://example.org/flood\n"
        "published: 2024-08-13\nlanguage: en\n---\n"
        "The river Maas flooded the old town of Venlo after three days of rain.\n\n"
        "The mayor opened the sports hall for two hundred evacuated residents.\n",
        encoding="utf-8",
    )
    return root


def test_ask_through_milvus_lite_answers_as_the_embedded_index_does(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus", reason="the Milvus client is not installed")
    corpus = small_corpus(tmp_path / "corpus")
    question = "Where did the evacuated residents go?"
    embedded = run(["ask", "--json", "--corpus", str(corpus), question], tmp_path)
    milvus = run(["ask", "--json", "--backend", "milvus", "--corpus", str(corpus), question], tmp_path)
    assert milvus.returncode == 0, milvus.stderr
    assert json.loads(milvus.stdout)["results"][0]["passage_index"] == 1
    strip = [{k: v for k, v in r.items() if k != "score"} for r in json.loads(embedded.stdout)["results"]]
    assert [{k: v for k, v in r.items() if k != "score"} for r in json.loads(milvus.stdout)["results"]] == strip
    assert (tmp_path / "cache" / "milvus").is_dir()  # the Lite file lives in the cache directory


def test_ask_with_an_unreachable_milvus_names_the_setting_and_exits_2(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus", reason="the Milvus client is not installed")
    corpus = small_corpus(tmp_path / "corpus")
    env_token = "tok-SeKrEt"
    proc = subprocess.run(
        [sys.executable, "bot.py", "ask", "--backend", "milvus", "--milvus-uri", "http://127.0.0.1:9",
         "--corpus", str(corpus), "hello"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NEWSBOT_CACHE_DIR": str(tmp_path / "cache"), "BOT_CONFIG": "", "MILVUS_TOKEN": env_token},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "search.milvus.uri" in proc.stderr and "Traceback" not in proc.stderr
    assert env_token not in proc.stderr + proc.stdout
