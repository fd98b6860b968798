"""Image URLs the way browsers write them, so both sides of an image wait name the same image.

The extension asks for results with ``img.src``, which the browser reports in the WHATWG URL
serialisation of the (entity-decoded) ``src`` attribute: a space becomes ``%20``, ``ä`` becomes
``%C3%A4``, the host is lower-cased (and punycoded), a default port is dropped, ``.``/``..``
segments are resolved. A feed's HTML carries the attribute as written. Keying jobs and answering
polls by the serialisation makes both forms find the same result. The serialiser is ada (the
WHATWG URL standard's implementation used by Node.js), not a hand-written encoder.
"""

from __future__ import annotations

import ada_url


def browser_url(url: str) -> str:
    """The WHATWG serialisation of an absolute URL; input that does not parse is returned as it is
    (validation, where a request needs it, is :func:`http_url`'s job)."""
    try:
        return ada_url.normalize_url(url)
    except ValueError:  # includes UnicodeEncodeError (lone surrogates)
        return url


def http_url(url: str) -> str | None:
    """The serialisation of an absolute http(s) URL with a host, or None for anything else."""
    try:
        parsed = ada_url.URL(url)
    except ValueError:  # includes UnicodeEncodeError (lone surrogates)
        return None
    if parsed.protocol not in ("http:", "https:") or not parsed.hostname:
        return None
    return parsed.href
