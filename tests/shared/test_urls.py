"""Image URLs keyed as browsers write them (WHATWG serialisation of the decoded src attribute)."""

from __future__ import annotations

import html

import pytest

from gateway.feeds import parse_feed
from shared import keys
from shared.imagejobs import ImageJob
from shared.urls import browser_url, http_url

# (as written in the page, after entity decoding) -> what img.src reports in a browser
BROWSER_FORMS = [
    ("https://i.redd.it/a b.jpg", "https://i.redd.it/a%20b.jpg"),
    ("https://i.redd.it/spinne-ä.jpg", "https://i.redd.it/spinne-%C3%A4.jpg"),
    ("https://i.redd.it/spinne-%C3%A4.jpg", "https://i.redd.it/spinne-%C3%A4.jpg"),  # already encoded: kept
    ("https://i.redd.it/a%20b.jpg", "https://i.redd.it/a%20b.jpg"),
    ("https://preview.redd.it/x.jpg?width=640&crop=smart&s=ab", "https://preview.redd.it/x.jpg?width=640&crop=smart&s=ab"),
    ("https://preview.redd.it/x.jpg?q=a b&t=ä", "https://preview.redd.it/x.jpg?q=a%20b&t=%C3%A4"),
    ("HTTPS://I.Redd.IT:443/./a/../b.jpg", "https://i.redd.it/b.jpg"),
    ("https://bücher.example/x.jpg", "https://xn--bcher-kva.example/x.jpg"),
    ("https://i.redd.it", "https://i.redd.it/"),
]


@pytest.mark.parametrize("written,browser", BROWSER_FORMS)
def test_browser_serialisation(written: str, browser: str) -> None:
    assert browser_url(written) == browser
    assert browser_url(browser) == browser  # idempotent
    assert http_url(written) == browser


@pytest.mark.parametrize("written,browser", BROWSER_FORMS)
def test_both_forms_name_the_same_wait_and_job(written: str, browser: str) -> None:
    assert keys.wait_id(written, ["Spiders"]) == keys.wait_id(browser, ["spiders."])
    assert keys.job_id(written, ["spiders"], "blur") == keys.job_id(browser, ["spiders"], "blur")
    assert ImageJob(image_url=written, filters=("spiders",), intervention="blur").image_url == browser


def test_distinct_images_stay_distinct() -> None:
    assert keys.wait_id("https://i.redd.it/a b.jpg", []) != keys.wait_id("https://i.redd.it/a+b.jpg", [])
    assert keys.wait_id("https://i.redd.it/a.jpg?x=1&y=2", []) != keys.wait_id("https://i.redd.it/a.jpg?x=1", [])


@pytest.mark.parametrize("value", ["", "not a url", "/relative/path.jpg", "ftp://host/x.jpg",
                                   "data:image/png;base64,AA", "javascript:alert(1)", "https://",
                                   "https://ex.com/\ud800"])
def test_http_url_refuses_what_is_not_an_absolute_http_url(value: str) -> None:
    assert http_url(value) is None


@pytest.mark.parametrize("value", ["", "not a url", "/relative/path.jpg", "https://", "https://ex.com/\ud800"])
def test_what_does_not_parse_is_keyed_as_it_is(value: str) -> None:
    assert browser_url(value) == value


def test_feed_attribute_is_entity_decoded_then_serialised() -> None:
    # The page's HTML holds the src attribute entity-encoded; the browser decodes it, then
    # serialises. The job for that image must be keyed like the browser's img.src.
    written = "https://i.redd.it/a b/ä.jpg?x=1&y=2"
    page = (f'<shreddit-post id="t3_u1"><a slot="title" href="/r/x/">Spiders</a>'
            f'<div slot="post-media-container"><img src="{html.escape(written)}" alt=""></div></shreddit-post>')
    assert "&amp;" in page
    (post,) = parse_feed("reddit", page).posts
    (found,) = post.image_urls
    browser = "https://i.redd.it/a%20b/%C3%A4.jpg?x=1&y=2"
    assert ImageJob(image_url=found, filters=("spiders",), intervention="blur").wait_id == keys.wait_id(
        browser, ["spiders"]
    )
