"""Following a story: questions people follow, and the new coverage that answers them.

This wing keeps what lasts and what is cheap to recompute apart from Telegram:

* :mod:`.database`: the embedded SQLite database (schema version, migrations, a damaged
  or locked file named in one clear error), which also holds the bot's other state;
* :mod:`.store`: follows, the followed questions' vectors, and each alert from "due" to
  "sent", so that a restart delivers what was due exactly once;
* :mod:`.matching`: the new passages' sentences against every followed question at once,
  so only the questions that come close are asked in full;
* :mod:`.coverage`: those questions asked of the new passages under the engine's own
  answer gate, one alert per article and follower, corroborations not sent as news.

Nothing here imports Telegram; the bot (``bot/_follow.py``, ``bot/_alerts.py``) and the
console sit on top.
"""

from __future__ import annotations

from .coverage import Finding, find_new_coverage
from .database import Database, DatabaseError
from .matching import QuestionVectors
from .store import (
    CONSOLE_CHAT,
    MAX_FOLLOWS,
    Alert,
    AlertCounts,
    Follow,
    FollowOutcome,
    FollowStore,
    question_key,
)

__all__ = [
    "CONSOLE_CHAT",
    "MAX_FOLLOWS",
    "Alert",
    "AlertCounts",
    "Database",
    "DatabaseError",
    "Finding",
    "Follow",
    "FollowOutcome",
    "FollowStore",
    "QuestionVectors",
    "find_new_coverage",
    "question_key",
]
