"""One feed page through a cloud judge: split into as few requests as fit, each retried within the page deadline.

The retry loop itself is ``shared.providers.retry.retry_async``, as for the chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson

from gateway.moderation.page_prompt import SYSTEM_PROMPT, post_doc, render_page
from gateway.moderation.replies import parse_results
from shared.models import Filter
from shared.moderation.expansion import Expansions
from shared.moderation.types import Post, PostVerdict, ProviderError
from shared.providers.retry import RetryPolicy, retry_async

# ~4 characters per token: 60k characters stay far below every supported model's context window and keep
# one call's latency reasonable; bigger pages are split (see ``split_page``).
MAX_CHARS_PER_REQUEST = 60_000

# One attempt: (user message, seconds left) -> the model's raw JSON text. Raises Retryable or ProviderError.
Attempt = Callable[[str, float], Awaitable[str]]


def split_page(posts: list[Post], filters: list[Filter], max_chars: int = MAX_CHARS_PER_REQUEST,
               expansions: Expansions | None = None) -> list[list[Post]]:
    """Posts grouped into as few requests as fit ``max_chars`` (prompt and filters included), order kept.

    Size is counted in UTF-8 bytes of the JSON, which over-estimates non-ASCII text: the safe side. A
    single post bigger than the budget still gets its own request (its fields are already capped).
    """
    budget = max_chars - len(SYSTEM_PROMPT) - len(render_page([], filters, expansions))
    batches: list[list[Post]] = []
    current: list[Post] = []
    used = 0
    for post in posts:
        size = len(orjson.dumps(post_doc(post))) + 1
        if current and used + size > budget:
            batches.append(current)
            current, used = [], 0
        current.append(post)
        used += size
    if current:
        batches.append(current)
    return batches


class PageJudge:
    """Runs a page through a provider's single-attempt call: split, bound, retry, parse, merge.

    ``timeout`` bounds the whole ``judge`` call (queueing on the semaphore, every attempt and backoff
    included), because the caller has a wall-time budget per feed page; each attempt gets what is left.
    """

    def __init__(
        self,
        name: str,
        attempt: Attempt,
        *,
        timeout: float,
        policy: RetryPolicy,
        concurrency: int,
        max_chars: int = MAX_CHARS_PER_REQUEST,
    ) -> None:
        self.name = name
        self._attempt = attempt
        self.timeout = timeout
        self.policy = policy
        self.max_chars = max_chars
        # Shared by every page this provider judges, so one busy process cannot flood the API.
        self._slots = asyncio.Semaphore(max(1, concurrency))

    async def judge(self, posts: list[Post], filters: list[Filter],
                    expansions: Expansions | None = None) -> dict[str, PostVerdict]:
        if not posts:
            return {}
        if not filters:
            return {p.id: PostVerdict(post_id=p.id) for p in posts}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        batches = split_page(posts, filters, self.max_chars, expansions)
        try:
            async with asyncio.timeout_at(deadline), asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._judge_batch(batch, filters, deadline, expansions))
                         for batch in batches]
        except TimeoutError as exc:
            raise ProviderError(f"{self.name}: no verdict within {self.timeout:g}s") from exc
        except ExceptionGroup as group_error:
            first = group_error.exceptions[0]
            if isinstance(first, ProviderError):
                raise first from None
            raise ProviderError(f"{self.name}: {first!r}") from first
        verdicts: dict[str, PostVerdict] = {}
        for task in tasks:
            verdicts.update(task.result())
        return verdicts

    async def _judge_batch(self, batch: list[Post], filters: list[Filter], deadline: float,
                           expansions: Expansions | None) -> dict[str, PostVerdict]:
        message = render_page(batch, filters, expansions)
        raw = await retry_async(
            self.name,
            lambda left: self._attempt(message, left),
            policy=self.policy,
            deadline=deadline,
            slots=self._slots,
        )
        return parse_results(raw, batch, filters)
