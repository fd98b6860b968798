"""One turn of a filter-creation conversation: load the state, answer, remember, save.

The server keeps the conversation (the shipped extension sends at most one history item), and treats
the client's history as a hint: an empty history with a fresh message starts over, a history that does not
fit the stored conversation replaces it. The answer comes from the cloud model when one is configured and
from the offline rules otherwise; either way, a proposal that repeats an existing filter becomes a
question (update it, keep it, or create a separate one), and a failed model call becomes the extension's
``error`` answer with "Try again".
"""

from __future__ import annotations

import logging

from gateway.chat import offline
from gateway.chat.chat_prompt import ModelRequest, Picture
from gateway.chat.commands import (
    CHANGE_EXISTING,
    CREATE_SEPARATE,
    DESCRIBE_IN_WORDS,
    KEEP_EXISTING,
    START_OVER,
    UPDATE_EXISTING,
    Command,
    Decision,
    command_of,
    decision_of,
    normalise,
)
from gateway.chat.phrasing import filter_text_of, is_qualifier, refine
from gateway.chat.provider import ChatModel
from gateway.chat.reply import ChatReply, FilterData, ReplyError, error_reply, parse_model_reply
from gateway.chat.similar import find_similar
from gateway.chat.state import Conversation, ConversationStore, Pending, Turn
from gateway.chat.textcheck import is_gibberish, is_too_short
from gateway.filter_store import FilterStore
from shared.models import Filter
from shared.moderation.types import ProviderError

log = logging.getLogger(__name__)

HINT_ITEMS_CHECKED = 2  # the client's last items must be turns of ours; older ones may have been trimmed


