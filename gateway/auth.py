"""Who is asking.

``open`` mode (the original behaviour, for local development): the user id in the request is
trusted. ``token`` mode: a signed token in ``Authorization: Bearer`` is required and names the
user; a request that claims another user id is refused, so nobody reads or changes another
user's data. Every user route resolves its user through :func:`authorised_user`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gateway.inputs import user_id_value
from gateway.responses import ApiError
from shared.auth import AuthError, bearer


async def authorised_user(request: Request, claimed: Any) -> str:
    settings = request.app.state.settings
    if settings.auth_mode == "open":
        return user_id_value(claimed)
    try:
        identity = request.app.state.verifier.verify(bearer(request.headers.get("authorization")))
    except AuthError as exc:
        raise ApiError(401, str(exc)) from exc
    if claimed not in (None, "", "unknown") and claimed != identity.user_id:
        raise ApiError(403, "the token does not belong to this user_id")
    return identity.user_id
