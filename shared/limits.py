"""Input bounds of the wire protocol, defined once.

The gateway's handlers, the notifier's socket frames and the OpenAPI document all read these, so a
bound cannot drift between what is enforced and what is documented.
"""

from __future__ import annotations

MAX_USER_ID_CHARS = 256  # user_id in bodies, queries and socket URLs
MAX_URL_CHARS = 4096  # image_url / img_url
MAX_FILTERS_PER_REQUEST = 20  # filters named by one image request or socket wait
MAX_FILTER_TEXT_CHARS = 500  # one filter's text, wherever it travels
MAX_FILTERS_PER_USER = 200  # active filters one user may keep
MAX_MESSAGE_CHARS = 2000  # one chat message (and one stored chat turn)
MAX_SAMPLE_SEED = 1_000_000  # /viewer sample feeds' seed parameter
MAX_MODERATE_POSTS = 50  # posts in one POST /v1/moderate (one provider call, like a feed page)
MAX_POST_ID_CHARS = 256  # a post id given to /v1/moderate
MAX_POST_TEXT_CHARS = 40_000  # a post's text or title given to /v1/moderate
MAX_ALT_TEXT_CHARS = 2000  # an image's alt text given to /v1/moderate
MAX_LANGUAGE_CHARS = 35  # a BCP 47 language tag
