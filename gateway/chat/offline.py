"""The conversation without a cloud model: deterministic rules that still ask before they guess.

A fresh message is checked for gibberish, a bare ambiguous name, too little or too generic content, and
otherwise becomes a proposed filter with its qualifiers intact. The previous answer (``Pending``) decides
how a follow-up is read: a pick among meanings, or a qualifier that refines the last proposal.
Near-duplicates of existing filters are caught by the engine, for both this path and the models.
"""

from __future__ import annotations

from gateway.chat import ambiguous
from gateway.chat.commands import DESCRIBE_IN_WORDS, START_OVER, normalise
from gateway.chat.phrasing import (
    content_type_of,
    filter_text_of,
    initial_type_of,
    is_only_framing,
    is_qualifier,
    refine,
    starts_with_connector,
)
from gateway.chat.reply import ChatReply, FilterData
from gateway.chat.similar import content_stems
from gateway.chat.state import Choice, Pending
from gateway.chat.textcheck import is_gibberish, is_too_generic, is_too_short

EXAMPLES = ["Close-up photos of spiders", "Pregnancy announcements", "Graphic violence", "Political news"]

Outcome = tuple[ChatReply, Pending | None]


def ready(data: FilterData, lead: str = "Got it.") -> Outcome:
    text = f'{lead} I\'ll set up a filter for "{data.filter_text}". Next, choose where it applies and how strongly.'
    return ChatReply(text, "ready_for_config", [], data), Pending("ready", candidate=data)


def ask_to_describe(text: str) -> Outcome:
    return ChatReply(text, "clarify", []), Pending("vague")


def respond(message: str, pending: Pending | None) -> Outcome:
    """One answer to ``message``, given what the previous answer was waiting for."""
    if pending is not None and pending.kind == "ambiguous":
        if normalise(message) == normalise(ambiguous.SOMETHING_ELSE):
            return ask_to_describe("Tell me a little more about what you mean, in your own words.")
        choice = pick_choice(message, pending.choices)
        if choice is not None:
            data = FilterData(
                choice.filter_text, choice.initial_type, content_type_of(choice.filter_text), context=choice.context
            )
            return ready(data)
    if pending is not None and pending.kind == "ready" and pending.candidate is not None:
        if is_qualifier(message) and not is_gibberish(message):
            previous = pending.candidate
            text = refine(previous.filter_text, message)
            data = FilterData(text, "description", content_type_of(text), previous.context)
            return ready(data, lead="Updated.")
    return fresh(message)


def fresh(message: str) -> Outcome:
    """A message read on its own, as the start of a filter."""
    if is_only_framing(message):
        return ask_to_describe("Sure. What would you like me to filter? Describe it in a few words.")
    if starts_with_connector(message):
        return ask_to_describe(
            "What should that apply to? Tell me the whole filter in one go, for example "
            '"close-up spiders, drawings are fine".'
        )
    text, reason = filter_text_of(message)
    if is_gibberish(text):
        return ask_to_describe(
            "Sorry, I couldn't make sense of that. In a few words, what would you like to see less of?"
        )
    found = ambiguous.meanings(text)
    if found is not None:
        _term, choices = found
        data = FilterData(text, "ambiguous", context=reason)
        reply = ChatReply(ambiguous.question(text, choices), "clarify", ambiguous.options(choices), data)
        return reply, Pending("ambiguous", candidate=data, choices=choices)
    if is_too_generic(text):
        data = FilterData(text, "unclear", context=reason)
        reply = ChatReply(
            f'"{text}" could mean a lot of things. What kind of posts do you have in mind? For example:',
            "clarify",
            list(EXAMPLES),
            data,
        )
        return reply, Pending("vague", candidate=data)
    if is_too_short(text):
        data = FilterData(text, "unclear", context=reason)
        reply = ChatReply(
            f'"{text}" is a bit short for me to go on. Could you say a little more about what you want to filter?',
            "clarify",
            [],
            data,
        )
        return reply, Pending("vague", candidate=data)
    return ready(FilterData(text, initial_type_of(text), content_type_of(text), reason))


def pick_choice(message: str, choices: list[Choice]) -> Choice | None:
    """The meaning the user picked: a button label, or the one choice their words point to alone."""
    said = normalise(message)
    for choice in choices:
        if said in (normalise(choice.label), normalise(choice.filter_text)):
            return choice
    if said in ("any", "all", "all of them", "any of them", "both", "all of these", "everything"):
        return next((c for c in choices if c.label == ambiguous.ANY_MEANING), None)
    meanings = [c for c in choices if c.label != ambiguous.ANY_MEANING]
    # Words every meaning shares ("jordan") say nothing about which one is meant.
    shared = frozenset.intersection(*(content_stems(f"{c.label} {c.filter_text}") for c in meanings))
    words = content_stems(message) - shared
    scored = [(len(words & content_stems(f"{c.label} {c.filter_text}")), c) for c in meanings]
    best = max(score for score, _ in scored)
    winners = [c for score, c in scored if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None


def picture_without_model(message: str) -> Outcome:
    """/chat/image with no model: say so plainly, and use the words if the user gave any."""
    note = "I can't look at pictures here: understanding images needs an AI provider, and none is set up."
    if message.strip() and not is_gibberish(message):
        reply, pending = respond(message, None)
        reply.text = f"{note} So I went by your words. {reply.text}"
        return reply, pending
    reply = ChatReply(
        f"{note} Could you describe in words what the picture shows that you'd like filtered?",
        "clarify",
        [DESCRIBE_IN_WORDS, START_OVER],
    )
    return reply, Pending("vague")
