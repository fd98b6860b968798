"""Realistic 25-post feeds for the viewer's samples, tests and benchmarks.

The templates in ``sample_templates/`` (package data, written for this project) hold two posts each
in the shapes the parsers in :mod:`gateway.feeds` read: a Reddit home-feed partial, a legacy
subreddit page and an X ``HomeLatestTimeline`` response. These generators reuse their markup and
JSON and vary ids, text (entities, quotes, ``<``, emoji, non-Latin scripts, line breaks), media
(single image, gallery, video, none) and wrappers (ads, promoted tweets, visibility wrappers,
conversation modules, retweets). Output is deterministic for a given seed and comes with the posts
a correct parser should find.
"""

from __future__ import annotations

import copy
import html
import json
import random
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from gateway.feeds.model import FeedPost

TITLES = [
    "Took this at the shelter today",
    "Another week, another round of layoffs at my company",
    'My kid asked "why is the sky blue?" & I had no answer',
    "Rate my setup <3 (be honest)",
    "Café owners of Montréal: what's the rent like?",
    "The war in the news is all anyone talks about at work",
    "Finally 10/10 sourdough 🍞🔥",
    "東京の夜景がきれいでした",
    "TIL a & b < c is valid in most languages",
    "Spider on my porch — harmless or should I move?",
    "<img src=x onerror=alert(1)> look at this",
    "Update: the landlord replied…",
]
BODIES = [
    'Management sent a 7am calendar invite titled "org update". Half my team is gone.',
    "Saw it near the woodpile in Ohio. Is it a wolf spider? It ran very fast.",
    "Long story short: the dog is fine & the vet bill was < $200.",
    "First paragraph with some context.\n\nSecond paragraph after a blank line.",
    "Nothing to see here, just a calm lake at dawn.",
    "Tips welcome! Using a 35mm at f/1.8, ISO 400.",
]
TWEETS = [
    "Breaking: new sanctions announced as the war enters its fourth year.",
    "Finally finished my sourdough starter after 10 days. It smells amazing!",
    "Q&A tonight: bring your questions about <html> & CSS",
    "Rent went up again 😤 anyone else?",
    "Ein schöner Tag am See. Très calme.",
    "Line one\nline two\n\nline four",
    "Thread 🧵 on why small teams ship faster",
    "Spiders are great actually. Fight me.",
]


def load_template(name: str) -> str:
    return resources.files(__package__).joinpath("sample_templates", name).read_text(encoding="utf-8")


def reddit_sample_html() -> str:
    """A home-feed partial: an image post, a text post and an ad."""
    return load_template("reddit_home.html")


def reddit_legacy_sample_html() -> str:
    """A subreddit page in the older markup: posts without the batch wrapper."""
    return load_template("reddit_legacy.html")


def x_sample_json() -> str:
    """A HomeLatestTimeline response: a tweet with a photo, a text tweet and two cursors."""
    return load_template("x_home.json")


@dataclass
class GeneratedFeed:
    body: str
    expected: list[FeedPost]
    ad_ids: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # post id -> "image", "text", "gallery", ...


# -- Reddit -----------------------------------------------------------------------------------


