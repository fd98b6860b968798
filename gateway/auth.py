"""Who is asking. In ``open`` mode (the original behaviour) the user id in the request is trusted.

Every user route resolves its user through :func:`authorised_user`, so a stricter mode changes
one function, not every handler.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gateway.inputs import user_id_value


async def authorised_user(request: Request, claimed: Any) -> str:
    return user_id_value(claimed)
