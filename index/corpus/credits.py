"""Credit lines: bylines, contributor notes and agency lines, which answer no question.

"With Agence France-Presse", "João da Silva contributed to this report",
"menyumbang untuk laporan ini": a news article often ends with such a line, and
being short and about nothing, it was what nonsense questions came closest to
("asdf qwerty" got "With Agence France-Presse"). They are not answers to anything:
intake leaves them out of the passages it saves (:mod:`index.intake.upload`), and
the engine never offers one already in a corpus file as a candidate (a file keeps
it, so its translations stay aligned paragraph for paragraph).

Only a short, single-line paragraph can be a credit line, and only when it has
one of the shapes below, in the six answer languages: a sentence that merely
mentions an agency ("Reuters reported that…") is not one.
"""

from __future__ import annotations

import re
from typing import Final

MAX_WORDS: Final = 15
"""A credit line is short: a longer paragraph is text, whatever it says."""
_MAX_CHARACTERS: Final = 300

_AGENCY: Final = (
    r"(?:(?:l['’]\s*|la\s+|le\s+|les\s+|the\s+|der\s+|die\s+|het\s+|de\s+)?"
    r"(?:agence\s+france[-\s]presse|afp|reuters|(?:the\s+)?associated\s+press|ap|dpa|efe|europa\s+press|anp|"
    r"antara|belga|ansa|kyodo|xinhua|bloomberg|(?:la\s+)?presse\s+canadienne|(?:the\s+)?canadian\s+press|"
    r"agencies|agences?|agenturen|agencias|kantor\s+berita\s+\w+|nachrichtenagenturen|persbureaus?))"
)
_WITH: Final = r"(?:with|avec|mit|met|con|dengan|y|and|et|und|en|dan)"
_PARTICLE: Final = r"(?:da|de|del|della|van|von|der|den|la|le|y|e|bin|binti)"
_NAMES: Final = rf"(?:[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+{_PARTICLE}\b)?\s*,?\s*){{1,5}}"

_SHAPES: Final = tuple(
    re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    for pattern, ignore_case in (
        # "With Agence France-Presse", "Mit Material der AFP", "Con información de EFE", "(AFP)"
        (rf"^{_WITH}\b[^.!?]{{0,40}}?\b{_AGENCY}\W*$", True),
        (rf"^\W*{_AGENCY}(?:\s*(?:/|,|and|et|und|en|y|dan)\s*{_AGENCY})*\W*$", True),
        (rf"^(?:source|sources|bron|bronnen|quelle|quellen|fuente|fuentes|sumber)\s*:\s*{_AGENCY}\b", True),
        # "X contributed to this report" and its kin
        (r"\bcontribut(?:ed|ing)\s+(?:reporting\s+)?to\s+this\s+(?:report|article|story)\b", True),
        (
            r"\ba\s+(?:contribué|collaboré|participé)\s+à\s+(?:cet\s+article|ce\s+reportage|cette\s+dépêche)\b",
            True,
        ),
        (
            r"\b(?:menyumbang(?:kan)?|berkontribusi)\s+(?:untuk|dalam|pada|bagi)\s+"
            r"(?:laporan|artikel|tulisan|berita)\s+ini\b",
            True,
        ),
        (
            r"\b(?:heeft|hebben|droeg|droegen)\s+(?:bij|bijgedragen|meegewerkt)\s+(?:aan\s+)?(?:dit|deze)\s+"
            r"(?:verslag|artikel|bericht|reportage)\b",
            True,
        ),
        (r"\b(?:dit|deze)\s+(?:verslag|artikel|bericht)\b.{0,20}\b(?:bijgedragen|meegewerkt)\b", True),
        (
            r"\b(?:hat|haben)\s+(?:zu|an)\s+(?:diesem|dem)\s+(?:Bericht|Artikel|Beitrag)\s+"
            r"(?:beigetragen|mitgewirkt)\b",
            True,
        ),
        (
            r"\b(?:contribuyó|contribuyeron|colaboró|colaboraron)\s+(?:a|con|en)\s+(?:este|esta)\s+"
            r"(?:reportaje|informe|artículo|nota|información)\b",
            True,
        ),
        # "Additional reporting by …", "Propos recueillis par …", "Mitarbeit: …"
        (r"^(?:additional\s+)?reporting\s+(?:by|from)\b", True),
        (r"^(?:(?:avec\s+la\s+)?collaboration\s+(?:de|d['’])|propos\s+recueillis\s+par)\b", True),
        (r"^(?:met\s+medewerking\s+van|laporan\s+tambahan\s+oleh|reportase\s+tambahan\s+oleh)\b", True),
        (r"^(?:mitarbeit|mit\s+material\s+von|redacción|redaksi|penulis|editor|text|texte|tekst|texto)\s*:", True),
        (r"^(?:photos?|fotos?|image|images|bild|bilder|illustration|beeld|gambar)\s*:", True),
        # "By Jane Doe", "Par Jean Dupont", "Door Jan de Vries", "Von Hans Müller", "Por Ana Pérez", "Oleh Budi"
        (rf"^(?:[Bb]y|[Pp]ar|[Dd]oor|[Vv]on|[Pp]or|[Oo]leh)\s+{_NAMES}(?:[-–—|,]\s*{_NAMES})?\W*$", False),
    )
)


def is_credit_line(text: str) -> bool:
    """Whether ``text``, a whole paragraph, is a byline, a contributor note or an agency line."""
    if len(text) > _MAX_CHARACTERS:
        return False
    text = " ".join(text.split()) if "\n" not in text.strip() else ""
    if not text or len(text.split()) > MAX_WORDS:
        return False
    return any(shape.search(text) for shape in _SHAPES)
