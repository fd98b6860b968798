"""The viewer page in a real browser against real processes.

Each test drives the page as a person would (form fields and buttons) and checks what is on the
screen: markers rendered as the extension renders them, deferred images swapped without a reload,
failures shown, nothing lost across a notifier restart. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from gateway.viewer.samplegen import reddit_page, x_timeline
from tests.browser.conftest import SKIP_NO_PLAYWRIGHT, Viewer, new_user, screenshot
from tests.harness import wait_until

expect = pytest.importorskip("playwright.sync_api", reason=SKIP_NO_PLAYWRIGHT).expect

IMAGE_TIMEOUT_MS = 30_000
PENDING = "[data-initial=DEFERRED][data-state=pending]"


def seed_where(platform: str, *words: str, with_image: bool, at_least: int = 1) -> int:
    """A fresh seed whose sample has, for each word, ``at_least`` posts mentioning it (with an image,
    if asked). Fresh seeds mean fresh image URLs, so image jobs really run instead of answering from
    an earlier result."""
    start = random.randrange(10_000, 900_000)
    patterns = [re.compile(rf"\b{re.escape(word)}", re.I) for word in words]
    for seed in range(start, start + 1000):
        posts = (reddit_page(25, seed=seed) if platform == "reddit" else x_timeline(25, seed=seed)).expected
        if all(sum(1 for post in posts if p.search(f"{post.title} {post.body}") and (post.image_urls or not with_image))
               >= at_least for p in patterns):
            return seed
    raise AssertionError(f"no {platform} sample mentions {words}")


def open_viewer(page: Any, viewer: Viewer, user: str, seed: int | None = None) -> None:
    query = {"user": user, **({"seed": seed} if seed is not None else {})}
    page.goto(f"{viewer.url}/viewer?{urlencode(query)}")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.get_by_test_id("conn-state")).to_have_attribute("data-state", "open")


def generation(page: Any) -> int:
    return int(page.evaluate("window.diymodViewer.state.generation"))


def wait_moderated(page: Any, after: int) -> None:
    """Until the page has rendered a moderation newer than generation ``after``."""
    page.wait_for_function(
        "g => Number(document.querySelector('[data-testid=summary]').dataset.generation || 0) > g", arg=after
    )


def load_sample(page: Any, platform: str, seed: int) -> None:
    before = generation(page)
    page.fill("#seed", str(seed))
    page.get_by_test_id(f"load-{platform}").click()
    wait_moderated(page, before)


def add_filter(page: Any, text: str, intensity: int, content_type: str) -> None:
    rows = page.get_by_test_id("filter-row")
    count = rows.count()
    feed_loaded = page.evaluate("Boolean(window.diymodViewer.state.feed)")
    before = generation(page)
    page.get_by_test_id("filter-text").fill(text)
    page.get_by_test_id("filter-intensity").select_option(str(intensity))
    page.get_by_test_id("filter-content-type").select_option(content_type)
    page.get_by_test_id("filter-add").click()
    expect(rows).to_have_count(count + 1)
    if feed_loaded:
        wait_moderated(page, before)


def moderated(page: Any, test_id: str) -> Any:
    return page.locator(f"[data-testid=moderated-card] [data-testid={test_id}]")


def changed_count(page: Any) -> int:
    return int(page.get_by_test_id("summary").get_attribute("data-changed") or 0)


def test_a_filter_added_in_the_page_changes_the_moderated_feed(viewer: Viewer, page: Any) -> None:
    seed = seed_where("reddit", "war", "spider", with_image=False)
    open_viewer(page, viewer, new_user("filters"), seed)
    load_sample(page, "reddit", seed)
    expect(page.get_by_test_id("feed-row")).to_have_count(25)
    assert changed_count(page) == 0
    assert moderated(page, "overlay").count() == 0 and moderated(page, "blur").count() == 0

    # A warning filter (intensity 3) on text: the page moderates again by itself.
    add_filter(page, "war", 3, "text")
    overlays = moderated(page, "overlay")
    expect(overlays.first).to_be_visible()
    assert changed_count(page) >= 1
    for warning in overlays.evaluate_all("els => els.map(e => e.dataset.warning)"):
        assert "war" in warning.lower()
    row = page.locator("[data-testid=feed-row][data-changed=true]").filter(
        has=page.locator("[data-testid=moderated-card] [data-testid=overlay]")).first
    first = row.locator("[data-testid=moderated-card] [data-testid=overlay]").first
    expect(first).to_have_class(re.compile(r"\bhidden\b"))
    expect(first.locator(".warning")).to_contain_text("click to reveal")
    expect(row.get_by_test_id("why")).to_contain_text("“war”")
    expect(row.get_by_test_id("why")).to_contain_text("text: overlay")
    assert row.locator("[data-testid=original-card] [data-testid=overlay]").count() == 0
    first.click()
    expect(first).not_to_have_class(re.compile(r"\bhidden\b"))
    expect(first.locator(".content")).to_contain_text(re.compile("war", re.I))

    # A blur filter (intensity 1): the matching words are blurred, hover or click reveals them.
    add_filter(page, "spiders", 1, "text")
    blurs = moderated(page, "blur")
    expect(blurs.first).to_be_visible()
    assert all("spider" in t.lower() for t in blurs.all_inner_texts())
    expect(blurs.first).to_have_css("filter", "blur(5px)")
    page.check("#only-changed")
    page.mouse.move(0, 0)
    screenshot(page, "viewer-filters")
    page.uncheck("#only-changed")
    blurs.first.click()
    expect(blurs.first).to_have_class(re.compile(r"\brevealed\b"))
    page.mouse.move(0, 0)  # not hovering any more: revealed by the click alone
    expect(blurs.first).to_have_css("filter", "none")

    # Edit the war filter to intensity 1 in its row: warnings become blurred words.
    war_row = page.get_by_test_id("filter-row").filter(has=page.locator("input[value=war]"))
    before = generation(page)
    war_row.locator("select[data-field=intensity]").select_option("1")
    war_row.get_by_test_id("filter-save").click()
    wait_moderated(page, before)
    expect(overlays).to_have_count(0)
    assert any("war" in t.lower() for t in blurs.all_inner_texts())

    # Delete both: the moderated feed is the original again.
    for _ in range(2):
        before = generation(page)
        page.get_by_test_id("filter-row").first.get_by_test_id("filter-delete").click()
        wait_moderated(page, before)
    expect(page.get_by_test_id("filter-row")).to_have_count(0)
    assert changed_count(page) == 0
    assert moderated(page, "blur").count() == 0


def test_a_deferred_image_is_replaced_without_a_reload(viewer: Viewer, page: Any) -> None:
    seed = seed_where("reddit", "sourdough", with_image=True)
    open_viewer(page, viewer, new_user("images"), seed)
    add_filter(page, "sourdough", 2, "all")
    page.evaluate("window.__sameDocument = true")
    load_sample(page, "reddit", seed)
    deferred = page.locator("[data-testid=moderated-card] [data-initial=DEFERRED]")
    assert deferred.count() >= 1, "expected at least one image to start as DEFERRED (spinner)"
    expect(page.locator(PENDING)).to_have_count(0, timeout=IMAGE_TIMEOUT_MS)
    for box in deferred.all():
        assert box.get_attribute("data-state") == "replaced", box.get_attribute("data-reason")
        assert box.get_attribute("data-via") == "notifier"
        src = box.locator("img").get_attribute("src") or ""
        assert src.startswith("data:image/") or "/images/" in src, src
        box.scroll_into_view_if_needed()  # images load lazily
        assert box.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
        expect(box.locator(".img-badge")).to_contain_text("Modified by DIY-MOD")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    # The original column still shows the original picture.
    row = page.locator("[data-testid=feed-row]").filter(
        has=page.locator("[data-testid=moderated-card] [data-initial=DEFERRED]")).first
    original_src = row.locator("[data-testid=original-card] img").first.get_attribute("src")
    assert "/viewer/sample-image/" in (original_src or "")
    # Operators see this page's socket and the processed events in the status panel.
    expect(page.get_by_test_id("status-panel")).to_contain_text("sockets held")
    expect(page.get_by_test_id("event-log")).to_contain_text("image_processed")
    deferred.first.scroll_into_view_if_needed()
    screenshot(page, "viewer-image-replaced")


def test_a_failed_image_and_hostile_text_are_shown_safely(viewer: Viewer, page: Any) -> None:
    broken = viewer.stack.images.add(f"/broken-{uuid.uuid4().hex}.jpg", b"this is not an image", "image/jpeg")
    hostile = '&lt;img src=x onerror="document.title=&#39;pwned&#39;"&gt;'
    body = (
        '<shreddit-post id="t3_hostile" author="mallory" subreddit-prefixed-name="r/test">'
        f'<a slot="title">Spiders in the garden {hostile}</a>'
        f'<a slot="text-body"><div class="md"><p>Look at these spiders {hostile} __BLUR_END__ |</p></div></a>'
        f'<div slot="post-media-container"><img src="{broken}" alt="spiders"></div>'
        "</shreddit-post>"
    )
    open_viewer(page, viewer, new_user("failed"))
    add_filter(page, "spiders", 2, "all")
    page.locator("#paste summary").click()
    page.fill("#paste-url", "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x")
    page.fill("#paste-body", body)
    before = generation(page)
    page.click("#paste-go")
    wait_moderated(page, before)
    failed = page.locator("[data-testid=moderated-card] [data-testid=image-failed]")
    expect(failed).to_have_count(1, timeout=IMAGE_TIMEOUT_MS)
    assert failed.get_attribute("data-via") == "notifier"
    expect(failed.locator(".img-badge")).to_contain_text("Not transformed")
    expect(page.get_by_test_id("event-log")).to_contain_text("image_failed")
    # Hostile markup is text on both sides: no element was created from it, nothing ran.
    for side in ("original-card", "moderated-card"):
        expect(page.get_by_test_id(side)).to_contain_text('<img src=x onerror="document.title=')
    assert page.locator("img[src=x]").count() == 0
    assert page.title() != "pwned"
    expect(moderated(page, "blur").first).to_have_text(re.compile("spiders", re.I))
    screenshot(page, "viewer-failed-image-and-hostile-text")


def test_status_reports_sockets_queues_and_rates(viewer: Viewer, page: Any) -> None:
    open_viewer(page, viewer, new_user("status"))
    first = httpx.get(viewer.url + "/viewer/status", timeout=5).json()
    assert first["notifier"]["ok"] is True and first["notifier"]["sockets"] >= 1
    assert first["jobs"]["ok"] is True and set(first["jobs"]["queues"]) == {"images_local", "images_cloud"}
    assert first["gateway"]["available"] is True
    wait_until(lambda: httpx.get(viewer.url + "/viewer/status", timeout=5).json()["notifier"]
               ["events_in_per_second"] is not None, 5, "a rate")
    expect(page.get_by_test_id("status-panel")).to_contain_text("events in /s")


def test_a_notifier_restart_under_the_page_loses_no_image(viewer: Viewer, page: Any) -> None:
    user = new_user("restart")
    open_viewer(page, viewer, user)
    add_filter(page, "war", 2, "all")

    # Before: images arrive live; the client learns its position in the user's event log.
    load_sample(page, "x", seed_where("x", "war", with_image=True))
    expect(page.locator(PENDING)).to_have_count(0, timeout=IMAGE_TIMEOUT_MS)
    position = page.evaluate("window.diymodViewer.state.client.position")
    assert position and position["epoch"] and position["offset"] >= 1

    # The notifier goes away; a new page of the feed is moderated meanwhile.
    viewer.notifier.stop()
    expect(page.get_by_test_id("conn-state")).to_have_attribute("data-state", "reconnecting")
    load_sample(page, "x", seed_where("x", "war", with_image=True, at_least=2))
    boxes = page.locator(PENDING)
    waiting = boxes.count()
    assert waiting >= 2
    urls = [(b.get_attribute("data-wait-url"), b.get_attribute("data-filters")) for b in boxes.all()]

    def all_done() -> bool:
        return all(httpx.get(viewer.url + "/get_img_result", params={"img_url": u, "filters": f},
                             timeout=5).json()["status"] == "COMPLETED" for u, f in urls)

    wait_until(all_done, 30, "the worker to finish while the notifier is down")
    assert boxes.count() == waiting, "nothing can have reached the page without a notifier"
    expect(page.get_by_test_id("status-panel")).to_contain_text("down", timeout=5_000)
    boxes.first.scroll_into_view_if_needed()
    screenshot(page, "viewer-notifier-down")

    # Back on the same port: the client reconnects, resumes from its position, and gets them all.
    viewer.notifier.start()
    expect(page.get_by_test_id("conn-state")).to_have_attribute("data-state", "open", timeout=15_000)
    expect(page.locator(PENDING)).to_have_count(0, timeout=IMAGE_TIMEOUT_MS)
    replaced = page.locator("[data-testid=moderated-card] [data-initial=DEFERRED]")
    assert [b.get_attribute("data-state") for b in replaced.all()] == ["replaced"] * replaced.count()
    assert {b.get_attribute("data-via") for b in replaced.all()} == {"notifier"}
    stats = page.evaluate("window.diymodViewer.state.client.stats")
    assert stats["connects"] == 2
    assert stats["replayed"] >= waiting  # the missed events came from the log replay
    offsets = [e["offset"] for e in page.evaluate("window.diymodViewer.state.events") if e.get("offset") is not None]
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), f"gaps or duplicates: {offsets}"
    assert json.loads(urls[0][1])  # filters travelled with the wait
    replaced.first.scroll_into_view_if_needed()
    screenshot(page, "viewer-after-notifier-restart")
