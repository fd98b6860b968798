"""The viewer renders Mastodon and Bluesky samples as those clients would: Mastodon's content warning with
"Show more", the sensitive/graphic-media veil over images, and the extension's markers in the text."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline
from tests.browser.conftest import SKIP_NO_PLAYWRIGHT, Viewer, new_user, screenshot
from tests.browser.test_viewer import add_filter, load_sample, moderated, open_viewer

expect = pytest.importorskip("playwright.sync_api", reason=SKIP_NO_PLAYWRIGHT).expect
GENERATORS = {"mastodon": mastodon_timeline, "bluesky": bluesky_timeline}


def seed_with(platform: str, word: str, *, with_image: bool) -> int:
    start = random.randrange(10_000, 900_000)
    for seed in range(start, start + 1000):
        if any(re.search(rf"\b{word}", p.body, re.I) and (p.image_urls or not with_image)
               for p in GENERATORS[platform](25, seed=seed).expected):
            return seed
    raise AssertionError(f"no {platform} sample mentions {word}")


def test_mastodon_warning_is_a_native_content_warning(viewer: Viewer, page: Any) -> None:
    seed = seed_with("mastodon", "war", with_image=False)
    open_viewer(page, viewer, new_user("mastodon"), seed)
    add_filter(page, "war", 3, "text")
    add_filter(page, "sourdough", 1, "text")
    load_sample(page, "mastodon", seed)
    warnings = moderated(page, "content-warning").filter(has_text="Content warning: war")
    expect(warnings.first).to_be_visible()
    card = page.locator("[data-testid=moderated-card]").filter(has=page.get_by_test_id("content-warning")).filter(
        has_text="Content warning: war").first
    body = card.locator(".cw-body")
    expect(body).to_be_hidden()
    card.get_by_test_id("cw-toggle").click()
    expect(body).to_be_visible()
    expect(body).to_contain_text(re.compile("war", re.I))
    assert page.locator("[data-testid=original-card] [data-testid=content-warning]").filter(
        has_text="Content warning: war").count() == 0
    screenshot(page, "viewer-mastodon")


def test_bluesky_overlay_veils_images_with_graphic_media(viewer: Viewer, page: Any) -> None:
    seed = seed_with("bluesky", "war", with_image=True)
    open_viewer(page, viewer, new_user("bluesky"), seed)
    add_filter(page, "war", 3, "text")
    load_sample(page, "bluesky", seed)
    overlays = moderated(page, "overlay")
    expect(overlays.first).to_be_visible()
    veil = moderated(page, "media-veil").first
    expect(veil).to_contain_text("Graphic Media")
    # Hold this very element: ``.first`` is re-resolved on each use, and when several posts are veiled
    # it would point at the next veil once this one is gone.
    clicked = veil.element_handle()
    clicked.click()
    page.wait_for_function("el => !el.isConnected", arg=clicked, timeout=5000)
    assert page.locator("[data-testid=original-card] [data-testid=media-veil]").count() == 0
    screenshot(page, "viewer-bluesky")
