"""Helpers shared by the feed codec tests: a model of what the browser does."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from gateway.feeds.markers import BLUR_RE, DEFAULT_WARNING, OVERLAY_RE, REWRITE_RE

XSS = "<img src=x onerror=alert(1)>"


def extension_html(text: str) -> str:
    """What the extension assigns to ``span.innerHTML`` for a text node (utils/markers.ts)."""

    def over(m: object) -> str:
        warning = m[1] or DEFAULT_WARNING  # type: ignore[index]
        return (
            f'<div class="content-overlay diymod-overlay hidden diymod-scroll-aware" data-warning="{warning}" '
            f'onclick="this.classList.toggle(\'hidden\')"><div class="content">{m[2]}</div>'  # type: ignore[index]
            f'<div class="warning">{warning}</div></div>'
        )

    text = BLUR_RE.sub(r'<span class="diymod-blur">\1</span>', text)
    text = OVERLAY_RE.sub(over, text)
    return REWRITE_RE.sub(
        r'<div class="diymod-rewritten">\1<div class="modification-indicator">Modified by DIY-MOD</div></div>', text
    )


def extension_dom(text: str) -> LexborHTMLParser:
    """The DOM the extension creates from one text node: a second round of HTML parsing."""
    return LexborHTMLParser("<span>" + extension_html(text) + "</span>", is_fragment=True)


def assert_inert(text_node: str, shown: str) -> None:
    """No element beyond the extension's own span/div, no handler but its onclick; ``shown`` visible."""
    dom = extension_dom(text_node)
    for node in dom.root.traverse():
        assert node.tag in ("span", "div", "-text", "html", "#document", "-undef"), node.tag
        for name in node.attributes:
            assert name in ("class", "data-warning", "onclick"), name
    assert shown in (dom.root.text() or "")


def dom_text_nodes(html: str) -> list[str]:
    """The text nodes a browser builds from a Reddit body (the extension scans these)."""
    tree = LexborHTMLParser(html, scripting=True)
    return [n.text_content or "" for n in tree.root.traverse(include_text=True) if n.tag == "-text"]