def _articles(sample: str) -> tuple[str, str, str, str]:
    articles = re.findall(r"<article\b.*?</article>", sample, flags=re.S)
    ad = re.search(r"<shreddit-ad-post\b.*?</shreddit-ad-post>", sample, flags=re.S)
    hr = re.search(r"<hr\b[^>]*>", sample)
    assert len(articles) >= 2 and ad and hr, "unexpected Reddit sample"
    return articles[0], articles[1], ad.group(0), hr.group(0)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _media(kind: str, i: int) -> tuple[str, list[str], list[str]]:
    """Media container markup for a post, with the URL and alt a parser should report."""
    base = f"https://preview.redd.it/gen{i:03d}"
    if kind == "gallery":
        figures = "".join(
            f'<li slot="page-{k}"><figure><img src="{base}-{k}.jpg?width=640&amp;format=pjpg&amp;s=g{k}" '
            f'alt="Gallery image {k + 1} of 3" class="media-lightbox-img" loading="lazy"></figure></li>'
            for k in range(3)
        )
        markup = (
            f'<div slot="post-media-container"><shreddit-async-loader bundlename="gallery_carousel">'
            f'<gallery-carousel class="rounded-lg" item-count="3"><ul>{figures}</ul>'
            f"</gallery-carousel></shreddit-async-loader></div>"
        )
        return markup, [f"{base}-0.jpg?width=640&format=pjpg&s=g0"], ["Gallery image 1 of 3"]
    if kind == "video":
        markup = (
            f'<div slot="post-media-container"><shreddit-player-2 src="https://v.redd.it/gen{i}/HLS.m3u8">'
            f'<img slot="poster" class="preview-image" src="{base}-poster.jpg?s=v"></shreddit-player-2></div>'
        )
        return markup, [], []
    if kind == "plainimg":  # no lightbox class: the "first img that is not a background" rule
        markup = (
            f'<div slot="post-media-container"><img class="post-background-image-filter" '
            f"src='{base}-bg.jpg?blur=40&amp;s=b' alt=''><img src='{base}.png?s=p&amp;v=2' "
            f"alt='A &quot;plain&quot; image'></div>"
        )
        return markup, [f"{base}.png?s=p&v=2"], ['A "plain" image']
    return "", [], []


def reddit_page(n_posts: int = 25, *, seed: int = 0) -> GeneratedFeed:
    """A home-feed partial of ``n_posts`` posts plus ads, shaped like the template."""
    rng = random.Random(seed)
    sample = reddit_sample_html()
    image_tpl, text_tpl, ad_tpl, hr = _articles(sample)
    kinds = ["image", "text", "gallery", "text", "image", "video", "richtext", "plainimg"]
    parts = ['<faceplate-batch target="#main-content">\n']
    expected: list[FeedPost] = []
    ads: list[str] = []
    kind_of: dict[str, str] = {}
    for i in range(n_posts):
        if i and i % 8 == 3:
            ad_id = f"t3_ad_gen{i}"
            parts.append(ad_tpl.replace("t3_ad_5x8yz", ad_id) + "\n")
            ads.append(ad_id)
        kind = kinds[i % len(kinds)] if i else "image"
        post_id = f"t3_gen{i:03d}"
        title = TITLES[rng.randrange(len(TITLES))]
        body = BODIES[rng.randrange(len(BODIES))]
        if kind in ("image", "gallery", "video", "plainimg"):
            art = image_tpl.replace("t3_1m9q2ab", post_id).replace("1m9q2ab", f"gen{i:03d}")
            art = art.replace('"Took this at the shelter today"', f'"{_esc(title)}"')
            art = art.replace("\n      Took this at the shelter today\n", f"\n      {_esc(title)}\n")
            art = art.replace('"r/pics - Took this at the shelter today"', f'"r/pics - {_esc(title)}"')
            art = art.replace("k3x9vq2ab1ff1", f"gen{i:03d}img")
            urls = [f"https://preview.redd.it/gen{i:03d}img.jpeg?width=640&crop=smart&auto=webp&s=0a1b2c3d4e5f"]
            alts = [f"r/pics - {title}"]
            if kind != "image":
                markup, urls, alts = _media(kind, i)
                art = re.sub(
                    r'<div slot="post-media-container">.*?</shreddit-aspect-ratio>\s*</div>',
                    lambda _m, markup=markup: markup,
                    art,
                    flags=re.S,
                )
            expected.append(FeedPost(post_id, title, "", urls, alts))
        else:
            art = text_tpl.replace("t3_1m9r7cd", post_id).replace("1m9r7cd", f"gen{i:03d}")
            old_title = "Another week, another round of layoffs at my company"
            art = art.replace(f'"{old_title}"', f'"{_esc(title)}"')
            art = art.replace(f"\n      {old_title}\n", f"\n      {_esc(title)}\n")
            paras = [p for p in body.split("\n\n") if p]
            if kind == "richtext":
                paras.append("See <link> for more.")
            inner = "".join(f"<p>{_esc(p)}</p>" for p in paras)
            if kind == "richtext":  # inline markup inside the body, as Reddit's markdown renders it
                inner = inner.replace("See &lt;link&gt;", "See <code>&lt;link&gt;</code>")
                inner = inner.replace("<p>", "<p><strong>Note:</strong> ", 1)
            art = re.sub(r"<p>.*?</p>", lambda _m, inner=inner: inner, art, count=1, flags=re.S)
            text_paras = list(paras)
            if kind == "richtext":
                text_paras[0] = "Note: " + text_paras[0]
            expected.append(FeedPost(post_id, title, "\n".join(text_paras), [], []))
        art = art.replace('feedindex="0"', f'feedindex="{i}"').replace('feedindex="1"', f'feedindex="{i}"')
        kind_of[post_id] = kind
        parts.append(art + "\n" + hr + "\n")
    after = "dDNfZ2VuMDI0"
    parts.append(
        f'<faceplate-partial loading="programmatic" src="/svc/shreddit/feeds/home-feed?after={after}'
        f'%3D%3D&amp;distance={n_posts}&amp;feedLength={n_posts}" id="partial-more-posts-home">'
        "</faceplate-partial>\n</faceplate-batch>\n"
    )
    return GeneratedFeed("".join(parts), expected, ads, kind_of)


