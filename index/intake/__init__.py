"""Documents from outside turned into article files the corpus loader accepts.

An upload (Markdown with front matter, plain text or an HTML page with its
fields in a caption) becomes a :class:`PreparedArticle`, or a list of every
problem found; :func:`prepare_article` does that, :data:`CAPTION_FIELDS` names
what a caption may set, and :func:`make_id` derives a slug from a title.
"""

from __future__ import annotations

from .upload import CAPTION_FIELDS, PreparedArticle, Upload, human_sizes, make_id, prepare_article

__all__ = ["CAPTION_FIELDS", "PreparedArticle", "Upload", "human_sizes", "make_id", "prepare_article"]
