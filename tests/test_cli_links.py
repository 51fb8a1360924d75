"""`bot.py corpus add URL` and `bot.py corpus poll`, as subprocesses, against pages and a feed on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from index import load_corpus

from .localhttp import serve

ROOT = Path(__file__).resolve().parents[1]
FERRY = (ROOT / "tests" / "data" / "pages" / "harbour-gazette-ferry.html").read_bytes()
TRAM = (ROOT / "tests" / "data" / "pages" / "rheinbote-tram.html").read_bytes()


def run(args: list[str], config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOT_CONFIG": str(config)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "bot.py", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )


def site(port_holder: list[int]):  # type: ignore[no-untyped-def]
    def handle(request: httpx.Request) -> httpx.Response:
        base = f"http://127.0.0.1:{port_holder[0]}"
        if request.url.path == "/feed.xml":
            items = "".join(
                f"<item><title>{name}</title><link>{base}/{name}</link><guid>{name}</guid></item>"
                for name in ("ferry", "tram")
            )
            body = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()
            return httpx.Response(200, headers={"Content-Type": "application/rss+xml"}, content=body)
        page = {"/ferry": FERRY, "/tram": TRAM}.get(request.url.path)
        if page is None:
            return httpx.Response(404, headers={"Content-Type": "text/plain"}, content=b"no")
        return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, content=page)

    return handle


def test_corpus_add_url_and_corpus_poll(corpus_copy: Path, tmp_path: Path) -> None:
    port: list[int] = []
    with serve(site(port), "cli-site") as number:
        port.append(number)
        config = tmp_path / "config.yaml"
        config.write_text(
            f"corpus: {corpus_copy}\npersistence: {tmp_path / 'state' / 'bot.pickle'}\n"
            f"intake:\n  allow_private_addresses: true\nfeeds:\n  - http://127.0.0.1:{number}/feed.xml\n",
            encoding="utf-8",
        )
        added = run(["corpus", "add", f"http://127.0.0.1:{number}/ferry"], config)
        assert added.returncode == 0, added.stderr
        assert "From the page: title, source, published, url, language" in added.stdout
        again = run(["corpus", "add", f"http://127.0.0.1:{number}/ferry"], config)
        assert again.returncode == 1 and "Already in the corpus" in again.stderr

        polled = run(["corpus", "poll"], config)
        assert polled.returncode == 0, polled.stderr
        assert "1 added" in polled.stdout and "already in the corpus" in polled.stdout  # the ferry came by link
        assert (tmp_path / "state" / "feeds.json").exists()
        second = run(["corpus", "poll"], config)
        assert "0 added" in second.stdout and "skipped" not in second.stdout
    sources = sorted(a.source for a in load_corpus(corpus_copy).articles)
    assert sources.count("The Harbour Gazette") == 1 and "Rheinbote" in sources
    offline = tmp_path / "offline.yaml"
    offline.write_text(f"corpus: {corpus_copy}\n", encoding="utf-8")
    refused = run(["corpus", "add", "http://127.0.0.1:9/ferry"], offline)
    assert refused.returncode == 1 and "loopback" in refused.stderr
