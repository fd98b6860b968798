"""The generated Mastodon and Bluesky timelines parse into the posts they were built from, and survive
every kind of edit as valid JSON whose untouched posts keep their bytes."""

from __future__ import annotations

import json

import pytest

from gateway.feeds import Overlay, PostEdit, Rewrite, parse_feed
from gateway.feeds import markers as m
from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline

GENERATORS = {"mastodon": mastodon_timeline, "bluesky": bluesky_timeline}


@pytest.mark.parametrize("platform", GENERATORS)
@pytest.mark.parametrize("seed", range(6))
def test_generated_timeline_parses_to_its_posts(platform: str, seed: int) -> None:
    gen = GENERATORS[platform](25, seed=seed)
    doc = parse_feed(platform, gen.body)
    assert [(p.id, p.title, p.body, p.image_urls) for p in doc.posts] == [
        (p.id, p.title, p.body, p.image_urls) for p in gen.expected
    ]
    assert doc.render({}) is gen.body


@pytest.mark.parametrize("platform", GENERATORS)
def test_every_post_edited_stays_valid_and_reparses(platform: str) -> None:
    gen = GENERATORS[platform](25, seed=3)
    doc = parse_feed(platform, gen.body)
    edits = {}
    for k, post in enumerate(doc.posts):
        kind = k % 3
        edit = (
            PostEdit.blur(post.body.split()[:2])
            if kind == 0
            else PostEdit(body=Overlay("Content warning: test"))
            if kind == 1
            else PostEdit(body=Rewrite("calm text"))
        )
        edits[post.id] = PostEdit(body=edit.body, images={u: {"status": "DEFERRED"} for u in post.image_urls})
    out = doc.render(edits)
    json.loads(out)
    again = parse_feed(platform, out)
    assert [p.id for p in again.posts] == [p.id for p in doc.posts]
    assert m.BLUR_START in out and m.REWRITE_START in out
    assert out.count("diy_mod_config") == sum(len(p.image_urls) for p in doc.posts)