# -- X ----------------------------------------------------------------------------------------


def _tweet_text(rng: random.Random, i: int) -> tuple[str, dict[str, list[dict[str, Any]]], str]:
    """Decoded text with entities, and the visible text (without the trailing media link)."""
    base = TWEETS[rng.randrange(len(TWEETS))]
    ents: dict[str, list[dict[str, Any]]] = {
        "hashtags": [],
        "symbols": [],
        "timestamps": [],
        "urls": [],
        "user_mentions": [],
    }
    text = ""
    if i % 3 == 1:
        mention = f"@friend{i}"
        ents["user_mentions"].append(
            {"id_str": str(1000 + i), "name": f"Friend {i}", "screen_name": f"friend{i}", "indices": [0, len(mention)]}
        )
        text = mention + " "
    text += base
    if i % 4 == 2:
        tag = "#news"
        ents["hashtags"].append({"indices": [len(text) + 1, len(text) + 1 + len(tag)], "text": "news"})
        text += " " + tag
    if i % 5 == 3:
        url = f"https://t.co/gen{i:04d}"
        ents["urls"].append(
            {
                "display_url": f"example.com/{i}",
                "expanded_url": f"https://example.com/{i}",
                "url": url,
                "indices": [len(text) + 1, len(text) + 1 + len(url)],
            }
        )
        text += " " + url
    return text, ents, text


def _x_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _make_tweet(tpl: dict[str, Any], rng: random.Random, i: int, photo: bool) -> tuple[dict[str, Any], FeedPost]:
    tweet = copy.deepcopy(tpl)
    legacy = tweet["legacy"]
    tid = str(1900000000000000000 + i)
    tweet["rest_id"] = tid
    legacy["id_str"] = legacy["conversation_id_str"] = tid
    text, ents, visible = _tweet_text(rng, i)
    urls: list[str] = []
    if photo:
        media = copy.deepcopy(tpl["legacy"]["entities"]["media"][0])
        link = f"https://t.co/pic{i:04d}"
        start = len(text) + 1
        text += " " + link
        media["indices"] = [start, start + len(link)]
        media["url"] = link
        media["media_url_https"] = f"https://pbs.twimg.com/media/Gen{i:04d}.jpg"
        media["id_str"] = str(1800000000000000000 + i)
        if i % 2:
            media["ext_alt_text"] = f"Alt text & more for {i}"
        ents["media"] = [media]
        legacy["extended_entities"] = {"media": [copy.deepcopy(media)]}
        urls = [media["media_url_https"]]
    else:
        legacy.pop("extended_entities", None)
    legacy["entities"] = ents
    legacy["full_text"] = _x_escape(text)
    legacy["display_text_range"] = [0, len(visible)]
    alts = [ents["media"][0].get("ext_alt_text", "")] if photo else []
    shown = visible[len(f"@friend{i} ") :] if i % 3 == 1 else visible
    if i % 3 == 1:  # replies hide the leading mention
        legacy["display_text_range"] = [len(f"@friend{i} "), len(visible)]
    return tweet, FeedPost(tid, "", shown.strip(), urls, alts)


