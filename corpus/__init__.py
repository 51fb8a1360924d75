"""The bundled corpus (data only): BUNDLED is its directory."""

from pathlib import Path

BUNDLED = Path(__file__).resolve().parent
