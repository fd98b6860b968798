"""From what the user typed to a filter text, keeping the nuance.

Only request framing goes ("I don't want to see", "please hide", "no more", "posts about", "on my feed");
qualifiers stay, because they are the filter: "close-up spiders, drawings are fine" must not shrink to
"spiders". A reason ("because I'm recovering from ...") moves to ``context``. The text keeps the user's
own casing and words.
"""

from __future__ import annotations

import re

from shared.limits import MAX_FILTER_TEXT_CHARS

_LEADING = [
    r"(?:hey|hi|hello|ok(?:ay)?|so|um+|well|yeah|yes)\b[,!.]?",
    r"(?:please|pls|plz|kindly)\b",
    r"(?:can|could|would|will) you(?: please)?\b",
    r"i(?:'d| would) (?:like|love|prefer)(?: you)? to\b",
    r"i (?:want|need)(?: you)? to\b",
    r"help me\b",
    r"(?:i )?(?:really |just )?(?:don'?t|do not|never) (?:want|wish|like) to (?:see|read(?: about)?|hear(?: about)?|"
    r"be shown|look at|watch)\b",
    r"i(?:'d| would) rather not (?:see|read(?: about)?|hear(?: about)?)\b",
    r"i(?:'m| am) (?:so |really |very )?(?:sick|tired) of(?: seeing| reading about| hearing about)?\b",
    r"i (?:really )?(?:hate|can'?t stand|cannot stand|dislike|despise|loathe)(?: seeing| reading about| when)?\b",
    r"(?:stop|quit) showing(?: me)?\b",
    r"(?:don'?t|do not|never) show(?: me)?\b",
    r"(?:filter|block|hide|remove|mute|blur|censor|cut|take)(?: out| away)?\b",
    r"get rid of\b",
    r"keep (?:away|out)\b",
    r"(?:no|any) more\b|less\b|fewer\b|avoid\b",
    r"(?:any|all|the|some)? ?(?:posts?|content|stuff|things|tweets?|threads?|articles?|anything|everything|"
    r"mentions?|talk|discussions?|news stories|news|updates?)\s+(?:about|on|regarding|related to|involving|"
    r"mentioning|that mentions?|that (?:are|is) about|to do with|of|with|showing|that show|containing|featuring)\b",
    r"(?:anything|everything) (?:with|like)\b",
    r"(?:seeing|reading about|hearing about)\b",
]
_TRAILING = [
    r"(?:in|on|from) (?:my|the) (?:feeds?|timelines?|home ?page|front ?page|news ?feed|screen)",
    r"(?:on|from) (?:reddit|twitter|x)",
    r"any ?more|please|pls|thanks|thank you|for me|at all|(?:ever )?again|anywhere|ever|in (?:them|it)",
    r"(?:related )?(?:stuff|content|posts|things)",
]
_LEADING_RE = [re.compile(rf"^\s*(?:{p})[\s,:;]*", re.IGNORECASE) for p in _LEADING]
_TRAILING_RE = [re.compile(rf"[\s,;]*\b(?:{p})[\s.!]*$", re.IGNORECASE) for p in _TRAILING]

# "I'm afraid of spiders": the fear is context, the spiders are the filter.
_REASON_LEAD = re.compile(
    r"^\s*(?:i(?:'m| am) (?:really |very |so |quite )?(?:afraid|scared|terrified|frightened) of|"
    r"i have (?:a |an )?(?:phobia|fear) of|i(?:'m| am) (?:recovering|in recovery) from|"
    r"i(?:'m| am) (?:triggered|upset|disturbed) by|i(?:'m| am) (?:struggling|dealing) with|"
    r"i (?:get|feel) (?:anxious|sick|upset) (?:about|from|when i see))\s+",
    re.IGNORECASE,
)
_REASON_TAIL = re.compile(r"[\s,;]*\b(?:because|since|cause|'cause|as i'm|as i am)\b.*$", re.IGNORECASE | re.DOTALL)

