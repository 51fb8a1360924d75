"""Credit lines in corpus files ("With Agence France-Presse") are never quoted as answers."""

from __future__ import annotations

import pytest

from index import Engine
from index.corpus.credits import is_credit_line


def test_the_bundled_corpus_has_credit_lines_and_the_engine_marks_them(engine: Engine) -> None:
    marked = (
        {engine.corpus.passages[int(i)].key for i in engine.credits.nonzero()[0]}
        if engine.credits is not None
        else set()
    )
    assert marked == {"bbc-indonesia-masalah-teknis#42", "lapresse-trump-recu-en-ami#17"}


@pytest.mark.parametrize(
    "question",
    ["asdf qwerty", "x", "1<2", "INJ", "Who contributed to this report?", "Agence France-Presse", "João da Silva"],
)
@pytest.mark.parametrize("language", [None, "fr", "id"])
def test_no_question_gets_a_credit_line(engine: Engine, question: str, language: str | None) -> None:
    """Nor does one asked as typed, past the check for known words."""
    for spell in (True, False):
        answer = engine.ask(question, language=language, k=10, spell=spell)
        quoted = [r for r in (*answer.results, *answer.more)]
        assert not any(is_credit_line(r.text) for r in quoted), [r.text for r in quoted]
        assert not any(is_credit_line(c.text) for r in quoted for c in r.also_reported_by)
