"""An engine updated by a change answers as one built whole, and the change costs only what it brought.

Random sequences of adds, edits and removals of articles on disk, each taken
by ``Engine.build(previous=...)`` as a delta, must leave every answer (results,
order, scores to 1e-6, highlights, corroboration, confidence) where a full
build of the same corpus on the same backend puts it; and the encoder and the
analyser are asked only about the added and edited articles' texts.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import Engine, load_corpus
from index.languages import LanguageDetector
from index.search.bundle import EMPTY
from index.search.embedded import EmbeddedBackend
from index.search.growth import SharedRows

from ..conftest import HashingEmbedder, count_analysed

SENTENCES = {
    "en": [
        "The harbour reopened after the storm damaged the northern pier.",
        "Fishermen said the catch of cod fell sharply this winter.",
        "The council voted to build a new bridge over the river.",
        "Volunteers planted two thousand trees along the railway line.",
        "A heatwave closed schools in the south for three days.",
        "The museum returned a stolen painting to its owners.",
        "Engineers tested a tidal turbine near the lighthouse.",
        "The football club signed a young striker from Lisbon.",
    ],
    "fr": [
        "Le port a rouvert après que la tempête a endommagé la jetée nord.",
        "Les pêcheurs ont dit que la pêche de morue a fortement baissé cet hiver.",
        "Le conseil a voté la construction d'un nouveau pont sur la rivière.",
        "Des bénévoles ont planté deux mille arbres le long de la voie ferrée.",
    ],
}
QUESTIONS = [
    "Why did the harbour reopen?",
    "What happened to the cod catch?",
    "Who planted trees along the railway?",
    "Quand le port a-t-il rouvert ?",
    "Which club signed a striker?",
    "turbine lighthouse",
]


def write(root: Path, article_id: str, seed: int) -> None:
    rng = random.Random(seed)
    language = "fr" if seed % 3 == 0 else "en"
    paragraphs = [" ".join(rng.sample(SENTENCES[language], 2)) for _ in range(rng.randint(1, 3))]
    front = (
        f'---\nid: {article_id}\ntitle: "Report {article_id}"\nsource: "Source {seed % 4}"\nurl: ""\n'
        f"published: 2024-08-13\nlanguage: {language}\n---\n"
    )
    (root / "articles").mkdir(parents=True, exist_ok=True)
    (root / "articles" / f"{article_id}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def answers(engine: Engine) -> list[dict[str, object]]:
    return [engine.ask(q, k=3).to_json() for q in QUESTIONS]


def assert_same_answers(got: list[dict[str, object]], expected: list[dict[str, object]]) -> None:
    for a, b in zip(got, expected, strict=True):
        scores_a = [r.pop("score") for r in [*a["results"]]]  # type: ignore[union-attr]
        scores_b = [r.pop("score") for r in [*b["results"]]]  # type: ignore[union-attr]
        np.testing.assert_allclose(scores_a, scores_b, rtol=0, atol=1e-6)
        assert a == b


@pytest.fixture(scope="module")
def detector_() -> LanguageDetector:
    return LanguageDetector()


steps = st.lists(st.tuples(st.sampled_from(["add", "edit", "remove"]), st.integers(0, 1000)), min_size=1, max_size=6)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(steps)
def test_any_sequence_of_changes_answers_as_a_full_build(
    tmp_path_factory: pytest.TempPathFactory, detector_: LanguageDetector, changes: list[tuple[str, int]]
) -> None:
    root = tmp_path_factory.mktemp("growth")
    for i in range(5):
        write(root, f"a{i:02d}", i)
    embedder = HashingEmbedder()
    backend = EmbeddedBackend(background=False)
    engine = Engine.build(load_corpus(root), embedder=embedder, detector=detector_, backend=backend, bundle=EMPTY)
    for kind, seed in changes:
        present = sorted(p.stem for p in (root / "articles").glob("*.md"))
        if kind == "remove" and len(present) > 1:
            (root / "articles" / f"{present[seed % len(present)]}.md").unlink()
        elif kind == "edit":
            write(root, present[seed % len(present)], seed + 7)
        else:
            write(root, f"a{seed % 40:02d}", seed)
        engine = Engine.build(
            load_corpus(root), embedder=embedder, detector=detector_, backend=backend, previous=engine, bundle=EMPTY
        )
        backend.merge_now()
    rebuilt = Engine.build(load_corpus(root), embedder=embedder, detector=detector_, backend=backend, bundle=EMPTY)
    assert_same_answers(answers(engine), answers(rebuilt))
    for language in ("en", "fr"):
        assert engine.readable_share.get(language) == rebuilt.readable_share.get(language)
        for table in ("vectors", "echoes"):
            got, want = getattr(engine.background, table), getattr(rebuilt.background, table)
            if language in want:
                # A removal takes away its sentences as the int8 index reads them back: within int8's error.
                np.testing.assert_allclose(got[language], want[language], atol=5e-3)
    shutil.rmtree(root)


def test_an_add_embeds_and_analyses_only_what_it_brings(
    tmp_path: Path, detector_: LanguageDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(12):
        write(tmp_path, f"a{i:02d}", i)
    embedder = HashingEmbedder()
    backend = EmbeddedBackend(background=False)
    engine = Engine.build(load_corpus(tmp_path), embedder=embedder, detector=detector_, backend=backend, bundle=EMPTY)
    analysed = count_analysed(monkeypatch)
    embedder.calls.clear()
    write(tmp_path, "b00", 4)
    corpus = load_corpus(tmp_path)
    added = [p for p in corpus.passages if p.article.id == "b00"]
    engine = Engine.build(corpus, embedder=embedder, detector=detector_, backend=backend, previous=engine, bundle=EMPTY)
    assert sorted(analysed) == sorted(p.text for p in added)
    # Its passages and their sentences, nothing else: the corpus's other texts are not embedded again.
    assert 0 < sum(embedder.calls) <= 2 * len(added) + sum(p.text.count(".") for p in added)
    assert engine.stats.texts == len(added)
    # What it brings answers: its own first sentence finds it.
    found = engine.ask(added[0].text.split(". ")[0], k=10).results
    assert any(r.article_id == "b00" for r in [*found, *[c for r in found for c in r.also_reported_by]])


def test_a_start_says_in_one_line_that_the_index_and_the_corpus_on_disk_agree(
    tmp_path: Path, detector_: LanguageDetector, caplog: pytest.LogCaptureFixture
) -> None:
    """After a kill (mid-add, mid-merge) the next start indexes what the disk holds, and says so once."""
    for i in range(3):
        write(tmp_path, f"a{i:02d}", i)
    (tmp_path / "articles" / ".a09.md.1234.tmp").write_text("half-written, never renamed into place")
    caplog.set_level("INFO", logger="index.search.engine")
    corpus = load_corpus(tmp_path)
    Engine.build(corpus, embedder=HashingEmbedder(), detector=detector_, bundle=EMPTY)
    said = [r.getMessage() for r in caplog.records if "as the corpus on disk holds them" in r.getMessage()]
    assert said == [
        f"index built whole on embedded: 3 articles, {len(corpus.passages)} passages, as the corpus on disk holds them"
    ]


def test_engines_made_one_from_another_share_centroid_rows_and_never_overwrite_them() -> None:
    shared = SharedRows(np.ones((3, 2), np.float32))
    same, at = shared.appended(np.full((2, 2), 2.0, np.float32))
    assert same is shared and at == 3
    _, later = shared.appended(np.full((1, 2), 3.0, np.float32))  # a second engine made from the same one
    assert later == 5
    np.testing.assert_array_equal(shared.buffer[:6], [[1, 1]] * 3 + [[2, 2]] * 2 + [[3, 3]])
    grown, start = shared.appended(np.zeros((200, 2), np.float32))
    assert grown is not shared and start == 6 and shared.used == 6  # full: a bigger copy; the old one untouched
    np.testing.assert_array_equal(grown.buffer[:6], shared.buffer[:6])


def test_an_add_teaches_the_speller_its_words_and_keeps_its_credit_lines_out(
    tmp_path: Path, detector_: LanguageDetector
) -> None:
    for i in range(4):
        write(tmp_path, f"a{i:02d}", i + 1)
    backend = EmbeddedBackend(background=False)
    embedder = HashingEmbedder()
    engine = Engine.build(
        load_corpus(tmp_path), embedder=embedder, detector=detector_, backend=backend, bundle=EMPTY
    )
    assert engine.speller is not None and not engine.speller.knows("zeppelins")
    front = '---\nid: b00\ntitle: "Airships"\nsource: "Source"\nurl: ""\npublished: 2024-08-13\nlanguage: en\n---\n'
    body = "Zeppelins returned to the northern skies over the harbour.\n\nWith Agence France-Presse\n"
    (tmp_path / "articles" / "b00.md").write_text(front + body, encoding="utf-8")
    corpus = load_corpus(tmp_path)
    grown = Engine.build(corpus, embedder=embedder, detector=detector_, backend=backend, previous=engine, bundle=EMPTY)
    rebuilt = Engine.build(
        load_corpus(tmp_path), embedder=HashingEmbedder(), detector=detector_, backend=EmbeddedBackend(), bundle=EMPTY
    )
    assert grown.speller is not None and grown.speller.knows("zeppelins")
    answer = grown.ask("Why did the zepelins return?", k=3)
    assert answer.read_as is not None and "zeppelins" in answer.read_as.casefold()
    assert grown.credits is not None and rebuilt.credits is not None
    np.testing.assert_array_equal(grown.credits, rebuilt.credits)
    assert grown.credits.sum() == 1
