"""WordNet's related words as a post may write them: plain words, and the stems that find them fast.

A related phrase ("great white shark", "honeybee") matches a post's words compared without plural or
possessive endings, not as stems: a stem folds "gaming" (a word for gambling) into "game".
"""

from __future__ import annotations

from functools import lru_cache

from shared.moderation.text import stem, tokenize


def plain_word(word: str) -> str:
    """A word without its possessive or plural ending ("honeybees" -> "honeybee", "rat's" -> "rat").

    Related words are compared in this form, not as stems: a stem folds "gaming" (gambling) into "game".
    """
    word = word.removesuffix("'s")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@lru_cache(maxsize=4096)
def related_phrases(related: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    """Each phrase as its plain words, by its first word's stem (what a post's token is tested with first)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for r in related:
        phrase = tuple(plain_word(w) for w in tokenize(r).words)
        if phrase:
            out.setdefault(stem(phrase[0]), []).append(phrase)
    return out


def related_stems(related: tuple[str, ...]) -> frozenset[str]:
    """Stems of the related phrases' first words: a post none of whose stems is here mentions none of them."""
    return frozenset(related_phrases(related))
