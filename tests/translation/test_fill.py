"""Machine translation of untranslated passages: the LibreTranslate client, gap finding and filling."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from corpus import BUNDLED
from index import SUPPORTED, Corpus, load_corpus
from index.translation.fill import MAX_ERRORS, FillReport, Gap, RateLimiter, fill_gaps, find_gaps, untranslated_passages
from index.translation.libretranslate import LibreTranslate, TranslationError, Translator, batches

from ..fake_libretranslate import FakeLibreTranslate, Recorded, closed_port_url

KEY = "lt-key-5f0c2e9a-very-secret"
OTHERS = ("en", "fr", "id", "de", "es")  # the answer languages of a Dutch article

# -- building small corpora


def write_article(
    root: Path, article_id: str, paragraphs: Sequence[str | tuple[str, str]], *, language: str = "nl"
) -> Path:
    """An article whose paragraphs are given in order; a (heading, paragraph) pair has a subheading."""
    blocks = [b for p in paragraphs for b in ((f"## {p[0]}", p[1]) if isinstance(p, tuple) else (p,))]
    path = root / "articles" / f"{article_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "---\n"
        f"id: {article_id}\n"
        f'title: "Title of {article_id}"\n'
        'source: "Test Source"\n'
        'url: ""\n'
        "published: 2024-08-13\n"
        f"language: {language}\n"
        'note: "written by the tests"\n'
        "---\n" + "\n\n".join(blocks) + "\n",
        encoding="utf-8",
    )
    return path


def long_article(root: Path, article_id: str = "forty", count: int = 40) -> None:
    write_article(root, article_id, [f"Paragraph {i} van het lange artikel." for i in range(count)])


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    """A corpus with one real article (subheadings, line breaks) and no translations."""
    root = tmp_path / "corpus"
    (root / "articles").mkdir(parents=True)
    shutil.copy(BUNDLED / "articles" / "nos-interview-musk-trump.md", root / "articles")
    return root


@pytest.fixture()
def fake() -> FakeLibreTranslate:
    return FakeLibreTranslate()


@pytest.fixture()
def url(fake: FakeLibreTranslate) -> Iterator[str]:
    with fake.serve() as base:
        yield base


@pytest.fixture()
def client(url: str) -> Iterator[LibreTranslate]:
    with LibreTranslate(url, timeout=5) as lt:
        yield lt


def fill(corpus: Corpus, translator: Translator, languages: Sequence[str] = OTHERS, **options: Any) -> FillReport:
    """fill_gaps without waiting: no backoff, and a request rate the tests never reach."""
    options.setdefault("backoff", 0)
    options.setdefault("requests_per_second", 1e6)
    return fill_gaps(corpus, translator, languages, **options)


def in_process(fake: FakeLibreTranslate, **options: Any) -> LibreTranslate:
    return LibreTranslate("http://lt.test", transport=httpx.MockTransport(fake), **options)


def dot_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*") if p.is_file()]


class Counting:
    """A translator that counts the requests it passes on."""

    def __init__(self, inner: Translator) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_batch = inner.max_batch
        self.max_chars = inner.max_chars
        self.calls = 0
        self._lock = threading.Lock()

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        with self._lock:
            self.calls += 1
        return self.inner.translate_batch(texts, source, target)


# -- batches


def test_batches_respect_count_and_characters_and_never_split_a_text() -> None:
    assert batches([], 16, 100) == []
    assert batches(["a"] * 5, 2, 100) == [[0, 1], [2, 3], [4]]
    # 4 + 4 fits in 10 characters, a third does not; the 30-character text goes alone.
    assert batches(["aaaa", "bbbb", "cccc", "x" * 30, "dd"], 16, 10) == [[0, 1], [2], [3], [4]]
    assert batches(["x" * 30], 16, 10) == [[0]]
    with pytest.raises(ValueError):
        batches(["a"], 0, 10)


# -- the client


def test_client_sends_libretranslate_requests(fake: FakeLibreTranslate) -> None:
    with in_process(fake, api_key=KEY) as lt:
        assert lt.translate_batch(["Hallo", "Twee\nregels"], "nl", "en") == ["[en] Hallo", "[en] Twee\nregels"]
    with LibreTranslate("http://lt.test/", transport=httpx.MockTransport(fake)) as lt:
        assert lt.translate_batch(["Hallo"], "nl", "de") == ["[de] Hallo"]
        assert lt.translate_batch([], "nl", "de") == []  # nothing to send, no request
    with_key, without_key = fake.translate_requests
    assert with_key.path == without_key.path == "/translate"
    assert with_key.json
    assert with_key.body == {
        "q": ["Hallo", "Twee\nregels"], "source": "nl", "target": "en", "format": "text", "api_key": KEY,
    }  # fmt: skip
    assert "api_key" not in without_key.body
    assert without_key.body["q"] == ["Hallo"]


def test_client_translates_over_http(client: LibreTranslate, fake: FakeLibreTranslate) -> None:
    assert client.translate_batch(["Goedemorgen", "Tot ziens"], "nl", "fr") == ["[fr] Goedemorgen", "[fr] Tot ziens"]
    assert [r.texts for r in fake.translate_requests] == [["Goedemorgen", "Tot ziens"]]


def test_fake_accepts_form_bodies_and_single_texts(fake: FakeLibreTranslate) -> None:
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        form = http.post("http://lt.test/translate", data={"q": "Hallo\r\nwereld", "source": "nl", "target": "en"})
        single = http.post("http://lt.test/translate", json={"q": "Hallo", "source": "nl", "target": "de"})
        missing = http.post("http://lt.test/translate", json={"source": "nl", "target": "de"})
    assert form.json() == {"translatedText": "[en] Hallo\nwereld"}
    assert single.json() == {"translatedText": "[de] Hallo"}
    assert (missing.status_code, missing.json()) == (400, {"error": "Invalid request: missing q parameter"})


def test_wrong_api_key_is_reported_without_the_key(fake: FakeLibreTranslate) -> None:
    fake.api_key = "the-right-key"
    with fake.serve() as url, LibreTranslate(url, api_key=KEY, timeout=5) as lt:
        with pytest.raises(TranslationError) as caught:
            lt.translate_batch(["Hallo"], "nl", "en")
        assert KEY not in repr(lt)
    error = caught.value
    assert str(error) == f"LibreTranslate at {url} answered 403: Invalid API key"
    assert not error.retryable and not error.unreachable
    assert KEY not in repr(error)


def test_a_key_echoed_by_the_server_is_hidden() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": f"key {request.read().decode()} refused"})

    with LibreTranslate("http://user:pw-secret@lt.test", api_key=KEY, transport=httpx.MockTransport(echo)) as lt:
        with pytest.raises(TranslationError) as caught:
            lt.translate_batch(["Hallo"], "nl", "en")
        assert "pw-secret" not in repr(lt)
    message = str(caught.value)
    assert message.startswith("LibreTranslate at http://lt.test answered 403: key {")
    assert KEY not in message and "pw-secret" not in message


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (429, True), (500, True), (502, True), (503, True)]
)
def test_error_statuses(fake: FakeLibreTranslate, status: int, retryable: bool) -> None:
    fake.fail_next(status, "something went wrong")
    with in_process(fake) as lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo"], "nl", "en")
    assert f"answered {status}: " in str(caught.value)
    assert "something went wrong" in str(caught.value)
    assert caught.value.retryable is retryable
    assert not caught.value.unreachable


def test_long_error_texts_are_cut(fake: FakeLibreTranslate) -> None:
    fake.fail_next(500, "Cannot translate text: " + "x" * 5000)
    with in_process(fake) as lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo"], "nl", "en")
    assert len(str(caught.value)) < 300


def test_unsupported_language_pair_is_not_retryable(fake: FakeLibreTranslate) -> None:
    fake.refused_pairs.add(("nl", "id"))
    with in_process(fake) as lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo"], "nl", "id")
    assert "Indonesian (id) is not available as a target language from Dutch (nl)" in str(caught.value)
    assert not caught.value.retryable


def test_timeout_is_retryable(fake: FakeLibreTranslate) -> None:
    fake.delay = 5
    with fake.serve() as url, LibreTranslate(url, timeout=0.2) as lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo"], "nl", "en")
    assert str(caught.value) == f"LibreTranslate at {url} timed out after 0.2 s"
    assert caught.value.retryable and not caught.value.unreachable


def test_nothing_listening_is_unreachable() -> None:
    url = closed_port_url()
    with LibreTranslate(url, api_key=KEY, timeout=5) as lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo"], "nl", "en")
    assert caught.value.unreachable
    assert str(caught.value).startswith(f"LibreTranslate at {url} is unreachable")
    assert KEY not in str(caught.value)


def test_a_dropped_connection_is_retryable() -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    lt = LibreTranslate("http://lt.test", transport=httpx.MockTransport(drop))
    with lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo"], "nl", "en")
    assert caught.value.retryable and not caught.value.unreachable
    assert "the connection failed" in str(caught.value)


@pytest.mark.parametrize("mode", ["not-json", "not-object", "missing", "string", "short", "non-strings"])
def test_malformed_responses(fake: FakeLibreTranslate, mode: str) -> None:
    fake.malformed = mode
    with in_process(fake) as lt, pytest.raises(TranslationError) as caught:
        lt.translate_batch(["Hallo", "Dag"], "nl", "en")
    assert str(caught.value).startswith("LibreTranslate at http://lt.test: malformed response: ")
    assert not caught.value.retryable and not caught.value.unreachable


@pytest.mark.parametrize("bad", ["localhost:5000", "ftp://lt.test", "http://"])
def test_the_url_must_be_http(bad: str) -> None:
    with pytest.raises(ValueError):
        LibreTranslate(bad)


# -- finding gaps


def test_find_gaps_skips_the_own_language_and_existing_translations(root: Path) -> None:
    write_article(root, "alpha", ["Een.", ("Kop", "Twee.")])
    write_article(root, "beta", ["One.", "Two."], language="en")
    review = root / "translations" / "alpha" / "en.md"
    review.parent.mkdir(parents=True)
    review.write_text(
        "---\nlanguage: en\ntranslated_from: nl\nmethod: reviewed\n---\nOne.\n\n## Heading\n\nTwo.\n", encoding="utf-8"
    )
    corpus = load_corpus(root)
    gaps = find_gaps(corpus, ["en", "de", "en"])
    assert [(g.article.id, g.language) for g in gaps] == [
        ("alpha", "de"), ("beta", "de"), ("nos-interview-musk-trump", "en"), ("nos-interview-musk-trump", "de"),
    ]  # fmt: skip
    assert gaps[0] == Gap(corpus.articles[0], "de")
    nos = sum(1 for p in corpus.passages if p.article.id == "nos-interview-musk-trump")
    assert untranslated_passages(corpus, ["en"]) == nos  # beta is English, alpha has its English translation
    assert untranslated_passages(corpus, ["en", "de"]) == len(corpus.passages)
    assert untranslated_passages(corpus, ["nl"]) == 2  # only beta's; the Dutch articles are Dutch already
    with pytest.raises(ValueError):
        find_gaps(corpus, ["it"])  # the loader would reject a translation into a non-answer language


# -- filling gaps


def test_fill_writes_machine_translations_that_load(root: Path, client: LibreTranslate) -> None:
    corpus = load_corpus(root)
    report = fill(corpus, client, SUPPORTED)
    passages = len(corpus.passages)
    assert report.errors == ()
    assert report.gaps_left == 0
    assert not report.service_unreachable
    assert sorted(p.name for p in report.written) == sorted(f"{lang}.md" for lang in OTHERS)
    assert report.passages_translated == 5 * passages
    assert dot_files(root) == []
    german = (root / "translations" / "nos-interview-musk-trump" / "de.md").read_text(encoding="utf-8")
    assert german.startswith("---\nlanguage: de\ntranslated_from: nl\nmethod: machine\n---\n[de] Het interview")
    assert "\n\n## [de] Wachtmuziekje\n\n[de] Het gesprek" in german

    reloaded = load_corpus(root)
    assert len(reloaded.passages) == passages
    headed = 0
    for passage in reloaded.passages:
        assert sorted(passage.translations) == sorted(OTHERS)
        for lang, rendition in passage.translations.items():
            assert rendition.method == "machine"
            assert rendition.body == f"[{lang}] {passage.original.body}"
            if passage.original.heading is not None:
                headed += 1
                assert rendition.heading == f"[{lang}] {passage.original.heading}"
            else:
                assert rendition.heading is None
    assert headed == 5  # the article's one subheading ("Wachtmuziekje"), in five languages


def test_a_second_fill_has_nothing_to_do(root: Path, client: LibreTranslate, fake: FakeLibreTranslate) -> None:
    first = fill(load_corpus(root), client)
    assert len(first.written) == 5
    sent = len(fake.requests)
    corpus = load_corpus(root)
    assert find_gaps(corpus, OTHERS) == []
    assert untranslated_passages(corpus, OTHERS) == 0
    second = fill(corpus, client)
    assert second == FillReport(written=(), passages_translated=0, gaps_left=0, errors=(), service_unreachable=False)
    assert len(fake.requests) == sent


def test_a_stale_corpus_does_not_overwrite_a_new_translation(root: Path, client: LibreTranslate) -> None:
    corpus = load_corpus(root)
    reviewed = BUNDLED / "translations" / "nos-interview-musk-trump" / "en.md"
    target = root / "translations" / "nos-interview-musk-trump" / "en.md"
    target.parent.mkdir(parents=True)
    shutil.copy(reviewed, target)  # added by a person after the corpus was loaded
    report = fill(corpus, client)
    assert target.read_bytes() == reviewed.read_bytes()
    assert target not in report.written and len(report.written) == 4
    assert report.gaps_left == 0


def test_texts_are_batched_by_count(tmp_path: Path, fake: FakeLibreTranslate) -> None:
    long_article(tmp_path)
    fake.batch_limit = 16  # the server refuses more, as a real one configured so would
    with fake.serve() as url, LibreTranslate(url, max_batch=16, timeout=5) as lt:
        report = fill(load_corpus(tmp_path), lt, ["en", "de"])
    assert report.errors == () and len(report.written) == 2
    per_language = {
        lang: sorted(len(r.texts) for r in fake.translate_requests if r.body["target"] == lang) for lang in ("en", "de")
    }
    assert per_language == {"en": [8, 16, 16], "de": [8, 16, 16]}
    assert report.passages_translated == 80


def test_texts_are_batched_by_characters(tmp_path: Path, fake: FakeLibreTranslate) -> None:
    sizes = [60, 90, 120, 40, 200, 30, 700, 80]
    write_article(tmp_path, "sized", [("w" * (size - 1)) + "." for size in sizes])
    translator = in_process(fake, max_chars=250)
    report = fill(load_corpus(tmp_path), translator, ["en"])
    assert report.errors == () and len(report.written) == 1
    sent = [[len(t) for t in r.texts] for r in fake.translate_requests]
    assert sorted(i for batch in sent for i in batch) == sorted(sizes)  # every text exactly once, none split
    assert all(sum(batch) <= 250 for batch in sent if len(batch) > 1)
    assert [700] in sent  # longer than max_chars: alone


def test_a_wrong_key_leaves_every_gap_and_says_why_once(root: Path, fake: FakeLibreTranslate) -> None:
    write_article(root, "alpha", ["Een.", "Twee."])
    fake.api_key = "the-right-key"
    with fake.serve() as url, LibreTranslate(url, api_key=KEY, timeout=5) as lt:
        report = fill(load_corpus(root), lt)
    assert report.written == ()
    assert report.gaps_left == 10
    assert len(report.errors) == 1
    assert report.errors[0].endswith(f"and 9 more: LibreTranslate at {url} answered 403: Invalid API key")
    assert not report.service_unreachable
    assert not (root / "translations").exists() or not any((root / "translations").rglob("*.md"))
    assert all(KEY not in error for error in report.errors)
    assert len(fake.translate_requests) == 10  # a client error is not retried


def test_server_errors_are_retried_then_reported(root: Path, client: LibreTranslate, fake: FakeLibreTranslate) -> None:
    fake.fail_next(500, "Cannot translate text: model crashed", times=1000)
    report = fill(load_corpus(root), client, ["en"], retries=2)
    assert report.written == () and report.gaps_left == 1
    assert report.errors == (
        f"nos-interview-musk-trump → en: LibreTranslate at {client.url} answered 500: "
        "Cannot translate text: model crashed",
    )
    assert len(fake.translate_requests) == 3  # one batch, tried three times


def test_a_503_is_retried_and_then_succeeds(root: Path, client: LibreTranslate, fake: FakeLibreTranslate) -> None:
    fake.fail_next(503, "busy", times=1)
    report = fill(load_corpus(root), client, ["en", "de"], concurrency=1)
    assert report.errors == ()
    assert len(report.written) == 2
    assert len(fake.translate_requests) == 3  # two batches, one of them twice
    assert all(p.translations["en"].method == "machine" for p in load_corpus(root).passages)


def test_a_timeout_leaves_the_gap(root: Path, fake: FakeLibreTranslate) -> None:
    fake.delay = 5
    with fake.serve() as url, LibreTranslate(url, timeout=0.2) as lt:
        report = fill(load_corpus(root), lt, ["en"], retries=0)
    assert report.written == () and report.gaps_left == 1
    assert report.errors == (f"nos-interview-musk-trump → en: LibreTranslate at {url} timed out after 0.2 s",)
    assert not report.service_unreachable


def test_a_malformed_response_is_not_retried(root: Path, fake: FakeLibreTranslate) -> None:
    fake.malformed = "short"
    report = fill(load_corpus(root), in_process(fake), ["en"], retries=2)
    assert report.written == () and report.gaps_left == 1
    assert len(report.errors) == 1 and "malformed response" in report.errors[0]
    assert len(fake.translate_requests) == 1


def test_an_unreachable_service_stops_the_fill(root: Path) -> None:
    for name in ("alpha", "beta"):
        write_article(root, name, [f"{name} een.", f"{name} twee."])
    with LibreTranslate(closed_port_url(), timeout=5) as lt:
        counting = Counting(lt)
        report = fill(load_corpus(root), counting, concurrency=4, retries=2)
    assert report.service_unreachable
    assert report.written == ()
    assert report.gaps_left == 15
    assert counting.calls <= 4  # at most the requests already under way; 15 gaps would have meant 15+
    assert report.errors and all("is unreachable ([Errno" in error for error in report.errors)


def test_requests_waiting_for_their_turn_are_dropped_when_the_service_is_down(root: Path) -> None:
    for name in ("alpha", "beta"):
        write_article(root, name, [f"{name} een."])
    # One start every two seconds. The first request is held until the three other threads have
    # taken their turns from the rate limiter (each reads the clock once) and are waiting for them;
    # then it fails, and they must give up instead of sending theirs (or sleeping their turn out).
    lock = threading.Lock()
    turns_taken = [0]
    all_waiting = threading.Event()

    def clock() -> float:
        with lock:
            turns_taken[0] += 1
            if turns_taken[0] == 4:
                all_waiting.set()
        return time.monotonic()

    class HeldUntilAllWait(Counting):
        def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
            assert all_waiting.wait(5)
            return super().translate_batch(texts, source, target)

    with LibreTranslate(closed_port_url(), timeout=5) as lt:
        counting = HeldUntilAllWait(lt)
        report = fill(load_corpus(root), counting, concurrency=4, requests_per_second=0.5, clock=clock)
    assert report.service_unreachable
    assert counting.calls == 1
    assert report.gaps_left == 15


def test_a_partly_failed_gap_writes_nothing_for_that_language(tmp_path: Path, fake: FakeLibreTranslate) -> None:
    long_article(tmp_path)

    def second_german_batch(request: Recorded) -> bool:
        return request.body.get("target") == "de" and "Paragraph 20 van het lange artikel." in request.texts

    fake.fail_matching(second_german_batch, 400, "Cannot translate this")
    with fake.serve() as url, LibreTranslate(url, max_batch=16, timeout=5) as lt:
        report = fill(load_corpus(tmp_path), lt, ["de", "en"], concurrency=1)
    # In order, one at a time: German batches 1 and 2 (failed; batch 3 is then not worth sending), English 1-3.
    assert [r.body["target"] for r in fake.translate_requests] == ["de", "de", "en", "en", "en"]
    folder = tmp_path / "translations" / "forty"
    assert not (folder / "de.md").exists()
    assert report.written == (folder / "en.md",)
    assert report.gaps_left == 1
    assert report.errors == (f"forty → de: LibreTranslate at {url} answered 400: Cannot translate this",)
    assert dot_files(tmp_path) == []
    reloaded = load_corpus(tmp_path)
    assert all(set(p.translations) == {"en"} for p in reloaded.passages)


def test_translations_are_sanitised_so_the_file_loads(tmp_path: Path, fake: FakeLibreTranslate) -> None:
    write_article(
        tmp_path,
        "messy",
        [("Kop", "Blank lines follow."), "Becomes a heading?", "Two\nlines.", ("Second", "Plain.")],
    )
    odd = {
        "Blank lines follow.": "\n  first line   \n\n\n  second line  \n\n",
        "Becomes a heading?": "## Not a heading after all",
        "Kop": "## Heading\n\nwith a break",
        "Two\nlines.": "Two\nlines, translated.  ",
    }
    fake.translate = lambda text, source, target: odd.get(text, f"[{target}] {text}")
    report = fill(load_corpus(tmp_path), in_process(fake), ["en"])
    assert report.errors == () and len(report.written) == 1
    first, second, third, fourth = load_corpus(tmp_path).passages
    assert first.translations["en"].heading == "Heading with a break"
    assert first.translations["en"].body == "first line\n  second line"
    assert second.translations["en"].heading is None
    assert second.translations["en"].body == "Not a heading after all"
    assert third.translations["en"].body == "Two\nlines, translated."
    assert (fourth.translations["en"].heading, fourth.translations["en"].body) == ("[en] Second", "[en] Plain.")


def test_an_empty_translation_fails_its_gap_only(root: Path, fake: FakeLibreTranslate) -> None:
    def translate(text: str, source: str, target: str) -> str:
        if target == "de" and text == "Wachtmuziekje":
            return " \n "
        if target == "es" and text.startswith("Enige tijd bleef het stil"):
            return "##"
        return f"[{target}] {text}"

    fake.translate = translate
    report = fill(load_corpus(root), in_process(fake), ["de", "en", "es"])
    folder = root / "translations" / "nos-interview-musk-trump"
    assert report.written == (folder / "en.md",)
    assert report.gaps_left == 2
    assert sorted(report.errors) == [
        "nos-interview-musk-trump → de: LibreTranslate returned an empty subheading for passage 4",
        "nos-interview-musk-trump → es: LibreTranslate returned an empty translation of passage 5",
    ]
    assert not (folder / "de.md").exists() and not (folder / "es.md").exists()


def test_progress_counts_texts_up_to_the_total(root: Path, fake: FakeLibreTranslate) -> None:
    calls: list[tuple[int, int]] = []
    report = fill(load_corpus(root), in_process(fake, max_batch=4), ["en", "de"], progress=lambda *c: calls.append(c))
    texts = 2 * (len(load_corpus(root).passages) + 1)  # each passage, plus the one subheading, in two languages
    assert len(report.written) == 2
    assert len(calls) == len(fake.translate_requests) > 1
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert calls[-1] == (texts, texts)
    assert {total for _, total in calls} == {texts}


def test_only_the_chosen_articles_are_filled(root: Path, fake: FakeLibreTranslate) -> None:
    write_article(root, "alpha", ["Een."])
    report = fill(load_corpus(root), in_process(fake), ["en"], articles={"alpha", "no-such-article"})
    assert report.written == (root / "translations" / "alpha" / "en.md",)
    assert report.errors == ("no article has the id 'no-such-article'",)
    assert {r.body["q"][0] for r in fake.translate_requests} == {"Een."}


def test_too_many_distinct_errors_are_summarised(tmp_path: Path) -> None:
    class Refusing:
        name, max_batch, max_chars = "Refusing", 16, 5000

        def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
            raise TranslationError(f"cannot translate {texts[0]!r}")

    for i in range(15):
        write_article(tmp_path, f"article-{i:02d}", [f"Tekst {i}."])
    report = fill(load_corpus(tmp_path), Refusing(), ["en"], concurrency=1)
    assert report.gaps_left == 15
    assert len(report.errors) == MAX_ERRORS
    assert report.errors[0] == "article-00 → en: cannot translate 'Tekst 0.'"
    assert report.errors[-1] == "and 6 other errors"


def test_the_rate_limiter_spaces_starts_with_a_fake_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.5, 0.5]
    now[0] += 10  # idle for a while: the next request may start at once
    limiter.wait()
    assert slept == [0.5, 0.5]
    limiter.wait()
    assert slept == [0.5, 0.5, 0.5]
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_fill_spaces_request_starts_across_threads(tmp_path: Path, fake: FakeLibreTranslate) -> None:
    long_article(tmp_path)
    slept: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    frozen: Callable[[], float] = lambda: 0.0  # noqa: E731 - time stands still: each start waits for its own slot
    report = fill(
        load_corpus(tmp_path),
        in_process(fake, max_batch=8),
        ["en", "de"],
        concurrency=4,
        requests_per_second=4.0,
        clock=frozen,
        sleep=sleep,
    )
    assert len(report.written) == 2
    requests = len(fake.translate_requests)
    assert requests == 10
    assert sorted(slept) == [0.25 * k for k in range(1, requests)]
