"""Parse + render of a 25-post Reddit page: gateway.feeds vs. a BeautifulSoup html.parser round trip.

The BeautifulSoup side does what the original backend did: parse, find the posts and their title,
body and image, set the edited strings, serialise with ``str(soup)``. beautifulsoup4 is a bench-only
dependency (``pip install beautifulsoup4``); without it only our figures are printed.

    .venv/bin/python bench/feed_parse.py [--posts 25] [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.feeds import Blur, Overlay, PostEdit, Rewrite, parse_feed
from gateway.viewer.samplegen import reddit_page

CONFIG = {"type": "edit_to_replace", "status": "DEFERRED", "filters": ["dogs in distress"]}


def ours(body: str) -> str:
    doc = parse_feed("reddit", body)
    edits: dict[str, PostEdit] = {}
    for i, post in enumerate(doc.posts):
        kind = i % 3
        text = Blur(post.title.split()[:2]) if kind == 0 else Overlay("Heads up") if kind == 1 else Rewrite("calm")
        edits[post.id] = PostEdit(title=text, body=text, images={u: CONFIG for u in post.image_urls})
    return doc.render(edits, shift_cursor_for="https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x")


def soup_round_trip(body: str) -> str:
    import json

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    for i, post in enumerate(soup.find_all("shreddit-post")):
        title = post.find("a", attrs={"slot": "title"})
        text_body = post.find("a", attrs={"slot": "text-body"})
        title_text = title.get_text(strip=True) if title else ""
        body_text = text_body.get_text(strip=True) if text_body else ""
        kind = i % 3
        if title is not None:
            title.string = (
                f"__BLUR_START__{title_text}__BLUR_END__"
                if kind == 0
                else f"__OVERLAY_START__Heads up|{title_text}__OVERLAY_END__"
                if kind == 1
                else "__REWRITE_START__calm__REWRITE_END__"
            )
        if text_body is not None:
            text_body.string = f"__OVERLAY_START__Heads up|{body_text}__OVERLAY_END__"
        media = post.find("div", attrs={"slot": "post-media-container"})
        img = media.select_one("div.media-lightbox-img img.i18n-post-media-img") if media else None
        if img is not None:
            img["srcset"] = ""
            img["diy-mod-image"] = json.dumps(CONFIG)
            img["class"] = [*img.get("class", []), "diy-mod-processed"]
    return str(soup)


def timed(fn: Callable[[str], str], body: str, rounds: int) -> list[float]:
    fn(body)  # warm-up (imports, caches)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(body)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    body = reddit_page(args.posts).body
    print(f"page: {args.posts} posts, {len(body.encode()):,} bytes, {args.rounds} rounds")
    mine = timed(ours, body, args.rounds)
    print(
        f"gateway.feeds        median {statistics.median(mine):7.2f} ms   p95 "
        f"{sorted(mine)[int(len(mine) * 0.95) - 1]:7.2f} ms"
    )
    try:
        import bs4  # noqa: F401
    except ImportError:
        print("beautifulsoup4 not installed: pip install beautifulsoup4 for the comparison")
        return
    soup = timed(soup_round_trip, body, args.rounds)
    print(
        f"bs4 html.parser      median {statistics.median(soup):7.2f} ms   p95 "
        f"{sorted(soup)[int(len(soup) * 0.95) - 1]:7.2f} ms"
    )
    print(f"ratio (bs4 / ours)   {statistics.median(soup) / statistics.median(mine):.1f}x")


if __name__ == "__main__":
    main()
