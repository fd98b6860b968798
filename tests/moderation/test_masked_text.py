"""The masked copy of a post (``without_subject``) is built from the tokens the matcher has already read
(``masked_copy``): the same copy the fitted weights were made with, on the joined text as on its fields."""

from __future__ import annotations

import re

from bench.eval_sets import in_repo_set
from bench.open_vocab_data import pooled_development
from shared.models import Filter
from shared.moderation.evidence import post_text, subject_stems, without_subject
from shared.moderation.local import post_fields
from shared.moderation.open_vocab import _masked_texts, concept_for
from shared.moderation.text import stem

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def word_by_word(topic: str, text: str) -> str:
    """How the copies were made when the weights were fitted: each run of letters, hyphens and apostrophes
    one word, replaced when its stem is one of the filter's."""
    stems = subject_stems(topic)
    return _WORD.sub(lambda m: "it" if stem(m.group(0).lower()) in stems else m.group(0), text)


def test_words_joined_by_a_hyphen_or_a_closing_quote_are_kept_whole() -> None:
    assert without_subject("spiders", "Rewatched Spider-Man 2, no spiders though") == \
        "Rewatched Spider-Man 2, no it though"
    assert without_subject("heights", "bios that list 'afraid of heights' as a trait") == \
        "bios that list 'afraid of heights' as a trait"
    assert without_subject("car crashes", "a multi-car pileup, three cars crashed") == \
        "a multi-car pileup, three it it"
    assert without_subject("sharks", "Shark\u2019s teeth, a shark's fin") == "it teeth, a it fin"  # either apostrophe


def test_copies_are_the_word_by_word_copies_on_every_labelled_post() -> None:
    groups = [(g.filters, [lp.post for lp in g.posts]) for g in pooled_development()]
    filters, labelled = in_repo_set()
    groups.append((filters, [lp.post for lp in labelled]))
    masked = 0
    for filters, posts in groups:
        topics = {concept_for(f.filter_text).topic for f in filters}
        for post in posts:
            for text in (post_text(post.title, post.body), post.image_alt):
                for topic in topics:
                    copy = without_subject(topic, text)
                    assert copy == word_by_word(topic, text), (topic, text)
                    masked += copy != text
    assert masked > 120


def test_the_matchers_copies_from_title_and_body_are_those_of_the_joined_text() -> None:
    groups = [(g.filters, [lp.post for lp in g.posts]) for g in pooled_development()]
    checked = 0
    for filters, posts in groups:
        texts = [post_text(p.title, p.body) for p in posts]
        concepts = {f.id: concept_for(f.filter_text) for f in filters}
        everything = [Filter(id=f.id, filter_text=f.filter_text, content_type="all", intensity=1) for f in filters]
        copies = _masked_texts(posts, texts, [post_fields(p) for p in posts], everything, concepts)
        expected = {(c.topic, t): without_subject(c.topic, t) for c in concepts.values()
                    for p, text in zip(posts, texts, strict=True) for t in (text, p.image_alt) if t}
        assert copies == {key: copy for key, copy in expected.items() if copy != key[1]}
        checked += len(copies)
    assert checked > 120
