"""The offline rules and the reply check, in process (fast, and each rule on its own)."""

from __future__ import annotations

import orjson
import pytest

from gateway.chat import ambiguous
from gateway.chat.conversation import reconcile
from gateway.chat.offline import pick_choice
from gateway.chat.phrasing import content_type_of, filter_text_of, is_only_framing
from gateway.chat.reply import ChatReply, ReplyError, parse_model_reply
from gateway.chat.similar import find_similar
from gateway.chat.state import Conversation, Turn
from gateway.chat.textcheck import is_gibberish, is_too_generic, is_too_short
from shared.models import Filter


@pytest.mark.parametrize(
    "text",
    ["asdfghjkl", "qwerty", "hjkl hjkl", "xzcvbnmpl", "aaaaaaa", "zzzzzz", "k1k2k3", "!!!???", "bcdfghjklm nprstv"],
)
def test_gibberish(text: str) -> None:
    assert is_gibberish(text)


@pytest.mark.parametrize(
    "text",
    [
        "close-up spiders",
        "NSFW",
        "PTSD triggers",
        "sooooo many spiders",
        "rhythm games",
        "9/11",
        "strengths",
        "lgbtq hate",
    ],
)
def test_not_gibberish(text: str) -> None:
    assert not is_gibberish(text)


@pytest.mark.parametrize(
    ("text", "short"),
    [("ok", True), ("abc", True), ("hmm", True), ("war", False), ("AI", False), ("guns", False), ("blood", False)],
)
def test_too_short(text: str, short: bool) -> None:
    assert is_too_short(text) is short


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("things", True),
        ("stuff", True),
        ("bad", True),
        ("upsetting content", True),
        ("dark humor", False),
        ("news", False),
        ("scary clowns", False),
    ],
)
def test_too_generic(text: str, generic: bool) -> None:
    assert is_too_generic(text) is generic


@pytest.mark.parametrize(
    ("message", "filter_text", "context"),
    [
        ("I don't want to see close-up spiders, drawings are fine", "close-up spiders, drawings are fine", None),
        (
            "Please hide pregnancy announcements because I'm struggling with infertility",
            "pregnancy announcements",
            "because I'm struggling with infertility",
        ),
        ("Can you please filter out any posts about graphic violence on my feed? Thanks", "graphic violence", None),
        ("no more Elon Musk", "Elon Musk", None),
        ("I'm afraid of spiders", "spiders", "I'm afraid of spiders"),
        ("stop showing me crypto ads on reddit", "crypto ads", None),
        ("The Last of Us spoilers", "The Last of Us spoilers", None),
    ],
)
def test_filter_text_keeps_nuance_and_drops_framing(message: str, filter_text: str, context: str | None) -> None:
    assert filter_text_of(message) == (filter_text, context)


def test_only_framing_and_content_type() -> None:
    assert is_only_framing("please hide") and is_only_framing("I don't want to see")
    assert not is_only_framing("hide spiders")
    assert content_type_of("close-up spiders") == "image"
    assert content_type_of("spoilers for Severance") == "text"
    assert content_type_of("snakes") == "all"


def test_similar_filters() -> None:
    filters = [Filter(1, "spiders"), Filter(2, "Michael Jordan, the basketball player"), Filter(3, "violence")]
    exact = find_similar("Spiders", filters)
    assert exact is not None and exact.filter.id == 1 and exact.exact
    near = find_similar("close-up spiders, drawings are fine", filters)
    assert near is not None and near.filter.id == 1 and not near.exact
    assert find_similar("Jordan, the country in the Middle East", filters) is None
    assert find_similar("snakes", filters) is None
    typo = find_similar("spidres", filters)
    assert typo is not None and typo.filter.id == 1


def test_ambiguous_words_and_choices() -> None:
    assert ambiguous.meanings("Michael Jordan") is None
    found = ambiguous.meanings("Jordans")
    assert found is not None
    _term, choices = found
    assert pick_choice("the basketball player", choices).filter_text == "Michael Jordan, the basketball player"
    assert pick_choice("Air Jordan (sneakers)", choices).label == "Air Jordan (sneakers)"
    assert pick_choice("all of them", choices).label == ambiguous.ANY_MEANING
    assert pick_choice("Jordan Peterson", choices) is None  # shares only the ambiguous word


def _json(**overrides: object) -> str:
    reply = {"text": "Which one?", "type": "clarify", "options": ["A", "B"], "filter_data": None, **overrides}
    return orjson.dumps(reply).decode()


def test_model_reply_is_parsed() -> None:
    reply = parse_model_reply(_json())
    assert reply == ChatReply("Which one?", "clarify", ["A", "B"], None)
    data = {
        "filter_text": "wasps",
        "initial_type": "topic",
        "content_type": "all",
        "context": None,
        "related_filters": [],
    }
    ready = parse_model_reply(_json(type="ready_for_config", options=[], filter_data=data))
    assert ready.filter_data is not None and ready.filter_data.filter_text == "wasps"
    assert ready.to_api()["filter_data"] == {"filter_text": "wasps", "initial_type": "topic", "content_type": "all"}


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "nope",
        "[]",
        _json(type="error"),
        _json(type=None),
        _json(text=""),
        _json(text=5),
        _json(options=None),
        _json(options=[1]),
        _json(options=["x" * 81]),
        _json(options=list("abcdefg")),
        _json(type="ready_for_config", filter_data=None),
        _json(filter_data={"filter_text": "x", "initial_type": "odd"}),
        _json(filter_data={"filter_text": "x", "content_type": "video"}),
        _json(filter_data={"filter_text": "x" * 501}),
    ],
)
def test_model_reply_is_refused(raw: str) -> None:
    with pytest.raises(ReplyError):
        parse_model_reply(raw)


def test_reconcile_with_the_client_hint() -> None:
    stored = Conversation(turns=[Turn("user", "Jordan"), Turn("assistant", "Which one?", "clarify", ["Country"])])
    assert reconcile(stored, [Turn("assistant", "Which  one?")], "sneakers") is stored  # whitespace aside
    assert reconcile(stored, [], "Country") is stored  # a button of the last answer
    assert reconcile(stored, [], "sneakers").turns == []  # a fresh message without history
    seeded = reconcile(stored, [Turn("assistant", "Something else entirely")], "sneakers")
    assert seeded is not stored and seeded.turns == [Turn("assistant", "Something else entirely")]
