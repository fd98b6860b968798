"""Development tooling: not part of any deployed process (``python -m devtools.redis_server``)."""
