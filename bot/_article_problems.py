"""One article's problems, worded as such: the file is named once, and nothing says "the corpus".

:class:`index.CorpusError` reads "2 problems in the corpus:", right for a corpus that will not load
but misleading for a single file someone tried to add (``corpus add``, the console's ``/add``).
"""

from __future__ import annotations

from index import CorpusError


def problem_lines(error: CorpusError, name: str) -> list[str]:
    """Each problem of the article ``name``, without the name where the heading already gives it."""
    lines = []
    for problem in error.problems:
        if str(problem.path) == name:
            where = f"line {problem.line}: " if problem.line else ""
            lines.append(f"{where}{problem.message}")
        else:
            lines.append(str(problem))
    return lines


def article_problems(error: CorpusError, name: str, heading: str | None = None) -> str:
    """The heading (by default, in English, that nothing was added and why), then one indented line per problem."""
    heading = heading or f"Nothing was added: this article, {name}, has problems:"
    return "\n".join([heading, *(f"  - {line}" for line in problem_lines(error, name))])