class ChatEngine:
    def __init__(self, conversations: ConversationStore, filters: FilterStore, model: ChatModel | None) -> None:
        self.conversations = conversations
        self.filters = filters
        self.model = model

    async def aclose(self) -> None:
        if self.model is not None:
            await self.model.aclose()

    async def turn(self, user_id: str, message: str, hint: list[Turn], picture: Picture | None = None) -> ChatReply:
        conversation = reconcile(await self.conversations.load(user_id), hint, message)
        reply = await self._answer(user_id, conversation, message, picture)
        said = message if picture is None else f"[picture] {message}".strip()
        conversation.add_exchange(said, reply)
        await self.conversations.save(user_id, conversation)
        return reply

    async def _answer(self, user_id: str, conv: Conversation, message: str, picture: Picture | None) -> ChatReply:
        if picture is None:
            steered, message = self._steer(conv, message)
            if steered is not None:
                return steered
        existing = await self.filters.list_active(user_id)
        if picture is None and conv.pending is not None and conv.pending.kind in ("duplicate", "adjust"):
            settled = await self._settle_duplicate(user_id, conv, message)
            if settled is not None:
                return settled
            conv.pending = None  # they moved on: read the message afresh
        conv.retry_message, conv.retry_needs_image = None, False
        if self.model is not None:
            reply = await self._ask_model(conv, message, existing, picture)
        elif picture is not None:
            reply, conv.pending = offline.picture_without_model(message)
        else:
            reply, conv.pending = offline.respond(message, conv.pending)
        return self._guard_duplicates(conv, reply, existing)

    def _steer(self, conv: Conversation, message: str) -> tuple[ChatReply | None, str]:
        """The answer to a command ("Start over", ...), or None and the message to answer (a retry's original)."""
        command = command_of(message)
        if command is Command.START_OVER:
            conv.reset()
            return ChatReply(
                "Okay, let's start over. What would you like to filter from your feed?", "initial"
            ), message
        if command is Command.TRY_AGAIN:
            if conv.retry_message is None:
                return ChatReply("What would you like to filter from your feed?", "initial"), message
            if conv.retry_needs_image:
                conv.pending = Pending("vague")
                text = "I don't keep pictures, so please attach it again, or describe in words what it shows."
                return ChatReply(text, "clarify", [DESCRIBE_IN_WORDS, START_OVER]), message
            return None, conv.retry_message
        if command in (Command.DESCRIBE, Command.NEW_FILTER):
            conv.pending = Pending("vague")
            text = (
                "Sure. In a few words, what would you like to see less of? Mention anything that is fine to keep, too."
            )
            return ChatReply(text, "clarify"), message
        return None, message

    async def _ask_model(
        self, conv: Conversation, message: str, existing: list[Filter], picture: Picture | None
    ) -> ChatReply:
        assert self.model is not None
        request = ModelRequest(list(conv.turns), message, existing, picture)
        try:
            reply = parse_model_reply(await self.model.answer(request))
        except (ProviderError, ReplyError) as exc:
            log.warning("chat model %s failed: %s", self.model.name, exc)
            conv.retry_message, conv.retry_needs_image = message, picture is not None
            conv.pending = None
            return error_reply()
        ready = reply.type == "ready_for_config" and reply.filter_data is not None
        conv.pending = Pending("ready", candidate=reply.filter_data) if ready else None
        return reply

    def _guard_duplicates(self, conv: Conversation, reply: ChatReply, existing: list[Filter]) -> ChatReply:
        """Turn a proposal that repeats an existing filter into the question what to do about it."""
        data = reply.filter_data
        if reply.type != "ready_for_config" or data is None or data.related_filters:
            return reply  # nothing proposed, or the model already related it to an existing filter
        if normalise(data.filter_text) in conv.confirmed:
            return reply  # the user already chose to create it next to the similar one
        similar = find_similar(data.filter_text, existing)
        if similar is None:
            return reply
        old = similar.filter
        conv.pending = Pending("duplicate", data, filter_id=old.id, existing_text=old.filter_text, exact=similar.exact)
        proposal = FilterData(data.filter_text, data.initial_type, data.content_type, data.context, [old.filter_text])
        if similar.exact:
            text = (
                f'You already have a filter for "{old.filter_text}", which covers this. Keep it as it is, or change it?'
            )
            return ChatReply(text, "clarify", [KEEP_EXISTING, CHANGE_EXISTING, START_OVER], proposal)
        text = (
            f'You already have a similar filter: "{old.filter_text}". Should I change it to '
            f'"{data.filter_text}", keep it as it is, or create a separate filter?'
        )
        return ChatReply(text, "clarify", [UPDATE_EXISTING, KEEP_EXISTING, CREATE_SEPARATE], proposal)

    async def _settle_duplicate(self, user_id: str, conv: Conversation, message: str) -> ChatReply | None:
        """The answer to the duplicate question (or to "what should change?"); None when it is neither."""
        pending = conv.pending
        assert pending is not None and pending.filter_id is not None
        existing_text = pending.existing_text or ""
        if pending.kind == "adjust":
            if decision_of(message) is Decision.KEEP:
                return self._keep(conv, existing_text)
            text = refine(existing_text, message) if is_qualifier(message) else filter_text_of(message)[0]
            if is_gibberish(text) or is_too_short(text):
                return ChatReply(
                    f'Sorry, I didn\'t get that. What should change about "{existing_text}"?',
                    "clarify",
                    [KEEP_EXISTING, START_OVER],
                )
            return await self._update(user_id, conv, pending.filter_id, text)
        decision = decision_of(message)
        if decision is Decision.KEEP:
            return self._keep(conv, existing_text)
        if decision is Decision.UPDATE and pending.exact:
            conv.pending = Pending("adjust", filter_id=pending.filter_id, existing_text=existing_text)
            return ChatReply(
                f'What should change about "{existing_text}"? For example, say what is fine to keep '
                '("drawings are fine") or what else it should cover.',
                "clarify",
                [KEEP_EXISTING, START_OVER],
            )
        if decision is Decision.UPDATE and pending.candidate is not None:
            return await self._update(user_id, conv, pending.filter_id, pending.candidate.filter_text)
        if decision is Decision.SEPARATE and pending.candidate is not None:
            conv.confirmed = [*conv.confirmed[-9:], normalise(pending.candidate.filter_text)]
            candidate = pending.candidate
            data = FilterData(
                candidate.filter_text,
                candidate.initial_type,
                candidate.content_type,
                candidate.context,
                [existing_text],
            )
            reply, conv.pending = offline.ready(data, lead="Okay, a separate filter.")
            return reply
        return None

    def _keep(self, conv: Conversation, existing_text: str) -> ChatReply:
        conv.pending = None
        return ChatReply(f'Okay, your filter "{existing_text}" stays as it is.', "complete")

    async def _update(self, user_id: str, conv: Conversation, filter_id: int, text: str) -> ChatReply:
        item = await self.filters.get(user_id, filter_id)
        if item is None:  # deleted meanwhile: offer to create it instead
            reply, conv.pending = offline.ready(FilterData(text, "description"), lead="That filter is gone.")
            return reply
        item.filter_text = text
        await self.filters.save(user_id, item)
        conv.pending = None
        return ChatReply(f'Done: your filter now reads "{text}".', "complete")


def reconcile(conv: Conversation, hint: list[Turn], message: str) -> Conversation:
    """The conversation this message continues, given the client's history hint."""
    if not hint:
        last = conv.turns[-1] if conv.turns else None
        offered = {normalise(o) for o in last.options} if last is not None else set()
        # A button of our last answer still continues it; any other message without history starts afresh.
        return conv if normalise(message) in offered else Conversation()
    if conv.turns and conv.agrees_with(hint[-HINT_ITEMS_CHECKED:]):
        return conv
    return Conversation.seeded(hint)
