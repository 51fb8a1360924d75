"""How text is emphasised where it is printed: real bold on a terminal, ``**markers**`` anywhere else."""

from __future__ import annotations

import os
from typing import TextIO

Emphasis = tuple[str, str]
"""What goes before and after an emphasised span."""

MARKERS: Emphasis = ("**", "**")
"""Plain text (a pipe, a file, ``ask`` read by a script): the Markdown convention."""
ANSI_BOLD: Emphasis = ("\x1b[1m", "\x1b[22m")
"""SGR bold on, then normal intensity (not a full reset, which would also end other styles)."""


def emphasis_for(stream: TextIO) -> Emphasis:
    """Bold for a terminal that shows it; markers for anything else, or when NO_COLOR or TERM=dumb asks for plain."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return MARKERS
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return MARKERS
    return ANSI_BOLD
