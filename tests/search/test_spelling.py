"""Typing mistakes: corrected against the corpus's own words, never a known word changed; nonsense refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import Corpus, Engine
from index.search.answer import Answer
from index.search.spelling import Corrector, corpus_words


@pytest.fixture(scope="module")
def speller(bundled: Corpus) -> Corrector:
    texts = [(r.text, r.language) for p in bundled.passages for r in p.renditions()]
    return Corrector.of_texts([*texts, *((a.title, a.language) for a in bundled.articles)])


@pytest.fixture(scope="module")
def vocabulary(bundled: Corpus) -> list[str]:
    by_language = corpus_words((r.text, r.language) for p in bundled.passages for r in p.renditions())
    return sorted({word for counts in by_language.values() for word in counts})


def shown(answer: Answer) -> list[tuple[str, int]]:
    return [(r.article_id, r.passage_index) for r in answer.results]


# -- the corrector alone --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant", "language"),
    [
        ("Why was the Space delayd?", "Why was the Space delayed?", "en"),  # a letter dropped
        ("How many folowers does Musk have?", "How many followers does Musk have?", "en"),
        ("Who is Linda Yacarino?", "Who is Linda Yaccarino?", "en"),  # a name, its capital kept
        ("What did Anthny Lim say?", "What did Anthony Lim say?", "en"),
        ("Pourquoi la conversaton a-t-elle été retardée ?", "Pourquoi la conversation a-t-elle été retardée ?", "fr"),
        ("Welke aanval werd uitgevoedr?", "Welke aanval werd uitgevoerd?", "nl"),  # two letters swapped
        ("Was sagte Lim über den Angrif?", "Was sagte Lim über den Angriff?", "de"),
    ],
)
def test_a_typing_mistake_is_read_as_the_corpus_word(speller: Corrector, typed: str, meant: str, language: str) -> None:
    correction = speller.correct(typed, language)
    assert correction.text == meant
    assert correction.changed and len(correction.changes) == 1


def test_a_word_is_corrected_only_to_a_word_of_the_question_s_language() -> None:
    """"recett" in a French question (a typo of "recette") must not become the English "recent"."""
    speller = Corrector.of(["recent", "target"], "en")
    speller.add(["récent", "matin"], "fr")
    assert not speller.correct("Quelle est la recett de la taret ?", "fr").changed
    assert speller.correct("the recnt target", "en").text == "the recent target"


def test_a_name_keeps_its_first_letter_but_may_come_from_any_language() -> None:
    speller = Corrector.of(["matin"], "fr")
    speller.add(["yaccarino"], "id")
    assert not speller.correct("la tarte Tatin", "fr").changed  # "Tatin" is no typo of "Matin"
    assert speller.correct("Who is Yacarino?", "en").text == "Who is Yaccarino?"


def test_words_of_nine_letters_or_more_may_take_two_edits_shorter_ones_one(speller: Corrector) -> None:
    assert speller.correct("Yacarinno", "en").text == "Yaccarino"  # 9 letters, two edits
    assert speller.correct("folloers", "en").text == "followers"  # 8 letters, one edit
    assert not speller.correct("folowrs", "en").changed  # 7 letters, two edits away: left as typed
    assert not speller.correct("spce", "en").changed  # under 5 letters: never corrected


def test_numbers_and_codes_are_never_changed(speller: Corrector) -> None:
    """A number one digit off is another number, not a typo: "1930" must not become "193"."""
    assert speller.knows("193")
    for typed in ("1930 followers", "Is it 17h24?", "the F-16 jets", "193 millions"):
        assert speller.correct(typed, "en").text.split()[0] == typed.split()[0]
        assert not any(ch.isdigit() for change in speller.correct(typed, "en").changes for ch in change.typed)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_word_the_corpus_holds_is_never_changed(
    speller: Corrector, vocabulary: list[str], data: st.DataObject
) -> None:
    words = data.draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=6))
    question = " ".join(words)
    assert speller.correct(question, data.draw(st.sampled_from(["en", "fr", "de", None]))).text == question


@pytest.mark.parametrize("word", ["because", "warum", "pourquoi", "mengapa", "waarom", "dónde"])
def test_a_language_s_common_words_are_never_changed(word: str) -> None:
    speller = Corrector.of(["because", "warm", "pourquoi", "waarom", "mengapa", "donde", "beckham", "warumi"])
    assert not speller.correct(word, "en").changed


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Hoe lang moet je een ei koken?", "nl"),  # the corpus says "komen"
        ("Combien de temps faut-il faire bouillir l'eau ?", "fr"),  # and "maire"
        ("Berapa biaya pembuatan perahu?", "id"),  # and "pembukaan"
    ],
)
def test_a_common_word_of_the_language_is_never_changed(question: str, language: str) -> None:
    speller = Corrector.of(["komen", "maire", "pembukaan", "perahu", "bouillir"], language)
    assert not speller.correct(question, language).changed
    assert Corrector.of(["komen"], "nl").correct("Hoe lang moet je komne?", "nl").text == "Hoe lang moet je komen?"


def test_an_inflection_of_a_corpus_word_is_known(speller: Corrector, vocabulary: list[str]) -> None:
    """The corpus says "delayed"; "delays" is that word inflected, not a typing mistake."""
    assert "delays" not in vocabulary and "delayed" in vocabulary
    assert speller.knows("delays", "en")
    assert not speller.correct("Why the delays?", "en").changed


def test_words_added_later_are_known_and_corrected_to() -> None:
    speller = Corrector.of(["lighthouse", "keeper"])
    assert speller.correct("the lighthuose keeper", "en").text == "the lighthouse keeper"
    assert not speller.correct("hamburg harbour", "en").changed
    speller.add(["hamburg", "harbour", "harbour"])
    assert speller.correct("hambrug harbuor", "en").text == "hamburg harbour"
    assert speller.knows("hamburg")


@pytest.mark.parametrize("question", ["asdf qwerty", "x", "INJ", "1<2", "lasagna recipe", "?!", ""])
def test_nonsense_knows_no_word(speller: Corrector, question: str) -> None:
    assert not speller.knows_any(question)


@pytest.mark.parametrize("question", ["Why was the Space delayed?", "Wer ist Musk?", "what is it", "193"])
def test_a_question_with_a_known_word_knows_one(speller: Corrector, question: str) -> None:
    assert speller.knows_any(question)


# -- through the engine -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("Why was the Space delayd?", "Why was the Space delayed?"),
        ("How many folowers does Musk have on X?", "How many followers does Musk have on X?"),
        ("Wat zei Linda Yacarino over de brief van de EU?", "Wat zei Linda Yaccarino over de brief van de EU?"),
    ],
)
def test_a_corrected_question_finds_what_the_clean_one_finds(engine: Engine, typed: str, clean: str) -> None:
    asked, meant = engine.ask(typed), engine.ask(clean)
    assert meant.answered
    assert asked.confidence == meant.confidence
    assert shown(asked)[:1] == shown(meant)[:1]
    assert set(shown(asked)) & set(shown(meant))
    assert asked.question == typed  # the reply quotes what was asked


def test_words_too_short_to_correct_still_never_hide_the_answer(engine: Engine) -> None:
    """"teh" and "spce" are too short to correct (one edit from five letters): the rest still finds the answer."""
    asked, meant = engine.ask("why was teh spce delayd"), engine.ask("why was the space delayed")
    assert asked.confidence != "none" and asked.read_as == "why was teh spce delayed"
    assert set(shown(asked)) & set(shown(meant))


def test_read_as_is_set_only_when_the_correction_changed_the_answer(engine: Engine) -> None:
    typed = "Why was the Space delayd?"
    corrected, as_typed = engine.ask(typed), engine.ask(typed, spell=False)
    assert shown(corrected) != shown(as_typed)  # as typed, the DDoS passage is lost
    assert corrected.read_as == "Why was the Space delayed?"
    assert corrected.to_json()["read_as"] == "Why was the Space delayed?"
    clean = engine.ask("Why was the Space delayed?")
    assert clean.read_as is None and "read_as" not in clean.to_json()


def test_read_as_stays_unset_when_the_correction_changes_nothing_shown(engine: Engine) -> None:
    """"conversaton" and "conversation" find the same passages: nothing to tell the reader."""
    typed = "Pourquoi la conversaton a-t-elle été retardée ?"
    corrected, as_typed = engine.ask(typed), engine.ask(typed, spell=False)
    assert shown(corrected) == shown(as_typed) and corrected.answered and as_typed.answered
    assert corrected.read_as is None and "read_as" not in corrected.to_json()


@pytest.mark.parametrize("question", ["asdf qwerty", "x", "INJ", "1<2", "lasagna recipe"])
def test_a_question_with_no_known_word_is_refused(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.confidence == "none" and answer.results == () and answer.more == ()
    inline = engine.ask(question, language="fr", k=10)
    assert inline.confidence == "none" and inline.language == "fr"
    followed = engine.answers_from(question, range(len(engine.corpus.passages)))
    assert followed.confidence == "none"


def test_answers_from_reads_typing_mistakes_too(engine: Engine) -> None:
    clean = engine.ask("Why was the Space delayed?")
    lead = clean.results[0]
    numbers = [
        i
        for i, p in enumerate(engine.corpus.passages)
        if (p.article.id, p.position) == (lead.article_id, lead.passage_index)
    ]
    answer = engine.answers_from("Why was the Space delayd?", numbers)
    assert answer.answered and shown(answer)[:1] == shown(clean)[:1]
    assert answer.question == "Why was the Space delayd?"
