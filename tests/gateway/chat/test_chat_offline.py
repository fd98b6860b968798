"""Whole conversations on the offline rules, against the gateway app (in process) and real Redis."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.gateway.chat.chatclient import ChatClient


@pytest.fixture
def chat(api: TestClient) -> ChatClient:
    return ChatClient(api)


def test_nuance_is_kept_and_framing_dropped(chat: ChatClient) -> None:
    answer = chat.say("I don't want to see close-up spiders, drawings are fine")
    assert answer["type"] == "ready_for_config"
    data = answer["filter_data"]
    assert data["filter_text"] == "close-up spiders, drawings are fine"
    assert data["initial_type"] == "description"
    assert data["content_type"] == "image"


def test_vague_then_clarified_then_refined(chat: ChatClient) -> None:
    answer = chat.say("bad stuff")
    assert answer["type"] == "clarify"
    assert answer["filter_data"]["initial_type"] == "unclear"
    assert answer["options"], "a vague request gets example filters to pick from"

    answer = chat.say("please hide pregnancy announcements")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "pregnancy announcements"

    # A qualifier refines the proposal instead of starting a new one.
    answer = chat.say("but ultrasound photos from friends are fine")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == (
        "pregnancy announcements, but ultrasound photos from friends are fine"
    )


@pytest.mark.parametrize(
    ("message", "candidate"),
    [
        # Gibberish, too short to read, or framing alone: nothing worth keeping as a filter.
        *((m, None) for m in ["asdfghjkl", "qwrtpzxcvb", "aaaaaaaa", "a1b2c3d4", "ok", "hide"]),
        # Too generic: kept as an unclear candidate that the next message refines.
        ("things", {"filter_text": "things", "initial_type": "unclear"}),
    ],
)
def test_unusable_first_messages_get_a_question(chat: ChatClient, message: str, candidate: dict | None) -> None:
    answer = chat.say(message)
    assert answer["type"] == "clarify", answer
    assert answer["filter_data"] == candidate


def test_ambiguous_name_then_choice(chat: ChatClient) -> None:
    answer = chat.say("I don't want to see anything about Jordan")
    assert answer["type"] == "clarify"
    assert answer["filter_data"]["initial_type"] == "ambiguous"
    assert "Michael Jordan (basketball)" in answer["options"]
    assert "Jordan (the country)" in answer["options"]

    answer = chat.say("Michael Jordan")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "Michael Jordan, the basketball player"
    assert answer["filter_data"]["initial_type"] == "person"


def test_ambiguous_choice_by_button_label(chat: ChatClient) -> None:
    assert chat.say("python")["type"] == "clarify"
    answer = chat.say("Pythons (the snake)")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "pythons and other snakes"


def test_qualified_name_is_not_ambiguous(chat: ChatClient) -> None:
    answer = chat.say("Jordan the country")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "Jordan the country"


def test_exact_duplicate_is_not_created_twice(chat: ChatClient) -> None:
    chat.add_filter("spiders")
    answer = chat.say("I'm afraid of spiders")
    assert answer["type"] == "clarify"
    assert '"spiders"' in answer["text"]
    assert "Keep the existing filter" in answer["options"]
    assert answer["filter_data"]["related_filters"] == ["spiders"]

    answer = chat.say("Keep the existing filter")
    assert answer["type"] == "complete"
    assert [f["filter_text"] for f in chat.filters()] == ["spiders"]


def test_near_duplicate_can_update_the_existing_filter(chat: ChatClient) -> None:
    filter_id = chat.add_filter("spiders")
    answer = chat.say("no more close-up spiders, drawings are fine")
    assert answer["type"] == "clarify"
    assert "Update the existing filter" in answer["options"]

    answer = chat.say("Update the existing filter")
    assert answer["type"] == "complete"
    assert [(f["id"], f["filter_text"]) for f in chat.filters()] == [(filter_id, "close-up spiders, drawings are fine")]


def test_exact_duplicate_can_be_changed(chat: ChatClient) -> None:
    chat.add_filter("spiders")
    assert chat.say("spiders")["type"] == "clarify"
    answer = chat.say("Change the existing filter")
    assert answer["type"] == "clarify"
    answer = chat.say("but cartoon spiders are fine")
    assert answer["type"] == "complete"
    assert [f["filter_text"] for f in chat.filters()] == ["spiders, but cartoon spiders are fine"]


def test_separate_filter_is_proposed_once_confirmed(chat: ChatClient) -> None:
    chat.add_filter("violence")
    assert chat.say("violence against animals")["type"] == "clarify"
    answer = chat.say("Create a separate filter")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "violence against animals"
    assert answer["filter_data"]["related_filters"] == ["violence"]


def test_start_over_and_empty_history_start_afresh(chat: ChatClient) -> None:
    assert chat.say("Jordan")["type"] == "clarify"
    answer = chat.say("Start over")
    assert answer["type"] == "initial"
    # The pending question is gone: a choice label is now just a (clear) description.
    answer = chat.say("the country")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "the country"

    assert chat.say("Jordan")["type"] == "clarify"
    answer = chat.say("the country", history=[])  # the extension's first message of a new chat
    assert answer["filter_data"]["filter_text"] == "the country"


def test_button_click_without_history_still_continues(chat: ChatClient) -> None:
    assert chat.say("mercury")["type"] == "clarify"
    answer = chat.say("Mercury (the element)", history=[])
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "mercury, the toxic metal"


def test_try_again_without_a_failure_asks_what_to_filter(chat: ChatClient) -> None:
    answer = chat.say("Try again")
    assert answer["type"] == "initial"
