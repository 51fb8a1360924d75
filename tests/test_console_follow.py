"""Following in the console: /follow, /following, /unfollow, and alerts printed after /add or /reload."""

from __future__ import annotations

from pathlib import Path

from bot._console import Console
from bot._i18n import strings
from index import Engine

from .test_curation import make_service

FR = strings("fr")
QUESTION = "Combien de bouteilles le vignoble breton a-t-il produites ?"
ARTICLE = """---
id: ouest-vignoble-breton
title: "Un vignoble breton signe sa première vraie récolte"
source: "Ouest Actualités"
url: "https://ouest.test/vignoble-breton"
published: 2026-11-20
language: fr
---
Le vignoble de Sarzeau, dans le Morbihan, a produit cette année environ 3 200 bouteilles de vin blanc,
une première pour la Bretagne.

Les bouteilles sont vendues 18 euros chacune au domaine et chez quelques cavistes de la région.

Le viticulteur Yann Le Goff explique que l'été chaud et sec a permis aux raisins de mûrir pleinement.
"""


def test_the_console_follows_and_prints_the_alert_after_an_article_is_added(
    corpus_copy: Path, engine: Engine, embedding_cache: Path, tmp_path: Path
) -> None:
    console = Console(make_service(corpus_copy, engine, embedding_cache))
    console.language = "fr"
    assert console.respond(f"/follow {QUESTION}") == FR("console_follow_done", question=QUESTION)
    assert console.respond(f"/follow {QUESTION}").startswith("Vous suivez déjà")
    assert "1. " + QUESTION in console.respond("/following")
    article = tmp_path / "ouest-vignoble-breton.md"
    article.write_text(ARTICLE, encoding="utf-8")
    printed = console.respond(f"/add {article}")
    assert f"**Nouvelle couverture** sur votre question {QUESTION}" in printed and "3 200 bouteilles" in printed
    assert "Nouvelle couverture" not in console.respond("/reload")  # printed once
    assert console.respond("/unfollow 1") == FR("console_unfollow_done", question=QUESTION)
    assert console.respond("/following") == FR("console_following_none")
