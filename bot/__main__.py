"""``python -m bot`` and the ``newsbot`` script: the same command line as bot.py."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
