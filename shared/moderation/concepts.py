"""What a filter means, from the words the user typed: a ``FilterConcept``.

"snakes, but cartoon snakes are fine" becomes the topic "snakes", the user's own exclusion
"cartoon snakes", descriptions to compare posts with ("snakes", "a post about snakes", "a photo of
snakes"), and exclusion descriptions for the uses of its words that never count (idioms, names of
teams and shows, absence). Whether a passing mention counts follows the kind of filter: news,
announcements, spoilers, prices, deaths, results and talk ("comments about people's weight") deliver
information in one sentence, and are also described as that news ("celebrity deaths": "a celebrity has
died"); a topic must be the subject.

Everything here is rules over the text and WordNet's nouns (``senses.py``: other words for the subject
and its kinds, the meant sense's definition); no filter depends on the hand-curated lexicon. The
concept is plain data (its text is hashed for caching), so it can be built anywhere and embedded once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shared.moderation.expansion import FilterExpansion
from shared.moderation.related import related_stems
from shared.moderation.senses import SubjectSenses, filter_senses
from shared.moderation.wordnet import shared_wordnet

# "X, but Y are fine", "X except Y", "X (not Y)": the clause after these is the user's exclusion.
_EXCLUSION_CLAUSE = re.compile(
    r"[,;(]?\s*\b(?:but(?: not)?|except(?: for)?|unless(?: it'?s)?|other than|excluding|not including|apart from)\b"
    r"\s+(?P<excluded>[^,;()]+)",
    re.IGNORECASE,
)
_PARENTHESISED_NOT = re.compile(r"\(\s*(?:not|no)\s+(?P<excluded>[^)]+)\)", re.IGNORECASE)
# Trailing words that only say the excluded thing is acceptable.
_ACCEPTABLE = re.compile(
    r"\s+(?:are|is|'re|'s)?\s*(?:fine|ok|okay|allowed|alright|all right|good|no problem)\.?\s*$", re.IGNORECASE
)
# Framing words that say how the thing appears rather than what it is.
_FRAMING = re.compile(
    r"^(?:(?:close[- ]?ups?|macro|graphic|any|all|real|photos?|pictures?|images?|videos?|footage|posts?|content|"
    r"news|stories|talk)\s+(?:of|about|on|showing|with)?\s*)+",
    re.IGNORECASE,
)
_INFORMATION_WORDS = re.compile(
    r"\b(?:news|announcements?|announced|reveals?|spoilers?|updates?|reports?|results?|headlines?)\b", re.IGNORECASE
)
# What people say rather than a thing: "comments about people's weight", "jokes about bald men". The talk is
# the filter's matter, so one remark is enough, and the descriptions say it as talk.
_TALK = re.compile(
    r"^(?:(?:rude|mean|nasty|negative|any)\s+)?(?:comments?|remarks?|jokes?|talk|discussions?|mentions?|opinions?|"
    r"gossip|rants?|debates?|arguments?)\s+(?:about|on|of|regarding|over)\s+(?P<thing>.+)$",
    re.IGNORECASE,
)
# Kinds of news named by the filter's last word ("celebrity deaths", "crypto prices", "F1 race results"): a
# sentence delivering it is enough, and it reads as an event about the rest of the filter (its "thing"),
# not as a picture of the thing.
_NEWS_KINDS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\s*\b(?:deaths?|dying|passings?|obituar(?:y|ies))$", re.IGNORECASE),
     ("a {thing} has died", "RIP, we lost a {thing} today", "the death of a {thing}")),
    (re.compile(r"\s*\b(?:prices?|costs?|rates?|values?|valuations?|market)$", re.IGNORECASE),
     ("{thing} is up 10% today", "{thing} crashed overnight", "the price of {thing}")),
    (re.compile(r"\s*\b(?:results?|scores?|winners?|standings|outcomes?)$", re.IGNORECASE),
     ("who won the {thing}", "the {thing} winner and the final order", "the result of the {thing}")),
    (re.compile(r"\s*\b(?:announcements?|news|updates?|reports?|headlines?|reveals?)$", re.IGNORECASE),
     ("{thing} was announced today", "breaking news: {thing}", "officials confirmed {thing}")),
)
# Descriptions of a filter about a thing, and of one about information (the thing need not be seen).
_TOPIC_TEMPLATES = ("a post about {subject}", "a photo of {subject}", "my experience with {subject}",
                   "a news story about {subject}", "{subject} happened today", "we saw {subject} up close",
                   "a description of {subject}")
_INFORMATION_TEMPLATES = (*_TOPIC_TEMPLATES, "news: {subject}")
# Examples of the subject ("tight spaces like caves and crawlspaces", "insects such as ants") name kinds of it, not
# parts of one compound: WordNet reads them beside the subject ("tight spaces, caves and crawlspaces"), each as a part
# (``senses.filter_senses``). The descriptions keep the user's words: "a post about tight spaces" alone lost the
# caves (fifth session, round 5).
_EXAMPLES = re.compile(
    r"\s*,?\s*(?<!\bi )(?<!\byou )(?<!\bwe )(?<!\bthey )(?<!\bwho )\b(?:like|such as|e\.g\.|eg|including|especially)\s+"
    r"(?=\S)",
    re.IGNORECASE,
)
_IMAGE_WORDS = re.compile(r"\b(?:photos?|pictures?|images?|close[- ]?ups?|macro|videos?|footage)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FilterConcept:
    filter_text: str
    topic: str  # the filter without the user's exclusions
    subject: str  # the thing itself, without framing ("rats" for "close-up photos of rats")
    descriptions: tuple[str, ...]  # what it means
    exclusions: tuple[str, ...]  # what its words can mean that never counts
    user_exclusions: tuple[str, ...]  # what the user said is fine
    information: bool  # a passing mention that delivers the information is enough
    visual: bool  # the user asked about pictures ("close-up photos of ...")
    related: tuple[str, ...] = ()  # other words for the subject and its kinds, from WordNet ("hammerhead shark")
    related_stems: frozenset[str] = frozenset()  # their first words' stems: a post with none of them mentions none
    # What a post the user said is fine reads like: each exclusion as typed and, where it does not name the
    # subject ("food" for "octopus and squid"), said of the subject ("a post about food involving octopus and squid").
    user_exclusion_descriptions: tuple[str, ...] = ()

    def texts(self) -> tuple[str, ...]:
        """Every text the model embeds for this concept, in a fixed order."""
        return (self.subject, *self.descriptions, *self.exclusions, *self.user_exclusion_descriptions)

    def with_expansion(self, expansion: FilterExpansion | None) -> FilterConcept:
        """This concept plus what a cloud model said the filter means (``shared.moderation.expansion``).

        The rule-compiled texts come first and stay; the model's descriptions and example phrasings are
        compared with posts like the rule descriptions, its exclusions like the rule exclusions, and a
        passing mention counts when either says so.
        """
        if expansion is None:
            return self
        # A model's exclusion never removes what the rules say the filter means (its subject, topic, descriptions).
        meant = {t.casefold() for t in (self.subject, self.topic, *self.descriptions)}
        exclusions = tuple(dict.fromkeys((*self.exclusions, *(e for e in expansion.exclusions
                                                                if e.casefold() not in meant))))
        excluded = {e.casefold() for e in exclusions}
        added = (d for d in (*expansion.descriptions, *expansion.examples) if d.casefold() not in excluded)
        return replace(self, descriptions=tuple(dict.fromkeys((*self.descriptions, *added))), exclusions=exclusions,
                       information=self.information or expansion.passing_mention_counts)


def _split_exclusions(text: str) -> tuple[str, list[str]]:
    excluded: list[str] = []
    for pattern in (_PARENTHESISED_NOT, _EXCLUSION_CLAUSE):
        for found in pattern.finditer(text):
            clause = _ACCEPTABLE.sub("", found.group("excluded")).strip(" .")
            if clause:
                excluded.append(clause)
        text = pattern.sub("", text)
    return text.strip(" ,.;"), excluded


def _subject(topic: str) -> str:
    """The thing itself, without framing: "close-up photos of rats" -> "rats"."""
    stripped = _FRAMING.sub("", topic).strip()
    stripped = re.sub(r"\s+(?:announcements?|news|spoilers?|updates?|photos?|pictures?|images?)$", "", stripped,
                      flags=re.IGNORECASE).strip()
    return stripped or topic


def _news_phrasings(topic: str) -> list[str]:
    """How a post delivers the information an information filter names, or [] for a filter about a thing."""
    if talk := _TALK.match(topic):
        thing = talk.group("thing").strip()
        return [f"someone commented on {thing}", f"a remark about {thing}", f"people talking about {thing}"]
    for head, phrasings in _NEWS_KINDS:
        if head.search(topic):
            thing = head.sub("", topic).strip() or topic
            return [p.format(thing=thing) for p in phrasings]
    return []


# How an exclusion that does not name the subject is said of it: "food" -> "a post about food involving octopus
# and squid".
_USER_EXCLUSION_TEMPLATES = ("a post about {excluded} involving {subject}",)
_WORD = re.compile(r"[a-z0-9]+")


def _user_exclusion_descriptions(subject: str, excluded: list[str]) -> tuple[str, ...]:
    subject_words = set(_WORD.findall(subject.lower()))
    out: list[str] = []
    for e in excluded:
        out.append(e)
        if not subject_words & set(_WORD.findall(e.lower())):
            out += (t.format(excluded=e, subject=subject) for t in _USER_EXCLUSION_TEMPLATES)
    return tuple(dict.fromkeys(out))


def compile_concept(filter_text: str) -> FilterConcept:
    """The rule concept with what WordNet says about its subject."""
    rules = rule_concept(filter_text)
    return with_senses(rules, filter_senses(shared_wordnet(), senses_subject(rules.subject), rules.user_exclusions))


def senses_subject(subject: str) -> str:
    """What WordNet reads for the subject: its examples as parts beside it ("tight spaces like caves and crawlspaces"
    -> "tight spaces, caves and crawlspaces")."""
    return _EXAMPLES.sub(", ", subject, count=1)


def with_senses(concept: FilterConcept, senses: SubjectSenses) -> FilterConcept:
    descriptions = tuple(dict.fromkeys((*concept.descriptions, *senses.descriptions(concept.subject))))
    return replace(concept, descriptions=descriptions, related=senses.related,
                   related_stems=related_stems(senses.related))


def rule_concept(filter_text: str) -> FilterConcept:
    """The concept from rules over the text alone."""
    text = " ".join(filter_text.split())
    topic, user_exclusions = _split_exclusions(text)
    topic = topic or text
    subject = _subject(topic)
    news = _news_phrasings(topic)
    information = bool(news) or bool(_INFORMATION_WORDS.search(topic))
    visual = bool(_IMAGE_WORDS.search(topic))
    templates = _INFORMATION_TEMPLATES if information else _TOPIC_TEMPLATES
    descriptions = [topic, *(t.format(subject=subject) for t in templates), *news]
    if subject.lower() != topic.lower():
        descriptions.insert(1, subject)
    exclusions = (
        f"{subject} used as a figure of speech or an idiom",
        f"the name of a sports team, show, song, game or product called {subject}",
        f"no {subject} at all, none of them",
    )
    return FilterConcept(
        filter_text=filter_text,
        topic=topic,
        subject=subject,
        descriptions=tuple(dict.fromkeys(descriptions)),
        exclusions=exclusions,
        user_exclusions=tuple(user_exclusions),
        user_exclusion_descriptions=_user_exclusion_descriptions(subject, user_exclusions),
        information=information,
        visual=visual,
    )