_QUALIFIER = re.compile(
    r"^\s*(?:but|except|excluding|although|though|however|only|just|also|and|plus|not|without|unless|including|"
    r"especially|as long as|apart from|other than|except for)\b|"
    r"\b(?:is|are|'s|'re) (?:fine|ok|okay|alright|allowed|acceptable)\b|\bdon'?t mind\b",
    re.IGNORECASE,
)
_IMAGE_WORDS = re.compile(
    r"\b(?:photos?|pictures?|pics?|images?|videos?|gifs?|footage|clips?|close[- ]?ups?|selfies?|thumbnails?|"
    r"memes?|imagery|visuals?)\b",
    re.IGNORECASE,
)
_TEXT_WORDS = re.compile(
    r"\b(?:headlines?|comments?|text|articles?|discussions?|threads?|stories|story|words?|spoilers?|jokes?)\b",
    re.IGNORECASE,
)
_CONCEPT_SUFFIX = re.compile(r"(?:ism|ness|ity|ship|hood|ance|ence)$", re.IGNORECASE)
_NAME_WORD = re.compile(r"^[A-Z][a-z'.-]+$")


_QUOTES = "\"'\u201c\u201d\u2018\u2019"  # straight and curly quotes around a pasted phrase


def _trim(text: str) -> str:
    return text.strip().strip(_QUOTES).strip(" \t\n,;:.!?-").strip()


def split_reason(message: str) -> tuple[str, str | None]:
    """(the message without its reason, the reason), for "I'm afraid of X" and "X, because I ..."."""
    text, reason = message.strip(), None
    tail = _REASON_TAIL.search(text)
    if tail and tail.start() > 0:
        reason = _trim(tail.group(0))
        text = text[: tail.start()]
    lead = _REASON_LEAD.match(text)
    if lead:
        reason = _trim(message)
        text = text[lead.end() :]
    return text, reason


def strip_framing(text: str) -> str:
    """Remove request framing at both ends, repeatedly ("please, I don't want to see any posts about X")."""
    text = _trim(text)
    changed = True
    while changed and text:
        changed = False
        for pattern in _LEADING_RE:
            stripped = pattern.sub("", text, count=1)
            if stripped != text and _trim(stripped):
                text, changed = _trim(stripped), True
        for pattern in _TRAILING_RE:
            stripped = pattern.sub("", text, count=1)
            if stripped != text and _trim(stripped):
                text, changed = _trim(stripped), True
    return text


def filter_text_of(message: str) -> tuple[str, str | None]:
    """(proposed filter text, context) for a message that asks for a filter."""
    text, reason = split_reason(message)
    text = strip_framing(text) or _trim(message)
    if len(text) > MAX_FILTER_TEXT_CHARS:
        text = text[:MAX_FILTER_TEXT_CHARS].rsplit(" ", 1)[0]
    return text, reason


_SENTINEL = "zqxsentinelzqx"
_CONNECTOR = re.compile(
    r"^\s*(?:but|except|excluding|although|though|however|also|and|plus|unless|apart from|other than|except for)\b",
    re.IGNORECASE,
)


def is_only_framing(message: str) -> bool:
    """True for a request with nothing yet to filter: "hide", "please block", "can you filter"."""
    return strip_framing(f"{message.strip().rstrip('.!?')} {_SENTINEL}") == _SENTINEL


def starts_with_connector(message: str) -> bool:
    """True for a message that continues a sentence ("but drawings are fine"), so needs something before it."""
    return bool(_CONNECTOR.match(message))


def is_qualifier(message: str) -> bool:
    """A follow-up that narrows or widens the last proposal ("but drawings are fine", "only close-ups")."""
    return bool(_QUALIFIER.search(message))


def refine(filter_text: str, qualifier: str) -> str:
    addition = _trim(qualifier)
    combined = f"{filter_text}, {addition}" if addition else filter_text
    return combined[:MAX_FILTER_TEXT_CHARS]


def content_type_of(text: str) -> str:
    """``image`` when only pictures are meant ("close-up spiders"), ``text`` when only words, else ``all``."""
    image, words = bool(_IMAGE_WORDS.search(text)), bool(_TEXT_WORDS.search(text))
    if image and not words:
        return "image"
    if words and not image:
        return "text"
    return "all"


def initial_type_of(text: str) -> str:
    words = text.split()
    if "," in text or is_qualifier(text) or len(words) > 4:
        return "description"
    if 2 <= len(words) <= 3 and all(_NAME_WORD.match(w) for w in words):
        return "person"
    if len(words) == 1 and _CONCEPT_SUFFIX.search(words[0]):
        return "concept"
    return "topic"
