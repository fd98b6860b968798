"""Is a message something a filter can be made from? Gibberish, too short, too generic.

Cheap, deterministic checks the offline conversation runs before it proposes anything, so "asdfgh" or
"stuff" gets a question back rather than a filter that matches nothing (or everything).
"""

from __future__ import annotations

import re

_VOWELS = frozenset("aeiouy")  # "y" counts: "rhythm", "myth" are words
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "qazwsxedcrfvtgbyhnujmikolp")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_LETTER_DIGIT_MIX = re.compile(r"^(?:[a-z]\d){2,}[a-z]?$|^(?:\d[a-z]){2,}\d?$")

# Acronyms and short words without vowels that people really filter.
_KNOWN_CONSONANT_WORDS = frozenset(
    "nsfw nsfl ptsd lgbt lgbtq lgbtqia ocd adhd bpd cptsd tldr nft nfts btc pvp mlb nhl nfl nba cgi tv dm dms "
    "pm pms std stds hiv".split()
)
# Short single words that are real filter topics; any other single word under 4 letters is too short.
_SHORT_TOPICS = frozenset(
    "war gun guns sex ai nft nfl nba mlb nhl ufc mma f1 ufo cat cats dog dogs rat rats bug bugs ant ants bee "
    "bees bat bats cow pig fish eel eels owl fly ice isis gop dnc irs kkk gay cop cops fat gym mom dad ex "
    "tv pet pets egg eggs ocd hiv std die".split()
)
# Words that say something is unwanted without saying what.
_GENERIC_WORDS = frozenset(
    "thing things stuff bad badness content contents post posts everything anything something nothing negative "
    "upsetting annoying triggering trigger triggers disturbing sad weird random certain kind kinds type types "
    "sort sorts general whatever idk it this that those these them topic topics subject subjects item items "
    "matter matters junk crap mean nasty unpleasant gross horrible terrible awful offensive uncomfortable "
    "sensitive harmful hurtful scary creepy dark toxic depressing".split()
)
_GENERIC_FILLER = frozenset(
    "a an the of about any all some more other such and or really very kind sort lot lots much many to "
    "i me my that which make makes made feel feels uncomfortable see seeing".split()
)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _longest_consonant_run(word: str) -> int:
    longest = current = 0
    for ch in word:
        if ch.isalpha() and ch not in _VOWELS:
            current += 1
            longest = max(longest, current)
        else:
            current = 0
    return longest


def _on_keyboard_row(word: str) -> bool:
    return len(word) >= 4 and any(word in row or word in row[::-1] for row in _KEYBOARD_ROWS)


def _junk_word(word: str) -> bool:
    if word in _KNOWN_CONSONANT_WORDS:
        return False
    letters = [c for c in word if c.isalpha()]
    if _LETTER_DIGIT_MIX.match(word):
        return True
    if not letters:
        return False  # numbers ("9/11", "2024") are not gibberish by themselves
    if re.search(r"(.)\1\1", word) and len(set(word)) <= max(2, len(word) // 3):
        return True  # "aaaa", "hhhhhh", "lololol" is not caught, "sooo" is kept
    if _on_keyboard_row(word):
        return True
    if _longest_consonant_run(word) >= 6:
        return True
    vowels = sum(1 for c in letters if c in _VOWELS)
    if len(letters) >= 4 and vowels == 0:
        return True
    return len(letters) >= 7 and not 0.1 <= vowels / len(letters) <= 0.85


def is_gibberish(text: str) -> bool:
    """Keyboard mash, long consonant runs, repeated characters, letter/digit alternation, or no words at all."""
    words = _words(text)
    if not words:
        return True
    alpha = [w for w in words if any(c.isalpha() for c in w)]
    if not alpha:
        return not any(c.isdigit() for c in text)
    junk = sum(1 for w in alpha if _junk_word(w))
    return junk * 2 >= len(alpha)


def is_too_short(text: str) -> bool:
    """Three characters or fewer, or a single short word that is not a known topic ("ok", "hmm")."""
    stripped = text.strip()
    words = _words(stripped)
    if len(words) == 1 and words[0] in _SHORT_TOPICS:
        return False
    if len(stripped) <= 3:
        return True
    return len(words) == 1 and len(words[0]) < 4


def is_too_generic(text: str) -> bool:
    """Every word is either generic ("stuff", "bad", "upsetting") or filler, and at least one is generic."""
    words = _words(text)
    if not words:
        return False
    generic = [w for w in words if w in _GENERIC_WORDS]
    return bool(generic) and all(w in _GENERIC_WORDS or w in _GENERIC_FILLER for w in words)
