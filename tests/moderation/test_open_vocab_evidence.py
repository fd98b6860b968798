"""The matcher's page-level products give every (post, filter) pair the numbers its definition says:
computed here pair by pair, straight from the vectors, and compared."""

from __future__ import annotations

import numpy as np
import pytest

from shared.config import load_settings
from shared.models import Filter
from shared.moderation.background import BACKGROUND_TOPICS
from shared.moderation.evidence import post_text
from shared.moderation.lexicon import STOPWORDS
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import OpenVocabMatcher, concept_for
from shared.moderation.text import tokenize
from shared.moderation.types import Post
from shared.moderation.vectors import MemoVectors

POSTS = [
    Post("shark", title="Lifeguards closed the beach", body="A hammerhead was spotted near the pier this morning."),
    Post("snake", body="My kid drew a cartoon snake wearing a top hat, and no real snakes were harmed.",
         image_alt="A child's crayon drawing of a green snake.", has_image=True),
    Post("rat", image_alt="Close-up of a brown rat's face and whiskers in a compost bin.", has_image=True),
    Post("paint", title="Finally finished repainting the spare room", body="Went with a pale green."),
]
FILTERS = [
    Filter(id=1, filter_text="sharks", content_type="all", intensity=1),
    Filter(id=2, filter_text="snakes, but cartoon snakes are fine", content_type="all", intensity=2),
    Filter(id=3, filter_text="close-up photos of rats", content_type="image", intensity=1),
    Filter(id=4, filter_text="sharks", content_type="text", intensity=3),
]


@pytest.fixture(scope="module")
def model_parts() -> tuple[MemoVectors, OpenVocabMatcher]:
    model = load_offline_model(load_settings())
    source = MemoVectors(model.embedder)
    return source, OpenVocabMatcher(source, model.words)


async def test_every_pair_gets_the_numbers_of_its_definition(model_parts: tuple[MemoVectors, OpenVocabMatcher]) -> None:
    source, matcher = model_parts
    evidence = await matcher.gather(POSTS, FILTERS)

    needed = [t for p in POSTS for t in (post_text(p.title, p.body), p.image_alt) if t]
    needed += [t for f in FILTERS for t in concept_for(f.filter_text).texts()]
    vectors = dict(zip(needed, await source.vectors(needed), strict=True))
    topics = await source.vectors(list(BACKGROUND_TOPICS))

    def vec(text: str) -> np.ndarray:
        return vectors[text]

    checked = 0
    for post in POSTS:
        for flt in FILTERS:
            concept = concept_for(flt.filter_text)
            units = []
            if flt.applies_to_text() and post_text(post.title, post.body):
                units.append((post_text(post.title, post.body), False))
            if flt.applies_to_images() and post.image_alt:
                units.append((post.image_alt, True))
            ev = evidence[(post.id, flt.id)]
            if not units:
                assert (ev.similarity, ev.word_similarity, ev.closest_word) == (0.0, 0.0, "")
                continue
            best = None
            for text, is_image in units:
                v = vec(text)
                # Image descriptions are compared with "a photo of ..." (all descriptions for a visual filter).
                described = [d for d in concept.descriptions
                             if d.startswith("a photo of") == is_image or (is_image and concept.visual)]
                sims = [float(vec(d) @ v) for d in described]
                if best is None or max(sims) > best[0]:
                    best = (max(sims), described[int(np.argmax(sims))], v, is_image)
            similarity, description, v, on_image = best
            assert ev.similarity == pytest.approx(similarity, abs=1e-5)
            assert (ev.description, ev.on_image) == (description, on_image)
            assert ev.exclusion == pytest.approx(max(float(vec(d) @ v) for d in concept.exclusions), abs=1e-5)
            user = max((float(vec(d) @ v) for d in concept.user_exclusion_descriptions), default=0.0)
            assert ev.user_exclusion == pytest.approx(user, abs=1e-5)
            assert ev.topic_mean == pytest.approx(float((topics @ v).mean()), abs=1e-5)
            words = [w for text, _ in units for w in tokenize(text).words
                     if w not in STOPWORDS and w in matcher.words.index]
            subject = vec(concept.subject)
            word_sims = [float(matcher.words.vectors([w])[0] @ subject) for w in words]
            assert ev.word_similarity == pytest.approx(max(word_sims), abs=1e-5)
            assert ev.closest_word == words[int(np.argmax(word_sims))]
            checked += 1
    assert checked == 13  # 16 pairs, less the three with nothing the filter looks at