def _item(result: dict[str, Any], promoted: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "itemType": "TimelineTweet",
        "__typename": "TimelineTweet",
        "tweet_results": {"result": result},
        "tweetDisplayType": "Tweet",
    }
    if promoted:
        item["promotedMetadata"] = {"advertiser_results": {}, "impressionId": "abc", "disclosureType": "NoDisclosure"}
    return item


def x_timeline(n_tweets: int = 25, *, seed: int = 0) -> GeneratedFeed:
    """A HomeLatestTimeline response with ``n_tweets`` organic tweets and assorted wrappers."""
    rng = random.Random(seed)
    sample = json.loads(x_sample_json())
    entries_tpl = sample["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"]
    tpl = entries_tpl[0]["content"]["itemContent"]["tweet_results"]["result"]
    cursors = [e for e in entries_tpl if e["entryId"].startswith("cursor-")]
    entries: list[dict[str, Any]] = []
    expected: list[FeedPost] = []
    kinds: dict[str, str] = {}
    ads: list[str] = []
    i = 0
    while len(expected) < n_tweets:
        tweet, post = _make_tweet(tpl, rng, i, photo=i % 2 == 0)
        shape = ["plain", "visibility", "plain", "module", "retweet", "plain"][len(entries) % 6]
        if len(entries) % 7 == 4:  # a promoted tweet before this one
            ad, _ = _make_tweet(tpl, rng, 900 + i, photo=True)
            ads.append(ad["rest_id"])
            entries.append(
                {
                    "entryId": f"promoted-tweet-{ad['rest_id']}-{i}",
                    "sortIndex": str(i),
                    "content": {
                        "entryType": "TimelineTimelineItem",
                        "__typename": "TimelineTimelineItem",
                        "itemContent": _item(ad, promoted=True),
                    },
                }
            )
        sort = str(1900000000000000000 - i)
        if shape == "module" and len(expected) + 2 <= n_tweets:
            second, post2 = _make_tweet(tpl, rng, i + 1, photo=False)
            items = [
                {
                    "entryId": f"home-conversation-{sort}-tweet-{t['rest_id']}",
                    "item": {"itemContent": _item(t), "clientEventInfo": {}},
                }
                for t in (tweet, second)
            ]
            entries.append(
                {
                    "entryId": f"home-conversation-{sort}",
                    "sortIndex": sort,
                    "content": {
                        "entryType": "TimelineTimelineModule",
                        "__typename": "TimelineTimelineModule",
                        "items": items,
                        "displayType": "VerticalConversation",
                    },
                }
            )
            expected += [post, post2]
            kinds[post.id] = kinds[post2.id] = "module"
            i += 2
            continue
        result: dict[str, Any] = tweet
        if shape == "visibility":
            result = {
                "__typename": "TweetWithVisibilityResults",
                "tweet": tweet,
                "tweetInterstitial": {"__typename": "ContextualTweetInterstitial"},
            }
        elif shape == "retweet":
            outer = copy.deepcopy(tpl)
            rid = str(1950000000000000000 + i)
            outer["rest_id"] = rid
            outer["legacy"] = {
                "id_str": rid,
                "full_text": "RT @someone: " + tweet["legacy"]["full_text"][:60],
                "entities": {"hashtags": [], "urls": [], "user_mentions": []},
                "display_text_range": [0, 73],
                "retweeted_status_result": {"result": tweet},
            }
            result = outer
            post = FeedPost(rid, post.title, post.body, post.image_urls, post.image_alts)
        entries.append(
            {
                "entryId": f"tweet-{result.get('rest_id') or tweet['rest_id']}",
                "sortIndex": sort,
                "content": {
                    "entryType": "TimelineTimelineItem",
                    "__typename": "TimelineTimelineItem",
                    "itemContent": _item(result),
                    "clientEventInfo": {"component": "following_in_network", "element": "tweet"},
                },
            }
        )
        expected.append(post)
        kinds[post.id] = shape
        i += 1
    entries += copy.deepcopy(cursors)
    sample["data"]["home"]["home_timeline_urt"]["instructions"] = [
        {"type": "TimelineClearCache"},
        {"type": "TimelineAddEntries", "entries": entries},
    ]
    return GeneratedFeed(orjson.dumps(sample).decode(), expected, ads, kinds)
